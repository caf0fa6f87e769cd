#!/bin/sh
# A program whose brk heap cannot grow (a mapping sits at the break): glibc
# puts the main arena's new memory in mmapped segments, away from [heap].
# The profiled program runs as without the library (same output, status 0),
# and the report either counts what the program holds (its own count,
# within 1%) or says its walk was not complete: never a silent wrong figure.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/brk_barrier"
d="$WORK/run"; mkdir -p "$d"
"$PROG" > "$d/plain.json"
timeout 30 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 "$PROG" > "$d/truth.json"
cmp "$d/plain.json" "$d/truth.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
if not truth["brk_stayed"]:
    print("the break moved past the barrier: nothing to test", file=sys.stderr)
    sys.exit(77)
_, snaps, _, _, end = r.load(r.reports(d, "brk_barrier")[0])
if end is None:
    r.fail("no end line")
heap = r.snapshot(snaps, "held")["heap"]
print("heap:", heap)
if heap["walk_complete"]:
    ok = r.within("live bytes vs the program's", heap["live_bytes"], truth["held"], 0.01, 64 << 10)
else:
    ok = True
    print("walk not complete, and the report says so")
sys.exit(0 if ok else 1)
PY
