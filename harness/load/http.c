/* http.c: libcurl easy handles run through one multi handle per worker,
 * which the client drives itself (socket callbacks and its own ppoll) and
 * never closes while the worker runs, so that its connection cache keeps
 * connections alive. */
#include "load/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "util/error.h"
#include "util/timeutil.h"

#define NS_PER_MS 1000000ULL

static void set_fixed(struct http_handle *h);
static int on_socket(CURL *e, curl_socket_t s, int what, void *p, void *sp);
static int on_timer(CURLM *m, long timeout_ms, void *p);

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
	c->timer_ms = -1;
	c->multi = curl_multi_init();
	if (!c->multi) {
		if (cause)
			*cause = xstrdup("cannot create a libcurl handle");
		return -1;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return 0;
}

void http_client_release(struct http_client *c)
{
	/* The handles are gone: the multi's cache closes the connections. */
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c->pfds);
	memset(c, 0, sizeof(*c));
}

int http_handle_init(struct http_handle *h, struct http_client *c,
		     http_done_fn *on_done, void *payload, char **cause)
{
	memset(h, 0, sizeof(*h));
	strbuf_init(&h->url);
	strbuf_init(&h->method);
	h->client = c;
	h->on_done = on_done;
	h->payload = payload;
	h->curl = curl_easy_init();
	h->curlu = curl_url();
	if (!h->curl || !h->curlu) {
		if (cause)
			*cause = xstrdup("cannot create a libcurl handle");
		return -1;
	}
	curl_easy_setopt(h->curl, CURLOPT_PRIVATE, h);
	set_fixed(h);
	return 0;
}

void http_handle_release(struct http_handle *h)
{
	if (!h->client)
		return;
	http_handle_abort(h);
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_url_cleanup(h->curlu);
	curl_slist_free_all(h->headers);
	strbuf_release(&h->url);
	strbuf_release(&h->method);
	free(h->cause);
	memset(h, 0, sizeof(*h));
}

void http_response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->hbuf);
	strbuf_init(&res->body);
}

void http_response_release(struct http_response *res)
{
	free(res->headers);
	strbuf_release(&res->hbuf);
	strbuf_release(&res->body);
	http_response_init(res);
}

/* Drop the contents, keep the buffers for the next request. */
static void response_reset(struct http_response *res)
{
	res->status = 0;
	res->nheaders = 0;
	strbuf_reset(&res->hbuf);
	strbuf_reset(&res->body);
	res->start_ns = 0;
	res->dur_ns = 0;
	res->new_connection = false;
}

/* Point the headers into hbuf, which may have moved as it grew. */
static void fix_headers(struct http_response *res)
{
	for (size_t i = 0; i < res->nheaders; i++) {
		res->headers[i].name = res->hbuf.buf + res->headers[i].name_at;
		res->headers[i].value =
			res->hbuf.buf + res->headers[i].value_at;
	}
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
	struct http_handle *h = p;
	size_t n = size * nmemb;

	if (h->res->body.len + n > h->client->opts.max_body) {
		h->body_too_large = true;
		return 0;	/* makes libcurl fail with CURLE_WRITE_ERROR */
	}
	strbuf_add(&h->res->body, data, n);
	return n;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* libcurl hands over each header line, the status lines included; a new
 * status line (after a 100 Continue or a redirect) starts a new set. The
 * text goes to one buffer, so that a response costs no allocation per
 * header once the buffers have grown. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct http_handle *hd = p;
	struct http_response *res = hd->res;
	struct http_header *h;
	size_t n = size * nmemb, len = n;
	char *colon;

	while (len && is_blank(data[len - 1]))
		len--;
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		res->nheaders = 0;
		strbuf_reset(&res->hbuf);
		return n;
	}
	colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return n;
	ALLOC_GROW(res->headers, res->nheaders + 1, res->alloc);
	h = &res->headers[res->nheaders++];
	h->name_at = res->hbuf.len;
	strbuf_add(&res->hbuf, data, (size_t)(colon - data));
	strbuf_addch(&res->hbuf, '\0');
	colon++;
	while (colon < data + len && is_blank(*colon))
		colon++;
	h->value_at = res->hbuf.len;
	strbuf_add(&res->hbuf, colon, (size_t)(data + len - colon));
	strbuf_addch(&res->hbuf, '\0');
	return n;
}

/* libcurl tells which sockets to watch and for what; the client's poll
 * set follows, without a system call. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *p, void *sp)
{
	struct http_client *c = p;
	size_t i;

	(void)e;
	(void)sp;
	for (i = 0; i < c->npfds; i++)
		if (c->pfds[i].fd == s)
			break;
	if (what == CURL_POLL_REMOVE) {
		if (i < c->npfds)
			c->pfds[i] = c->pfds[--c->npfds];
		return 0;
	}
	if (i == c->npfds) {
		ALLOC_GROW(c->pfds, c->npfds + 1, c->apfds);
		c->npfds++;
		c->pfds[i].fd = s;
	}
	c->pfds[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) |
				    (what & CURL_POLL_OUT ? POLLOUT : 0));
	c->pfds[i].revents = 0;
	return 0;
}

/* libcurl moves its timer several times a request: the clock is read
 * once, by the loop that waits. */
static int on_timer(CURLM *m, long timeout_ms, void *p)
{
	struct http_client *c = p;

	(void)m;
	c->timer_ms = timeout_ms;
	c->timer_new = true;
	return 0;
}

static long ms_of(uint64_t ns)
{
	uint64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;

	return ms > (uint64_t)LONG_MAX ? LONG_MAX : (long)ms;
}

/* Options that stay the same for every request of the client: set once,
 * because curl_easy_reset and setting them again costs more than the rest
 * of a request to a local server. No progress callback: the client looks
 * at the stop flag itself between waits. */
static void set_fixed(struct http_handle *hd)
{
	struct http_client *c = hd->client;
	CURL *h = hd->curl;

	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, hd->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->opts.user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 ms_of(c->opts.connect_timeout_ns));
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	/* Straight to the services: a proxy from the environment would
	 * distort every timing (and libcurl would read the environment
	 * again for every request). */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, hd);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, hd);
	/* Left at libcurl's defaults (the system's CAs, every check on)
	 * unless the config says otherwise; libcurl copies the path. */
	if (c->opts.ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.ca_file);
	if (c->opts.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* The header lines of req, behind "Expect:" when there is a body (no
 * 100-continue round trip before it): the list libcurl has when they are
 * the same as last time, which they mostly are. A request with neither
 * body nor headers has none, which spares libcurl a walk over them.
 * Returns -1 out of memory. */
static int set_headers(struct http_handle *h, const struct http_request *req)
{
	struct curl_slist *list = h->headers, *l;
	bool expect = req->body != NULL;
	size_t i = 0;

	if (h->nheaders == req->nheaders && h->expect == expect) {
		/* Lines of the same length are written over in place (the
		 * list is ours; libcurl reads it when a request begins): the
		 * trace headers change every request, never their length. */
		for (l = expect && list ? list->next : list;
		     l && i < req->nheaders; l = l->next, i++)
			if (strlen(l->data) != strlen(req->headers[i]))
				break;
		if (i == req->nheaders) {
			i = 0;
			for (l = expect && list ? list->next : list; l;
			     l = l->next, i++)
				memcpy(l->data, req->headers[i],
				       strlen(req->headers[i]));
			return 0;
		}
		i = 0;
	}
	curl_slist_free_all(h->headers);
	h->headers = NULL;
	h->nheaders = 0;
	h->expect = false;
	list = NULL;
	if (expect && !(list = curl_slist_append(NULL, "Expect:")))
		goto fail;
	for (i = 0; i < req->nheaders; i++) {
		l = curl_slist_append(list, req->headers[i]);
		if (!l)
			goto fail;
		list = l;
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, list);
	h->headers = list;
	h->nheaders = req->nheaders;
	h->expect = expect;
	return 0;
fail:
	curl_slist_free_all(list);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	return -1;
}

/* The URL, parsed here once for as long as it stays the same (libcurl
 * would parse the text again for every request), with the flags libcurl
 * uses for a URL given as text. Returns -1 with *cause set when it is not
 * a URL. */
static int set_url(struct http_handle *h, const struct http_request *req,
		   char **cause)
{
	CURLUcode uc;

	if (h->url.len && !strcmp(h->url.buf, req->url))
		return 0;
	strbuf_reset(&h->url);
	uc = curl_url_set(h->curlu, CURLUPART_URL, req->url,
			  CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);
	if (uc != CURLUE_OK) {
		if (cause)
			*cause = xasprintf("%s %s: %s", h->method.buf, req->url,
					   curl_url_strerror(uc));
		return -1;
	}
	curl_easy_setopt(h->curl, CURLOPT_CURLU, h->curlu);
	strbuf_addstr(&h->url, req->url);
	return 0;
}

static int set_request(struct http_handle *hd, const struct http_request *req,
		       char **cause)
{
	CURL *h = hd->curl;
	const char *method = hd->method.buf;

	if (set_url(hd, req, cause) < 0)
		return -1;
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
	if (set_headers(hd, req) < 0) {
		if (cause)
			*cause = xstrdup("out of memory for request headers");
		return -1;
	}
	return 0;
}

int http_handle_start(struct http_handle *h, const struct http_request *req,
		      struct http_response *res, char **cause)
{
	CURLMcode mc;

	strbuf_reset(&h->method);
	strbuf_addstr(&h->method, req->method ? req->method : "GET");
	response_reset(res);
	h->errbuf[0] = '\0';
	h->body_too_large = false;
	h->result = -1;
	free(h->cause);
	h->cause = NULL;
	if (set_request(h, req, cause) < 0)
		return -1;
	h->res = res;
	res->start_ns = time_wall_ns();
	h->t0 = time_mono_ns();
	mc = curl_multi_add_handle(h->client->multi, h->curl);
	if (mc != CURLM_OK) {
		h->res = NULL;
		if (cause)
			*cause = xasprintf("%s %s: %s", h->method.buf,
					   h->url.buf,
					   curl_multi_strerror(mc));
		return -1;
	}
	h->busy = true;
	return 0;
}

void http_handle_abort(struct http_handle *h)
{
	if (!h->busy)
		return;
	/* An unfinished transfer's connection is closed. */
	curl_multi_remove_handle(h->client->multi, h->curl);
	h->busy = false;
	h->res = NULL;
}

int http_handle_result(struct http_handle *h, char **cause)
{
	if (cause) {
		*cause = h->cause;
		h->cause = NULL;
	}
	return h->result;
}

/* h's transfer is over with rc: the response completed, the outcome set,
 * then on_done. */
static void finish(struct http_handle *h, CURLcode rc, uint64_t now)
{
	struct http_response *res = h->res;
	long connects = 0;

	res->dur_ns = now - h->t0;
	curl_multi_remove_handle(h->client->multi, h->curl);
	h->busy = false;
	h->res = NULL;
	fix_headers(res);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects);
	res->new_connection = connects > 0;
	if (rc == CURLE_OK)
		h->result = 0;
	else if (h->body_too_large)
		h->cause = xasprintf("%s %s: response body larger than %zu "
				     "bytes",
				     h->method.buf, h->url.buf,
				     h->client->opts.max_body);
	else
		h->cause = xasprintf("%s %s: %s%s", h->method.buf, h->url.buf,
				     h->errbuf[0] ? h->errbuf
						  : curl_easy_strerror(rc),
				     rc == CURLE_PEER_FAILED_VERIFICATION
					     ? CONFIG_TLS_HINT
					     : "");
	if (h->on_done)
		h->on_done(h, h->payload);
}

/* Finish every transfer libcurl reports done; returns how many. */
static unsigned reap(struct http_client *c)
{
	uint64_t now = 0;
	unsigned n = 0;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct http_handle *h = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &h);
		if (!h || !h->busy)
			continue;
		if (!now)
			now = time_mono_ns();
		finish(h, msg->data.result, now);
		n++;
	}
	return n;
}

/* Tell libcurl what the poll found on each socket. The callbacks may
 * change the set meanwhile, so the ready ones are taken first. */
static CURLMcode act_on_sockets(struct http_client *c, int nready)
{
	struct {
		curl_socket_t fd;
		int bits;
	} stack_ready[16], *ready = stack_ready;
	size_t n = 0;
	int running;
	CURLMcode mc = CURLM_OK;

	if ((size_t)nready > sizeof(stack_ready) / sizeof(stack_ready[0]))
		ready = xcalloc((size_t)nready, sizeof(*ready));
	for (size_t i = 0; i < c->npfds && n < (size_t)nready; i++) {
		short re = c->pfds[i].revents;

		if (!re)
			continue;
		ready[n].fd = c->pfds[i].fd;
		ready[n].bits = 0;
		if (re & (POLLIN | POLLHUP))
			ready[n].bits |= CURL_CSELECT_IN;
		if (re & POLLOUT)
			ready[n].bits |= CURL_CSELECT_OUT;
		if (re & (POLLERR | POLLNVAL))
			ready[n].bits |= CURL_CSELECT_ERR;
		n++;
	}
	for (size_t i = 0; i < n && mc == CURLM_OK; i++)
		mc = curl_multi_socket_action(c->multi, ready[i].fd,
					      ready[i].bits, &running);
	if (ready != stack_ready)
		free(ready);
	return mc;
}

int http_client_wait(struct http_client *c, uint64_t until_mono,
		     char **cause)
{
	CURLMcode mc = CURLM_OK;
	uint64_t now = time_mono_ns();
	int running;

	for (;;) {
		uint64_t due = until_mono;
		struct timespec ts, *tsp = NULL;
		int n;

		if (c->timer_new) {
			c->timer_new = false;
			c->timer_due = now + (uint64_t)(c->timer_ms > 0 ?
							c->timer_ms : 0) *
						     NS_PER_MS;
		}
		if (c->timer_ms >= 0) {
			if (now >= c->timer_due) {
				c->timer_ms = -1;
				mc = curl_multi_socket_action(
					c->multi, CURL_SOCKET_TIMEOUT, 0,
					&running);
				if (mc != CURLM_OK)
					break;
				if (reap(c))
					return 0;
				now = time_mono_ns();
				continue;
			}
			if (!due || c->timer_due < due)
				due = c->timer_due;
		}
		if (due) {
			uint64_t left = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(left / 1000000000ULL);
			ts.tv_nsec = (long)(left % 1000000000ULL);
			tsp = &ts;
		}
		n = ppoll(c->pfds, (nfds_t)c->npfds, tsp, NULL);
		if (n < 0 && errno != EINTR) {
			if (cause)
				*cause = xasprintf("cannot wait for HTTP "
						   "responses: %s",
						   strerror(errno));
			return -1;
		}
		if (n > 0) {
			mc = act_on_sockets(c, n);
			if (mc != CURLM_OK)
				break;
			if (reap(c))
				return 0;
		}
		now = time_mono_ns();
		if (until_mono && now >= until_mono)
			return 0;
	}
	if (cause)
		*cause = xasprintf("cannot drive HTTP requests: %s",
				   curl_multi_strerror(mc));
	return -1;
}
