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
files = r.reports(d)
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
_, snaps, _, _, end = r.load(files[0])
if end is None:
    r.fail("no end line")
reg = [x for x in r.snapshot(snaps, "exit")["regions"] if int(x["addr"], 16) == truth["addr"]]
if not reg:
    r.fail("no region at %#x" % truth["addr"])
b = reg[0]["bytes"]
ok = b % 4096 == 0 and 5000 <= b <= truth["entry_size"]
print("region bytes %d: whole pages, >= 5000, <= smaps entry %d: %s" % (b, truth["entry_size"], ok))
ok &= r.within("region resident vs mincore", reg[0]["resident_bytes"], truth["resident"], 0, 0)
sys.exit(0 if ok else 1)
PY
