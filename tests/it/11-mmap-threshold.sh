#!/bin/sh
# With the mmap threshold lowered (mallopt, MALLOC_MMAP_THRESHOLD_,
# GLIBC_TUNABLES), glibc mmaps requests that malloc's tail path would
# otherwise forward unseen, in the threads of thread arenas. The mmapped
# chunks must still be counted exactly: count and bytes against glibc's
# mallinfo2. (Live bytes against the program's own count is 10-live-bytes';
# here page-rounded mmapped chunks would widen that comparison.)
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
T=16384
run() {
  name=$1
  shift
  mkdir -p "$WORK/$name"
  env "$@" LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$name" DRAINPROF_INTERVAL=0 DRAINPROF_STACKS=off \
    TRUTH_MMAP_THRESHOLD=$T "$ROOT/$BUILD/tests/progs/truth" > "$WORK/$name/truth.json"
  python3 - "$WORK/$name" "$name" <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["ROOT"] + "/tests/lib")
import dpreport as r
d, name = sys.argv[1], sys.argv[2]
print("--", name)
truth = json.load(open(d + "/truth.json"))
files = r.reports(d, "truth")
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
_, snaps, _, _, _ = r.load(files[0])
s = r.snapshot(snaps, "check")
K = 256 << 10
mi = truth["mallinfo"]
ok = r.within("mmapped count vs mallinfo2 hblks", s["mmap_chunks"]["count"], mi["hblks"], 0.0, 0)
ok &= r.within("mmapped bytes vs mallinfo2 hblkhd", s["mmap_chunks"]["bytes"], mi["hblkhd"], 0.0, 0)
ok &= r.within("live vs mallinfo2 in-use", s["heap"]["live_bytes"], mi["uordblks"] + mi["hblkhd"], 0.02, K)
# The threads hold blocks between the lowered threshold and glibc's
# default: without them the checks above would not test the bound.
if truth["threads_mid"] < 4:
    r.fail("only %d thread blocks between the thresholds" % truth["threads_mid"])
sys.exit(0 if ok else 1)
PY
}
run mallopt
run env TRUTH_THRESHOLD_FROM_ENV=1 MALLOC_MMAP_THRESHOLD_=$T
run tunable TRUTH_THRESHOLD_FROM_ENV=1 GLIBC_TUNABLES=glibc.malloc.arena_max=16:glibc.malloc.mmap_threshold=$T
