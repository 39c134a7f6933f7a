#!/usr/bin/env bash
# Level-2 accounts on SQLite, with the server running in-process (crates/eid/benches/accounts.rs):
# applications sent by intake devices (collected → approved → activation code → SMS queued, one
# transaction each) from 8 and 32 client threads over HTTP, next to the same work done in
# process; then activation (2 Argon2id hashes per request) and sign-in (1 verification) over
# HTTP against the bare hashing cost measured before and after in the same run.
# Goals: ≥ 2,000 applications/s; activation and sign-in ≤ 1.3× the bare hashing cost.
# Flags go to the benchmark: --people N (default 100000) --apps N per run (8000) --accounts N
# (200) --clients 8,32 --argon-clients 2,8 --serial N (1000).
source "$(dirname "$0")/common.sh"
dir="$work/accounts"
rm -rf "$dir"
cd "$root"
cargo bench -p eid --bench accounts --locked -q -- --dir "$dir" "$@"
rm -rf "$dir"
