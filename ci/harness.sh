#!/bin/sh
# harness.sh: run harness from a fresh clone in one command. Installs what
# is missing, builds (optimised, into build/) when the sources changed, then
# runs the built harness with the given arguments:
#   ci/harness.sh run boot-vm
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${HARNESS_BUILDDIR:-$top/build}

sh "$top/ci/bootstrap.sh"
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" "$top" -Dbuildtype=release -Dtests=false \
		-Dbenchmarks=false >/dev/null
fi
meson compile -C "$builddir" >/dev/null
# The reference stack's services are found next to the harness binary's
# build tree; put them on PATH as an installed harness would have them.
PATH="$builddir/harness/refstack:$PATH"
export PATH
cd "$top"
exec "$builddir/harness/cli/harness" "$@"
