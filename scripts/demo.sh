#!/bin/sh
# `make demo`: profiles three shipped examples under build/drainprof and
# prints what the profiler finds. Builds nothing (make demo built it all);
# usage: sh scripts/demo.sh [BUILD_DIR]. Reports go to a temporary directory,
# which is kept so they can be read again with drainprof-report.
set -e
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B="$ROOT/$BUILD"
for f in "$B/drainprof" "$B/drainprof-report" "$B/libdrainprof.so" \
         "$B/examples/pinned_top" "$B/examples/arena_explosion" "$B/examples/mmap_threshold"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "demo: $f is missing; run 'make demo'" >&2; exit 1; }
done
out=$(mktemp -d "${TMPDIR:-/tmp}/drainprof-demo.XXXXXX")

banner() {
  printf '\n################################################################\n# %s\n################################################################\n' "$1"
}

# Each example prints its own truth (one JSON line) before the summary.
profile() {
  name=$1; shift
  mkdir -p "$out/$name"
  "$B/drainprof" --interval 0 --dir "$out/$name" "$@" -- "$B/examples/$name"
}

banner "1. pinned brk top: 100 MB freed below one live 4 KiB block (examples/pinned_top.c)"
echo "The program frees all it allocated but one late 4 KiB block; its RSS stays ~100 MB."
echo "Look for: pinned brk top, the pinner's file:line, and the [pinned-top] finding."
profile pinned_top

banner "2. arena explosion: 12 worker threads, 12 arenas (examples/arena_explosion.c)"
echo "Look for: the arenas table and the [MALLOC_ARENA_MAX] finding with its expected saving."
profile arena_explosion
echo
echo "The same program with the advice applied (MALLOC_ARENA_MAX=2); its own RSS figures:"
echo "  as is:               $("$B/examples/arena_explosion")"
echo "  MALLOC_ARENA_MAX=2:  $(MALLOC_ARENA_MAX=2 "$B/examples/arena_explosion")"

banner "3. dynamic mmap threshold: 2 MiB frames land in the heap (examples/mmap_threshold.c)"
echo "Look for: the [M_MMAP_THRESHOLD] finding."
profile mmap_threshold --no-summary
"$B/drainprof-report" "$out/mmap_threshold" | sed -n '/== Findings ==/,$p'
echo
echo "With MALLOC_MMAP_THRESHOLD_=131072, the program's own figures:"
echo "  as is:     $("$B/examples/mmap_threshold")"
echo "  fixed:     $(MALLOC_MMAP_THRESHOLD_=131072 "$B/examples/mmap_threshold")"

banner "Done"
echo "Reports: $out (read them again with $BUILD/drainprof-report [--json|--prometheus|--html FILE] DIR)."
echo "More examples: ls examples/ (each is described in README.md); tests: make check."
