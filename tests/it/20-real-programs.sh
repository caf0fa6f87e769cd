#!/bin/sh
# Real programs run with and without the library: same stdout, same exit
# status, and each leaves a readable report naming glibc.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
cd "$WORK"
cat > script.py <<'PY'
import collections, json, sys, threading
d = collections.defaultdict(list)
def work(k):
    for i in range(20000):
        d[k].append(("x" * (i % 300), i))
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({k: len(v) for k, v in sorted(d.items())}))
sys.exit(3)
PY
cat > work.sql <<'SQL'
create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x+1 from c where x < 20000)
insert into t select x, hex(randomblob(40)) from c;
create index tb on t(b);
select count(*), sum(length(b)) from t where a % 7 = 3;
SQL
git init -q repo && cd repo && for i in 1 2 3; do echo "line $i" > f$i; done && \
  git add . && git -c user.email=t@e -c user.name=t commit -qm init && cd ..

run() { # name expected-to-compare... ; runs "$@" twice and compares
  name=$1; shift
  "$@" > "plain.$name.out" 2>/dev/null && prc=0 || prc=$?
  mkdir -p "rep.$name"
  LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/rep.$name" DRAINPROF_INTERVAL=0.2 \
    "$@" > "prof.$name.out" 2>"prof.$name.err" && rc=0 || rc=$?
  if ! cmp -s "plain.$name.out" "prof.$name.out"; then
    echo "FAIL $name: stdout differs"; diff "plain.$name.out" "prof.$name.out" | head; exit 1
  fi
  [ "$prc" = "$rc" ] || { echo "FAIL $name: exit $rc, plain $prc"; exit 1; }
  if [ -s "prof.$name.err" ]; then echo "FAIL $name: stderr:"; cat "prof.$name.err"; exit 1; fi
  n=$(ls "rep.$name" | wc -l)
  # dash leaves through _exit (no exit snapshot): a short shell run may
  # end before its first interval and so write no report at all.
  [ "$n" -ge 1 ] || [ "$name" = forks ] || { echo "FAIL $name: no report"; exit 1; }
  python3 - "rep.$name" <<'PY'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.jsonl"):
    lines = open(f).read().splitlines()
    objs = [json.loads(l) for l in lines]
    assert objs[0]["type"] == "header" and objs[0]["allocator"] == "glibc", objs[0]
    assert any(o["type"] == "snapshot" for o in objs), f
PY
  echo "ok $name (exit $rc, $(wc -c < "prof.$name.out") bytes of output, $n report(s))"
}

run python3 /usr/bin/python3 script.py
run sqlite3 sqlite3 :memory: ".read work.sql"
run perl perl -e 'my %h; $h{$_} = "v" x ($_ % 100) for 1..50000; my @k = sort keys %h; print scalar(@k), "\n"; exit 5'
run git git -C repo log --stat --format=%s
run pipeline sh -c 'seq 1 20000 | sort -r | (/usr/bin/python3 -c "import sys; print(sum(int(l) for l in sys.stdin))"; echo sub) | cat; (echo a; sleep 0.3; echo b) | tr a-z A-Z'
run forks sh -c '{ for i in 1 2 3 4; do (echo child $i; exit $i) & done; wait; echo done; } | sort; exit 4'

# A program with many allocation sites (python importing modules) in all
# mode: its exit snapshot has more stack lines than one write buffer holds
# (256 KiB), which are written in several batches. Each id must appear
# once, in order, before any snapshot that names it.
mkdir rep.allmode
LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/rep.allmode" DRAINPROF_STACKS=all DRAINPROF_INTERVAL=0 \
  /usr/bin/python3 -c "import json, email.parser, http.client, xml.dom.minidom, unittest, asyncio, decimal; print('ok')" > allmode.out
python3 - rep.allmode <<'PY'
import glob, json, sys
f, = glob.glob(sys.argv[1] + "/*.jsonl")
seen, stack_bytes = [], 0
for line in open(f):
    o = json.loads(line)
    if o["type"] == "stack":
        seen.append(o["id"])
        stack_bytes += len(line)
    elif o["type"] == "snapshot":
        named = [s["stack"] for s in o["top_sites"]] + [r["stack"] for r in o["regions"] if r["stack"]]
        missing = [s for s in named if s not in set(seen)]
        assert not missing, "snapshot %d names unwritten stacks %s" % (o["seq"], missing[:5])
assert stack_bytes > 256 << 10, "only %d bytes of stack lines: the batches were not exercised" % stack_bytes
assert seen == list(range(1, len(seen) + 1)), "stack ids not 1..%d in order" % len(seen)
print("ok allmode (%d stacks, %d bytes of stack lines)" % (len(seen), stack_bytes))
PY
