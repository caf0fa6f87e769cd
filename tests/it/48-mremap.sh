#!/bin/sh
# The region table follows mremap:
# - MREMAP_FIXED onto part of another mapping replaces that part: one
#   region for the moved pages, one for what is left of the other mapping;
# - MREMAP_DONTUNMAP leaves the old range mapped: a region at the old
#   range and one at the new;
# - an old size of 0 maps shared pages a second time: the old mapping's
#   region stays whole, and the new range has one of its own.
# Each range must be covered once, by a region of its own, resident as
# mincore says.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
d="$WORK/run"; mkdir -p "$d"
env LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 "$ROOT/$BUILD/tests/progs/remap" > "$d/truth.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
t = json.load(open(d + "/truth.json"))
s = r.exit_snapshot(d)
ok = True
for n in ("moved", "rest", "kept", "moved_out", "shared", "alias"):
    lo, hi = t[n]["addr"], t[n]["addr"] + t[n]["bytes"]
    covered = sum(max(0, min(hi, int(x["addr"], 16) + x["bytes"]) - max(lo, int(x["addr"], 16)))
                  for x in s["regions"])
    g = r.region_at(s, lo)
    ok &= covered == t[n]["bytes"] and g["bytes"] == t[n]["bytes"]
    print("%s: region of %d bytes, regions cover %d bytes of it (%d)" % (n, g["bytes"], covered, t[n]["bytes"]))
    ok &= r.within(n + " resident vs mincore", g["resident_bytes"], t[n]["resident"], 0, 0)
sys.exit(0 if ok else 1)
PY
