#!/bin/sh
# Example sparse_survivors (one live entry per page): the report counts the
# program's pages with a survivor as sparse live pages, its live bytes, a gap
# of about what it freed, blames new_entry for the pinned pages, and finds
# nothing to trim: the prediction and a real malloc_trim(0) (--trim on, in
# the "evicted" snapshot) release under 1% of the gap, and no trim or
# pinned-top advice is given.
set -e
d="$WORK/run"; mkdir -p "$d"
"$ROOT/$BUILD/drainprof" --no-summary --interval 0 --stacks all --trim on --dir "$d" -- \
  "$ROOT/$BUILD/examples/sparse_survivors" > "$d/truth.json"
"$ROOT/$BUILD/drainprof-report" --json "$d" > "$d/summary.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
s = json.load(open(d + "/summary.json"))
_, snaps, _, _, _ = r.load(r.reports(d, "sparse_survivor")[0])
snap = r.snapshot(snaps, "evicted")
pages = truth["pages_with_survivor"]
ok = r.within("sparse pages vs pages with a survivor", snap["pages"]["sparse"], pages, 0.01, 2)
ok &= r.within("live pages vs pages with a survivor", snap["pages"]["live"], pages, 0.01, 2)
ok &= r.within("live bytes", snap["heap"]["live_bytes"], truth["live_bytes"], 0.01, 8192)
ok &= r.within("gap vs bytes freed", snap["heap"]["gap_bytes"], truth["freed_bytes"], 0.10, 0)
t = snap["trim"]
gap = snap["heap"]["gap_bytes"]
print("trim: predicted %s, released %s, gap %d" % (t["predicted_bytes"], t["released_bytes"], gap))
if t["predicted_bytes"] is None or t["released_bytes"] is None or \
        max(t["predicted_bytes"], t["released_bytes"]) > 0.01 * gap:
    r.fail("malloc_trim should find nothing to release")
ids = [x["id"] for x in s["recommendations"]]
print("recommendations:", ids)
if "malloc_trim" in ids or "pinned-top" in ids:
    r.fail("trim advice for memory no trim can release")
site = s["top_sites"][0]
f0 = (site["frames"] or [{}])[0]
print("top site:", f0.get("function"), site["live_bytes"], site["pinned_pages"])
if f0.get("function") != "new_entry":
    r.fail("top site is not new_entry")
ok &= r.within("top site pinned pages", site["pinned_pages"], pages, 0.01, 2)
sys.exit(0 if ok else 1)
PY
