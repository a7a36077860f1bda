/* http.h: the load driver's HTTP client, a thin layer over one libcurl easy
 * handle driven through a multi handle of its own. A worker thread owns one
 * client and sends all its requests through it, so connections stay open
 * between requests. Internal to harness/load. */
#ifndef HARNESS_LOAD_HTTP_H
#define HARNESS_LOAD_HTTP_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* The default bound on a response body: larger bodies fail the request. */
#define HTTP_MAX_BODY_DEFAULT ((size_t)16 << 20)

struct http_client_options {
	uint64_t connect_timeout_ns;	/* 0: 10s */
	size_t max_body;		/* 0: HTTP_MAX_BODY_DEFAULT */
	const char *user_agent;		/* NULL: "harness/VERSION" */
	/* When set and *stop becomes nonzero, a request in flight is
	 * aborted (within HTTP_STOP_POLL_MS). */
	const atomic_int *stop;
};

/* How often a client waiting for a response looks at the stop flag. */
#define HTTP_STOP_POLL_MS 50

struct http_client {
	void *curl;		/* CURL * */
	/* CURLM *, holding the connection and DNS caches between requests;
	 * the client waits on its sockets itself (poll), so that libcurl
	 * need not poll them again to learn what the wait found. */
	void *multi;
	struct pollfd *pfds;	/* the sockets libcurl wants watched */
	size_t npfds, apfds;
	/* libcurl's timer: timer_ms as it came (-1: none), made a due time
	 * (monotonic) at the next look at the clock. */
	long timer_ms;
	bool timer_new;
	uint64_t timer_due;
	/* What libcurl has from the last request, not set again when the
	 * next one is the same: the URL (text and parsed), the header lines
	 * ("Expect:" first). */
	struct strbuf url;
	void *curlu;		/* CURLU * */
	void *headers;		/* struct curl_slist * */
	size_t nheaders;
	struct http_client_options opts;
	char errbuf[256];	/* CURL_ERROR_SIZE */
	struct http_response *res;	/* of the request in flight */
	bool body_too_large;
};

struct http_header {
	const char *name;	/* borrowed from the response's hbuf */
	const char *value;
	size_t name_at, value_at;	/* their offsets in hbuf */
};

struct http_request {
	const char *method;	/* NULL: GET */
	const char *url;
	/* "Name: value" lines, borrowed for the call. */
	const char *const *headers;
	size_t nheaders;
	const char *body;	/* NULL: none */
	size_t body_len;
	uint64_t timeout_ns;	/* whole request; 0: none */
};

struct http_response {
	long status;
	/* Headers of the final response (not of a 100 Continue), in order. */
	struct http_header *headers;
	size_t nheaders;
	size_t alloc;
	struct strbuf hbuf;	/* "name\0value\0" of every header */
	struct strbuf body;
	uint64_t start_ns;	/* wall clock when the request began */
	uint64_t dur_ns;	/* monotonic, until the last byte */
	bool new_connection;	/* a connection was opened for this request */
};

/* Initialise a client; the caller calls http_client_release. Returns -1
 * with *cause set (caller frees) when libcurl cannot make a handle. */
int http_client_init(struct http_client *c,
		     const struct http_client_options *opts, char **cause);
void http_client_release(struct http_client *c);

/* Send req and fill res (which the caller has initialised with
 * http_response_init; earlier contents are dropped, its buffers reused).
 * Returns 0 when a
 * response arrived, whatever its status, or -1 with *cause set (caller
 * frees): "cannot connect to 'URL': ...", a timeout, a body larger than
 * the bound, an abort by the stop flag. */
int http_client_send(struct http_client *c, const struct http_request *req,
		     struct http_response *res, char **cause);

void http_response_init(struct http_response *res);
void http_response_release(struct http_response *res);

/* The value of the first header called name (case-insensitive), borrowed
 * from res; NULL when there is none. */
const char *http_response_header(const struct http_response *res,
				 const char *name);

/* Make libcurl ready for use by several threads; call once before any
 * http_client_init (safe to call more than once). */
void http_global_init(void);

#endif
