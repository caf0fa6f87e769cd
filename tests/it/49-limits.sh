#!/bin/sh
# Under an address-space limit the library takes none of the program's share:
# a program that uses most of its limit runs the same with and without it.
set -e
LIB="$ROOT/$BUILD/libdrainprof.so"
prog='b = bytearray(1536 << 20); print("ok", len(b) >> 20)'
plain=$( (ulimit -v 2200000; /usr/bin/python3 -c "$prog") 2>&1) || true
prof=$( (ulimit -v 2200000; LD_PRELOAD="$LIB" DRAINPROF_DIR="$WORK" DRAINPROF_INTERVAL=0 /usr/bin/python3 -c "$prog") 2>&1) || true
echo "plain: $plain"
echo "profiled: $prof"
[ "$plain" = "ok 1536" ] || { echo "the plain run itself failed: limit too tight for this machine" >&2; exit 77; }
[ "$prof" = "$plain" ] || { echo "FAIL: the library changed the outcome under ulimit -v"; exit 1; }
ls "$WORK"/drainprof.python3.*.jsonl > /dev/null
