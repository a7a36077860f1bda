# run-lib.sh: sourced by the run-*.sh tests of `harness run`. Sets up a
# temp dir holding a copy of scenarios/harness.yaml (so store, spool, logs
# and the services' databases land there) whose project is a git repository
# made in the temp dir, and checks that no service is left behind.
# The sourcing script sets `name` and passes the harness binary as $1.
# shellcheck shell=sh disable=SC2034  # the variables are the caller's
set -u
: "${name:?}"
harness=$1
src=${HARNESS_SOURCE_ROOT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-$name.XXXXXX")
cfg=$tmp/harness.yaml
db=$tmp/harness.db
repo=$tmp/repo
out=$tmp/out
fail=0

say() { echo "ok   $*"; }
bad() {
	echo "FAIL $*"
	fail=1
}

# The services' command lines name --data-dir $tmp/.harness/refstack, so
# this finds the processes of this test and of no other.
leftover() { pgrep -f -- "$tmp/.harness/refstack" 2>/dev/null; }

# Process groups of the services the runs (or `harness stack up`)
# started, from their stack.json.
run_groups() {
	cat "$tmp"/spool/run-*/stack.json "$tmp/.harness/stack.json" \
		2>/dev/null |
		sed -n 's/^ *"pgid": \([0-9]*\).*/\1/p'
}

cleanup() {
	for g in $(run_groups); do
		kill -9 -- "-$g" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# A git repository with one commit; dirty when $1 is "dirty", else clean.
make_repo() {
	mkdir -p "$repo" &&
		git -C "$repo" init -q &&
		echo one >"$repo/file" &&
		git -C "$repo" add file &&
		git -C "$repo" -c user.name=test \
			-c user.email=test@example.com \
			commit -q -m "first commit" || return 1
	[ "${1:-}" = dirty ] && echo untracked >"$repo/untracked"
	return 0
}

# The shipped config, with its project pointed at the temp repository.
make_config() {
	sed 's|^\( *\)path: \.\.$|\1path: repo|' \
		"$src/scenarios/harness.yaml" >"$cfg" || return 1
	grep -q '^ *path: repo$' "$cfg" || {
		echo "FAIL cannot point the project of harness.yaml at repo"
		return 1
	}
}

q() { sqlite3 "$db" "$1"; }

# check_exit NAME WANT GOT: the exit status, with the output on failure.
check_exit() {
	if [ "$3" -eq "$2" ]; then
		say "$1 (exit $3)"
	else
		bad "$1: exit $3, want $2"
		sed 's/^/    /' "$out"
	fi
}

# No service process may outlive a run, and none may have reported a
# sanitizer error in its log.
check_no_leftover() {
	left=$(leftover)
	if [ -n "$left" ]; then
		bad "$1: services left running: $left"
	else
		say "$1: no service left"
	fi
	for f in "$tmp"/.harness/logs/*.log; do
		[ -f "$f" ] || continue
		if grep -q 'AddressSanitizer\|runtime error:' "$f"; then
			bad "$1: sanitizer report in $f"
			sed 's/^/    /' "$f" | head -n 30
		fi
	done
}
