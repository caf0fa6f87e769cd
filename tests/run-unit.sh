#!/bin/sh
# Runs each cmocka unit test binary; cmocka prints its own summary per binary.
fail=0
for t in "$@"; do
  "$t" || fail=1
done
exit $fail
