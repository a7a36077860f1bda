#!/bin/sh
# htrace-crash.sh: a traced process aborts after its flush interval; what
# it flushed must decode. Usage: htrace-crash.sh <htrace-crash binary>
set -u
prog=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ulimit -c 0
status=0
ASAN_OPTIONS=handle_abort=0 "$prog" write "$dir" 2>/dev/null || status=$?
# 134 = 128 + SIGABRT (the shell's view of a signal death)
if [ "$status" -ne 134 ]; then
	echo "expected the writer to die of SIGABRT, got status $status" >&2
	exit 1
fi
exec "$prog" check "$dir"
