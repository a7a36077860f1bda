#!/bin/sh
# collect-ingest.sh: `harness collect --store` ingests what it
# receives while it runs and once more on SIGTERM, never twice; the
# OTLP kinds and services arrive in the store.
# Arguments: the harness binary, the collect-dump helper.
set -u
harness=$1
dump=$2
data=$HARNESS_SOURCE_ROOT/tests/data/otlp
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL $*"; exit 1; }

"$harness" collect --listen 127.0.0.1:0 --spool "$tmp/spool" --fsync \
	--store "$tmp/h.db" --ingest-interval 100ms \
	>"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while ! grep -q '^listening on ' "$tmp/out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "collector did not start: $(cat "$tmp/err")"
	sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$tmp/out")
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' \
	--data-binary "@$data/basic.json" "$url")
[ "$code" = 200 ] || fail "POST answered $code"

# ingested while running: wait (bounded) for the 5 spans
i=0
while :; do
	n=$("$dump" store "$tmp/h.db" 2>/dev/null | wc -l)
	[ "$n" -eq 5 ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && fail "store holds $n spans after 10s, want 5"
	sleep 0.1
done
echo "ok   ingested while running"

kill -TERM "$pid"
wait "$pid"
status=$?
pid=
[ $status -eq 0 ] || fail "collect exited $status: $(cat "$tmp/err")"
grep -q 'ingested' "$tmp/err" || fail "no ingest summary: $(cat "$tmp/err")"
"$dump" store "$tmp/h.db" >"$tmp/spans" || fail "cannot read the store"
[ "$(wc -l <"$tmp/spans")" -eq 5 ] || fail "spans stored twice: $(cat "$tmp/spans")"
grep -q ' 0000000000000001 0000000000000000 rest.dispatch ok api POST /servers$' "$tmp/spans" ||
	fail "rest.dispatch span of api missing"
grep -q ' 0000000000000002 0000000000000001 db ok api SELECT servers$' "$tmp/spans" ||
	fail "db span missing"
grep -q ' 0000000000000005 a000000000000004 func error compute spawn$' "$tmp/spans" ||
	fail "failed func span of compute missing"
echo "ok   5 spans stored once, kinds and services mapped"
exit 0
