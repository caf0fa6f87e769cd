#!/bin/sh
# The strict form of the close/open race in 46-fds.sh (the library keeps its
# /proc and report descriptors at 600 and up).
# A program closing every descriptor and opening its own files in
# a tight loop while snapshots run every millisecond: none of its lines may
# be lost or land in the report (the report must parse whole).
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_fds"
fails=0
for i in 1 2 3 4 5 6; do
  mkdir -p "$WORK/race$i"
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/race$i" DRAINPROF_INTERVAL=0.001 DRAINPROF_STACKS=all \
    "$PROG" race "$WORK/race$i" 1 > "$WORK/race$i/out"
  python3 - "$WORK/race$i" <<'PY' || fails=$((fails + 1))
import glob, json, sys
d = sys.argv[1]
info = json.load(open(d + "/out"))
bad = [l for f in glob.glob(d + "/drainprof.*.jsonl") for l in open(f) if not l.startswith("{")]
print(info, "non-JSON lines in the report:", len(bad))
sys.exit(0 if info["intact"] == info["files"] and not bad else 1)
PY
done
echo "$fails of 6 runs lost program lines into the report"
[ $fails = 0 ]
