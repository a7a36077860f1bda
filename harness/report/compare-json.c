/* compare-json.c: a comparison's verdict as JSON, schema "harness.compare"
 * version VERDICT_SCHEMA_VERSION, every field documented in
 * compare-json.md: enough to build any other report from. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/verdict.h"
#include "util/error.h"

/* A number, or null for NaN and infinities (JSON has neither). */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *run_json(const struct run_data *rd)
{
	const struct store_run *r = rd->run;
	json_t *o = json_object(), *commits = json_array();
	json_t *ids = json_array();

	json_object_set_new(o, "id", json_integer(r->id));
	for (size_t i = 0; i < rd->nruns; i++)
		json_array_append_new(ids, json_integer(rd->runs[i]->id));
	json_object_set_new(o, "runs", ids);
	json_object_set_new(o, "scenario", json_string(r->scenario));
	json_object_set_new(o, "label", str_or_null(r->label));
	json_object_set_new(o, "config_hash", json_string(r->config_hash));
	json_object_set_new(o, "host", str_or_null(r->host));
	json_object_set_new(o, "start_ns", json_integer(r->start_ns));
	json_object_set_new(o, "end_ns", json_integer(r->end_ns));
	json_object_set_new(o, "status",
			    json_string(store_run_status_name(r->status)));
	for (size_t i = 0; i < r->ncommits; i++) {
		const struct store_commit *c = &r->commits[i];
		json_t *co = json_object();

		json_object_set_new(co, "repo", json_string(c->repo));
		json_object_set_new(co, "sha", json_string(c->sha));
		json_object_set_new(co, "branch", str_or_null(c->branch));
		json_object_set_new(co, "dirty", json_boolean(c->dirty));
		json_object_set_new(co, "subject", str_or_null(c->subject));
		json_array_append_new(commits, co);
	}
	json_object_set_new(o, "commits", commits);
	json_object_set_new(o, "iterations",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "measured",
				      (json_int_t)rd->nmeasured, "counted",
				      (json_int_t)rd->agg.niterations,
				      "failed", (json_int_t)rd->nfailed,
				      "warmup", (json_int_t)rd->nwarmup,
				      "without_spans",
				      (json_int_t)rd->nrebuilt));
	json_object_set_new(o, "spans", json_integer((json_int_t)rd->nspans));
	return o;
}

static json_t *side(size_t n, bool present, double median)
{
	return json_pack("{s:I, s:b, s:o}", "n", (json_int_t)n, "present",
			 present, "median", num(median));
}

static json_t *pair(double a, double b)
{
	return json_pack("[o, o]", num(a), num(b));
}

/* One log-scale estimate (struct compare_est), or null when untested. */
static json_t *est_json(const struct compare_est *e)
{
	if (!e->tested)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "log_shift", num(e->est), "log_ci",
			 pair(e->lo, e->hi), "se", num(e->se), "p", num(e->p),
			 "q", num(e->q), "raw_log_shift", num(e->raw),
			 "rel_shift", num(expm1(e->est)), "rel_ci",
			 pair(expm1(e->lo), expm1(e->hi)), "shift",
			 num(e->abs_shift), "ci", pair(e->abs_lo, e->abs_hi));
}

static const char *role_str(enum compare_role role)
{
	switch (role) {
	case COMPARE_ROLE_NONE:
		break;
	case COMPARE_ROLE_CAUSE:
		return "cause";
	case COMPARE_ROLE_CONSEQUENCE:
		return "consequence";
	}
	return NULL;
}

static json_t *row_json(const struct verdict *v, size_t i)
{
	const struct compare_row *r = &v->cmp.rows[i];
	char *label = verdict_row_label(r);
	json_t *o = json_object();

	json_object_set_new(o, "label", json_string(label));
	free(label);
	json_object_set_new(o, "service", json_string(r->service));
	json_object_set_new(o, "kind", json_string(r->kind));
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "measure",
			    json_string(r->measure == COMPARE_TIME ? "time"
								   : "count"));
	json_object_set_new(o, "unit",
			    json_string(r->measure == COMPARE_TIME ? "ns"
								   : "count"));
	json_object_set_new(o, "base",
			    side(r->nbase, r->in_base, r->base_median));
	json_object_set_new(o, "head",
			    side(r->nhead, r->in_head, r->head_median));
	json_object_set_new(o, "exact", json_boolean(r->exact));
	if (r->exact) {
		json_object_set_new(o, "p", json_null());
		json_object_set_new(o, "shift",
				    num(r->head_median - r->base_median));
		json_object_set_new(o, "ci", json_null());
		json_object_set_new(o, "confidence", json_null());
		json_object_set_new(o, "rel_shift", json_null());
		json_object_set_new(o, "rel_ci", json_null());
	} else {
		json_object_set_new(o, "p", num(r->mwu.p));
		json_object_set_new(o, "shift", num(r->hl.shift));
		json_object_set_new(o, "ci", json_pack("[o, o]", num(r->hl.lo),
						       num(r->hl.hi)));
		json_object_set_new(o, "confidence", num(r->hl.conf));
		json_object_set_new(o, "rel_shift", num(r->hl.rel_shift));
		json_object_set_new(o, "rel_ci",
				    json_pack("[o, o]", num(r->hl.rel_lo),
					      num(r->hl.rel_hi)));
	}
	json_object_set_new(o, "q", num(r->q));
	json_object_set_new(o, "finding", json_boolean(r->finding));
	json_object_set_new(o, "regression", json_boolean(r->regression));
	json_object_set_new(o, "improvement",
			    json_boolean(r->finding && !r->regression));
	json_object_set_new(o, "gated", json_boolean(r->gated));
	json_object_set_new(o, "role", str_or_null(role_str(r->role)));
	json_object_set_new(o, "self", r->measure == COMPARE_TIME
					       ? est_json(&r->self)
					       : json_null());
	json_object_set_new(o, "crit", r->measure == COMPARE_TIME
					       ? est_json(&r->crit)
					       : json_null());
	json_object_set_new(o, "gated_crit", json_boolean(r->gated_crit));
	json_object_set_new(o, "inconclusive", json_boolean(r->inconclusive));
	json_object_set_new(o, "iterations_needed",
			    r->inconclusive
				    ? json_integer(
					      (json_int_t)r->iterations_needed)
				    : json_null());
	return o;
}

static json_t *noise_json(const struct compare_result *c)
{
	const struct compare_noise *n = &c->noise;
	json_t *rounds = json_array(), *o;
	char *lines[2];
	size_t nl = report_compare_noise_lines(c, lines);

	for (size_t b = 0; b < n->nblocks && n->base_spread; b++)
		json_array_append_new(
			rounds,
			json_pack("{s:o, s:o, s:o, s:o}", "base_spread",
				  num(n->base_spread[b]), "head_spread",
				  num(n->head_spread[b]), "machine_log_shift",
				  num(n->block_machine[b]), "machine_rel_shift",
				  num(expm1(n->block_machine[b]))));
	o = json_pack("{s:o, s:o, s:o, s:s, s:o}", "rounds", rounds,
		      "op_spread", num(n->op_spread), "drift", num(n->drift),
		      "text", lines[0], "drift_text",
		      nl > 1 ? json_string(lines[1]) : json_null());
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
	return o;
}

static json_t *machine_json(const struct compare_result *c)
{
	const struct compare_machine *m = &c->machine;
	char *line = report_compare_machine_line(c);
	json_t *factor = json_null(), *o;

	if (m->factor.k)
		factor = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
				   "rounds", (json_int_t)m->factor.k,
				   "log_shift", num(m->factor.est), "log_ci",
				   pair(m->factor.lo, m->factor.hi), "se",
				   num(m->factor.se), "p", num(m->factor.p),
				   "rel_shift", num(expm1(m->factor.est)),
				   "rel_ci",
				   pair(expm1(m->factor.lo),
					expm1(m->factor.hi)));
	o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:b, s:o}",
		      "factor", factor, "operations", (json_int_t)m->nops,
		      "slower", (json_int_t)m->nup, "faster",
		      (json_int_t)m->ndown, "services",
		      (json_int_t)m->nservices, "services_with",
		      (json_int_t)m->nservices_with, "sign_p", num(m->sign_p),
		      "shifted", m->shifted, "text", str_or_null(line));
	free(line);
	return o;
}

static json_t *comparison_json(const struct verdict *v)
{
	json_t *o = json_object(), *rows = json_array(), *causes = json_array();

	json_object_set_new(o, "verdict",
			    json_string(compare_verdict_str(v->cmp.verdict)));
	json_object_set_new(o, "reason", str_or_null(v->cmp.reason));
	json_object_set_new(o, "findings",
			    json_integer((json_int_t)v->cmp.nfindings));
	json_object_set_new(
		o, "iterations_needed",
		v->cmp.verdict == COMPARE_INCONCLUSIVE
			? json_integer((json_int_t)v->cmp.iterations_needed)
			: json_null());
	{
		char *why = report_compare_inconclusive_line(&v->cmp, true);

		json_object_set_new(o, "inconclusive_reason",
				    str_or_null(why));
		free(why);
	}
	json_object_set_new(o, "level", num(v->cmp.level));
	json_object_set_new(o, "noise", noise_json(&v->cmp));
	json_object_set_new(o, "machine", machine_json(&v->cmp));
	json_object_set_new(o, "work", est_json(&v->cmp.work));
	json_object_set_new(o, "threshold_ns", num(v->cmp.threshold_ns));
	json_object_set_new(o, "widest",
			    v->cmp.widest < v->cmp.nrows
				    ? json_integer((json_int_t)v->cmp.widest)
				    : json_null());
	json_object_set_new(o, "consequences",
			    json_integer((json_int_t)v->cmp.nconsequences));
	for (size_t i = 0; i < v->cmp.nrows; i++)
		json_array_append_new(rows, row_json(v, i));
	for (size_t i = 0; i < v->cmp.ncauses; i++) {
		const struct compare_cause *c = &v->cmp.causes[i];
		char *label = verdict_row_label(&v->cmp.rows[c->row]);

		json_array_append_new(
			causes,
			json_pack("{s:I, s:s, s:o, s:[o, o], s:o, s:o}", "row",
				  (json_int_t)c->row, "label", label,
				  "shift_ns", num(c->crit.shift), "ci_ns",
				  num(c->crit.lo), num(c->crit.hi),
				  "confidence", num(c->crit.conf), "share",
				  num(c->share)));
		free(label);
	}
	json_object_set_new(o, "rows", rows);
	json_object_set_new(o, "causes", causes);
	return o;
}

static const char *unit_str(enum gate_unit u)
{
	switch (u) {
	case GATE_UNIT_NS:
		return "ns";
	case GATE_UNIT_COUNT:
		return "count";
	case GATE_UNIT_FRACTION:
		return "fraction";
	}
	return "?";
}

static json_t *gate_json(const struct verdict *v, size_t i)
{
	const struct verdict_gate *g = &v->gates[i];
	json_t *o = json_object();

	json_object_set_new(o, "type",
			    json_string(g->type == VERDICT_GATE_ABSOLUTE
						? "absolute"
						: "regression"));
	json_object_set_new(o, "name", json_string(g->name));
	json_object_set_new(o, "pass", json_boolean(g->pass));
	json_object_set_new(o, "inconclusive", json_boolean(g->inconclusive));
	json_object_set_new(o, "result",
			    json_string(report_compare_gate_word(v, g)));
	json_object_set_new(o, "missing", json_boolean(g->missing));
	json_object_set_new(o, "observed", num(g->observed));
	json_object_set_new(o, "limit", num(g->limit));
	json_object_set_new(o, "unit", json_string(unit_str(g->unit)));
	json_object_set_new(o, "row",
			    g->row ? json_integer((json_int_t)(g->row -
							       v->cmp.rows))
				   : json_null());
	json_object_set_new(o, "message", json_string(g->message));
	return o;
}

int report_compare_json(FILE *out, const struct report_comparison *c,
			const struct report_options *opt, char **cause)
{
	const struct verdict *v = c->v;
	json_t *root = json_object(), *gates = json_array(), *metrics;
	int ret;

	json_object_set_new(root, "schema", json_string("harness.compare"));
	json_object_set_new(root, "version",
			    json_integer(VERDICT_SCHEMA_VERSION));
	json_object_set_new(root, "status",
			    json_string(verdict_status_str(v->status)));
	json_object_set_new(root, "exit_code",
			    json_integer(verdict_exit_code(v)));
	json_object_set_new(root, "summary", json_string(v->summary));
	json_object_set_new(root, "forced", str_or_null(v->mismatch));
	metrics = json_array();
	for (size_t i = 0; i < v->nmetrics; i++)
		json_array_append_new(metrics, json_string(v->metrics[i]));
	json_object_set_new(
		root, "settings",
		json_pack("{s:o, s:o, s:b, s:o, s:b}", "alpha", num(v->alpha),
			  "min_effect", num(v->min_effect),
			  "fail_on_count_increase", v->fail_on_count_increase,
			  "metrics", metrics, "no_baseline_ok",
			  v->no_baseline_ok));
	json_object_set_new(root, "base",
			    v->has_base ? run_json(&v->base) : json_null());
	json_object_set_new(root, "head", run_json(&v->head));
	json_object_set_new(root, "comparison",
			    v->compared ? comparison_json(v) : json_null());
	for (size_t i = 0; i < v->ngates; i++)
		json_array_append_new(gates, gate_json(v, i));
	json_object_set_new(root, "gates", gates);
	ret = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	fputc('\n', out);
	if (ret < 0) {
		*cause = xstrdup("cannot write the JSON report");
		return -1;
	}
	return report_compare_check(out, cause);
}
