/* test-analyze-compare.c: comparing synthetic runs of fifty operations
 * made with a fixed-seed generator: no finding between identical
 * distributions, exactly the shifted operation when one shifts, exact
 * count changes, the explanation of a slower iteration, inconclusive
 * verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/compare.h"

#define NOPS 50
#define MS 1000000.0

static char names[NOPS][16], services[5][16];
static const char *const kinds[] = { "db", "rpc.call", "rest.call" };

/* A run's shape: op k is called count[k] times per iteration, each call
 * lasting mean[k] ms times (1 + noise * N(0, 1)). */
struct shape {
	size_t nops;
	double mean[NOPS];
	int count[NOPS];
	double noise;
};

static uint64_t rng;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

static void shape_init(struct shape *s, size_t nops, double noise)
{
	memset(s, 0, sizeof(*s));
	s->nops = nops;
	s->noise = noise;
	for (size_t k = 0; k < nops; k++) {
		s->mean[k] = 1 + 0.1 * (double)k;
		s->count[k] = 1;
	}
}

/* Add N iterations of SHAPE to AGG, seeded with SEED. Each iteration is a
 * root with the calls in sequence, 10us apart. */
static void run(struct aggregate *agg, const struct shape *s, size_t n,
		uint64_t seed)
{
	struct analyze_span sp[4 * NOPS + 1];
	char *cause = NULL;

	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t it = 0; it < n; it++) {
		uint64_t t = 1000000000ull * (it + 1), start = t;
		size_t m = 1;

		for (size_t k = 0; k < s->nops; k++)
			for (int c = 0; c < s->count[k]; c++) {
				double d = s->mean[k] *
					   (1 + s->noise * gauss());

				if (d < 0.05 * s->mean[k])
					d = 0.05 * s->mean[k];
				t += 10000;
				sp[m] = (struct analyze_span){
					.span_id = m + 1, .parent_id = 1,
					.kind = kinds[k % 3],
					.service = services[k % 5],
					.name = names[k], .start_ns = t,
					.dur_ns = (uint64_t)(d * MS),
				};
				t += sp[m].dur_ns;
				m++;
			}
		sp[0] = (struct analyze_span){
			.span_id = 1, .kind = "iteration", .service = "harness",
			.name = "boot-vm", .start_ns = start,
			.dur_ns = t + 10000 - start,
		};
		if (aggregate_add_trace(agg, sp, m, &cause) < 0)
			fail_msg("%s", cause);
	}
}

/* The aggregates live as long as the result, whose rows borrow their
 * names. */
static struct aggregate agg_base, agg_head;

static void compare(struct compare_result *res, const struct shape *base,
		    const struct shape *head, size_t n,
		    const struct compare_options *opt)
{
	char *cause = NULL;

	aggregate_init(&agg_base);
	aggregate_init(&agg_head);
	run(&agg_base, base, n, 1);
	run(&agg_head, head, n, 2);
	if (compare_aggregates(res, &agg_base, &agg_head, opt, &cause) < 0)
		fail_msg("%s", cause);
}

static void release(struct compare_result *res)
{
	compare_result_release(res);
	aggregate_release(&agg_base);
	aggregate_release(&agg_head);
}

static const struct compare_row *find_row(const struct compare_result *res,
					  const char *name,
					  enum compare_measure measure)
{
	for (size_t i = 0; i < res->nrows; i++)
		if (!strcmp(res->rows[i].name, name) &&
		    res->rows[i].measure == measure)
			return &res->rows[i];
	fail_msg("no row %s", name);
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	for (size_t k = 0; k < NOPS; k++)
		snprintf(names[k], sizeof(names[k]), "op%02zu", k);
	for (size_t k = 0; k < 5; k++)
		snprintf(services[k], sizeof(services[k]), "svc%zu", k);
	return 0;
}

static void test_compare__identical_distributions(void **state)
{
	struct shape s;
	struct compare_result res;

	(void)state;
	shape_init(&s, NOPS, 0.03);
	compare(&res, &s, &s, 30, NULL);
	/* 50 operations and the iteration, a time and a count row each. */
	assert_int_equal(res.nrows, 2 * (NOPS + 1));
	assert_int_equal(res.nfindings, 0);
	assert_int_equal(res.verdict, COMPARE_PASS);
	assert_int_equal(res.ncauses, 0);
	assert_non_null(strstr(res.reason, "no regression of 5% or more of "
					   "the iteration"));
	assert_false(res.machine.shifted);
	assert_int_equal(res.noise.nblocks, 1);
	for (size_t i = 0; i < res.nrows; i++) {
		const struct compare_row *r = &res.rows[i];

		assert_true(r->in_base && r->in_head);
		if (r->measure == COMPARE_COUNT) {
			assert_true(r->exact);
			assert_true(r->q == 1);
		} else {
			assert_false(r->exact);
			assert_true(r->q >= r->total.p);
		}
	}
	release(&res);
}

static void test_compare__one_shift_among_fifty(void **state)
{
	struct shape base, head;
	struct compare_result res;
	struct compare_options opt;
	struct gate_metric gated = { .subject = GATE_OP,
				     .service = services[17 % 5],
				     .kind = (char *)kinds[17 % 3],
				     .name = names[17] };
	const struct compare_row *r;

	(void)state;
	shape_init(&base, NOPS, 0.03);
	head = base;
	head.mean[17] *= 1.10;
	compare(&res, &base, &head, 30, NULL);
	assert_int_equal(res.nfindings, 1);
	r = find_row(&res, "op17", COMPARE_TIME);
	assert_true(r->finding && r->regression);
	assert_true(r->q < 0.05);
	assert_true(r->hl.rel_lo < 0.10 && 0.10 < r->hl.rel_hi);
	assert_true(fabs(r->hl.rel_shift - 0.10) < 0.02);
	assert_false(r->gated);
	/* op17 is a small part of the iteration: by default (the iteration
	 * gated) that passes. */
	assert_int_equal(res.verdict, COMPARE_PASS);
	release(&res);

	/* Gate the operation itself: a regression. */
	compare_options_init(&opt);
	opt.gated = &gated;
	opt.ngated = 1;
	compare(&res, &base, &head, 30, &opt);
	assert_int_equal(res.verdict, COMPARE_REGRESSION);
	assert_non_null(strstr(res.reason, "op(svc2, rest.call, op17): +"));
	r = find_row(&res, "op17", COMPARE_TIME);
	assert_true(r->gated);
	release(&res);

	/* An improvement is a finding but not a regression. */
	head.mean[17] = base.mean[17] * 0.85;
	compare(&res, &base, &head, 30, &opt);
	assert_int_equal(res.nfindings, 1);
	r = find_row(&res, "op17", COMPARE_TIME);
	assert_true(r->finding && !r->regression);
	assert_int_equal(res.verdict, COMPARE_PASS);
	release(&res);
}

static void test_compare__count_change_is_exact(void **state)
{
	struct shape base, head;
	struct compare_result res;
	struct compare_options opt;
	const struct compare_row *r;

	(void)state;
	shape_init(&base, NOPS, 0.03);
	head = base;
	head.count[5] = 2;	/* one more query per iteration */
	compare(&res, &base, &head, 20, NULL);
	r = find_row(&res, "op05", COMPARE_COUNT);
	assert_true(r->exact && r->finding && r->regression);
	assert_true(r->base_median == 1 && r->head_median == 2);
	assert_true(r->q == 0);
	/* Its time doubled too; nothing else changed. */
	assert_true(find_row(&res, "op05", COMPARE_TIME)->finding);
	assert_int_equal(res.nfindings, 2);
	assert_int_equal(res.verdict, COMPARE_REGRESSION);
	assert_string_equal(res.reason,
			    "op(svc0, rest.call, op05): 2 spans per iteration, "
			    "was 1");
	release(&res);

	compare_options_init(&opt);
	opt.fail_on_count_increase = false;
	compare(&res, &base, &head, 20, &opt);
	assert_int_equal(res.verdict, COMPARE_PASS);
	release(&res);

	/* An operation only the head has: new time and count. */
	head = base;
	head.nops = NOPS;
	base.nops = NOPS - 1;
	compare(&res, &base, &head, 20, NULL);
	r = find_row(&res, "op49", COMPARE_COUNT);
	assert_false(r->in_base);
	assert_true(r->in_head && r->exact && r->regression);
	assert_true(find_row(&res, "op49", COMPARE_TIME)->finding);
	assert_int_equal(res.verdict, COMPARE_REGRESSION);
	release(&res);
}

static void test_compare__iteration_regression_explained(void **state)
{
	struct shape base, head;
	struct compare_result res;
	struct compare_options opt;
	struct gate_metric gated = { .subject = GATE_ITERATION };
	const struct compare_row *it, *r;

	(void)state;
	shape_init(&base, NOPS, 0.03);
	base.mean[3] = 200;	/* half the iteration */
	head = base;
	head.mean[3] *= 1.25;	/* the iteration: about +13% */
	head.mean[42] *= 1.30;	/* a smaller growth */
	compare(&res, &base, &head, 25, NULL);
	/* By default the critical path is gated: op03 grew by far more
	 * than 5% of the iteration, op40 (+1.5ms of 371ms) by less. */
	assert_int_equal(res.verdict, COMPARE_REGRESSION);
	assert_non_null(strstr(res.reason, "op(svc3, db, op03): critical "
					   "path +"));
	r = find_row(&res, "op03", COMPARE_TIME);
	assert_true(r->gated_crit && r->role == COMPARE_ROLE_CAUSE);
	r = find_row(&res, "op42", COMPARE_TIME);
	assert_true(!r->gated_crit && r->role == COMPARE_ROLE_CAUSE);
	it = find_row(&res, "boot-vm", COMPARE_TIME);
	assert_true(it->regression && !it->gated);
	assert_true(it->hl.rel_shift > 0.10 && it->hl.rel_shift < 0.16);
	/* Only the two that changed: the other 48 are not blamed. */
	assert_int_equal(res.ncauses, 2);
	assert_string_equal(res.rows[res.causes[0].row].name, "op03");
	/* +50ms of a 371ms iteration. */
	assert_true(res.causes[0].share > 0.11 && res.causes[0].share < 0.16);
	assert_string_equal(res.rows[res.causes[1].row].name, "op42");
	for (size_t i = 0; i < res.ncauses; i++) {
		assert_true(res.causes[i].crit.lo > 0);
		if (i)
			assert_true(res.causes[i].crit.shift <=
				    res.causes[i - 1].crit.shift);
	}
	release(&res);

	/* The iteration gated instead. */
	compare_options_init(&opt);
	opt.gated = &gated;
	opt.ngated = 1;
	compare(&res, &base, &head, 25, &opt);
	it = find_row(&res, "boot-vm", COMPARE_TIME);
	assert_true(it->gated && it->regression);
	assert_int_equal(res.verdict, COMPARE_REGRESSION);
	assert_non_null(strstr(res.reason, "iteration: +1"));
	release(&res);
}

/* Every operation 30% slower: the machine, not the code. One operation
 * 2.5 times slower on top of that: a regression of that operation. */
static void test_compare__machine_wide_shift(void **state)
{
	struct shape base, head;
	struct compare_result res;
	const struct compare_row *r;

	(void)state;
	shape_init(&base, NOPS, 0.03);
	base.mean[30] = 100;
	head = base;
	for (size_t k = 0; k < NOPS; k++)
		head.mean[k] *= 1.3;
	compare(&res, &base, &head, 30, NULL);
	assert_int_equal(res.verdict, COMPARE_MACHINE);
	assert_true(res.machine.shifted);
	assert_true(fabs(expm1(res.machine.factor.est) - 0.3) < 0.03);
	assert_int_equal(res.machine.nops, NOPS);
	assert_int_equal(res.machine.nup, NOPS);
	assert_int_equal(res.machine.nservices_with, res.machine.nservices);
	assert_non_null(strstr(res.reason, "machine-wide slowdown"));
	assert_non_null(strstr(res.reason, "50 of 50 slower, in 5 of 5 "
					   "services"));
	for (size_t i = 0; i < res.nrows; i++)
		assert_false(res.rows[i].gated_crit);
	/* Each operation's own shift is near 0 once the machine is out. */
	r = find_row(&res, "op10", COMPARE_TIME);
	assert_true(fabs(r->self.est) < 0.03 && r->self.raw > 0.2);
	release(&res);

	head.mean[30] = base.mean[30] * 1.3 * 2.5;
	compare(&res, &base, &head, 30, NULL);
	assert_int_equal(res.verdict, COMPARE_REGRESSION);
	assert_non_null(strstr(res.reason, "op(svc0, db, op30): critical "
					   "path +"));
	assert_non_null(strstr(res.reason, "the machine moved too: +29"));
	r = find_row(&res, "op30", COMPARE_TIME);
	assert_true(r->gated_crit);
	assert_true(fabs(expm1(r->self.est) - 1.5) < 0.15);
	release(&res);
}

/* Shifts are ratios: an operation ten times faster is -90%, and its
 * interval stays above -100%. */
static void test_compare__log_scale_intervals(void **state)
{
	struct shape base, head;
	struct compare_result res;
	const struct compare_row *r;

	(void)state;
	shape_init(&base, NOPS, 0.3);
	head = base;
	head.mean[20] = base.mean[20] / 10;
	compare(&res, &base, &head, 8, NULL);
	r = find_row(&res, "op20", COMPARE_TIME);
	assert_true(r->hl.rel_lo > -1 && r->hl.rel_hi > -1);
	assert_true(r->hl.rel_lo <= r->hl.rel_shift &&
		    r->hl.rel_shift <= r->hl.rel_hi);
	assert_true(fabs(r->hl.rel_shift + 0.9) < 0.05);
	for (size_t i = 0; i < res.nrows; i++)
		if (!isnan(res.rows[i].hl.rel_lo))
			assert_true(res.rows[i].hl.rel_lo > -1);
	release(&res);
}

/* Rounds as blocks: the machine drifts from round to round (head 20%
 * slower in one round, 10% faster in another) and both sides see the
 * drift of their own round; nothing is a regression, and the noise
 * says how much the rounds drifted. */
static void test_compare__rounds_are_blocks(void **state)
{
	struct shape base, head;
	struct aggregate bb[3], hb[3], pb = AGGREGATE_INIT,
					  ph = AGGREGATE_INIT;
	static const double drift[3] = { 1.0, 1.2, 0.9 };
	struct compare_result res;
	char *cause = NULL;

	(void)state;
	for (size_t b = 0; b < 3; b++) {
		shape_init(&base, NOPS, 0.03);
		head = base;
		for (size_t k = 0; k < NOPS; k++)
			head.mean[k] *= drift[b];
		aggregate_init(&bb[b]);
		aggregate_init(&hb[b]);
		run(&bb[b], &base, 12, 10 + b);
		run(&pb, &base, 12, 10 + b);
		run(&hb[b], &head, 12, 20 + b);
		run(&ph, &head, 12, 20 + b);
	}
	if (compare_blocks(&res, &pb, &ph, bb, hb, 3, NULL, &cause) < 0)
		fail_msg("%s", cause);
	assert_int_equal(res.noise.nblocks, 3);
	assert_true(fabs(expm1(res.noise.block_machine[1]) - 0.2) < 0.03);
	assert_true(fabs(expm1(res.noise.block_machine[2]) + 0.1) < 0.03);
	assert_true(res.noise.drift > 0.1);
	assert_true(res.noise.base_spread[0] > 0.01 &&
		    res.noise.base_spread[0] < 0.06);
	assert_int_not_equal(res.verdict, COMPARE_REGRESSION);
	for (size_t i = 0; i < res.nrows; i++) {
		assert_false(res.rows[i].gated_crit);
		assert_false(res.rows[i].role == COMPARE_ROLE_CAUSE);
	}
	/* The rounds disagree about the machine: its combined interval is
	 * wide, as three rounds this different warrant. */
	assert_true(res.machine.factor.tau2 > 0);
	assert_true(res.machine.factor.lo < 0 && res.machine.factor.hi > 0);
	compare_result_release(&res);
	for (size_t b = 0; b < 3; b++) {
		aggregate_release(&bb[b]);
		aggregate_release(&hb[b]);
	}
	aggregate_release(&pb);
	aggregate_release(&ph);
}

/* A sequential gate's later looks test at alpha / 2^look. */
static void test_compare__sequential_level(void **state)
{
	struct shape s;
	struct compare_result res;
	struct compare_options opt;

	(void)state;
	shape_init(&s, NOPS, 0.03);
	compare_options_init(&opt);
	for (unsigned look = 0; look < 4; look++) {
		opt.look = look;
		compare(&res, &s, &s, 10, &opt);
		assert_true(res.level == (look ? 0.05 / (1 << look) : 0.05));
		release(&res);
	}
}

static void test_compare__inconclusive(void **state)
{
	struct shape s;
	struct compare_result res;
	struct compare_options opt;
	struct gate_metric gated = { .subject = GATE_STEP, .step = "boot" };
	struct aggregate a = AGGREGATE_INIT;
	char *cause = NULL;

	(void)state;
	/* Three noisy operations, five iterations: the interval of the
	 * iteration's shift is far wider than 5%. */
	shape_init(&s, 3, 0.4);
	compare(&res, &s, &s, 5, NULL);
	assert_int_equal(res.verdict, COMPARE_INCONCLUSIVE);
	assert_true(res.iterations_needed > 5);
	assert_non_null(strstr(res.reason, "cannot rule out a regression of "));
	assert_non_null(strstr(res.reason, "need about"));
	release(&res);

	/* A gated step that neither run has. */
	shape_init(&s, NOPS, 0.03);
	compare_options_init(&opt);
	opt.gated = &gated;
	opt.ngated = 1;
	compare(&res, &s, &s, 10, &opt);
	assert_int_equal(res.verdict, COMPARE_INCONCLUSIVE);
	assert_string_equal(res.reason, "step(boot): no data in both runs");
	release(&res);

	/* No iterations at all is an error, not a verdict. */
	run(&a, &s, 3, 1);
	{
		struct aggregate empty = AGGREGATE_INIT;

		assert_int_equal(compare_aggregates(&res, &empty, &a, NULL,
						    &cause),
				 -1);
		assert_string_equal(cause,
				    "the base run has no iterations to compare");
		free(cause);
	}
	aggregate_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare__identical_distributions),
		cmocka_unit_test(test_compare__one_shift_among_fifty),
		cmocka_unit_test(test_compare__count_change_is_exact),
		cmocka_unit_test(test_compare__iteration_regression_explained),
		cmocka_unit_test(test_compare__inconclusive),
		cmocka_unit_test(test_compare__machine_wide_shift),
		cmocka_unit_test(test_compare__log_scale_intervals),
		cmocka_unit_test(test_compare__rounds_are_blocks),
		cmocka_unit_test(test_compare__sequential_level),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
