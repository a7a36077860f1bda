/* markdown.c: a comparison's verdict as Markdown for a CI comment: one
 * summary line, the findings table, gates and every row folded away. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/verdict.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Table cells: no pipes or newlines, inline code for names. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else if (*s == '<')
			fputs("&lt;", out);
		else
			fputc(*s, out);
	}
}

static void md_code(FILE *out, const char *s)
{
	fputc('`', out);
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '`')
			fputc('\'', out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
	fputc('`', out);
}

static const struct compare_row *iteration_row(const struct verdict *v)
{
	for (size_t i = 0; i < v->cmp.nrows; i++)
		if (v->cmp.rows[i].measure == COMPARE_TIME &&
		    !strcmp(v->cmp.rows[i].kind, "iteration"))
			return &v->cmp.rows[i];
	return NULL;
}

static const char *status_word(const struct verdict *v)
{
	switch (v->status) {
	case VERDICT_PASS:
		return "✅ pass";
	case VERDICT_REGRESSION:
		return "❌ regression";
	case VERDICT_LIMIT:
		return "❌ limit broken";
	case VERDICT_INCONCLUSIVE:
		return "⚠️ inconclusive";
	case VERDICT_NO_BASELINE:
		return "⚠️ no baseline";
	case VERDICT_MACHINE:
		return "⚠️ machine-wide shift";
	}
	return "?";
}

static void summary_line(FILE *out, const struct verdict *v)
{
	const struct compare_row *it = v->compared ? iteration_row(v) : NULL;

	fprintf(out, "**harness %s: %s**", v->head.run->scenario,
		status_word(v));
	if (it) {
		char base[64], head[64], change[128];

		verdict_format_value(base, sizeof(base), it->base_median, it);
		verdict_format_value(head, sizeof(head), it->head_median, it);
		verdict_format_change(change, sizeof(change), it);
		fprintf(out, " — iteration %s → %s, %s", base, head, change);
		fprintf(out, " (%zu vs %zu iterations)", it->nbase,
			it->nhead);
	}
	fputs(" — ", out);
	md_cell(out, v->summary);
	fputs("\n\n", out);
}

static void cause_cell(FILE *out, const struct verdict *v, size_t i)
{
	const struct compare_row *r = &v->cmp.rows[i];
	const struct compare_cause *c = report_compare_cause_of(v, i);

	if (c) {
		char shift[64];

		gate_format_value(shift, sizeof(shift), fabs(c->crit.shift),
				  GATE_UNIT_NS);
		fprintf(out, "critical path %s%s", c->crit.shift < 0 ? "-" : "+",
			shift);
		if (!isnan(c->share))
			fprintf(out, " (%.0f%% of the growth)", 100 * c->share);
	} else if (r->measure == COMPARE_COUNT && r->finding) {
		fprintf(out, "%s calls per iteration",
			r->regression ? "more" : "fewer");
	} else if (r->inconclusive) {
		fprintf(out, "inconclusive: need ~%zu iterations per run",
			r->iterations_needed);
	} else if (r->finding) {
		fputs(r->regression ? "slower" : "faster", out);
	}
}

static void row_table(FILE *out, const struct verdict *v, bool all)
{
	fputs("| operation | base → head | change [interval] | p (q) | "
	      "cause |\n|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; i < v->cmp.nrows; i++) {
		const struct compare_row *r = &v->cmp.rows[i];
		char base[64], head[64], change[128], *label;

		if (!all && !r->finding && !report_compare_cause_of(v, i))
			continue;
		label = verdict_row_label(r);
		fputs("| ", out);
		md_code(out, label);
		if (r->measure == COMPARE_COUNT)
			fputs(" count", out);
		free(label);
		verdict_format_value(base, sizeof(base), r->base_median, r);
		verdict_format_value(head, sizeof(head), r->head_median, r);
		verdict_format_change(change, sizeof(change), r);
		fprintf(out, " | %s → %s | %s%s%s | ", r->in_base ? base : "-",
			r->in_head ? head : "-", r->regression ? "**" : "",
			change, r->regression ? "**" : "");
		if (r->exact)
			fputs("exact", out);
		else
			fprintf(out, "%.2g (%.2g)", r->mwu.p, r->q);
		fputs(" | ", out);
		cause_cell(out, v, i);
		fputs(" |\n", out);
	}
	fputc('\n', out);
}

static int markdown_write_compare(FILE *out,
				  const struct report_comparison *c,
				  const struct report_options *opt,
				  char **cause)
{
	const struct verdict *v = c->v;
	size_t failed = verdict_failed(v, VERDICT_GATE_ABSOLUTE) +
			verdict_failed(v, VERDICT_GATE_REGRESSION);
	char *line;

	summary_line(out, v);
	if (v->mismatch) {
		fputs("> **Warning:** ", out);
		md_cell(out, v->mismatch);
		fputs("\n\n", out);
	}
	if (v->compared) {
		if (v->cmp.nfindings || v->cmp.ncauses)
			row_table(out, v, false);
		else
			fputs("No operation changed significantly.\n\n", out);
	}

	fprintf(out, "<details><summary>Gates: %zu, %zu failed</summary>\n\n",
		v->ngates, failed);
	fputs("| gate | result |\n|---|---|\n", out);
	for (size_t i = 0; i < v->ngates; i++) {
		fputs("| ", out);
		md_code(out, v->gates[i].name);
		fprintf(out, " | %s ", v->gates[i].pass ? "pass" : "**FAIL**");
		md_cell(out, v->gates[i].message);
		fputs(" |\n", out);
	}
	fputs("\n</details>\n\n", out);

	fputs("<details><summary>Details</summary>\n\n", out);
	if (v->has_base) {
		line = report_compare_side_line(&v->base);
		fputs("- base: ", out);
		md_cell(out, line);
		fprintf(out, ", %zu iterations (%zu failed)\n",
			v->base.agg.niterations, v->base.nfailed);
		free(line);
	} else {
		fputs("- base: none\n", out);
	}
	line = report_compare_side_line(&v->head);
	fputs("- head: ", out);
	md_cell(out, line);
	fprintf(out, ", %zu iterations (%zu failed)\n", v->head.agg.niterations,
		v->head.nfailed);
	free(line);
	fprintf(out, "- alpha %.3g (false discovery rate), min effect %.3g%%\n\n",
		v->alpha, 100 * v->min_effect);
	if (v->compared && (opt == NULL || !opt->all_rows)) {
		fprintf(out, "All %zu rows:\n\n", v->cmp.nrows);
		row_table(out, v, true);
	} else if (v->compared) {
		row_table(out, v, true);
	}
	fputs("</details>\n", out);
	return report_compare_check(out, cause);
}

const struct report_writer report_markdown_writer = {
	.name = "markdown",
	.summary = "a comparison's verdict in Markdown, for a CI comment",
	.write_compare = markdown_write_compare,
	.compare_file = "compare.md",
};
