/* bench-htrace.c: the cost of a span (begin, two attributes, end) in
 * libhtrace on 1 and 2 threads, of the disabled path, and of an LTTng-UST
 * tracepoint with the same fields. Prints "name value" lines (median ns).
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

struct job {
	enum mode mode;
	double median;
};

static void *run(void *arg)
{
	struct job *j = arg;
	double per[BATCHES];
	struct htrace_span *root = NULL;

	if (j->mode == MODE_HTRACE)
		root = htrace_begin_root(HTRACE_KIND_ITERATION, "bench", NULL);
	for (int b = 0; b < BATCHES; b++) {
		uint64_t t0 = now();
		for (int i = 0; i < BATCH; i++)
			one(j->mode, i);
		per[b] = (double)(now() - t0) / BATCH;
	}
	htrace_end(root);
	qsort(per, BATCHES, sizeof(per[0]), cmp);
	j->median = per[BATCHES / 2];
	return NULL;
}

static double measure(enum mode m, int threads)
{
	pthread_t t[2];
	struct job j[2] = { { m, 0 }, { m, 0 } };

	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, &j[i]);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return threads == 1 ? j[0].median : (j[0].median + j[1].median) / 2;
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
	printf("lttng_1t_ns %.1f\n", measure(MODE_LTTNG, 1));
	printf("lttng_2t_ns %.1f\n", measure(MODE_LTTNG, 2));
	htrace_options_init(&o);
	o.service = "bench";
	o.spool_dir = argv[1];
	if (htrace_init_with(&o) != 0) {
		fprintf(stderr, "bench-htrace: cannot start tracing in '%s'\n",
			argv[1]);
		return 1;
	}
	printf("htrace_1t_ns %.1f\n", measure(MODE_HTRACE, 1));
	printf("htrace_2t_ns %.1f\n", measure(MODE_HTRACE, 2));
	htrace_shutdown();
	htrace_stats(&st);
	printf("htrace_spans %llu\nhtrace_dropped %llu\n",
	       (unsigned long long)st.spans_recorded,
	       (unsigned long long)st.spans_dropped);
	return 0;
}
