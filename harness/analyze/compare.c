/* compare.c: base against head, operation by operation: rank tests,
 * shifts, false discovery control, exact counts, the verdict and what
 * explains an iteration slowdown (see compare.h for the rules). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/compare.h"
#include "util/error.h"
#include "util/strbuf.h"

void compare_options_init(struct compare_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->alpha = 0.05;
	opt->min_effect = 0.05;
	opt->power = 0.8;
	opt->fail_on_count_increase = true;
}

const char *compare_verdict_str(enum compare_verdict v)
{
	switch (v) {
	case COMPARE_PASS:
		return "pass";
	case COMPARE_REGRESSION:
		return "regression";
	case COMPARE_INCONCLUSIVE:
		return "inconclusive";
	}
	return "?";
}

static bool metric_matches(const struct gate_metric *m,
			   const struct compare_row *r)
{
	switch (m->subject) {
	case GATE_ITERATION:
		return !strcmp(r->kind, "iteration");
	case GATE_STEP:
		return !strcmp(r->kind, "step") && !strcmp(r->name, m->step);
	case GATE_OP:
		return !strcmp(r->service, m->service) &&
		       !strcmp(r->kind, m->kind) && !strcmp(r->name, m->name);
	default:
		return false;
	}
}

/* Cut the ".stat" off a formatted metric. */
static void strip_stat(char *s)
{
	char *dot = strrchr(s, '.'), *paren = strrchr(s, ')');

	if (dot && (!paren || dot > paren))
		*dot = '\0';
}

/* How a row is named in a reason: iteration, step(NAME) or op(S, K, N). */
static char *row_label(const struct compare_row *r)
{
	struct gate_metric m = { .subject = GATE_OP };
	char *s;

	if (!strcmp(r->kind, "iteration")) {
		m.subject = GATE_ITERATION;
	} else if (!strcmp(r->kind, "step")) {
		m.subject = GATE_STEP;
		m.step = (char *)r->name;
	} else {
		m.service = (char *)r->service;
		m.kind = (char *)r->kind;
		m.name = (char *)r->name;
	}
	s = gate_metric_format(&m);
	strip_stat(s);
	return s;
}

static double median(const double *x, size_t n)
{
	double v;

	if (stats_percentile(&v, x, n, 50) < 0)
		die("out of memory");
	return v;
}

static bool constant(const double *x, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (x[i] != x[0])
			return false;
	return true;
}

/* Test one row: medians, Mann-Whitney, Hodges-Lehmann. */
static void test_row(struct compare_row *r, const double *xa, size_t na,
		     const double *xb, size_t nb, double alpha)
{
	r->base_median = median(xa, na);
	r->head_median = median(xb, nb);
	if (stats_mann_whitney(&r->mwu, xa, na, xb, nb, STATS_MWU_AUTO) < 0 ||
	    stats_hodges_lehmann(&r->hl, xa, na, xb, nb, alpha) < 0)
		die("out of memory");
}

struct sides {
	const struct aggregate *base, *head;
	double *zeros;		/* max(niterations) zeros */
};

static void add_rows(struct compare_result *res, size_t *alloc,
		     const struct aggregate_op *a, const struct aggregate_op *b,
		     const struct sides *sd, const struct compare_options *opt)
{
	size_t na = sd->base->niterations, nb = sd->head->niterations;
	const struct aggregate_op *any = a ? a : b;
	struct compare_row *r;

	ALLOC_GROW(res->rows, res->nrows + 2, *alloc);
	for (int m = 0; m < 2; m++) {
		const double *xa, *xb;

		r = &res->rows[res->nrows++];
		memset(r, 0, sizeof(*r));
		r->service = any->service;
		r->kind = any->kind;
		r->name = any->name;
		r->measure = m ? COMPARE_COUNT : COMPARE_TIME;
		r->nbase = na;
		r->nhead = nb;
		r->in_base = a != NULL;
		r->in_head = b != NULL;
		xa = a ? (m ? a->count : a->total_ns) : sd->zeros;
		xb = b ? (m ? b->count : b->total_ns) : sd->zeros;
		for (size_t g = 0; g < opt->ngated; g++)
			r->gated |= metric_matches(&opt->gated[g], r);
		if (!opt->ngated)
			r->gated = !strcmp(r->kind, "iteration");
		if (m == COMPARE_COUNT && constant(xa, na) && constant(xb, nb)) {
			r->exact = true;
			r->base_median = xa[0];
			r->head_median = xb[0];
			r->finding = xa[0] != xb[0];
			r->regression = xb[0] > xa[0];
			r->q = r->finding ? 0 : 1;
			continue;
		}
		test_row(r, xa, na, xb, nb, opt->alpha);
	}
}

/* Iterations per run to detect min_effect on this row's data. */
static size_t need_for(const struct compare_row *r,
		       const struct aggregate_op *a,
		       const struct aggregate_op *b,
		       const struct compare_options *opt)
{
	double sa, sb;
	size_t n, have = r->nbase < r->nhead ? r->nbase : r->nhead;

	if (stats_robust_sd(&sa, a->total_ns, r->nbase) < 0 ||
	    stats_robust_sd(&sb, b->total_ns, r->nhead) < 0)
		die("out of memory");
	n = stats_mwu_sample_size(sa, sb,
				  opt->min_effect * fabs(r->base_median),
				  opt->alpha, opt->power);
	return n > have ? n : have + 1;
}

static int cmp_cause(const void *pa, const void *pb)
{
	const struct compare_cause *a = pa, *b = pb;

	if (a->crit.shift != b->crit.shift)
		return a->crit.shift > b->crit.shift ? -1 : 1;
	return (a->row > b->row) - (a->row < b->row);
}

static void explain(struct compare_result *res, const struct sides *sd,
		    const struct compare_options *opt)
{
	const struct compare_row *it = NULL;
	struct compare_cause *cand;
	double *p;
	size_t ncand = 0;

	for (size_t i = 0; i < res->nrows && !it; i++)
		if (res->rows[i].measure == COMPARE_TIME &&
		    !strcmp(res->rows[i].kind, "iteration"))
			it = &res->rows[i];
	if (!it || !it->regression)
		return;
	/* Every operation's critical time is tested; the p-values are
	 * corrected together, so that among fifty unchanged operations
	 * none is blamed by chance. */
	cand = xcalloc(res->nrows, sizeof(*cand));
	p = xcalloc(res->nrows, sizeof(*p));
	for (size_t i = 0; i < res->nrows; i++) {
		const struct compare_row *r = &res->rows[i];
		const struct aggregate_op *a, *b;
		const double *xa, *xb;
		struct stats_mwu mwu;

		if (r->measure != COMPARE_TIME || !strcmp(r->kind, "iteration") ||
		    !strcmp(r->kind, "step"))
			continue;
		a = aggregate_find(sd->base, r->service, r->kind, r->name);
		b = aggregate_find(sd->head, r->service, r->kind, r->name);
		xa = a ? a->crit_ns : sd->zeros;
		xb = b ? b->crit_ns : sd->zeros;
		cand[ncand].row = i;
		if (stats_hodges_lehmann(&cand[ncand].crit, xa, r->nbase, xb,
					 r->nhead, opt->alpha) < 0 ||
		    stats_mann_whitney(&mwu, xa, r->nbase, xb, r->nhead,
				       STATS_MWU_AUTO) < 0)
			die("out of memory");
		p[ncand++] = mwu.p;
	}
	if (stats_bh(p, NULL, p, ncand, opt->alpha) < 0)
		die("out of memory");
	for (size_t k = 0; k < ncand; k++) {
		if (!(p[k] < opt->alpha && cand[k].crit.lo > 0))
			continue;
		cand[k].share = cand[k].crit.shift / it->hl.shift;
		cand[res->ncauses++] = cand[k];
	}
	free(p);
	if (!res->ncauses) {
		free(cand);
		return;
	}
	res->causes = cand;
	qsort(res->causes, res->ncauses, sizeof(*res->causes), cmp_cause);
}

static void add_shift(struct strbuf *sb, const struct compare_row *r)
{
	if (isnan(r->hl.rel_shift))
		strbuf_addf(sb, "%+.6g (CI %+.6g to %+.6g)", r->hl.shift,
			    r->hl.lo, r->hl.hi);
	else
		strbuf_addf(sb, "%+.1f%% (CI %+.1f%% to %+.1f%%)",
			    100 * r->hl.rel_shift, 100 * r->hl.rel_lo,
			    100 * r->hl.rel_hi);
}

int compare_aggregates(struct compare_result *res,
		       const struct aggregate *base,
		       const struct aggregate *head,
		       const struct compare_options *opt, char **cause)
{
	struct compare_options defaults;
	struct sides sd = { base, head, NULL };
	struct strbuf reason = STRBUF_INIT;
	const struct compare_row *first_reg = NULL, *first_inc = NULL;
	const struct compare_row *iter_row = NULL;
	char *missing = NULL;
	size_t alloc = 0, i = 0, j = 0, ntested = 0;
	double *p, *q;

	memset(res, 0, sizeof(*res));
	if (!opt) {
		compare_options_init(&defaults);
		opt = &defaults;
	}
	if (!base->niterations || !head->niterations) {
		*cause = xasprintf("the %s run has no iterations to compare",
				   base->niterations ? "head" : "base");
		return -1;
	}
	sd.zeros = xcalloc(base->niterations > head->niterations
				   ? base->niterations
				   : head->niterations,
			   sizeof(double));

	/* Both op tables are sorted by key: merge them. */
	while (i < base->nops || j < head->nops) {
		const struct aggregate_op *a = NULL, *b = NULL;
		int c;

		if (i == base->nops)
			c = 1;
		else if (j == head->nops)
			c = -1;
		else if (!(c = strcmp(base->ops[i].service,
				      head->ops[j].service)) &&
			 !(c = strcmp(base->ops[i].kind, head->ops[j].kind)))
			c = strcmp(base->ops[i].name, head->ops[j].name);
		if (c <= 0)
			a = &base->ops[i++];
		if (c >= 0)
			b = &head->ops[j++];
		add_rows(res, &alloc, a, b, &sd, opt);
	}

	/* One family for every tested row. */
	p = xmalloc((res->nrows ? res->nrows : 1) * sizeof(*p));
	q = xmalloc((res->nrows ? res->nrows : 1) * sizeof(*q));
	for (size_t k = 0; k < res->nrows; k++)
		if (!res->rows[k].exact)
			p[ntested++] = res->rows[k].mwu.p;
	if (stats_bh(q, NULL, p, ntested, opt->alpha) < 0)
		die("out of memory");
	ntested = 0;
	for (size_t k = 0; k < res->nrows; k++) {
		struct compare_row *r = &res->rows[k];
		bool big;

		if (r->exact) {
			res->nfindings += r->finding;
			continue;
		}
		r->q = q[ntested++];
		big = isnan(r->hl.rel_shift)
			      ? r->hl.shift != 0
			      : fabs(r->hl.rel_shift) >= opt->min_effect;
		r->finding = r->q < opt->alpha && big;
		r->regression = r->finding && r->hl.shift > 0;
		res->nfindings += r->finding;
	}
	free(p);
	free(q);

	/* The verdict. */
	for (size_t k = 0; k < res->nrows; k++) {
		struct compare_row *r = &res->rows[k];

		if (r->measure == COMPARE_TIME && r->gated && !iter_row)
			iter_row = r;
		if (r->regression && !first_reg &&
		    ((r->measure == COMPARE_TIME && r->gated) ||
		     (r->measure == COMPARE_COUNT &&
		      opt->fail_on_count_increase)))
			first_reg = r;
		if (r->measure != COMPARE_TIME || !r->gated || r->finding)
			continue;
		if (!r->in_base || !r->in_head) {
			r->inconclusive = true;
		} else if (!isnan(r->hl.rel_hi) &&
			   r->hl.rel_hi >= opt->min_effect) {
			r->inconclusive = true;
			r->iterations_needed = need_for(
				r,
				aggregate_find(base, r->service, r->kind,
					       r->name),
				aggregate_find(head, r->service, r->kind,
					       r->name),
				opt);
			if (r->iterations_needed > res->iterations_needed)
				res->iterations_needed = r->iterations_needed;
		}
		if (r->inconclusive && !first_inc)
			first_inc = r;
	}
	/* A gated metric that matches no row at all has no data either. */
	for (size_t g = 0; g < opt->ngated && !missing; g++) {
		bool seen = false;

		for (size_t k = 0; k < res->nrows && !seen; k++)
			seen = metric_matches(&opt->gated[g], &res->rows[k]);
		if (!seen) {
			missing = gate_metric_format(&opt->gated[g]);
			strip_stat(missing);
		}
	}

	if (first_reg) {
		char *label = row_label(first_reg);

		res->verdict = COMPARE_REGRESSION;
		if (first_reg->exact) {
			strbuf_addf(&reason,
				    "%s: %.0f spans per iteration, was %.0f",
				    label, first_reg->head_median,
				    first_reg->base_median);
		} else {
			strbuf_addf(&reason, "%s%s: ", label,
				    first_reg->measure == COMPARE_COUNT
					    ? " count"
					    : "");
			add_shift(&reason, first_reg);
			strbuf_addf(&reason, ", q=%.2g", first_reg->q);
		}
		free(label);
	} else if (first_inc || missing) {
		res->verdict = COMPARE_INCONCLUSIVE;
		if (missing) {
			strbuf_addf(&reason, "%s: no data in both runs",
				    missing);
		} else if (!first_inc->in_base || !first_inc->in_head) {
			char *label = row_label(first_inc);

			strbuf_addf(&reason, "%s: no data in the %s run", label,
				    first_inc->in_base ? "head" : "base");
			free(label);
		} else {
			char *label = row_label(first_inc);

			strbuf_addf(&reason, "%s: ", label);
			add_shift(&reason, first_inc);
			strbuf_addf(&reason,
				    " cannot rule out a %.0f%% regression: "
				    "need about %zu iterations per run (have "
				    "%zu and %zu)",
				    100 * opt->min_effect,
				    first_inc->iterations_needed,
				    first_inc->nbase, first_inc->nhead);
			free(label);
		}
	} else {
		res->verdict = COMPARE_PASS;
		strbuf_addf(&reason, "no regression of %.0f%% or more",
			    100 * opt->min_effect);
		if (iter_row) {
			char *label = row_label(iter_row);

			strbuf_addf(&reason, " in %s: ", label);
			add_shift(&reason, iter_row);
			free(label);
		}
	}
	free(missing);
	res->reason = strbuf_detach(&reason, NULL);

	explain(res, &sd, opt);
	free(sd.zeros);
	return 0;
}

void compare_result_release(struct compare_result *res)
{
	if (!res)
		return;
	free(res->rows);
	free(res->causes);
	free(res->reason);
	memset(res, 0, sizeof(*res));
}
