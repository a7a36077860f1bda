/* collect.c: the OTLP/HTTP receiver on libmicrohttpd: checks a request,
 * inflates and decodes its body, and appends its spans to the spool file
 * before it answers. */
#include "collect/collect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "collect/otlp.h"
#include "spool/spool.h"
#include "util/error.h"
#include "util/strbuf.h"

#define CT_PROTOBUF "application/x-protobuf"
#define CT_JSON "application/json"

/* google.rpc.Code values used in Status bodies. */
#define RPC_INVALID_ARGUMENT 3
#define RPC_RESOURCE_EXHAUSTED 8
#define RPC_INTERNAL 13

struct collector {
	struct MHD_Daemon *daemon;
	struct spool_file *spool;
	int sync_fd;		/* for fdatasync; -1 when not asked for */
	char *token;
	size_t max_body;
	char address[128];
	unsigned port;
	pthread_mutex_t lock;	/* serialises appends; guards stats */
	struct collect_stats stats;
};

enum req_format { FORMAT_NONE, FORMAT_PROTOBUF, FORMAT_JSON };

struct request {
	struct strbuf body;
	int too_large;
	enum req_format format;
	int gzip;
	int status;		/* decided before the body: 4xx; 0 if fine */
	const char *message;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
			       const char *ctype, const void *body, size_t len,
			       const char *hname, const char *hvalue)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					ctype);
	if (hname)
		MHD_add_response_header(resp, hname, hvalue);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn,
				    unsigned status, const char *text,
				    const char *hname, const char *hvalue)
{
	return respond(conn, status, "text/plain", text, strlen(text), hname,
		       hvalue);
}

/* A failure with a google.rpc.Status body in the request's format. */
static enum MHD_Result respond_status(struct MHD_Connection *conn,
				      enum req_format format, unsigned status,
				      int code, const char *message)
{
	struct strbuf out = STRBUF_INIT;
	enum MHD_Result ret;

	if (format == FORMAT_JSON)
		otlp_status_json(&out, code, message);
	else
		otlp_status_protobuf(&out, code, message);
	ret = respond(conn, status,
		      format == FORMAT_JSON ? CT_JSON : CT_PROTOBUF, out.buf,
		      out.len, NULL, NULL);
	strbuf_release(&out);
	return ret;
}

/* "type/subtype; params" matches type/subtype, case-insensitively. */
static int ctype_is(const char *value, const char *want)
{
	size_t n = strlen(want);

	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, want, n))
		return 0;
	value += n;
	while (*value == ' ' || *value == '\t')
		value++;
	return *value == '\0' || *value == ';';
}

static int token_ok(const struct collector *c, const char *auth)
{
	size_t n = strlen(c->token), got;
	unsigned char diff = 0;

	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	got = strlen(auth);
	while (got && auth[got - 1] == ' ')
		got--;
	if (got != n)
		return 0;
	for (size_t i = 0; i < n; i++)	/* no early exit on a mismatch */
		diff |= (unsigned char)(auth[i] ^ c->token[i]);
	return diff == 0;
}

/* Decide what to answer before the body arrives (0 when it is fine). */
static void request_check(struct collector *c, struct MHD_Connection *conn,
			  const char *url, const char *method,
			  struct request *req)
{
	const char *ctype, *enc, *len;

	ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ctype && ctype_is(ctype, CT_JSON))
		req->format = FORMAT_JSON;
	else if (ctype && ctype_is(ctype, CT_PROTOBUF))
		req->format = FORMAT_PROTOBUF;
	if (strcmp(url, "/v1/traces")) {
		req->status = MHD_HTTP_NOT_FOUND;
		req->message = "not found: this collector serves /v1/traces\n";
		return;
	}
	if (strcmp(method, "POST")) {
		req->status = MHD_HTTP_METHOD_NOT_ALLOWED;
		req->message = "method not allowed: use POST\n";
		return;
	}
	if (c->token &&
	    !token_ok(c, MHD_lookup_connection_value(
				 conn, MHD_HEADER_KIND,
				 MHD_HTTP_HEADER_AUTHORIZATION))) {
		req->status = MHD_HTTP_UNAUTHORIZED;
		req->message = "unauthorized: a bearer token is required\n";
		return;
	}
	if (req->format == FORMAT_NONE) {
		req->status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
		req->message = "unsupported media type: use " CT_PROTOBUF
			       " or " CT_JSON "\n";
		return;
	}
	enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					  MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (enc && !strcasecmp(enc, "gzip")) {
		req->gzip = 1;
	} else if (enc && *enc && strcasecmp(enc, "identity")) {
		req->status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
		req->message = "unsupported content encoding: use gzip or "
			       "identity\n";
		return;
	}
	len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					  MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (len && strtoull(len, NULL, 10) > c->max_body)
		req->too_large = 1;
}

/* Inflate a gzip body into out, at most max bytes. Returns 0, -1 when the
 * data is not valid gzip, 1 when it inflates to more than max. */
static int inflate_body(const void *in, size_t len, size_t max,
			struct strbuf *out)
{
	z_stream zs;
	int zret, ret = -1;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	for (;;) {
		size_t room;

		if (out->len > max) {
			ret = 1;
			break;
		}
		strbuf_grow(out, 65536);
		room = out->alloc - out->len - 1;
		if (room > max + 1 - out->len)
			room = max + 1 - out->len;
		zs.next_out = (Bytef *)out->buf + out->len;
		zs.avail_out = (uInt)room;
		zret = inflate(&zs, Z_NO_FLUSH);
		out->len += room - zs.avail_out;
		out->buf[out->len] = '\0';
		if (zret == Z_STREAM_END) {
			ret = out->len > max ? 1 : zs.avail_in ? -1 : 0;
			break;
		}
		if (zret != Z_OK)
			break;	/* corrupt, or truncated: no progress */
	}
	inflateEnd(&zs);
	return ret;
}

static int emit_span(const struct spool_span *s, void *payload)
{
	struct strbuf *buf = payload;
	size_t need = spool_span_size(s), n;

	if (!need || need > SPOOL_MAX_PAYLOAD + SPOOL_RECORD_HEADER_SIZE +
				    SPOOL_RECORD_TRAILER_SIZE)
		return 1;
	strbuf_grow(buf, need);
	n = spool_encode_span(buf->buf + buf->len, need, s);
	if (!n)
		return 1;
	buf->len += n;
	buf->buf[buf->len] = '\0';
	return 0;
}

static void count(struct collector *c, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&c->lock);
	*field += n;
	pthread_mutex_unlock(&c->lock);
}

/* The whole body is here: decode, write, answer. */
static enum MHD_Result request_finish(struct collector *c,
				      struct MHD_Connection *conn,
				      struct request *req)
{
	struct strbuf inflated = STRBUF_INIT, records = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;
	struct otlp_result res = { 0 };
	const struct strbuf *body = &req->body;
	enum MHD_Result mret;
	char *cause = NULL, *msg;
	int ret;

	if (req->too_large) {
		count(c, &c->stats.bad_requests, 1);
		msg = xasprintf("request body larger than %zu bytes",
				c->max_body);
		mret = respond_status(conn, req->format,
				      MHD_HTTP_CONTENT_TOO_LARGE,
				      RPC_RESOURCE_EXHAUSTED, msg);
		free(msg);
		return mret;
	}
	if (req->gzip) {
		ret = inflate_body(body->buf, body->len, c->max_body,
				   &inflated);
		if (ret) {
			count(c, &c->stats.bad_requests, 1);
			strbuf_release(&inflated);
			if (ret > 0) {
				msg = xasprintf("inflated body larger than %zu "
						"bytes", c->max_body);
				mret = respond_status(conn, req->format,
						      MHD_HTTP_CONTENT_TOO_LARGE,
						      RPC_RESOURCE_EXHAUSTED,
						      msg);
				free(msg);
				return mret;
			}
			return respond_status(conn, req->format,
					      MHD_HTTP_BAD_REQUEST,
					      RPC_INVALID_ARGUMENT,
					      "body is not valid gzip");
		}
		body = &inflated;
	}
	if (req->format == FORMAT_JSON)
		ret = otlp_decode_json(body->buf, body->len, emit_span,
				       &records, &res, &cause);
	else
		ret = otlp_decode_protobuf(body->buf, body->len, emit_span,
					   &records, &res, &cause);
	strbuf_release(&inflated);
	if (ret) {
		count(c, &c->stats.bad_requests, 1);
		mret = respond_status(conn, req->format, MHD_HTTP_BAD_REQUEST,
				      RPC_INVALID_ARGUMENT,
				      cause ? cause : "malformed request");
		goto out;
	}

	pthread_mutex_lock(&c->lock);
	ret = records.len ? spool_file_append(c->spool, records.buf,
					      records.len, &cause)
			  : 0;
	if (!ret && records.len && c->sync_fd >= 0 && fdatasync(c->sync_fd)) {
		cause = xasprintf("cannot sync '%s': %s",
				  spool_file_path(c->spool), strerror(errno));
		ret = -1;
	}
	c->stats.requests++;
	if (ret) {
		c->stats.write_errors++;
	} else {
		c->stats.spans_accepted += res.accepted;
		c->stats.spans_rejected += res.rejected;
	}
	pthread_mutex_unlock(&c->lock);
	if (ret) {
		mret = respond_status(conn, req->format,
				      MHD_HTTP_INTERNAL_SERVER_ERROR,
				      RPC_INTERNAL,
				      cause ? cause : "cannot write spans");
		goto out;
	}

	if (req->format == FORMAT_JSON)
		otlp_response_json(&out, &res);
	else
		otlp_response_protobuf(&out, &res);
	mret = respond(conn, MHD_HTTP_OK,
		       req->format == FORMAT_JSON ? CT_JSON : CT_PROTOBUF,
		       out.buf, out.len, NULL, NULL);
out:
	free(cause);
	otlp_result_release(&res);
	strbuf_release(&records);
	strbuf_release(&out);
	return mret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct collector *c = cls;
	struct request *req = *con_cls;

	if (!req) {
		req = xcalloc(1, sizeof(*req));
		strbuf_init(&req->body);
		request_check(c, conn, url, method, req);
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past a limit or after a refusal, the rest is discarded. */
		if (!req->status && !req->too_large) {
			if (req->body.len + *upload_data_size > c->max_body) {
				req->too_large = 1;
				strbuf_release(&req->body);
			} else {
				strbuf_add(&req->body, upload_data,
					   *upload_data_size);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->status) {
		count(c, &c->stats.bad_requests, 1);
		if (req->status == MHD_HTTP_METHOD_NOT_ALLOWED)
			return respond_text(conn, req->status, req->message,
					    MHD_HTTP_HEADER_ALLOW, "POST");
		if (req->status == MHD_HTTP_UNAUTHORIZED)
			return respond_text(conn, req->status, req->message,
					    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					    "Bearer");
		return respond_text(conn, req->status, req->message, NULL,
				    NULL);
	}
	return request_finish(c, conn, req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (!req)
		return;
	strbuf_release(&req->body);
	free(req);
	*con_cls = NULL;
}

/* "HOST:PORT" or "[V6]:PORT" into an address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss,
			socklen_t *sslen, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	const char *colon = strrchr(listen, ':');
	char host[256], *end;
	unsigned long port;
	size_t n;
	int gai;

	if (!colon || colon == listen)
		goto bad;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		goto bad;
	n = (size_t)(colon - listen);
	if (listen[0] == '[') {
		if (n < 3 || listen[n - 1] != ']')
			goto bad;
		listen++;
		n -= 2;
	}
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, listen, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(host, NULL, &hints, &ai);
	if (gai || !ai) {
		*cause = xasprintf("cannot resolve '%s': %s", host,
				   gai_strerror(gai));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
bad:
	*cause = xasprintf("bad listen address '%s': want ADDR:PORT", listen);
	return -1;
}

int collect_start(struct collector **out, const struct collect_options *opts,
		  char **cause)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct collector *c;
	socklen_t sslen;
	char host[INET6_ADDRSTRLEN];
	unsigned flags;

	*out = NULL;
	if (!opts->spool_dir) {
		*cause = xstrdup("no spool directory given");
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->sync_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->max_body = opts->max_body ? opts->max_body
				     : COLLECT_DEFAULT_MAX_BODY;
	if (opts->token && *opts->token)
		c->token = xstrdup(opts->token);
	if (parse_listen(opts->listen ? opts->listen : COLLECT_DEFAULT_LISTEN,
			 &ss, &sslen, cause))
		goto fail;
	if (spool_file_create(&c->spool, opts->spool_dir, "collector", cause))
		goto fail;
	if (opts->fsync) {
		c->sync_fd = open(spool_file_path(c->spool),
				  O_RDONLY | O_CLOEXEC);
		if (c->sync_fd < 0) {
			*cause = xasprintf("cannot open '%s': %s",
					   spool_file_path(c->spool),
					   strerror(errno));
			goto fail;
		}
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	c->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, c, MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_NOTIFY_COMPLETED, completed, c,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_END);
	if (!c->daemon) {
		*cause = xasprintf("cannot listen on '%s': %s",
				   opts->listen ? opts->listen
						: COLLECT_DEFAULT_LISTEN,
				   strerror(errno));
		goto fail;
	}
	info = MHD_get_daemon_info(c->daemon, MHD_DAEMON_INFO_BIND_PORT);
	c->port = info ? info->port : 0;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
			  sizeof(host));
		snprintf(c->address, sizeof(c->address), "%s:%u", host,
			 c->port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  host, sizeof(host));
		snprintf(c->address, sizeof(c->address), "[%s]:%u", host,
			 c->port);
	}
	*out = c;
	return 0;
fail:
	if (c->spool)
		unlink(spool_file_path(c->spool));
	collect_stop(c);
	return -1;
}

const char *collect_address(const struct collector *c)
{
	return c->address;
}

unsigned collect_port(const struct collector *c)
{
	return c->port;
}

const char *collect_spool_path(const struct collector *c)
{
	return spool_file_path(c->spool);
}

void collect_stats(const struct collector *c, struct collect_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*out = c->stats;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
}

void collect_stop_listening(struct collector *c)
{
	if (c->daemon)
		MHD_stop_daemon(c->daemon);
	c->daemon = NULL;
}

void collect_stop(struct collector *c)
{
	if (!c)
		return;
	collect_stop_listening(c);
	spool_file_free(c->spool);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	pthread_mutex_destroy(&c->lock);
	free(c->token);
	free(c);
}
