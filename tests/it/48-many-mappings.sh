#!/bin/sh
# A program with 20 000 small mappings in 100 areas (every other page
# read-only, so the kernel cannot merge them), each area a region of its
# own, created from high addresses to low. The snapshot reads residency a
# run of adjacent mappings at a time and matches each mapping with the
# regions near it; every region must still be resident exactly as the
# program wrote it and as mincore says. The report lists the 64 with the
# most resident bytes, most first.
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
s = r.exit_snapshot(d)
# The report lists 64 regions; the class sums cover them all.
listed = [x["resident_bytes"] for x in s["regions"]]
top = sorted((t["resident"] for t in truth), reverse=True)[:64]
ok = listed == top
print("listed residents, in order: %s (the areas' top 64 by mincore: %s)" % (
    "same" if ok else listed, "" if ok else top))
regions = {int(x["addr"], 16): x for x in s["regions"]}
seen = 0
for t in truth:
    x = regions.get(t["addr"])
    if x is None:
        continue
    seen += 1
    if x["bytes"] != t["bytes"] or x["resident_bytes"] != t["written"] or x["resident_bytes"] != t["resident"]:
        print("region %#x: bytes %d (mapped %d), resident %d (written %d, mincore %d)" % (
            t["addr"], x["bytes"], t["bytes"], x["resident_bytes"], t["written"], t["resident"]))
        ok = False
print("regions listed and checked: %d of %d areas" % (seen, len(truth)))
ok &= seen == 64
app = s["mappings"]["app_mmap"]
ok &= r.within("app_mmap resident vs the program's own count", app["rss"],
               sum(t["written"] for t in truth), 0, 0)
ok &= app["count"] >= 20000
print("app_mmap entries %d (>= 20000)" % app["count"])
sys.exit(0 if ok else 1)
PY
