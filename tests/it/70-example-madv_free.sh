#!/bin/sh
# Example madv_free: two 64 MiB pools, one given back with MADV_FREE, one
# with MADV_DONTNEED. The report's rss.lazyfree matches the LazyFree the
# program read from its own smaps_rollup, RSS matches its own, and the two
# pools appear as regions: the MADV_FREE one still fully resident, the
# MADV_DONTNEED one not.
set -e
d="$WORK/run"; mkdir -p "$d"
"$ROOT/$BUILD/drainprof" --no-summary --interval 0 --dir "$d" -- "$ROOT/$BUILD/examples/madv_free" > "$d/truth.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
if truth["lazyfree"] < 0.9 * truth["released_each"]:
    print("the kernel freed MADV_FREE pages at once (no lazy free here)", file=sys.stderr)
    sys.exit(77)
_, snaps, _, _, _ = r.load(r.reports(d, "madv_free")[0])
s = r.snapshot(snaps, "released")
ok = r.within("rss.lazyfree vs the program's LazyFree", s["rss"]["lazyfree"], truth["lazyfree_end"], 0.02, 0)
ok &= r.within("rss.total vs the program's Rss", s["rss"]["total"], truth["rss_after_madv_dontneed"], 0.05, 0)
regions = {int(x["addr"], 16): x for x in s["regions"]}
for name, want in (("lazy", truth["released_each"]), ("eager", 0)):
    reg = regions.get(truth[name + "_addr"])
    if not reg:
        r.fail("no region at the %s pool's address" % name)
    ok &= r.within(name + " pool: region bytes", reg["bytes"], truth["released_each"], 0, 0)
    ok &= r.within(name + " pool: region resident", reg["resident_bytes"], want, 0.02, 64 << 10)
sys.exit(0 if ok else 1)
PY
