#!/bin/sh
# A program that closes every descriptor (close_range) or dup2s its own file
# over descriptors 3 to 20 after the report was created, then allocates and
# asks for snapshots with the sampler running: its files hold exactly what
# it wrote (it checks them itself), and the report keeps receiving whole
# lines (reopened by name) up to its end line. Then a program closing every
# descriptor and opening its files in a tight loop while the sampler writes
# every millisecond: no report line ever lands in one of its files.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_fds"
for mode in close dup2; do
  mkdir -p "$WORK/$mode"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$mode" DRAINPROF_INTERVAL=0.05 \
    "$PROG" $mode "$WORK/$mode" > "$WORK/$mode/out" 2> "$WORK/$mode/err" || rc=$?
  cat "$WORK/$mode/out"
  [ "$rc" = 0 ] || { echo "FAIL: $mode: exit $rc"; cat "$WORK/$mode/err"; exit 1; }
  [ -s "$WORK/$mode/err" ] && { echo "FAIL: stderr:"; cat "$WORK/$mode/err"; exit 1; }
  if grep -l '"type"' "$WORK/$mode"/own.*.txt; then echo "FAIL: report lines in the program's files"; exit 1; fi
  python3 - "$WORK/$mode" $mode <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
d, mode = sys.argv[1], sys.argv[2]
info = json.load(open(d + "/out"))
files = r.reports(d, "life_fds")
if len(files) != 1:
    r.fail("expected one report, found %s" % files)
data = open(files[0]).read()
objs = [json.loads(l) for l in data.split("\n")[:-1]]
labels = [o["label"] for o in objs if o["type"] == "snapshot"]
print(mode, "labels:", [l for l in labels if l != "interval"], "+ %d interval" % labels.count("interval"))
ok = data.endswith("\n") and objs[-1]["type"] == "end" and labels[-1] == "exit"
ok &= all(("after-%d" % i) in labels for i in range(3))
# After close_range the program's first file took the lowest number again.
ok &= info["intact"] == info["files"] and (mode != "close" or info["lowest_fd"] == 3)
sys.exit(0 if ok else 1)
PY
done
for i in 1 2 3; do
  mkdir -p "$WORK/race$i"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/race$i" DRAINPROF_INTERVAL=0.001 \
    "$PROG" race "$WORK/race$i" 1 > "$WORK/race$i/out" 2> "$WORK/race$i/err" || rc=$?
  echo "race $i: $(cat "$WORK/race$i/out"), $(cat "$WORK/race$i"/drainprof.*.jsonl | wc -l) report lines"
  [ "$rc" = 0 ] || { echo "FAIL: race: exit $rc"; cat "$WORK/race$i/err"; exit 1; }
  if grep -l '"type"' "$WORK/race$i"/own.*.txt; then echo "FAIL: report lines in the program's files"; exit 1; fi
done
