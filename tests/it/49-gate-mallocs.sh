#!/bin/sh
# A main-arena thread that only calls malloc while snapshots walk the main
# arena (tests/progs/gate_mallocs.c): its calls take the shim's full path,
# and while the gate is up they must pass it (heapwalk.h), or they would
# sleep on the arena lock a hold has. The program runs as without the
# library, and with more than one CPU the gate is up in every snapshot and
# some of the thread's mallocs waited at it (gate.waits; nothing else
# allocates or frees during the walks).
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/gate_mallocs"
d="$WORK/run"; mkdir -p "$d"
"$PROG" > "$d/plain.out"
timeout 60 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 "$PROG" > "$d/prof.out" 2> "$d/err"
cmp "$d/plain.out" "$d/prof.out"
python3 - "$d" <<'PY'
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
_, snaps, _, _, end = r.load(r.reports(d, "gate_mallocs")[0])
snaps = [s for s in snaps if s.get("label") == "gate"]
if len(snaps) != 10:
    r.fail("expected 10 'gate' snapshots, found %d" % len(snaps))
if len(os.sched_getaffinity(0)) < 2:
    print("one CPU: the walk never raises the gate", file=sys.stderr)
    sys.exit(77)
gates = [s["gate"] for s in snaps]
print("mallocs:", open(d + "/err").read().strip(), "gate:", gates)
if not all(g["up"] for g in gates):
    r.fail("gate not up in every snapshot: %s" % gates)
if sum(g["waits"] for g in gates) == 0:
    r.fail("no malloc waited at the gate in 10 walks of the arena it allocates from")
sys.exit(0)
PY
