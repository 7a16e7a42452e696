#!/bin/bash
# 50_staff_cli.sh - the staff command line (`ltdrs admin|dept|student`)
# against a fresh node: the issue's whole scenario, then the ways it must
# fail.
#
# Scenario: roster of 300 students (codes CSV out) -> the 300 register in
# parallel with their codes -> 学习部 registers, the admin certifies it ->
# it applies for 一对一帮扶学习 (2020-06-28 to 2020-08-01, A1 教学楼, 300
# tickets); the same activity again is refused (DuplicateActivity) -> the
# admin approves -> the department distributes to 250 students from a CSV
# -> students see their tickets -> a student tries to pass a ticket to
# another student with `ltdrs tx transfer` + `ltdrs tx sign`, even co-signed
# by the department (TicketNotTransferable) -> the admin revokes one ticket
# -> the report shows 249 legal tickets for the activity and the CSV export
# agrees.  Then: re-running a distribution, two overlapping distributions at
# once, reject + re-file, unbind + re-register, announcements, close.
#
# Negative cases: admin commands with a wrong key (NotAdmin, exit 1), bad
# dates and counts (exit 2 naming the option), unknown ids, malformed
# student numbers (reported per line, the rest processed), an unreachable
# node (exit 4), and more.
#
# LTDRS_BIN picks the binary (default build/ltdrs).  Needs curl and node.
# Prints `staff_cli: N passed, M failed`; exit 1 on any failure.
set -u
cd "$(dirname "$0")/../.."
BIN=${LTDRS_BIN:-build/ltdrs}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "staff_cli: no binary $BIN (run make all)" >&2; exit 1; }
for c in curl node; do
  command -v $c >/dev/null 2>&1 || { echo "staff_cli: needs $c" >&2; exit 1; }
done
export ASAN_OPTIONS="exitcode=86:${ASAN_OPTIONS:-}"
START=$(date +%s)

T=$(mktemp -d)
NODE_PID=
stop_node() { # by PID only: TERM, then KILL after 5 s
  [ -n "$NODE_PID" ] || return 0
  kill "$NODE_PID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$NODE_PID" 2>/dev/null
  wait "$NODE_PID" 2>/dev/null
  NODE_PID=
}
trap 'stop_node; rm -rf "$T"' EXIT
cd "$T"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() {
  fail=$((fail + 1))
  echo "FAIL: $*" >&2
  [ -s out ] && sed 's/^/    stdout: /' out | head -8 >&2
  [ -s err ] && sed 's/^/    stderr: /' err | head -8 >&2
  return 0
}

# t NAME WANT_RC TEXT -- ARGS...: runs ltdrs ARGS (stdout in ./out, stderr in
# ./err), wants exit WANT_RC and TEXT (fixed string, may be empty) in either.
t() {
  local name=$1 want=$2 text=$3
  shift 4
  "$BIN" "$@" >out 2>err
  local rc=$?
  if [ "$rc" != "$want" ]; then no "$name: exit $rc, want $want"; return 1; fi
  if grep -q 'Sanitizer\|runtime error:' err; then no "$name: sanitizer report"; return 1; fi
  if [ -n "$text" ] && ! grep -qF -- "$text" out err; then no "$name: no '$text'"; return 1; fi
  ok
}
check() {
  local name=$1
  shift
  if "$@"; then ok; else no "$name"; fi
}
# jget FILE EXPR: evaluates EXPR with j bound to the parsed JSON file.
jget() {
  node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
           const v=eval(process.argv[2]); console.log(typeof v==="string"?v:JSON.stringify(v))' "$1" "$2"
}

# ------------------------------------------------------------ the node
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
D=$T/data
"$BIN" init --data "$D" >init.out 2>&1 || { echo "staff_cli: init failed" >&2; cat init.out >&2; exit 1; }
ADMIN=$D/admin.key
start_node() {
  local try
  for try in 1 2 3; do
    PORT=$(free_port)
    U=http://127.0.0.1:$PORT
    "$BIN" serve --data "$D" --listen "127.0.0.1:$PORT" --no-sync >>"$T/node.log" 2>&1 &
    NODE_PID=$!
    for _ in $(seq 100); do
      curl -s -m 2 -o /dev/null "$U/api/v1/" && return 0
      kill -0 "$NODE_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_node
  done
  echo "staff_cli: the node did not start" >&2
  tail -5 "$T/node.log" >&2
  exit 1
}
start_node
export U BIN
N=--node=$U
alive() {
  if kill -0 "$NODE_PID" 2>/dev/null && curl -s -m 5 -o /dev/null "$U/api/v1/"; then ok; else
    no "node died or hangs after: $1 ($(tail -2 "$T/node.log" | tr '\n' ' '))"
    stop_node
    start_node
    N=--node=$U
  fi
}
mode_of() { stat -c %a "$1"; }

# ============================================================ scenario

# ---- roster: 300 students, header sid,name
{
  echo "sid,name"
  for i in $(seq 1 300); do printf '2020%04d,Student %d\n' "$i" "$i"; done
} >roster.csv
t "roster import 300" 0 "300 students on roster generation 1" -- admin roster import $N \
  --key "$ADMIN" --generation 1 roster.csv --codes-out codes.csv
check "codes file has 300 rows + header" [ "$(wc -l <codes.csv)" = 301 ]
check "codes file mode 0600" [ "$(mode_of codes.csv)" = 600 ]
check "codes are 16 symbols in groups, all distinct" [ "$(tail -n +2 codes.csv | cut -d, -f2 |
  grep -cE '^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$')" = 300 ] 
check "codes distinct" [ "$(tail -n +2 codes.csv | cut -d, -f2 | sort -u | wc -l)" = 300 ]
check "roster record id printed" grep -qE '^[0-9a-f]{64}$' out
SID() { printf '2020%04d' "$1"; }
code_of() { grep "^$1," codes.csv | cut -d, -f2; }

# ---- the 300 students register in parallel (8 at a time)
mkdir -p keys errs
tail -n +2 codes.csv | tr ',' ' ' | xargs -P 8 -n 2 sh -c \
  '"$BIN" student register --node "$U" --sid "$1" --code "$2" --key-out "keys/$1.key" \
     >"errs/$1.out" 2>"errs/$1.err" || echo "$1" >>reg_failed' _
check "300 students registered in parallel" [ ! -e reg_failed ] && [ "$(ls keys | wc -l)" = 300 ]
[ -e reg_failed ] && head -3 errs/"$(head -1 reg_failed)".err >&2
check "student key files are 0600" [ "$(mode_of "keys/$(SID 1).key")" = 600 ]
no_secret() { ! grep -q private_key "$@"; }
check "no private key printed" no_secret errs/"$(SID 1)".out errs/"$(SID 1)".err
alive "300 registrations"

# ---- the department registers, the admin certifies
t "dept register 学习部" 0 "waiting for certification" -- dept register $N --name 学习部 \
  --contact "学习部 13800000000" --key-out dept.key
DEPT_ID=$(head -1 out)
check "dept key file 0600" [ "$(mode_of dept.key)" = 600 ]
t "admin certify" 0 "certified" -- admin certify $N --key "$ADMIN" "$DEPT_ID" --approve --reason ok
DEPT_PK=$("$BIN" keygen --public-only dept.key)

# ---- apply, the same again, approve
APPLY=(dept apply $N --key dept.key --name 一对一帮扶学习 --start 2020-06-28 --end 2020-08-01
  --venue "A1 教学楼" --tickets 300 --category 学习 --description "一对一帮扶学习活动")
t "dept apply" 0 "applied for 300 tickets" -- "${APPLY[@]}"
APP=$(head -1 out)
check "application id printed" grep -qE '^[0-9a-f]{64}$' <<<"$APP"
t "same activity again refused" 1 "Invalid transaction (DuplicateActivity)" -- "${APPLY[@]}"
t "admin approve" 0 "300 tickets issued" -- admin approve $N --key "$ADMIN" "$APP"
t "approve twice refused" 1 "AlreadyDecided" -- admin approve $N --key "$ADMIN" "$APP"

# ---- distribute to 250 students from a CSV
{ echo "sid,name"; for i in $(seq 1 250); do printf '%s,S%d\n' "$(SID "$i")" "$i"; done; } >dist250.csv
t "distribute 250" 0 "distributed: 250 ticket(s)" -- dept distribute $N --key dept.key \
  --application "$APP" dist250.csv
check "preview printed" grep -q "will get a ticket:       250" out
check "summary: 50 left" grep -q "tickets left with the department: 50" out
check "progress lines on stderr (not a TTY)" grep -q "250/250 students processed" err
t "re-running is safe (all skipped)" 0 "distributed: 0 ticket(s)" -- dept distribute $N \
  --key dept.key --application "$APP" dist250.csv
check "re-run: 250 already hold one" grep -q "already hold one:        250" out
alive "distribution"

# ---- students see their tickets
t "student sees ticket" 0 "[legal]   一对一帮扶学习" -- student tickets $N "$(SID 1)"
check "ticket shows venue and department" grep -q "A1 教学楼" out && grep -q "学习部" out
check "legal tickets: 1" grep -q "legal tickets: 1" out
t "student without ticket" 0 "legal tickets: 0" -- student tickets $N "$(SID 300)"
t "tickets --json" 0 '"legal_tickets":1' -- student tickets $N --json "$(SID 2)"

# ---- a student passes a ticket to another student: refused
"$BIN" student tickets $N --json "$(SID 1)" >s1.json
TK1=$(jget s1.json 'j.tickets[0].ticket')
TX1=${TK1%%:*}
IX1=${TK1##*:}
curl -s "$U/api/v1/transactions/$TX1" >dist1.json
PK2=$("$BIN" keygen --public-only "keys/$(SID 2).key")
t "tx transfer (student signs)" 0 "" -- tx transfer --input "dist1.json:$IX1" \
  --to-threshold "2:$PK2,$DEPT_PK:1" --key "keys/$(SID 1).key" --out give1.json
t "tx sign (department co-signs)" 0 "" -- tx sign --key dept.key --input-tx dist1.json \
  --out give2.json give1.json
post_commit() { curl -s -o post.out -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$1" "$U/api/v1/transactions?mode=commit"; }
check "student->student 2-of-2 refused (400)" [ "$(post_commit give2.json)" = 400 ]
check "... with TicketNotTransferable" grep -q "TicketNotTransferable" post.out
t "tx transfer plain to a student" 0 "" -- tx transfer --input "dist1.json:$IX1" --to "$PK2:1" \
  --key "keys/$(SID 1).key" --key dept.key --out give3.json
check "student->student plain refused (400)" [ "$(post_commit give3.json)" = 400 ]
check "... with TicketNotTransferable" grep -q "TicketNotTransferable" post.out
t "ticket stays with the student" 0 "legal tickets: 1" -- student tickets $N "$(SID 1)"
alive "transfer attempts"

# ---- revoke one ticket; the report
"$BIN" student tickets $N --json "$(SID 3)" >s3.json
TK3=$(jget s3.json 'j.tickets[0].ticket')
t "admin revoke" 0 "revoked" -- admin revoke $N --key "$ADMIN" "$TK3" --reason "未到场"
t "revoked ticket shown as not legal" 0 "revoked: 未到场" -- student tickets $N "$(SID 3)"
t "revoke twice refused" 1 "AlreadyRevoked" -- admin revoke $N --key "$ADMIN" "$TK3" --reason again
t "admin report for the activity" 0 "legal tickets: 249" -- admin report $N --key "$ADMIN" \
  --activity "$APP"
check "report lists 300 students" grep -q "students: 300; with a legal ticket: 249" out
t "admin report CSV" 0 "" -- admin report $N --key "$ADMIN" --activity "$APP" --csv report.csv
tr -d '\r' <report.csv >report.lf
check "CSV header" [ "$(head -1 report.lf)" = "sid,name,legal_tickets" ]
check "CSV: 249 rows with 1" [ "$(grep -c ',1$' report.lf)" = 249 ]
check "CSV: 300 students" [ "$(tail -n +2 report.lf | wc -l)" = 300 ]
check "CSV: the revoked student has 0" grep -q "^$(SID 3),.*,0$" report.lf
t "report CSV to stdout, other filters" 0 "sid,name,legal_tickets" -- admin report $N \
  --key "$ADMIN" --category 学习 --department "$DEPT_ID" --nonzero --sort count --desc --csv -
check "filtered CSV: 249 rows" [ "$(tail -n +2 out | wc -l)" = 249 ]

# ---- dept status
t "dept status" 0 "distributed 250, remaining 50" -- dept status $N --key dept.key
check "status shows revoked 1" grep -q "revoked 1" out
check "status lists the application" grep -q "$APP" out

# ---- two overlapping distributions at once (second activity)
t "apply activity 2" 0 "" -- dept apply $N --key dept.key --name 期末答疑 \
  --start "2020-07-01T14:00+08:00" --end "2020-07-01T16:00+08:00" --venue "B2 报告厅" \
  --tickets 100 --category 学习
APP2=$(head -1 out)
t "approve fewer than requested" 0 "90 tickets issued" -- admin approve $N --key "$ADMIN" "$APP2" \
  --tickets 90
for i in $(seq 1 60); do SID "$i"; echo; done >dA.csv
for i in $(seq 31 90); do SID "$i"; echo; done >dB.csv
"$BIN" dept distribute $N --key dept.key --application "$APP2" --batch 7 dA.csv >dA.out 2>dA.err &
PA=$!
"$BIN" dept distribute $N --key dept.key --application "$APP2" --batch 7 dB.csv >dB.out 2>dB.err
RB=$?
wait $PA
RA=$?
check "concurrent distributions both succeed" [ "$RA" = 0 ] && [ "$RB" = 0 ]
[ "$RA" = 0 ] && [ "$RB" = 0 ] || tail -n 5 dA.out dA.err dB.out dB.err >&2
curl -s "$U/ltdrs/api/v1/activities/$APP2" >app2.json
check "activity 2: 90 distributed, none twice" [ "$(jget app2.json 'j.tickets.distributed')" = 90 ]
check "activity 2: 0 remaining" [ "$(jget app2.json 'j.tickets.remaining')" = 0 ]
t "student 45 holds both activities" 0 "legal tickets: 2" -- student tickets $N "$(SID 45)"
alive "concurrent distributions"

# ---- reject and re-file
APPLY3=(dept apply $N --key dept.key --name 读书分享会 --start 2020-09-01T19:00+08:00
  --end 2020-09-01T21:00+08:00 --venue 图书馆 --tickets 50 --category 讲座)
t "apply activity 3" 0 "" -- "${APPLY3[@]}"
APP3=$(head -1 out)
t "admin reject with reason" 0 "rejected" -- admin reject $N --key "$ADMIN" "$APP3" \
  --reason "时间冲突，请改期"
t "dept status shows the reason" 0 "reason: 时间冲突，请改期" -- dept status $N --key dept.key
t "re-filing after a rejection is a new record" 0 "" -- "${APPLY3[@]}"
check "new application id" [ "$(head -1 out)" != "$APP3" ]

# ---- unbind and re-register; old tickets still count
t "admin unbind" 0 "unbound" -- admin unbind $N --key "$ADMIN" "$(SID 5)" --reason "lost key" \
  --codes-out new5.csv
check "new code file 0600" [ "$(mode_of new5.csv)" = 600 ]
t "old code no longer works" 1 "BadActivationCode" -- student register $N --sid "$(SID 5)" \
  --code "$(code_of "$(SID 5)")" --key-out k5b.key
check "refused registration leaves no key file" [ ! -e k5b.key ]
# the code piped in on standard input, typed loosely (lower case, no dashes,
# a newline at the end): normalised as when given on the command line
tail -1 new5.csv | cut -d, -f2 | tr -d '-' | tr 'A-Z' 'a-z' >code5.txt
code_of "$(SID 5)" | tr -d '-' | tr 'A-Z' 'a-z' >oldcode5.txt
t "old code piped in still refused" 1 "BadActivationCode" -- student register $N \
  --sid "$(SID 5)" --code - --key-out k5b.key <oldcode5.txt
t "re-register with the new code piped in loosely" 0 "registered" -- student register $N \
  --sid "$(SID 5)" --code - --key-out k5c.key <code5.txt
t "old tickets still count" 0 "legal tickets: 2" -- student tickets $N "$(SID 5)"

# ---- announcement, close
t "announce" 0 "published" -- admin announce $N --key "$ADMIN" --title "期末通知" \
  --text "讲座票将计入综测" --link "https://example.edu/notice" --application "$APP"
curl -s "$U/ltdrs/api/v1/announcements" >ann.json
check "announcement visible" [ "$(jget ann.json 'j.announcements[0].title')" = "期末通知" ]
t "dept close" 0 "closed" -- dept close $N --key dept.key --application "$APP"
t "distribute after close refused" 1 "is closed" -- dept distribute $N --key dept.key \
  --application "$APP" dA.csv
t "help texts" 0 "subcommands:" -- admin --help
t "dept help" 0 "distribute" -- dept --help
t "student register help" 0 "--key-out FILE" -- student register --help
alive "scenario"
POSITIVE=$pass

# ============================================================ negative cases

# ---- wrong key for admin commands: NotAdmin from the node, exit 1
t "certify with a department key" 1 "Invalid transaction (NotAdmin)" -- admin certify $N \
  --key dept.key "$DEPT_ID" --reject --reason x
t "approve with a student key" 1 "NotAdmin" -- admin approve $N --key "keys/$(SID 9).key" \
  "$APP2"
t "revoke with a student key" 1 "NotAdmin" -- admin revoke $N --key "keys/$(SID 9).key" "$TK1" \
  --reason x
t "announce with a department key" 1 "NotAdmin" -- admin announce $N --key dept.key --title x \
  --text y
t "unbind with a department key" 1 "NotAdmin" -- admin unbind $N --key dept.key "$(SID 9)" \
  --reason x --codes-out nb.csv
check "refused unbind leaves no codes file" [ ! -e nb.csv ]
printf 'sid\nX001\nX002\n' >r2.csv
t "roster import with a department key" 1 "NotAdmin" -- admin roster import $N --key dept.key \
  --generation 2 r2.csv --codes-out c2.csv
check "codes file cut to the recorded students (none)" [ "$(cat c2.csv)" = "sid,code" ]
t "report with a student key" 1 "not as the school admin" -- admin report $N \
  --key "keys/$(SID 9).key"
"$BIN" keygen --out nobody.key >/dev/null
t "report with a key that has no role" 1 "HTTP 403" -- admin report $N --key nobody.key

# ---- bad dates and counts: exit 2, the message names the option
A=(dept apply $N --key dept.key --name 讲座X --venue 礼堂 --category 讲座)
t "bad start date" 2 "--start: '2020-13-01' is not a time" -- "${A[@]}" --start 2020-13-01 \
  --end 2020-12-01 --tickets 10
t "bad end time" 2 "--end: '2020-06-31T25:00' is not a time" -- "${A[@]}" --start 2020-06-01 \
  --end 2020-06-31T25:00 --tickets 10
t "end before start" 2 "--end (2020-05-01T23:59+08:00) is before --start" -- "${A[@]}" \
  --start 2020-06-01 --end 2020-05-01 --tickets 10
t "bad zone" 2 "--zone" -- "${A[@]}" --start 2020-06-01 --end 2020-06-02 --tickets 10 --zone 8
t "tickets 0" 2 "--tickets: '0' must be a whole number from 1 to 100000" -- "${A[@]}" \
  --start 2020-06-01 --end 2020-06-02 --tickets 0
t "tickets too many" 2 "--tickets: '100001'" -- "${A[@]}" --start 2020-06-01 --end 2020-06-02 \
  --tickets 100001
t "tickets not a number" 2 "--tickets: 'ten'" -- "${A[@]}" --start 2020-06-01 --end 2020-06-02 \
  --tickets ten
t "missing --venue" 2 "--venue is required" -- dept apply $N --key dept.key --name y \
  --start 2020-06-01 --end 2020-06-02 --tickets 1 --category z
t "apply by a student key" 1 "DepartmentNotCertified" -- dept apply $N \
  --key "keys/$(SID 9).key" --name y --start 2020-06-01 --end 2020-06-02 --tickets 1 \
  --venue v --category z

# ---- unknown or malformed ids
RND=$(printf '%064d' 7)
t "approve an unknown application" 1 "no transaction $RND" -- admin approve $N --key "$ADMIN" \
  "$RND"
t "approve a malformed id" 2 "is not a transaction id" -- admin approve $N --key "$ADMIN" 12345
t "approve a non-application" 1 "is not an application record" -- admin approve $N \
  --key "$ADMIN" "$DEPT_ID"
t "apply activity 5" 0 "" -- dept apply $N --key dept.key --name 读书分享会2 \
  --start 2020-09-02T19:00+08:00 --end 2020-09-02T21:00+08:00 --venue 图书馆 --tickets 50 \
  --category 讲座
APP5=$(head -1 out)
t "approve more than requested" 2 "--tickets: 51 is more than the 50 tickets requested" -- \
  admin approve $N --key "$ADMIN" "$APP5" --tickets 51
t "approve 0 tickets" 2 "--tickets: '0'" -- admin approve $N --key "$ADMIN" "$APP5" --tickets 0
t "reject an unknown application" 1 "UnknownApplication" -- admin reject $N --key "$ADMIN" \
  "$RND" --reason x
t "certify an unknown department" 1 "UnknownDepartment" -- admin certify $N --key "$ADMIN" \
  "$RND" --approve
t "certify without --reason on reject" 2 "--reject needs --reason" -- admin certify $N \
  --key "$ADMIN" "$DEPT_ID" --reject
t "revoke a malformed ticket" 2 "TXID:INDEX" -- admin revoke $N --key "$ADMIN" "$RND" --reason x
t "revoke an unknown ticket" 1 "UnknownTicket" -- admin revoke $N --key "$ADMIN" "$RND:0" \
  --reason x
t "distribute an unknown application" 1 "is not an approved application" -- dept distribute \
  $N --key dept.key --application "$RND" dA.csv
t "distribute a pending application" 1 "is not an approved application" -- dept distribute \
  $N --key dept.key --application "$APP3" dA.csv
t "unbind an unregistered number" 1 "StudentNotBound" -- admin unbind $N --key "$ADMIN" \
  NOBODY1 --reason x --codes-out nb2.csv
check "refused unbind removed its codes file" [ ! -e nb2.csv ]
t "announce with a bad link" 2 "--link" -- admin announce $N --key "$ADMIN" --title a \
  --text b --link "javascript:alert(1)"
t "announce about an unknown activity" 1 "UnknownApplication" -- admin announce $N \
  --key "$ADMIN" --title a --text b --application "$RND"

# ---- malformed student numbers: reported per line, the others processed
t "dept 2 register" 0 "" -- dept register $N --name 宣传部 --contact c --key-out dept2.key
D2=$(head -1 out)
t "dept 2 certified" 0 "" -- admin certify $N --key "$ADMIN" "$D2" --approve
t "dept 2 apply" 0 "" -- dept apply $N --key dept2.key --name 海报设计 --start 2020-10-01 \
  --end 2020-10-01 --venue 活动室 --tickets 20 --category 文体
APP4=$(head -1 out)
t "dept 2 approved" 0 "" -- admin approve $N --key "$ADMIN" "$APP4"
printf 'sid\n%s\nbad sid\n%s\n"%s"\n2020/0001\n%s\nNOTONROSTER\n%s\n\n# comment\n%s\n' \
  "$(SID 101)" "$(SID 102)" "$(SID 103)" "$(SID 104)" "$(printf 'x%.0s' $(seq 40))" \
  "$(SID 101)" >mixed.csv
t "malformed numbers reported, others processed" 1 "distributed: 4 ticket(s)" -- dept distribute \
  $N --key dept2.key --application "$APP4" mixed.csv
check "line 3 reported" grep -qF "mixed.csv:3: 'bad sid' is not a student number" err
check "line 6 reported" grep -qF "mixed.csv:6: '2020/0001' is not a student number" err
check "line 9 (too long) reported" grep -qF "mixed.csv:9: 'xxxx" err
check "repeated number reported" grep -qF "mixed.csv:12: student number $(SID 101) is repeated" err
check "unknown number skipped" grep -q "NOTONROSTER *unknown student number" out
t "distribute with another department's key" 1 "belongs to department key" -- dept distribute \
  $N --key dept.key --application "$APP4" mixed.csv
printf 'sid\nA 1\n2020-01\n' >bad_roster.csv
t "roster import reports malformed lines, records the rest" 1 "1 malformed" -- admin roster \
  import $N --key "$ADMIN" --generation 2 bad_roster.csv --codes-out c3.csv
check "roster line 2 reported" grep -qF "bad_roster.csv:2: 'A 1' is not a student number" err
check "roster: the good one recorded" [ "$(tail -n +2 c3.csv | cut -d, -f1)" = 2020-01 ]
t "roster again in the same generation" 1 "DuplicateRosterEntry" -- admin roster import $N \
  --key "$ADMIN" --generation 2 bad_roster.csv --codes-out c4.csv
t "roster of an empty file" 1 "lists no student number" -- admin roster import $N \
  --key "$ADMIN" --generation 3 /dev/null --codes-out c5.csv
t "codes file is never replaced silently" 3 "already exists" -- admin roster import $N \
  --key "$ADMIN" --generation 3 roster.csv --codes-out codes.csv

# ---- students
t "wrong activation code" 1 "BadActivationCode" -- student register $N --sid 2020-01 \
  --code AAAA-BBBB-CCCC-DDDD --key-out w.key
check "no key file left behind" [ ! -e w.key ]
t "number already registered" 1 "StudentAlreadyBound" -- student register $N --sid "$(SID 7)" \
  --code "$(code_of "$(SID 7)")" --key-out w2.key
t "number not on the roster" 1 "StudentNotOnRoster" -- student register $N --sid NOPE \
  --code x --key-out w3.key
t "malformed student number" 2 "is not a student number" -- student register $N --sid "a b" \
  --code x --key-out w4.key
t "tickets of an unknown number" 1 "neither on the roster nor registered" -- student tickets $N \
  NOPE
t "tickets of a malformed number" 2 "is not a student number" -- student tickets $N "../x"
t "duplicate department name" 1 "DuplicateDepartment" -- dept register $N --name " 学习部 " \
  --contact c --key-out dup.key
check "refused department leaves no key file" [ ! -e dup.key ]

# ---- more usage errors (exit 2, or 3 for files), closing rules
t "batch 0" 2 "--batch: '0'" -- dept distribute $N --key dept2.key --application "$APP4" \
  --batch 0 mixed.csv
t "batch too big" 2 "--batch: '1000'" -- dept distribute $N --key dept2.key \
  --application "$APP4" --batch 1000 mixed.csv
t "distribute a missing file" 3 "nosuch.csv" -- dept distribute $N --key dept2.key \
  --application "$APP4" nosuch.csv
t "generation 0" 2 "--generation: '0'" -- admin roster import $N --key "$ADMIN" --generation 0 \
  r2.csv --codes-out c6.csv
t "roster without --codes-out" 2 "--codes-out FILE are required" -- admin roster import $N \
  --key "$ADMIN" --generation 4 r2.csv
t "roster: unknown action" 2 "unknown action 'export'" -- admin roster export $N \
  --key "$ADMIN" r2.csv
t "certify: both decisions" 2 "exactly one of --approve and --reject" -- admin certify $N \
  --key "$ADMIN" "$D2" --approve --reject --reason x
t "revoke without --reason" 2 "--reason TEXT is required" -- admin revoke $N --key "$ADMIN" \
  "$TK1"
t "revoke: index with a leading zero" 2 "TXID:INDEX (the index)" -- admin revoke $N \
  --key "$ADMIN" "$TX1:01" --reason x
t "unbind a malformed number" 2 "is not a student number" -- admin unbind $N --key "$ADMIN" \
  "a/b" --reason x --codes-out nb3.csv
t "report: bad --sort" 2 "--sort: 'name'" -- admin report $N --key "$ADMIN" --sort name
t "report: malformed --activity" 2 "--activity" -- admin report $N --key "$ADMIN" \
  --activity xyz
t "close another department's activity" 1 "NotAllowed" -- dept close $N --key dept2.key \
  --application "$APP2"
t "close an unknown application" 1 "UnknownApplication" -- dept close $N --key dept.key \
  --application "$RND"
t "close twice" 1 "AlreadyClosed" -- dept close $N --key dept.key --application "$APP"
t "dept register without --contact" 2 "--contact and --key-out are required" -- dept register \
  $N --name 体育部 --key-out x.key
t "dept register over an existing key file" 3 "already exists" -- dept register $N \
  --name 体育部 --contact c --key-out dept.key
t "student code from empty stdin" 3 "nothing on standard input" -- student register $N \
  --sid "$(SID 8)" --code - --key-out w5.key </dev/null
t "name with a control character" 2 "control character" -- dept apply $N --key dept.key \
  --name "$(printf 'a\tb')" --start 2020-06-01 --end 2020-06-02 --venue v --tickets 1 \
  --category c

# ---- usage and the node's reachability
t "missing --key" 2 "--key KEYFILE is required" -- admin approve $N "$APP"
echo 'not json' >bad.key
t "bad key file" 1 "is not valid JSON" -- admin approve $N --key bad.key "$APP"
t "bad node URL" 2 "--node" -- student tickets --node ftp://x "$(SID 1)"
t "unknown subcommand" 2 "unknown subcommand" -- admin frobnicate
DEAD=http://127.0.0.1:1
t "node unreachable: admin" 4 "node unreachable" -- admin certify --node $DEAD --key "$ADMIN" \
  "$DEPT_ID" --approve
t "node unreachable: dept distribute" 4 "node unreachable" -- dept distribute --node $DEAD \
  --key dept.key --application "$APP" dA.csv
t "node unreachable: student" 4 "http://127.0.0.1:1" -- student tickets --node $DEAD "$(SID 1)"
t "node unreachable: register keeps nothing it cannot vouch for" 4 "node unreachable" -- \
  student register --node $DEAD --sid "$(SID 8)" --code x --key-out u.key
t "node unreachable: report" 4 "node unreachable" -- admin report --node $DEAD --key "$ADMIN"
alive "negative cases"
NEGATIVE=$((pass + fail - POSITIVE))

# ---- the ledger still verifies
stop_node
t "ledger verifies after everything" 0 "" -- verify --data "$D"

echo "staff_cli: $pass passed, $fail failed (positive $POSITIVE, negative $NEGATIVE; $(($(date +%s) - START)) s)"
[ "$fail" = 0 ]
