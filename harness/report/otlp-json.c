/* otlp-json.c: a run's spans as OTLP/JSON export requests, written to a
 * file or POSTed in batches to an OTLP/HTTP endpoint with libcurl. The
 * mapping is in otlp-json.h; `harness collect` reads what this writes. */
#include "report/otlp-json.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Longest piece of a failed answer's body quoted in an error. */
#define BODY_QUOTE_MAX 200
/* Longest pause between retries, in milliseconds. */
#define RETRY_PAUSE_MAX 5000

enum otlp_json_kind otlp_json_span_kind(const char *kind)
{
	static const struct {
		const char *name;
		enum otlp_json_kind kind;
	} map[] = {
		{ "rest.dispatch", OTLP_JSON_KIND_SERVER },
		{ "rpc.dispatch", OTLP_JSON_KIND_SERVER },
		{ "rest.call", OTLP_JSON_KIND_CLIENT },
		{ "rpc.call", OTLP_JSON_KIND_CLIENT },
		{ "db", OTLP_JSON_KIND_CLIENT },
		{ "exec", OTLP_JSON_KIND_CLIENT },
		{ "rpc.cast", OTLP_JSON_KIND_PRODUCER },
	};

	if (!kind)
		return OTLP_JSON_KIND_INTERNAL;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(map[i].name, kind))
			return map[i].kind;
	return OTLP_JSON_KIND_INTERNAL;
}

/* Length of the valid UTF-8 sequence at P (at most N bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp, min;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string of S; bytes that are not UTF-8 become U+FFFD. */
static json_t *jstr(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	j = json_stringn(s, n);
	if (j)
		return j;
	for (size_t i = 0; i < n; i += len) {
		len = utf8_seq(p + i, n - i);
		if (len) {
			strbuf_add(&sb, p + i, len);
		} else {
			strbuf_addstr(&sb, "\xef\xbf\xbd");
			len = 1;
		}
	}
	j = json_stringn(sb.buf, sb.len);
	strbuf_release(&sb);
	if (!j)
		die("out of memory");
	return j;
}

static json_t *jdec(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *jint(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

static json_t *jhex(const uint8_t *data, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char buf[33];

	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[data[i] >> 4];
		buf[2 * i + 1] = digits[data[i] & 15];
	}
	buf[2 * n] = '\0';
	return json_string(buf);
}

static json_t *jhex64(uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	return jhex(b, 8);
}

static void set(json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v) < 0)
		die("out of memory");
}

static void push(json_t *arr, json_t *v)
{
	if (!v || json_array_append_new(arr, v) < 0)
		die("out of memory");
}

/* {"key": KEY, "value": {TYPE: V}} appended to ATTRS. */
static void put_attr(json_t *attrs, const char *key, const char *type,
		     json_t *v)
{
	json_t *kv = json_object(), *value = json_object();

	if (!kv || !value)
		die("out of memory");
	set(value, type, v);
	set(kv, "key", jstr(key));
	set(kv, "value", value);
	push(attrs, kv);
}

static json_t *jdouble(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static void put_store_attr(json_t *attrs, const struct store_attr *a)
{
	switch (a->type) {
	case STORE_ATTR_INT:
		put_attr(attrs, a->key, "intValue", jint(a->v.i));
		break;
	case STORE_ATTR_DOUBLE:
		put_attr(attrs, a->key, "doubleValue", jdouble(a->v.d));
		break;
	case STORE_ATTR_BOOL:
		put_attr(attrs, a->key, "boolValue", json_boolean(a->v.b));
		break;
	case STORE_ATTR_TEXT:
		put_attr(attrs, a->key, "stringValue",
			 jstr(a->v.s ? a->v.s : ""));
		break;
	}
}

static bool has_attr(const struct store_span *sp, const char *key)
{
	for (size_t i = 0; i < sp->nattrs; i++)
		if (!strcmp(sp->attrs[i].key, key))
			return true;
	return false;
}

static json_t *span_json(const struct store_span *sp)
{
	json_t *js = json_object(), *attrs = json_array(), *status;
	uint64_t start = sp->start_ns > 0 ? (uint64_t)sp->start_ns : 0;
	uint64_t dur = sp->dur_ns > 0 ? (uint64_t)sp->dur_ns : 0;
	const char *kind = sp->kind ? sp->kind : "func";

	if (!js || !attrs)
		die("out of memory");
	set(js, "traceId", jhex(sp->trace_id, 16));
	set(js, "spanId", jhex64(sp->span_id));
	if (sp->parent_id)
		set(js, "parentSpanId", jhex64(sp->parent_id));
	set(js, "name", jstr(sp->name ? sp->name : ""));
	set(js, "kind", json_integer(otlp_json_span_kind(sp->kind)));
	set(js, "startTimeUnixNano", jdec(start));
	set(js, "endTimeUnixNano", jdec(start + dur));
	for (size_t i = 0; i < sp->nattrs; i++)
		put_store_attr(attrs, &sp->attrs[i]);
	if (!has_attr(sp, "harness.kind"))
		put_attr(attrs, "harness.kind", "stringValue", jstr(kind));
	if (sp->tid > 0 && !has_attr(sp, "thread.id"))
		put_attr(attrs, "thread.id", "intValue",
			 jint(sp->tid));
	if (sp->nframes && !has_attr(sp, "code.stacktrace")) {
		struct strbuf sb = STRBUF_INIT;

		for (size_t i = 0; i < sp->nframes; i++)
			strbuf_addf(&sb, "%s%s", i ? "\n" : "",
				    sp->frames[i]);
		put_attr(attrs, "code.stacktrace", "stringValue",
			 jstr(sb.buf));
		strbuf_release(&sb);
	}
	set(js, "attributes", attrs);
	if (sp->status == STORE_SPAN_ERROR) {
		status = json_object();
		if (!status)
			die("out of memory");
		set(status, "code", json_integer(2));
		if (sp->message && *sp->message)
			set(status, "message", jstr(sp->message));
		set(js, "status", status);
	}
	return js;
}

/* One resource of a batch: the spans array is borrowed from the tree. */
struct resource {
	char *service, *host;
	int64_t pid;
	json_t *spans;
};

struct otlp_json_batch {
	json_t *root;		/* {"resourceSpans": [...]} */
	json_t *rs;		/* borrowed: root's resourceSpans */
	struct resource *res;
	size_t nres, alloc;
	size_t last;		/* index of the last resource used */
	size_t count;
};

static void batch_reset(struct otlp_json_batch *b)
{
	for (size_t i = 0; i < b->nres; i++) {
		free(b->res[i].service);
		free(b->res[i].host);
	}
	b->nres = b->last = b->count = 0;
	json_decref(b->root);
	b->rs = json_array();
	b->root = json_object();
	if (!b->rs || !b->root)
		die("out of memory");
	set(b->root, "resourceSpans", b->rs);
}

struct otlp_json_batch *otlp_json_batch_new(void)
{
	struct otlp_json_batch *b = xcalloc(1, sizeof(*b));

	batch_reset(b);
	return b;
}

void otlp_json_batch_free(struct otlp_json_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nres; i++) {
		free(b->res[i].service);
		free(b->res[i].host);
	}
	free(b->res);
	json_decref(b->root);
	free(b);
}

size_t otlp_json_batch_count(const struct otlp_json_batch *b)
{
	return b->count;
}

static bool resource_is(const struct resource *r, const char *service,
			const char *host, int64_t pid)
{
	return r->pid == pid && !strcmp(r->service, service) &&
	       !strcmp(r->host, host);
}

/* The spans array of the resource (SERVICE, HOST, PID), made if new. */
static json_t *resource_spans(struct otlp_json_batch *b, const char *service,
			      const char *host, int64_t pid)
{
	json_t *rs, *resource, *attrs, *ss, *scope, *scopes, *spans;
	struct resource *r;

	/* Spans come a trace at a time, so services alternate: the last
	 * one used is the likely one, then a scan of the few there are. */
	if (b->nres && resource_is(&b->res[b->last], service, host, pid))
		return b->res[b->last].spans;
	for (size_t i = 0; i < b->nres; i++) {
		if (resource_is(&b->res[i], service, host, pid)) {
			b->last = i;
			return b->res[i].spans;
		}
	}

	rs = json_object();
	resource = json_object();
	attrs = json_array();
	ss = json_object();
	scope = json_object();
	scopes = json_array();
	spans = json_array();
	if (!rs || !resource || !attrs || !ss || !scope || !scopes || !spans)
		die("out of memory");
	put_attr(attrs, "service.name", "stringValue",
		 jstr(*service ? service : "unknown_service"));
	if (*host)
		put_attr(attrs, "host.name", "stringValue", jstr(host));
	if (pid > 0)
		put_attr(attrs, "process.pid", "intValue",
			 jint(pid));
	set(resource, "attributes", attrs);
	set(rs, "resource", resource);
	set(scope, "name", json_string("harness"));
	set(scope, "version", json_string(HARNESS_VERSION));
	set(ss, "scope", scope);
	set(ss, "spans", spans);
	push(scopes, ss);
	set(rs, "scopeSpans", scopes);
	push(b->rs, rs);

	ALLOC_GROW(b->res, b->nres + 1, b->alloc);
	r = &b->res[b->nres];
	r->service = xstrdup(service);
	r->host = xstrdup(host);
	r->pid = pid;
	r->spans = spans;
	b->last = b->nres++;
	return spans;
}

void otlp_json_batch_add(struct otlp_json_batch *b,
			 const struct store_span *sp)
{
	json_t *spans = resource_spans(b, sp->service ? sp->service : "",
				       sp->host ? sp->host : "", sp->pid);

	push(spans, span_json(sp));
	b->count++;
}

char *otlp_json_batch_take(struct otlp_json_batch *b, size_t *len)
{
	char *text = json_dumps(b->root, JSON_COMPACT);

	if (!text)
		die("out of memory");
	if (len)
		*len = strlen(text);
	batch_reset(b);
	return text;
}

void otlp_json_options_init(struct otlp_json_options *opt)
{
	memset(opt, 0, sizeof(*opt));
}

/* POSTing: one easy handle for every batch, so the connection stays. */
struct sender {
	CURL *curl;
	struct curl_slist *headers;
	const char *url;
	struct strbuf answer;
	char errbuf[CURL_ERROR_SIZE];
	int retries;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_answer(char *data, size_t size, size_t nmemb, void *payload)
{
	struct strbuf *sb = payload;
	size_t n = size * nmemb;

	/* Only errors and partialSuccess are read: a small answer does. */
	if (sb->len < 65536)
		strbuf_add(sb, data, n);
	return n;
}

static int sender_init(struct sender *s, const struct otlp_json_options *opt,
		       char **cause)
{
	memset(s, 0, sizeof(*s));
	strbuf_init(&s->answer);
	s->url = opt->url;
	s->retries = opt->retries < 0 ? 0 : opt->retries ? opt->retries : 3;
	pthread_once(&curl_once, curl_init_once);
	s->curl = curl_easy_init();
	if (!s->curl) {
		*cause = xstrdup("cannot create a libcurl handle");
		return -1;
	}
	s->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!s->headers)
		die("out of memory");
	curl_easy_setopt(s->curl, CURLOPT_URL, opt->url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT,
			 "harness/" HARNESS_VERSION);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS,
			 opt->timeout_ms > 0 ? opt->timeout_ms : 30000L);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->answer);
	return 0;
}

static void sender_release(struct sender *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers);
	strbuf_release(&s->answer);
}

/* A quotable piece of a failed answer: google.rpc.Status's message when
 * the body is one in JSON, else printable text; NULL when neither. */
static char *answer_quote(const struct strbuf *body)
{
	json_t *js = json_loadb(body->buf, body->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(js, "message"));
	char *out = NULL;
	size_t n;

	if (msg && *msg) {
		out = xstrdup(msg);
		goto done;
	}
	n = body->len;
	while (n && (body->buf[n - 1] == '\n' || body->buf[n - 1] == '\r' ||
		     body->buf[n - 1] == ' '))
		n--;
	if (!n)
		goto done;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)body->buf[i];

		if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
			goto done;
	}
	if (n > BODY_QUOTE_MAX)
		out = xasprintf("%.*s...", BODY_QUOTE_MAX, body->buf);
	else
		out = xstrndup(body->buf, n);
done:
	json_decref(js);
	return out;
}

/* The rejected count of a 2xx answer's partialSuccess (JSON, int64 as a
 * string or a number), and its errorMessage (borrowed from *js). */
static int64_t answer_rejected(const struct strbuf *body, json_t **js,
			       const char **message)
{
	json_t *ps, *r;
	const char *text;

	*message = NULL;
	*js = json_loadb(body->buf, body->len, 0, NULL);
	ps = json_object_get(*js, "partialSuccess");
	if (!ps)
		ps = json_object_get(*js, "partial_success");
	if (!json_is_object(ps))
		return 0;
	*message = json_string_value(json_object_get(ps, "errorMessage"));
	if (!*message)
		*message = json_string_value(
			json_object_get(ps, "error_message"));
	r = json_object_get(ps, "rejectedSpans");
	if (!r)
		r = json_object_get(ps, "rejected_spans");
	if (json_is_integer(r))
		return json_integer_value(r);
	text = json_string_value(r);
	return text ? strtoll(text, NULL, 10) : 0;
}

static bool retryable(long code)
{
	return code == 429 || code == 502 || code == 503 || code == 504;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* POST one request of NSPANS spans. */
static int sender_post(struct sender *s, const char *body, size_t len,
		       size_t nspans, char **cause)
{
	long code = 0, pause = 250;
	curl_off_t retry_after;
	CURLcode rc;
	json_t *js = NULL;
	const char *message;
	char *quote;
	int64_t rejected;
	int ret = -1;

	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)len);
	for (int attempt = 0;; attempt++) {
		strbuf_reset(&s->answer);
		s->errbuf[0] = '\0';
		rc = curl_easy_perform(s->curl);
		if (rc != CURLE_OK) {
			*cause = xasprintf("cannot POST to '%s': %s", s->url,
					   *s->errbuf ? s->errbuf :
							curl_easy_strerror(rc));
			goto out;
		}
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		if (!retryable(code) || attempt >= s->retries)
			break;
		if (curl_easy_getinfo(s->curl, CURLINFO_RETRY_AFTER,
				      &retry_after) == CURLE_OK &&
		    retry_after > 0)
			pause = retry_after > RETRY_PAUSE_MAX / 1000 ?
					RETRY_PAUSE_MAX :
					(long)retry_after * 1000;
		pause_ms(pause);
		pause = pause * 2 > RETRY_PAUSE_MAX ? RETRY_PAUSE_MAX :
						      pause * 2;
	}
	if (code < 200 || code > 299) {
		quote = answer_quote(&s->answer);
		*cause = xasprintf("'%s' answered HTTP %ld%s%s", s->url, code,
				   quote ? ": " : "", quote ? quote : "");
		free(quote);
		goto out;
	}
	rejected = answer_rejected(&s->answer, &js, &message);
	if (rejected > 0) {
		*cause = xasprintf("'%s' rejected %" PRId64 " of %zu spans%s%s",
				   s->url, rejected, nspans,
				   message && *message ? ": " : "",
				   message && *message ? message : "");
		goto out;
	}
	ret = 0;
out:
	json_decref(js);
	return ret;
}

struct export {
	struct otlp_json_batch *file;	/* every span, or NULL */
	struct otlp_json_batch *post;	/* the current batch, or NULL */
	struct sender sender;
	size_t batch;
	struct otlp_json_stats *stats;
	char *cause;
};

static int flush_post(struct export *e)
{
	size_t len, n = otlp_json_batch_count(e->post);
	char *body;
	int ret;

	if (!n)
		return 0;
	body = otlp_json_batch_take(e->post, &len);
	ret = sender_post(&e->sender, body, len, n, &e->cause);
	free(body);
	if (!ret)
		e->stats->requests++;
	return ret;
}

static int on_span(const struct store_span *sp, void *payload)
{
	struct export *e = payload;

	e->stats->spans++;
	if (e->file)
		otlp_json_batch_add(e->file, sp);
	if (e->post) {
		otlp_json_batch_add(e->post, sp);
		if (otlp_json_batch_count(e->post) >= e->batch &&
		    flush_post(e) < 0)
			return -1;
	}
	return 0;
}

int otlp_json_export(struct store *st, int64_t run_id,
		     const struct otlp_json_options *opt,
		     struct otlp_json_stats *stats, char **cause)
{
	struct export e = { 0 };
	struct report_output out = { 0 };
	char *text = NULL;
	size_t len;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	e.stats = stats;
	e.batch = opt->batch ? opt->batch : OTLP_JSON_BATCH_DEFAULT;
	if (opt->url) {
		if (sender_init(&e.sender, opt, &e.cause) < 0)
			goto out;
		e.post = otlp_json_batch_new();
	}
	if (opt->out_path)
		e.file = otlp_json_batch_new();
	if (store_spans_each(st, run_id, on_span, &e, &e.cause) != 0) {
		if (!e.cause)
			e.cause = xstrdup("cannot read the spans");
		goto out;
	}
	if (e.post && flush_post(&e) < 0)
		goto out;
	if (e.file) {
		text = otlp_json_batch_take(e.file, &len);
		if (report_output_open(&out, opt->out_path, &e.cause) < 0)
			goto out;
		if (fwrite(text, 1, len, out.fp) != len ||
		    fputc('\n', out.fp) == EOF) {
			e.cause = xasprintf("cannot write '%s'", opt->out_path);
			report_output_abort(&out);
			goto out;
		}
		if (report_output_commit(&out, &e.cause) < 0) {
			report_output_abort(&out);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0)
		*cause = e.cause;
	else
		free(e.cause);
	free(text);
	otlp_json_batch_free(e.file);
	otlp_json_batch_free(e.post);
	if (opt->url)
		sender_release(&e.sender);
	return ret;
}
