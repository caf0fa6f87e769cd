#!/bin/sh
# A SIGALRM handler allocating and freeing every millisecond for a second
# while the main thread allocates and takes snapshots, with the sampler at
# 10 ms: no hang (bounded by timeout), no crash, and live bytes follow the
# program's own count.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_signal"
for stacks in all sample; do
  mkdir -p "$WORK/$stacks"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0.01 DRAINPROF_STACKS=$stacks \
    "$PROG" 1 > "$WORK/$stacks/out" 2> "$WORK/$stacks/err" || rc=$?
  [ "$rc" = 0 ] || { echo "FAIL: exit $rc with stacks=$stacks (124 = hung)"; cat "$WORK/$stacks/err"; exit 1; }
  [ -s "$WORK/$stacks/err" ] && { echo "FAIL: stderr:"; cat "$WORK/$stacks/err"; exit 1; }
  python3 - "$WORK/$stacks" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
info = json.load(open(d + "/out"))
print(info)
files = r.reports(d, "life_signal")
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
header, snaps, stacks, modules, end = r.load(files[0])
if end is None:
    r.fail("no end line")
K = 256 << 10
ok = info["fired"] >= 100  # 1 ms timer for 1 s; fewer on a loaded machine
base = r.snapshot(snaps, "start")["heap"]["live_bytes"]
ok &= r.within("held: live - start vs program's blocks", r.snapshot(snaps, "held")["heap"]["live_bytes"] - base,
               info["held"], 0.01, K)
ok &= r.within("exit vs start", r.snapshot(snaps, "exit")["heap"]["live_bytes"], base, 0, K)
ticks = len([s for s in snaps if s["label"] == "tick"])
ok &= ticks == info["snaps"]
ok &= r.snapshot(snaps, "exit")["counts"]["allocs"] >= info["ops"]
print("%d ticks, %d interval snapshots" % (ticks, len([s for s in snaps if s["label"] == "interval"])))
sys.exit(0 if ok else 1)
PY
done
