#!/bin/sh
# gate-templates.sh: the CI templates of the gate are valid YAML with the
# shape their runners need (GitHub Actions workflow; Zuul job and its
# playbooks, whose paths exist), and ci/gate.sh is shellcheck clean.
set -u
src=${HARNESS_SOURCE_ROOT:?}
py=/usr/bin/python3
fail=0

if ! "$py" -c 'import yaml' 2>/dev/null; then
	echo "SKIP $py has no yaml module (python3-yaml)"
	exit 77
fi

"$py" - "$src" <<'EOF' || fail=1
import os
import sys

import yaml

src = sys.argv[1]
failed = False


def check(what, cond):
    global failed
    print(("ok   " if cond else "FAIL ") + what)
    failed = failed or not cond


def load(rel):
    with open(os.path.join(src, rel)) as f:
        return yaml.safe_load(f)


# GitHub Actions. PyYAML reads the key `on` as the boolean True.
wf = load("ci/github-actions.yml")
on = wf.get("on", wf.get(True))
check("actions: runs on pull_request", isinstance(on, dict) and
      "pull_request" in on)
jobs = wf.get("jobs") or {}
check("actions: one job", len(jobs) == 1)
steps = next(iter(jobs.values())).get("steps", []) if jobs else []
uses = [s.get("uses", "") for s in steps]
runs = "\n".join(s.get("run", "") for s in steps)
co = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
check("actions: checkout with fetch-depth 0",
      len(co) == 1 and co[0].get("with", {}).get("fetch-depth") == 0)
check("actions: bootstrap with sudo", "sudo sh ci/bootstrap.sh" in runs)
check("actions: runs ci/gate.sh --out-dir gate-report",
      "ci/gate.sh" in runs and "--out-dir gate-report" in runs)
check("actions: Markdown into the step summary",
      "GITHUB_STEP_SUMMARY" in runs and "gate-report/*.md" in runs)
up = [s for s in steps
      if s.get("uses", "").startswith("actions/upload-artifact@")]
check("actions: uploads the HTML report, always",
      len(up) == 1 and "*.html" in up[0].get("with", {}).get("path", "")
      and "always()" in str(up[0].get("if", "")))
last = steps[-1] if steps else {}
check("actions: the last step exits with the gate's code, always",
      "always()" in str(last.get("if", "")) and "exit" in
      last.get("run", "") and "status" in str(last.get("env", "")))
gate_step = [s for s in steps if "ci/gate.sh" in s.get("run", "")]
check("actions: the gate step itself does not fail the job early",
      len(gate_step) == 1 and "|| status=$?" in gate_step[0]["run"])

# Zuul: a list with the job, and playbooks that exist.
z = load("ci/zuul/jobs.yaml")
zjobs = [d["job"] for d in z if isinstance(d, dict) and "job" in d]
job = next((j for j in zjobs if j.get("name") == "harness-gate"), None)
check("zuul: job harness-gate", job is not None)
job = job or {}
check("zuul: parent base, a nodeset", job.get("parent") == "base" and
      bool(job.get("nodeset")))
for key in ("run", "post-run"):
    path = job.get(key, "")
    check("zuul: %s playbook %s exists" % (key, path),
          bool(path) and os.path.isfile(os.path.join(src, path)))
v = job.get("vars", {})
check("zuul: vars for scenario and rounds",
      "harness_gate_scenario" in v and "harness_gate_rounds" in v)


def tasks(rel):
    plays = load(rel) if rel and os.path.isfile(os.path.join(src, rel)) \
        else []
    check("zuul: %s is a list of plays with hosts and tasks" % rel,
          isinstance(plays, list) and len(plays) > 0 and
          all("hosts" in p and "tasks" in p for p in plays))
    return [t for p in plays or [] for t in p.get("tasks", [])]


run = tasks(job.get("run"))
text = yaml.safe_dump(run)
check("zuul: run installs packages and runs ci/gate.sh in src_dir",
      "ci/bootstrap.sh" in text and "ci/gate.sh" in text and
      "zuul.project.src_dir" in text)
for name in ("harness_gate_scenario", "harness_gate_rounds",
             "harness_gate_out", "harness_gate_base"):
    check("zuul: run uses %s" % name, name in text)
post = yaml.safe_dump(tasks(job.get("post-run")))
check("zuul: run passes the out dir as --out-dir", "--out-dir" in text)
check("zuul: post fetches the out dir into zuul.executor.log_root",
      "zuul.executor.log_root" in post and "harness_gate_out" in post)

sys.exit(1 if failed else 0)
EOF

if command -v shellcheck >/dev/null 2>&1; then
	if shellcheck "$src/ci/gate.sh"; then
		echo "ok   shellcheck ci/gate.sh"
	else
		echo "FAIL shellcheck ci/gate.sh"
		fail=1
	fi
else
	echo "note: no shellcheck, ci/gate.sh not checked"
fi

# Usage errors before anything is touched.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/harness-gate-templates.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
expect_exit() {
	want=$1
	shift
	rc=0
	(cd "$tmp" && sh "$src/ci/gate.sh" "$@") >"$tmp/out" 2>&1 \
		</dev/null || rc=$?
	if [ "$rc" -eq "$want" ]; then
		echo "ok   gate.sh $*: exit $want"
	else
		echo "FAIL gate.sh $*: exit $rc, want $want"
		cat "$tmp/out"
		fail=1
	fi
}
expect_exit 0 --help
expect_exit 64 --rounds x
expect_exit 64 --no-such-option
expect_exit 64 --out-dir
# A usage error is one line pointing at --help, not the whole help.
expect_exit 64 --rounds 0
[ "$(wc -l <"$tmp/out")" -eq 1 ] &&
	grep -q "^gate: bad --rounds '0': want 1 or more; see 'ci/gate.sh --help'$" \
		"$tmp/out" ||
	{ echo "FAIL usage error is not one line:"; cat "$tmp/out"; fail=1; }
# Not a git checkout.
expect_exit 64 --base main
grep -q 'not inside a git checkout' "$tmp/out" ||
	{ echo "FAIL no message for a directory outside git"; fail=1; }

exit "$fail"
