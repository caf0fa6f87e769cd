#!/bin/sh
# Sample mode's per-site live bytes are estimates: each sampled block
# stands for its size over the chance it was sampled. Against the test
# program's own count (malloc_usable_size of what each site holds), both
# sites' estimates must be unbiased: within 12% with DRAINPROF_SAMPLE=16 KiB
# (~1800 samples of the 24 MB of 40-byte blocks, ~1300 of the 24 MB of
# 4000-byte ones: 12% is about 5 standard deviations of either). A weight
# computed from the block's usable size instead of what the countdown
# charged (its 49-byte header word) would put the small site 22% over.
set -e
REPORT="$ROOT/$BUILD/drainprof-report"
LD_PRELOAD="$ROOT/$BUILD/libdrainprof.so" DRAINPROF_INTERVAL=0 DRAINPROF_STACKS=sample DRAINPROF_SAMPLE=16384 \
  DRAINPROF_DIR="$WORK" "$ROOT/$BUILD/tests/progs/two_sites" > "$WORK/truth.json"
"$REPORT" --json "$WORK" > "$WORK/summary.json"
python3 - "$WORK/truth.json" "$WORK/summary.json" <<'PY'
import json, sys
truth = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
est = {}
for site in s["top_sites"]:
    f = site["frames"][0] if site["frames"] else {}
    if f.get("function") in truth:
        est[f["function"]] = est.get(f["function"], 0) + site["live_bytes"]
ok = True
for fn, want in truth.items():
    got = est.get(fn, 0)
    err = got / want - 1
    print("%-14s truth %10d  estimate %10d  %+.1f%%" % (fn, want, got, 100 * err))
    ok &= abs(err) <= 0.12
sys.exit(0 if ok else 1)
PY
