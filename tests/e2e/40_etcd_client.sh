#!/bin/bash
# 40_etcd_client.sh - end-to-end test of the etcd client (src/etcd.c) against
# a real 3-member etcd cluster on loopback (scripts/etcd3.sh: client ports
# B+1..B+3, peer ports B+11..B+13 for a random base B whose ports no socket
# uses (etcd3.sh freebase; retried with another base if etcd cannot start),
# data in a mktemp dir, members stopped by PID on exit).  Runs
# build/san/tests/test_etcd with LTDRS_TEST_ETCD (live tests: put/get, paged
# ranges pinned to a revision, guarded appends, watches) and
# LTDRS_TEST_ETCD_CTL (failure tests: kill -9 the leader during appends, lose
# quorum, restart; then compaction).
#
# LTDRS_ETCD_TEST_BIN picks the test binary (default build/san/tests/test_etcd,
# built with make if missing).  E3_PORT_BASE fixes the port base.
# Prints "etcd: N passed, M failed"; exits 1 on any failure.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${LTDRS_ETCD_TEST_BIN:-build/san/tests/test_etcd}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac

fail() { echo "etcd: $*" >&2; echo "etcd: 0 passed, 1 failed"; exit 1; }

if [ ! -x "$BIN" ]; then
  make --no-print-directory SANITIZE=1 build/san/tests/test_etcd >/dev/null || fail "cannot build $BIN"
fi
for v in $(compgen -e | grep '^ETCD_' || true); do unset "$v"; done
FIXED_BASE=${E3_PORT_BASE:-}
export E3_BASE E3_PORT_BASE
E3_BASE=$(mktemp -d "${TMPDIR:-/tmp}/ltdrs-etcd-e2e.XXXXXX")
trap 'bash "$ROOT/scripts/etcd3.sh" stop; rm -rf "$E3_BASE"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=
for attempt in 1 2 3; do
  E3_PORT_BASE=${FIXED_BASE:-$(bash scripts/etcd3.sh freebase 20)} || fail "no free ports"
  if bash scripts/etcd3.sh start; then started=1; break; fi
  tail -n 5 "$E3_BASE"/n?.log >&2
  bash scripts/etcd3.sh clean
  echo "etcd: attempt $attempt on port base $E3_PORT_BASE failed" >&2
  [ -z "$FIXED_BASE" ] || break
done
[ -n "$started" ] || fail "cluster did not start"

export LTDRS_TEST_ETCD
LTDRS_TEST_ETCD=$(bash scripts/etcd3.sh endpoints)
export LTDRS_TEST_ETCD_CTL="bash $ROOT/scripts/etcd3.sh"
export ASAN_OPTIONS="exitcode=86:${ASAN_OPTIONS:-}"
out=$E3_BASE/test.out
timeout 110 "$BIN" >"$out" 2>&1
rc=$?
grep -v '^etcd: [0-9]* passed' "$out"
line=$(grep -E '^etcd: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
[ $rc -eq 124 ] && fail "test timed out after 110 s"
[ -n "$line" ] || fail "test exited $rc without a result line"
if [ $rc -ne 0 ] && ! echo "$line" | grep -q ' [1-9][0-9]* failed'; then
  p=$(echo "$line" | sed -E 's/^etcd: ([0-9]+) passed.*/\1/')
  echo "etcd: $p passed, 1 failed (exit $rc)"
  exit 1
fi
echo "$line"
[ $rc -eq 0 ]
