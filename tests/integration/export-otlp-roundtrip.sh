#!/bin/sh
# export-otlp-roundtrip.sh: `harness export --format otlp-json` writes an
# ExportTraceServiceRequest of the right shape, and `--to URL` delivers
# every span through `harness collect` and `harness ingest` into another
# store with the same ids, names, services, hosts, pids, threads, times,
# statuses and attributes. Unreachable endpoints and unknown runs fail
# clearly.
# usage: export-otlp-roundtrip.sh HARNESS REPORT-FIXTURE EXPORT-OTLP-DUMP
set -u
harness=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fixture=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dump=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
py=/usr/bin/python3
tmp=$(mktemp -d)
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
fail=0
failed_here=0
say() { [ "$failed_here" -eq 0 ] && echo "ok   $*"; failed_here=0; }
bad() { echo "FAIL $*"; fail=1; failed_here=1; }

run=$("$fixture" h.db) || { echo "FAIL fixture"; exit 1; }
"$dump" h.db "$run" sent | sort >sent.txt || { echo "FAIL dump"; exit 1; }
nspans=$(wc -l <sent.txt)
nerrors=$(grep -c ' status=error ' sent.txt)
if [ "$nspans" -le 50 ] || [ "$nerrors" -eq 0 ]; then
	echo "FAIL fixture: $nspans spans, $nerrors errors"
	exit 1
fi

# The file: shape, ids, times, kinds, typed values, grouping.
cat >check.py <<'PY'
import json, re, sys

path, want_spans, want_errors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
doc = json.load(open(path, encoding="utf-8"))
problems = []
def bad(m):
    if len(problems) < 20:
        print("check: " + m)
    problems.append(m)

kinds = {"rest.dispatch": 2, "rpc.dispatch": 2, "rest.call": 3,
         "rpc.call": 3, "db": 3, "exec": 3, "rpc.cast": 4}
dec = re.compile(r"^(0|[1-9][0-9]*)$")
def hexid(s, n):
    # lowercase hex of n digits, not all zero
    return re.match(r"^[0-9a-f]{%d}$" % n, s) and s.strip("0")
if set(doc) != {"resourceSpans"}:
    bad("top-level keys %r" % sorted(doc))
resources, ids, types = set(), set(), set()
nspans = nerrors = 0
for rs in doc["resourceSpans"]:
    ra = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
    svc = ra.get("service.name", {}).get("stringValue")
    if not svc:
        bad("resource without service.name: %r" % ra)
    pid = ra.get("process.pid", {}).get("intValue")
    if not isinstance(pid, str) or not dec.match(pid):
        bad("process.pid not a decimal string: %r" % pid)
    if "stringValue" not in ra.get("host.name", {}):
        bad("resource without host.name")
    key = json.dumps(ra, sort_keys=True)
    if key in resources:
        bad("resource %s twice: spans not grouped" % svc)
    resources.add(key)
    scopes = rs["scopeSpans"]
    if len(scopes) != 1 or scopes[0]["scope"]["name"] != "harness":
        bad("scopeSpans of %s: %r" % (svc, [s.get("scope") for s in scopes]))
    for sp in rs["scopeSpans"][0]["spans"]:
        nspans += 1
        if not hexid(sp["traceId"], 32):
            bad("traceId %r" % sp["traceId"])
        if not hexid(sp["spanId"], 16):
            bad("spanId %r" % sp["spanId"])
        if "parentSpanId" in sp and not hexid(sp["parentSpanId"], 16):
            bad("parentSpanId %r" % sp["parentSpanId"])
        if (sp["traceId"], sp["spanId"]) in ids:
            bad("span %s twice" % sp["spanId"])
        ids.add((sp["traceId"], sp["spanId"]))
        if not isinstance(sp["name"], str) or not sp["name"]:
            bad("name %r" % sp.get("name"))
        s, e = sp["startTimeUnixNano"], sp["endTimeUnixNano"]
        if not (isinstance(s, str) and isinstance(e, str) and dec.match(s)
                and dec.match(e) and int(e) >= int(s) > 10**18):
            bad("times %r %r" % (s, e))
        attrs = {}
        for a in sp["attributes"]:
            (t, v), = a["value"].items()
            types.add(t)
            ok = {"stringValue": lambda v: isinstance(v, str),
                  "intValue": lambda v: isinstance(v, str)
                                        and re.match(r"^-?[0-9]+$", v),
                  "doubleValue": lambda v: isinstance(v, float),
                  "boolValue": lambda v: isinstance(v, bool)}.get(t)
            if not ok or not ok(v):
                bad("attribute %s: %r" % (a["key"], a["value"]))
            attrs[a["key"]] = v
        hk = attrs.get("harness.kind")
        if hk is None:
            bad("span %s without harness.kind" % sp["spanId"])
        elif sp["kind"] != kinds.get(hk, 1):
            bad("kind %r of a %s span" % (sp["kind"], hk))
        st = sp.get("status")
        if st is not None:
            msg = st.get("message", "")
            if st.get("code") != 2 or not isinstance(msg, str):
                bad("status %r" % st)
            nerrors += 1
if nspans != want_spans:
    bad("%d spans, want %d" % (nspans, want_spans))
if nerrors != want_errors:
    bad("%d error statuses, want %d" % (nerrors, want_errors))
if types != {"stringValue", "intValue", "doubleValue", "boolValue"}:
    bad("value types %r" % sorted(types))
if problems:
    sys.exit(1)
print("check: %d spans in %d resources" % (nspans, len(resources)))
PY

"$harness" export --store h.db "$run" --format otlp-json -o out.json \
	2>err.txt || bad "export -o: exit $?: $(cat err.txt)"
$py check.py out.json "$nspans" "$nerrors" || bad "otlp-json shape"
"$harness" export --store h.db "$run" --format otlp-json >stdout.json \
	2>err.txt || bad "export to stdout: exit $?"
cmp -s out.json stdout.json || bad "stdout differs from -o"
say "otlp-json file: $nspans spans, ids, times, kinds, typed attributes"

# Through the collector into another store, in batches of 50.
"$harness" collect --listen 127.0.0.1:0 --spool spool >coll.out 2>coll.err &
pid=$!
i=0
while ! grep -q '^listening on ' coll.out 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "FAIL collector did not start: $(cat coll.err)"
		exit 1
	fi
	sleep 0.1
done
url=$(sed -n 's/^listening on //p' coll.out)
"$harness" export --store h.db "$run" --to "$url" --batch 50 >post.out \
	2>post.err || bad "export --to: exit $?: $(cat post.err)"
want=$(( (nspans + 49) / 50 ))
grep -q "^exported $nspans spans in $want requests to $url\$" post.err ||
	bad "export --to said: $(cat post.err)"
[ -s post.out ] && bad "export --to wrote to stdout: $(head -c 200 post.out)"
kill -TERM "$pid"
wait "$pid"
status=$?
pid=
[ $status -eq 0 ] || bad "collect exited $status: $(cat coll.err)"
grep -q "$want requests, $nspans spans written, 0 rejected" coll.err ||
	bad "collector summary: $(cat coll.err)"
"$harness" ingest --store other.db spool >ingest.out 2>&1 ||
	bad "ingest: exit $?: $(cat ingest.out)"
"$dump" other.db 0 | sort >got.txt || bad "dump of other.db"
if ! cmp -s sent.txt got.txt; then
	bad "spans differ after the round trip:"
	diff sent.txt got.txt | head -10
fi
say "export --to: $nspans spans in $want requests arrived unchanged"

# The collector is gone: nothing listens on its port any more.
"$harness" export --store h.db "$run" --to "$url" >out.txt 2>err.txt
status=$?
[ $status -eq 70 ] || bad "--to a closed port: exit $status, want 70"
grep -q "^harness: error: cannot POST to '$url': .*" err.txt ||
	bad "--to a closed port said: $(cat err.txt)"
grep -q "^exported" err.txt && bad "claims an export: $(cat err.txt)"
say "--to where nothing listens: exit 70, $(cut -c1-60 err.txt)..."

# An unknown run, and --to with another format.
"$harness" export --store h.db 999 --format otlp-json -o x.json \
	>out.txt 2>err.txt
status=$?
[ $status -eq 65 ] || bad "unknown run: exit $status, want 65"
grep -q "no run 999" err.txt || bad "unknown run said: $(cat err.txt)"
[ -e x.json ] && bad "unknown run left x.json"
"$harness" export --store h.db 999 --to "$url" >out.txt 2>err.txt
[ $? -eq 65 ] || bad "unknown run with --to: want 65"
grep -q "no run 999" err.txt || bad "unknown run --to said: $(cat err.txt)"
"$harness" export --store h.db "$run" --format chrome --to "$url" \
	>out.txt 2>err.txt
[ $? -eq 64 ] || bad "--to with --format chrome: want 64"
grep -q "otlp-json" err.txt || bad "--to --format chrome said: $(cat err.txt)"
"$harness" export --store h.db "$run" --to "$url" --batch 0 \
	>out.txt 2>err.txt
[ $? -eq 64 ] || bad "--batch 0: want 64"
say "unknown run: 65; bad options: usage errors"

exit $fail
