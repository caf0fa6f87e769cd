"""Small helpers for integration tests: find and read a libdrainprof report.

Only parsing lives here; every test compares the report with a truth it gets
elsewhere (the test program's own count, glibc's mallinfo2, the kernel)."""
import glob
import json
import os
import sys


def reports(directory, comm=None):
    pat = "drainprof.%s.*.jsonl" % (comm or "*")
    return sorted(glob.glob(os.path.join(directory, pat)))


def load(path):
    """Returns (header, snapshots, stacks, modules, end) of one report."""
    header, snaps, stacks, modules, end = None, [], {}, [], None
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            obj = json.loads(line)
            kind = obj.get("type")
            if kind == "header":
                header = obj
            elif kind == "snapshot":
                snaps.append(obj)
            elif kind == "stack":
                stacks[obj["id"]] = obj["frames"]
            elif kind == "module":
                modules.append(obj)
            elif kind == "end":
                end = obj
    return header, snaps, stacks, modules, end


def snapshot(snaps, label):
    for s in snaps:
        if s["label"] == label:
            return s
    raise AssertionError("no snapshot labelled %r (labels: %s)" % (label, [s["label"] for s in snaps]))


def exit_snapshot(directory):
    """The exit snapshot of the one complete report in directory; fails the
    test when there is not exactly one, or it has no end line."""
    files = reports(directory)
    if len(files) != 1:
        fail("expected one report, found %s" % files)
    _, snaps, _, _, end = load(files[0])
    if end is None:
        fail("no end line")
    return snapshot(snaps, "exit")


def region_at(snap, addr):
    """The snapshot's region that starts at addr; fails the test without one."""
    reg = [x for x in snap["regions"] if int(x["addr"], 16) == addr]
    if not reg:
        fail("no region at %#x" % addr)
    return reg[0]


def within(what, got, truth, rel, absolute):
    ok = abs(got - truth) <= rel * abs(truth) + absolute
    print("%-40s got %14d truth %14d diff %+.3f%% %s" % (
        what, got, truth, 100.0 * (got - truth) / truth if truth else 0.0, "ok" if ok else "FAIL"))
    return ok


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)
