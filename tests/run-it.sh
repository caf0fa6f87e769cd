#!/bin/sh
# Runs every integration test (tests/it/*.sh) with a time bound each, and
# closes with one "N passed, N failed" line. A test exits 0 to pass, 77 to
# skip (with its reason on stderr).
BUILD=${BUILD:-build}
export BUILD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
pass=0 failn=0 skip=0 failed=""
for t in "$ROOT"/tests/it/*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  work=$(mktemp -d "/tmp/dp-it-$name.XXXXXX")
  start=$(date +%s)
  ( cd "$work" && WORK="$work" timeout -k 5 300 sh "$t" ) >"$work.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); echo "PASS $name (${secs}s)"; rm -rf "$work" "$work.log"
  elif [ $rc -eq 77 ]; then
    skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$work.log")"; rm -rf "$work" "$work.log"
  else
    failn=$((failn + 1)); failed="$failed $name"
    echo "FAIL $name (exit $rc, ${secs}s); log: $work.log"
    tail -n 30 "$work.log" | sed 's/^/    /'
  fi
done
echo "integration: $pass passed, $failn failed, $skip skipped"
[ $failn -eq 0 ]
