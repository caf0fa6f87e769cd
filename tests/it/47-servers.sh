#!/bin/sh
# Real servers under load with the library preloaded: redis-server (which
# links jemalloc) serving redis-benchmark, and python3 -m http.server under
# repeated requests. No error, the same answers as without the library, and
# each report names the allocator it saw.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || { echo "redis missing" >&2; exit 77; }
cd "$WORK"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for i in $(seq 100); do /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# redis
port=$(free_port)
mkdir -p redis
LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/redis" DRAINPROF_INTERVAL=0.5 \
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  > redis.log 2>&1 &
rpid=$!
wait_port "$port"
redis-benchmark -h 127.0.0.1 -p "$port" -n 20000 -c 8 -q -t set,get,lpush,lpop > bench.out 2> bench.err
cat bench.out
grep -qi error bench.out bench.err && { echo "redis-benchmark reported errors"; exit 1; }
redis-cli -h 127.0.0.1 -p "$port" set dpkey hello > /dev/null
[ "$(redis-cli -h 127.0.0.1 -p "$port" get dpkey)" = hello ] || { echo "redis answered wrong"; exit 1; }
redis-cli -h 127.0.0.1 -p "$port" shutdown nosave > /dev/null 2>&1 || true
wait $rpid || true
python3 - "$WORK/redis" <<'PY'
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
files = r.reports(sys.argv[1])
assert files, "no redis report"
header, snaps, _, _, _ = r.load(files[0])
print("redis allocator:", header["allocator"], "snapshots:", len(snaps))
assert header["allocator"] == "libjemalloc.so.2", header["allocator"]
assert len(snaps) >= 2
last = snaps[-1]
assert last["heap"]["live_bytes"] > 0 and last["arenas"] == [] and last["brk"] is None, last["heap"]
PY

# python3 -m http.server: the same bytes back for each request, with and without
mkdir -p site http
head -c 200000 /dev/urandom > site/blob.bin
echo "<p>hello</p>" > site/index.html
fetch_all() { # port outfile
  : > "$2"
  for i in $(seq 60); do
    curl -fsS "http://127.0.0.1:$1/blob.bin" | md5sum >> "$2"
    curl -fsS "http://127.0.0.1:$1/index.html" >> "$2"
    curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$1/missing" >> "$2"
  done
}
port=$(free_port)
(cd site && exec /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1) > plain.log 2>&1 &
ppid_=$!
wait_port "$port"; fetch_all "$port" plain.out
kill $ppid_; wait $ppid_ 2>/dev/null || true
port=$(free_port)
(cd site && LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK/http" DRAINPROF_INTERVAL=0.5 \
  exec /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1) > prof.log 2>&1 &
hpid=$!
wait_port "$port"; fetch_all "$port" prof.out
kill $hpid; wait $hpid 2>/dev/null || true
cmp plain.out prof.out || { echo "http.server answered differently"; diff plain.out prof.out | head; exit 1; }
grep -i "libdrainprof" prof.log && { echo "library wrote to the server's stderr"; exit 1; }
python3 - "$WORK/http" <<'PY'
import os, sys
sys.path.insert(0, os.environ["ROOT"] + "/tests/lib")
import dpreport as r
header, snaps, _, _, end = r.load(r.reports(sys.argv[1])[0])
print("http.server allocator:", header["allocator"], "snapshots:", len(snaps), "end:", end is not None)
assert header["allocator"] == "glibc" and len(snaps) >= 2
PY
