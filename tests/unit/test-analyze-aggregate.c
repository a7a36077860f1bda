/* test-analyze-aggregate.c: self time and critical path on hand-built
 * traces, and per-operation distributions over iterations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/aggregate.h"

#define MS 1000000ull
#define T0 1700000000000000000ull /* a wall-clock origin */

/* A span from id, parent, kind, service, name, start and end in ms
 * after T0. */
static struct analyze_span sp(uint64_t id, uint64_t parent, const char *kind,
			      const char *service, const char *name,
			      uint64_t start_ms, uint64_t end_ms)
{
	struct analyze_span s = { .span_id = id, .parent_id = parent,
				  .kind = kind, .service = service,
				  .name = name };

	s.trace_id[0] = 0xab;
	s.start_ns = T0 + start_ms * MS;
	s.dur_ns = (end_ms - start_ms) * MS;
	return s;
}

static void analyze(struct trace_times *t, size_t *root,
		    const struct analyze_span *s, size_t n)
{
	char *cause = NULL;

	if (trace_analyze(t, root, s, n, &cause) < 0)
		fail_msg("trace_analyze: %s", cause);
}

static uint64_t crit_sum(const struct trace_times *t, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += t[i].crit_ns;
	return sum;
}

static void test_aggregate__nested_sync_calls(void **state)
{
	/* R [0,100] calls A [10,50], which calls B [20,40]; then R calls
	 * C [60,90]. Sequential, so every span's critical time is its self
	 * time: R 100-40-30 = 30, A 40-20 = 20, B 20, C 30. */
	const struct analyze_span s[] = {
		sp(3, 2, "db", "api", "B", 20, 40),
		sp(1, 0, "iteration", "harness", "boot", 0, 100),
		sp(4, 1, "rest.call", "harness", "C", 60, 90),
		sp(2, 1, "rest.call", "harness", "A", 10, 50),
	};
	const uint64_t self[] = { 20, 30, 30, 20 };
	struct trace_times t[4];
	size_t root;

	(void)state;
	analyze(t, &root, s, 4);
	assert_int_equal(root, 1);
	assert_int_equal(t[0].parent, 3);
	assert_int_equal(t[3].parent, 1);
	assert_int_equal(t[1].parent, TRACE_NO_PARENT);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(t[i].self_ns, self[i] * MS);
		assert_int_equal(t[i].crit_ns, self[i] * MS);
		assert_true(t[i].on_path);
	}
	assert_int_equal(crit_sum(t, 4), 100 * MS);
}

static void test_aggregate__parallel_children(void **state)
{
	/* R [0,100] runs P1 [10,60] and P2 [10,80] at once, then waits to
	 * 100. P2 finishes last, so it is the path; P1 is hidden behind it.
	 * R's self time: 100 - |[10,80]| = 30; its critical time: 20 after
	 * P2 and 10 before. */
	const struct analyze_span s[] = {
		sp(1, 0, "iteration", "harness", "it", 0, 100),
		sp(2, 1, "rest.call", "harness", "P1", 10, 60),
		sp(3, 1, "rest.call", "harness", "P2", 10, 80),
	};
	struct trace_times t[3];
	size_t root;

	(void)state;
	analyze(t, &root, s, 3);
	assert_int_equal(root, 0);
	assert_int_equal(t[0].self_ns, 30 * MS);
	assert_int_equal(t[1].self_ns, 50 * MS);
	assert_int_equal(t[2].self_ns, 70 * MS);
	assert_int_equal(t[0].crit_ns, 30 * MS);
	assert_int_equal(t[1].crit_ns, 0);
	assert_false(t[1].on_path);
	assert_int_equal(t[2].crit_ns, 70 * MS);
	assert_int_equal(crit_sum(t, 3), 100 * MS);
}

static void test_aggregate__cast_outlives_parent(void **state)
{
	/* R [0,100] calls S [10,40]; S casts K [20,25], whose dispatch D
	 * runs [30,150], long after S and R are done. R also starts a
	 * thread T [50,120] that outlives it. Neither K, D nor T holds
	 * anything up: the path is R [40,100], S [10,40], R [0,10].
	 * Self times: R 100 - |[10,40] u [50,100]| = 20; S 30 - 5 = 25;
	 * K 5 (D starts after K ended); D 120; T 70. */
	const struct analyze_span s[] = {
		sp(1, 0, "iteration", "harness", "it", 0, 100),
		sp(2, 1, "rest.call", "api", "S", 10, 40),
		sp(3, 2, "rpc.cast", "api", "K", 20, 25),
		sp(4, 3, "rpc.dispatch", "compute", "D", 30, 150),
		sp(5, 1, "thread.spawn", "harness", "T", 50, 120),
	};
	const uint64_t self[] = { 20, 25, 5, 120, 70 };
	const uint64_t crit[] = { 70, 30, 0, 0, 0 };
	struct trace_times t[5];
	size_t root;

	(void)state;
	analyze(t, &root, s, 5);
	assert_int_equal(root, 0);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(t[i].self_ns, self[i] * MS);
		assert_int_equal(t[i].crit_ns, crit[i] * MS);
	}
	assert_int_equal(crit_sum(t, 5), 100 * MS);
}

static void test_aggregate__cast_that_ends_inside_is_not_blocking(void **state)
{
	/* Even a cast that ends inside its parent is asynchronous: R [0,100]
	 * with a cast [10,90] keeps the whole path for itself. */
	const struct analyze_span s[] = {
		sp(1, 0, "iteration", "harness", "it", 0, 100),
		sp(2, 1, "rpc.cast", "api", "K", 10, 90),
	};
	struct trace_times t[2];
	size_t root;

	(void)state;
	analyze(t, &root, s, 2);
	assert_int_equal(t[0].crit_ns, 100 * MS);
	assert_int_equal(t[0].self_ns, 20 * MS);
	assert_int_equal(t[1].crit_ns, 0);
}

static void test_aggregate__self_time_merges_overlaps(void **state)
{
	/* Children [10,30], [20,50] overlap: together they cover [10,50];
	 * with [70,80] the union is 50, so R's self time is 50, not 30. A
	 * child starting before its parent (clock skew) is clipped: [-5,5]
	 * covers [0,5] of R2. */
	const struct analyze_span s[] = {
		sp(1, 0, "iteration", "harness", "it", 100, 200),
		sp(2, 1, "db", "api", "q", 110, 130),
		sp(3, 1, "db", "api", "q", 120, 150),
		sp(4, 1, "db", "api", "q", 170, 180),
	};
	const struct analyze_span skew[] = {
		sp(1, 0, "iteration", "harness", "it", 10, 20),
		sp(2, 1, "db", "api", "q", 5, 15),
	};
	struct trace_times t[4];
	size_t root;

	(void)state;
	analyze(t, &root, s, 4);
	assert_int_equal(t[0].self_ns, 50 * MS);
	/* Path: R [80,100], [70,80], R [50,70], [20,50] (latest end), R
	 * [10,20] (the [10,30] call overlaps the cursor: hidden), R [0,10]. */
	assert_int_equal(t[0].crit_ns, 60 * MS);
	assert_int_equal(t[1].crit_ns, 0);
	assert_int_equal(t[2].crit_ns, 30 * MS);
	assert_int_equal(t[3].crit_ns, 10 * MS);
	assert_int_equal(crit_sum(t, 4), 100 * MS);

	analyze(t, &root, skew, 2);
	assert_int_equal(t[0].self_ns, 5 * MS);
	assert_int_equal(t[1].crit_ns, 5 * MS);
	assert_int_equal(crit_sum(t, 2), 10 * MS);
}

/* A random synchronous trace: each span splits its interval into a few
 * sequential children with gaps, down to a depth. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static void grow(struct analyze_span *s, size_t *n, size_t cap, size_t self,
		 int depth)
{
	static const char *const kinds[] = { "rest.call", "rpc.call", "db",
					     "func" };
	uint64_t lo = s[self].start_ns, hi = lo + s[self].dur_ns;
	uint64_t cur = lo;

	if (depth == 0)
		return;
	for (int k = 0; k < 4 && *n < cap; k++) {
		uint64_t gap = rnd(1000) + 1, len = rnd(100000) + 1;
		size_t c;

		if (cur + gap + len >= hi)
			break;
		c = (*n)++;
		s[c] = (struct analyze_span){
			.span_id = c + 1, .parent_id = s[self].span_id,
			.kind = kinds[rnd(4)], .service = "svc", .name = "op",
			.start_ns = cur + gap, .dur_ns = len,
		};
		cur += gap + len;
		grow(s, n, cap, c, depth - 1);
	}
}

static void test_aggregate__sync_path_sums_to_root(void **state)
{
	enum { CAP = 400 };
	struct analyze_span *s = calloc(CAP, sizeof(*s));
	struct trace_times *t = calloc(CAP, sizeof(*t));

	(void)state;
	for (int round = 0; round < 20; round++) {
		size_t n = 1, root;

		s[0] = (struct analyze_span){ .span_id = 1, .kind = "iteration",
					      .service = "harness",
					      .name = "it", .start_ns = T0,
					      .dur_ns = 1000000 };
		grow(s, &n, CAP, 0, 5);
		/* Shuffle: the input order must not matter. */
		for (size_t i = n; i > 1; i--) {
			size_t j = rnd(i);
			struct analyze_span tmp = s[i - 1];

			s[i - 1] = s[j];
			s[j] = tmp;
		}
		analyze(t, &root, s, n);
		assert_int_equal(s[root].span_id, 1);
		assert_int_equal(crit_sum(t, n), 1000000);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(t[i].crit_ns, t[i].self_ns);
	}
	free(s);
	free(t);
}

static void test_aggregate__orphans_and_cycles(void **state)
{
	/* Span 5's parent (99) is missing: an orphan, self time only. 6 and
	 * 7 are each other's parents: the cycle is cut, nothing hangs. */
	const struct analyze_span s[] = {
		sp(5, 99, "db", "api", "lost", 10, 20),
		sp(1, 0, "iteration", "harness", "it", 0, 100),
		sp(6, 7, "func", "x", "a", 30, 40),
		sp(7, 6, "func", "x", "b", 30, 40),
		sp(8, 8, "func", "x", "self-parent", 50, 60),
	};
	const struct analyze_span only_orphans[] = {
		sp(5, 99, "db", "api", "short", 10, 20),
		sp(6, 98, "db", "api", "long", 10, 50),
	};
	struct trace_times t[5];
	size_t root;
	char *cause = NULL;

	(void)state;
	analyze(t, &root, s, 5);
	assert_int_equal(root, 1);
	assert_int_equal(t[0].parent, TRACE_NO_PARENT);
	assert_int_equal(t[0].self_ns, 10 * MS);
	assert_int_equal(t[0].crit_ns, 0);
	assert_int_equal(t[1].crit_ns, 100 * MS);
	assert_int_equal(t[1].self_ns, 100 * MS);
	assert_true(t[2].parent == TRACE_NO_PARENT ||
		    t[3].parent == TRACE_NO_PARENT);
	assert_int_equal(t[4].parent, TRACE_NO_PARENT);

	analyze(t, &root, only_orphans, 2);
	assert_int_equal(root, 1);
	assert_int_equal(t[1].crit_ns, 40 * MS);

	assert_int_equal(trace_analyze(t, &root, s, 0, &cause), -1);
	assert_non_null(cause);
	free(cause);
}

static double lookup(struct aggregate *agg, const char *expr, int *ret)
{
	struct gate *g = NULL;
	char *cause = NULL;
	double v = NAN;

	if (gate_parse(&g, expr, NULL, &cause) < 0)
		fail_msg("%s: %s", expr, cause);
	*ret = aggregate_gate_lookup(&v, &g->metric, &cause, agg);
	gate_free(g);
	return v;
}

static void test_aggregate__distributions_over_iterations(void **state)
{
	/* Three iterations of a boot: the scheduler queries the database
	 * twice, then three times, then not at all (an operation absent in
	 * an iteration counts 0 there); the last iteration fails. */
	const struct analyze_span it1[] = {
		sp(1, 0, "iteration", "harness", "boot-vm", 0, 100),
		sp(2, 1, "step", "harness", "boot", 0, 80),
		sp(3, 2, "db", "scheduler", "SELECT hosts", 10, 20),
		sp(4, 2, "db", "scheduler", "SELECT hosts", 30, 40),
	};
	const struct analyze_span it2[] = {
		sp(1, 0, "iteration", "harness", "boot-vm", 0, 200),
		sp(2, 1, "step", "harness", "boot", 0, 150),
		sp(3, 2, "db", "scheduler", "SELECT hosts", 10, 20),
		sp(4, 2, "db", "scheduler", "SELECT hosts", 30, 40),
		sp(5, 2, "db", "scheduler", "SELECT hosts", 50, 70),
		sp(6, 2, "db", "api", "SELECT servers", 80, 90),
	};
	struct analyze_span it3[] = {
		sp(1, 0, "iteration", "harness", "boot-vm", 0, 300),
		sp(2, 1, "step", "harness", "boot", 0, 290),
	};
	struct aggregate agg = AGGREGATE_INIT;
	const struct aggregate_op *op;
	char *cause = NULL;
	int ret;

	(void)state;
	it3[0].status = 1;
	aggregate_init(&agg);
	assert_true(isnan(lookup(&agg, "iteration.max < 1s", &ret)));
	assert_int_equal(ret, 1);
	/* Enough iterations to make the per-iteration arrays grow. */
	for (int round = 0; round < 7; round++) {
		assert_int_equal(aggregate_add_trace(&agg, it1, 4, &cause), 0);
		assert_int_equal(aggregate_add_trace(&agg, it2, 6, &cause), 0);
		assert_int_equal(aggregate_add_trace(&agg, it3, 2, &cause), 0);
	}
	assert_int_equal(aggregate_add_trace(&agg, it1, 0, &cause), -1);
	free(cause);
	assert_int_equal(agg.niterations, 21);
	assert_int_equal(agg.nfailed, 7);
	assert_int_equal(agg.nops, 4);
	/* Sorted by key: api first. */
	assert_string_equal(agg.ops[0].service, "api");

	op = aggregate_find(&agg, "scheduler", "db", "SELECT hosts");
	assert_non_null(op);
	assert_true(op->count[0] == 2 && op->count[1] == 3 &&
		    op->count[2] == 0 && op->count[20] == 0);
	assert_true(op->total_ns[1] == 40.0 * MS);
	assert_true(op->self_ns[1] == 40.0 * MS);
	assert_int_equal(op->ndurations, 35);
	op = aggregate_find(&agg, "harness", "step", "boot");
	assert_non_null(op);
	/* boot [0,80] with queries [10,20], [30,40]: self 60, and it is all
	 * on the path, as are the queries. */
	assert_true(op->self_ns[0] == 60.0 * MS);
	assert_true(op->crit_ns[0] == 60.0 * MS);
	assert_true(op->crit_ns[2] == 290.0 * MS);
	assert_null(aggregate_find(&agg, "scheduler", "db", "nope"));
	op = aggregate_find(&agg, "api", "db", "SELECT servers");
	assert_true(op->count[0] == 0 && op->count[1] == 1);

	assert_true(lookup(&agg, "iteration.median < 1s", &ret) == 200.0 * MS);
	assert_int_equal(ret, 0);
	assert_true(lookup(&agg, "iteration.max < 1s", &ret) == 300.0 * MS);
	assert_true(lookup(&agg, "step(boot).min < 1s", &ret) == 80.0 * MS);
	assert_int_equal(ret, 0);
	lookup(&agg, "step(nope).min < 1s", &ret);
	assert_int_equal(ret, 1);
	assert_true(lookup(&agg, "count(db, service=scheduler) <= 5", &ret) ==
		    3);
	assert_true(lookup(&agg, "count(db).max <= 5", &ret) == 4);
	assert_true(lookup(&agg, "count(db).min <= 5", &ret) == 0);
	assert_true(lookup(&agg, "count(*, name=\"SELECT servers\").mean < 5",
			   &ret) == 1.0 / 3);
	assert_true(fabs(lookup(&agg, "failure_rate < 1%", &ret) - 1.0 / 3) <
		    1e-15);
	assert_true(lookup(&agg,
			   "op(scheduler, db, \"SELECT hosts\").max < 1s",
			   &ret) == 20.0 * MS);
	lookup(&agg, "op(scheduler, db, other).max < 1s", &ret);
	assert_int_equal(ret, 1);
	aggregate_release(&agg);
	aggregate_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregate__nested_sync_calls),
		cmocka_unit_test(test_aggregate__parallel_children),
		cmocka_unit_test(test_aggregate__cast_outlives_parent),
		cmocka_unit_test(
			test_aggregate__cast_that_ends_inside_is_not_blocking),
		cmocka_unit_test(test_aggregate__self_time_merges_overlaps),
		cmocka_unit_test(test_aggregate__sync_path_sums_to_root),
		cmocka_unit_test(test_aggregate__orphans_and_cycles),
		cmocka_unit_test(test_aggregate__distributions_over_iterations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
