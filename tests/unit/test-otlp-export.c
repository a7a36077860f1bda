/* test-otlp-export.c: OTLP/JSON export (report/otlp-json.h): the kind
 * map, the JSON of a batch, a run written to a file from a real store,
 * and POSTs to a libmicrohttpd server that answers like an OTLP/HTTP
 * endpoint: success, partial success, errors, retries, nothing there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/otlp-json.h"
#include "store/store.h"
#include "util/strbuf.h"

/* A span to add, with a trace id derived from T. */
static struct store_span mkspan(unsigned t, uint64_t id, uint64_t parent,
				const char *service, int64_t pid,
				const char *kind, const char *name)
{
	struct store_span sp;

	memset(&sp, 0, sizeof(sp));
	for (int i = 0; i < 16; i++)
		sp.trace_id[i] = (uint8_t)(0xa0 + t + i);
	sp.span_id = id;
	sp.parent_id = parent;
	sp.service = service;
	sp.host = "node-1";
	sp.pid = pid;
	sp.tid = pid + 1;
	sp.kind = kind;
	sp.name = name;
	sp.start_ns = 1764000000000000000LL + (int64_t)(id % 1000000) * 1000;
	sp.dur_ns = 250;
	return sp;
}

static json_t *parse(char *text)
{
	json_error_t err;
	json_t *js = json_loads(text, 0, &err);

	if (!js)
		fail_msg("not JSON: %s: %s", err.text, text);
	free(text);
	return js;
}

/* The value object of attribute KEY in the array ATTRS, or NULL. */
static json_t *attr(json_t *attrs, const char *key)
{
	size_t i;
	json_t *a;

	json_array_foreach(attrs, i, a)
		if (!strcmp(json_string_value(json_object_get(a, "key")), key))
			return json_object_get(a, "value");
	return NULL;
}

static const char *sval(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void test_otlp_export__kind_map(void **state)
{
	(void)state;
	assert_int_equal(otlp_json_span_kind("rest.dispatch"), 2);
	assert_int_equal(otlp_json_span_kind("rpc.dispatch"), 2);
	assert_int_equal(otlp_json_span_kind("rest.call"), 3);
	assert_int_equal(otlp_json_span_kind("rpc.call"), 3);
	assert_int_equal(otlp_json_span_kind("db"), 3);
	assert_int_equal(otlp_json_span_kind("exec"), 3);
	assert_int_equal(otlp_json_span_kind("rpc.cast"), 4);
	assert_int_equal(otlp_json_span_kind("func"), 1);
	assert_int_equal(otlp_json_span_kind("iteration"), 1);
	assert_int_equal(otlp_json_span_kind("thread.spawn"), 1);
	assert_int_equal(otlp_json_span_kind("rest"), 1);
	assert_int_equal(otlp_json_span_kind(NULL), 1);
}

static void test_otlp_export__batch_json(void **state)
{
	static const char *const frames[] = { "a.so+0x10 inner",
					      "a.so+0x20 outer" };
	const struct store_attr attrs[] = {
		{ .key = "db.system.name", .type = STORE_ATTR_TEXT,
		  .v.s = "sqlite" },
		{ .key = "rows", .type = STORE_ATTR_INT, .v.i = -42 },
		{ .key = "big", .type = STORE_ATTR_INT, .v.i = INT64_MAX },
		{ .key = "share", .type = STORE_ATTR_DOUBLE, .v.d = 0.375 },
		{ .key = "nan", .type = STORE_ATTR_DOUBLE, .v.d = NAN },
		{ .key = "inf", .type = STORE_ATTR_DOUBLE, .v.d = -INFINITY },
		{ .key = "cached", .type = STORE_ATTR_BOOL, .v.b = true },
		{ .key = "bytes", .type = STORE_ATTR_TEXT,
		  .v.s = "ok\xff\xc3(\xe2\x82\xac" },
	};
	struct otlp_json_batch *b = otlp_json_batch_new();
	struct store_span sp[4];
	json_t *js, *rss, *rs, *spans, *s, *a, *st;
	size_t len;
	char *text;

	(void)state;
	sp[0] = mkspan(0, 1, 0, "api", 10, "rest.dispatch", "POST /servers");
	sp[1] = mkspan(0, 0xfedcba9876543210ULL, 1, "db", 20, "db",
		       "SELECT");
	sp[1].attrs = attrs;
	sp[1].nattrs = sizeof(attrs) / sizeof(attrs[0]);
	sp[1].frames = frames;
	sp[1].nframes = 2;
	sp[1].status = STORE_SPAN_ERROR;
	sp[1].message = "disk I/O error";
	sp[2] = mkspan(1, 3, 0, "api", 10, "iteration", "boot");
	sp[3] = mkspan(1, 4, 3, NULL, 0, "rpc.cast", "build");
	sp[3].host = NULL;
	sp[3].tid = 0;
	for (int i = 0; i < 4; i++)
		otlp_json_batch_add(b, &sp[i]);
	assert_int_equal(otlp_json_batch_count(b), 4);
	text = otlp_json_batch_take(b, &len);
	assert_int_equal(strlen(text), len);
	js = parse(text);
	assert_int_equal(otlp_json_batch_count(b), 0);

	/* Three resources: api (twice: same service, host, pid), db, and
	 * the one without service, host or pid. */
	rss = json_object_get(js, "resourceSpans");
	assert_int_equal(json_array_size(rss), 3);
	rs = json_array_get(rss, 0);
	a = json_object_get(json_object_get(rs, "resource"), "attributes");
	assert_string_equal(sval(attr(a, "service.name"), "stringValue"),
			    "api");
	assert_string_equal(sval(attr(a, "host.name"), "stringValue"),
			    "node-1");
	assert_string_equal(sval(attr(a, "process.pid"), "intValue"), "10");
	assert_int_equal(json_array_size(json_object_get(rs, "scopeSpans")),
			 1);
	s = json_array_get(json_object_get(rs, "scopeSpans"), 0);
	assert_string_equal(sval(json_object_get(s, "scope"), "name"),
			    "harness");
	spans = json_object_get(s, "spans");
	assert_int_equal(json_array_size(spans), 2);

	s = json_array_get(spans, 0);
	assert_string_equal(sval(s, "traceId"),
			    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	assert_string_equal(sval(s, "spanId"), "0000000000000001");
	assert_null(json_object_get(s, "parentSpanId"));
	assert_string_equal(sval(s, "name"), "POST /servers");
	assert_int_equal(json_integer_value(json_object_get(s, "kind")), 2);
	assert_string_equal(sval(s, "startTimeUnixNano"),
			    "1764000000000001000");
	assert_string_equal(sval(s, "endTimeUnixNano"),
			    "1764000000000001250");
	assert_null(json_object_get(s, "status"));
	a = json_object_get(s, "attributes");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(sval(attr(a, "harness.kind"), "stringValue"),
			    "rest.dispatch");
	assert_string_equal(sval(attr(a, "thread.id"), "intValue"), "11");
	s = json_array_get(spans, 1);
	assert_string_equal(sval(s, "traceId"),
			    "a1a2a3a4a5a6a7a8a9aaabacadaeafb0");
	assert_int_equal(json_integer_value(json_object_get(s, "kind")), 1);

	/* The db span: every attribute type, the stack, the error. */
	rs = json_array_get(rss, 1);
	s = json_array_get(json_object_get(json_array_get(
				   json_object_get(rs, "scopeSpans"), 0),
					   "spans"),
			   0);
	assert_string_equal(sval(s, "spanId"), "fedcba9876543210");
	assert_string_equal(sval(s, "parentSpanId"), "0000000000000001");
	assert_int_equal(json_integer_value(json_object_get(s, "kind")), 3);
	a = json_object_get(s, "attributes");
	assert_string_equal(sval(attr(a, "db.system.name"), "stringValue"),
			    "sqlite");
	assert_string_equal(sval(attr(a, "rows"), "intValue"), "-42");
	assert_string_equal(sval(attr(a, "big"), "intValue"),
			    "9223372036854775807");
	assert_true(json_real_value(json_object_get(attr(a, "share"),
						    "doubleValue")) == 0.375);
	assert_string_equal(sval(attr(a, "nan"), "doubleValue"), "NaN");
	assert_string_equal(sval(attr(a, "inf"), "doubleValue"), "-Infinity");
	assert_true(json_is_true(json_object_get(attr(a, "cached"),
						 "boolValue")));
	assert_string_equal(sval(attr(a, "bytes"), "stringValue"),
			    "ok\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac");
	assert_string_equal(sval(attr(a, "code.stacktrace"), "stringValue"),
			    "a.so+0x10 inner\na.so+0x20 outer");
	assert_string_equal(sval(attr(a, "harness.kind"), "stringValue"),
			    "db");
	st = json_object_get(s, "status");
	assert_int_equal(json_integer_value(json_object_get(st, "code")), 2);
	assert_string_equal(sval(st, "message"), "disk I/O error");

	/* No service: unknown_service, no host.name, no process.pid. */
	rs = json_array_get(rss, 2);
	a = json_object_get(json_object_get(rs, "resource"), "attributes");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(sval(attr(a, "service.name"), "stringValue"),
			    "unknown_service");
	s = json_array_get(json_object_get(json_array_get(
				   json_object_get(rs, "scopeSpans"), 0),
					   "spans"),
			   0);
	assert_int_equal(json_integer_value(json_object_get(s, "kind")), 4);
	assert_null(attr(json_object_get(s, "attributes"), "thread.id"));
	json_decref(js);

	/* Emptied: the next request holds nothing. */
	js = parse(otlp_json_batch_take(b, NULL));
	assert_int_equal(json_array_size(json_object_get(js, "resourceSpans")),
			 0);
	json_decref(js);
	otlp_json_batch_free(b);
	otlp_json_batch_free(NULL);
}

/* A temporary store with one run of N spans in traces of 10 (spans
 * alternate between two services), and one empty run. */
struct fixture {
	char dir[64];
	char path[96];
	struct store *st;
	int64_t run, empty_run;
	size_t nspans;
};

static int setup_store(void **state, size_t n)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_run_info info = { .scenario = "boot-vm",
				       .config_hash = "00" };
	struct store_span *spans = calloc(n ? n : 1, sizeof(*spans));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-otlp-export-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/h.db", f->dir);
	if (store_open(&f->st, f->path, NULL) < 0 ||
	    store_run_create(&f->run, f->st, &info, NULL) < 0 ||
	    store_run_create(&f->empty_run, f->st, &info, NULL) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		spans[i] = mkspan((unsigned)(i / 10), i + 1,
				  i % 10 ? i - i % 10 + 1 : 0,
				  i % 2 ? "api" : "compute", i % 2 ? 7 : 8,
				  "func", "work");
	if (store_spans_add(f->st, f->run, spans, n, NULL) < 0)
		return -1;
	free(spans);
	f->nspans = n;
	*state = f;
	return 0;
}

static int setup_30(void **state)
{
	return setup_store(state, 30);
}

static int setup_1100(void **state)
{
	return setup_store(state, 1100);
}

static int teardown_store(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_free(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static size_t count_spans(json_t *js)
{
	size_t n = 0, i, j;
	json_t *rs, *ss;

	json_array_foreach(json_object_get(js, "resourceSpans"), i, rs)
		json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
			n += json_array_size(json_object_get(ss, "spans"));
	return n;
}

static void test_otlp_export__file(void **state)
{
	struct fixture *f = *state;
	struct otlp_json_options opt;
	struct otlp_json_stats stats;
	char out[128], *cause = NULL;
	json_t *js;

	otlp_json_options_init(&opt);
	snprintf(out, sizeof(out), "%s/out.json", f->dir);
	opt.out_path = out;
	assert_int_equal(otlp_json_export(f->st, f->run, &opt, &stats, &cause),
			 0);
	assert_int_equal(stats.spans, 30);
	assert_int_equal(stats.requests, 0);
	js = json_load_file(out, 0, NULL);
	assert_non_null(js);
	assert_int_equal(json_array_size(json_object_get(js, "resourceSpans")),
			 2);
	assert_int_equal(count_spans(js), 30);
	json_decref(js);

	/* An empty run: a request with nothing in it. */
	assert_int_equal(otlp_json_export(f->st, f->empty_run, &opt, &stats,
					  &cause),
			 0);
	assert_int_equal(stats.spans, 0);
	js = json_load_file(out, 0, NULL);
	assert_non_null(js);
	assert_int_equal(count_spans(js), 0);
	json_decref(js);

	/* A directory that does not exist: an error naming the file. */
	snprintf(out, sizeof(out), "%s/no/such/out.json", f->dir);
	assert_int_equal(otlp_json_export(f->st, f->run, &opt, &stats, &cause),
			 -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "out.json"));
	free(cause);
}

/* The endpoint: answers request K (0-based) with answers[K] (the last
 * one repeating) and remembers what it got. */
struct answer {
	unsigned status;
	const char *body;
	const char *retry_after;
};

struct endpoint {
	struct MHD_Daemon *d;
	char url[64];
	pthread_mutex_t lock;
	const struct answer *answers;
	size_t nanswers;
	size_t requests;
	size_t spans[16];	/* spans in each request */
	char ctype[64];
	size_t bad;		/* bodies that were not OTLP JSON */
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct endpoint *e = cls;
	struct strbuf *body = *con_cls;
	const struct answer *a;
	struct MHD_Response *res;
	const char *ct;
	enum MHD_Result ret;
	json_t *js;
	size_t k;

	(void)url;
	(void)version;
	if (!body) {
		body = calloc(1, sizeof(*body));
		strbuf_init(body);
		*con_cls = body;
		return MHD_YES;
	}
	if (*size) {
		strbuf_add(body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	js = json_loadb(body->buf, body->len, 0, NULL);
	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 "Content-Type");
	pthread_mutex_lock(&e->lock);
	k = e->requests++;
	if (k < 16)
		e->spans[k] = count_spans(js);
	if (!js || strcmp(method, "POST"))
		e->bad++;
	snprintf(e->ctype, sizeof(e->ctype), "%s", ct ? ct : "");
	a = &e->answers[k < e->nanswers ? k : e->nanswers - 1];
	pthread_mutex_unlock(&e->lock);
	json_decref(js);
	res = MHD_create_response_from_buffer(strlen(a->body),
					      (void *)a->body,
					      MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(res, "Content-Type", "application/json");
	if (a->retry_after)
		MHD_add_response_header(res, "Retry-After", a->retry_after);
	ret = MHD_queue_response(conn, a->status, res);
	MHD_destroy_response(res);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode code)
{
	struct strbuf *body = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (body) {
		strbuf_release(body);
		free(body);
		*con_cls = NULL;
	}
}

static void endpoint_start(struct endpoint *e, const struct answer *answers,
			   size_t n)
{
	const union MHD_DaemonInfo *info;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	e->answers = answers;
	e->nanswers = n;
	e->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
				NULL, on_request, e,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, e,
				MHD_OPTION_END);
	assert_non_null(e->d);
	info = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%u/v1/traces",
		 (unsigned)info->port);
}

static void endpoint_stop(struct endpoint *e)
{
	MHD_stop_daemon(e->d);
	pthread_mutex_destroy(&e->lock);
}

static int post(struct fixture *f, const char *url, size_t batch,
		struct otlp_json_stats *stats, char **cause)
{
	struct otlp_json_options opt;

	otlp_json_options_init(&opt);
	opt.url = url;
	opt.batch = batch;
	opt.timeout_ms = 10000;
	return otlp_json_export(f->st, f->run, &opt, stats, cause);
}

static void test_otlp_export__post_batches(void **state)
{
	static const struct answer ok[] = { { 200, "{}", NULL } };
	struct fixture *f = *state;
	struct otlp_json_options opt;
	struct otlp_json_stats stats;
	struct endpoint e;
	char out[128], *cause = NULL;
	json_t *js;

	/* POSTed and written to a file in the same walk. */
	endpoint_start(&e, ok, 1);
	otlp_json_options_init(&opt);
	snprintf(out, sizeof(out), "%s/both.json", f->dir);
	opt.url = e.url;
	opt.out_path = out;
	assert_int_equal(otlp_json_export(f->st, f->run, &opt, &stats,
					  &cause),
			 0);
	endpoint_stop(&e);
	assert_null(cause);
	js = json_load_file(out, 0, NULL);
	assert_int_equal(count_spans(js), 1100);
	json_decref(js);
	assert_int_equal(stats.spans, 1100);
	assert_int_equal(stats.requests, 3);
	assert_int_equal(e.requests, 3);
	assert_int_equal(e.bad, 0);
	assert_int_equal(e.spans[0], 512);
	assert_int_equal(e.spans[1], 512);
	assert_int_equal(e.spans[2], 76);
	assert_string_equal(e.ctype, "application/json");
}

static void test_otlp_export__post_partial_success(void **state)
{
	static const struct answer partial[] = {
		{ 200, "{}", NULL },
		{ 200,
		  "{\"partialSuccess\":{\"rejectedSpans\":\"2\","
		  "\"errorMessage\":\"span ends before it starts\"}}",
		  NULL },
	};
	struct fixture *f = *state;
	struct otlp_json_stats stats;
	struct endpoint e;
	char *cause = NULL;

	endpoint_start(&e, partial, 2);
	assert_int_equal(post(f, e.url, 10, &stats, &cause), -1);
	endpoint_stop(&e);
	assert_non_null(cause);
	assert_non_null(strstr(cause, e.url));
	assert_non_null(strstr(cause, "rejected 2 of 10 spans: span ends "
				      "before it starts"));
	/* The export stopped at the failed batch. */
	assert_int_equal(stats.requests, 1);
	assert_int_equal(e.requests, 2);
	free(cause);
}

static void test_otlp_export__post_http_error(void **state)
{
	static const struct answer refused[] = {
		{ 400, "{\"code\":3,\"message\":\"JSON: 'kind' is not an "
		       "integer\"}",
		  NULL },
	};
	static const struct answer plain[] = {
		{ 401, "unauthorized\n", NULL },
	};
	struct fixture *f = *state;
	struct otlp_json_stats stats;
	struct endpoint e;
	char *cause = NULL;

	endpoint_start(&e, refused, 1);
	assert_int_equal(post(f, e.url, 0, &stats, &cause), -1);
	endpoint_stop(&e);
	assert_int_equal(stats.requests, 0);
	assert_int_equal(e.requests, 1);
	assert_non_null(strstr(cause, "answered HTTP 400: JSON: 'kind' is "
				      "not an integer"));
	free(cause);
	cause = NULL;

	endpoint_start(&e, plain, 1);
	assert_int_equal(post(f, e.url, 0, &stats, &cause), -1);
	endpoint_stop(&e);
	assert_non_null(strstr(cause, "answered HTTP 401: unauthorized"));
	assert_null(strchr(cause, '\n'));
	free(cause);
}

static void test_otlp_export__post_retry(void **state)
{
	static const struct answer busy[] = {
		{ 503, "{\"code\":14,\"message\":\"busy\"}", "0" },
		{ 429, "", NULL },
		{ 200, "{}", NULL },
	};
	static const struct answer down[] = {
		{ 502, "{\"code\":14,\"message\":\"upstream gone\"}", "0" },
	};
	struct fixture *f = *state;
	struct otlp_json_stats stats;
	struct endpoint e;
	char *cause = NULL;

	/* Two retryable answers, then success: one request delivered. */
	endpoint_start(&e, busy, 3);
	assert_int_equal(post(f, e.url, 0, &stats, &cause), 0);
	endpoint_stop(&e);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(e.requests, 3);
	assert_int_equal(e.spans[2], 30);

	/* Always 502: the first try and 3 retries, then the error. */
	endpoint_start(&e, down, 1);
	assert_int_equal(post(f, e.url, 0, &stats, &cause), -1);
	endpoint_stop(&e);
	assert_int_equal(e.requests, 4);
	assert_non_null(strstr(cause, "answered HTTP 502: upstream gone"));
	free(cause);
}

static void test_otlp_export__post_nothing_there(void **state)
{
	static const struct answer ok[] = { { 200, "{}", NULL } };
	struct fixture *f = *state;
	struct otlp_json_stats stats;
	struct endpoint e;
	char url[64], *cause = NULL;

	/* A port that was just free: nothing listens on it any more. */
	endpoint_start(&e, ok, 1);
	snprintf(url, sizeof(url), "%s", e.url);
	endpoint_stop(&e);
	assert_int_equal(post(f, url, 0, &stats, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot POST to '"));
	assert_non_null(strstr(cause, url));
	assert_int_equal(stats.requests, 0);
	free(cause);
	cause = NULL;

	assert_int_equal(post(f, "notascheme://x/v1/traces", 0, &stats,
			      &cause),
			 -1);
	assert_non_null(strstr(cause, "cannot POST to 'notascheme://"));
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_otlp_export__kind_map),
		cmocka_unit_test(test_otlp_export__batch_json),
		cmocka_unit_test_setup_teardown(test_otlp_export__file,
						setup_30, teardown_store),
		cmocka_unit_test_setup_teardown(test_otlp_export__post_batches,
						setup_1100, teardown_store),
		cmocka_unit_test_setup_teardown(
			test_otlp_export__post_partial_success, setup_30,
			teardown_store),
		cmocka_unit_test_setup_teardown(
			test_otlp_export__post_http_error, setup_30,
			teardown_store),
		cmocka_unit_test_setup_teardown(test_otlp_export__post_retry,
						setup_30, teardown_store),
		cmocka_unit_test_setup_teardown(
			test_otlp_export__post_nothing_there, setup_30,
			teardown_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
