#!/bin/sh
# Exits the profiler does not control: atexit handlers and destructors that
# allocate, free and ask for snapshots during exit with the sampler ticking;
# exit() from a worker thread while others allocate and ask for snapshots;
# an atexit handler that runs after the exit snapshot (registered by a
# library preloaded after ours) asking for one more. The program keeps its
# exit status and output, and leaves exactly one report, closed by its exit
# snapshot and end line, with live bytes following the program's own count.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_exit"
${CC:-cc} -O1 -shared -fPIC -DLIFE_LATE -o "$WORK/late.so" "$ROOT/tests/progs/life_exit.c"
for run in dtors thread late; do
  mode=$run; preload="$LIB"
  [ $run = late ] && { mode=dtors; preload="$LIB $WORK/late.so"; }
  mkdir -p "$WORK/$run"
  prc=0; "$PROG" $mode > "$WORK/$run/plain" || prc=$?
  rc=0
  timeout 20 env LD_PRELOAD="$preload" DRAINPROF_DIR="$WORK/$run" DRAINPROF_INTERVAL=0.05 DRAINPROF_STACKS=all \
    "$PROG" $mode > "$WORK/$run/out" 2> "$WORK/$run/err" || rc=$?
  echo "$run: exit $rc, without the library $prc"
  [ "$rc" = "$prc" ] || { echo "FAIL: exit status"; cat "$WORK/$run/err"; exit 1; }
  [ -s "$WORK/$run/err" ] && { echo "FAIL: stderr:"; cat "$WORK/$run/err"; exit 1; }
  cmp "$WORK/$run/plain" "$WORK/$run/out" || { echo "FAIL: stdout differs"; exit 1; }
  python3 - "$WORK/$run" $mode <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d, mode = sys.argv[1], sys.argv[2]
info = {}
for l in open(d + "/out"):
    info.update(json.loads(l))
files = r.reports(d, "life_exit")
if len(files) != 1:
    r.fail("expected one report, found %s" % [os.path.basename(f) for f in files])
lines = open(files[0]).read().split("\n")
objs = [json.loads(l) for l in lines[:-1]]
if lines[-1] != "" or objs[-1]["type"] != "end":
    r.fail("report does not close with an end line")
snaps = [o for o in objs if o["type"] == "snapshot"]
labels = [s["label"] for s in snaps]
if labels.count("exit") != 1 or labels[-1] != "exit":
    r.fail("want one exit snapshot, the last: %s" % labels[-5:])
print("labels:", sorted(set(labels)))
K = 256 << 10
# In thread mode three threads hold up to ~330 KB of transient blocks.
slack = K if mode == "dtors" else 4 * K
base = r.snapshot(snaps, "start")["heap"]["live_bytes"]
live = lambda label: r.snapshot(snaps, label)["heap"]["live_bytes"] - base
ok = r.within("atexit handler: live - start vs held", live("atexit"), info["main_kept"] + info["atexit_kept"], 0.01, slack)
ok &= r.within("destructor, all freed: live - start", live("late"), 0, 0, slack)
ok &= r.within("exit: live - start", live("exit"), 0, 0, slack)
sys.exit(0 if ok else 1)
PY
done
