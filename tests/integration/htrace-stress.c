/* htrace-stress.c: 8 threads x 100,000 spans and a forked child, all into
 * one spool directory; every span must decode exactly once with its parent
 * present and in the same trace. Usage: htrace-stress [spans-per-thread] */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "htrace.h"
#include "spool/spool.h"

#define THREADS 8
#define CHILD_SPANS 20000

static long per_thread = 100000;
static char dir[64];
/* Workers past their first spans: in steady state they no longer call
 * malloc, so a fork then cannot catch an allocator lock held by one of
 * them (sanitizer allocators are not fork-safe). */
static atomic_int steady;

static void *worker(void *arg)
{
	long t = (long)(intptr_t)arg;
	struct htrace_span *root, *a, *b;
	char name[32];

	snprintf(name, sizeof(name), "thread %ld", t);
	root = htrace_begin_root(HTRACE_KIND_THREAD_MAIN, name, NULL);
	/* The root, then per_thread spans in pairs. */
	for (long i = 1; i + 1 < per_thread + 1; i += 2) {
		a = htrace_begin(HTRACE_KIND_FUNC, "a");
		htrace_attr_int(a, "seq", t * 10000000 + i);
		b = htrace_begin(HTRACE_KIND_DB, "b");
		htrace_attr_int(b, "seq", t * 10000000 + i + 1);
		htrace_end(b);
		htrace_end(a);
		if (i == 101)
			atomic_fetch_add(&steady, 1);
	}
	htrace_end(root);
	return NULL;
}

/* An open-addressing set of span ids (never zero). */
struct idset {
	uint64_t *ids;
	uint64_t *parents;
	uint8_t *is_b;
	uint8_t *trace0;
	size_t mask;
};

static size_t slot(struct idset *s, uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & s->mask;

	while (s->ids[i] && s->ids[i] != id)
		i = (i + 1) & s->mask;
	return i;
}

static int fail(const char *what)
{
	fprintf(stderr, "htrace-stress: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	struct htrace_options o;
	struct htrace_span *main_root;
	pthread_t th[THREADS];
	struct idset set;
	struct spool_reader *r;
	struct spool_record rec;
	struct dirent *e;
	DIR *d;
	size_t n_spans = 0, expect, n_files = 0, cap = 1;
	uint64_t dropped = 0;
	pid_t child;
	int status, st, ret = 1;
	char path[512];

	if (argc > 1)
		per_thread = atol(argv[1]);
	strcpy(dir, "/tmp/htrace-stress-XXXXXX");
	if (!mkdtemp(dir))
		return fail("cannot make a temp dir");
	htrace_options_init(&o);
	o.service = "stress";
	o.spool_dir = dir;
	o.flush_interval_ms = 50;
	if (htrace_init_with(&o) != 0)
		return fail("cannot start tracing");

	main_root = htrace_begin_root(HTRACE_KIND_ITERATION, "main", NULL);
	for (long t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			return fail("cannot start a thread");
	for (int i = 0; i < 10000 && atomic_load(&steady) < THREADS &&
			per_thread > 102; i++)
		usleep(1000);
	/* Fork while the workers run: the child writes its own file, and
	 * its spans hang under main's open root, which only the parent
	 * records. */
	child = fork();
	if (child == 0) {
		for (long i = 0; i < CHILD_SPANS; i++) {
			struct htrace_span *s = htrace_begin(HTRACE_KIND_FUNC,
							     "child");
			htrace_attr_int(s, "seq", 900000000 + i);
			htrace_end(s);
		}
		/* Flush, and leave without a leak check: the spans that the
		 * parent's other threads were handling at the fork are
		 * reachable only from threads that do not exist here. */
		htrace_shutdown();
		_exit(0);
	}
	if (child < 0)
		return fail("cannot fork");
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return fail("the child failed");
	htrace_end(main_root);
	htrace_shutdown();

	/* Each thread: its root and per_thread children; then the child
	 * process's spans and main's root. */
	expect = (size_t)THREADS * ((size_t)per_thread + 1) + CHILD_SPANS + 1;
	while (cap < expect * 2)
		cap <<= 1;
	set.ids = calloc(cap, sizeof(uint64_t));
	set.parents = calloc(cap, sizeof(uint64_t));
	set.is_b = calloc(cap, 1);
	set.trace0 = calloc(cap, 1);
	set.mask = cap - 1;
	if (!set.ids || !set.parents || !set.is_b || !set.trace0)
		return fail("out of memory");

	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n_files++;
		if (spool_reader_open(&r, path, NULL) < 0)
			return fail("cannot open a spool file");
		while ((st = spool_reader_next(r, &rec, NULL)) ==
		       SPOOL_READ_OK) {
			size_t i;

			if (rec.type == SPOOL_RECORD_DROPPED)
				dropped += rec.u.dropped.count;
			if (rec.type != SPOOL_RECORD_SPAN)
				continue;
			if (!rec.u.span.span_id)
				return fail("a zero span id");
			i = slot(&set, rec.u.span.span_id);
			if (set.ids[i])
				return fail("a span appears twice");
			set.ids[i] = rec.u.span.span_id;
			set.parents[i] = rec.u.span.parent_id;
			set.is_b[i] = !strcmp(rec.u.span.name, "b");
			set.trace0[i] = rec.u.span.trace_id[0] |
					(uint8_t)(rec.u.span.trace_id[15] ==
						  0);
			n_spans++;
		}
		if (st != SPOOL_READ_EOF)
			return fail("a spool file did not decode cleanly");
		spool_reader_free(r);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);

	if (dropped)
		return fail("spans were dropped");
	if (n_spans != expect) {
		fprintf(stderr, "htrace-stress: %zu spans, expected %zu\n",
			n_spans, expect);
		return 1;
	}
	if (n_files != 2)
		return fail("expected one file per process");
	for (size_t i = 0; i <= set.mask; i++) {
		size_t p;

		if (!set.ids[i] || !set.parents[i])
			continue;
		p = slot(&set, set.parents[i]);
		if (!set.ids[p])
			return fail("a parent is missing");
		if (set.is_b[i] && set.is_b[p])
			return fail("a 'b' span has a 'b' parent");
		if (set.trace0[i] != set.trace0[p])
			return fail("a child is in another trace");
	}
	printf("htrace-stress: %zu spans in %zu files, all once, parents "
	       "intact\n", n_spans, n_files);
	ret = 0;
	free(set.ids);
	free(set.parents);
	free(set.is_b);
	free(set.trace0);
	return ret;
}
