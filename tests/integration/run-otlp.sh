#!/bin/sh
# run-otlp.sh: `harness run` with tracing.otlp enabled starts the collector,
# a service with `trace: otlp` exports its spans to it, and they land in the
# run's traces under the harness request that called the service.
# Usage: run-otlp.sh HARNESS
set -u
harness=$1
src=${HARNESS_SOURCE_ROOT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-run-otlp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
say() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/harness.yaml" <<YAML
version: 1
store: h.db
tracing:
  otlp: {enabled: true, listen: "127.0.0.1:$port"}
services:
  - name: greeter
    command: [/usr/bin/python3, "$src/tests/integration/run-otlp-service.py", "{{port}}"]
    port: auto
    trace: otlp
YAML
cat > "$tmp/hello.yaml" <<'YAML'
name: hello
runner: {type: constant, iterations: 6}
steps:
  - request: {name: hello, url: "{{services.greeter}}/hello", expect: 200}
YAML

"$harness" run -c "$tmp/harness.yaml" "$tmp/hello.yaml" > "$tmp/out" 2>&1
status=$?
[ $status -eq 0 ] || { bad "run exit $status"; cat "$tmp/out"; }
grep -q "^collecting OTLP on http://127.0.0.1:$port" "$tmp/out" &&
	say "the run started the collector on tracing.otlp.listen" ||
	bad "no collector line: $(cat "$tmp/out")"

q() { sqlite3 "$tmp/h.db" "$1"; }
n=$(q "SELECT count(*) FROM spans s JOIN strings v ON v.id = s.service_id
	WHERE v.s = 'greeter' AND s.kind = 2")
[ "$n" = 6 ] && say "6 OTLP spans of greeter stored as rest.dispatch" ||
	bad "greeter rest.dispatch spans: '$n', want 6"
# Each hangs under the harness rest.call of its iteration's trace.
orphans=$(q "SELECT count(*) FROM spans s JOIN strings v ON v.id = s.service_id
	WHERE v.s = 'greeter' AND NOT EXISTS (
		SELECT 1 FROM spans p JOIN strings pv ON pv.id = p.service_id
		WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_id
		AND pv.s = 'harness' AND p.kind = 1)")
[ "$orphans" = 0 ] && say "each under the harness rest.call that called it" ||
	bad "$orphans greeter spans not under a harness rest.call"
its=$(q "SELECT count(DISTINCT s.trace_id) FROM spans s
	JOIN strings v ON v.id = s.service_id
	JOIN iterations i ON i.trace_id = s.trace_id
	WHERE v.s = 'greeter' AND i.warmup = 0")
[ "$its" = 6 ] && say "in the traces of the 6 iterations" ||
	bad "greeter spans in $its iterations, want 6"
pgrep -f "$tmp" >/dev/null && bad "a process of the test is still running"

# The listen address taken: the run fails before the stack starts.
/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(8)" &
blocker=$!
sleep 0.5
"$harness" run -c "$tmp/harness.yaml" "$tmp/hello.yaml" > "$tmp/out2" 2>&1
status=$?
kill $blocker 2>/dev/null
[ $status -eq 70 ] && grep -q "cannot start the OTLP collector" "$tmp/out2" &&
	say "a taken listen address: exit 70, says so" ||
	bad "taken address: exit $status: $(cat "$tmp/out2")"
grep -q "starting 1 services" "$tmp/out2" && bad "the stack started anyway"
exit $fail
