#!/bin/sh
# bench-htrace-threads.sh: the CPU cost of a short-lived traced thread,
# for libhtrace before and after the reuse of thread states, in the same
# run. Both libraries are compiled here the same way: "before" from the
# committed sources of BASELINE_REV (default: the last libhtrace that
# unmapped a thread's buffers at its exit), "after" from the work tree.
# Usage: bench-htrace-threads.sh <bench-htrace-threads> [threads] [rounds]
set -u
bench=$1
threads=${2:-2000}
rounds=${3:-15}
src=${HARNESS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
rev=${BASELINE_REV:-8f3871e32b79e1e7be33361bfe9d20c6ecf56447}
cc=${CC:-cc}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
files="harness/include/htrace.h harness/spool/spool.h harness/spool/spool.c
harness/trace/internal.h harness/trace/clock.c harness/trace/htrace.c
harness/trace/propagate.c harness/trace/stack.c"

# build <tree> <output>: libhtrace as meson's release build makes it.
build() {
	$cc -std=c11 -O3 -fPIC -shared -fvisibility=hidden -D_GNU_SOURCE \
		-fno-omit-frame-pointer -pthread -I"$1/harness" \
		-I"$1/harness/include" "$1"/harness/trace/*.c \
		"$1/harness/spool/spool.c" -o "$2" -lcrypto -ldl
}

mkdir -p "$dir/after" "$dir/before" "$dir/spool"
for f in $files; do
	mkdir -p "$dir/after/$(dirname "$f")"
	cp "$src/$f" "$dir/after/$f" || exit 1
done
build "$dir/after" "$dir/libhtrace-after.so" || exit 1
libs="after=$dir/libhtrace-after.so"
if git -C "$src" rev-parse --verify -q "$rev^{commit}" >/dev/null; then
	for f in $files; do
		mkdir -p "$dir/before/$(dirname "$f")"
		git -C "$src" show "$rev:$f" >"$dir/before/$f" || exit 1
	done
	build "$dir/before" "$dir/libhtrace-before.so" || exit 1
	libs="before=$dir/libhtrace-before.so $libs"
	echo "before: libhtrace at $(git -C "$src" rev-parse --short "$rev")"
else
	echo "before: no commit $rev here; measuring the work tree only"
fi
echo "after: libhtrace of the work tree"
# shellcheck disable=SC2086
exec "$bench" "$dir/spool" "$threads" "$rounds" $libs
