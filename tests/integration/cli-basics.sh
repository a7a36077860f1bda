#!/bin/sh
# cli-basics.sh: --help, --version, help CMD, unknown command and option;
# a bad value or option is one line on stderr, never the whole help.
set -u
harness=$1
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-cli-basics.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
check() { # check NAME EXPECTED-CODE CMD...
	name=$1 want=$2
	shift 2
	"$@" >/dev/null 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: exit $got, want $want"
		fail=1
	else
		echo "ok   $name"
	fi
}
check help 0 "$harness" --help
check version 0 "$harness" --version
check no-args 64 "$harness"
check unknown-command 64 "$harness" frobnicate
check unknown-option 64 "$harness" --frobnicate
"$harness" --version | grep -q '^harness [0-9]' || { echo "FAIL version text"; fail=1; }
"$harness" --help | grep -q 'exit codes' || { echo "FAIL help lists exit codes"; fail=1; }
for cmd in $("$harness" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
	check "help-$cmd" 0 "$harness" help "$cmd"
	check "$cmd--help" 0 "$harness" "$cmd" --help
done

# one_line NAME PATTERN CMD...: exit 64 and one line on stderr, matching
# PATTERN, that points at the command's --help; nothing on stdout.
one_line() {
	name=$1 pattern=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" -ne 64 ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ] ||
		! grep -q "^harness: error: $pattern" "$tmp/err" ||
		! grep -q "see 'harness [a-z]* *--help'\$" "$tmp/err"; then
		echo "FAIL $name: exit $got, $lines lines on stderr:"
		sed 's/^/    /' "$tmp/err" "$tmp/out"
		fail=1
	else
		echo "ok   $name: $(cat "$tmp/err")"
	fi
}
one_line run-iterations-0 "bad --iterations '0': want a whole number" \
	"$harness" run --iterations 0 boot-vm
one_line run-rate-x "bad --rate 'x': want iterations per second" \
	"$harness" run --rate x boot-vm
one_line runs-limit-x "bad --limit 'x': want a whole number" \
	"$harness" runs --limit x
one_line trace-limit-x "bad --limit 'x': want a whole number" \
	"$harness" trace list --limit x
one_line compare-alpha "bad --alpha '2': want a fraction" \
	"$harness" compare --alpha 2 1 2
one_line export-batch "bad --batch '0': want 1 to" \
	"$harness" export --batch 0 1
one_line collect-max-body "bad --max-body 'x': want a number of bytes" \
	"$harness" collect --max-body x
one_line report-format "bad --format 'pdf': want html, text or json" \
	"$harness" report --format pdf 1
one_line missing-value "option '--store' needs a value" \
	"$harness" runs --store
one_line typo "unknown option '--iteratons'; did you mean '--iterations'?" \
	"$harness" run --iteratons 3 boot-vm
one_line ambiguous "ambiguous option '--fo': --force, --format?" \
	"$harness" compare --fo x 1 2
one_line no-value-wanted "option '--force' takes no value" \
	"$harness" compare --force=yes 1 2
one_line short "unknown option '-z'" "$harness" ingest -z x
one_line stack-action "unknown action 'frob': want up, status or down" \
	"$harness" stack frob
one_line unknown-command "'frobnicate' is not a harness command" \
	"$harness" frobnicate
exit $fail
