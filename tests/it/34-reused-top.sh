#!/bin/sh
# The pinner of the brk top was carved from the top for one caller, freed
# into a tcache and handed to another while a chunk lay above it. Its carve
# entry must not name the first caller: in sample mode the site is unknown
# (or, if that allocation was sampled, the second caller); in all mode it is
# the second caller's line. The truth is the program's own pointer and the
# marked line.
set -e
REPORT="$ROOT/$BUILD/drainprof-report"
reuser_line=$(grep -n REUSER_LINE "$ROOT/tests/progs/reused_top.c" | cut -d: -f1)
for stacks in sample all; do
  mkdir -p "$WORK/$stacks"
  LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0 \
    DRAINPROF_STACKS=$stacks "$ROOT/$BUILD/tests/progs/reused_top" > "$WORK/$stacks/truth.json"
  "$REPORT" --json "$WORK/$stacks" > "$WORK/$stacks/summary.json"
  python3 - "$WORK/$stacks" "$stacks" "$reuser_line" <<'PY'
import json, sys
d, mode, line = sys.argv[1], sys.argv[2], int(sys.argv[3])
truth = json.load(open(d + "/truth.json"))
p = json.load(open(d + "/summary.json"))["pinned_top"]
if not truth["reused"]:
    print("the allocator did not hand the chunk out again; nothing to check", file=sys.stderr)
    sys.exit(77)
site = (p.get("site") or [None])[0]
print(mode, "pinner", p["pinner_addr"], "site", site)
ok = int(p["pinner_addr"], 16) == truth["pinner_addr"]
named = site is not None and site.get("function") == "second_owner" and site.get("line") == line
ok &= named or (mode == "sample" and site is None)
sys.exit(0 if ok else 1)
PY
done
