#!/bin/sh
# Fork without exec: the child gets its own report (its pid, its parent's
# pid as ppid) whose figures add its own blocks to the ones it inherited,
# and the parent's report goes on untouched. fork+exec, vfork+exec and
# posix_spawn: children's exit statuses come through, and the exec'd
# program writes a report only with DRAINPROF_FOLLOW=1.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
PROG="$ROOT/$BUILD/tests/progs/life_fork"
run() { # dir follow mode [VAR=value...]
  dir=$1 follow=$2 mode=$3
  shift 3
  mkdir -p "$WORK/$dir"
  rc=0
  timeout 20 env LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/$dir" DRAINPROF_INTERVAL=0.05 DRAINPROF_FOLLOW=$follow "$@" \
    "$PROG" $mode > "$WORK/$dir/out" 2> "$WORK/$dir/err" || rc=$?
  [ "$rc" = 0 ] || { echo "FAIL: $dir: exit $rc"; cat "$WORK/$dir/out" "$WORK/$dir/err"; exit 1; }
  [ -s "$WORK/$dir/err" ] && { echo "FAIL: $dir: stderr:"; cat "$WORK/$dir/err"; exit 1; }
  return 0
}
run fork 0 fork
# stacks=off: the child's countdown never falls due, so nothing but the
# shim's own path can start its sampler.
run threadfork 0 threadfork DRAINPROF_STACKS=off
for mode in exec vfork spawn; do
  for follow in 0 1; do
    run $mode.$follow $follow $mode
  done
done
python3 - "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
work = sys.argv[1]
K = 256 << 10

def strict(path):
    """Every line whole JSON, seq increasing; returns (header, snaps, end)."""
    lines = open(path).read().split("\n")
    if lines[-1] != "":
        r.fail("%s: last line not terminated" % path)
    objs = [json.loads(l) for l in lines[:-1]]
    snaps = [o for o in objs if o["type"] == "snapshot"]
    seqs = [s["seq"] for s in snaps]
    if seqs != sorted(set(seqs)):
        r.fail("%s: snapshot seq not increasing: %s" % (path, seqs))
    ends = [o for o in objs if o["type"] == "end"]
    if objs[0]["type"] != "header" or len(ends) != 1 or objs[-1] is not ends[0]:
        r.fail("%s: want header first and one end line last" % path)
    return objs[0], snaps, ends[0]

def by_pid(d):
    out = {}
    for f in r.reports(d, "life_fork"):
        h, s, e = strict(f)
        out[h["pid"]] = (f, h, s)
    return out

ok = True
d = work + "/fork"
info = [json.loads(l) for l in open(d + "/out")]
child = next(o for o in info if "child" in o)
parent = next(o for o in info if "inherited" not in o)
ok &= child["parent"] == parent["parent"] and parent["child_status"] == 7
reps = by_pid(d)
if set(reps) != {child["child"], parent["parent"]}:
    r.fail("want reports of pids %s, got %s" % ((child["child"], parent["parent"]), sorted(reps)))
pf, ph, ps = reps[parent["parent"]]
cf, ch, cs = reps[child["child"]]
ok &= ("." + str(child["child"]) + ".") in cf and ch["ppid"] == parent["parent"]
print("child report %s: pid %d ppid %d" % (os.path.basename(cf), ch["pid"], ch["ppid"]))
base = r.snapshot(ps, "start")["heap"]["live_bytes"]
labels_c = [s["label"] for s in cs]
labels_p = [s["label"] for s in ps]
print("parent labels", sorted(set(labels_p)), "child labels", sorted(set(labels_c)))
ok &= not {"start", "after"} & set(labels_c) and not {"child", "child-freed"} & set(labels_p)
cl = r.snapshot(cs, "child")["heap"]["live_bytes"] - base
ok &= r.within("child: live - parent start vs inherited + own", cl, child["inherited"] + child["own"], 0.01, K)
cl = r.snapshot(cs, "child-freed")["heap"]["live_bytes"] - base
ok &= r.within("child after free: vs inherited", cl, child["inherited"], 0.01, K)
pl = r.snapshot(ps, "after")["heap"]["live_bytes"] - base
ok &= r.within("parent after the child: vs its blocks", pl, parent["held"], 0.01, K)
ok &= r.within("parent exit vs start", r.snapshot(ps, "exit")["heap"]["live_bytes"], base, 0, K)

d = work + "/threadfork"
info = [json.loads(l) for l in open(d + "/out")]
child = next(o for o in info if "child" in o)
parent = next(o for o in info if "child_status" in o)
ok &= parent["child_status"] == 7
reps = by_pid(d)
if child["child"] not in reps:
    r.fail("threadfork: no report of the child %d (got %s)" % (child["child"], sorted(reps)))
base = r.snapshot(reps[parent["parent"]][2], "start")["heap"]["live_bytes"]
periodic = [s["heap"]["live_bytes"] for s in reps[child["child"]][2] if s["label"] == "interval"]
print("threadfork child: %d periodic snapshots" % len(periodic))
if not periodic:
    r.fail("threadfork: the child's sampler took no periodic snapshot while it held its blocks")
ok &= r.within("threadfork child: most live - parent start vs inherited + own", max(periodic) - base,
               child["inherited"] + child["own"], 0.01, K)

for mode in ("exec", "vfork", "spawn"):
    for follow in (0, 1):
        d = "%s/%s.%d" % (work, mode, follow)
        info = [json.loads(l) for l in open(d + "/out")]
        parent = next(o for o in info if "parent" in o)
        leaves = [o for o in info if "leaf" in o]
        ok &= parent["statuses"] == [3, 3, 3] and parent["vfork_exit"] == 9 and len(leaves) == 3
        reps = by_pid(d)
        want = {parent["parent"]} | ({o["leaf"] for o in leaves} if follow else set())
        print("%s follow=%d: statuses %s, vfork _exit %d, reports of %d processes (want %d)" % (
            mode, follow, parent["statuses"], parent["vfork_exit"], len(reps), len(want)))
        ok &= set(reps) == want
        for o in leaves if follow else []:
            f, h, s = reps[o["leaf"]]
            ok &= h["ppid"] == parent["parent"]
            ok &= r.within("%s leaf: live - live at exit vs held" % mode, r.snapshot(s, "leaf")["heap"]["live_bytes"] -
                           r.snapshot(s, "exit")["heap"]["live_bytes"], o["held"], 0.01, K)
sys.exit(0 if ok else 1)
PY
