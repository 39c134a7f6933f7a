#!/usr/bin/env bash
# Stay notifications at a city's evening peak: 5,000 establishments (hotels, hospitals, …, each
# with its own system: a client bound to it, a client-credentials token with scope stay:notify)
# notifying 50,000 guests that arrive between 18:00 and 23:00. Time is compressed: the requests
# are sent at the fastest sustained rate wrk reaches (closed loop, 2 threads, 32 connections),
# one guest per request (a front desk checking one guest in), each guest checked against the
# register. Reports throughput and the p50/p99 latency of POST /api/v1/stays. Goal: p99 < 100 ms.
# Baseline measured in the same run: GET /healthz (one point read) at the same concurrency.
#
# Usage: bench/stay-peak.sh [sqlite|postgres] [ESTABLISHMENTS (5000)] [GUESTS (50000)] [PERSONS (200000)]
# (EID_BENCH_BIN=target/debug/eid bench/stay-peak.sh postgres 200 2000 20000 tries the script
# without a release build; its figures mean little.) The engine is SQLite unless the first
# argument says postgres: then the script starts a throwaway PostgreSQL 15 cluster of its own
# (scripts/lib/pg.sh) and stops it at exit. Needs wrk and python3.
source "$(dirname "$0")/common.sh"
engine=sqlite
case "${1:-}" in sqlite|postgres) engine=$1; shift ;; esac
n_est=${1:-5000}
guests=${2:-50000}
persons=${3:-200000}
need wrk wrk
if [ -n "${EID_BENCH_BIN:-}" ]; then eid=$EID_BENCH_BIN; else build; fi
dir="$work/stay"
rm -rf "$dir" && mkdir -p "$dir"
pid_eid=""
if [ "$engine" = postgres ]; then
  source "$root/scripts/lib/pg.sh"
  pg_start
  db="$PG_URL"
  dbref="$PG_URL"
  # pg_start's trap stops the cluster; the server stops first.
  cleanup() { [ -n "$pid_eid" ] && kill "$pid_eid" 2>/dev/null && wait "$pid_eid" 2>/dev/null || true; pg_stop; }
else
  db="sqlite://$dir/eid.db"
  dbref="$dir/eid.db"
  cleanup() { [ -n "$pid_eid" ] && kill "$pid_eid" 2>/dev/null || true; }
fi
trap cleanup EXIT

echo "engine: $engine; register: $persons persons; $n_est establishments with their clients; $guests guests"
"$eid" gen persons --count "$persons" --seed 20230511 --province 01 --out "$dir/p.csv" >/dev/null
"$eid" --db "$db" import persons "$dir/p.csv" --json >/dev/null
"$eid" --db "$db" admin client add --client-id stay-template --name-vi "Hệ thống cơ sở" --name-en "Establishment system" \
  --redirect-uri https://example.invalid/cb --scopes openid --alg ES256 --auth-method client_secret_basic >/dev/null
python3 "$root/bench/stay_peak_setup.py" db "$dbref" ests "$n_est"
printf '[limits]\nsource_secret_burst = 1000000\nsource_secret_per_hour = 100000000\n' > "$dir/eid.toml"
EID_LOG=warn "$eid" --config "$dir/eid.toml" --db "$db" serve --dev --listen 127.0.0.1:0 2> "$dir/serve.log" &
pid_eid=$!
addr=""
for _ in $(seq 1 200); do
  addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$dir/serve.log" | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$dir/serve.log"; exit 1; }
curl -fsS "http://$addr/oauth2/jwks" >/dev/null
t0=$(now)
python3 "$root/bench/stay_peak_setup.py" requests "$dbref" "http://$addr" "$n_est" "$guests" "$dir/requests.tsv"
echo "tokens: $n_est client-credentials tokens in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"

cat > "$dir/notify.lua" <<'LUA'
local items = {}
for line in io.lines(os.getenv("STAY_REQUESTS")) do
  local t, b = line:match("^([^\t]+)\t(.*)$")
  if t then items[#items + 1] = { t, b } end
end
local threads, n = {}, 0
function setup(thread) thread:set("id", n); n = n + 1; table.insert(threads, thread) end
function init(args)
  step = tonumber(os.getenv("STAY_THREADS"))
  idx = id + 1 - step
  bad = 0
  answered = 0
  marked = false
  statuses = ""
  share = math.floor((#items - id - 1) / step) + 1
end
function request()
  idx = idx + step
  local it = items[idx]
  if it == nil then return wrk.format("GET", "/bench-exhausted") end
  return wrk.format("POST", "/api/v1/stays",
    { ["Authorization"] = "Bearer " .. it[1], ["Content-Type"] = "application/json" }, it[2])
end
function response(status, headers, body)
  if status == 404 then return end
  answered = answered + 1
  if status ~= 201 then
    bad = bad + 1
    if #statuses < 400 then statuses = statuses .. " " .. status .. ":" .. (body:match('"code":"([^"]+)"') or "") end
  end
  -- One item per thread may never be sent (wrk draws a request it does not send when it
  -- connects), so a thread is done one answer short of its share.
  if not marked and answered >= share - 1 then
    marked = true
    io.open(os.getenv("STAY_DONE") .. "." .. id, "w"):close()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local b, st = 0, ""
  for _, t in ipairs(threads) do b = b + t:get("bad"); st = st .. t:get("statuses") end
  io.write(string.format("requests %d\nnot201 %d\nrefusals%s\np50_ms %.2f\np99_ms %.2f\nmax_ms %.2f\n",
    summary.requests, b, st,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
threads=2; conns=32
rm -f "$dir/done".*
t0=$(now)
STAY_REQUESTS="$dir/requests.tsv" STAY_THREADS=$threads STAY_DONE="$dir/done" \
  wrk -t$threads -c$conns -d600s --timeout 30s -s "$dir/notify.lua" "http://$addr" > "$dir/wrk.txt" &
w=$!
deadline=$(( $(date +%s) + ${EID_BENCH_WAIT:-600} ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  [ "$(ls "$dir/done".* 2>/dev/null | wc -l)" -ge $threads ] && break
  kill -0 "$w" 2>/dev/null || break
  sleep 0.01
done
secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
kill -INT "$w" 2>/dev/null || true
wait "$w" || true
get() { sed -n "s/^$1 //p" "$dir/wrk.txt"; }
reqs=$(get requests)
rows=$(python3 "$root/bench/stay_peak_setup.py" count "$dbref")
wrk -t$threads -c$conns -d5s --latency "http://$addr/healthz" > "$dir/healthz.txt"
h_rate=$(sed -n 's/^Requests\/sec: *//p' "$dir/healthz.txt")
h_p99=$(awk '/ 99%/ { print $2 }' "$dir/healthz.txt")
echo "engine: $engine"
echo "notify API: $rows stays written in $secs s = $(rate "$rows" "$secs") stays/s ($reqs requests); p50 $(get p50_ms) ms, p99 $(get p99_ms) ms, max $(get max_ms) ms; stays written: $rows"
echo "not 201: $(get not201)$(sed -n 's/^refusals//p' "$dir/wrk.txt" | cut -c1-300)"
echo "baseline GET /healthz: ${h_rate} /s, p99 ${h_p99}; notify/healthz throughput ratio $(ratio "$(rate "$rows" "$secs")" "${h_rate%.*}")"
echo "a real evening (50,000 guests over 5 h) needs $(awk -v g="$guests" 'BEGIN { printf "%.1f", g / 18000 }') stays/s; goal p99 < 100 ms"
