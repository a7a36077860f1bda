/* terminal.c: a comparison's verdict as a table for the terminal: what was
 * compared, the verdict line, the rows that matter, the causes of a slower
 * iteration and every gate. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/verdict.h"
#include "util/error.h"
#include "util/strbuf.h"

char *report_compare_run_line(const struct store_run *run)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "run %lld (%s", (long long)run->id, run->scenario);
	if (run->label)
		strbuf_addf(&sb, " '%s'", run->label);
	for (size_t i = 0; i < run->ncommits; i++) {
		const struct store_commit *c = &run->commits[i];

		strbuf_addf(&sb, "%s %s %.8s%s", i ? "," : ";", c->repo,
			    c->sha, c->dirty ? "*" : "");
	}
	strbuf_addch(&sb, ')');
	return strbuf_detach(&sb, NULL);
}

static bool same_commits(const struct store_run *a, const struct store_run *b)
{
	if (a->ncommits != b->ncommits)
		return false;
	for (size_t i = 0; i < a->ncommits; i++)
		if (strcmp(a->commits[i].repo, b->commits[i].repo) ||
		    strcmp(a->commits[i].sha, b->commits[i].sha) ||
		    a->commits[i].dirty != b->commits[i].dirty)
			return false;
	return true;
}

static void add_commits(struct strbuf *sb, const struct store_run *run)
{
	for (size_t i = 0; i < run->ncommits; i++) {
		const struct store_commit *c = &run->commits[i];

		strbuf_addf(sb, "%s%s %.8s%s", i ? ", " : "", c->repo, c->sha,
			    c->dirty ? "*" : "");
	}
}

char *report_compare_side_line(const struct run_data *rd)
{
	struct strbuf sb = STRBUF_INIT;
	bool same = true;

	if (rd->nruns <= 1)
		return report_compare_run_line(rd->run);
	strbuf_addstr(&sb, "runs ");
	for (size_t i = 0; i < rd->nruns; i++) {
		strbuf_addf(&sb, "%s%lld", i ? ", " : "",
			    (long long)rd->runs[i]->id);
		same = same && same_commits(rd->runs[0], rd->runs[i]);
	}
	strbuf_addf(&sb, " pooled (%s", rd->run->scenario);
	if (same && rd->run->ncommits) {
		strbuf_addstr(&sb, "; ");
		add_commits(&sb, rd->run);
	} else if (!same) {
		for (size_t i = 0; i < rd->nruns; i++) {
			strbuf_addf(&sb, "; run %lld: ",
				    (long long)rd->runs[i]->id);
			add_commits(&sb, rd->runs[i]);
		}
	}
	strbuf_addch(&sb, ')');
	return strbuf_detach(&sb, NULL);
}

bool report_compare_row_shown(const struct verdict *v, size_t r,
			      const struct report_options *opt)
{
	const struct compare_row *row = &v->cmp.rows[r];

	if (opt && opt->all_rows)
		return true;
	return row->finding || row->inconclusive ||
	       (row->measure == COMPARE_TIME &&
		(row->gated || !strcmp(row->kind, "iteration")));
}

const struct compare_cause *report_compare_cause_of(const struct verdict *v,
						    size_t r)
{
	for (size_t i = 0; i < v->cmp.ncauses; i++)
		if (v->cmp.causes[i].row == r)
			return &v->cmp.causes[i];
	return NULL;
}

int report_compare_check(FILE *out, char **cause)
{
	if (fflush(out) == 0 && !ferror(out))
		return 0;
	*cause = xasprintf("cannot write the report: %s",
			   strerror(errno ? errno : EIO));
	return -1;
}

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
		const struct compare_cause *cc;
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
		cc = report_compare_cause_of(v, i);
		if (r->regression)
			cells[i][5] = xstrdup(cc ? "REGRESSION, cause"
						 : "REGRESSION");
		else if (r->finding)
			cells[i][5] = xstrdup("improved");
		else if (r->inconclusive)
			cells[i][5] = xstrdup("inconclusive");
		else
			cells[i][5] = xstrdup(cc ? "cause" : "");
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
		if (v->cmp.rows[i].regression) {
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
	}
	fputs("gates:\n", out);
	for (size_t i = 0; i < v->ngates; i++) {
		const struct verdict_gate *g = &v->gates[i];

		fprintf(out, "  %s%-4s%s  %s\n",
			g->pass ? "" : paint(opt, "\033[31m"),
			g->pass ? "pass" : "FAIL", g->pass ? "" : off,
			g->message);
	}
	fprintf(out, "\n%sverdict: %s%s: %s\n", bold,
		verdict_status_str(v->status), off, v->summary);
	return report_compare_check(out, cause);
}

const struct report_writer report_terminal_writer = {
	.name = "terminal",
	.summary = "a comparison's verdict as a table for the terminal",
	.write_compare = terminal_write_compare,
};
