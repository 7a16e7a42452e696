#!/bin/bash
# Runs each unit-test binary given as an argument; prints a total line.
set -u
pass=0; fail=0; failed_bins=()
for b in "$@"; do
  out=$("$b" 2>&1); rc=$?
  echo "$out" | tail -n 30
  line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  [ -n "$p" ] && pass=$((pass + p)); [ -n "$f" ] && fail=$((fail + f))
  if [ $rc -ne 0 ]; then failed_bins+=("$b"); [ -z "$line" ] && fail=$((fail + 1)); fi
done
echo "unit: $pass passed, $fail failed"
[ ${#failed_bins[@]} -eq 0 ] || { echo "failing: ${failed_bins[*]}"; exit 1; }
