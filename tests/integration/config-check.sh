#!/bin/sh
# config-check.sh: `harness config check` exits 0 and prints the effective
# configuration for good files, 78 with FILE:LINE:COLUMN for broken ones,
# 64 for a bad command line; its output loads again unchanged.
set -u
harness=$1
data=$HARNESS_SOURCE_ROOT/tests/data/config
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

# run NAME WANT-CODE CMD...: stdout to $tmp/out, stderr to $tmp/err
run() {
	name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		bad "$name: exit $got, want $want"
		cat "$tmp/err"
	fi
}
has() { # has NAME FILE TEXT
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		bad "$1: no '$3' in:"
		cat "$2"
	fi
}

run good 0 "$harness" config check -c "$data/good.yaml" \
	"$data/good-scenario.yaml"
has good-dump "$tmp/out" "start_timeout: 10s"
has good-scenario-dump "$tmp/out" "name: good-boot"
has good-hash "$tmp/out" "# hash: "

# The printed configuration is itself a valid config and scenario.
sed -n '1,/^---$/p' "$tmp/out" | sed '$d' >"$tmp/harness.yaml"
sed -n '/^---$/,$p' "$tmp/out" | sed 1d >"$tmp/again.yaml"
cp "$tmp/out" "$tmp/first"
run reload 0 "$harness" config check -c "$tmp/harness.yaml" "$tmp/again.yaml"
grep -v '^#' "$tmp/first" >"$tmp/a"
grep -v '^#' "$tmp/out" >"$tmp/b"
if cmp -s "$tmp/a" "$tmp/b"; then ok reload-same; else
	bad "reload-same"
	diff "$tmp/a" "$tmp/b"
fi

run broken-config 78 "$harness" config check -c "$data/bad-config-unknown.yaml"
has broken-config-where "$tmp/err" \
	"harness: error: $data/bad-config-unknown.yaml:4:3: unknown key 'sample_rat' in tracing; did you mean 'sample_rate'?"
[ -s "$tmp/out" ] && bad "broken-config prints nothing on stdout"

run broken-scenario 78 "$harness" config check -c "$data/good.yaml" \
	"$data/bad-runner-key.yaml"
has broken-scenario-where "$tmp/err" \
	"$data/bad-runner-key.yaml:7:3: unknown key 'iteratons' in runner"

printf 'version: 1\nservices:\n  - name: a\n    command: [a, "{{prt}}"]\n' \
	>"$tmp/typo.yaml"
run broken-template 78 "$harness" config check -c "$tmp/typo.yaml"
has broken-template-where "$tmp/err" \
	"$tmp/typo.yaml:4:18: 'command': undefined template variable 'prt'; did you mean 'port'?"

run missing 78 "$harness" config check -c "$tmp/nope.yaml"
has missing-why "$tmp/err" "cannot read '$tmp/nope.yaml'"

# Scenario names are looked up in the config's directory first, then in
# $HARNESS_SCENARIOS_DIR.
mkdir "$tmp/more"
printf 'steps:\n  - sleep: 1s\n' >"$tmp/near.yaml"
printf 'steps:\n  - sleep: 2s\n' >"$tmp/more/far.yaml"
run by-name 0 env HARNESS_SCENARIOS_DIR="$tmp/more" \
	"$harness" config check -c "$tmp/harness.yaml" near far
has by-name-near "$tmp/out" "name: near"
has by-name-far "$tmp/out" "duration: 2s"
run by-name-missing 78 "$harness" config check -c "$tmp/harness.yaml" gone
has by-name-missing-why "$tmp/err" "scenario 'gone' not found"
# A near miss of a shipped scenario: did you mean, and the shipped folder
# (the config's own, and where harness looks anyway) named once.
shipped=$HARNESS_SOURCE_ROOT/scenarios
run by-name-typo 78 "$harness" config check -c "$shipped/harness.yaml" boot-mv
has by-name-typo-hint "$tmp/err" \
	"no boot-mv.yaml in $shipped; did you mean 'boot-vm'?"

run path 0 "$harness" config path -c "$tmp/x.yaml"
has path-text "$tmp/out" "$tmp/x.yaml"
run path-env 0 env HARNESS_CONFIG="$tmp/y.yaml" "$harness" config path
has path-env-text "$tmp/out" "$tmp/y.yaml"

run bad-option 64 "$harness" config check --frobnicate
run no-subcommand 64 "$harness" config
run bad-subcommand 64 "$harness" config lint
run path-extra 64 "$harness" config path extra
exit $fail
