/* osprofiler.c: OSprofiler notifications (or a `trace show --json` tree)
 * paired into spans and written as spool records; see osprofiler.h for
 * the mapping. */
#include "collect/osprofiler.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "htrace.h"
#include "spool/spool.h"
#include "util/error.h"
#include "util/strbuf.h"

/* children nested deeper than this are not an OSprofiler tree */
#define TREE_MAX_DEPTH 256

struct imp {
	json_t *pairs;		/* trace_id -> [start, stop] */
	json_t *order;		/* trace_ids in first-seen order */
	struct osprofiler_stats *stats;
};

/* "8-4-4-4-12" hex digits (or 32 without dashes) into 16 bytes. */
static int parse_uuid(const char *s, uint8_t out[16])
{
	size_t n = 0;

	if (!s)
		return -1;
	for (const char *p = s; *p; p++) {
		int hi, lo;

		if (*p == '-')
			continue;
		if (n == 16 || !isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return -1;
		hi = isdigit((unsigned char)p[0]) ? p[0] - '0'
						  : (tolower(p[0]) - 'a' + 10);
		lo = isdigit((unsigned char)p[1]) ? p[1] - '0'
						  : (tolower(p[1]) - 'a' + 10);
		out[n++] = (uint8_t)(hi << 4 | lo);
		p++;
	}
	return n == 16 ? 0 : -1;
}

static uint64_t low64(const uint8_t u[16])
{
	uint64_t v = 0;

	for (int i = 8; i < 16; i++)
		v = v << 8 | u[i];
	return v;
}

/* "%Y-%m-%dT%H:%M:%S.%f" (UTC, fraction optional) into unix ns. */
static int parse_timestamp(const char *s, uint64_t *ns)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = 0;
	uint64_t frac = 0, scale = 1000000000ull;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
			 &sec, &used) != 6)
		return -1;
	s += used;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		for (; isdigit((unsigned char)*s); s++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
		}
	}
	if (*s == 'Z')
		s++;
	if (*s || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t < 0)
		return -1;
	*ns = (uint64_t)t * 1000000000ull + frac;
	return 0;
}

static const char *str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* One notification: file it under its trace_id as start or stop. */
static void add_notification(struct imp *imp, json_t *n)
{
	const char *name, *id;
	json_t *pair, *wrapped;
	size_t len;
	int stop;

	if (!json_is_object(n))
		goto reject;
	wrapped = json_object_get(n, "payload");
	if (json_is_object(wrapped) && !json_object_get(n, "trace_id"))
		n = wrapped;
	name = str_at(n, "name");
	id = str_at(n, "trace_id");
	if (!name || !id)
		goto reject;
	len = strlen(name);
	if (len > 6 && !strcmp(name + len - 6, "-start"))
		stop = 0;
	else if (len > 5 && !strcmp(name + len - 5, "-stop"))
		stop = 1;
	else
		goto reject;
	imp->stats->notifications++;
	pair = json_object_get(imp->pairs, id);
	if (!pair) {
		pair = json_pack("[nn]");
		json_object_set_new(imp->pairs, id, pair);
		json_array_append_new(imp->order, json_string(id));
	}
	json_array_set(pair, (size_t)stop, n);
	return;
reject:
	imp->stats->rejected++;
}

/* `trace show --json`: every node's info holds the raw notifications. */
static int add_tree(struct imp *imp, json_t *node, int depth)
{
	json_t *info, *children, *child, *v;
	const char *key;
	size_t i;
	int ret;

	if (depth > TREE_MAX_DEPTH)
		return -1;
	if (!json_is_object(node))
		return 0;
	info = json_object_get(node, "info");
	if (json_is_object(info)) {
		json_object_foreach(info, key, v) {
			if (!strncmp(key, "meta.raw_payload.", 17))
				add_notification(imp, v);
		}
	}
	children = json_object_get(node, "children");
	json_array_foreach(children, i, child) {
		ret = add_tree(imp, child, depth + 1);
		if (ret)
			return ret;
	}
	return 0;
}

/* Attributes of one span: values that are not borrowed from the JSON are
 * kept in owned[] until the span was emitted. */
#define SPAN_MAX_ATTRS 40
#define INFO_MAX_ATTRS 24

struct attrs {
	struct spool_attr v[SPAN_MAX_ATTRS];
	size_t n;
	char *owned[SPAN_MAX_ATTRS];
	size_t nowned;
};

static struct spool_attr *attr(struct attrs *a, const char *key,
			       const char *value)
{
	struct spool_attr *at;

	if (a->n == SPAN_MAX_ATTRS)
		return NULL;
	at = &a->v[a->n++];
	at->key = key;
	at->type = SPOOL_ATTR_STR;
	at->v.s = value;
	return at;
}

static void attr_int(struct attrs *a, const char *key, int64_t value)
{
	struct spool_attr *at = attr(a, key, NULL);

	if (at) {
		at->type = SPOOL_ATTR_INT;
		at->v.i = value;
	}
}

/* An attribute whose key or value this span owns. */
static void attr_owned(struct attrs *a, char *key, char *value)
{
	if (a->n == SPAN_MAX_ATTRS || a->nowned + 2 > SPAN_MAX_ATTRS) {
		free(key);
		free(value);
		return;
	}
	a->owned[a->nowned++] = key;
	a->owned[a->nowned++] = value;
	attr(a, key, value);
}

static void attrs_release(struct attrs *a)
{
	for (size_t i = 0; i < a->nowned; i++)
		free(a->owned[i]);
	a->nowned = 0;
	a->n = 0;
}

/* A status code given as a number or a string of digits. */
static int status_code(json_t *v, int64_t *out)
{
	const char *s = json_string_value(v);
	char *end;
	long n;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out >= 100 && *out <= 999 ? 0 : -1;
	}
	if (!s)
		return -1;
	n = strtol(s, &end, 10);
	if (end == s || (*end && *end != ' ') || n < 100 || n > 999)
		return -1;
	*out = n;
	return 0;
}

/* What the info of a start (or stop) says about the HTTP response, when a
 * point records it: {"response": {"status": 201}} or a top-level
 * "status_code". OSprofiler 3.4.3's WSGI middleware records none. */
static int response_status(json_t *info, int64_t *out)
{
	json_t *resp = json_object_get(info, "response");

	if (json_is_object(resp) &&
	    (!status_code(json_object_get(resp, "status_code"), out) ||
	     !status_code(json_object_get(resp, "status"), out)))
		return 0;
	return status_code(json_object_get(info, "status_code"), out);
}

static const char *function_name(json_t *info)
{
	return json_string_value(
		json_object_get(json_object_get(info, "function"), "name"));
}

/* An RPC point on the client side: OpenStack's client proxies live in
 * modules named rpcapi (nova.compute.rpcapi.ComputeAPI.build_and_run_
 * instance), the servers' in managers (nova.compute.manager...). */
static bool rpc_client(const char *function)
{
	return function && (strstr(function, ".rpcapi.") ||
			    !strncmp(function, "rpcapi.", 7));
}

/* The kind of a point by its op; *mapped is false for an op harness does
 * not know (kept as func and counted). */
static unsigned kind_of(const char *op, const char *function, bool *mapped)
{
	*mapped = true;
	if (!strcmp(op, "wsgi"))
		return HTRACE_KIND_REST_DISPATCH;
	if (!strcmp(op, "db"))
		return HTRACE_KIND_DB;
	if (!strcmp(op, "rpc"))
		return rpc_client(function) ? HTRACE_KIND_RPC_CALL
					    : HTRACE_KIND_RPC_DISPATCH;
	if (!strcmp(op, "requests") || !strcmp(op, "http") ||
	    !strcmp(op, "http_client") || !strcmp(op, "http.client"))
		return HTRACE_KIND_REST_CALL;
	*mapped = false;
	return HTRACE_KIND_FUNC;
}

/* The op of a notification name: what stands before "-start"/"-stop"
 * (add_notification made sure of the suffix). Caller frees. */
static char *op_of(const char *name)
{
	size_t n = strlen(name);

	return xstrndup(name, n - (n > 6 && !strcmp(name + n - 6, "-start")
					   ? 6 : 5));
}

/* "a.b.Class.method" -> rpc.service "a.b.Class", rpc.method "method". */
static void rpc_attrs(struct attrs *a, const char *function)
{
	const char *dot = function ? strrchr(function, '.') : NULL;

	attr(a, HTRACE_ATTR_RPC_SYSTEM, "oslo_messaging");
	if (!dot || dot == function || !dot[1])
		return;
	attr_owned(a, xstrdup(HTRACE_ATTR_RPC_SERVICE),
		   xstrndup(function, (size_t)(dot - function)));
	attr(a, HTRACE_ATTR_RPC_METHOD, dot + 1);
}

/* An unmapped point keeps its info: osprofiler.info.KEY, strings as they
 * are, anything else as JSON text. */
static void info_attrs(struct attrs *a, json_t *info)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	json_object_foreach(info, key, v) {
		if (!strcmp(key, "host") || n++ == INFO_MAX_ATTRS)
			continue;
		attr_owned(a, xasprintf("osprofiler.info.%s", key),
			   json_is_string(v)
				   ? xstrdup(json_string_value(v))
				   : json_dumps(v, JSON_COMPACT |
						      JSON_ENCODE_ANY));
	}
}

static void count_unmapped(struct osprofiler_stats *st, const char *service)
{
	size_t i;

	st->unmapped++;
	for (i = 0; i < st->nby_service; i++)
		if (!strcmp(st->by_service[i].service, service))
			break;
	if (i == st->nby_service) {
		ALLOC_GROW(st->by_service, i + 1, st->aby_service);
		st->by_service[i].service = xstrdup(service);
		st->by_service[i].unmapped = 0;
		st->nby_service++;
	}
	st->by_service[i].unmapped++;
}

void osprofiler_stats_release(struct osprofiler_stats *st)
{
	for (size_t i = 0; i < st->nby_service; i++)
		free(st->by_service[i].service);
	free(st->by_service);
	memset(st, 0, sizeof(*st));
}

/* A start/stop pair (either may be JSON null) into one span. late_ns is
 * the latest stop of the rpc.dispatch children of the span (0: none): a
 * client call that they outlive did not wait for them, so it was a cast. */
static int emit_pair(struct imp *imp, json_t *start, json_t *stop,
		     uint64_t late_ns, otlp_span_fn *emit, void *payload)
{
	json_t *first = json_is_object(start) ? start : stop;
	json_t *info = json_object_get(start, "info");
	json_t *sinfo = json_object_get(stop, "info");
	json_t *req = json_object_get(info, "request");
	struct attrs attrs;
	struct spool_span s;
	uint8_t base[16], id[16], parent[16];
	uint64_t t0 = 0, t1 = 0;
	int64_t code;
	const char *name, *parent_id, *service, *etype, *v, *function;
	char *op = NULL, *title = NULL;
	bool mapped;
	int ret = 0;

	memset(&s, 0, sizeof(s));
	memset(&attrs, 0, sizeof(attrs));
	name = str_at(first, "name");
	parent_id = str_at(first, "parent_id");
	if (!name || parse_uuid(str_at(first, "base_id"), base) ||
	    parse_uuid(str_at(first, "trace_id"), id) ||
	    (parent_id && parse_uuid(parent_id, parent)))
		goto reject;
	if (start && !json_is_null(start) &&
	    parse_timestamp(str_at(start, "timestamp"), &t0))
		goto reject;
	if (stop && !json_is_null(stop) &&
	    parse_timestamp(str_at(stop, "timestamp"), &t1))
		goto reject;
	if (!json_is_object(start) || !json_is_object(stop)) {
		imp->stats->unpaired++;
		if (!t0)
			t0 = t1;
		t1 = t0;
	}
	if (!low64(id) || !t0)
		goto reject;
	op = op_of(name);
	function = function_name(info);

	memcpy(s.trace_id, base, 16);
	s.span_id = low64(id);
	s.parent_id = parent_id && strcmp(parent_id, str_at(first, "base_id"))
			      ? low64(parent)
			      : 0;
	s.kind = kind_of(op, function, &mapped);
	if (s.kind == HTRACE_KIND_RPC_CALL && late_ns > t1)
		s.kind = HTRACE_KIND_RPC_CAST;
	s.start_ns = t0;
	s.dur_ns = t1 > t0 ? t1 - t0 : 0;
	service = str_at(first, "service");
	if (!service || !*service)
		service = str_at(first, "project");
	s.service = service && *service ? service : "osprofiler";
	v = str_at(info, "host");
	if (!v)
		v = str_at(sinfo, "host");
	s.host = v ? v : "";
	s.message = "";
	attr(&attrs, "osprofiler.name", op);

	if ((s.kind == HTRACE_KIND_REST_DISPATCH ||
	     s.kind == HTRACE_KIND_REST_CALL) && json_is_object(req)) {
		const char *method = str_at(req, "method");
		const char *path = str_at(req, "path");
		const char *url = str_at(req, "url");

		if (method)
			attr(&attrs, HTRACE_ATTR_HTTP_REQUEST_METHOD, method);
		if (url)
			attr(&attrs, HTRACE_ATTR_URL_FULL, url);
		if (path)
			attr(&attrs, HTRACE_ATTR_URL_PATH, path);
		if ((v = str_at(req, "query")) && *v)
			attr(&attrs, "url.query", v);
		if ((v = str_at(req, "scheme")))
			attr(&attrs, "url.scheme", v);
		title = xasprintf("%s %s", method ? method : "?",
				  path ? path : url ? url : "/");
	}
	if ((s.kind == HTRACE_KIND_REST_DISPATCH ||
	     s.kind == HTRACE_KIND_REST_CALL) &&
	    (!response_status(sinfo, &code) || !response_status(info, &code))) {
		attr_int(&attrs, HTRACE_ATTR_HTTP_RESPONSE_STATUS_CODE, code);
		if (code >= 500 ||
		    (code >= 400 && s.kind == HTRACE_KIND_REST_CALL)) {
			s.status = SPOOL_STATUS_ERROR;
			attr_owned(&attrs, xstrdup(HTRACE_ATTR_ERROR_TYPE),
				   xasprintf("%lld", (long long)code));
		}
	}
	v = json_string_value(
		json_object_get(json_object_get(info, "db"), "statement"));
	if (v) {
		size_t w = strcspn(v, " \t\n(");

		attr(&attrs, HTRACE_ATTR_DB_QUERY_TEXT, v);
		if (s.kind == HTRACE_KIND_DB && w) {
			char *word = xstrndup(v, w);

			for (char *p = word; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			if (!title)
				title = xstrdup(word);
			attr_owned(&attrs,
				   xstrdup(HTRACE_ATTR_DB_OPERATION_NAME),
				   word);
		}
	}
	if (s.kind == HTRACE_KIND_DB) {
		/* OSprofiler's SQLAlchemy hook does not say which database;
		 * "other_sql" is the semantic conventions' word for that. */
		json_t *db = json_object_get(info, "db");

		v = str_at(db, "system.name");
		if (!v)
			v = str_at(db, "system");
		attr(&attrs, HTRACE_ATTR_DB_SYSTEM_NAME, v ? v : "other_sql");
	}
	if (s.kind == HTRACE_KIND_RPC_CALL || s.kind == HTRACE_KIND_RPC_CAST ||
	    s.kind == HTRACE_KIND_RPC_DISPATCH)
		rpc_attrs(&attrs, function);
	if (function) {
		attr(&attrs, HTRACE_ATTR_CODE_FUNCTION_NAME, function);
		if (!title)
			title = xstrdup(function);
	}
	if (!mapped) {
		struct spool_attr *at = attr(&attrs, "osprofiler.unmapped",
					     NULL);

		if (at) {
			at->type = SPOOL_ATTR_BOOL;
			at->v.b = 1;
		}
		info_attrs(&attrs, info);
	}
	etype = str_at(sinfo, "etype");
	if (etype) {
		s.status = SPOOL_STATUS_ERROR;
		attr(&attrs, HTRACE_ATTR_ERROR_TYPE, etype);
		v = str_at(sinfo, "message");
		s.message = v ? v : etype;
	}
	s.name = title ? title : op;
	s.attrs = attrs.v;
	s.n_attrs = attrs.n;
	ret = emit(&s, payload);
	if (ret > 0) {
		ret = 0;
		goto reject;
	}
	if (!ret) {
		imp->stats->spans++;
		if (!mapped)
			count_unmapped(imp->stats, s.service);
	}
	free(op);
	free(title);
	attrs_release(&attrs);
	return ret < 0 ? ret : 0;
reject:
	imp->stats->rejected++;
	free(op);
	free(title);
	attrs_release(&attrs);
	return ret;
}

/* For every rpc.dispatch point, the latest stop among its siblings under
 * the same parent: late[parent trace_id] = max stop ns. */
static json_t *dispatch_stops(struct imp *imp)
{
	json_t *late = json_object(), *v;
	size_t i;

	json_array_foreach(imp->order, i, v) {
		json_t *pair = json_object_get(imp->pairs,
					       json_string_value(v));
		json_t *start = json_array_get(pair, 0);
		json_t *stop = json_array_get(pair, 1);
		const char *name = str_at(start, "name");
		const char *parent = str_at(start, "parent_id");
		json_t *old;
		uint64_t t;
		char *op;
		bool mapped;
		unsigned kind;

		if (!name || !parent || !json_is_object(stop) ||
		    parse_timestamp(str_at(stop, "timestamp"), &t))
			continue;
		op = op_of(name);
		kind = kind_of(op, function_name(json_object_get(start,
								 "info")),
			       &mapped);
		free(op);
		if (kind != HTRACE_KIND_RPC_DISPATCH)
			continue;
		old = json_object_get(late, parent);
		if (!old || (uint64_t)json_integer_value(old) < t)
			json_object_set_new(late, parent,
					    json_integer((json_int_t)t));
	}
	return late;
}

struct osprofiler_batch {
	struct imp imp;
};

struct osprofiler_batch *osprofiler_batch_new(struct osprofiler_stats *stats)
{
	struct osprofiler_batch *b = xcalloc(1, sizeof(*b));

	memset(stats, 0, sizeof(*stats));
	b->imp.pairs = json_object();
	b->imp.order = json_array();
	b->imp.stats = stats;
	return b;
}

void osprofiler_batch_add(struct osprofiler_batch *b, const char *json,
			  size_t len)
{
	json_t *v = json_loadb(json, len, 0, NULL);

	add_notification(&b->imp, v);
	json_decref(v);
}

int osprofiler_batch_emit(struct osprofiler_batch *b, otlp_span_fn *emit,
			  void *payload)
{
	struct imp *imp = &b->imp;
	json_t *late = dispatch_stops(imp), *v;
	size_t i;
	int ret = 0;

	json_array_foreach(imp->order, i, v) {
		json_t *pair = json_object_get(imp->pairs,
					       json_string_value(v));

		ret = emit_pair(imp, json_array_get(pair, 0),
				json_array_get(pair, 1),
				(uint64_t)json_integer_value(json_object_get(
					late, json_string_value(v))),
				emit, payload);
		if (ret)
			break;
	}
	json_decref(late);
	/* emitted: a second call emits nothing */
	json_object_clear(imp->pairs);
	json_array_clear(imp->order);
	return ret;
}

void osprofiler_batch_free(struct osprofiler_batch *b)
{
	if (!b)
		return;
	json_decref(b->imp.pairs);
	json_decref(b->imp.order);
	free(b);
}

int osprofiler_decode(const void *data, size_t len, otlp_span_fn *emit,
		      void *payload, struct osprofiler_stats *stats,
		      char **cause)
{
	struct osprofiler_batch *b = osprofiler_batch_new(stats);
	struct imp *imp = &b->imp;
	json_error_t jerr;
	json_t *root, *v;
	size_t i;
	int ret = 0;

	root = json_loadb(data, len, 0, &jerr);
	if (json_is_array(root)) {
		json_array_foreach(root, i, v)
			add_notification(imp, v);
	} else if (json_is_object(root) &&
		   (json_object_get(root, "children") ||
		    json_object_get(root, "info"))) {
		if (add_tree(imp, root, 0)) {
			*cause = xasprintf("OSprofiler tree nested more than "
					   "%d deep", TREE_MAX_DEPTH);
			ret = OTLP_EMALFORMED;
		}
	} else if (json_is_object(root)) {
		add_notification(imp, root);
	} else if (root) {
		*cause = xstrdup("not OSprofiler data: a JSON value that is "
				 "neither an object nor an array");
		ret = OTLP_EMALFORMED;
	} else {
		/* JSON lines */
		const char *p = data, *end = p + len;
		unsigned line = 0;

		while (p < end && !ret) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl : end;
			const char *q = p;

			line++;
			while (q < e && isspace((unsigned char)*q))
				q++;
			if (q < e) {
				v = json_loadb(q, (size_t)(e - q), 0, &jerr);
				if (!v) {
					*cause = xasprintf(
						"not OSprofiler data: line %u: "
						"%s", line, jerr.text);
					ret = OTLP_EMALFORMED;
				}
				add_notification(imp, v);
				json_decref(v);
			}
			p = e + 1;
		}
	}
	json_decref(root);
	if (!ret)
		ret = osprofiler_batch_emit(b, emit, payload);
	osprofiler_batch_free(b);
	return ret;
}

struct writer {
	struct spool_file *f;
	char *cause;
};

static int write_span(const struct spool_span *s, void *payload)
{
	struct writer *w = payload;

	if (spool_file_write_span(w->f, s, &w->cause)) {
		/* a span too large for a record is only that span's loss */
		if (spool_span_size(s) > SPOOL_MAX_PAYLOAD) {
			free(w->cause);
			w->cause = NULL;
			return 1;
		}
		return -1;
	}
	return 0;
}

int osprofiler_import(const char *file, const char *spool_dir,
		      char **spool_path, struct osprofiler_stats *stats,
		      char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	struct writer w = { 0 };
	int ret = -1;

	*spool_path = NULL;
	memset(stats, 0, sizeof(*stats));
	if (strbuf_read_file(&sb, file) < 0) {
		*cause = xasprintf("cannot read '%s': %s", file,
				   strerror(errno));
		goto out;
	}
	if (spool_file_create(&w.f, spool_dir, "osprofiler", cause))
		goto out;
	ret = osprofiler_decode(sb.buf, sb.len, write_span, &w, stats, cause);
	if (ret == OTLP_EMALFORMED) {
		char *msg = xasprintf("'%s': %s", file, *cause);

		free(*cause);
		*cause = msg;
	} else if (ret < 0) {
		*cause = w.cause;
		w.cause = NULL;
	}
	if (ret < 0) {
		unlink(spool_file_path(w.f));
		ret = -1;
		goto out;
	}
	*spool_path = xstrdup(spool_file_path(w.f));
out:
	spool_file_free(w.f);
	free(w.cause);
	strbuf_release(&sb);
	return ret;
}

int osprofiler_batch_write(struct osprofiler_batch *b, const char *spool_dir,
			   char **spool_path, char **cause)
{
	struct writer w = { 0 };
	int ret;

	*spool_path = NULL;
	if (spool_file_create(&w.f, spool_dir, "osprofiler", cause))
		return -1;
	ret = osprofiler_batch_emit(b, write_span, &w);
	if (ret < 0) {
		*cause = w.cause ? w.cause
				 : xasprintf("cannot write '%s'",
					     spool_file_path(w.f));
		w.cause = NULL;
		unlink(spool_file_path(w.f));
		ret = -1;
	} else {
		*spool_path = xstrdup(spool_file_path(w.f));
	}
	spool_file_free(w.f);
	free(w.cause);
	return ret;
}
