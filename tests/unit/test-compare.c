/* test-compare.c: runs loaded from a real store file, verdicts, gates and
 * exit codes of analyze/verdict.h, on synthetic runs made through the
 * store API (test-compare-gen.c); what the comparison writers say of
 * them (report/verdict.h): the noise, an inconclusive or machine-wide
 * verdict, gates and rows by role. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/verdict.h"
#include "report/verdict.h"
#include "test-compare-gen.h"
#include "util/exitcode.h"

struct fixture {
	char dir[256];
	char db[300];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/test-compare-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/h.db", f->dir);
	if (store_open(&f->st, f->db, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char wal[320];

	store_free(f->st);
	unlink(f->db);
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", f->db);
	unlink(wal);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t make(struct fixture *f, const struct gen_spec *g)
{
	int64_t id = 0;
	char *cause = NULL;

	if (gen_run(&id, f->st, g, &cause) < 0)
		fail_msg("gen_run: %s", cause);
	return id;
}

static void decide(struct verdict *v, struct fixture *f, int64_t base,
		   int64_t head, const struct scenario *sc,
		   const struct verdict_options *opt)
{
	char *cause = NULL;
	int rc = verdict_for_runs(v, f->st, base, head, sc, opt, &cause);

	if (rc < 0)
		fail_msg("verdict_for_runs: %s", cause);
}

/* The comparison report of V by the writer called FORMAT; caller frees. */
static char *write_report(const char *format, const struct verdict *v)
{
	const struct report_writer *w = report_writer_find(format);
	struct report_comparison c = { .v = v };
	struct report_options opt;
	char *buf = NULL, *cause = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(w);
	assert_non_null(out);
	report_options_init(&opt);
	if (w->write_compare(out, &c, &opt, &cause) < 0)
		fail_msg("%s: %s", format, cause);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* The report of V by FORMAT holds every string of the NULL-terminated
 * list after it. */
static void assert_says(const struct verdict *v, const char *format, ...)
{
	char *out = write_report(format, v);
	const char *want;
	va_list ap;

	va_start(ap, format);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(out, want))
			fail_msg("%s report has no '%s':\n%s", format, want,
				 out);
	va_end(ap);
	free(out);
}

static size_t count_findings(const struct verdict *v,
			     const struct compare_row **last)
{
	size_t n = 0;

	for (size_t i = 0; i < v->cmp.nrows; i++)
		if (v->cmp.rows[i].finding) {
			n++;
			*last = &v->cmp.rows[i];
		}
	return n;
}

static void test_compare__load_counts_iterations(void **state)
{
	struct fixture *f = *state;
	struct gen_spec g;
	struct run_data rd;
	const struct aggregate_op *op;
	char *cause = NULL;
	int64_t id;

	gen_spec_init(&g);
	g.iterations = 12;
	g.warmup = 3;
	g.failed = 2;
	g.nops = 4;
	id = make(f, &g);
	run_data_init(&rd);
	assert_int_equal(run_data_load(&rd, f->st, id, &cause), 0);
	assert_int_equal(rd.nmeasured, 12);
	assert_int_equal(rd.nwarmup, 3);
	assert_int_equal(rd.nfailed, 2);
	assert_int_equal(rd.agg.niterations, 10);
	assert_int_equal(rd.nrebuilt, 0);
	assert_int_equal(rd.nspans, 10 * 5);
	op = aggregate_find(&rd.agg, "svc3", "func", "op03");
	assert_non_null(op);
	assert_true(op->count[0] == 1 && op->count[9] == 1);
	run_data_release(&rd);

	/* A missing run is STORE_ENOENT. */
	run_data_init(&rd);
	assert_int_equal(run_data_load(&rd, f->st, 999, &cause), STORE_ENOENT);
	free(cause);
	run_data_release(&rd);
}

static void test_compare__rebuilt_without_spans(void **state)
{
	struct fixture *f = *state;
	struct gen_spec g;
	struct run_data rd;
	const struct aggregate_op *op;
	double v;
	struct gate_metric m = { .subject = GATE_STEP, .step = "all",
				 .stat = GATE_STAT_MAX };
	char *cause = NULL;

	gen_spec_init(&g);
	g.iterations = 6;
	g.nops = 3;
	g.no_spans = true;
	run_data_init(&rd);
	assert_int_equal(run_data_load(&rd, f->st, make(f, &g), &cause), 0);
	assert_int_equal(rd.agg.niterations, 6);
	assert_int_equal(rd.nrebuilt, 6);
	op = aggregate_find(&rd.agg, "harness", "iteration",
			    "iteration");
	assert_non_null(op);
	/* 3 ops of 1.0, 1.1 and 1.2 ms (+-2%) and gaps: about 3.3ms. */
	assert_true(rd.agg.iter_ns[0] > 3.2e6 && rd.agg.iter_ns[0] < 3.5e6);
	assert_int_equal(aggregate_gate_lookup(&v, &m, &cause, &rd.agg), 0);
	assert_true(v > 3.1e6 && v < 3.5e6);
	run_data_release(&rd);
}

static void test_compare__identical_pass(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	const struct compare_row *last = NULL;
	struct gen_spec g;
	struct verdict v;
	int64_t a, b;

	gen_spec_init(&g);
	a = make(f, &g);
	g.seed = 2;
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_true(v.compared);
	assert_int_equal(count_findings(&v, &last), 0);
	assert_int_equal(v.status, VERDICT_PASS);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_OK);
	/* Default gates: no failed iteration; regression of the critical
	 * path and of the counts. */
	assert_int_equal(v.ngates, 3);
	assert_string_equal(v.gates[0].name, "failure_rate == 0");
	assert_string_equal(v.gates[1].name, "regression: critical-path");
	assert_string_equal(v.gates[2].name, "regression: count");
	for (size_t i = 0; i < v.ngates; i++)
		assert_true(v.gates[i].pass);
	verdict_release(&v);
}

static void test_compare__one_shift_among_fifty(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	const struct compare_row *last = NULL;
	const char *metric = "op(svc2, func, op17)";
	struct gen_spec g;
	struct verdict v;
	int64_t a, b;

	gen_spec_init(&g);
	a = make(f, &g);
	g.seed = 3;
	g.shift_op = 17;
	g.shift = 0.10;
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	/* Found, and only it: the time row of op17. */
	assert_int_equal(count_findings(&v, &last), 1);
	assert_string_equal(last->name, "op17");
	assert_int_equal(last->measure, COMPARE_TIME);
	assert_true(last->regression);
	assert_true(last->hl.rel_shift > 0.08 && last->hl.rel_shift < 0.12);
	assert_true(last->hl.rel_lo > 0.05 && last->hl.rel_hi < 0.15);
	/* The iteration grew about 0.3%: not a regression of 5%. */
	assert_int_equal(v.status, VERDICT_PASS);
	verdict_release(&v);

	/* Gated on that operation, the same shift fails. */
	opt.metrics = &metric;
	opt.nmetrics = 1;
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_int_equal(v.status, VERDICT_REGRESSION);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_REGRESSION);
	assert_string_equal(v.gates[1].name,
			    "regression: op(svc2, func, op17)");
	assert_false(v.gates[1].pass);
	assert_non_null(strstr(v.gates[1].message, "REGRESSION"));
	verdict_release(&v);
}

static void test_compare__iteration_regression_and_cause(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	int64_t a, b;

	gen_spec_init(&g);
	g.nops = 10;
	a = make(f, &g);
	g.seed = 4;
	g.shift_op = 9;
	g.shift = 1.0; /* 1.9ms more in a ~15ms iteration */
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_int_equal(v.status, VERDICT_REGRESSION);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_REGRESSION);
	assert_false(v.gates[1].pass);
	assert_true(v.cmp.ncauses >= 1);
	assert_string_equal(v.cmp.rows[v.cmp.causes[0].row].name, "op09");
	assert_non_null(strstr(v.summary, "iteration"));
	verdict_release(&v);
}

static void test_compare__count_change_exact(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	const struct compare_row *count = NULL;
	int64_t a, b;
	size_t ncount = 0;

	gen_spec_init(&g);
	a = make(f, &g);
	g.seed = 5;
	g.count_op = 30;
	g.count_extra = 2;
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	for (size_t i = 0; i < v.cmp.nrows; i++) {
		const struct compare_row *r = &v.cmp.rows[i];

		if (r->measure == COMPARE_COUNT && r->finding) {
			ncount++;
			count = r;
		}
	}
	assert_int_equal(ncount, 1);
	assert_string_equal(count->name, "op30");
	assert_true(count->exact);
	assert_true(count->base_median == 1 && count->head_median == 3);
	assert_int_equal(v.status, VERDICT_REGRESSION);
	assert_false(v.gates[2].pass);
	assert_non_null(strstr(v.gates[2].message, "op30"));
	verdict_release(&v);
}

static void test_compare__failures_break_the_default_gate(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	char *cause = NULL;
	int64_t a, b;

	gen_spec_init(&g);
	a = make(f, &g);
	g.seed = 6;
	g.failed = 3;
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_int_equal(v.status, VERDICT_LIMIT);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_LIMIT);
	assert_false(v.gates[0].pass);
	assert_true(fabs(v.gates[0].observed - 0.15) < 1e-9);
	verdict_release(&v);

	/* gates_for_run: the same limit without a baseline. */
	verdict_init(&v);
	assert_int_equal(gates_for_run(&v, f->st, b, NULL, &cause), 0);
	assert_false(v.has_base);
	assert_int_equal(v.status, VERDICT_LIMIT);
	verdict_release(&v);
	verdict_init(&v);
	assert_int_equal(gates_for_run(&v, f->st, a, NULL, &cause), 0);
	assert_int_equal(v.status, VERDICT_PASS);
	assert_int_equal(v.ngates, 1);
	verdict_release(&v);
}

static void test_compare__no_baseline_and_inconclusive(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	int64_t a, b;
	char *out;

	gen_spec_init(&g);
	g.iterations = 4;
	g.nops = 3;
	g.noise = 0.5;
	a = make(f, &g);
	g.seed = 7;
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, 0, b, NULL, &opt);
	assert_int_equal(v.status, VERDICT_NO_BASELINE);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_INCONCLUSIVE);
	/* No baseline is no success in JUnit either. */
	assert_says(&v, "junit",
		    "name=\"verdict\">\n      <skipped message=\"no baseline "
		        "run",
		    (char *)NULL);
	verdict_release(&v);

	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_int_equal(v.status, VERDICT_INCONCLUSIVE);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_INCONCLUSIVE);
	assert_true(v.cmp.iterations_needed > 4);
	assert_true(v.gates[1].pass && v.gates[1].inconclusive);
	assert_string_equal(report_compare_gate_word(&v, &v.gates[1]),
			    "inconclusive");
	/* Every writer says inconclusive, why, and what the noise was;
	 * none says the critical-path gate passed. */
	out = write_report("terminal", &v);
	assert_null(strstr(out, "  pass          critical-path"));
	free(out);
	assert_says(&v, "terminal",
		    "\n  inconclusive  critical-path: ",
		    "\nwhy: widest interval: op(",
		    "iterations per run would settle it",
		    "\nnoise: spread of an operation within a run ±",
		    "\ndrift: machine factor (head against base) ",
		    (char *)NULL);
	assert_says(&v, "markdown",
		    "**harness syn: ⚠️ inconclusive**",
		    "\n**Why:** widest interval: ",
		    "| `regression: critical-path` | inconclusive ",
		    "\n- noise: spread of an operation",
		    "Gates: 3, 0 failed, 1 inconclusive",
		    (char *)NULL);
	assert_says(&v, "junit",
		    "name=\"regression: critical-path\">\n      <skipped "
		        "message=\"critical-path: ",
		    "name=\"verdict\">\n      <skipped "
		        "message=\"inconclusive: ",
		    "skipped=\"2\"",
		    "<property name=\"noise\" value=\"noise: ",
		    (char *)NULL);
	assert_says(&v, "json",
		    "\"status\": \"inconclusive\"",
		    "\"inconclusive\": true",
		    "\"result\": \"inconclusive\"",
		    "\"inconclusive_reason\": \"inconclusive: ",
		    (char *)NULL);
	verdict_release(&v);

	opt.no_baseline_ok = true;
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_OK);
	verdict_release(&v);
}

static void test_compare__mismatch_refused_unless_forced(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	char *cause = NULL;
	int64_t a, b;

	gen_spec_init(&g);
	a = make(f, &g);
	g.seed = 8;
	g.config_hash = "h2";
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	assert_int_equal(verdict_for_runs(&v, f->st, a, b, NULL, &opt, &cause),
			 VERDICT_EMISMATCH);
	assert_non_null(strstr(cause, "not comparable"));
	free(cause);
	verdict_release(&v);

	opt.force = true;
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_non_null(v.mismatch);
	assert_non_null(strstr(v.mismatch, "config"));
	assert_int_equal(v.status, VERDICT_PASS);
	verdict_release(&v);
}

/* The same numbers, within the precision of a double (the iteration
 * order is the same, so they are equal). */
static void assert_same_ops(const struct aggregate *a,
			    const struct aggregate *b)
{
	size_t n = a->niterations;

	assert_int_equal(a->niterations, b->niterations);
	assert_int_equal(a->nfailed, b->nfailed);
	assert_memory_equal(a->iter_ns, b->iter_ns, n * sizeof(double));
	assert_int_equal(a->nops, b->nops);
	for (size_t i = 0; i < a->nops; i++) {
		const struct aggregate_op *x = &a->ops[i], *y = &b->ops[i];

		assert_string_equal(x->service, y->service);
		assert_string_equal(x->kind, y->kind);
		assert_string_equal(x->name, y->name);
		assert_memory_equal(x->count, y->count, n * sizeof(double));
		assert_memory_equal(x->total_ns, y->total_ns,
				    n * sizeof(double));
		assert_memory_equal(x->self_ns, y->self_ns, n * sizeof(double));
		assert_memory_equal(x->crit_ns, y->crit_ns, n * sizeof(double));
		assert_int_equal(x->ndurations, y->ndurations);
		assert_memory_equal(x->durations, y->durations,
				    x->ndurations * sizeof(double));
	}
}

/* Two runs per side pooled give what one run per side with the union of
 * their iterations gives: the same distributions, rows and verdict. */
static void test_compare__pooled_runs_equal_one_run(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g[4];
	struct verdict pooled, one;
	int64_t base[2], head[2], ubase, uhead;
	char *cause = NULL;

	for (int i = 0; i < 4; i++) {
		gen_spec_init(&g[i]);
		g[i].iterations = 10;
		g[i].warmup = 2;
		g[i].nops = 6;
		g[i].noise = 0.05;
		g[i].seed = (uint64_t)i + 11;
		if (i >= 2) {
			g[i].shift_op = 3;
			g[i].shift = 0.4;
		}
	}
	g[1].failed = 1;
	g[3].iterations = 7;
	for (int i = 0; i < 2; i++) {
		base[i] = make(f, &g[i]);
		head[i] = make(f, &g[2 + i]);
	}
	/* The union runs: the first run's iterations, then the second's
	 * appended to the same run. */
	ubase = make(f, &g[0]);
	g[1].append_to = ubase;
	g[1].first_seq = 100;
	make(f, &g[1]);
	uhead = make(f, &g[2]);
	g[3].append_to = uhead;
	g[3].first_seq = 100;
	make(f, &g[3]);

	verdict_options_init(&opt);
	verdict_init(&pooled);
	verdict_init(&one);
	if (verdict_for_run_sets(&pooled, f->st, base, 2, head, 2, NULL, &opt,
				 &cause) < 0)
		fail_msg("verdict_for_run_sets: %s", cause);
	decide(&one, f, ubase, uhead, NULL, &opt);

	assert_int_equal(pooled.base.nruns, 2);
	assert_int_equal(pooled.head.nruns, 2);
	assert_int_equal(pooled.base.runs[0]->id, base[0]);
	assert_int_equal(pooled.base.runs[1]->id, base[1]);
	assert_int_equal(pooled.head.run->id, head[0]);
	assert_int_equal(pooled.head.runs[1]->id, head[1]);
	assert_null(pooled.mismatch);
	assert_int_equal(pooled.base.nmeasured, 20);
	assert_int_equal(pooled.base.nwarmup, 4);
	assert_int_equal(pooled.base.nfailed, 1);
	assert_int_equal(pooled.head.agg.niterations, 17);
	assert_int_equal(pooled.base.nmeasured, one.base.nmeasured);
	assert_int_equal(pooled.base.nwarmup, one.base.nwarmup);
	assert_int_equal(pooled.base.nfailed, one.base.nfailed);
	assert_int_equal(pooled.base.nspans, one.base.nspans);
	assert_int_equal(pooled.head.nmeasured, one.head.nmeasured);
	assert_int_equal(pooled.head.nspans, one.head.nspans);
	assert_same_ops(&pooled.base.agg, &one.base.agg);
	assert_same_ops(&pooled.head.agg, &one.head.agg);

	assert_true(pooled.compared && one.compared);
	/* Two runs a side are compared as two paired rounds, the union
	 * runs as one block: the same rows and medians, each round's
	 * shift its own estimate. */
	assert_int_equal(pooled.cmp.noise.nblocks, 2);
	assert_int_equal(one.cmp.noise.nblocks, 1);
	assert_int_equal(pooled.cmp.nrows, one.cmp.nrows);
	for (size_t i = 0; i < one.cmp.nrows; i++) {
		const struct compare_row *p = &pooled.cmp.rows[i];
		const struct compare_row *o = &one.cmp.rows[i];

		assert_string_equal(p->name, o->name);
		assert_int_equal(p->measure, o->measure);
		assert_int_equal(p->nbase, o->nbase);
		assert_int_equal(p->nhead, o->nhead);
		assert_true(p->base_median == o->base_median);
		assert_true(p->head_median == o->head_median);
	}
	/* The planted shift is found either way. */
	assert_int_equal(one.status, VERDICT_REGRESSION);
	assert_int_equal(pooled.status, one.status);
	assert_int_equal(pooled.ngates, one.ngates);
	verdict_release(&pooled);
	verdict_release(&one);
}

/* Every run of a side shares the scenario and config hash, or the
 * comparison is refused (unless forced). */
static void test_compare__pooled_mismatch_refused(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	char *cause = NULL;
	int64_t a[2], b[2], other, h2;

	gen_spec_init(&g);
	g.nops = 4;
	for (int i = 0; i < 2; i++) {
		g.seed = (uint64_t)i + 1;
		a[i] = make(f, &g);
		g.seed = (uint64_t)i + 3;
		b[i] = make(f, &g);
	}
	g.seed = 5;
	g.scenario = "other";
	other = make(f, &g);
	g.seed = 6;
	g.scenario = "syn";
	g.config_hash = "h2";
	h2 = make(f, &g);
	verdict_options_init(&opt);

	/* A base of two scenarios. */
	verdict_init(&v);
	assert_int_equal(verdict_for_run_sets(&v, f->st,
					      (int64_t[]){ a[0], other }, 2,
					      b, 2, NULL, &opt, &cause),
			 VERDICT_EMISMATCH);
	assert_non_null(strstr(cause, "of the base are not comparable"));
	assert_non_null(strstr(cause, "scenario 'syn' against 'other'"));
	free(cause);
	cause = NULL;
	verdict_release(&v);

	/* A head of two configs. */
	verdict_init(&v);
	assert_int_equal(verdict_for_run_sets(&v, f->st, a, 2,
					      (int64_t[]){ b[0], h2 }, 2,
					      NULL, &opt, &cause),
			 VERDICT_EMISMATCH);
	assert_non_null(strstr(cause, "of the head are not comparable"));
	assert_non_null(strstr(cause, "config"));
	free(cause);
	cause = NULL;
	verdict_release(&v);

	/* Alike within each side, but the sides differ. */
	verdict_init(&v);
	assert_int_equal(verdict_for_run_sets(&v, f->st,
					      (int64_t[]){ h2 }, 1, b, 2,
					      NULL, &opt, &cause),
			 VERDICT_EMISMATCH);
	assert_non_null(strstr(cause, "not comparable"));
	free(cause);
	cause = NULL;
	verdict_release(&v);

	/* Forced: compared, and the reports are told how. */
	opt.force = true;
	verdict_init(&v);
	if (verdict_for_run_sets(&v, f->st, a, 2, (int64_t[]){ b[0], h2 }, 2,
				 NULL, &opt, &cause) < 0)
		fail_msg("forced: %s", cause);
	assert_non_null(v.mismatch);
	assert_non_null(strstr(v.mismatch, "in the head"));
	assert_int_equal(v.head.nruns, 2);
	assert_true(v.compared);
	verdict_release(&v);

	/* No head run at all is an error, not a crash. */
	verdict_init(&v);
	assert_true(verdict_for_run_sets(&v, f->st, a, 2, NULL, 0, NULL, &opt,
					 &cause) < 0);
	free(cause);
	verdict_release(&v);
}

static void test_compare__scenario_gates_and_bad_ones(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct scenario sc = { 0 };
	struct scenario_gate gates[3] = {
		{ .expr = "iteration.p95 < 1s" },
		{ .expr = "op(svc1, func, op01).max < 500us" },
		{ .expr = "count(func, service=svc0) <= 10" },
	};
	char *metrics[] = { "step(all)" };
	struct gen_spec g;
	struct verdict v;
	char *cause = NULL;
	int64_t a, b;

	gen_spec_init(&g);
	a = make(f, &g);
	g.seed = 9;
	b = make(f, &g);
	sc.path = "syn.yaml";
	sc.gates = gates;
	sc.ngates = 3;
	sc.regression.alpha = 0.05;
	sc.regression.min_effect = 0.05;
	sc.regression.metrics = metrics;
	sc.regression.nmetrics = 1;
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, &sc, &opt);
	assert_int_equal(v.ngates, 4); /* 3 absolute, step(all) */
	assert_true(v.gates[0].pass);
	assert_false(v.gates[1].pass); /* op01 takes 1.1ms */
	assert_true(v.gates[2].pass);
	/* No step spans were stored: no data, inconclusive, but the broken
	 * limit decides. */
	assert_string_equal(v.gates[3].name, "regression: step(all)");
	assert_true(v.gates[3].missing);
	assert_int_equal(v.status, VERDICT_LIMIT);
	verdict_release(&v);

	gates[1].expr = "op(svc1, func, op01).max < fast";
	gates[1].pos.file = "syn.yaml";
	gates[1].pos.line = 7;
	gates[1].pos.column = 5;
	verdict_init(&v);
	assert_int_equal(verdict_for_runs(&v, f->st, a, b, &sc, &opt, &cause),
			 VERDICT_ECONFIG);
	/* At "fast": the scalar's column plus its offset in the gate. */
	assert_non_null(strstr(cause, "syn.yaml:7:32: bad gate"));
	free(cause);
	verdict_release(&v);

	/* Written in quotes, the expression starts one column later. */
	gates[1].quoted = true;
	verdict_init(&v);
	assert_int_equal(verdict_for_runs(&v, f->st, a, b, &sc, &opt, &cause),
			 VERDICT_ECONFIG);
	assert_non_null(strstr(cause, "syn.yaml:7:33: bad gate"));
	free(cause);
	verdict_release(&v);
}

/* Every operation of every service 30% slower: the machine, not the
 * code; every writer says so in its own word, with the evidence. */
static void test_compare__machine_wide_shift(void **state)
{
	struct fixture *f = *state;
	struct verdict_options opt;
	struct gen_spec g;
	struct verdict v;
	int64_t a, b;

	gen_spec_init(&g);
	g.nops = 20;
	a = make(f, &g);
	g.seed = 8;
	g.scale = 0.3;
	b = make(f, &g);
	verdict_options_init(&opt);
	verdict_init(&v);
	decide(&v, f, a, b, NULL, &opt);
	assert_int_equal(v.status, VERDICT_MACHINE);
	assert_int_equal(verdict_exit_code(&v), HARNESS_EXIT_MACHINE);
	assert_true(v.cmp.machine.shifted);
	assert_int_equal(v.cmp.machine.nops, 20);
	assert_int_equal(v.cmp.machine.nup, 20);
	assert_int_equal(v.cmp.machine.nservices, 5);
	assert_int_equal(v.cmp.machine.nservices_with, 5);
	assert_string_equal(report_compare_gate_word(&v, &v.gates[0]), "pass");
	assert_string_equal(report_compare_gate_word(&v, &v.gates[1]),
			    "machine");
	/* A count does not depend on the machine's speed. */
	assert_string_equal(report_compare_gate_word(&v, &v.gates[2]), "pass");

	assert_says(&v, "terminal",
		    "\nmachine-wide shift: every operation +",
		    "20 of 20 operations slower, 5 of 5 services with it",
		    "\n  machine       critical-path: ",
		    "\nverdict: machine: machine-wide ",
		    (char *)NULL);
	assert_says(&v, "markdown",
		    "**harness syn: ⚠️ machine-wide shift**",
		    "- **machine-wide shift: every operation",
		    (char *)NULL);
	assert_says(&v, "junit",
		    "name=\"regression: critical-path\">\n      <skipped "
		        "message=\"machine-wide ",
		    "name=\"verdict\">\n      <skipped message=\"machine-wide "
		        "shift: every ",
		    "failures=\"0\"",
		    (char *)NULL);
	assert_says(&v, "json",
		    "\"status\": \"machine\"",
		    "\"exit_code\": 4",
		    "\"shifted\": true",
		    "\"result\": \"machine\"",
		    (char *)NULL);
	verdict_release(&v);
}

/* The shared lines on a result built by hand: three rounds. */
static void test_compare__noise_and_roles_formatting(void **state)
{
	double bs[3] = { 0.021, 0.019, 0.030 }, hs[3] = { 0.023, 0.025, 0.02 };
	double bm[3];
	struct compare_row rows[2];
	struct compare_result c;
	char *lines[2], *s;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(rows, 0, sizeof(rows));
	bm[0] = log1p(0.01);
	bm[1] = log1p(-0.004);
	bm[2] = log1p(0.02);
	c.noise.nblocks = 3;
	c.noise.base_spread = bs;
	c.noise.head_spread = hs;
	c.noise.block_machine = bm;
	c.noise.op_spread = 0.008;
	c.noise.drift = 0.012;
	c.machine.factor.k = 3;
	c.machine.factor.est = log1p(0.009);
	c.machine.factor.lo = log1p(-0.003);
	c.machine.factor.hi = log1p(0.021);
	c.widest = SIZE_MAX;
	assert_int_equal(report_compare_noise_lines(&c, lines), 2);
	assert_string_equal(lines[0],
			    "noise: spread of an operation within a run per "
			    "round of 3 (base/head) ±2.1%/±2.3%, ±1.9%/±2.5%, "
			    "±3.0%/±2.0%; operations around the machine "
			    "factor ±0.8%");
	assert_string_equal(lines[1],
			    "drift: machine factor (head against base) per "
			    "round +1.0%, -0.4%, +2.0%, combined +0.9% "
			    "[-0.3%, +2.1%], every change shown net of it; "
			    "drift between rounds ±1.2%");
	free(lines[0]);
	free(lines[1]);
	/* One round: no drift between rounds to speak of. */
	c.noise.nblocks = 1;
	c.machine.factor.k = 1;
	assert_int_equal(report_compare_noise_lines(&c, lines), 2);
	assert_string_equal(lines[0],
			    "noise: spread of an operation within a run "
			    "±2.1% in base, ±2.3% in head; operations around "
			    "the machine factor ±0.8%");
	assert_string_equal(lines[1],
			    "drift: machine factor (head against base) +1.0% "
			    "[-0.3%, +2.1%], every change shown net of it; "
			    "one round, no drift between rounds measured");
	free(lines[0]);
	free(lines[1]);
	/* No blocks (a result built by hand): said, not invented. */
	c.noise.nblocks = 0;
	assert_int_equal(report_compare_noise_lines(&c, lines), 1);
	assert_string_equal(lines[0], "noise: not measured");
	assert_null(lines[1]);
	free(lines[0]);

	/* A machine-wide shift's evidence; none without one. */
	assert_null(report_compare_machine_line(&c));
	c.machine.shifted = true;
	c.machine.factor.est = log1p(0.12);
	c.machine.factor.lo = log1p(0.10);
	c.machine.factor.hi = log1p(0.14);
	c.machine.nops = 50;
	c.machine.nup = 48;
	c.machine.nservices = c.machine.nservices_with = 5;
	c.machine.sign_p = 1e-13;
	s = report_compare_machine_line(&c);
	assert_string_equal(s, "machine-wide shift: every operation +12.0% "
			       "[+10.0%, +14.0%], 48 of 50 operations slower, "
			       "5 of 5 services with it (sign test p=1e-13)");
	free(s);

	/* Inconclusive: the reason, the widest interval, the need. */
	assert_null(report_compare_inconclusive_line(&c, true));
	rows[0] = (struct compare_row){ .service = "scheduler", .kind = "db",
					.name = "SELECT hosts",
					.measure = COMPARE_TIME };
	rows[0].crit.abs_shift = 0.3e6;
	rows[0].crit.abs_lo = -0.2e6;
	rows[0].crit.abs_hi = 1.2e6;
	c.rows = rows;
	c.nrows = 1;
	c.widest = 0;
	c.threshold_ns = 0.8e6;
	c.iterations_needed = 240;
	c.verdict = COMPARE_INCONCLUSIVE;
	c.reason = "it could not tell";
	s = report_compare_inconclusive_line(&c, true);
	assert_string_equal(s, "inconclusive: it could not tell; widest "
			       "interval: op(scheduler, db, \"SELECT hosts\"), "
			       "critical path +0.30ms [-0.20ms, +1.20ms] "
			       "against the limit 0.80ms; about 240 iterations "
			       "per run would settle it");
	free(s);
	s = report_compare_inconclusive_line(&c, false);
	assert_int_equal(strncmp(s, "widest interval: op(", 20), 0);
	free(s);

	/* Rows by role: a consequence is no finding of its own. */
	rows[0].finding = rows[0].regression = true;
	rows[0].role = COMPARE_ROLE_CAUSE;
	assert_string_equal(report_compare_row_note(&rows[0]),
			    "REGRESSION, cause");
	assert_true(report_compare_row_alarm(&rows[0]));
	rows[0].gated_crit = true;
	assert_string_equal(report_compare_row_note(&rows[0]),
			    "REGRESSION, cause, critical path");
	rows[1] = rows[0];
	rows[1].gated_crit = false;
	rows[1].role = COMPARE_ROLE_CONSEQUENCE;
	assert_string_equal(report_compare_row_note(&rows[1]), "consequence");
	assert_false(report_compare_row_alarm(&rows[1]));
	rows[1].role = COMPARE_ROLE_NONE;
	assert_string_equal(report_compare_row_note(&rows[1]), "REGRESSION");
	rows[1].finding = rows[1].regression = false;
	rows[1].inconclusive = true;
	assert_string_equal(report_compare_row_note(&rows[1]), "inconclusive");
}

static void test_compare__formatting(void **state)
{
	struct compare_row r = { .service = "svc", .kind = "db",
				 .name = "SELECT hosts",
				 .measure = COMPARE_TIME };
	char buf[128], *label;

	(void)state;
	r.hl.rel_shift = 0.121;
	r.hl.rel_lo = 0.098;
	r.hl.rel_hi = 0.14;
	verdict_format_change(buf, sizeof(buf), &r);
	assert_string_equal(buf, "+12.1% [+9.8%, +14.0%]");
	r.measure = COMPARE_COUNT;
	r.exact = true;
	r.base_median = 1;
	r.head_median = 4;
	verdict_format_change(buf, sizeof(buf), &r);
	assert_string_equal(buf, "+3");
	label = verdict_row_label(&r);
	assert_string_equal(label, "op(svc, db, \"SELECT hosts\")");
	free(label);
	r.kind = "iteration";
	label = verdict_row_label(&r);
	assert_string_equal(label, "iteration");
	free(label);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_compare__load_counts_iterations),
		T(test_compare__rebuilt_without_spans),
		T(test_compare__identical_pass),
		T(test_compare__one_shift_among_fifty),
		T(test_compare__iteration_regression_and_cause),
		T(test_compare__count_change_exact),
		T(test_compare__failures_break_the_default_gate),
		T(test_compare__no_baseline_and_inconclusive),
		T(test_compare__mismatch_refused_unless_forced),
		T(test_compare__pooled_runs_equal_one_run),
		T(test_compare__pooled_mismatch_refused),
		T(test_compare__scenario_gates_and_bad_ones),
		T(test_compare__machine_wide_shift),
		T(test_compare__noise_and_roles_formatting),
		T(test_compare__formatting),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
