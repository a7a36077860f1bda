#!/bin/sh
# report-compare.sh: the HTML page of `harness compare` on the reference
# stack. Two small boot-vm runs with one config whose scheduler reads a
# knob file (REFSTACK_KNOBS): the base with no knob, the head with
# REFSTACK_SLOW=scheduler.select_destinations=30ms. The page must be
# well-formed and self-contained; its DOM (as written, and as headless
# Chromium builds it) must hold a table with real cells (no markup shown
# as text), the CDF of base and head on one chart, the change chart, the
# flame graph inlined, two waterfalls side by side, and a headline that
# says head is slower and names select_destinations; Chromium must render
# it without console errors. Without gnuplot the page is still written.
# REPORT_KEEP_SHOT=FILE.png keeps the screenshot to look at.
# Arguments: the harness binary, the harness-refstack binary (built
# first), report-check.py.
# shellcheck disable=SC2015
name=report-compare
# shellcheck source=run-lib.sh
. "${HARNESS_SOURCE_ROOT:?}/tests/integration/run-lib.sh"
check=$3
py=/usr/bin/python3
[ -x "$py" ] || { echo "SKIP no $py"; exit 77; }

make_repo clean || exit 1
make_config || exit 1
awk '{ print }
/^  - name: scheduler$/ {
	print "    env:"
	print "      REFSTACK_KNOBS: \"{{dir}}/knobs\""
}' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg" || exit 1
grep -q 'REFSTACK_KNOBS' "$cfg" || { echo "FAIL no knob env"; exit 1; }
sed -e 's/^\( *interval:\) 20ms$/\1 5ms/' \
	"$src/scenarios/boot-vm.yaml" >"$tmp/boot-vm.yaml" || exit 1

# run LABEL KNOBS: one small boot-vm run on fresh service databases.
run() {
	rm -rf "$tmp/.harness/refstack" &&
		printf '%s\n' "$2" >"$tmp/knobs" &&
		"$harness" run boot-vm -c "$cfg" --iterations 12 \
			--concurrency 1 --warmup 1 --label "$1" >"$out" 2>&1
	check_exit "run $1" 0 $?
}
page=$tmp/report/compare.html
# pair N: a base and a head run and the page comparing them; the DOM
# check's exit is in $checked.
pair() {
	run "base$1" '# no knobs'
	run "head$1" 'REFSTACK_SLOW=scheduler.select_destinations=30ms'
	last=$(q "SELECT max(id) FROM runs")
	rm -rf "$tmp/report"
	"$harness" compare --config "$cfg" --no-scenario --format html \
		--out-dir "$tmp/report" --flame "$tmp/report/flame.svg" \
		$((last - 1)) "$last" >"$out" 2>&1
	rc=$?
	# A slower scheduler is a regression (1); anything but an error
	# leaves the page to check.
	if [ "$rc" -le 1 ] || [ "$rc" -eq 3 ]; then
		say "compare --format html (exit $rc)"
	else
		bad "compare --format html: exit $rc"
		sed 's/^/    /' "$out"
	fi
	grep -q 'warning' "$out" && { bad "compare warned"; cat "$out"; }
	"$py" "$check" compare "$page" select_destinations >"$out" 2>&1
	checked=$?
}
pair 1
if [ "$checked" -ne 0 ]; then
	# Two CPUs shared with other tests: a load spike during the base
	# can hide the slowdown in so few iterations; one more pair.
	echo "note: the page did not show the slowdown; one more pair"
	sed 's/^/    /' "$out"
	pair 2
fi
[ "$checked" -eq 0 ] && sed 's/^/ok   /' "$out" ||
	{ bad "the page's DOM"; sed 's/^/    /' "$out"; }
"$py" "$check" html "$page" >"$out" 2>&1 && say "well-formed, self-contained" ||
	{ bad "html check"; sed 's/^/    /' "$out"; }
if grep -q '&lt;/td&gt;\|&lt;br&gt;\|&lt;small&gt;' "$page"; then
	bad "the page escapes its own markup"
fi
for c in cdf change drift; do
	head -c 8 "$tmp/report/compare-$c.png" 2>/dev/null | grep -q PNG ||
		bad "no compare-$c.png beside the page"
done
[ -s "$tmp/report/flame.svg" ] || bad "no flame.svg"

# The checker itself fails on the defect it is there for.
sed 's|<td class="num">|<td class="num">1ms\&lt;/td\&gt;\&lt;td\&gt;|' \
	"$page" >"$tmp/broken.html"
"$py" "$check" compare "$tmp/broken.html" select_destinations \
	>/dev/null 2>&1 && bad "the checker accepts markup shown as text" ||
	say "the checker rejects markup shown as text"

# Headless Chromium: the DOM it builds passes the same checks, no console
# errors, a screenshot that is not blank.
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chromium" ]; then
	profile=$(mktemp -d)
	flags="--headless --no-sandbox --disable-gpu --disable-quic \
--no-first-run --disable-background-networking --disable-component-update \
--disable-sync --user-data-dir=$profile"
	# shellcheck disable=SC2086
	timeout 60 "$chromium" $flags --enable-logging=stderr --v=0 \
		--dump-dom "file://$page" >"$tmp/dom.html" \
		2>"$tmp/chrome.txt" ||
		bad "chromium --dump-dom: exit $?"
	"$py" "$check" compare "$tmp/dom.html" select_destinations \
		>"$out" 2>&1 && say "chromium's DOM passes" ||
		{ bad "chromium's DOM"; sed 's/^/    /' "$out"; }
	grep -q '<button type="button">Open all</button>' "$tmp/dom.html" ||
		bad "the page's script did not run"
	if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE.*[Ee]rror' "$tmp/chrome.txt"
	then
		bad "console errors"
	fi
	# shellcheck disable=SC2086
	timeout 60 "$chromium" $flags --screenshot="$tmp/shot.png" \
		--window-size=1280,2400 "file://$page" >/dev/null 2>&1 ||
		bad "chromium --screenshot: exit $?"
	[ "$(wc -c <"$tmp/shot.png")" -gt 50000 ] &&
		say "screenshot" || bad "screenshot missing or blank"
	[ -n "${REPORT_KEEP_SHOT:-}" ] && cp "$tmp/shot.png" "$REPORT_KEEP_SHOT"
	rm -rf "$profile"
else
	echo "skip chromium: not installed (ci/bootstrap.sh installs it)"
fi

# Without gnuplot: the page, no charts, a warning that says why; the
# table, flame graph and waterfalls still there.
env PATH=/nonexistent "$harness" compare --config "$cfg" --no-scenario \
	--format html --out-dir "$tmp/nogp" $((last - 1)) "$last" >"$out" 2>&1
grep -q 'gnuplot not found' "$out" &&
	grep -q 'class="warning">gnuplot not found' "$tmp/nogp/compare.html" &&
	grep -q 'aria-label="Differential flame graph' \
		"$tmp/nogp/compare.html" &&
	grep -q 'class="cmp"' "$tmp/nogp/compare.html" &&
	[ "$(grep -c 'class="waterfall"' "$tmp/nogp/compare.html")" -eq 2 ] &&
	! ls "$tmp"/nogp/*.png >/dev/null 2>&1 &&
	say "no gnuplot: page without charts" ||
	{ bad "no gnuplot"; sed 's/^/    /' "$out"; }

check_no_leftover "report-compare"
exit $fail
