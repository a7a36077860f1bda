/* bench-htrace-threads.c: the CPU a short-lived thread costs with tracing
 * off and on, for one or more builds of libhtrace loaded side by side.
 * Usage: bench-htrace-threads <spool dir> <threads> <rounds> LABEL=LIB...
 * Each round runs, for every library (in turns), a batch of <threads>
 * threads with tracing off and one with it on; a thread attaches a remote
 * context and records 6 spans, as a server's connection thread does.
 * Threads are created and joined in waves of 4. The process's CPU time
 * of a batch (with tracing on, up to a flush that writes everything the
 * threads left) is divided by the threads. Prints per library the median
 * us per thread off and on, the extra cost (median of the rounds' paired
 * differences) and the extra cost's ratio of the first library to each
 * other one. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTRACE_NO_INLINE
#include "htrace.h"

#define MAX_LIBS 4
#define MAX_ROUNDS 200
#define WAVE 4
#define SPANS_PER_THREAD 6

struct lib {
	char label[32];
	void (*options_init)(struct htrace_options *);
	int (*init_with)(const struct htrace_options *);
	void (*shutdown)(void);
	void (*flush)(void);
	struct htrace_span *(*begin)(enum htrace_kind, const char *);
	void (*end)(struct htrace_span *);
	void (*attr_int)(struct htrace_span *, const char *, int64_t);
	int (*attach)(const struct htrace_context *);
	void (*detach)(void);
	void (*stats)(struct htrace_stats *);
	double off[MAX_ROUNDS], on[MAX_ROUNDS], extra[MAX_ROUNDS];
	uint64_t spans, dropped;
};

static struct htrace_context g_ctx;

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* A connection thread: a request under a remote parent, 6 spans. */
static void *conn(void *arg)
{
	struct lib *l = arg;
	struct htrace_span *req, *a, *b;

	l->attach(&g_ctx);
	req = l->begin(HTRACE_KIND_REST_DISPATCH, "GET /servers/{server_id}");
	l->attr_int(req, "http.response.status_code", 200);
	for (int i = 0; i < 2; i++) {
		a = l->begin(HTRACE_KIND_FUNC, "handler");
		b = l->begin(HTRACE_KIND_DB, "SELECT instances");
		l->attr_int(b, "db.response.returned_rows", i);
		l->end(b);
		l->end(a);
	}
	a = l->begin(HTRACE_KIND_RPC_CALL, "select_destinations");
	l->end(a);
	l->end(req);
	l->detach();
	return NULL;
}

/* us of CPU per thread for a batch of n threads. */
static double batch(struct lib *l, long n, int traced)
{
	pthread_t th[WAVE];
	double t0 = cpu_us();

	for (long done = 0; done < n;) {
		int w = 0;

		while (w < WAVE && done + w < n) {
			if (pthread_create(&th[w], NULL, conn, l) != 0)
				break;
			w++;
		}
		if (!w) {
			fprintf(stderr, "bench-htrace-threads: cannot start "
					"a thread\n");
			exit(1);
		}
		for (int i = 0; i < w; i++)
			pthread_join(th[i], NULL);
		done += w;
	}
	if (traced)
		l->flush();
	return (cpu_us() - t0) / (double)n;
}

static int load(struct lib *l, const char *arg)
{
	const char *eq = strchr(arg, '=');
	void *h;

	if (!eq)
		return -1;
	snprintf(l->label, sizeof(l->label), "%.*s", (int)(eq - arg), arg);
	h = dlopen(eq + 1, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "bench-htrace-threads: %s\n", dlerror());
		return -1;
	}
#define SYM(field, name)                                    \
	do {                                                 \
		*(void **)&l->field = dlsym(h, name);        \
		if (!l->field)                               \
			return -1;                           \
	} while (0)
	SYM(options_init, "htrace_options_init");
	SYM(init_with, "htrace_init_with");
	SYM(shutdown, "htrace_shutdown");
	SYM(flush, "htrace_flush");
	SYM(begin, "htrace_begin");
	SYM(end, "htrace_end");
	SYM(attr_int, "htrace_attr_int");
	SYM(attach, "htrace_attach");
	SYM(detach, "htrace_detach");
	SYM(stats, "htrace_stats");
#undef SYM
	return 0;
}

static int round_on(struct lib *l, const char *dir, long n, int r)
{
	struct htrace_options o;
	struct htrace_stats before, after;

	l->options_init(&o);
	o.service = "bench-threads";
	o.spool_dir = dir;
	if (l->init_with(&o) != 0) {
		fprintf(stderr, "bench-htrace-threads: cannot start tracing "
				"in '%s'\n", dir);
		return -1;
	}
	l->stats(&before);
	l->on[r] = batch(l, n, 1);
	l->stats(&after);
	l->spans += after.spans_recorded - before.spans_recorded;
	l->dropped += after.spans_dropped - before.spans_dropped;
	l->shutdown();
	return 0;
}

int main(int argc, char **argv)
{
	struct lib libs[MAX_LIBS];
	int n_libs = 0, rounds;
	long threads;

	if (argc < 5) {
		fprintf(stderr, "usage: bench-htrace-threads <spool dir> "
				"<threads> <rounds> LABEL=LIB...\n");
		return 64;
	}
	threads = atol(argv[2]);
	rounds = atoi(argv[3]);
	if (threads < 1 || rounds < 1 || rounds > MAX_ROUNDS ||
	    argc - 4 > MAX_LIBS)
		return 64;
	memset(libs, 0, sizeof(libs));
	for (int i = 4; i < argc; i++)
		if (load(&libs[n_libs++], argv[i]) < 0) {
			fprintf(stderr, "bench-htrace-threads: cannot load "
					"'%s'\n", argv[i]);
			return 70;
		}
	memset(&g_ctx, 0, sizeof(g_ctx));
	for (int i = 0; i < 16; i++)
		g_ctx.trace_id[i] = (uint8_t)(i + 1);
	g_ctx.span_id = 0x1122334455667788ull;
	g_ctx.flags = HTRACE_FLAG_SAMPLED;

	/* A warm-up round, not counted: thread stacks cached, pages in. */
	for (int i = 0; i < n_libs; i++) {
		batch(&libs[i], threads / 4 + 1, 0);
		if (round_on(&libs[i], argv[1], threads / 4 + 1, 0) < 0)
			return 70;
		libs[i].spans = libs[i].dropped = 0;
	}
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < n_libs; k++) {
			/* Turns: each library goes first in some rounds. */
			struct lib *l = &libs[(k + r) % n_libs];

			l->off[r] = batch(l, threads, 0);
			if (round_on(l, argv[1], threads, r) < 0)
				return 70;
			l->extra[r] = l->on[r] - l->off[r];
		}

	printf("CPU per short-lived thread (6 spans), %ld threads x %d "
	       "rounds, waves of %d\n", threads, rounds, WAVE);
	printf("  %-10s %9s %9s %9s %10s %8s\n", "libhtrace", "off us",
	       "on us", "extra us", "spans", "dropped");
	for (int i = 0; i < n_libs; i++) {
		struct lib *l = &libs[i];

		printf("  %-10s %9.2f %9.2f %9.2f %10llu %8llu\n", l->label,
		       median(l->off, rounds), median(l->on, rounds),
		       median(l->extra, rounds), (unsigned long long)l->spans,
		       (unsigned long long)l->dropped);
	}
	for (int i = 1; i < n_libs; i++) {
		double a = median(libs[0].extra, rounds);
		double b = median(libs[i].extra, rounds);

		printf("  extra cost %s / %s: %.1fx\n", libs[0].label,
		       libs[i].label, b > 0 ? a / b : 0.0);
	}
	for (int i = 0; i < n_libs; i++)
		if (libs[i].spans != (uint64_t)threads * rounds *
					    SPANS_PER_THREAD ||
		    libs[i].dropped) {
			fprintf(stderr, "bench-htrace-threads: %s recorded "
					"%llu spans, expected %llu\n",
				libs[i].label,
				(unsigned long long)libs[i].spans,
				(unsigned long long)threads * rounds *
					SPANS_PER_THREAD);
			return 1;
		}
	return 0;
}
