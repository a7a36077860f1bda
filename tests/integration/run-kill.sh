#!/bin/sh
# run-kill.sh: a run whose scheduler is killed (kill -9) in the middle ends
# at once, is stored as interrupted with what was collected, exits 75 and
# leaves no process; a run stopped with SIGINT (Ctrl-C) does the same.
# Both keep their spool directory and say where.
# Arguments: the harness binary, the harness-refstack binary (built first).
# `say` always succeeds, so A && say || bad is an if-then-else here.
# shellcheck disable=SC2015
name=run-kill
# shellcheck source=run-lib.sh
. "${HARNESS_SOURCE_ROOT:?}/tests/integration/run-lib.sh"

make_repo clean || exit 1
make_config || exit 1

# start_run ID: a long run in the background; waits until run ID's stack
# is up (its stack.json written) and a few iterations have finished (the
# load driver's spool file holds about 2 KB of spans per iteration).
start_run() {
	"$harness" run boot-vm -c "$cfg" --iterations 100000 --warmup 0 \
		>"$out" 2>&1 &
	hpid=$!
	state=$tmp/spool/run-$1/stack.json
	i=0
	while [ ! -s "$state" ] && [ $i -lt 300 ]; do
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$state" ] || {
		bad "run $1: the stack did not come up"
		sed 's/^/    /' "$out"
		return 1
	}
	i=0
	while [ $i -lt 200 ]; do
		size=$(cat "$tmp/spool/run-$1"/harness-*.htspool 2>/dev/null |
			wc -c)
		[ "$size" -gt 8192 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	bad "run $1: no iteration finished within 20 seconds"
	return 1
}

# wait_run: the exit status of the background run, killing it if it does
# not end within 30 seconds.
wait_run() {
	i=0
	while kill -0 "$hpid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$hpid" 2>/dev/null; then
		bad "the run did not end"
		kill -9 "$hpid" 2>/dev/null
	fi
	wait "$hpid"
}

service_pid() { # service_pid STATE NAME
	/usr/bin/python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["services"]:
    if s["name"] == sys.argv[2]:
        print(s["pid"])' "$1" "$2"
}

if start_run 1; then
	pid=$(service_pid "$state" scheduler)
	[ -n "$pid" ] && kill -9 "$pid"
	wait_run
	check_exit "scheduler killed" 75 $?
	check_no_leftover "scheduler killed"
	row=$(q "SELECT status, status_reason FROM runs WHERE id = 1")
	case $row in
	"interrupted|service 'scheduler' (pid $pid) was killed by signal 9"*)
		say "stored as interrupted, naming the scheduler" ;;
	*) bad "run row: '$row'" ;;
	esac
	n=$(q "SELECT count(*) FROM iterations WHERE run_id = 1 AND ok = 1")
	[ "$n" -gt 0 ] && say "$n ok iterations stored" ||
		bad "no ok iteration stored"
	n=$(q "SELECT count(DISTINCT service_id) FROM spans WHERE run_id = 1")
	[ "$n" = 7 ] && say "spans of every service stored" ||
		bad "spans of $n services stored, want 7"
	grep -q "error: service 'scheduler'" "$out" ||
		bad "the death is not reported"
	grep -q '^stored as run 1 in ' "$out" || bad "no 'stored as' line"
	grep -qxF "spool        kept in $tmp/spool/run-1 (the run was \
interrupted)" "$out" && [ -s "$state" ] &&
		say "the spool is kept" || bad "the spool is not kept"
fi

if start_run 2; then
	kill -INT "$hpid"
	wait_run
	check_exit "SIGINT" 75 $?
	check_no_leftover "SIGINT"
	row=$(q "SELECT status, status_reason FROM runs WHERE id = 2")
	[ "$row" = "interrupted|interrupted by SIGINT" ] &&
		say "stored as interrupted by SIGINT" || bad "run row: '$row'"
	n=$(q "SELECT count(*) FROM iterations WHERE run_id = 2 AND ok = 1")
	[ "$n" -gt 0 ] || bad "no ok iteration stored"
	n=$(q "SELECT count(*) FROM spans WHERE run_id = 2")
	[ "$n" -gt 0 ] || bad "no span stored"
	grep -qxF "spool        kept in $tmp/spool/run-2 (the run was \
interrupted)" "$out" && [ -s "$state" ] || bad "SIGINT: the spool is not kept"
fi
exit $fail
