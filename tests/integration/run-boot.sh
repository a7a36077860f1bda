#!/bin/sh
# run-boot.sh: `harness run boot-vm --iterations 10` on the reference stack
# stores one ok run with ten ok iterations, each one trace that reaches all
# six services; the commit of the project (dirty) is recorded; no service
# is left; its spool directory is removed once the spans are stored. Then
# a short --rate run through the CLI that keeps its spool (--keep-spool),
# a run on a stack that `harness stack up` started (--no-stack), and runs
# compared with a baseline (--baseline), the last with keep_spool: true in
# its config, which keeps the spool and leaves the config's hash alone;
# last, a run with stacks, whose frames of the services are symbolized.
# Arguments: the harness binary, the harness-refstack binary (built first).
# `say` always succeeds, so A && say || bad is an if-then-else here.
# shellcheck disable=SC2015
name=run-boot
# shellcheck source=run-lib.sh
. "${HARNESS_SOURCE_ROOT:?}/tests/integration/run-lib.sh"

make_repo dirty || exit 1
make_config || exit 1

"$harness" run boot-vm --iterations 10 -c "$cfg" --label smoke >"$out" 2>&1
check_exit "run boot-vm" 0 $?
check_no_leftover "run boot-vm"

[ "$(q "SELECT count(*) FROM runs")" = 1 ] || bad "not exactly one run"
row=$(q "SELECT scenario, status, label FROM runs")
[ "$row" = "boot-vm|ok|smoke" ] && say "run stored ok" ||
	bad "run row: '$row'"
q "SELECT runner FROM runs" | grep -q '"iterations": 10' ||
	bad "runner settings not stored: $(q "SELECT runner FROM runs")"
[ -n "$(q "SELECT end_ns FROM runs WHERE end_ns > start_ns")" ] ||
	bad "no end time"

n=$(q "SELECT count(*) FROM iterations WHERE warmup = 0 AND ok = 1")
[ "$n" = 10 ] && say "10 ok iterations" || bad "$n ok iterations, want 10"
n=$(q "SELECT count(*) FROM iterations WHERE ok = 0")
[ "$n" = 0 ] || bad "$n failed iterations"
# boot-vm warms up twice: stored, and marked.
n=$(q "SELECT count(*) FROM iterations WHERE warmup = 1")
[ "$n" = 2 ] || bad "$n warm-up iterations, want 2"
n=$(q "SELECT count(*) FROM iteration_steps s JOIN iterations i
	ON i.id = s.iteration WHERE i.warmup = 0 AND s.ok = 1")
[ "$n" = 40 ] && say "4 steps per iteration" || bad "$n ok steps, want 40"

# Every iteration's trace id is on spans of all six services (and on the
# load driver's own).
services="api compute harness identity image network scheduler"
bad_traces=0
for t in $(q "SELECT hex(trace_id) FROM iterations"); do
	got=$(q "SELECT DISTINCT st.s FROM spans sp
		JOIN strings st ON st.id = sp.service_id
		WHERE hex(sp.trace_id) = '$t' ORDER BY st.s" | tr '\n' ' ')
	if [ "$got" != "$services " ]; then
		bad "trace $t reaches: $got"
		bad_traces=$((bad_traces + 1))
	fi
done
[ $bad_traces = 0 ] && say "every iteration's trace reaches six services"
# The shape of each trace as stored: exactly one root, every parent found
# inside the same trace (never inferred), and every span kind of a boot.
n=$(q "SELECT count(*) FROM (SELECT trace_id FROM spans WHERE run_id = 1
	GROUP BY trace_id HAVING sum(parent_id = 0) != 1)")
[ "$n" = 0 ] && say "every trace has exactly one root" ||
	bad "$n traces without exactly one root"
n=$(q "SELECT count(*) FROM spans c WHERE c.run_id = 1 AND c.parent_id != 0
	AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.trace_id = c.trace_id
		AND p.span_id = c.parent_id)")
[ "$n" = 0 ] && say "every parent id resolves inside its trace" ||
	bad "$n spans whose parent is not in their trace"
kinds=$(q "SELECT group_concat(name, ' ') FROM (SELECT DISTINCT k.name
	FROM spans sp JOIN kinds k ON k.id = sp.kind WHERE sp.run_id = 1
	ORDER BY k.name)")
want="db exec iteration lib rest.call rest.dispatch rpc.call rpc.cast rpc.dispatch step thread.main thread.spawn"
missing=""
for k in $want; do
	case " $kinds " in *" $k "*) ;; *) missing="$missing $k" ;; esac
done
[ -z "$missing" ] && say "every span kind of a boot is stored: $kinds" ||
	bad "kinds missing from the run:$missing (have: $kinds)"
n=$(q "SELECT count(*) FROM spans WHERE run_id IS NULL OR run_id != 1")
[ "$n" = 0 ] || bad "$n spans not attached to the run"
n=$(q "SELECT count(*) FROM spans sp JOIN kinds k ON k.id = sp.kind
	WHERE k.name = 'iteration'")
[ "$n" = 12 ] || bad "$n iteration spans, want 12"

sha=$(git -C "$repo" rev-parse HEAD)
row=$(q "SELECT c.repo, c.sha, c.dirty, c.subject FROM commits c
	JOIN run_commits rc ON rc.commit_id = c.id WHERE rc.run_id = 1")
[ "$row" = "harness|$sha|1|first commit" ] && say "commit recorded, dirty" ||
	bad "commit row: '$row', want harness|$sha|1|first commit"

grep -q '^stored as run 1 in ' "$out" || bad "no 'stored as' line"
grep -q 'iterations *10 ok, 0 failed, 2 warm-up' "$out" ||
	bad "no iterations line in the table"
grep -q '^ *create-server  *10 ' "$out" || bad "no step row in the table"
grep -q 'failure_rate = 0%, limit < 1%: pass' "$out" ||
	bad "the scenario's gate was not evaluated"
# Not a terminal: no progress line.
if grep -q "$(printf '\r')" "$out"; then bad "progress written to a pipe"; fi
# Every span is in the store: the raw ones are not kept.
[ -d "$tmp/spool" ] && [ ! -e "$tmp/spool/run-1" ] &&
	say "the spool directory of a good run is removed" ||
	bad "spool of a good run: $(ls -d "$tmp"/spool/run-1* 2>&1)"
if grep -q '^spool ' "$out"; then bad "a removed spool is named"; fi
# Nor does the store keep notes on how far it read the files gone.
[ "$(q "SELECT count(*) FROM ingest_positions WHERE path LIKE '%/run-1/%'")" = 0 ] &&
	say "no read positions are kept for a removed spool" ||
	bad "read positions kept for removed files: $(q "SELECT path FROM ingest_positions")"

# The rate runner through the CLI: 10 iterations at 40/s; --keep-spool
# keeps the run's spool files, and the summary says where: ingesting
# them again stores nothing twice. Every service gets the knobs from
# harness's environment, in µs.
REFSTACK_SLOW=scheduler.select_destinations=500us \
REFSTACK_CPU="compute.build_and_run_instance=200µs" \
	"$harness" run boot-vm -c "$cfg" --rate 40 --iterations 10 --warmup 0 \
	--concurrency 4 --keep-spool >"$out" 2>&1
check_exit "run --rate" 0 $?
check_no_leftover "run --rate"
n=$(find "$tmp/spool/run-2" -name '*.htspool' 2>/dev/null | wc -l)
[ "$n" = 7 ] && say "--keep-spool keeps the spool files" ||
	bad "--keep-spool: $n spool files in $tmp/spool/run-2, want 7"
grep -qxF "spool        kept in $tmp/spool/run-2 (--keep-spool)" "$out" ||
	{ bad "kept spool not named:"; sed 's/^/    /' "$out"; }
spans=$(q "SELECT count(*) FROM spans WHERE run_id = 2")
"$harness" ingest --store "$db" --run 2 "$tmp/spool/run-2" >"$out" 2>&1
check_exit "ingest the kept spool" 0 $?
n=$(q "SELECT count(*) FROM spans WHERE run_id = 2")
[ "$n" = "$spans" ] || bad "ingest again: $n spans of run 2, was $spans"
runner=$(q "SELECT runner FROM runs WHERE id = 2")
echo "$runner" | grep -q '"type": "rate".*"rate": 40' ||
	bad "rate runner not stored: $runner"
n=$(q "SELECT count(*) FROM iterations WHERE run_id = 2 AND ok = 1")
[ "$n" = 10 ] || bad "rate run: $n ok iterations, want 10"
# Open loop: the starts follow the schedule, 25ms apart.
span=$(q "SELECT (max(intended_start_ns) - min(intended_start_ns)) / 1000000
	FROM iterations WHERE run_id = 2")
[ "$span" -ge 200 ] && [ "$span" -le 250 ] && say "rate schedule kept" ||
	bad "intended starts span ${span}ms, want 225ms"

# One knob, one delay per call: each knob is spent (and marked on the
# span) once per iteration, in the callee's rpc.dispatch of the name,
# never again in the caller's rpc.call or rpc.cast of it.
knob_spans() { # knob_spans KEY: "kind service name ns" of each marked span
	q "SELECT k.name, sv.s, n.s, a.value FROM spans sp
		JOIN span_attrs a ON a.span = sp.id
		JOIN strings ks ON ks.id = a.key_id AND ks.s = '$1'
		JOIN kinds k ON k.id = sp.kind
		JOIN strings sv ON sv.id = sp.service_id
		JOIN strings n ON n.id = sp.name_id
		WHERE sp.run_id = 2 AND sp.dur_ns >= a.value"
}
slow=$(knob_spans refstack.knob.slow_ns | sort | uniq -c | sed 's/^ *//')
[ "$slow" = "10 rpc.dispatch|scheduler|scheduler.select_destinations|500000" ] &&
	say "REFSTACK_SLOW: once per call, in the scheduler's rpc.dispatch" ||
	bad "REFSTACK_SLOW spent in: $slow"
cpu=$(knob_spans refstack.knob.cpu_ns | sort | uniq -c | sed 's/^ *//')
[ "$cpu" = "10 rpc.dispatch|compute|compute.build_and_run_instance|200000" ] &&
	say "REFSTACK_CPU (in µs): once per cast, in compute's rpc.dispatch" ||
	bad "REFSTACK_CPU spent in: $cpu"

# --no-stack: the stack `harness stack up` left running; its services'
# spans (in the config's spool) are stored with the run all the same.
"$harness" stack up -c "$cfg" >"$out" 2>&1
check_exit "stack up" 0 $?
"$harness" run boot-vm -c "$cfg" --no-stack --iterations 3 --warmup 0 \
	>"$out" 2>&1
check_exit "run --no-stack" 0 $?
[ -n "$(leftover)" ] || bad "run --no-stack stopped the stack"
"$harness" stack down -c "$cfg" >"$out" 2>&1
check_exit "stack down" 0 $?
check_no_leftover "stack down"
n=$(q "SELECT count(*) FROM iterations WHERE run_id = 3 AND ok = 1")
[ "$n" = 3 ] || bad "run --no-stack: $n ok iterations, want 3"
n=$(q "SELECT count(DISTINCT service_id) FROM spans WHERE run_id = 3")
[ "$n" = 7 ] && say "run --no-stack: spans of every service stored" ||
	bad "run --no-stack: spans of $n services, want 7"
# Its own directory goes; the services' files in the spool stay.
[ ! -e "$tmp/spool/run-3" ] || bad "run --no-stack: spool directory left"
n=$(find "$tmp/spool" -maxdepth 1 -name '*.htspool' | wc -l)
[ "$n" -ge 6 ] || bad "run --no-stack: $n service spool files left, want 6"

# --baseline: after a new commit, HEAD has no run yet: inconclusive (3).
# The first commit has runs: the newest ok one (run 3) is compared with
# through `harness compare`, whose verdict decides the exit. That run's
# config says keep_spool: true, which is not part of the config's hash
# (run 3 is found all the same).
echo two >"$repo/file"
git -C "$repo" -c user.name=test -c user.email=test@example.com \
	commit -q -a -m "second commit"
"$harness" run boot-vm -c "$cfg" --iterations 3 --warmup 0 \
	--baseline HEAD >"$out" 2>&1
check_exit "run --baseline without a baseline run" 3 $?
grep -q "^baseline .*no ok run of boot-vm there" "$out" ||
	bad "no baseline run is not said"
{ cat "$cfg" && echo "keep_spool: true"; } >"$tmp/keep.yaml"
"$harness" run boot-vm -c "$tmp/keep.yaml" --iterations 5 --warmup 0 \
	--baseline HEAD~1 >"$out" 2>&1
rc=$?
case $rc in
0 | 1 | 3 | 4) say "run --baseline HEAD~1 (exit $rc)" ;;
*) bad "run --baseline HEAD~1: exit $rc"; sed 's/^/    /' "$out" ;;
esac
grep -q "^baseline .*: run 3$" "$out" || bad "baseline run 3 not found"
grep -q "^verdict: " "$out" || bad "no verdict from the comparison"
grep -qxF "spool        kept in $tmp/spool/run-5 (keep_spool in \
$tmp/keep.yaml)" "$out" && [ -d "$tmp/spool/run-5" ] &&
	say "keep_spool: true keeps the spool" ||
	bad "keep_spool: true: $(ls -d "$tmp"/spool/run-5 2>&1)"
check_no_leftover "run --baseline"

# tracing.stacks: true: the services (harness-refstack, started by its bare
# name from PATH) record a stack per span, and their own frames come out
# symbolized, "function (file:line)", not "harness-refstack+0x909f".
sed 's/^tracing:$/tracing:\n  stacks: true/' "$cfg" >"$tmp/stacks.yaml"
grep -q '^  stacks: true$' "$tmp/stacks.yaml" || bad "cannot turn stacks on"
"$harness" run boot-vm -c "$tmp/stacks.yaml" --iterations 2 --warmup 0 \
	>"$out" 2>&1
check_exit "run with stacks" 0 $?
run=$(q "SELECT max(id) FROM runs")
frames() {
	q "SELECT DISTINCT st.frames FROM spans sp JOIN stacks st
		ON st.id = sp.stack_id JOIN strings sv ON sv.id = sp.service_id
		WHERE sp.run_id = $run AND sv.s = 'scheduler'"
}
frames >"$tmp/frames"
raw=$(grep -c '^[^ ]*harness-refstack+0x[0-9a-f]*$' "$tmp/frames")
if grep -q '^rpc_dispatch (.*rpc\.c:[0-9]*)$' "$tmp/frames" && [ "$raw" = 0 ]
then
	say "stacks: the services' own frames are symbolized"
else
	bad "stacks: $raw unsymbolized frames of harness-refstack:"
	head -n 20 "$tmp/frames" | sed 's/^/    /'
fi
check_no_leftover "run with stacks"
exit $fail
