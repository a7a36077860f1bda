#!/bin/sh
# collect-kill.sh: spans the collector acknowledged survive SIGKILL right
# after the acknowledgement. A burst of concurrent requests, then kill -9;
# every span of every request answered 200 must be in the spool file, and
# ingest stores them all.
# Arguments: the harness binary, the collect-dump helper.
set -u
harness=$1
dump=$2
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL $*"; exit 1; }

"$harness" collect --listen 127.0.0.1:0 --spool "$tmp/spool" \
	>"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while ! grep -q '^listening on ' "$tmp/out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "collector did not start: $(cat "$tmp/err")"
	sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$tmp/out")

# body N: one resource, 3 spans named req-N-{1,2,3} in one trace.
body() {
	bn=$1
	hex=$(printf '%016x' "$bn")
	printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-%s"}}]},"scopeSpans":[{"spans":[' "$bn"
	for k in 1 2 3; do
		[ $k -gt 1 ] && printf ','
		printf '{"traceId":"%s%s","spanId":"%015x%d","parentSpanId":"%s","name":"req-%s-%s","kind":1,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"}' \
			"$hex" "$hex" "$bn" "$k" "$([ $k -gt 1 ] && printf '%015x1' "$bn")" "$bn" "$k"
	done
	printf ']}]}]}'
}

n=40
j=1
while [ $j -le $n ]; do
	body $j >"$tmp/body-$j"
	j=$((j + 1))
done
# The burst: all at once; each curl records the status it got.
j=1
while [ $j -le $n ]; do
	curl -s -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' \
		--data-binary "@$tmp/body-$j" "$url" >"$tmp/status-$j" &
	j=$((j + 1))
done
wait_curls() {
	j=1
	while [ $j -le $n ]; do
		k=0
		while [ ! -s "$tmp/status-$j" ]; do
			k=$((k + 1))
			[ $k -gt 200 ] && return
			sleep 0.05
		done
		j=$((j + 1))
	done
}
wait_curls
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=

"$dump" spool "$tmp"/spool/*.htspool >"$tmp/spans" || fail "cannot read the spool"
acked=0
j=1
while [ $j -le $n ]; do
	if [ "$(cat "$tmp/status-$j")" = 200 ]; then
		acked=$((acked + 1))
		for k in 1 2 3; do
			grep -q " svc-$j req-$j-$k\$" "$tmp/spans" ||
				fail "acknowledged span req-$j-$k is not in the spool"
		done
	fi
	j=$((j + 1))
done
[ $acked -eq $n ] || fail "only $acked of $n requests were acknowledged"
echo "ok   $acked acknowledged requests, all $((acked * 3)) spans in the spool"

# Parents resolve: req-N-2 and -3 hang under req-N-1.
line=$(grep " req-7-2\$" "$tmp/spans")
set -- $line
[ "$2" = 0000000000000072 ] && [ "$3" = 0000000000000071 ] ||
	fail "req-7-2 has span $2 parent $3"
echo "ok   parent ids kept"

"$harness" ingest --store "$tmp/h.db" "$tmp/spool" >/dev/null ||
	fail "ingest failed"
"$dump" store "$tmp/h.db" >"$tmp/stored" || fail "cannot read the store"
[ "$(wc -l <"$tmp/stored")" -eq $((n * 3)) ] ||
	fail "store holds $(wc -l <"$tmp/stored") spans, want $((n * 3))"
grep -q " func ok svc-12 req-12-3\$" "$tmp/stored" ||
	fail "span req-12-3 of svc-12 not stored as func"
echo "ok   ingest stored $((n * 3)) spans"
exit 0
