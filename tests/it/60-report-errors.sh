#!/bin/sh
# Input handling: a cut report is read up to its last whole line with one
# warning line and exit 0; garbage, a wrong format, no header or a missing
# file give one error line on stderr, nothing on stdout and exit 2; random
# damage to a valid report never crashes the tool (exit 0 or 2 only);
# directories and --pid select the right processes.
set -e
TOOL="$ROOT/$BUILD/drainprof-report"
D="$ROOT/tests/data/reports"
fail=0
lines() { wc -l < "$1" | tr -d ' '; }

# Cut mid-line: warning + exit 0, and every whole snapshot line is counted.
rc=0; "$TOOL" --json "$D/cut-mid-line.jsonl" > cut.json 2> cut.err || rc=$?
whole=$(python3 -c 'import sys; d=open(sys.argv[1]).read(); print(sum(1 for l in d.split("\n")[:-1] if "\"type\":\"snapshot\"" in l))' "$D/cut-mid-line.jsonl")
got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["snapshots"], d["process"]["cut"])' cut.json)
echo "cut: exit $rc, stderr $(lines cut.err) line(s), snapshots/cut $got (whole snapshot lines: $whole)"
[ $rc -eq 0 ] && [ "$(lines cut.err)" = 1 ] && grep -q "cut" cut.err && [ "$got" = "$whole True" ] || { echo FAIL cut; fail=1; }

# Errors: exit 2, exactly one line on stderr, empty stdout.
for f in "$D/bad/garbage.jsonl" "$D/bad/wrong-schema.jsonl" "$D/bad/no-header.jsonl" "$WORK/missing.jsonl" /dev/null; do
  for opt in "" --json --prometheus; do
    rc=0; "$TOOL" $opt "$f" > out 2> err || rc=$?
    if [ $rc -ne 2 ] || [ "$(lines err)" != 1 ] || [ -s out ]; then
      echo "FAIL $f $opt: exit $rc, stderr:"; cat err; fail=1
    fi
  done
  echo "$(basename "$f"): $(cat err)"
done
rc=0; "$TOOL" --html "$WORK/x.html" "$D/bad/garbage.jsonl" 2> err || rc=$?
[ $rc -eq 2 ] && [ ! -e "$WORK/x.html" ] || { echo "FAIL --html on garbage: exit $rc"; fail=1; }

# Fields of the wrong JSON type count as absent: a summary, not a crash.
rc=0; "$TOOL" --json "$D/wrong-types.jsonl" > wt.json 2> err || rc=$?
[ $rc -eq 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["process"]["pid"] is None and d["snapshots"] == 1, d' wt.json \
  || { echo "FAIL wrong-types: exit $rc"; cat err; fail=1; }

# Random damage: truncations, flipped bytes, spliced lines. Exit 0 or 2 only.
python3 - "$D/leak-growing.jsonl" <<'PY'
import random, sys
src = open(sys.argv[1], "rb").read()
rnd = random.Random(60)
for i in range(150):
    b = bytearray(src[: rnd.randrange(1, len(src))] if i % 3 == 0 else src)
    for _ in range(rnd.randrange(1, 20)):
        p = rnd.randrange(len(b))
        b[p] = rnd.choice([0, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x0a, 0xff, rnd.randrange(256)])
    open("mut%03d.jsonl" % i, "wb").write(bytes(b))
PY
bad=0
for m in mut*.jsonl; do
  rc=0; "$TOOL" --json "$m" > /dev/null 2> err || rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then echo "FAIL $m: exit $rc"; cat err; bad=1; fi
  if [ $rc -eq 2 ] && [ "$(lines err)" != 1 ]; then echo "FAIL $m: $(lines err) stderr lines"; bad=1; fi
done
[ $bad -eq 0 ] && echo "150 damaged reports: exit 0 or 2 each" || fail=1

# The fuzzer's seeds (tests/data/fuzz: extreme figures, damaged reports)
# render in every format with exit 0 or 2 only.
for seed in "$ROOT"/tests/data/fuzz/*; do
  for opt in "" --json --prometheus "--html $WORK/seed.html"; do
    rc=0; "$TOOL" $opt "$seed" > /dev/null 2> err || rc=$?
    if { [ $rc -ne 0 ] && [ $rc -ne 2 ]; } || grep -q "runtime error\|Sanitizer" err; then
      echo "FAIL $seed $opt: exit $rc"; cat err; fail=1
    fi
  done
done
echo "fuzz seeds: done"

# A directory: one summary per *.jsonl; --pid picks one; an unknown pid fails.
nfiles=$(ls "$D"/*.jsonl | wc -l)
"$TOOL" --json --no-symbols "$D" > dir.json 2> /dev/null
python3 - dir.json "$nfiles" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == int(sys.argv[2]), (type(d), len(d))
print("directory: %d summaries for %s files" % (len(d), sys.argv[2]))
PY
"$TOOL" --json --no-symbols --pid 7001 "$D" > pid.json 2> /dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["process"]["pid"] == 7001, d["process"]; print("--pid 7001: ok")' pid.json || fail=1
rc=0; "$TOOL" --pid 999999 "$D" > out 2> err || rc=$?
[ $rc -eq 2 ] && grep -q "no report for pid 999999 (pids found:.* 7001" err || { echo "FAIL unknown pid: exit $rc"; cat err; fail=1; }
exit $fail
