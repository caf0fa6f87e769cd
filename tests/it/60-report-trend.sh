#!/bin/sh
# Trend verdicts on synthesized reports whose gap slope the script sets:
# a gap growing 2 MiB/min with noise and flat live (structural leak), a
# stable gap after a warm-up ramp, a shrinking gap, a gap growing with live
# (growth, not a leak) and runs too short to judge. The reported slope must
# be within 25% of the slope put in.
set -e
TOOL="$ROOT/$BUILD/drainprof-report"
python3 - <<'PY'
import json, random
MiB = 1 << 20

def report(name, n, dt, gap_at, live_at, seed):
    rnd = random.Random(seed)
    with open(name, "w") as f:
        f.write(json.dumps({"type": "header", "format": "drainprof/1", "pid": seed, "exe": "/x/" + name,
                            "allocator": "glibc"}) + "\n")
        for i in range(n):
            t = 0.5 + dt * i
            live = int(live_at(t) + rnd.gauss(0, 256 << 10))
            gap = int(gap_at(t) + rnd.gauss(0, 512 << 10))
            f.write(json.dumps({"type": "snapshot", "seq": i, "t": t, "label": "interval",
                                "heap": {"live_bytes": live, "resident_bytes": live + gap,
                                         "system_bytes": live + gap, "gap_bytes": gap}}) + "\n")
        f.write(json.dumps({"type": "end", "t": 0.5 + dt * n, "snapshots": n}) + "\n")

per_s = 2 * MiB / 60
report("growing.jsonl", 60, 5, lambda t: 8 * MiB + per_s * t, lambda t: 100 * MiB, 1)
# Warm-up: the gap ramps to 40 MiB in the first 60 s, then stays.
report("stable.jsonl", 48, 5, lambda t: 40 * MiB * min(1, t / 60), lambda t: 60 * MiB * min(1, t / 60) + 1, 2)
report("shrinking.jsonl", 60, 5, lambda t: 60 * MiB - 1.5 * per_s * t, lambda t: 100 * MiB, 3)
report("with-live.jsonl", 60, 5, lambda t: 8 * MiB + per_s * t, lambda t: 50 * MiB + 3 * per_s * t, 4)
report("few.jsonl", 3, 20, lambda t: 8 * MiB + per_s * t * 10, lambda t: 50 * MiB, 5)
report("short.jsonl", 20, 1, lambda t: 8 * MiB + per_s * t * 10, lambda t: 50 * MiB, 6)
json.dump({"growing": per_s, "shrinking": -1.5 * per_s, "with-live": per_s}, open("truth.json", "w"))
PY
for r in growing stable shrinking with-live few short; do
  "$TOOL" --json "$r.jsonl" > "$r.json"
done
python3 - <<'PY'
import json
truth = json.load(open("truth.json"))
ok = True
def expect(name, verdict, leak):
    global ok
    d = json.load(open(name + ".json"))
    g = d["trend"]["gap"]
    ids = [r["id"] for r in d["recommendations"]]
    good = g["verdict"] == verdict and d["trend"]["structural_leak"] == leak and (("structural-leak" in ids) == leak)
    line = "%-10s verdict %-18s (want %s) leak %s" % (name, g["verdict"], verdict, d["trend"]["structural_leak"])
    if name in truth:
        want = truth[name]
        rel = abs(g["slope_bytes_per_s"] - want) / abs(want)
        good &= rel <= 0.25
        line += "; slope %.0f B/s, put in %.0f B/s (%.1f%% off) over %.0f s" % (g["slope_bytes_per_s"], want, 100 * rel, g["window_s"])
    if verdict == "stable":
        # Judged after warm-up: the ramp in the first 60 s must not count.
        good &= g["window_start_s"] >= 60 and abs(g["slope_bytes_per_s"]) * g["window_s"] < 0.05 * 40 * (1 << 20)
        line += "; slope %.0f B/s from t=%.0f s" % (g["slope_bytes_per_s"], g["window_start_s"])
    print(line, "ok" if good else "FAIL")
    ok &= good
expect("growing", "growing", True)
expect("stable", "stable", False)
expect("shrinking", "shrinking", False)
expect("with-live", "growing", False)
expect("few", "insufficient-data", False)
expect("short", "insufficient-data", False)
raise SystemExit(0 if ok else 1)
PY
