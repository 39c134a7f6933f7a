#!/usr/bin/env python3
"""Splink (DuckDB backend) on the same register and sector files as `eid link run`.

usage: link_splink.py ADMIN_UNITS.tsv PERSONS.csv SECTOR.csv OUT.csv [THRESHOLD]
Names folded (lower case, no diacritics, đ → d), birth dates as text, the residence as its 2025
province (both trees meet there). u by random sampling, m by EM on two blocking rules (birth date
plus province; surname, given name and birth year), predictions on five blocking rules; each sector row
keeps its best register person at or above THRESHOLD (default 0.9). Writes row_id,personal_id.
"""
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

units, persons, sector, out = sys.argv[1:5]
threshold = float(sys.argv[5]) if len(sys.argv) > 5 else 0.9
t0 = time.time()
con = duckdb.connect()
rows = []
with open(units, encoding="utf-8") as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        cells = line.rstrip("\n").split("\t")
        rows.append((cells + ["", "", "", "", ""])[:5])
con.execute("create table u (tree varchar, level varchar, code varchar, parent varchar, name varchar)")
con.executemany("insert into u values (?, ?, ?, ?, ?)", rows)
con.execute(
    f"""
create table pmap as select lpad(code, 2, '0') old, lpad(parent, 2, '0') new
  from u where tree = 'M' and level = 'P';
create table c24 as select lpad(c.code, 5, '0') commune, lpad(d.parent, 2, '0') province
  from u c join u d on d.tree = '2024' and d.level = 'D' and d.code = c.parent
  where c.tree = '2024' and c.level = 'C';
create table c25 as select lpad(code, 5, '0') commune, lpad(parent, 2, '0') province
  from u where tree = '2025' and level = 'C';
create macro fold(s) as lower(strip_accents(replace(replace(coalesce(s, ''), 'đ', 'd'), 'Đ', 'D')));
create table reg as select p.personal_id unique_id, p.personal_id pid, fold(surname) sur,
  fold(middle_name) mid, fold(given_name) giv, birth_date dob, substr(birth_date, 1, 4) yob,
  sex, pm.new prov
  from read_csv('{persons}', all_varchar=true, header=true, quote='"', escape='"') p
  left join c24 on c24.commune = p.residence_unit
  left join pmap pm on pm.old = c24.province;
create table sec as select row_id unique_id, nullif(personal_id, '') pid, fold(surname) sur,
  fold(middle_name) mid, fold(given_name) giv, birth_date dob, substr(birth_date, 1, 4) yob,
  nullif(sex, '') sex,
  case when unit_tree = '2025' then coalesce(c25.province, case when length(unit) = 2 then unit end)
       else pm.new end prov
  from read_csv('{sector}', all_varchar=true, header=true, quote='"', escape='"') s
  left join c24 on s.unit_tree = '2024' and c24.commune = s.unit
  left join pmap pm on pm.old = c24.province
  left join c25 on s.unit_tree = '2025' and c25.commune = s.unit;
update reg set mid = null where mid = '';
update sec set mid = null where mid = '';
"""
)
db = DuckDBAPI(connection=con)
settings = SettingsCreator(
    link_type="link_only",
    comparisons=[
        cl.ExactMatch("pid"),
        cl.JaroWinklerAtThresholds("sur", [0.92, 0.8]).configure(term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("mid", [0.88]),
        cl.JaroWinklerAtThresholds("giv", [0.92, 0.8]).configure(term_frequency_adjustments=True),
        cl.LevenshteinAtThresholds("dob", [1, 2]),
        cl.ExactMatch("sex"),
        cl.ExactMatch("prov"),
    ],
    blocking_rules_to_generate_predictions=[
        block_on("dob", "sur"),
        block_on("yob", "prov", "giv"),
        block_on("yob", "sur", "giv"),
        block_on("pid"),
        block_on("dob", "prov"),
    ],
    retain_intermediate_calculation_columns=False,
    retain_matching_columns=False,
)
reg = db.register("reg", dataset_display_name="register")
sec = db.register("sec", dataset_display_name="sector")
linker = Linker([reg, sec], settings, log_level=30)
steps = []


def step(name, f):
    t = time.time()
    f()
    steps.append(f"{name} {time.time() - t:.1f}s")


steps.append(f"load {time.time() - t0:.1f}s")
step("prior", lambda: linker.training.estimate_probability_two_random_records_match(
    [block_on("pid")], recall=0.75))
step("u", lambda: linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1))
step("em dob+prov", lambda: linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("dob", "prov")))
step("em sur+giv+yob", lambda: linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("sur", "giv", "yob")))
t1 = time.time()
pred = linker.inference.predict(threshold_match_probability=threshold)
t2 = time.time()
rel = pred.as_duckdbpyrelation()
con.register("pred", rel)
con.execute(
    f"""
copy (
  select row_id, personal_id from (
    select case when source_dataset_l = 'sector' then unique_id_l else unique_id_r end row_id,
           case when source_dataset_l = 'sector' then unique_id_r else unique_id_l end personal_id,
           row_number() over (partition by case when source_dataset_l = 'sector'
             then unique_id_l else unique_id_r end order by match_probability desc) rank
    from pred)
  where rank = 1
) to '{out}' (header, delimiter ',')
"""
)
print(
    f"splink: {', '.join(steps)}, predict {t2 - t1:.1f}s, total {time.time() - t0:.1f}s",
    file=sys.stderr,
)
