#!/bin/bash
# The web pages in a real browser: Debian's chromium driven by playwright-core
# (tests/js/browser.js) through the seed's story against a fresh node.
# Screenshots of every screen (zh/en, desktop/phone) go to build/screenshots/
# (or $LTDRS_SCREENSHOTS); they are not committed.
set -u
cd "$(dirname "$0")/../.."
BIN=${LTDRS_BIN:-build/ltdrs}
fail() { echo "browser: 0 passed, 1 failed"; echo "browser: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "browser: installing chromium"
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null ||
    fail "cannot install chromium"
fi
# CJK glyphs for readable screenshots (the test itself does not need them).
if ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed"; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 ||
    echo "browser: fonts-noto-cjk not installed; Chinese screenshots may show boxes" >&2
fi
bash scripts/web-vendor.sh || fail "web-vendor.sh failed"
if [ ! -d tests/js/node_modules/playwright-core ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in tests/js failed"
fi
[ -x "$BIN" ] || fail "no $BIN (run make first)"

T=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$BIN" init --data "$T/d" >/dev/null || fail "ltdrs init failed"
"$BIN" serve --data "$T/d" --listen 127.0.0.1:$PORT --web web >"$T/log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/v1/" >/dev/null && break; sleep 0.05; done
export LTDRS_SCREENSHOTS=${LTDRS_SCREENSHOTS:-build/screenshots}
mkdir -p "$LTDRS_SCREENSHOTS"
timeout 420 node tests/js/browser.js "http://127.0.0.1:$PORT" "$T/d"
rc=$?
if [ $rc -eq 124 ]; then echo "browser: 0 passed, 1 failed"; echo "browser: timed out" >&2; fi
[ $rc -ne 0 ] && tail -20 "$T/log"
exit $rc
