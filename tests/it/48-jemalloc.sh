#!/bin/sh
# Another allocator preloaded after us (jemalloc): python3 runs unchanged,
# the header names the allocator, live bytes are kept (from
# malloc_usable_size) and glibc-only figures (arenas, brk, pages, trim
# prediction) are null or empty; a threaded C program's live bytes follow
# its own count.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -e "$JE" ] || { echo "skip: $JE missing (Debian package libjemalloc2)"; exit 77; }
cd "$WORK"
cat > script.py <<'PY'
import json, threading
d = {}
def work(k):
    for i in range(30000):
        d[(k, i)] = bytes(i % 700) + b"x"
ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"n": len(d), "bytes": sum(len(v) for v in d.values())}))
raise SystemExit(3)
PY
prc=0; LD_PRELOAD="$JE" /usr/bin/python3 script.py > plain.out || prc=$?
mkdir py
rc=0
timeout 20 env LD_PRELOAD="$LIB $JE" DRAINPROF_DIR="$WORK/py" DRAINPROF_INTERVAL=0.05 /usr/bin/python3 script.py \
  > py.out 2> py.err || rc=$?
[ "$rc" = "$prc" ] || { echo "FAIL: python3 exit $rc, without the library $prc"; cat py.err; exit 1; }
cmp -s plain.out py.out || { echo "FAIL: stdout differs"; exit 1; }
[ -s py.err ] && { echo "FAIL: stderr:"; cat py.err; exit 1; }
mkdir c
prog="$ROOT/$BUILD/tests/progs/life_threads"
timeout 20 env LD_PRELOAD="$LIB $JE" DRAINPROF_DIR="$WORK/c" DRAINPROF_INTERVAL=0.05 "$prog" 8 1000 no-pvalloc \
  > c.out 2> c.err || { echo "FAIL: life_threads under jemalloc"; cat c.out c.err; exit 1; }
[ -s c.err ] && { echo "FAIL: stderr:"; cat c.err; exit 1; }
python3 - "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
w = sys.argv[1]
ok = True
for d, comm in (("py", "python3"), ("c", "life_threads")):
    files = r.reports(os.path.join(w, d), comm)
    if len(files) != 1:
        r.fail("%s: expected one report, found %s" % (d, files))
    header, snaps, _, _, end = r.load(files[0])
    ok &= header["allocator"] == "libjemalloc.so.2" and end is not None and len(snaps) >= 1
    for s in snaps:
        ok &= isinstance(s["heap"]["live_bytes"], int) and s["heap"]["live_bytes"] >= 0
        ok &= not s.get("arenas") and s.get("brk") is None and s.get("pages") is None
        ok &= s["trim"]["predicted_bytes"] is None
    print("%s: allocator %s, %d snapshots, live at exit %d" % (comm, header["allocator"], len(snaps),
                                                              r.snapshot(snaps, "exit")["heap"]["live_bytes"]))
    if comm == "life_threads":
        truth = json.load(open(os.path.join(w, "c.out")))
        K = 256 << 10
        base = r.snapshot(snaps, "start")["heap"]["live_bytes"]
        ok &= r.within("held - start vs program's blocks", r.snapshot(snaps, "held")["heap"]["live_bytes"] - base,
                       truth["held"], 0.01, K)
        ok &= r.within("exit vs start", r.snapshot(snaps, "exit")["heap"]["live_bytes"], base, 0, K)
sys.exit(0 if ok else 1)
PY
