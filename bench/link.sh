#!/usr/bin/env bash
# Sector linkage (issue 13): eid's matcher and Splink 5 (DuckDB) on the same files, side by side.
#
#   bench/link.sh [PERSONS]          default 1,000,000 register persons (~900,000 sector rows)
#
# Makes persons.csv once (bench/common.sh), a noisy sector copy with its truth (`eid gen
# sector`), runs `eid link run` and bench/link_splink.py under /usr/bin/time -v, and prints
# wall time, peak memory and pairwise precision/recall/F1 of both, and the time ratio. eid runs
# twice: at its default thresholds (matched ≥ 0.9), and linking at 0.5 as Splink does.
# Splink is pip-installed into a venv under the bench work dir on first use; it runs with a
# DuckDB memory limit (EID_SPLINK_MEMORY, default 6GB) and 2 threads (EID_SPLINK_THREADS), so
# that it cannot fill a shared machine. Each line carries the 1-minute load average before and
# after its run: on a shared machine the times are only as good as that.
# EID_BIN=path uses that binary instead of building the release one. Not part of CI.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
n=${1:-1000000}
need python3 python3
need /usr/bin/time time
if [ -n "${EID_BIN:-}" ]; then eid=$EID_BIN; else build; fi
persons=$(persons_csv "$n")
sector="$work/sector-$n.csv"
truth="$work/sector-$n.truth.csv"
[ -s "$sector" ] || "$eid" gen sector --persons "$persons" --seed 13 --out "$sector" --truth "$truth" >/dev/null
venv="$work/splink-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'splink>=5,<6'
fi
rows=$(($(wc -l <"$sector") - 1))

# The 1-minute load average: the machine is shared, so each figure is printed beside it.
load1() { awk '{ print $1 }' /proc/loadavg; }

# $1 name, rest: the command. Sets secs, peak (MiB) and load (the 1-minute load average
# before → after).
measure() {
  local name=$1; shift
  local before; before=$(load1)
  /usr/bin/time -v "$@" 2>"$work/$name.time" >/dev/null || { cat "$work/$name.time" >&2; exit 1; }
  load="$before→$(load1)"
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/$name.time")
  peak=$(awk -F': ' '/Maximum resident/ { printf "%.0f", $2 / 1024 }' "$work/$name.time")
}

measure eid "$eid" link run --register "$persons" --sector "$sector" --out "$work/eid-links-$n.csv"
eid_secs=$secs eid_peak=$peak eid_load=$load
read -r _ _ _ eid_p eid_r eid_f1 < <(python3 "$root/bench/link_eval.py" "$truth" "$work/eid-links-$n.csv")
grep -h "^register" "$work/eid.time" >&2 || true
# Splink links a row at match probability 0.5; eid's default match threshold is 0.9 (0.5 to
# 0.9 goes to an officer's review). The second run links at Splink's threshold, for a
# comparison at the same bar.
measure eid05 "$eid" link run --register "$persons" --sector "$sector" --matched 0.5 --review 0.5 --out "$work/eid05-links-$n.csv"
e5_secs=$secs e5_peak=$peak e5_load=$load
read -r _ _ _ e5_p e5_r e5_f1 < <(python3 "$root/bench/link_eval.py" "$truth" "$work/eid05-links-$n.csv")
grep -h "^register" "$work/eid05.time" >&2 || true

units="$root/crates/eid-domain/data/admin-units.tsv"
measure splink "$venv/bin/python" "$root/bench/link_splink.py" "$units" "$persons" "$sector" "$work/splink-links-$n.csv"
sp_secs=$secs sp_peak=$peak sp_load=$load
grep -h "^splink:" "$work/splink.time" >&2 || true
read -r _ _ _ sp_p sp_r sp_f1 < <(python3 "$root/bench/link_eval.py" "$truth" "$work/splink-links-$n.csv")

echo "link: $n register persons, $rows sector rows"
printf '%-8s %9s %9s %10s %8s %8s  %s\n' engine seconds peak_MiB precision recall F1 load_before→after
printf '%-8s %9.2f %9s %10s %8s %8s  %s\n' eid "$eid_secs" "$eid_peak" "$eid_p" "$eid_r" "$eid_f1" "$eid_load"
printf '%-8s %9.2f %9s %10s %8s %8s  %s\n' eid@0.5 "$e5_secs" "$e5_peak" "$e5_p" "$e5_r" "$e5_f1" "$e5_load"
printf '%-8s %9.2f %9s %10s %8s %8s  %s\n' splink "$sp_secs" "$sp_peak" "$sp_p" "$sp_r" "$sp_f1" "$sp_load"
echo "time ratio splink/eid: $(ratio "$sp_secs" "$eid_secs")"
