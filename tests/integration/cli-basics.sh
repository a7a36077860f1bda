#!/bin/sh
# cli-basics.sh: --help, --version, help CMD, unknown command and option.
set -u
harness=$1
fail=0
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
exit $fail
