#!/bin/sh
# osprofiler-e2e.sh: a libhtrace client calls a WSGI app traced by the real
# OSprofiler (signed X-Trace-Info headers, key SECRET_KEY); after
# `harness ingest` of the client's spool and `harness ingest --format
# osprofiler` of the app's notifications, the app's spans are in the store
# in the client's trace, under the client's rest.call span.
# Arguments: harness, collect-dump, osprofiler-client, osprofiler-app.py.
set -u
harness=$1
dump=$2
client=$3
app=$4
python=/usr/bin/python3	# Debian's, which has python3-osprofiler
if ! "$python" -c 'import osprofiler.web, webob' 2>/dev/null; then
	echo "SKIP: $python cannot import osprofiler (python3-osprofiler)"
	exit 77
fi
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL $*"; exit 1; }

"$python" "$app" "$tmp/notifications.jsonl" >"$tmp/app.out" 2>"$tmp/app.err" &
pid=$!
i=0
while ! grep -q '^port ' "$tmp/app.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "app did not start: $(cat "$tmp/app.err")"
	sleep 0.1
done
port=$(sed -n 's/^port //p' "$tmp/app.out")

mkdir "$tmp/spool"
out=$("$client" "$tmp/spool" "http://127.0.0.1:$port/servers/1?x=1") ||
	fail "client: $out"
echo "ok   client: $out"
kill "$pid"
wait "$pid" 2>/dev/null
pid=
trace=$(echo "$out" | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p')
call=$(echo "$out" | sed -n 's/.*call=\([0-9a-f]*\).*/\1/p')
[ -n "$trace" ] && [ -n "$call" ] || fail "client printed '$out'"
[ "$(wc -l <"$tmp/notifications.jsonl")" -eq 6 ] ||
	fail "want 6 notifications (wsgi, db, compute), got: $(cat "$tmp/notifications.jsonl")"

"$harness" ingest --store "$tmp/h.db" "$tmp/spool" >/dev/null ||
	fail "ingest of the client's spool"
"$harness" ingest --store "$tmp/h.db" --format osprofiler \
	"$tmp/notifications.jsonl" >"$tmp/ingest.out" 2>&1 ||
	fail "ingest --format osprofiler: $(cat "$tmp/ingest.out")"
grep -q '^ingested 3 spans' "$tmp/ingest.out" ||
	fail "ingest --format osprofiler said: $(cat "$tmp/ingest.out")"
"$dump" store "$tmp/h.db" >"$tmp/spans" || fail "cannot read the store"
cat "$tmp/spans"

# TRACE SPAN PARENT KIND STATUS SERVICE NAME
wsgi=$(grep " rest.dispatch ok osprofiler-app GET /servers/1\$" "$tmp/spans")
[ -n "$wsgi" ] || fail "no wsgi span from the app"
set -- $wsgi
[ "$1" = "$trace" ] || fail "wsgi span in trace $1, want $trace"
[ "$3" = "$call" ] || fail "wsgi span's parent is $3, want the call $call"
wsgi_id=$2
echo "ok   wsgi span under the client's rest.call"
db=$(grep " db ok osprofiler-app SELECT\$" "$tmp/spans")
[ -n "$db" ] || fail "no db span from the app"
set -- $db
[ "$1" = "$trace" ] && [ "$3" = "$wsgi_id" ] ||
	fail "db span: trace $1 parent $3, want $trace $wsgi_id"
fn=$(grep " func ok osprofiler-app __main__.schedule\$" "$tmp/spans")
[ -n "$fn" ] || fail "no schedule span from the app"
set -- $fn
[ "$3" = "$wsgi_id" ] || fail "schedule span's parent $3, want $wsgi_id"
echo "ok   db and function spans under the wsgi span"
# Every parent resolves to a span of the trace (the client root has none).
awk -v t="$trace" '$1 == t { id[$2] = 1; p[$2] = $3 }
	END { for (s in p) if (p[s] != "0000000000000000" && !(p[s] in id)) {
		print "unresolved parent " p[s] " of " s; exit 1 } }' \
	"$tmp/spans" || fail "a parent does not resolve"
echo "ok   all parents resolve"
exit 0
