#!/usr/bin/env bash
# Replays the bursts of issue 10, items 1-5, against a real server on a generated province
# (SQLite) and prints, per burst, the statuses seen, how many secrets were checked and how many
# codes (SMS) were sent. Counted from what the server records: `auth.login` audit lines
# `ok`/`failed` (a refused attempt is `limited`) for staff, `secret_failed` events for citizens,
# the SMS outbox for codes. The server runs with the production limits and 127.0.0.1 as its
# trusted proxy, so that a burst names its source(s) with X-Forwarded-For: "one source" is one
# address, "N sources" gives every request its own. EID_BIN=path skips the release build.
source "$(dirname "$0")/common.sh"
need curl curl
need jq jq
need sqlite3 sqlite3
if [ -n "${EID_BIN:-}" ]; then eid=$EID_BIN; else build; fi
dir="$work/bursts"
rm -rf "$dir" && mkdir -p "$dir"
db="sqlite://$dir/eid.db"
pw='Bench password 1A'
citizen_pw='Mật-khẩu-Mạnh-2026'

"$eid" gen persons --count 3000 --seed 11 --province 62 --out "$dir/p.csv" >/dev/null
"$eid" --db "$db" import persons "$dir/p.csv" --json >/dev/null
for u in an binh; do
  printf '%s\n' "$pw" | "$eid" --db "$db" admin create-user --username "$u" --role commune \
    --unit "$(awk -F, 'NR == 2 { print $8 }' "$dir/p.csv")" --password-stdin >/dev/null
done
printf '%s\n' "$pw" | "$eid" --db "$db" admin create-user --username bo --role ministry --unit VN --password-stdin >/dev/null
token=$("$eid" --db "$db" admin issue-token --username bo --name bursts 2>/dev/null | tail -n 1)

# serve CONFIG: starts the server with a config file; sets $addr and $server.
serve() {
  EID_LOG=warn "$eid" --config "$1" --db "$db" serve --dev --listen 127.0.0.1:0 2> "$dir/serve.log" &
  server=$!
  addr=
  for _ in $(seq 1 100); do
    addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$dir/serve.log" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$dir/serve.log"; exit 1; }
}
trap 'kill $server 2>/dev/null || true' EXIT

# Setup, on a server with wide per-source allowances: level-1 accounts for six adults with a
# card and a phone, bound to device "bench-device-1".
cat > "$dir/setup.toml" <<'TOML'
[limits]
source_secret_burst = 100000
source_secret_per_hour = 1000000
source_sms_burst = 100000
source_sms_per_hour = 1000000
TOML
serve "$dir/setup.toml"
ids=(); phones=()
while IFS=, read -r id _ _ _ born _ _ _ _ _ _ _ phone _ life _ card _; do
  [ "${#ids[@]}" -ge 6 ] && break
  [ -n "$phone" ] && [ -n "$card" ] && [ "$life" = alive ] && [ "${born:0:4}" -le 1995 ] || continue
  out=$("$eid" client register --server "http://$addr" --personal-id "$id" --phone "$phone" --device-id bench-device-1 2>/dev/null) || continue
  handle=$(printf '%s\n' "$out" | grep -oE '[0-9a-f]{64}' | head -n 1)
  code=$("$eid" client code --server "http://$addr" --token "$token" --phone "$phone" --purpose register 2>/dev/null | grep -oE '[0-9]{6}' | head -n 1) || continue
  [ -n "$code" ] && [ -n "$handle" ] || continue
  "$eid" client confirm --server "http://$addr" --handle "$handle" --code "$code" --password "$citizen_pw" --passcode 246810 >/dev/null 2>&1 || continue
  ids+=("$id"); phones+=("$phone")
done < <(tail -n +2 "$dir/p.csv")
[ "${#ids[@]}" -eq 6 ] || { echo "setup: only ${#ids[@]} accounts" >&2; exit 1; }
kill $server; wait $server 2>/dev/null || true

printf '[limits]\ntrusted_proxies = ["127.0.0.1"]\n' > "$dir/prod.toml"
serve "$dir/prod.toml"
base="http://$addr"

q() { sqlite3 "$dir/eid.db" "$1"; }
audit_checked() { sleep 0.3; sqlite3 "$dir/eid.audit.db" "SELECT count(*) FROM audit WHERE action = 'auth.login' AND target = '$1' AND outcome IN ('ok', 'failed')"; }
failed_events() { q "SELECT count(*) FROM account_event WHERE kind = 'secret_failed'"; }
sms_count() { q "SELECT count(*) FROM sms_outbox"; }
# The statuses of a burst's answer files, as "count status code" (code '-' for a success).
tally() {
  for f in "$1"/*; do
    printf '%s %s\n' "$(head -n 1 "$f")" "$(tail -n +2 "$f" | jq -r '.error.code // "-"' 2>/dev/null || echo -)"
  done | sort | uniq -c | awk '{ printf "%s×%s %s; ", $1, $2, $3 }'
}
# post DIR N SOURCE PATH BODY-FUNCTION: N POSTs at once from SOURCE (an address, or "many": one
# address each); BODY-FUNCTION i prints the body.
post_burst() {
  local out=$1 n=$2 mode=$3 path=$4 body=$5
  rm -rf "$out" && mkdir -p "$out"
  local pids=()
  for i in $(seq 1 "$n"); do
    local src=$mode
    [ "$mode" = many ] && src="198.18.$((n % 200)).$((i % 250 + 1))"
    ( r=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -H "X-Forwarded-For: $src" \
          -d "$($body "$i")" "$base$path")
      { printf '%s\n' "${r##*$'\n'}"; printf '%s\n' "${r%$'\n'*}"; } > "$out/$i" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
}

# --- Item 1: staff, 40 and 200 simultaneous sign-ins for one user from one address, the
# right password among them.
staff_burst() {
  local user=$1 n=$2 src=$3 out="$dir/staff-$1"
  rm -rf "$out" && mkdir -p "$out"
  local jar="$dir/jar-$user"
  curl -s -c "$jar" "$base/login" > "$dir/login.html"
  local csrf cookie
  csrf=$(grep -o 'name="csrf" value="[^"]*"' "$dir/login.html" | head -n 1 | sed 's/.*value="//; s/"$//')
  cookie=$(awk '$6 == "eid_login_csrf" { print $7 }' "$jar")
  local pids=()
  for i in $(seq 1 "$n"); do
    local p="wrong password $i A"
    [ "$i" -eq $((n / 2)) ] && p=$pw
    ( curl -s -o /dev/null -w '%{http_code}\n' -H "Cookie: eid_login_csrf=$cookie" -H "X-Forwarded-For: $src" \
        --data-urlencode "username=$user" --data-urlencode "password=$p" --data-urlencode "csrf=$csrf" \
        "$base/login" > "$out/$i" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  printf '%-58s statuses: %s checked: %s\n' "staff: $n sign-ins at once, one user, one source" \
    "$(cat "$out"/* | sort | uniq -c | awk '{ printf "%s×%s ", $1, $2 }')" "$(audit_checked "$user")"
}
echo "Bursts against $base (production limits; codes and events counted in the database)"
staff_burst an 40 203.0.113.1
staff_burst binh 200 203.0.113.2

# --- Item 1: citizens, 40 sign-ins at once (39 wrong, the right one in the middle).
signin_body() { local p="Sai-mật-khẩu-$1"; [ "$1" -eq 20 ] && p=$citizen_pw; printf '{"personal_id":"%s","password":"%s","device_id":"bench-device-1"}' "$cur_id" "$p"; }
for mode in one many; do
  cur_id=${ids[$([ $mode = one ] && echo 0 || echo 1)]}
  before=$(failed_events)
  post_burst "$dir/signin-$mode" 40 "$([ $mode = one ] && echo 203.0.113.10 || echo many)" /api/v1/app/signin signin_body
  printf '%-58s statuses: %s checked (wrong): %s\n' "citizen: 40 sign-ins at once, one account, $mode source(s)" \
    "$(tally "$dir/signin-$mode")" "$(( $(failed_events) - before ))"
done

# --- Item 2: 30 resets at once for one account, and 20 new-device sign-ins.
reset_body() { printf '{"personal_id":"%s","phone":"%s"}' "${ids[$k]}" "${phones[$k]}"; }
for mode in one many; do
  k=$([ $mode = one ] && echo 2 || echo 3)
  before=$(sms_count)
  post_burst "$dir/reset-$mode" 30 "$([ $mode = one ] && echo 203.0.113.11 || echo many)" /api/v1/app/password-reset reset_body
  printf '%-58s statuses: %s SMS sent: %s\n' "codes: 30 resets at once, one account, $mode source(s)" \
    "$(tally "$dir/reset-$mode")" "$(( $(sms_count) - before ))"
done
unknown_reset_body() { printf '{"personal_id":"062080999001","phone":"0912999001"}'; }
post_burst "$dir/reset-unknown" 30 many /api/v1/app/password-reset unknown_reset_body
printf '%-58s statuses: %s\n' "codes: 30 resets at once, unknown ID, many sources" "$(tally "$dir/reset-unknown")"
device_body() { printf '{"personal_id":"%s","password":"%s","device_id":"bench-device-2"}' "${ids[4]}" "$citizen_pw"; }
before=$(sms_count)
post_burst "$dir/device" 20 many /api/v1/app/signin device_body
printf '%-58s statuses: %s SMS sent: %s\n' "codes: 20 new-device sign-ins at once, many sources" \
  "$(tally "$dir/device")" "$(( $(sms_count) - before ))"
# The live code's handle (each new code killed the one before): the store keeps its SHA-256.
for h in $(cat "$dir/device"/* | grep -o '"device_check":"[^"]*"' | cut -d'"' -f4); do
  sha=$(printf '%s' "$h" | sha256sum | cut -d' ' -f1)
  [ "$(q "SELECT state FROM code WHERE lower(hex(handle)) = '$sha'")" = open ] && handle=$h
done
guess_body() { printf '{"handle":"%s","code":"%06d"}' "$handle" "$1"; }
post_burst "$dir/guess" 40 many /api/v1/app/signin/device guess_body
printf '%-58s statuses: %s entries compared: %s\n' "codes: 40 guesses at once on that code, many sources" \
  "$(tally "$dir/guess")" "$(q "SELECT sum(attempts) FROM code WHERE purpose = 'device'")"

# --- Items 3 and 4: 120 failures from one source, spread over unknown IDs.
spray_body() { printf '{"personal_id":"0620809%05d","password":"Sai-mật-khẩu-1","device_id":"bench-device-9"}' "$1"; }
post_burst "$dir/spray" 120 203.0.113.12 /api/v1/app/signin spray_body
printf '%-58s statuses: %s\n' "source: 120 failures at once from one source" "$(tally "$dir/spray")"

# --- Item 4: lock-out, an existing ID against an unknown one (7 failures in turn, each from
# its own source).
for who in existing unknown; do
  id=${ids[5]}; net=192.0.2
  [ $who = unknown ] && { id=062080999123; net=192.0.3; }
  seq_out=""
  for i in $(seq 1 7); do
    r=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -H "X-Forwarded-For: $net.$i" \
        -d "{\"personal_id\":\"$id\",\"password\":\"Sai-1-$i\",\"device_id\":\"bench-device-9\"}" "$base/api/v1/app/signin")
    seq_out+="${r##*$'\n'} $(printf '%s' "${r%$'\n'*}" | jq -r '.error.code'); "
  done
  printf '%-58s %s\n' "lock-out: 7 failures in turn, $who ID" "$seq_out"
done
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-Forwarded-For: 192.0.2.200' \
  -d "{\"personal_id\":\"${ids[5]}\",\"password\":\"$citizen_pw\",\"device_id\":\"bench-device-1\"}" "$base/api/v1/app/signin")
printf '%-58s %s\n' "lock-out: the holder, right password, bound device" "$r"
