/* report-fixture.c: make a store holding one run of a boot-like scenario
 * for the report, trace and export tests: warm-up, failed and slow
 * iterations, spans of six services with attributes, stacks and errors,
 * an asynchronous cast whose service's clock runs behind, and a thread
 * whose spans overlap without nesting.
 *
 * usage: report-fixture STORE [ITERATIONS]; prints the run id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define MAX_SPANS 64

struct builder {
	struct store_span spans[MAX_SPANS];
	size_t n;
	uint8_t trace_id[16];
	uint64_t next_id;
};

static uint64_t add(struct builder *b, uint64_t parent, const char *service,
		    int64_t pid, int64_t tid, const char *kind,
		    const char *name, int64_t start, int64_t dur)
{
	struct store_span *sp = &b->spans[b->n++];

	if (b->n > MAX_SPANS) {
		fprintf(stderr, "report-fixture: too many spans\n");
		exit(1);
	}
	memset(sp, 0, sizeof(*sp));
	memcpy(sp->trace_id, b->trace_id, 16);
	sp->span_id = ++b->next_id * 0x9e3779b97f4a7c15ULL;
	sp->parent_id = parent;
	sp->service = service;
	sp->host = "devstack-1";
	sp->pid = pid;
	sp->tid = tid;
	sp->kind = kind;
	sp->name = name;
	sp->start_ns = start;
	sp->dur_ns = dur;
	return sp->span_id;
}

static struct store_span *last(struct builder *b)
{
	return &b->spans[b->n - 1];
}

static const struct store_attr http_post[] = {
	{ .key = "http.request.method", .type = STORE_ATTR_TEXT, .v.s = "POST" },
	{ .key = "url.path", .type = STORE_ATTR_TEXT, .v.s = "/v2.1/servers" },
	{ .key = "http.response.status_code", .type = STORE_ATTR_INT,
	  .v.i = 202 },
};
static const struct store_attr db_select[] = {
	{ .key = "db.system.name", .type = STORE_ATTR_TEXT, .v.s = "sqlite" },
	{ .key = "db.query.text", .type = STORE_ATTR_TEXT,
	  .v.s = "SELECT * FROM hosts WHERE free_ram > ? AND \"zone\" = <az>" },
	{ .key = "db.response.returned_rows", .type = STORE_ATTR_INT, .v.i = 3 },
};
static const struct store_attr exec_attrs[] = {
	{ .key = "process.command_line", .type = STORE_ATTR_TEXT,
	  .v.s = "qemu-img create -f qcow2 disk.img 1G" },
	{ .key = "process.exit.code", .type = STORE_ATTR_INT, .v.i = 0 },
	{ .key = "cpu.share", .type = STORE_ATTR_DOUBLE, .v.d = 0.375 },
	{ .key = "cached", .type = STORE_ATTR_BOOL, .v.b = false },
};
static const char *const frames[] = {
	"scheduler.so+0x1a2b filter_hosts",
	"scheduler.so+0x0f00 select_destinations",
	"libc.so.6+0x2724a __libc_start_main",
};

/* One boot: iteration > steps > REST into api, which asks identity for a
 * token, the scheduler for a host (RPC call, N+1 queries) and casts the
 * build to compute. SLOW stretches the scheduler; FAIL breaks a query. */
static void boot(struct builder *b, int64_t t0, int64_t slow, int fail,
		 int64_t *dur)
{
	const int64_t ms = 1000000, us = 1000;
	/* compute's clock runs 300us behind everyone else's. */
	const int64_t skew = -300 * us;
	int64_t sched = 12 * ms + slow;
	int64_t create = 30 * ms + sched;
	uint64_t root, step, call, disp, tok, tokd, rpc, rpcd, cast, castd;

	*dur = create + 25 * ms;
	root = add(b, 0, "harness", 100, 100, "iteration", "boot-vm", t0,
		   *dur);
	if (fail)
		last(b)->status = STORE_SPAN_ERROR;
	step = add(b, root, "harness", 100, 100, "step", "create server",
		   t0 + 50 * us, create + 100 * us);
	call = add(b, step, "harness", 100, 100, "rest.call",
		   "POST /v2.1/servers", t0 + 100 * us, create);
	last(b)->attrs = http_post;
	last(b)->nattrs = 3;
	disp = add(b, call, "api", 200, 201, "rest.dispatch",
		   "POST /v2.1/servers", t0 + 300 * us, create - 400 * us);
	last(b)->attrs = http_post;
	last(b)->nattrs = 3;
	tok = add(b, disp, "api", 200, 201, "rest.call", "POST /v3/auth/tokens",
		  t0 + 500 * us, 4 * ms);
	tokd = add(b, tok, "identity", 300, 301, "rest.dispatch",
		   "POST /v3/auth/tokens", t0 + 700 * us, 3500 * us);
	add(b, tokd, "identity", 300, 301, "db", "SELECT users",
	    t0 + 900 * us, 800 * us);
	last(b)->attrs = db_select;
	last(b)->nattrs = 2;
	add(b, disp, "api", 200, 201, "db", "INSERT instances",
	    t0 + 5 * ms, 2 * ms);
	rpc = add(b, disp, "api", 200, 201, "rpc.call", "select_destinations",
		  t0 + 8 * ms, sched + 2 * ms);
	rpcd = add(b, rpc, "scheduler", 400, 401, "rpc.dispatch",
		   "select_destinations", t0 + 9 * ms, sched);
	last(b)->frames = frames;
	last(b)->nframes = 3;
	for (int i = 0; i < 4; i++) {
		add(b, rpcd, "scheduler", 400, 401, "db", "SELECT hosts",
		    t0 + 9 * ms + 200 * us + i * (sched / 4), sched / 5);
		last(b)->attrs = db_select;
		last(b)->nattrs = 3;
		if (fail && i == 3) {
			last(b)->status = STORE_SPAN_ERROR;
			last(b)->message = "database is locked";
		}
	}
	/* Two overlapping pieces of async work on one api thread. */
	add(b, disp, "api", 200, 202, "func", "notify.send",
	    t0 + 11 * ms + sched, 6 * ms);
	add(b, disp, "api", 200, 202, "func", "quota.commit",
	    t0 + 14 * ms + sched, 6 * ms);
	cast = add(b, disp, "api", 200, 201, "rpc.cast",
		   "build_and_run_instance", t0 + 12 * ms + sched, 1 * ms);
	/* The cast's dispatch outlives its parent: asynchronous. Its clock
	 * is behind, so it seems to start before the cast. */
	castd = add(b, cast, "compute", 500, 501, "rpc.dispatch",
		    "build_and_run_instance", t0 + 12 * ms + sched + skew,
		    30 * ms);
	add(b, castd, "compute", 500, 501, "exec", "qemu-img create",
	    t0 + 13 * ms + sched + skew, 8 * ms);
	last(b)->attrs = exec_attrs;
	last(b)->nattrs = 4;
	add(b, castd, "compute", 500, 502, "thread.main", "spawn_vm",
	    t0 + 22 * ms + sched + skew, 15 * ms);
	add(b, disp, "api", 200, 201, "rest.call", "POST /v2.0/ports",
	    t0 + 15 * ms + sched, 8 * ms);
	add(b, last(b)->span_id, "network", 600, 601, "rest.dispatch",
	    "POST /v2.0/ports", t0 + 15 * ms + sched + 100 * us, 7 * ms);
	add(b, last(b)->span_id, "network", 600, 601, "db", "INSERT ports",
	    t0 + 16 * ms + sched, 3 * ms);
	step = add(b, root, "harness", 100, 100, "step", "wait active",
		   t0 + create + 200 * us, 24 * ms);
	for (int i = 0; i < 3; i++) {
		uint64_t poll = add(b, step, "harness", 100, 100, "rest.call",
				    "GET /v2.1/servers/{id}",
				    t0 + create + 300 * us + i * 8 * ms,
				    2 * ms);

		add(b, poll, "api", 200, 203, "rest.dispatch",
		    "GET /v2.1/servers/{id}",
		    t0 + create + 400 * us + i * 8 * ms, 1500 * us);
	}
}

int main(int argc, char **argv)
{
	struct store *st = NULL;
	struct store_run_info info = {
		.scenario = "boot-vm-report",
		.label = "fixture",
		.config_hash = "5a1b2c3d4e5f60718293a4b5c6d7e8f9"
			       "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
		.host = "devstack-1",
		.start_ns = 1764000000000000000LL,
		.runner_json = "{\"type\": \"rate\", \"rate\": 5, "
			       "\"iterations\": 12, \"warmup\": 2}",
	};
	struct store_commit commits[] = {
		{ .repo = "nova", .path = "/opt/stack/nova",
		  .sha = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
		  .branch = "master", .subject = "Cache host states <fast>",
		  .time = 1763990000 },
		{ .repo = "placement", .path = "/opt/stack/placement",
		  .sha = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c",
		  .dirty = true, .subject = "WIP: batch allocations",
		  .time = 1763980000 },
	};
	int niter = argc > 2 ? atoi(argv[2]) : 12;
	char *cause = NULL;
	int64_t run, t;

	if (argc < 2 || niter < 1 || niter > 1000) {
		fprintf(stderr, "usage: report-fixture STORE [ITERATIONS]\n");
		return 2;
	}
	if (store_open(&st, argv[1], &cause) < 0)
		goto fail;
	if (store_run_create(&run, st, &info, &cause) < 0)
		goto fail;
	for (size_t i = 0; i < 2; i++)
		if (store_run_add_commit(st, run, &commits[i], &cause) < 0)
			goto fail;
	t = info.start_ns;
	for (int seq = 0; seq < niter; seq++) {
		static struct builder b;
		struct store_iteration it = { 0 };
		struct store_step steps[2];
		/* Deterministic spread; iteration 7 is slow, 5 fails. */
		int64_t slow = (int64_t)((seq * 7919) % 13) * 1000000 +
			       (seq == 7 ? 40000000 : 0) +
			       (seq < 2 ? 15000000 : 0);
		int fail = seq == 5;
		int64_t dur;

		memset(&b, 0, sizeof(b));
		for (int k = 0; k < 16; k++)
			b.trace_id[k] = (uint8_t)(0x10 * (k + 1) + seq);
		b.trace_id[0] = (uint8_t)(0xa0 + seq % 16);
		b.trace_id[1] = (uint8_t)seq;
		boot(&b, t, slow, fail, &dur);
		memcpy(it.trace_id, b.trace_id, 16);
		it.seq = seq;
		it.warmup = seq < 2;
		it.ok = !fail;
		it.error = fail ? "step 'create server': expected 202, got 500" :
				  NULL;
		it.intended_start_ns = t;
		it.start_ns = t;
		it.dur_ns = dur;
		steps[0] = (struct store_step){ "create server", t, dur / 2,
						!fail, it.error };
		steps[1] = (struct store_step){ "wait active", t + dur / 2,
						dur / 2, true, NULL };
		it.steps = steps;
		it.nsteps = 2;
		if (store_iteration_add(st, run, &it, &cause) < 0 ||
		    store_spans_add(st, run, b.spans, b.n, &cause) < 0)
			goto fail;
		t += 200000000; /* rate 5/s */
	}
	if (store_drops_add(st, run, "compute", 500, 3, 1, &cause) < 0 ||
	    store_run_finish(st, run, STORE_RUN_FAILED,
			     "1 of 10 iterations failed", t, &cause) < 0)
		goto fail;
	store_free(st);
	printf("%lld\n", (long long)run);
	return 0;
fail:
	fprintf(stderr, "report-fixture: %s\n", cause ? cause : "failed");
	free(cause);
	store_free(st);
	return 1;
}
