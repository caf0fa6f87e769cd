#!/bin/sh
# Example structural_leak, both modes side by side for 48 s, a snapshot a
# second taken by the program between batches: the growing batches give a gap trend "growing" with live memory
# flat, the structural-leak finding on top, and a gap slope within 20% of the
# slope of the program's own RSS minus what it holds; the steady batches give
# "stable" and no structural-leak.
set -e
exe="$ROOT/$BUILD/examples/structural_leak"
for mode in growing steady; do
  mkdir -p "$WORK/$mode"
  LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_DIR="$WORK/$mode" DRAINPROF_INTERVAL=0 \
    "$exe" $mode 48 > "$WORK/$mode/truth.json" &
done
wait
for mode in growing steady; do
  "$ROOT/$BUILD/drainprof-report" --json "$WORK/$mode" > "$WORK/$mode/summary.json"
done
python3 - "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
w = sys.argv[1]

def slope(points):
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    return sum((t - mt) * (v - mv) for t, v in points) / sum((t - mt) ** 2 for t, _ in points)

ok = True
for mode in ("growing", "steady"):
    truth = json.load(open("%s/%s/truth.json" % (w, mode)))
    s = json.load(open("%s/%s/summary.json" % (w, mode)))
    tr = s["trend"]
    ids = [x["id"] for x in s["recommendations"]]
    print("%s: gap %s (%s B/s over %s s), live %s, structural_leak %s, findings %s" % (
        mode, tr["gap"]["verdict"], tr["gap"]["slope_bytes_per_s"], tr["gap"]["window_s"],
        tr["live"]["verdict"], tr["structural_leak"], ids))
    own = slope([(t, rss - held) for t, rss, held in truth["batches"] if t >= tr["gap"]["window_start_s"]])
    if mode == "growing":
        if tr["gap"]["verdict"] != "growing" or not tr["structural_leak"] or ids[:1] != ["structural-leak"]:
            r.fail("growing batches not judged a structural leak")
        if tr["live"]["verdict"] == "growing":
            r.fail("live memory judged growing: it is flat")
        ok &= r.within("gap slope vs own (RSS - held) slope", int(tr["gap"]["slope_bytes_per_s"]), int(own), 0.20, 0)
    else:
        if tr["gap"]["verdict"] != "stable" or tr["structural_leak"] or "structural-leak" in ids:
            r.fail("steady batches not judged stable")
        print("steady: own (RSS - held) slope %.0f B/s" % own)
sys.exit(0 if ok else 1)
PY
