/* refstack-client.c: the reference stack's test client: boots servers
 * through the REST API with signed trace headers, sends bad input, and
 * reads the spool files back to check the traces and count spans. */
#include "htrace.h"
#include "spool/spool.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CIRROS "6d3b9a41-6c0e-4d3b-9a6e-2f1a8c0e5b11"

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			failures++;                                            \
		}                                                              \
	} while (0)

struct resp {
	long status;
	struct strbuf body;
	char subject[128];
};

static size_t write_cb(char *d, size_t s, size_t n, void *p)
{
	strbuf_add(p, d, s * n);
	return s * n;
}

static size_t header_cb(char *d, size_t s, size_t n, void *p)
{
	struct resp *r = p;
	size_t len = s * n;

	if (len > 16 && !strncasecmp(d, "X-Subject-Token:", 16)) {
		size_t i = 16, j = 0;

		while (i < len && d[i] == ' ')
			i++;
		while (i < len && d[i] != '\r' && d[i] != '\n' &&
		       j + 1 < sizeof(r->subject))
			r->subject[j++] = d[i++];
		r->subject[j] = '\0';
	}
	return len;
}

static void add_header(const char *name, const char *value, void *payload)
{
	struct curl_slist **l = payload;
	char *line = xasprintf("%s: %s", name, value);

	*l = curl_slist_append(*l, line);
	free(line);
}

/* One request; the current trace context is injected, signed. A raw
 * header line (e.g. a forged one) can be added. Returns the status. */
static long request(struct resp *r, const char *method, const char *url,
		    const char *token, const char *body, const char *extra)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	char *line = NULL;

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body);
	htrace_inject(add_header, &h);
	if (token) {
		line = xasprintf("X-Auth-Token: %s", token);
		h = curl_slist_append(h, line);
	}
	if (extra)
		h = curl_slist_append(h, extra);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(c) != CURLE_OK)
		r->status = 0;
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(line);
	return r->status;
}

static json_t *resp_json(struct resp *r)
{
	return json_loadb(r->body.buf, r->body.len, 0, NULL);
}

/* server.addresses.private[0].addr, or NULL. */
static const char *first_address(json_t *server)
{
	json_t *nets = json_object_get(server, "addresses");
	json_t *first = json_array_get(json_object_get(nets, "private"), 0);

	return json_string_value(json_object_get(first, "addr"));
}

static char *authenticate(const char *identity, const char *user,
			  const char *password)
{
	struct resp r;
	char *url = xasprintf("%s/v3/auth/tokens", identity);
	char *body = xasprintf(
		"{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
		"\"password\":{\"user\":{\"name\":\"%s\",\"domain\":"
		"{\"id\":\"default\"},\"password\":\"%s\"}}},\"scope\":"
		"{\"project\":{\"name\":\"%s\",\"domain\":{\"id\":"
		"\"default\"}}}}}",
		user, password, user);
	char *token = NULL;

	request(&r, "POST", url, NULL, body, NULL);
	if (r.status == 201 && *r.subject)
		token = xstrdup(r.subject);
	strbuf_release(&r.body);
	free(url);
	free(body);
	return token;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* boot IDENTITY API N WANT: create N servers (each in its own trace),
 * wait until all are WANT (ACTIVE or ERROR), check their addresses are
 * distinct, delete them (each in its own trace) and check they are gone. */
static int cmd_boot(int argc, char **argv)
{
	const char *identity = argv[0], *api = argv[1], *want = argv[3];
	int n = atoi(argv[2]);
	char **ids = xcalloc((size_t)n, sizeof(*ids));
	char **ips = xcalloc((size_t)n, sizeof(*ips));
	char *token = authenticate(identity, "admin", "secret");
	char *url = xasprintf("%s/servers", api);
	double start;

	if (!token) {
		fprintf(stderr, "FAIL: cannot authenticate\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct htrace_span *root = htrace_begin_root(
			HTRACE_KIND_ITERATION, "boot", NULL);
		char *body = xasprintf("{\"server\":{\"name\":\"t-%d\","
				       "\"imageRef\":\"%s\",\"flavorRef\":"
				       "\"1\"}}",
				       i, CIRROS);
		struct resp r;
		json_t *j;

		CHECK(root, "no root span: is HTRACE_SPOOL_DIR set?");
		request(&r, "POST", url, token, body, NULL);
		j = resp_json(&r);
		CHECK(r.status == 202, "create %d: status %ld: %s", i, r.status,
		      r.body.buf);
		if (json_string_value(json_object_get(
			    json_object_get(j, "server"), "id")))
			ids[i] = xstrdup(json_string_value(json_object_get(
				json_object_get(j, "server"), "id")));
		json_decref(j);
		strbuf_release(&r.body);
		free(body);
		htrace_end(root);
	}
	start = now_s();
	for (int i = 0; i < n; i++) {
		char *surl;
		bool done = false;

		if (!ids[i])
			continue;
		surl = xasprintf("%s/servers/%s", api, ids[i]);
		while (!done && now_s() - start < 40) {
			struct resp r;
			json_t *j, *s;
			const char *status;

			request(&r, "GET", surl, token, NULL, NULL);
			j = resp_json(&r);
			s = json_object_get(j, "server");
			status = json_string_value(
				json_object_get(s, "status"));
			if (status && strcmp(status, "BUILD")) {
				done = true;
				CHECK(!strcmp(status, want),
				      "server %s: %s, want %s: %s", ids[i],
				      status, want, r.body.buf);
				CHECK(*json_string_value(json_object_get(
					      s, "OS-EXT-SRV-ATTR:host")) ?: 0,
				      "server %s: no host", ids[i]);
				if (!strcmp(want, "ACTIVE")) {
					const char *ip = first_address(s);

					CHECK(ip, "server %s: no address",
					      ids[i]);
					ips[i] = ip ? xstrdup(ip) : NULL;
				} else {
					CHECK(json_object_get(s, "fault"),
					      "server %s: no fault", ids[i]);
				}
			}
			CHECK(r.status == 200, "show %s: %ld", ids[i],
			      r.status);
			json_decref(j);
			strbuf_release(&r.body);
			if (!done)
				usleep(20000);
		}
		CHECK(done, "server %s never left BUILD", ids[i]);
		free(surl);
	}
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++)
			CHECK(!ips[i] || !ips[k] || strcmp(ips[i], ips[k]),
			      "servers %d and %d share address %s", i, k,
			      ips[i]);
	for (int i = 0; i < n; i++) {
		struct htrace_span *root;
		char *surl;
		struct resp r;

		if (!ids[i])
			continue;
		root = htrace_begin_root(HTRACE_KIND_ITERATION, "delete", NULL);
		surl = xasprintf("%s/servers/%s", api, ids[i]);
		request(&r, "DELETE", surl, token, NULL, NULL);
		CHECK(r.status == 204, "delete %s: %ld", ids[i], r.status);
		strbuf_release(&r.body);
		request(&r, "GET", surl, token, NULL, NULL);
		CHECK(r.status == 404, "show deleted %s: %ld", ids[i],
		      r.status);
		strbuf_release(&r.body);
		htrace_end(root);
		free(surl);
		free(ids[i]);
		free(ips[i]);
	}
	printf("boot: %d servers, %d failures\n", n, failures);
	free(ids);
	free(ips);
	free(url);
	free(token);
	return failures ? 1 : 0;
}

/* idle SCHEDULER: wait until no host has anything claimed. */
static int cmd_idle(int argc, char **argv)
{
	char *url = xasprintf("%s/os-hypervisors", argv[0]);
	double start = now_s();
	long used = -1;

	while (now_s() - start < 20) {
		struct resp r;
		json_t *j, *list;

		request(&r, "GET", url, NULL, NULL, NULL);
		j = resp_json(&r);
		list = json_object_get(j, "hypervisors");
		used = 0;
		for (size_t i = 0; i < json_array_size(list); i++)
			used += (long)json_integer_value(json_object_get(
				json_array_get(list, i), "memory_mb_used"));
		if (!json_array_size(list))
			used = -1;
		json_decref(j);
		strbuf_release(&r.body);
		if (used == 0)
			break;
		usleep(50000);
	}
	free(url);
	CHECK(used == 0, "scheduler still has %ld MB claimed", used);
	return failures ? 1 : 0;
}

struct bad_case {
	const char *what;
	int svc;		/* index into the URL list */
	const char *method;
	const char *path;
	int auth;		/* send a valid token */
	const char *body;
	const char *extra;
	long want;
};

/* bad IDENTITY IMAGE NETWORK API SCHEDULER COMPUTE: each bad input gets
 * its status, and every service still answers /healthz. */
static int cmd_bad(int argc, char **argv)
{
	static const struct bad_case cases[] = {
		{ "no token", 3, "GET", "/servers", 0, NULL, NULL, 401 },
		{ "bad token", 3, "GET", "/servers", 0, NULL,
		  "X-Auth-Token: 0123456789abcdef", 401 },
		{ "bad password", 0, "POST", "/v3/auth/tokens", 0,
		  "{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
		  "\"password\":{\"user\":{\"name\":\"admin\",\"domain\":"
		  "{\"id\":\"default\"},\"password\":\"wrong\"}}}}}",
		  NULL, 401 },
		{ "auth missing user", 0, "POST", "/v3/auth/tokens", 0,
		  "{\"auth\":{}}", NULL, 400 },
		{ "auth not json", 0, "POST", "/v3/auth/tokens", 0, "{auth",
		  NULL, 400 },
		{ "check unknown token", 0, "GET", "/v3/auth/tokens", 1, NULL,
		  "X-Subject-Token: ffffffffffffffffffffffffffffffff", 404 },
		{ "unknown image", 3, "POST", "/servers", 1,
		  "{\"server\":{\"name\":\"x\",\"imageRef\":"
		  "\"00000000-0000-4000-8000-000000000000\","
		  "\"flavorRef\":\"1\"}}",
		  NULL, 400 },
		{ "image ref with a path", 3, "POST", "/servers", 1,
		  "{\"server\":{\"name\":\"x\",\"imageRef\":"
		  "\"../../v3/auth tokens?x=1\",\"flavorRef\":\"1\"}}",
		  NULL, 400 },
		{ "unknown flavor", 3, "POST", "/servers", 1,
		  "{\"server\":{\"name\":\"x\",\"imageRef\":\"" CIRROS "\","
		  "\"flavorRef\":\"999\"}}",
		  NULL, 400 },
		{ "server not json", 3, "POST", "/servers", 1, "{\"server\":",
		  NULL, 400 },
		{ "server not an object", 3, "POST", "/servers", 1, "[1,2]",
		  NULL, 400 },
		{ "server missing fields", 3, "POST", "/servers", 1,
		  "{\"server\":{\"name\":7}}", NULL, 400 },
		{ "server empty body", 3, "POST", "/servers", 1, "", NULL,
		  400 },
		{ "unknown server", 3, "GET",
		  "/servers/00000000-0000-4000-8000-000000000000", 1, NULL,
		  NULL, 404 },
		{ "delete unknown server", 3, "DELETE",
		  "/servers/00000000-0000-4000-8000-000000000000", 1, NULL,
		  NULL, 404 },
		{ "unknown image show", 1, "GET",
		  "/v2/images/00000000-0000-4000-8000-000000000000", 1, NULL,
		  NULL, 404 },
		{ "image without token", 1, "GET", "/v2/images/" CIRROS, 0,
		  NULL, NULL, 401 },
		{ "port without network", 2, "POST", "/v2.0/ports", 1,
		  "{\"port\":{}}", NULL, 400 },
		{ "port unknown network", 2, "POST", "/v2.0/ports", 1,
		  "{\"port\":{\"network_id\":\"nope\"}}", NULL, 404 },
		{ "delete unknown port", 2, "DELETE", "/v2.0/ports/nope", 1,
		  NULL, NULL, 404 },
		{ "unknown path", 3, "GET", "/nothing/here", 1, NULL, NULL,
		  404 },
		{ "wrong method", 3, "PUT", "/servers", 1, "{}", NULL, 405 },
		{ "wrong method healthz", 4, "DELETE", "/healthz", 0, NULL,
		  NULL, 405 },
		{ "rpc not json", 4, "POST", "/rpc", 0, "nope", NULL, 400 },
		{ "rpc no method", 4, "POST", "/rpc", 0, "{\"args\":{}}", NULL,
		  400 },
		{ "rpc unknown method", 4, "POST", "/rpc", 0,
		  "{\"method\":\"nope\",\"args\":{},\"reply\":true}", NULL,
		  404 },
		{ "rpc bad args", 4, "POST", "/rpc", 0,
		  "{\"method\":\"select_destinations\",\"args\":[],"
		  "\"reply\":true}",
		  NULL, 400 },
		{ "forged trace header", 3, "GET", "/servers", 1, NULL,
		  "X-Trace-HMAC: 00", 200 },
	};
	char *token = authenticate(argv[0], "admin", "secret");
	char *demo = authenticate(argv[0], "demo", "demo");
	char *big;
	size_t big_len = 1024 * 1024 + 100;
	struct resp r;

	CHECK(token && demo, "cannot authenticate");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		char *url = xasprintf("%s%s", argv[c->svc], c->path);

		request(&r, c->method, url, c->auth ? token : NULL, c->body,
			c->extra);
		CHECK(r.status == c->want, "%s: %s %s: %ld, want %ld: %s",
		      c->what, c->method, c->path, r.status, c->want,
		      r.body.buf);
		if (r.status >= 400 && r.status != 405 && c->svc != 4) {
			json_t *j = resp_json(&r);

			CHECK(json_string_value(json_object_get(
				      json_object_get(j, "error"), "message")),
			      "%s: no error message: %s", c->what, r.body.buf);
			json_decref(j);
		}
		strbuf_release(&r.body);
		free(url);
	}
	/* More than 1 MiB. */
	big = xcalloc(1, big_len + 1);
	memset(big, 'x', big_len);
	big[0] = '"';
	big[big_len - 1] = '"';
	{
		char *url = xasprintf("%s/servers", argv[3]);

		request(&r, "POST", url, token, big, NULL);
		CHECK(r.status == 413, "big body: %ld", r.status);
		strbuf_release(&r.body);
		free(url);
	}
	free(big);
	/* A server of one project is not visible to another. */
	{
		char *url = xasprintf("%s/servers", argv[3]);
		char *body = xstrdup("{\"server\":{\"name\":\"p\",\"imageRef\":"
				     "\"" CIRROS "\",\"flavorRef\":\"1\"}}");
		json_t *j;
		const char *id;

		request(&r, "POST", url, demo, body, NULL);
		CHECK(r.status == 202, "demo create: %ld", r.status);
		j = resp_json(&r);
		id = json_string_value(
			json_object_get(json_object_get(j, "server"), "id"));
		strbuf_release(&r.body);
		if (id) {
			char *surl = xasprintf("%s/servers/%s", argv[3], id);

			request(&r, "GET", surl, token, NULL, NULL);
			CHECK(r.status == 404, "other project sees it: %ld",
			      r.status);
			strbuf_release(&r.body);
			request(&r, "DELETE", surl, demo, NULL, NULL);
			CHECK(r.status == 204, "demo delete: %ld", r.status);
			strbuf_release(&r.body);
			free(surl);
		}
		json_decref(j);
		free(body);
		free(url);
	}
	for (int i = 0; i < 6; i++) {
		char *url = xasprintf("%s/healthz", argv[i]);

		request(&r, "GET", url, NULL, NULL, NULL);
		CHECK(r.status == 200 && strstr(r.body.buf, "\"ok\""),
		      "%s: healthz %ld", argv[i], r.status);
		strbuf_release(&r.body);
		free(url);
	}
	printf("bad: %d failures\n", failures);
	free(token);
	free(demo);
	return failures ? 1 : 0;
}

/* Every span in the spool files of dir. */
struct span {
	uint8_t trace[16];
	uint64_t id, parent;
	unsigned kind;
	unsigned status;
	char *name;
	char *service;
	uint64_t dur;
};

static struct span *load_spans(const char *dir, size_t *n)
{
	struct span *spans = NULL;
	size_t alloc = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		struct spool_reader *rd;
		struct spool_record rec;
		char *path, *cause = NULL;
		int rc;

		if (!strstr(e->d_name, SPOOL_SUFFIX))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (spool_reader_open(&rd, path, &cause) < 0) {
			CHECK(0, "%s", cause);
			free(cause);
			free(path);
			continue;
		}
		while ((rc = spool_reader_next(rd, &rec, &cause)) ==
			       SPOOL_READ_OK ||
		       rc == SPOOL_READ_CORRUPT) {
			struct span *s;

			if (rc != SPOOL_READ_OK ||
			    rec.type != SPOOL_RECORD_SPAN)
				continue;
			ALLOC_GROW(spans, *n + 1, alloc);
			s = &spans[(*n)++];
			memcpy(s->trace, rec.u.span.trace_id, 16);
			s->id = rec.u.span.span_id;
			s->parent = rec.u.span.parent_id;
			s->kind = rec.u.span.kind;
			s->status = rec.u.span.status;
			s->name = xstrdup(rec.u.span.name);
			s->service = xstrdup(
				rec.u.span.service && *rec.u.span.service ?
					rec.u.span.service :
					spool_reader_header(rd)->service);
			s->dur = rec.u.span.dur_ns;
		}
		CHECK(rc == SPOOL_READ_EOF, "%s: read %d: %s", path, rc,
		      cause ? cause : "");
		free(cause);
		spool_reader_free(rd);
		free(path);
	}
	closedir(d);
	return spans;
}

static void free_spans(struct span *spans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(spans[i].name);
		free(spans[i].service);
	}
	free(spans);
}

/* traces DIR: every "boot" trace crosses every service and span kind and
 * has no span whose parent is missing; "delete" traces reach compute. */
static int cmd_traces(int argc, char **argv)
{
	static const char *const services[] = { "identity", "image",
						"network", "api",
						"scheduler", "compute" };
	static const unsigned kinds[] = {
		HTRACE_KIND_REST_CALL,	  HTRACE_KIND_REST_DISPATCH,
		HTRACE_KIND_RPC_CALL,	  HTRACE_KIND_RPC_CAST,
		HTRACE_KIND_RPC_DISPATCH, HTRACE_KIND_DB,
		HTRACE_KIND_LIB,	  HTRACE_KIND_THREAD_SPAWN,
		HTRACE_KIND_THREAD_MAIN,  HTRACE_KIND_EXEC,
	};
	size_t n, boots = 0;
	struct span *spans = load_spans(argv[0], &n);

	for (size_t r = 0; r < n; r++) {
		bool svc_seen[6] = { 0 }, kind_seen[16] = { 0 };
		size_t in_trace = 0;

		if (spans[r].parent || strcmp(spans[r].name, "boot"))
			continue;
		boots++;
		for (size_t i = 0; i < n; i++) {
			bool parent_found = false;

			if (memcmp(spans[i].trace, spans[r].trace, 16))
				continue;
			in_trace++;
			for (size_t s = 0; s < 6; s++)
				if (!strcmp(spans[i].service, services[s]))
					svc_seen[s] = true;
			if (spans[i].kind < 16)
				kind_seen[spans[i].kind] = true;
			if (!spans[i].parent)
				continue;
			for (size_t k = 0; k < n && !parent_found; k++)
				parent_found = spans[k].id == spans[i].parent &&
					       !memcmp(spans[k].trace,
						       spans[i].trace, 16);
			CHECK(parent_found, "span %s (%s) has no parent",
			      spans[i].name, spans[i].service);
			/* RPC never shows up as REST. */
			CHECK(!(strstr(spans[i].name, "/rpc") &&
				(spans[i].kind == HTRACE_KIND_REST_CALL ||
				 spans[i].kind == HTRACE_KIND_REST_DISPATCH)),
			      "RPC traced as REST: %s", spans[i].name);
		}
		for (size_t s = 0; s < 6; s++)
			CHECK(svc_seen[s], "boot trace without service %s",
			      services[s]);
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			CHECK(kind_seen[kinds[k]], "boot trace without %s",
			      htrace_kind_name((enum htrace_kind)kinds[k]));
		CHECK(in_trace >= 30, "boot trace has only %zu spans",
		      in_trace);
	}
	CHECK(boots > 0, "no boot traces in %s", argv[0]);
	printf("traces: %zu spans, %zu boot traces, %d failures\n", n, boots,
	       failures);
	free_spans(spans, n);
	return failures ? 1 : 0;
}

/* count DIR SERVICE KIND [NAME]: "COUNT MIN_NS MAX_NS" of matching
 * spans. */
static int cmd_count(int argc, char **argv)
{
	size_t n, count = 0;
	struct span *spans = load_spans(argv[0], &n);
	int kind = htrace_kind_parse(argv[2]);
	uint64_t min = UINT64_MAX, max = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(spans[i].service, argv[1]) ||
		    (int)spans[i].kind != kind ||
		    (argc > 3 && strcmp(spans[i].name, argv[3])))
			continue;
		count++;
		if (spans[i].dur < min)
			min = spans[i].dur;
		if (spans[i].dur > max)
			max = spans[i].dur;
	}
	printf("%zu %llu %llu\n", count,
	       (unsigned long long)(count ? min : 0),
	       (unsigned long long)max);
	free_spans(spans, n);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int nargs;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "boot", 4, cmd_boot },
		{ "idle", 1, cmd_idle },
		{ "bad", 6, cmd_bad },
		{ "traces", 1, cmd_traces },
		{ "count", 3, cmd_count },
	};
	int ret;

	if (argc < 2)
		goto usage;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (argc - 2 < cmds[i].nargs)
			goto usage;
		curl_global_init(CURL_GLOBAL_DEFAULT);
		htrace_init();
		ret = cmds[i].fn(argc - 2, argv + 2);
		htrace_shutdown();
		curl_global_cleanup();
		return ret;
	}
usage:
	fprintf(stderr, "usage: refstack-client boot|idle|bad|traces|count "
			"ARGS...\n");
	return 64;
}
