#!/bin/sh
# run-osprofiler-redis.sh: a service traced by the real OSprofiler stores
# its notifications with OSprofiler's redis driver in a real redis-server;
# `harness run` with tracing.osprofiler.connection_string reads those of
# the run's traces at the end, stores them with the run (kinds, parents
# under harness's request spans, the unmapped count) and deletes them from
# Redis, leaving the notifications of other traces. `harness ingest
# --format osprofiler --from` does the same by hand. A Redis that is down
# fails the run (exit 70, the reason stored, the spool kept).
# Usage: run-osprofiler-redis.sh HARNESS APP
set -u
harness=$1
app=$2
python=/usr/bin/python3	# Debian's, which has python3-osprofiler
if ! "$python" -c 'import osprofiler.drivers.redis_driver, redis, webob' \
	2>/dev/null; then
	echo "SKIP: $python cannot import osprofiler's redis driver (python3-osprofiler, python3-redis)"
	exit 77
fi
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null
then
	echo "SKIP: no redis-server or redis-cli (apt-get install redis-server)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-run-osp.XXXXXX")
redis=
cleanup() {
	[ -n "$redis" ] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
say() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
free_port() {
	"$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A redis of the test's own: loopback, a free port, no persistence.
rport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no \
	--dir "$tmp" --daemonize no --logfile "$tmp/redis.log" &
redis=$!
rc() { redis-cli -h 127.0.0.1 -p "$rport" "$@"; }
i=0
until rc ping 2>/dev/null | grep -q PONG; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "FAIL redis-server did not start"; exit 1; }
	sleep 0.1
done
say "redis-server on 127.0.0.1:$rport"
# A trace that is no iteration of the run: it must stay.
rc lpush osprofiler_opt:00000000-0000-4000-8000-000000000001 \
	'{"name": "wsgi-start"}' >/dev/null

cat > "$tmp/harness.yaml" <<YAML
version: 1
store: h.db
variables: {redis_port: "$rport"}
tracing:
  osprofiler:
    connection_string: "redis://127.0.0.1:{{redis_port}}/0"
services:
  - name: nova-api
    command: [$python, "$app", --redis, "redis://127.0.0.1:$rport/0",
              --port, "{{port}}", --service, nova-api]
    port: auto
    trace: osprofiler
    start_timeout: 30s
YAML
cat > "$tmp/boot.yaml" <<'YAML'
name: boot
runner: {type: constant, iterations: 4, warmup: 1}
steps:
  - request: {name: boot, method: POST, url: "{{services.nova-api}}/servers", expect: 200}
YAML

"$harness" run -c "$tmp/harness.yaml" "$tmp/boot.yaml" > "$tmp/out" 2>&1
status=$?
cat "$tmp/out"
[ $status -eq 0 ] && say "run exit 0" || bad "run exit $status"

q() { sqlite3 "$tmp/h.db" "$1"; }
# 5 iterations (1 warm-up) x wsgi, db, compute, 2 rpc clients, 2 dispatches
n=$(q "SELECT count(*) FROM spans s JOIN strings v ON v.id = s.service_id
	WHERE v.s = 'nova-api' AND s.run_id = 1")
[ "$n" = 35 ] && say "35 OSprofiler spans stored with run 1" ||
	bad "nova-api spans of run 1: '$n', want 35"
kinds=$(q "SELECT k.name || '=' || count(*) FROM spans s
	JOIN strings v ON v.id = s.service_id JOIN kinds k ON k.id = s.kind
	WHERE v.s = 'nova-api' GROUP BY k.name ORDER BY k.name" | tr '\n' ' ')
[ "$kinds" = "db=5 func=5 rest.dispatch=5 rpc.call=5 rpc.cast=5 rpc.dispatch=10 " ] &&
	say "kinds: $kinds" || bad "kinds: '$kinds'"
attr() {	# KIND KEY: the distinct values of attribute KEY on KIND spans
	q "SELECT DISTINCT a.value FROM spans s JOIN kinds k ON k.id = s.kind
		JOIN span_attrs a ON a.span = s.id
		JOIN strings ak ON ak.id = a.key_id
		WHERE k.name = '$1' AND ak.s = '$2'" | tr '\n' ' '
}
[ "$(attr rest.dispatch http.request.method)" = "POST " ] &&
	[ "$(attr rest.dispatch url.path)" = "/servers " ] &&
	[ "$(attr db db.query.text)" = "SELECT * FROM servers WHERE id = ? " ] &&
	[ "$(attr db db.system.name)" = "other_sql " ] &&
	[ "$(attr rpc.cast rpc.method)" = "build_and_run_instance " ] &&
	[ "$(attr rpc.call rpc.method)" = "get_host_uptime " ] &&
	[ "$(attr func osprofiler.unmapped)" = "1 " ] &&
	say "semconv attributes on rest.dispatch, db, rpc; func marked unmapped" ||
	bad "attributes: method '$(attr rest.dispatch http.request.method)' db '$(attr db db.system.name)' cast '$(attr rpc.cast rpc.method)' unmapped '$(attr func osprofiler.unmapped)'"
# Each wsgi span hangs under the harness rest.call that sent the request.
orphans=$(q "SELECT count(*) FROM spans s JOIN kinds k ON k.id = s.kind
	WHERE k.name = 'rest.dispatch' AND s.run_id = 1 AND NOT EXISTS (
		SELECT 1 FROM spans p JOIN strings pv ON pv.id = p.service_id
		WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_id
		AND pv.s = 'harness' AND p.kind = 1)")
[ "$orphans" = 0 ] && say "each wsgi span under the harness rest.call" ||
	bad "$orphans wsgi spans not under a harness rest.call"
# Every OSprofiler span's parent is a span of its trace, and every trace
# is an iteration's.
loose=$(q "SELECT count(*) FROM spans s JOIN strings v ON v.id = s.service_id
	WHERE v.s = 'nova-api' AND (NOT EXISTS (SELECT 1 FROM spans p
		WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_id)
	OR NOT EXISTS (SELECT 1 FROM iterations i
		WHERE i.run_id = 1 AND i.trace_id = s.trace_id))")
[ "$loose" = 0 ] && say "every OSprofiler span's parent in its iteration's trace" ||
	bad "$loose OSprofiler spans with a parent outside their trace"
un=$(q "SELECT total(spans_unmapped) FROM drops WHERE run_id = 1")
[ "$un" = "5.0" ] && say "5 unmapped spans counted with run 1" ||
	bad "unmapped in the store: '$un', want 5"
grep -q "^spans .* 5 unmapped (kept as func)" "$tmp/out" &&
	grep -q "^osprofiler *35 spans of 5 traces from redis://127.0.0.1:$rport/0 (70 notifications)" "$tmp/out" &&
	say "the summary shows the unmapped count and what was read" ||
	bad "summary lines missing"
left=$(rc --scan --pattern 'osprofiler_opt:*' | tr '\n' ' ')
[ "$left" = "osprofiler_opt:00000000-0000-4000-8000-000000000001 " ] &&
	say "redis emptied of the run's traces, the other trace left" ||
	bad "left in redis: '$left'"

# By hand: a request outside harness run, then ingest --from.
"$python" "$app" --redis "redis://127.0.0.1:$rport/0" --port 0 \
	--service glance >"$tmp/app.out" 2>&1 &
app_pid=$!
i=0
while ! grep -q '^port ' "$tmp/app.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
aport=$(sed -n 's/^port //p' "$tmp/app.out")
# a signed X-Trace-Info as harness sends it, made by OSprofiler itself
hdrs=$("$python" -c '
from osprofiler import profiler, web
profiler.init("SECRET_KEY", base_id="11111111-2222-4333-8444-555555555555")
for k, v in web.get_trace_id_headers().items():
    print("%s: %s" % (k, v.decode() if isinstance(v, bytes) else v))')
curl -s -o /dev/null -H "$(echo "$hdrs" | sed -n 1p)" \
	-H "$(echo "$hdrs" | sed -n 2p)" -X POST "http://127.0.0.1:$aport/servers"
kill "$app_pid"; wait "$app_pid" 2>/dev/null
"$harness" ingest --store "$tmp/h.db" --format osprofiler \
	--from "redis://127.0.0.1:$rport" > "$tmp/ing" 2>&1
status=$?
cat "$tmp/ing"
[ $status -eq 0 ] && grep -q "^read 15 notifications of 2 traces from redis://127.0.0.1:$rport: 7 spans, 1 unmapped" "$tmp/ing" &&
	say "ingest --from: the 7 spans of the trace, the bad notification rejected" ||
	bad "ingest --from exit $status"
g=$(q "SELECT count(*) FROM spans s JOIN strings v ON v.id = s.service_id
	WHERE v.s = 'glance' AND s.run_id IS NULL AND hex(s.trace_id) =
	'1111111122224333844455555555555'||'5'")
[ "$g" = 7 ] && say "stored, in trace 11111111-...-555555555555" ||
	bad "glance spans: '$g'"
[ -z "$(rc --scan --pattern 'osprofiler_opt:*')" ] &&
	say "redis empty after ingest --from" ||
	bad "left in redis: $(rc --scan --pattern 'osprofiler_opt:*')"

# Redis down: the service stores its notifications, but harness reads from
# a port where nothing listens. The run fails and says why.
dead=$(free_port)
sed "s/{{redis_port}}/$dead/" "$tmp/harness.yaml" > "$tmp/down.yaml"
"$harness" run -c "$tmp/down.yaml" "$tmp/boot.yaml" > "$tmp/out2" 2>&1
status=$?
cat "$tmp/out2"
[ $status -eq 70 ] &&
	grep -q "OSprofiler's spans were not collected: cannot connect to redis 'redis://127.0.0.1:$dead/0'" "$tmp/out2" &&
	say "redis down: exit 70, says why" || bad "redis down: exit $status"
st=$(q "SELECT status || ': ' || status_reason FROM runs WHERE id = 2")
case "$st" in
"failed: OSprofiler's spans were not collected: cannot connect to redis"*)
	say "run 2 stored as failed, with the reason" ;;
*)	bad "run 2: '$st'" ;;
esac
grep -q "^spool .* kept in .*run-2 (the run failed)" "$tmp/out2" &&
	say "its spool kept" || bad "spool of run 2 not kept"
n=$(rc --scan --pattern 'osprofiler_opt:*' | wc -l)
[ "$n" = 5 ] && say "the 5 traces of run 2 still in redis" ||
	bad "traces in redis after run 2: $n"
exit $fail
