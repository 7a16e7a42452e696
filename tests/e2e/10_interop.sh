#!/bin/bash
# 10_interop.sh - the C core against the official JS driver (bigchaindb-driver
# 4.3.0), both directions:
#   1. the driver builds and signs >= 1,000 transactions (tests/js/gen_driver_txs.js);
#      the C core parses them, recomputes ids, canonical bytes and signing
#      messages, and verifies every input (build/tests/interop_check verify);
#   2. the driver's known disagreements with the reference server (doc §2.2) get
#      the reference's answer from the C core (verify on the mismatch file);
#   3. the C core builds and signs 1,000 transactions (interop_check make); the
#      driver's own libraries check ids, canonical text, fulfillments and
#      conditions (tests/js/verify_c_txs.js).
# Assumes `make all` and `npm ci` in tests/js (scripts/deps.sh test) ran.
# INTEROP_SEED picks another deterministic run; INTEROP_KEEP=1 keeps the files.
set -eu
cd "$(dirname "$0")/../.."

seed=${INTEROP_SEED:-1}
if [ ! -d tests/js/node_modules/bigchaindb-driver ]; then
  echo "10_interop: tests/js/node_modules missing (run: make deps-test)"
  exit 1
fi
make --no-print-directory build/tests/interop_check >/dev/null

tmp=$(mktemp -d)
cleanup() {
  if [ "${INTEROP_KEEP:-0}" = 1 ]; then echo "10_interop: files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

rc=0
step() {
  echo "-- $*"
  "$@" || rc=1
}

echo "10_interop: seed $seed"
step node tests/js/gen_driver_txs.js --seed "$seed" --n 1200 \
  --out "$tmp/driver.jsonl" --mismatch "$tmp/mismatch.jsonl"
if [ -s "$tmp/driver.jsonl" ] && [ "$(wc -l <"$tmp/driver.jsonl")" -ge 1000 ]; then
  step build/tests/interop_check verify "$tmp/driver.jsonl"
  step build/tests/interop_check verify "$tmp/mismatch.jsonl"
else
  echo "10_interop: the driver made fewer than 1,000 transactions"
  rc=1
fi
step build/tests/interop_check make 1000 "$tmp/c.jsonl" "$seed"
if [ -s "$tmp/c.jsonl" ]; then
  step node tests/js/verify_c_txs.js "$tmp/c.jsonl"
fi

if [ $rc -eq 0 ]; then echo "10_interop: ok"; else echo "10_interop: FAILED (seed $seed)"; fi
exit $rc
