/* http.c: the services' HTTP side: a libmicrohttpd server that routes,
 * limits and traces each request (rest.dispatch), and a libcurl client that
 * traces each call (rest.call) and injects the trace headers. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Per-connection state between the calls of the access handler. */
struct conn_state {
	struct strbuf body;
	bool too_large;
};

static const struct rs_route common_routes[] = {
	{ "GET", "/healthz", NULL },
	{ "POST", "/rpc", rs_rpc_serve },
	{ NULL, NULL, NULL },
};

void rs_reply_json(struct rs_resp *resp, int status, json_t *json)
{
	json_decref(resp->json);
	resp->status = status;
	resp->json = json;
}

static const char *status_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Request Entity Too Large";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void rs_reply_error(struct rs_resp *resp, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rs_reply_json(resp, status,
		      json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status,
				"title", status_title(status), "message",
				msg));
}

json_t *rs_req_json(struct rs_req *req, struct rs_resp *resp)
{
	json_error_t err;
	json_t *root;

	if (!req->body.len) {
		rs_reply_error(resp, 400, "malformed request body: empty");
		return NULL;
	}
	root = json_loadb(req->body.buf, req->body.len, JSON_REJECT_DUPLICATES,
			  &err);
	if (!root) {
		rs_reply_error(resp, 400,
			       "malformed request body: %s at line %d "
			       "column %d",
			       err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		rs_reply_error(resp, 400,
			       "malformed request body: not a JSON object");
		return NULL;
	}
	return root;
}

const char *rs_req_header(struct rs_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int rs_authenticate(struct rs_req *req, struct rs_resp *resp,
		    struct rs_auth *auth)
{
	struct refstack *rs = req->rs;
	const char *token = rs_req_header(req, "X-Auth-Token");
	struct rs_http_result res;
	char *h[3] = { NULL, NULL, NULL }, *cause = NULL;
	json_t *root = NULL, *t;
	int ret = -1;

	memset(auth, 0, sizeof(*auth));
	if (!token || !*token || strlen(token) >= sizeof(auth->token)) {
		rs_reply_error(resp, 401,
			       "the request you have made requires "
			       "authentication");
		return -1;
	}
	if (rs->svc == &rs_identity_service) {
		if (rs_identity_validate(rs, token, auth) < 0) {
			rs_reply_error(resp, 401, "invalid token");
			return -1;
		}
		return 0;
	}
	/* Like keystonemiddleware, with the caller's token as both the
	 * subject and the credential. */
	rs_http_result_init(&res);
	h[0] = xasprintf("X-Auth-Token: %s", token);
	h[1] = xasprintf("X-Subject-Token: %s", token);
	if (rs_http(rs, "GET", rs->peer[RS_PEER_IDENTITY], "/v3/auth/tokens",
		    "/v3/auth/tokens", (const char *const *)h, NULL, &res,
		    NULL, NULL, &cause) < 0) {
		rs_reply_error(resp, 503, "identity unavailable: %s", cause);
		goto out;
	}
	if (res.status != 200) {
		rs_reply_error(resp, 401, "invalid token");
		goto out;
	}
	root = json_loadb(res.body.buf, res.body.len, 0, NULL);
	t = json_object_get(root, "token");
	if (!json_is_object(t)) {
		rs_reply_error(resp, 503, "identity sent a bad token body");
		goto out;
	}
	copy_str(auth->token, sizeof(auth->token), token);
	copy_str(auth->user_id, sizeof(auth->user_id),
		 json_string_value(json_object_get(
			 json_object_get(t, "user"), "id")));
	copy_str(auth->user_name, sizeof(auth->user_name),
		 json_string_value(json_object_get(
			 json_object_get(t, "user"), "name")));
	copy_str(auth->project_id, sizeof(auth->project_id),
		 json_string_value(json_object_get(
			 json_object_get(t, "project"), "id")));
	ret = 0;
out:
	json_decref(root);
	free(h[0]);
	free(h[1]);
	free(cause);
	rs_http_result_release(&res);
	return ret;
}

/* Match path against pattern; fills req->params with copies. */
static bool route_match(const char *pattern, const char *path,
			struct rs_req *req)
{
	size_t n = 0;
	char *params[RS_MAX_PARAMS];

	while (*pattern && *path) {
		if (*pattern == '{') {
			const char *pe = strchr(pattern, '}');
			size_t len = strcspn(path, "/");

			if (!pe || !len || n == RS_MAX_PARAMS)
				goto fail;
			params[n++] = xstrndup(path, len);
			pattern = pe + 1;
			path += len;
			continue;
		}
		if (*pattern++ != *path++)
			goto fail;
	}
	if (*pattern || *path)
		goto fail;
	for (size_t i = 0; i < n; i++)
		req->params[i] = params[i];
	req->nparams = n;
	return true;
fail:
	for (size_t i = 0; i < n; i++)
		free(params[i]);
	return false;
}

/* Find the route: 0 found, 404 no path matched, 405 path but not method. */
static int route_find(struct rs_req *req, const struct rs_route **out)
{
	const struct rs_route *tables[] = { common_routes,
					    req->rs->svc->routes };
	int status = 404;

	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		for (const struct rs_route *r = tables[t]; r && r->method;
		     r++) {
			if (!route_match(r->pattern, req->path, req))
				continue;
			if (!strcmp(r->method, req->method)) {
				*out = r;
				return 0;
			}
			for (size_t i = 0; i < req->nparams; i++)
				free(req->params[i]);
			req->nparams = 0;
			status = 405;
		}
	}
	return status;
}

static const char *header_get(const char *name, void *payload)
{
	return MHD_lookup_connection_value(payload, MHD_HEADER_KIND, name);
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct rs_resp *resp = cls;
	long n;

	if (pos >= resp->stream_size)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = resp->stream_read(resp->stream_payload, pos, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : (ssize_t)n;
}

static void resp_release(struct rs_resp *resp)
{
	json_decref(resp->json);
	free(resp->header_name);
	free(resp->header_value);
}

static void stream_free_cb(void *cls)
{
	struct rs_resp *resp = cls;

	if (resp->stream_free)
		resp->stream_free(resp->stream_payload);
	resp_release(resp);
	free(resp);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn,
				 struct rs_resp *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	int status = resp->status ? resp->status : 500;

	if (resp->stream_read) {
		r = MHD_create_response_from_callback(resp->stream_size,
						      64 * 1024, stream_cb,
						      resp, stream_free_cb);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type",
					resp->content_type ?
						resp->content_type :
						"application/octet-stream");
		if (resp->header_name)
			MHD_add_response_header(r, resp->header_name,
						resp->header_value);
		ret = MHD_queue_response(conn, (unsigned)status, r);
		MHD_destroy_response(r);
		return ret;
	} else {
		char *text = resp->json ? json_dumps(resp->json, JSON_COMPACT) :
					  NULL;

		if (text)
			r = MHD_create_response_from_buffer(
				strlen(text), text, MHD_RESPMEM_MUST_FREE);
		else
			r = MHD_create_response_from_buffer(
				0, (char *)"", MHD_RESPMEM_PERSISTENT);
		if (!r) {
			free(text);
			return MHD_NO;
		}
		if (text)
			MHD_add_response_header(r, "Content-Type",
						"application/json");
		if (resp->header_name)
			MHD_add_response_header(r, resp->header_name,
						resp->header_value);
		ret = MHD_queue_response(conn, (unsigned)status, r);
		MHD_destroy_response(r);
		return ret;
	}
}

/* Serve one complete request: route, trace, handle, answer. */
static enum MHD_Result dispatch(struct refstack *rs,
				struct MHD_Connection *conn, const char *url,
				const char *method, struct conn_state *st)
{
	struct rs_req req = { .rs = rs, .conn = conn, .method = method,
			      .path = url };
	struct rs_resp *resp = xcalloc(1, sizeof(*resp));
	const struct rs_route *route = NULL;
	struct htrace_span *span = NULL;
	struct htrace_context ctx;
	char name[160];
	enum MHD_Result ret;
	int found;
	bool is_rpc;

	req.body = st->body;
	found = route_find(&req, &route);
	is_rpc = !found && route->handle == rs_rpc_serve;
	/* RPC traffic carries its context in the message, and is traced as
	 * rpc.dispatch by rs_rpc_serve, never as rest.dispatch. */
	if (!is_rpc) {
		if (htrace_extract(header_get, conn, &ctx) == HTRACE_EXTRACT_OK)
			htrace_attach(&ctx);
		snprintf(name, sizeof(name), "%s %s", method,
			 found ? "{unmatched}" : route->pattern);
		span = htrace_http_server_begin(method, found ? "{unmatched}" :
							       route->pattern);
		htrace_attr_str(span, HTRACE_ATTR_URL_PATH, url);
		rs_knob_spend(rs, span, HTRACE_KIND_REST_DISPATCH, name);
	}
	if (found == 404) {
		rs_reply_error(resp, 404, "the resource could not be found");
	} else if (found == 405) {
		rs_reply_error(resp, 405, "method '%s' not allowed on '%s'",
			       method, url);
	} else if (st->too_large) {
		rs_reply_error(resp, 413, "request body larger than %d bytes",
			       RS_MAX_BODY);
	} else if (!route->handle) {
		rs_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
	} else {
		req.route = route->pattern;
		route->handle(&req, resp);
	}
	if (!is_rpc) {
		htrace_http_end(span, resp->status);
		htrace_detach();
	}
	for (size_t i = 0; i < req.nparams; i++)
		free(req.params[i]);
	ret = send_resp(conn, resp);
	if (resp->stream_read)
		return ret; /* freed by stream_free_cb */
	resp_release(resp);
	free(resp);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct conn_state *st = *con_cls;

	if (!st) {
		const char *cl = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, "Content-Length");

		st = xcalloc(1, sizeof(*st));
		strbuf_init(&st->body);
		*con_cls = st;
		if (cl && strtoull(cl, NULL, 10) > RS_MAX_BODY)
			st->too_large = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (st->body.len + *upload_size > RS_MAX_BODY) {
			st->too_large = true;
			strbuf_release(&st->body);
		} else if (!st->too_large) {
			strbuf_add(&st->body, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(cls, conn, url, method, st);
}

static void completed_cb(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	if (!st)
		return;
	strbuf_release(&st->body);
	free(st);
	*con_cls = NULL;
}

int rs_serve(struct refstack *rs, const char *host, int port,
	     const char *port_file)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	sigset_t set;
	int sig = 0;

	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		return error("bad listen address '%s'", host);
	addr.sin_port = htons((uint16_t)port);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				     MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_ERROR_LOG,
			     (uint16_t)port, NULL, NULL, access_cb, rs,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
			     MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			     MHD_OPTION_END);
	if (!d)
		return error("cannot listen on %s:%d: %s", host, port,
			     strerror(errno));
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info)
		port = info->port;
	if (port_file) {
		char tmp[4096];
		FILE *f;

		/* Write then rename, so a reader never sees half a number. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) ||
		    rename(tmp, port_file)) {
			MHD_stop_daemon(d);
			return error("cannot write '%s': %s", port_file,
				     strerror(errno));
		}
	}
	fprintf(stderr, "harness-refstack: %s listening on %s:%d\n",
		rs->svc->name, host, port);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
	fprintf(stderr, "harness-refstack: %s stopping (signal %d)\n",
		rs->svc->name, sig);
	MHD_stop_daemon(d);
	return 0;
}

/* --- the client --- */

void rs_http_result_init(struct rs_http_result *res)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->body);
}

void rs_http_result_release(struct rs_http_result *res)
{
	strbuf_release(&res->body);
	free(res->subject_token);
	res->subject_token = NULL;
}

struct client_ctx {
	struct rs_http_result *res;
	int (*sink)(const void *data, size_t len, void *payload);
	void *payload;
	struct curl_slist *headers;
};

static size_t write_cb(char *data, size_t size, size_t n, void *p)
{
	struct client_ctx *c = p;

	if (c->sink)
		return c->sink(data, size * n, c->payload) ? 0 : size * n;
	strbuf_add(&c->res->body, data, size * n);
	return size * n;
}

static size_t header_cb(char *data, size_t size, size_t n, void *p)
{
	struct client_ctx *c = p;
	size_t len = size * n;
	static const char name[] = "X-Subject-Token:";

	if (len > sizeof(name) && !strncasecmp(data, name, sizeof(name) - 1)) {
		const char *v = data + sizeof(name) - 1;
		size_t vlen = len - (sizeof(name) - 1);

		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
				v[vlen - 1] == ' '))
			vlen--;
		free(c->res->subject_token);
		c->res->subject_token = xstrndup(v, vlen);
	}
	return len;
}

static void inject_cb(const char *name, const char *value, void *payload)
{
	struct client_ctx *c = payload;
	char *line = xasprintf("%s: %s", name, value);

	c->headers = curl_slist_append(c->headers, line);
	free(line);
}

/* Do one request; span may be NULL (untraced); inject adds the trace
 * headers of the current context. */
static int perform(const char *method, const char *url,
		   const char *const *headers, const char *body, bool inject,
		   struct rs_http_result *res,
		   int (*sink)(const void *data, size_t len, void *payload),
		   void *payload, char **cause)
{
	struct client_ctx c = { .res = res, .sink = sink, .payload = payload };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *h;
	int ret = -1;

	h = curl_easy_init();
	if (!h) {
		*cause = xstrdup("cannot start a curl handle");
		return -1;
	}
	if (inject)
		htrace_inject(inject_cb, &c);
	c.headers = curl_slist_append(c.headers, "Accept: application/json");
	if (body)
		c.headers = curl_slist_append(c.headers,
					      "Content-Type: application/json");
	for (size_t i = 0; headers && headers[i]; i++)
		c.headers = curl_slist_append(c.headers, headers[i]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c.headers);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	if (rc == CURLE_WRITE_ERROR && res->status) {
		*cause = xasprintf("%s %s: transfer aborted", method, url);
	} else if (rc != CURLE_OK) {
		*cause = xasprintf("%s %s: %s", method, url,
				   *errbuf ? errbuf : curl_easy_strerror(rc));
		res->status = 0;
	} else {
		ret = 0;
	}
	curl_slist_free_all(c.headers);
	curl_easy_cleanup(h);
	return ret;
}

int rs_http_plain(const char *method, const char *url, const char *body,
		  struct rs_http_result *res, char **cause)
{
	return perform(method, url, NULL, body, false, res, NULL, NULL, cause);
}

int rs_http(struct refstack *rs, const char *method, const char *base,
	    const char *path, const char *route, const char *const *headers,
	    const char *body, struct rs_http_result *res,
	    int (*sink)(const void *data, size_t len, void *payload),
	    void *payload, char **cause)
{
	struct htrace_span *span;
	char *url, name[160];
	int ret;

	if (!base || !*base) {
		*cause = xasprintf("no URL configured for '%s %s'", method,
				   route);
		return -1;
	}
	url = xasprintf("%s%s", base, path);
	snprintf(name, sizeof(name), "%s %s", method, route);
	span = rs_begin(rs, HTRACE_KIND_REST_CALL, name);
	htrace_attr_str(span, HTRACE_ATTR_HTTP_REQUEST_METHOD, method);
	htrace_attr_str(span, HTRACE_ATTR_URL_FULL, url);
	htrace_attr_str(span, HTRACE_ATTR_HTTP_ROUTE, route);
	/* Injected after the span began: the callee's parent is this span. */
	ret = perform(method, url, headers, body, true, res, sink, payload,
		      cause);
	if (ret < 0)
		htrace_set_error(span, *cause);
	htrace_http_end(span, (int)res->status);
	free(url);
	return ret;
}
