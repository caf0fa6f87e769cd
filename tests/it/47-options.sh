#!/bin/sh
# Bad option values: exactly one stderr line naming the variable, the
# program's output and exit status unchanged, profiling goes on with the
# default. An unusable DRAINPROF_DIR (under a regular file, missing, a
# regular file): one warning (a fork child does not repeat it), no report
# anywhere, the program runs on. Reports are mode 0600 whatever the umask,
# never overwrite and never follow a symlink: a program that execs itself
# (same pid, same name) with a symlink planted at the next free name gets
# a new report past it, the first report and the symlink's target intact.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
EXIT="$ROOT/$BUILD/tests/progs/life_exit"
FORK="$ROOT/$BUILD/tests/progs/life_fork"
cd "$WORK"
prc=0; "$EXIT" dtors > plain.out || prc=$?

one_warning() { # file var
  n=$(wc -l < "$1")
  [ "$n" = 1 ] && grep -q "$2" "$1" || { echo "FAIL: want one warning naming $2, got $n lines:"; cat "$1"; exit 1; }
}

i=0
for bad in DRAINPROF_INTERVAL=abc DRAINPROF_INTERVAL=-1 DRAINPROF_INTERVAL=1e9 DRAINPROF_STACKS=everything \
    DRAINPROF_SAMPLE=-4 DRAINPROF_SAMPLE=lots DRAINPROF_TRIM=maybe DRAINPROF_TRIM_MAX_RSS=-1 \
    DRAINPROF_FOLLOW=yes DRAINPROF_DEPTH=1000 DRAINPROF_ENABLE=2; do
  i=$((i + 1)); mkdir -p "bad$i"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/bad$i" "$bad" "$EXIT" dtors > "bad$i/out" 2> "bad$i/err" || rc=$?
  [ "$rc" = "$prc" ] || { echo "FAIL: $bad: exit $rc, without the library $prc"; exit 1; }
  cmp -s plain.out "bad$i/out" || { echo "FAIL: $bad: stdout differs"; exit 1; }
  one_warning "bad$i/err" "${bad%%=*}"
  ls "bad$i"/drainprof.life_exit.*.jsonl > /dev/null || { echo "FAIL: $bad: no report with the default"; exit 1; }
  echo "ok $bad: $(cat "bad$i/err")"
done

echo "not a directory" > afile
for dir in /etc/passwd/x "$WORK/missing" "$WORK/afile"; do
  rm -rf cwd; mkdir cwd
  rc=0
  (cd cwd && timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$dir" "$EXIT" dtors > ../dir.out 2> ../dir.err) || rc=$?
  [ "$rc" = "$prc" ] || { echo "FAIL: DRAINPROF_DIR=$dir: exit $rc"; exit 1; }
  cmp -s plain.out dir.out || { echo "FAIL: DRAINPROF_DIR=$dir: stdout differs"; exit 1; }
  one_warning dir.err DRAINPROF_DIR
  [ -z "$(ls -A cwd)" ] && [ ! -e missing ] && [ "$(cat afile)" = "not a directory" ] ||
    { echo "FAIL: DRAINPROF_DIR=$dir: something was written"; ls -la cwd; exit 1; }
  echo "ok DRAINPROF_DIR=$dir: $(cat dir.err)"
done
rc=0
(cd cwd && timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/missing" "$FORK" fork > ../fork.out 2> ../fork.err) || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: forking program with a bad DRAINPROF_DIR: exit $rc"; exit 1; }
one_warning fork.err DRAINPROF_DIR
[ -z "$(ls -A cwd)" ] || { echo "FAIL: report written by the fork child"; exit 1; }
echo "ok forking program: one warning"

mkdir mode
(umask 000 && timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/mode" "$EXIT" dtors > /dev/null)  || true
m=$(stat -c %a mode/drainprof.life_exit.*.jsonl)
[ "$m" = 600 ] || { echo "FAIL: report mode $m under umask 000"; exit 1; }
echo "ok mode $m under umask 000"

mkdir re
echo "victim text" > victim
rc=0
timeout 20 sh -c 'ln -s "$1" "$2/drainprof.life_fork.$$.1.jsonl" && echo $$ > "$2/../re.pid" &&
  exec env LD_PRELOAD="$3" DRAINPROF_DIR="$2" DRAINPROF_FOLLOW=1 DRAINPROF_INTERVAL=0 "$4" reexec' \
  sh "$WORK/victim" "$WORK/re" "$LIB" "$FORK" 2> re.err || rc=$?
[ "$rc" = 0 ] && [ ! -s re.err ] || { echo "FAIL: reexec: exit $rc"; cat re.err; exit 1; }
pid=$(cat re.pid)
[ "$(cat victim)" = "victim text" ] && [ -L "re/drainprof.life_fork.$pid.1.jsonl" ] ||
  { echo "FAIL: the symlink or its target was touched"; ls -la re; exit 1; }
python3 - "$WORK/re" "$pid" <<'PY'
import json, os, stat, sys
d, pid = sys.argv[1], int(sys.argv[2])
names = sorted(os.listdir(d))
want = ["drainprof.life_fork.%d%s.jsonl" % (pid, s) for s in ("", ".1", ".2")]
if sorted(names) != sorted(want):
    print("FAIL: files %s, want %s" % (names, want)); sys.exit(1)
def load(name):
    data = open(os.path.join(d, name)).read()
    assert data.endswith("\n"), name
    return [json.loads(l) for l in data.split("\n")[:-1]]
first, second = load(want[0]), load(want[2])
ok = first[0]["type"] == "header" and first[0]["pid"] == pid and second[0]["pid"] == pid
ok &= [o.get("label") for o in first if o["type"] == "snapshot"] == ["before-exec"]
ok &= not any(o["type"] == "end" for o in first)  # exec runs no exit handler
ok &= [o.get("label") for o in second if o["type"] == "snapshot"] == ["after-exec", "exit"]
ok &= second[-1]["type"] == "end"
ok &= all(stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode) == 0o600 for n in (want[0], want[2]))
print("reexec: %s intact, symlink %s skipped, new report %s" % (want[0], want[1], want[2]))
sys.exit(0 if ok else 1)
PY
