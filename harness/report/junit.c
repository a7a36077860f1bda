/* junit.c: a comparison's verdict as JUnit XML, one test case per gate
 * (absolute limits and regression limits), so that a CI server lists each
 * limit and shows the failing ones with their message. */
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

static int junit_write_compare(FILE *out, const struct report_comparison *c,
			       const struct report_options *opt, char **cause)
{
	const struct verdict *v = c->v;
	size_t failures = verdict_failed(v, VERDICT_GATE_ABSOLUTE) +
			  verdict_failed(v, VERDICT_GATE_REGRESSION);
	char buf[64], *line;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out,
		"<testsuites name=\"harness\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\">\n",
		v->ngates, failures);
	fputs("  <testsuite name=\"", out);
	xml_text(out, v->head.run->scenario);
	fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"0\">\n",
		v->ngates, failures);
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
	fputs("    </properties>\n", out);
	for (size_t i = 0; i < v->ngates; i++) {
		const struct verdict_gate *g = &v->gates[i];
		bool abs = g->type == VERDICT_GATE_ABSOLUTE;

		fprintf(out, "    <testcase classname=\"harness.%s.",
			abs ? "limit" : "regression");
		xml_text(out, v->head.run->scenario);
		fputs("\" name=\"", out);
		xml_text(out, g->name);
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
