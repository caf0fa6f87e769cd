#!/bin/sh
# Live bytes per arena and in total equal what the program holds (its own
# count), within 1% + 256 KiB, with glibc's mallinfo2 as a second witness.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
for stacks in sample all off; do
  mkdir -p "$WORK/$stacks"
  LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0 DRAINPROF_STACKS=$stacks \
    "$ROOT/$BUILD/tests/progs/truth" "$WORK/$stacks/malloc_info.xml" > "$WORK/$stacks/truth.json"
  python3 - "$WORK/$stacks" <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
files = r.reports(d, "truth")
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
header, snaps, _, _, end = r.load(files[0])
assert header["allocator"] == "glibc", header
s = r.snapshot(snaps, "check")
K = 256 << 10
ok = r.within("total live bytes", s["heap"]["live_bytes"], truth["total"], 0.01, K)
# The mmap threshold is pinned, so each thread's small blocks sit in its own
# arena (all threads are alive at the check) and its big ones are mmapped.
arenas = s["arenas"]
ok &= r.within("main arena live", arenas[0]["live_bytes"], truth["main"] - truth["main_big"], 0.01, K)
others = [a["live_bytes"] for a in arenas[1:]]
for held, big in truth["threads"]:
    best = min(others, key=lambda v: abs(v - (held - big))) if others else 0
    ok &= r.within("thread arena live", best, held - big, 0.01, K)
ok &= r.within("mmapped chunk bytes vs program's big blocks", s["mmap_chunks"]["bytes"], truth["big"], 0.01, K)
mi = truth["mallinfo"]
# mallinfo2: uordblks (in use, tcache included) + hblkhd (mmapped) >= live,
# and not far above it
in_use = mi["uordblks"] + mi["hblkhd"]
ok &= r.within("live vs mallinfo2 in-use", s["heap"]["live_bytes"], in_use, 0.02, K)
ok &= r.within("mmapped chunks vs mallinfo2 hblkhd", s["mmap_chunks"]["bytes"], mi["hblkhd"], 0.0, 0)
ok &= r.within("arena system bytes vs mallinfo2 arena", s["heap"]["system_bytes"] - s["mmap_chunks"]["bytes"], mi["arena"], 0.05, 0)
ok &= r.within("mmapped count vs hblks", s["mmap_chunks"]["count"], mi["hblks"], 0.0, 0)
# Per-arena system bytes against malloc_info's <system type="current">, heap
# by heap (both walk glibc's arena ring from the main arena).
import xml.etree.ElementTree as ET
heaps = ET.parse(d + "/malloc_info.xml").getroot().findall("heap")
sysmem = [int(h.find("system[@type='current']").get("size")) for h in heaps]
if len(sysmem) != len(arenas):
    r.fail("malloc_info has %d heaps, report %d arenas" % (len(sysmem), len(arenas)))
for i, (a, want) in enumerate(zip(arenas, sysmem)):
    ok &= r.within("arena %d system bytes vs malloc_info" % i, a["system_bytes"], want, 0.05, 0)
rel = r.snapshot(snaps, "released")
ok &= r.within("live after release (baseline)", rel["heap"]["live_bytes"], 0, 0, K)
sys.exit(0 if ok else 1)
PY
done
