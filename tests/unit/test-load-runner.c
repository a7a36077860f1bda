/* test-load-runner.c: the load driver's runners (constant, duration, rate)
 * and its stop flag and progress, against a real HTTP server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load/load.h"
#include "test-load-server.h"
#include "util/timeutil.h"

#define S(x) ((char *)(x))
#define MS 1000000ULL

static struct test_server server;
static char ok_url[128], sleep_url[128];

static int setup(void **state)
{
	(void)state;
	if (test_server_start(&server, 0) < 0)
		return -1;
	snprintf(ok_url, sizeof(ok_url), "%s/ok", server.base);
	snprintf(sleep_url, sizeof(sleep_url), "%s/sleep", server.base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_server_stop(&server);
	return 0;
}

static struct scenario_step one_step[1];

static void scenario_of(struct scenario *sc, const char *u,
			enum scenario_runner_type type)
{
	memset(one_step, 0, sizeof(one_step));
	one_step[0].name = S("get");
	one_step[0].type = STEP_REQUEST;
	one_step[0].request.url = S(u);
	memset(sc, 0, sizeof(*sc));
	sc->name = S("runner");
	sc->steps = one_step;
	sc->nsteps = 1;
	sc->runner.type = type;
	sc->runner.iterations = 10;
	sc->runner.concurrency = 1;
	sc->runner.iteration_timeout_ns = 10000 * MS;
}

struct seen {
	unsigned iterations, warmups, progress, late;
	uint64_t last_done, last_total;
	bool warmup_after_measured;
	bool saw_measured;
};

static void on_iteration(const struct load_iteration *it, void *payload)
{
	struct seen *s = payload;

	s->iterations++;
	if (it->warmup) {
		s->warmups++;
		if (s->saw_measured)
			s->warmup_after_measured = true;
	} else {
		s->saw_measured = true;
	}
	if (it->late)
		s->late++;
}

static void on_progress(const struct load_progress *p, void *payload)
{
	struct seen *s = payload;

	s->progress++;
	if (!p->warming_up) {
		s->last_done = p->done;
		s->last_total = p->total;
	}
}

static struct load *start(struct scenario *sc, struct seen *seen)
{
	struct load_options opts = {
		.scenario = sc,
		.on_iteration = on_iteration,
		.on_progress = on_progress,
		.payload = seen,
		.progress_interval_ns = 50 * MS,
	};
	struct load *ld = NULL;
	char *cause = NULL;

	memset(seen, 0, sizeof(*seen));
	if (load_new(&ld, &opts, &cause) < 0)
		fail_msg("load_new: %s", cause);
	return ld;
}

static void test_load_runner__constant(void **state)
{
	struct scenario sc;
	struct seen seen;
	struct load_summary sum;
	struct load *ld;
	const struct load_iteration *its;
	unsigned before = test_server_get(&server, &server.requests);
	size_t n;

	(void)state;
	scenario_of(&sc, ok_url, RUNNER_CONSTANT);
	sc.runner.iterations = 25;
	sc.runner.concurrency = 3;
	sc.runner.warmup = 4;
	ld = start(&sc, &seen);
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	assert_int_equal(sum.iterations, 25);
	assert_int_equal(sum.warmup, 4);
	assert_int_equal(sum.failed, 0);
	assert_false(sum.stopped);
	assert_int_equal(test_server_get(&server, &server.requests) - before,
			 29);
	assert_int_equal(seen.iterations, 29);
	assert_int_equal(seen.warmups, 4);
	assert_false(seen.warmup_after_measured);
	assert_true(seen.progress >= 1);
	assert_int_equal(seen.last_done, 25);
	assert_int_equal(seen.last_total, 25);

	its = load_results(ld, &n);
	assert_int_equal(n, 29);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(its[i].seq, i);
		assert_int_equal(its[i].warmup, i < 4);
		assert_true(its[i].ok);
		assert_false(its[i].late);
		assert_int_equal(its[i].nsteps, 1);
	}
	/* A load runs once. */
	assert_int_equal(load_run(ld, &sum, NULL), -1);
	load_free(ld);
}

/* A bound that only a hang or a runaway loop can break, never a slow or
 * busy machine: the run's length plus the iteration timeout (10s). Times
 * are checked as precisely as the clocks allow only where the driver
 * guarantees them (no start before its slot, a planned sleep at least as
 * long as planned); how close to the plan a run comes is bench-load's to
 * measure. */
#define SANE_NS(planned) ((planned) + 10000 * MS)

static void test_load_runner__duration(void **state)
{
	struct scenario sc;
	struct seen seen;
	struct load_summary sum;
	struct load *ld;
	const struct load_iteration *its;
	uint64_t t0, el, last = 0;
	size_t n;

	(void)state;
	server.sleep_ms = 20;
	scenario_of(&sc, sleep_url, RUNNER_DURATION);
	sc.runner.duration_ns = 300 * MS;
	sc.runner.concurrency = 2;
	ld = start(&sc, &seen);
	t0 = time_mono_ns();
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	el = time_mono_ns() - t0;
	server.sleep_ms = 0;
	/* It ran the whole duration, and the iterations in flight at its
	 * end were let finish, not cut. */
	assert_true(el >= 300 * MS);
	assert_true(el < SANE_NS(300 * MS));
	assert_int_equal(sum.failed, 0);
	assert_int_equal(sum.interrupted, 0);
	assert_false(sum.stopped);
	assert_int_equal(seen.last_total, 0);
	/* Each iteration takes 20ms or more, and a task claims its next
	 * only when its last is over: at most 15 starts per task before
	 * the deadline, however fast or slow the machine is. */
	assert_true(sum.iterations >= 1);
	assert_true(sum.iterations <= 30);
	its = load_results(ld, &n);
	assert_int_equal(n, sum.iterations);
	for (size_t i = 0; i < n; i++) {
		assert_true(its[i].ok);
		assert_true(its[i].dur_ns >= 20 * MS);
		assert_int_equal(its[i].latency_ns, its[i].dur_ns);
		assert_int_equal(its[i].intended_ns, its[i].start_ns);
		if (its[i].start_ns > last)
			last = its[i].start_ns;
	}
	/* Nothing started long after the deadline: only a claim made
	 * before it and begun at once. */
	assert_true(last - its[0].start_ns < SANE_NS(300 * MS));
	load_free(ld);
}

/* One worker keeps its whole share of the concurrency in flight at once:
 * four slow iterations at a time, not one after the other, each on a
 * connection of its own. That the four overlap does not depend on the
 * machine's speed: the worker begins all four before it first waits for
 * a response, and none can end before its response. */
static void test_load_runner__one_worker_in_flight(void **state)
{
	struct scenario sc;
	struct seen seen;
	struct load_summary sum;
	struct load_options opts = { .scenario = &sc, .workers = 1 };
	struct load *ld = NULL;
	const struct load_iteration *its;
	char *cause = NULL;
	unsigned conns = test_server_get(&server, &server.connections);
	unsigned most = 0;
	uint64_t t0, el;
	size_t n;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	server.sleep_ms = 100;
	scenario_of(&sc, sleep_url, RUNNER_CONSTANT);
	sc.runner.iterations = 8;
	sc.runner.concurrency = 4;
	if (load_new(&ld, &opts, &cause) < 0)
		fail_msg("load_new: %s", cause);
	t0 = time_mono_ns();
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	el = time_mono_ns() - t0;
	server.sleep_ms = 0;
	assert_int_equal(sum.iterations, 8);
	assert_int_equal(sum.failed, 0);
	assert_int_equal(sum.workers, 1);
	/* At least two rounds of 100ms, however they were spread. */
	assert_true(el >= 200 * MS);
	assert_true(el < SANE_NS(800 * MS));
	/* How many ran at once at the start of each: four, never more. */
	its = load_results(ld, &n);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < n; i++) {
		unsigned at_once = 0;

		assert_true(its[i].dur_ns >= 100 * MS);
		for (size_t j = 0; j < n; j++)
			if (its[j].start_ns <= its[i].start_ns &&
			    its[i].start_ns < its[j].start_ns + its[j].dur_ns)
				at_once++;
		if (at_once > most)
			most = at_once;
	}
	assert_int_equal(most, 4);
	assert_int_equal(test_server_get(&server, &server.connections) - conns,
			 4);
	load_free(ld);
}

/* The open loop's schedule, exactly: iteration k is due at t0 + k/rate,
 * none starts before its slot, a late one says so and its latency counts
 * the wait. How close to the schedule the starts came (the achieved rate,
 * the late count) depends on the machine: bench-load measures it. */
static void test_load_runner__rate_holds(void **state)
{
	struct scenario sc;
	struct seen seen;
	struct load_summary sum;
	struct load *ld;
	const struct load_iteration *its;
	uint64_t t0, el, late = 0;
	size_t n;

	(void)state;
	scenario_of(&sc, ok_url, RUNNER_RATE);
	sc.runner.rate = 200;
	sc.runner.duration_ns = 2000 * MS;
	sc.runner.concurrency = 8;
	ld = start(&sc, &seen);
	t0 = time_mono_ns();
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	el = time_mono_ns() - t0;
	assert_int_equal(sum.iterations, 400);
	assert_int_equal(sum.failed, 0);
	/* The last slot is due 399 * 5ms after the first. */
	assert_true(el >= 1995 * MS);
	assert_true(el < SANE_NS(2000 * MS));
	/* The starts are spread over less than the run: 399 gaps. */
	assert_true(sum.achieved_rate >= 399.0 * 1e9 / (double)el * 0.999999);
	its = load_results(ld, &n);
	assert_int_equal(n, 400);
	for (size_t i = 0; i < n; i++) {
		uint64_t gap = its[i].intended_ns - its[0].intended_ns;
		uint64_t want = i * 5 * MS;

		/* Slots are whole microseconds here: the gaps are exact, up
		 * to the rounding of k / rate to a nanosecond. */
		assert_true(gap + 1 >= want && gap <= want + 1);
		assert_true(its[i].start_ns >= its[i].intended_ns);
		assert_int_equal(its[i].latency_ns,
				 its[i].dur_ns +
				 (its[i].start_ns - its[i].intended_ns));
		/* Late means later than the tolerance (10ms). */
		if (its[i].late) {
			assert_true(its[i].start_ns - its[i].intended_ns >
				    10 * MS);
			late++;
		}
	}
	assert_int_equal(seen.last_total, 400);
	assert_int_equal(sum.late, late);
	assert_int_equal(seen.late, late);
	print_message("rate 200/s: achieved %.2f/s, %" PRIu64 " late\n",
		      sum.achieved_rate, late);
	load_free(ld);
}

static void test_load_runner__rate_late(void **state)
{
	struct scenario sc;
	struct seen seen;
	struct load_summary sum;
	struct load *ld;
	const struct load_iteration *its;
	size_t n;

	(void)state;
	/* Two workers at 50ms each serve 40/s; 100/s is asked for. */
	server.sleep_ms = 50;
	scenario_of(&sc, sleep_url, RUNNER_RATE);
	sc.runner.rate = 100;
	sc.runner.iterations = 20;
	sc.runner.concurrency = 2;
	ld = start(&sc, &seen);
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	server.sleep_ms = 0;
	/* Every slot ran, none dropped; most started late. */
	assert_int_equal(sum.iterations, 20);
	assert_int_equal(sum.failed, 0);
	assert_true(sum.late >= 14);
	assert_int_equal(seen.late, sum.late);
	assert_true(sum.achieved_rate < 50);
	its = load_results(ld, &n);
	assert_int_equal(n, 20);
	/* The last slot was due at 190ms and started near 450ms: its
	 * latency counts the wait (no coordinated omission). */
	assert_true(its[19].late);
	assert_true(its[19].latency_ns >= its[19].dur_ns + 150 * MS);
	assert_true(its[19].start_ns - its[19].intended_ns >= 150 * MS);
	load_free(ld);
}

static void *stop_later(void *p)
{
	struct timespec ts = { 0, 200 * 1000000L };

	nanosleep(&ts, NULL);
	load_stop(p);
	return NULL;
}

static void test_load_runner__stop(void **state)
{
	struct scenario sc;
	struct seen seen;
	struct load_summary sum;
	struct load *ld;
	pthread_t t;
	uint64_t t0, el;
	struct scenario_step steps[2];

	(void)state;
	/* A long duration, and iterations that sleep for a long time: the
	 * stop flag cuts both short. */
	scenario_of(&sc, ok_url, RUNNER_DURATION);
	memset(steps, 0, sizeof(steps));
	steps[0] = one_step[0];
	steps[1].name = S("nap");
	steps[1].type = STEP_SLEEP;
	steps[1].sleep_ns = 60000 * MS;
	sc.steps = steps;
	sc.nsteps = 2;
	sc.runner.duration_ns = 60000 * MS;
	sc.runner.concurrency = 3;
	sc.runner.warmup = 0;
	ld = start(&sc, &seen);
	t0 = time_mono_ns();
	assert_int_equal(pthread_create(&t, NULL, stop_later, ld), 0);
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	el = time_mono_ns() - t0;
	pthread_join(t, NULL);
	assert_true(sum.stopped);
	/* Well before the minute that the run and the naps would take. */
	assert_true(el >= 200 * MS);
	assert_true(el < SANE_NS(200 * MS));
	assert_int_equal(sum.interrupted, 3);
	assert_int_equal(sum.failed, 0);
	assert_int_equal(sum.iterations, 0);
	load_free(ld);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_runner__constant),
		cmocka_unit_test(test_load_runner__duration),
		cmocka_unit_test(test_load_runner__one_worker_in_flight),
		cmocka_unit_test(test_load_runner__rate_holds),
		cmocka_unit_test(test_load_runner__rate_late),
		cmocka_unit_test(test_load_runner__stop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
