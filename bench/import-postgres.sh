#!/usr/bin/env bash
# Import of N generated persons (default 1,000,000) into PostgreSQL 15 with `eid import persons`,
# against `psql \copy` of the same CSV into a table with the same columns and indexes, side by
# side in the same run on the same cluster. Uses EID_BENCH_PG_URL if set, otherwise starts a
# throwaway cluster (default settings, fsync on). Goal: ≤ 2× `psql \copy`.
#
# Then the floor: the rows eid wrote (each province's partition of `person`, `person_key`, the
# `created` events) copied out and loaded again with `psql \copy` into a fresh eid schema, in
# one transaction with the secondary indexes built at the end, as eid does into an empty
# register. That is the database's share of an eid import with nothing of eid's own in it: the
# parsing, checking, digests and events eid computes are what it adds above the floor.
# EID_BENCH_BIN=<a copy of a release build> measures that build.
source "$(dirname "$0")/common.sh"
source "$root/scripts/lib/pg.sh"
n=${1:-1000000}
need psql postgresql-client-15
if [ -n "${EID_BENCH_BIN:-}" ]; then eid=$EID_BENCH_BIN; else build; fi
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

# The floor: eid's own rows out, then in again with psql alone.
floor="$work/pg-floor"
rm -rf "$floor" && mkdir -p "$floor"
parts=$(psql -tA "$url" -c "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
  WHERE i.inhparent = 'person'::regclass ORDER BY 1")
for part in $parts; do
  psql -q "$url" -c "\\copy (SELECT * FROM ONLY $part) TO '$floor/$part.tsv'"
done
psql -q "$url" -c "\\copy person_key TO '$floor/person_key.tsv'"
psql -q "$url" -c "\\copy (SELECT personal_id, at, actor, kind, reason, changes FROM person_event ORDER BY seq) TO '$floor/event.tsv'"
# The secondary indexes eid drops for a load into an empty register and builds at the end.
secondary="FROM pg_indexes WHERE schemaname = current_schema() \
  AND tablename IN ('person', 'person_event') AND indexname NOT LIKE '%pkey' ORDER BY indexname"
indexes=$(psql -tA "$url" -c "SELECT replace(indexdef, ' ON ONLY ', ' ON ') || ';' $secondary")
psql -q "$PG_URL" -c "DROP DATABASE $db" >/dev/null
psql -q "$PG_URL" -c "CREATE DATABASE $db" >/dev/null
"$eid" --db "$url" migrate >/dev/null
{
  echo "BEGIN;"
  psql -tA "$url" -c "SELECT 'DROP INDEX ' || indexname || ';' $secondary"
  echo "\\copy person_key FROM '$floor/person_key.tsv'"
  for part in $parts; do echo "\\copy $part FROM '$floor/$part.tsv'"; done
  echo "\\copy person_event (personal_id, at, actor, kind, reason, changes) FROM '$floor/event.tsv'"
  echo "$indexes"
  echo "COMMIT;"
} > "$floor/load.sql"
t0=$(now); psql -q -v ON_ERROR_STOP=1 "$url" -f "$floor/load.sql" >/dev/null; t1=$(now)
least=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
psql -q "$PG_URL" -c "DROP DATABASE $db" >/dev/null
rm -rf "$floor"

echo "import of $n persons into PostgreSQL 15"
printf '  psql \\copy (baseline):  %8.2f s  %8s rows/s  (%s rows)\n' "$base" "$(rate "$rows" "$base")" "$rows"
printf '  eid import persons:     %8.2f s  %8s rows/s  (%s rows, with events and validation)\n' "$ours" "$(rate "$imported" "$ours")" "$imported"
printf '  the floor (eid'"'"'s rows, psql \\copy alone): %.2f s\n' "$least"
echo "  ratio eid / baseline: $(ratio "$ours" "$base")  (goal ≤ 2)"
echo "  ratio floor / baseline: $(ratio "$least" "$base"); eid / floor: $(ratio "$ours" "$least")"
