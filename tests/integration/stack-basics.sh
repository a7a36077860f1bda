#!/bin/sh
# stack-basics.sh: `harness stack up|status|down` with two python web
# servers on free ports: the stack outlives `up`, a second `up` is refused,
# `status` notices a killed service, `down` leaves no process behind; a
# service that exits at once fails `up` with its name and log tail.
set -u
harness=$1
py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-stack-basics.XXXXXX")
fail=0
out=$tmp/out

say() { echo "$*"; }
bad() { echo "FAIL $*"; fail=1; }

# A live process: in /proc and not a zombie (pid 1 may not reap them).
alive() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
group_alive() {
	for p in $(pgrep -g "$1" 2>/dev/null); do
		alive "$p" && return 0
	done
	return 1
}

cleanup() {
	# Whatever a failed check left running goes now.
	for f in "$tmp"/*.pid; do
		[ -f "$f" ] && kill -9 -- "-$(cat "$f")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/harness.yaml" <<YAML
version: 1
services:
  - name: alpha
    command: [sh, -c, 'echo \$\$ > alpha.pid; exec $py -m http.server "\$1" --bind 127.0.0.1', alpha, '{{port}}']
    port: auto
    start_timeout: 10s
  - name: beta
    command: [sh, -c, 'echo \$\$ > beta.pid; echo "peer \$PEER"; sleep 60 & exec $py -m http.server "\$1" --bind 127.0.0.1', beta, '{{port}}']
    env:
      PEER: '{{services.alpha}}'
YAML
: >"$tmp/healthz"

run() { # run NAME WANT-CODE ARGS...
	name=$1 want=$2
	shift 2
	"$harness" "$@" >"$out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		bad "$name: exit $got, want $want"
		sed 's/^/    /' "$out"
	else
		say "ok   $name"
	fi
}

run usage-no-action 64 stack -c "$tmp/harness.yaml"
run usage-bad-action 64 stack frob -c "$tmp/harness.yaml"
run usage-bad-option 64 stack up --frob
run config-missing 78 stack status -c "$tmp/nonexistent.yaml"
run status-none 70 stack status -c "$tmp/harness.yaml"

run up 0 stack up -c "$tmp/harness.yaml"
[ -f "$tmp/.harness/stack.json" ] || bad "no state file after up"
a=$(cat "$tmp/alpha.pid" 2>/dev/null) b=$(cat "$tmp/beta.pid" 2>/dev/null)
if [ -z "$a" ] || [ -z "$b" ]; then
	bad "services did not write their pids"
	exit 1
fi
alive "$a" && alive "$b" || bad "services not running after up returned"
grep -q "^peer http://127.0.0.1:[0-9]*$" "$tmp/.harness/logs/beta.log" ||
	bad "{{services.alpha}} not expanded in beta's env"
grep -q "\"pid\": $a" "$tmp/.harness/stack.json" || bad "alpha pid not in state"

run up-again 70 stack up -c "$tmp/harness.yaml"
grep -q "harness stack down" "$out" || bad "second up does not say how to stop"

run status 0 stack status -c "$tmp/harness.yaml"
[ "$(grep -c ' ok$' "$out")" -eq 2 ] || { bad "status: two ok lines"; cat "$out"; }
grep -q "^alpha  *$a " "$out" || bad "status: alpha's pid"

kill -9 "$b"
sleep 0.2
run status-dead 70 stack status -c "$tmp/harness.yaml"
grep -q "^beta .*dead" "$out" || { bad "status: beta dead"; cat "$out"; }

run down 0 stack down -c "$tmp/harness.yaml"
group_alive "$a" && bad "alpha's group still running after down"
group_alive "$b" && bad "beta's group (its sleep child) still running after down"
[ -f "$tmp/.harness/stack.json" ] && bad "state file left after down"
run down-again 0 stack down -c "$tmp/harness.yaml"
run up-after-down 0 stack up -c "$tmp/harness.yaml"
a=$(cat "$tmp/alpha.pid")
run down-2 0 stack down -c "$tmp/harness.yaml"
group_alive "$a" && bad "alpha still running after second down"

# A service that exits at once: up fails naming it, with its log tail, and
# the service started before it is stopped.
cat >"$tmp/broken.yaml" <<YAML
version: 1
services:
  - name: alpha
    command: [sh, -c, 'echo \$\$ > alpha.pid; exec $py -m http.server "\$1" --bind 127.0.0.1', alpha, '{{port}}']
  - name: crashy
    command: [sh, -c, 'echo cannot-open-database >&2; exit 4']
YAML
rm -f "$tmp/alpha.pid"
run up-broken 70 stack up -c "$tmp/broken.yaml"
grep -q "service 'crashy'.*exited with status 4" "$out" || bad "cause names crashy"
grep -q "cannot-open-database" "$out" || bad "cause shows crashy's log"
a=$(cat "$tmp/alpha.pid" 2>/dev/null)
[ -n "$a" ] && group_alive "$a" && bad "alpha left running after failed up"
[ -f "$tmp/.harness/stack.json" ] && bad "state file written by failed up"

exit $fail
