/* test-htrace.c: spans recorded by libhtrace land in a real spool file
 * with their parents, attributes, errors, stacks and drop counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "htrace.h"
#include "spool/spool.h"

#define MAX_SPANS 256

/* Copies of decoded spans (strings copied into fixed buffers). */
struct got_span {
	struct spool_span s;
	char name[128];
	char message[128];
	char attrs[512];	/* "key=value;" for each attribute */
	int n_frames;
	char frame0_module[256];
	uint64_t frame_pc[2];	/* of the first two frames, 0 if none */
};

struct got {
	char dir[64];
	struct got_span spans[MAX_SPANS];
	int n;
	uint64_t dropped;
	int threads;
};

static struct got G;

static void start(int stacks, double rate)
{
	struct htrace_options o;

	strcpy(G.dir, "/tmp/test-htrace-XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	htrace_options_init(&o);
	o.service = "unit";
	o.spool_dir = G.dir;
	o.stacks = stacks;
	o.sample_rate = rate;
	assert_int_equal(htrace_init_with(&o), 0);
	assert_true(htrace_enabled());
}

static void collect_file(const char *path)
{
	struct spool_reader *r;
	struct spool_record rec;
	int st;

	assert_int_equal(spool_reader_open(&r, path, NULL), 0);
	assert_string_equal(spool_reader_header(r)->service, "unit");
	while ((st = spool_reader_next(r, &rec, NULL)) == SPOOL_READ_OK) {
		struct got_span *g;
		size_t len = 0;

		if (rec.type == SPOOL_RECORD_DROPPED) {
			G.dropped += rec.u.dropped.count;
			continue;
		}
		if (rec.type == SPOOL_RECORD_THREAD) {
			G.threads++;
			continue;
		}
		assert_int_equal(rec.type, SPOOL_RECORD_SPAN);
		assert_true(G.n < MAX_SPANS);
		g = &G.spans[G.n++];
		g->s = rec.u.span;
		snprintf(g->name, sizeof(g->name), "%s", rec.u.span.name);
		snprintf(g->message, sizeof(g->message), "%s",
			 rec.u.span.message ? rec.u.span.message : "");
		g->attrs[0] = '\0';
		for (size_t i = 0; i < rec.u.span.n_attrs; i++) {
			const struct spool_attr *a = &rec.u.span.attrs[i];
			char *p = g->attrs + len;
			size_t room = sizeof(g->attrs) - len;
			int n = 0;

			if (a->type == SPOOL_ATTR_STR)
				n = snprintf(p, room, "%s=%s;", a->key, a->v.s);
			else if (a->type == SPOOL_ATTR_INT)
				n = snprintf(p, room, "%s=%lld;", a->key,
					     (long long)a->v.i);
			else if (a->type == SPOOL_ATTR_DOUBLE)
				n = snprintf(p, room, "%s=%g;", a->key,
					     a->v.d);
			else
				n = snprintf(p, room, "%s=%s;", a->key,
					     a->v.b ? "true" : "false");
			if (n > 0 && (size_t)n < room)
				len += (size_t)n;
		}
		g->n_frames = (int)rec.u.span.n_frames;
		snprintf(g->frame0_module, sizeof(g->frame0_module), "%s",
			 rec.u.span.n_frames ? rec.u.span.frames[0].module
					     : "");
		for (size_t i = 0; i < 2; i++)
			g->frame_pc[i] = i < rec.u.span.n_frames
						 ? rec.u.span.frames[i].pc
						 : 0;
		g->s.name = g->s.message = NULL;
		g->s.attrs = NULL;
		g->s.frames = NULL;
	}
	assert_int_equal(st, SPOOL_READ_EOF);
	spool_reader_free(r);
}

/* Shut tracing down (flushing everything), read every file, clean up. */
static void finish(void)
{
	DIR *d;
	struct dirent *e;
	char path[512];

	htrace_shutdown();
	G.n = 0;
	G.dropped = 0;
	G.threads = 0;
	d = opendir(G.dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", G.dir, e->d_name);
		collect_file(path);
		unlink(path);
	}
	closedir(d);
	rmdir(G.dir);
}

static struct got_span *by_name(const char *name)
{
	for (int i = 0; i < G.n; i++)
		if (!strcmp(G.spans[i].name, name))
			return &G.spans[i];
	fail_msg("no span named '%s'", name);
	return NULL;
}

static void test_htrace__disabled_is_inert(void **state)
{
	struct htrace_options o;
	struct htrace_context ctx;
	char env[80];

	(void)state;
	htrace_options_init(&o);
	assert_int_equal(htrace_init_with(&o), 1);
	assert_false(htrace_enabled());
	assert_null(htrace_begin_root(HTRACE_KIND_ITERATION, "it", NULL));
	assert_null(htrace_begin(HTRACE_KIND_FUNC, "f"));
	assert_null(htrace_db_begin("sqlite", "SELECT 1"));
	htrace_attr_str(NULL, "k", "v");
	htrace_attr_int(NULL, "k", 1);
	htrace_attr_double(NULL, "k", 1.0);
	htrace_attr_bool(NULL, "k", 1);
	htrace_set_error(NULL, "x");
	htrace_end(NULL);
	htrace_db_end(NULL, 3);
	htrace_http_end(NULL, 200);
	htrace_exec_end(NULL, 0);
	assert_int_equal(htrace_current(&ctx), -1);
	assert_int_equal(htrace_exec_env(env, sizeof(env)), -1);
	htrace_flush();
	htrace_shutdown();
}

static void test_htrace__tree_and_attributes(void **state)
{
	struct htrace_span *root, *child, *db, *grand;
	struct htrace_context ctx;
	uint8_t tid[16];
	struct got_span *r, *c, *d, *g;

	(void)state;
	start(0, 1.0);
	/* No trace yet: nothing to be a child of. */
	assert_null(htrace_begin(HTRACE_KIND_FUNC, "orphan"));
	root = htrace_begin_root(HTRACE_KIND_ITERATION, "iteration 1", tid);
	assert_non_null(root);
	assert_int_equal(htrace_current(&ctx), 0);
	assert_memory_equal(ctx.trace_id, tid, 16);
	child = htrace_http_client_begin("POST",
					 "http://127.0.0.1:8774/servers?x=1");
	htrace_attr_bool(child, "retry", 0);
	htrace_attr_double(child, "weight", 0.5);
	db = htrace_db_begin("sqlite", "select * from hosts where id = ?");
	htrace_db_end(db, 7);
	grand = htrace_begin(HTRACE_KIND_FUNC, "grandchild");
	htrace_set_error(grand, "it broke");
	htrace_end(grand);
	htrace_http_end(child, 503);
	htrace_end(root);
	assert_int_equal(htrace_current(&ctx), -1);
	finish();

	assert_int_equal(G.n, 4);
	r = by_name("iteration 1");
	c = by_name("POST /servers");
	d = by_name("SELECT hosts");
	g = by_name("grandchild");
	assert_memory_equal(r->s.trace_id, tid, 16);
	assert_true(r->s.parent_id == 0);
	assert_true(c->s.parent_id == r->s.span_id);
	assert_true(d->s.parent_id == c->s.span_id);
	assert_true(g->s.parent_id == c->s.span_id);
	assert_memory_equal(g->s.trace_id, tid, 16);
	assert_int_equal(r->s.kind, HTRACE_KIND_ITERATION);
	assert_int_equal(c->s.kind, HTRACE_KIND_REST_CALL);
	assert_int_equal(d->s.kind, HTRACE_KIND_DB);
	assert_string_equal(c->attrs,
			    "http.request.method=POST;"
			    "url.full=http://127.0.0.1:8774/servers?x=1;"
			    "retry=false;weight=0.5;"
			    "http.response.status_code=503;error.type=503;");
	assert_string_equal(d->attrs,
			    "db.system.name=sqlite;"
			    "db.query.text=select * from hosts where id = ?;"
			    "db.operation.name=SELECT;"
			    "db.collection.name=hosts;"
			    "db.response.returned_rows=7;");
	assert_int_equal(c->s.status, SPOOL_STATUS_ERROR);
	assert_string_equal(c->message, "HTTP 503");
	assert_int_equal(g->s.status, SPOOL_STATUS_ERROR);
	assert_string_equal(g->message, "it broke");
	assert_int_equal(r->s.status, SPOOL_STATUS_OK);
	/* Times: children inside their parent, wall clock near now. */
	assert_true(c->s.start_ns >= r->s.start_ns);
	assert_true(c->s.start_ns + c->s.dur_ns <= r->s.start_ns + r->s.dur_ns);
	assert_true(r->s.start_ns > 1600000000ull * 1000000000ull);
	assert_int_equal(r->s.pid, 0);
	assert_true(r->s.tid != 0);
	assert_true(G.threads >= 1);
	for (int i = 0; i < G.n; i++)
		assert_true(G.spans[i].s.span_id != 0);
}

struct thread_arg {
	struct htrace_context ctx;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct htrace_span *s;

	assert_null(htrace_begin(HTRACE_KIND_THREAD_MAIN, "unattached"));
	assert_int_equal(htrace_attach(&a->ctx), 0);
	s = htrace_begin(HTRACE_KIND_THREAD_MAIN, "worker");
	htrace_end(htrace_begin(HTRACE_KIND_FUNC, "work"));
	htrace_end(s);
	htrace_detach();
	assert_null(htrace_begin(HTRACE_KIND_FUNC, "after detach"));
	return NULL;
}

static void test_htrace__thread_pair(void **state)
{
	struct htrace_span *root, *spawn;
	struct thread_arg arg;
	pthread_t t;

	(void)state;
	start(0, 1.0);
	root = htrace_begin_root(HTRACE_KIND_ITERATION, "root", NULL);
	spawn = htrace_begin(HTRACE_KIND_THREAD_SPAWN, "spawn");
	assert_int_equal(htrace_span_context(spawn, &arg.ctx), 0);
	assert_int_equal(pthread_create(&t, NULL, thread_main, &arg), 0);
	htrace_end(spawn);
	pthread_join(t, NULL);
	htrace_end(root);
	finish();

	assert_int_equal(G.n, 4);
	assert_true(by_name("worker")->s.parent_id ==
		    by_name("spawn")->s.span_id);
	assert_true(by_name("work")->s.parent_id ==
		    by_name("worker")->s.span_id);
	assert_true(by_name("worker")->s.tid != by_name("spawn")->s.tid);
	assert_memory_equal(by_name("work")->s.trace_id,
			    by_name("root")->s.trace_id, 16);
}

static void *end_elsewhere(void *p)
{
	htrace_end(p);
	return NULL;
}

/* Detached spans: two traces interleaved on one thread, each span under
 * the parent named, none of them the thread's current span; one ended on
 * another thread; none under an unsampled or invalid parent. */
static void test_htrace__detached(void **state)
{
	struct htrace_span *a, *b, *a1, *b1, *a2, *cur, *other;
	struct htrace_context ca, cb, ca1, bad;
	uint8_t trace_a[16];
	pthread_t t;

	(void)state;
	start(0, 1.0);
	a = htrace_begin_detached(NULL, HTRACE_KIND_ITERATION, "a", trace_a);
	b = htrace_begin_detached(NULL, HTRACE_KIND_ITERATION, "b", NULL);
	assert_non_null(a);
	assert_non_null(b);
	/* Not the thread's current span: no current context, no child. */
	assert_int_equal(htrace_current(&bad), -1);
	assert_null(htrace_begin(HTRACE_KIND_FUNC, "orphan"));
	assert_int_equal(htrace_span_context(a, &ca), 0);
	assert_int_equal(htrace_span_context(b, &cb), 0);
	assert_memory_equal(ca.trace_id, trace_a, 16);
	a1 = htrace_begin_detached(&ca, HTRACE_KIND_STEP, "a1", NULL);
	b1 = htrace_begin_detached(&cb, HTRACE_KIND_STEP, "b1", NULL);
	assert_int_equal(htrace_span_context(a1, &ca1), 0);
	a2 = htrace_begin_detached(&ca1, HTRACE_KIND_REST_CALL, "a2", NULL);
	/* A span on the thread's stack meanwhile nests as before. */
	cur = htrace_begin_root(HTRACE_KIND_ITERATION, "stacked", NULL);
	htrace_end(htrace_begin(HTRACE_KIND_FUNC, "stacked child"));
	/* Ends in any order, one of them on another thread. */
	htrace_end(a1);
	assert_int_equal(pthread_create(&t, NULL, end_elsewhere, b1), 0);
	pthread_join(t, NULL);
	htrace_end(a2);
	htrace_end(cur);
	htrace_end(b);
	htrace_end(a);
	/* Unsampled, invalid: nothing begins. */
	ca.flags = 0;
	assert_null(htrace_begin_detached(&ca, HTRACE_KIND_FUNC, "x", NULL));
	memset(&bad, 0, sizeof(bad));
	bad.flags = HTRACE_FLAG_SAMPLED;
	assert_null(htrace_begin_detached(&bad, HTRACE_KIND_FUNC, "x", NULL));
	/* Open when tracing shuts down: freed, not recorded. */
	other = htrace_begin_detached(NULL, HTRACE_KIND_ITERATION, "late",
				      NULL);
	finish();
	htrace_end(other);

	assert_int_equal(G.n, 7);
	assert_int_equal(by_name("a")->s.parent_id, 0);
	assert_int_equal(by_name("b")->s.parent_id, 0);
	assert_memory_not_equal(by_name("a")->s.trace_id,
				by_name("b")->s.trace_id, 16);
	assert_true(by_name("a1")->s.parent_id == by_name("a")->s.span_id);
	assert_true(by_name("b1")->s.parent_id == by_name("b")->s.span_id);
	assert_true(by_name("a2")->s.parent_id == by_name("a1")->s.span_id);
	assert_memory_equal(by_name("a2")->s.trace_id, trace_a, 16);
	assert_memory_equal(by_name("b1")->s.trace_id,
			    by_name("b")->s.trace_id, 16);
	assert_true(by_name("stacked child")->s.parent_id ==
		    by_name("stacked")->s.span_id);
	/* Recorded by the thread that ended it. */
	assert_true(by_name("b1")->s.tid != by_name("a1")->s.tid);
}

static void test_htrace__exec_child(void **state)
{
	struct htrace_span *root, *ex;
	const char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	char env[80];
	struct htrace_context ctx, parsed;
	int status;
	pid_t pid;

	(void)state;
	start(0, 1.0);
	root = htrace_begin_root(HTRACE_KIND_ITERATION, "root", NULL);
	ex = htrace_exec_begin(argv);
	assert_int_equal(htrace_exec_env(env, sizeof(env)), 0);
	assert_int_equal(strncmp(env, "TRACEPARENT=", 12), 0);
	assert_int_equal(htrace_context_parse(env + 12, &parsed), 0);
	htrace_span_context(ex, &ctx);
	assert_true(parsed.span_id == ctx.span_id);
	assert_int_equal(htrace_exec_env(env, 20), -1);
	pid = fork();
	if (pid == 0) {
		char *envp[] = { env, NULL };
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	htrace_exec_end(ex, status);
	htrace_end(root);
	finish();

	assert_int_equal(G.n, 2);
	assert_int_equal(by_name("sh")->s.kind, HTRACE_KIND_EXEC);
	assert_string_equal(by_name("sh")->attrs,
			    "process.command_line=/bin/sh -c exit 3;"
			    "process.executable.name=sh;"
			    "process.exit.code=3;");
	assert_int_equal(by_name("sh")->s.status, SPOOL_STATUS_ERROR);
}

/* Begins a span through one of the ways in (which: 0 htrace_begin, 1
 * htrace_db_begin, 2 htrace_begin_root) and stores its own return
 * address in *ret: the pc at which its caller's frame resumes, the second
 * frame of a right stack. noinline, and the store after the call keeps
 * that call from becoming a jump: a frame of its own at any optimisation
 * level. */
__attribute__((noinline)) static void stack_leaf(int which, uint64_t *ret)
{
	struct htrace_span *s;

	if (which == 0)
		s = htrace_begin(HTRACE_KIND_FUNC, "leaf begin");
	else if (which == 1)
		s = htrace_db_begin("sqlite", "SELECT * FROM hosts");
	else
		s = htrace_begin_root(HTRACE_KIND_FUNC, "leaf root", NULL);
	*ret = (uint64_t)(uintptr_t)__builtin_return_address(0);
	htrace_end(s);
}

static void test_htrace__stacks(void **state)
{
	static const char *const names[] = {
		"leaf begin", "SELECT hosts", "leaf root",
	};
	struct htrace_span *root;
	uint64_t ret[3];

	(void)state;
	start(1, 1.0);
	root = htrace_begin_root(HTRACE_KIND_ITERATION, "root", NULL);
	for (int i = 0; i < 3; i++)
		stack_leaf(i, &ret[i]);
	htrace_end(root);
	finish();
	/* The first frame is the caller, stack_leaf in this program, and
	 * the second is the test, right where stack_leaf returns to: no
	 * frame of libhtrace, and none of the program left out, in a debug
	 * build as in an optimised one. */
	for (int i = 0; i < 3; i++) {
		const struct got_span *g = by_name(names[i]);

		assert_true(g->n_frames >= 2);
		assert_non_null(strstr(g->frame0_module, "test-htrace"));
		assert_int_equal(g->frame_pc[1], ret[i]);
	}
	assert_non_null(strstr(by_name("root")->frame0_module, "test-htrace"));
}

static void test_htrace__drops_are_recorded(void **state)
{
	struct htrace_span *spans[80];
	struct htrace_stats st;
	char big[700];
	int n = 0;

	(void)state;
	start(0, 1.0);
	spans[n++] = htrace_begin_root(HTRACE_KIND_ITERATION, "deep", NULL);
	while (n < 80) {
		spans[n] = htrace_begin(HTRACE_KIND_FUNC, "level");
		n++;
	}
	/* The stack holds 64 spans; the other 16 are dropped. */
	for (int i = 64; i < 80; i++)
		assert_null(spans[i]);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	htrace_attr_str(spans[1], "a", big);
	htrace_attr_str(spans[1], "b", big);
	while (n--)
		htrace_end(spans[n]);
	htrace_stats(&st);
	assert_true(st.spans_dropped >= 16);
	assert_true(st.attrs_dropped >= 1);
	finish();
	assert_int_equal(G.n, 64);
	assert_true(G.dropped == 16);
}

static void test_htrace__sampling(void **state)
{
	int got = 0;

	(void)state;
	start(0, 0.0);
	for (int i = 0; i < 100; i++) {
		struct htrace_span *s = htrace_begin_root(HTRACE_KIND_ITERATION,
							  "r", NULL);
		got += s != NULL;
		htrace_end(s);
	}
	finish();
	assert_int_equal(got, 0);
	assert_int_equal(G.n, 0);
	assert_int_equal(htrace_kind_parse("rpc.cast"), HTRACE_KIND_RPC_CAST);
	assert_string_equal(htrace_kind_name(HTRACE_KIND_THREAD_MAIN),
			    "thread.main");
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A span around a 10 ms sleep lasts what CLOCK_MONOTONIC says around it
 * (never more; less only by what begin and end cost), 10 ms +- 1% when
 * the sleep itself did not overrun, and starts when CLOCK_REALTIME says:
 * with the cycle counter (where the CPU has an invariant one) and with
 * clock_gettime. An attempt that a busy machine disturbed (preempted
 * around begin or end, or a sleep overrun) is tried again. */
static void check_clock(const char *clock)
{
	const struct timespec ten_ms = { 0, 10000000 };
	int close_to_ref = 0;

	if (clock)
		setenv("HTRACE_CLOCK", clock, 1);
	else
		unsetenv("HTRACE_CLOCK");
	for (int attempt = 0; attempt < 10; attempt++) {
		struct htrace_span *root, *s;
		uint64_t wall0, wall1, t0, t1, ref, dur, start_ns;

		start(0, 1.0);
		root = htrace_begin_root(HTRACE_KIND_ITERATION, "root", NULL);
		wall0 = clock_ns(CLOCK_REALTIME);
		t0 = clock_ns(CLOCK_MONOTONIC);
		s = htrace_begin(HTRACE_KIND_FUNC, "sleep");
		nanosleep(&ten_ms, NULL);
		htrace_end(s);
		t1 = clock_ns(CLOCK_MONOTONIC);
		wall1 = clock_ns(CLOCK_REALTIME);
		htrace_end(root);
		finish();
		dur = by_name("sleep")->s.dur_ns;
		start_ns = by_name("sleep")->s.start_ns;
		ref = t1 - t0;
		/* Within 2us of the reference clocks, unless the calibration
		 * at init was preempted (its rate or its wall-clock base is
		 * then off) or the thread was around begin or end: then the
		 * attempt is made again, with a new calibration. A clock that
		 * is wrong is wrong in every attempt. */
		if (dur > ref + 2000 || dur < 9990000 ||
		    start_ns + 2000 < wall0 || start_ns > wall1 ||
		    dur + 50000 < ref)
			continue;
		close_to_ref = 1;
		if (ref + 2000 > 10100000)
			continue;
		assert_true(dur >= 9900000 && dur <= 10100000);
		unsetenv("HTRACE_CLOCK");
		return;
	}
	unsetenv("HTRACE_CLOCK");
	/* The machine never slept 10 ms +- 1%: what can be checked is that
	 * the span agreed with the reference clocks in one attempt at least
	 * (ten disturbed calibrations in a row are not a busy machine). */
	assert_true(close_to_ref);
	print_message("clock %s: every sleep overran 1%%; checked against "
		      "CLOCK_MONOTONIC only\n", clock ? clock : "default");
}

static void test_htrace__clock_measures_sleep(void **state)
{
	(void)state;
	check_clock(NULL);
	check_clock("monotonic");
}

/* Enough spans to fill many buffers: all reach the file. */
static void test_htrace__burst_is_kept(void **state)
{
	struct htrace_span *root;
	struct htrace_stats st0, st;
	struct spool_reader *r;
	struct spool_record rec;
	struct dirent *e;
	char path[512];
	DIR *d;
	int spans = 0, n = 20000;

	(void)state;
	start(0, 1.0);
	htrace_stats(&st0);
	root = htrace_begin_root(HTRACE_KIND_ITERATION, "root", NULL);
	for (int i = 0; i < n; i++) {
		struct htrace_span *s = htrace_begin(HTRACE_KIND_DB, "q");
		htrace_attr_str(s, HTRACE_ATTR_DB_SYSTEM_NAME, "sqlite");
		htrace_attr_int(s, HTRACE_ATTR_DB_RESPONSE_RETURNED_ROWS, i);
		htrace_end(s);
	}
	htrace_end(root);
	htrace_flush();
	htrace_stats(&st);
	assert_int_equal(st.spans_dropped, st0.spans_dropped);
	d = opendir(G.dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", G.dir, e->d_name);
		assert_int_equal(spool_reader_open(&r, path, NULL), 0);
		while (spool_reader_next(r, &rec, NULL) == SPOOL_READ_OK)
			if (rec.type == SPOOL_RECORD_SPAN) {
				if (!strcmp(rec.u.span.name, "q"))
					assert_int_equal(rec.u.span.n_attrs, 2);
				spans++;
			}
		spool_reader_free(r);
		unlink(path);
	}
	closedir(d);
	assert_int_equal(spans, n + 1);
	htrace_shutdown();
	rmdir(G.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_htrace__disabled_is_inert),
		cmocka_unit_test(test_htrace__tree_and_attributes),
		cmocka_unit_test(test_htrace__thread_pair),
		cmocka_unit_test(test_htrace__detached),
		cmocka_unit_test(test_htrace__exec_child),
		cmocka_unit_test(test_htrace__stacks),
		cmocka_unit_test(test_htrace__drops_are_recorded),
		cmocka_unit_test(test_htrace__sampling),
		cmocka_unit_test(test_htrace__clock_measures_sleep),
		cmocka_unit_test(test_htrace__burst_is_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
