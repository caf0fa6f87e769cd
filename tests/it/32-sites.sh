#!/bin/sh
# The summarizer names, down to file:line, the code that pins memory: the
# pinner of the brk top (sample and all modes) and the site whose live
# chunks keep the most sparse pages (all mode). The truth is the marked
# line in the test program's source.
set -e
REPORT="$ROOT/$BUILD/drainprof-report"
line_of() { grep -n "$1" "$ROOT/tests/progs/$2" | cut -d: -f1; }
pin_line=$(line_of PINNER_LINE pinned.c)
sparse_line=$(line_of SPARSE_LINE sparse.c)
for stacks in sample all; do
  mkdir -p "$WORK/$stacks"
  (cd "$WORK/$stacks" && LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_INTERVAL=0 DRAINPROF_STACKS=$stacks \
    "$ROOT/$BUILD/tests/progs/pinned" > /dev/null)
  "$REPORT" --json "$WORK/$stacks" > "$WORK/$stacks/summary.json"
  python3 - "$WORK/$stacks/summary.json" "$pin_line" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
site = s["pinned_top"]["site"]
top = site[0] if site else {}
print("pinner site:", top)
ok = top.get("function") == "make_session_cache" and str(top.get("file", "")).endswith("pinned.c") \
    and top.get("line") == int(sys.argv[2])
sys.exit(0 if ok else 1)
PY
done
mkdir -p "$WORK/sparse"
(cd "$WORK/sparse" && LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_INTERVAL=0 DRAINPROF_STACKS=all \
  "$ROOT/$BUILD/tests/progs/sparse" > /dev/null)
"$REPORT" --json "$WORK/sparse" > "$WORK/sparse/summary.json"
python3 - "$WORK/sparse/summary.json" "$sparse_line" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
worst = max(s["top_sites"], key=lambda x: x["pinned_pages"])
top = worst["frames"][0]
print("worst pinning site:", worst["pinned_pages"], "pages at", top)
ok = worst["pinned_pages"] > 1000 and top.get("function") == "worker" and \
    str(top.get("file", "")).endswith("sparse.c") and top.get("line") == int(sys.argv[2])
sys.exit(0 if ok else 1)
PY
