/* test-gate.c: parsing gate expressions (fields, units, error messages with
 * columns) and evaluating them through a lookup callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/gate.h"

static struct gate *parse_ok(const char *expr)
{
	struct gate *g = NULL;
	char *cause = NULL;
	unsigned col = 0;

	if (gate_parse(&g, expr, &col, &cause) < 0)
		fail_msg("'%s': column %u: %s", expr, col, cause);
	assert_non_null(g);
	assert_string_equal(g->expr, expr);
	return g;
}

/* Parse EXPR, which must fail with a message containing WANT at column
 * COL. */
static void parse_err(const char *expr, unsigned col, const char *want)
{
	struct gate *g = (struct gate *)1;
	char *cause = NULL;
	unsigned got_col = 0;

	assert_int_equal(gate_parse(&g, expr, &got_col, &cause), -1);
	assert_null(g);
	assert_non_null(cause);
	if (!strstr(cause, want))
		fail_msg("'%s': message '%s' lacks '%s'", expr, cause, want);
	if (got_col != col)
		fail_msg("'%s': column %u, want %u (%s)", expr, got_col, col,
			 cause);
	free(cause);
}

static void test_gate__parses_the_documented_forms(void **state)
{
	struct gate *g;

	(void)state;
	g = parse_ok("iteration.p95 < 800ms");
	assert_int_equal(g->metric.subject, GATE_ITERATION);
	assert_int_equal(g->metric.stat, GATE_STAT_PERCENTILE);
	assert_true(g->metric.percentile == 95);
	assert_int_equal(g->cmp, GATE_LT);
	assert_true(g->limit == 800e6);
	assert_int_equal(g->unit, GATE_UNIT_NS);
	gate_free(g);

	g = parse_ok("iteration.mean <= 1.2s");
	assert_int_equal(g->metric.stat, GATE_STAT_MEAN);
	assert_int_equal(g->cmp, GATE_LE);
	assert_true(fabs(g->limit - 1.2e9) < 1e-3);
	gate_free(g);

	g = parse_ok("step(create-server).p99 < 500ms");
	assert_int_equal(g->metric.subject, GATE_STEP);
	assert_string_equal(g->metric.step, "create-server");
	assert_true(g->metric.percentile == 99);
	gate_free(g);

	g = parse_ok("op(scheduler, rpc.dispatch, select_destinations).p50 "
		     "< 50ms");
	assert_int_equal(g->metric.subject, GATE_OP);
	assert_string_equal(g->metric.service, "scheduler");
	assert_string_equal(g->metric.kind, "rpc.dispatch");
	assert_string_equal(g->metric.name, "select_destinations");
	assert_true(g->limit == 50e6);
	gate_free(g);

	g = parse_ok("op(api, rest.dispatch, \"POST /servers\").max<=2m");
	assert_string_equal(g->metric.name, "POST /servers");
	assert_int_equal(g->metric.stat, GATE_STAT_MAX);
	assert_true(g->limit == 120e9);
	gate_free(g);

	g = parse_ok("failure_rate < 1%");
	assert_int_equal(g->metric.subject, GATE_FAILURE_RATE);
	assert_int_equal(g->unit, GATE_UNIT_FRACTION);
	assert_true(fabs(g->limit - 0.01) < 1e-15);
	gate_free(g);

	g = parse_ok("failure_rate == 0");
	assert_int_equal(g->cmp, GATE_EQ);
	assert_true(g->limit == 0);
	gate_free(g);

	g = parse_ok("count(db, service=scheduler) <= 5");
	assert_int_equal(g->metric.subject, GATE_COUNT);
	assert_string_equal(g->metric.kind, "db");
	assert_string_equal(g->metric.service, "scheduler");
	assert_null(g->metric.name);
	assert_int_equal(g->metric.stat, GATE_STAT_MAX);
	assert_int_equal(g->unit, GATE_UNIT_COUNT);
	assert_true(g->limit == 5);
	gate_free(g);

	g = parse_ok("count(*, name = \"SELECT hosts\").mean != 3");
	assert_null(g->metric.kind);
	assert_string_equal(g->metric.name, "SELECT hosts");
	assert_int_equal(g->metric.stat, GATE_STAT_MEAN);
	assert_int_equal(g->cmp, GATE_NE);
	gate_free(g);

	g = parse_ok("  iteration.p99.9 >= 10us  ");
	assert_true(g->metric.percentile == 99.9);
	assert_int_equal(g->cmp, GATE_GE);
	assert_true(g->limit == 10e3);
	gate_free(g);

	g = parse_ok("step(boot).median > 250 ns");
	assert_int_equal(g->metric.stat, GATE_STAT_MEDIAN);
	assert_int_equal(g->cmp, GATE_GT);
	assert_true(g->limit == 250);
	gate_free(g);
}

static void test_gate__errors_name_the_column(void **state)
{
	(void)state;
	parse_err("iteration.p95 < fast", 17,
		  "expected a duration (such as 800ms) after '<', found "
		  "'fast'");
	parse_err("iteration.p95 < 800", 17,
		  "expected a duration after '<', found '800' (add a unit");
	parse_err("iteration.p95 < 800ms fast", 23, "unexpected 'fast'");
	parse_err("iteration.p95 < 800qs", 20, "unknown unit 'qs'");
	parse_err("iteration < 800ms", 10, "expected '.' and a statistic");
	parse_err("iteration.p95 800ms", 15, "expected a comparison");
	parse_err("iteration.p95 =< 800ms", 15, "expected a comparison");
	parse_err("iteration.fast < 1s", 11, "unknown statistic 'fast'");
	parse_err("iteration.p101 < 1s", 11, "unknown statistic 'p101'");
	parse_err("iteration. < 1s", 11, "expected a statistic");
	parse_err("latency.p95 < 1s", 1, "unknown metric 'latency'");
	parse_err("", 1, "expected a metric, found the end");
	parse_err("step(create-server.p99 < 500ms", 31,
		  "expected ')' after the step name, found the end");
	parse_err("step().p99 < 500ms", 6, "expected a step name");
	parse_err("op(api, rest.call).p50 < 1s", 18,
		  "expected ',' after the kind in op(service, kind, name)");
	parse_err("count(db, host=x) <= 5", 11, "expected a filter");
	parse_err("count(db, service=a, service=b) <= 5", 22, "given twice");
	parse_err("count(db) <= 5ms", 14, "expected a number after '<='");
	parse_err("failure_rate < 150%", 16, "at most 100%");
	parse_err("failure_rate < 1s", 16, "expected a percentage");
	parse_err("step(\"boot) < 1s", 6, "unterminated string");
}

static void test_gate__metric_format_round_trips(void **state)
{
	static const char *const exprs[] = {
		"iteration.p95 < 1s",
		"step(create-server).p99 < 1s",
		"op(api, rest.dispatch, \"POST /servers\").mean < 1s",
		"op(x, func, \"a \\\"quoted\\\" name\").min < 1s",
		"count(db, service=scheduler, name=\"SELECT a, b\").p50 < 4",
		"count(*).max < 4",
		"failure_rate < 5%",
	};
	static const char *const want[] = {
		"iteration.p95",
		"step(create-server).p99",
		"op(api, rest.dispatch, \"POST /servers\").mean",
		"op(x, func, \"a \\\"quoted\\\" name\").min",
		"count(db, service=scheduler, name=\"SELECT a, b\").p50",
		"count(*).max",
		"failure_rate",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct gate *g = parse_ok(exprs[i]), *g2;
		char *s = gate_metric_format(&g->metric), *again;

		assert_string_equal(s, want[i]);
		again = malloc(strlen(s) + 8);
		strcpy(again, s);
		strcat(again, " < ");
		strcat(again, g->unit == GATE_UNIT_NS	    ? "1s"
			      : g->unit == GATE_UNIT_COUNT ? "4"
							   : "5%");
		g2 = parse_ok(again);
		free(s);
		s = gate_metric_format(&g2->metric);
		assert_string_equal(s, want[i]);
		free(s);
		free(again);
		gate_free(g);
		gate_free(g2);
	}
}

static void test_gate__bare_metrics(void **state)
{
	struct gate_metric m;
	char *cause = NULL;
	unsigned col = 0;

	(void)state;
	assert_int_equal(gate_metric_parse(&m, "iteration", &col, &cause), 0);
	assert_int_equal(m.subject, GATE_ITERATION);
	assert_int_equal(m.stat, GATE_STAT_MEDIAN);
	gate_metric_release(&m);
	assert_int_equal(gate_metric_parse(&m, "step(boot)", &col, &cause), 0);
	assert_string_equal(m.step, "boot");
	gate_metric_release(&m);
	assert_int_equal(gate_metric_parse(&m, "op(a, db, q).p90", &col,
					   &cause),
			 0);
	assert_true(m.percentile == 90);
	gate_metric_release(&m);
	assert_int_equal(gate_metric_parse(&m, "count(db)", &col, &cause), -1);
	assert_int_equal(col, 1);
	assert_non_null(strstr(cause, "unknown metric 'count'"));
	free(cause);
	assert_int_equal(gate_metric_parse(&m, "iteration < 1s", &col, &cause),
			 -1);
	assert_int_equal(col, 11);
	free(cause);
}

/* A lookup over a fixed table: iteration.p95 is 912ms, step "boot" has no
 * data, the count of db spans is 7, the failure rate 2%; "explode" fails. */
static int fake_lookup(double *value, const struct gate_metric *m,
		       char **cause, void *payload)
{
	int *calls = payload;

	(*calls)++;
	switch (m->subject) {
	case GATE_ITERATION:
		*value = m->stat == GATE_STAT_PERCENTILE ? 912e6 : 500e6;
		return 0;
	case GATE_STEP:
		if (!strcmp(m->step, "explode")) {
			*cause = strdup("store went away");
			return -5;
		}
		return 1;
	case GATE_COUNT:
		*value = 7;
		return 0;
	case GATE_FAILURE_RATE:
		*value = 0.02;
		return 0;
	default:
		*value = 1;
		return 0;
	}
}

static void eval_line(const char *expr, bool pass, const char *line)
{
	struct gate *g = parse_ok(expr);
	struct gate_result res;
	char *cause = NULL;
	int calls = 0;

	assert_int_equal(gate_eval(&res, g, fake_lookup, &calls, &cause), 0);
	assert_int_equal(calls, 1);
	assert_null(cause);
	if (res.pass != pass || strcmp(res.line, line))
		fail_msg("'%s': got '%s' (%s), want '%s'", expr, res.line,
			 res.pass ? "pass" : "fail", line);
	gate_result_release(&res);
	gate_free(g);
}

static void test_gate__eval_lines(void **state)
{
	struct gate *g;
	struct gate_result res;
	char *cause = NULL;
	int calls = 0;

	(void)state;
	eval_line("iteration.p95 < 800ms", false,
		  "iteration.p95 = 912ms, limit < 800ms: FAIL");
	eval_line("iteration.p95 <= 1s", true,
		  "iteration.p95 = 912ms, limit <= 1s: pass");
	eval_line("iteration.mean > 500ms", false,
		  "iteration.mean = 500ms, limit > 500ms: FAIL");
	eval_line("iteration.mean >= 500ms", true,
		  "iteration.mean = 500ms, limit >= 500ms: pass");
	eval_line("count(db, service=scheduler) <= 5", false,
		  "count(db, service=scheduler).max = 7, limit <= 5: FAIL");
	eval_line("count(db) == 7", true, "count(db).max = 7, limit == 7: pass");
	eval_line("count(db) != 7", false,
		  "count(db).max = 7, limit != 7: FAIL");
	eval_line("failure_rate < 1%", false,
		  "failure_rate = 2%, limit < 1%: FAIL");
	eval_line("failure_rate < 0.05", true,
		  "failure_rate = 2%, limit < 5%: pass");
	eval_line("step(boot).p99 < 500ms", false,
		  "step(boot).p99: no data, limit < 500ms: FAIL");

	g = parse_ok("step(explode).p99 < 1s");
	assert_int_equal(gate_eval(&res, g, fake_lookup, &calls, &cause), -5);
	assert_string_equal(cause, "store went away");
	free(cause);
	gate_free(g);

	assert_false(gate_compare(NAN, GATE_NE, 1));
	assert_true(gate_compare(1, GATE_NE, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate__parses_the_documented_forms),
		cmocka_unit_test(test_gate__errors_name_the_column),
		cmocka_unit_test(test_gate__metric_format_round_trips),
		cmocka_unit_test(test_gate__bare_metrics),
		cmocka_unit_test(test_gate__eval_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
