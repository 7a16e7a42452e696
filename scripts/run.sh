#!/bin/bash
# make run: create the ledger on first use, then serve it.
#   scripts/run.sh DATA_DIR LISTEN
set -eu
cd "$(dirname "$0")/.."
DATA=${1:-data}
LISTEN=${2:-127.0.0.1:9984}
if [ ! -f "$DATA/ledger.db" ]; then
  echo "== first run: creating the ledger in $DATA"
  build/ltdrs init --data "$DATA"
  echo
fi
echo "== LTDRS node: http://$LISTEN/  (BigchainDB API: http://$LISTEN/api/v1/)"
echo "   admin key file: $DATA/admin.key (created at init; move it off this server)"
echo "   stop with Ctrl-C"
exec build/ltdrs serve --data "$DATA" --listen "$LISTEN"
