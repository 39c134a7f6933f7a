#!/usr/bin/env python3
"""Derive crates/eid-domain/data/admin-units.tsv from the GSO administrative-unit lists.

Usage (from anywhere):

    python3 tools/derive-admin-units.py [SHARED_ADMIN_UNITS_DIR]

SHARED_ADMIN_UNITS_DIR defaults to ../shared/data/admin-units relative to the repository root and
must hold gso-2024-three-level.json (vietnam-provinces 0.6.0) and gso-2025-two-level-nested.json
(vietnam-provinces 2025.10.1). Standard library only. The output is deterministic: running the
script twice on the same inputs gives the same bytes.

Output rows (tab-separated, after the `#` header):

    <tree> <level> <code> <parent> <name>   tree 2024|2025, level P|D|C, codes as integers
    M      P       <old province> <new province>
    M      C       <old commune>  <new commune>

The script also checks the province merger table (Resolution 202/2025/QH15) against the data:
every 2025 commune whose code is also a 2024 commune code must lie in the province that the
old commune's province merged into. It exits non-zero if any does not.
"""

import json
import os
import sys
import unicodedata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SHARED = os.path.join(REPO, "..", "shared", "data", "admin-units")
OUT = os.path.join(REPO, "crates", "eid-domain", "data", "admin-units.tsv")

SOURCE = (
    "Official codes and names of the General Statistics Office (GSO), as packaged by the PyPI "
    "package vietnam-provinces (author Nguyễn Hồng Quân, repository "
    "sunshine-tech/VietnamProvinces): 0.6.0 for the three-level tree, 2025.10.1 for the "
    "two-level tree. Derived by tools/derive-admin-units.py."
)

# The 34 provinces from 1 July 2025 (Resolution 202/2025/QH15): new code -> name without prefix.
NEW_PROVINCES = {
    1: "Hà Nội", 4: "Cao Bằng", 8: "Tuyên Quang", 11: "Điện Biên", 12: "Lai Châu",
    14: "Sơn La", 15: "Lào Cai", 19: "Thái Nguyên", 20: "Lạng Sơn", 22: "Quảng Ninh",
    24: "Bắc Ninh", 25: "Phú Thọ", 31: "Hải Phòng", 33: "Hưng Yên", 37: "Ninh Bình",
    38: "Thanh Hóa", 40: "Nghệ An", 42: "Hà Tĩnh", 44: "Quảng Trị", 46: "Huế",
    48: "Đà Nẵng", 51: "Quảng Ngãi", 52: "Gia Lai", 56: "Khánh Hòa", 66: "Đắk Lắk",
    68: "Lâm Đồng", 75: "Đồng Nai", 79: "Hồ Chí Minh", 80: "Tây Ninh", 82: "Đồng Tháp",
    86: "Vĩnh Long", 91: "An Giang", 92: "Cần Thơ", 96: "Cà Mau",
}

# The 63 provinces before 1 July 2025: old code -> new code (Resolution 202/2025/QH15).
PROVINCE_MAP = {
    1: 1,    # Hà Nội (unchanged)
    2: 8,    # Hà Giang -> Tuyên Quang
    4: 4,    # Cao Bằng (unchanged)
    6: 19,   # Bắc Kạn -> Thái Nguyên
    8: 8,    # Tuyên Quang
    10: 15,  # Lào Cai
    11: 11,  # Điện Biên (unchanged)
    12: 12,  # Lai Châu (unchanged)
    14: 14,  # Sơn La (unchanged)
    15: 15,  # Yên Bái -> Lào Cai
    17: 25,  # Hòa Bình -> Phú Thọ
    19: 19,  # Thái Nguyên
    20: 20,  # Lạng Sơn (unchanged)
    22: 22,  # Quảng Ninh (unchanged)
    24: 24,  # Bắc Giang -> Bắc Ninh
    25: 25,  # Phú Thọ
    26: 25,  # Vĩnh Phúc -> Phú Thọ
    27: 24,  # Bắc Ninh
    30: 31,  # Hải Dương -> Hải Phòng
    31: 31,  # Hải Phòng
    33: 33,  # Hưng Yên
    34: 33,  # Thái Bình -> Hưng Yên
    35: 37,  # Hà Nam -> Ninh Bình
    36: 37,  # Nam Định -> Ninh Bình
    37: 37,  # Ninh Bình
    38: 38,  # Thanh Hóa (unchanged)
    40: 40,  # Nghệ An (unchanged)
    42: 42,  # Hà Tĩnh (unchanged)
    44: 44,  # Quảng Bình -> Quảng Trị
    45: 44,  # Quảng Trị
    46: 46,  # Huế (unchanged)
    48: 48,  # Đà Nẵng
    49: 48,  # Quảng Nam -> Đà Nẵng
    51: 51,  # Quảng Ngãi
    52: 52,  # Bình Định -> Gia Lai
    54: 66,  # Phú Yên -> Đắk Lắk
    56: 56,  # Khánh Hòa
    58: 56,  # Ninh Thuận -> Khánh Hòa
    60: 68,  # Bình Thuận -> Lâm Đồng
    62: 51,  # Kon Tum -> Quảng Ngãi
    64: 52,  # Gia Lai
    66: 66,  # Đắk Lắk
    67: 68,  # Đắk Nông -> Lâm Đồng
    68: 68,  # Lâm Đồng
    70: 75,  # Bình Phước -> Đồng Nai
    72: 80,  # Tây Ninh
    74: 79,  # Bình Dương -> Hồ Chí Minh
    75: 75,  # Đồng Nai
    77: 79,  # Bà Rịa - Vũng Tàu -> Hồ Chí Minh
    79: 79,  # Hồ Chí Minh
    80: 80,  # Long An -> Tây Ninh
    82: 82,  # Tiền Giang -> Đồng Tháp
    83: 86,  # Bến Tre -> Vĩnh Long
    84: 86,  # Trà Vinh -> Vĩnh Long
    86: 86,  # Vĩnh Long
    87: 82,  # Đồng Tháp
    89: 91,  # An Giang
    91: 91,  # Kiên Giang -> An Giang
    92: 92,  # Cần Thơ
    93: 92,  # Hậu Giang -> Cần Thơ
    94: 92,  # Sóc Trăng -> Cần Thơ
    95: 96,  # Bạc Liêu -> Cà Mau
    96: 96,  # Cà Mau
}


def fail(msg):
    print(f"derive-admin-units: error: {msg}", file=sys.stderr)
    sys.exit(1)


def clean(name):
    """NFC, runs of whitespace collapsed to one space, trimmed. Returns (name, changed)."""
    out = " ".join(unicodedata.normalize("NFC", name).split())
    return out, out != name


def main(argv):
    shared = argv[1] if len(argv) > 1 else DEFAULT_SHARED
    with open(os.path.join(shared, "gso-2024-three-level.json"), encoding="utf-8") as f:
        rows24 = json.load(f)
    with open(os.path.join(shared, "gso-2025-two-level-nested.json"), encoding="utf-8") as f:
        provs25 = json.load(f)

    notes = []  # data oddities, written to the header and printed
    cleaned = 0

    # --- 2024: three levels, one row per commune ------------------------------------------
    p24, d24, c24 = {}, {}, {}  # code -> (parent, name)
    empty_districts = []

    def put(table, code, parent, name, what):
        old = table.get(code)
        if old is not None and old != (parent, name):
            fail(f"2024 {what} {code} has two names or parents: {old} and {(parent, name)}")
        table[code] = (parent, name)

    for r in rows24:
        pname, ch1 = clean(r["province_name"])
        dname, ch2 = clean(r["district_name"])
        cleaned += ch1 + ch2
        put(p24, r["province_code"], None, pname, "province")
        put(d24, r["district_code"], r["province_code"], dname, "district")
        if r["ward_code"] is None:
            empty_districts.append((r["district_code"], dname))
            continue
        cname, ch3 = clean(r["ward_name"])
        cleaned += ch3
        if not cname:
            fail(f"2024 commune {r['ward_code']} has no name")
        put(c24, r["ward_code"], r["district_code"], cname, "commune")

    # --- 2025: two levels ---------------------------------------------------------------------
    p25, c25 = {}, {}
    for p in provs25:
        name, ch = clean(p["name"])
        cleaned += ch
        # The nested file names provinces without their type ("Cao Bằng"); the flat file of the
        # same release says "Tỉnh Cao Bằng". Cities already carry "Thành phố".
        if p["division_type"] == "tỉnh" and not name.startswith("Tỉnh "):
            name = "Tỉnh " + name
        if p["code"] in p25:
            fail(f"2025 province {p['code']} appears twice")
        p25[p["code"]] = (None, name)
        for w in p["wards"]:
            wname, ch = clean(w["name"])
            cleaned += ch
            if w["code"] in c25:
                fail(f"2025 commune {w['code']} appears twice")
            c25[w["code"]] = (p["code"], wname)

    # --- structural checks ----------------------------------------------------------------
    for tree, table, width in (
        ("2024 province", p24, 2), ("2024 district", d24, 3), ("2024 commune", c24, 5),
        ("2025 province", p25, 2), ("2025 commune", c25, 5),
    ):
        for code in table:
            if not isinstance(code, int) or not 0 < code < 10 ** width:
                fail(f"{tree} code {code!r} does not fit {width} digits")
    for code, (parent, _) in c24.items():
        if parent not in d24:
            fail(f"2024 commune {code} has unknown district {parent}")

    if sorted(PROVINCE_MAP) != sorted(p24):
        fail(f"province table covers {sorted(PROVINCE_MAP)}, data has {sorted(p24)}")
    if sorted(set(PROVINCE_MAP.values())) != sorted(p25) or sorted(NEW_PROVINCES) != sorted(p25):
        fail(f"new provinces in the table differ from the 2025 data: {sorted(p25)}")
    for code, (_, name) in p25.items():
        if not name.endswith(" " + NEW_PROVINCES[code]):
            fail(f"2025 province {code} is {name!r}, the table says {NEW_PROVINCES[code]!r}")

    # --- the mapping check ----------------------------------------------------------------
    agree, disagree = 0, []
    for code, (new_prov, new_name) in sorted(c25.items()):
        if code not in c24:
            continue
        old_district, old_name = c24[code]
        old_prov = d24[old_district][0]
        if PROVINCE_MAP[old_prov] == new_prov:
            agree += 1
        else:
            disagree.append((code, old_name, old_prov, new_name, new_prov))
    only25 = sorted(code for code in c25 if code not in c24)
    print(f"mapping check: {agree} 2025 communes reuse a 2024 commune code in the mapped "
          f"province, {len(disagree)} do not, {len(only25)} have a code that is no 2024 commune")
    for d in disagree:
        print("  disagree: %05d %s (province %02d) -> %s (province %02d)" % d, file=sys.stderr)
    if disagree:
        fail(f"{len(disagree)} communes contradict the province merger table")

    commune_map = {code: code for code in c24 if code in c25}
    unmapped = len(c24) - len(commune_map)

    if empty_districts:
        notes.append(
            "2024 districts without communes in the source (island districts, governed directly): "
            + ", ".join("%03d %s" % d for d in sorted(empty_districts))
        )
    if cleaned:
        notes.append(f"{cleaned} source names had stray whitespace, collapsed to one space")
    if only25:
        notes.append(
            "2025 communes whose code is no 2024 commune: "
            + ", ".join("%05d %s" % (c, c25[c][1]) for c in only25)
        )
    odd = sorted({n for _, n in d24.values() if n.startswith("Thành Phố ")})
    if odd:
        notes.append("kept as in the source, with a capital P: " + ", ".join(odd))

    # --- write --------------------------------------------------------------------------------
    lines = [
        "# Administrative units of Vietnam.",
        "# " + SOURCE,
        "# Codes are public government data: keep this source line in anything derived from it.",
        "# Rows: tree (2024|2025), level (P|D|C), code, parent code (empty for provinces), name (NFC).",
        "# Mapping rows: M P <old province> <new province> (Resolution 202/2025/QH15), and",
        "# M C <old commune> <new commune> where the 2025 tree reuses the old commune's code.",
        f"# 2024 tree: {len(p24)} provinces, {len(d24)} districts, {len(c24)} communes.",
        f"# 2025 tree: {len(p25)} provinces, {len(c25)} communes.",
        f"# Province mapping: {len(PROVINCE_MAP)} old provinces -> {len(p25)} new; checked on the "
        f"{agree} 2025 communes that reuse a 2024 commune code: {agree} agree, {len(disagree)} disagree.",
        f"# Commune mapping: {len(commune_map)} of {len(c24)} 2024 communes map to the 2025 commune "
        f"with the same code; {unmapped} have no known mapping.",
    ]
    lines += ["# Note: " + n for n in notes]
    for tree, levels in (("2024", (("P", p24), ("D", d24), ("C", c24))),
                         ("2025", (("P", p25), ("C", c25)))):
        for level, table in levels:
            for code in sorted(table):
                parent, name = table[code]
                lines.append(f"{tree}\t{level}\t{code}\t{'' if parent is None else parent}\t{name}")
    for old in sorted(PROVINCE_MAP):
        lines.append(f"M\tP\t{old}\t{PROVINCE_MAP[old]}")
    for old in sorted(commune_map):
        lines.append(f"M\tC\t{old}\t{commune_map[old]}")

    for line in lines:
        if line.startswith("#"):
            continue
        if any(ch in field for field in line.split("\t") for ch in "\r\n"):
            fail(f"a field contains a line break: {line!r}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")

    print(f"2024: {len(p24)} provinces, {len(d24)} districts, {len(c24)} communes")
    print(f"2025: {len(p25)} provinces, {len(c25)} communes")
    print(f"commune mapping: {len(commune_map)} mapped, {unmapped} without a known mapping")
    for n in notes:
        print("note: " + (n if len(n) < 300 else n[:300] + "…"))
    print(f"wrote {os.path.relpath(OUT, REPO)}")


if __name__ == "__main__":
    main(sys.argv)
