#!/usr/bin/env bash
# Wallet presentations (issue 15): per core (one thread), issuing a credential (claims read from
# the store, a status index written, one ES256 signature) and verifying one offline (base45,
# COSE_Sign1, one ES256 verification, expiry, the status bit), each against a bare ES256 JWS
# sign / verify of the same claims measured in the same run (the ratio is the cost of
# everything but the signature); then a table of the credential's size, the QR text's length
# and the QR symbol (version, modules; error correction M) for each disclosure set.
#
# Usage: bench/wallet.sh [CREDENTIALS (default 2000)]
# (EID_BENCH_PROFILE=dev bench/wallet.sh 200 tries the script without a release build; its
# rates mean nothing.)
source "$(dirname "$0")/common.sh"
n=${1:-2000}
profile=${EID_BENCH_PROFILE:-bench}
cd "$root"
EID_BENCH_N=$n cargo bench -p eid --bench wallet --locked --profile "$profile" -q 2>/dev/null \
  || EID_BENCH_N=$n cargo bench -p eid --bench wallet --locked --profile "$profile"
