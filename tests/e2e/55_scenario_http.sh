#!/bin/bash
# 55_scenario_http.sh - the LTDRS scenario of the issue through the HTTP API with the official
# bigchaindb-driver (tests/js/scenario_http.js): roster, 300 students, a certified department,
# an application (and its duplicate refused), approval, distribution to 250 students from a
# CSV, a refused trade, a revocation, the admin's report and CSV export; then every LTDRS
# rule broken once or more and the access rules of the LTDRS API.
#
# Inits a fresh ledger in a temporary directory, serves it on a free loopback port, runs the
# script, stops the node by its PID.  LTDRS_BIN picks the binary (default build/ltdrs).
# Prints `scenario_http: N passed, M failed`; exit 1 on any failure.  Takes about a minute.
set -u
cd "$(dirname "$0")/../.."
REPO=$PWD
BIN=${LTDRS_BIN:-build/ltdrs}
case $BIN in /*) ;; *) BIN=$REPO/$BIN ;; esac
[ -x "$BIN" ] || { echo "scenario_http: no binary $BIN (run make all)" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "scenario_http: needs node" >&2; exit 1; }
[ -d "$REPO/tests/js/node_modules/bigchaindb-driver" ] ||
  { echo "scenario_http: needs tests/js/node_modules (make deps-test)" >&2; exit 1; }

T=$(mktemp -d)
PID=
stop_node() { # by PID only: TERM, then KILL after 5 s
  [ -n "$PID" ] || return 0
  kill "$PID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
  PID=
}
trap 'stop_node; rm -rf "$T"' EXIT
cd "$T" # the node must not pick up ./web from the repository

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$BIN" init --data "$T/d" >"$T/init.log" 2>&1 ||
  { cat "$T/init.log" >&2; echo "scenario_http: 0 passed, 1 failed"; exit 1; }
"$BIN" serve --data "$T/d" --listen "127.0.0.1:$PORT" >"$T/node.log" 2>&1 &
PID=$!
up=0
for _ in $(seq 100); do
  if curl -sf "http://127.0.0.1:$PORT/api/v1/" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if [ $up -ne 1 ]; then
  tail -20 "$T/node.log" >&2
  echo "scenario_http: 0 passed, 1 failed"
  exit 1
fi

# the whole run must finish within 3 minutes
timeout 170 node "$REPO/tests/js/scenario_http.js" "http://127.0.0.1:$PORT" "$T/d/admin.key"
rc=$?
if [ $rc -eq 124 ]; then
  echo "scenario_http: timed out after 170 s" >&2
  echo "scenario_http: 0 passed, 1 failed"
fi
if ! kill -0 "$PID" 2>/dev/null; then
  echo "scenario_http: the node died during the run" >&2
  rc=1
fi
[ $rc -ne 0 ] && tail -20 "$T/node.log" >&2
exit $rc
