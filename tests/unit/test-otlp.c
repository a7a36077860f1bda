/* test-otlp.c: OTLP decoding and the OTLP/HTTP collector, with request
 * bodies that protoc --encode (at build time) and hand-written JSON made,
 * never an encoder of ours; spans are read back from the spool file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "collect/collect.h"
#include "collect/otlp.h"
#include "htrace.h"
#include "spool/spool.h"
#include "util/error.h"
#include "util/strbuf.h"

/* A span as captured, with its attributes as "key=T:value" strings. */
struct got {
	uint8_t trace_id[16];
	uint64_t span_id, parent_id;
	unsigned kind, status;
	char *name, *message, *service, *host;
	uint32_t pid;
	uint64_t start_ns, dur_ns;
	char **attrs;
	size_t n_attrs;
};

struct gots {
	struct got *v;
	size_t n, alloc;
};

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

static int capture(const struct spool_span *s, void *payload)
{
	struct gots *g = payload;
	struct got *o;

	ALLOC_GROW(g->v, g->n + 1, g->alloc);
	o = &g->v[g->n++];
	memset(o, 0, sizeof(*o));
	memcpy(o->trace_id, s->trace_id, 16);
	o->span_id = s->span_id;
	o->parent_id = s->parent_id;
	o->kind = s->kind;
	o->status = s->status;
	o->name = dup_or_empty(s->name);
	o->message = dup_or_empty(s->message);
	o->service = dup_or_empty(s->service);
	o->host = dup_or_empty(s->host);
	o->pid = s->pid;
	o->start_ns = s->start_ns;
	o->dur_ns = s->dur_ns;
	o->attrs = xcalloc(s->n_attrs + 1, sizeof(char *));
	for (size_t i = 0; i < s->n_attrs; i++) {
		const struct spool_attr *a = &s->attrs[i];

		switch (a->type) {
		case SPOOL_ATTR_STR:
			o->attrs[i] = xasprintf("%s=s:%s", a->key, a->v.s);
			break;
		case SPOOL_ATTR_INT:
			o->attrs[i] = xasprintf("%s=i:%lld", a->key,
						(long long)a->v.i);
			break;
		case SPOOL_ATTR_DOUBLE:
			o->attrs[i] = xasprintf("%s=d:%g", a->key, a->v.d);
			break;
		case SPOOL_ATTR_BOOL:
			o->attrs[i] = xasprintf("%s=b:%d", a->key, a->v.b);
			break;
		}
	}
	o->n_attrs = s->n_attrs;
	return 0;
}

static void gots_release(struct gots *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct got *o = &g->v[i];

		free(o->name);
		free(o->message);
		free(o->service);
		free(o->host);
		for (size_t j = 0; j < o->n_attrs; j++)
			free(o->attrs[j]);
		free(o->attrs);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static int has_attr(const struct got *o, const char *text)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		if (!strcmp(o->attrs[i], text))
			return 1;
	return 0;
}

static const uint8_t trace1[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
				    9, 10, 11, 12, 13, 14, 15, 16 };

/* basic.txtpb / basic.json: the same five spans, from offset `at`. */
static void check_basic(const struct gots *g, size_t at)
{
	const struct got *s;

	assert_true(g->n >= at + 5);
	s = &g->v[at];
	assert_memory_equal(s->trace_id, trace1, 16);
	assert_int_equal(s->span_id, 1);
	assert_int_equal(s->parent_id, 0);
	assert_string_equal(s->name, "POST /servers");
	assert_int_equal(s->kind, HTRACE_KIND_REST_DISPATCH);
	assert_string_equal(s->service, "api");
	assert_string_equal(s->host, "node-1");
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->start_ns, 1700000000000000000ull);
	assert_int_equal(s->dur_ns, 500000000);
	assert_int_equal(s->status, SPOOL_STATUS_OK);
	assert_true(has_attr(s, "http.request.method=s:POST"));
	assert_true(has_attr(s, "http.response.status_code=i:202"));
	assert_true(has_attr(s, "ratio=d:0.25"));
	assert_true(has_attr(s, "cached=b:1"));
	assert_true(has_attr(s, "tags=s:[\"a\",7]"));
	assert_true(has_attr(s, "blob=s:dead"));
	assert_true(has_attr(s, "event.0.name=s:queued"));
	assert_true(has_attr(s, "event.0.time_unix_nano=i:1700000000100000000"));
	assert_true(has_attr(s, "event.0.depth=i:3"));

	s = &g->v[at + 1];
	assert_int_equal(s->span_id, 2);
	assert_int_equal(s->parent_id, 1);
	assert_int_equal(s->kind, HTRACE_KIND_DB);
	assert_true(has_attr(s, "db.system.name=s:sqlite"));
	assert_true(has_attr(s, "db.query.text=s:SELECT * FROM servers"));
	assert_int_equal(s->dur_ns, 10000000);

	s = &g->v[at + 2];
	assert_int_equal(s->span_id, 3);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_CAST);

	s = &g->v[at + 3];
	assert_string_equal(s->service, "compute");
	assert_int_equal(s->pid, 77);
	assert_int_equal(s->span_id, 0xa000000000000004ull);
	assert_int_equal(s->parent_id, 3);
	assert_int_equal(s->kind, HTRACE_KIND_RPC_DISPATCH);
	assert_memory_equal(s->trace_id, trace1, 16);

	s = &g->v[at + 4];
	assert_int_equal(s->span_id, 5);
	assert_int_equal(s->parent_id, 0xa000000000000004ull);
	assert_int_equal(s->kind, HTRACE_KIND_FUNC);
	assert_int_equal(s->status, SPOOL_STATUS_ERROR);
	assert_string_equal(s->message, "no valid host");
	assert_string_equal(s->service, "compute");
}

static char *data_path(const char *root_env, const char *rel)
{
	const char *root = getenv(root_env);

	assert_non_null(root);
	return xasprintf("%s/%s", root, rel);
}

static void load(struct strbuf *sb, const char *root_env, const char *rel)
{
	char *path = data_path(root_env, rel);

	strbuf_reset(sb);
	if (strbuf_read_file(sb, path) < 0)
		fail_msg("cannot read '%s'", path);
	free(path);
}

#define SRC "HARNESS_SOURCE_ROOT"
#define BLD "HARNESS_BUILD_ROOT"

static void test_otlp__protobuf_decode(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct otlp_result res = { 0 };
	struct gots g = { 0 };
	char *cause = NULL;

	load(&sb, BLD, "tests/unit/otlp-basic.pb");
	assert_int_equal(otlp_decode_protobuf(sb.buf, sb.len, capture, &g,
					      &res, &cause), 0);
	assert_null(cause);
	assert_int_equal(res.accepted, 5);
	assert_int_equal(res.rejected, 0);
	assert_int_equal(g.n, 5);
	check_basic(&g, 0);
	gots_release(&g);
	otlp_result_release(&res);
	strbuf_release(&sb);
}

static void test_otlp__json_decode(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct otlp_result res = { 0 };
	struct gots g = { 0 };
	char *cause = NULL;

	load(&sb, SRC, "tests/data/otlp/basic.json");
	assert_int_equal(otlp_decode_json(sb.buf, sb.len, capture, &g, &res,
					  &cause), 0);
	assert_null(cause);
	assert_int_equal(res.accepted, 5);
	assert_int_equal(g.n, 5);
	check_basic(&g, 0);
	gots_release(&g);
	otlp_result_release(&res);
	strbuf_release(&sb);
}

static void test_otlp__bad_ids_rejected(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct otlp_result res = { 0 };
	struct gots g = { 0 };
	char *cause = NULL;

	load(&sb, BLD, "tests/unit/otlp-bad-ids.pb");
	assert_int_equal(otlp_decode_protobuf(sb.buf, sb.len, capture, &g,
					      &res, &cause), 0);
	assert_int_equal(res.accepted, 1);
	assert_int_equal(res.rejected, 4);
	assert_non_null(res.error_message);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.v[0].name, "good");
	gots_release(&g);
	otlp_result_release(&res);

	load(&sb, SRC, "tests/data/otlp/bad-ids.json");
	assert_int_equal(otlp_decode_json(sb.buf, sb.len, capture, &g, &res,
					  &cause), 0);
	assert_int_equal(res.accepted, 1);
	assert_int_equal(res.rejected, 4);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.v[0].name, "good");
	gots_release(&g);
	otlp_result_release(&res);
	strbuf_release(&sb);
}

static int decode_pb(const void *data, size_t len)
{
	struct otlp_result res = { 0 };
	struct gots g = { 0 };
	char *cause = NULL;
	int ret = otlp_decode_protobuf(data, len, capture, &g, &res, &cause);

	if (ret)
		assert_non_null(cause);
	free(cause);
	gots_release(&g);
	otlp_result_release(&res);
	return ret;
}

static int decode_json(const char *text)
{
	struct otlp_result res = { 0 };
	struct gots g = { 0 };
	char *cause = NULL;
	int ret = otlp_decode_json(text, strlen(text), capture, &g, &res,
				   &cause);

	if (ret)
		assert_non_null(cause);
	free(cause);
	gots_release(&g);
	otlp_result_release(&res);
	return ret;
}

/* "{"arrayValue":{"values":[" n times around an int. */
static char *nested_json(int n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "{\"resourceSpans\":[{\"resource\":{\"attributes\":"
			   "[{\"key\":\"k\",\"value\":");
	for (int i = 0; i < n; i++)
		strbuf_addstr(&sb, "{\"arrayValue\":{\"values\":[");
	strbuf_addstr(&sb, "{\"intValue\":1}");
	for (int i = 0; i < n; i++)
		strbuf_addstr(&sb, "]}}");
	strbuf_addstr(&sb, "}]}}]}");
	return strbuf_detach(&sb, NULL);
}

/* The same nesting in protobuf: KeyValue{value: AnyValue{array_value:
 * ArrayValue{values: AnyValue{...}}}} inside a Resource. */
static void nested_pb(struct strbuf *out, int n)
{
	struct strbuf cur = STRBUF_INIT, next = STRBUF_INIT;

	strbuf_add(&cur, "\x18\x01", 2);	/* AnyValue int_value 1 */
	for (int i = 0; i < n; i++) {
		struct strbuf arr = STRBUF_INIT;

		strbuf_addch(&arr, 0x0a);	/* ArrayValue.values */
		assert_true(cur.len < 0x4000);
		if (cur.len < 0x80) {
			strbuf_addch(&arr, (int)cur.len);
		} else {
			strbuf_addch(&arr, (int)(cur.len & 0x7f) | 0x80);
			strbuf_addch(&arr, (int)(cur.len >> 7));
		}
		strbuf_add(&arr, cur.buf, cur.len);
		strbuf_reset(&next);
		strbuf_addch(&next, 0x2a);	/* AnyValue.array_value */
		if (arr.len < 0x80) {
			strbuf_addch(&next, (int)arr.len);
		} else {
			strbuf_addch(&next, (int)(arr.len & 0x7f) | 0x80);
			strbuf_addch(&next, (int)(arr.len >> 7));
		}
		strbuf_add(&next, arr.buf, arr.len);
		strbuf_release(&arr);
		strbuf_reset(&cur);
		strbuf_add(&cur, next.buf, next.len);
	}
	/* KeyValue{key "k", value cur} in Resource.attributes in
	 * ResourceSpans.resource in the request: all short enough? no:
	 * wrap with two-byte lengths. */
	struct strbuf kv = STRBUF_INIT, res = STRBUF_INIT, rs = STRBUF_INIT;
	struct strbuf *layers[] = { &kv, &res, &rs, out };
	const int tags[] = { 0x0a, 0x0a, 0x0a };

	strbuf_add(&kv, "\x0a\x01k\x12", 4);
	strbuf_addch(&kv, (int)(cur.len & 0x7f) | 0x80);
	strbuf_addch(&kv, (int)(cur.len >> 7));
	strbuf_add(&kv, cur.buf, cur.len);
	for (int i = 0; i < 3; i++) {
		struct strbuf *in = layers[i], *o = layers[i + 1];

		strbuf_addch(o, tags[i]);
		strbuf_addch(o, (int)(in->len & 0x7f) | 0x80);
		strbuf_addch(o, (int)(in->len >> 7));
		strbuf_add(o, in->buf, in->len);
	}
	strbuf_release(&kv);
	strbuf_release(&res);
	strbuf_release(&rs);
	strbuf_release(&cur);
	strbuf_release(&next);
}

static void test_otlp__malformed(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *deep;
	size_t malformed = 0;

	/* Every truncation of a valid body: never a crash; cutting the last
	 * byte always breaks the last field. */
	load(&sb, BLD, "tests/unit/otlp-basic.pb");
	for (size_t n = 1; n < sb.len; n++)
		if (decode_pb(sb.buf, n) == OTLP_EMALFORMED)
			malformed++;
	assert_true(malformed > sb.len / 2);
	assert_int_equal(decode_pb(sb.buf, sb.len - 1), OTLP_EMALFORMED);
	assert_int_equal(decode_pb("", 0), 0);
	assert_int_equal(decode_pb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
				   11), OTLP_EMALFORMED);
	/* field 1 with wire type varint */
	assert_int_equal(decode_pb("\x08\x01", 2), OTLP_EMALFORMED);
	/* a length running past the end */
	assert_int_equal(decode_pb("\x0a\x7f\x00", 3), OTLP_EMALFORMED);
	/* a group (wire type 3) */
	assert_int_equal(decode_pb("\x0b\x0c", 2), OTLP_EMALFORMED);
	/* field number 0 */
	assert_int_equal(decode_pb("\x02\x00", 2), OTLP_EMALFORMED);
	strbuf_reset(&sb);
	nested_pb(&sb, OTLP_MAX_DEPTH + 8);
	assert_int_equal(decode_pb(sb.buf, sb.len), OTLP_EMALFORMED);
	strbuf_reset(&sb);
	nested_pb(&sb, 4);
	assert_int_equal(decode_pb(sb.buf, sb.len), 0);

	assert_int_equal(decode_json("{}"), 0);
	assert_int_equal(decode_json(""), OTLP_EMALFORMED);
	assert_int_equal(decode_json("[1]"), OTLP_EMALFORMED);
	assert_int_equal(decode_json("{\"resourceSpans\":{}}"),
			 OTLP_EMALFORMED);
	assert_int_equal(decode_json("{\"resourceSpans\":[{\"scopeSpans\":[{"
				     "\"spans\":[{\"traceId\":5}]}]}]}"),
			 OTLP_EMALFORMED);
	assert_int_equal(decode_json("{\"resourceSpans\":[{\"scopeSpans\":[{"
				     "\"spans\":[{\"startTimeUnixNano\":"
				     "\"12x\"}]}]}]}"),
			 OTLP_EMALFORMED);
	assert_int_equal(decode_json("{\"resourceSpans\":[{\"scopeSpans\":[{"
				     "\"spans\":[{\"kind\":\"SERVER\"}]}]}]}"),
			 OTLP_EMALFORMED);
	assert_int_equal(decode_json("{\"resourceSpans\":[{\"resource\":{"
				     "\"attributes\":[{\"key\":\"k\",\"value\""
				     ":{\"boolValue\":\"yes\"}}]}}]}"),
			 OTLP_EMALFORMED);
	deep = nested_json(OTLP_MAX_DEPTH + 8);
	assert_int_equal(decode_json(deep), OTLP_EMALFORMED);
	free(deep);
	deep = nested_json(4);
	assert_int_equal(decode_json(deep), 0);
	free(deep);
	/* deeper than any parser should recurse */
	strbuf_reset(&sb);
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&sb, '[');
	assert_int_equal(decode_json(sb.buf), OTLP_EMALFORMED);
	strbuf_release(&sb);
}

/* ---- the collector over HTTP ------------------------------------- */

struct reply {
	long status;
	char ctype[128];
	struct strbuf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *payload)
{
	strbuf_add(payload, p, size * n);
	return size * n;
}

static void post(struct collector *c, const char *method, const char *path,
		 const char *ctype, const char *encoding, const char *token,
		 const void *body, size_t len, struct reply *r)
{
	struct curl_slist *h = NULL;
	char *url = xasprintf("http://%s%s", collect_address(c), path);
	char *line;
	const char *ct = NULL;
	CURL *curl = curl_easy_init();

	assert_non_null(curl);
	strbuf_init(&r->body);
	r->ctype[0] = '\0';
	if (ctype) {
		line = xasprintf("Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (encoding) {
		line = xasprintf("Content-Encoding: %s", encoding);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (token) {
		line = xasprintf("Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
		free(line);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	assert_int_equal(curl_easy_perform(curl), CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
	if (ct)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	free(url);
}

struct server {
	char dir[64];
	struct collector *c;
};

static void server_start(struct server *s, const char *token,
			 size_t max_body)
{
	struct collect_options o = { .listen = "127.0.0.1:0",
				     .token = token, .max_body = max_body };
	char *cause = NULL;

	strcpy(s->dir, "/tmp/test-otlp-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	o.spool_dir = s->dir;
	if (collect_start(&s->c, &o, &cause))
		fail_msg("collect_start: %s", cause);
	assert_true(collect_port(s->c) > 0);
}

/* Read every span in the collector's spool file. */
static void read_spool(struct server *s, struct gots *g)
{
	struct spool_reader *r;
	struct spool_record rec;
	char *cause = NULL;
	int ret;

	if (spool_reader_open(&r, collect_spool_path(s->c), &cause))
		fail_msg("spool_reader_open: %s", cause);
	assert_string_equal(spool_reader_header(r)->service, "collector");
	while ((ret = spool_reader_next(r, &rec, &cause)) == SPOOL_READ_OK)
		if (rec.type == SPOOL_RECORD_SPAN)
			capture(&rec.u.span, g);
	assert_int_equal(ret, SPOOL_READ_EOF);
	spool_reader_free(r);
}

static void server_stop(struct server *s)
{
	char *cmd = xasprintf("rm -rf '%s'", s->dir);

	collect_stop(s->c);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Decode a protobuf reply with protoc as MESSAGE; the text it prints. */
static char *protoc_decode(const char *message, const struct strbuf *body)
{
	struct strbuf out = STRBUF_INIT;
	char tmp[] = "/tmp/test-otlp-reply-XXXXXX", *cmd, *proto_dir;
	char buf[512];
	FILE *p;
	size_t n;
	int fd = mkstemp(tmp);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body->buf, body->len), (ssize_t)body->len);
	close(fd);
	proto_dir = data_path(SRC, "tests/data/otlp");
	cmd = xasprintf("protoc --decode=opentelemetry.proto.collector.trace."
			"v1.%s -I '%s' otlp.proto < '%s'",
			message, proto_dir, tmp);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_add(&out, buf, n);
	assert_int_equal(pclose(p), 0);
	unlink(tmp);
	free(cmd);
	free(proto_dir);
	return strbuf_detach(&out, NULL);
}

#define CT_PB "application/x-protobuf"
#define CT_JSON "application/json"

static void test_otlp__server_protobuf(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct server s;
	struct reply r;
	struct gots g = { 0 };
	char *text;

	server_start(&s, NULL, 0);
	load(&sb, BLD, "tests/unit/otlp-basic.pb");
	post(s.c, "POST", "/v1/traces", CT_PB, NULL, NULL, sb.buf, sb.len,
	     &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, CT_PB);
	assert_int_equal(r.body.len, 0);	/* full success: empty */
	strbuf_release(&r.body);

	load(&sb, BLD, "tests/unit/otlp-basic.pb.gz");
	post(s.c, "POST", "/v1/traces", CT_PB, "gzip", NULL, sb.buf, sb.len,
	     &r);
	assert_int_equal(r.status, 200);
	strbuf_release(&r.body);

	load(&sb, BLD, "tests/unit/otlp-bad-ids.pb");
	post(s.c, "POST", "/v1/traces", "application/x-protobuf; proto=x",
	     NULL, NULL, sb.buf, sb.len, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, CT_PB);
	text = protoc_decode("ExportTraceServiceResponse", &r.body);
	assert_non_null(strstr(text, "rejected_spans: 4"));
	assert_non_null(strstr(text, "error_message:"));
	free(text);
	strbuf_release(&r.body);

	read_spool(&s, &g);
	assert_int_equal(g.n, 11);
	check_basic(&g, 0);
	check_basic(&g, 5);
	assert_string_equal(g.v[10].name, "good");
	assert_string_equal(g.v[10].service, "bad");
	gots_release(&g);
	server_stop(&s);
	strbuf_release(&sb);
}

static void test_otlp__server_json(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct server s;
	struct reply r;
	struct gots g = { 0 };

	server_start(&s, NULL, 0);
	load(&sb, SRC, "tests/data/otlp/basic.json");
	post(s.c, "POST", "/v1/traces", CT_JSON, NULL, NULL, sb.buf, sb.len,
	     &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, CT_JSON);
	assert_string_equal(r.body.buf, "{}");
	strbuf_release(&r.body);

	load(&sb, BLD, "tests/unit/otlp-basic.json.gz");
	post(s.c, "POST", "/v1/traces", "Application/JSON; charset=utf-8",
	     "gzip", NULL, sb.buf, sb.len, &r);
	assert_int_equal(r.status, 200);
	strbuf_release(&r.body);

	load(&sb, SRC, "tests/data/otlp/bad-ids.json");
	post(s.c, "POST", "/v1/traces", CT_JSON, "identity", NULL, sb.buf,
	     sb.len, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, CT_JSON);
	assert_non_null(strstr(r.body.buf, "\"partialSuccess\""));
	assert_non_null(strstr(r.body.buf, "\"rejectedSpans\":\"4\""));
	strbuf_release(&r.body);

	read_spool(&s, &g);
	assert_int_equal(g.n, 11);
	check_basic(&g, 0);
	check_basic(&g, 5);
	gots_release(&g);
	server_stop(&s);
	strbuf_release(&sb);
}

/* gzip of n zero bytes, made here with zlib (a bomb when n is large). */
static void gzip_zeros(struct strbuf *out, size_t n)
{
	z_stream zs;
	char *zeros = xcalloc(1, n);

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
				      Z_DEFAULT_STRATEGY), Z_OK);
	strbuf_grow(out, deflateBound(&zs, n));
	zs.next_in = (Bytef *)zeros;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out->buf;
	zs.avail_out = (uInt)(out->alloc - 1);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->len = zs.total_out;
	deflateEnd(&zs);
	free(zeros);
}

static void expect(struct collector *c, const char *method, const char *path,
		   const char *ctype, const char *enc, const char *token,
		   const void *body, size_t len, long status,
		   const char *want_ctype)
{
	struct reply r;

	post(c, method, path, ctype, enc, token, body, len, &r);
	if (r.status != status)
		fail_msg("%s %s (%s): status %ld, want %ld: %s", method, path,
			 ctype ? ctype : "-", r.status, status, r.body.buf);
	if (want_ctype)
		assert_string_equal(r.ctype, want_ctype);
	strbuf_release(&r.body);
}

static void test_otlp__server_errors(void **state)
{
	struct strbuf sb = STRBUF_INIT, bomb = STRBUF_INIT;
	struct collect_stats st;
	struct server s;
	struct reply r;
	struct gots g = { 0 };
	char *big, *text;

	server_start(&s, NULL, 8192);
	load(&sb, SRC, "tests/data/otlp/basic.json");
	expect(s.c, "POST", "/v1/logs", CT_JSON, NULL, NULL, sb.buf, sb.len,
	       404, NULL);
	expect(s.c, "GET", "/v1/traces", NULL, NULL, NULL, NULL, 0, 405,
	       NULL);
	expect(s.c, "PUT", "/v1/traces", CT_JSON, NULL, NULL, sb.buf, sb.len,
	       405, NULL);
	expect(s.c, "POST", "/v1/traces", "text/plain", NULL, NULL, sb.buf,
	       sb.len, 415, NULL);
	expect(s.c, "POST", "/v1/traces", NULL, NULL, NULL, sb.buf, sb.len,
	       415, NULL);
	expect(s.c, "POST", "/v1/traces", CT_JSON, "br", NULL, sb.buf,
	       sb.len, 415, NULL);
	expect(s.c, "POST", "/v1/traces", CT_JSON, NULL, NULL, "{\"resource",
	       10, 400, CT_JSON);
	expect(s.c, "POST", "/v1/traces", CT_JSON, "gzip", NULL, "not gzip",
	       8, 400, CT_JSON);

	/* a malformed protobuf body: google.rpc.Status in protobuf */
	post(s.c, "POST", "/v1/traces", CT_PB, NULL, NULL, "\x0a\x7f\x00", 3,
	     &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.ctype, CT_PB);
	text = protoc_decode("RpcStatus", &r.body);
	assert_non_null(strstr(text, "code: 3"));
	assert_non_null(strstr(text, "message: \"protobuf: truncated"));
	free(text);
	strbuf_release(&r.body);

	/* over the body limit, raw and after inflating */
	big = xcalloc(1, 9000);
	memset(big, ' ', 8999);
	expect(s.c, "POST", "/v1/traces", CT_JSON, NULL, NULL, big, 9000, 413,
	       CT_JSON);
	free(big);
	gzip_zeros(&bomb, 4u << 20);	/* ~1000:1 */
	assert_true(bomb.len < 8192);
	expect(s.c, "POST", "/v1/traces", CT_PB, "gzip", NULL, bomb.buf,
	       bomb.len, 413, CT_PB);

	/* still serving, and nothing from the failures reached the spool */
	load(&sb, BLD, "tests/unit/otlp-basic.pb");
	expect(s.c, "POST", "/v1/traces", CT_PB, NULL, NULL, sb.buf, sb.len,
	       200, CT_PB);
	collect_stats(s.c, &st);
	assert_int_equal(st.spans_accepted, 5);
	assert_int_equal(st.bad_requests, 11);
	read_spool(&s, &g);
	assert_int_equal(g.n, 5);
	gots_release(&g);
	server_stop(&s);

	/* a bearer token */
	server_start(&s, "s3cret", 0);
	expect(s.c, "POST", "/v1/traces", CT_PB, NULL, NULL, sb.buf, sb.len,
	       401, NULL);
	expect(s.c, "POST", "/v1/traces", CT_PB, NULL, "wrong", sb.buf,
	       sb.len, 401, NULL);
	expect(s.c, "POST", "/v1/traces", CT_PB, NULL, "s3cret", sb.buf,
	       sb.len, 200, CT_PB);
	server_stop(&s);

	/* a bad listen address */
	{
		struct collect_options o = { .listen = "127.0.0.1",
					     .spool_dir = "/tmp" };
		struct collector *c = NULL;
		char *cause = NULL;

		assert_int_equal(collect_start(&c, &o, &cause), -1);
		assert_non_null(strstr(cause, "bad listen address"));
		free(cause);
		assert_null(c);
	}
	strbuf_release(&bomb);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_otlp__protobuf_decode),
		cmocka_unit_test(test_otlp__json_decode),
		cmocka_unit_test(test_otlp__bad_ids_rejected),
		cmocka_unit_test(test_otlp__malformed),
		cmocka_unit_test(test_otlp__server_protobuf),
		cmocka_unit_test(test_otlp__server_json),
		cmocka_unit_test(test_otlp__server_errors),
	};
	int ret;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return ret;
}
