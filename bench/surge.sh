#!/usr/bin/env bash
# Surge mode (issue 16): measures the capacity of a mixed workload (officer lookups, citizen
# sign-ins with their Argon2 check, registration pages), then offers 3× that rate in an open loop
# for a bounded time and prints, per lane, the admitted requests' p99 against the lane's goal,
# the answers by kind (2xx/4xx admitted; 503 with Retry-After is the designed refusal; anything
# else is an error), the server's peak RSS, and how long after the load the three lanes are
# served again. The server is pinned to one core (taskset) and the generator to another, so the
# generator is not what runs out. EID_BIN=path skips the release build (a debug build is slower
# and gives smaller capacities); EID_SURGE_SECONDS sets the overload's length (default 20).
source "$(dirname "$0")/common.sh"
need curl curl
need python3 python3
if [ -n "${EID_BIN:-}" ]; then eid=$EID_BIN; else build; fi
dir="$work/surge"
rm -rf "$dir" && mkdir -p "$dir"
db="sqlite://$dir/eid.db"
seconds=${EID_SURGE_SECONDS:-20}
capacity_seconds=${EID_SURGE_CAPACITY_SECONDS:-10}

"$eid" gen persons --count 3000 --seed 16 --province 62 --out "$dir/p.csv" >/dev/null
"$eid" --db "$db" import persons "$dir/p.csv" --json >/dev/null
cut -d, -f1 "$dir/p.csv" | tail -n +2 > "$dir/ids.txt"
printf 'Bench password 1A\n' | "$eid" --db "$db" admin create-user --username bo --role ministry --unit VN --password-stdin >/dev/null
token=$("$eid" --db "$db" admin issue-token --username bo --name surge 2>/dev/null | tail -n 1)

# Wide per-source allowances: every request comes from 127.0.0.1. Admission control as shipped.
cat > "$dir/eid.toml" <<'TOML'
[limits]
source_secret_burst = 1000000
source_secret_per_hour = 1000000
source_sms_burst = 1000000
source_sms_per_hour = 1000000
TOML
# EID_SURGE_HASH_WAIT_MS=N: the hashing pool's wait bound ([limits] hash_wait_ms; default 1,000).
[ -n "${EID_SURGE_HASH_WAIT_MS:-}" ] && echo "hash_wait_ms = $EID_SURGE_HASH_WAIT_MS" >> "$dir/eid.toml"
pin_server=(); pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_server=(taskset -c 0); pin_load=(taskset -c 1); fi
EID_LOG=warn "${pin_server[@]}" "$eid" --config "$dir/eid.toml" --db "$db" serve --dev --listen 127.0.0.1:0 2> "$dir/serve.log" &
server=$!
sampler=
trap 'kill $server 2>/dev/null || true; [ -n "$sampler" ] && kill $sampler 2>/dev/null || true' EXIT
addr=
for _ in $(seq 1 100); do
  addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$dir/serve.log" | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$dir/serve.log"; exit 1; }
curl -sf -H "Authorization: Bearer $token" "http://$addr/api/v1/persons/$(head -n 1 "$dir/ids.txt")" >/dev/null
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$server/status"; }
rss_idle=$(rss_kib)

# 1. Capacity: 8 clients back to back: enough to keep the one core busy, few enough that no
#    sign-in waits past the hashing pool's bound (a refusal there is not capacity).
"${pin_load[@]}" python3 "$root/bench/surge_load.py" "$addr" closed "$token" "$dir/ids.txt" "$capacity_seconds" "${EID_SURGE_CLIENTS:-8}" > "$dir/capacity.json"
# The mix's capacity is what its slowest lane sustains, scaled by that lane's share of the mix:
# a lane turned away fast (a 503 from the hashing pool) frees clients for the cheap lanes, so the
# plain admitted rate would count refusals as capacity.
capacity=$(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
elapsed = lines[0]["elapsed_s"]
share = {"officer": 0.4, "citizen": 0.3, "register": 0.3}
print(round(min(l["admitted"] / share[l["lane"]] for l in lines[1:]) / elapsed, 1))' "$dir/capacity.json")
rate=$(awk -v c="$capacity" 'BEGIN { printf "%.0f", 3 * c }')

# 2. Overload: 3× capacity for $seconds, RSS sampled every 0.2 s.
( peak=0; while kill -0 $server 2>/dev/null; do r=$(rss_kib); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" > "$dir/rss_peak"; sleep 0.2; done ) &
sampler=$!
"${pin_load[@]}" python3 "$root/bench/surge_load.py" "$addr" open "$token" "$dir/ids.txt" "$seconds" "$rate" > "$dir/overload.json"
sleep 0.3
kill $sampler 2>/dev/null || true
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$server/status")
curl -s "http://$addr/metrics" | grep '^eid_admission_requests_total' > "$dir/metrics.txt" || true

python3 - "$dir" "$capacity" "$rate" "$seconds" "$rss_idle" "$(cat "$dir/rss_peak" 2>/dev/null || echo 0)" "$hwm" "${EID_SURGE_CLIENTS:-8}" <<'PY'
import json, sys
d, capacity, rate, seconds, idle, peak, hwm, clients = sys.argv[1:9]
goal = {"officer": 2000, "citizen": 1500, "register": 1500}
cap = [json.loads(l) for l in open(f"{d}/capacity.json")]
over = [json.loads(l) for l in open(f"{d}/overload.json")]
print(f"Surge: mixed workload (4 officer lookups : 3 citizen sign-ins : 3 registration pages), server on one core")
print(f"  capacity (closed loop, {clients} clients): {float(capacity):.1f}/s of the whole mix (the slowest lane's admitted rate ÷ its share; "
      f"all lanes together {cap[0]['admitted_per_s']} admitted/s); p99 per lane: " +
      ", ".join(f"{l['lane']} {l['p99_ms']} ms" for l in cap[1:]) +
      "; answers per lane: " + ", ".join(f"{l['lane']} {l['kinds']}" for l in cap[1:]))
h = over[0]
print(f"  overload: offered {h['offered_per_s']}/s for {seconds} s (3.00× capacity asked: {rate}/s), admitted {h['admitted_per_s']}/s")
ok = True
for l in over[1:]:
    kinds = l["kinds"]
    designed = sum(v for k, v in kinds.items() if k in ("2xx", "4xx", "503_retry_after"))
    errors = {k: v for k, v in kinds.items() if k not in ("2xx", "4xx", "503_retry_after")}
    within = l["p99_ms"] <= goal[l["lane"]]
    ok = ok and within and not errors
    print(f"  {l['lane']:<9} admitted {l['admitted']:>6}  p50 {l['p50_ms']:>7} ms  p99 {l['p99_ms']:>7} ms  goal {goal[l['lane']]} ms "
          f"{'ok' if within else 'MISSED'}  answers {kinds}  other errors {sum(errors.values())}")
print(f"  server RSS: idle {int(idle)/1024:.1f} MiB, peak during overload {int(peak)/1024:.1f} MiB (VmHWM {int(hwm)/1024:.1f} MiB)")
rec = h.get("recovery_ms")
print(f"  recovery: every lane admitted again {rec} ms after the load stopped" if rec is not None else "  recovery: NOT within 60 s")
for line in open(f"{d}/metrics.txt"):
    print("  metrics " + line.strip())
print("  verdict: " + ("admitted p99 within goals, no errors but the designed 503s" if ok and rec is not None else "see MISSED/errors above"))
PY
