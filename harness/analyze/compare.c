/* compare.c: base against head, operation by operation: shifts on the log
 * scale per round, the machine factor taken out, rounds combined, false
 * discovery control, exact counts, roles and the verdict (compare.h has
 * the rules, harness/analyze/README.md the reasons). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/compare.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Fewer operations than this in a block: no machine factor (too few to
 * tell the machine from the code). */
#define MACHINE_MIN_OPS 5
/* The smallest standard error of a log shift: 0.1%, so that an operation
 * whose values are all equal does not count as infinitely precise. */
#define SE_FLOOR 1e-3

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
	case COMPARE_MACHINE:
		return "machine";
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

static bool is_harness_kind(const char *kind)
{
	return !strcmp(kind, "iteration") || !strcmp(kind, "step");
}

/* A caller's own time is the wait outside its children: network and
 * queueing behind the callee. */
static bool is_client_kind(const char *kind)
{
	return !strcmp(kind, "rest.call") || !strcmp(kind, "rpc.call");
}

/* Whether an operation's critical-path time is gated: the services' own
 * work. Harness's spans are the client's view, and a caller's own time
 * (rest.call, rpc.call) is the wait for a callee, in the network or in
 * the callee's queue: what the callee did shows in its own spans. */
static bool gateable(const struct compare_row *r)
{
	return strcmp(r->service, "harness") && !is_client_kind(r->kind) &&
	       !is_harness_kind(r->kind);
}

enum measure {
	M_TOTAL,
	M_SELF,
	M_CRIT,
	M_COUNT,
	M_WORK,		/* the services' critical-path work: no op */
	NMEASURES,
};

/* One side's values of a measure in one aggregate; zeros when the
 * operation did not run there. */
static const double *values(const struct aggregate_op *op, enum measure m,
			    const double *zeros)
{
	if (!op)
		return zeros;
	switch (m) {
	case M_TOTAL:
		return op->total_ns;
	case M_SELF:
		return op->self_ns;
	case M_CRIT:
		return op->crit_ns;
	case M_COUNT:
		return op->count;
	default:
		return zeros;
	}
}

/* The log offset of a measure: 1us (one count) + 1% of the mean. */
static double offset_for(enum measure m, const double *xa, size_t na,
			 const double *xb, size_t nb)
{
	double sum = 0;

	for (size_t i = 0; i < na; i++)
		sum += xa[i];
	for (size_t i = 0; i < nb; i++)
		sum += xb[i];
	sum /= (double)(na + nb ? na + nb : 1);
	return (m == M_COUNT ? 1 : 1000) + 0.01 * sum;
}

/* The log shift of one block, head - base, and its variance. */
static void block_shift(double *d, double *var, const double *xa, size_t na,
			const double *xb, size_t nb, double c, double *scratch)
{
	struct stats_hl hl;
	double se;

	stats_log_transform(scratch, xa, na, c);
	stats_log_transform(scratch + na, xb, nb, c);
	if (stats_hodges_lehmann(&hl, scratch, na, scratch + na, nb, 0.05) <
	    0)
		die("out of memory");
	se = stats_hl_se(&hl, SE_FLOOR);
	*d = hl.shift;
	*var = se * se;
}

/* Everything the comparison works on. */
struct work {
	const struct aggregate *base, *head;	/* pooled */
	const struct aggregate *bb, *hb;	/* blocks in use */
	size_t nblocks;
	double *zeros;
	/* Per block: the critical-path work per iteration of each side. */
	double **work_base, **work_head;
	double *work_pool_base;
	double *scratch;
	/* Per block: machine factor, the operations' spread around it
	 * (tau^2) and the factor's own variance. */
	double *g, *tau2, *gvar;
	double level;
};

static double *side_work(const struct aggregate *agg)
{
	double *w = xcalloc(agg->niterations ? agg->niterations : 1,
			    sizeof(*w));

	for (size_t i = 0; i < agg->nops; i++) {
		if (is_harness_kind(agg->ops[i].kind))
			continue;
		for (size_t k = 0; k < agg->niterations; k++)
			w[k] += agg->ops[i].crit_ns[k];
	}
	return w;
}

static void block_values(const struct work *wk, size_t b,
			 const struct compare_row *r, enum measure m,
			 const double **xa, const double **xb)
{
	const struct aggregate *a = &wk->bb[b], *h = &wk->hb[b];

	if (m == M_WORK) {
		*xa = wk->work_base[b];
		*xb = wk->work_head[b];
		return;
	}
	*xa = values(aggregate_find(a, r->service, r->kind, r->name), m,
		     wk->zeros);
	*xb = values(aggregate_find(h, r->service, r->kind, r->name), m,
		     wk->zeros);
}

/* The machine factor of every block: the median log shift of the
 * operations' self times, and their spread around it. */
static void machine_factors(struct work *wk, struct compare_result *res)
{
	size_t maxops = 0;
	double *d, *v, *dev;

	for (size_t b = 0; b < wk->nblocks; b++)
		if (wk->bb[b].nops > maxops)
			maxops = wk->bb[b].nops;
	d = xcalloc(maxops + 1, sizeof(*d));
	v = xcalloc(maxops + 1, sizeof(*v));
	dev = xcalloc(maxops + 1, sizeof(*dev));
	for (size_t b = 0; b < wk->nblocks; b++) {
		const struct aggregate *a = &wk->bb[b], *h = &wk->hb[b];
		size_t k = 0, na = a->niterations, nh = h->niterations;
		double mad, medvar;

		for (size_t i = 0; i < a->nops; i++) {
			const struct aggregate_op *oa = &a->ops[i], *oh;
			double c;

			if (is_harness_kind(oa->kind))
				continue;
			oh = aggregate_find(h, oa->service, oa->kind,
					    oa->name);
			if (!oh || !(median(oa->self_ns, na) > 0) ||
			    !(median(oh->self_ns, nh) > 0))
				continue;
			c = offset_for(M_SELF, oa->self_ns, na, oh->self_ns,
				       nh);
			block_shift(&d[k], &v[k], oa->self_ns, na,
				    oh->self_ns, nh, c, wk->scratch);
			k++;
		}
		if (k < MACHINE_MIN_OPS) {
			wk->g[b] = 0;
			wk->tau2[b] = 0;
			wk->gvar[b] = 0;
			continue;
		}
		wk->g[b] = median(d, k);
		for (size_t i = 0; i < k; i++)
			dev[i] = d[i] - wk->g[b];
		if (stats_mad(&mad, dev, k) < 0)
			die("out of memory");
		medvar = median(v, k);
		mad *= 1.4826;
		wk->tau2[b] = mad * mad > medvar ? mad * mad - medvar : 0;
		/* The variance of a median of k values: pi/2 s^2 / k. */
		wk->gvar[b] = M_PI / 2 * (wk->tau2[b] + medvar) / (double)k;
		res->noise.block_machine[b] = wk->g[b];
	}
	free(d);
	free(v);
	free(dev);
}

/* Typical within-run spread of a block's side: the median over the
 * operations of the robust standard deviation of ln(self time). */
static double side_spread(const struct aggregate *agg, double *scratch)
{
	double *sd = xcalloc(agg->nops + 1, sizeof(*sd));
	size_t k = 0;
	double out;

	for (size_t i = 0; i < agg->nops; i++) {
		const struct aggregate_op *op = &agg->ops[i];
		double c;

		if (is_harness_kind(op->kind) ||
		    !(median(op->self_ns, agg->niterations) > 0))
			continue;
		c = offset_for(M_SELF, op->self_ns, agg->niterations, NULL, 0);
		stats_log_transform(scratch, op->self_ns, agg->niterations, c);
		if (stats_robust_sd(&sd[k], scratch, agg->niterations) < 0)
			die("out of memory");
		k++;
	}
	out = k ? median(sd, k) : NAN;
	free(sd);
	return out;
}

/* Test one measure of one row: per block, net of the machine factor,
 * blocks combined. */
static void estimate(struct compare_est *e, const struct work *wk,
		     const struct compare_row *r, enum measure m, bool net,
		     double base_mean)
{
	double *d = xcalloc(wk->nblocks, sizeof(*d));
	double *var = xcalloc(wk->nblocks, sizeof(*var));
	double *rawd = xcalloc(wk->nblocks, sizeof(*rawd));
	struct stats_combined comb, raw;
	double csum = 0;
	size_t k = 0;

	memset(e, 0, sizeof(*e));
	for (size_t b = 0; b < wk->nblocks; b++) {
		size_t na = wk->bb[b].niterations, nb = wk->hb[b].niterations;
		const double *xa, *xb;
		double c;

		block_values(wk, b, r, m, &xa, &xb);
		c = offset_for(m, xa, na, xb, nb);
		csum += c;
		block_shift(&rawd[k], &var[k], xa, na, xb, nb, c,
			    wk->scratch);
		d[k] = rawd[k];
		if (net) {
			d[k] -= wk->g[b];
			var[k] += wk->tau2[b] + wk->gvar[b];
		}
		k++;
	}
	if (stats_combine_blocks(&comb, d, var, k, wk->level) < 0 ||
	    stats_combine_blocks(&raw, rawd, var, k, wk->level) < 0)
		die("bad block estimate");
	e->tested = true;
	e->est = comb.est;
	e->lo = comb.lo;
	e->hi = comb.hi;
	e->se = comb.se;
	e->p = comb.p;
	e->q = comb.p;
	e->raw = raw.est;
	/* On the scale ln(x + c), a shift d scales x + c by exp(d). */
	base_mean += csum / (double)k;
	e->abs_shift = base_mean * expm1(e->est);
	e->abs_lo = base_mean * expm1(e->lo);
	e->abs_hi = base_mean * expm1(e->hi);
	free(d);
	free(var);
	free(rawd);
}

static double mean_of(const double *x, size_t n)
{
	double m = stats_mean(x, n);

	return isnan(m) ? 0 : m;
}

static void add_rows(struct compare_result *res, size_t *alloc,
		     const struct aggregate_op *a, const struct aggregate_op *b,
		     const struct work *wk, const struct compare_options *opt)
{
	size_t na = wk->base->niterations, nb = wk->head->niterations;
	const struct aggregate_op *any = a ? a : b;
	bool harness_kind = is_harness_kind(any->kind);

	ALLOC_GROW(res->rows, res->nrows + 2, *alloc);
	for (int m = 0; m < 2; m++) {
		struct compare_row *r = &res->rows[res->nrows++];
		const double *xa, *xb;

		memset(r, 0, sizeof(*r));
		r->service = any->service;
		r->kind = any->kind;
		r->name = any->name;
		r->measure = m ? COMPARE_COUNT : COMPARE_TIME;
		r->nbase = na;
		r->nhead = nb;
		r->in_base = a != NULL;
		r->in_head = b != NULL;
		xa = a ? (m ? a->count : a->total_ns) : wk->zeros;
		xb = b ? (m ? b->count : b->total_ns) : wk->zeros;
		for (size_t g = 0; g < opt->ngated; g++)
			r->gated |= metric_matches(&opt->gated[g], r);
		r->base_median = median(xa, na);
		r->head_median = median(xb, nb);
		if (m == COMPARE_COUNT && constant(xa, na) && constant(xb, nb)) {
			r->exact = true;
			r->base_median = xa[0];
			r->head_median = xb[0];
			r->finding = xa[0] != xb[0];
			r->regression = xb[0] > xa[0];
			r->q = r->finding ? 0 : 1;
			continue;
		}
		if (stats_mann_whitney(&r->mwu, xa, na, xb, nb,
				       STATS_MWU_AUTO) < 0 ||
		    stats_hodges_lehmann(&r->hl, xa, na, xb, nb, wk->level) <
			    0)
			die("out of memory");
		/* Counts do not scale with the machine's speed. */
		estimate(&r->total, wk, r, m ? M_COUNT : M_TOTAL, !m,
			 mean_of(xa, na));
		if (m == COMPARE_TIME && !harness_kind) {
			estimate(&r->self, wk, r, M_SELF, true,
				 a ? mean_of(a->self_ns, na) : 0);
			estimate(&r->crit, wk, r, M_CRIT, true,
				 a ? mean_of(a->crit_ns, na) : 0);
		}
	}
}

/* The shown change of a row from its log-scale estimate. */
static void set_change(struct stats_hl *hl, const struct compare_est *e,
		       double base_median, double level)
{
	if (!(base_median > 0))
		return;		/* keep the plain shift: no ratio of 0 */
	hl->rel_shift = expm1(e->est);
	hl->rel_lo = expm1(e->lo);
	hl->rel_hi = expm1(e->hi);
	hl->shift = base_median * hl->rel_shift;
	hl->lo = base_median * hl->rel_lo;
	hl->hi = base_median * hl->rel_hi;
	hl->conf = 1 - level;
}

/* BH over one family of estimates: M picks the family (total times,
 * counts, self or critical-path times). */
static void adjust(struct compare_result *res, enum measure m, double level)
{
	double *p = xcalloc(res->nrows + 1, sizeof(*p));
	size_t n = 0, k = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < res->nrows; i++) {
			struct compare_row *r = &res->rows[i];
			struct compare_est *e =
				m == M_SELF   ? &r->self
				: m == M_CRIT ? &r->crit
					      : &r->total;

			if (!e->tested)
				continue;
			if ((m == M_COUNT) != (r->measure == COMPARE_COUNT))
				continue;
			if (!pass)
				p[n++] = e->p;
			else
				e->q = p[k++];
		}
		if (!pass && stats_bh(p, NULL, p, n, level) < 0)
			die("out of memory");
	}
	free(p);
}

/* A change that matters: significant, its interval clear of 0, and its
 * interval reaching min_effect on its side (a change proven smaller than
 * min_effect does not matter; one that may be that large does). */
static bool matters(double q, double level, double lo, double hi,
		    double min_effect)
{
	if (!(q < level))
		return false;
	if (isnan(lo) || isnan(hi))
		return true;
	return (lo > 0 && hi >= min_effect) || (hi < 0 && lo <= -min_effect);
}

/* Iterations per run that would bring an estimate's interval under the
 * threshold (log scale), at the requested power. */
static size_t need_for(const struct compare_est *e, double thr, size_t have,
		       const struct compare_options *opt, double level)
{
	double za = stats_norm_ppf(1 - level / 2);
	double zb = stats_norm_ppf(opt->power);
	double room = thr - (e->est > 0 ? e->est : 0), f;

	if (room < thr / 4)
		room = thr / 4;
	if (!(room > 0))
		return have + 1;
	f = (za + zb) * e->se / room;
	f = (double)have * f * f;
	if (f > 1e9)
		f = 1e9;
	return f > (double)have ? (size_t)ceil(f) : have + 1;
}

static int cmp_cause(const void *pa, const void *pb)
{
	const struct compare_cause *a = pa, *b = pb;

	if (a->crit.shift != b->crit.shift)
		return a->crit.shift > b->crit.shift ? -1 : 1;
	return (a->row > b->row) - (a->row < b->row);
}

/* The machine-wide shift: its factor over the blocks, and whether most
 * operations of most services moved with it. */
static void judge_machine(struct compare_result *res, const struct work *wk,
			  const struct compare_options *opt)
{
	struct compare_machine *mc = &res->machine;
	double *var = xcalloc(wk->nblocks, sizeof(*var));
	double f, half;
	const char *svc = NULL;
	double *svc_d = xcalloc(res->nrows + 1, sizeof(*svc_d));
	size_t nsvc_d = 0, usable = 0;

	for (size_t b = 0; b < wk->nblocks; b++) {
		var[b] = wk->gvar[b];
		if (var[b] > 0)
			usable++;
	}
	if (usable < wk->nblocks || !wk->nblocks) {
		free(var);
		free(svc_d);
		return;
	}
	if (stats_combine_blocks(&mc->factor, wk->g, var, wk->nblocks,
				 wk->level) < 0)
		die("bad machine factor");
	f = mc->factor.est;
	half = fabs(f) / 2;
	/* Rows are sorted by service: the median raw self shift of each
	 * service's operations. */
	for (size_t i = 0; i <= res->nrows; i++) {
		const struct compare_row *r = i < res->nrows ? &res->rows[i]
							     : NULL;

		if (r && (r->measure != COMPARE_TIME || !r->self.tested ||
			  !r->in_base || !r->in_head ||
			  !(r->base_median > 0)))
			continue;
		if (svc && (!r || strcmp(r->service, svc))) {
			double md = median(svc_d, nsvc_d);

			mc->nservices++;
			if ((f > 0 ? md >= half : md <= -half) && half > 0)
				mc->nservices_with++;
			nsvc_d = 0;
		}
		if (!r)
			break;
		svc = r->service;
		svc_d[nsvc_d++] = r->self.raw;
		mc->nops++;
		if (r->self.raw >= half && half > 0)
			mc->nup++;
		else if (r->self.raw <= -half && half > 0)
			mc->ndown++;
	}
	mc->sign_p = stats_sign_test(f > 0 ? mc->nup : mc->ndown,
				     mc->nup + mc->ndown);
	mc->shifted = mc->factor.p < wk->level &&
		      fabs(expm1(f)) >= opt->min_effect &&
		      mc->sign_p < wk->level &&
		      3 * mc->nservices_with >= 2 * mc->nservices &&
		      3 * (f > 0 ? mc->nup : mc->ndown) >= 2 * mc->nops;
	free(var);
	free(svc_d);
}

static void add_change(struct strbuf *sb, const struct compare_row *r)
{
	if (isnan(r->hl.rel_shift))
		strbuf_addf(sb, "%+.6g (CI %+.6g to %+.6g)", r->hl.shift,
			    r->hl.lo, r->hl.hi);
	else
		strbuf_addf(sb, "%+.1f%% (CI %+.1f%% to %+.1f%%)",
			    100 * r->hl.rel_shift, 100 * r->hl.rel_lo,
			    100 * r->hl.rel_hi);
}

static void add_ms(struct strbuf *sb, double ns)
{
	strbuf_addf(sb, "%+.2fms", ns / 1e6);
}

/* Causes: the operations whose own time grew and whose critical-path
 * time grew with it, biggest first. */
static void find_causes(struct compare_result *res, double iter_median)
{
	res->causes = xcalloc(res->nrows + 1, sizeof(*res->causes));
	for (size_t i = 0; i < res->nrows; i++) {
		struct compare_row *r = &res->rows[i];
		struct compare_cause *c;

		if (r->role != COMPARE_ROLE_CAUSE || !r->crit.tested ||
		    !(r->crit.q < res->level) || !(r->crit.lo > 0))
			continue;
		c = &res->causes[res->ncauses++];
		c->row = i;
		c->crit.shift = r->crit.abs_shift;
		c->crit.hi = r->crit.abs_hi;
		c->crit.lo = r->crit.abs_lo;
		c->crit.rel_shift = expm1(r->crit.est);
		c->crit.rel_lo = expm1(r->crit.lo);
		c->crit.rel_hi = expm1(r->crit.hi);
		c->crit.conf = 1 - res->level;
		c->share = iter_median > 0 ? c->crit.shift / iter_median : NAN;
	}
	if (!res->ncauses) {
		free(res->causes);
		res->causes = NULL;
		return;
	}
	qsort(res->causes, res->ncauses, sizeof(*res->causes), cmp_cause);
}

static void work_release(struct work *wk)
{
	for (size_t b = 0; b < wk->nblocks && wk->work_base; b++) {
		free(wk->work_base[b]);
		free(wk->work_head[b]);
	}
	free(wk->work_base);
	free(wk->work_head);
	free(wk->zeros);
	free(wk->scratch);
	free(wk->g);
	free(wk->tau2);
	free(wk->gvar);
}

int compare_blocks(struct compare_result *res, const struct aggregate *base,
		   const struct aggregate *head,
		   const struct aggregate *base_blocks,
		   const struct aggregate *head_blocks, size_t nblocks,
		   const struct compare_options *opt, char **cause)
{
	struct compare_options defaults;
	struct work wk;
	struct strbuf reason = STRBUF_INIT;
	const struct compare_row *first_reg = NULL, *first_inc = NULL;
	const struct compare_row *first_count = NULL, *iter_row = NULL;
	struct compare_row *worst_crit = NULL;
	char *missing = NULL;
	size_t alloc = 0, i = 0, j = 0, maxn, nother_causes = 0;
	double iter_median = 0, floor_ns;
	bool gate_crit;

	memset(res, 0, sizeof(*res));
	memset(&wk, 0, sizeof(wk));
	if (!opt) {
		compare_options_init(&defaults);
		opt = &defaults;
	}
	if (!base->niterations || !head->niterations) {
		*cause = xasprintf("the %s run has no iterations to compare",
				   base->niterations ? "head" : "base");
		return -1;
	}
	gate_crit = opt->critical_path || !opt->ngated;
	wk.base = base;
	wk.head = head;
	wk.level = stats_alpha_at_look(opt->alpha, opt->look);
	res->level = wk.level;
	/* Blocks with iterations on both sides; none usable: the pooled
	 * sides are the one block. */
	{
		size_t used = 0;

		for (size_t b = 0; b < nblocks; b++)
			used += base_blocks[b].niterations &&
				head_blocks[b].niterations;
		if (used == nblocks && nblocks) {
			wk.bb = base_blocks;
			wk.hb = head_blocks;
			wk.nblocks = nblocks;
		} else {
			wk.bb = base;
			wk.hb = head;
			wk.nblocks = 1;
		}
	}
	maxn = base->niterations > head->niterations ? base->niterations
						     : head->niterations;
	wk.zeros = xcalloc(maxn, sizeof(double));
	wk.scratch = xcalloc(2 * maxn, sizeof(double));
	wk.g = xcalloc(wk.nblocks, sizeof(double));
	wk.tau2 = xcalloc(wk.nblocks, sizeof(double));
	wk.gvar = xcalloc(wk.nblocks, sizeof(double));
	wk.work_base = xcalloc(wk.nblocks, sizeof(double *));
	wk.work_head = xcalloc(wk.nblocks, sizeof(double *));
	res->noise.nblocks = wk.nblocks;
	res->noise.base_spread = xcalloc(wk.nblocks, sizeof(double));
	res->noise.head_spread = xcalloc(wk.nblocks, sizeof(double));
	res->noise.block_machine = xcalloc(wk.nblocks, sizeof(double));
	for (size_t b = 0; b < wk.nblocks; b++) {
		wk.work_base[b] = side_work(&wk.bb[b]);
		wk.work_head[b] = side_work(&wk.hb[b]);
		res->noise.base_spread[b] = side_spread(&wk.bb[b], wk.scratch);
		res->noise.head_spread[b] = side_spread(&wk.hb[b], wk.scratch);
	}
	machine_factors(&wk, res);
	{
		double *t = xcalloc(wk.nblocks, sizeof(double));

		for (size_t b = 0; b < wk.nblocks; b++)
			t[b] = sqrt(wk.tau2[b]);
		res->noise.op_spread = median(t, wk.nblocks);
		res->noise.drift = wk.nblocks > 1
					   ? stats_stddev(wk.g, wk.nblocks)
					   : 0;
		free(t);
	}

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
		add_rows(res, &alloc, a, b, &wk, opt);
	}
	iter_median = median(base->iter_ns, base->niterations);
	res->widest = SIZE_MAX;
	res->threshold_ns = opt->min_effect * iter_median;

	/* The services' critical-path work. */
	{
		struct compare_row w = { .service = "", .kind = "", .name = "" };

		wk.work_pool_base = side_work(base);
		res->work_base_mean = mean_of(wk.work_pool_base,
					      base->niterations);
		estimate(&res->work, &wk, &w, M_WORK, true,
			 res->work_base_mean);
		free(wk.work_pool_base);
	}

	adjust(res, M_TOTAL, wk.level);
	adjust(res, M_COUNT, wk.level);
	adjust(res, M_SELF, wk.level);
	adjust(res, M_CRIT, wk.level);

	/* Findings and roles. A change of an operation under a hundredth of
	 * the gate's threshold is no finding: the times of sub-microsecond
	 * functions are the clock's steps, and they do not scale with the
	 * machine as the rest does. */
	floor_ns = res->threshold_ns / 100;
	for (size_t k = 0; k < res->nrows; k++) {
		struct compare_row *r = &res->rows[k];

		if (r->exact) {
			res->nfindings += r->finding;
			continue;
		}
		r->q = r->total.q;
		set_change(&r->hl, &r->total, r->base_median, wk.level);
		if (isnan(r->hl.rel_shift))
			r->finding = r->q < wk.level &&
				     (r->hl.lo > 0 || r->hl.hi < 0);
		else
			r->finding = matters(r->q, wk.level, r->hl.rel_lo,
					     r->hl.rel_hi, opt->min_effect);
		if (r->measure == COMPARE_TIME &&
		    fabs(r->hl.shift) < floor_ns)
			r->finding = false;
		r->regression = r->finding && r->hl.shift > 0;
		if (r->measure == COMPARE_COUNT && r->finding)
			r->role = COMPARE_ROLE_CONSEQUENCE;
		if (r->self.tested &&
		    matters(r->self.q, wk.level, expm1(r->self.lo),
			    expm1(r->self.hi), opt->min_effect) &&
		    r->self.lo > 0 && r->self.abs_shift >= floor_ns) {
			/* Its own time grew: a regression of the operation
			 * even when its total is too noisy to show it. */
			r->role = COMPARE_ROLE_CAUSE;
			r->finding = r->regression = true;
			if (!is_client_kind(r->kind))
				nother_causes++;
		}
		res->nfindings += r->finding;
	}
	for (size_t k = 0; k < res->nrows; k++) {
		struct compare_row *r = &res->rows[k];

		if (r->role == COMPARE_ROLE_CAUSE && is_client_kind(r->kind) &&
		    nother_causes)
			r->role = COMPARE_ROLE_CONSEQUENCE;
		else if (r->role == COMPARE_ROLE_NONE && r->regression &&
			 r->measure == COMPARE_TIME &&
			 !is_harness_kind(r->kind))
			r->role = COMPARE_ROLE_CONSEQUENCE;
		res->nconsequences += r->role == COMPARE_ROLE_CONSEQUENCE;
	}
	judge_machine(res, &wk, opt);

	/* The gates: exact counts, the critical path, gated rows. */
	for (size_t k = 0; k < res->nrows; k++) {
		struct compare_row *r = &res->rows[k];

		if (r->measure == COMPARE_TIME && r->gated && !iter_row)
			iter_row = r;
		if (r->exact && r->regression && opt->fail_on_count_increase &&
		    (!first_count ||
		     r->head_median / (r->base_median + 1) >
			     first_count->head_median /
				     (first_count->base_median + 1)))
			first_count = r;
		if (r->crit.tested && gateable(r) &&
		    r->role != COMPARE_ROLE_CONSEQUENCE &&
		    (res->widest == SIZE_MAX ||
		     r->crit.abs_hi > res->rows[res->widest].crit.abs_hi))
			res->widest = k;
		if (gate_crit && r->role == COMPARE_ROLE_CAUSE && gateable(r) &&
		    r->crit.tested && r->crit.q < wk.level &&
		    r->crit.lo > 0 && r->crit.abs_shift >= res->threshold_ns &&
		    res->threshold_ns > 0) {
			r->gated_crit = true;
			if (!worst_crit ||
			    r->crit.abs_shift > worst_crit->crit.abs_shift)
				worst_crit = r;
		}
		if (r->regression && r->measure == COMPARE_TIME && r->gated &&
		    !first_reg)
			first_reg = r;
		if (r->measure != COMPARE_TIME || !r->gated || r->finding)
			continue;
		if (!r->in_base || !r->in_head) {
			r->inconclusive = true;
		} else if (!isnan(r->hl.rel_hi) &&
			   r->hl.rel_hi >= opt->min_effect) {
			r->inconclusive = true;
			r->iterations_needed =
				need_for(&r->total, log1p(opt->min_effect),
					 r->nbase < r->nhead ? r->nbase
							     : r->nhead,
					 opt, wk.level);
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
	find_causes(res, iter_median);

	if (first_count || worst_crit || first_reg) {
		const struct compare_row *r = first_count ? first_count
					      : worst_crit ? worst_crit
							   : first_reg;
		char *label = row_label(r);

		res->verdict = COMPARE_REGRESSION;
		if (r->exact) {
			strbuf_addf(&reason,
				    "%s: %.0f spans per iteration, was %.0f",
				    label, r->head_median, r->base_median);
		} else if (r == worst_crit) {
			strbuf_addf(&reason, "%s: critical path ", label);
			add_ms(&reason, r->crit.abs_shift);
			strbuf_addf(&reason,
				    " per iteration (%.1f%% of the %.2fms "
				    "iteration), own time %+.1f%%, q=%.2g",
				    iter_median > 0 ? 100 * r->crit.abs_shift /
							      iter_median
						    : 0,
				    iter_median / 1e6,
				    100 * expm1(r->self.est), r->crit.q);
		} else {
			strbuf_addf(&reason, "%s: ", label);
			add_change(&reason, r);
			strbuf_addf(&reason, ", q=%.2g", r->q);
		}
		free(label);
	} else if (res->machine.shifted) {
		const struct compare_machine *mc = &res->machine;

		res->verdict = COMPARE_MACHINE;
		strbuf_addf(&reason,
			    "machine-wide %s: operations %+.1f%% (CI %+.1f%% "
			    "to %+.1f%%) together, %zu of %zu %s, in %zu of "
			    "%zu services; no operation changed beyond it",
			    mc->factor.est > 0 ? "slowdown" : "speed-up",
			    100 * expm1(mc->factor.est),
			    100 * expm1(mc->factor.lo),
			    100 * expm1(mc->factor.hi),
			    mc->factor.est > 0 ? mc->nup : mc->ndown, mc->nops,
			    mc->factor.est > 0 ? "slower" : "faster",
			    mc->nservices_with, mc->nservices);
	} else if (missing || first_inc ||
		   (gate_crit && res->widest != SIZE_MAX &&
		    res->rows[res->widest].crit.abs_hi >= res->threshold_ns)) {
		res->verdict = COMPARE_INCONCLUSIVE;
		if (missing) {
			strbuf_addf(&reason, "%s: no data in both runs",
				    missing);
		} else if (first_inc &&
			   (!first_inc->in_base || !first_inc->in_head)) {
			char *label = row_label(first_inc);

			strbuf_addf(&reason, "%s: no data in the %s run", label,
				    first_inc->in_base ? "head" : "base");
			free(label);
		} else if (first_inc) {
			char *label = row_label(first_inc);

			strbuf_addf(&reason, "%s: ", label);
			add_change(&reason, first_inc);
			strbuf_addf(&reason,
				    " cannot rule out a %.0f%% regression: "
				    "need about %zu iterations per run (have "
				    "%zu and %zu)",
				    100 * opt->min_effect,
				    first_inc->iterations_needed,
				    first_inc->nbase, first_inc->nhead);
			free(label);
		} else {
			struct compare_row *r = &res->rows[res->widest];
			size_t have = base->niterations < head->niterations
					      ? base->niterations
					      : head->niterations;
			double scale = r->crit.abs_shift /
				       (r->crit.est ? expm1(r->crit.est) : 1);
			char *label = row_label(r);
			size_t need;

			/* scale: the base mean (+ offset) the log shift
			 * multiplies. */
			if (!(scale > 0))
				scale = r->crit.abs_hi / expm1(r->crit.hi);
			need = need_for(&r->crit,
					log1p(res->threshold_ns / scale), have,
					opt, wk.level);
			r->inconclusive = true;
			r->iterations_needed = need;
			res->iterations_needed = need;
			strbuf_addf(&reason, "%s: critical path ", label);
			add_ms(&reason, r->crit.abs_shift);
			strbuf_addstr(&reason, " (CI up to ");
			add_ms(&reason, r->crit.abs_hi);
			strbuf_addf(&reason,
				    ") cannot rule out a regression of "
				    "%.2fms (%.0f%% of the iteration): need "
				    "about %zu iterations per run (have %zu "
				    "and %zu), or more rounds",
				    res->threshold_ns / 1e6,
				    100 * opt->min_effect, need,
				    base->niterations, head->niterations);
			free(label);
		}
	} else {
		res->verdict = COMPARE_PASS;
		strbuf_addf(&reason, "no regression of %.0f%% or more",
			    100 * opt->min_effect);
		if (gate_crit && res->widest != SIZE_MAX) {
			const struct compare_row *r = &res->rows[res->widest];
			char *label = row_label(r);

			strbuf_addf(&reason,
				    " of the iteration (%.2fms) on the "
				    "critical path: at most ",
				    res->threshold_ns / 1e6);
			add_ms(&reason, r->crit.abs_hi);
			strbuf_addf(&reason, " (%s)", label);
			free(label);
		} else if (iter_row) {
			char *label = row_label(iter_row);

			strbuf_addf(&reason, " in %s: ", label);
			add_change(&reason, iter_row);
			free(label);
		}
	}
	if (res->machine.shifted && res->verdict != COMPARE_MACHINE)
		strbuf_addf(&reason, "; the machine moved too: %+.1f%%",
			    100 * expm1(res->machine.factor.est));
	free(missing);
	res->reason = strbuf_detach(&reason, NULL);
	work_release(&wk);
	return 0;
}

int compare_aggregates(struct compare_result *res,
		       const struct aggregate *base,
		       const struct aggregate *head,
		       const struct compare_options *opt, char **cause)
{
	return compare_blocks(res, base, head, NULL, NULL, 0, opt, cause);
}

void compare_result_release(struct compare_result *res)
{
	if (!res)
		return;
	free(res->rows);
	free(res->causes);
	free(res->reason);
	free(res->noise.base_spread);
	free(res->noise.head_spread);
	free(res->noise.block_machine);
	memset(res, 0, sizeof(*res));
}
