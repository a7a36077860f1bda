/* bench-htrace.c: the cost of a span (begin, two attributes, end) in
 * libhtrace on 1 and 2 threads, of the disabled path, and of an LTTng-UST
 * tracepoint with the same fields, measured in alternating batches.
 * Prints "name value" lines (median ns).
 * Usage: bench-htrace <spool dir> */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "bench-htrace-tp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "htrace.h"

#define BATCH 1000
#define BATCHES 300

enum mode { MODE_HTRACE, MODE_DISABLED, MODE_DISABLED_CALL, MODE_LTTNG };

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void one(enum mode m, int64_t i)
{
	struct htrace_span *s;

	switch (m) {
	case MODE_HTRACE:
	case MODE_DISABLED:
		s = htrace_begin(HTRACE_KIND_DB, "SELECT hosts");
		htrace_attr_str(s, HTRACE_ATTR_DB_SYSTEM_NAME, "sqlite");
		htrace_attr_int(s, HTRACE_ATTR_DB_RESPONSE_RETURNED_ROWS, i);
		htrace_end(s);
		break;
	case MODE_DISABLED_CALL:
		htrace_end(htrace_begin(HTRACE_KIND_DB, "SELECT hosts"));
		break;
	case MODE_LTTNG:
		lttng_ust_tracepoint(htrace_bench, span, HTRACE_KIND_DB,
				     "SELECT hosts",
				     HTRACE_ATTR_DB_SYSTEM_NAME, "sqlite",
				     HTRACE_ATTR_DB_RESPONSE_RETURNED_ROWS, i);
		break;
	}
}

/* A thread's share: batches of mode a, alternating with batches of mode b
 * when b differs, so that both see the same machine (other work on it
 * moves both medians alike). */
struct job {
	enum mode a, b;
	double median_a, median_b;
};

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp);
	return v[n / 2];
}

static double batch(enum mode m)
{
	uint64_t t0 = now();

	for (int i = 0; i < BATCH; i++)
		one(m, i);
	return (double)(now() - t0) / BATCH;
}

static void *run(void *arg)
{
	struct job *j = arg;
	double per_a[BATCHES], per_b[BATCHES];
	struct htrace_span *root = NULL;

	if (j->a == MODE_HTRACE || j->b == MODE_HTRACE)
		root = htrace_begin_root(HTRACE_KIND_ITERATION, "bench", NULL);
	for (int b = 0; b < BATCHES; b++) {
		per_a[b] = batch(j->a);
		if (j->b != j->a)
			per_b[b] = batch(j->b);
	}
	htrace_end(root);
	j->median_a = median(per_a, BATCHES);
	j->median_b = j->b != j->a ? median(per_b, BATCHES) : j->median_a;
	return NULL;
}

/* Medians of modes a and b on 1 or 2 threads (the mean of the threads'). */
static void measure2(enum mode a, enum mode b, int threads, double *ma,
		     double *mb)
{
	pthread_t t[2];
	struct job j[2] = { { a, b, 0, 0 }, { a, b, 0, 0 } };

	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, &j[i]);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	*ma = threads == 1 ? j[0].median_a
			   : (j[0].median_a + j[1].median_a) / 2;
	*mb = threads == 1 ? j[0].median_b
			   : (j[0].median_b + j[1].median_b) / 2;
}

static double measure(enum mode m, int threads)
{
	double ma, mb;

	measure2(m, m, threads, &ma, &mb);
	return ma;
}

int main(int argc, char **argv)
{
	struct htrace_options o;
	struct htrace_stats st;

	if (argc != 2) {
		fprintf(stderr, "usage: bench-htrace <spool dir>\n");
		return 64;
	}
	/* Tracing is off until init: the disabled path first. */
	printf("disabled_span_ns %.2f\n", measure(MODE_DISABLED, 1));
	printf("disabled_call_ns %.2f\n", measure(MODE_DISABLED_CALL, 1) / 2);
	htrace_options_init(&o);
	o.service = "bench";
	o.spool_dir = argv[1];
	if (htrace_init_with(&o) != 0) {
		fprintf(stderr, "bench-htrace: cannot start tracing in '%s'\n",
			argv[1]);
		return 1;
	}
	for (int threads = 1; threads <= 2; threads++) {
		double h, l;

		measure2(MODE_HTRACE, MODE_LTTNG, threads, &h, &l);
		printf("htrace_%dt_ns %.1f\nlttng_%dt_ns %.1f\n", threads, h,
		       threads, l);
	}
	htrace_shutdown();
	htrace_stats(&st);
	printf("htrace_spans %llu\nhtrace_dropped %llu\n",
	       (unsigned long long)st.spans_recorded,
	       (unsigned long long)st.spans_dropped);
	return 0;
}
