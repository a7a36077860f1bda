#!/bin/sh
# bench-htrace.sh: libhtrace's span cost against an LTTng-UST tracepoint
# (with a session recording it when lttng can make one) and against
# osprofiler in Python. Usage: bench-htrace.sh <bench-htrace binary>
set -u
bench=$1
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
if [ -n "${lttng_ok:-}" ]; then
	lttng stop "$session" >/dev/null 2>&1
fi
py=$(/usr/bin/python3 "$here/bench-htrace-osprofiler.py" 2>/dev/null ||
	echo "osprofiler_ns 0")
printf '%s\n%s\n' "$out" "$py" | awk -v state="$lttng_state" '
	{ v[$1] = $2 }
	END {
		printf "libhtrace span (begin, 2 attrs, end), median ns:\n"
		printf "  1 thread  %8.1f   2 threads %8.1f\n",
			v["htrace_1t_ns"], v["htrace_2t_ns"]
		printf "  disabled: %.2f ns per span with 2 attrs, %.2f ns per call\n",
			v["disabled_span_ns"], v["disabled_call_ns"]
		printf "LTTng-UST tracepoint, same fields (%s):\n", state
		printf "  1 thread  %8.1f   2 threads %8.1f\n",
			v["lttng_1t_ns"], v["lttng_2t_ns"]
		printf "osprofiler start/stop, in-memory notifier: %.1f ns\n",
			v["osprofiler_ns"]
		if (v["lttng_1t_ns"] > 0)
			printf "ratio htrace/lttng: 1t %.2f, 2t %.2f (target <= 0.6)\n",
				v["htrace_1t_ns"] / v["lttng_1t_ns"],
				v["htrace_2t_ns"] / v["lttng_2t_ns"]
		if (v["osprofiler_ns"] > 0)
			printf "ratio htrace/osprofiler: %.4f\n",
				v["htrace_1t_ns"] / v["osprofiler_ns"]
		printf "spans recorded %d, dropped %d\n",
			v["htrace_spans"], v["htrace_dropped"]
	}'
