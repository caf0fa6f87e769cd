#!/usr/bin/env python3
"""Writes the hand-made drainprof/1 reports in this directory (seeded, so
re-running gives the same bytes). Each mimics a case drainprof-report must
judge: see the comment above each function. Real recorded reports can be
added beside them; the goldens in golden/ are the tool's reviewed output."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1 << 20
KiB = 1 << 10


def line(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


def header(pid, exe, comm, cmdline, allocator="glibc", interval=5):
    return {"type": "header", "format": "drainprof/1", "pid": pid, "ppid": 1,
            "exe": exe, "cmdline": cmdline, "comm": comm,
            "start_time": 1795312345.125, "hostname": "web-3", "page_size": 4096,
            "nproc": 2, "allocator": allocator,
            "glibc_version": "2.36" if allocator == "glibc" else None,
            "options": {"interval": interval, "stacks": "sample", "sample": 524288,
                        "trim": "dry-run", "dir": "/srv/app", "follow": False}}


def arena(index, system, resident, live, anon_huge=0, chunks=None):
    return {"index": index, "main": index == 0, "system_bytes": system,
            "resident_bytes": resident, "live_bytes": live,
            "live_chunks": chunks if chunks is not None else live // 96,
            "free_bytes": system - live, "heaps": 0 if index == 0 else max(1, system // (64 * MiB) + 1),
            "anon_huge_bytes": anon_huge}


def snapshot(seq, t, arenas, other_rss, mmap=(0, 0), pinned=(0, 0), pinner=None,
             top_gap=64 * KiB, lih=(0, 0), sites=(), trim_pred=0, trim_rel=None,
             psi=(0.0, 0.0), avail=5 * 1024 * MiB, vm=(3, 0, 0, 0), label="interval",
             brk_base=0x55d1c3000000, swap_free=2048 * MiB):
    live = sum(a["live_bytes"] for a in arenas) + mmap[1]
    resident = sum(a["resident_bytes"] for a in arenas) + mmap[1]
    system = sum(a["system_bytes"] for a in arenas) + mmap[1]
    main = arenas[0]
    huge = sum(a["anon_huge_bytes"] for a in arenas)
    top = brk_base + main["system_bytes"]
    anon = resident + other_rss // 3
    rss = {"total": anon + other_rss - other_rss // 3, "pss": anon + other_rss // 2,
           "uss": anon + 512 * KiB, "anon": anon, "file": other_rss - other_rss // 3, "shmem": 0,
           "swap": 0, "lazyfree": 0, "anon_huge": huge, "self": 420 * KiB}
    return {"type": "snapshot", "seq": seq, "t": round(t, 3), "time": round(1795312345.125 + t, 3),
            "label": label, "duration_us": 640 + seq % 7 * 13, "hold_us": 3,
            "rss": rss,
            "heap": {"live_bytes": live, "live_chunks": sum(a["live_chunks"] for a in arenas) + mmap[0],
                     "system_bytes": system, "resident_bytes": resident, "gap_bytes": resident - live},
            "arenas": arenas,
            "mmap_chunks": {"count": mmap[0], "bytes": mmap[1], "resident_bytes": mmap[1]},
            "large_in_heap": {"count": lih[0], "bytes": lih[1], "threshold": 131072},
            "brk": {"base": hex(brk_base), "top": hex(top), "top_live_end": hex(top - top_gap),
                    "pinned_bytes": pinned[0], "pinned_resident_bytes": pinned[1],
                    "pinner": {"addr": hex(top - top_gap - (pinner[0] if pinner else 4096)),
                               "size": pinner[0] if pinner else 4096,
                               "stack": pinner[1] if pinner else None}},
            "pages": {"live": live // 4096, "empty_resident": (resident - live) // 8192, "sparse": 1200},
            "regions": [], "mappings": {},
            "top_sites": [{"stack": s, "live_bytes": b, "live_chunks": c, "pinned_pages": p, "arena": a}
                          for (s, b, c, p, a) in sites],
            "trim": {"mode": "dry-run", "predicted_bytes": trim_pred, "released_bytes": trim_rel,
                     "duration_ms": None, "skipped": None},
            "counts": {"allocs": 1000 * seq + 17, "frees": 990 * seq, "threads_seen": len(arenas) + 1},
            "psi": {"some_avg10": psi[0], "full_avg10": psi[1], "some_total_us": 1234 + seq, "full_total_us": 200},
            "cgroup": {"version": 1, "usage_bytes": 1900 * MiB, "limit_bytes": None},
            "system": {"mem_total": 7900 * MiB, "mem_available": avail, "swap_total": 2048 * MiB,
                       "swap_free": swap_free, "shmem": 120 * MiB, "sunreclaim": 80 * MiB,
                       "pgmajfault": vm[0], "pgscan_direct": vm[1], "allocstall": vm[2],
                       "compact_stall": vm[3], "thp_fault_fallback": 0, "numa_miss": 0},
            "process": {"threads": len(arenas) + 1, "fds": 12, "vm_swap": 0, "vm_hwm": rss["total"]}}


MODS = [{"type": "module", "path": "/srv/app/bin/%s", "base": "0x55d1c2a00000", "end": "0x55d1c2d80000",
         "build_id": "3f1c2a9e0b7d4c55a1e2f3b4c5d6e7f8091a2b3c"},
        {"type": "module", "path": "/srv/app/lib/libc.so.6", "base": "0x7f3a1c000000",
         "end": "0x7f3a1c1d5000", "build_id": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}]


def modules(exe):
    out = []
    for m in MODS:
        m = dict(m)
        m["path"] = m["path"].replace("%s", exe)
        out.append(m)
    return out


def stacks():
    return [{"type": "stack", "id": 1, "frames": ["0x55d1c2a1f3a4", "0x55d1c2a02010", "0x7f3a1c029d90"]},
            {"type": "stack", "id": 2, "frames": ["0x55d1c2b00a18", "0x55d1c2a0ff00", "0x7f3a1c029d90"]},
            {"type": "stack", "id": 7, "frames": ["0x55d1c2a41234", "0x55d1c2a3a0c8", "0x55d1c2a02010",
                                                  "0x7f3a1c029d90"]}]


def write(name, lines, end=None, cut=None):
    with open(os.path.join(HERE, name), "w") as f:
        for obj in lines:
            f.write(line(obj))
        if end is not None:
            f.write(line({"type": "end", "t": end, "snapshots": sum(1 for o in lines if o["type"] == "snapshot")}))
        if cut is not None:
            f.write(cut)


def python_stable():
    """A python-like server: warm-up for 15 s, then a stable gap (allocator
    overhead, not a leak) with a trimmable free top and free chunks."""
    rnd = random.Random(1)
    lines = [header(4242, "/usr/bin/python3.11", "python3", ["python3", "-m", "http.server"])]
    lines += modules("python3.11") + stacks()
    for i in range(24):
        t = 0.5 + 5 * i
        ramp = min(1.0, (t + 1) / 16)
        live = int(42 * MiB * ramp + rnd.randint(-300, 300) * KiB)
        gap = int(34 * MiB * ramp + rnd.randint(-400, 400) * KiB)
        a0 = arena(0, live + gap + 2 * MiB, live + gap, live)
        lines.append(snapshot(i, t, [a0], 14 * MiB, mmap=(3, 3 * MiB), top_gap=int(14 * MiB * ramp),
                              sites=[(1, live // 3, 40000, 210, 0), (2, live // 5, 1800, 30, 0)],
                              trim_pred=int(19 * MiB * ramp), psi=(0.0, 0.0), vm=(40 if i == 0 else 0, 0, 0, 0)))
    write("python-stable.jsonl", lines, end=121.2)


def leak_growing():
    """A structural leak: live flat at ~50 MiB, the gap grows 2 MiB/min,
    and the brk top is pinned by a late block."""
    rnd = random.Random(2)
    lines = [header(5150, "/srv/app/bin/queue-worker", "queue-worker", ["queue-worker", "--threads", "1"])]
    lines += modules("queue-worker") + stacks()
    for i in range(40):
        t = 1.0 + 5 * i
        live = 50 * MiB + rnd.randint(-512, 512) * KiB
        gap = int(6 * MiB + 2 * MiB * t / 60 + rnd.randint(-256, 256) * KiB)
        a0 = arena(0, live + gap + MiB, live + gap, live)
        lines.append(snapshot(i, t, [a0], 9 * MiB, pinned=(gap - 2 * MiB, gap - 3 * MiB), pinner=(4000, 7),
                              sites=[(7, 4000, 1, 1, 0), (1, live // 2, 300000, 900, 0)],
                              trim_pred=gap - 3 * MiB, psi=(0.12, 0.0), vm=(10, 0, 0, 1)))
    write("leak-growing.jsonl", lines, end=196.4)


def pinned_brk():
    """A pinned brk top: 120 MiB freed below a small live block allocated
    last; under light pressure (direct reclaim, some PSI)."""
    rnd = random.Random(3)
    lines = [header(7001, "/srv/app/bin/batch", "batch", ["batch", "--input", "day.csv"])]
    lines += modules("batch") + stacks()
    for i in range(12):
        t = 2.0 + 10 * i
        live = 30 * MiB + rnd.randint(-128, 128) * KiB
        pinned = 120 * MiB if i >= 2 else 0
        resident = live + pinned * 5 // 6 + 2 * MiB
        a0 = arena(0, live + pinned + 3 * MiB, resident, live)
        lines.append(snapshot(i, t, [a0], 6 * MiB, pinned=(pinned, pinned * 5 // 6), pinner=(1040, 2),
                              sites=[(2, 1040, 1, 1, 0), (1, live // 2, 120000, 40, 0)],
                              trim_pred=pinned * 5 // 6, psi=(2.5, 0.1), avail=900 * MiB,
                              vm=(100, 3200 if i else 0, 0, 2)))
    write("pinned-brk.jsonl", lines, end=113.0)


def many_arenas():
    """Sixteen arenas from a burst of threads, most of them mostly empty;
    THP backs the arena heaps and large blocks sit in the heap."""
    rnd = random.Random(4)
    lines = [header(8080, "/srv/app/bin/api-gateway", "api-gateway", ["api-gateway"])]
    lines += modules("api-gateway") + stacks()
    for i in range(10):
        t = 3.0 + 6 * i
        ars = [arena(0, 60 * MiB, 52 * MiB, 40 * MiB)]
        for k in range(1, 16):
            live = (24 if k <= 2 else 1) * MiB + rnd.randint(0, 64) * KiB
            res = live + (10 if k <= 2 else 20) * MiB
            ars.append(arena(k, res + 4 * MiB, res, live, anon_huge=(16 if k > 2 else 4) * MiB))
        lines.append(snapshot(i, t, ars, 20 * MiB, mmap=(8, 16 * MiB), lih=(12, 48 * MiB),
                              sites=[(1, 30 * MiB, 3000, 500, 1), (2, 12 * MiB, 96, 0, 0)],
                              trim_pred=30 * MiB, psi=(0.0, 0.0)))
    write("many-arenas.jsonl", lines, end=58.9)


def small():
    """A 3 MB process, badly fragmented in proportion: no advice at all."""
    rnd = random.Random(5)
    lines = [header(311, "/usr/bin/tiny", "tiny", ["tiny"])]
    lines += modules("tiny") + stacks()
    for i in range(12):
        t = 0.2 + 5 * i
        live = 900 * KiB + rnd.randint(-20, 20) * KiB
        gap = 1100 * KiB + i * 8 * KiB
        lines.append(snapshot(i, t, [arena(0, live + gap, live + gap, live)], 1 * MiB,
                              pinned=(gap // 2, gap // 2), pinner=(64, 1), top_gap=200 * KiB,
                              sites=[(1, live, 9000, 100, 0)], trim_pred=gap // 2))
    write("small-3mb.jsonl", lines, end=60.0)


def jemalloc():
    """Another allocator (redis with jemalloc): glibc figures are null."""
    lines = [header(6379, "/usr/bin/redis-server", "redis-server", ["redis-server"],
                    allocator="libjemalloc.so.2")]
    for i in range(6):
        s = snapshot(i, 1.0 + 10 * i, [arena(0, 0, 0, 0)], 8 * MiB)
        s["heap"] = {"live_bytes": 5 * MiB + i * KiB, "live_chunks": 20000, "system_bytes": None,
                     "resident_bytes": None, "gap_bytes": None}
        s["arenas"] = None
        s["brk"] = None
        s["trim"] = None
        s["large_in_heap"] = None
        s["psi"] = None
        s["top_sites"] = []
        lines.append(s)
    write("jemalloc-redis.jsonl", lines)


def cut():
    """Killed mid-write: the last line stops in the middle of a snapshot."""
    lines = [header(9090, "/srv/app/bin/killed", "killed", ["killed"])] + modules("killed") + stacks()
    for i in range(5):
        lines.append(snapshot(i, 1.0 + 5 * i, [arena(0, 40 * MiB, 36 * MiB, 30 * MiB)], 5 * MiB,
                              pinned=(4 * MiB, 3 * MiB), pinner=(128, 1)))
    last = line(snapshot(5, 26.0, [arena(0, 40 * MiB, 36 * MiB, 30 * MiB)], 5 * MiB))
    write("cut-mid-line.jsonl", lines, cut=last[:len(last) // 2])


def bad():
    rnd = random.Random(6)
    with open(os.path.join(HERE, "bad", "garbage.jsonl"), "wb") as f:
        f.write(bytes(rnd.randrange(256) for _ in range(4096)))
    with open(os.path.join(HERE, "bad", "wrong-schema.jsonl"), "w") as f:
        h = header(1, "/bin/x", "x", ["x"])
        h["format"] = "drainprof/2"
        f.write(line(h))
    with open(os.path.join(HERE, "bad", "no-header.jsonl"), "w") as f:
        f.write(line(snapshot(0, 1.0, [arena(0, MiB, MiB, MiB)], MiB)))
    with open(os.path.join(HERE, "wrong-types.jsonl"), "w") as f:
        f.write('{"type":"header","format":"drainprof/1","pid":"12","exe":7,"options":[]}\n')
        f.write('{"type":"module","path":null,"base":12}\n')
        f.write('{"type":"stack","id":"x","frames":"0x1"}\n')
        f.write('{"type":"stack","id":3,"frames":[1,"zz","0x10",null]}\n')
        f.write('{"type":"snapshot","t":"soon","heap":[],"arenas":{"index":0},"rss":7,'
                '"brk":{"pinned_bytes":"9","pinner":{"stack":3}},"top_sites":[1,null,{"stack":3}]}\n')
        f.write('{"type":"mystery","x":1}\n[1,2]\n')


if __name__ == "__main__":
    python_stable()
    leak_growing()
    pinned_brk()
    many_arenas()
    small()
    jemalloc()
    cut()
    bad()
