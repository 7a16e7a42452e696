#!/bin/bash
# End-to-end tests that need the built binary, node and services.
set -eu
cd "$(dirname "$0")/.."
rc=0
for t in tests/e2e/*.sh; do
  [ -e "$t" ] || continue
  echo "== $t"
  bash "$t" || rc=1
done
exit $rc
