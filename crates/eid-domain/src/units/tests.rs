use super::*;
use expect_test::{expect, Expect};

fn units() -> &'static Units {
    Units::get()
}

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn show(unit: &Unit) -> String {
    let urban = if unit.urban { ", urban" } else { "" };
    format!("{} {} ({}{urban})", unit.code, unit.name, unit.level)
}

fn show_all(units: &[&Unit]) -> String {
    units.iter().map(|u| show(u)).collect::<Vec<_>>().join("\n")
}

fn check_lookup(tree: Tree, input: &str, expect: Expect) {
    let actual = match units().lookup(tree, input) {
        Ok(unit) => {
            let parent = unit
                .parent
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into());
            format!("{} parent={parent}", show(unit))
        }
        Err(e) => format!("err {e}"),
    };
    expect.assert_eq(&actual);
}

fn check_find(tree: Tree, query: &str, expect: Expect) {
    expect.assert_eq(&show_all(&units().find_by_name(tree, query)));
}

fn counts(tree: Tree) -> String {
    let t = units().tree(tree);
    let n = |level| t.units.iter().filter(|u| u.level == level).count();
    format!(
        "{tree}: {} provinces, {} districts, {} communes",
        n(Level::Province),
        n(Level::District),
        n(Level::Commune)
    )
}

#[test]
fn the_shipped_file_has_no_malformed_line_and_the_expected_counts() {
    assert_eq!(units().skipped, 0);
    expect!["2024: 63 provinces, 696 districts, 10051 communes"].assert_eq(&counts(Tree::Gso2024));
    expect!["2025: 34 provinces, 0 districts, 3321 communes"].assert_eq(&counts(Tree::Gso2025));
    assert_eq!(units().len(Tree::Gso2024), 63 + 696 + 10051);
    assert_eq!(units().len(Tree::Gso2025), 34 + 3321);
    assert!(!units().is_empty(Tree::Gso2025));
    assert_eq!(units().commune_map.len(), 3310);
    assert_eq!(units().province_map.iter().flatten().count(), 63);
}

#[test]
fn the_header_names_the_source() {
    assert!(DATA.lines().take(3).any(|l| {
        l.contains(
        "vietnam-provinces (author Nguyễn Hồng Quân, repository sunshine-tech/VietnamProvinces)"
    )
    }));
}

#[test]
fn lookups_by_code_depend_on_the_tree() {
    check_lookup(
        Tree::Gso2024,
        "38",
        expect!["38 Tỉnh Thanh Hóa (province) parent=-"],
    );
    check_lookup(
        Tree::Gso2024,
        "380",
        expect!["380 Thành phố Thanh Hóa (district, urban) parent=38"],
    );
    check_lookup(
        Tree::Gso2024,
        "387",
        expect!["387 Huyện Quan Sơn (district) parent=38"],
    );
    check_lookup(
        Tree::Gso2024,
        "15001",
        expect!["15001 Xã Trung Hạ (commune) parent=387"],
    );
    check_lookup(
        Tree::Gso2025,
        "15001",
        expect!["15001 Xã Trung Hạ (commune) parent=38"],
    );
    check_lookup(
        Tree::Gso2024,
        "00004",
        expect!["00004 Phường Trúc Bạch (commune, urban) parent=001"],
    );
    check_lookup(
        Tree::Gso2025,
        "00004",
        expect!["00004 Phường Ba Đình (commune, urban) parent=01"],
    );
    check_lookup(
        Tree::Gso2024,
        "01",
        expect!["01 Thành phố Hà Nội (province, urban) parent=-"],
    );
    check_lookup(
        Tree::Gso2025,
        "04",
        expect!["04 Tỉnh Cao Bằng (province) parent=-"],
    );
    check_lookup(
        Tree::Gso2025,
        "26732",
        expect!["26732 Đặc khu Côn Đảo (commune) parent=79"],
    );
    check_lookup(
        Tree::Gso2024,
        "VN",
        expect!["VN Việt Nam (nation) parent=-"],
    );
    check_lookup(
        Tree::Gso2025,
        "62",
        expect!["err unknown unit 62 in the 2025 tree"],
    );
    check_lookup(
        Tree::Gso2025,
        "380",
        expect!["err unknown unit 380 in the 2025 tree"],
    );
    check_lookup(
        Tree::Gso2024,
        "99999",
        expect!["err unknown unit 99999 in the 2024 tree"],
    );
    check_lookup(
        Tree::Gso2024,
        "03",
        expect!["err unknown unit 03 in the 2024 tree"],
    );
}

#[test]
fn province_2024_is_indexed_by_number() {
    assert_eq!(
        units().province_2024(38).map(|u| u.name.as_str()),
        Some("Tỉnh Thanh Hóa")
    );
    assert_eq!(
        units().province_2024(62).map(|u| u.name.as_str()),
        Some("Tỉnh Kon Tum")
    );
    assert!(units().province_2024(0).is_none());
    assert!(units().province_2024(3).is_none());
    assert!(units().province_2024(99).is_none());
    assert!(units().province_2024(255).is_none());
    let indexed = (0..=u8::MAX)
        .filter(|&n| units().province_2024(n).is_some())
        .count();
    assert_eq!(indexed, 63);
}

#[test]
fn codes_parse_by_width_and_refuse_everything_else() {
    fn check(input: &str, expect: Expect) {
        let actual = match UnitCode::parse(input) {
            Ok(c) => format!("{} {} {}", c.level().as_str(), c.as_str(), c.number()),
            Err(e) => format!("err {e}"),
        };
        expect.assert_eq(&actual);
    }
    check("VN", expect!["nation VN 0"]);
    check("38", expect!["province 38 38"]);
    check("389", expect!["district 389 389"]);
    check("15001", expect!["commune 15001 15001"]);
    check("00004", expect!["commune 00004 4"]);
    check("99", expect!["province 99 99"]);
    check(
        "12a",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "12a""#]],
    );
    check(
        "1234",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "1234""#]],
    );
    check(
        "",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got """#]],
    );
    check(
        "vn",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "vn""#]],
    );
    check(
        " 38",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got " 38""#]],
    );
    check(
        "+38",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "+38""#]],
    );
    check(
        "３８",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "３８""#]],
    );
    check(
        "000",
        expect!["err unit code 000 is all zeros, which names no unit"],
    );
    check(
        "12345678901234567890",
        expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "1234567890123456"…"#]],
    );
}

#[test]
fn constructors_pad_and_refuse_out_of_range_numbers() {
    let shown = |r: Result<UnitCode, UnitError>| match r {
        Ok(c) => format!("{c:?}"),
        Err(e) => format!("err {e}"),
    };
    expect!["UnitCode(01)"].assert_eq(&shown(UnitCode::province(1)));
    expect!["UnitCode(007)"].assert_eq(&shown(UnitCode::district(7)));
    expect!["UnitCode(15001)"].assert_eq(&shown(UnitCode::commune(15001)));
    expect!["err province code must be 1 to 99: got 100"]
        .assert_eq(&shown(UnitCode::province(100)));
    expect!["err district code must be 1 to 999: got 0"].assert_eq(&shown(UnitCode::district(0)));
    expect!["err commune code must be 1 to 99999: got 100000"]
        .assert_eq(&shown(UnitCode::commune(100_000)));
    assert_eq!(UnitCode::commune(4).unwrap(), code("00004"));
    assert_eq!(UnitCode::NATION.to_string(), "VN");
    assert_eq!("389".parse::<UnitCode>().unwrap().as_ref(), "389");
    assert!(code("VN") < code("99") && code("99") < code("001") && code("999") < code("00001"));
}

#[test]
fn names_are_found_with_or_without_diacritics_case_and_type() {
    let find = |q| show_all(&units().find_by_name(Tree::Gso2024, q));
    assert_eq!(find("Thanh Hóa"), find("thanh hoa"));
    assert_eq!(find("  THANH   HOÁ "), find("thanh hoa"));
    check_find(
        Tree::Gso2024,
        "thanh hoa",
        expect![[r#"
            38 Tỉnh Thanh Hóa (province)
            380 Thành phố Thanh Hóa (district, urban)
            800 Huyện Thạnh Hóa (district)
            06163 Xã Thành Hòa (commune)
            16213 Xã Thanh Hòa (commune)
            18958 Xã Thanh Hóa (commune)
            25315 Xã Thanh Hòa (commune)
            27865 Thị trấn Thạnh Hóa (commune, urban)
            28000 Xã Thạnh Hòa (commune)
            28333 Xã Thạnh Hoà (commune)
            28480 Xã Thanh Hòa (commune)
            30916 Xã Thạnh Hòa (commune)
            31217 Phường Thạnh Hoà (commune, urban)
            31405 Xã Thạnh Hòa (commune)"#]],
    );
    check_find(
        Tree::Gso2024,
        "tỉnh thanh hóa",
        expect!["38 Tỉnh Thanh Hóa (province)"],
    );
    check_find(
        Tree::Gso2024,
        "Thành phố Thanh Hóa",
        expect!["380 Thành phố Thanh Hóa (district, urban)"],
    );
    check_find(
        Tree::Gso2025,
        "thanh hoa",
        expect![[r#"
            38 Tỉnh Thanh Hóa (province)
            27865 Xã Thạnh Hóa (commune)
            28436 Phường Thanh Hòa (commune, urban)
            31408 Xã Thạnh Hòa (commune)"#]],
    );
    check_find(
        Tree::Gso2024,
        "ha noi",
        expect!["01 Thành phố Hà Nội (province, urban)"],
    );
    check_find(
        Tree::Gso2025,
        "con dao",
        expect!["26732 Đặc khu Côn Đảo (commune)"],
    );
    check_find(
        Tree::Gso2024,
        "con dao",
        expect!["755 Huyện Côn Đảo (district)"],
    );
    check_find(
        Tree::Gso2024,
        "quận 1",
        expect!["760 Quận 1 (district, urban)"],
    );
    assert_eq!(units().find_by_name(Tree::Gso2024, "1").len(), 34);
    check_find(Tree::Gso2024, "thanh", expect!["19480 Xã Thanh (commune)"]);
    check_find(Tree::Gso2024, "", expect![""]);
}

#[test]
fn old_provinces_map_to_the_merged_ones() {
    let map = |old: &str| {
        let new = units().province_2025_for_2024(&code(old)).map(show);
        format!("{old} -> {}", new.unwrap_or_else(|| "none".into()))
    };
    expect!["62 -> 51 Tỉnh Quảng Ngãi (province)"].assert_eq(&map("62"));
    expect!["49 -> 48 Thành phố Đà Nẵng (province, urban)"].assert_eq(&map("49"));
    expect!["38 -> 38 Tỉnh Thanh Hóa (province)"].assert_eq(&map("38"));
    expect!["77 -> 79 Thành phố Hồ Chí Minh (province, urban)"].assert_eq(&map("77"));
    expect!["03 -> none"].assert_eq(&map("03"));
    expect!["380 -> none"].assert_eq(&map("380"));
    let old = units().provinces(Tree::Gso2024);
    assert_eq!(old.len(), 63);
    let mut targets: Vec<UnitCode> = old
        .iter()
        .map(|p| units().province_2025_for_2024(&p.code).map(|n| n.code))
        .collect::<Option<_>>()
        .unwrap();
    targets.sort();
    targets.dedup();
    let new: Vec<UnitCode> = units()
        .provinces(Tree::Gso2025)
        .iter()
        .map(|p| p.code)
        .collect();
    assert_eq!(targets, new);
}

#[test]
fn old_communes_map_where_the_new_tree_reuses_their_code() {
    let map = |old: &str| {
        let from = units()
            .lookup(Tree::Gso2024, old)
            .map(show)
            .unwrap_or_default();
        let to = units().commune_2025_for_2024(&code(old)).map(show);
        format!("{from} -> {}", to.unwrap_or_else(|| "unknown".into()))
    };
    expect!["14758 Phường Đông Thọ (commune, urban) -> 14758 Phường Hàm Rồng (commune, urban)"]
        .assert_eq(&map("14758"));
    expect!["14755 Phường Hàm Rồng (commune, urban) -> unknown"].assert_eq(&map("14755"));
    expect!["15001 Xã Trung Hạ (commune) -> 15001 Xã Trung Hạ (commune)"].assert_eq(&map("15001"));
    assert!(units().commune_2025_for_2024(&code("38")).is_none());
    // Every mapped commune lands in the province its old province merged into.
    for (&old, &new) in &units().commune_map {
        let old = units()
            .unit(Tree::Gso2024, &UnitCode::commune(old).unwrap())
            .unwrap();
        let old_province = units()
            .ancestors(Tree::Gso2024, &old.code)
            .last()
            .unwrap()
            .code;
        let new = units()
            .unit(Tree::Gso2025, &UnitCode::commune(new).unwrap())
            .unwrap();
        assert_eq!(
            units()
                .province_2025_for_2024(&old_province)
                .map(|p| p.code),
            new.parent,
            "{}",
            old.name
        );
    }
}

#[test]
fn ancestors_go_up_to_the_province_and_contains_follows_them() {
    let u = units();
    expect![[r#"
        387 Huyện Quan Sơn (district)
        38 Tỉnh Thanh Hóa (province)"#]]
    .assert_eq(&show_all(&u.ancestors(Tree::Gso2024, &code("15001"))));
    expect!["38 Tỉnh Thanh Hóa (province)"]
        .assert_eq(&show_all(&u.ancestors(Tree::Gso2025, &code("15001"))));
    expect![""].assert_eq(&show_all(&u.ancestors(Tree::Gso2024, &code("38"))));
    expect![""].assert_eq(&show_all(&u.ancestors(Tree::Gso2024, &UnitCode::NATION)));

    let contains = |tree, a: &str, b: &str| u.contains(tree, &code(a), &code(b));
    assert!(contains(Tree::Gso2024, "38", "15001"));
    assert!(contains(Tree::Gso2024, "387", "15001"));
    assert!(contains(Tree::Gso2024, "15001", "15001"));
    assert!(contains(Tree::Gso2024, "VN", "15001"));
    assert!(contains(Tree::Gso2024, "VN", "VN"));
    assert!(contains(Tree::Gso2025, "38", "15001"));
    assert!(!contains(Tree::Gso2024, "380", "15001"));
    assert!(!contains(Tree::Gso2024, "01", "15001"));
    assert!(!contains(Tree::Gso2024, "15001", "387"));
    assert!(!contains(Tree::Gso2025, "387", "15001"));
    assert!(!contains(Tree::Gso2024, "VN", "99999"));
    assert!(!contains(Tree::Gso2025, "62", "62"));
}

#[test]
fn children_and_communes_are_listed_in_code_order() {
    let u = units();
    expect![[r#"
        00001 Phường Phúc Xá (commune, urban)
        00004 Phường Trúc Bạch (commune, urban)
        00006 Phường Vĩnh Phúc (commune, urban)"#]]
    .assert_eq(&show_all(&u.children(Tree::Gso2024, &code("001"))[..3]));
    let districts = u.children(Tree::Gso2024, &code("38"));
    assert_eq!(districts.len(), 26);
    assert!(districts.windows(2).all(|w| w[0].code < w[1].code));
    assert_eq!(u.children(Tree::Gso2025, &code("38")).len(), 166);
    assert!(u.children(Tree::Gso2024, &code("15001")).is_empty());
    assert!(u
        .children(Tree::Gso2024, &code("62"))
        .iter()
        .all(|d| d.level == Level::District));
    assert_eq!(u.provinces(Tree::Gso2025).len(), 34);
    assert_eq!(u.children(Tree::Gso2025, &UnitCode::NATION).len(), 34);

    let under_38 = u.communes_under(Tree::Gso2024, &code("38"));
    assert_eq!(
        under_38.len(),
        districts
            .iter()
            .map(|d| u.children(Tree::Gso2024, &d.code).len())
            .sum()
    );
    assert!(under_38.windows(2).all(|w| w[0].code < w[1].code));
    assert_eq!(
        u.communes_under(Tree::Gso2024, &UnitCode::NATION).len(),
        10051
    );
    assert_eq!(
        u.communes_under(Tree::Gso2025, &UnitCode::NATION).len(),
        3321
    );
    expect!["15001 Xã Trung Hạ (commune)"]
        .assert_eq(&show_all(&u.communes_under(Tree::Gso2024, &code("15001"))));
    // Island districts have no commune in the source.
    assert!(u.communes_under(Tree::Gso2024, &code("755")).is_empty());
    assert!(u.communes_under(Tree::Gso2024, &code("99999")).is_empty());
}

#[test]
fn the_tree_changes_on_the_first_of_july_2025() {
    assert_eq!(Tree::at(date!(2025 - 06 - 30)), Tree::Gso2024);
    assert_eq!(Tree::at(date!(2025 - 07 - 01)), Tree::Gso2025);
    assert_eq!(Tree::at(date!(1990 - 01 - 01)), Tree::Gso2024);
    for tree in Tree::ALL {
        let (from, until) = tree.in_force();
        for day in [from, until].into_iter().flatten() {
            assert_eq!(Tree::at(day), tree);
        }
        assert_eq!(Tree::parse(tree.as_str()), Some(tree));
    }
    assert_eq!(Tree::parse("2023"), None);
}

#[test]
fn urban_follows_the_unit_type() {
    let urban = |tree, c: &str| units().lookup(tree, c).map(|u| u.urban).unwrap();
    assert!(urban(Tree::Gso2024, "79"));
    assert!(!urban(Tree::Gso2024, "38"));
    assert!(urban(Tree::Gso2024, "381")); // Thị xã Bỉm Sơn
    assert!(!urban(Tree::Gso2024, "387"));
    // "Thành Phố Bắc Kạn" has a capital P in the source.
    assert!(units()
        .find_by_name(Tree::Gso2024, "bac kan")
        .iter()
        .all(|u| u.level != Level::District || u.urban));
    expect!["Thanh Hóa"].assert_eq(units().lookup(Tree::Gso2024, "38").unwrap().short_name());
    expect!["Trung Hạ"].assert_eq(units().lookup(Tree::Gso2024, "15001").unwrap().short_name());
    expect!["Việt Nam"].assert_eq(
        units()
            .unit(Tree::Gso2024, &UnitCode::NATION)
            .unwrap()
            .short_name(),
    );
}

#[test]
fn malformed_lines_are_skipped_not_fatal() {
    let text = "# header\n\
                2024\tP\t38\t\tTỉnh Thanh Hóa\n\
                2024\tD\t380\t38\tThành phố Thanh Hóa\n\
                2024\tC\t14755\t380\tPhường Hàm Rồng\n\
                2025\tP\t38\t\tTỉnh Thanh Hóa\n\
                2025\tC\t14758\t38\tPhường Hàm Rồng\n\
                2025\tD\t380\t38\tno districts in 2025\n\
                2024\tC\t14756\t999\torphan\n\
                2024\tP\t38\t\tduplicate\n\
                2024\tP\t100\t\ttoo wide\n\
                2024\tP\t3\t1\tprovince with a parent\n\
                2024\tC\t14757\t380\t\n\
                garbage\n\
                M\tP\t38\t38\n\
                M\tP\t38\t38\n\
                M\tP\t62\t51\n\
                M\tC\t14755\t14758\n\
                M\tX\t1\t1\n";
    let units = Units::from_tsv(text);
    assert_eq!(units.skipped, 10);
    assert_eq!(units.len(Tree::Gso2024), 3);
    assert_eq!(units.len(Tree::Gso2025), 2);
    assert_eq!(
        units.province_2024(38).map(|u| u.name.as_str()),
        Some("Tỉnh Thanh Hóa")
    );
    assert!(units.province_2025_for_2024(&code("38")).is_some());
    assert!(units.commune_2025_for_2024(&code("14755")).is_some());
    assert!(Units::from_tsv("").is_empty(Tree::Gso2024));
}
