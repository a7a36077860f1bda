/* markdown.c: a comparison's verdict as Markdown for a CI comment: one
 * summary line, why when inconclusive, the findings table by role, the
 * noise, gates and every row folded away. */
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

static const char *status_icon(const struct verdict *v)
{
	switch (v->status) {
	case VERDICT_PASS:
		return "✅";
	case VERDICT_REGRESSION:
	case VERDICT_LIMIT:
		return "❌";
	case VERDICT_INCONCLUSIVE:
	case VERDICT_NO_BASELINE:
	case VERDICT_MACHINE:
		return "⚠️";
	}
	return "?";
}

static void summary_line(FILE *out, const struct verdict *v)
{
	const struct compare_row *it = v->compared ? iteration_row(v) : NULL;

	fprintf(out, "**harness %s: %s %s**", v->head.run->scenario,
		status_icon(v), report_compare_status_word(v));
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

/* The row's role, then what it is: its share of the growth for a cause,
 * the calls for a count, what would settle an inconclusive row. */
static void role_cell(FILE *out, const struct verdict *v, size_t i)
{
	const struct compare_row *r = &v->cmp.rows[i];
	const struct compare_cause *c = report_compare_cause_of(v, i);
	const char *note = report_compare_row_note(r);
	bool alarm = report_compare_row_alarm(r);

	if (*note)
		fprintf(out, "%s%s%s", alarm ? "**" : "", note,
			alarm ? "**" : "");
	if (c) {
		char shift[64];

		gate_format_value(shift, sizeof(shift), fabs(c->crit.shift),
				  GATE_UNIT_NS);
		fprintf(out, "%scritical path %s%s", *note ? ": " : "",
			c->crit.shift < 0 ? "-" : "+", shift);
		if (!isnan(c->share))
			fprintf(out, " (%.0f%% of the growth)", 100 * c->share);
	} else if (r->measure == COMPARE_COUNT && r->finding) {
		fprintf(out, ": %s calls per iteration",
			r->regression ? "more" : "fewer");
	} else if (r->inconclusive && r->iterations_needed) {
		fprintf(out, ": need ~%zu iterations per run",
			r->iterations_needed);
	} else if (r->role == COMPARE_ROLE_CONSEQUENCE) {
		fputs(": grew with another operation", out);
	}
}

static void row_table(FILE *out, const struct verdict *v, bool all)
{
	fputs("| operation | base → head | change [interval] | p (q) | "
	      "role |\n|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; i < v->cmp.nrows; i++) {
		const struct compare_row *r = &v->cmp.rows[i];
		char base[64], head[64], change[128], *label;

		if (!all && !r->finding && !r->gated_crit &&
		    r->role != COMPARE_ROLE_CAUSE &&
		    !report_compare_cause_of(v, i))
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
			r->in_head ? head : "-",
			report_compare_row_alarm(r) ? "**" : "", change,
			report_compare_row_alarm(r) ? "**" : "");
		if (r->exact)
			fputs("exact", out);
		else
			fprintf(out, "%.2g (%.2g)", r->mwu.p, r->q);
		fputs(" | ", out);
		role_cell(out, v, i);
		fputs(" |\n", out);
	}
	fputc('\n', out);
}

/* The noise, as a list under the table; a machine-wide shift's
 * evidence with it. */
static void noise_list(FILE *out, const struct verdict *v)
{
	char *lines[2], *machine = report_compare_machine_line(&v->cmp);
	size_t n = report_compare_noise_lines(&v->cmp, lines);

	for (size_t i = 0; i < n; i++) {
		fputs("- ", out);
		md_cell(out, lines[i]);
		fputc('\n', out);
		free(lines[i]);
	}
	if (machine) {
		fputs("- **", out);
		md_cell(out, machine);
		fputs("**\n", out);
	}
	free(machine);
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
	size_t inconclusive = 0;
	char *line;

	summary_line(out, v);
	if (v->mismatch) {
		fputs("> **Warning:** ", out);
		md_cell(out, v->mismatch);
		fputs("\n\n", out);
	}
	if (v->compared && v->status == VERDICT_INCONCLUSIVE) {
		line = report_compare_inconclusive_line(&v->cmp, false);
		if (line) {
			fputs("**Why:** ", out);
			md_cell(out, line);
			fputs("\n\n", out);
		}
		free(line);
	}
	if (v->compared) {
		if (v->cmp.nfindings || v->cmp.ncauses)
			row_table(out, v, false);
		else
			fputs("No operation changed significantly.\n\n", out);
		noise_list(out, v);
	}

	for (size_t i = 0; i < v->ngates; i++)
		inconclusive += v->gates[i].pass && v->gates[i].inconclusive;
	fprintf(out, "<details><summary>Gates: %zu, %zu failed", v->ngates,
		failed);
	if (inconclusive)
		fprintf(out, ", %zu inconclusive", inconclusive);
	fputs("</summary>\n\n| gate | result |\n|---|---|\n", out);
	for (size_t i = 0; i < v->ngates; i++) {
		const char *word = report_compare_gate_word(v, &v->gates[i]);

		fputs("| ", out);
		md_code(out, v->gates[i].name);
		fprintf(out, " | %s%s%s ", v->gates[i].pass ? "" : "**", word,
			v->gates[i].pass ? "" : "**");
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
