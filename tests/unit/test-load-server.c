/* test-load-server.c: the libmicrohttpd server that the load driver's tests
 * and benchmark send their requests to (routes in test-load-server.h), over
 * http:// or https://, and the certificate its TLS mode serves. */
#include "test-load-server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/strbuf.h"

struct req_state {
	struct strbuf body;
};

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *ctype, const char *body, size_t len,
			     const char *hname, const char *hvalue)
{
	struct MHD_Response *res;
	enum MHD_Result ret;

	res = MHD_create_response_from_buffer(len, (void *)body,
					      MHD_RESPMEM_MUST_COPY);
	if (!res)
		return MHD_NO;
	MHD_add_response_header(res, "Content-Type", ctype);
	if (hname)
		MHD_add_response_header(res, hname, hvalue);
	ret = MHD_queue_response(conn, status, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn,
				  unsigned status, const char *body)
{
	return reply(conn, status, "application/json", body, strlen(body),
		     NULL, NULL);
}

static const char *get_header(const char *name, void *payload)
{
	return MHD_lookup_connection_value(payload, MHD_HEADER_KIND, name);
}

static unsigned poll_calls(struct test_server *s, const char *id)
{
	for (size_t i = 0; i < s->npolls; i++)
		if (!strcmp(s->polls[i].id, id))
			return ++s->polls[i].calls;
	if (s->npolls < sizeof(s->polls) / sizeof(s->polls[0])) {
		copy(s->polls[s->npolls].id, sizeof(s->polls[0].id), id);
		s->polls[s->npolls++].calls = 1;
	}
	return 1;
}

static void remember(struct test_server *s, struct MHD_Connection *conn,
		     const char *method, const char *url,
		     const struct strbuf *body)
{
	struct htrace_context ctx;
	int r;

	r = htrace_extract(get_header, conn, &ctx);
	pthread_mutex_lock(&s->lock);
	s->requests++;
	copy(s->last_method, sizeof(s->last_method), method);
	copy(s->last_url, sizeof(s->last_url), url);
	copy(s->last_body, sizeof(s->last_body), body->buf);
	copy(s->last_ctype, sizeof(s->last_ctype),
	     get_header("Content-Type", conn));
	copy(s->last_traceparent, sizeof(s->last_traceparent),
	     get_header("traceparent", conn));
	s->last_extract = r;
	if (r == HTRACE_EXTRACT_OK)
		s->last_ctx = ctx;
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result route(struct test_server *s,
			     struct MHD_Connection *conn, const char *method,
			     const char *url, const struct strbuf *body)
{
	char buf[512];
	unsigned n;

	if (!strcmp(url, "/ok"))
		return reply_json(conn, 200, "{\"ok\":true}");
	if (!strcmp(url, "/servers") && !strcmp(method, "GET"))
		return reply_json(conn, 200, "{\"servers\":[]}");
	if (!strcmp(url, "/servers") && !strcmp(method, "POST")) {
		pthread_mutex_lock(&s->lock);
		n = ++s->created;
		pthread_mutex_unlock(&s->lock);
		snprintf(buf, sizeof(buf),
			 "{\"server\":{\"id\":\"srv-%u\",\"n\":%u,"
			 "\"ok\":true,\"ratio\":0.5,\"none\":null,"
			 "\"tags\":[\"a\",{\"k\":[1,2,3]}]}}",
			 n, n);
		char token[32];
		snprintf(token, sizeof(token), "tok-%u", n);
		return reply(conn, 202, "application/json", buf, strlen(buf),
			     "X-Subject-Token", token);
	}
	if (!strcmp(url, "/v3/auth/tokens") && !strcmp(method, "POST")) {
		pthread_mutex_lock(&s->lock);
		n = ++s->tokens;
		pthread_mutex_unlock(&s->lock);
		char token[32];
		snprintf(token, sizeof(token), "token-%u", n);
		return reply(conn, 201, "application/json",
			     "{\"token\":{}}", strlen("{\"token\":{}}"),
			     "X-Subject-Token", token);
	}
	if (!strncmp(url, "/servers/", 9) && !strcmp(method, "DELETE")) {
		pthread_mutex_lock(&s->lock);
		s->deleted++;
		pthread_mutex_unlock(&s->lock);
		return reply(conn, 204, "application/json", "", 0, NULL, NULL);
	}
	if (!strncmp(url, "/servers/", 9)) {
		const char *id = url + 9;
		const char *status;

		pthread_mutex_lock(&s->lock);
		n = poll_calls(s, id);
		status = !strcmp(id, "broken") ? "ERROR"
			 : n > s->flip_after ? "ACTIVE" : "BUILD";
		pthread_mutex_unlock(&s->lock);
		snprintf(buf, sizeof(buf),
			 "{\"server\":{\"id\":\"%s\",\"status\":\"%s\"}}", id,
			 status);
		return reply_json(conn, 200, buf);
	}
	if (!strncmp(url, "/status/", 8))
		return reply_json(conn, (unsigned)atoi(url + 8),
				  "{\"badRequest\":{\"message\":\"bad\"}}");
	if (!strcmp(url, "/sleep")) {
		struct timespec ts;

		pthread_mutex_lock(&s->lock);
		ts.tv_sec = s->sleep_ms / 1000;
		ts.tv_nsec = (long)(s->sleep_ms % 1000) * 1000000;
		pthread_mutex_unlock(&s->lock);
		nanosleep(&ts, NULL);
		return reply_json(conn, 200, "{}");
	}
	if (!strcmp(url, "/big")) {
		char *big = malloc(s->big_size);
		enum MHD_Result r;

		if (!big)
			return MHD_NO;
		memset(big, 'x', s->big_size);
		r = reply(conn, 200, "text/plain", big, s->big_size, NULL,
			  NULL);
		free(big);
		return r;
	}
	if (!strcmp(url, "/text"))
		return reply(conn, 200, "text/plain", "not json", 8, NULL,
			     NULL);
	if (!strcmp(url, "/echo")) {
		struct strbuf sb = STRBUF_INIT;
		enum MHD_Result r;
		const char *xt = get_header("X-Test", conn);

		strbuf_addf(&sb, "{\"method\":\"%s\",\"x_test\":\"%s\","
				 "\"body\":%s}",
			    method, xt ? xt : "", body->len ? body->buf
							    : "null");
		r = reply_json(conn, 200, sb.buf);
		strbuf_release(&sb);
		return r;
	}
	return reply_json(conn, 404, "{\"itemNotFound\":{}}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct test_server *s = cls;
	struct req_state *st = *con_cls;

	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		strbuf_init(&st->body);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		strbuf_add(&st->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	remember(s, conn, method, url, &st->body);
	return route(s, conn, method, url, &st->body);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode code)
{
	struct req_state *st = *con_cls;

	if (st) {
		strbuf_release(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct test_server *s = cls;

	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	pthread_mutex_lock(&s->lock);
	s->connections++;
	pthread_mutex_unlock(&s->lock);
}

/* Start the daemon, over TLS when s->tls_key is set. */
static int start(struct test_server *s, unsigned threads)
{
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert },
		{ MHD_OPTION_END, 0, NULL },
	};

	pthread_mutex_init(&s->lock, NULL);
	s->flip_after = 3;
	s->big_size = 1024;
	s->last_extract = -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = 0;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!threads)
		flags |= MHD_USE_THREAD_PER_CONNECTION;
	else
		flags |= MHD_USE_EPOLL;
	if (s->tls_key)
		flags |= MHD_USE_TLS;
	s->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_ARRAY, s->tls_key ? tls : tls + 2,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_CONNECTION_LIMIT, 1000u,
		threads ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		threads, MHD_OPTION_END);
	if (!s->daemon)
		return -1;
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		MHD_stop_daemon(s->daemon);
		s->daemon = NULL;
		return -1;
	}
	s->port = info->port;
	snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%d",
		 s->tls_key ? "https" : "http", s->port);
	return 0;
}

int test_server_start(struct test_server *s, unsigned threads)
{
	memset(s, 0, sizeof(*s));
	return start(s, threads);
}

static char *read_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path) < 0) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

int test_server_start_tls(struct test_server *s, unsigned threads,
			  const char *key_file, const char *cert_file)
{
	memset(s, 0, sizeof(*s));
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return -1;
	/* libmicrohttpd reads them as it starts; kept until the stop all
	 * the same. */
	s->tls_key = read_file(key_file);
	s->tls_cert = read_file(cert_file);
	if (!s->tls_key || !s->tls_cert || start(s, threads) < 0) {
		free(s->tls_key);
		free(s->tls_cert);
		s->tls_key = s->tls_cert = NULL;
		return -1;
	}
	return 0;
}

void test_server_stop(struct test_server *s)
{
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	free(s->tls_key);
	free(s->tls_cert);
	s->tls_key = s->tls_cert = NULL;
	pthread_mutex_destroy(&s->lock);
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int write_pem(const char *dir, const char *name, EVP_PKEY *key,
		     X509 *x)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, x);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int test_tls_make_cert(const char *dir)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	int ret = -1;

	if (!key || !x)
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"127.0.0.1",
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto out;
	/* The host name check looks at the subject alternative name; as
	 * its own CA, the certificate may sign (itself). */
	if (add_ext(x, NID_subject_alt_name, "IP:127.0.0.1") ||
	    add_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
	    add_ext(x, NID_key_usage,
		    "critical,digitalSignature,keyCertSign") ||
	    add_ext(x, NID_subject_key_identifier, "hash") ||
	    add_ext(x, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (!X509_sign(x, key, EVP_sha256()))
		goto out;
	if (write_pem(dir, "key.pem", key, NULL) ||
	    write_pem(dir, "cert.pem", NULL, x))
		goto out;
	ret = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

unsigned test_server_get(struct test_server *s, const unsigned *counter)
{
	unsigned v;

	pthread_mutex_lock(&s->lock);
	v = *counter;
	pthread_mutex_unlock(&s->lock);
	return v;
}
