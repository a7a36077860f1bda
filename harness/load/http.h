/* http.h: the load driver's HTTP client, a thin layer over libcurl's multi
 * interface. A worker thread owns one client and has one handle per
 * request it keeps in flight at once; connections stay open between
 * requests in the client's cache. Internal to harness/load. */
#ifndef HARNESS_LOAD_HTTP_H
#define HARNESS_LOAD_HTTP_H

#include <poll.h>
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
	/* https://: the PEM file of the CAs to trust (borrowed until the
	 * client's handles are made; NULL: the system's CAs), or no check
	 * of the certificate and host name at all (insecure). */
	const char *ca_file;
	bool insecure;
};

/* One per worker thread: a libcurl multi handle, whose connection and DNS
 * caches the client's handles share, and the sockets and timer libcurl
 * asks to have watched. The client waits on them itself (ppoll), so that
 * libcurl need not poll them again to learn what the wait found. */
struct http_client {
	void *multi;		/* CURLM * */
	struct pollfd *pfds;	/* the sockets libcurl wants watched */
	size_t npfds, apfds;
	/* libcurl's timer: timer_ms as it came (-1: none), made a due time
	 * (monotonic) at the next look at the clock. */
	long timer_ms;
	bool timer_new;
	uint64_t timer_due;
	struct http_client_options opts;
};

struct http_handle;

/* Called from http_client_wait when h's request has finished, whatever
 * the outcome (http_handle_result tells). */
typedef void http_done_fn(struct http_handle *h, void *payload);

/* One request at a time through a client: a libcurl easy handle, and what
 * libcurl has from the last request, not set again when the next one is
 * the same (the URL, text and parsed; the header lines). */
struct http_handle {
	struct http_client *client;
	void *curl;		/* CURL * */
	void *curlu;		/* CURLU * */
	void *headers;		/* struct curl_slist * */
	size_t nheaders;	/* req's lines in it */
	bool expect;		/* "Expect:" ahead of them */
	struct strbuf url;
	struct strbuf method;	/* of the request in flight, for messages */
	char errbuf[256];	/* CURL_ERROR_SIZE */
	struct http_response *res;	/* of the request in flight */
	bool body_too_large;
	bool busy;		/* a request is in flight */
	uint64_t t0;		/* monotonic, when it began */
	/* The outcome of the last finished request. */
	int result;
	char *cause;
	http_done_fn *on_done;
	void *payload;
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
/* Release the client; its handles must be released first. */
void http_client_release(struct http_client *c);

/* Wait on the client's sockets and libcurl's timer until at least one
 * request has finished or the monotonic time until_mono has come (0:
 * until a request finishes), and call the on_done of each request that
 * finished. Returns 0, or -1 with *cause set (caller frees) when the wait
 * itself failed. */
int http_client_wait(struct http_client *c, uint64_t until_mono,
		     char **cause);

/* A handle of client c whose finished requests are told to
 * on_done(h, payload). Returns -1 with *cause set when libcurl cannot
 * make a handle; release it with http_handle_release either way. */
int http_handle_init(struct http_handle *h, struct http_client *c,
		     http_done_fn *on_done, void *payload, char **cause);
/* Release h, aborting a request in flight. */
void http_handle_release(struct http_handle *h);

/* Begin sending req (borrowed for the call only) through h, which must
 * not be busy; res (initialised with http_response_init; earlier contents
 * are dropped, its buffers reused) is filled as the response comes, and
 * belongs to the request until it finishes. Returns 0, or -1 with *cause
 * set when the request cannot begin (not a URL). */
int http_handle_start(struct http_handle *h, const struct http_request *req,
		      struct http_response *res, char **cause);
/* Abort h's request in flight, if any, without calling on_done; its
 * connection is closed. */
void http_handle_abort(struct http_handle *h);
/* The outcome of h's last finished request: 0 when a response arrived,
 * whatever its status, or -1 with *cause taken over by the caller. */
int http_handle_result(struct http_handle *h, char **cause);

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
