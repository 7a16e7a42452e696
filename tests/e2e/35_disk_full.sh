#!/bin/bash
# 35_disk_full.sh - a full disk and an I/O error (threats.md E1, E2): the
# node's data directory lives on a tiny tmpfs that fills up under load.
#
#   1. Pre-builds DISK_CREATES signed CREATEs (1.5 KB of asset text each).
#   2. Posts them in mode=commit from 2 clients until DISK_FULL_MIN of them got
#      507 (the tmpfs is full), recording every answer.
#   3. While full: reads go on (GET /api/v1/, every acked transaction, the
#      ledger head says disk_full), no transaction answered 507 is stored, no
#      answer other than 202 / 507 came back.
#   4. Grows the tmpfs (mount -o remount): without a restart the 507'd
#      transactions are posted again and get 202, the head says disk_full
#      false, and a search finds every stored transaction.
#   5. Stops the node: `ltdrs verify` passes; after a restart every acked
#      transaction is still there.
#   6. E2, an I/O error: a fresh node under a file-size limit (ulimit -f,
#      SIGXFSZ ignored) gets EFBIG from the WAL write.  The failed block is
#      answered 503 (may or may not be stored), later writes 503
#      WritesStopped, reads go on, nothing
#      refused is stored, nothing acked is lost; after a restart without the
#      limit `ltdrs verify` passes and the refused transactions get 202.
# Needs root (mount); as another user it says so and counts a failure.
# Prints `disk_full: N passed, M failed`; exit 1 on any failure.
set -u
cd "$(dirname "$0")/../.."
BIN=${LTDRS_BIN:-build/ltdrs}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "disk_full: no binary $BIN (run make all)" >&2; exit 1; }
for c in curl node mount umount; do
  command -v $c >/dev/null 2>&1 || { echo "disk_full: needs $c" >&2; exit 1; }
done
NCREATE=${DISK_CREATES:-240}
FULL_MIN=${DISK_FULL_MIN:-40}
SIZE_KB=${DISK_SIZE_KB:-2048}

T=$(mktemp -d)
M=$T/mnt
D=$M/data
NODE_PID=
MOUNTED=0
cleanup() {
  if [ -n "$NODE_PID" ]; then
    kill -9 "$NODE_PID" 2>/dev/null
    wait "$NODE_PID" 2>/dev/null
  fi
  [ "$MOUNTED" = 1 ] && umount "$M" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
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
finish() {
  echo "disk_full: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit $?
}

mkdir -p "$M"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o "size=${SIZE_KB}k" tmpfs "$M"; then
  no "cannot mount a tmpfs (this test needs root)"
  finish
fi
MOUNTED=1

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
U=http://127.0.0.1:$PORT
# start_node [LIMIT_KB]: serves $D on $PORT, under a file-size limit (SIGXFSZ
# ignored, so an over-limit write fails with EFBIG) when LIMIT_KB is given;
# waits until it answers (15 s)
start_node() {
  (
    if [ -n "${1:-}" ]; then
      trap '' XFSZ
      ulimit -f "$1"
    fi
    exec "$BIN" serve --data "$D" --listen "127.0.0.1:$PORT"
  ) >>"$T/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 300); do
    [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$U/api/v1/")" = 200 ] && return 0
    kill -0 "$NODE_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
stop_node() {
  kill -TERM "$NODE_PID" 2>/dev/null
  wait "$NODE_PID" 2>/dev/null
  NODE_PID=
}

"$BIN" init --data "$D" >/dev/null || { no "init on the tmpfs"; finish; }
cd "$T"
"$BIN" keygen --out k.key >k.pk || { no keygen; finish; }
TAG=full$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr 0-9 g-p)
PAD=$(head -c 1500 /dev/zero | tr '\0' 'x')
mkdir -p txs
export BIN TAG PAD
seq 1 "$NCREATE" | xargs -P 2 -I{} bash -c \
  '"$BIN" tx create --key k.key --asset "{\"tag\":\"$TAG\",\"n\":{},\"pad\":\"$PAD\"}" \
     --out txs/c{}.json' || { no "tx create"; finish; }
node -e 'const fs = require("fs");
for (let i = 1; i <= +process.argv[1]; i++)
  console.log(`txs/c${i}.json ${JSON.parse(fs.readFileSync(`txs/c${i}.json`)).id}`);' "$NCREATE" >list
[ "$(wc -l <list)" = "$NCREATE" ] || { no "index the transactions"; finish; }
echo "disk_full: built $NCREATE CREATEs on a ${SIZE_KB} KiB tmpfs"

start_node || { no "node starts on the tmpfs"; finish; }

# post FILE ID: one commit-mode post; appends "ID CODE" to answers
post() {
  local code body=$T/body.$3
  code=$(curl -s -m 30 -o "$body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -X POST --data-binary @"$1" "$U/api/v1/transactions?mode=commit")
  echo "$2 ${code:-000}" >>"$3"
  [ "$code" = 507 ] && cp "$body" "$T/body507"
  return 0
}
# ids CODE|-CODE FILE...: the ids answered CODE (-CODE: anything else)
ids() {
  local want=$1
  shift
  if [ "${want#-}" != "$want" ]; then
    cat "$@" | grep -v " ${want#-}\$" | cut -d' ' -f1
  else
    cat "$@" | grep " $want\$" | cut -d' ' -f1
  fi
}
# not_status CODE ID...: how many of the transactions GET does not answer CODE
not_status() {
  local want=$1 n=0 id
  shift
  for id in "$@"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/transactions/$id")" = "$want" ] || n=$((n + 1))
  done
  echo "$n"
}
# repost OUT ID...: posts these transactions again, answers to OUT
repost() {
  local out=$1 id
  shift
  : >"$out"
  for id in "$@"; do
    post "$(grep " $id\$" list | cut -d' ' -f1)" "$id" "$out"
  done
}
# client K: posts every other transaction of the list until FULL_MIN 507s
client() {
  local k=$1 n=0 f id
  while read -r f id; do
    n=$((n + 1))
    [ $((n % 2)) = "$k" ] || continue
    post "$f" "$id" "answers$k"
    [ "$(cat answers0 answers1 2>/dev/null | grep -c ' 507$')" -ge "$FULL_MIN" ] && break
  done <list
}
: >answers0
: >answers1
client 0 &
c0=$!
client 1 &
c1=$!
wait $c0 $c1
cat answers0 answers1 >answers
acked=$(grep -c ' 202$' answers)
full=$(grep -c ' 507$' answers)
other=$(grep -vc ' 202$\| 507$' answers)
echo "disk_full: $acked acked, $full answered 507, $other other answers"
check "some transactions acked before the disk filled ($acked)" [ "$acked" -ge 20 ]
check "the full disk answered 507 ($full >= $FULL_MIN)" [ "$full" -ge "$FULL_MIN" ]
check "no answer but 202 / 507 ($(grep -v ' 202$\| 507$' answers | head -3 | tr '\n' ' '))" [ "$other" = 0 ]
check "the 507 names the full disk" grep -q 'StorageFull\|disk full\|not committed' "$T/body507"
check "the node is alive while full" kill -0 "$NODE_PID"

# ---- reads while full
check "GET /api/v1/ while full" [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/")" = 200 ]
head_full=$(curl -s "$U/ltdrs/api/v1/ledger/head")
check "the ledger head says disk_full ($head_full)" node -e \
  'const b=JSON.parse(process.argv[1]); process.exit(b.disk_full === true && b.write_failed === false ? 0 : 1)' "$head_full"
lost=$(not_status 200 $(ids 202 answers))
check "every acked transaction is readable while full ($lost missing)" [ "$lost" = 0 ]
ghost=$(not_status 404 $(ids 507 answers))
check "no transaction answered 507 is stored ($ghost stored)" [ "$ghost" = 0 ]

# ---- space freed: the same node takes writes again
mount -o remount,size=64m "$M" || no "grow the tmpfs"
repost answers2 $(ids 507 answers)
re_ok=$(grep -c ' 202$' answers2)
check "after space is freed every 507'd transaction gets 202 ($re_ok of $full)" [ "$re_ok" = "$full" ]
head_ok=$(curl -s "$U/ltdrs/api/v1/ledger/head")
check "the ledger head no longer says disk_full" node -e \
  'const b=JSON.parse(process.argv[1]); process.exit(b.disk_full === false && b.write_failed === false ? 0 : 1)' "$head_ok"
stored=$((acked + re_ok))
found=$(curl -s "$U/api/v1/assets?search=$TAG&limit=10000" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).length)}catch(e){console.log(-1)}})')
check "a search finds every stored transaction ($found of $stored)" [ "$found" = "$stored" ]
check "the log says when the disk filled and when space came back" \
  grep -q 'disk full' "$T/node.log"
check "... and when writes resumed" grep -q 'space freed' "$T/node.log"

# ---- integrity and durability
stop_node
check "ltdrs verify after the full disk" "$BIN" verify --data "$D" --threads 2
start_node || no "restart"
lost=$(not_status 200 $(ids 202 answers answers2))
check "every acked transaction survives a restart ($lost missing)" [ "$lost" = 0 ]
stop_node

# ---- E2: an I/O error that is not a full disk.  A file-size limit (SIGXFSZ
# ignored) makes the WAL's write fail with EFBIG, which SQLite reports as an
# I/O error: the node must stop writing (503), keep serving reads, never ack
# what it did not store, and recover on restart.
D=$T/data2
"$BIN" init --data "$D" >/dev/null || no "init the second ledger"
start_node $(($(du -sk "$D" | cut -f1) + 400)) || no "start the node under a file-size limit"
: >answers3
n=0
tac list >rlist # the transactions phase 1 did not need come first
while read -r f id; do
  post "$f" "$id" answers3
  n=$((n + 1))
  [ "$(grep -vc ' 202$' answers3)" -ge 6 ] && break
  [ $n -ge 200 ] && break
done <rlist
acked3=$(grep -c ' 202$' answers3)
first_bad=$(grep -v ' 202$' answers3 | head -1 | cut -d' ' -f2)
later=$(grep -v ' 202$' answers3 | tail -n +2 | cut -d' ' -f2 | sort -u | tr '\n' ' ')
echo "disk_full: I/O error phase: $acked3 acked, then $first_bad, then $later"
check "writes were acked before the I/O error ($acked3)" [ "$acked3" -ge 5 ]
check "the failed block is answered 503, outcome unknown ($first_bad)" [ "$first_bad" = 503 ]
check "then writes are refused with 503 ($later)" [ "$later" = "503 " ]
check "the 503 says writes are stopped" grep -q 'WritesStopped\|writes are stopped' "$T/body.answers3"
check "reads go on after the I/O error" [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/")" = 200 ]
head_io=$(curl -s "$U/ltdrs/api/v1/ledger/head")
check "the ledger head says write_failed" node -e \
  'const b=JSON.parse(process.argv[1]); process.exit(b.write_failed === true ? 0 : 1)' "$head_io"
lost=$(not_status 200 $(ids 202 answers3))
check "every acked transaction is readable after the I/O error ($lost missing)" [ "$lost" = 0 ]
ghost=$(not_status 404 $(ids -202 answers3))
check "no refused transaction is stored ($ghost stored)" [ "$ghost" = 0 ]
stop_node
check "ltdrs verify after the I/O error" "$BIN" verify --data "$D" --threads 2
start_node || no "restart without the limit"
repost answers4 $(ids -202 answers3)
check "after a restart the refused transactions get 202" [ "$(grep -vc ' 202$' answers4)" = 0 ]
lost=$(not_status 200 $(ids 202 answers3))
check "every transaction acked before the I/O error survives the restart ($lost missing)" [ "$lost" = 0 ]
stop_node
finish
