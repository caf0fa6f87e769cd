#!/bin/sh
# Example arena_explosion, run twice: as is, the summarizer counts one arena
# per worker (up to glibc's 8 per core), recommends MALLOC_ARENA_MAX=2 and
# predicts the saving; run again with MALLOC_ARENA_MAX=2, the program's own
# RSS is lower by that saving (within 15%) and no arena advice is given.
set -e
for mode in default max2; do
  d="$WORK/$mode"; mkdir -p "$d"
  if [ $mode = max2 ]; then export MALLOC_ARENA_MAX=2; fi
  "$ROOT/$BUILD/drainprof" --no-summary --interval 0 --dir "$d" -- "$ROOT/$BUILD/examples/arena_explosion" > "$d/truth.json"
  "$ROOT/$BUILD/drainprof-report" --json "$d" > "$d/summary.json"
done
python3 - "$WORK" <<'PY'
import json, os, re, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
w = sys.argv[1]
truth = {m: json.load(open("%s/%s/truth.json" % (w, m))) for m in ("default", "max2")}
summ = {m: json.load(open("%s/%s/summary.json" % (w, m))) for m in ("default", "max2")}
s = summ["default"]
workers = truth["default"]["workers"]
want = min(workers + 1, 8 * s["process"]["nproc"])
print("arenas: %d, expected %d (main + one per worker, at most 8 per core)" % (len(s["arenas"]), want))
if len(s["arenas"]) != want:
    r.fail("arena count")
rec = {x["id"]: x for x in s["recommendations"]}
if "MALLOC_ARENA_MAX" not in rec:
    r.fail("no MALLOC_ARENA_MAX recommendation: %s" % list(rec))
print("action:", rec["MALLOC_ARENA_MAX"]["action"])
if not re.search(r"MALLOC_ARENA_MAX=2\b", rec["MALLOC_ARENA_MAX"]["action"]):
    r.fail("the recommendation does not suggest MALLOC_ARENA_MAX=2")
saved = truth["default"]["rss"] - truth["max2"]["rss"]
ok = r.within("predicted saving vs RSS saved with =2", rec["MALLOC_ARENA_MAX"]["expected_saving_bytes"], saved, 0.15, 0)
m = summ["max2"]
print("with MALLOC_ARENA_MAX=2: %d arenas, findings %s" % (len(m["arenas"]), [x["id"] for x in m["recommendations"]]))
if len(m["arenas"]) > 2 or any(x["id"] == "MALLOC_ARENA_MAX" for x in m["recommendations"]):
    r.fail("MALLOC_ARENA_MAX=2 run still has many arenas or arena advice")
sys.exit(0 if ok else 1)
PY
