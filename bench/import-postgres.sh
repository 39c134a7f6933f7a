#!/usr/bin/env bash
# Import of N generated persons (default 1,000,000) into PostgreSQL 15 with `eid import persons`,
# against `psql \copy` of the same CSV into a table with the same columns and indexes, side by
# side in the same run on the same cluster. Uses EID_BENCH_PG_URL if set, otherwise starts a
# throwaway cluster (default settings, fsync on). Goal: ≥ 100,000 rows/s.
source "$(dirname "$0")/common.sh"
source "$root/scripts/lib/pg.sh"
n=${1:-1000000}
need psql postgresql-client-15
build
csv=$(persons_csv "$n")
if [ -n "${EID_BENCH_PG_URL:-}" ]; then PG_URL=$EID_BENCH_PG_URL; else pg_start; fi

db="bench_$$"
psql -q "$PG_URL" -c "CREATE DATABASE $db" >/dev/null
url="${PG_URL%/*}/$db"
psql -q "$url" >/dev/null <<'SQL'
CREATE TABLE person_copy (personal_id text PRIMARY KEY, surname text, middle_name text, given_name text,
  birth_date text, sex text, hometown_unit text, residence_unit text, residence_address text,
  temp_unit text, temp_address text, household_id text, phone text, phone_type text,
  life_status text, life_status_date text, card_issued text, card_revoked text);
CREATE INDEX person_copy_name ON person_copy (surname text_pattern_ops, middle_name, given_name, birth_date);
CREATE INDEX person_copy_res ON person_copy (residence_unit);
CREATE INDEX person_copy_household ON person_copy (household_id);
SQL
t0=$(now); psql -q "$url" -c "\\copy person_copy FROM '$csv' WITH (FORMAT csv, HEADER true)" >/dev/null; t1=$(now)
base=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rows=$(psql -tA "$url" -c 'SELECT count(*) FROM person_copy')

"$eid" --db "$url" migrate >/dev/null
t0=$(now); "$eid" --db "$url" import persons "$csv" --json > "$work/eid-import-pg.json"; t1=$(now)
ours=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
imported=$(sed -n 's/.*"imported":\([0-9]*\).*/\1/p' "$work/eid-import-pg.json")
psql -q "$PG_URL" -c "DROP DATABASE $db" >/dev/null

echo "import of $n persons into PostgreSQL 15"
printf '  psql \\copy (baseline):  %8.2f s  %8s rows/s  (%s rows)\n' "$base" "$(rate "$rows" "$base")" "$rows"
printf '  eid import persons:     %8.2f s  %8s rows/s  (%s rows, with events and validation)\n' "$ours" "$(rate "$imported" "$ours")" "$imported"
echo "  ratio eid / baseline: $(ratio "$ours" "$base")  (rows/s goal ≥ 100000)"
