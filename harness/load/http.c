/* http.c: one libcurl easy handle per worker, reset between requests but
 * never closed, so that its connection cache keeps connections alive. */
#include "load/http.h"

#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "util/timeutil.h"

static void set_fixed(struct http_client *c);

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

int http_client_init(struct http_client *c,
		     const struct http_client_options *opts, char **cause)
{
	memset(c, 0, sizeof(*c));
	if (opts)
		c->opts = *opts;
	if (!c->opts.connect_timeout_ns)
		c->opts.connect_timeout_ns = 10ULL * 1000000000;
	if (!c->opts.max_body)
		c->opts.max_body = HTTP_MAX_BODY_DEFAULT;
	if (!c->opts.user_agent)
		c->opts.user_agent = "harness/" HARNESS_VERSION;
	http_global_init();
	c->curl = curl_easy_init();
	if (!c->curl) {
		if (cause)
			*cause = xstrdup("cannot create a libcurl handle");
		return -1;
	}
	set_fixed(c);
	return 0;
}

void http_client_release(struct http_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	memset(c, 0, sizeof(*c));
}

void http_response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->body);
}

static void clear_headers(struct http_response *res)
{
	for (size_t i = 0; i < res->nheaders; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	res->nheaders = 0;
}

void http_response_release(struct http_response *res)
{
	clear_headers(res);
	free(res->headers);
	strbuf_release(&res->body);
	http_response_init(res);
}

const char *http_response_header(const struct http_response *res,
				 const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (!strcasecmp(res->headers[i].name, name))
			return res->headers[i].value;
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct http_client *c = p;
	size_t n = size * nmemb;

	if (c->res->body.len + n > c->opts.max_body) {
		c->body_too_large = true;
		return 0;	/* makes libcurl fail with CURLE_WRITE_ERROR */
	}
	strbuf_add(&c->res->body, data, n);
	return n;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* libcurl hands over each header line, the status lines included; a new
 * status line (after a 100 Continue or a redirect) starts a new set. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct http_client *c = p;
	struct http_response *res = c->res;
	size_t n = size * nmemb, len = n;
	char *colon;

	while (len && is_blank(data[len - 1]))
		len--;
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		clear_headers(res);
		return n;
	}
	colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return n;
	ALLOC_GROW(res->headers, res->nheaders + 1, res->alloc);
	res->headers[res->nheaders].name = xstrndup(data, colon - data);
	colon++;
	while (colon < data + len && is_blank(*colon))
		colon++;
	res->headers[res->nheaders].value =
		xstrndup(colon, data + len - colon);
	res->nheaders++;
	return n;
}

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_client *c = p;

	return atomic_load_explicit(c->opts.stop, memory_order_relaxed)
		       ? 1 : 0;
}

static long ms_of(uint64_t ns)
{
	uint64_t ms = (ns + 999999) / 1000000;

	return ms > (uint64_t)LONG_MAX ? LONG_MAX : (long)ms;
}

/* Options that stay the same for every request of the client: set once,
 * because curl_easy_reset and setting them again costs more than the rest
 * of a request to a local server. */
static void set_fixed(struct http_client *c)
{
	CURL *h = c->curl;

	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->opts.user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 ms_of(c->opts.connect_timeout_ns));
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	/* Straight to the services: a proxy from the environment would
	 * distort every timing (and libcurl would read the environment
	 * again for every request). */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	if (c->opts.stop) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	}
}

static int set_request(struct http_client *c, const struct http_request *req)
{
	CURL *h = c->curl;
	const char *method = req->method ? req->method : "GET";
	struct curl_slist *list = NULL;

	curl_slist_free_all(c->headers);
	c->headers = NULL;

	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			 req->timeout_ns ? ms_of(req->timeout_ns) : 0L);
	/* Back to a plain GET, then what this request needs. */
	curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		/* POSTFIELDS alone would turn a GET into a POST. */
		if (strcmp(method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "POST") || !strcmp(method, "PUT") ||
		   !strcmp(method, "PATCH")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)0);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		if (strcmp(method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}

	/* No "Expect: 100-continue" round trip before a body. */
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; list && i < req->nheaders; i++)
		list = curl_slist_append(list, req->headers[i]);
	if (!list)
		return -1;
	c->headers = list;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	return 0;
}

int http_client_send(struct http_client *c, const struct http_request *req,
		     struct http_response *res, char **cause)
{
	uint64_t t0;
	CURLcode rc;
	long connects = 0;

	http_response_release(res);
	c->errbuf[0] = '\0';
	c->body_too_large = false;
	c->res = res;
	if (set_request(c, req) < 0) {
		if (cause)
			*cause = xstrdup("out of memory for request headers");
		return -1;
	}

	res->start_ns = time_wall_ns();
	t0 = time_mono_ns();
	rc = curl_easy_perform(c->curl);
	res->dur_ns = time_mono_ns() - t0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
	res->new_connection = connects > 0;
	if (rc == CURLE_OK)
		return 0;

	if (cause) {
		if (c->body_too_large)
			*cause = xasprintf("%s %s: response body larger than "
					   "%zu bytes",
					   req->method ? req->method : "GET",
					   req->url, c->opts.max_body);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			*cause = xasprintf("%s %s: interrupted",
					   req->method ? req->method : "GET",
					   req->url);
		else
			*cause = xasprintf("%s %s: %s",
					   req->method ? req->method : "GET",
					   req->url,
					   c->errbuf[0] ? c->errbuf
							: curl_easy_strerror(rc));
	}
	return -1;
}
