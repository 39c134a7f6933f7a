#!/usr/bin/env bash
# Import of N generated persons (default 1,000,000) into SQLite with `eid import persons`,
# against the fastest plain sqlite3 load of the same CSV we know: `.import` into a rowid table
# with the same columns and no index, then the same indexes built afterwards by one sort each
# (unique personal ID, name, residence unit, household) — measured side by side in the same
# run. (`.import` into a WITHOUT ROWID table keeping the indexes row by row, the earlier
# baseline, is about 3.5× slower.) Wall and CPU seconds are printed: on a shared machine the
# CPU time is the steadier figure. Goal: ≥ 100,000 rows/s and ≤ 2× the baseline's time.
source "$(dirname "$0")/common.sh"
n=${1:-1000000}
need sqlite3 sqlite3
build
csv=$(persons_csv "$n")

rm -f "$work"/base.db* "$work"/eid.db*
cat > "$work/base.sql" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -262144;
CREATE TABLE person (personal_id TEXT, surname TEXT, middle_name TEXT, given_name TEXT,
  birth_date TEXT, sex TEXT, hometown_unit TEXT, residence_unit TEXT, residence_address TEXT,
  temp_unit TEXT, temp_address TEXT, household_id TEXT, phone TEXT, phone_type TEXT,
  life_status TEXT, life_status_date TEXT, card_issued TEXT, card_revoked TEXT);
BEGIN;
.import --csv --skip 1 $csv person
CREATE UNIQUE INDEX person_id ON person (personal_id);
CREATE INDEX person_name ON person (surname, middle_name, given_name, birth_date);
CREATE INDEX person_res ON person (residence_unit);
CREATE INDEX person_household ON person (household_id) WHERE household_id <> '';
COMMIT;
SQL
# CPU seconds (user + system) of a command, written to $work/cpu.
cpu() { /usr/bin/time -f '%U %S' -o "$work/cpu.t" "$@"; awk '{ print $1 + $2 }' "$work/cpu.t" > "$work/cpu"; }
need /usr/bin/time time
t0=$(now); cpu sqlite3 "$work/base.db" < "$work/base.sql" >/dev/null; t1=$(now); base_cpu=$(cat "$work/cpu")
base=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rows=$(sqlite3 "$work/base.db" 'SELECT count(*) FROM person')

t0=$(now); cpu "$eid" --db "sqlite://$work/eid.db" import persons "$csv" --json > "$work/eid-import.json"; t1=$(now); ours_cpu=$(cat "$work/cpu")
ours=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
imported=$(sed -n 's/.*"imported":\([0-9]*\).*/\1/p' "$work/eid-import.json")

echo "import of $n persons into SQLite"
printf '  sqlite3 .import + indexes (baseline): %8.2f s  %8s rows/s  CPU %6.2f s  (%s rows)\n' "$base" "$(rate "$rows" "$base")" "$base_cpu" "$rows"
printf '  eid import persons:                    %8.2f s  %8s rows/s  CPU %6.2f s  (%s rows, with events and validation)\n' "$ours" "$(rate "$imported" "$ours")" "$ours_cpu" "$imported"
echo "  ratio eid / baseline: $(ratio "$ours" "$base") wall, $(ratio "$ours_cpu" "$base_cpu") CPU  (goal ≤ 2.00; rows/s goal ≥ 100000)"
