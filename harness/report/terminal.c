/* terminal.c: a comparison's verdict as a table for the terminal: what was
 * compared, the rows that matter by role, the causes of a slower
 * iteration, the noise, every gate and the verdict with why. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/verdict.h"
#include "util/error.h"
#include "util/strbuf.h"

static const char *paint(const struct report_options *opt,
			 const char *code)
{
	return opt && opt->color ? code : "";
}

static void print_iterations(FILE *out, const char *what,
			     const struct run_data *rd)
{
	fprintf(out, "%s: %zu iterations counted (%zu failed, %zu warm-up)",
		what, rd->agg.niterations, rd->nfailed, rd->nwarmup);
	if (rd->nrebuilt)
		fprintf(out, ", %zu without spans", rd->nrebuilt);
	fputc('\n', out);
}

/* The table: label, base, head, change, q, note. */
static void print_rows(FILE *out, const struct verdict *v,
		       const struct report_options *opt)
{
	enum { NCOLS = 6 };
	static const char *const head[NCOLS] = { "OPERATION", "BASE", "HEAD",
						 "CHANGE",    "Q",    "" };
	char ***cells = xcalloc(v->cmp.nrows, sizeof(*cells));
	int width[NCOLS];
	size_t shown = 0;

	for (int c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < v->cmp.nrows; i++) {
		const struct compare_row *r = &v->cmp.rows[i];
		char buf[128], *label;

		if (!report_compare_row_shown(v, i, opt))
			continue;
		cells[i] = xcalloc(NCOLS, sizeof(char *));
		label = verdict_row_label(r);
		cells[i][0] = r->measure == COMPARE_COUNT
				      ? xasprintf("%s count", label)
				      : xstrdup(label);
		free(label);
		verdict_format_value(buf, sizeof(buf), r->base_median, r);
		cells[i][1] = xstrdup(r->in_base ? buf : "-");
		verdict_format_value(buf, sizeof(buf), r->head_median, r);
		cells[i][2] = xstrdup(r->in_head ? buf : "-");
		verdict_format_change(buf, sizeof(buf), r);
		cells[i][3] = xstrdup(buf);
		cells[i][4] = r->exact ? xstrdup("exact")
				       : xasprintf("%.2g", r->q);
		cells[i][5] = xstrdup(report_compare_row_note(r));
		for (int c = 0; c < NCOLS; c++) {
			int len = (int)strlen(cells[i][c]);

			if (len > width[c])
				width[c] = len;
		}
		shown++;
	}
	if (!shown) {
		fputs("no operation changed\n", out);
		free(cells);
		return;
	}
	fprintf(out, "%-*s  %*s  %*s  %-*s  %*s  %s\n", width[0], head[0],
		width[1], head[1], width[2], head[2], width[3], head[3],
		width[4], head[4], head[5]);
	for (size_t i = 0; i < v->cmp.nrows; i++) {
		const char *on = "", *off = "";

		if (!cells[i])
			continue;
		if (report_compare_row_alarm(&v->cmp.rows[i])) {
			on = paint(opt, "\033[31m");
			off = paint(opt, "\033[0m");
		}
		fprintf(out, "%s%-*s  %*s  %*s  %-*s  %*s  %s%s\n", on,
			width[0], cells[i][0], width[1], cells[i][1],
			width[2], cells[i][2], width[3], cells[i][3],
			width[4], cells[i][4], cells[i][5], off);
		for (int c = 0; c < NCOLS; c++)
			free(cells[i][c]);
		free(cells[i]);
	}
	free(cells);
}

static void print_causes(FILE *out, const struct verdict *v)
{
	if (!v->cmp.ncauses)
		return;
	fputs("\nthe iteration grew on the critical path of:\n", out);
	for (size_t i = 0; i < v->cmp.ncauses; i++) {
		const struct compare_cause *c = &v->cmp.causes[i];
		const struct compare_row *r = &v->cmp.rows[c->row];
		char shift[64], lo[64], hi[64], *label = verdict_row_label(r);

		gate_format_value(shift, sizeof(shift), fabs(c->crit.shift),
				  GATE_UNIT_NS);
		gate_format_value(lo, sizeof(lo), fabs(c->crit.lo),
				  GATE_UNIT_NS);
		gate_format_value(hi, sizeof(hi), fabs(c->crit.hi),
				  GATE_UNIT_NS);
		fprintf(out, "  %s: %s%s [%s%s, %s%s]", label,
			c->crit.shift < 0 ? "-" : "+", shift,
			c->crit.lo < 0 ? "-" : "+", lo,
			c->crit.hi < 0 ? "-" : "+", hi);
		if (!isnan(c->share))
			fprintf(out, ", %.0f%% of the growth",
				100 * c->share);
		fputc('\n', out);
		free(label);
	}
}

/* What the noise was: its spread and the drift between rounds, and a
 * machine-wide shift's evidence. */
static void print_noise(FILE *out, const struct verdict *v)
{
	char *lines[2], *machine;
	size_t n = report_compare_noise_lines(&v->cmp, lines);

	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	machine = report_compare_machine_line(&v->cmp);
	if (machine)
		fprintf(out, "%s\n", machine);
	free(machine);
	fputc('\n', out);
}

static int terminal_write_compare(FILE *out,
				  const struct report_comparison *c,
				  const struct report_options *opt,
				  char **cause)
{
	const struct verdict *v = c->v;
	const char *bold = paint(opt, "\033[1m"), *off = paint(opt, "\033[0m");
	char *line;

	if (v->mismatch)
		fprintf(out, "%sWARNING: %s%s\n", bold, v->mismatch, off);
	if (v->has_base) {
		line = report_compare_side_line(&v->base);
		fprintf(out, "base: %s\n", line);
		free(line);
	} else {
		fputs("base: none\n", out);
	}
	line = report_compare_side_line(&v->head);
	fprintf(out, "head: %s\n", line);
	free(line);
	if (v->has_base)
		print_iterations(out, "base", &v->base);
	print_iterations(out, "head", &v->head);
	fprintf(out, "alpha %.3g, min effect %.3g%%\n\n", v->alpha,
		100 * v->min_effect);
	if (v->compared) {
		print_rows(out, v, opt);
		print_causes(out, v);
		fputc('\n', out);
		print_noise(out, v);
	}
	fputs("gates:\n", out);
	for (size_t i = 0; i < v->ngates; i++) {
		const struct verdict_gate *g = &v->gates[i];
		const char *word = report_compare_gate_word(v, g);
		bool red = !g->pass, yellow = !red && strcmp(word, "pass");

		fprintf(out, "  %s%-12s%s  %s\n",
			red ? paint(opt, "\033[31m")
			    : yellow ? paint(opt, "\033[33m") : "",
			word, red || yellow ? off : "", g->message);
	}
	fprintf(out, "\n%sverdict: %s%s: %s\n", bold,
		verdict_status_str(v->status), off, v->summary);
	if (v->compared && v->status == VERDICT_INCONCLUSIVE) {
		line = report_compare_inconclusive_line(&v->cmp, false);
		if (line)
			fprintf(out, "why: %s\n", line);
		free(line);
	}

	return report_compare_check(out, cause);
}

const struct report_writer report_terminal_writer = {
	.name = "terminal",
	.summary = "a comparison's verdict as a table for the terminal",
	.write_compare = terminal_write_compare,
};
