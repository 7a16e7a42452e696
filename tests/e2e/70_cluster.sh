#!/bin/bash
# 70_cluster.sh - cluster mode (issue 6), part of `make test`: a 3-member etcd
# cluster (scripts/etcd3.sh) and 3 LTDRS nodes on 127.0.0.1 with their own
# ports and data directories (under one mktemp dir), all from one genesis.
# Ports: a random base B whose ports B+1..B+30 no socket uses (etcd3.sh
# freebase, below the ephemeral range): etcd clients B+1..3, peers B+11..13,
# nodes B+21..24; retried with another base if etcd cannot start.  Every
# process is stopped by its id at exit (also on SIGINT/SIGTERM).
#
#   1. set-up: init + init --genesis, serve --etcd, validators list 3 nodes;
#      a node with another genesis is refused; a cluster member's directory
#      cannot be served alone
#   2. transactions sent to different nodes appear on all three, equal heads
#   3. 100 rounds of 20 conflicting spends of one output at once over the 3
#      nodes: exactly one winner per round, the same on every node
#   4. under load: kill one etcd member (writes continue), a second (writes
#      answer 503, reads work), restart both (writes resume); nothing
#      acknowledged is lost
#   5. under load: SIGKILL an LTDRS node 20 times at random moments (a
#      different one each time), restart it; all reach the same head hash,
#      every acknowledged transaction is everywhere, `ltdrs verify` passes
#   6. a node down (and one frozen across a compaction) catches up
#   7. the LTDRS scenario across the cluster: admin on node 2, department on
#      node 1, students on node 3
#   8. a tampered node (a block hash changed in its SQLite) is named, with
#      the height, on the other nodes' ledger head, on their web ledger page
#      (Chromium, zh and en) and by `verify --cluster` (which exits 1; it
#      exits 0 on agreeing nodes, and their ledger page says so)
#
# The HTTP work is tests/e2e/cluster.js (official bigchaindb-driver for the
# transactions).  LTDRS_BIN picks the binary; CLUSTER_KILLS the node kills
# (>= 20); CLUSTER_ROUNDS the conflict rounds (default 100);
# CLUSTER_E3_PORT_BASE a fixed port base instead of a random one;
# CLUSTER_LIMIT the deadline in seconds (default 345): every step is bounded by
# its own timeout and by what is left of the deadline, so a hung step fails
# the test instead of hanging `make test`.  3-5 minutes on a busy 2-core
# machine (load average 4-20).  Prints `cluster: N passed, M failed`; exit 1 on any failure.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${LTDRS_BIN:-build/ltdrs}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
START_S=$SECONDS
LIMIT=${CLUSTER_LIMIT:-345}
fatal() { echo "cluster: $*" >&2; echo "cluster: 0 passed, 1 failed"; exit 1; }
log() { echo "-- $((SECONDS - START_S)) s: $*" >&2; }
left() { echo $((START_S + LIMIT - SECONDS)); }
# bounded CMD...: runs CMD with at most MAX seconds (default: what is left of
# the deadline); past the deadline it fails at once with status 124.
bounded() {
  local max=${BOUND:-100000} l
  l=$(left)
  [ "$l" -lt "$max" ] && max=$l
  [ "$max" -gt 0 ] || { echo "cluster: deadline of $LIMIT s passed: $*" >&2; return 124; }
  timeout -k 5 "$max" "$@"
}
CJS=$ROOT/tests/e2e/cluster.js
JS() { bounded node "$CJS" "$@"; }
# JS_BG ARGS...: cluster.js in the background, bounded by the deadline; the
# caller keeps $! (the timeout process, which passes a TERM on to node).
JS_BG() {
  local l
  l=$(left)
  [ "$l" -gt 1 ] || l=1
  timeout -k 5 "$l" node "$CJS" "$@" &
}
ltdrs() { BOUND=60 bounded "$BIN" "$@"; }
[ -x "$BIN" ] || fatal "no binary $BIN (run make all)"
for c in curl node; do command -v $c >/dev/null 2>&1 || fatal "needs $c"; done
[ -d tests/js/node_modules/bigchaindb-driver ] || fatal "needs tests/js/node_modules (make deps-test)"
for v in $(compgen -e | grep '^ETCD_' || true); do unset "$v"; done
# the ledger page is checked in Chromium (deps.sh test installs it, and the
# page's vendored scripts)
PAGE=1
command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 && [ -d tests/js/node_modules/playwright-core ] || PAGE=
[ -d web/vendor ] || bash scripts/web-vendor.sh >/dev/null || PAGE=
KILLS=${CLUSTER_KILLS:-20}
[ "$KILLS" -ge 20 ] || KILLS=20
ROUNDS=${CLUSTER_ROUNDS:-100}

T=$(mktemp -d "${TMPDIR:-/tmp}/ltdrs-cluster.XXXXXX")
export E3_BASE=$T/etcd E3_PORT_BASE
E3="bash $ROOT/scripts/etcd3.sh"
declare -a PID PORT URL
LOAD_PID=
stop_node() { # stop_node I [KILL]: by PID only; TERM (KILL after 5 s) or KILL
  local i=$1 p=${PID[$1]:-}
  [ -n "$p" ] || return 0
  if [ "${2:-}" = KILL ]; then kill -9 "$p" 2>/dev/null; else kill "$p" 2>/dev/null; fi
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  PID[$i]=
}
cleanup() {
  touch "$T/stop"
  if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; fi
  for i in 1 2 3 4; do
    [ -n "${PID[$i]:-}" ] && kill -CONT "${PID[$i]}" 2>/dev/null
    stop_node $i
  done
  $E3 stop >/dev/null 2>&1
  [ -n "${KEEP_T:-}" ] && { echo "cluster: kept $T" >&2; return; }
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*" >&2; return 0; }
check() {
  local name=$1
  shift
  if "$@"; then ok; else no "$name"; fi
}
# section NAME: starts the next part, or ends the test (failed) once the
# deadline has passed, instead of running every remaining step into it
section() {
  log "$1"
  if [ "$(left)" -le 0 ]; then
    no "deadline of $LIMIT s passed before '$1'"
    echo "cluster: $pass passed, $fail failed ($((SECONDS - START_S)) s)"
    exit 1
  fi
}
in_time() { [ "$(left)" -gt 0 ]; } # for the waiting loops
cd "$T"

# ------------------------------------------------------------- 1. set-up
# a random free port base; another one if something took a port meanwhile
started=
for attempt in 1 2 3; do
  E3_PORT_BASE=${CLUSTER_E3_PORT_BASE:-$($E3 freebase 30)} || fatal "no free ports"
  log "etcd on 127.0.0.1:$((E3_PORT_BASE + 1))-$((E3_PORT_BASE + 3)) (attempt $attempt)"
  if $E3 start; then started=1; break; fi
  tail -n 5 "$E3_BASE"/n?.log >&2
  $E3 clean
  [ -z "${CLUSTER_E3_PORT_BASE:-}" ] || break
done
[ -n "$started" ] || fatal "etcd did not start"
E=$($E3 endpoints)
for i in 1 2 3 4; do PORT[$i]=$((E3_PORT_BASE + 20 + i)); URL[$i]=http://127.0.0.1:${PORT[$i]}; done
U123=${URL[1]},${URL[2]},${URL[3]}

ltdrs init --data d1 >init1.out 2>&1 || fatal "init failed: $(cat init1.out)"
check "init writes genesis.json" [ -s d1/genesis.json ]
for i in 2 3; do
  ltdrs init --data d$i --genesis d1/genesis.json >init$i.out 2>&1 || no "init --genesis d$i: $(cat init$i.out)"
done
check "every member has the same genesis" cmp -s d1/genesis.json d3/genesis.json
check "a member made from a genesis has no admin key" [ ! -e d2/admin.key ]
CHAIN=$(sed -n 's/.*"chain_id":"\([0-9a-f]*\)".*/\1/p' d1/genesis.json)

start_node() { # start_node I: serve dI --etcd; waits until it answers
  local i=$1
  # started from a subshell, so that this shell does not report its kills
  (setsid "$BIN" serve --data d$i --listen 127.0.0.1:${PORT[$i]} --etcd "$E" --node-id n$i \
    --web "$ROOT/web" --commit-timeout-ms 15000 --watch-liveness-ms 5000 </dev/null >>node$i.log 2>&1 &
    echo $! >pid$i)
  PID[$i]=$(cat pid$i)
  local until=$((SECONDS + 30))
  while [ $SECONDS -lt $until ]; do
    curl -s -m 2 -o /dev/null "${URL[$i]}/api/v1/" && return 0
    kill -0 "${PID[$i]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "node $i did not start within 30 s: $(tail -3 node$i.log)" >&2
  return 1
}
for i in 1 2 3; do check "node $i joins and serves" start_node $i; done
sleep 1.5 # registry and heads are read once a second
curl -s -m 10 "${URL[2]}/api/v1/validators" >val.json
check "validators lists the 3 nodes with keys and power 10" node -e '
  const v = JSON.parse(require("fs").readFileSync("val.json","utf8"));
  process.exit(v.length === 3 && v.every(x => x.voting_power === 10 &&
    x.public_key.value.length === 44) && v.map(x => x.node_id).join() === "n1,n2,n3" ? 0 : 1)'

ltdrs init --data d4 >/dev/null 2>&1
BOUND=60 bounded "$BIN" serve --data d4 --listen 127.0.0.1:${PORT[4]} --etcd "$E" >other.out 2>&1
rc=$?
check "a node with another genesis is refused (exit $rc)" [ $rc -ne 0 ] && [ $rc -ne 124 ]
check "... with a clear error" grep -q "genesis (chain ${CHAIN:0:16}\|is not the cluster's" other.out
grep -q "is not the cluster's" other.out || sed 's/^/    /' other.out >&2

# --------------------------------------------- 2. sent anywhere, seen everywhere
section "basic"
JS gen 10000 txs.jsonl || fatal "cannot make transactions"
sed -n '1,600p' txs.jsonl >basic.jsonl
JS load --urls "$U123" --file basic.jsonl --conc 12 --out basic.log
check "600 transactions to 3 nodes: all 202" [ "$(grep -c ' 202 ' basic.log)" = 600 ]
check "all three reach the same head" JS converge --urls "$U123" --timeout 60
check "every one is on every node" JS acked --urls "$U123" --log basic.log
ltdrs verify --cluster --etcd "$E" --data d2 --node-id n2 >vc0.out 2>&1
rc=$?
check "verify --cluster on agreeing nodes exits 0 and compares all 3 (exit $rc)" [ $rc = 0 ] &&
  grep -q "^ok: 3 nodes, 3 heads compared, no divergence" vc0.out &&
  ! grep -q DIVERGE vc0.out
[ $rc = 0 ] || sed 's/^/    /' vc0.out >&2
ltdrs verify --cluster --etcd "$E" --data d4 >vc4.out 2>&1
rc=$?
check "verify --cluster of another ledger's copy is refused (exit $rc)" [ $rc = 1 ] &&
  grep -q "is not the cluster's" vc4.out
ledger_page() { # ledger_page URL ARGS...: the web ledger page in Chromium
  [ -n "$PAGE" ] || { echo "cluster: chromium or playwright-core is missing (make deps-test)" >&2; return 1; }
  JS ledgerpage "$@"
}
check "the ledger page shows 3 agreeing nodes and no divergence" ledger_page "${URL[2]}" --expect ok
curl -s -m 10 "${URL[1]}/ltdrs/api/v1/ledger/head" >head1.json
check "ledger head shows the cluster, etcd ok, 3 nodes agreeing, no divergence" node -e '
  const h = JSON.parse(require("fs").readFileSync("head1.json","utf8")).cluster;
  process.exit(h && h.etcd === "ok" && h.nodes.length === 3 && h.divergences.length === 0 &&
    h.nodes.filter(n => n.agrees !== false).length === 3 ? 0 : 1)'

# ------------------------------------------------------------ 3. races
section "conflicting spends"
check "$ROUNDS rounds x 20 conflicting spends: one winner, the same everywhere" \
  JS race --urls "$U123" --rounds "$ROUNDS" --racers 20
check "heads equal after the races" JS converge --urls "$U123" --timeout 60

# ------------------------------------------------ 4. etcd member failures
section "etcd failures"
sed -n '601,4600p' txs.jsonl >etcdload.jsonl
sed -n '9601,9800p' txs.jsonl >probe.jsonl
rm -f "$T/stop"
JS_BG load --urls "$U123" --file etcdload.jsonl --conc 6 --out etcd.log --stop "$T/stop"
LOAD_PID=$!
probe_n=0
probe() { # probe I: POST the next probe transaction to node I, prints the status
  probe_n=$((probe_n + 1))
  sed -n "${probe_n}p" probe.jsonl >probe.json
  JS post "${URL[$1]}" probe.json | cut -d' ' -f1
}
sleep 3
T1=$(($(date +%s%3N) + 3000))
$E3 kill1 1
n_after=0
for _ in $(seq 40); do # writes acknowledged from 3 s after the kill on (20 s at most)
  in_time || break
  sleep 0.5
  n_after=$(awk -v t="$T1" '$1 > t && $3 == 202' etcd.log | wc -l)
  [ "$n_after" -gt 20 ] && break
done
check "one etcd member killed: writes continue ($n_after acknowledged since)" [ "$n_after" -gt 0 ]
$E3 kill1 2
got=
for _ in $(seq 40); do
  in_time || break
  s=$(probe 3)
  if [ "$s" = 503 ]; then got=1; break; fi
  sleep 0.5
done
check "two members killed: writes answer 503" [ -n "$got" ]
got=
s1=none
for _ in $(seq 20); do
  in_time || break
  s1=$(probe 1)
  if [ "$s1" = 503 ]; then got=1; break; fi
  sleep 0.5
done
check "... on every node (node 1: $s1)" [ -n "$got" ]
ID0=$(head -1 basic.log | cut -d' ' -f2)
check "... reads keep working" [ "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "${URL[2]}/api/v1/transactions/$ID0")" = 200 ]
curl -s -m 10 "${URL[2]}/ltdrs/api/v1/ledger/head" >headq.json
check "... the ledger head says etcd is unavailable" grep -q '"etcd":"unavailable"' headq.json
$E3 start1 1
$E3 start1 2
$E3 wait1 1 && $E3 wait1 2
got=
for _ in $(seq 60); do
  in_time || break
  s=$(probe 2)
  if [ "$s" = 202 ]; then got=1; break; fi
  sleep 0.5
done
check "members back: writes resume by themselves" [ -n "$got" ]
sleep 3
touch "$T/stop"
wait "$LOAD_PID"
LOAD_PID=
awk '{print $3}' etcd.log | sort | uniq -c | tr '\n' ' ' >&2
echo >&2
check "heads equal after the etcd failures" JS converge --urls "$U123" --timeout 90
check "nothing acknowledged is lost" JS acked --urls "$U123" --log etcd.log

# ---------------------------------------------------- 5. node kills
section "node kills"
sed -n '4601,7600p' txs.jsonl >killload.jsonl
rm -f "$T/stop"
JS_BG load --urls "$U123" --file killload.jsonl --conc 6 --out kill.log --stop "$T/stop"
LOAD_PID=$!
RANDOM=${CLUSTER_SEED:-$$}
restarted=0
for k in $(seq "$KILLS"); do
  in_time || break
  sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
  v=$((k % 3 + 1))
  stop_node $v KILL
  [ $((RANDOM % 2)) = 0 ] && sleep "0.$((RANDOM % 10))"
  start_node $v && restarted=$((restarted + 1))
done
check "$KILLS SIGKILLs under load, every restart serves" [ "$restarted" = "$KILLS" ]
sleep 2
touch "$T/stop"
wait "$LOAD_PID"
LOAD_PID=
awk '{print $3}' kill.log | sort | uniq -c | tr '\n' ' ' >&2
echo >&2
check "after the kills all three reach the same head hash" JS converge --urls "$U123" --timeout 120
check "every acknowledged transaction is on every node" JS acked --urls "$U123" --log kill.log
ltdrs verify --data d1 >verify1.out 2>&1
check "ltdrs verify of a killed node's copy passes" grep -q '^ok:' verify1.out

# ---------------------------------------------------- 6. catch-up
section "catch-up"
stop_node 3
BOUND=20 bounded "$BIN" serve --data d3 --listen 127.0.0.1:${PORT[4]} >alone.out 2>&1
rc=$?
check "a member's directory is not served alone (exit $rc)" [ $rc -ne 0 ] && [ $rc -ne 124 ] &&
  grep -q "serve it with --etcd" alone.out
sed -n '7601,8000p' txs.jsonl >down.jsonl
JS load --urls "${URL[1]},${URL[2]}" --file down.jsonl --conc 8 --out down.log
check "400 transactions while node 3 is down" [ "$(grep -c ' 202 ' down.log)" = 400 ]
check "node 3 restarts" start_node 3
check "node 3 catches up to the same head" JS converge --urls "$U123" --timeout 60
# frozen across a compaction and a restart of every etcd member: its watch
# comes back to a compacted history and must catch up by ranges
kill -STOP "${PID[2]}"
sed -n '8001,9200p' txs.jsonl >frozen.jsonl
JS load --urls "${URL[1]},${URL[3]}" --file frozen.jsonl --conc 8 --out frozen.log
for _ in 1 2; do # revisions past the last batch, so node 2 must resume below the compaction
  curl -s -m 10 -X POST "http://127.0.0.1:$((E3_PORT_BASE + 1))/v3/kv/put" \
    -d "{\"key\":\"$(printf /ltdrs-test/bump | base64 -w0)\",\"value\":\"eA==\"}" >/dev/null
done
REV=$(curl -s -m 10 -X POST "http://127.0.0.1:$((E3_PORT_BASE + 1))/v3/kv/range" -d '{"key":"AA=="}' |
  sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
curl -s -m 10 -X POST "http://127.0.0.1:$((E3_PORT_BASE + 1))/v3/kv/compaction" \
  -d "{\"revision\":\"$REV\",\"physical\":true}" >/dev/null
$E3 stop
$E3 start || no "etcd restart"
kill -CONT "${PID[2]}"
check "a node frozen across a compaction (revision $REV) catches up" \
  JS converge --urls "$U123" --timeout 90
check "... with everything acknowledged meanwhile" JS acked --urls "$U123" --log frozen.log
check "... through the compacted-history path" grep -q "log compacted: catching up by ranges" node2.log

# ------------------------------------------- 7. the LTDRS scenario across nodes
section "LTDRS scenario"
ADMIN=d1/admin.key
N1=--node=${URL[1]}
N2=--node=${URL[2]}
N3=--node=${URL[3]}
sync3() { JS converge --urls "$U123" --timeout 30 >/dev/null; }
t() { # t NAME WANT_RC TEXT -- ARGS...
  local name=$1 want=$2 text=$3
  shift 4
  ltdrs "$@" >out 2>err
  local rc=$?
  if [ "$rc" != "$want" ]; then no "$name: exit $rc, want $want: $(head -3 err)"; return 1; fi
  if [ -n "$text" ] && ! grep -qF -- "$text" out err; then no "$name: no '$text'"; return 1; fi
  ok
}
{ echo "sid,name"; for i in $(seq 1 30); do printf '2021%04d,Student %d\n' "$i" "$i"; done; } >roster.csv
t "admin (node 2): roster of 30" 0 "30 students on roster" -- admin roster import $N2 \
  --key "$ADMIN" --generation 1 roster.csv --codes-out codes.csv
sync3
mkdir -p keys
regfail=0
while IFS=, read -r sid code; do
  ltdrs student register $N3 --sid "$sid" --code "$code" --key-out "keys/$sid.key" \
    >/dev/null 2>>reg.err || regfail=$((regfail + 1))
done < <(tail -n +2 codes.csv)
check "students (node 3): 30 registered ($regfail failed)" [ "$regfail" = 0 ]
t "department (node 1) registers" 0 "waiting for certification" -- dept register $N1 \
  --name 学习部 --contact "学习部 13800000000" --key-out dept.key
DEPT_ID=$(head -1 out)
sync3
t "admin (node 2) certifies" 0 "certified" -- admin certify $N2 --key "$ADMIN" "$DEPT_ID" \
  --approve --reason ok
sync3
t "department (node 1) applies" 0 "applied for 30 tickets" -- dept apply $N1 --key dept.key \
  --name 一对一帮扶学习 --start 2020-06-28 --end 2020-08-01 --venue "A1 教学楼" --tickets 30 \
  --category 学习
APP=$(head -1 out)
sync3
t "admin (node 2) approves" 0 "30 tickets issued" -- admin approve $N2 --key "$ADMIN" "$APP"
sync3
{ echo "sid,name"; for i in $(seq 1 25); do printf '2021%04d,S%d\n' "$i" "$i"; done; } >dist.csv
t "department (node 1) distributes to 25" 0 "distributed: 25 ticket(s)" -- dept distribute $N1 \
  --key dept.key --application "$APP" dist.csv
sync3
t "student (node 3) sees the ticket" 0 "legal tickets: 1" -- student tickets $N3 20210001
ltdrs student tickets $N3 --json 20210003 >s3.json
TK3=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("s3.json","utf8")).tickets[0].ticket)')
t "admin (node 2) revokes one" 0 "revoked" -- admin revoke $N2 --key "$ADMIN" "$TK3" --reason x
sync3
t "report (node 2): 24 legal tickets" 0 "legal tickets: 24" -- admin report $N2 --key "$ADMIN" \
  --activity "$APP"
t "student (node 3) sees the revocation" 0 "legal tickets: 0" -- student tickets $N3 20210003
t "department status (node 1)" 0 "distributed 25, remaining 5" -- dept status $N1 --key dept.key
check "heads equal after the scenario" JS converge --urls "$U123" --timeout 30

# --------------------------------------------------- 8. a tampered node
section "tampering"
sql() { # sql DB STATEMENT: sqlite3's CLI, else python3's module
  if command -v sqlite3 >/dev/null 2>&1; then sqlite3 "$1" "$2"; else
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); [print(*x) for x in r]' "$1" "$2"
  fi
}
stop_node 3
H=$(sql d3/ledger.db "SELECT MAX(height) FROM block")
sql d3/ledger.db "UPDATE block SET hash = randomblob(32) WHERE height = $H"
check "node 3 restarts after its block $H was tampered with" start_node 3
sed -n '9201,9300p' txs.jsonl >tamper.jsonl
JS load --urls "${URL[1]}" --file tamper.jsonl --conc 4 --out tamper.log
found=
for _ in $(seq 40); do
  in_time || break
  curl -s -m 10 "${URL[1]}/ltdrs/api/v1/ledger/head" >headt.json
  node -e '
    const h = JSON.parse(require("fs").readFileSync("headt.json","utf8")).cluster;
    const d = h.divergences.find(x => x.node === "n3");
    process.exit(d && d.height >= '"$H"' && h.suspects.join() === "n3" ? 0 : 1)' &&
    { found=1; break; }
  sleep 0.5
done
check "node 1's ledger head names node 3 as divergent, with the height" [ -n "$found" ]
[ -n "$found" ] || sed 's/^/    /' headt.json >&2
found=
for _ in $(seq 20); do
  in_time || break
  curl -s -m 10 "${URL[3]}/ltdrs/api/v1/ledger/head" >head3.json
  grep -q '"suspects":\["n3"\]' head3.json && { found=1; break; }
  sleep 0.5
done
check "node 3's own ledger head suspects itself" [ -n "$found" ]
check "node 1's ledger page shows node 3's divergence and its height (zh, en)" \
  ledger_page "${URL[1]}" --expect n3 --min-height "$H"
ltdrs verify --cluster --etcd "$E" --data d1 --node-id n1 >vc.out 2>&1
rc=$?
check "verify --cluster exits 1 and names node 3 and the height (exit $rc)" [ $rc = 1 ] &&
  grep -q "node n3: DIVERGES at height [0-9]" vc.out
[ $rc = 1 ] || sed 's/^/    /' vc.out >&2
ltdrs verify --data d3 >v3.out 2>&1
check "ltdrs verify of node 3's copy names the bad block" grep -q "^BAD: block $H" v3.out

log "done"
echo "cluster: $pass passed, $fail failed ($((SECONDS - START_S)) s)"
[ "$fail" = 0 ]
