#!/usr/bin/env bash
# eid as an OpenID provider: the token endpoint, side by side in one run with npm `oidc-provider`
# (node, OpenID-certified) configured alike (bench/oidc-provider.mjs: ES256 ID tokens, code 60 s,
# access and ID token 10 min, refresh 30 days rotated on use, client_secret_basic, PKCE S256);
# then the full password sign-in.
#
# 1. Code exchange, then refresh (each refresh token of the exchange's answers used once), with
#    wrk over loopback: responses/s per core = 200 answers / the server process's CPU seconds
#    in the run (utime + stime from /proc), so the load generator's share of the 2 cores does not
#    count; the wall-clock rate too. Codes are minted before the run (eid: a signed-in browser
#    session asks for them on eid's authorization endpoint; oidc-provider: in-process), and each
#    code is sent once. Goal: ≥ 3,000 responses/s per core and ahead of oidc-provider.
# 2. The full password sign-in (authorize → eid's sign-in page → password → code → token, one
#    after the other, each in a browser bound to the account before — a returning citizen's —
#    but without a session) on SQLite, the default engine, then on PostgreSQL, against the cost
#    of one Argon2id verification with eid's parameters measured in the same run (cargo bench
#    argon_cost). Goal: within 1.3×. Two times are printed: eid's own (the sum of its
#    request-latency histogram over the sign-ins' requests, read from /metrics before and
#    after: from a request's arrival to its answer, audit line committed) and the Python
#    client's wall clock, which adds the client's own work (HTML parsing, a new connection per
#    sign-in) and loopback. eid's own time is also split into its Argon2id checks (its hashing
#    pool's counters on /metrics) and the rest, which the host's drifting speed moves less than
#    the ratio. Durable writes per sign-in on PostgreSQL: writing transactions
#    counted as the transaction ids PostgreSQL assigned over the sign-ins
#    (pg_current_xact_id() delta; a read gets none). Goal: ≤ 2. Then the same on PostgreSQL
#    in a new browser each time, which adds the SMS code step and binds it, on a line of its
#    own. The CPU the sign-ins cost eid's process (and the PostgreSQL cluster) is printed.
#
# Usage: bench/oidc-token.sh [CODES (default 10000)] [SIGNINS (default 30)]
# (EID_OIDC_PART=signin runs the sign-in part alone.)
# (EID_BENCH_BIN=target/debug/eid bench/oidc-token.sh 300 3 tries the script without a release build;
# EID_BENCH_BIN=<a copy of a release build> measures that build, Argon2id then in the release profile.)
# Needs wrk, node + npm (oidc-provider is installed under $EID_BENCH_DIR), python3 with requests.
source "$(dirname "$0")/common.sh"
source "$root/scripts/lib/pg.sh"
# Codes live 60 s and are all minted before the run: 10,000 mint in about 40 s on a slow host
# (20,000 took 74 s there, and a fifth had expired when sent).
codes=${1:-10000}
signins=${2:-30}
need wrk wrk
need node nodejs
# EID_BENCH_BIN runs another build (e.g. target/debug/eid, to try the script; its figures mean
# nothing) and measures Argon2id in the same profile.
if [ -n "${EID_BENCH_BIN:-}" ]; then
  eid=$EID_BENCH_BIN
  argon_profile=()
  case "$eid" in */debug/*) argon_profile=(--profile dev) ;; esac
else
  build
  argon_profile=()
fi
dir="$work/oidc"
rm -rf "$dir" && mkdir -p "$dir"
python3 -c 'import requests, authlib' 2>/dev/null || python3 -m pip install --quiet requests authlib
node_dir="$work/oidc-node"
if [ ! -d "$node_dir/node_modules/oidc-provider" ]; then
  mkdir -p "$node_dir" && (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error oidc-provider@9.13.3 >/dev/null)
fi
cp "$root/bench/oidc-provider.mjs" "$node_dir/"

redirect=http://127.0.0.1/bench/callback
verifier=bench-verifier-0123456789-0123456789-0123456789-abcdef
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  pg_stop
}
trap cleanup EXIT

# An eid in development mode over $1 (a database URL), with a confidential client and a citizen
# (level 1, password) registered as the app does; every request comes from 127.0.0.1, so the
# per-source allowances are widened (the per-person limits stay). Sets addr, secret, pid_eid and
# the citizen's fields (flow: the arguments of bench/oidc_flow.py).
# The new-browser sign-ins send the one citizen a device code each: the per-person code limits
# are widened too.
printf '[limits]\nsource_secret_burst = 1000000\nsource_secret_per_hour = 100000000\nsource_sms_burst = 100000\nsource_sms_per_hour = 1000000\ncode_issues_per_hour = 100000\ncode_guesses_per_hour = 100000\n' > "$dir/eid.toml"
start_eid() {
  local db=$1 tag=$2
  "$eid" gen persons --count 2000 --seed 7 --province 62 --out "$dir/p-$tag.csv" >/dev/null
  "$eid" --db "$db" import persons "$dir/p-$tag.csv" --json >/dev/null
  printf 'Bench password 1A\n' | "$eid" --db "$db" admin create-user --username bench --role ministry --unit VN --password-stdin >/dev/null
  local token
  token=$("$eid" --db "$db" admin issue-token --username bench --name bench | tail -n 1)
  secret=$("$eid" --db "$db" admin client add --client-id bench --name-vi "Bench" --name-en "Bench" \
    --redirect-uri "$redirect" --scopes "openid profile offline_access" --alg ES256 --auth-method client_secret_basic \
    | sed -n 's/^client_secret: //p')
  [ -n "$secret" ] || { echo "eid admin client add printed no secret" >&2; exit 1; }
  EID_LOG=warn "$eid" --config "$dir/eid.toml" --db "$db" serve --dev --listen 127.0.0.1:0 2> "$dir/serve-$tag.log" &
  pid_eid=$!
  pids+=("$pid_eid")
  addr=""
  for _ in $(seq 1 200); do
    addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$dir/serve-$tag.log" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$dir/serve-$tag.log"; exit 1; }
  local phone=0912345670 pid_ handle code=""
  for pid_ in $(cut -d, -f1 "$dir/p-$tag.csv" | tail -n +2 | head -n 50); do
    handle=$("$eid" client register --server "http://$addr" --personal-id "$pid_" --phone "$phone" \
      --device-id bench-device-0001 2>/dev/null | tail -n 1)
    code=$("$eid" client code --server "http://$addr" --token "$token" --phone "$phone" --purpose register 2>/dev/null | tail -n 1) || true
    [ -n "$code" ] && break
  done
  [ -n "$code" ] || { echo "no person of the generated file could register at level 1" >&2; exit 1; }
  "$eid" client confirm --server "http://$addr" --handle "$handle" --code "$code" \
    --password 'Bench password 1A' --passcode 246810 >/dev/null
  # The first JWKS answer makes the signing keys (two RSA keys on a new database, about a second),
  # so no measured request pays for it.
  curl -fsS "http://$addr/oauth2/jwks" >/dev/null
  flow=(--issuer "http://$addr" --client-id bench --client-secret "$secret" --redirect-uri "$redirect"
    --field "personal_id=$pid_" --field "password=Bench password 1A"
    --code-command "$eid client code --server http://$addr --token $token --phone $phone --purpose device")
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# wrk over a file of codes or refresh tokens, each sent once; refresh tokens of the answers go
# to $out.N (one file per wrk thread). wrk runs for a set time, so a thread whose items were all
# answered (or 3 s after its last was sent, if an answer was lost) stops and writes
# $out.N.done, and wrk is interrupted once every thread has (or after EID_BENCH_WAIT seconds,
# default 300). A connection out of items asks for a 404 page meanwhile (not counted).
# Prints "ok cpu_seconds wall_seconds".
threads=2; conns=32
run_tokens() {
  local url=$1 path=$2 basic=$3 kind=$4 input=$5 out=$6 pid=$7
  rm -f "$out".*
  cat > "$dir/token.lua" <<LUA
local items = {}
for line in io.lines("$input") do if #line > 0 then items[#items + 1] = line end end
local threads = {}
local n = 0
function setup(thread)
  thread:set("id", n)
  n = n + 1
  table.insert(threads, thread)
end
function init(args)
  idx = id + 1 - $threads
  ok = 0
  answered = 0
  marked = false
  sent_all = nil
  share = math.floor((#items - id - 1) / $threads) + 1
  out = io.open("$out." .. id, "w")
  wrk.headers["Authorization"] = "Basic $basic"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
-- A connection out of items waits 100 ms before its filler request: the fillers must not cost
-- the server's CPU, which the per-core figure divides by (a spinning filler loop once sent 15
-- 404s for every answer and halved that figure).
function delay()
  if items[idx + $threads] == nil then return 100 end
  return 0
end
function request()
  idx = idx + $threads
  local v = items[idx]
  if v == nil then
    -- Out of items while the last answers are on their way: a 404, told apart below.
    return wrk.format("GET", "/bench-exhausted")
  end
  local body
  if "$kind" == "code" then
    body = "grant_type=authorization_code&code=" .. v .. "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fbench%2Fcallback&code_verifier=$verifier"
  else
    body = "grant_type=refresh_token&refresh_token=" .. v
  end
  return wrk.format("POST", "$path", nil, body)
end
function response(status, headers, body)
  if status ~= 404 then answered = answered + 1 end
  if status == 200 then
    ok = ok + 1
    local rt = body:match('"refresh_token":"([^"]+)"')
    if rt then out:write(rt, "\\n") end
  end
  if idx >= #items and not sent_all then sent_all = os.time() end
  -- Done when every item of this thread was answered, or 3 s after the last was sent (an
  -- answer lost to a timeout); meanwhile a connection out of items asks for a 404 page.
  if not marked and (answered >= share or (sent_all and os.time() - sent_all >= 3)) then
    marked = true
    out:flush()
    io.open("$out." .. id .. ".done", "w"):close()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("ok") end
  io.write(string.format("ok: %d\\n", total))

end
LUA
  local c0 c1 t0 t1 w
  c0=$(cpu_ticks "$pid"); t0=$(now)
  wrk -t$threads -c$conns -d600s --timeout 30s -s "$dir/token.lua" "$url" > "$dir/wrk-$kind-$(basename "$out").txt" &
  w=$!
  local deadline=$(( $(date +%s) + ${EID_BENCH_WAIT:-300} ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(ls "$out".*.done 2>/dev/null | wc -l)" -ge $threads ] && break
    kill -0 "$w" 2>/dev/null || { echo "wrk ended early ($kind, $(basename "$out"))" >&2; break; }
    sleep 0.01
  done
  t1=$(now); c1=$(cpu_ticks "$pid")
  kill -INT "$w" 2>/dev/null || true
  wait "$w" || true
  local okn
  okn=$(sed -n 's/^ok: //p' "$dir/wrk-$kind-$(basename "$out").txt")
  okn=${okn:-0}
  echo "$okn $(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz }') $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

report() {
  local name=$1 ok=$2 cpu=$3 wall=$4
  printf '  %-34s %7d answers  %8.0f /s per core  (%6.0f /s wall, %.1f s CPU)\n' \
    "$name" "$ok" "$(rate "$ok" "$cpu")" "$(rate "$ok" "$wall")" "$cpu"
}

# --- 1. token endpoint: eid (SQLite) and oidc-provider ------------------------------------------
# EID_OIDC_PART=signin runs part 2 alone.
if [ "${EID_OIDC_PART:-all}" != signin ]; then
start_eid "sqlite://$dir/eid.db" sqlite
eid_addr=$addr
python3 "$root/bench/oidc_flow.py" mint "${flow[@]}" --count "$codes" --out "$dir/eid-codes.txt"
eid_basic=$(printf 'bench:%s' "$secret" | base64 -w0)
read -r e_ok e_cpu e_wall < <(run_tokens "http://$eid_addr" /oauth2/token "$eid_basic" code "$dir/eid-codes.txt" "$dir/eid-rt" "$pid_eid")
cat "$dir"/eid-rt.[0-9] > "$dir/eid-refresh.txt"
read -r er_ok er_cpu er_wall < <(run_tokens "http://$eid_addr" /oauth2/token "$eid_basic" refresh "$dir/eid-refresh.txt" "$dir/eid-rt2" "$pid_eid")
kill "$pid_eid"

op_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NODE_ENV=production node "$node_dir/oidc-provider.mjs" "$op_port" "$codes" "$dir/op-codes.txt" > "$dir/op.log" 2>&1 &
pid_op=$!
pids+=("$pid_op")
for _ in $(seq 1 600); do grep -q listening "$dir/op.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$dir/op.log" || { cat "$dir/op.log"; exit 1; }
op_basic=$(printf 'bench:bench-secret-0123456789' | base64 -w0)
read -r o_ok o_cpu o_wall < <(run_tokens "http://127.0.0.1:$op_port" /token "$op_basic" code "$dir/op-codes.txt" "$dir/op-rt" "$pid_op")
cat "$dir"/op-rt.[0-9] > "$dir/op-refresh.txt"
read -r or_ok or_cpu or_wall < <(run_tokens "http://127.0.0.1:$op_port" /token "$op_basic" refresh "$dir/op-refresh.txt" "$dir/op-rt2" "$pid_op")
kill "$pid_op"

echo "Token endpoint over loopback, wrk -t$threads -c$conns, $codes codes each, every code and refresh token sent once"
report "eid (SQLite) code exchange" "$e_ok" "$e_cpu" "$e_wall"
report "oidc-provider code exchange" "$o_ok" "$o_cpu" "$o_wall"
report "eid (SQLite) refresh" "$er_ok" "$er_cpu" "$er_wall"
report "oidc-provider refresh" "$or_ok" "$or_cpu" "$or_wall"
echo "  eid / oidc-provider per core: code $(ratio "$(rate "$e_ok" "$e_cpu")" "$(rate "$o_ok" "$o_cpu")")," \
  "refresh $(ratio "$(rate "$er_ok" "$er_cpu")" "$(rate "$or_ok" "$or_cpu")")" \
  "(goal ≥ 3000/s per core and > 1.00; oidc-provider keeps everything in memory, eid commits each answer)"
fi

# --- 2. the full password sign-in, on SQLite (the default engine) and on PostgreSQL -----------
# One Argon2id verification with eid's parameters (the median of 31), in seconds. The host's
# speed drifts by a fifth within minutes, so it is measured just before and just after each
# engine's sign-ins and their mean is the baseline.
argon_cost() {
  (cd "$root" && cargo bench -p eid --bench argon_cost --locked -q "${argon_profile[@]}") | sed -n 's/^verify_seconds: //p'
}
# CPU of the PostgreSQL cluster (the postmaster and its children: the pool's backends live
# through the run), in clock ticks; 0 on SQLite.
pg_ticks() {
  [ -n "${pg_dir:-}" ] && [ -f "$pg_dir/data/postmaster.pid" ] || { echo 0; return; }
  local pm s=0 p
  pm=$(head -n 1 "$pg_dir/data/postmaster.pid")
  for p in "$pm" $(pgrep -P "$pm"); do s=$((s + $(cpu_ticks "$p" 2>/dev/null || echo 0))); done
  echo "$s"
}
# signins ENGINE PROBE: $signins bound-browser sign-ins against the running eid; prints the
# figures. PROBE (PostgreSQL) counts writing transactions.
signins() {
  local engine=$1 probe=$2 c0 c1 g0 g1 per server nreq
  python3 "$root/bench/oidc_flow.py" signin "${flow[@]}" --count 3 >/dev/null  # consent given, caches warm
  a0=$(argon_cost)
  c0=$(cpu_ticks "$pid_eid"); g0=$(pg_ticks)
  python3 "$root/bench/oidc_flow.py" signin "${flow[@]}" --count "$signins" --steps \
    --metrics "http://$addr/metrics" ${probe:+--probe "$probe"} > "$dir/signin-$engine.txt"
  c1=$(cpu_ticks "$pid_eid"); g1=$(pg_ticks)
  a1=$(argon_cost)
  argon=$(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.6f", (a + b) / 2 }')
  per=$(sed -n 's/^seconds //p' "$dir/signin-$engine.txt")
  server=$(sed -n 's/^server_seconds //p' "$dir/signin-$engine.txt")
  nreq=$(sed -n 's/^server_requests //p' "$dir/signin-$engine.txt")
  echo "Full password sign-in on $engine, $signins one after the other in a browser bound before (authorize → sign-in page → password → code → token)"
  awk -v a="$a0" -v b="$a1" 'BEGIN { printf "  one Argon2id verification with eid'"'"'s parameters (m=19 MiB, t=2, p=1; cargo bench argon_cost) just before and after: %.1f / %.1f ms\n", a * 1000, b * 1000 }'
  printf '  eid'"'"'s own time a sign-in (its request-latency histogram, %s requests): %.1f ms, ratio %s (goal ≤ 1.30)\n' \
    "$nreq" "$(awk -v s="$server" 'BEGIN { print s * 1000 }')" "$(ratio "$server" "$argon")"
  checks=$(sed -n 's/^server_check_seconds //p' "$dir/signin-$engine.txt")
  nchecks=$(sed -n 's/^server_checks //p' "$dir/signin-$engine.txt")
  [ -z "$checks" ] || printf '    of which its Argon2id checks (%s a sign-in, its hashing pool'"'"'s counters): %.1f ms; the rest of the sign-in: %.1f ms\n' \
    "$nchecks" "$(awk -v s="$checks" 'BEGIN { print s * 1000 }')" "$(awk -v s="$server" -v c="$checks" 'BEGIN { print (s - c) * 1000 }')"
  printf '  as the Python client saw it (its own work and the connections included): %.1f ms, ratio %s\n' \
    "$(awk -v s="$per" 'BEGIN { print s * 1000 }')" "$(ratio "$per" "$argon")"
  awk -v e=$((c1 - c0)) -v g=$((g1 - g0)) -v hz="$hz" -v n="$signins" -v a="$argon" -v engine="$engine" 'BEGIN {
    if (engine == "PostgreSQL")
      printf "  CPU per sign-in: eid %.1f ms, PostgreSQL %.1f ms, together %.2f× one Argon2id verification\n",
        e / hz / n * 1000, g / hz / n * 1000, (e + g) / hz / n / a
    else
      printf "  CPU per sign-in: eid %.1f ms, %.2f× one Argon2id verification\n", e / hz / n * 1000, e / hz / n / a }'
  echo "  its requests (mean ms to the answer's headers, as the client saw them; xN = times per sign-in):"
  sed -n 's/^step /    /p' "$dir/signin-$engine.txt"
}

start_eid "sqlite://$dir/eid-signin.db" sqlite-signin
signins SQLite ""
kill "$pid_eid"

pg_start
trap cleanup EXIT
start_eid "$PG_URL" pg
probe="$pg_bin/psql $PG_URL -Atqc 'select pg_current_xact_id()'"
signins PostgreSQL "$probe"
x0=$(sed -n 's/^before //p' "$dir/signin-PostgreSQL.txt")
x1=$(sed -n 's/^after //p' "$dir/signin-PostgreSQL.txt")
writes=$(awk -v a="$x0" -v b="$x1" -v n="$signins" 'BEGIN { printf "%.2f", (b - a - 1) / n }')
echo "  durable writes (writing transactions) per sign-in: $writes (goal ≤ 2; the same code on SQLite)"
# The same in a new browser each time (password, then the SMS code to the bound phone, which
# binds it): the first sign-in on a device, reported on its own line.
python3 "$root/bench/oidc_flow.py" signin "${flow[@]}" --count "$signins" --steps --new-device \
  --probe "$probe" > "$dir/signin-new.txt"
n0=$(sed -n 's/^before //p' "$dir/signin-new.txt")
n1=$(sed -n 's/^after //p' "$dir/signin-new.txt")
nper=$(sed -n 's/^seconds //p' "$dir/signin-new.txt")
nwrites=$(awk -v a="$n0" -v b="$n1" -v n="$signins" 'BEGIN { printf "%.2f", (b - a - 1) / n }')
printf '  in a new browser each time (+ the SMS code step, its look-up not counted): %.1f ms as the client saw it, ratio %s; %s writing transactions per sign-in\n' \
  "$(awk -v s="$nper" 'BEGIN { print s * 1000 }')" "$(ratio "$nper" "$argon")" "$nwrites"
sed -n 's/^step /    /p' "$dir/signin-new.txt"
