#!/usr/bin/env bash
# PostgreSQL backup and point-in-time restore for eid, shown end to end on a throwaway local
# cluster (scripts/lib/pg.sh): WAL archiving on, a base backup with pg_basebackup, more writes,
# then a restore of the base backup replayed from the archive up to a chosen instant, checked
# row by row against what was written before and after that instant.
#
#   scripts/pg-pitr.sh            (EID_BIN=path picks the eid binary; default target/debug/eid,
#                                  built with cargo if missing)
#
# In production the same three pieces apply: `archive_mode = on` with an archive_command that
# copies each WAL segment somewhere safe (and fails if it exists), a pg_basebackup now and then,
# and for a restore: the base backup, `restore_command`, `recovery_target_time`, recovery.signal.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/pg.sh"
eid=${EID_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/eid}
[ -x "$eid" ] || (cd "$root" && cargo build -q -p eid --bin eid)

pg_start
port=${PG_URL##*:}; port=${port%%/*}
psql() { "$pg_bin/psql" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }
archive="$pg_dir/archive"
$pg_run mkdir -p "$archive"

# 1. WAL archiving on (archive_mode needs a restart; pg_ctl restart keeps the start options).
psql "$port" "ALTER SYSTEM SET wal_level = 'replica'"
psql "$port" "ALTER SYSTEM SET archive_mode = 'on'"
psql "$port" "ALTER SYSTEM SET archive_command = 'test ! -f $archive/%f && cp %p $archive/%f'"
$pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -w restart >/dev/null
echo "archiving WAL to $archive: $(psql "$port" "SHOW archive_mode")"

work="$pg_dir/work"; $pg_run mkdir -p "$work"; chmod 777 "$work"
gen() { "$eid" gen persons --count "$1" --seed "$2" --province "$3" --out "$work/$3.csv" >/dev/null; }
load() { "$eid" --db "$PG_URL" import persons "$work/$1.csv" --json >/dev/null; }
count() { psql "$1" "SELECT count(*) FROM person WHERE personal_id LIKE '0$2%' OR personal_id LIKE '$2%'"; }
gen 2000 1 62; gen 1500 2 79; gen 1000 3 01

# 2. Batch A, then the base backup.
"$eid" --db "$PG_URL" migrate >/dev/null
load 62
a=$(psql "$port" "SELECT count(*) FROM person")
t0=$(date +%s.%N)
$pg_run "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$pg_dir/base" -Fp -Xstream -c fast
echo "base backup: $(du -sh "$pg_dir/base" | cut -f1) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s, $a persons"

# 3. Batch B after the backup; the instant to restore to; then batch C, which must not come back.
load 79
ab=$(psql "$port" "SELECT count(*) FROM person")
sleep 1
target=$(psql "$port" "SELECT now()")
sleep 1
load 01
abc=$(psql "$port" "SELECT count(*) FROM person")
wal=$(psql "$port" "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 100); do
  [ "$(psql "$port" "SELECT last_archived_wal FROM pg_stat_archiver")" \> "$wal" ] || [ "$(psql "$port" "SELECT last_archived_wal FROM pg_stat_archiver")" = "$wal" ] && break
  sleep 0.1
done
echo "written: $a persons before the backup, $ab by $target, $abc after; $(ls "$archive" | wc -l) WAL files archived"
# The primary is lost.
$pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null

# 4. Restore: the base backup, replayed from the archive up to $target, on another port.
rport=$((port + 1))
$pg_run cp -a "$pg_dir/base" "$pg_dir/restored"
$pg_run sh -c "cat >> '$pg_dir/restored/postgresql.auto.conf'" <<CONF
restore_command = 'cp $archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
archive_mode = 'off'
CONF
$pg_run touch "$pg_dir/restored/recovery.signal"
t0=$(date +%s.%N)
$pg_run "$pg_bin/pg_ctl" -D "$pg_dir/restored" -l "$pg_dir/restored.log" -w \
  -o "-p $rport -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=800" start >/dev/null \
  || { tail -n 20 "$pg_dir/restored.log" >&2; exit 1; }
for _ in $(seq 1 300); do
  [ "$(psql "$rport" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && break
  sleep 0.1
done
restored=$(psql "$rport" "SELECT count(*) FROM person")
echo "restored to $target in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $restored persons"
# Every row of A and B, none of C; eid opens the restored database and reads it.
$pg_run "$pg_bin/pg_ctl" -D "$pg_dir/restored" -m fast stop >/dev/null
$pg_run "$pg_bin/pg_ctl" -D "$pg_dir/restored" -l "$pg_dir/restored.log" -w \
  -o "-p $rport -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=800" start >/dev/null
first_b=$(awk -F, 'NR == 2 { print $1 }' "$work/79.csv")
first_c=$(awk -F, 'NR == 2 { print $1 }' "$work/01.csv")
url="postgres://postgres@127.0.0.1:$rport/postgres"
"$eid" --db "$url" export persons --unit 79 > "$work/79.out.csv"
b_back=$(($(wc -l < "$work/79.out.csv") - 1))
c_rows=$(psql "$rport" "SELECT count(*) FROM person WHERE personal_id = '$first_c'")
b_rows=$(psql "$rport" "SELECT count(*) FROM person WHERE personal_id = '$first_b'")
$pg_run "$pg_bin/pg_ctl" -D "$pg_dir/restored" -m immediate stop >/dev/null
if [ "$restored" = "$ab" ] && [ "$b_rows" = 1 ] && [ "$c_rows" = 0 ] && [ "$b_back" -gt 0 ]; then
  echo "PITR ok: $restored persons = the $ab written by the target instant (batch B: $b_back exported by eid), none of the $((abc - ab)) written after"
else
  echo "PITR FAILED: restored $restored, expected $ab (batch B first row: $b_rows, batch C first row: $c_rows)" >&2
  exit 1
fi
