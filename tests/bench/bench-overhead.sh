#!/bin/sh
# bench-overhead.sh: what tracing everything costs a user's boot on the
# reference stack. boot-vm runs through `harness run` with tracing off
# (tracing: {enabled: false}: no service and not the load driver records a
# span) and on, in alternating rounds (off-on, then on-off, ...) so that
# drift of the machine hits both arms alike; bench-overhead then reads the
# store and compares the boot latencies (limit: 3%).
#
# usage: bench-overhead.sh <harness> <bench-overhead> [ROUNDS [ITERATIONS
#        [CONCURRENCY [POLL]]]]   (defaults 30, 6, 1, 5ms)
# BENCH_OVERHEAD_KEEP=1 keeps the temp dir (store, logs) for a closer look.
set -u
harness=$1
verdict=$2
rounds=${3:-30}
iters=${4:-6}
conc=${5:-1}
poll=${6:-5ms}
src=${HARNESS_SOURCE_ROOT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-overhead.XXXXXX")

# Both stacks run for the whole benchmark, each started once with
# `harness stack up`, and the runs (--no-stack) alternate between them.
# On any exit they go down; if that fails, their process groups (from
# stack.json) are killed.
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	for arm in off on; do
		[ -f "$tmp/$arm/.harness/stack.json" ] || continue
		"$harness" stack down -c "$tmp/$arm/harness.yaml" \
			>/dev/null 2>&1 && continue
		sed -n 's/^ *"pgid": \([0-9]*\).*/\1/p' \
			"$tmp/$arm/.harness/stack.json" |
			while read -r g; do
				kill -9 -- "-$g" 2>/dev/null
			done
	done
	if [ -n "${BENCH_OVERHEAD_KEEP:-}" ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 75' INT TERM

# The shipped config, once per arm in its own folder (spool, services'
# data, stack state), its project the source tree (so the runs record the
# commit measured); the off arm's with tracing: {enabled: false}.
mkdir "$tmp/on" "$tmp/off" || exit 1
sed "s|^\( *\)path: \.\.\$|\1path: $src|" "$src/scenarios/harness.yaml" \
	>"$tmp/on/harness.yaml"
awk '{ print } /^tracing:$/ { print "  enabled: false" }' \
	"$tmp/on/harness.yaml" >"$tmp/off/harness.yaml"
if ! grep -q "path: $src\$" "$tmp/on/harness.yaml" ||
   ! grep -q '^  enabled: false$' "$tmp/off/harness.yaml"; then
	echo "FAIL cannot make the two configs from scenarios/harness.yaml"
	exit 1
fi

# boot-vm as shipped, but polled every $poll rather than every 20ms (a
# boot takes ~30ms: a 20ms poll would round it, and a 3% limit, away; a
# 1ms poll resolves it best but makes the boot a storm of ~40 polls, each a
# new connection and server thread, which is not the boot users see), and
# without its gates (failure_rate reads spans, which the untraced arm has
# none of; bench-overhead checks that every iteration passed).
sed -e "s|^\( *\)interval: 20ms\$|\1interval: $poll|" -e '/^gates:/,$d' \
	"$src/scenarios/boot-vm.yaml" >"$tmp/boot.yaml"
if ! grep -q "interval: $poll\$" "$tmp/boot.yaml" ||
   grep -q '^gates:' "$tmp/boot.yaml"; then
	echo "FAIL cannot make the scenario from scenarios/boot-vm.yaml"
	exit 1
fi

for arm in off on; do
	if ! "$harness" stack up -c "$tmp/$arm/harness.yaml" \
		>"$tmp/out" 2>&1; then
		echo "FAIL harness stack up, tracing $arm:"
		sed 's/^/    /' "$tmp/out"
		exit 1
	fi
done

# CPU ticks (user + system, with reaped children: the disk command) that
# the services of arm $1 have used so far, from /proc.
cpu_ticks() {
	sed -n 's/^ *"pid": \([0-9]*\).*/\1/p' "$tmp/$1/.harness/stack.json" |
		while read -r p; do
			# The fields after the parenthesised name: utime is
			# the 12th, then stime, cutime, cstime.
			sed 's/^.*) //' "/proc/$p/stat"
		done | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

run_arm() {
	before=$(cpu_ticks "$1")
	if ! "$harness" run -c "$tmp/$1/harness.yaml" --no-stack \
		--store "$tmp/harness.db" "$tmp/boot.yaml" \
		--iterations "$iters" --concurrency "$conc" --warmup 1 \
		--label "$1-$2" >"$tmp/out" 2>&1; then
		echo "FAIL harness run, tracing $1, round $2:"
		sed 's/^/    /' "$tmp/out"
		exit 1
	fi
	echo "$1 $(($(cpu_ticks "$1") - before))" >>"$tmp/cpu"
}

echo "boot-vm polled every $poll, concurrency $conc, $rounds rounds of" \
	"$iters iterations (+1 warm-up) per arm"
r=1
while [ "$r" -le "$rounds" ]; do
	if [ $((r % 2)) -eq 1 ]; then
		run_arm off "$r" && run_arm on "$r"
	else
		run_arm on "$r" && run_arm off "$r"
	fi
	r=$((r + 1))
done
"$verdict" "$tmp/harness.db" 3
status=$?
# What the services spent, which a busy machine blurs less than latency.
awk -v hz="$(getconf CLK_TCK)" -v boots=$((rounds * (iters + 1))) '
	{ t[$1] += $2 }
	END {
		off = 1000 * t["off"] / hz / boots
		on = 1000 * t["on"] / hz / boots
		printf "  CPU of the six services per boot (warm-up included): "
		printf "off %.2f ms, on %.2f ms (%+.1f%%)\n", off, on,
			(off > 0 ? 100 * (on - off) / off : 0)
	}' "$tmp/cpu"
exit "$status"
