#!/bin/sh
# gate.sh: the CI regression gate for a project's pipeline. Builds the base
# and the head commit in two git worktrees, runs a scenario on both in
# alternating rounds into one store, compares head with base, writes the
# reports and exits with the compare's exit code:
#   ci/gate.sh --out-dir gate-report
# 0 pass, 1 regression, 2 an absolute limit broken, 3 inconclusive,
# 4 a machine-wide shift, 64 bad usage, 70 a build or a run failed,
# 75 interrupted, 78 bad config.
set -eu

usage() {
	cat <<'EOF'
usage: ci/gate.sh [--base REF] [--scenario NAME] [--rounds N]
                  [--out-dir DIR] [--budget DURATION] [--iterations N] [--concurrency N]
                  [--warmup N]
                  [--min-effect X] [--alpha X] [--no-baseline-ok]
                  [-c FILE] [--harness-build DIR]

Build the base and the head (HEAD) commit of the git checkout this is run
in, each in a git worktree, run SCENARIO on both into one store, compare
head with base (harness compare), write compare.md, compare.html,
compare.json, compare.xml (JUnit) and flame.svg (the differential flame
graph, where compare draws it) into --out-dir, print the Markdown, and
exit with the compare's code (0 pass, 1 regression, 2 absolute limit
broken, 3 inconclusive, 4 machine-wide shift; 64 usage, 70 build or run
failure, 75 interrupted, 78 config).

The gate decides instead of asking for more: after the first --rounds
rounds it compares (look 1); while the answer is inconclusive (3) or a
machine-wide shift (4) and the --budget leaves time for another round, it
runs one more round of base and head and compares again (look 2, 3, ...).
Look k tests at alpha / 2^k (harness compare --look), so the false-alarm
rate over all the looks stays below alpha.

  --base REF           compare with the merge-base of HEAD and REF
                       (default: the default branch: origin/HEAD, else
                       main, else master)
  --scenario NAME      the scenario (default: boot-vm)
  --rounds N           rounds before the first look, each running base
                       and head once, the order swapped every round
                       (base head, head base, base head, ...), the
                       iterations split over them (default: 3); compare
                       pairs run i of the base with run i of the head as
                       a block, so drift of the machine between rounds
                       widens the intervals instead of passing for a
                       change
  --budget DURATION    time the measurement may take in all (30s, 10m,
                       1h; default: 10m); 0: one look, at alpha
  --iterations N       measured iterations per side in the first
                       --rounds rounds; each added round makes as many
                       as one of those (default: 60)
  --concurrency N      iterations in flight (default: the scenario's)
  --warmup N           warm-up iterations of each run (default: the
                       scenario's)
  --min-effect X       smallest relative shift that fails, 0.05 or 5%
                       (default: the scenario's)
  --alpha X            false discovery rate (default: the scenario's)
  --no-baseline-ok     exit 0, not 3, when the comparison is
                       inconclusive
  -c, --config FILE    the harness.yaml, relative to the top of the
                       checkout (default: scenarios/harness.yaml)
  --out-dir DIR        where the store and the reports go (default:
                       gate-report; also as --out, its old name)
  --harness-build DIR  fast path: use this existing build of harness
                       (DIR/harness/cli/harness and its reference stack)
                       for both sides instead of building each commit;
                       only right when the commits differ in config or
                       data, not in code (also $HARNESS_GATE_BUILD)

Environment: HARNESS_GATE_DIR holds the worktrees and the build
directories, which are reused by the next invocation (default:
GIT_DIR/harness-gate); HARNESS_GATE_MESON_OPTIONS replaces the meson
setup options (default: -Dbuildtype=release, and -Dtests=false
-Dbenchmarks=false where the project has them); HARNESS_GATE_JOBS limits
the parallel compile jobs.
EOF
}

say() {
	echo "gate: $*" >&2
}

# One line, as harness's own usage errors: the whole help would bury it.
usage_error() {
	say "$*; see 'ci/gate.sh --help'"
	exit 64
}

# A failure that is not a verdict: exit with CODE after the message.
fail() {
	code=$1
	shift
	say "$*"
	exit "$code"
}

need_value() {
	[ "$2" -ge 2 ] || usage_error "option '$1' needs a value"
}

is_count() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ "$1" -ge "$2" ]
}

base_opt=""
scenario=boot-vm
rounds=3
min_effect=""
alpha=""
no_baseline_ok=0
iterations=60
budget=10m
concurrency=""
warmup=""
config=scenarios/harness.yaml
out=gate-report
harness_build=${HARNESS_GATE_BUILD:-}

while [ $# -gt 0 ]; do
	case $1 in
	--help | -h)
		usage
		exit 0
		;;
	--base)
		need_value "$1" $#
		base_opt=$2
		shift
		;;
	--scenario)
		need_value "$1" $#
		scenario=$2
		shift
		;;
	--rounds)
		need_value "$1" $#
		rounds=$2
		shift
		;;
	--iterations)
		need_value "$1" $#
		iterations=$2
		shift
		;;
	--budget)
		need_value "$1" $#
		budget=$2
		shift
		;;
	--concurrency)
		need_value "$1" $#
		concurrency=$2
		shift
		;;
	--warmup)
		need_value "$1" $#
		warmup=$2
		shift
		;;
	--min-effect)
		need_value "$1" $#
		min_effect=$2
		shift
		;;
	--alpha)
		need_value "$1" $#
		alpha=$2
		shift
		;;
	--no-baseline-ok)
		no_baseline_ok=1
		;;
	-c | --config)
		need_value "$1" $#
		config=$2
		shift
		;;
	--out-dir | --out)
		need_value "$1" $#
		[ "$1" = --out ] && say "'--out' is an old name of '--out-dir'"
		out=$2
		shift
		;;
	--harness-build)
		need_value "$1" $#
		harness_build=$2
		shift
		;;
	--base=* | --scenario=* | --rounds=* | --iterations=* | \
		--concurrency=* | --warmup=* | --config=* | --out-dir=* | --out=* | \
		--harness-build=* | --min-effect=* | --alpha=* | --budget=*)
		opt=${1%%=*}
		val=${1#*=}
		shift
		set -- "$opt" "$val" "$@"
		continue
		;;
	*)
		usage_error "unknown option '$1'"
		;;
	esac
	shift
done

is_count "$rounds" 1 || usage_error "bad --rounds '$rounds': want 1 or more"
is_count "$iterations" 1 ||
	usage_error "bad --iterations '$iterations': want 1 or more"
[ "$iterations" -ge "$rounds" ] ||
	usage_error "--iterations $iterations: fewer than --rounds $rounds"
[ -z "$concurrency" ] || is_count "$concurrency" 1 ||
	usage_error "bad --concurrency '$concurrency': want 1 or more"
[ -z "$warmup" ] || is_count "$warmup" 0 ||
	usage_error "bad --warmup '$warmup': want a whole number"
[ -n "$scenario" ] || usage_error "empty --scenario"
# The budget in seconds.
case $budget in
0) budget_s=0 ;;
*[0-9]s) budget_s=${budget%s} ;;
*[0-9]m) budget_s=$((${budget%m} * 60)) ;;
*[0-9]h) budget_s=$((${budget%h} * 3600)) ;;
*) budget_s=x ;;
esac
is_count "$budget_s" 0 ||
	usage_error "bad --budget '$budget': want a duration such as 90s," \
		"10m or 1h, or 0"
case $config in
/*) usage_error "--config '$config' must be relative to the checkout" ;;
esac

top=$(git rev-parse --show-toplevel 2>/dev/null) ||
	usage_error "not inside a git checkout: $(pwd)"
cd "$top"
[ -f "$config" ] || fail 78 "no config '$config' in $top"

# The base: the merge-base of HEAD with --base or the default branch.
if [ -n "$base_opt" ]; then
	base_ref=$base_opt
elif base_ref=$(git symbolic-ref -q --short refs/remotes/origin/HEAD); then
	:
elif git rev-parse -q --verify "main^{commit}" >/dev/null; then
	base_ref=main
elif git rev-parse -q --verify "master^{commit}" >/dev/null; then
	base_ref=master
else
	usage_error "no default branch (origin/HEAD, main, master): give --base"
fi
git rev-parse -q --verify "$base_ref^{commit}" >/dev/null ||
	usage_error "--base '$base_ref' is not a commit"
head_sha=$(git rev-parse --verify "HEAD^{commit}")
base_sha=$(git merge-base HEAD "$base_ref") ||
	fail 64 "HEAD and '$base_ref' have no common ancestor (a shallow" \
		"clone? fetch the whole history)"
say "base $(git log -1 --format='%h %s' "$base_sha")" \
	"(merge-base with $base_ref)"
say "head $(git log -1 --format='%h %s' "$head_sha")"
[ "$base_sha" != "$head_sha" ] ||
	say "base and head are the same commit: this measures the noise"

mkdir -p "$out"
out=$(cd "$out" && pwd)
store=$out/gate.db
state=${HARNESS_GATE_DIR:-$(git rev-parse --git-common-dir)/harness-gate}
mkdir -p "$state"
state=$(cd "$state" && pwd)

if [ -n "$harness_build" ]; then
	[ -x "$harness_build/harness/cli/harness" ] ||
		usage_error "--harness-build '$harness_build': no" \
			"harness/cli/harness in it"
	harness_build=$(cd "$harness_build" && pwd)
	changed=$(git diff --name-only "$base_sha" "$head_sha" -- \
		'*.c' '*.h' '*meson.build' 'meson_options.txt' | head -n 5)
	[ -z "$changed" ] || say "warning: --harness-build, but the code" \
		"changed between base and head (such as $(echo "$changed" |
			tr '\n' ' '))and only one build is used"
fi

# One gate at a time per checkout: the worktrees and builds are shared.
lock=$state/lock
if ! mkdir "$lock" 2>/dev/null; then
	other=$(cat "$lock/pid" 2>/dev/null || echo "")
	if [ -n "$other" ] && kill -0 "$other" 2>/dev/null; then
		fail 70 "another gate (pid $other) is using $state"
	fi
	say "removing the stale lock of pid ${other:-?}"
	rm -rf "$lock"
	mkdir "$lock"
fi
echo $$ >"$lock/pid"

child=""
remove_worktree() {
	if [ -e "$1" ]; then
		git worktree remove --force "$1" >/dev/null 2>&1 || rm -rf "$1"
	fi
}
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
		# harness run stops its stack and stores what it has on TERM.
		kill -TERM "$child" 2>/dev/null || :
		wait "$child" 2>/dev/null || :
	fi
	remove_worktree "$state/base"
	remove_worktree "$state/head"
	git worktree prune 2>/dev/null || :
	rm -rf "$lock"
	exit "$status"
}
trap cleanup EXIT
trap 'say interrupted; exit 75' INT TERM HUP

# Run a command in the background and wait for it, so that a signal to the
# gate reaches the trap at once (and the trap stops the command).
run_child() {
	"$@" </dev/null &
	child=$!
	rc=0
	wait "$child" || rc=$?
	child=""
	return "$rc"
}

# Check out SIDE's commit into its worktree (a stale one is replaced).
checkout() {
	remove_worktree "$state/$1"
	git worktree prune
	git worktree add --detach --force "$state/$1" "$2" >/dev/null 2>&1 ||
		fail 70 "cannot make a worktree of $2 in $state/$1"
}

meson_options() {
	if [ -n "${HARNESS_GATE_MESON_OPTIONS:-}" ]; then
		echo "$HARNESS_GATE_MESON_OPTIONS"
		return
	fi
	opts=-Dbuildtype=release
	for o in tests benchmarks; do
		if grep -q "option('$o'" "$1/meson_options.txt" 2>/dev/null
		then
			opts="$opts -D$o=false"
		fi
	done
	echo "$opts"
}

# Build SIDE's worktree into its build directory, reused across
# invocations (meson setup only the first time). Returns 1 on failure.
build() {
	side=$1
	src=$state/$side
	bld=$state/build-$side
	log=$out/build-$side.log
	say "building $side in $bld"
	: >"$log"
	if [ -f "$bld/build.ninja" ] &&
		[ "$(cat "$bld/.gate-source" 2>/dev/null)" = "$src" ]; then
		:
	else
		rm -rf "$bld"
		# shellcheck disable=SC2046 # the options are words
		run_child meson setup "$bld" "$src" $(meson_options "$src") \
			>>"$log" 2>&1 || {
			tail -n 20 "$log" >&2
			say "meson setup of $side failed (log: $log)"
			return 1
		}
		echo "$src" >"$bld/.gate-source"
	fi
	set -- -C "$bld"
	[ -z "${HARNESS_GATE_JOBS:-}" ] || set -- "$@" -j "$HARNESS_GATE_JOBS"
	run_child meson compile "$@" >>"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		say "the build of $side failed (log: $log)"
		return 1
	}
	[ -x "$bld/harness/cli/harness" ] || {
		say "the build of $side made no harness/cli/harness"
		return 1
	}
}

# The base may fail where the head works: a commit from before the
# project had the config, or one that does not build or run. The head is
# then judged alone: compare finds no baseline (exit 3, or 0 with
# --no-baseline-ok) and still checks the head's absolute gates. A failing
# head always stops the gate.
base_failed=""
no_base() {
	base_failed=$1
	say "no baseline: the base, $(git rev-parse --short "$base_sha")," \
		"cannot be measured: $1"
}

# The runs stored, per side: run ids separated by blanks.
base_runs=""
head_runs=""

# One `harness run` of SIDE for ROUND with N iterations, with that side's
# harness and reference stack. Exit codes 0 (ok), 2 (a gate broke) and 70
# (iterations failed) still store a run that compare judges; anything else
# stops the gate.
run_side() {
	side=$1
	round=$2
	bld=$state/build-$side
	[ -z "$harness_build" ] || bld=$harness_build
	log=$out/run-$side-$round.log
	set -- --config "$state/$side/$config" --store "$store" \
		--label "$side" --iterations "$per_round"
	[ -z "$concurrency" ] || set -- "$@" --concurrency "$concurrency"
	[ -z "$warmup" ] || set -- "$@" --warmup "$warmup"
	rc=0
	(
		cd "$state/$side"
		PATH=$bld/harness/refstack:$PATH
		export PATH
		exec "$bld/harness/cli/harness" run "$@" "$scenario"
	) >"$log" 2>&1 </dev/null &
	child=$!
	wait "$child" || rc=$?
	child=""
	id=$(sed -n 's/^stored as run \([0-9][0-9]*\) .*/\1/p' "$log" |
		tail -n 1)
	case $rc in
	0 | 2 | 70) ;;
	*) id="" ;;
	esac
	if [ -z "$id" ]; then
		tail -n 20 "$log" >&2
		[ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] || rc=70
		if [ "$side" = base ]; then
			no_base "its run exited $rc (log: $log)"
			return 0
		fi
		fail "$rc" "round $round, $side: harness run exited $rc" \
			"(log: $log)"
	fi
	say "round $round, $side: run $id, exit $rc"
	if [ "$side" = base ]; then
		base_runs="$base_runs $id"
	else
		head_runs="$head_runs $id"
	fi
}

# Start from a clean store and reports; the logs are overwritten.
rm -f "$store" "$store-wal" "$store-shm" "$store-journal" \
	"$out/compare.md" "$out/compare.html" "$out/compare.json" \
	"$out/compare.xml" "$out/compare.log" "$out/flame.svg" \
	"$out"/compare-*.png "$out"/run-*.log

checkout base "$base_sha"
checkout head "$head_sha"
[ -f "$state/base/$config" ] || no_base "it has no $config"
if [ -z "$harness_build" ]; then
	if [ -z "$base_failed" ] && ! build base; then
		no_base "it does not build"
	fi
	build head || fail 70 "the head does not build"
fi

# Alternate, and swap who goes first every round (base head, head base,
# ...), so drift of the machine and warm caches hit both sides alike: a
# slow stretch of the machine lands on a base and a head run next to each
# other. Each run makes iterations/rounds (rounded up) iterations.
per_round=$(( (iterations + rounds - 1) / rounds ))
# One round: both sides once, who goes first swapped every round; its
# duration counts for the budget.
started=$(date +%s)
slowest=0
one_round() {
	t0=$(date +%s)
	if [ $(($1 % 2)) -eq 1 ]; then
		[ -n "$base_failed" ] || run_side base "$1"
		run_side head "$1"
	else
		run_side head "$1"
		[ -n "$base_failed" ] || run_side base "$1"
	fi
	t=$(($(date +%s) - t0))
	[ "$t" -le "$slowest" ] || slowest=$t
}
round=1
while [ "$round" -le "$rounds" ]; do
	one_round "$round"
	round=$((round + 1))
done

# Compare the head with the base: the runs of a side as lists of run ids
# (paired as rounds), the head's config for its scenario and gates,
# --force since the commits may differ in config on purpose.
bin=$harness_build
[ -n "$bin" ] || bin=$state/build-head
bin=$bin/harness/cli/harness
# What this harness compare offers: HTML and the flame graph came later
# than the other reports, sequential looks later still.
offers=$("$bin" compare --help 2>/dev/null || :)
formats=markdown,json,junit
html=""
case $offers in
*html*) formats=$formats,html ;;
*) html=fallback ;;
esac
sequential=""
case $offers in
*--look*) [ "$budget_s" -eq 0 ] || [ -n "$base_failed" ] || sequential=1 ;;
esac

# One harness compare of every run so far: look LOOK (0: not sequential).
compare_look() {
	set -- --store "$store" --config "$state/head/$config" --force \
		--format "$formats" --out-dir "$out"
	case $offers in
	*--flame*) set -- "$@" --flame "$out/flame.svg" ;;
	esac
	[ -z "$min_effect" ] || set -- "$@" --min-effect "$min_effect"
	[ -z "$alpha" ] || set -- "$@" --alpha "$alpha"
	[ "$no_baseline_ok" = 0 ] || set -- "$@" --no-baseline-ok
	[ "$look" -eq 0 ] || set -- "$@" --look "$look"
	# The runs as compare's lists: "3,6,7".
	head_id=$(echo "$head_runs" | sed 's/^ *//; s/ /,/g')
	if [ -n "$base_failed" ]; then
		# No run at the base commit: compare says "no baseline".
		base_id=none
		set -- "$@" --baseline "$base_sha" "$head_id"
	else
		base_id=$(echo "$base_runs" | sed 's/^ *//; s/ /,/g')
		set -- "$@" "$base_id" "$head_id"
	fi
	# A harness from before compare took several runs per side.
	case $offers:$head_id:$base_id in
	*--all-runs*) ;;
	*,*)
		fail 70 "this harness compare takes one run per side: give" \
			"--rounds 1"
		;;
	esac
	rc=0
	(
		cd "$state/head"
		exec "$bin" compare "$@"
	) >"$out/compare.log" 2>&1 </dev/null &
	child=$!
	wait "$child" || rc=$?
	child=""
	case $rc in
	0 | 1 | 2 | 3 | 4) ;;
	*)
		cat "$out/compare.log" >&2
		fail "$rc" "harness compare exited $rc"
		;;
	esac
}

look=0
[ -z "$sequential" ] || look=1
compare_look
# Sequential: another round while unsettled and the budget has room for
# one more round as long as the slowest so far.
while [ -n "$sequential" ] && { [ "$rc" -eq 3 ] || [ "$rc" -eq 4 ]; }; do
	now=$(date +%s)
	spent=$((now - started))
	[ $((spent + slowest)) -le "$budget_s" ] || {
		say "look $look: exit $rc, and the budget ($budget) has no" \
			"room for another round (${spent}s spent, a round" \
			"takes ${slowest}s): the gate stops unsettled"
		break
	}
	say "look $look: exit $rc, unsettled: one more round" \
		"(${spent}s of ${budget_s}s spent)"
	one_round "$round"
	round=$((round + 1))
	look=$((look + 1))
	compare_look
done
[ -f "$out/compare.md" ] ||
	fail 70 "harness compare wrote no compare.md in $out"

# Until compare writes HTML itself, the HTML report is the Markdown in a
# page of its own, escaped.
if [ -n "$html" ]; then
	{
		echo '<!DOCTYPE html>'
		echo '<html><head><meta charset="utf-8">'
		echo "<title>harness gate: $(git rev-parse --short "$head_sha")"
		echo "against $(git rev-parse --short "$base_sha")</title>"
		echo '</head><body><pre>'
		sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' "$out/compare.md"
		echo '</pre></body></html>'
	} >"$out/compare.html"
fi

cat "$out/compare.md"
say "exit $rc (base runs $base_id, head runs $head_id; reports in $out)"
exit "$rc"
