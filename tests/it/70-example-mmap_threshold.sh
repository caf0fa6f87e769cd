#!/bin/sh
# Example mmap_threshold, run twice: as is, the report counts the program's
# live 2 MiB frames as large blocks in the heap (large_in_heap count and
# bytes exact), and the summarizer recommends M_MMAP_THRESHOLD with a saving
# within 15% of what the program's own RSS shows when run again with
# MALLOC_MMAP_THRESHOLD_=131072, where no large block sits in the heap.
set -e
for mode in default fixed; do
  d="$WORK/$mode"; mkdir -p "$d"
  if [ $mode = fixed ]; then export MALLOC_MMAP_THRESHOLD_=131072; fi
  "$ROOT/$BUILD/drainprof" --no-summary --interval 0 --dir "$d" -- "$ROOT/$BUILD/examples/mmap_threshold" > "$d/truth.json"
  "$ROOT/$BUILD/drainprof-report" --json "$d" > "$d/summary.json"
done
python3 - "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
w = sys.argv[1]
truth = {m: json.load(open("%s/%s/truth.json" % (w, m))) for m in ("default", "fixed")}
summ = {m: json.load(open("%s/%s/summary.json" % (w, m))) for m in ("default", "fixed")}
lih = summ["default"]["latest"]["large_in_heap"]
ok = r.within("large blocks in heap vs frames held", lih["count"], truth["default"]["frames_held"], 0, 0)
ok &= r.within("their bytes vs bytes held", lih["bytes"], truth["default"]["held_bytes"], 0.01, 0)
rec = {x["id"]: x for x in summ["default"]["recommendations"]}
print("recommendations:", list(rec))
if "M_MMAP_THRESHOLD" not in rec:
    r.fail("no M_MMAP_THRESHOLD recommendation")
saved = truth["default"]["rss"] - truth["fixed"]["rss"]
ok &= r.within("predicted saving vs RSS saved", rec["M_MMAP_THRESHOLD"]["expected_saving_bytes"], saved, 0.15, 0)
f = summ["fixed"]
print("fixed threshold: large_in_heap", f["latest"]["large_in_heap"], [x["id"] for x in f["recommendations"]])
if f["latest"]["large_in_heap"]["count"] != 0 or any(x["id"] == "M_MMAP_THRESHOLD" for x in f["recommendations"]):
    r.fail("large blocks still in the heap with the threshold fixed")
sys.exit(0 if ok else 1)
PY
