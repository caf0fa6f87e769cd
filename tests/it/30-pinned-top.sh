#!/bin/sh
# A program frees everything below one live chunk: the report shows the
# pinned bytes, the pinner's address and size, and the gap, each within 10%
# of what the program did, in every stacks mode; the pinner's stack is known
# in sample and all modes (it was carved from the top).
set -e
for stacks in off sample all; do
  mkdir -p "$WORK/$stacks"
  LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0 \
    DRAINPROF_STACKS=$stacks "$ROOT/$BUILD/tests/progs/pinned" > "$WORK/$stacks/truth.json"
  python3 - "$WORK/$stacks" "$stacks" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d, mode = sys.argv[1], sys.argv[2]
truth = json.load(open(d + "/truth.json"))
header, snaps, stacks, modules, end = r.load(r.reports(d, "pinned")[0])
s = r.snapshot(snaps, "pinned")
brk = s["brk"]
ok = r.within("pinned bytes vs bytes freed below", brk["pinned_bytes"], truth["freed"], 0.10, 0)
ok &= r.within("pinned resident vs freed", brk["pinned_resident_bytes"], truth["freed"], 0.10, 0)
p = brk["pinner"]
if not p or not p["exact"]:
    r.fail("pinner not identified exactly: %r" % p)
ok &= r.within("pinner address", int(p["addr"], 16), truth["pinner_addr"], 0, 0)
ok &= r.within("pinner size", p["size"], truth["pinner_size"], 0.10, 0)
# what it did: freed memory below the pinner stays resident, so the gap is
# about what it freed (RSS did not drop: the program measured it)
assert truth["rss_after_kb"] * 1024 >= truth["freed"] * 0.9, truth
ok &= r.within("gap vs bytes freed", s["heap"]["gap_bytes"], truth["freed"], 0.10, 0)
if mode != "off":
    if p["stack"] not in stacks:
        r.fail("pinner stack %r not written" % p["stack"])
    print("pinner stack", p["stack"], stacks[p["stack"]][:3])
elif p["stack"] is not None:
    r.fail("stacks off but a pinner stack was reported")
sys.exit(0 if ok else 1)
PY
done
