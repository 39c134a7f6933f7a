//! The operations console (`/ops…`): the dashboard's quota cards with their status and %, a
//! quota's page with its chart, splits by hand that no longer add up, outreach lists with their
//! CSV and XLSX exports and printable view, contacts that propose register changes, reports
//! and campaigns, scope by unit, and CSRF on every form.
//!
//! One server over its own fresh store (SQLite, or PostgreSQL when `EID_TEST_DATABASE_URL` is
//! set) with generated people of Kon Tum and officers of the province, of a district, of one of
//! its communes and of another commune of that district. Quotas are set over the API with a
//! bearer token, as a province system would; counts are put into the per-day counters the
//! account events roll up. Each test uses a metric or cohort of its own, so they run in
//! parallel without meeting.

use std::sync::{Arc, OnceLock};

use eid_core::accounts::{day_number, metric};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::store::{unit_path, Role};
use eid_core::{sql, Actor, Store};
use eid_domain::{Level, Person, Tree, UnitCode, Units};
use serde_json::{json, Value};
use time::{Date, Duration, UtcOffset};

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, get_json, post_form,
    send_json, set_cookie, sign_in, spawn, Reply, TestUser,
};

struct Fixture {
    base: String,
    store: Arc<dyn Store>,
    persons: Vec<Person>,
    commune: UnitCode,
    /// Another commune of the district (`xa_khac`'s).
    other: UnitCode,
    district: UnitCode,
    tinh: TestUser,
    huyen: TestUser,
    xa: TestUser,
    xa_khac: TestUser,
    kiemtra: TestUser,
}

/// Today in Vietnam, as the server counts days.
fn today() -> Date {
    crate::helpers::now()
        .to_offset(UtcOffset::from_hms(7, 0, 0).unwrap())
        .date()
}

/// Adds `n` to the counters of `metric` for `commune` on `day`, as the roll-up does.
fn bump(store: &dyn Store, metric: &str, commune: &UnitCode, day: Date, n: i64) {
    let path = unit_path(commune).unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + $4",
            &[metric.into(), path.into(), day_number(day).into(), n.into()],
        )?;
        tx.exec(
            "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
             ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
            &[metric.into(), path.into(), n.into()],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let store = fresh_store("console-ops");
        let today = today();
        let province = UnitCode::parse("62").unwrap();
        let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
            count: 2000,
            seed: 23,
            province: Some(province),
            today,
        })
        .unwrap()
        .filter(|p| p.check(today).is_ok())
        .collect();
        let opts = ImportOptions {
            on_error: OnError::Skip,
            today,
            now: crate::helpers::now(),
            actor: Actor::Cli("test".into()),
            reason: "test".into(),
        };
        import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
        // The commune with the most people, its district, and another commune of the district.
        let units = Units::get();
        let mut counts: std::collections::HashMap<UnitCode, usize> = Default::default();
        for p in &persons {
            *counts.entry(p.residence.unit).or_default() += 1;
        }
        let commune = counts
            .iter()
            .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
            .map(|(c, _)| *c)
            .unwrap();
        let district = units
            .ancestors(Tree::Gso2024, &commune)
            .into_iter()
            .find(|u| u.level == Level::District)
            .unwrap()
            .code;
        let other = units
            .communes_under(Tree::Gso2024, &district)
            .into_iter()
            .find(|u| u.code != commune)
            .unwrap()
            .code;
        // Ten days of applications in the commune: 4 a day, today included.
        for back in 0..10 {
            bump(
                store.as_ref(),
                metric::APPLICATIONS_COLLECTED,
                &commune,
                today - Duration::days(back),
                4,
            );
        }
        let s = store.as_ref();
        Fixture {
            tinh: create_user(s, "ops.tinh", Role::Province, province),
            huyen: create_user(s, "ops.huyen", Role::District, district),
            xa: create_user(s, "ops.xa", Role::Commune, commune),
            xa_khac: create_user(s, "ops.xa.khac", Role::Commune, other),
            kiemtra: create_user(s, "ops.kiemtra", Role::Auditor, UnitCode::NATION),
            base: spawn(Arc::clone(&store)),
            store,
            persons,
            commune,
            other,
            district,
        }
    })
}

fn api_post(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = send_json(
        agent()
            .post(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}")),
        body,
    );
    let status = r.status();
    (status, r.into_json().unwrap_or(Value::Null))
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sets a quota over the API as the province; returns its id.
    fn quota(&self, unit: &UnitCode, metric: &str, cohort: &str, target: u64) -> i64 {
        let (status, body) = api_post(
            &self.base,
            "/api/v1/ops/quotas",
            &self.tinh.token,
            json!({
                "unit": unit.as_str(), "metric": metric, "cohort": cohort, "target": target,
                "start": eid_domain::iso(today() - Duration::days(9)),
                "deadline": eid_domain::iso(today() + Duration::days(20)),
                "reason": "Kế hoạch 06 của tỉnh",
            }),
        );
        assert_eq!(status, 201, "{body}");
        body["quota"]["id"].as_i64().unwrap()
    }

    /// People of the commune the outreach list shows: alive, 14 or older.
    fn eligible(&self) -> Vec<&Person> {
        self.eligible_in(&self.commune)
    }

    fn eligible_in(&self, commune: &UnitCode) -> Vec<&Person> {
        let today = today();
        self.persons
            .iter()
            .filter(|p| {
                p.residence.unit == *commune
                    && p.life.state == eid_domain::LifeState::Alive
                    && p.birth.age_on(today) >= 14
            })
            .collect()
    }
}

/// A signed-in officer: the session cookie and the CSRF token of their session.
struct Officer {
    cookie: String,
    csrf: String,
}

fn officer(f: &Fixture, u: &TestUser) -> Officer {
    let r = sign_in(&f.base, &u.username, &u.password);
    assert_eq!(r.status(), 303);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let page = call(agent().get(&f.url("/search")).header("Cookie", &cookie));
    let csrf = csrf_field(&page.into_string().unwrap());
    Officer { cookie, csrf }
}

impl Officer {
    fn get(&self, f: &Fixture, path: &str) -> (u16, String) {
        let r = call(agent().get(&f.url(path)).header("Cookie", &self.cookie));
        (r.status(), r.into_string().unwrap())
    }

    fn get_bytes(&self, f: &Fixture, path: &str) -> (u16, String, Vec<u8>) {
        let r = call(agent().get(&f.url(path)).header("Cookie", &self.cookie));
        let status = r.status();
        let ct = r.header("content-type").unwrap_or("").to_owned();
        (status, ct, r.into_bytes())
    }

    /// Posts a form with the session's CSRF token added.
    fn post(&self, f: &Fixture, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut all = form.to_vec();
        all.push(("csrf", &self.csrf));
        post_form(
            agent().post(&f.url(path)).header("Cookie", &self.cookie),
            &all,
        )
    }
}

#[test]
fn the_dashboard_shows_each_quota_with_its_status_and_percent() {
    let f = fixture();
    // 40 of 100 done, 4 a day over the last week, 20 days left: 120 % by the deadline.
    let id = f.quota(&f.district, metric::APPLICATIONS_COLLECTED, "", 100);
    let huyen = officer(f, &f.huyen);

    let (status, page) = huyen.get(f, "/ops");
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/ops\""), "the section is in the menu");
    assert!(page.contains(&format!("href=\"/ops/quotas/{id}\"")));
    assert!(page.contains("Hồ sơ định danh mức 2 thu nhận"));
    assert!(page.contains("40,00\u{a0}%"), "the % with two decimals");
    assert!(page.contains("badge st-on_track\">Đúng tiến độ"), "{page}");
    assert!(
        page.contains("120,00\u{a0}%"),
        "the forecast at the deadline"
    );
    assert!(
        page.contains("Số ngày còn lại là số ngày lịch sau ngày này, tính đến hết ngày hạn"),
        "the page states how days left are counted"
    );
    assert!(page.contains("<svg class=\"chart compact\""));

    // In English, the same figures written the English way.
    let r = call(
        agent()
            .get(&f.url("/ops"))
            .header("Cookie", &format!("{}; lang=en", huyen.cookie)),
    );
    let en = r.into_string().unwrap();
    assert!(en.contains("40.00\u{a0}%") && en.contains("On track"));
    assert!(en.contains("calendar days after this day up to and including the deadline"));

    // A day before the start: nothing done yet, every day still ahead.
    let (status, past) = huyen.get(
        f,
        &format!(
            "/ops?as_of={}",
            eid_domain::iso(today() - Duration::days(12))
        ),
    );
    assert_eq!(status, 200);
    assert!(past.contains("0,00\u{a0}%"));
    let (status, _) = huyen.get(f, "/ops?as_of=yesterday");
    assert_eq!(status, 400);
}

#[test]
fn the_quota_page_draws_cumulative_progress_against_the_required_line() {
    let f = fixture();
    let id = f.quota(
        &f.district,
        metric::APPLICATIONS_COLLECTED,
        "Cán bộ, công chức",
        200,
    );
    let huyen = officer(f, &f.huyen);

    let (status, page) = huyen.get(f, &format!("/ops/quotas/{id}"));
    assert_eq!(status, 200);
    assert!(
        page.contains("<svg class=\"chart\""),
        "the chart is inline SVG"
    );
    assert!(page.contains("class=\"ch-required\""), "the required line");
    assert!(page.contains("class=\"ch-actual\""), "the cumulative count");
    assert!(page.contains("class=\"ch-forecast\""), "the forecast");
    assert!(page.contains("class=\"ch-today\""), "the as-of day");
    assert!(!page.contains("<script"), "no script: the CSP runs none");
    assert!(page.contains("Cán bộ, công chức"));
    assert!(page.contains("Năng lực thu nhận"), "capacity");
    assert!(
        page.contains("Kế hoạch 06 của tỉnh"),
        "the history with its reason"
    );
    // The district is not above itself: no form to change its own target, but it splits.
    assert!(!page.contains("id=\"target\""));
    assert!(page.contains("id=\"split-manual\""));

    // The province changes the target with a reason; the history keeps old → new.
    let tinh = officer(f, &f.tinh);
    let r = tinh.post(
        f,
        &format!("/ops/quotas/{id}/target"),
        &[("target", "250"), ("reason", "Bổ sung theo công văn số 12")],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = tinh.get(f, &format!("/ops/quotas/{id}?done=target"));
    assert!(page.contains("Đã điều chỉnh chỉ tiêu"));
    assert!(page.contains("<del>200</del>") && page.contains("<ins>250</ins>"));
    assert!(page.contains("Bổ sung theo công văn số 12"));
    // Without a reason it is refused in place.
    let r = tinh.post(
        f,
        &format!("/ops/quotas/{id}/target"),
        &[("target", "300"), ("reason", " ")],
    );
    assert_eq!(r.status(), 400);
    assert!(r.into_string().unwrap().contains("Cần ghi lý do"));
}

#[test]
fn a_split_by_hand_that_does_not_add_up_needs_a_confirmation_and_is_flagged() {
    let f = fixture();
    let id = f.quota(&f.district, metric::LEVEL1_ACTIVATED, "", 500);
    let huyen = officer(f, &f.huyen);

    let r = huyen.post(
        f,
        &format!("/ops/quotas/{id}/split"),
        &[("mode", "proportional")],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = huyen.get(f, &format!("/ops/quotas/{id}"));
    assert!(!page.contains("class=\"alert mismatch\""));
    assert!(page.contains("Khớp với chỉ tiêu"));

    // The commune's share by hand, 7 more than proportional.
    let (_, v) = get_json(&f.base, &format!("/api/v1/ops/quotas/{id}"), &f.huyen.token);
    let mine = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["unit"] == f.commune.as_str())
        .unwrap();
    let more = (mine["target"].as_u64().unwrap() + 7).to_string();
    let key = format!("part.{}", f.commune.as_str());
    // Not saved without a confirmation that says what is over.
    let r = huyen.post(
        f,
        &format!("/ops/quotas/{id}/split"),
        &[("mode", "manual"), (&key, &more)],
    );
    assert_eq!(r.status(), 422);
    let refused = r.into_string().unwrap();
    assert!(refused.contains("id=\"split-confirm\""), "{refused}");
    assert!(refused.contains("vượt 7 so với chỉ tiêu 500"), "{refused}");
    assert!(refused.contains("name=\"accept_difference\" value=\"7\""));
    assert!(
        !refused.contains("the parts add up"),
        "no English in the Vietnamese page"
    );
    assert!(!refused.contains("ops.done.split"));
    let (_, page) = huyen.get(f, &format!("/ops/quotas/{id}"));
    assert!(
        !page.contains("class=\"alert mismatch\""),
        "nothing was saved"
    );
    // Confirmed: saved, and still flagged.
    let r = huyen.post(
        f,
        &format!("/ops/quotas/{id}/split"),
        &[
            ("mode", "manual"),
            (&key, &more),
            ("accept_difference", "7"),
        ],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = huyen.get(f, &format!("/ops/quotas/{id}"));
    assert!(page.contains("class=\"alert mismatch\""), "{page}");
    assert!(page.contains("(thừa 7)"));
    assert!(page.contains("Không khớp với chỉ tiêu"));
    let (_, dash) = huyen.get(f, "/ops");
    assert!(dash.contains("(thừa 7)"), "the card warns too");

    // A commune's quota cannot be split further: refused in place.
    let child = mine["id"].as_i64().unwrap();
    let xa = officer(f, &f.xa);
    let (status, page) = xa.get(f, &format!("/ops/quotas/{child}"));
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"split-manual\""));
}

/// The parts of an XLSX workbook that hold its cells' text: the shared strings and sheet 1.
fn xlsx_text(xlsx: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut text = String::new();
    for part in ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"] {
        std::io::Read::read_to_string(&mut zip.by_name(part).unwrap(), &mut text).unwrap();
    }
    text
}

#[test]
fn outreach_lists_people_and_exports_csv_xlsx_and_a_printable_list() {
    let f = fixture();
    let xa = officer(f, &f.xa);
    let eligible = f.eligible();
    assert!(!eligible.is_empty());

    let (status, page) = xa.get(f, "/ops/outreach?missing=no_account");
    assert_eq!(status, 200);
    for p in &eligible {
        assert!(page.contains(p.id.as_str()), "{} is listed", p.id.as_str());
    }
    assert!(page.contains("type=\"checkbox\" name=\"id\""));
    assert!(page.contains("action=\"/ops/outreach/contact\""));

    let (status, ct, csv) = xa.get_bytes(f, "/ops/outreach.csv?missing=no_account");
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    assert_eq!(&csv[..3], &[0xEF, 0xBB, 0xBF]);
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("personal_id,name,birth_date"));
    assert_eq!(text.lines().count(), eligible.len() + 1);
    // Birth dates the Vietnamese way (dd/mm/yyyy), never ISO.
    let full = eligible.iter().find_map(|p| match p.birth {
        eid_domain::BirthDate::Full(d) => Some((p.id.as_str(), d)),
        eid_domain::BirthDate::Year(_) => None,
    });
    if let Some((id, d)) = full {
        let line = text.lines().find(|l| l.starts_with(id)).unwrap();
        let vn = format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year());
        assert!(
            line.contains(&vn) && !line.contains(&eid_domain::iso(d)),
            "{line}"
        );
    }

    let (status, ct, xlsx) = xa.get_bytes(f, "/ops/outreach.xlsx?missing=no_account");
    assert_eq!(
        (status, ct.as_str()),
        (
            200,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    );
    assert_eq!(&xlsx[..2], b"PK", "a ZIP archive");
    // Opened as a workbook: the translated header and the names are in its cells' strings.
    let raw = xlsx_text(&xlsx);
    assert!(raw.contains("Số định danh") && raw.contains("Họ và tên"));
    assert!(raw.contains(&eligible[0].name.full()));
    // Birth dates are date cells shown dd/mm/yyyy: a number format, and no ISO date as text.
    let mut styles = String::new();
    std::io::Read::read_to_string(
        &mut zip::ZipArchive::new(std::io::Cursor::new(&xlsx[..]))
            .unwrap()
            .by_name("xl/styles.xml")
            .unwrap(),
        &mut styles,
    )
    .unwrap();
    assert!(styles.contains("formatCode=\"dd/mm/yyyy\""), "{styles}");
    if let Some((_, d)) = full {
        assert!(!raw.contains(&eid_domain::iso(d)), "no ISO date as text");
    }

    let (status, print) = xa.get(f, "/ops/outreach/print?missing=no_account");
    assert_eq!(status, 200);
    assert!(print.contains("DANH SÁCH CÔNG DÂN CẦN VẬN ĐỘNG"));
    assert!(print.contains("Người lập danh sách") && print.contains("(Ký, ghi rõ họ tên)"));
    assert!(!print.contains("class=\"sidenav\""));

    // A filter on the phone type lists only those.
    let (_, none) = xa.get(f, "/ops/outreach?missing=no_account&phone_type=none");
    let want = eligible
        .iter()
        .filter(|p| p.phone_type == eid_domain::PhoneType::None)
        .count();
    assert_eq!(none.matches("type=\"checkbox\" name=\"id\"").count(), want);
}

#[test]
fn a_contact_outcome_of_death_becomes_a_proposal_the_district_confirms() {
    let f = fixture();
    // In the other commune, so that the first commune's lists stay as generated.
    let xa = officer(f, &f.xa_khac);
    let p = f.eligible_in(&f.other)[0];
    let id = p.id.as_str();

    let r = xa.post(
        f,
        "/ops/outreach/assign",
        &[
            ("commune", f.other.as_str()),
            ("id", id),
            ("assignee", "Tổ công tác số 2"),
            ("due", &eid_domain::iso(today() + Duration::days(3))),
            ("back", "missing=no_account"),
        ],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.header("location"),
        Some("/ops/outreach?missing=no_account&done=assigned")
    );
    let r = xa.post(
        f,
        "/ops/outreach/contact",
        &[
            ("personal_id", id),
            ("outcome", "dead"),
            ("note", "Gia đình báo"),
            ("back", "missing=no_account"),
        ],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = xa.get(f, "/ops/outreach?missing=no_account&done=contact_proposal");
    assert!(page.contains("tạo đề xuất điều chỉnh"));
    assert!(page.contains("Tổ công tác số 2"));
    // An unknown outcome is refused on the list.
    let r = xa.post(
        f,
        "/ops/outreach/contact",
        &[("personal_id", id), ("outcome", "vanished")],
    );
    assert_eq!(r.status(), 422);

    let huyen = officer(f, &f.huyen);
    let (_, list) = huyen.get(f, "/ops/proposals");
    assert!(list.contains(id) && list.contains("Đã mất"));
    let pid = {
        let at = list.find(&format!("/persons/{id}")).unwrap();
        let form = &list[at..];
        let start =
            form.find("action=\"/ops/proposals/").unwrap() + "action=\"/ops/proposals/".len();
        form[start..start + form[start..].find('"').unwrap()].to_owned()
    };
    let r = huyen.post(
        f,
        &format!("/ops/proposals/{pid}"),
        &[("decision", "confirm")],
    );
    assert_eq!(r.status(), 303);
    let stored = f.store.person(&p.id).unwrap().unwrap();
    assert_eq!(stored.person.life.state, eid_domain::LifeState::Dead);
    let (_, after) = xa.get(f, "/ops/outreach?missing=no_account");
    assert!(!after.contains(id), "the dead leave the list");
}

#[test]
fn another_communes_officer_and_an_auditor_are_refused() {
    let f = fixture();
    let id = f.quota(&f.district, metric::LEVEL2_ACTIVATED, "", 300);
    let huyen = officer(f, &f.huyen);
    assert_eq!(
        huyen
            .post(
                f,
                &format!("/ops/quotas/{id}/split"),
                &[("mode", "proportional")]
            )
            .status(),
        303
    );
    let (_, v) = get_json(&f.base, &format!("/api/v1/ops/quotas/{id}"), &f.huyen.token);
    let child = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["unit"] == f.commune.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let khac = officer(f, &f.xa_khac);
    let c = f.commune.as_str();
    for path in [
        format!("/ops/quotas/{child}"),
        format!("/ops/quotas/{child}/leaderboard"),
        format!("/ops/outreach?commune={c}"),
        format!("/ops/outreach.csv?commune={c}"),
        format!("/ops/outreach.xlsx?commune={c}"),
        format!("/ops/outreach/print?commune={c}"),
        format!("/ops?unit={c}"),
    ] {
        let (status, page) = khac.get(f, &path);
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("ngoài phạm vi"), "{path}");
    }
    // Their own dashboard and list are fine; the district's quota is visible to its communes.
    assert_eq!(khac.get(f, "/ops").0, 200);
    assert_eq!(khac.get(f, "/ops/outreach").0, 200);
    assert_eq!(khac.get(f, &format!("/ops/quotas/{id}")).0, 200);
    // Contacts for a person of another commune are refused.
    let r = khac.post(
        f,
        "/ops/outreach/contact",
        &[
            ("personal_id", f.eligible()[0].id.as_str()),
            ("outcome", "visited"),
        ],
    );
    assert_eq!(r.status(), 403);

    let kiemtra = officer(f, &f.kiemtra);
    assert_eq!(kiemtra.get(f, "/ops").0, 403);
    let (_, search) = kiemtra.get(f, "/audit");
    assert!(
        !search.contains("href=\"/ops\""),
        "no operations menu for auditors"
    );
}

#[test]
fn forms_without_the_csrf_token_are_refused() {
    let f = fixture();
    let id = f.quota(&f.district, metric::ACCOUNTS_ACTIVATED, "", 80);
    let tinh = officer(f, &f.tinh);
    let cookie = |path: &str| agent().post(&f.url(path)).header("Cookie", &tinh.cookie);
    let d = eid_domain::iso(today());
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/ops/quotas/{id}/target"),
            vec![("target", "999"), ("reason", "x")],
        ),
        (
            format!("/ops/quotas/{id}/split"),
            vec![("mode", "proportional")],
        ),
        (
            "/ops/quotas".into(),
            vec![
                ("unit", f.district.as_str()),
                ("metric", "cards_issued"),
                ("target", "5"),
                ("start", &d),
                ("deadline", &d),
                ("reason", "x"),
            ],
        ),
        (
            "/ops/campaigns".into(),
            vec![("name", "x"), ("unit", "62"), ("start", &d), ("end", &d)],
        ),
        (
            "/ops/reports/schedules".into(),
            vec![
                ("agency", "x"),
                ("unit", "62"),
                ("schedule", "weekly"),
                ("grace_days", "1"),
                ("start", &d),
            ],
        ),
        (
            "/ops/outreach/contact".into(),
            vec![
                ("personal_id", f.eligible()[0].id.as_str()),
                ("outcome", "visited"),
            ],
        ),
    ];
    for (path, form) in &forms {
        assert_eq!(post_form(cookie(path), form).status(), 403, "{path}");
        let mut wrong = form.clone();
        wrong.push(("csrf", "00"));
        assert_eq!(post_form(cookie(path), &wrong).status(), 403, "{path}");
    }
    let (_, v) = get_json(&f.base, &format!("/api/v1/ops/quotas/{id}"), &f.tinh.token);
    assert_eq!(v["quota"]["target"], 80, "nothing changed");
    assert_eq!(v["children"].as_array().unwrap().len(), 0);
}

#[test]
fn reports_and_campaigns_are_added_and_shown_through_the_forms() {
    let f = fixture();
    let tinh = officer(f, &f.tinh);
    let start = eid_domain::iso(today() - Duration::days(21));
    let r = tinh.post(
        f,
        "/ops/reports/schedules",
        &[
            ("agency", "Sở Tư pháp"),
            ("unit", "62"),
            ("schedule", "weekly"),
            ("grace_days", "2"),
            ("start", &start),
        ],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = tinh.get(f, "/ops/reports?done=schedule");
    assert!(page.contains("Đã thêm lịch báo cáo") && page.contains("Sở Tư pháp"));
    // Weeks gone by without a report, in the strip of periods.
    assert!(page.contains("badge bad\">Thiếu<"), "missing weeks");
    let sched = {
        let at = page.find("Sở Tư pháp").unwrap();
        let rest = &page[at..];
        let start = rest.find("action=\"/ops/reports/").unwrap() + "action=\"/ops/reports/".len();
        rest[start..start + rest[start..].find('/').unwrap()].to_owned()
    };
    let r = tinh.post(
        f,
        &format!("/ops/reports/{sched}/submit"),
        &[("period_day", &start), ("body", "Đã rà soát 3 xã")],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = tinh.get(f, "/ops/reports");
    assert!(
        page.contains("badge warn\">Trễ<"),
        "reported after its due day"
    );
    let again = tinh.post(
        f,
        &format!("/ops/reports/{sched}/submit"),
        &[("period_day", &start), ("body", "lần nữa")],
    );
    assert_eq!(again.status(), 422);
    assert!(again
        .into_string()
        .unwrap()
        .contains("Kỳ này đã nộp báo cáo"));

    let r = tinh.post(
        f,
        "/ops/campaigns",
        &[
            ("name", "Đợt cao điểm 90 ngày"),
            ("slogan", "Đến từng nhà, rà từng người"),
            ("unit", "62"),
            ("start", &eid_domain::iso(today() - Duration::days(3))),
            ("end", &eid_domain::iso(today() + Duration::days(10))),
        ],
    );
    assert_eq!(r.status(), 303);
    let (_, page) = tinh.get(f, "/ops/campaigns");
    assert!(page.contains("Đợt cao điểm 90 ngày") && page.contains("Đang diễn ra"));
    let (_, dash) = tinh.get(f, "/ops");
    assert!(
        dash.contains("Đến từng nhà, rà từng người"),
        "the campaign in progress"
    );
    let bad = tinh.post(
        f,
        "/ops/campaigns",
        &[
            ("name", " "),
            ("unit", "62"),
            ("start", "2026-01-02"),
            ("end", "2026-01-01"),
        ],
    );
    assert_eq!(bad.status(), 422);
}

/// The cells of column `col` (0-based) of the body of the first table whose class starts with
/// `class`, in the page's order.
fn column(page: &str, class: &str, col: usize) -> Vec<String> {
    let start = page.find(&format!("<table class=\"{class}")).unwrap();
    let body = &page[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let cell = row.split("<td").nth(col + 1).unwrap();
            let text = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
            // Inner tags (a link, a badge) dropped.
            let mut out = String::new();
            let mut inside = false;
            for ch in text.chars() {
                match ch {
                    '<' => inside = true,
                    '>' => inside = false,
                    c if !inside => out.push(c),
                    _ => {}
                }
            }
            out.trim().to_owned()
        })
        .collect()
}

#[test]
fn rankings_and_splits_sort_by_any_column_through_links() {
    let f = fixture();
    let id = f.quota(&f.district, metric::LEVEL2_ACTIVATED, "", 900);
    let huyen = officer(f, &f.huyen);
    let r = huyen.post(
        f,
        &format!("/ops/quotas/{id}/split"),
        &[("mode", "proportional")],
    );
    assert_eq!(r.status(), 303);
    let n = |s: &str| s.replace('.', "").parse::<u64>().unwrap();

    // The split, by target, both ways; the header says which way and keeps the other parameters.
    let as_of = eid_domain::iso(today());
    let (st, page) = huyen.get(
        f,
        &format!("/ops/quotas/{id}?as_of={as_of}&sort=target&dir=desc"),
    );
    assert_eq!(st, 200);
    let down: Vec<u64> = column(&page, "children", 1).iter().map(|s| n(s)).collect();
    assert!(down.len() > 2, "{down:?}");
    assert!(down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
    assert!(down.first() > down.last(), "the targets differ: {down:?}");
    assert!(page.contains("aria-sort=\"descending\""), "{page}");
    assert!(
        page.contains(&format!(
            "href=\"/ops/quotas/{id}?as_of={as_of}&amp;sort=target&amp;dir=asc#children\""
        )),
        "{page}"
    );
    let (_, page) = huyen.get(f, &format!("/ops/quotas/{id}?sort=target&dir=asc"));
    let up: Vec<u64> = column(&page, "children", 1).iter().map(|s| n(s)).collect();
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "{up:?}");

    // The ranking of the units below, by unit name; by rank (ascending) without a sort.
    let (_, page) = huyen.get(f, &format!("/ops/quotas/{id}"));
    assert!(
        page.contains("<th class=\"num\" aria-sort=\"ascending\"><a href=\"/ops/quotas/"),
        "{page}"
    );
    let (_, page) = huyen.get(f, &format!("/ops/quotas/{id}?sort=unit&dir=desc"));
    let names = column(&page, "ranking", 2);
    let mut sorted = names.clone();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.to_lowercase()));
    assert_eq!(names, sorted);
    // An unknown column leaves the rank order.
    let (st, _) = huyen.get(f, &format!("/ops/quotas/{id}?sort=nope&dir=up"));
    assert_eq!(st, 200);
}
