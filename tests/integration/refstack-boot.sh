#!/bin/sh
# refstack-boot.sh: the six reference services on free loopback ports:
# boot 20 servers with signed trace headers, check every bad input, check
# the traces cross every service and span kind, and check that the knobs
# (N+1 queries, a slow operation, failed builds) show in the spans.
# Arguments: the harness-refstack program and the refstack-client test
# program.
# url_NAME and pid_NAME are set by start() through eval.
# shellcheck disable=SC2154
set -u
refstack=$1
client=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/refstack-boot.XXXXXX")
pids=""
fail=0
key=test-key-$$

# A live process: in /proc and not a zombie.
alive() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Whatever is still running goes: SIGTERM, 5s, SIGKILL, then reaped.
cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $pids; do
		i=0
		while alive "$p" && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 75' INT TERM

die() {
	echo "FAIL $*"
	for f in "$tmp"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
	done
	exit 1
}

# no_disks: compute removed every instance directory (builds end
# asynchronously: wait up to 20s).
no_disks() {
	i=0
	while [ -n "$(ls "$tmp/data/instances")" ]; do
		[ $i -lt 200 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

check() { # check NAME CMD...
	name=$1
	shift
	if "$@"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		fail=1
	fi
}

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

knob_env=""
# start NAME SPOOL PORT ARGS...: run a service, wait for its port file,
# set url_NAME and pid_NAME.
start() {
	name=$1 spool=$2 port=$3
	shift 3
	rm -f "$tmp/$name.port"
	# shellcheck disable=SC2086
	env $knob_env HTRACE_SERVICE="$name" HTRACE_SPOOL_DIR="$spool" \
		HTRACE_HMAC_KEYS="$key" \
		"$refstack" "$name" --port "$port" \
		--port-file "$tmp/$name.port" --data-dir "$tmp/data" "$@" \
		>>"$tmp/$name.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	eval "pid_$name=$pid"
	i=0
	while [ ! -s "$tmp/$name.port" ]; do
		kill -0 "$pid" 2>/dev/null || die "$name exited at start"
		[ $i -lt 200 ] || die "$name did not start"
		sleep 0.05
		i=$((i + 1))
	done
	eval "url_$name=http://127.0.0.1:$(cat "$tmp/$name.port")"
}

# stop NAME: SIGTERM, and the service must exit 0 (finished, flushed).
stop() {
	eval "pid=\$pid_$1"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "FAIL $1 exited $rc on SIGTERM"; fail=1; }
}

# The client takes the spool directory first, then the command.
client_in() {
	spool=$1
	shift
	HTRACE_SERVICE=client HTRACE_SPOOL_DIR=$spool HTRACE_HMAC_KEYS=$key \
		"$client" "$@"
}

# Usage errors exit 64 and start nothing.
usage_exit() {
	env "$@" >/dev/null 2>&1
	[ $? -eq 64 ]
}
check usage-no-service usage_exit "$refstack"
check usage-unknown-service usage_exit "$refstack" glance --port 0
check usage-no-port usage_exit "$refstack" identity
check usage-bad-port usage_exit "$refstack" identity --port 70000
check usage-bad-knob usage_exit REFSTACK_N_PLUS_ONE=maybe "$refstack" \
	scheduler --port 0 --data-dir "$tmp/usage"
check usage-bad-slow usage_exit "$refstack" api --port 0 --slow x=fast

A=$tmp/spool-a B=$tmp/spool-b C=$tmp/spool-c
mkdir -p "$A" "$B" "$C" "$tmp/data"

start identity "$A" 0
start image "$A" 0 --identity-url "$url_identity"
start network "$A" 0 --identity-url "$url_identity"
start scheduler "$A" 0
api_port=$(free_port)
start compute "$A" 0 --identity-url "$url_identity" --image-url "$url_image" \
	--network-url "$url_network" --scheduler-url "$url_scheduler" \
	--api-url "http://127.0.0.1:$api_port"
start api "$A" "$api_port" --identity-url "$url_identity" \
	--image-url "$url_image" --network-url "$url_network" \
	--scheduler-url "$url_scheduler" --compute-url "$url_compute"

check boot-20 client_in "$A" boot "$url_identity" "$url_api" 20 ACTIVE
check claims-released client_in "$A" idle "$url_scheduler"
check bad-input client_in "$A" bad "$url_identity" "$url_image" \
	"$url_network" "$url_api" "$url_scheduler" "$url_compute"
check disks-removed no_disks
check claims-released-bad client_in "$A" idle "$url_scheduler"

# Knobs from the environment: N+1 queries and a slow operation.
stop scheduler
knob_env="REFSTACK_N_PLUS_ONE=1"
knob_env="$knob_env REFSTACK_SLOW=scheduler.select_destinations=60ms"
start scheduler "$B" "$(cat "$tmp/scheduler.port")"
knob_env=""
check boot-n-plus-one client_in "$B" boot "$url_identity" "$url_api" 5 ACTIVE
check claims-released-b client_in "$B" idle "$url_scheduler"
stop scheduler
start scheduler "$C" "$(cat "$tmp/scheduler.port")"

# A knob file: every build fails, the servers go to ERROR and are cleaned.
printf '# every build fails\nbuild_failure_rate = 1\n' >"$tmp/knobs"
stop compute
start compute "$C" "$(cat "$tmp/compute.port")" --knobs "$tmp/knobs" \
	--identity-url "$url_identity" --image-url "$url_image" \
	--network-url "$url_network" --scheduler-url "$url_scheduler" \
	--api-url "$url_api"
check boot-failing client_in "$C" boot "$url_identity" "$url_api" 3 ERROR
check claims-released-c client_in "$C" idle "$url_scheduler"
check disks-removed-c no_disks

for s in identity image network api scheduler compute; do
	stop $s
done
pids=""
# Sanitizer reports go to the services' logs: none may be there.
sanitizer_clean() {
	! grep -l 'runtime error\|Sanitizer' "$tmp"/*.log
}
check sanitizer-clean sanitizer_clean

check traces client_in "$A" traces "$A"

# N+1: the scheduler's db spans per boot grow by the number of hosts (8).
select=scheduler.select_destinations
# shellcheck disable=SC2046
set -- $(client_in "$A" count "$A" scheduler rpc.dispatch $select)
sel_a=$1 min_a=$2
# shellcheck disable=SC2046
set -- $(client_in "$A" count "$A" scheduler db)
db_a=$1
# shellcheck disable=SC2046
set -- $(client_in "$B" count "$B" scheduler rpc.dispatch $select)
sel_b=$1 min_b=$2
# shellcheck disable=SC2046
set -- $(client_in "$B" count "$B" scheduler db)
db_b=$1
echo "scheduler: $sel_a boots, $db_a db spans;" \
	"with knobs: $sel_b boots, $db_b db spans"
check boots-traced test "$sel_a" -eq 20 -a "$sel_b" -eq 5
check n-plus-one test $((db_b * sel_a - db_a * sel_b)) \
	-eq $((8 * sel_a * sel_b))
# The slow knob: select_destinations takes the 60ms it sleeps or more. How
# much more than without the knob depends on the machine's load (the
# shortest of 20 boots without it may take a while too): only the order
# of the two is checked.
echo "select_destinations min: ${min_a}ns, with knobs ${min_b}ns"
check slow-knob test "$min_b" -ge 60000000 -a "$min_b" -gt "$min_a"
# The api was not restarted: its rpc.call spans of both phases are in A.
max_call=$(client_in "$A" count "$A" api rpc.call $select | cut -d' ' -f3)
check slow-knob-caller test "$max_call" -ge 60000000

exit $fail
