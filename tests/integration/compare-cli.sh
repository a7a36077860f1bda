#!/bin/sh
# compare-cli.sh: `harness compare` on a synthetic store: exit codes per
# case (pass, regression, count, limit, not comparable, inconclusive,
# machine-wide shift, usage), runs found by git revision and merge-base in
# a temp repository, and the outputs: JSON checked against the documented
# schema, JUnit well-formed with one test case per gate (skipped when
# inconclusive or machine-wide), Markdown's summary and table; every
# output says what the noise was.
#
# usage: compare-cli.sh HARNESS COMPARE-MKSTORE
set -u
harness=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkstore=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
failed_here=0
say() { [ "$failed_here" -eq 0 ] && echo "ok   $*"; failed_here=0; }
bad() { echo "FAIL $*"; fail=1; failed_here=1; }

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
export GIT_CONFIG_NOSYSTEM=1 HOME="$tmp"
git init -q -b main repo && cd repo &&
	echo a >f && git add f && git commit -q -m A &&
	git checkout -q -b feature && echo b >f && git commit -q -am B &&
	git checkout -q main && echo c >g && git add g && git commit -q -m C &&
	cd .. || exit 1
sha_a=$(git -C repo rev-parse main~1)
sha_b=$(git -C repo rev-parse feature)

cat >harness.yaml <<'YAML'
version: 1
store: h.db
manage: false
projects:
  - name: proj
    path: repo
YAML
for s in syn other; do
	cat >$s.yaml <<YAML
name: $s
steps:
  - sleep: {name: all, duration: 1ms}
gates:
  - "failure_rate < 1%"
YAML
done
export HARNESS_CONFIG="$tmp/harness.yaml"
hash=$("$harness" config check | sed -n 's/^# hash: //p')
[ -n "$hash" ] || { echo "FAIL no config hash"; exit 1; }
"$mkstore" h.db "$hash" proj "$sha_a" "$sha_b" || exit 1

# expect CODE NAME ARGS...: run harness compare, keep stdout in out.txt.
expect() {
	want=$1 name=$2
	shift 2
	"$harness" compare "$@" >out.txt 2>err.txt
	rc=$?
	[ "$rc" -eq "$want" ] ||
		bad "$name: exit $rc, want $want: $(cat err.txt out.txt)"
}

expect 0 "A/A" 1 2
grep -q "verdict: pass" out.txt || bad "A/A: no pass verdict"
say "A/A passes"

expect 1 "iteration regression" 1 3
grep -q "verdict: regression" out.txt || bad "regression: verdict line"
grep -q "op(svc4, func, op19)" out.txt || bad "regression: op19 not named"
grep -q "critical path of" out.txt || bad "regression: no causes"
grep -q "^op(svc4, func, op19) .*  REGRESSION, cause, critical path$" out.txt ||
	bad "regression: op19 not labelled a cause of the gate"
grep -q "^noise: spread of an operation within a run ±[0-9.]*% in base" \
	out.txt || bad "regression: no noise line"
grep -q "^drift: machine factor (head against base) [-+]" out.txt ||
	bad "regression: no drift line"
say "a slower iteration is a regression that names its cause, and the noise"

expect 1 "count" 1 4
grep -q "FAIL          count: 1 operation made more calls" out.txt ||
	bad "count: no failed count gate"
grep -q "op(svc2, func, op07) count" out.txt || bad "count: op07 row"
say "one more call per iteration is a regression"

expect 2 "limit" 1 5
grep -q "failure_rate = 15%, limit < 1%: FAIL" out.txt ||
	bad "limit: gate line"
say "failed iterations break the absolute gate"

expect 65 "mismatch" 1 6
grep -q "not comparable" err.txt || bad "mismatch: message"
expect 0 "forced" --force 1 6
grep -q "^WARNING: forced comparison" out.txt || bad "forced: no warning"
say "other scenarios are refused unless forced"

expect 3 "inconclusive" 7 8
grep -q "verdict: inconclusive" out.txt || bad "inconclusive: verdict"
grep -q "^  inconclusive  critical-path: " out.txt ||
	bad "inconclusive: gate not printed as inconclusive"
grep -q "^  pass .*inconclusive" out.txt && bad "inconclusive: a gate reads pass"
grep -q "^why: widest interval: op(.*iterations per run would settle it" \
	out.txt || bad "inconclusive: no why line"
expect 0 "inconclusive ok" --no-baseline-ok 7 8
say "too few iterations are inconclusive, and say why"
expect 3 "inconclusive junit" --format junit 7 8
$py - out.txt <<'PY' || bad "inconclusive: junit"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = {c.get("name"): c for c in root.findall("./testsuite/testcase")}
assert root.find("./testsuite/testcase/failure") is None
gate = cases["regression: critical-path"].find("skipped")
assert gate is not None and "inconclusive" in gate.get("message"), gate
why = cases["verdict"].find("skipped").get("message")
assert why.startswith("inconclusive: ") and "widest interval" in why, why
assert root.get("skipped") == "2" and root.get("tests") == "4"
props = {p.get("name"): p.get("value")
         for p in root.findall("./testsuite/properties/property")}
assert props["status"] == "inconclusive" and props["exit_code"] == "3"
assert props["noise"].startswith("noise: spread"), props
PY
expect 3 "inconclusive markdown" --format markdown 7 8
grep -q '^| `regression: critical-path` | inconclusive ' out.txt ||
	bad "inconclusive: markdown gate"
grep -q '^\*\*Why:\*\* widest interval' out.txt || bad "inconclusive: markdown why"
grep -q '^- noise: spread' out.txt || bad "inconclusive: markdown noise"
say "JUnit skips an inconclusive gate and verdict; Markdown says inconclusive"

# Every operation of every service 30% slower (run 11): the machine.
expect 4 "machine" 1 11
grep -q "^verdict: machine: machine-wide slowdown" out.txt ||
	bad "machine: verdict line"
grep -q "^machine-wide shift: every operation +[0-9.]*% \[.*\], 20 of 20 operations slower, 5 of 5 services" \
	out.txt || bad "machine: evidence"
grep -q "^  machine       critical-path: " out.txt || bad "machine: gate word"
expect 4 "machine json" --format json 1 11
$py - out.txt <<'PY' || bad "machine: json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "machine" and d["exit_code"] == 4, d["status"]
m = d["comparison"]["machine"]
assert m["shifted"] and m["operations"] == 20 and m["slower"] == 20, m
assert m["services"] == 5 and m["services_with"] == 5, m
assert 0.25 < m["factor"]["rel_shift"] < 0.35, m["factor"]
assert m["text"].startswith("machine-wide shift: "), m["text"]
assert d["comparison"]["verdict"] == "machine"
assert [g["result"] for g in d["gates"]] == ["pass", "machine", "pass"]
PY
expect 4 "machine junit" --format junit 1 11
$py - out.txt <<'PY' || bad "machine: junit"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = {c.get("name"): c for c in root.findall("./testsuite/testcase")}
assert root.get("failures") == "0"
assert cases["regression: critical-path"].find("skipped") is not None
assert cases["regression: count"].find("skipped") is None
assert cases["verdict"].find("skipped").get("message").startswith(
    "machine-wide shift: every operation +")
PY
expect 4 "machine markdown" --format markdown 1 11
head -1 out.txt | grep -q '^\*\*harness syn: ⚠️ machine-wide shift\*\*' ||
	bad "machine: markdown summary: $(head -1 out.txt)"
say "a machine-wide shift exits 4 and says so with its evidence"

expect 0 "alpha override" --alpha 1% --min-effect 50% 1 3
say "--alpha and --min-effect override the scenario"
expect 1 "metric override" --metric "op(svc4, func, op19)" \
	--min-effect 50% 1 3
say "--metric gates on an operation"

# Revisions: main~1 is A (runs 1, 2), feature is B (runs 3, 9, 10); the
# merge-base of feature and main is A, whose newest run is 2.
expect 1 "revisions" main~1 feature
grep -q "^base: run 2 " out.txt || bad "revisions: base is not run 2"
grep -q "^head: run 10 " out.txt || bad "revisions: head is not run 10"
expect 1 "baseline ref" --baseline main feature
grep -q "^base: run 2 " out.txt || bad "baseline: base is not run 2"
expect 1 "baseline with a run id" --baseline main 3
grep -q "^base: run 2 " out.txt || bad "baseline run: base is not run 2"
say "revisions and --baseline resolve through git"
expect 3 "no baseline" main 3
grep -q "no baseline" err.txt || bad "no baseline: warning"
grep -q "verdict: no-baseline" out.txt || bad "no baseline: verdict"
expect 0 "no baseline ok" --no-baseline-ok main 3
say "no run at the base commit: no baseline (3, or 0 when allowed)"

# Several runs per side: lists of run ids, pooled.
short_a=$(echo "$sha_a" | cut -c1-8)
expect 1 "lists" 1,2 3,9,10
grep -q "^base: runs 1, 2 pooled (syn; proj $short_a)" out.txt ||
	bad "lists: base line: $(grep '^base' out.txt)"
grep -q "^head: runs 3, 9, 10 pooled (syn; proj " out.txt ||
	bad "lists: head line: $(grep '^head' out.txt)"
grep -q "^base: 40 iterations counted" out.txt ||
	bad "lists: base iterations: $(grep '^base: [0-9]' out.txt)"
grep -q "^head: 60 iterations counted" out.txt ||
	bad "lists: head iterations: $(grep '^head: [0-9]' out.txt)"
grep -q "op(svc4, func, op19)" out.txt || bad "lists: op19 not named"
say "a list of runs per side is pooled and shown"
expect 0 "lists A/A" 1,2 1,2 --no-baseline-ok
grep -q "run 1 is in both" err.txt || bad "lists A/A: no warning"
expect 1 "lists json" --format json 1,2 3,9,10
$py -c 'import json,sys; d=json.load(open("out.txt")); assert d["base"]["runs"]==[1,2] and d["head"]["runs"]==[3,9,10] and d["base"]["id"]==1 and d["head"]["iterations"]["counted"]==60, (d["base"]["runs"], d["head"]["runs"])' ||
	bad "lists: json runs"
expect 1 "lists markdown" --format markdown 1,2 3,9,10
grep -q "^- head: runs 3, 9, 10 pooled" out.txt || bad "lists: markdown"
expect 1 "lists junit" --format junit 1,2 3,9,10
grep -q 'name="base" value="runs 1, 2 pooled' out.txt || bad "lists: junit"
say "JSON, Markdown and JUnit name every run of a side"
expect 1 "all runs" --all-runs main~1 feature
grep -q "^base: runs 1, 2 pooled" out.txt ||
	bad "all runs: base: $(grep '^base' out.txt)"
grep -q "^head: runs 3, 9, 10 pooled" out.txt ||
	bad "all runs: head: $(grep '^head' out.txt)"
expect 1 "all runs, baseline" --all-runs --baseline main feature
grep -q "^base: runs 1, 2 pooled" out.txt || bad "all runs: baseline"
expect 1 "mixed list" 1,main~1 3,feature
grep -q "^base: runs 1, 2 pooled" out.txt || bad "mixed: base"
grep -q "^head: runs 3, 10 pooled" out.txt || bad "mixed: head"
expect 1 "list with no run at a revision" 1,main 3
grep -q "left out of the base" err.txt || bad "left out: warning"
grep -q "^base: run 1 " out.txt || bad "left out: base is not run 1"
say "--all-runs: a revision stands for every run at its commit"
expect 65 "list mismatch" 1,6 3
grep -q "runs 1 and 6 of the base are not comparable" err.txt ||
	bad "list mismatch: $(cat err.txt)"
expect 65 "list mismatch head" 1 3,6
grep -q "of the head are not comparable" err.txt ||
	bad "list mismatch head: $(cat err.txt)"
expect 1 "list mismatch forced" --force 1,6 3,9
grep -q "^WARNING: forced comparison of different runs in the base" \
	out.txt || bad "list forced: no warning"
expect 64 "empty list item" 1,,2 3
expect 64 "trailing comma" 1, 3
say "the runs of a side must be alike; bad lists are usage errors"

expect 64 "no arguments"
expect 64 "one argument" 1
expect 64 "bad format" --format xml 1 2
expect 64 "bad alpha" --alpha 2 1 2
expect 64 "unknown option" --frobnicate 1 2
say "usage errors exit 64"

# A run id that is not in the store is no such run (65), on either side
# and in a list, said as such; so is a name that is neither a run nor a
# revision.
expect 65 "no run 99" 1 99
grep -q "^harness: error: no run 99 in '.*h.db'" err.txt ||
	bad "no run 99 said: $(cat err.txt)"
grep -q "ambiguous" err.txt && bad "no run 99 said ambiguous"
expect 65 "no base run 99" 99 1
grep -q "no run 99 in" err.txt || bad "no base run 99 said: $(cat err.txt)"
expect 65 "no run 99 in a list" 1 3,99
grep -q "no run 99 in" err.txt || bad "list 99 said: $(cat err.txt)"
expect 65 "unknown revision" 1 nope
grep -q "'nope' is neither a run id nor a revision of project 'proj'" \
	err.txt || bad "unknown revision said: $(cat err.txt)"
say "no such run or revision exits 65 and says so"

# Outputs.
expect 1 "out dir" --format terminal,markdown,json,junit,html --out-dir rep \
	1 3
for f in compare.md compare.json compare.xml compare.html; do
	[ -s "rep/$f" ] || bad "out dir: no $f"
done
grep -q "verdict: regression" out.txt || bad "out dir: terminal not on stdout"
# The old name of --out-dir still works, and says it is old.
expect 1 "old --out" --format markdown --out rep-old 1 3
[ -s rep-old/compare.md ] || bad "old --out: no compare.md"
grep -q "warning: '--out' is an old name of '--out-dir'" err.txt ||
	bad "old --out: no warning: $(cat err.txt)"
grep -q "op19" rep/compare.html || bad "html: op19 not in the report"
$py - rep/compare.json <<'PY' || bad "json does not match its schema"
import json, sys
doc = json.load(open(sys.argv[1]))
def need(obj, fields, where):
    for name, types in fields.items():
        if name not in obj:
            sys.exit("%s: no field %s" % (where, name))
        if not isinstance(obj[name], types):
            sys.exit("%s.%s: %r" % (where, name, obj[name]))
num = (int, float)
opt_num = (int, float, type(None))
opt_str = (str, type(None))
need(doc, {"schema": str, "version": int, "status": str, "exit_code": int,
           "summary": str, "forced": opt_str, "settings": dict,
           "base": (dict, type(None)), "head": dict,
           "comparison": (dict, type(None)), "gates": list}, "doc")
assert doc["schema"] == "harness.compare" and doc["version"] == 1
assert doc["status"] == "regression" and doc["exit_code"] == 1
need(doc["settings"], {"alpha": num, "min_effect": num, "metrics": list,
                       "fail_on_count_increase": bool,
                       "no_baseline_ok": bool}, "settings")
for side in ("base", "head"):
    r = doc[side]
    need(r, {"id": int, "scenario": str, "label": opt_str,
             "config_hash": str, "host": opt_str, "start_ns": int,
             "end_ns": int, "status": str, "commits": list,
             "iterations": dict, "spans": int}, side)
    need(r["iterations"], {k: int for k in ("measured", "counted", "failed",
                           "warmup", "without_spans")}, side + ".iterations")
    for c in r["commits"]:
        need(c, {"repo": str, "sha": str, "branch": opt_str, "dirty": bool,
                 "subject": opt_str}, side + ".commits")
assert doc["base"]["id"] == 1 and doc["head"]["id"] == 3
cmp = doc["comparison"]
need(cmp, {"verdict": str, "reason": opt_str, "findings": int,
           "iterations_needed": (int, type(None)), "rows": list,
           "causes": list, "inconclusive_reason": opt_str, "level": num,
           "noise": dict, "machine": dict, "work": (dict, type(None)),
           "threshold_ns": num, "widest": (int, type(None)),
           "consequences": int}, "comparison")
need(cmp["noise"], {"rounds": list, "op_spread": num, "drift": num,
                    "text": str, "drift_text": opt_str}, "noise")
assert len(cmp["noise"]["rounds"]) == 1
for b in cmp["noise"]["rounds"]:
    need(b, {k: num for k in ("base_spread", "head_spread",
             "machine_log_shift", "machine_rel_shift")}, "noise.rounds")
need(cmp["machine"], {"factor": (dict, type(None)), "operations": int,
                      "slower": int, "faster": int, "services": int,
                      "services_with": int, "sign_p": num, "shifted": bool,
                      "text": opt_str}, "machine")
assert not cmp["machine"]["shifted"] and cmp["machine"]["text"] is None
op19 = [r for r in cmp["rows"] if r["label"] == "op(svc4, func, op19)"][0]
assert op19["role"] == "cause" and op19["gated_crit"], op19
for r in cmp["rows"]:
    need(r, {"label": str, "service": str, "kind": str, "name": str,
             "measure": str, "unit": str, "base": dict, "head": dict,
             "exact": bool, "p": opt_num, "q": opt_num, "shift": opt_num,
             "ci": (list, type(None)), "confidence": opt_num,
             "rel_shift": opt_num, "rel_ci": (list, type(None)),
             "finding": bool, "regression": bool, "improvement": bool,
             "gated": bool, "inconclusive": bool,
             "iterations_needed": (int, type(None)),
             "role": opt_str, "self": (dict, type(None)),
             "crit": (dict, type(None)), "gated_crit": bool}, "row")
    assert r["role"] in (None, "cause", "consequence"), r["role"]
    for e in ("self", "crit"):
        if r[e] is not None:
            need(r[e], {"log_shift": opt_num, "log_ci": list, "se": opt_num,
                        "p": opt_num, "q": opt_num,
                        "raw_log_shift": opt_num, "rel_shift": opt_num,
                        "rel_ci": list, "shift": opt_num, "ci": list},
                 "row." + e)
    if r["measure"] == "count":
        assert r["self"] is None and r["crit"] is None
    assert r["measure"] in ("time", "count") and r["unit"] in ("ns", "count")
    for s in ("base", "head"):
        need(r[s], {"n": int, "present": bool, "median": opt_num}, "row." + s)
found = [r["label"] for r in cmp["rows"] if r["finding"]]
assert "op(svc4, func, op19)" in found and "iteration" in found, found
for c in cmp["causes"]:
    need(c, {"row": int, "label": str, "shift_ns": opt_num, "ci_ns": list,
             "confidence": opt_num, "share": opt_num}, "cause")
    assert cmp["rows"][c["row"]]["label"] == c["label"]
assert cmp["causes"][0]["label"] == "op(svc4, func, op19)"
for g in doc["gates"]:
    need(g, {"type": str, "name": str, "pass": bool, "missing": bool,
             "observed": opt_num, "limit": opt_num, "unit": str,
             "row": (int, type(None)), "message": str,
             "inconclusive": bool, "result": str}, "gate")
    assert g["result"] in ("pass", "FAIL", "inconclusive", "machine")
    assert g["type"] in ("absolute", "regression")
    assert g["unit"] in ("ns", "count", "fraction")
assert [g["name"] for g in doc["gates"]] == [
    "failure_rate < 1%", "regression: critical-path", "regression: count"]
assert [g["pass"] for g in doc["gates"]] == [True, False, True]
PY
$py - rep/compare.xml <<'PY' || bad "junit"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
cases = root.findall("./testsuite/testcase")
assert [c.get("name") for c in cases] == [
    "failure_rate < 1%", "regression: critical-path", "regression: count"]
failed = [c.get("name") for c in cases if c.find("failure") is not None]
assert failed == ["regression: critical-path"], failed
assert "REGRESSION" in cases[1].find("failure").get("message")
assert root.get("tests") == "3" and root.get("failures") == "1"
PY
head -1 rep/compare.md | grep -q '^\*\*harness syn: .* regression\*\* — iteration .* → .*, +[0-9.]*% \[' ||
	bad "markdown summary line: $(head -1 rep/compare.md)"
grep -q '^| operation | base → head | change \[interval\] | p (q) | role |$' rep/compare.md ||
	bad "markdown: no findings table"
grep -q '^| `op(svc4, func, op19)` | .* | \*\*REGRESSION, cause, critical path\*\*: critical path +' rep/compare.md ||
	bad "markdown: op19 row with its cause"
grep -q '^- noise: spread of an operation' rep/compare.md ||
	bad "markdown: no noise line"
grep -q '^- drift: machine factor' rep/compare.md ||
	bad "markdown: no drift line"
grep -q 'class="noise">noise: spread of an operation' rep/compare.html ||
	bad "html: no noise line"
grep -q '<h2 id="gates">Gates</h2>' rep/compare.html || bad "html: no gates"
grep -q '^<details><summary>' rep/compare.md || bad "markdown: no details"
say "JSON matches its schema, JUnit has a test case per gate, Markdown"

# JSON and JUnit of a limit broken (exit 2) go to stdout.
expect 2 "json stdout" --format json 1 5
$py -c 'import json,sys; d=json.load(open("out.txt")); assert d["status"]=="limit" and d["exit_code"]==2' ||
	bad "json on stdout"
expect 2 "junit stdout" --format junit 1 5
$py -c 'import xml.etree.ElementTree as E; r=E.parse("out.txt").getroot(); assert r.find("./testsuite/testcase/failure").get("type")=="limit"' ||
	bad "junit on stdout"
say "single formats on stdout"

exit $fail
