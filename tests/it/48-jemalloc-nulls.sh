#!/bin/sh
# Under another allocator, glibc-only figures the profiler cannot know
# (mmap_chunks, large_in_heap) are null, never made-up zeros.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -e "$JE" ] || { echo "libjemalloc2 missing" >&2; exit 77; }
mkdir -p "$WORK/r"
env LD_PRELOAD="$LIB $JE" DRAINPROF_DIR="$WORK/r" DRAINPROF_INTERVAL=0 \
  /usr/bin/python3 -c 'x = [bytes(300000) for i in range(20)]; print(len(x))'
python3 - "$WORK/r" <<'PY'
import glob, json, sys
for l in open(glob.glob(sys.argv[1] + "/*.jsonl")[0]):
    o = json.loads(l)
    if o["type"] == "snapshot":
        print("mmap_chunks", o["mmap_chunks"], "large_in_heap", o["large_in_heap"])
        sys.exit(0 if o["mmap_chunks"] is None and o["large_in_heap"] is None else 1)
PY
