#!/bin/sh
# dlopen/dlclose 1000 times of a plugin that allocates in its constructor and
# frees in its destructor, with a block allocated by plugin code outliving
# each instance, all stacks recorded and the sampler running: the program
# runs as without the library, live bytes while loaded add the plugin's own
# count, and come back to the start level at the end.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_dlopen"
${CC:-cc} -O1 -shared -fPIC -DLIFE_PLUGIN -o "$WORK/plugin.so" "$ROOT/tests/progs/life_dlopen.c"
"$PROG" "$WORK/plugin.so" 1000 > "$WORK/plain.out"
for stacks in all sample; do
  mkdir -p "$WORK/$stacks"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$stacks" DRAINPROF_INTERVAL=0.02 DRAINPROF_STACKS=$stacks \
    "$PROG" "$WORK/plugin.so" 1000 > "$WORK/$stacks/out" 2> "$WORK/$stacks/err" || rc=$?
  [ "$rc" = 0 ] || { echo "FAIL: exit $rc"; cat "$WORK/$stacks/err"; exit 1; }
  [ -s "$WORK/$stacks/err" ] && { echo "FAIL: stderr:"; cat "$WORK/$stacks/err"; exit 1; }
  cmp "$WORK/plain.out" "$WORK/$stacks/out" || { echo "FAIL: stdout differs"; exit 1; }
  python3 - "$WORK/$stacks" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d = sys.argv[1]
info = [json.loads(l) for l in open(d + "/out")]
files = r.reports(d, "life_dlopen")
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
header, snaps, stacks, modules, end = r.load(files[0])
if end is None:
    r.fail("no end line")
K = 256 << 10
base = r.snapshot(snaps, "start")["heap"]["live_bytes"]
ok = r.within("loaded: live - start vs plugin's + kept block", r.snapshot(snaps, "loaded")["heap"]["live_bytes"] - base,
              info[0]["loaded_held"] + info[0]["kept"], 0.01, K)
ok &= r.within("end vs start", r.snapshot(snaps, "end")["heap"]["live_bytes"], base, 0, K)
ok &= r.within("exit vs start", r.snapshot(snaps, "exit")["heap"]["live_bytes"], base, 0, K)
print("%d snapshots, %d stacks, %d modules" % (len(snaps), len(stacks), len(modules)))
sys.exit(0 if ok else 1)
PY
done
