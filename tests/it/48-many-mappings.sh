#!/bin/sh
# A program with 20 000 small mappings in one area (every other page
# read-only, so the kernel cannot merge them). The snapshot reads their
# residency a run of adjacent mappings at a time; the area's region must
# still be resident exactly as the program wrote it and as mincore says.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
d="$WORK/run"; mkdir -p "$d"
timeout 60 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 "$ROOT/$BUILD/tests/progs/many_maps" > "$d/truth.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
exit_snap, reg = r.exit_region(d, truth["addr"])
ok = reg["bytes"] == truth["bytes"]
print("region bytes %d vs mapped %d: %s" % (reg["bytes"], truth["bytes"], ok))
ok &= r.within("region resident vs the program's own count", reg["resident_bytes"], truth["written"], 0, 0)
ok &= r.within("region resident vs mincore", reg["resident_bytes"], truth["resident"], 0, 0)
app = exit_snap["mappings"]["app_mmap"]
ok &= app["count"] >= 20000
print("app_mmap entries %d (>= 20000)" % app["count"])
sys.exit(0 if ok else 1)
PY
