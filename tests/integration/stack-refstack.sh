#!/bin/sh
# stack-refstack.sh: the reference stack from scenarios/harness.yaml comes
# up with `harness stack up` (harness-refstack found in the build tree),
# every service is healthy, and `harness stack down` leaves no process. The
# config is copied to a temp dir so that logs, spool and databases land
# there, not in the source tree.
set -u
harness=$1
src=${HARNESS_SOURCE_ROOT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-stack-refstack.XXXXXX")
cfg=$tmp/harness.yaml
fail=0

bad() { echo "FAIL $*"; fail=1; }
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
pgids() {
	sed -n 's/^ *"pgid": \([0-9]*\).*/\1/p' "$tmp/.harness/stack.json" \
		2>/dev/null
}
cleanup() {
	for g in $groups; do
		kill -9 -- "-$g" 2>/dev/null
	done
	rm -rf "$tmp"
}
groups=
trap cleanup EXIT

cp "$src/scenarios/harness.yaml" "$cfg" || exit 1

if ! "$harness" stack up -c "$cfg" >"$tmp/up.out" 2>&1; then
	bad "stack up"
	cat "$tmp/up.out"
	exit 1
fi
echo "ok   stack up"
cat "$tmp/up.out"
groups=$(pgids)
[ -n "$groups" ] || bad "no process groups in the state file"

if "$harness" stack status -c "$cfg" >"$tmp/status.out" 2>&1; then
	echo "ok   stack status"
else
	bad "stack status"
fi
lines=$(grep -c 'http://127.0.0.1:' "$tmp/status.out")
oks=$(grep -c ' ok$' "$tmp/status.out")
[ "$lines" -ge 1 ] && [ "$lines" -eq "$oks" ] &&
	[ "$lines" -eq "$(echo $groups | wc -w)" ] ||
	{ bad "every started service healthy"; cat "$tmp/status.out"; }

# The tracing environment reached the services: libhtrace opened its spool
# files in the config's spool directory.
ls "$tmp/spool/"*.htspool >/dev/null 2>&1 ||
	bad "no spool files in $tmp/spool"

if "$harness" stack down -c "$cfg" >"$tmp/down.out" 2>&1; then
	echo "ok   stack down"
else
	bad "stack down"
	cat "$tmp/down.out"
fi
for g in $groups; do
	group_alive "$g" && bad "process group $g still running after down"
done
exit $fail
