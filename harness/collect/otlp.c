/* otlp.c: OTLP trace export requests, protobuf (a hand-written wire-format
 * reader, every length checked against what is left) and JSON (jansson),
 * mapped onto spool spans as otlp.h describes. */
#include "collect/otlp.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htrace.h"
#include "util/error.h"

/* OTLP SpanKind and StatusCode values. */
enum {
	KIND_SERVER = 2,
	KIND_CLIENT = 3,
	KIND_PRODUCER = 4,
	KIND_CONSUMER = 5,
};
#define STATUS_CODE_ERROR 2

/* Strings that live as long as one span (or one resource). */
struct arena {
	char **v;
	size_t n, alloc;
};

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *c;

	if (n > OTLP_MAX_STRING)
		n = OTLP_MAX_STRING;
	c = xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = '\0';
	ALLOC_GROW(a->v, a->n + 1, a->alloc);
	a->v[a->n++] = c;
	return c;
}

static char *arena_printf(struct arena *a, const char *fmt, ...)
	HARNESS_PRINTF(2, 3);
static char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *c;

	va_start(ap, fmt);
	c = xvasprintf(fmt, ap);
	va_end(ap);
	ALLOC_GROW(a->v, a->n + 1, a->alloc);
	a->v[a->n++] = c;
	return c;
}

static void arena_clear(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static void arena_release(struct arena *a)
{
	arena_clear(a);
	free(a->v);
	a->v = NULL;
	a->alloc = 0;
}

/* An attribute value on its way in; complex values as JSON. */
enum anyval_type {
	ANY_NONE,
	ANY_STR,
	ANY_BOOL,
	ANY_INT,
	ANY_DOUBLE,
	ANY_BYTES,
	ANY_JSON,
};

struct anyval {
	enum anyval_type type;
	const char *s;		/* ANY_STR, ANY_BYTES: not NUL-terminated */
	size_t len;
	int64_t i;
	double d;
	int b;
	json_t *json;		/* ANY_JSON: owned */
};

static void anyval_release(struct anyval *v)
{
	if (v->type == ANY_JSON)
		json_decref(v->json);
	memset(v, 0, sizeof(*v));
}

struct resource {
	const char *service;
	const char *host;
	uint32_t pid;
	uint32_t tid;
	struct arena arena;
};

struct span_in {
	uint8_t trace_id[16];
	uint64_t span_id;
	uint64_t parent_id;
	const char *bad;	/* why the span is rejected, NULL if valid */
	const char *name;
	int64_t kind;
	uint64_t start, end;
	int64_t status_code;
	const char *status_message;
	uint32_t tid;
	unsigned n_events;
	unsigned dropped_events;
	struct spool_attr *attrs;
	size_t n_attrs, alloc_attrs;
	struct arena arena;
};

struct dec {
	otlp_span_fn *emit;
	void *payload;
	struct otlp_result *res;
	struct resource resource;
	struct span_in span;
	char *cause;
};

static int malformed(struct dec *d, const char *fmt, ...) HARNESS_PRINTF(2, 3);
static int malformed(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->cause) {
		va_start(ap, fmt);
		d->cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return OTLP_EMALFORMED;
}

void otlp_hex(char *out, const uint8_t *data, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2n hex digits into n bytes; -1 otherwise. */
static int unhex(uint8_t *out, size_t n, const char *s, size_t len)
{
	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Attributes of the current span. */

static struct spool_attr *attr_new(struct span_in *s, const char *key)
{
	struct spool_attr *a;

	ALLOC_GROW(s->attrs, s->n_attrs + 1, s->alloc_attrs);
	a = &s->attrs[s->n_attrs++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	return a;
}

static const struct spool_attr *attr_find(const struct span_in *s,
					  const char *key)
{
	for (size_t i = 0; i < s->n_attrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

static int attr_has_prefix(const struct span_in *s, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < s->n_attrs; i++)
		if (!strncmp(s->attrs[i].key, prefix, n))
			return 1;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* A JSON string of s with invalid UTF-8 bytes replaced by '?': jansson
 * cannot write strings that are not UTF-8, and attribute text from the
 * wire need not be. */
static json_t *json_text(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char *copy = NULL;
	json_t *j;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);

		if (!k) {
			if (!copy) {
				copy = xmalloc(n + 1);
				memcpy(copy, s, n);
			}
			copy[i] = '?';
			k = 1;
		}
		i += k;
	}
	j = json_stringn_nocheck(copy ? copy : s, n);
	free(copy);
	return j;
}

static json_t *anyval_to_json(const struct anyval *v)
{
	char *hex;
	json_t *j;

	switch (v->type) {
	case ANY_STR:
		return json_text(v->s, v->len);
	case ANY_BOOL:
		return json_boolean(v->b);
	case ANY_INT:
		return json_integer(v->i);
	case ANY_DOUBLE:
		j = json_real(v->d);	/* NULL for NaN and infinities */
		return j ? j : json_null();
	case ANY_BYTES:
		hex = xmalloc(2 * v->len + 1);
		otlp_hex(hex, (const uint8_t *)v->s, v->len);
		j = json_string_nocheck(hex);
		free(hex);
		return j;
	case ANY_JSON:
		return json_incref(v->json);
	case ANY_NONE:
		break;
	}
	return json_null();
}

/* Add key = v to the span (key already in the span's arena). */
static void attr_add(struct span_in *s, const char *key,
		     const struct anyval *v)
{
	struct spool_attr *a;
	char *text;

	switch (v->type) {
	case ANY_STR:
		a = attr_new(s, key);
		a->type = SPOOL_ATTR_STR;
		a->v.s = arena_strndup(&s->arena, v->s, v->len);
		break;
	case ANY_BOOL:
		a = attr_new(s, key);
		a->type = SPOOL_ATTR_BOOL;
		a->v.b = v->b;
		break;
	case ANY_INT:
		a = attr_new(s, key);
		a->type = SPOOL_ATTR_INT;
		a->v.i = v->i;
		break;
	case ANY_DOUBLE:
		a = attr_new(s, key);
		a->type = SPOOL_ATTR_DOUBLE;
		a->v.d = v->d;
		break;
	case ANY_BYTES: {
		size_t n = v->len > OTLP_MAX_STRING / 2 ? OTLP_MAX_STRING / 2
							: v->len;
		text = xmalloc(2 * n + 1);
		otlp_hex(text, (const uint8_t *)v->s, n);
		a = attr_new(s, key);
		a->type = SPOOL_ATTR_STR;
		a->v.s = arena_strndup(&s->arena, text, 2 * n);
		free(text);
		break;
	}
	case ANY_JSON:
		text = json_dumps(v->json, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!text)
			die("out of memory");
		a = attr_new(s, key);
		a->type = SPOOL_ATTR_STR;
		a->v.s = arena_strndup(&s->arena, text, strlen(text));
		free(text);
		break;
	case ANY_NONE:
		break;
	}
}

static void resource_set(struct resource *r, const char *key, size_t klen,
			 const struct anyval *v)
{
#define KEY_IS(lit) (klen == sizeof(lit) - 1 && !memcmp(key, lit, klen))
	if (KEY_IS("service.name") && v->type == ANY_STR)
		r->service = arena_strndup(&r->arena, v->s, v->len);
	else if (KEY_IS("host.name") && v->type == ANY_STR)
		r->host = arena_strndup(&r->arena, v->s, v->len);
	else if (KEY_IS("process.pid") && v->type == ANY_INT &&
		 v->i > 0 && v->i <= UINT32_MAX)
		r->pid = (uint32_t)v->i;
	else if (KEY_IS("thread.id") && v->type == ANY_INT &&
		 v->i > 0 && v->i <= UINT32_MAX)
		r->tid = (uint32_t)v->i;
#undef KEY_IS
}

static void resource_reset(struct resource *r)
{
	arena_clear(&r->arena);
	r->service = r->host = NULL;
	r->pid = r->tid = 0;
}

static void span_reset(struct span_in *s)
{
	struct spool_attr *attrs = s->attrs;
	size_t alloc = s->alloc_attrs;
	struct arena arena = s->arena;

	arena_clear(&arena);
	memset(s, 0, sizeof(*s));
	s->attrs = attrs;
	s->alloc_attrs = alloc;
	s->arena = arena;
}

/* A span attribute (or, with event >= 0, an attribute of event N). */
static void span_attr(struct span_in *s, int event, const char *key,
		      size_t klen, const struct anyval *v)
{
	const char *k;

	if (klen > 1024)
		klen = 1024;
	if (event >= 0)
		k = arena_printf(&s->arena, "event.%d.%.*s", event, (int)klen,
				 key);
	else
		k = arena_strndup(&s->arena, key, klen);
	if (event < 0 && !strcmp(k, "thread.id") && v->type == ANY_INT &&
	    v->i > 0 && v->i <= UINT32_MAX)
		s->tid = (uint32_t)v->i;
	attr_add(s, k, v);
}

static void event_begin(struct span_in *s, int *index)
{
	if (s->n_events >= OTLP_MAX_EVENTS) {
		s->dropped_events++;
		*index = -1;
		return;
	}
	*index = (int)s->n_events++;
}

static void event_name(struct span_in *s, int index, const char *name,
		       size_t len)
{
	struct anyval v = { .type = ANY_STR, .s = name, .len = len };

	span_attr(s, index, "name", 4, &v);
}

static void event_time(struct span_in *s, int index, uint64_t t)
{
	struct anyval v = { .type = ANY_INT, .i = (int64_t)t };

	span_attr(s, index, "time_unix_nano", 14, &v);
}

static unsigned map_kind(const struct span_in *s)
{
	int http = attr_has_prefix(s, "http.") || attr_has_prefix(s, "url.");
	int rpc = attr_has_prefix(s, "rpc.") ||
		  attr_has_prefix(s, "messaging.");
	int db = attr_find(s, "db.system.name") || attr_find(s, "db.system");
	const struct spool_attr *hk = attr_find(s, "harness.kind");

	/* A span that harness itself exported (harness export --format
	 * otlp-json) names its kind exactly; OTLP's five kinds cannot. */
	if (hk && hk->type == SPOOL_ATTR_STR) {
		int k = spool_kind_parse(hk->v.s);

		if (k >= 0)
			return (unsigned)k;
	}

	switch (s->kind) {
	case KIND_SERVER:
		if (http)
			return HTRACE_KIND_REST_DISPATCH;
		if (rpc)
			return HTRACE_KIND_RPC_DISPATCH;
		break;
	case KIND_CLIENT:
		if (http)
			return HTRACE_KIND_REST_CALL;
		if (db)
			return HTRACE_KIND_DB;
		if (rpc)
			return HTRACE_KIND_RPC_CALL;
		break;
	case KIND_PRODUCER:
		if (rpc)
			return HTRACE_KIND_RPC_CAST;
		break;
	case KIND_CONSUMER:
		if (rpc)
			return HTRACE_KIND_RPC_DISPATCH;
		break;
	}
	return HTRACE_KIND_FUNC;
}

static void legacy_copy(struct span_in *s, const char *old, const char *cur)
{
	const struct spool_attr *a = attr_find(s, old);
	struct spool_attr copy;

	if (!a || attr_find(s, cur))
		return;
	copy = *a;
	copy.key = cur;
	*attr_new(s, cur) = copy;
}

static int reject(struct dec *d, const char *why)
{
	d->res->rejected++;
	if (!d->res->error_message)
		d->res->error_message = xstrdup(why);
	return 0;
}

static int is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The current span is complete: check it, map it, hand it on. */
static int span_finish(struct dec *d)
{
	struct span_in *s = &d->span;
	struct spool_span out;
	struct spool_attr *a;
	int ret;

	if (s->bad)
		return reject(d, s->bad);
	if (is_zero(s->trace_id, 16))
		return reject(d, "span with a zero or missing trace id");
	if (!s->span_id)
		return reject(d, "span with a zero or missing span id");
	if (!s->start)
		return reject(d, "span without a start time");
	if (s->end < s->start)
		return reject(d, "span ends before it starts");
	legacy_copy(s, "db.system", "db.system.name");
	legacy_copy(s, "db.statement", "db.query.text");
	if (s->dropped_events) {
		a = attr_new(s, "otlp.dropped_events");
		a->type = SPOOL_ATTR_INT;
		a->v.i = s->dropped_events;
	}
	memset(&out, 0, sizeof(out));
	memcpy(out.trace_id, s->trace_id, 16);
	out.span_id = s->span_id;
	out.parent_id = s->parent_id;
	out.kind = map_kind(s);
	/* Absent strings go as "" (the spool encoder wants no NULLs). */
	out.message = "";
	if (s->status_code == STATUS_CODE_ERROR) {
		out.status = SPOOL_STATUS_ERROR;
		if (s->status_message)
			out.message = s->status_message;
	}
	out.name = s->name ? s->name : "";
	out.service = d->resource.service ? d->resource.service
					  : "unknown_service";
	out.host = d->resource.host ? d->resource.host : "";
	out.pid = d->resource.pid;
	out.tid = s->tid ? s->tid : d->resource.tid;
	out.start_ns = s->start;
	out.dur_ns = s->end - s->start;
	out.attrs = s->attrs;
	out.n_attrs = s->n_attrs;
	ret = d->emit(&out, d->payload);
	if (ret < 0)
		return ret;
	if (ret > 0)
		return reject(d, "span does not fit a spool record");
	d->res->accepted++;
	return 0;
}

static void dec_release(struct dec *d)
{
	arena_release(&d->resource.arena);
	arena_release(&d->span.arena);
	free(d->span.attrs);
}

static int dec_finish(struct dec *d, int ret, char **cause)
{
	if (ret == OTLP_EMALFORMED && cause) {
		*cause = d->cause;
		d->cause = NULL;
	}
	free(d->cause);
	dec_release(d);
	return ret;
}

/* ---- protobuf ---------------------------------------------------- */

struct pb {
	const uint8_t *p, *end;
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int pb_varint(struct pb *r, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (r->p >= r->end)
			return -1;
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int pb_tag(struct pb *r, uint32_t *field, unsigned *wt)
{
	uint64_t tag;

	if (pb_varint(r, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
		return -1;
	*field = (uint32_t)(tag >> 3);
	*wt = tag & 7;
	return 0;
}

static int pb_len(struct pb *r, struct pb *sub)
{
	uint64_t n;

	if (pb_varint(r, &n) || n > (uint64_t)(r->end - r->p))
		return -1;
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return 0;
}

static int pb_fixed(struct pb *r, unsigned size, uint64_t *out)
{
	uint64_t v = 0;

	if ((size_t)(r->end - r->p) < size)
		return -1;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += size;
	*out = v;
	return 0;
}

static int pb_skip(struct pb *r, unsigned wt)
{
	struct pb sub;
	uint64_t v;

	switch (wt) {
	case WT_VARINT:
		return pb_varint(r, &v);
	case WT_I64:
		return pb_fixed(r, 8, &v);
	case WT_LEN:
		return pb_len(r, &sub);
	case WT_I32:
		return pb_fixed(r, 4, &v);
	}
	return -1;	/* groups (3, 4) are not used by OTLP; 6, 7 invalid */
}

/* Read the value of a field of wire type wt that should be want. */
#define PB_EXPECT(d, wt, want, what)                                           \
	do {                                                                   \
		if ((wt) != (want))                                            \
			return malformed((d), "protobuf: wrong wire type "     \
					      "for %s", (what));               \
	} while (0)

static int pb_truncated(struct dec *d, const char *what)
{
	return malformed(d, "protobuf: truncated or invalid %s", what);
}

static int pb_anyvalue(struct dec *d, struct pb r, int depth,
		       struct anyval *out);

static int pb_keyvalue(struct dec *d, struct pb r, int depth,
		       const char **key, size_t *klen, struct anyval *val)
{
	struct pb sub;
	uint32_t f;
	unsigned wt;
	int ret;

	*key = "";
	*klen = 0;
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, "KeyValue");
		if (f == 1 || f == 2) {
			PB_EXPECT(d, wt, WT_LEN, "KeyValue");
			if (pb_len(&r, &sub))
				return pb_truncated(d, "KeyValue");
			if (f == 1) {
				*key = (const char *)sub.p;
				*klen = (size_t)(sub.end - sub.p);
				continue;
			}
			anyval_release(val);
			ret = pb_anyvalue(d, sub, depth + 1, val);
			if (ret)
				return ret;
		} else if (pb_skip(&r, wt)) {
			return pb_truncated(d, "KeyValue");
		}
	}
	return 0;
}

/* ArrayValue (kv == 0) or KeyValueList (kv == 1) as a JSON value. */
static int pb_list(struct dec *d, struct pb r, int depth, int kv,
		   json_t **out)
{
	json_t *j = kv ? json_object() : json_array();
	struct anyval v = { 0 };
	const char *key;
	struct pb sub;
	uint32_t f;
	unsigned wt;
	size_t klen;
	int ret = 0;

	if (depth > OTLP_MAX_DEPTH) {
		ret = malformed(d, "values nested more than %d deep",
				OTLP_MAX_DEPTH);
		goto out;
	}
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt)) {
			ret = pb_truncated(d, kv ? "KeyValueList" : "ArrayValue");
			goto out;
		}
		if (f != 1) {
			if (pb_skip(&r, wt)) {
				ret = pb_truncated(d, "ArrayValue");
				goto out;
			}
			continue;
		}
		if (wt != WT_LEN || pb_len(&r, &sub)) {
			ret = pb_truncated(d, kv ? "KeyValueList" : "ArrayValue");
			goto out;
		}
		if (kv) {
			json_t *kj;
			char *k;

			ret = pb_keyvalue(d, sub, depth, &key, &klen, &v);
			if (ret)
				goto out;
			kj = json_text(key, klen);
			k = xstrndup(json_string_value(kj),
				     json_string_length(kj));
			json_object_set_new_nocheck(j, k, anyval_to_json(&v));
			json_decref(kj);
			free(k);
		} else {
			ret = pb_anyvalue(d, sub, depth + 1, &v);
			if (ret)
				goto out;
			json_array_append_new(j, anyval_to_json(&v));
		}
		anyval_release(&v);
	}
out:
	anyval_release(&v);
	if (ret) {
		json_decref(j);
		return ret;
	}
	*out = j;
	return 0;
}

static int pb_anyvalue(struct dec *d, struct pb r, int depth,
		       struct anyval *out)
{
	struct pb sub;
	uint32_t f;
	unsigned wt;
	uint64_t v;
	json_t *j;
	int ret;

	if (depth > OTLP_MAX_DEPTH)
		return malformed(d, "values nested more than %d deep",
				 OTLP_MAX_DEPTH);
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, "AnyValue");
		switch (f) {
		case 1:	/* string_value */
		case 7:	/* bytes_value */
			PB_EXPECT(d, wt, WT_LEN, "AnyValue");
			if (pb_len(&r, &sub))
				return pb_truncated(d, "AnyValue");
			anyval_release(out);
			out->type = f == 1 ? ANY_STR : ANY_BYTES;
			out->s = (const char *)sub.p;
			out->len = (size_t)(sub.end - sub.p);
			break;
		case 2:	/* bool_value */
		case 3:	/* int_value */
			PB_EXPECT(d, wt, WT_VARINT, "AnyValue");
			if (pb_varint(&r, &v))
				return pb_truncated(d, "AnyValue");
			anyval_release(out);
			if (f == 2) {
				out->type = ANY_BOOL;
				out->b = v != 0;
			} else {
				out->type = ANY_INT;
				out->i = (int64_t)v;
			}
			break;
		case 4:	/* double_value */
			PB_EXPECT(d, wt, WT_I64, "AnyValue");
			if (pb_fixed(&r, 8, &v))
				return pb_truncated(d, "AnyValue");
			anyval_release(out);
			out->type = ANY_DOUBLE;
			memcpy(&out->d, &v, sizeof(out->d));
			break;
		case 5:	/* array_value */
		case 6:	/* kvlist_value */
			PB_EXPECT(d, wt, WT_LEN, "AnyValue");
			if (pb_len(&r, &sub))
				return pb_truncated(d, "AnyValue");
			ret = pb_list(d, sub, depth + 1, f == 6, &j);
			if (ret)
				return ret;
			anyval_release(out);
			out->type = ANY_JSON;
			out->json = j;
			break;
		default:
			if (pb_skip(&r, wt))
				return pb_truncated(d, "AnyValue");
		}
	}
	return 0;
}

/* A repeated KeyValue field: call back per pair. */
static int pb_attribute(struct dec *d, struct pb *r, unsigned wt,
			struct resource *res, int event)
{
	struct anyval v = { 0 };
	const char *key;
	struct pb sub;
	size_t klen;
	int ret;

	PB_EXPECT(d, wt, WT_LEN, "attributes");
	if (pb_len(r, &sub))
		return pb_truncated(d, "attributes");
	ret = pb_keyvalue(d, sub, 0, &key, &klen, &v);
	if (!ret) {
		if (res)
			resource_set(res, key, klen, &v);
		else
			span_attr(&d->span, event, key, klen, &v);
	}
	anyval_release(&v);
	return ret;
}

static int pb_event(struct dec *d, struct pb r)
{
	struct span_in *s = &d->span;
	struct pb sub;
	uint32_t f;
	unsigned wt;
	uint64_t v;
	int index, ret;

	event_begin(s, &index);
	if (index < 0)
		return 0;
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, "Event");
		if (f == 1) {
			PB_EXPECT(d, wt, WT_I64, "Event.time_unix_nano");
			if (pb_fixed(&r, 8, &v))
				return pb_truncated(d, "Event");
			event_time(s, index, v);
		} else if (f == 2) {
			PB_EXPECT(d, wt, WT_LEN, "Event.name");
			if (pb_len(&r, &sub))
				return pb_truncated(d, "Event");
			event_name(s, index, (const char *)sub.p,
				   (size_t)(sub.end - sub.p));
		} else if (f == 3) {
			ret = pb_attribute(d, &r, wt, NULL, index);
			if (ret)
				return ret;
		} else if (pb_skip(&r, wt)) {
			return pb_truncated(d, "Event");
		}
	}
	return 0;
}

static int pb_status(struct dec *d, struct pb r)
{
	struct span_in *s = &d->span;
	struct pb sub;
	uint32_t f;
	unsigned wt;
	uint64_t v;

	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, "Status");
		if (f == 2) {
			PB_EXPECT(d, wt, WT_LEN, "Status.message");
			if (pb_len(&r, &sub))
				return pb_truncated(d, "Status");
			s->status_message = arena_strndup(
				&s->arena, (const char *)sub.p,
				(size_t)(sub.end - sub.p));
		} else if (f == 3) {
			PB_EXPECT(d, wt, WT_VARINT, "Status.code");
			if (pb_varint(&r, &v))
				return pb_truncated(d, "Status");
			s->status_code = (int64_t)v;
		} else if (pb_skip(&r, wt)) {
			return pb_truncated(d, "Status");
		}
	}
	return 0;
}

static int pb_span(struct dec *d, struct pb r)
{
	struct span_in *s = &d->span;
	struct pb sub;
	uint32_t f;
	unsigned wt;
	uint64_t v;
	size_t n;
	int ret;

	span_reset(s);
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, "Span");
		switch (f) {
		case 1:	/* trace_id */
		case 2:	/* span_id */
		case 4:	/* parent_span_id */
		case 5:	/* name */
		case 11: /* events */
		case 15: /* status */
			PB_EXPECT(d, wt, WT_LEN, "Span");
			if (pb_len(&r, &sub))
				return pb_truncated(d, "Span");
			n = (size_t)(sub.end - sub.p);
			if (f == 1) {
				if (n == 16)
					memcpy(s->trace_id, sub.p, 16);
				else
					s->bad = "trace id is not 16 bytes";
			} else if (f == 2) {
				if (n == 8)
					s->span_id = be64(sub.p);
				else
					s->bad = "span id is not 8 bytes";
			} else if (f == 4) {
				if (n == 8)
					s->parent_id = be64(sub.p);
				else if (n == 0)
					s->parent_id = 0;
				else
					s->bad = "parent span id is not 8 bytes";
			} else if (f == 5) {
				s->name = arena_strndup(&s->arena,
							(const char *)sub.p, n);
			} else if (f == 11) {
				ret = pb_event(d, sub);
				if (ret)
					return ret;
			} else {
				ret = pb_status(d, sub);
				if (ret)
					return ret;
			}
			break;
		case 6:	/* kind */
			PB_EXPECT(d, wt, WT_VARINT, "Span.kind");
			if (pb_varint(&r, &v))
				return pb_truncated(d, "Span");
			s->kind = (int64_t)v;
			break;
		case 7:	/* start_time_unix_nano */
		case 8:	/* end_time_unix_nano */
			PB_EXPECT(d, wt, WT_I64, "Span times");
			if (pb_fixed(&r, 8, &v))
				return pb_truncated(d, "Span");
			if (f == 7)
				s->start = v;
			else
				s->end = v;
			break;
		case 9:	/* attributes */
			ret = pb_attribute(d, &r, wt, NULL, -1);
			if (ret)
				return ret;
			break;
		default:
			if (pb_skip(&r, wt))
				return pb_truncated(d, "Span");
		}
	}
	return span_finish(d);
}

/* Call FN on each FIELD of message R (a MSG), a length-delimited
 * message named NAME; skip the other fields. */
static int pb_each(struct dec *d, struct pb r, uint32_t field,
		   const char *msg, const char *name,
		   int (*fn)(struct dec *, struct pb))
{
	struct pb sub;
	uint32_t f;
	unsigned wt;
	int ret;

	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, msg);
		if (f == field) {
			PB_EXPECT(d, wt, WT_LEN, name);
			if (pb_len(&r, &sub))
				return pb_truncated(d, msg);
			ret = fn(d, sub);
			if (ret)
				return ret;
		} else if (pb_skip(&r, wt)) {
			return pb_truncated(d, msg);
		}
	}
	return 0;
}

static int pb_scope_spans(struct dec *d, struct pb r)
{
	return pb_each(d, r, 2, "ScopeSpans", "ScopeSpans.spans", pb_span);
}

static int pb_resource(struct dec *d, struct pb r)
{
	uint32_t f;
	unsigned wt;
	int ret;

	resource_reset(&d->resource);
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt))
			return pb_truncated(d, "Resource");
		if (f == 1) {
			ret = pb_attribute(d, &r, wt, &d->resource, -1);
			if (ret)
				return ret;
		} else if (pb_skip(&r, wt)) {
			return pb_truncated(d, "Resource");
		}
	}
	return 0;
}

/* The resource may follow its spans on the wire: read it first. */
static int pb_resource_spans(struct dec *d, struct pb r)
{
	int ret;

	resource_reset(&d->resource);
	ret = pb_each(d, r, 1, "ResourceSpans", "ResourceSpans.resource",
		      pb_resource);
	if (ret)
		return ret;
	return pb_each(d, r, 2, "ResourceSpans", "ResourceSpans.scope_spans",
		       pb_scope_spans);
}

int otlp_decode_protobuf(const void *data, size_t len, otlp_span_fn *emit,
			 void *payload, struct otlp_result *res, char **cause)
{
	struct dec d = { .emit = emit, .payload = payload, .res = res };
	struct pb r = { data, (const uint8_t *)data + len }, sub;
	uint32_t f;
	unsigned wt;
	int ret = 0;

	if (!len)
		r.p = r.end = (const uint8_t *)"";
	while (r.p < r.end) {
		if (pb_tag(&r, &f, &wt)) {
			ret = pb_truncated(&d, "ExportTraceServiceRequest");
			break;
		}
		if (f == 1) {
			if (wt != WT_LEN || pb_len(&r, &sub)) {
				ret = pb_truncated(&d, "resource_spans");
				break;
			}
			ret = pb_resource_spans(&d, sub);
			if (ret)
				break;
		} else if (pb_skip(&r, wt)) {
			ret = pb_truncated(&d, "ExportTraceServiceRequest");
			break;
		}
	}
	return dec_finish(&d, ret, cause);
}

/* ---- JSON -------------------------------------------------------- */

/* A JSON value that must be an array (absent or null: empty). */
static int js_array(struct dec *d, json_t *parent, const char *key,
		    json_t **out)
{
	json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return malformed(d, "JSON: '%s' is not an array", key);
	*out = v;
	return 0;
}

static int js_string(struct dec *d, json_t *parent, const char *key,
		     const char **s, size_t *len)
{
	json_t *v = json_object_get(parent, key);

	*s = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return malformed(d, "JSON: '%s' is not a string", key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/* A 64-bit integer: a JSON integer or a decimal string. */
static int js_int64(struct dec *d, json_t *v, const char *key, int64_t *out)
{
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		errno = 0;
		*out = strtoll(s, &end, 10);
		if (!errno && end != s && !*end &&
		    end - s == (ptrdiff_t)json_string_length(v))
			return 0;
		/* uint64 values above INT64_MAX (fixed64 times) */
		errno = 0;
		if (s[0] != '-') {
			uint64_t u = strtoull(s, &end, 10);
			if (!errno && end != s && !*end) {
				*out = (int64_t)u;
				return 0;
			}
		}
	}
	return malformed(d, "JSON: '%s' is not a 64-bit integer", key);
}

static int js_uint64(struct dec *d, json_t *parent, const char *key,
		     uint64_t *out)
{
	json_t *v = json_object_get(parent, key);
	int64_t i = 0;
	int ret;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	ret = js_int64(d, v, key, &i);
	if (!ret)
		*out = (uint64_t)i;
	return ret;
}

static int js_anyvalue(struct dec *d, json_t *v, int depth,
		       struct anyval *out);

static int js_keyvalue(struct dec *d, json_t *kv, int depth, const char **key,
		       size_t *klen, struct anyval *val)
{
	json_t *v;
	int ret;

	if (!json_is_object(kv))
		return malformed(d, "JSON: an attribute is not an object");
	ret = js_string(d, kv, "key", key, klen);
	if (ret)
		return ret;
	if (!*key)
		*key = "";
	v = json_object_get(kv, "value");
	if (!v || json_is_null(v))
		return 0;
	return js_anyvalue(d, v, depth + 1, val);
}

static int js_list(struct dec *d, json_t *v, int depth, int kv, json_t **out)
{
	json_t *values, *item, *j;
	struct anyval a = { 0 };
	const char *key = NULL;
	size_t i, klen = 0;
	int ret = 0;

	if (depth > OTLP_MAX_DEPTH)
		return malformed(d, "values nested more than %d deep",
				 OTLP_MAX_DEPTH);
	if (!json_is_object(v))
		return malformed(d, "JSON: '%s' is not an object",
				 kv ? "kvlistValue" : "arrayValue");
	ret = js_array(d, v, "values", &values);
	if (ret)
		return ret;
	j = kv ? json_object() : json_array();
	json_array_foreach(values, i, item) {
		if (kv) {
			json_t *kj;
			char *k;

			ret = js_keyvalue(d, item, depth, &key, &klen, &a);
			if (ret)
				break;
			kj = json_text(key, klen);
			k = xstrndup(json_string_value(kj),
				     json_string_length(kj));
			json_object_set_new_nocheck(j, k, anyval_to_json(&a));
			json_decref(kj);
			free(k);
		} else {
			ret = js_anyvalue(d, item, depth + 1, &a);
			if (ret)
				break;
			json_array_append_new(j, anyval_to_json(&a));
		}
		anyval_release(&a);
	}
	anyval_release(&a);
	if (ret) {
		json_decref(j);
		return ret;
	}
	*out = j;
	return 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Base64 (standard or URL alphabet, padding optional) into out, which
 * holds at least len * 3 / 4 + 1 bytes. Returns the size, -1 if invalid. */
static long unbase64(uint8_t *out, const char *s, size_t len)
{
	unsigned acc = 0, bits = 0;
	long n = 0;

	while (len && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

static int js_anyvalue(struct dec *d, json_t *v, int depth,
		       struct anyval *out)
{
	const char *key;
	json_t *val, *j = NULL;
	uint8_t *bytes;
	long n;
	int ret;

	if (depth > OTLP_MAX_DEPTH)
		return malformed(d, "values nested more than %d deep",
				 OTLP_MAX_DEPTH);
	if (!json_is_object(v))
		return malformed(d, "JSON: an AnyValue is not an object");
	anyval_release(out);
	json_object_foreach(v, key, val) {
		if (json_is_null(val))
			continue;
		if (!strcmp(key, "stringValue")) {
			if (!json_is_string(val))
				return malformed(d, "JSON: 'stringValue' is "
						    "not a string");
			anyval_release(out);
			out->type = ANY_STR;
			out->s = json_string_value(val);
			out->len = json_string_length(val);
		} else if (!strcmp(key, "boolValue")) {
			if (!json_is_boolean(val))
				return malformed(d, "JSON: 'boolValue' is not "
						    "a boolean");
			anyval_release(out);
			out->type = ANY_BOOL;
			out->b = json_is_true(val);
		} else if (!strcmp(key, "intValue")) {
			anyval_release(out);
			ret = js_int64(d, val, "intValue", &out->i);
			if (ret)
				return ret;
			out->type = ANY_INT;
		} else if (!strcmp(key, "doubleValue")) {
			anyval_release(out);
			if (json_is_number(val)) {
				out->d = json_number_value(val);
			} else if (json_is_string(val)) {
				char *end;
				out->d = strtod(json_string_value(val), &end);
				if (*end || end == json_string_value(val))
					return malformed(d, "JSON: bad "
							    "'doubleValue'");
			} else {
				return malformed(d, "JSON: 'doubleValue' is "
						    "not a number");
			}
			out->type = ANY_DOUBLE;
		} else if (!strcmp(key, "bytesValue")) {
			if (!json_is_string(val))
				return malformed(d, "JSON: 'bytesValue' is not "
						    "a string");
			bytes = xmalloc(json_string_length(val) * 3 / 4 + 1);
			n = unbase64(bytes, json_string_value(val),
				     json_string_length(val));
			anyval_release(out);
			if (n < 0) {
				free(bytes);
				return malformed(d, "JSON: 'bytesValue' is not "
						    "base64");
			}
			{
				char *hex = xmalloc(2 * (size_t)n + 1);

				otlp_hex(hex, bytes, (size_t)n);
				/* a JSON string holding hex: see js_attributes */
				out->type = ANY_JSON;
				out->json = json_string_nocheck(hex);
				free(hex);
			}
			free(bytes);
		} else if (!strcmp(key, "arrayValue") ||
			   !strcmp(key, "kvlistValue")) {
			ret = js_list(d, val, depth + 1, key[0] == 'k', &j);
			if (ret)
				return ret;
			anyval_release(out);
			out->type = ANY_JSON;
			out->json = j;
		}
	}
	return 0;
}

static int js_attributes(struct dec *d, json_t *parent, struct resource *res,
			 int event)
{
	struct anyval v = { 0 };
	json_t *attrs, *kv;
	const char *key = NULL;
	size_t i, klen = 0;
	int ret;

	ret = js_array(d, parent, "attributes", &attrs);
	if (ret)
		return ret;
	json_array_foreach(attrs, i, kv) {
		ret = js_keyvalue(d, kv, 0, &key, &klen, &v);
		if (ret)
			break;
		if (v.type == ANY_JSON && json_is_string(v.json)) {
			/* bytesValue: hex text */
			json_t *str = v.json;
			struct anyval s = { .type = ANY_STR,
					    .s = json_string_value(str),
					    .len = json_string_length(str) };
			if (res)
				resource_set(res, key, klen, &s);
			else
				span_attr(&d->span, event, key, klen, &s);
		} else if (res) {
			resource_set(res, key, klen, &v);
		} else {
			span_attr(&d->span, event, key, klen, &v);
		}
		anyval_release(&v);
	}
	anyval_release(&v);
	return ret;
}

/* A hex id of n bytes; a bad one marks the span rejected. Empty or
 * absent leaves out zero. */
static int js_id(struct dec *d, json_t *span, const char *key, uint8_t *out,
		 size_t n, const char *bad)
{
	const char *s;
	size_t len;
	int ret;

	memset(out, 0, n);
	ret = js_string(d, span, key, &s, &len);
	if (ret || !s || !len)
		return ret;
	if (unhex(out, n, s, len) < 0)
		d->span.bad = bad;
	return 0;
}

static int js_span(struct dec *d, json_t *js)
{
	struct span_in *s = &d->span;
	json_t *v, *events, *ev;
	uint8_t id[8];
	const char *str;
	size_t i, len;
	int64_t kind;
	int ret, index;

	span_reset(s);
	if (!json_is_object(js))
		return malformed(d, "JSON: a span is not an object");
	if ((ret = js_id(d, js, "traceId", s->trace_id, 16,
			 "trace id is not 32 hex digits")) ||
	    (ret = js_id(d, js, "spanId", id, 8,
			 "span id is not 16 hex digits")))
		return ret;
	s->span_id = be64(id);
	if ((ret = js_id(d, js, "parentSpanId", id, 8,
			 "parent span id is not 16 hex digits")))
		return ret;
	s->parent_id = be64(id);
	if ((ret = js_string(d, js, "name", &str, &len)))
		return ret;
	if (str)
		s->name = arena_strndup(&s->arena, str, len);
	v = json_object_get(js, "kind");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v))
			return malformed(d, "JSON: 'kind' is not an integer");
		kind = json_integer_value(v);
		s->kind = kind;
	}
	if ((ret = js_uint64(d, js, "startTimeUnixNano", &s->start)) ||
	    (ret = js_uint64(d, js, "endTimeUnixNano", &s->end)))
		return ret;
	if ((ret = js_attributes(d, js, NULL, -1)))
		return ret;
	if ((ret = js_array(d, js, "events", &events)))
		return ret;
	json_array_foreach(events, i, ev) {
		uint64_t t;

		if (!json_is_object(ev))
			return malformed(d, "JSON: an event is not an object");
		event_begin(s, &index);
		if (index < 0)
			continue;
		if ((ret = js_uint64(d, ev, "timeUnixNano", &t)) ||
		    (ret = js_string(d, ev, "name", &str, &len)))
			return ret;
		if (t)
			event_time(s, index, t);
		if (str)
			event_name(s, index, str, len);
		if ((ret = js_attributes(d, ev, NULL, index)))
			return ret;
	}
	v = json_object_get(js, "status");
	if (v && !json_is_null(v)) {
		json_t *code;

		if (!json_is_object(v))
			return malformed(d, "JSON: 'status' is not an object");
		code = json_object_get(v, "code");
		if (code && !json_is_null(code)) {
			if (!json_is_integer(code))
				return malformed(d, "JSON: 'status.code' is "
						    "not an integer");
			s->status_code = json_integer_value(code);
		}
		if ((ret = js_string(d, v, "message", &str, &len)))
			return ret;
		if (str)
			s->status_message = arena_strndup(&s->arena, str, len);
	}
	return span_finish(d);
}

static int js_resource_spans(struct dec *d, json_t *rs)
{
	json_t *res, *scopes, *scope, *spans, *span;
	size_t i, j;
	int ret;

	if (!json_is_object(rs))
		return malformed(d, "JSON: a resourceSpans item is not an "
				    "object");
	resource_reset(&d->resource);
	res = json_object_get(rs, "resource");
	if (res && !json_is_null(res)) {
		if (!json_is_object(res))
			return malformed(d, "JSON: 'resource' is not an "
					    "object");
		ret = js_attributes(d, res, &d->resource, -1);
		if (ret)
			return ret;
	}
	ret = js_array(d, rs, "scopeSpans", &scopes);
	if (ret)
		return ret;
	json_array_foreach(scopes, i, scope) {
		if (!json_is_object(scope))
			return malformed(d, "JSON: a scopeSpans item is not an "
					    "object");
		ret = js_array(d, scope, "spans", &spans);
		if (ret)
			return ret;
		json_array_foreach(spans, j, span) {
			ret = js_span(d, span);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int otlp_decode_json(const void *data, size_t len, otlp_span_fn *emit,
		     void *payload, struct otlp_result *res, char **cause)
{
	struct dec d = { .emit = emit, .payload = payload, .res = res };
	json_t *root, *rss, *rs;
	json_error_t jerr;
	size_t i;
	int ret = 0;

	root = json_loadb(data, len, 0, &jerr);
	if (!root) {
		ret = malformed(&d, "JSON: %s at line %d column %d", jerr.text,
				jerr.line, jerr.column);
		return dec_finish(&d, ret, cause);
	}
	if (!json_is_object(root)) {
		ret = malformed(&d, "JSON: the request is not an object");
		goto out;
	}
	ret = js_array(&d, root, "resourceSpans", &rss);
	if (ret)
		goto out;
	json_array_foreach(rss, i, rs) {
		ret = js_resource_spans(&d, rs);
		if (ret)
			break;
	}
out:
	json_decref(root);
	return dec_finish(&d, ret, cause);
}

void otlp_result_release(struct otlp_result *res)
{
	free(res->error_message);
	memset(res, 0, sizeof(*res));
}

/* ---- responses --------------------------------------------------- */

static void pb_put_varint(struct strbuf *out, uint64_t v)
{
	while (v >= 0x80) {
		strbuf_addch(out, (int)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	strbuf_addch(out, (int)v);
}

static void pb_put_string(struct strbuf *out, unsigned field, const char *s)
{
	size_t n = strlen(s);

	pb_put_varint(out, (uint64_t)field << 3 | WT_LEN);
	pb_put_varint(out, n);
	strbuf_add(out, s, n);
}

void otlp_response_protobuf(struct strbuf *out, const struct otlp_result *res)
{
	struct strbuf inner = STRBUF_INIT;

	if (!res->rejected && !res->error_message)
		return;
	if (res->rejected) {
		pb_put_varint(&inner, 1 << 3 | WT_VARINT);
		pb_put_varint(&inner, res->rejected);
	}
	if (res->error_message)
		pb_put_string(&inner, 2, res->error_message);
	pb_put_varint(out, 1 << 3 | WT_LEN);
	pb_put_varint(out, inner.len);
	strbuf_add(out, inner.buf, inner.len);
	strbuf_release(&inner);
}

static void json_append(struct strbuf *out, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	if (!text)
		die("out of memory");
	strbuf_addstr(out, text);
	free(text);
	json_decref(j);
}

void otlp_response_json(struct strbuf *out, const struct otlp_result *res)
{
	char n[32];
	json_t *ps;

	if (!res->rejected && !res->error_message) {
		strbuf_addstr(out, "{}");
		return;
	}
	snprintf(n, sizeof(n), "%" PRIu64, res->rejected);
	ps = json_object();
	json_object_set_new(ps, "rejectedSpans", json_string(n));
	if (res->error_message)
		json_object_set_new(ps, "errorMessage",
				    json_string(res->error_message));
	json_append(out, json_pack("{s:o}", "partialSuccess", ps));
}

void otlp_status_protobuf(struct strbuf *out, int code, const char *message)
{
	pb_put_varint(out, 1 << 3 | WT_VARINT);
	pb_put_varint(out, (uint64_t)(int64_t)code);
	pb_put_string(out, 2, message);
}

void otlp_status_json(struct strbuf *out, int code, const char *message)
{
	json_t *msg = json_string(message);

	if (!msg)	/* not UTF-8: say so rather than echo bytes */
		msg = json_string("invalid request");
	json_append(out, json_pack("{s:i,s:o}", "code", code, "message", msg));
}
