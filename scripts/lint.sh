#!/bin/bash
# make lint: formatting, banned functions, cppcheck and clang-tidy on the sources.
# Zero findings or a non-zero exit.
set -u
cd "$(dirname "$0")/.."
rc=0
SRC=$(ls src/*.c src/*.h)
ALL=$(ls src/*.c src/*.h tests/*.c tests/*.h fuzz/*.c bench/*.c 2>/dev/null)
for t in clang-format cppcheck clang-tidy; do
  command -v $t >/dev/null || { echo "lint: installing $t"; apt-get install -y -qq ${t/cppcheck/cppcheck} >/dev/null 2>&1 || apt-get install -y -qq clang-tools >/dev/null 2>&1; }
done

echo "== clang-format"
if ! clang-format --dry-run --Werror $ALL 2>/tmp/ltdrs-format.txt; then
  grep -c "warning" /tmp/ltdrs-format.txt | sed 's/^/  findings: /'; head -20 /tmp/ltdrs-format.txt; rc=1
fi

echo "== banned functions"
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|rand|srand)\s*\(' $ALL | grep -vE '\b(snprintf|vsnprintf)\s*\(' | grep -v 'lint-ok'; then
  rc=1
fi
if grep -n 'FIXME' $ALL; then rc=1; fi

echo "== cppcheck"
if ! cppcheck -q --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
     --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Isrc src/*.c 2>&1; then
  rc=1
fi

echo "== clang-tidy"
CHECKS='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,-clang-analyzer-security.insecureAPI.strcpy,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions,-bugprone-reserved-identifier,-bugprone-assignment-in-if-condition,-bugprone-branch-clone,-bugprone-macro-parentheses,-bugprone-implicit-widening-of-multiplication-result,-bugprone-suspicious-string-compare,-bugprone-not-null-terminated-result,-bugprone-signal-handler'
FLAGS="-std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags libsodium libcrypto sqlite3 jansson libmicrohttpd libcurl 2>/dev/null)"
out=$(clang-tidy --quiet -checks="$CHECKS" --warnings-as-errors='*' src/*.c -- $FLAGS 2>&1)
if echo "$out" | grep -qE 'warning:|error:'; then
  echo "$out" | grep -E 'warning:|error:' | head -40; rc=1
fi
[ $rc -eq 0 ] && echo "lint: 0 findings"
exit $rc
