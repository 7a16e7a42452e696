#!/bin/bash
# Installs what LTDRS needs and is missing, on Debian 12 as root.
#   deps.sh build   compiler and libraries
#   deps.sh test    + test tools (clang for fuzz corpora, node + npm packages from the lockfile,
#                   etcd, chromium)
set -eu
cd "$(dirname "$0")/.."
want=(gcc make pkg-config libsodium-dev libssl-dev libjansson-dev libsqlite3-dev
      libmicrohttpd-dev libcurl4-openssl-dev curl)
if [ "${1:-build}" = test ]; then
  want+=(clang libclang-rt-14-dev etcd-server etcd-client chromium fonts-noto-cjk cppcheck clang-tidy clang-format)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-build}" = test ] && [ -f tests/js/package-lock.json ]; then
  if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
    echo "deps: npm ci (tests/js)"
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
if [ -x scripts/web-vendor.sh ]; then
  bash scripts/web-vendor.sh
fi
exit 0
