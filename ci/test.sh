#!/bin/sh
# test.sh: the one test command. Installs what is missing, builds with
# AddressSanitizer and UBSan and warnings as errors, runs every meson suite
# (unit, headers, integration, fuzz), and prints one closing line.
set -eu
cd "$(dirname "$0")/.."

sh ci/bootstrap.sh

builddir=${HARNESS_TEST_BUILDDIR:-build-test}
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" \
		-Dbuildtype=debug \
		-Db_sanitize=address,undefined \
		-Db_lundef=false \
		-Dwerror=true \
		-Dbenchmarks=false >/dev/null
fi
meson compile -C "$builddir"

# Sanitizer findings fail the test that triggered them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

status=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 \
	--timeout-multiplier 2 || status=$?

log="$builddir/meson-logs/testlog.txt"
if [ -f "$log" ]; then
	ok=$(sed -n 's/^Ok:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	fail=$(sed -n 's/^Fail:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	skip=$(sed -n 's/^Skipped:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	timeout=$(sed -n 's/^Timeout:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	echo "tests: ${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} )) failed, ${skip:-0} skipped"
fi
exit "$status"
