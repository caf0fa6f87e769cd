#!/bin/sh
# drainprof-report's text, --json and --prometheus output on the reports in
# tests/data/reports equals the reviewed goldens in tests/data/reports/golden.
# The goldens were produced by the tool once and checked by eye against the
# generator's parameters (gen.py); UPDATE=1 rewrites them after a deliberate
# change (review the diff before committing). --no-symbols keeps the output
# independent of which ELF files this machine has.
set -e
TOOL="$ROOT/$BUILD/drainprof-report"
cd "$ROOT/tests/data/reports"
fail=0 n=0
for rep in *.jsonl; do
  name=${rep%.jsonl}
  for fmt in txt json prom; do
    case $fmt in
      txt) opt= ;;
      json) opt=--json ;;
      prom) opt=--prometheus ;;
    esac
    out="$WORK/$name.$fmt"
    rc=0
    "$TOOL" --no-symbols $opt "$rep" > "$out" 2> "$WORK/err" || rc=$?
    if [ $rc -ne 0 ]; then
      echo "FAIL $rep $fmt: exit $rc: $(cat "$WORK/err")"; fail=1; continue
    fi
    n=$((n + 1))
    if [ "${UPDATE:-0}" = 1 ]; then
      cp "$out" "golden/$name.$fmt"
    elif ! diff -u "golden/$name.$fmt" "$out"; then
      echo "FAIL $rep $fmt differs from golden/$name.$fmt"; fail=1
    fi
  done
done
[ $n -ge 24 ] || { echo "only $n outputs compared"; exit 1; }
echo "$n outputs compared"

# Prometheus exposition: every line is a HELP, a TYPE or a sample of a
# declared gauge, and label values are escaped (an exe with a quote, a
# backslash and a newline in its name).
cd "$WORK"
python3 - "$ROOT/tests/data/reports/small-3mb.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
h = json.loads(lines[0])
h["exe"] = '/opt/we"ird\\dir\nname'
open("odd.jsonl", "w").write("\n".join([json.dumps(h)] + lines[1:]) + "\n")
PY
"$TOOL" --prometheus odd.jsonl "$ROOT/tests/data/reports/many-arenas.jsonl" > odd.prom
python3 - <<'PY' || fail=1
import json, re
exe = json.loads(open("odd.jsonl").readline())["exe"]
want = exe.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
declared, ok, n = set(), True, 0
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-z_]+="(?:[^"\\\n]|\\[\\"n])*",?)*)\} -?[0-9]+(\.[0-9]+)?$')
for line in open("odd.prom").read().splitlines():
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        declared.add(line.split()[2])
        continue
    m = sample.match(line)
    if not m or m.group(1) not in declared:
        print("bad line:", line); ok = False
    n += 1
ok &= ('exe="%s"' % want) in open("odd.prom").read()
print("%d samples, exe label escaped as %s: %s" % (n, want, "ok" if ok else "FAIL"))
raise SystemExit(0 if ok else 1)
PY
exit $fail
