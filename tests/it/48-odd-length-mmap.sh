#!/bin/sh
# A program that maps a length that is not a page multiple (perf does, for
# its ring buffers). The snapshot used to spin
# forever measuring the partial last page. Now the program exits at once,
# and its region is the kernel's mapping: whole pages, within the smaps
# entry that holds it, resident as mincore says.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
d="$WORK/run"; mkdir -p "$d"
timeout 30 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 "$ROOT/$BUILD/tests/progs/odd_mmap" > "$d/truth.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
reg = r.region_at(r.exit_snapshot(d), truth["addr"])
b = reg["bytes"]
ok = b % 4096 == 0 and 5000 <= b <= truth["entry_size"]
print("region bytes %d: whole pages, >= 5000, <= smaps entry %d: %s" % (b, truth["entry_size"], ok))
ok &= r.within("region resident vs mincore", reg["resident_bytes"], truth["resident"], 0, 0)
sys.exit(0 if ok else 1)
PY
