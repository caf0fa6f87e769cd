#!/bin/sh
# An exec that keeps the pid (wrapper scripts, env, pyenv shims) is the same
# process going on and stays profiled; a program a child execs is profiled
# only with --follow; short-lived subshells leave no report.
set -e
DP="$ROOT/$BUILD/drainprof"
count() { ls "$1" 2>/dev/null | grep -c "^drainprof\.$2\." || true; }
"$DP" --no-summary --dir "$WORK/chain" -- sh -c 'exec /usr/bin/python3 -c "x = [bytes(100) for i in range(1000)]"'
[ "$(count "$WORK/chain" python3)" = 1 ] || { echo "FAIL: exec in the same process not followed"; ls "$WORK/chain"; exit 1; }
"$DP" --no-summary --dir "$WORK/child" -- sh -c '/usr/bin/python3 -c "x = 1"; a=$(echo sub); echo "$a" > /dev/null'
[ "$(count "$WORK/child" python3)" = 0 ] || { echo "FAIL: a child's exec was profiled without --follow"; ls "$WORK/child"; exit 1; }
[ "$(ls "$WORK/child" | wc -l)" -le 1 ] || { echo "FAIL: subshells left reports"; ls "$WORK/child"; exit 1; }
"$DP" --no-summary --follow --dir "$WORK/follow" -- sh -c '/usr/bin/python3 -c "x = 1"; true'
[ "$(count "$WORK/follow" python3)" = 1 ] || { echo "FAIL: --follow did not profile the child"; ls "$WORK/follow"; exit 1; }
echo "exec chain followed, child exec only with --follow"
