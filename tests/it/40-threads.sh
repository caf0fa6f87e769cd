#!/bin/sh
# Many threads on every allocation entry point at once, blocks freed and
# realloc'd by other threads than their allocator, then 3000 short-lived
# threads that allocate once more from a key destructor run after the
# library's exit handler (each still one thread seen), with the sampler
# running throughout (its walks with the gate up, on more than one CPU,
# so every call passes it): the program runs as without
# the library, and live bytes follow the program's own figures: the blocks it
# holds at "held", and back to the "start" level at exit once it freed all.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_threads"
for stacks in sample all; do
  mkdir -p "$WORK/$stacks"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0.05 DRAINPROF_STACKS=$stacks \
    "$PROG" 8 3000 > "$WORK/$stacks/out.json" 2> "$WORK/$stacks/err" || rc=$?
  [ "$rc" = 0 ] || { echo "FAIL: exit $rc with stacks=$stacks"; cat "$WORK/$stacks/err"; exit 1; }
  [ -s "$WORK/$stacks/err" ] && { echo "FAIL: stderr:"; cat "$WORK/$stacks/err"; exit 1; }
  python3 - "$WORK/$stacks" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/out.json"))
files = r.reports(d, "life_threads")
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
header, snaps, _, _, end = r.load(files[0])
if end is None:
    r.fail("no end line")
start, held, ex = (r.snapshot(snaps, l) for l in ("start", "held", "exit"))
K = 256 << 10
base = start["heap"]["live_bytes"]
ok = r.within("live at held - start vs program's blocks", held["heap"]["live_bytes"] - base, truth["held"], 0.01, K)
ok &= r.within("live at exit vs start", ex["heap"]["live_bytes"], base, 0, K)
# Counts only grow; every thread that allocated was seen.
ok &= ex["counts"]["allocs"] >= truth["allocs"] and ex["counts"]["frees"] >= truth["frees"]
print("allocs %d >= %d, frees %d >= %d" % (ex["counts"]["allocs"], truth["allocs"], ex["counts"]["frees"], truth["frees"]))
ok &= r.within("threads seen vs threads run", ex["counts"]["threads_seen"], 1 + truth["workers"] + truth["churn"], 0, 8)
ok &= len([s for s in snaps if s["label"] == "interval"]) >= 1
# The walks ran with the gate up exactly where there is a CPU to spin on
# beside the walk's.
multi = len(os.sched_getaffinity(0)) > 1
if any(s["gate"]["up"] != multi for s in snaps):
    r.fail("gate.up should be %s in every snapshot: %s" % (multi, [s["gate"] for s in snaps]))
sys.exit(0 if ok else 1)
PY
done
