#!/usr/bin/env bash
# Failover under a write load, on an existing high-availability engine: etcd (Debian
# etcd-server) and three Patroni nodes (pip patroni[etcd3]) running PostgreSQL 15 on loopback,
# with synchronous replication (synchronous_mode, one synchronous standby). One `eid serve`
# connects with all three hosts in its URL and target_session_attrs=read-write. A client posts
# campaigns (POST /api/v1/ops/campaigns, an officer's audited write) from several threads and
# logs every acknowledged one; after $EID_FAILOVER_BEFORE s the primary's node is killed with
# kill -9 (its Patroni and its postmaster: a machine lost). Reported: seconds from the kill to the
# first acknowledged write, whether the same eid process served throughout (it reconnected by
# itself), and how many acknowledged writes are missing on the new primary (must be 0).
#
#   bench/pg-failover.sh        EID_BIN=path picks the eid binary (default target/debug/eid, built
#                               if missing: the timing is the cluster's, not eid's);
#                               EID_PATRONI_VENV a venv with patroni (made if missing);
#                               EID_FAILOVER_BEFORE / EID_FAILOVER_AFTER seconds of load.
#
# Patroni's leader key lives `ttl` seconds (20, Patroni's minimum) after the last renewal; a
# replica takes over only then, so writes stop for about ttl + loop_wait. Killing only the
# postmaster (not the node) makes Patroni restart it in place instead: no failover.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eid=${EID_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/eid}
[ -x "$eid" ] || (cd "$root" && cargo build -q -p eid --bin eid)
pg_bin=/usr/lib/postgresql/15/bin
before=${EID_FAILOVER_BEFORE:-8}
after=${EID_FAILOVER_AFTER:-40}
venv=${EID_PATRONI_VENV:-/tmp/eid-patroni-venv}

# --- What it needs: PostgreSQL 15, etcd, Patroni --------------------------------------------------
apt_need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] && return 0
  [ "$(id -u)" = 0 ] || { echo "needs $2 (apt-get install $2)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
}
apt_need "$pg_bin/initdb" postgresql-15
apt_need etcd etcd-server
if [ ! -x "$venv/bin/patroni" ]; then
  # The system Python: Patroni runs as the postgres user, who may not reach a pyenv under /root.
  py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q 'patroni[etcd3]' psycopg2-binary
fi

dir=$(mktemp -d /tmp/eid-failover.XXXXXX)
chmod 755 "$dir"
run=""
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  run="runuser -u postgres --"
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # Patroni runs under runuser: its own processes name this run's folder.
  for p in $(pgrep -f "$dir/n[123].yml" || true); do kill -9 "$p" 2>/dev/null || true; done
  # The postmasters Patroni started (each node's data folder names its pid).
  for n in 1 2 3; do
    [ -f "$dir/n$n/postmaster.pid" ] && kill -9 "$(head -n 1 "$dir/n$n/postmaster.pid")" 2>/dev/null || true
  done
  sleep 1
  if [ -n "${EID_KEEP:-}" ]; then echo "kept $dir" >&2; else rm -rf "$dir" 2>/dev/null || { sleep 1; rm -rf "$dir"; }; fi
}
trap cleanup EXIT

# Ports below the kernel's ephemeral range (32768+: the servers on port 0 and the clients of
# tests running beside this) and below the test cluster's (scripts/lib/pg.sh: 20000+).
base=$(( 10000 + RANDOM % 9900 ))
ec=$base; ep=$((base + 1))
"$(command -v etcd)" --name e1 --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$ec" --advertise-client-urls "http://127.0.0.1:$ec" \
  --listen-peer-urls "http://127.0.0.1:$ep" --initial-advertise-peer-urls "http://127.0.0.1:$ep" \
  --initial-cluster "e1=http://127.0.0.1:$ep" >"$dir/etcd.log" 2>&1 &
pids+=($!)

hosts=""
for n in 1 2 3; do
  pg=$((base + 10 + n)); api=$((base + 20 + n))
  hosts="$hosts${hosts:+,}127.0.0.1:$pg"
  cat >"$dir/n$n.yml" <<YML
scope: eid-failover
namespace: /eid/
name: n$n
log: {level: WARNING}
restapi: {listen: "127.0.0.1:$api", connect_address: "127.0.0.1:$api"}
etcd3: {hosts: "127.0.0.1:$ec"}
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_node_count: 1
    postgresql:
      use_pg_rewind: true
      parameters: {max_connections: 200, wal_log_hints: "on", hot_standby: "on"}
  initdb: [{encoding: UTF8}, {auth: trust}]
postgresql:
  listen: "127.0.0.1:$pg"
  connect_address: "127.0.0.1:$pg"
  data_dir: "$dir/n$n"
  bin_dir: "$pg_bin"
  pgpass: "$dir/pgpass$n"
  authentication:
    superuser: {username: postgres}
    replication: {username: postgres}
  parameters: {unix_socket_directories: "$dir"}
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
YML
  chmod 644 "$dir/n$n.yml"
done
[ -n "$run" ] && chown postgres "$dir"
for n in 1 2 3; do
  $run "$venv/bin/patroni" "$dir/n$n.yml" >"$dir/patroni$n.log" 2>&1 &
  pids+=($!)
  sleep 1 # n1 bootstraps first, the others clone it
done

cluster() {
  local n
  for n in 1 2 3; do
    curl -sf --max-time 2 "http://127.0.0.1:$((base + 20 + n))/cluster" 2>/dev/null && return 0
  done
  return 1
}
for _ in $(seq 1 240); do
  c=$(cluster || true)
  if [ -n "$c" ] && [ "$(python3 -c 'import json,sys; m=json.loads(sys.argv[1])["members"]; print(sum(1 for x in m if x["state"] in ("running","streaming")))' "$c")" = 3 ] \
    && echo "$c" | grep -q '"sync_standby"'; then
    break
  fi
  sleep 0.5
done
echo "$c" | grep -q '"sync_standby"' || { echo "the cluster did not come up" >&2; tail -n 20 "$dir"/patroni*.log >&2; exit 1; }
leader() {
  cluster | python3 -c 'import json,sys; print(*[m["name"] for m in json.load(sys.stdin)["members"] if m["role"]=="leader"][:1])' 2>/dev/null || true
}
old=$(leader)
echo "Patroni cluster: leader $old, $(cluster | python3 -c 'import json,sys; print(", ".join(m["name"]+" "+m["role"] for m in json.load(sys.stdin)["members"] if m["role"]!="leader"))')"

# --- eid on the cluster --------------------------------------------------------------------------
db="postgres://postgres@$hosts/postgres?target_session_attrs=read-write&connect_timeout=2&pool=16"
"$eid" --db "$db" migrate >/dev/null
printf 'Failover password 1A\n' | "$eid" --db "$db" admin create-user --username fo --role province --unit 62 --password-stdin >/dev/null
token=$("$eid" --db "$db" admin issue-token --username fo --name failover | tail -n 1)
EID_LOG=warn "$eid" --db "$db" serve --dev --listen 127.0.0.1:0 2>"$dir/serve.log" &
server=$!
pids+=($server)
for _ in $(seq 1 100); do
  addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$dir/serve.log" | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$dir/serve.log"; exit 1; }

# --- The write load, the kill, the check ------------------------------------------------------------
cat >"$dir/load.py" <<'PY'
import json, sys, threading, time, urllib.error, urllib.request
addr, token, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
log = open(out, "w")
end = time.time() + seconds
def worker(w):
    n = 0
    while time.time() < end:
        n += 1
        name = f"fo-{w}-{n}"
        body = json.dumps({"name": name, "slogan": "failover", "unit": "62",
                           "start": "2026-01-01", "end": "2026-01-31"}).encode()
        req = urllib.request.Request(f"http://{addr}/api/v1/ops/campaigns", data=body, method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        t = time.time()
        status, retry = "conn", "-"
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = str(r.status)
        except urllib.error.HTTPError as e:
            status, retry = str(e.code), e.headers.get("Retry-After") or "-"
        except Exception:
            pass
        ok = status == "201"
        with lock:
            log.write(f"{'ack' if ok else 'err'} {t:.3f} {time.time():.3f} {name} {status} {retry}\n")
        if not ok:
            time.sleep(0.05)
threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in threads: t.start()
for t in threads: t.join()
log.close()
PY
python3 "$dir/load.py" "$addr" "$token" "$((before + after))" "$dir/acks.log" &
load=$!
sleep "$before"
# The primary's node is lost: its Patroni and its postmaster, both with SIGKILL.
ppid=$(head -n 1 "$dir/$old/postmaster.pid")
node=$(pgrep -f "patroni $dir/$old.yml" | tr '\n' ' ') # runuser and the Patroni under it
killed=$(date +%s.%N)
kill -9 $node "$ppid" 2>/dev/null || true
echo "killed node $old (patroni ${node% }, postmaster $ppid) at $(date -u +%T)"
wait "$load" || true
new=""
for _ in $(seq 1 60); do
  new=$(leader)
  [ -n "$new" ] && [ "$new" != "$old" ] && break
  sleep 1
done
[ -n "$new" ] || { echo "no new leader" >&2; tail -n 20 "$dir"/patroni*.log >&2; exit 1; }
kill -0 "$server" 2>/dev/null && same=yes || same=no

newport=$(( base + 10 + ${new#n} ))
psql() { "$pg_bin/psql" -X -q -At -h 127.0.0.1 -p "$newport" -U postgres -d postgres -c "$1"; }
psql "SELECT name FROM campaign WHERE name LIKE 'fo-%'" | sort >"$dir/stored.txt"
awk '$1 == "ack" { print $4 }' "$dir/acks.log" | sort >"$dir/acked.txt"
acked=$(wc -l <"$dir/acked.txt")
lost=$(comm -23 "$dir/acked.txt" "$dir/stored.txt" | wc -l)
errors=$(awk '$1 == "err"' "$dir/acks.log" | wc -l)
# The killed postmaster's backends can still commit for a moment (they notice its death on
# their next wait), so writes are counted as resumed from the first write sent after the first
# failed request that was acknowledged: that one went to a new primary.
first_err=$(awk -v k="$killed" '$1 == "err" && $3 > k && (m == "" || $3 < m) { m = $3 } END { print m }' "$dir/acks.log")
first_after=$(awk -v k="${first_err:-$killed}" '$1 == "ack" && $2 > k && (m == "" || $3 < m) { m = $3 } END { print m }' "$dir/acks.log")
acked_after=$(awk -v k="$killed" '$1 == "ack" && $2 > k' "$dir/acks.log" | wc -l)
echo "PostgreSQL 15 × 3 under Patroni $("$venv/bin/patroni" --version | awk '{ print $2 }') + etcd $(etcd --version | awk 'NR == 1 { print $3 }'), synchronous_mode, 8 writer threads, ${before} s + ${after} s"
echo "  new leader: $new (was $old)"
if [ -n "$first_after" ]; then
  echo "  writes resumed $(awk -v a="$killed" -v b="$first_after" 'BEGIN { printf "%.1f", b - a }') s after the kill (first failed request $(awk -v a="$killed" -v b="${first_err:-$killed}" 'BEGIN { printf "%.2f", b - a }') s after it)"
else
  echo "  writes did NOT resume within ${after} s"
fi
echo "  acknowledged writes: $acked ($acked_after after the kill); refused or failed requests: $errors"
# What the refusals were: while no primary is elected the server should answer 503 with
# Retry-After (the database is unavailable), never 500.
by_status=$(awk '$1 == "err" { n[$5 ($5 == "503" && $6 != "-" ? " with Retry-After" : "")]++ } END { for (k in n) printf "%s%s × %d", (c++ ? ", " : ""), k, n[k] }' "$dir/acks.log")
echo "  refusals by answer: ${by_status:-none}"
internal=$(awk '$1 == "err" && $5 == "500"' "$dir/acks.log" | wc -l)
if [ "$internal" != 0 ]; then
  echo "  the server's log of its 500 answers (causes; no personal data is logged):"
  grep -m 5 'internal error' "$dir/serve.log" | sed 's/\x1b\[[0-9;]*m//g; s/^/    /'
fi
echo "  same eid process throughout (no restart): $same"
echo "  acknowledged writes missing on the new primary: $lost"
if [ "$lost" != 0 ] || [ -z "$first_after" ] || [ "$same" != yes ] || [ "$new" = "$old" ] || [ "$internal" != 0 ]; then
  echo "FAILOVER CHECK FAILED" >&2
  exit 1
fi
