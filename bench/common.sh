# Shared by the bench/ scripts: build the release binary once, make the generated CSV once.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${EID_BENCH_DIR:-/tmp/eid-bench}
mkdir -p "$work"
eid="${CARGO_TARGET_DIR:-$root/target}/release/eid"

build() {
  (cd "$root" && cargo build --release --bin eid --locked -q)
}

# persons.csv with $1 rows (default 1,000,000) from a fixed seed, made once.
persons_csv() {
  local n=${1:-1000000}
  local f="$work/persons-$n.csv"
  if [ ! -s "$f" ]; then
    "$eid" gen persons --count "$n" --seed 20230511 --out "$f" >/dev/null
  fi
  echo "$f"
}

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "bench needs $1 (apt-get install $2)" >&2; exit 1; }
}

# Seconds since the epoch with nanoseconds, for wall-clock timing.
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
