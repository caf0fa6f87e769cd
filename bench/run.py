#!/usr/bin/env python3
"""`make bench`: overhead of libdrainprof against no tool, the empty
interposer and heaptrack, plus the cost of a snapshot of a 1 GiB heap.

Every workload runs under every configuration, round-robin (see
round_order), BENCH_RUNS times (default 5); the figure per configuration is
the median. The workloads the targets are judged on
(TARGET_WORKLOADS) run BENCH_TARGET_RUNS rounds (default 48) of the
configurations the targets pair (PAIRED), the others in every third
round, heaptrack in BENCH_RUNS of them. Each run is measured
by bench/measure (fork/exec + wait4). A configuration whose runs fail is
reported as FAILED; a missed target is reported, never an error exit.

Environment: BENCH_RUNS (runs per configuration), BENCH_TARGET_RUNS
(rounds of the target workloads), BENCH_ONLY (comma-separated
workload names), BENCH_CONFIGS (comma-separated configuration names),
BENCH_TIMEOUT (seconds per run, default 120), BENCH_HEAP_MIB (bigheap size,
default 1024), BENCH_SKIP=bigheap,fixed,callgrind (leave out the
snapshot-cost run, the start-up and exit cost, the instruction counts).
"""
import argparse
import glob
import hashlib
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


def log(msg=""):
    print(msg, flush=True)


def real_python():
    # The system interpreter, not a version-manager shim script that would
    # add a shell and a second process to every measured run.
    for p in ("/usr/bin/python3", sys.executable):
        if p and os.access(p, os.X_OK):
            return p
    return "python3"


def workloads(b):
    bench = os.path.join(b, "bench")
    return [
        ("churn-2t", [os.path.join(bench, "churn"), "-t", "2", "-n", "10000000"]),
        ("churn-4t", [os.path.join(bench, "churn"), "-t", "4", "-n", "10000000"]),
        ("prodcons", [os.path.join(bench, "prodcons"), "-p", "2", "-n", "4000000"]),
        ("python", [real_python(), os.path.join(ROOT, "bench", "workload.py")]),
        ("sqlite", ["sqlite3", ":memory:", ".read " + os.path.join(ROOT, "bench", "workload.sql")]),
    ]


CONFIGS = ["plain", "empty", "off", "sample", "all", "heaptrack"]
# The targets are judged on these: their runs are short (~0.45-0.9 s) and
# the machine's noise is several percent per run, so five rounds decided a
# target one point away by chance. They get more rounds of the paired
# configurations; the others, which no paired target reads (off is for
# reading, all mode is judged on its median against heaptrack's, 0.06-0.1
# of it against a limit of 0.25), run in every third round (SPARSE_EVERY),
# and heaptrack, ten times slower, still BENCH_RUNS times, spread evenly.
TARGET_WORKLOADS = ("churn-2t", "churn-4t")
# The configurations the targets compare run next to each other in every
# round, so a pair is never more than one run apart: the machine's slow
# spells last seconds, and with the others (heaptrack's 5 s among them)
# in between, one member of a pair often ran in one and the other not.
PAIRED = ("plain", "empty", "sample")
SPARSE_EVERY = 3


class Runner:
    def __init__(self, build, tmp, timeout):
        self.b = os.path.join(ROOT, build)
        self.measure = os.path.join(self.b, "bench", "measure")
        self.lib = os.path.join(self.b, "libdrainprof.so")
        if os.path.exists(self.lib):
            # A private copy: a rebuild during the run must not mix versions.
            with open(self.lib, "rb") as fh:
                self.lib_sha = hashlib.sha256(fh.read()).hexdigest()[:12]
            self.lib = shutil.copy(self.lib, os.path.join(tmp, "libdrainprof.so"))
        self.empty = os.path.join(self.b, "bench", "libempty.so")
        self.heaptrack = shutil.which("heaptrack")
        self.tmp = tmp
        self.timeout = timeout
        self.logdir = os.path.join(self.b, "bench", "logs")
        shutil.rmtree(self.logdir, ignore_errors=True)  # only this run's failures
        os.makedirs(self.logdir)

    def available(self, config):
        """None when the configuration can run, else why not."""
        if config == "empty" and not os.path.exists(self.empty):
            return "no " + self.empty
        if config in ("off", "sample", "all") and not os.path.exists(self.lib):
            return "no " + self.lib
        if config == "heaptrack" and not self.heaptrack:
            return "heaptrack not installed"
        return None

    def preload_env(self, config, extra_env=()):
        """The environment assignments that put argv under an interposer
        configuration, and the report directory of a libdrainprof one."""
        env = list(extra_env)
        rdir = None
        if config == "empty":
            env.append("LD_PRELOAD=" + self.empty)
        elif config in ("off", "sample", "all"):
            rdir = tempfile.mkdtemp(prefix="dp-", dir=self.tmp)
            env += ["LD_PRELOAD=" + self.lib, "DRAINPROF_DIR=" + rdir,
                    "DRAINPROF_STACKS=" + config]
            if not any(e.startswith("DRAINPROF_INTERVAL=") for e in env):
                env.append("DRAINPROF_INTERVAL=1")
        return env, rdir

    def run(self, config, argv, extra_env=()):
        """Runs argv once under config. Returns a dict of figures; 'ok' is
        False when the run failed. Drainprof runs also carry report_rss()."""
        env, rdir = self.preload_env(config, extra_env)
        cmd = list(argv)
        if config == "heaptrack":
            rdir = tempfile.mkdtemp(prefix="ht-", dir=self.tmp)
            cmd = [self.heaptrack, "-o", os.path.join(rdir, "ht")] + cmd
        out = os.path.join(self.tmp, "run.log")
        m = [self.measure, "-o", out, "-t", str(self.timeout)]
        for e in env:
            m += ["-e", e]
        p = subprocess.run(m + ["--"] + cmd, stdout=subprocess.PIPE, text=True)
        r = {"ok": False, "status": None, "signal": None, "timeout": None}
        if p.returncode == 0 and p.stdout.strip():
            for kv in p.stdout.split():
                k, _, v = kv.partition("=")
                r[k] = float(v) if k in ("wall", "user", "sys") else int(v)
            r["cpu"] = r["user"] + r["sys"]
            r["ok"] = r["status"] == 0 and not r["signal"] and not r["timeout"]
        if config in ("off", "sample", "all") and r["ok"]:
            # No report means the library did not run (ld.so ignores a preload
            # it cannot load): the figures would be the plain program's.
            r.update(report_rss(rdir))
            r["ok"] = bool(read_report(rdir))
            r["no_report"] = not r["ok"]
        r["log"] = out
        r["report_dir"] = rdir
        return r

    def keep_log(self, name, r):
        dst = os.path.join(self.logdir, name + ".log")
        shutil.copy(r["log"], dst)
        return dst


def read_report(rdir):
    """Parsed lines of the single report in rdir (a cut last line skipped)."""
    files = sorted(glob.glob(os.path.join(rdir or "", "drainprof.*.jsonl")))
    lines = []
    for f in files:
        with open(f, errors="replace") as fh:
            for line in fh:
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
    return lines


def report_rss(rdir):
    """rss.self against the program's own RSS (rss.total - rss.self) over the
    report's snapshots: the snapshot closest to breaking the self-RSS target
    (self, total, and mappings.self.rss to cross-check rss.self with), and
    the snapshot where the program was largest."""
    snaps = []
    for d in read_report(rdir):
        rss = d.get("rss") if d.get("type") == "snapshot" else None
        if not rss or not isinstance(rss.get("self"), int) or not isinstance(rss.get("total"), int):
            continue
        m = ((d.get("mappings") or {}).get("self") or {}).get("rss")
        snaps.append((rss["self"], rss["total"], m if isinstance(m, int) else None))
    if not snaps:
        return {}
    worst = max(snaps, key=lambda x: x[0] - 0.10 * (x[1] - x[0]))
    return {"self": worst[0], "total": worst[1], "self_map": worst[2],
            "peak": max(snaps, key=lambda x: x[1])}


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def pct(x):
    return "-" if x is None else "%+.1f%%" % (100 * x)


def overhead(res, w, c, key="wall"):
    """Median figure of config c over plain's, minus 1 (None when unknown)."""
    a, p = res[w].get(c), res[w].get("plain")
    if not a or not p or a[key] is None or p[key] is None:
        return None
    return a[key] / p[key] - 1


def sparse_every(rounds, runs):
    """One round in how many runs the configurations outside PAIRED on a
    target workload: SPARSE_EVERY, or fewer where that would leave them
    under BENCH_RUNS runs."""
    return max(1, min(SPARSE_EVERY, rounds // runs))


def bench_workloads(runner, names, configs, runs, target_runs, tsv):
    wl = [(n, a) for n, a in workloads(runner.b) if n in names]
    skip = {c: runner.available(c) for c in configs}
    live = [c for c in configs if not skip[c]]
    raw = {n: {c: [] for c in live} for n, _ in wl}
    for n, argv in wl:  # warm the page cache and check each program runs
        r = runner.run("plain", argv)
        if not r["ok"]:
            log("warning: %s fails without any tool: %s" % (n, runner.keep_log(n + "-plain", r)))
    rounds = {n: target_runs if n in TARGET_WORKLOADS else runs for n, _ in wl}
    total = max(rounds.values(), default=0)
    for i in range(total):
        log("round %d/%d" % (i + 1, total))
        order = round_order(live, i)
        for n, argv in wl:
            if i >= rounds[n]:
                continue
            every = max(1, rounds[n] // runs)
            sparse = sparse_every(rounds[n], runs)
            for c in order:
                if c == "heaptrack" and (i % every or i // every >= runs):
                    continue
                if n in TARGET_WORKLOADS and c not in PAIRED and c != "heaptrack" and i % sparse:
                    continue
                r = runner.run(c, argv)
                r["round"] = i
                raw[n][c].append(r)
                tsv.write("\t".join(str(x) for x in (
                    n, c, i + 1, r.get("wall", ""), r.get("user", ""), r.get("sys", ""),
                    r.get("cpu", ""), r.get("maxrss_kib", ""), r["status"], r["signal"],
                    r["timeout"], r.get("self", ""), r.get("total", ""))) + "\n")
                tsv.flush()
                if not r["ok"] and not os.path.exists(os.path.join(runner.logdir, n + "-" + c + ".log")):
                    log("  %s/%s failed (status %s signal %s timeout %s%s): %s" % (
                        n, c, r["status"], r["signal"], r["timeout"],
                        ", no report" if r.get("no_report") else "",
                        runner.keep_log(n + "-" + c, r)))
                if r["report_dir"]:
                    shutil.rmtree(r["report_dir"], ignore_errors=True)

    res = {}
    for n, _ in wl:
        res[n] = {}
        for c in configs:
            rs = raw[n].get(c, [])
            good = [r for r in rs if r["ok"]]
            if skip[c]:
                res[n][c] = None
                continue
            ratios = {ref: paired_ratios(rs, raw[n].get(ref, [])) for ref in ("plain", "empty")}
            res[n][c] = {
                "wall": med([r["wall"] for r in good]),
                "wall_range": (min(r["wall"] for r in good), max(r["wall"] for r in good)) if good else None,
                "wall_quartiles": statistics.quantiles([r["wall"] for r in good], n=4) if len(good) > 1 else None,
                "cpu": med([r["cpu"] for r in good]),
                "rss": med([r["maxrss_kib"] * 1024 for r in good]),
                "failed": len(rs) - len(good), "runs": len(rs),
                "self": [r["self"] for r in good if "self" in r],
                "total": [r["total"] for r in good if "self" in r],
                "self_map": [r["self_map"] for r in good if "self" in r],
                "peak": [r["peak"] for r in good if "self" in r],
                "paired": {ref: med(ratios[ref]) for ref in ratios},
                "paired_ci": {ref: median_interval(ratios[ref]) for ref in ratios},
                "ratios": ratios,
            }
    return wl, skip, res


def round_order(live, i):
    """Round i's order: the PAIRED configurations together, in each of
    their orders in turn, before the others in half the rounds and after
    them in the rest; the others rotate, so no configuration always runs
    first or right after the heaviest one."""
    core = [c for c in PAIRED if c in live]
    rest = [c for c in live if c not in core]
    perms = list(itertools.permutations(core)) or [()]
    core = list(perms[i % len(perms)])
    if rest:
        rest = rest[i % len(rest):] + rest[:i % len(rest)]
    return core + rest if (i // len(perms)) % 2 == 0 else rest + core


def paired_ratios(rs, refs):
    """wall / the reference's wall in the same round, per round (their
    median is the paired figure): the two ran back to back, so drift on the
    machine cancels out. Matched by round: a configuration that skips
    rounds pairs only with the rounds it ran in."""
    ref = {q["round"]: q for q in refs if q["ok"] and q["wall"]}
    return [r["wall"] / ref[r["round"]]["wall"] for r in rs if r["ok"] and r["round"] in ref]


def median_interval(xs, reps=4000):
    """95% bootstrap interval of the median of xs (fixed seed: the same
    figures give the same interval)."""
    if len(xs) < 5:
        return None
    rng = random.Random(1)
    ms = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(reps))
    return ms[int(0.025 * reps)], ms[int(0.975 * reps) - 1]


def print_tables(wl, configs, skip, res, logdir):
    for n, argv in wl:
        log()
        log("== %s: %s" % (n, " ".join(
            os.path.basename(a) if i == 0 else a.replace(ROOT + os.sep, "")
            for i, a in enumerate(argv))))
        log("%-10s %9s %8s %9s %8s %9s %8s %13s  %s" % (
            "config", "wall s", "x plain", "cpu s", "x plain", "RSS MiB", "x plain", "wall min-max", "note"))
        p = res[n].get("plain")
        for c in configs:
            r = res[n][c]
            if r is None:
                log("%-10s %9s  (%s)" % (c, "n/a", skip[c]))
                continue
            if r["wall"] is None:
                log("%-10s %9s  (all %d runs failed; see %s)" % (
                    c, "FAILED", r["runs"], os.path.join(logdir, "%s-%s.log" % (n, c))))
                continue

            def ratio(k):
                if not p or p[k] is None or not p[k]:
                    return None
                return r[k] / p[k]
            note = "%d of %d runs failed" % (r["failed"], r["runs"]) if r["failed"] else ""
            log("%-10s %9.3f %8s %9.3f %8s %9.1f %8s %13s  %s" % (
                c, r["wall"], fmt(ratio("wall"), ".3f"), r["cpu"], fmt(ratio("cpu"), ".3f"),
                r["rss"] / MIB, fmt(ratio("rss"), ".3f"), "%.3f-%.3f" % r["wall_range"], note))
        s, e = res[n].get("sample"), res[n].get("empty")
        if s and e and s["wall"] and e["wall"]:
            log("sample vs empty: wall %s, cpu %s" % (
                pct(s["wall"] / e["wall"] - 1), pct(s["cpu"] / e["cpu"] - 1)))
        if s:
            pp, pe = s["paired"]["plain"], s["paired"]["empty"]
            log("sample, paired per round (median of wall ratios): vs plain %s, vs empty %s" % (
                pct(pp - 1 if pp else None), pct(pe - 1 if pe else None)))
        oa, oh = overhead(res, n, "all"), overhead(res, n, "heaptrack")
        if oa is not None and oh is not None:
            log("all vs heaptrack overhead: all %s, heaptrack %s, ratio %s" % (
                pct(oa), pct(oh), fmt(oa / oh if oh > 0 else None, ".3f")))


# bigheap's two arena layouts: workers with arenas of their own (what
# glibc gives new threads), and workers sharing the main arena that holds
# the 1 GiB heap, so they wait whenever the walk holds its lock.
ARENAS = (("own", []), ("shared", ["-s"]))
CAUSES = ("slept", "preempted", "ran", "displaced")


def run_bigheap(runner, mib):
    """Snapshot cost on a fragmented heap, per arena layout: once without
    the profiler (the control stalls only), once with it. Returns
    {(arena, config): parsed figures}."""
    out = {}
    for arena, flags in ARENAS:
        prog = [os.path.join(runner.b, "bench", "bigheap"), "-m", str(mib)] + flags
        for config in ("plain", "sample"):
            if runner.available(config):
                continue
            r = runner.run(config, prog, ["DRAINPROF_INTERVAL=0"])
            kv = {}
            if r["ok"]:
                with open(r["log"]) as fh:
                    for line in fh:
                        for tok in line.split():
                            k, sep, v = tok.partition("=")
                            if sep:
                                kv[k] = v
            else:
                kv["failed"] = runner.keep_log("bigheap-%s-%s" % (arena, config), r)
            snaps = [d for d in read_report(r["report_dir"])
                     if d.get("type") == "snapshot" and d.get("label") == "bench"]
            kv["report_snaps"] = snaps
            kv["maxrss_kib"] = r.get("maxrss_kib")
            if r["report_dir"]:
                shutil.rmtree(r["report_dir"], ignore_errors=True)
            out[(arena, config)] = kv
    return out


def causes(kv, slot):
    """'slept 120 us (0 >= 1 ms), ...' for a bigheap window."""
    return ", ".join("%s %s us (%s >= 1 ms)" % (
        c, kv.get("%s_%s_max_us" % (slot, c)), kv.get("%s_%s_ge1ms" % (slot, c))) for c in CAUSES)


def print_bigheap(big, mib):
    log()
    log("== snapshot cost: bigheap -m %d (%d MiB heap of 1..64 KiB chunks, 40%% freed)" % (mib, mib))
    for (arena, config), kv in big.items():
        what = "%s, workers on %s arena%s" % (config, arena, "s" if arena == "own" else "")
        if "failed" in kv:
            log("%s: FAILED (%s)" % (what, kv["failed"]))
            continue
        log("%s: %s chunks (%s freed), %s worker(s), window %s ms, peak RSS %.0f MiB" % (
            what, kv.get("chunks"), kv.get("freed"), kv.get("workers"), kv.get("window_ms"),
            (kv.get("maxrss_kib") or 0) / 1024))
        if kv.get("profiler") == "present":
            log("  snapshot call ms: %s (median %s, max %s)" % (
                kv.get("snapshot_ms"), kv.get("snapshot_ms_median"), kv.get("snapshot_ms_max")))
        elif config != "plain":
            log("  drainprof_snapshot not found: the library did not load")
        log("  worst malloc/free stall: in calls overlapping a snapshot %s us (%s calls), "
            "snapshot window %s us, control window %s us" % (
                kv.get("during_max_us"), kv.get("during_calls"), kv.get("snap_max_us"),
                kv.get("control_max_us")))
        log("  by cause, overlapping a snapshot: %s" % causes(kv, "during"))
        log("  by cause, control window:         %s" % causes(kv, "control"))
        log("  histogram overlapping a snapshot: %s" % kv.get("during_hist"))
        log("  histogram snapshot window:  %s" % kv.get("snap_hist"))
        log("  histogram control window:   %s" % kv.get("control_hist"))
        rs = kv["report_snaps"]
        if rs:
            log("  report: duration_us %s; hold_us %s; hold_total_us %s" % tuple(
                ",".join(str(d.get(k)) for d in rs) for k in ("duration_us", "hold_us", "hold_total_us")))
            log("  gate: up %s; waits %s; timed out %s; longest wait us %s; longest spin us %s" % tuple(
                ",".join(str((d.get("gate") or {}).get(k)) for d in rs)
                for k in ("up", "waits", "timeouts", "max_wait_us", "max_spin_us")))
        elif config != "plain":
            log("  report: no 'bench' snapshot lines found")


# callgrind's figure: (instructions at 400k operations - at 200k) / 200k,
# start-up and exit cancelled out.
CG_OPS = (200000, 400000)


def instruction_counts(runner):
    """Instructions per churn operation (churn -t 1) under plain, the empty
    interposer, off and sample mode, by callgrind: deterministic where wall
    time on this machine strays by several percent, so it shows what the
    call paths cost apart from the noise. Returns {config: count} and a
    reason when nothing could be counted."""
    vg = shutil.which("valgrind")
    if not vg:
        return {}, "valgrind not installed"
    churn = os.path.join(runner.b, "bench", "churn")
    counts, why = {}, None
    for config in ("plain", "empty", "off", "sample"):
        if runner.available(config):
            continue
        # FOLLOW: the library would otherwise drop itself from LD_PRELOAD
        # in valgrind's launcher, and churn would run bare.
        assigns, _ = runner.preload_env(config, ["DRAINPROF_INTERVAL=0", "DRAINPROF_FOLLOW=1"])
        env = dict(os.environ)
        env.update(a.split("=", 1) for a in assigns)
        totals = []
        for n in CG_OPS:
            d = tempfile.mkdtemp(prefix="cgo-", dir=runner.tmp)
            try:
                p = subprocess.run([vg, "--tool=callgrind", "--callgrind-out-file=" + os.path.join(d, "cg.%p"),
                                    churn, "-t", "1", "-n", str(n)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=runner.timeout)
            except subprocess.TimeoutExpired:
                p = None
            total = 0
            for f in glob.glob(os.path.join(d, "cg.*")):
                with open(f) as fh:
                    total += sum(int(line.split()[1]) for line in fh if line.startswith("summary:"))
            if not p or p.returncode != 0 or not total:
                why = "callgrind failed under %s" % config
                break
            totals.append(total)
        if len(totals) == len(CG_OPS):
            counts[config] = (totals[1] - totals[0]) / (CG_OPS[1] - CG_OPS[0])
    return counts, why


# Start-up and the exit snapshot, apart from the per-call cost: a churn
# run of a few operations is almost nothing else.
FIXED_ARGV = ("-t", "4", "-n", "1000")


def fixed_costs(runner, rounds):
    """Median wall time of a near-empty churn run under plain, the empty
    interposer and sample mode (rotating, as round_order pairs them), in
    seconds; {} when nothing ran."""
    argv = [os.path.join(runner.b, "bench", "churn")] + list(FIXED_ARGV)
    live = [c for c in PAIRED if not runner.available(c)]
    walls = {c: [] for c in live}
    for i in range(rounds):
        for c in round_order(live, i):
            r = runner.run(c, argv)
            if r["ok"]:
                walls[c].append(r["wall"])
            if r["report_dir"]:
                shutil.rmtree(r["report_dir"], ignore_errors=True)
    return {c: med(w) for c, w in walls.items() if w}


def print_fixed(fixed, res):
    log()
    log("== start-up and exit: churn %s, median wall of %s" % (
        " ".join(FIXED_ARGV), ", ".join(fixed) or "nothing"))
    for c, w in fixed.items():
        extra = "  %+.2f ms over empty" % ((w - fixed["empty"]) * 1000) if c != "empty" and "empty" in fixed else ""
        log("%-10s %7.2f ms%s" % (c, w * 1000, extra))
    # What that is of a target run: part of every figure above, a cost per
    # process rather than per call.
    e, s = fixed.get("empty"), fixed.get("sample")
    for n in TARGET_WORKLOADS:
        p = (res.get(n, {}).get("plain") or {}).get("wall")
        if e and s and p:
            log("sample's extra start-up and exit is %.2f%% of a plain %s run (%.3f s)" % (
                100 * (s - e) / p, n, p))


def print_instructions(counts, why):
    log()
    log("== instructions per churn operation (callgrind, churn -t 1, (%dk - %dk operations) / %dk)" % (
        CG_OPS[1] // 1000, CG_OPS[0] // 1000, (CG_OPS[1] - CG_OPS[0]) // 1000))
    if why:
        log("(%s)" % why)
    order = list(counts)
    for i, (c, v) in enumerate(counts.items()):
        # Each against the references before it (plain, then the empty interposer).
        extra = "".join("  %+.0f (%s) over %s" % (v - counts[ref], pct(v / counts[ref] - 1), ref)
                        for ref in ("plain", "empty") if ref in order[:i])
        log("%-10s %7.0f%s" % (c, v, extra))


HISTORY_COLUMNS = "builds\trun_started\tworkload\tref\tround\tratio\n"


def builds_key(runner):
    """What a pooled figure depends on: the library, and the empty
    interposer and churn it is measured against (sha256 prefixes)."""
    h = hashlib.sha256()
    for f in (runner.empty, os.path.join(runner.b, "bench", "churn")):
        if os.path.exists(f):
            with open(f, "rb") as fh:
                h.update(fh.read())
    return "%s:%s" % (runner.lib_sha, h.hexdigest()[:12])


MIN_HISTORY_ROUNDS = 5


def record_history(path, key, started, res):
    """Appends this run's paired ratios of sample mode on the target
    workloads, for pooled_over_runs. A trial run of a few rounds is left
    out: the pool resamples whole runs, so it would weigh as much as a
    full one."""
    new = not os.path.exists(path)
    with open(path, "a") as fh:
        if new:
            fh.write(HISTORY_COLUMNS)
        for n in TARGET_WORKLOADS:
            s = (res.get(n) or {}).get("sample")
            for ref, rs in (s or {}).get("ratios", {}).items():
                if len(rs) < MIN_HISTORY_ROUNDS:
                    continue
                fh.write("".join("%s\t%s\t%s\t%s\t%d\t%.6f\n" % (key, started, n, ref, i + 1, r)
                                 for i, r in enumerate(rs)))


def read_history(path, key):
    """The recorded ratios of these builds (builds_key): {(workload,
    ref): [one list of per-round ratios per run]}."""
    runs = {}
    try:
        with open(path) as fh:
            for line in fh:
                f = line.rstrip("\n").split("\t")
                if len(f) == 6 and f[0] == key:
                    runs.setdefault((f[2], f[3]), {}).setdefault(f[1], []).append(float(f[5]))
    except OSError:
        pass
    return {k: list(v.values()) for k, v in runs.items()}


def pooled_over_runs(per, reps=2000):
    """Runs of per-round ratios pooled: (runs, rounds, median of all the
    ratios, 95% interval), or None with fewer than two runs. The interval
    resamples whole runs, then rounds within each: the machine's noise
    drifts over minutes, so one run's rounds are not independent of each
    other, and a run-level spread is what a rerun would show."""
    if len(per) < 2:
        return None
    rng = random.Random(1)
    ms = []
    for _ in range(reps):
        picked = [per[rng.randrange(len(per))] for _ in per]
        ms.append(statistics.median([x for r in picked for x in rng.choices(r, k=len(r))]))
    ms.sort()
    return len(per), sum(map(len, per)), statistics.median([x for r in per for x in r]), (
        ms[int(0.025 * reps)], ms[int(0.975 * reps) - 1])


def verdict(ok, soft=None):
    if ok is None:
        return "n/a "
    if ok:
        return "PASS"
    return "MISS" if not soft else "MISS (soft; within hard limit)"


def print_targets(res, big, mib, history=None):
    log()
    log("== targets")
    churn = [n for n in ("churn-2t", "churn-4t") if n in res]
    # Judged on the per-round paired ratios (drift cancels out); the ratio
    # of the medians, which the tables show, is printed beside.
    def sample_over(n, ref):
        s = res[n].get("sample")
        q = s["paired"][ref] if s else None
        return None if q is None else q - 1

    def interval(n, ref, limit):
        """The interval, and whether it decides the target: a verdict whose
        interval spans the limit says so, rather than reading as certain."""
        s = res[n].get("sample")
        ci = s["paired_ci"][ref] if s else None
        if not ci:
            return ""
        spans = ci[0] - 1 <= limit < ci[1] - 1
        return ", 95%% interval %s..%s%s" % (pct(ci[0] - 1), pct(ci[1] - 1),
                                          ", which spans the limit" if spans else "")

    for n in churn:
        o = sample_over(n, "plain")
        ok = None if o is None else o <= 0.05
        soft = o is not None and o <= 0.10
        log("%s  sample <= 5%% over plain (hard 10%%) on %s: paired %s%s (medians %s)" % (
            verdict(ok, soft), n, pct(o), interval(n, "plain", 0.05), pct(overhead(res, n, "sample"))))
    for n in churn:
        s, e = res[n].get("sample"), res[n].get("empty")
        d = s["wall"] / e["wall"] - 1 if s and e and s["wall"] and e["wall"] else None
        o = sample_over(n, "empty")
        log("%s  sample within 3%% of the empty interposer on %s: paired %s%s (medians %s)" % (
            verdict(None if o is None else o <= 0.03), n, pct(o), interval(n, "empty", 0.03), pct(d)))
    # One run's rounds decide a target a point away by chance (runs of the
    # same build spread by 2-3 points): every recorded run of these builds
    # together, for reading beside this run's verdict.
    if history:
        recorded = read_history(*history)
        for n in churn:
            for ref, limit in (("plain", 0.05), ("empty", 0.03)):
                pool = pooled_over_runs(recorded.get((n, ref), []))
                if pool:
                    k, m, q, (lo, hi) = pool
                    log("info   sample over %s on %s, all %d runs of these builds (%d rounds): %s, "
                        "95%% interval %s..%s (limit %s)" % (
                            ref, n, k, m, pct(q - 1), pct(lo - 1), pct(hi - 1), pct(limit)))
    # How far a verdict can be trusted: the spread of plain's own runs.
    for n in churn:
        q = (res[n].get("plain") or {}).get("wall_quartiles")
        if q:
            log("info   noise on %s: the middle half of plain's runs spans %.1f%% of their median" % (
                n, 100 * (q[2] - q[0]) / q[1]))
    # The targets are set on the churn workloads; the other workloads'
    # ratio is printed for reading, not judged.
    for n in res:
        oa, oh = overhead(res, n, "all"), overhead(res, n, "heaptrack")
        ok = None if oa is None or oh is None else oa <= oh / 4
        log("%s  all-mode overhead <= 1/4 of heaptrack's on %s: %s vs %s" % (
            verdict(ok) if n in churn else "info ", n, pct(oa), pct(oh)))
    for n in churn:
        for c in ("sample", "all"):
            if c not in res[n]:
                continue
            r = res[n][c]
            if not r or not r["self"]:
                log("n/a   self RSS <= 10%% of program + 16 MiB (%s, %s): no rss.self in reports" % (n, c))
                continue
            i = max(range(len(r["self"])),
                    key=lambda j: r["self"][j] - 0.10 * (r["total"][j] - r["self"][j]))
            s, t, sm = r["self"][i], r["total"][i], r["self_map"][i]
            prog = t - s
            what = "self RSS <= 10%% of program + 16 MiB (%s, %s)" % (n, c)
            if prog <= 0:
                log("MISS  %s: report inconsistent, rss.self %.1f MiB > rss.total %.1f MiB "
                    "(mappings.self.rss %s MiB)" % (
                        what, s / MIB, t / MIB, fmt(sm / MIB if sm is not None else None, ".1f")))
                continue
            ps, pt, _ = max(r["peak"], key=lambda x: x[1])
            log("%s  %s: worst snapshot self %.1f MiB, program %.1f MiB; at the program's peak "
                "self %.1f MiB / program %.1f MiB = %.3f" % (
                    verdict(s <= 0.10 * prog + 16 * MIB), what, s / MIB, prog / MIB,
                    ps / MIB, (pt - ps) / MIB, ps / (pt - ps) if pt > ps else float("nan")))
    sampled = [(a, big[(a, "sample")]) for a, _ in ARENAS
               if "snapshot_ms_max" in big.get((a, "sample"), {})]
    if not sampled:
        log("n/a   snapshot of a %d MiB heap < 50 ms: no snapshot figures" % mib)
        log("n/a   no thread stalled > 1 ms by a snapshot: no snapshot figures")
        return
    mx = max(float(kv["snapshot_ms_max"]) for _, kv in sampled)
    log("%s  snapshot of a %d MiB heap < 50 ms: max %.1f ms" % (verdict(mx < 50), mib, mx))
    # Judged on the calls that overlapped a snapshot call (the gaps between
    # snapshots, the main thread asleep, only add the machine's noise), and
    # on the ways a snapshot can stall a worker: it slept (a lock) or was
    # preempted, or it spun at the walk's gate, which runs on and so is
    # timed by the library: the report's gate.max_spin_us, the wait less
    # the gaps in which the spinning thread did not run (max_wait_us, the
    # whole wait, is printed beside it). Any other call that ran on was
    # slow whatever the profiler did: on this VM, the host stopped its vCPU.
    # A call preempted once while the snapshot ran on the other CPU without
    # a switch ("displaced", bigheap.c) lost its CPU to another task, not to
    # the snapshot, and is printed beside, not judged.
    for arena, kv in sampled:
        slept = max(float(kv.get("during_%s_max_us" % c, 0)) for c in ("slept", "preempted"))
        gates = [d.get("gate") or {} for d in kv["report_snaps"]]
        spin = max([float(g.get("max_spin_us", g.get("max_wait_us", 0))) for g in gates] or [0])
        wait = max([float(g.get("max_wait_us", 0)) for g in gates] or [0])
        by = max(slept, spin)
        log("%s  no thread stalled > 1 ms by a snapshot (workers on %s arena%s): worst call overlapping "
            "one that slept or was preempted %.0f us, longest spin at the gate %.0f us (wait %.0f us); "
            "worst of all %s us (ran on: %s us, displaced by another task: %s us); control window %s us" % (
                verdict(by <= 1000), arena, "s" if arena == "own" else "", slept, spin, wait,
                kv.get("during_max_us"), kv.get("during_ran_max_us"), kv.get("during_displaced_max_us", "-"),
                kv.get("control_max_us")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    target_runs = max(runs, int(os.environ.get("BENCH_TARGET_RUNS", "48")))
    names = [w for w, _ in workloads("")]
    if os.environ.get("BENCH_ONLY"):
        names = os.environ["BENCH_ONLY"].split(",")
    configs = CONFIGS
    if os.environ.get("BENCH_CONFIGS"):
        configs = ["plain"] + [c for c in os.environ["BENCH_CONFIGS"].split(",")
                               if c in CONFIGS and c != "plain"]
    mib = int(os.environ.get("BENCH_HEAP_MIB", "1024"))
    tmp = tempfile.mkdtemp(prefix="dp-bench-")
    try:
        runner = Runner(a.build, tmp, int(os.environ.get("BENCH_TIMEOUT", "120")))
        log("bench: %d runs per configuration (%s: %d rounds of %s, the others in one round of "
            "every %d, heaptrack in %d of them), configurations: %s" % (
                runs, ", ".join(TARGET_WORKLOADS), target_runs, ", ".join(PAIRED),
                sparse_every(target_runs, runs), runs, ", ".join(configs)))
        if hasattr(runner, "lib_sha"):
            log("libdrainprof.so sha256 %s (HEAD %s)" % (runner.lib_sha, subprocess.run(
                ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True).stdout.strip() or "unknown"))
        started = time.strftime("%Y-%m-%dT%H:%M:%S")
        with open("/proc/loadavg") as fh:  # other work on the machine skews every figure
            log("load average at start: %s" % " ".join(fh.read().split()[:3]))
        tsv_path = os.path.join(runner.b, "bench", "results.tsv")
        with open(tsv_path, "w") as tsv:
            tsv.write("workload\tconfig\trun\twall_s\tuser_s\tsys_s\tcpu_s\tmaxrss_kib\tstatus"
                      "\tsignal\ttimeout\tself_bytes\ttotal_bytes\n")
            wl, skip, res = bench_workloads(runner, names, configs, runs, target_runs, tsv)
        print_tables(wl, configs, skip, res, os.path.relpath(runner.logdir))
        big = {}
        if "bigheap" not in os.environ.get("BENCH_SKIP", ""):
            big = run_bigheap(runner, mib)
            print_bigheap(big, mib)
        if "fixed" not in os.environ.get("BENCH_SKIP", ""):
            print_fixed(fixed_costs(runner, target_runs), res)
        if "callgrind" not in os.environ.get("BENCH_SKIP", ""):
            print_instructions(*instruction_counts(runner))
        history = None
        if hasattr(runner, "lib_sha"):
            history = (os.path.join(runner.b, "bench", "history.tsv"), builds_key(runner))
            record_history(history[0], history[1], started, res)
        print_targets(res, big, mib, history)
        log()
        log("raw results: %s" % os.path.relpath(tsv_path))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
