#!/bin/sh
# Threads keep one object in 16, spread over many pages: pages.live matches
# the pages the program's live objects touch (its own count), within 10%.
set -e
LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_DIR="$WORK" DRAINPROF_INTERVAL=0 \
  "$ROOT/$BUILD/tests/progs/sparse" > "$WORK/truth.json"
python3 - "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
header, snaps, _, _, _ = r.load(r.reports(d, "sparse")[0])
s = r.snapshot(snaps, "sparse")
ok = r.within("pages.live vs pages the program touches", s["pages"]["live"], truth["pages_touched"], 0.10, 0)
# most of those pages hold little: the empty and sparse counts must show it
print("sparse pages", s["pages"]["sparse"], "empty resident", s["pages"]["empty_resident"])
ok &= s["pages"]["sparse"] > 0.5 * truth["pages_touched"]
sys.exit(0 if ok else 1)
PY
