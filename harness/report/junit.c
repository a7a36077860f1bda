/* junit.c: a comparison's verdict as JUnit XML, one test case per gate
 * (absolute limits and regression limits), so that a CI server lists each
 * limit and shows the failing ones with their message.
 *
 * Nothing undecided reads as a success. A gate that could not rule out a
 * regression (verdict_gate.inconclusive) is <skipped>, with why; under a
 * machine-wide shift every regression gate on a time is <skipped> too (it
 * held only net of the machine factor). When the verdict itself is inconclusive,
 * no-baseline or machine, one more test case, "verdict" of class
 * harness.verdict.SCENARIO, is <skipped> with the summary and, for a
 * machine-wide shift, its evidence. Skipped, not failed: the code was not
 * shown slower, and a failure would blame it; the job still fails on the
 * exit code (3, 4). harness/report/compare-json.md, "JUnit", says so. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/verdict.h"
#include "util/error.h"

/* Text and attribute values: the five XML escapes, and no control
 * characters (not allowed in XML 1.0). */
static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			if (c < 0x20 && c != '\n' && c != '\t')
				fputc(' ', out);
			else
				fputc(c, out);
		}
	}
}

static void property(FILE *out, const char *name, const char *value)
{
	fputs("      <property name=\"", out);
	xml_text(out, name);
	fputs("\" value=\"", out);
	xml_text(out, value ? value : "");
	fputs("\"/>\n", out);
}

/* Why gate G is skipped, or NULL when it is not. */
static const char *skip_reason(const struct verdict *v,
			       const struct verdict_gate *g)
{
	if (!g->pass)
		return NULL;
	if (g->inconclusive)
		return g->message;
	if (!strcmp(report_compare_gate_word(v, g), "machine"))
		return v->summary;
	return NULL;
}

/* The verdict as a test case of its own when no gate says it. */
static bool verdict_case(const struct verdict *v)
{
	return v->status == VERDICT_INCONCLUSIVE ||
	       v->status == VERDICT_NO_BASELINE ||
	       v->status == VERDICT_MACHINE;
}

static void skipped(FILE *out, const char *message)
{
	fputs("\">\n      <skipped message=\"", out);
	xml_text(out, message);
	fputs("\"/>\n    </testcase>\n", out);
}

static int junit_write_compare(FILE *out, const struct report_comparison *c,
			       const struct report_options *opt, char **cause)
{
	const struct verdict *v = c->v;
	size_t failures = verdict_failed(v, VERDICT_GATE_ABSOLUTE) +
			  verdict_failed(v, VERDICT_GATE_REGRESSION);
	size_t tests = v->ngates + verdict_case(v), nskipped = verdict_case(v);
	char buf[64], *line, *lines[2];

	for (size_t i = 0; i < v->ngates; i++)
		nskipped += skip_reason(v, &v->gates[i]) != NULL;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out,
		"<testsuites name=\"harness\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\" skipped=\"%zu\">\n",
		tests, failures, nskipped);
	fputs("  <testsuite name=\"", out);
	xml_text(out, v->head.run->scenario);
	fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\">\n",
		tests, failures, nskipped);
	fputs("    <properties>\n", out);
	property(out, "status", verdict_status_str(v->status));
	snprintf(buf, sizeof(buf), "%d", verdict_exit_code(v));
	property(out, "exit_code", buf);
	property(out, "summary", v->summary);
	if (v->mismatch)
		property(out, "forced", v->mismatch);
	line = report_compare_side_line(&v->head);
	property(out, "head", line);
	free(line);
	if (v->has_base) {
		line = report_compare_side_line(&v->base);
		property(out, "base", line);
		free(line);
	}
	if (v->compared) {
		size_t n = report_compare_noise_lines(&v->cmp, lines);

		property(out, "noise", lines[0]);
		property(out, "drift", n > 1 ? lines[1] : NULL);
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		line = report_compare_machine_line(&v->cmp);
		if (line)
			property(out, "machine", line);
		free(line);
	}
	fputs("    </properties>\n", out);
	for (size_t i = 0; i < v->ngates; i++) {
		const struct verdict_gate *g = &v->gates[i];
		bool abs = g->type == VERDICT_GATE_ABSOLUTE;

		fprintf(out, "    <testcase classname=\"harness.%s.",
			abs ? "limit" : "regression");
		xml_text(out, v->head.run->scenario);
		fputs("\" name=\"", out);
		xml_text(out, g->name);
		if (skip_reason(v, g)) {
			skipped(out, skip_reason(v, g));
			continue;
		}
		if (g->pass) {
			fputs("\"/>\n", out);
			continue;
		}
		fputs("\">\n      <failure type=\"", out);
		fputs(abs ? "limit" : "regression", out);
		fputs("\" message=\"", out);
		xml_text(out, g->message);
		fputs("\">", out);
		xml_text(out, g->message);
		fputs("</failure>\n    </testcase>\n", out);
	}
	if (verdict_case(v)) {
		fputs("    <testcase classname=\"harness.verdict.", out);
		xml_text(out, v->head.run->scenario);
		fputs("\" name=\"verdict", out);
		line = NULL;
		if (v->compared && v->status == VERDICT_INCONCLUSIVE)
			line = report_compare_inconclusive_line(&v->cmp, true);
		else if (v->compared && v->status == VERDICT_MACHINE)
			line = report_compare_machine_line(&v->cmp);
		skipped(out, line ? line : v->summary);
		free(line);
	}
	fputs("    <system-out>", out);
	xml_text(out, v->summary);
	fputs("</system-out>\n  </testsuite>\n</testsuites>\n", out);
	return report_compare_check(out, cause);
}

const struct report_writer report_junit_writer = {
	.name = "junit",
	.summary = "a comparison's gates as JUnit XML, one test case each",
	.write_compare = junit_write_compare,
	.compare_file = "compare.xml",
};
