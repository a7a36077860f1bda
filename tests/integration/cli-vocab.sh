#!/bin/sh
# cli-vocab.sh: one vocabulary across the subcommands. Every command's
# --help names the config as -c, --config FILE; every command that reads a
# store takes --store FILE (and accepts it: no usage error); one output
# file is -o, --output FILE, a folder of outputs --out-dir DIR; values are
# named in one style (FILE, DIR, N: capitals, never <file>); the docs use
# the same names, and collect --help names the config key of its address
# as scenarios/README.md does.
# usage: cli-vocab.sh HARNESS
set -u
harness=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${HARNESS_SOURCE_ROOT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-cli-vocab.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() {
	echo "FAIL $*"
	fail=1
}

commands=$("$harness" --help | sed -n '/^commands:/,/^$/p' |
	awk 'NR > 1 && NF { print $1 }')
[ -n "$commands" ] || { echo "FAIL no commands in harness --help"; exit 1; }
for cmd in $commands; do
	"$harness" "$cmd" --help >"$tmp/$cmd.help" 2>&1 ||
		bad "$cmd --help exits non-zero"
done

# has CMD TEXT WHY: CMD's help holds TEXT.
has() {
	if grep -qF -- "$2" "$tmp/$1.help"; then ok "$1: $3"; else
		bad "$1 --help: no '$2' ($3)"
	fi
}

for cmd in $commands; do
	has "$cmd" "-c, --config FILE" "the config is -c, --config FILE"
done
store_commands="run runs ingest collect compare trace export report"
for cmd in $store_commands; do
	has "$cmd" "--store FILE" "a store is --store FILE"
done
for cmd in report export trace; do
	has "$cmd" "-o, --output FILE" "one output file is -o, --output FILE"
done
has compare "--out-dir DIR" "a folder of outputs is --out-dir DIR"
sh "$src/ci/gate.sh" --help >"$tmp/gate.help" 2>&1
has gate "--out-dir DIR" "ci/gate.sh: a folder of outputs is --out-dir DIR"
has gate "-c, --config FILE" "ci/gate.sh: the config is -c, --config FILE"

# One placeholder style: no <file>, and the value an option takes is in
# capitals (or a choice such as span|operation).
for cmd in $commands gate; do
	if grep -n '<[a-z][a-z -]*>' "$tmp/$cmd.help" >"$tmp/angle"; then
		bad "$cmd --help: placeholders in <>: $(cat "$tmp/angle")"
	fi
	sed -n 's/^ \{2,4\}\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z-]*\) \([^ ][^ ]*\).*/\2 \3/p' \
		"$tmp/$cmd.help" | while read -r opt value; do
		case $value in
		[A-Z]*)
			case $value in
			*[a-z]*) echo "$opt $value" ;;
			esac
			;;
		*'|'*) ;;
		*) echo "$opt $value" ;;
		esac
	done >"$tmp/lower"
	if [ -s "$tmp/lower" ]; then
		bad "$cmd --help: values not in capitals: $(tr '\n' ' ' \
			<"$tmp/lower")"
	fi
done
ok "one placeholder style in every --help"

# Each store-reading command accepts --store: a store that is not there
# is no run (65) or no runs (0), never a usage error. -c and --config are
# accepted alike.
printf 'version: 1\nstore: vocab.db\n' >"$tmp/harness.yaml"
mkdir "$tmp/empty"
accepts() { # accepts NAME CMD...
	name=$1
	shift
	(cd "$tmp" && "$harness" "$@") >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq 64 ]; then
		bad "$name: usage error: $(cat "$tmp/out")"
	else
		ok "$name (exit $rc)"
	fi
}
none=$tmp/none.db
accepts "runs --store" runs --store "$none"
accepts "runs -c" runs -c "$tmp/harness.yaml"
accepts "report --store" report --store "$none" 1
accepts "report -c" report -c "$tmp/harness.yaml" 1
accepts "export --store" export --store "$none" 1
accepts "export --config" export --config "$tmp/harness.yaml" 1
accepts "trace --store" trace list --store "$none"
accepts "trace -c" trace list -c "$tmp/harness.yaml"
accepts "compare --store" compare --store "$none" 1 2
accepts "compare -c" compare -c "$tmp/harness.yaml" 1 2
accepts "ingest --store" ingest --store "$tmp/ingest.db" "$tmp/empty"
accepts "ingest -c" ingest -c "$tmp/harness.yaml" "$tmp/empty"
accepts "run --store" run --store "$none" -c "$tmp/harness.yaml" nowhere
accepts "collect --store" collect --store "$none" --spool /proc/no/spool
[ ! -e "$none" ] || bad "a command made the store it was only to read"

# No such run is 65 through -c as through --store.
(cd "$tmp" && "$harness" report -c "$tmp/harness.yaml" 1) >"$tmp/out" 2>&1
[ $? -eq 65 ] && ok "report -c: no such store, exit 65" ||
	bad "report -c with no store: $(cat "$tmp/out")"

# The collector's address: the key collect --help names is the one that
# scenarios/README.md documents under tracing.
has collect "tracing.otlp.listen" "names the key of the address"
sed -n '/^### `tracing`/,/^### /p' "$src/scenarios/README.md" |
	grep -q '^| `otlp.listen` |' &&
	ok "scenarios/README.md: tracing's otlp.listen" ||
	bad "scenarios/README.md documents no otlp.listen under tracing"

# The docs and the CI templates use the same names: no old spellings.
for f in README.md scenarios/README.md devstack/README.md \
	harness/refstack/README.md harness/analyze/README.md \
	harness/report/README.md ci/github-actions.yml ci/gate.sh \
	ci/zuul/playbooks/harness-gate/run.yaml devstack/plugin.sh; do
	[ -f "$src/$f" ] || continue
	if grep -n -e '--out [^]-]' -e '--ingest-store' -e 'otlp_listen' \
		-e '-c CONFIG' -e '<file>' "$src/$f" >"$tmp/old"; then
		bad "$f: old names: $(cat "$tmp/old")"
	fi
done
ok "docs and templates: no old option names"
exit $fail
