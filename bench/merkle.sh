#!/usr/bin/env bash
# Proofs of the data-use log (issue 15): inclusion and consistency proofs from the stored
# complete subtrees (O(log n) rows) against the same proofs from every leaf (O(n)), at 10^4
# and 10^6 leaves, in memory and on SQLite, measured in the same run (the ratio travels).
#
# Usage: bench/merkle.sh [SIZES (default 10000,1000000)]
# (EID_BENCH_PROFILE=dev bench/merkle.sh 1000,10000 tries the script without a release build.)
source "$(dirname "$0")/common.sh"
sizes=${1:-10000,1000000}
profile=${EID_BENCH_PROFILE:-bench}
cd "$root"
cargo bench -p eid-core --bench merkle --locked --profile "$profile" -q -- --sizes "$sizes"
