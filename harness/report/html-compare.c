/* html-compare.c: the HTML page of a comparison: one sentence on what
 * changed and where the time went, the verdict with why and the noise,
 * the change per operation as a chart and a table by role, the gates, the
 * differential flame graph, both runs' distributions and their median
 * iterations side by side on one time scale. */
#include "report/html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"
#include "analyze/verdict.h"
#include "report/templates.h"
#include "report/verdict.h"
#include "util/timeutil.h"

/* Rows of the table shown before "more rows". */
#define TABLE_TOP 12
/* Rows of the change chart. */
#define CHART_ROWS 16

static const char *dur(char *buf, size_t size, double ns)
{
	return report_fmt_dur(buf, size, ns);
}

/* "+149%", "+12.5%", "-3.0%": a relative change for people. */
static const char *pct(char *buf, size_t size, double rel)
{
	double p = 100 * rel;

	if (isnan(p))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, fabs(p) >= 100 ? "%+.0f%%" : "%+.1f%%", p);
	return buf;
}

/* "+31.3ms": a signed duration. */
static const char *sdur(char *buf, size_t size, double ns)
{
	char b[32];

	snprintf(buf, size, "%s%s", ns < 0 ? "-" : "+",
		 dur(b, sizeof(b), fabs(ns)));
	return buf;
}

static bool is_time(const struct compare_row *r)
{
	return r->measure == COMPARE_TIME;
}

static const struct compare_row *iteration_row(const struct compare_result *c)
{
	for (size_t i = 0; c && i < c->nrows; i++)
		if (is_time(&c->rows[i]) &&
		    !strcmp(c->rows[i].kind, "iteration"))
			return &c->rows[i];
	return NULL;
}

/* The cause that row R is, or NULL. */
static const struct compare_cause *cause_of(const struct compare_result *c,
					    size_t r)
{
	for (size_t i = 0; i < c->ncauses; i++)
		if (c->causes[i].row == r)
			return &c->causes[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The rows a reader wants, in the order they want them. */

struct shown {
	size_t row;
	int rank;	/* 0 iteration, 1 cause, 2 other time, 3 count */
	double key;	/* within a rank, smaller first */
};

static int cmp_shown(const void *a, const void *b)
{
	const struct shown *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* The rows shown: findings, gated and inconclusive rows; the iteration
 * first, then the causes of its growth biggest first, the other time
 * rows by the size of their shift, count rows last. *out has *n. */
static void shown_rows(const struct compare_result *c, struct shown **out,
		       size_t *n)
{
	struct shown *s = xcalloc(c->nrows ? c->nrows : 1, sizeof(*s));

	*n = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		const struct compare_row *r = &c->rows[i];
		const struct compare_cause *cause = cause_of(c, i);
		struct shown *sh;

		/* The iteration's count is 1 on both sides, always. */
		if ((!r->finding && !r->gated && !r->inconclusive &&
		     !r->gated_crit && r->role != COMPARE_ROLE_CAUSE) ||
		    (!is_time(r) && !strcmp(r->kind, "iteration")))
			continue;
		sh = &s[(*n)++];
		sh->row = i;
		if (is_time(r) && !strcmp(r->kind, "iteration")) {
			sh->rank = 0;
		} else if (cause) {
			sh->rank = 1;
			sh->key = (double)(cause - c->causes);
		} else if (is_time(r)) {
			sh->rank = 2;
			sh->key = -fabs(r->hl.shift);
		} else {
			sh->rank = 3;
			sh->key = -fabs(r->head_median - r->base_median);
		}
	}
	qsort(s, *n, sizeof(*s), cmp_shown);
	*out = s;
}

/* How a row is named in text: "iteration", "step create-server",
 * "api rpc.call scheduler.select_destinations". Caller frees. */
static char *row_text(const struct compare_row *r)
{
	if (!strcmp(r->kind, "iteration"))
		return xstrdup("iteration");
	if (!strcmp(r->kind, "step"))
		return xasprintf("step %s", r->name);
	return xasprintf("%s %s %s", *r->service ? r->service : "?", r->kind,
			 r->name);
}

/* The operation's cell: service badge in its colour, kind, name. */
static void row_label(struct strbuf *sb, const struct compare_row *r,
		      const struct report_trace *colors)
{
	if (!strcmp(r->kind, "iteration")) {
		strbuf_addstr(sb, "<strong>iteration</strong> <span "
				  "class=\"kind\">the whole scenario, once"
				  "</span>");
	} else if (!strcmp(r->kind, "step")) {
		strbuf_addstr(sb, "<span class=\"kind\">step</span> "
				  "<span class=\"opname\">");
		html_esc(sb, r->name);
		strbuf_addstr(sb, "</span>");
	} else {
		strbuf_addf(sb, "<span class=\"svc c%u\">",
			    report_service_color(colors, r->service));
		html_esc(sb, *r->service ? r->service : "?");
		strbuf_addstr(sb, "</span> <span class=\"kind\">");
		html_esc(sb, r->kind);
		strbuf_addstr(sb, "</span> <span class=\"opname\">");
		html_esc(sb, r->name);
		strbuf_addstr(sb, "</span>");
	}
	if (!is_time(r))
		strbuf_addstr(sb, " <span class=\"kind\">calls per "
				  "iteration</span>");
}

/* ------------------------------------------------------------------ */
/* The sentence at the top. */

static void cause_names(struct strbuf *sb, const struct compare_result *c)
{
	const char *names[3];
	size_t n = 0;
	char b[32];

	for (size_t i = 0; i < c->ncauses && n < ARRAY_SIZE(names); i++) {
		const struct compare_cause *k = &c->causes[i];
		const struct compare_row *r = &c->rows[k->row];
		bool seen = false;

		/* The client's call and the server's dispatch of one
		 * operation are both causes: name it once. */
		for (size_t j = 0; j < n; j++)
			seen |= !strcmp(names[j], r->name);
		if (seen ||
		    (n && k->crit.shift < 0.2 * c->causes[0].crit.shift))
			continue;
		strbuf_addstr(sb, n == 0 ? "; the time went to " : ", ");
		strbuf_addstr(sb, "<code>");
		html_esc(sb, r->name);
		strbuf_addstr(sb, "</code> (");
		html_esc(sb, sdur(b, sizeof(b), k->crit.shift));
		strbuf_addstr(sb, n == 0 ? " on the critical path)" : ")");
		names[n++] = r->name;
	}
}

/* An operation row (not the iteration or a step). */
static bool is_op(const struct compare_row *r)
{
	return strcmp(r->kind, "iteration") && strcmp(r->kind, "step");
}

/* Without causes (the iteration did not grow for sure), the biggest
 * change among the findings: of the operations whose time changed by at
 * least half the largest shift, the one that changed most against its
 * own time. A call's callers change by as much as it does, and by less
 * against theirs, so this names the call rather than its callers. */
static void biggest_change(struct strbuf *sb, const struct compare_result *c)
{
	const struct compare_row *big = NULL;
	double max = 0;
	size_t n = 0;
	char b[32], p[32];

	for (size_t i = 0; i < c->nrows; i++) {
		const struct compare_row *r = &c->rows[i];

		if (!r->finding || !strcmp(r->kind, "iteration"))
			continue;
		n++;
		if (is_time(r) && is_op(r))
			max = fmax(max, fabs(r->hl.shift));
	}
	for (size_t i = 0; i < c->nrows; i++) {
		const struct compare_row *r = &c->rows[i];
		double rel = isnan(r->hl.rel_shift) ? INFINITY :
						      fabs(r->hl.rel_shift);

		if (!r->finding || !is_time(r) || !is_op(r) ||
		    fabs(r->hl.shift) < 0.5 * max)
			continue;
		if (!big || rel > (isnan(big->hl.rel_shift) ?
					   INFINITY :
					   fabs(big->hl.rel_shift)))
			big = r;
	}
	if (!big)
		return;
	strbuf_addf(sb, "; %zu row%s changed, the biggest change in <code>",
		    n, n == 1 ? "" : "s");
	html_esc(sb, big->name);
	strbuf_addstr(sb, "</code> (");
	html_escf(sb, "%s per iteration, %s", sdur(b, sizeof(b), big->hl.shift),
		  pct(p, sizeof(p), big->hl.rel_shift));
	strbuf_addstr(sb, ")");
}

static void headline(struct strbuf *sb, const struct report_model *m)
{
	const struct compare_result *c = m->cmp;
	const struct compare_row *it = iteration_row(c);
	long long base = (long long)m->base->run->id,
		  head = (long long)m->run->id;
	char p[32], lo[32], hi[32], a[32], b[32];

	strbuf_addstr(sb, "<p class=\"headline\">");
	if (!c) {
		strbuf_addf(sb, "Run %lld was not compared with run %lld: one "
				"of them has no successful iteration.</p>\n",
			    head, base);
		return;
	}
	if (!it || isnan(it->hl.rel_shift)) {
		strbuf_addstr(sb, "The iteration time could not be compared: "
				  "a run has no iteration with a time.");
		goto causes;
	}
	snprintf(p, sizeof(p), fabs(it->hl.rel_shift) >= 1 ? "%.0f%%" :
							      "%.1f%%",
		 100 * fabs(it->hl.rel_shift));
	pct(lo, sizeof(lo), it->hl.rel_lo);
	pct(hi, sizeof(hi), it->hl.rel_hi);
	dur(a, sizeof(a), it->base_median);
	dur(b, sizeof(b), it->head_median);
	if (it->finding) {
		strbuf_addf(sb, "Head (run %lld) is <strong>%s %s</strong> "
				"than base (run %lld)",
			    head, p,
			    it->hl.shift > 0 ? "slower" : "faster", base);
	} else if (c->verdict == COMPARE_REGRESSION) {
		strbuf_addf(sb, "Head (run %lld) is <strong>slower</strong> "
				"than base (run %lld) where its own work is, "
				"though the iteration as a whole is too noisy "
				"to show it",
			    head, base);
	} else if (c->verdict == COMPARE_MACHINE) {
		strbuf_addf(sb, "Head (run %lld) ran on a <strong>%s "
				"machine</strong> than base (run %lld): every "
				"service moved together (%+.1f%%), no "
				"operation beyond that",
			    head,
			    c->machine.factor.est > 0 ? "slower" : "faster",
			    base, 100 * expm1(c->machine.factor.est));
	} else if (it->inconclusive || c->verdict == COMPARE_INCONCLUSIVE) {
		strbuf_addf(sb, "Head (run %lld) may be slower than base (run "
				"%lld), <strong>the runs cannot tell</strong>",
			    head, base);
	} else {
		strbuf_addf(sb, "Head (run %lld) is <strong>as fast as base"
				"</strong> (run %lld)",
			    head, base);
	}
	html_escf(sb, " (CI %s to %s; median iteration %s → %s)", lo, hi, a,
		  b);
	if (it->inconclusive && it->iterations_needed)
		strbuf_addf(sb, "; about %zu iterations per run would tell",
			    it->iterations_needed);
causes:
	if (c->ncauses)
		cause_names(sb, c);
	else
		biggest_change(sb, c);
	strbuf_addstr(sb, ".</p>\n");
}

/* The verdict's word: a machine-wide shift is said as one. */
static const char *verdict_word(const struct compare_result *c)
{
	return c->verdict == COMPARE_MACHINE ? "machine-wide shift"
					     : compare_verdict_str(c->verdict);
}

static const char *verdict_class(const struct compare_result *c)
{
	return c->verdict == COMPARE_PASS	? "ok" :
	       c->verdict == COMPARE_REGRESSION ? "bad" :
						  "warn";
}

static void verdict_line(struct strbuf *sb, const struct report_model *m)
{
	const struct compare_result *c = m->cmp;
	char *why, *machine, *lines[2];
	size_t n;

	if (!c)
		return;
	strbuf_addf(sb, "<p class=\"verdict\">Verdict: <span class=\"badge "
			"%s\">",
		    verdict_class(c));
	html_esc(sb, verdict_word(c));
	strbuf_addstr(sb, "</span> ");
	html_esc(sb, c->reason ? c->reason : "");
	strbuf_addstr(sb, ". CI is the confidence interval of the change; q "
			  "the chance that a change this size is noise, "
			  "corrected for the number of operations "
			  "compared.</p>\n");
	why = report_compare_inconclusive_line(c, false);
	if (why) {
		strbuf_addstr(sb, "<p class=\"why\">Why: ");
		html_esc(sb, why);
		strbuf_addstr(sb, ".</p>\n");
	}
	free(why);
	/* The noise the verdict was judged against. */
	n = report_compare_noise_lines(c, lines);
	strbuf_addstr(sb, "<p class=\"noise\">");
	for (size_t i = 0; i < n; i++) {
		strbuf_addstr(sb, i ? "<br>" : "");
		html_esc(sb, lines[i]);
		free(lines[i]);
	}
	machine = report_compare_machine_line(c);
	if (machine) {
		strbuf_addstr(sb, "<br><strong>");
		html_esc(sb, machine);
		strbuf_addstr(sb, "</strong>");
	}
	free(machine);
	strbuf_addstr(sb, "</p>\n");
}

/* Every gate and its word; nothing without the verdict's gates (a page
 * of `harness report` against a baseline). */
static void gates(struct strbuf *sb, const struct report_comparison *rc)
{
	const struct verdict *v = rc ? rc->v : NULL;

	if (!v || !v->ngates)
		return;
	strbuf_addstr(sb, "<h2 id=\"gates\">Gates</h2>\n<table class=\"gates\">"
			  "<thead><tr><th>gate</th><th>result</th>"
			  "<th>what it saw</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < v->ngates; i++) {
		const struct verdict_gate *g = &v->gates[i];
		const char *word = report_compare_gate_word(v, g);

		strbuf_addstr(sb, "<tr><td><code>");
		html_esc(sb, g->name);
		strbuf_addf(sb, "</code></td><td><span class=\"badge %s\">",
			    !g->pass		     ? "bad" :
			    strcmp(word, "pass") ? "warn" :
						   "ok");
		html_esc(sb, word);
		strbuf_addstr(sb, "</span></td><td>");
		html_esc(sb, g->message);
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table>\n");
}

/* ------------------------------------------------------------------ */
/* Summary cards, base → head. */

static void pair_item(struct strbuf *sb, const char *k, const char *base,
		      const char *head)
{
	char *v = strcmp(base, head) ? xasprintf("%s → %s", base, head) :
				       xstrdup(head);

	html_item(sb, k, v);
	free(v);
}

static void percentile_pair(struct strbuf *sb, const char *k,
			    const double *bms, size_t nb, const double *hms,
			    size_t nh, double p)
{
	char a[32] = "-", b[32] = "-";

	if (nb)
		dur(a, sizeof(a), 1e6 * stats_percentile_sorted(bms, nb, p));
	if (nh)
		dur(b, sizeof(b), 1e6 * stats_percentile_sorted(hms, nh, p));
	pair_item(sb, k, a, b);
}

static void summary(struct strbuf *sb, const struct report_model *m,
		    const double *bms, size_t nb, const double *hms,
		    size_t nh)
{
	const struct report_model *base = m->base;
	char a[64], b[64];

	strbuf_addstr(sb, "<div class=\"summary\">");
	html_item(sb, "scenario", m->run->scenario);
	snprintf(a, sizeof(a), "run %lld", (long long)base->run->id);
	snprintf(b, sizeof(b), "run %lld", (long long)m->run->id);
	pair_item(sb, "base → head", a, b);
	percentile_pair(sb, "median", bms, nb, hms, nh, 50);
	percentile_pair(sb, "p90", bms, nb, hms, nh, 90);
	snprintf(a, sizeof(a), "%zu", base->nits - base->nwarmup);
	snprintf(b, sizeof(b), "%zu", m->nits - m->nwarmup);
	pair_item(sb, "iterations", a, b);
	snprintf(a, sizeof(a), "%zu", base->nfailed);
	snprintf(b, sizeof(b), "%zu", m->nfailed);
	pair_item(sb, "failed", a, b);
	snprintf(a, sizeof(a), "%lld", (long long)base->spans_dropped);
	snprintf(b, sizeof(b), "%lld", (long long)m->spans_dropped);
	pair_item(sb, "spans dropped", a, b);
	html_itemf(sb, "config", "%.12s%s", m->run->config_hash,
		   strcmp(m->run->config_hash, base->run->config_hash) ?
			   " (differs)" :
			   "");
	strbuf_addstr(sb, "</div>\n");
}

/* ------------------------------------------------------------------ */
/* The change per operation: chart and table. */

/* log2(1 + rel), the chart's unit: +100% is 1, -50% is -1. Changes
 * down to -99% stay on the chart. */
static double chart_x(double rel)
{
	return log2(fmax(1 + rel, 0.01));
}

static void change_chart(struct html_charts *hc, struct strbuf *sb,
			 const struct report_model *m,
			 const struct shown *rows, size_t nrows)
{
	static const double ticks[] = {
		-0.99, -0.9, -0.75, -0.5, -0.25, -0.1, -0.05, 0,
		0.05,  0.1,  0.25,  0.5,  1,	 2,    4,     9,
		19,    49,   99,    199,  499,	 999,
	};
	const struct compare_result *c = m->cmp;
	struct html_chart ch = {
		"change",
		"The change of each operation's time per iteration, head "
		"against base: a bar per operation (red slower, blue faster, "
		"grey within the noise) with its confidence interval, on a "
		"log scale so that a doubling and a halving are the same "
		"length. The iteration first, then the causes of its growth, "
		"then the other findings by time.",
		report_tmpl_change_gp, STRBUF_INIT, 1100, 0, true,
	};
	struct strbuf data = STRBUF_INIT;
	double xmin = 0, xmax = 0;
	size_t n = 0;
	char *path;

	for (size_t i = 0; i < nrows && n < CHART_ROWS; i++) {
		const struct compare_row *r = &c->rows[rows[i].row];
		char *label, v[32], d[32];
		double x, lo, hi;

		if (!is_time(r) || isnan(r->hl.rel_shift))
			continue;
		x = chart_x(r->hl.rel_shift);
		lo = chart_x(r->hl.rel_lo);
		hi = chart_x(r->hl.rel_hi);
		xmin = fmin(xmin, lo);
		xmax = fmax(xmax, fmax(hi, x));
		label = row_text(r);
		if (strlen(label) > 52)
			strcpy(label + 49, "...");
		for (char *q = label; *q; q++)
			if (*q == '"')
				*q = '\'';
		strbuf_addf(&data, "%zu %.6f %.6f %.6f %d \"%s\" \"%s (%s)\"\n",
			    n, x, lo, hi,
			    !r->finding	     ? 2 :
			    r->hl.shift > 0 ? 0 :
					      1,
			    label, pct(v, sizeof(v), r->hl.rel_shift),
			    sdur(d, sizeof(d), r->hl.shift));
		free(label);
		n++;
	}
	if (!n)
		goto out;
	/* Room for the value labels right of the bars. */
	xmin -= 0.05 * (xmax - xmin) + 0.02;
	xmax += 0.30 * (xmax - xmin) + 0.05;
	path = html_charts_data(hc, data.buf);
	if (!path)
		goto out;
	strbuf_addf(&ch.vars, "datafile='%s'\nnrows=%zu\nxmin=%.6f\n"
			      "xmax=%.6f\nset xtics (",
		    path, n, xmin, xmax);
	free(path);
	/* Ticks at round percentages, 0 first, then outwards on each side
	 * leaving out those too close to the last one kept. */
	for (int side = -1; side <= 1; side += 2) {
		double last = 0, gap = (xmax - xmin) / 14;

		if (side < 0)
			strbuf_addf(&ch.vars, "\"0\" 0");
		for (size_t k = 0; k < ARRAY_SIZE(ticks); k++) {
			double t = ticks[side < 0 ? ARRAY_SIZE(ticks) - 1 - k :
						    k],
			       x = chart_x(t);
			char l[32];

			if (t * side <= 0 || x < xmin || x > xmax ||
			    fabs(x - last) < gap)
				continue;
			last = x;
			/* gnuplot reads a tic's label as a format: "%%"
			 * for "%". */
			if (t >= 1)
				snprintf(l, sizeof(l), "×%.0f", 1 + t);
			else
				snprintf(l, sizeof(l), "%+.0f%%%%", 100 * t);
			strbuf_addf(&ch.vars, ", \"%s\" %.6f", l, x);
		}
	}
	strbuf_addstr(&ch.vars, ")\n");
	ch.height = 120 + 26 * (int)(n < 2 ? 2 : n);
	html_charts_draw(hc, sb, &ch);
out:
	strbuf_release(&ch.vars);
	strbuf_release(&data);
}

static void table_head(struct strbuf *sb)
{
	strbuf_addstr(sb, "<div class=\"scroll\"><table class=\"cmp\">"
			  "<colgroup><col class=\"op\"><col class=\"v\">"
			  "<col class=\"v\"><col class=\"chg\">"
			  "<col class=\"q\"><col class=\"why\"></colgroup>"
			  "<thead><tr><th>operation</th><th class=\"num\">"
			  "base</th><th class=\"num\">head</th>"
			  "<th class=\"num\">change (CI)</th>"
			  "<th class=\"num\">q</th><th>verdict</th></tr>"
			  "</thead><tbody>\n");
}

static void table_row(struct strbuf *sb, const struct compare_result *c,
		      size_t i, const struct report_trace *colors)
{
	const struct compare_row *r = &c->rows[i];
	const struct compare_cause *cause = cause_of(c, i);
	char v[64], lo[32], hi[32], d[32];
	bool up = r->head_median > r->base_median || r->hl.shift > 0;

	strbuf_addf(sb, "<tr%s><td class=\"op\">",
		    report_compare_row_alarm(r) ? " class=\"slower\"" : "");
	row_label(sb, r, colors);
	strbuf_addstr(sb, "</td><td class=\"num\">");
	verdict_format_value(v, sizeof(v), r->base_median, r);
	html_esc(sb, r->in_base ? v : "-");
	strbuf_addstr(sb, "</td><td class=\"num\">");
	verdict_format_value(v, sizeof(v), r->head_median, r);
	html_esc(sb, r->in_head ? v : "-");
	strbuf_addstr(sb, "</td><td class=\"num\">");
	if (r->exact) {
		html_escf(sb, "%+.1f", r->head_median - r->base_median);
		strbuf_addstr(sb, "<br><small>exact, no noise</small>");
	} else if (!isnan(r->hl.rel_shift)) {
		strbuf_addstr(sb, "<strong>");
		html_esc(sb, pct(v, sizeof(v), r->hl.rel_shift));
		strbuf_addstr(sb, "</strong>");
		if (is_time(r)) {
			strbuf_addstr(sb, " ");
			html_esc(sb, sdur(d, sizeof(d), r->hl.shift));
		}
		strbuf_addstr(sb, "<br><small>");
		html_escf(sb, "%s to %s", pct(lo, sizeof(lo), r->hl.rel_lo),
			  pct(hi, sizeof(hi), r->hl.rel_hi));
		strbuf_addstr(sb, "</small>");
	} else {
		verdict_format_change(v, sizeof(v), r);
		html_esc(sb, v);
	}
	if (r->exact)
		strbuf_addstr(sb, "</td><td class=\"num\">-</td><td>");
	else if (r->q < 0.001)
		strbuf_addstr(sb, "</td><td class=\"num\">&lt;0.001</td><td>");
	else
		strbuf_addf(sb, "</td><td class=\"num\">%.2g</td><td>", r->q);
	if (r->role == COMPARE_ROLE_CONSEQUENCE)
		/* Grew because another operation did: no finding. */
		strbuf_addf(sb, "<span class=\"badge\">consequence</span>"
				"<br><small>%s with another operation</small>",
			    up ? "slower" : "faster");
	else if (r->finding)
		strbuf_addf(sb, "<span class=\"badge %s\">%s%s</span>",
			    r->regression ? "bad" : "ok",
			    is_time(r) ? (up ? "slower" : "faster") :
					 (up ? "more calls" : "fewer calls"),
			    r->role == COMPARE_ROLE_CAUSE ? ", cause" : "");
	else if (r->inconclusive)
		strbuf_addstr(sb, "<span class=\"badge warn\">cannot tell"
				  "</span>");
	else if (r->role == COMPARE_ROLE_CAUSE)
		strbuf_addstr(sb, "<span class=\"badge warn\">own time grew"
				  "</span>");
	else
		strbuf_addstr(sb, "<span class=\"badge\">no change</span>");
	if (r->gated_crit)
		strbuf_addstr(sb, " <span class=\"badge bad\">fails the "
				  "critical-path gate</span>");
	if (r->gated)
		strbuf_addstr(sb, " <span class=\"badge\">gated</span>");
	if (cause) {
		strbuf_addstr(sb, "<br><small>cause: ");
		html_esc(sb, sdur(d, sizeof(d), cause->crit.shift));
		/* More than the whole growth when other work got faster. */
		if (cause->share > 1)
			strbuf_addstr(sb, " on the critical path, more than "
					  "the iteration grew");
		else
			html_escf(sb, " on the critical path, %.0f%% of the "
				      "growth",
				  100 * cause->share);
		strbuf_addstr(sb, "</small>");
	}
	if (r->inconclusive && r->iterations_needed)
		strbuf_addf(sb, "<br><small>about %zu iterations per run "
				"would tell</small>",
			    r->iterations_needed);
	strbuf_addstr(sb, "</td></tr>\n");
}

static void change_table(struct strbuf *sb, const struct report_model *m,
			 const struct shown *rows, size_t n,
			 const struct report_trace *colors)
{
	const struct compare_result *c = m->cmp;
	size_t top = n < TABLE_TOP ? n : TABLE_TOP;

	if (!n) {
		strbuf_addstr(sb, "<p>No operation changed by more than the "
				  "noise allows.</p>\n");
		return;
	}
	table_head(sb);
	for (size_t i = 0; i < top; i++)
		table_row(sb, c, rows[i].row, colors);
	strbuf_addstr(sb, "</tbody></table></div>\n");
	if (top == n)
		return;
	strbuf_addf(sb, "<details class=\"rest\"><summary>%zu more row%s"
			"</summary>\n",
		    n - top, n - top == 1 ? "" : "s");
	table_head(sb);
	for (size_t i = top; i < n; i++)
		table_row(sb, c, rows[i].row, colors);
	strbuf_addstr(sb, "</tbody></table></div></details>\n");
}

/* ------------------------------------------------------------------ */
/* Distributions of both runs. */

static void distributions(struct html_charts *hc, struct strbuf *sb,
			  const struct report_model *m, const double *bms,
			  size_t nb, const double *hms, size_t nh)
{
	const struct report_model *base = m->base;
	struct html_chart c[3] = {
		{ "cdf",
		  "Iteration latency: the share of counted iterations that "
		  "finished within each time, base in blue and head in "
		  "orange. A curve further right is slower; a long tail on "
		  "the right, a slow minority.",
		  report_tmpl_cdf_gp, STRBUF_INIT, 0, 0, false },
		{ "drift",
		  "Each iteration's duration in run order, base and head: "
		  "warm-up (hollow), drift and outliers show here.",
		  report_tmpl_drift_gp, STRBUF_INIT, 0, 0, false },
		{ "throughput",
		  "Iterations finished in each second of each run.",
		  report_tmpl_throughput_gp, STRBUF_INIT, 0, 0, false },
	};
	bool want[3] = { false, false, false };
	struct strbuf bd = STRBUF_INIT, hd = STRBUF_INIT, titles = STRBUF_INIT;
	char *bp = NULL, *hp = NULL;

	strbuf_addf(&titles, "basetitle='base: run %lld'\n"
			     "headtitle='head: run %lld'\n",
		    (long long)base->run->id, (long long)m->run->id);
	if (nb && nh) {
		html_cdf_data(&bd, bms, nb);
		html_cdf_data(&hd, hms, nh);
		bp = html_charts_data(hc, bd.buf);
		hp = html_charts_data(hc, hd.buf);
		if (bp && hp) {
			strbuf_addf(&c[0].vars,
				    "%sbasefile='%s'\ndatafile='%s'\n"
				    "basep50=%.6f\nbasep90=%.6f\np50=%.6f\n"
				    "p90=%.6f\np99=%.6f\n",
				    titles.buf, bp, hp,
				    stats_percentile_sorted(bms, nb, 50),
				    stats_percentile_sorted(bms, nb, 90),
				    stats_percentile_sorted(hms, nh, 50),
				    stats_percentile_sorted(hms, nh, 90),
				    stats_percentile_sorted(hms, nh, 99));
			want[0] = true;
		}
		free(bp);
		free(hp);
	}
	if (base->nits && m->nits) {
		strbuf_reset(&bd);
		strbuf_reset(&hd);
		html_drift_data(&bd, base);
		html_drift_data(&hd, m);
		bp = html_charts_data(hc, bd.buf);
		hp = html_charts_data(hc, hd.buf);
		if (bp && hp) {
			strbuf_addf(&c[1].vars,
				    "%sbasefile='%s'\ndatafile='%s'\n"
				    "basemedian=%.6f\nmedian=%.6f\n",
				    titles.buf, bp, hp,
				    nb ? stats_median_sorted(bms, nb) : 0.0,
				    nh ? stats_median_sorted(hms, nh) : 0.0);
			want[1] = true;
		}
		free(bp);
		free(hp);
	}
	strbuf_reset(&bd);
	strbuf_reset(&hd);
	if (html_throughput_data(&bd, base) && html_throughput_data(&hd, m)) {
		bp = html_charts_data(hc, bd.buf);
		hp = html_charts_data(hc, hd.buf);
		if (bp && hp) {
			strbuf_addf(&c[2].vars,
				    "%sbasefile='%s'\ndatafile='%s'\n",
				    titles.buf, bp, hp);
			want[2] = true;
		}
		free(bp);
		free(hp);
	}
	if (want[0] || want[1] || want[2]) {
		strbuf_addstr(sb, "<h2 id=\"charts\">Distributions, base and "
				  "head</h2>\n<div class=\"charts\">\n");
		for (size_t i = 0; i < ARRAY_SIZE(c); i++)
			if (want[i])
				html_charts_draw(hc, sb, &c[i]);
		strbuf_addstr(sb, "</div>\n");
	}
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		strbuf_release(&c[i].vars);
	strbuf_release(&bd);
	strbuf_release(&hd);
	strbuf_release(&titles);
}

/* ------------------------------------------------------------------ */
/* The flame graph and the waterfalls. */

static void flame(struct strbuf *sb, const struct report_options *opt)
{
	strbuf_addstr(sb, "<h2 id=\"flame\">Where it changed</h2>\n");
	if (!opt->flame_svg) {
		strbuf_addstr(sb, "<p>No differential flame graph was made "
				  "for this page.</p>\n");
		return;
	}
	strbuf_addstr(sb,
		      "<p>All iterations of both runs merged into one call "
		      "tree: each box is an operation, stacked on the one "
		      "that called it, as wide as its time per iteration in "
		      "head; <span class=\"swatch slower\"></span>red is "
		      "slower than in base, <span class=\"swatch faster\">"
		      "</span>blue faster, grey unchanged, hatched only in "
		      "base. Hover a box for its times.</p>\n"
		      "<figure class=\"wide flame\">");
	html_inline_svg(sb, opt->flame_svg, "flame",
			"Differential flame graph of base against head");
	strbuf_addstr(sb, "</figure>\n");
}

static void one_waterfall(struct strbuf *sb, const char *side,
			  const struct report_model *m,
			  const struct report_trace *colors, double scale)
{
	char b[32];

	strbuf_addstr(sb, "<div class=\"side\"><h3>");
	html_escf(sb, "%s: run %lld", side, (long long)m->run->id);
	strbuf_addstr(sb, "</h3>\n");
	if (!m->median || !m->median_trace.nspans) {
		strbuf_addstr(sb, "<p>No counted iteration has spans in the "
				  "store.</p></div>\n");
		return;
	}
	strbuf_addstr(sb, "<p class=\"note\">");
	html_escf(sb, "Iteration %lld, %s, %zu spans. Trace ",
		  (long long)m->median->seq,
		  dur(b, sizeof(b), (double)m->median->dur_ns),
		  m->median_trace.nspans);
	strbuf_addstr(sb, "<code>");
	html_esc(sb, m->median_trace.id_hex);
	strbuf_addstr(sb, "</code>.</p>\n");
	html_waterfall(sb, &m->median_trace, colors, scale);
	strbuf_addstr(sb, "</div>\n");
}

static void waterfalls(struct strbuf *sb, const struct report_model *m,
		       const struct report_trace *colors)
{
	const struct report_trace *bt = &m->base->median_trace,
				  *ht = &m->median_trace;
	double scale = fmax((double)(bt->end_ns - bt->start_ns),
			    (double)(ht->end_ns - ht->start_ns));
	char b[32];

	strbuf_addstr(sb, "<h2 id=\"waterfall\">The median iteration, base "
			  "and head</h2>\n<p>");
	html_escf(sb,
		  "The iteration of median duration of each run, on one time "
		  "scale (0 to %s): a longer bar on the right is time "
		  "head spends that base did not. One row per span, coloured "
		  "by service; open a row for its attributes, error and "
		  "stack.",
		  dur(b, sizeof(b), scale > 0 ? scale : 0));
	strbuf_addstr(sb, "</p>\n");
	html_legend(sb, colors);
	strbuf_addstr(sb, "<div class=\"pair\">\n");
	one_waterfall(sb, "Base", m->base, colors, scale);
	one_waterfall(sb, "Head", m, colors, scale);
	strbuf_addstr(sb, "</div>\n");
}

static void palette_add(struct report_trace *colors, const char *s)
{
	for (size_t j = 0; j < colors->nservices; j++)
		if (!strcmp(colors->services[j], s))
			return;
	colors->services[colors->nservices++] = (char *)s;
}

/* One palette for both runs, so a service has one colour on the page:
 * the services of the base's median trace, the head's, then the
 * comparison's rows. The array is the caller's to free, its strings are
 * borrowed. */
static void palette(struct report_trace *colors, const struct report_model *m)
{
	const struct report_trace *bt = &m->base->median_trace,
				  *ht = &m->median_trace;
	size_t nrows = m->cmp ? m->cmp->nrows : 0;

	report_trace_init(colors);
	colors->services = xcalloc(bt->nservices + ht->nservices + nrows + 1,
				   sizeof(*colors->services));
	for (size_t i = 0; i < bt->nservices; i++)
		palette_add(colors, bt->services[i]);
	for (size_t i = 0; i < ht->nservices; i++)
		palette_add(colors, ht->services[i]);
	for (size_t i = 0; i < nrows; i++)
		palette_add(colors, m->cmp->rows[i].service);
}

/* ------------------------------------------------------------------ */
/* Commits. */

static const struct store_commit *commit_of(const struct store_run *r,
					    const char *repo)
{
	for (size_t i = 0; i < r->ncommits; i++)
		if (!strcmp(r->commits[i].repo, repo))
			return &r->commits[i];
	return NULL;
}

static void commit_cell(struct strbuf *sb, const struct store_commit *c)
{
	strbuf_addstr(sb, "<td>");
	if (!c) {
		strbuf_addstr(sb, "-</td>");
		return;
	}
	strbuf_addstr(sb, "<span class=\"mono\" title=\"");
	html_esc(sb, c->sha);
	strbuf_addstr(sb, "\">");
	html_escf(sb, "%.12s", c->sha);
	strbuf_addstr(sb, "</span>");
	if (c->dirty)
		strbuf_addstr(sb, " <span class=\"badge bad\">dirty</span>");
	if (c->subject) {
		strbuf_addstr(sb, "<br><small>");
		html_esc(sb, c->subject);
		strbuf_addstr(sb, "</small>");
	}
	strbuf_addstr(sb, "</td>");
}

static void commits(struct strbuf *sb, const struct report_model *m)
{
	const struct store_run *b = m->base->run, *h = m->run;

	strbuf_addstr(sb, "<h2 id=\"commits\">Commits under test</h2>\n");
	if (!b->ncommits && !h->ncommits) {
		strbuf_addstr(sb, "<p>Neither run recorded commits.</p>\n");
		return;
	}
	strbuf_addstr(sb, "<table><thead><tr><th>repository</th><th>base"
			  "</th><th>head</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < b->ncommits + h->ncommits; i++) {
		const struct store_commit *c = i < b->ncommits ?
						       &b->commits[i] :
						       &h->commits[i -
								   b->ncommits];

		/* Each repository once: the base's, then the head's new
		 * ones. */
		if (i >= b->ncommits && commit_of(b, c->repo))
			continue;
		strbuf_addstr(sb, "<tr><td>");
		html_esc(sb, c->repo);
		strbuf_addstr(sb, "</td>");
		commit_cell(sb, commit_of(b, c->repo));
		commit_cell(sb, commit_of(h, c->repo));
		strbuf_addstr(sb, "</tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table>\n");
}

/* ------------------------------------------------------------------ */
/* The runs of each side, when several were pooled. */

static bool pooled(const struct report_comparison *c)
{
	return c && (c->nbases > 1 || c->nheads > 1);
}

/* " Base pools runs 1, 2; head pools runs 3, 9, 10." */
static void pooled_lead(struct strbuf *sb, const struct report_comparison *c)
{
	const struct report_model *sides[2] = { c->bases, c->heads };
	const size_t n[2] = { c->nbases, c->nheads };

	for (int k = 0; k < 2; k++) {
		strbuf_addstr(sb, k ? "; head " : " Base ");
		if (n[k] < 2) {
			strbuf_addf(sb, "is run %lld",
				    (long long)sides[k][0].run->id);
			continue;
		}
		strbuf_addstr(sb, "pools runs ");
		for (size_t i = 0; i < n[k]; i++)
			strbuf_addf(sb, "%s%lld", i ? ", " : "",
				    (long long)sides[k][i].run->id);
	}
	strbuf_addstr(sb, ".");
}

static void run_row(struct strbuf *sb, const char *side,
		    const struct report_model *r)
{
	char b[32];

	strbuf_addstr(sb, "<tr><td>");
	html_esc(sb, side);
	strbuf_addf(sb, "</td><td class=\"num\">%lld</td><td>",
		    (long long)r->run->id);
	html_esc(sb, r->run->label ? r->run->label : "");
	strbuf_addstr(sb, "</td><td>");
	html_esc(sb, store_run_status_name(r->run->status));
	strbuf_addf(sb, "</td><td class=\"num\">%zu</td>"
			"<td class=\"num\">%zu</td><td class=\"num\">",
		    r->nits - r->nwarmup, r->nfailed);
	html_esc(sb, r->median ? dur(b, sizeof(b), (double)r->median->dur_ns)
			       : "-");
	strbuf_addf(sb, "</td><td class=\"num\">%lld</td><td>",
		    (long long)r->spans_dropped);
	for (size_t i = 0; i < r->run->ncommits; i++) {
		const struct store_commit *cm = &r->run->commits[i];

		strbuf_addstr(sb, i ? ", " : "");
		html_esc(sb, cm->repo);
		strbuf_addstr(sb, " <span class=\"mono\" title=\"");
		html_esc(sb, cm->sha);
		strbuf_addstr(sb, "\">");
		html_escf(sb, "%.12s", cm->sha);
		strbuf_addstr(sb, "</span>");
		if (cm->dirty)
			strbuf_addstr(sb, " <span class=\"badge bad\">dirty"
					  "</span>");
	}
	strbuf_addstr(sb, "</td></tr>\n");
}

/* Every run of each side, one row each. */
static void pooled_runs(struct strbuf *sb, const struct report_comparison *c)
{
	strbuf_addstr(sb, "<h2 id=\"runs\">Runs pooled</h2>\n<p>");
	html_escf(sb,
		  "The iterations of each side's runs are pooled, as if one "
		  "run had made them all: base %zu run%s, head %zu run%s. "
		  "The verdict and the change per operation are of the "
		  "pooled iterations; the summary, charts, median "
		  "iterations and commits above are of each side's first "
		  "run.",
		  c->nbases, c->nbases == 1 ? "" : "s", c->nheads,
		  c->nheads == 1 ? "" : "s");
	strbuf_addstr(sb, "</p>\n<table><thead><tr><th>side</th>"
			  "<th class=\"num\">run</th><th>label</th>"
			  "<th>status</th><th class=\"num\">iterations</th>"
			  "<th class=\"num\">failed</th>"
			  "<th class=\"num\">median</th>"
			  "<th class=\"num\">spans dropped</th>"
			  "<th>commits</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < c->nbases; i++)
		run_row(sb, "base", &c->bases[i]);
	for (size_t i = 0; i < c->nheads; i++)
		run_row(sb, "head", &c->heads[i]);
	strbuf_addstr(sb, "</tbody></table>\n");
}

/* The iteration tables of the runs after each side's first. */
static void pooled_iterations(struct strbuf *sb,
			      const struct report_comparison *c)
{
	char what[64];

	for (size_t i = 1; i < c->nbases; i++) {
		snprintf(what, sizeof(what), "Base, run %lld",
			 (long long)c->bases[i].run->id);
		html_iterations(sb, &c->bases[i], what);
	}
	for (size_t i = 1; i < c->nheads; i++) {
		snprintf(what, sizeof(what), "Head, run %lld",
			 (long long)c->heads[i].run->id);
		html_iterations(sb, &c->heads[i], what);
	}
}

/* ------------------------------------------------------------------ */
/* The page. */

int html_write_compare(FILE *out, const struct report_model *m,
		       const struct report_comparison *c,
		       const struct report_options *opt, char **cause)
{
	const struct report_model *base = m->base;
	struct strbuf body = STRBUF_INIT, warnings = STRBUF_INIT,
		      rest = STRBUF_INIT;
	struct html_charts hc;
	struct report_trace colors;
	struct shown *rows = NULL;
	size_t nrows = 0, nb, nh;
	double *bms = html_counted_ms(base, &nb);
	double *hms = html_counted_ms(m, &nh);
	char *title;
	int ret;

	palette(&colors, m);
	if (m->cmp)
		shown_rows(m->cmp, &rows, &nrows);
	html_charts_init(&hc, opt, &warnings);

	strbuf_addstr(&body, "<h1>");
	html_esc(&body, m->run->scenario);
	strbuf_addf(&body, ": <small>run %lld against run %lld</small>",
		    (long long)m->run->id, (long long)base->run->id);
	if (m->cmp) {
		strbuf_addf(&body, " <span class=\"badge %s\">",
			    verdict_class(m->cmp));
		html_esc(&body, verdict_word(m->cmp));
		strbuf_addstr(&body, "</span>");
	}
	strbuf_addstr(&body, "</h1>\n<p class=\"lead\">");
	html_escf(&body, "Base: run %lld%s%s, %s. Head: run %lld%s%s, %s.",
		  (long long)base->run->id, base->run->label ? " " : "",
		  base->run->label ? base->run->label : "",
		  store_run_status_name(base->run->status),
		  (long long)m->run->id, m->run->label ? " " : "",
		  m->run->label ? m->run->label : "",
		  store_run_status_name(m->run->status));
	if (pooled(c))
		pooled_lead(&body, c);
	strbuf_addstr(&body, "</p>\n");
	headline(&body, m);
	verdict_line(&body, m);

	/* Sections whose charts may add warnings, written before those
	 * are placed. */
	if (m->cmp) {
		strbuf_addstr(&rest, "<h2 id=\"changes\">What changed</h2>\n");
		change_chart(&hc, &rest, m, rows, nrows);
		change_table(&rest, m, rows, nrows, &colors);
	}
	gates(&rest, c);
	flame(&rest, opt);
	distributions(&hc, &rest, m, bms, nb, hms, nh);
	waterfalls(&rest, m, &colors);
	commits(&rest, m);
	if (pooled(c))
		pooled_runs(&rest, c);
	strbuf_addstr(&rest, "<h2 id=\"iterations\">Iterations</h2>\n");
	html_iterations(&rest, base, "Base");
	html_iterations(&rest, m, "Head");
	if (pooled(c))
		pooled_iterations(&rest, c);
	html_charts_release(&hc);

	if (base->nfailed || m->nfailed) {
		strbuf_addstr(&warnings, "<p class=\"warning\">");
		html_escf(&warnings,
			  "%zu iteration%s of base and %zu of head failed; "
			  "their durations are in the charts and marked in the "
			  "iteration tables.",
			  base->nfailed, base->nfailed == 1 ? "" : "s",
			  m->nfailed);
		strbuf_addstr(&warnings, "</p>\n");
	}
	if (base->spans_dropped || m->spans_dropped || base->corrupt ||
	    m->corrupt) {
		strbuf_addstr(&warnings, "<p class=\"warning\">");
		html_escf(&warnings,
			  "Spans dropped by their writers: %lld in base, %lld "
			  "in head; corrupt spool records: %lld and %lld. Some "
			  "traces are incomplete.",
			  (long long)base->spans_dropped,
			  (long long)m->spans_dropped, (long long)base->corrupt,
			  (long long)m->corrupt);
		strbuf_addstr(&warnings, "</p>\n");
	}
	strbuf_add(&body, warnings.buf, warnings.len);
	summary(&body, m, bms, nb, hms, nh);
	strbuf_add(&body, rest.buf, rest.len);

	title = xasprintf("harness: %s, run %lld against run %lld",
			  m->run->scenario, (long long)m->run->id,
			  (long long)base->run->id);
	ret = html_write_page(out, title, body.buf, cause);
	free(title);
	free(rows);
	free(colors.services);
	free(bms);
	free(hms);
	strbuf_release(&body);
	strbuf_release(&warnings);
	strbuf_release(&rest);
	return ret;
}
