#!/bin/bash
# Installs the browser libraries of the web pages from web/package-lock.json (npm ci, no
# install scripts) and copies exactly the files the pages load into web/vendor/ (git-ignored),
# which the node serves under /static/vendor/.  No build step: the files are copied as
# published.  Runs npm only when web/node_modules is missing or older than the lockfile.
#   scripts/web-vendor.sh
set -eu
cd "$(dirname "$0")/../web"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "web-vendor: npm ci (web)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
# destination <- source (relative to node_modules)
files=(
  "bigchaindb-driver.window.min.js:bigchaindb-driver/dist/browser/bigchaindb-driver.window.min.js"
  "sha3.min.js:js-sha3/build/sha3.min.js"
  "qrcode.mjs:qrcode-generator/dist/qrcode.mjs"
  "LICENSE-bigchaindb-driver.txt:bigchaindb-driver/LICENSE"
  "LICENSE-js-sha3.txt:js-sha3/LICENSE.txt"
)
mkdir -p vendor.tmp
for f in "${files[@]}"; do
  dst=${f%%:*} src=node_modules/${f#*:}
  [ -f "$src" ] || { echo "web-vendor: missing $src" >&2; exit 1; }
  cp "$src" "vendor.tmp/$dst"
done
# The driver bundle ends with a sourceMappingURL comment; the map is not shipped (2 MB).
sed -i '/^\/\/# sourceMappingURL=/d' vendor.tmp/bigchaindb-driver.window.min.js
rm -rf vendor
mv vendor.tmp vendor
exit 0
