#!/bin/sh
# Example runtime_heap: a 128 MiB mapping the program sub-allocates itself.
# The report lists it as a region at the program's address and size, with
# the bytes the program carved resident, and a stack whose first frame in the
# program resolves (addr2line) to gc_heap_reserve; heap.live_bytes counts only
# what the program malloc'd, not the region; mappings.app_mmap holds its RSS.
set -e
command -v addr2line >/dev/null || { echo "addr2line (binutils) missing" >&2; exit 77; }
d="$WORK/run"; mkdir -p "$d"
exe="$ROOT/$BUILD/examples/runtime_heap"
"$ROOT/$BUILD/drainprof" --no-summary --interval 0 --dir "$d" -- "$exe" > "$d/truth.json"
python3 - "$d" "$exe" <<'PY'
import json, os, subprocess, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d, exe = sys.argv[1], os.path.realpath(sys.argv[2])
truth = json.load(open(d + "/truth.json"))
_, snaps, stacks, modules, _ = r.load(r.reports(d, "runtime_heap")[0])
s = r.snapshot(snaps, "allocated")
reg = [x for x in s["regions"] if int(x["addr"], 16) == truth["region_addr"]]
if not reg:
    r.fail("no region at the program's heap address %#x: %r" % (truth["region_addr"], s["regions"]))
reg = reg[0]
ok = r.within("region bytes", reg["bytes"], truth["region_bytes"], 0, 0)
ok &= r.within("region resident vs bytes carved", reg["resident_bytes"], truth["carved_bytes"], 0.02, 0)
ok &= r.within("mappings.app_mmap rss vs bytes carved", s["mappings"]["app_mmap"]["rss"], truth["carved_bytes"], 0.02, 0)
ok &= r.within("heap live vs malloc'd only", s["heap"]["live_bytes"], truth["malloc_live_bytes"], 0.02, 16 << 10)
mod = [m for m in modules if os.path.realpath(m["path"]) == exe]
if not mod or reg["stack"] not in stacks:
    r.fail("region stack %r or the program's module missing" % reg["stack"])
base, end = int(mod[0]["base"], 16), int(mod[0]["end"], 16)
frames = [int(f, 16) for f in stacks[reg["stack"]] if base <= int(f, 16) < end]
if not frames:
    r.fail("no frame of the region's stack in the program")
fn = subprocess.run(["addr2line", "-f", "-e", exe, "%#x" % (frames[0] - base - 1)],
                    capture_output=True, text=True).stdout.split("\n")[0]
print("region site:", fn)
if fn != "gc_heap_reserve":
    r.fail("region site is %s, not gc_heap_reserve" % fn)
sys.exit(0 if ok else 1)
PY
