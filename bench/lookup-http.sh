#!/usr/bin/env bash
# Person lookup by personal ID over HTTP on loopback, measured with wrk against /healthz on the
# same server in the same run. The server holds a generated province (default 200,000 people)
# on SQLite; requests carry a bearer token of a province officer and ask for random IDs of that
# province. Goal: ≥ 20,000 requests/s, and ≥ half of /healthz. Each round also measures
# `/api/v1/me` with the same token: the same HTTP stack, middleware and token check with no
# store work, the floor under which no authenticated answer of this server goes.
source "$(dirname "$0")/common.sh"
people=${1:-200000}
need wrk wrk
# EID_BENCH_BIN=<a copy of a release build> measures that build (an A/B of two builds).
if [ -n "${EID_BENCH_BIN:-}" ]; then eid=$EID_BENCH_BIN; else build; fi
dir="$work/lookup"
rm -rf "$dir" && mkdir -p "$dir"
db="sqlite://$dir/eid.db"

"$eid" gen persons --count "$people" --seed 7 --province 62 --out "$dir/p.csv" >/dev/null
"$eid" --db "$db" import persons "$dir/p.csv" --json >/dev/null
printf 'Bench password 1A\n' | "$eid" --db "$db" admin create-user --username bench --role province --unit 62 --password-stdin >/dev/null
token=$("$eid" --db "$db" admin issue-token --username bench --name bench | tail -n 1)
cut -d, -f1 "$dir/p.csv" | tail -n +2 | shuf -n 20000 --random-source=<(yes) > "$dir/ids.txt"

EID_LOG=warn "$eid" --db "$db" serve --dev --listen 127.0.0.1:0 2> "$dir/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$dir/serve.log" | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$dir/serve.log"; exit 1; }

# Every request is formatted once, before the run: per lookup the client then makes one Lua
# call that hands over a ready string. Formatting each request as it was sent cost wrk ~2 µs
# of CPU a lookup, on the same two cores as the server.
cat > "$dir/lookup.lua" <<LUA
local requests = {}
wrk.headers["Authorization"] = "Bearer $token"
for line in io.lines("$dir/ids.txt") do
  requests[#requests + 1] = wrk.format("GET", "/api/v1/persons/" .. line)
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
done = function(summary, latency, requests)
  io.write(string.format("errors: %d non-2xx\n", summary.errors.status))
end
LUA
# Check one lookup answers 200 before measuring.
curl -sf -H "Authorization: Bearer $token" "http://$addr/api/v1/persons/$(head -n 1 "$dir/ids.txt")" >/dev/null

threads=2; conns=64
# The host's speed drifts by ±20 % within minutes, so the two are measured in turns: rounds of
# /healthz then lookups, each $round long; the ratio is taken per round and overall.
rounds=${EID_BENCH_ROUNDS:-3}
round=${EID_BENCH_ROUND:-5s}
echo "HTTP on loopback, wrk -t$threads -c$conns, $rounds rounds of $round each, $people persons on SQLite"
# A warm-up of lookups first (the register's pages into memory), and after every lookup round a
# pause in which the server folds that round's staff reads into the data-use log (it does every
# second), so that no round's work is left to slow the next /healthz.
wrk -t$threads -c$conns -d3s -s "$dir/lookup.lua" "http://$addr/" > /dev/null
sleep 2
: > "$dir/rounds.txt"
for r in $(seq 1 "$rounds"); do
  wrk -t$threads -c$conns -d"$round" --latency "http://$addr/healthz" > "$dir/health-$r.txt"
  wrk -t$threads -c$conns -d"$round" --latency -s "$dir/lookup.lua" "http://$addr/" > "$dir/lookup-$r.txt"
  sleep 2
  wrk -t$threads -c$conns -d"$round" --latency -H "Authorization: Bearer $token" "http://$addr/api/v1/me" > "$dir/me-$r.txt"
  health=$(awk '/Requests\/sec/ { print $2 }' "$dir/health-$r.txt")
  lookup=$(awk '/Requests\/sec/ { print $2 }' "$dir/lookup-$r.txt")
  me=$(awk '/Requests\/sec/ { print $2 }' "$dir/me-$r.txt")
  echo "$health $lookup $me" >> "$dir/rounds.txt"
  printf '  round %d: /healthz %7.0f req/s (p50/p99 %s)  lookups %7.0f req/s (p50/p99 %s)  ratio %s  %s\n' \
    "$r" "$health" "$(awk '/^ +(50|99)%/ { printf "%s ", $2 }' "$dir/health-$r.txt")" \
    "$lookup" "$(awk '/^ +(50|99)%/ { printf "%s ", $2 }' "$dir/lookup-$r.txt")" \
    "$(ratio "$lookup" "$health")" "$(grep -h "errors:" "$dir/lookup-$r.txt")"
done
health=$(awk '{ s += $1 } END { printf "%.0f", s / NR }' "$dir/rounds.txt")
lookup=$(awk '{ s += $2 } END { printf "%.0f", s / NR }' "$dir/rounds.txt")
printf '  /healthz (baseline):        %10.0f req/s (mean of the rounds)\n' "$health"
printf '  /api/v1/persons/{id}:       %10.0f req/s (mean of the rounds)\n' "$lookup"
me=$(awk '{ s += $3 } END { printf "%.0f", s / NR }' "$dir/rounds.txt")
printf '  /api/v1/me:                 %10.0f req/s (mean of the rounds; the same token, no store work)\n' "$me"
echo "  the floor of an answer to an officer's token: /api/v1/me / healthz $(ratio "$me" "$health") (per round $(awk '{ printf "%.2f ", $3 / $1 }' "$dir/rounds.txt"))"
echo "  ratio lookup / healthz: $(ratio "$lookup" "$health") overall, per round $(awk '{ printf "%.2f ", $2 / $1 }' "$dir/rounds.txt")(goal ≥ 0.50; lookup goal ≥ 20000 req/s)"
