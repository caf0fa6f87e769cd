#!/bin/sh
# mremap(MREMAP_FIXED) onto part of another mapping replaces that part.
# The report must then hold one region for the moved pages and one for
# what is left of the other mapping, each resident as mincore says, and
# count the pages once.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
d="$WORK/run"; mkdir -p "$d"
env LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 "$ROOT/$BUILD/tests/progs/remap_fixed" > "$d/truth.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
t = json.load(open(d + "/truth.json"))
s = r.exit_snapshot(d)
moved, rest = r.region_at(s, t["moved"]), r.region_at(s, t["rest"])
lo, hi = t["moved"], t["rest"] + t["rest_bytes"]
inside = [x for x in s["regions"] if int(x["addr"], 16) < hi and int(x["addr"], 16) + x["bytes"] > lo]
ok = len(inside) == 2
print("regions over the two ranges: %d (2)" % len(inside))
ok &= moved["bytes"] == t["moved_bytes"] and rest["bytes"] == t["rest_bytes"]
print("bytes %d and %d (%d and %d)" % (moved["bytes"], rest["bytes"], t["moved_bytes"], t["rest_bytes"]))
ok &= r.within("moved pages resident vs mincore", moved["resident_bytes"], t["moved_resident"], 0, 0)
ok &= r.within("the rest resident vs mincore", rest["resident_bytes"], t["rest_resident"], 0, 0)
sys.exit(0 if ok else 1)
PY
