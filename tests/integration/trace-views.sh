#!/bin/sh
# trace-views.sh: `harness trace list|show` and `harness export` over a
# store made by report-fixture: the list, the text tree, JSON, DOT that
# Graphviz accepts, Chrome trace JSON that nests and whose flows have both
# ends, and the errors of bad ids, runs and formats.
# usage: trace-views.sh HARNESS REPORT-FIXTURE REPORT-CHECK.PY
set -u
harness=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fixture=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
check=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
failed_here=0
say() { [ "$failed_here" -eq 0 ] && echo "ok   $*"; failed_here=0; }
bad() { echo "FAIL $*"; fail=1; failed_here=1; }

run=$("$fixture" h.db) || { echo "FAIL fixture"; exit 1; }

# list: 12 traces, newest first, with root, iteration, services, errors.
"$harness" trace list --store h.db --run "$run" >list.txt 2>err.txt ||
	bad "trace list: exit $?"
[ "$(grep -c ' boot-vm ' list.txt)" -eq 12 ] || bad "list: $(cat list.txt)"
head -1 list.txt | grep -q 'TRACE.*RUN.*ITER.*ROOT.*START.*DURATION.*SPANS' ||
	bad "list header: $(head -1 list.txt)"
sed -n 2p list.txt | grep -q '^ab0b.* 11  boot-vm .*76.00ms *30 *0  api,compute,harness,identity,network,scheduler$' ||
	bad "list newest row: $(sed -n 2p list.txt)"
grep -q '^a505.* 5  boot-vm .* 30 *2  ' list.txt ||
	bad "list: the failed iteration's two errors"
[ "$("$harness" trace list --store h.db --limit 3 | wc -l)" -eq 4 ] ||
	bad "list --limit 3"
say "trace list"

# show text: the tree, indented by depth, offsets, errors marked.
"$harness" trace show --store h.db A505 >show.txt 2>err.txt ||
	bad "trace show: exit $?"
head -1 show.txt | grep -q '^trace a50535455565758595a5b5c5d5e5f505  run 1  30 spans, 6 services, 2 errors, 77.00ms$' ||
	bad "show header: $(head -1 show.txt)"
grep -q '^+0ns  *77.00ms  harness  *iteration  *boot-vm  !! ERROR$' show.txt ||
	bad "show root line"
grep -q '^+900us  *800us  identity  *db  *            SELECT users$' show.txt ||
	bad "show depth-6 span"
grep -q '!! database is locked$' show.txt || bad "show error message"
say "trace show text"

# A prefix shared by two traces, an unknown id, a bad id.
"$harness" trace show --store h.db a >/dev/null 2>err.txt
rc=$?
[ "$rc" -eq 64 ] && grep -q ambiguous err.txt || bad "ambiguous: $rc"
"$harness" trace show --store h.db ff00 >/dev/null 2>err.txt
rc=$?
[ "$rc" -eq 65 ] && grep -q "no trace 'ff00'" err.txt || bad "unknown: $rc"
"$harness" trace show --store h.db zz >/dev/null 2>&1
[ $? -eq 64 ] || bad "bad id"
"$harness" trace show --store h.db --run 99 a505 >/dev/null 2>&1
[ $? -eq 65 ] || bad "unknown run"
"$harness" trace list --store h.db --run 99 >/dev/null 2>err.txt
[ $? -eq 65 ] && grep -q "no run 99" err.txt || bad "list: unknown run"
"$harness" trace show --store h.db --format svg a505 >/dev/null 2>&1
[ $? -eq 64 ] || bad "unknown format"
"$harness" trace list --store missing.db >/dev/null 2>&1
[ $? -eq 65 ] && [ ! -e missing.db ] || bad "missing store"
say "trace show errors"

# json: the documented tree.
"$harness" trace show --store h.db --format json a505 -o t.json ||
	bad "json: exit $?"
$py - t.json <<'PY' || bad "json shape"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["trace_id"] == "a50535455565758595a5b5c5d5e5f505", t["trace_id"]
assert t["span_count"] == 30 and t["error_count"] == 2
assert t["services"][0] == "harness" and len(t["services"]) == 6
assert len(t["roots"]) == 1
def walk(s, depth, seen):
    seen.append((depth, s))
    for c in s["children"]:
        assert c["parent_id"] == s["span_id"]
        walk(c, depth + 1, seen)
seen = []
walk(t["roots"][0], 0, seen)
assert len(seen) == 30
by = {s["name"]: s for d, s in seen}
assert by["qemu-img create"]["attributes"] == {
    "process.command_line": "qemu-img create -f qcow2 disk.img 1G",
    "process.exit.code": 0, "cpu.share": 0.375, "cached": False}
call = [s for d, s in seen if s["kind"] == "rpc.call"][0]
assert call["cross_service"] is False and call["service"] == "api"
assert by["POST /v3/auth/tokens"]["service"] == "identity"
disp = [s for d, s in seen if s["kind"] == "rpc.dispatch"
        and s["service"] == "scheduler"][0]
assert disp["cross_service"] is True
assert disp["stack"][0] == "scheduler.so+0x1a2b filter_hosts"
err = [s for d, s in seen if s["message"]]
assert err[0]["status"] == "error" and err[0]["message"] == "database is locked"
PY
say "trace show json"

# dot: Graphviz accepts both graphs; cross-service edges are highlighted.
for nodes in span operation; do
	"$harness" trace show --store h.db --format dot --nodes $nodes \
		a505 -o t-$nodes.dot || bad "dot $nodes: exit $?"
	dot -Tsvg t-$nodes.dot -o t-$nodes.svg 2>dot-err.txt ||
		bad "dot -Tsvg rejects the $nodes graph: $(cat dot-err.txt)"
	[ -s dot-err.txt ] && bad "dot warns: $(cat dot-err.txt)"
	grep -q '<svg' t-$nodes.svg || bad "no svg from dot"
done
[ "$(grep -c -- '->' t-span.dot)" -eq 29 ] || bad "dot: 29 edges per span"
# harness->api, api->identity, api->scheduler, api->compute,
# api->network, and three polls harness->api.
[ "$(grep -- '->' t-span.dot | grep -c 'penwidth=2.5')" -eq 8 ] ||
	bad "dot: 8 cross-service edges"
[ "$(grep -c 'subgraph cluster_' t-span.dot)" -eq 6 ] ||
	bad "dot: a cluster per service"
grep -q 'label="x3"' t-operation.dot || bad "dot: poll edge counted x3"
say "trace show dot"

# chrome for one trace and for the whole run.
"$harness" trace show --store h.db --format chrome a505 -o t-chrome.json ||
	bad "chrome trace: exit $?"
$py "$check" chrome t-chrome.json || bad "chrome trace check"
"$harness" export --store h.db "$run" -o run.json || bad "export: exit $?"
$py "$check" chrome run.json >check.txt || bad "export check: $(cat check.txt)"
grep -q "360 slices on 10 tracks, 96 flows" check.txt ||
	bad "export: $(cat check.txt)"
$py - run.json <<'PY' || bad "export content"
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
procs = {e["pid"]: e["args"]["name"] for e in ev
         if e["ph"] == "M" and e["name"] == "process_name" and e["pid"]}
assert sorted(procs.values()) == ["api", "compute", "harness", "identity",
                                  "network", "scheduler"], procs
x = [e for e in ev if e["ph"] == "X"]
assert len(x) == 360
for e in x:
    assert procs[e["pid"]], e
# The overlapping async pieces of api's thread 202 sit on two tracks.
threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
           if e["ph"] == "M" and e["name"] == "thread_name"}
assert any(n.endswith("tid 202 (overlap 1)") for n in threads.values())
# ts is relative to the run's first span, in microseconds.
assert min(e["ts"] for e in x) == 0
q = [e for e in x if e["name"] == "qemu-img create"][0]
assert q["dur"] == 8000 and q["cat"] == "exec"
assert q["args"]["process.exit.code"] == 0
PY
say "export chrome"

# The checker fails on bad input: squash the overlap track into its
# thread's first track, and drop a flow end.
sed 's/"pid":2,"tid":3,/"pid":2,"tid":2,/' run.json >squashed.json
$py "$check" chrome squashed.json >/dev/null &&
	bad "check accepts events that do not nest"
grep -v '"ph":"f","bp":"e","name":"call","cat":"flow","id":7,' run.json \
	>noflow.json
$py "$check" chrome noflow.json >/dev/null &&
	bad "check accepts a flow without an end"
say "checker rejects bad traces"

"$harness" export --store h.db 42 >/dev/null 2>&1
[ $? -eq 65 ] || bad "export of a missing run"
"$harness" export --store h.db latest --format json -o all.json ||
	bad "export latest json"
$py -c "import json,sys; assert len(json.load(open('all.json'))) == 12" ||
	bad "export json: 12 traces"
say "export errors and formats"
exit $fail
