#!/bin/bash
# 05_cli.sh - end-to-end tests of the offline CLI: `ltdrs keygen` and
# `ltdrs tx create|transfer|sign|verify`, against the built binary.
#
# LTDRS_BIN picks the binary (default build/ltdrs; e.g. build/san/ltdrs to
# run under ASan+UBSan, where a leak turns into a wrong exit code).
# The documented vectors (protocol doc §3.8 keys, §6.4 worked example, the
# 2-of-2 pair) reproduce exactly because Ed25519 signing is deterministic.
# Tampering that must keep a valid id (a bad signature) recomputes the id
# with node or python3.
set -u
cd "$(dirname "$0")/../.."
BIN=${LTDRS_BIN:-build/ltdrs}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "cli: no binary $BIN (run make all)" >&2; exit 1; }
# Under ASan a leak would exit 1, which is also "invalid": give it its own code.
export ASAN_OPTIONS="exitcode=86:${ASAN_OPTIONS:-}"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0
fail=0

ok() { pass=$((pass + 1)); }
no() {
  fail=$((fail + 1))
  echo "FAIL: $*" >&2
  [ -s out ] && sed 's/^/    stdout: /' out | head -5 >&2
  [ -s err ] && sed 's/^/    stderr: /' err | head -5 >&2
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

# check NAME CONDITION...: a plain assertion.
check() {
  local name=$1
  shift
  if "$@"; then ok; else no "$name"; fi
}

txid() { sed -n 's/.*"id":\("[0-9a-f]*"\|null\),"inputs".*/\1/p' "$1" | tr -d '"'; }

# Flips one bit of the Ed25519 signature in inputs[0] and recomputes the id,
# so only the signature is wrong.
tamper_sig() {
  if command -v node >/dev/null 2>&1; then
    node -e '
      const fs = require("fs"), crypto = require("crypto");
      const tx = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const canon = v => Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
        : (v && typeof v === "object") ? "{" + Object.keys(v).sort().map(k =>
            JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}" : JSON.stringify(v);
      const der = Buffer.from(tx.inputs[0].fulfillment, "base64url");
      der[der.length - 10] ^= 1;
      tx.inputs[0].fulfillment = der.toString("base64url");
      tx.id = null;
      tx.id = crypto.createHash("sha3-256").update(canon(tx)).digest("hex");
      process.stdout.write(canon(tx) + "\n");' "$1" >"$2"
  else
    python3 -c '
import base64, hashlib, json, sys
tx = json.load(open(sys.argv[1]))
f = tx["inputs"][0]["fulfillment"]
der = bytearray(base64.urlsafe_b64decode(f + "=" * (-len(f) % 4)))
der[-10] ^= 1
tx["inputs"][0]["fulfillment"] = base64.urlsafe_b64encode(bytes(der)).decode().rstrip("=")
c = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
tx["id"] = None
tx["id"] = hashlib.sha3_256(c(tx).encode()).hexdigest()
sys.stdout.write(c(tx) + "\n")' "$1" >"$2"
  fi
}

# ---- keys from protocol doc §3.8 ----
ALICE=4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD
BOB=3yfQPHeWAa1MxTX9Zf9176QqcpcnWcanVZZbaHb8B3h9
CAROL=3Af3fhhjU6d9WecEM9Uw5hfom9kNEwE7YuDWdqAUssqm
(umask 077
 printf '{"public_key":"%s","private_key":"%s"}\n' $ALICE CfdqtD7sS7FgkMoGPXw55MVGGFwQLAoHYTcBhZDtF99Z >alice.json
 printf '{"public_key":"%s","private_key":"%s"}\n' $BOB 3AeWpPdhEZzWLYfkfYHBfMFC2r1f8HEaGS9NtbbKssya >bob.json
 printf '{"public_key":"%s","private_key":"%s"}\n' $CAROL sG3jWDtdTXUidBJK53ucSTrosktG616U3tQHBk81eQe >carol.json)

# ================================================================ positive

# -- top level
t "--help" 0 "keygen" -- --help
t "--version" 0 "ltdrs " -- --version
t "help tx" 0 "verify" -- help tx
for s in create transfer sign verify; do
  t "tx $s --help" 0 "usage: ltdrs tx $s" -- tx $s --help
done

# -- keygen
t "keygen to stdout" 0 '"private_key":"' -- keygen
check "keygen stdout has public_key" grep -q '^{"public_key":"[1-9A-HJ-NP-Za-km-z]\{43,44\}","private_key":"[1-9A-HJ-NP-Za-km-z]\{43,44\}"}$' out
t "keygen --out" 0 "" -- keygen --out k1.json
PK1=$(cat out)
check "keygen file mode 0600" [ "$(stat -c %a k1.json)" = 600 ]
t "keygen --public-only" 0 "$PK1" -- keygen --public-only k1.json
check "keygen --public-only prints only the key" [ "$(cat out)" = "$PK1" ]
t "keygen --public-only of a doc key" 0 "$ALICE" -- keygen --public-only alice.json
t "keygen --force replaces" 0 "" -- keygen --out k1.json --force
check "keygen --force made a new key" [ "$(cat out)" != "$PK1" ]

# -- the documented vector (protocol doc §6.4)
t "vector CREATE" 0 "" -- tx create --key alice.json --asset '{"msg":"Hello BigchainDB!"}' \
  --metadata '{"sequence":0}' --out c.json
check "vector CREATE id" [ "$(txid c.json)" = 4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317 ]
t "vector CREATE verifies" 0 "ok 4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317" -- tx verify c.json
t "vector TRANSFER" 0 "" -- tx transfer --input c.json:0 --to $BOB --metadata '{"sequence":1}' \
  --key alice.json --out t.json
check "vector TRANSFER id" [ "$(txid t.json)" = 79ef6803210c941903d63d08b40fa17f0a5a04f11ac0ff04451553a187d97a30 ]
t "vector TRANSFER verifies with --input-tx" 0 "ok 79ef6803" -- tx verify --input-tx c.json t.json
t "TRANSFER verify without --input-tx lists skipped checks" 0 "not checked without --input-tx" -- tx verify t.json
t "vector bob->carol" 0 "" -- tx transfer --input t.json --to $CAROL --metadata '{"sequence":2}' --key bob.json --out t2.json
check "vector bob->carol id" [ "$(txid t2.json)" = 1fec726a3b426498147f1a1f19a92c187d551a7f66db4b88d666d7dcc10e86a4 ]
t "verify from stdin" 0 "ok 1fec726a" -- tx verify --input-tx t.json - <t2.json

# -- unsigned CREATE, then signed with tx sign: same id as signing directly
t "create --unsigned" 0 "" -- tx create --key alice.json --asset '{"msg":"Hello BigchainDB!"}' \
  --metadata '{"sequence":0}' --unsigned --out u.json
check "unsigned CREATE has id null" [ "$(txid u.json)" = null ]
t "sign the unsigned CREATE" 0 "" -- tx sign --key alice.json --out us.json u.json
check "signed later = signed at once" cmp -s us.json c.json

# -- Chinese text in asset and metadata (raw UTF-8 in the canonical form)
t "create with Chinese text" 0 "" -- tx create --key alice.json \
  --asset '{"课程":"数据库系统","讲":"第三讲：事务"}' --metadata '{"座位":"A-12","备注":"前排"}' --out zh.json
check "Chinese text kept raw" grep -qF '"课程":"数据库系统"' zh.json
t "Chinese CREATE verifies" 0 "ok $(txid zh.json)" -- tx verify zh.json
printf '{"说明":"文件里的元数据"}' >zh-meta.json
t "metadata from @file" 0 "" -- tx create --key alice.json --metadata @zh-meta.json --out zh2.json
t "metadata from @file verifies" 0 "ok" -- tx verify zh2.json

# -- amounts: CREATE of 5 to alice, split 2 to bob + the rest to alice
t "create amount 5" 0 "" -- tx create --key alice.json --to $ALICE:5 --out c5.json
t "transfer split" 0 "" -- tx transfer --input c5.json --to $BOB:2 --to $ALICE --key alice.json --out t5.json
check "split amounts 2 and 3" grep -q '"amount":"2".*"amount":"3"' t5.json
t "split transfer verifies" 0 "ok" -- tx verify --input-tx c5.json t5.json

# -- 2-of-2 threshold (doc §3.8 pair)
t "create to 2-of-2" 0 "" -- tx create --key alice.json --asset '{"msg":"threshold demo"}' \
  --to-threshold 2:$ALICE,$BOB --out th.json
check "2-of-2 CREATE id" [ "$(txid th.json)" = 6d2d45a6094408f229536fc14e03b6c8301194a344a1485af271b8c7327ad2f8 ]
t "transfer signed by alice only" 0 "inputs still incomplete" -- tx transfer --input th.json --to $CAROL \
  --key alice.json --out p.json
check "partial transfer has id null" [ "$(txid p.json)" = null ]
t "verify reports incomplete" 1 "incomplete: inputs[0] needs more signatures (not yet signed by: $BOB)" -- \
  tx verify --input-tx th.json p.json
t "bob co-signs" 0 "" -- tx sign --key bob.json --input-tx th.json --out ps.json p.json
check "co-signed transfer id" [ "$(txid ps.json)" = 9132d8fc0eba6336e2eaaf9dc1490aeada20b702d6a02e3748bbe081753548b3 ]
t "co-signed transfer verifies" 0 "ok 9132d8fc" -- tx verify --input-tx th.json ps.json
t "both keys at once" 0 "" -- tx transfer --input th.json --to $CAROL --key bob.json --key alice.json --out pb.json
check "both keys at once = co-signed" cmp -s pb.json ps.json
t "sign from stdin to stdout" 0 '"id":"9132d8fc' -- tx sign --key bob.json --input-tx th.json - <p.json

# ================================================================ negative

# -- command line
t "unknown command" 2 "unknown command 'frobnicate'" -- frobnicate
t "no command" 2 "usage: ltdrs" --
t "unknown tx subcommand" 2 "unknown subcommand 'mint'" -- tx mint
t "help for unknown command" 2 "unknown command" -- help frobnicate
t "unknown option" 2 "unknown option '--colour'" -- tx create --key alice.json --colour
t "option missing its value" 2 "needs a value" -- tx create --key
t "string option twice" 2 "given twice" -- tx create --key alice.json --out a --out b
t "flag with a value" 2 "takes no value" -- tx create --key alice.json --unsigned=yes
t "create without --key" 2 "--key KEYFILE is required" -- tx create
t "transfer without --to" 2 "required" -- tx transfer --input c.json
t "keygen --force without --out" 2 "--force needs --out" -- keygen --force
t "verify with two files" 2 "unexpected argument" -- tx verify c.json t.json

# -- keys
t "keygen refuses to overwrite" 3 "already exists" -- keygen --out k1.json
check "refused keygen left the file" grep -q private_key k1.json
printf '{"public_key":"%s","private_key":"CfdqtD7sS7FgkMoGPXw55MVGGFwQLAoHYTcBhZDtF99Z"}' $BOB >mixed.json
chmod 600 mixed.json
t "key file with mismatched public_key" 1 "public_key does not match private_key" -- tx create --key mixed.json
printf '{"public_key":"%s"}' $ALICE >pub-only.json
t "signing with a public-only key file" 1 "has no private_key" -- tx create --key pub-only.json
printf '{"private_key":"0OIl"}' >badkey.json
t "key file with bad base58" 1 "private_key is not a base58" -- tx create --key badkey.json
t "missing key file" 3 "open 'nokey.json' failed" -- tx create --key nokey.json
t "wrong key for sign" 1 "owns no input" -- tx sign --key carol.json u.json
t "wrong key for transfer" 1 "owns no input" -- tx transfer --input c.json --to $BOB --key bob.json

# -- arguments
t "--to with bad base58 names the option" 2 "--to: '0OIl' is not a base58" -- tx create --key alice.json --to 0OIl
t "--to with a short key" 2 "--to: " -- tx create --key alice.json --to 3yfQPHeWAa1MxTX9
t "--to with amount 0" 2 "amount '0'" -- tx create --key alice.json --to $BOB:0
t "--to with amount leading zero" 2 "amount '01'" -- tx create --key alice.json --to $BOB:01
t "--to with amount above 9e18" 2 "amount '9000000000000000001'" -- tx create --key alice.json --to $BOB:9000000000000000001
t "--to-threshold M > N" 2 "threshold 3 exceeds the 2 keys" -- tx create --key alice.json --to-threshold 3:$ALICE,$BOB
t "--to-threshold key twice" 2 "listed twice" -- tx create --key alice.json --to-threshold 1:$ALICE,$ALICE
t "--to-threshold without M" 2 "--to-threshold: " -- tx create --key alice.json --to-threshold $ALICE,$BOB
t "--metadata {}" 1 "--metadata: {} is refused" -- tx create --key alice.json --metadata '{}'
t "--asset not an object" 1 "--asset: must be a JSON object or null" -- tx create --key alice.json --asset '[1]'
t "--asset malformed JSON names the position" 1 "at byte 6" -- tx create --key alice.json --asset '{"a": tru}'
t "--asset duplicate key" 1 "--asset: Failed to decode JSON object" -- tx create --key alice.json --asset '{"a":1,"a":2}'
t "--asset with a forbidden key name" 1 "ValidationError" -- tx create --key alice.json --asset '{"a.b":1}'
t "--asset @missing" 3 "open 'nothere.json' failed" -- tx create --key alice.json --asset @nothere.json
t "amounts do not balance" 2 "amounts do not balance: the inputs hold 5, the outputs give 4" -- \
  tx transfer --input c5.json --to $BOB:4 --key alice.json
t "two outputs without amount" 2 "only one output may leave out its amount" -- \
  tx transfer --input c5.json --to $BOB --to $ALICE --key alice.json
t "input index out of range" 2 "no output 3" -- tx transfer --input c.json:3 --to $BOB
t "same output twice" 2 "already spent by an earlier --input" -- tx transfer --input c.json --input c.json:0 --to $BOB:2
t "inputs of two assets" 1 "AssetIdMismatch" -- tx transfer --input c.json --input c5.json --to $BOB:6
t "spending an unsigned transaction" 1 "InvalidHash" -- tx transfer --input u.json --to $BOB
t "missing --input file" 3 "open 'gone.json' failed" -- tx transfer --input gone.json:0 --to $BOB

# -- sign
t "sign TRANSFER without --input-tx" 2 "spends transaction 6d2d45a6094408f229536fc14e03b6c8301194a344a1485af271b8c7327ad2f8 (output 0): give it with --input-tx" -- \
  tx sign --key bob.json p.json
t "sign without --key" 2 "--key KEYFILE is required" -- tx sign p.json
t "sign a missing file" 3 "open 'none.json' failed" -- tx sign --key bob.json none.json

# -- verify
sed 's/"amount":"1"/"amount":"2"/' c.json >amount.json
t "tampered amount" 1 "invalid (InvalidHash): The transaction's id '4957744b" -- tx verify amount.json
if tamper_sig c.json sig.json && [ -s sig.json ]; then
  t "tampered signature (CREATE)" 1 "invalid (InvalidSignature): Transaction signature is invalid." -- tx verify sig.json
else
  no "tamper_sig needs node or python3"
fi
if tamper_sig t.json tsig.json && [ -s tsig.json ]; then
  t "tampered signature (TRANSFER)" 1 "invalid (InvalidSignature)" -- tx verify --input-tx c.json tsig.json
  t "tampered signature (TRANSFER, no --input-tx)" 1 "invalid (InvalidSignature)" -- tx verify tsig.json
else
  no "tamper_sig needs node or python3"
fi
printf '{"id":null,\n  "version": "2.0",,}' >bad.json
t "malformed JSON names the position" 1 "invalid (JSONError): Failed to decode JSON object: at byte 31" -- tx verify bad.json
sed 's/"version":"2.0"/"version":"1.0"/' c.json >ver.json
t "schema error" 1 "invalid (" -- tx verify ver.json
t "verify a missing file" 3 "open 'absent.json' failed" -- tx verify absent.json
t "verify with a missing --input-tx" 3 "open 'absent.json' failed" -- tx verify --input-tx absent.json t.json
t "verify with a broken --input-tx" 1 "--input-tx 'amount.json'" -- tx verify --input-tx amount.json t.json
t "verify partial TRANSFER without --input-tx" 1 "incomplete: inputs[0] has 1 signature(s)" -- tx verify p.json
t "verify unsigned CREATE" 1 "incomplete: inputs[0] is not signed" -- tx verify u.json
head -c 1100000 /dev/zero | tr '\0' ' ' >big.json
t "verify a too large file" 1 "more than the limit of 1048576" -- tx verify big.json

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
