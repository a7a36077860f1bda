/* test-osprofiler.c: the OSprofiler importer on notifications (JSON lines
 * and array) and on the tree that the real OSprofiler's report builder
 * made from them (tests/data/osprofiler/make-tree.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/osprofiler.h"
#include "htrace.h"
#include "spool/spool.h"
#include "util/error.h"
#include "util/strbuf.h"

struct got {
	uint8_t trace_id[16];
	uint64_t span_id, parent_id, start_ns, dur_ns;
	unsigned kind, status;
	char name[128], service[64], host[64], message[128], attrs[1024];
};

struct gots {
	struct got v[16];
	size_t n;
};

static int capture(const struct spool_span *s, void *payload)
{
	struct gots *g = payload;
	struct got *o;
	size_t len = 0;

	assert_true(g->n < 16);
	o = &g->v[g->n++];
	memset(o, 0, sizeof(*o));
	memcpy(o->trace_id, s->trace_id, 16);
	o->span_id = s->span_id;
	o->parent_id = s->parent_id;
	o->start_ns = s->start_ns;
	o->dur_ns = s->dur_ns;
	o->kind = s->kind;
	o->status = s->status;
	snprintf(o->name, sizeof(o->name), "%s", s->name ? s->name : "");
	snprintf(o->service, sizeof(o->service), "%s",
		 s->service ? s->service : "");
	snprintf(o->host, sizeof(o->host), "%s", s->host ? s->host : "");
	snprintf(o->message, sizeof(o->message), "%s",
		 s->message ? s->message : "");
	for (size_t i = 0; i < s->n_attrs; i++) {
		const struct spool_attr *a = &s->attrs[i];

		if (a->type == SPOOL_ATTR_STR)
			len += (size_t)snprintf(o->attrs + len,
						sizeof(o->attrs) - len,
						"%s=%s;", a->key, a->v.s);
		else if (a->type == SPOOL_ATTR_INT)
			len += (size_t)snprintf(o->attrs + len,
						sizeof(o->attrs) - len,
						"%s=%lld;", a->key,
						(long long)a->v.i);
		else if (a->type == SPOOL_ATTR_BOOL)
			len += (size_t)snprintf(o->attrs + len,
						sizeof(o->attrs) - len,
						"%s=%s;", a->key,
						a->v.b ? "true" : "false");
		else
			fail_msg("attribute '%s' of type %d", a->key, a->type);
		assert_true(len < sizeof(o->attrs));
	}
	return 0;
}

static const struct got *find(const struct gots *g, uint64_t span_id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].span_id == span_id)
			return &g->v[i];
	fail_msg("no span %016llx", (unsigned long long)span_id);
	return NULL;
}

static const uint8_t base_id[16] = { 0x6e, 0x3e, 0x8b, 0x2a, 0x0f, 0x7c,
				     0x4c, 0x1e, 0x9a, 0x55, 0x1f, 0x2b,
				     0x3c, 0x4d, 0x5e, 0x6f };

/* 2024-03-01T10:00:00 UTC plus us microseconds, in unix ns. */
static uint64_t at(uint64_t us)
{
	struct tm tm = { .tm_year = 124, .tm_mon = 2, .tm_mday = 1,
			 .tm_hour = 10 };

	return (uint64_t)timegm(&tm) * 1000000000ull + us * 1000;
}

static void check_spans(const struct gots *g,
			const struct osprofiler_stats *st)
{
	const struct got *s;

	assert_int_equal(st->notifications, 7);
	assert_int_equal(st->spans, 4);
	assert_int_equal(st->unpaired, 1);
	assert_int_equal(st->rejected, 0);
	assert_int_equal(st->unmapped, 1);	/* compute */
	assert_int_equal(g->n, 4);
	for (size_t i = 0; i < g->n; i++)
		assert_memory_equal(g->v[i].trace_id, base_id, 16);

	s = find(g, 0x8444000000000001ull);
	assert_int_equal(s->parent_id, 0);	/* parent_id == base_id */
	assert_int_equal(s->kind, HTRACE_KIND_REST_DISPATCH);
	assert_string_equal(s->name, "POST /v2.1/servers");
	assert_string_equal(s->service, "api");
	assert_string_equal(s->host, "node-1");
	assert_int_equal(s->start_ns, at(100));
	assert_int_equal(s->dur_ns, 10000000);
	assert_int_equal(s->status, SPOOL_STATUS_OK);
	assert_non_null(strstr(s->attrs, "http.request.method=POST;"));
	assert_non_null(strstr(s->attrs, "url.path=/v2.1/servers;"));
	assert_non_null(strstr(s->attrs, "osprofiler.name=wsgi;"));

	s = find(g, 0x8444000000000002ull);
	assert_int_equal(s->parent_id, 0x8444000000000001ull);
	assert_int_equal(s->kind, HTRACE_KIND_DB);
	assert_string_equal(s->name, "SELECT");
	assert_int_equal(s->dur_ns, 2500000);
	assert_non_null(strstr(s->attrs, "db.query.text=select id from "
					 "instances where uuid = ?;"));
	assert_non_null(strstr(s->attrs, "db.operation.name=SELECT;"));
	assert_non_null(strstr(s->attrs, "db.system.name=other_sql;"));
	assert_null(strstr(s->attrs, "osprofiler.unmapped"));

	s = find(g, 0x8444000000000003ull);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_DISPATCH);
	assert_string_equal(s->name, "nova.conductor.build_instances");
	assert_string_equal(s->service, "conductor");
	assert_int_equal(s->status, SPOOL_STATUS_ERROR);
	assert_string_equal(s->message, "No valid host was found");
	assert_non_null(strstr(s->attrs, "error.type=NoValidHost;"));
	assert_non_null(strstr(s->attrs, "rpc.service=nova.conductor;"));
	assert_non_null(strstr(s->attrs, "rpc.method=build_instances;"));

	s = find(g, 0x8444000000000004ull);	/* no stop */
	assert_int_equal(s->parent_id, 0x8444000000000003ull);
	assert_int_equal(s->kind, HTRACE_KIND_FUNC);
	assert_string_equal(s->name, "compute");
	assert_int_equal(s->start_ns, at(5000));
	assert_int_equal(s->dur_ns, 0);
	assert_non_null(strstr(s->attrs, "osprofiler.unmapped=true;"));
}

static void load(struct strbuf *sb, const char *name)
{
	const char *root = getenv("HARNESS_SOURCE_ROOT");
	char *path;

	assert_non_null(root);
	path = xasprintf("%s/tests/data/osprofiler/%s", root, name);
	strbuf_reset(sb);
	if (strbuf_read_file(sb, path) < 0)
		fail_msg("cannot read '%s'", path);
	free(path);
}

static void decode_file(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	struct osprofiler_stats st;
	struct gots g = { .n = 0 };
	char *cause = NULL;

	load(&sb, name);
	assert_int_equal(osprofiler_decode(sb.buf, sb.len, capture, &g, &st,
					   &cause), 0);
	assert_null(cause);
	check_spans(&g, &st);
	osprofiler_stats_release(&st);
	strbuf_release(&sb);
}

static void test_osprofiler__json_lines(void **state)
{
	decode_file("notifications.jsonl");
}

static void test_osprofiler__json_array(void **state)
{
	decode_file("notifications.json");
}

static void test_osprofiler__trace_show_tree(void **state)
{
	decode_file("trace-show.json");
}

static int decode(const char *text, struct osprofiler_stats *st)
{
	struct gots g = { .n = 0 };
	char *cause = NULL;
	int ret = osprofiler_decode(text, strlen(text), capture, &g, st,
				    &cause);

	if (ret)
		assert_non_null(cause);
	else
		assert_int_equal(g.n, st->spans);
	free(cause);
	/* the caller reads only the counts */
	for (size_t i = 0; i < st->nby_service; i++)
		free(st->by_service[i].service);
	free(st->by_service);
	st->by_service = NULL;
	st->nby_service = st->aby_service = 0;
	return ret;
}

static void test_osprofiler__bad_input(void **state)
{
	struct osprofiler_stats st;
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(decode("not json at all", &st), OTLP_EMALFORMED);
	assert_int_equal(decode("{\"name\": \"db-start\"}\n{oops\n", &st),
			 OTLP_EMALFORMED);
	assert_int_equal(decode("42", &st), OTLP_EMALFORMED);
	assert_int_equal(decode("", &st), 0);
	assert_int_equal(st.spans, 0);
	/* a bad UUID, a bad timestamp, a name without -start/-stop */
	assert_int_equal(
		decode("[{\"name\":\"db-start\",\"base_id\":\"nope\","
		       "\"trace_id\":\"11111111-2222-4333-8444-000000000002\","
		       "\"parent_id\":\"nope\",\"timestamp\":"
		       "\"2024-03-01T10:00:00.1\"},"
		       "{\"name\":\"db-start\",\"base_id\":"
		       "\"6e3e8b2a-0f7c-4c1e-9a55-1f2b3c4d5e6f\","
		       "\"trace_id\":\"11111111-2222-4333-8444-000000000003\","
		       "\"parent_id\":\"6e3e8b2a-0f7c-4c1e-9a55-1f2b3c4d5e6f\","
		       "\"timestamp\":\"yesterday\"},"
		       "{\"name\":\"db\",\"trace_id\":\"x\"}, 7]",
		       &st),
		0);
	assert_int_equal(st.spans, 0);
	assert_int_equal(st.rejected, 4);
	/* a tree nested too deep */
	for (int i = 0; i < 300; i++)
		strbuf_addstr(&sb, "{\"info\":{},\"children\":[");
	for (int i = 0; i < 300; i++)
		strbuf_addstr(&sb, "]}");
	assert_int_equal(decode(sb.buf, &st), OTLP_EMALFORMED);
	strbuf_release(&sb);
}

static void test_osprofiler__import_to_spool(void **state)
{
	char dir[] = "/tmp/test-osprofiler-XXXXXX", *path, *file, *cause = NULL;
	struct osprofiler_stats st;
	struct spool_reader *r;
	struct spool_record rec;
	struct gots g = { .n = 0 };
	const char *root = getenv("HARNESS_SOURCE_ROOT");

	assert_non_null(mkdtemp(dir));
	file = xasprintf("%s/tests/data/osprofiler/trace-show.json", root);
	if (osprofiler_import(file, dir, &path, &st, &cause))
		fail_msg("%s", cause);
	assert_int_equal(spool_reader_open(&r, path, &cause), 0);
	assert_string_equal(spool_reader_header(r)->service, "osprofiler");
	while (spool_reader_next(r, &rec, &cause) == SPOOL_READ_OK)
		if (rec.type == SPOOL_RECORD_SPAN)
			capture(&rec.u.span, &g);
	spool_reader_free(r);
	check_spans(&g, &st);
	osprofiler_stats_release(&st);
	unlink(path);
	free(path);

	assert_int_equal(osprofiler_import("/nonexistent/x.json", dir, &path,
					   &st, &cause), -1);
	assert_non_null(strstr(cause, "cannot read"));
	free(cause);
	assert_int_equal(rmdir(dir), 0);
	free(file);
}

/* One notification as the redis driver stores it. */
static void note(struct strbuf *sb, const char *name, unsigned id,
		 unsigned parent, unsigned us, const char *info)
{
	static const char base[] = "6e3e8b2a-0f7c-4c1e-9a55-1f2b3c4d5e6f";
	char pid[64];

	if (parent)
		snprintf(pid, sizeof(pid),
			 "11111111-2222-4333-8444-%012u", parent);
	else
		snprintf(pid, sizeof(pid), "%s", base);
	strbuf_addf(sb,
		    "{\"name\": \"%s\", \"base_id\": \"%s\", \"trace_id\": "
		    "\"11111111-2222-4333-8444-%012u\", \"parent_id\": \"%s\", "
		    "\"timestamp\": \"2024-03-01T10:00:00.%06u\", \"info\": "
		    "{\"host\": \"node-1\"%s%s}, \"project\": \"nova\", "
		    "\"service\": \"api\"}\n",
		    name, base, id, pid, us, *info ? ", " : "", info);
}

/* The rpc rule (client proxies in rpcapi modules; a cast is a client
 * call that its dispatch outlives), requests points with a response
 * status, and an op harness does not know, kept with its info. */
static void test_osprofiler__kinds(void **state)
{
	static const char sched_api[] =
		"\"function\": {\"name\": \"nova.scheduler.rpcapi."
		"SchedulerAPI.select_destinations\"}";
	static const char sched_mgr[] =
		"\"function\": {\"name\": \"nova.scheduler.manager."
		"SchedulerManager.select_destinations\"}";
	static const char comp_api[] =
		"\"function\": {\"name\": \"nova.compute.rpcapi.ComputeAPI."
		"build_and_run_instance\"}";
	static const char comp_mgr[] =
		"\"function\": {\"name\": \"nova.compute.manager."
		"ComputeManager.build_and_run_instance\"}";
	struct strbuf sb = STRBUF_INIT;
	struct osprofiler_stats st;
	struct gots g = { .n = 0 };
	const struct got *s;
	char *cause = NULL;

	note(&sb, "wsgi-start", 1, 0, 0, "\"request\": {\"method\": \"POST\", "
	     "\"path\": \"/servers\"}");
	note(&sb, "rpc-start", 2, 1, 1000, sched_api);
	note(&sb, "rpc-start", 3, 2, 2000, sched_mgr);
	note(&sb, "rpc-stop", 3, 2, 9000, "");
	note(&sb, "rpc-stop", 2, 1, 10000, "");
	note(&sb, "rpc-start", 4, 1, 11000, comp_api);
	note(&sb, "rpc-stop", 4, 1, 12000, "");
	note(&sb, "rpc-start", 5, 4, 13000, comp_mgr);
	note(&sb, "rpc-stop", 5, 4, 50000, "");
	note(&sb, "requests-start", 6, 1, 14000, "\"request\": {\"method\": "
	     "\"GET\", \"url\": \"http://127.0.0.1:9292/v2/images/x\"}");
	note(&sb, "requests-stop", 6, 1, 15000, "\"response\": {\"status\": "
	     "404}");
	note(&sb, "neutron_api-start", 7, 1, 16000, "\"port\": \"p1\", "
	     "\"args\": {\"a\": 1}");
	note(&sb, "neutron_api-stop", 7, 1, 17000, "");
	note(&sb, "wsgi-stop", 1, 0, 60000, "\"status_code\": 202");
	if (osprofiler_decode(sb.buf, sb.len, capture, &g, &st, &cause))
		fail_msg("%s", cause);
	assert_int_equal(st.spans, 7);
	assert_int_equal(st.unmapped, 1);

	s = find(&g, 0x8444000000000001ull);
	assert_int_equal(s->kind, HTRACE_KIND_REST_DISPATCH);
	assert_non_null(strstr(s->attrs, "http.response.status_code=202;"));
	assert_int_equal(s->status, SPOOL_STATUS_OK);
	s = find(&g, 0x8444000000000002ull);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_CALL);
	assert_string_equal(s->name,
			    "nova.scheduler.rpcapi.SchedulerAPI."
			    "select_destinations");
	assert_non_null(strstr(s->attrs, "rpc.method=select_destinations;"));
	assert_non_null(strstr(s->attrs, "rpc.service=nova.scheduler.rpcapi."
					 "SchedulerAPI;"));
	s = find(&g, 0x8444000000000003ull);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_DISPATCH);
	assert_int_equal(s->parent_id, 0x8444000000000002ull);
	s = find(&g, 0x8444000000000004ull);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_CAST);
	s = find(&g, 0x8444000000000005ull);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_DISPATCH);

	s = find(&g, 0x8444000000000006ull);
	assert_int_equal(s->kind, HTRACE_KIND_REST_CALL);
	assert_string_equal(s->name,
			    "GET http://127.0.0.1:9292/v2/images/x");
	assert_non_null(strstr(s->attrs, "url.full=http://127.0.0.1:9292/v2/"
					 "images/x;"));
	assert_non_null(strstr(s->attrs, "http.response.status_code=404;"));
	assert_int_equal(s->status, SPOOL_STATUS_ERROR);

	s = find(&g, 0x8444000000000007ull);
	assert_int_equal(s->kind, HTRACE_KIND_FUNC);
	assert_string_equal(s->name, "neutron_api");
	assert_non_null(strstr(s->attrs, "osprofiler.unmapped=true;"));
	assert_non_null(strstr(s->attrs, "osprofiler.info.port=p1;"));
	assert_non_null(strstr(s->attrs, "osprofiler.info.args={\"a\":1};"));
	assert_null(strstr(s->attrs, "osprofiler.info.host"));
	assert_int_equal(st.nby_service, 1);
	assert_string_equal(st.by_service[0].service, "api");
	assert_int_equal(st.by_service[0].unmapped, 1);
	osprofiler_stats_release(&st);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_osprofiler__json_lines),
		cmocka_unit_test(test_osprofiler__json_array),
		cmocka_unit_test(test_osprofiler__trace_show_tree),
		cmocka_unit_test(test_osprofiler__bad_input),
		cmocka_unit_test(test_osprofiler__import_to_spool),
		cmocka_unit_test(test_osprofiler__kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
