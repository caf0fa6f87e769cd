#!/bin/sh
# Installs the Debian packages the build and the tests need, only when missing,
# so `make demo` and `make check` work on a fresh Debian 12 machine.
set -e
need=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
[ -z "$need" ] && exit 0
echo "drainprof: installing missing packages:$need" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >&2
