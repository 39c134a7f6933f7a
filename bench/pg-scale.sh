#!/usr/bin/env bash
# National scale on one PostgreSQL 15 primary (issue 16): a generated nation of up to 20 M
# persons — five provinces the size of Thanh Hóa (Thanh Hóa 38, Hà Nội 01, Hồ Chí Minh City 79,
# Nghệ An 40, Vĩnh Phúc 26; 3.6 M each) and the rest of the country (2 M, by population) — loaded
# step by step with `eid import persons`: first the rest in two halves (about 1 M each), then one
# large province at a time.
# After each step: the load's time, the register's size on disk (person, person_event and
# person_key with every partition and index) per million, and p50/p99 of the statements the use
# cases run (pgbench, one client, extended protocol as the server sends them):
#   lookup    a person by ID (Store::person: the province from person_key, then the person in
#             that one partition, its res_path range bound as parameters)
#   search    a name prefix within a commune (Store::search, LIMIT 50)
#   outreach  a commune's outreach list (ops::outreach)
#   ranking   a province's roll-up of eligible residents by commune (ops::eligible_by_commune,
#             the denominators of the province's ranking by coverage)
# each in a fixed province that is loaded before the first measurement and never grows (Kon Tum,
# 62, of the rest) and in Thanh Hóa once it is loaded. A unit's cost must not grow as the nation
# does. `uptime`'s load average is printed with every step (a shared machine).
#
# The disk: before each step the size per million measured so far says what the next step needs;
# a step that would leave less than EID_SCALE_KEEP_GB (default 3) free is not run, and the
# script says where it stopped. EID_SCALE_STEPS limits the steps (default all seven).
source "$(dirname "$0")/common.sh"
source "$root/scripts/lib/pg.sh"
need psql postgresql-client-15
pgbench=/usr/lib/postgresql/15/bin/pgbench
keep_gb=${EID_SCALE_KEEP_GB:-3}
steps=${EID_SCALE_STEPS:-7}
seed=${EID_SCALE_SEED:-16}
count=${EID_SCALE_COUNT:-20000000}  # a smaller nation to try the script
dir="$work/scale"
rm -rf "$dir" && mkdir -p "$dir"
[ -n "${EID_SCALE_NO_BUILD:-}" ] || build  # set: use the release binary as it is

# The generated nation, split by residence province (commune → district → province from the
# shipped unit tree). The files are deleted as soon as they are loaded.
heavy="38 01 79 40 26"
echo "generating $count persons (seed $seed)" >&2
t0=$(now)
"$eid" gen persons --count "$count" --seed "$seed" --heavy 38,01,79,40,26 --heavy-share 90 \
  | awk -F, -v dir="$dir" -v heavy="$heavy" -v tsv="$root/crates/eid-domain/data/admin-units.tsv" '
    BEGIN {
      while ((getline line < tsv) > 0) {
        if (line ~ /^#/) continue
        split(line, f, "\t")
        if (f[1] != "2024") continue
        if (f[2] == "C") commune[sprintf("%05d", f[3])] = f[4]
        if (f[2] == "D") district[f[3]] = sprintf("%02d", f[4])
      }
      n = split(heavy, hs, " "); for (i = 1; i <= n; i++) big[hs[i]] = 1
    }
    NR == 1 { header = $0; next }
    {
      p = district[commune[$8]]
      # The rest in two halves (even and odd province codes; Kon Tum, 62, in the first), so
      # that the first measurement is at about a million persons.
      out = (p in big) ? dir "/" p ".csv" : dir "/rest-" ((p + 0) % 2 == 0 ? "a" : "b") ".csv"
      if (!(out in started)) { print header > out; started[out] = 1 }
      print > out
    }'
echo "generated and split in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s: $(wc -l "$dir"/*.csv | tail -1)" >&2

PG_EXTRA_OPTS="-c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=30min -c maintenance_work_mem=512MB" pg_start
url="${PG_URL%/*}/scale"
psql -q "$PG_URL" -c "CREATE DATABASE scale" >/dev/null
"$eid" --db "$url" migrate >/dev/null

q() { psql -tAq "$url" -c "$1"; }
size_bytes() {
  q "SELECT (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('person'))
          + (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('person_event'))
          + pg_total_relation_size('person_key')"
}
free_bytes() { df -B1 --output=avail "$dir" | tail -1; }

# p50 and p99 (ms) of a pgbench script: $1 name, $2 script, then pgbench's duration arguments.
measure() {
  local name=$1 script=$2
  shift 2
  rm -f "$dir"/log.*
  (cd "$dir" && "$pgbench" -n -M extended -c 1 "$@" -f "$script" --log --log-prefix=log "$url" >/dev/null 2>"$dir/pgbench.err") \
    || { echo "    $name: pgbench failed: $(tail -1 "$dir/pgbench.err")"; return; }
  # One client, back to back: a transaction's latency is the time from the previous one's end
  # to its own (pgbench 15's own latency column reads 0 for many transactions here).
  cat "$dir"/log.* | awk '{ t = $5 * 1e6 + $6; if (NR == 1) print $3 / 1000; else print (t - prev) / 1000; prev = t }' \
    | sort -n | awk -v name="$name" '
    { v[NR] = $1 } END {
      if (NR == 0) { printf "    %-34s no transactions\n", name; exit }
      p50 = v[int(NR * 0.50) + (NR * 0.50 > int(NR * 0.50))]; p99 = v[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))]
      printf "    %-34s p50 %8.3f ms  p99 %8.3f ms  (%d runs)\n", name, p50, p99, NR }'
}

# The statements, as the store and the use cases send them. Parameters come from small sample
# tables made after each step (one primary-key probe, the same at every size).
lookup_sql() {  # $1: how many IDs scale_ids holds
cat > "$dir/lookup.sql" <<SQL
\\set n random(1, $1)
SELECT personal_id AS id FROM scale_ids WHERE n = :n \gset
SELECT province FROM person_key WHERE personal_id = :id \gset
\\set lo :province * 100000000
\\set hi (:province + 1) * 100000000
SELECT personal_id, surname, middle_name, given_name, birth_date, sex, hometown_unit, residence_unit, residence_address, temp_unit, temp_address, household_id, phone, phone_type, life_status, life_status_date, card_issued, card_revoked, version, updated_at FROM person WHERE person.personal_id = :id AND person.res_path >= :lo AND person.res_path < :hi;
SQL
}
for p in 62 38; do
  # The commune is drawn by \gset from the sample table.
  cat > "$dir/search-$p.sql" <<SQL
\\set n random(1, 100)
SELECT res_path AS lo, res_path + 1 AS hi FROM scale_communes WHERE province = $p AND n = :n \\gset
SELECT personal_id, surname, middle_name, given_name, birth_date, sex, hometown_unit, residence_unit, residence_address, temp_unit, temp_address, household_id, phone, phone_type, life_status, life_status_date, card_issued, card_revoked, version, updated_at FROM person WHERE name_folded LIKE 'nguyen%' AND res_path >= :lo AND res_path < :hi ORDER BY name_folded, personal_id LIMIT 50;
SQL
  cat > "$dir/outreach-$p.sql" <<SQL
\\set n random(1, 100)
SELECT res_path AS path FROM scale_communes WHERE province = $p AND n = :n \\gset
SELECT p.personal_id, p.surname, p.middle_name, p.given_name, p.birth_date, p.residence_address, p.phone, p.phone_type, a.level, a.state, (SELECT ap.state FROM application ap WHERE ap.personal_id = p.personal_id ORDER BY ap.id DESC LIMIT 1), o.assignee, o.due_day, (SELECT c.outcome FROM outreach_contact c WHERE c.personal_id = p.personal_id ORDER BY c.seq DESC LIMIT 1), k.id FROM person p LEFT JOIN account a ON a.personal_id = p.personal_id AND a.res_path >= ${p}00000000 AND a.res_path < $((10#$p + 1))00000000 LEFT JOIN account_key k ON k.personal_id = p.personal_id AND k.province <> $((10#$p)) LEFT JOIN outreach_assignment o ON o.personal_id = p.personal_id WHERE p.res_path = :path AND p.life_status = 'alive' AND p.birth_date <= '2012-12-04' AND p.birth_date > '' ORDER BY p.residence_address, p.personal_id;
SQL
  cat > "$dir/ranking-$p.sql" <<SQL
SELECT residence_unit, count(*) FROM person WHERE res_path >= ${p}00000000 AND res_path < $((10#$p + 1))00000000 AND life_status = 'alive' AND birth_date <= '2012-12-04' GROUP BY residence_unit;
SQL
done

total=0
loaded=""
per_m=""
printf 'step  persons      load s   rows/s   size GiB  MiB/M   measured (load average)\n' > "$dir/summary"
for file in rest-a rest-b 38 01 79 40 26; do
  [ "$steps" -gt 0 ] || break
  steps=$((steps - 1))
  csv="$dir/$file.csv"
  rows=$(( $(wc -l < "$csv") - 1 ))
  if [ -n "$per_m" ]; then
    need_b=$(awk -v m="$per_m" -v r="$rows" 'BEGIN { printf "%.0f", m * r / 1e6 * 1.15 }')
    avail=$(free_bytes)
    if [ $((avail - need_b)) -lt $((keep_gb * 1024 * 1024 * 1024)) ]; then
      echo "STOP before loading $file ($rows persons): it needs ~$((need_b / 1048576)) MiB at the measured size per million, $((avail / 1048576)) MiB are free and ${keep_gb} GiB must stay free"
      break
    fi
  fi
  echo "== loading $file: $rows persons onto $total ($(uptime | sed 's/.*load average/load average/'))"
  t0=$(now)
  "$eid" --db "$url" import persons "$csv" --json > "$dir/import-$file.json"
  t1=$(now)
  rm -f "$csv"
  total=$((total + rows))
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  q "ANALYZE person_key; ANALYZE person; ANALYZE person_event" >/dev/null
  bytes=$(size_bytes)
  per_m=$(awk -v b="$bytes" -v n="$total" 'BEGIN { printf "%.0f", b / n * 1e6 }')
  load=$(uptime | sed 's/.*load average: //')
  echo "   $(tr -d '\n' < "$dir/import-$file.json")"
  printf '   loaded in %s s (%s rows/s); register %s persons, %.2f GiB, %.0f MiB per million; load average %s\n' \
    "$secs" "$(rate "$rows" "$secs")" "$total" "$(awk -v b="$bytes" 'BEGIN { print b / 2^30 }')" \
    "$(awk -v m="$per_m" 'BEGIN { print m / 2^20 }')" "$load"
  q "DROP TABLE IF EXISTS scale_ids, scale_communes;
     CREATE TABLE scale_ids AS SELECT row_number() OVER () AS n, personal_id FROM
       (SELECT personal_id FROM person_key TABLESAMPLE SYSTEM (1) REPEATABLE (7) ORDER BY random() LIMIT 20000) s;
     CREATE UNIQUE INDEX ON scale_ids (n);
     CREATE TABLE scale_communes AS SELECT province, row_number() OVER (PARTITION BY province ORDER BY random()) AS n, res_path FROM
       (SELECT DISTINCT res_path / 100000000 AS province, res_path FROM person
        WHERE (res_path >= 6200000000 AND res_path < 6300000000) OR (res_path >= 3800000000 AND res_path < 3900000000)) c;
     DELETE FROM scale_communes WHERE n > 100;
     CREATE UNIQUE INDEX ON scale_communes (province, n);" >/dev/null
  # Fewer than 100 communes sampled: draw again from those there are.
  for p in 62 38; do
    c=$(q "SELECT count(*) FROM scale_communes WHERE province = $p")
    if [ "$c" -gt 0 ] && [ "$c" -lt 100 ]; then
      q "INSERT INTO scale_communes SELECT province, n + $c * k, res_path FROM scale_communes, generate_series(1, 100 / $c) k WHERE province = $p AND n + $c * k <= 100" >/dev/null
    fi
  done
  echo "   measured at $total persons (load average $(uptime | sed 's/.*load average: //')):"
  lookup_sql "$(q "SELECT count(*) FROM scale_ids")"
  measure "lookup by ID" "$dir/lookup.sql" -T ${EID_SCALE_SECONDS:-20}
  for p in 62 38; do
    [ "$(q "SELECT count(*) FROM scale_communes WHERE province = $p")" -gt 0 ] || continue
    measure "search in a commune of $p" "$dir/search-$p.sql" -T ${EID_SCALE_SECONDS:-15}
    measure "outreach list, a commune of $p" "$dir/outreach-$p.sql" -T ${EID_SCALE_SECONDS:-15}
    measure "ranking roll-up of province $p" "$dir/ranking-$p.sql" -t "$([ "$p" = 62 ] && echo 20 || echo 5)"
  done
  printf '%-5s %-12s %-8s %-8s %-9.2f %-7.0f %s\n' "$file" "$total" "$secs" "$(rate "$rows" "$secs")" \
    "$(awk -v b="$bytes" 'BEGIN { print b / 2^30 }')" "$(awk -v m="$per_m" 'BEGIN { print m / 2^20 }')" "$load" >> "$dir/summary"
done
echo
cat "$dir/summary"
echo "database size: $(q "SELECT pg_size_pretty(pg_database_size('scale'))"); free on disk: $(( $(free_bytes) / 1048576 )) MiB"
q "SELECT 'persons by partition (largest 8): ' || string_agg(t || ' ' || n, ', ') FROM (SELECT tableoid::regclass::text t, count(*) n FROM person GROUP BY 1 ORDER BY 2 DESC LIMIT 8) x"
