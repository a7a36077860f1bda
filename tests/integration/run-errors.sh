#!/bin/sh
# run-errors.sh: `harness run` refuses bad input before anything starts
# (bad scenarios name file:line:column and exit 78 with no service started
# and no run stored; a project that is not a git repository; bad options),
# and a scenario whose expectation fails stores failed iterations with
# their reason and exits 70, keeping its spool directory (named in the
# summary); a run that only breaks a gate removes it.
# Arguments: the harness binary, the harness-refstack binary (built first).
# `say` always succeeds, so A && say || bad is an if-then-else here.
# shellcheck disable=SC2015
name=run-errors
# shellcheck source=run-lib.sh
. "${HARNESS_SOURCE_ROOT:?}/tests/integration/run-lib.sh"

make_repo clean || exit 1
make_config || exit 1

# refuse NAME WANT-EXIT PATTERN ARGS...: the run fails at once with a
# message matching PATTERN, and nothing started or was stored.
refuse() {
	what=$1 want=$2 pattern=$3
	shift 3
	"$harness" run -c "$cfg" "$@" >"$out" 2>&1
	check_exit "$what" "$want" $?
	grep -q -- "$pattern" "$out" ||
		{ bad "$what: no '$pattern' in:"; sed 's/^/    /' "$out"; }
	[ ! -e "$tmp/.harness/logs" ] || bad "$what: a service was started"
	[ ! -e "$db" ] || [ "$(q "SELECT count(*) FROM runs")" = 0 ] ||
		bad "$what: a run was stored"
	[ -z "$(leftover)" ] || bad "$what: a service is running"
}

cat >"$tmp/bad-template.yaml" <<'YAML'
name: bad-template
steps:
  - request:
      url: "{{services.api}}/servers/{{server}}"
YAML
refuse "undefined template" 78 "bad-template.yaml:4:[0-9]*:.*'server'" \
	"$tmp/bad-template.yaml"

cat >"$tmp/bad-key.yaml" <<'YAML'
name: bad-key
steps:
  - request:
      url: "{{services.api}}/servers"
      methd: GET
YAML
refuse "unknown step key" 78 "bad-key.yaml:5:7:.*'methd'" "$tmp/bad-key.yaml"

cat >"$tmp/bad-duration.yaml" <<'YAML'
name: bad-duration
steps:
  - poll:
      url: "{{services.api}}/servers"
      until: {json: servers, equals: none}
      interval: fast
YAML
refuse "bad duration" 78 "bad-duration.yaml:6:17:.*'fast'" \
	"$tmp/bad-duration.yaml"

# The gate's column points into the quoted expression, at "fast".
cat >"$tmp/bad-gate.yaml" <<'YAML'
name: bad-gate
steps:
  - request:
      url: "{{services.api}}/servers"
gates:
  - "iteration.p95 < fast"
YAML
refuse "bad gate" 78 "bad-gate.yaml:6:22: bad gate" "$tmp/bad-gate.yaml"

refuse "missing scenario" 78 "nonexistent" nonexistent
refuse "no scenario" 64 "no scenario given"
refuse "bad --iterations" 64 "bad --iterations '0'" boot-vm --iterations 0
refuse "bad --duration" 64 "bad --duration 'soon'" boot-vm --duration soon
refuse "bad --rate" 64 "bad --rate '-3'" boot-vm --rate -3
refuse "unknown option" 64 "unknown option '--frob'" boot-vm --frob
refuse "unknown baseline" 64 "--baseline 'nope'" boot-vm --baseline nope

# A project that is not a git repository is named, before anything starts.
sed 's|^\( *\)path: repo$|\1path: plain|' "$cfg" >"$tmp/plain.yaml"
mkdir "$tmp/plain"
"$harness" run -c "$tmp/plain.yaml" boot-vm >"$out" 2>&1
check_exit "project not a repository" 78 $?
grep -q "plain.yaml:[0-9]*:[0-9]*: project 'harness':.*plain" "$out" ||
	{ bad "the project is not named:"; sed 's/^/    /' "$out"; }
[ ! -e "$tmp/.harness/logs" ] || bad "a service was started"

# An expectation that fails: every iteration fails with the reason, the
# run is stored as failed, exit 70.
sed 's/expect: 202/expect: 299/; s/^name: boot-vm/name: boot-299/' \
	"$src/scenarios/boot-vm.yaml" >"$tmp/boot-299.yaml"
grep -q 'expect: 299' "$tmp/boot-299.yaml" || bad "cannot plant expect: 299"
"$harness" run boot-299 -c "$cfg" --iterations 3 --warmup 0 >"$out" 2>&1
check_exit "failed expectation" 70 $?
check_no_leftover "failed expectation"
row=$(q "SELECT scenario, status, status_reason FROM runs")
[ "$row" = "boot-299|failed|3 of 3 iterations failed" ] &&
	say "run stored as failed" || bad "run row: '$row'"
n=$(q "SELECT count(*) FROM iterations WHERE ok = 0 AND error LIKE
	'step ''create-server'': expected %299%got 202%'")
[ "$n" = 3 ] && say "iterations failed with the reason" ||
	bad "$n iterations failed with the reason, want 3: \
$(q "SELECT error FROM iterations")"
row=$(q "SELECT s.name, s.ok FROM iteration_steps s JOIN iterations i
	ON i.id = s.iteration WHERE i.seq = 0 ORDER BY s.idx" | tr '\n' ' ')
[ "$row" = "authenticate|1 create-server|0 " ] ||
	bad "steps of a failed iteration: '$row'"
grep -q '^failures  *3 x step .create-server.: expected' "$out" ||
	bad "no failures line in the table"
grep -q 'failure_rate = 100%, limit < 1%: FAIL' "$out" ||
	bad "the gate is not shown broken"
# The raw spans of a failed run stay, for a look or another ingest.
n=$(find "$tmp/spool/run-1" -name '*.htspool' 2>/dev/null | wc -l)
[ "$n" -ge 7 ] && say "a failed run keeps its spool ($n files)" ||
	bad "failed run: $n spool files in $tmp/spool/run-1, want 7 or more"
grep -qxF "spool        kept in $tmp/spool/run-1 (the run failed)" "$out" ||
	{ bad "the kept spool is not named:"; sed 's/^/    /' "$out"; }

# Every iteration passes but an absolute limit breaks: exit 2, the run
# itself stored as ok.
sed 's/"failure_rate < 1%"/"iteration.p50 < 1us"/' \
	"$src/scenarios/boot-vm.yaml" |
	sed 's/^name: boot-vm/name: boot-gate/' >"$tmp/boot-gate.yaml"
"$harness" run boot-gate -c "$cfg" --iterations 2 --warmup 0 >"$out" 2>&1
check_exit "broken gate" 2 $?
check_no_leftover "broken gate"
grep -q 'gates  *iteration.p50 = .*, limit < 1us: FAIL' "$out" ||
	{ bad "the broken gate is not shown"; sed 's/^/    /' "$out"; }
row=$(q "SELECT status FROM runs WHERE scenario = 'boot-gate'")
[ "$row" = ok ] || bad "run with a broken gate stored as '$row'"
# Stored ok and whole: its spool goes, as a passing run's does.
[ ! -e "$tmp/spool/run-2" ] || bad "a run with a broken gate kept its spool"
exit $fail
