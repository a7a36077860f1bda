#!/bin/sh
# bench-htrace.sh: libhtrace's span cost against an LTTng-UST tracepoint
# (with a session recording it when lttng can make one) and against
# osprofiler in Python. Usage: bench-htrace.sh <bench-htrace> [<baseline>]
# A baseline is bench-htrace built against another libhtrace (an older
# commit's, say): both run in the same LTTng session, one after the other,
# and their figures are printed side by side.
set -u
bench=$1
base=${2:-}
here=$(dirname "$0")
dir=$(mktemp -d)
ldir=$(mktemp -d)
session="htrace-bench-$$"
lttng_state="no session: tracepoint measured with nothing listening"
sessiond=
cleanup() {
	if [ -n "${lttng_ok:-}" ]; then
		lttng destroy "$session" >/dev/null 2>&1
	fi
	# A session daemon started here goes with the benchmark.
	if [ -n "$sessiond" ]; then
		kill "$sessiond" 2>/dev/null
		wait "$sessiond" 2>/dev/null
	fi
	rm -rf "$dir" "$ldir"
}
trap cleanup EXIT

if command -v lttng >/dev/null 2>&1; then
	if ! lttng list >/dev/null 2>&1 && command -v lttng-sessiond \
			>/dev/null 2>&1; then
		lttng-sessiond --no-kernel --quiet >/dev/null 2>&1 &
		sessiond=$!
		i=0
		while [ $i -lt 50 ] && ! lttng list >/dev/null 2>&1; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	if lttng create "$session" --output="$ldir" >/dev/null 2>&1 &&
	   lttng enable-event --userspace 'htrace_bench:span' >/dev/null 2>&1 &&
	   lttng start "$session" >/dev/null 2>&1; then
		lttng_ok=1
		lttng_state="session active, events recorded"
	fi
fi

out=$("$bench" "$dir") || exit 1
bout=
if [ -n "$base" ]; then
	rm -rf "$dir" && mkdir "$dir"
	bout=$("$base" "$dir" | sed 's/^/base_/') || exit 1
fi
if [ -n "${lttng_ok:-}" ]; then
	lttng stop "$session" >/dev/null 2>&1
fi
py=$(/usr/bin/python3 "$here/bench-htrace-osprofiler.py" 2>/dev/null ||
	echo "osprofiler_ns 0")
printf '%s\n%s\n%s\n' "$out" "$bout" "$py" | awk -v state="$lttng_state" '
	{ v[$1] = $2 }
	function row(label, key, fmt) {
		printf "  %-34s " fmt, label, v[key]
		if ("base_" key in v)
			printf "   baseline " fmt, v["base_" key]
		printf "\n"
	}
	function ratio(label, a, b, fmt) {
		if (v[b] <= 0)
			return
		printf "  %-34s " fmt, label, v[a] / v[b]
		if (("base_" a in v) && v["base_" b] > 0)
			printf "   baseline " fmt, v["base_" a] / v["base_" b]
		printf "\n"
	}
	END {
		printf "median ns (LTTng: %s)\n", state
		row("libhtrace span, 1 thread", "htrace_1t_ns", "%8.1f")
		row("libhtrace span, 2 threads", "htrace_2t_ns", "%8.1f")
		row("disabled span (2 attrs)", "disabled_span_ns", "%8.2f")
		row("disabled call", "disabled_call_ns", "%8.2f")
		row("LTTng-UST tracepoint, 1 thread", "lttng_1t_ns", "%8.1f")
		row("LTTng-UST tracepoint, 2 threads", "lttng_2t_ns", "%8.1f")
		printf "  %-34s %8.1f\n", "osprofiler start/stop (python)",
			v["osprofiler_ns"]
		printf "ratios (target htrace/lttng <= 0.6, disabled call < 2 ns)\n"
		ratio("htrace/lttng, 1 thread", "htrace_1t_ns", "lttng_1t_ns",
			"%8.2f")
		ratio("htrace/lttng, 2 threads", "htrace_2t_ns", "lttng_2t_ns",
			"%8.2f")
		ratio("htrace/osprofiler", "htrace_1t_ns", "osprofiler_ns",
			"%8.4f")
		printf "spans recorded %d, dropped %d\n",
			v["htrace_spans"], v["htrace_dropped"]
	}'
