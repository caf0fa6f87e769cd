#!/bin/sh
# malloc_trim(0) prediction and dry-run against what a real malloc_trim(0)
# then releases in the same process (its own RSS drop), on four heap shapes;
# and DRAINPROF_TRIM=on really trims (the program's own trim finds little).
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/trimshapes"
for shape in sparse dense pinned arenas; do
  for mode in dry-run on; do
    d="$WORK/$shape.$mode"; mkdir -p "$d"
    LD_PRELOAD="$LIB" DRAINPROF_DIR="$d" DRAINPROF_INTERVAL=0 DRAINPROF_TRIM=$mode "$PROG" $shape > "$d/truth.json"
    python3 - "$d" $shape $mode <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d, shape, mode = sys.argv[1:]
truth = json.load(open(d + "/truth.json"))["released"]
_, snaps, _, _, _ = r.load(r.reports(d, "trimshapes")[0])
t = r.snapshot(snaps, shape)["trim"]
if t["skipped"]:
    r.fail("trim skipped: %s" % t["skipped"])
ok = True
if mode == "dry-run":
    ok &= r.within(shape + ": predicted vs real trim", t["predicted_bytes"], truth, 0.10, 0)
    ok &= r.within(shape + ": dry-run vs real trim", t["released_bytes"], truth, 0.10, 0)
else:
    # the trim already happened at the snapshot: it released what was
    # predicted, and the program's own trim afterwards found next to nothing
    ok &= r.within(shape + ": on: released vs predicted", t["released_bytes"], t["predicted_bytes"], 0.10, 0)
    if truth > 0.10 * t["released_bytes"] + (256 << 10):
        r.fail("%s: the program's own trim still released %d after ours" % (shape, truth))
print("%s %s: duration %.1f ms" % (shape, mode, t["duration_ms"]))
sys.exit(0 if ok else 1)
PY
  done
done
