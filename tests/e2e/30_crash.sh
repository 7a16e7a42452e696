#!/bin/bash
# 30_crash.sh - crash safety of `ltdrs serve` under load (threats.md P1, P3,
# E3): kill -9 at random moments while 4 clients post in mode=commit.
#
#   1. Pre-builds with the CLI CRASH_CREATES independent signed CREATEs (spread
#      over 4 clients, each its own key) and one TRANSFER chain per client
#      (CRASH_CHAIN links, alternating between two keys).
#   2. Runs 4 client loops (curl, mode=commit).  Each transaction is posted
#      until it gets a definite answer: 202 (acked), 400 DuplicateTransaction
#      for its own id or, for a chain link, 400 DoubleSpend of its own input
#      (both mean "committed earlier").  Connection errors and 5xx are retried.
#      After the first pass the clients post their whole list again (retries
#      of committed transactions), so the load never stops; a second 202 for
#      an id would mean an acked transaction was lost.
#   3. Kills the node with SIGKILL CRASH_KILLS times (>= 20) at random moments
#      (some right after it comes back), runs `ltdrs verify` on every third
#      crash image, restarts on the same port and measures restart-to-serving.
#   4. Checks: every acked/committed id is returned by GET
#      /api/v1/transactions/<id>; every committed tx is in the block
#      /blocks?transaction_id= names; chains committed as a prefix; /outputs,
#      /assets and /metadata agree exactly with the committed set (nothing
#      half-written); no unexpected rejection; the node never died by itself;
#      `ltdrs verify` exits 0; max restart-to-serving < 5 s.
#
# Bounded to < 3 minutes.  LTDRS_BIN picks the binary; CRASH_KILLS,
# CRASH_CREATES, CRASH_CHAIN, CRASH_SEED tune the run; CRASH_SELFTEST=1 adds a
# fake ack (negative control: the lost-ack check must then fail).  Needs curl
# and node.
# Prints `crash: N passed, M failed`; exit 1 on any failure.
set -u
cd "$(dirname "$0")/../.."
BIN=${LTDRS_BIN:-build/ltdrs}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "crash: no binary $BIN (run make all)" >&2; exit 1; }
for c in curl node; do
  command -v $c >/dev/null 2>&1 || { echo "crash: needs $c" >&2; exit 1; }
done
export ASAN_OPTIONS="exitcode=86:${ASAN_OPTIONS:-}"
KILLS=${CRASH_KILLS:-25}
[ "$KILLS" -ge 20 ] || KILLS=20
NCREATE=${CRASH_CREATES:-240}
NCHAIN=${CRASH_CHAIN:-15}
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
START_S=$SECONDS
BUDGET_S=110 # the kill phase stops here at the latest (whole script < 3 min)

T=$(mktemp -d)
D=$T/data
NODE_PID=
CLIENT_PIDS=()
cleanup() {
  touch "$T/stop"
  local p
  for p in "${CLIENT_PIDS[@]}"; do
    for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ -n "$NODE_PID" ]; then
    kill -9 "$NODE_PID" 2>/dev/null
    wait "$NODE_PID" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() {
  fail=$((fail + 1))
  echo "FAIL: $*" >&2
  return 0
}
check() {
  local name=$1
  shift
  if "$@"; then ok; else no "$name"; fi
}
now_ms() { date +%s%3N; }

# ------------------------------------------------------------ the node
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
echo "$PORT" >"$T/port"
U=http://127.0.0.1:$PORT
RESTART_MAX_MS=0
RESTART_SUM_MS=0
RESTARTS=0
# Starts the node on $PORT; waits until it serves (15 s).  Sets LAST_MS.
start_node() {
  local t0 t1 deadline=$((SECONDS + 15))
  t0=$(now_ms)
  while [ $SECONDS -lt $deadline ]; do
    "$BIN" serve --data "$D" --listen "127.0.0.1:$PORT" >>"$T/node.log" 2>&1 &
    NODE_PID=$!
    while kill -0 "$NODE_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      if [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$U/api/v1/")" = 200 ]; then
        t1=$(now_ms)
        LAST_MS=$((t1 - t0))
        return 0
      fi
      sleep 0.01
    done
    wait "$NODE_PID" 2>/dev/null # exited (e.g. port still taken): try again
    NODE_PID=
    sleep 0.1
  done
  [ -n "$NODE_PID" ] && { kill -9 "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; NODE_PID=; }
  return 1
}

# ------------------------------------------------------------ transactions
"$BIN" init --data "$D" >/dev/null || { echo "crash: init failed" >&2; exit 1; }
TAG=crash$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr 0-9 g-p)
mkdir -p txs
for k in 1 2 3 4; do
  "$BIN" keygen --out "k$k.key" >"k$k.pk" && "$BIN" keygen --out "x$k.key" >"x$k.pk" &&
    "$BIN" keygen --out "y$k.key" >"y$k.pk" || { echo "crash: keygen failed" >&2; exit 1; }
done
t0=$SECONDS
export BIN TAG
# CREATE number i (1..NCREATE) belongs to client (i % 4) + 1
seq 1 "$NCREATE" | xargs -P 4 -I{} bash -c \
  'k=$(( {} % 4 + 1 )); "$BIN" tx create --key k$k.key --asset "{\"tag\":\"$TAG\",\"n\":\"$k-{}\"}" \
     --metadata "{\"tag\":\"$TAG\",\"n\":{}}" --out txs/c{}.json' || { echo "crash: tx create failed" >&2; exit 1; }
for k in 1 2 3 4; do
  (
    "$BIN" tx create --key "x$k.key" --asset "{\"chain\":$k}" --out "txs/ch$k-0.json" || exit 1
    for j in $(seq 1 "$NCHAIN"); do
      if [ $((j % 2)) = 1 ]; then from=x to=y; else from=y to=x; fi
      "$BIN" tx transfer --input "txs/ch$k-$((j - 1)).json:0" --to "$(cat "$to$k.pk")" \
        --metadata "{\"link\":$j}" --key "$from$k.key" --out "txs/ch$k-$j.json" || exit 1
    done
  ) &
done
wait || true
for k in 1 2 3 4; do
  [ -s "txs/ch$k-$NCHAIN.json" ] || { echo "crash: tx transfer failed" >&2; exit 1; }
done
# Per client: its list "FILE ID PREV_ID|-" (a chain link after every 4 CREATEs)
# and meta.json for the checker.
node - "$NCREATE" "$NCHAIN" <<'EOF' || { echo "crash: cannot index the transactions" >&2; exit 1; }
const fs = require("fs");
const [ncreate, nchain] = process.argv.slice(2).map(Number);
const id = f => JSON.parse(fs.readFileSync(f, "utf8")).id;
const meta = { clients: [] };
for (let k = 1; k <= 4; k++) {
  const creates = [], chain = [], lines = [];
  for (let i = 1; i <= ncreate; i++) if (i % 4 + 1 === k) creates.push({ f: `txs/c${i}.json`, id: id(`txs/c${i}.json`) });
  for (let j = 0; j <= nchain; j++) chain.push({ f: `txs/ch${k}-${j}.json`, id: id(`txs/ch${k}-${j}.json`) });
  let c = 0;
  for (let i = 0; i < creates.length; i++) {
    lines.push(`${creates[i].f} ${creates[i].id} -`);
    if (i % 4 === 0 && c < chain.length) { lines.push(`${chain[c].f} ${chain[c].id} ${c ? chain[c - 1].id : "-"}`); c++; }
  }
  for (; c < chain.length; c++) lines.push(`${chain[c].f} ${chain[c].id} ${c ? chain[c - 1].id : "-"}`);
  fs.writeFileSync(`list${k}`, lines.join("\n") + "\n");
  meta.clients.push({ k, pk: fs.readFileSync(`k${k}.pk`, "utf8").trim(), x: fs.readFileSync(`x${k}.pk`, "utf8").trim(),
    y: fs.readFileSync(`y${k}.pk`, "utf8").trim(), creates: creates.map(c => c.id), chain: chain.map(c => c.id) });
}
fs.writeFileSync("meta.json", JSON.stringify(meta));
EOF
echo "crash: built $NCREATE CREATEs and 4 chains of $NCHAIN TRANSFERs in $((SECONDS - t0)) s (seed $SEED)"

# ------------------------------------------------------------ clients
# send FILE ID PREV: posts until a definite answer; appends "ID CLASS PASS [detail]".
send() {
  local f=$1 id=$2 prev=$3 code port deadline=$((SECONDS + 30))
  while :; do
    read -r port <"$T/port"
    code=$(curl -s -m 15 -o "$body" -w '%{http_code}' -H 'Content-Type: application/json' -X POST \
      --data-binary @"$f" "http://127.0.0.1:$port/api/v1/transactions?mode=commit")
    [ -n "$code" ] || code=000
    case $code in
      202)
        echo "$id ack $pass_no" >>"$log"
        return
        ;;
      400)
        if grep -qF "(DuplicateTransaction): transaction \`$id\` already exists" "$body"; then
          echo "$id dup $pass_no" >>"$log"
          return
        elif [ "$prev" != - ] && grep -qF "(DoubleSpend): input \`$prev\` was already spent" "$body"; then
          echo "$id dspend $pass_no" >>"$log"
          return
        elif ! grep -qF 'Tx already exists in cache' "$body"; then
          echo "$id bad $pass_no $(head -c 300 "$body" | tr '\n' ' ')" >>"$log"
          return
        fi
        ;;
    esac
    echo "$id indet $pass_no $code $(head -c 120 "$body" 2>/dev/null | tr '\n' ' ')" >>"$log"
    if [ $SECONDS -ge $deadline ]; then
      echo "$id unresolved $pass_no" >>"$log"
      return
    fi
    sleep 0.05
  done
}
client() {
  local k=$1 f id prev
  log=$T/res$k.log
  body=$T/body$k
  pass_no=1
  while :; do
    while read -r f id prev; do
      [ -e "$T/stop" ] && return 0
      # first pass paced (20-100 ms) so that fresh commits span the kill phase
      [ $pass_no = 1 ] && sleep "0.$(printf %03d $((RANDOM % 80 + 20)))"
      send "$f" "$id" "$prev"
    done <"$T/list$k"
    pass_no=$((pass_no + 1))
  done
}

# ------------------------------------------------------------ kill loop
start_node || { echo "crash: the node did not start" >&2; tail -5 "$T/node.log" >&2; exit 1; }
for k in 1 2 3 4; do
  (RANDOM=$((SEED + k)); client "$k") &
  CLIENT_PIDS+=($!)
done
kills=0
self_deaths=0
verify_bad=0
verifies=0
VERIFY_SUM_MS=0
t_kill=$SECONDS
while [ $kills -lt "$KILLS" ] && [ $((SECONDS - START_S)) -lt $BUDGET_S ]; do
  if [ $((RANDOM % 4)) = 0 ]; then
    sleep "0.0$((RANDOM % 5))" # right after the restart: clients' retries are arriving
  else
    sleep "0.$((RANDOM % 8 + 1))$((RANDOM % 10))"
  fi
  if ! kill -0 "$NODE_PID" 2>/dev/null; then
    self_deaths=$((self_deaths + 1))
    echo "crash: the node died by itself before kill $((kills + 1)): $(grep -v '^ *$' "$T/node.log" | tail -1)" >&2
  fi
  kill -9 "$NODE_PID" 2>/dev/null
  wait "$NODE_PID" 2>/dev/null
  NODE_PID=
  kills=$((kills + 1))
  # every third crash image must pass the audit before the node touches it again
  if [ $((kills % 3)) = 1 ]; then
    v0=$(now_ms)
    verifies=$((verifies + 1))
    if ! "$BIN" verify --data "$D" >"$T/verify.out" 2>&1; then
      verify_bad=$((verify_bad + 1))
      echo "crash: ltdrs verify failed after kill $kills: $(head -2 "$T/verify.out" | tr '\n' ' ')" >&2
    fi
    VERIFY_SUM_MS=$((VERIFY_SUM_MS + $(now_ms) - v0))
  fi
  if ! start_node; then
    no "node does not restart after kill $kills: $(tail -2 "$T/node.log" | tr '\n' ' ')"
    break
  fi
  RESTARTS=$((RESTARTS + 1))
  RESTART_SUM_MS=$((RESTART_SUM_MS + LAST_MS))
  [ $LAST_MS -gt $RESTART_MAX_MS ] && RESTART_MAX_MS=$LAST_MS
done
echo "crash: $kills kills in $((SECONDS - t_kill)) s (ltdrs verify on $verifies crash images: mean $((VERIFY_SUM_MS / (verifies > 0 ? verifies : 1))) ms)"
touch "$T/stop"
# the clients finish the transaction in hand; they need a live node for that
node_up() {
  kill -0 "$NODE_PID" 2>/dev/null && [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$U/api/v1/")" = 200 ]
}
restart_dead() {
  node_up && return 0
  self_deaths=$((self_deaths + 1))
  echo "crash: the node is down after the kill phase: $(grep -v '^ *$' "$T/node.log" | tail -1)" >&2
  kill -9 "$NODE_PID" 2>/dev/null
  wait "$NODE_PID" 2>/dev/null
  start_node || { no "node does not restart for the final checks"; echo "crash: $pass passed, $fail failed"; exit 1; }
}
for p in "${CLIENT_PIDS[@]}"; do
  while kill -0 "$p" 2>/dev/null; do restart_dead; sleep 0.2; done
  wait "$p"
done
CLIENT_PIDS=()
restart_dead

# ------------------------------------------------------------ checks
cat "$T"/res*.log >results.log
if [ "${CRASH_SELFTEST:-0}" = 1 ]; then
  # negative control: claim an ack for a transaction never sent; the
  # "every acked tx is there" check must fail.
  "$BIN" tx create --key k1.key --asset '{"never":"sent"}' --out never.json &&
    echo "$(node -e 'console.log(require("./never.json").id)') ack 1" >>results.log
  echo "crash: CRASH_SELFTEST=1: one fake ack added; expect exactly 1 failure"
fi
n_ack=$(awk '$2 == "ack"' results.log | wc -l)
n_dup=$(awk '$2 == "dup" || $2 == "dspend"' results.log | wc -l)
n_indet=$(awk '$2 == "indet"' results.log | wc -l)
echo "crash: answers: $n_ack acked (202), $n_dup committed earlier (400 Duplicate/DoubleSpend), $n_indet interrupted/indeterminate"
awk '$2 == "indet" {print $4}' results.log | sort | uniq -c | awk '{printf "crash:   indeterminate HTTP %s x%s\n", $2, $1}'
check "at least 20 kills ($kills)" [ "$kills" -ge 20 ]
check "kills interrupted requests ($n_indet interrupted)" [ "$n_indet" -gt 0 ]
check "enough transactions acked under the kills ($n_ack)" [ "$n_ack" -ge 50 ]
check "the node never died by itself ($self_deaths times)" [ "$self_deaths" = 0 ]
check "ltdrs verify passed on $verifies crash images ($verify_bad failed)" [ "$verify_bad" = 0 ]
if grep -q 'Sanitizer\|runtime error:\|Fatal error' "$T/node.log"; then
  no "node log: $(grep -m1 'Sanitizer\|runtime error:\|Fatal error' "$T/node.log")"
else
  ok
fi
echo "crash: restart-to-serving max $RESTART_MAX_MS ms, mean $((RESTART_SUM_MS / (RESTARTS > 0 ? RESTARTS : 1))) ms over $RESTARTS restarts"
check "restart-to-serving < 5 s (max $RESTART_MAX_MS ms)" [ "$RESTART_MAX_MS" -lt 5000 ]

node - "$U" <<'EOF' >checks.out 2>&1
// One line per check: "ok NAME" or "FAIL NAME: detail".
const fs = require("fs");
const U = process.argv[2];
const meta = JSON.parse(fs.readFileSync("meta.json", "utf8"));
const res = fs.readFileSync("results.log", "utf8").split("\n").filter(Boolean).map(l => l.split(" "));
const out = (good, name, detail) => console.log(good ? `ok ${name}` : `FAIL ${name}: ${detail}`);
const get = async (p) => {
  for (let a = 0; a < 3; a++) {
    try { const r = await fetch(U + p); const t = await r.text(); let j; try { j = JSON.parse(t); } catch { j = undefined; } return { s: r.status, j, t }; }
    catch (e) { await new Promise(r => setTimeout(r, 200)); }
  }
  return { s: 0 };
};
const pmap = async (xs, f, n = 8) => { const r = new Array(xs.length); let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < xs.length) { const k = i++; r[k] = await f(xs[k]); } })); return r; };
const key = o => `${o.transaction_id}:${o.output_index}`;
const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
(async () => {
  const cls = {}; const acks = {};
  for (const [id, c] of res) { (cls[c] = cls[c] || new Set()).add(id); if (c === "ack") acks[id] = (acks[id] || 0) + 1; }
  const bad = res.filter(r => r[1] === "bad");
  out(bad.length === 0, "no valid transaction rejected", `${bad.length}, first: ${bad[0] && bad[0].join(" ")}`);
  const twice = Object.keys(acks).filter(id => acks[id] > 1);
  out(twice.length === 0, "no id acked twice (an acked tx lost and re-accepted)", twice.slice(0, 3).join(","));
  const unres = [...(cls.unresolved || [])];
  out(unres.length === 0, "every posted tx got a definite answer at the end", `${unres.length} unresolved`);
  const all = meta.clients.flatMap(c => [...c.creates, ...c.chain]);
  const tx = {};
  (await pmap(all, async id => [id, await get(`/api/v1/transactions/${id}`)])).forEach(([id, r]) => tx[id] = r);
  const committed = new Set(all.filter(id => tx[id].s === 200));
  const odd = all.filter(id => tx[id].s !== 200 && tx[id].s !== 404);
  out(odd.length === 0, "GET /transactions/<id> answers 200 or 404", `${odd.length}, e.g. ${odd[0]} -> ${odd[0] && tx[odd[0]].s}`);
  const acked = [...(cls.ack || [])];
  const lost = acked.filter(id => !committed.has(id) || tx[id].j.id !== id);
  out(lost.length === 0, `every acked tx (202) is there (${acked.length})`, `${lost.length} lost, e.g. ${lost[0]}`);
  const earlier = [...(cls.dup || []), ...(cls.dspend || [])];
  const lost2 = earlier.filter(id => !committed.has(id));
  out(lost2.length === 0, `every tx answered Duplicate/DoubleSpend is there (${earlier.length})`, `${lost2.length} missing, e.g. ${lost2[0]}`);
  const wrong = [...committed].filter(id => tx[id].j.id !== id);
  out(wrong.length === 0, "GET returns the tx asked for", wrong[0]);
  // block of every committed tx holds it
  const hs = {};
  (await pmap([...committed], async id => [id, await get(`/api/v1/blocks?transaction_id=${id}`)])).forEach(([id, r]) => hs[id] = r);
  const nob = [...committed].filter(id => !(hs[id].s === 200 && Array.isArray(hs[id].j) && hs[id].j.length === 1));
  out(nob.length === 0, "every committed tx is in exactly one block", `${nob.length}, e.g. ${nob[0]} -> ${nob[0] && hs[nob[0]].t}`);
  const heights = [...new Set([...committed].filter(id => !nob.includes(id)).map(id => hs[id].j[0]))];
  const blocks = {};
  (await pmap(heights, async h => [h, await get(`/api/v1/blocks/${h}`)])).forEach(([h, r]) => blocks[h] = r);
  const notin = [...committed].filter(id => !nob.includes(id)).filter(id => {
    const b = blocks[hs[id].j[0]]; return !(b.s === 200 && b.j.transactions.some(t => t.id === id)); });
  out(notin.length === 0, "each block holds the txs that name it", `${notin.length}, e.g. ${notin[0]}`);
  const nInBlocks = heights.reduce((n, h) => n + (blocks[h].s === 200 ? blocks[h].j.transactions.length : 0), 0);
  out(nInBlocks === committed.size, "blocks hold only committed txs of this run", `${nInBlocks} in blocks, ${committed.size} committed`);
  // per client: chains committed as a prefix; outputs/assets/metadata agree with the committed set
  let nCreates = 0;
  for (const c of meta.clients) {
    const cc = c.chain.map(id => committed.has(id));
    const n = cc.indexOf(false) < 0 ? cc.length : cc.indexOf(false);
    out(cc.slice(n).every(x => !x), `client ${c.k}: chain committed as a prefix (${n}/${cc.length})`, cc.map(x => x ? 1 : 0).join(""));
    const mine = c.creates.filter(id => committed.has(id));
    nCreates += mine.length;
    const un = await get(`/api/v1/outputs?public_key=${c.pk}&spent=false`);
    out(un.s === 200 && sameSet(un.j.map(key), mine.map(id => `${id}:0`)),
      `client ${c.k}: unspent outputs = its ${mine.length} committed CREATEs`, `${un.s} ${un.t && un.t.slice(0, 200)}`);
    const sp = await get(`/api/v1/outputs?public_key=${c.pk}&spent=true`);
    out(sp.s === 200 && sp.j.length === 0, `client ${c.k}: nothing of its CREATEs spent`, sp.t && sp.t.slice(0, 200));
    if (n > 0) {
      const ux = await get(`/api/v1/outputs?public_key=${c.x}&spent=false`), uy = await get(`/api/v1/outputs?public_key=${c.y}&spent=false`);
      const sx = await get(`/api/v1/outputs?public_key=${c.x}&spent=true`), sy = await get(`/api/v1/outputs?public_key=${c.y}&spent=true`);
      const unspent = [...ux.j, ...uy.j].map(key), spent = [...sx.j, ...sy.j].map(key);
      out(sameSet(unspent, [`${c.chain[n - 1]}:0`]), `client ${c.k}: chain has exactly one unspent output, the last link's`, unspent.join(","));
      out(sameSet(spent, c.chain.slice(0, n - 1).map(id => `${id}:0`)), `client ${c.k}: every earlier chain output spent once`, `${spent.length} spent, want ${n - 1}`);
    }
  }
  const tag = JSON.parse(fs.readFileSync("txs/c1.json", "utf8")).asset.data.tag;
  const as = await get(`/api/v1/assets?search=${tag}`), ms = await get(`/api/v1/metadata?search=${tag}`);
  out(as.s === 200 && as.j.length === nCreates && as.j.every(a => committed.has(a.id)), `assets search finds exactly the ${nCreates} committed CREATEs`, `${as.s} ${as.j && as.j.length}`);
  out(ms.s === 200 && ms.j.length === nCreates && ms.j.every(a => committed.has(a.id)), `metadata search finds exactly the ${nCreates} committed CREATEs`, `${ms.s} ${ms.j && ms.j.length}`);
  const v = await get("/ltdrs/api/v1/ledger/verify");
  out(v.s === 200 && v.j.ok === true && v.j.transactions === committed.size, `ledger/verify ok with ${committed.size} transactions`, v.t);
  console.log(`info ${committed.size} of ${all.length} transactions committed`);
})().catch(e => { console.log(`FAIL checker crashed: ${e.stack}`); });
EOF
while read -r word rest; do
  case $word in
    ok) ok ;;
    FAIL) no "$rest" ;;
    info) echo "crash: $rest" ;;
    *) no "checker: $word $rest" ;;
  esac
done <checks.out
[ -s checks.out ] || no "the checker printed nothing"

# final crash at rest, then the offline audit
kill -9 "$NODE_PID" 2>/dev/null
wait "$NODE_PID" 2>/dev/null
NODE_PID=
"$BIN" verify --data "$D" >verify.out 2>&1
st=$?
check "ltdrs verify after the last kill exits 0 ($(head -1 verify.out))" [ "$st" = 0 ]
echo "crash: finished in $((SECONDS - START_S)) s"
echo "crash: $pass passed, $fail failed"
[ "$fail" = 0 ]
