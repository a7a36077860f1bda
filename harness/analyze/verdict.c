/* verdict.c: a run's absolute gates and its regression limits against a
 * baseline, and the exit code they lead to (see verdict.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/verdict.h"
#include "util/error.h"
#include "util/exitcode.h"
#include "util/strbuf.h"

void verdict_options_init(struct verdict_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->alpha = -1;
	opt->min_effect = -1;
}

void verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	run_data_init(&v->base);
	run_data_init(&v->head);
}

void verdict_release(struct verdict *v)
{
	run_data_release(&v->base);
	run_data_release(&v->head);
	if (v->compared)
		compare_result_release(&v->cmp);
	free(v->mismatch);
	for (size_t i = 0; i < v->nmetrics; i++)
		free(v->metrics[i]);
	free(v->metrics);
	for (size_t i = 0; i < v->ngates; i++) {
		free(v->gates[i].name);
		free(v->gates[i].message);
	}
	free(v->gates);
	free(v->summary);
	memset(v, 0, sizeof(*v));
}

const char *verdict_status_str(enum verdict_status s)
{
	switch (s) {
	case VERDICT_PASS:
		return "pass";
	case VERDICT_REGRESSION:
		return "regression";
	case VERDICT_LIMIT:
		return "limit";
	case VERDICT_INCONCLUSIVE:
		return "inconclusive";
	case VERDICT_NO_BASELINE:
		return "no-baseline";
	case VERDICT_MACHINE:
		return "machine";
	}
	return "?";
}

int verdict_exit_code(const struct verdict *v)
{
	switch (v->status) {
	case VERDICT_PASS:
		return HARNESS_EXIT_OK;
	case VERDICT_REGRESSION:
		return HARNESS_EXIT_REGRESSION;
	case VERDICT_LIMIT:
		return HARNESS_EXIT_LIMIT;
	case VERDICT_MACHINE:
		return HARNESS_EXIT_MACHINE;
	case VERDICT_INCONCLUSIVE:
	case VERDICT_NO_BASELINE:
		return v->no_baseline_ok ? HARNESS_EXIT_OK
					 : HARNESS_EXIT_INCONCLUSIVE;
	}
	return HARNESS_EXIT_RUNTIME;
}

size_t verdict_failed(const struct verdict *v, enum verdict_gate_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < v->ngates; i++)
		n += v->gates[i].type == type && !v->gates[i].pass;
	return n;
}

/* ------------------------------------------------------------------ */
/* Formatting. */

static bool is_time(const struct compare_row *r)
{
	return r->measure == COMPARE_TIME;
}

void verdict_format_value(char *buf, size_t size, double v,
			  const struct compare_row *r)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		gate_format_value(buf, size, v,
				  is_time(r) ? GATE_UNIT_NS : GATE_UNIT_COUNT);
}

static void signed_value(char *buf, size_t size, double v,
			 const struct compare_row *r)
{
	char tmp[48];

	verdict_format_value(tmp, sizeof(tmp), fabs(v), r);
	snprintf(buf, size, "%s%s", v < 0 ? "-" : "+", tmp);
}

void verdict_format_change(char *buf, size_t size,
			   const struct compare_row *r)
{
	char a[64], b[64], c[64];

	if (r->exact) {
		snprintf(buf, size, "%+.0f", r->head_median - r->base_median);
		return;
	}
	if (!isnan(r->hl.rel_shift)) {
		snprintf(buf, size, "%+.1f%% [%+.1f%%, %+.1f%%]",
			 100 * r->hl.rel_shift, 100 * r->hl.rel_lo,
			 100 * r->hl.rel_hi);
		return;
	}
	signed_value(a, sizeof(a), r->hl.shift, r);
	signed_value(b, sizeof(b), r->hl.lo, r);
	signed_value(c, sizeof(c), r->hl.hi, r);
	snprintf(buf, size, "%s [%s, %s]", a, b, c);
}

char *verdict_row_label(const struct compare_row *r)
{
	if (!strcmp(r->kind, "iteration"))
		return xstrdup("iteration");
	if (!strcmp(r->kind, "step")) {
		struct gate_metric m = { .subject = GATE_STEP,
					 .step = (char *)r->name,
					 .stat = GATE_STAT_MEDIAN };
		char *s = gate_metric_format(&m), *dot = strrchr(s, '.');

		if (dot && dot > strrchr(s, ')'))
			*dot = '\0';
		return s;
	} else {
		struct gate_metric m = { .subject = GATE_OP,
					 .service = (char *)r->service,
					 .kind = (char *)r->kind,
					 .name = (char *)r->name,
					 .stat = GATE_STAT_MEDIAN };
		char *s = gate_metric_format(&m), *dot = strrchr(s, '.');

		if (dot && dot > strrchr(s, ')'))
			*dot = '\0';
		return s;
	}
}

/* ------------------------------------------------------------------ */

static struct verdict_gate *add_gate(struct verdict *v,
				     enum verdict_gate_type type, char *name)
{
	struct verdict_gate *g;

	v->gates = xrealloc(v->gates, (v->ngates + 1) * sizeof(*v->gates));
	g = &v->gates[v->ngates++];
	memset(g, 0, sizeof(*g));
	g->type = type;
	g->name = name;
	g->observed = NAN;
	g->limit = NAN;
	return g;
}

static int eval_gate(struct verdict *v, const struct gate *gt, char **cause)
{
	struct gate_result res = { 0 };
	struct verdict_gate *g;
	int ret;

	ret = gate_eval(&res, gt, run_data_gate_lookup, &v->head, cause);
	if (ret < 0)
		return -1;
	g = add_gate(v, VERDICT_GATE_ABSOLUTE, xstrdup(gt->expr));
	g->pass = res.pass;
	g->missing = res.missing;
	g->observed = res.observed;
	g->limit = gt->limit;
	g->unit = gt->unit;
	g->message = res.line;
	res.line = NULL;
	gate_result_release(&res);
	return 0;
}

static int absolute_gates(struct verdict *v, const struct scenario *sc,
			  char **cause)
{
	size_t n = sc ? sc->ngates : 0;

	for (size_t i = 0; i < n; i++) {
		const struct scenario_gate *sg = &sc->gates[i];
		struct gate *gt = NULL;
		unsigned column = 0;
		char *why = NULL;
		int ret;

		if (gate_parse(&gt, sg->expr, &column, &why) < 0) {
			*cause = xasprintf("%s:%u:%u: bad gate '%s': %s",
					   sg->pos.file ? sg->pos.file
							: sc->path,
					   sg->pos.line,
					   scenario_gate_column(sg, column),
					   sg->expr, why);
			free(why);
			return VERDICT_ECONFIG;
		}
		ret = eval_gate(v, gt, cause);
		gate_free(gt);
		if (ret < 0)
			return -1;
	}
	if (!n) {
		/* The default: no iteration may fail. */
		struct gate *gt = NULL;
		char *why = NULL;
		int ret;

		if (gate_parse(&gt, "failure_rate == 0", NULL, &why) < 0)
			die("default gate: %s", why);
		ret = eval_gate(v, gt, cause);
		gate_free(gt);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static bool row_matches(const struct gate_metric *m,
			const struct compare_row *r)
{
	if (r->measure != COMPARE_TIME)
		return false;
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

static char *row_line(const struct compare_row *r)
{
	char base[64], head[64], change[128];

	verdict_format_value(base, sizeof(base), r->base_median, r);
	verdict_format_value(head, sizeof(head), r->head_median, r);
	verdict_format_change(change, sizeof(change), r);
	if (r->exact)
		return xasprintf("%s -> %s per iteration (%s)", base, head,
				 change);
	return xasprintf("%s -> %s, %s, q=%.2g", base, head, change, r->q);
}

/* The critical-path gate: every operation whose critical-path time grew
 * by min_effect of the iteration, net of the machine. */
static void critical_path_gate(struct verdict *v, const char *name)
{
	struct strbuf msg = STRBUF_INIT;
	struct verdict_gate *g;
	const struct compare_result *c = &v->cmp;
	char *widest = NULL;
	size_t nup = 0;

	for (size_t i = 0; i < c->nrows; i++) {
		const struct compare_row *r = &c->rows[i];
		char *label;

		if (!r->gated_crit)
			continue;
		if (nup++ < 8) {
			label = verdict_row_label(r);
			strbuf_addf(&msg, "%s%s %+.2fms [%+.2fms, %+.2fms], "
				    "q=%.2g", nup > 1 ? "; " : "", label,
				    r->crit.abs_shift / 1e6,
				    r->crit.abs_lo / 1e6,
				    r->crit.abs_hi / 1e6, r->crit.q);
			free(label);
		}
	}
	g = add_gate(v, VERDICT_GATE_REGRESSION,
		     xasprintf("regression: %s", name));
	g->unit = GATE_UNIT_NS;
	g->limit = c->threshold_ns;
	g->pass = !nup;
	if (c->widest != SIZE_MAX) {
		const struct compare_row *w = &c->rows[c->widest];

		g->observed = w->crit.abs_hi;
		widest = verdict_row_label(w);
	}
	if (nup) {
		g->message = xasprintf(
			"%s: %zu operation%s grew on the critical path by "
			"%.2fms (%.0f%% of the iteration) or more: %s%s: "
			"REGRESSION",
			name, nup, nup == 1 ? "" : "s", c->threshold_ns / 1e6,
			100 * v->min_effect, msg.buf, nup > 8 ? "; ..." : "");
	} else {
		g->inconclusive = c->verdict == COMPARE_INCONCLUSIVE &&
				  !isnan(g->observed) &&
				  g->observed >= c->threshold_ns;
		g->message = xasprintf(
			"%s: every operation's growth at most %+.2fms%s%s%s, "
			"limit %.2fms: %s",
			name, isnan(g->observed) ? 0 : g->observed / 1e6,
			widest ? " (" : "", widest ? widest : "",
			widest ? ")" : "", c->threshold_ns / 1e6,
			g->inconclusive ? "inconclusive"
			: c->verdict == COMPARE_MACHINE ? "machine"
							: "pass");
	}
	free(widest);
	strbuf_release(&msg);
}

static void regression_gates(struct verdict *v,
			     const struct gate_metric *metrics, size_t n)
{
	for (size_t m = 0; m < n; m++) {
		const struct compare_row *row = NULL;
		struct verdict_gate *g;
		char *line;

		if (!strcmp(v->metrics[m], "critical-path")) {
			critical_path_gate(v, v->metrics[m]);
			continue;
		}

		for (size_t i = 0; i < v->cmp.nrows && !row; i++)
			if (row_matches(&metrics[m], &v->cmp.rows[i]))
				row = &v->cmp.rows[i];
		g = add_gate(v, VERDICT_GATE_REGRESSION,
			     xasprintf("regression: %s", v->metrics[m]));
		g->row = row;
		g->unit = GATE_UNIT_NS;
		g->missing = !row || !row->in_base || !row->in_head;
		g->pass = !(row && row->regression);
		g->inconclusive = g->pass && (!row || row->inconclusive);
		if (!row) {
			g->message = xasprintf("%s: no data in either run",
					       v->metrics[m]);
			continue;
		}
		line = row_line(row);
		g->observed = row->head_median;
		g->message = xasprintf(
			"%s: %s: %s", v->metrics[m], line,
			row->regression ? "REGRESSION"
			: row->inconclusive
				? "inconclusive"
				: row->finding ? "improved" : "pass");
		free(line);
	}
	if (v->fail_on_count_increase) {
		struct strbuf msg = STRBUF_INIT;
		struct verdict_gate *g;
		size_t nup = 0;

		for (size_t i = 0; i < v->cmp.nrows; i++) {
			const struct compare_row *r = &v->cmp.rows[i];
			char *label, *line;

			/* Counts that vary follow the times: only an
			 * exact change gates. */
			if (r->measure != COMPARE_COUNT || !r->regression ||
			    !r->exact)
				continue;
			if (nup++ < 8) {
				label = verdict_row_label(r);
				line = row_line(r);
				strbuf_addf(&msg, "%s%s: %s", nup > 1 ? "; " : "",
					    label, line);
				free(label);
				free(line);
			}
		}
		g = add_gate(v, VERDICT_GATE_REGRESSION,
			     xstrdup("regression: count"));
		g->unit = GATE_UNIT_COUNT;
		g->pass = !nup;
		g->observed = (double)nup;
		if (!nup)
			g->message = xstrdup("count: no operation made more "
					     "calls per iteration");
		else
			g->message = xasprintf(
				"count: %zu operation%s made more calls per "
				"iteration: %s%s",
				nup, nup == 1 ? "" : "s", msg.buf,
				nup > 8 ? "; ..." : "");
		strbuf_release(&msg);
	}
}

/* The effective regression metrics, parsed. */
static int parse_metrics(struct verdict *v, struct gate_metric **out,
			 const struct scenario *sc,
			 const struct verdict_options *opt, char **cause)
{
	const char *const *names = NULL;
	static const char *const deflt[] = { "critical-path" };
	size_t n = 0;
	struct gate_metric *ms;

	if (opt->metrics && opt->nmetrics) {
		names = opt->metrics;
		n = opt->nmetrics;
	} else if (sc && sc->regression.nmetrics) {
		names = (const char *const *)sc->regression.metrics;
		n = sc->regression.nmetrics;
	} else {
		names = deflt;
		n = 1;
	}
	ms = xcalloc(n, sizeof(*ms));
	v->metrics = xcalloc(n, sizeof(*v->metrics));
	for (size_t i = 0; i < n; i++) {
		char *why = NULL, *s;

		if (!strcmp(names[i], "critical-path")) {
			/* Not a row: compare gates it (critical_path). */
			ms[i].subject = GATE_FAILURE_RATE;
			v->metrics[v->nmetrics++] = xstrdup(names[i]);
			continue;
		}
		if (gate_metric_parse(&ms[i], names[i], NULL, &why) < 0 ||
		    (ms[i].subject != GATE_ITERATION &&
		     ms[i].subject != GATE_STEP &&
		     ms[i].subject != GATE_OP)) {
			if (!why)
				why = xstrdup("a regression metric is "
					      "critical-path, iteration, "
					      "step(NAME) or "
					      "op(SERVICE, KIND, NAME)");
			if (opt->metrics && opt->nmetrics)
				*cause = xasprintf("bad metric '%s': %s",
						   names[i], why);
			else
				*cause = xasprintf("%s: bad regression metric "
						   "'%s': %s",
						   sc->path, names[i], why);
			free(why);
			for (size_t j = 0; j <= i; j++)
				gate_metric_release(&ms[j]);
			free(ms);
			return VERDICT_ECONFIG;
		}
		s = gate_metric_format(&ms[i]);
		if (ms[i].subject == GATE_ITERATION) {
			free(s);
			s = xstrdup("iteration");
		} else {
			char *dot = strrchr(s, '.');

			if (dot && dot > strrchr(s, ')'))
				*dot = '\0';
		}
		v->metrics[v->nmetrics++] = s;
	}
	*out = ms;
	return 0;
}

static void decide(struct verdict *v, bool gates_only)
{
	struct strbuf sb = STRBUF_INIT;
	size_t nlimit = verdict_failed(v, VERDICT_GATE_ABSOLUTE);
	size_t nreg = verdict_failed(v, VERDICT_GATE_REGRESSION);

	if (nlimit) {
		v->status = VERDICT_LIMIT;
		for (size_t i = 0; i < v->ngates; i++)
			if (v->gates[i].type == VERDICT_GATE_ABSOLUTE &&
			    !v->gates[i].pass) {
				strbuf_addstr(&sb, v->gates[i].message);
				break;
			}
		if (nlimit > 1)
			strbuf_addf(&sb, " (and %zu more)", nlimit - 1);
		if (nreg)
			strbuf_addf(&sb, "; also %zu regression gate%s failed",
				    nreg, nreg == 1 ? "" : "s");
	} else if (nreg) {
		v->status = VERDICT_REGRESSION;
		strbuf_addstr(&sb, v->cmp.reason ? v->cmp.reason
						 : "regression");
	} else if (gates_only) {
		v->status = VERDICT_PASS;
		strbuf_addstr(&sb, "every gate holds");
	} else if (!v->has_base) {
		v->status = VERDICT_NO_BASELINE;
		strbuf_addstr(&sb, "no baseline run to compare with");
	} else if (!v->compared) {
		v->status = VERDICT_NO_BASELINE;
		strbuf_addf(&sb, "the %s run has no successful iteration",
			    v->base.agg.niterations ? "head" : "base");
	} else if (v->cmp.verdict == COMPARE_MACHINE) {
		v->status = VERDICT_MACHINE;
		strbuf_addstr(&sb, v->cmp.reason);
	} else if (v->cmp.verdict == COMPARE_INCONCLUSIVE) {
		v->status = VERDICT_INCONCLUSIVE;
		strbuf_addstr(&sb, v->cmp.reason);
	} else {
		v->status = VERDICT_PASS;
		strbuf_addstr(&sb, v->cmp.reason ? v->cmp.reason : "pass");
	}
	v->summary = strbuf_detach(&sb, NULL);
}

/* How run B differs from run A in what makes runs comparable, or NULL
 * when it does not; the caller frees. */
static char *difference(const struct store_run *a, const struct store_run *b)
{
	if (strcmp(a->scenario, b->scenario))
		return xasprintf("scenario '%s' against '%s'", a->scenario,
				 b->scenario);
	if (strcmp(a->config_hash, b->config_hash))
		return xasprintf("config %.12s against %.12s", a->config_hash,
				 b->config_hash);
	return NULL;
}

/* Runs pooled into one side must be alike, and so must the two sides
 * (their first runs stand for them): the same scenario and config hash.
 * Refused unless opt->force, which notes the first difference in
 * v->mismatch instead. */
static int check_comparable(struct verdict *v,
			    const struct verdict_options *opt, char **cause)
{
	const struct run_data *sides[2] = { &v->base, &v->head };
	const char *names[2] = { "the base", "the head" };
	const struct store_run *a = NULL, *b = NULL;
	char *what = NULL;
	const char *where = NULL;

	for (int s = 0; s < 2 && !what; s++)
		for (size_t i = 1; i < sides[s]->nruns && !what; i++) {
			a = sides[s]->runs[0];
			b = sides[s]->runs[i];
			what = difference(a, b);
			where = names[s];
		}
	if (!what && v->has_base) {
		a = v->base.run;
		b = v->head.run;
		what = difference(a, b);
		where = NULL;
	}
	if (!what)
		return 0;
	if (!opt->force) {
		*cause = xasprintf("runs %lld and %lld%s%s are not comparable: "
				   "%s (--force compares them anyway)",
				   (long long)a->id, (long long)b->id,
				   where ? " of " : "", where ? where : "",
				   what);
		free(what);
		return VERDICT_EMISMATCH;
	}
	v->mismatch = xasprintf("forced comparison of different runs%s%s: %s",
				where ? " in " : "", where ? where : "", what);
	free(what);
	return 0;
}

static int verdict_build(struct verdict *v, struct store *st,
			 const int64_t *base_ids, size_t nbase,
			 const int64_t *head_ids, size_t nhead,
			 const struct scenario *sc,
			 const struct verdict_options *opt, bool gates_only,
			 char **cause)
{
	struct gate_metric *metrics = NULL;
	struct compare_options copt;
	int ret;

	v->no_baseline_ok = opt->no_baseline_ok;
	if (!nhead) {
		*cause = xstrdup("no head run to decide about");
		return -1;
	}
	for (size_t i = 0; i < nhead; i++) {
		ret = run_data_add(&v->head, st, head_ids[i], cause);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < nbase; i++) {
		ret = run_data_add(&v->base, st, base_ids[i], cause);
		if (ret < 0)
			return ret;
		v->has_base = true;
	}
	ret = check_comparable(v, opt, cause);
	if (ret < 0)
		return ret;

	v->alpha = opt->alpha >= 0 ? opt->alpha
		   : sc        ? sc->regression.alpha
			       : 0.05;
	v->min_effect = opt->min_effect >= 0 ? opt->min_effect
			: sc                 ? sc->regression.min_effect
					     : 0.05;
	v->fail_on_count_increase =
		sc ? sc->regression.fail_on_count_increase : true;
	ret = parse_metrics(v, &metrics, sc, opt, cause);
	if (ret < 0)
		return ret;
	ret = absolute_gates(v, sc, cause);
	if (ret < 0)
		goto out;

	if (v->has_base && v->base.agg.niterations &&
	    v->head.agg.niterations) {
		struct gate_metric *rows = xcalloc(v->nmetrics + 1,
						   sizeof(*rows));
		bool paired = v->base.nruns == v->head.nruns &&
			      v->base.nruns > 1;

		compare_options_init(&copt);
		copt.alpha = v->alpha;
		copt.min_effect = v->min_effect;
		copt.look = opt->look;
		/* "critical-path" is no row: compare gates it itself. */
		for (size_t i = 0; i < v->nmetrics; i++)
			if (!strcmp(v->metrics[i], "critical-path"))
				copt.critical_path = true;
			else
				rows[copt.ngated++] = metrics[i];
		copt.gated = rows;
		copt.fail_on_count_increase = v->fail_on_count_increase;
		ret = compare_blocks(&v->cmp, &v->base.agg, &v->head.agg,
				     paired ? v->base.blocks : NULL,
				     paired ? v->head.blocks : NULL,
				     paired ? v->base.nruns : 0, &copt, cause);
		free(rows);
		if (ret < 0) {
			ret = -1;
			goto out;
		}
		v->compared = true;
		regression_gates(v, metrics, v->nmetrics);
	}
	decide(v, gates_only);
	ret = 0;
out:
	for (size_t i = 0; i < v->nmetrics; i++)
		gate_metric_release(&metrics[i]);
	free(metrics);
	return ret;
}

int verdict_for_run_sets(struct verdict *v, struct store *st,
			 const int64_t *base_ids, size_t nbase,
			 const int64_t *head_ids, size_t nhead,
			 const struct scenario *sc,
			 const struct verdict_options *opt, char **cause)
{
	return verdict_build(v, st, base_ids, nbase, head_ids, nhead, sc, opt,
			     false, cause);
}

int verdict_for_runs(struct verdict *v, struct store *st, int64_t base_id,
		     int64_t head_id, const struct scenario *sc,
		     const struct verdict_options *opt, char **cause)
{
	return verdict_build(v, st, &base_id, base_id ? 1 : 0, &head_id, 1,
			     sc, opt, false, cause);
}

int gates_for_run(struct verdict *v, struct store *st, int64_t run_id,
		  const struct scenario *sc, char **cause)
{
	struct verdict_options opt;

	verdict_options_init(&opt);
	return verdict_build(v, st, NULL, 0, &run_id, 1, sc, &opt, true,
			     cause);
}
