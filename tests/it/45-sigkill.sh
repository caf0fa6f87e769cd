#!/bin/sh
# SIGKILL in the middle of a busy multi-threaded run with a snapshot every
# 0.1 s and every stack recorded: each line is written whole with one
# write(2), so the report parses completely (no cut line), has several
# snapshots in order, and no end line.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_threads"
for stacks in all sample; do
  mkdir -p "$WORK/$stacks"
  env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0.1 DRAINPROF_STACKS=$stacks \
    "$PROG" 4 10000000 > /dev/null 2> "$WORK/$stacks/err" &
  pid=$!
  sleep 1.5
  kill -0 $pid || { echo "FAIL: the program ended before the kill"; cat "$WORK/$stacks/err"; exit 1; }
  kill -9 $pid
  rc=0; wait $pid || rc=$?
  [ "$rc" = 137 ] || { echo "FAIL: exit $rc, want 137 (SIGKILL)"; exit 1; }
  python3 - "$WORK/$stacks" $pid <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d, pid = sys.argv[1], int(sys.argv[2])
files = r.reports(d, "life_threads")
if files != [os.path.join(d, "drainprof.life_threads.%d.jsonl" % pid)]:
    r.fail("want the report of pid %d, found %s" % (pid, files))
data = open(files[0]).read()
if not data.endswith("\n"):
    r.fail("last line cut: %r" % data[-80:])
objs = [json.loads(l) for l in data.split("\n")[:-1]]
kinds = [o["type"] for o in objs]
snaps = [o for o in objs if o["type"] == "snapshot"]
print("%d lines, %d bytes, %d snapshots, %d stacks" % (len(objs), len(data), len(snaps), kinds.count("stack")))
ok = kinds[0] == "header" and "end" not in kinds and len(snaps) >= 5
ok &= [s["seq"] for s in snaps] == sorted(set(s["seq"] for s in snaps))
ok &= all(0 < b["t"] - a["t"] < 1.0 for a, b in zip(snaps, snaps[1:]))
# Stacks are written before the snapshot that names them.
seen = set()
for o in objs:
    if o["type"] == "stack":
        seen.add(o["id"])
    elif o["type"] == "snapshot":
        for s in o.get("top_sites") or []:
            ok &= s["stack"] is None or s["stack"] in seen
sys.exit(0 if ok else 1)
PY
done
