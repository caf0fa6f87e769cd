#!/bin/sh
# With DRAINPROF_STACKS=all, stacks recorded
# inside a plugin that is dlclose'd before the next snapshot have frames in
# some "module" line (the library remembers objects before dlclose), so they
# can be symbolized offline.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
cc -O1 -shared -fPIC -DLIFE_PLUGIN -o "$WORK/plugin.so" "$ROOT/tests/progs/life_dlopen.c"
mkdir -p "$WORK/r"
env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/r" DRAINPROF_INTERVAL=0.02 DRAINPROF_STACKS=all \
  "$ROOT/$BUILD/tests/progs/life_dlopen" "$WORK/plugin.so" 1000 > /dev/null
python3 - "$WORK/r" <<'PY'
import glob, json, sys
mods, stacks = [], {}
for l in open(glob.glob(sys.argv[1] + "/*.jsonl")[0]):
    o = json.loads(l)
    if o["type"] == "module":
        mods.append((int(o["base"], 16), int(o["end"], 16)))
    elif o["type"] == "stack":
        stacks[o["id"]] = [int(a, 16) for a in o["frames"]]
orphans = [(i, hex(a)) for i, fr in stacks.items() for a in fr if not any(b <= a < e for b, e in mods)]
print("%d stacks, %d frames in no module: %s" % (len(stacks), len(orphans), orphans[:6]))
sys.exit(1 if orphans else 0)
PY
