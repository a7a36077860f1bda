/* test-load-server.h: a small HTTP server (libmicrohttpd, 127.0.0.1, a
 * port of its own choosing) that the load driver's tests and benchmark
 * talk to. It counts connections and requests and remembers the last
 * request, so tests can check what the driver sent.
 *
 * Routes:
 *   GET  /ok                 200 {"ok":true}
 *   POST /v3/auth/tokens     201 {"token":{}}, X-Subject-Token: token-N
 *   GET  /servers            200 {"servers":[]}
 *   POST /servers            202 {"server":{"id":"srv-N",...}},
 *                            X-Subject-Token: tok-N
 *   GET  /servers/ID         200 {"server":{"id":ID,"status":S}}: S is
 *                            BUILD for the first flip_after calls for ID,
 *                            then ACTIVE; ERROR when ID is "broken"
 *   DELETE /servers/ID       204, counted in deleted
 *   GET  /status/CODE        CODE {"badRequest":{"message":"bad"}}
 *   GET  /sleep              sleeps sleep_ms, then 200 {}
 *   GET  /big                200 with big_size bytes of 'x'
 *   GET  /text               200 text/plain "not json"
 *   any  /echo               200 {"method":M,"body":B,"x_test":H,"ct":C}
 * Every other path: 404.
 *
 * In TLS mode (test_server_start_tls) the same routes are served over
 * https://, with a key and a self-signed certificate for 127.0.0.1 that
 * test_tls_make_cert made. */
#ifndef TEST_LOAD_SERVER_H
#define TEST_LOAD_SERVER_H

#include <pthread.h>
#include <stddef.h>

#include "htrace.h"

struct test_server {
	struct MHD_Daemon *daemon;
	int port;
	char base[64];		/* "http://127.0.0.1:PORT" or https:// */
	char *tls_key;		/* PEM, in TLS mode */
	char *tls_cert;
	pthread_mutex_t lock;
	/* Settings, set before the requests. */
	unsigned flip_after;	/* default 3 */
	unsigned sleep_ms;
	size_t big_size;
	/* Counters. */
	unsigned connections;
	unsigned requests;
	unsigned created;
	unsigned tokens;
	unsigned deleted;
	/* The last request. */
	char last_method[16];
	char last_url[256];
	char last_body[1024];
	char last_ctype[128];
	char last_traceparent[128];
	int last_extract;	/* htrace_extract's result, -1 if not run */
	struct htrace_context last_ctx;
	/* Poll counters, per server id (small fixed table). */
	struct {
		char id[32];
		unsigned calls;
	} polls[64];
	size_t npolls;
};

/* Start the server; threads: a thread per connection when 0, else a
 * pool of that many threads (for the benchmark). Returns 0 or -1. */
int test_server_start(struct test_server *s, unsigned threads);
void test_server_stop(struct test_server *s);

/* Make a new EC key and a certificate for 127.0.0.1 (its subject and its
 * subject alternative name), signed by that key and valid from an hour
 * ago for a day, and write them as PEM to DIR/key.pem and DIR/cert.pem
 * (with libcrypto). The certificate is its own CA: a client trusts it by
 * naming cert.pem as its CA file. Returns 0 or -1. */
int test_tls_make_cert(const char *dir);

/* As test_server_start, over TLS with the PEM files key_file and
 * cert_file; base is "https://127.0.0.1:PORT". Returns 0 or -1 (also
 * when libmicrohttpd was built without TLS). */
int test_server_start_tls(struct test_server *s, unsigned threads,
			  const char *key_file, const char *cert_file);

/* Read a counter under the server's lock. */
unsigned test_server_get(struct test_server *s, const unsigned *counter);

#endif
