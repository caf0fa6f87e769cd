#!/bin/sh
# Example trimmable_free (survivors every 64 KB in a worker's arena): with
# --trim dry-run the summarizer recommends malloc_trim with a saving within
# 10% of what a real malloc_trim(0) releases in a forked copy of the program
# (its own RSS drop); with --trim on the profiler's trim inside the "dropped"
# snapshot releases what the program sees its RSS drop by, and the copy's
# trim afterwards finds next to nothing.
set -e
for mode in dry-run on; do
  d="$WORK/$mode"; mkdir -p "$d"
  "$ROOT/$BUILD/drainprof" --no-summary --interval 0 --trim $mode --dir "$d" -- \
    "$ROOT/$BUILD/examples/trimmable_free" > "$d/truth.json"
  "$ROOT/$BUILD/drainprof-report" --json "$d" > "$d/summary.json"
done
python3 - "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
w = sys.argv[1]
truth = json.load(open(w + "/dry-run/truth.json"))
s = json.load(open(w + "/dry-run/summary.json"))
rec = {x["id"]: x for x in s["recommendations"]}
print("dry-run recommendations:", list(rec))
if "malloc_trim" not in rec:
    r.fail("no malloc_trim recommendation")
if "pinned-top" in rec:
    r.fail("pinned-top for memory that is not in the brk heap")
ok = r.within("malloc_trim saving vs real trim", rec["malloc_trim"]["expected_saving_bytes"], truth["trim_releases"], 0.10, 0)
main = [a for a in s["arenas"] if not a["main"]]
if not main or max(a["gap_share"] for a in main) < 0.9:
    r.fail("the gap is not in the worker's arena: %r" % s["arenas"])
truth = json.load(open(w + "/on/truth.json"))
_, snaps, _, _, _ = r.load(r.reports(w + "/on", "trimmable_free")[0])
t = r.snapshot(snaps, "dropped")["trim"]
ok &= r.within("on: released vs the program's RSS drop", t["released_bytes"], truth["rss_drop_in_snapshot"], 0.10, 0)
if truth["trim_releases"] > 0.05 * t["released_bytes"]:
    r.fail("a real trim after ours still released %d" % truth["trim_releases"])
sys.exit(0 if ok else 1)
PY
