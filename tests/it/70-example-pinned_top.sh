#!/bin/sh
# Example pinned_top under the launcher: the summarizer recommends
# "pinned-top", names the pinner (address, size, allocating function) and
# puts the pinned bytes, the gap and the expected saving within 10% of what
# the program freed below its pinner, while the program's own RSS shows that
# freeing gave nothing back.
set -e
d="$WORK/run"; mkdir -p "$d"
"$ROOT/$BUILD/drainprof" --no-summary --interval 0 --dir "$d" -- "$ROOT/$BUILD/examples/pinned_top" > "$d/truth.json"
"$ROOT/$BUILD/drainprof-report" --json "$d" > "$d/summary.json"
python3 - "$d" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
truth = json.load(open(d + "/truth.json"))
s = json.load(open(d + "/summary.json"))
freed = truth["freed_bytes"]
if truth["rss_after"] < 0.9 * truth["rss_before"]:
    r.fail("the program's RSS dropped after the frees: nothing pinned? %r" % truth)
rec = {x["id"]: x for x in s["recommendations"]}
if "pinned-top" not in rec:
    r.fail("no pinned-top recommendation: %s" % list(rec))
ok = r.within("pinned-top expected saving vs freed", rec["pinned-top"]["expected_saving_bytes"], freed, 0.10, 0)
p = s["pinned_top"]
ok &= r.within("pinned bytes vs freed", p["bytes"], freed, 0.10, 0)
ok &= r.within("pinned resident vs freed", p["resident_bytes"], freed, 0.10, 0)
ok &= r.within("gap vs freed", s["latest"]["heap"]["gap_bytes"], freed, 0.10, 0)
ok &= r.within("pinner address", int(p["pinner_addr"], 16), truth["pinner_addr"], 0, 0)
ok &= r.within("pinner size", p["pinner_size"], truth["pinner_size"], 0.05, 0)
top = (p["site"] or [{}])[0]
print("pinner site:", top.get("function"), top.get("file"), top.get("line"))
if top.get("function") != "cache_session" or not str(top.get("file")).endswith("pinned_top.c"):
    r.fail("pinner site is not cache_session in pinned_top.c: %r" % top)
sys.exit(0 if ok else 1)
PY
