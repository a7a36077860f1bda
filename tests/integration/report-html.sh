#!/bin/sh
# report-html.sh: `harness report` over a store made by report-fixture:
# the HTML page is well-formed, holds the summary, the charts as inline
# SVG (PNGs beside it) and the waterfall, references nothing outside
# itself, renders in headless Chromium without console errors, and is
# still written, with a warning, when gnuplot is not on PATH. Also the
# text and JSON reports and the usage errors.
# usage: report-html.sh HARNESS REPORT-FIXTURE REPORT-CHECK.PY
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
mkdir out

# With gnuplot: three charts inline, PNGs beside the page.
"$harness" report --store h.db -o out/report.html "$run" 2>err.txt ||
	bad "report: exit $?: $(cat err.txt)"
$py "$check" html out/report.html >check.txt || bad "html check: $(cat check.txt)"
grep -q "html ok: .* 3 <svg>" check.txt || bad "want 3 charts: $(cat check.txt)"
for c in cdf drift throughput; do
	[ -s out/report-$c.png ] || bad "no out/report-$c.png"
	head -c 8 out/report-$c.png | grep -q PNG || bad "$c: not a PNG"
done
[ "$(ls out | wc -l)" -eq 4 ] || bad "stray files: $(ls out)"
for text in '<h1>boot-vm-report <small>run 1</small>' \
	'Over 10 counted iterations the median took 74.50ms' \
	'Where the time went' 'Iteration latency (CDF)' \
	'Iteration duration over the run' 'Throughput over time' \
	'The median iteration' '1a2b3c4d5e6f' 'Cache host states &lt;fast&gt;' \
	'expected 202, got 500' 'scheduler.so+0x1a2b filter_hosts' \
	'SELECT * FROM hosts WHERE free_ram &gt; ? AND &quot;zone&quot;' \
	'<span class="k">spans dropped</span><span class="v">3</span>' \
	'<span class="k">failed</span><span class="v">1</span>'; do
	grep -qF "$text" out/report.html || bad "page lacks: $text"
done
# The waterfall's iteration: the lower median of the nine counted
# iterations that succeeded.
grep -q 'Iteration 10 took 74.00ms' out/report.html || bad "median iteration"
[ "$(grep -c '<details class="span' out/report.html)" -eq 30 ] ||
	bad "waterfall: one row per span of the median trace"
if grep -nE 'https?://|//cdn|@import|<link |<img |src=' out/report.html; then
	bad "page references something outside itself"
fi
say "html report"

# The checker itself fails on a broken page.
printf '<!DOCTYPE html><html><head><title>x</title></head><body><div><p>x</div><img src="http://example.org/x.png"></body></html>\n' >broken.html
$py "$check" html broken.html >/dev/null && bad "checker accepts a broken page"
say "checker rejects bad pages"

# Headless Chromium: it renders, the script ran (its buttons are in the
# DOM), nothing went wrong on the console, a screenshot is made.
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chromium" ]; then
	profile=$(mktemp -d)
	flags="--headless --no-sandbox --disable-gpu --disable-quic \
--no-first-run --disable-background-networking --disable-component-update \
--disable-sync --user-data-dir=$profile"
	# shellcheck disable=SC2086
	timeout 60 "$chromium" $flags --enable-logging=stderr --v=0 \
		--dump-dom "file://$tmp/out/report.html" >dom.html 2>chrome.txt ||
		bad "chromium --dump-dom: exit $?"
	grep -q '<h1>boot-vm-report' dom.html || bad "dom lacks the scenario"
	grep -q '<button type="button">Open all</button>' dom.html ||
		bad "the page's script did not run"
	if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE.*[Ee]rror' chrome.txt; then
		bad "console errors"
	fi
	# shellcheck disable=SC2086
	timeout 60 "$chromium" $flags --screenshot="$tmp/shot.png" \
		--window-size=1280,2000 "file://$tmp/out/report.html" \
		>/dev/null 2>&1 || bad "chromium --screenshot: exit $?"
	[ "$(wc -c <shot.png)" -gt 20000 ] || bad "screenshot missing or blank"
	rm -rf "$profile"
	say "rendered in headless chromium"
else
	echo "skip chromium: not installed (ci/bootstrap.sh installs it)"
fi

# Without gnuplot on PATH: written, no charts, a warning saying how.
env PATH=/nonexistent "$harness" report --store h.db -o nogp.html "$run" \
	2>err.txt || bad "report without gnuplot: exit $?"
grep -q "gnuplot not found on PATH.*apt-get install gnuplot-nox" err.txt ||
	bad "no warning: $(cat err.txt)"
grep -q 'class="warning">gnuplot not found' nogp.html ||
	bad "the page does not say why it has no charts"
grep -q '<svg' nogp.html && bad "charts without gnuplot"
$py "$check" html nogp.html >/dev/null || bad "html check without gnuplot"
ls nogp-*.png >/dev/null 2>&1 && bad "PNGs without gnuplot"
grep -q 'The median iteration' nogp.html || bad "no waterfall"
say "no gnuplot"

# The default output name; text and JSON.
"$harness" report --store h.db latest 2>err.txt ||
	bad "default output: exit $?"
[ -s "report-$run.html" ] && grep -q "wrote report-$run.html" err.txt ||
	bad "default output name"
"$harness" report --store h.db --format text "$run" >r.txt 2>err.txt ||
	bad "text: exit $?"
grep -q '^run 1: boot-vm-report fixture, failed' r.txt &&
	grep -q 'top operations by critical-path time' r.txt ||
	bad "text report: $(head -3 r.txt)"
"$harness" report --store h.db --format json -o r.json "$run" ||
	bad "json: exit $?"
$py - r.json <<'PY' || bad "json report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["scenario"] == "boot-vm-report" and r["runner"] == "rate"
assert r["iteration_count"] == 12 and r["failed_count"] == 1
assert r["warmup_count"] == 2 and r["median_iteration"] == 10
ops = r["operations"]
assert ops[0]["critical_ns"] >= ops[-1]["critical_ns"]
# Critical times partition the iteration: their sum is its mean.
total = sum(o["critical_ns"] for o in ops)
it = [i["duration_ns"] for i in r["iterations"] if not i["warmup"]]
assert abs(total - sum(it) / len(it)) < 1, (total, sum(it) / len(it))
PY
say "text and json"

# The trace's own page.
"$harness" trace show --store h.db --format html -o t.html a505 ||
	bad "trace html: exit $?"
$py "$check" html t.html >/dev/null || bad "trace html check"
[ "$(grep -c '<details class="span' t.html)" -eq 30 ] || bad "trace rows"
grep -q '<details class="span err"' t.html || bad "errors marked"
say "trace html"

"$harness" report --store h.db 77 >/dev/null 2>err.txt
[ $? -eq 65 ] || bad "missing run: want 65"
grep -q "no run 77 in '.*h.db'; 'harness runs' lists the runs" err.txt ||
	bad "missing run said: $(cat err.txt)"
"$harness" report --store h.db x >/dev/null 2>&1
[ $? -eq 64 ] || bad "run 'x': want 64"
"$harness" report --store h.db --format dot "$run" >/dev/null 2>&1
[ $? -eq 64 ] || bad "unknown format"
"$harness" report --store h.db >/dev/null 2>&1
[ $? -eq 64 ] || bad "no run"
say "usage errors"
exit $fail
