#!/bin/sh
# compare-refstack.sh: `harness compare` end to end on the reference
# stack. A temp git repository holds the knob file that the scheduler
# reads (REFSTACK_KNOBS); harness.yaml is the shipped one, so the config
# hash is the same at every commit. Two runs at one commit (A/A) are never
# a regression (pass, or inconclusive under a changing load); a
# branch whose knob file slows the scheduler's select_destinations fails
# with exit 1 and names that operation; a branch that turns on the N+1
# query pattern fails with exit 1 and names the scheduler's `db` count.
# Small runs (12 iterations, concurrency 1) keep it fast under ASan.
# Arguments: the harness binary, the harness-refstack binary (built first).
# shellcheck disable=SC2015
name=compare-refstack
# shellcheck source=run-lib.sh
. "${HARNESS_SOURCE_ROOT:?}/tests/integration/run-lib.sh"

make_repo || exit 1
make_config || exit 1
# The scheduler's knobs come from the project's committed file.
awk '{ print }
/^  - name: scheduler$/ {
	print "    env:"
	print "      REFSTACK_KNOBS: \"{{dir}}/repo/knobs\""
}' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg" || exit 1
grep -q 'REFSTACK_KNOBS' "$cfg" || { echo "FAIL no knob env"; exit 1; }

commit() {
	git -C "$repo" -c user.name=test -c user.email=test@example.com \
		commit -q -am "$1"
}
printf '# no knobs\n' >"$repo/knobs"
git -C "$repo" add knobs && commit "knobs file" &&
	git -C "$repo" branch -M main || exit 1

# The project's own boot-vm (found beside harness.yaml first): polls every
# 5ms, and with 12 iterations a run settles shifts of 25%, not 5%.
sed -e 's/^\( *interval:\) 20ms$/\1 5ms/' \
	-e 's/^\( *min_effect:\) 5%$/\1 25%/' \
	"$src/scenarios/boot-vm.yaml" >"$tmp/boot-vm.yaml" || exit 1
grep -q 'min_effect: 25%' "$tmp/boot-vm.yaml" &&
	grep -q 'interval: 5ms' "$tmp/boot-vm.yaml" ||
	{ echo "FAIL cannot adapt boot-vm.yaml"; exit 1; }

# run LABEL: one small boot-vm run at the checked-out commit.
run() {
	"$harness" run boot-vm -c "$cfg" --iterations 12 --concurrency 1 \
		--warmup 1 --label "$1" >"$out" 2>&1
	check_exit "run $1" 0 $?
}

# compare WANT NAME ARGS...: harness compare, its terminal report in $out.
compare() {
	want=$1 what=$2
	shift 2
	"$harness" compare --config "$cfg" "$@" >"$out" 2>&1
	check_exit "$what" "$want" $?
}

run a1
run a2
# A/A: two runs at one commit must never be called a regression. They pass
# when the machine is steady; when its load changed between the runs, 12
# iterations may be too few to rule out a 25% shift, and "inconclusive,
# need N iterations" is then the honest answer, never a finding. A pair
# whose whole stack slowed (a real difference, made by the load) gets one
# more pair.
aa_ok() {
	case $1 in
	0) grep -q '^verdict: pass' "$out" ;;
	3) grep -q '^verdict: inconclusive: .*need about [0-9]* iterations' \
		"$out" && ! grep -q 'REGRESSION' "$out" ;;
	*) false ;;
	esac
}
"$harness" compare --config "$cfg" 1 2 >"$out" 2>&1
status=$?
if ! aa_ok $status; then
	echo "note: A/A pair 1 2 differed (load changed?); one more pair"
	sed 's/^/    /' "$out" | grep -E 'iteration  |^    verdict'
	run a3
	run a4
	"$harness" compare --config "$cfg" 3 4 >"$out" 2>&1
	status=$?
fi
last=$(q "SELECT max(id) FROM runs")
if aa_ok $status; then
	say "A/A: two runs at one commit: exit $status, no finding"
	[ $status -eq 3 ] && sed -n 's/^verdict: /note: /p' "$out"
else
	bad "A/A: two runs at one commit: exit $status, want 0 (or 3 asking for more iterations)"
	sed 's/^/    /' "$out"
fi

git -C "$repo" checkout -q -b slow &&
	printf 'REFSTACK_SLOW=scheduler.select_destinations=150ms\n' \
		>"$repo/knobs" && commit "slow scheduler" || exit 1
run slow
compare 1 "slow scheduler: --baseline main" --baseline main slow
grep -q "^base: run $last " "$out" || bad "slow: base is not run $last"
grep -q '^verdict: regression' "$out" || bad "slow: no regression verdict"
grep 'REGRESSION' "$out" | grep -q 'select_destinations' &&
	say "slow scheduler: select_destinations named" ||
	bad "slow: select_destinations is not named"
sed -n '/critical path of/,/^$/p' "$out" | grep -q 'scheduler' &&
	say "slow scheduler: a scheduler operation explains the iteration" ||
	bad "slow: no scheduler operation among the causes"

git -C "$repo" checkout -q main &&
	git -C "$repo" checkout -q -b nplus1 &&
	printf 'REFSTACK_N_PLUS_ONE=1\n' >"$repo/knobs" &&
	commit "n+1 queries" || exit 1
run nplus1
compare 1 "N+1: --baseline main" --baseline main nplus1
grep -q 'FAIL  *count: ' "$out" || bad "N+1: the count gate did not fail"
grep 'REGRESSION' "$out" | grep -q '^op(scheduler, db, .*) count ' &&
	say "N+1: the scheduler's db count named" ||
	bad "N+1: no scheduler db count regression"

check_no_leftover "compare-refstack"
[ "$fail" = 0 ] || sed 's/^/    /' "$out"
exit $fail
