#!/bin/bash
# The official bigchaindb-driver 4.3.0 against a fresh node, through its documented flows
# (tests/js/driver_node.js), with a WebSocket listener on the event stream.
set -u
cd "$(dirname "$0")/../.."
BIN=${LTDRS_BIN:-build/ltdrs}
T=$(mktemp -d)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
"$BIN" init --data "$T/d" >/dev/null || { echo "driver_node: 0 passed, 1 failed"; exit 1; }
"$BIN" serve --data "$T/d" --listen 127.0.0.1:$PORT >"$T/log" 2>&1 &
PID=$!
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/api/v1/ >/dev/null && break; sleep 0.05; done
node tests/js/driver_node.js http://127.0.0.1:$PORT
rc=$?
[ $rc -ne 0 ] && tail -20 "$T/log"
exit $rc
