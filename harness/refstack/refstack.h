/* refstack.h: what the six services of the reference stack share: the
 * process state, the HTTP server and client, the RPC layer and SQLite
 * access, each operation traced with libhtrace. */
#ifndef HARNESS_REFSTACK_H
#define HARNESS_REFSTACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "htrace.h"
#include "refstack/knobs.h"
#include "util/strbuf.h"

/* Largest request body a service reads; more is answered with 413. */
#define RS_MAX_BODY (1024 * 1024)
/* Largest number of {param} segments in a route. */
#define RS_MAX_PARAMS 4

enum rs_peer {
	RS_PEER_IDENTITY,
	RS_PEER_IMAGE,
	RS_PEER_NETWORK,
	RS_PEER_SCHEDULER,
	RS_PEER_COMPUTE,
	RS_PEER_API,
	RS_NPEERS,
};

struct refstack;
struct rs_req;
struct rs_resp;
struct rpc_msg;

/* A REST route: method and a path pattern in which "{name}" matches one
 * segment. */
struct rs_route {
	const char *method;
	const char *pattern;
	/* Fill resp; the return value is ignored beyond logging. */
	void (*handle)(struct rs_req *req, struct rs_resp *resp);
};

/* An RPC method served on POST /rpc. A call's result is put in *result
 * (owned by the caller); a failure returns -1 with *cause set. */
struct rs_rpc_method {
	const char *name;	/* "select_destinations" */
	int (*handle)(struct refstack *rs, const struct rpc_msg *msg,
		      json_t **result, char **cause);
};

/* One service: its schema and seed, REST routes and RPC methods. */
struct rs_service {
	const char *name;
	const char *schema;	/* run in one transaction at first start */
	int (*seed)(struct refstack *rs, char **cause);
	int (*start)(struct refstack *rs, char **cause);
	void (*stop)(struct refstack *rs);
	const struct rs_route *routes;	  /* NULL-terminated by method */
	const struct rs_rpc_method *rpc;  /* NULL-terminated by name */
};

extern const struct rs_service rs_identity_service;
extern const struct rs_service rs_image_service;
extern const struct rs_service rs_network_service;
extern const struct rs_service rs_api_service;
extern const struct rs_service rs_scheduler_service;
extern const struct rs_service rs_compute_service;

/* The queue of casts waiting for the worker thread. */
struct rs_cast_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rs_cast *head, *tail;
	size_t len;
	bool stop;
	bool started;
	pthread_t worker;
};

struct refstack {
	const struct rs_service *svc;
	char *data_dir;
	char *db_path;
	char *peer[RS_NPEERS];	/* base URLs, no trailing slash */
	struct rs_knobs knobs;
	/* One connection, one statement or transaction at a time. */
	sqlite3 *db;
	pthread_mutex_t db_lock;
	struct rs_cast_queue casts;
	pthread_mutex_t rand_lock;
	uint64_t rand_state;
	void *priv;		/* the service's own state */
};

/* An inbound request, as the handlers see it. */
struct rs_req {
	struct refstack *rs;
	void *conn;		/* struct MHD_Connection */
	const char *method;
	const char *path;
	const char *route;	/* the matched pattern */
	char *params[RS_MAX_PARAMS];
	size_t nparams;
	struct strbuf body;
};

/* The response a handler fills. */
struct rs_resp {
	int status;
	json_t *json;		/* owned; NULL: empty body */
	char *header_name;	/* one extra header, both owned */
	char *header_value;
	/* Or a streamed body of size bytes: read(payload, pos, buf, max)
	 * returns the bytes written; free_payload(payload) at the end. */
	uint64_t stream_size;
	long (*stream_read)(void *payload, uint64_t pos, char *buf,
			    size_t max);
	void (*stream_free)(void *payload);
	void *stream_payload;
	const char *content_type; /* of a stream */
};

/* --- responses and request helpers (http.c) --- */

/* An OpenStack-style error body {"error":{"code","title","message"}}. */
void rs_reply_error(struct rs_resp *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Take ownership of json as the body. */
void rs_reply_json(struct rs_resp *resp, int status, json_t *json);
/* Parse the request body as a JSON object; on failure answer 400 with the
 * parser's message and return NULL. The result is the caller's. */
json_t *rs_req_json(struct rs_req *req, struct rs_resp *resp);
/* A request header (case-insensitive), borrowed for the request's life. */
const char *rs_req_header(struct rs_req *req, const char *name);

/* Who the caller is, from identity. */
struct rs_auth {
	char token[80];
	char user_id[40];
	char user_name[64];
	char project_id[40];
};
/* Validate the request's X-Auth-Token with the identity service (or, in
 * identity itself, with its own database). On failure answer 401 (or 503
 * when identity cannot be reached) and return -1. */
int rs_authenticate(struct rs_req *req, struct rs_resp *resp,
		    struct rs_auth *auth);
/* Identity's own check, used by rs_authenticate in that service. */
int rs_identity_validate(struct refstack *rs, const char *token,
			 struct rs_auth *auth);

/* Run the HTTP server until SIGTERM or SIGINT; port 0 picks a free port,
 * written to port_file when that is not NULL. */
int rs_serve(struct refstack *rs, const char *host, int port,
	     const char *port_file);

/* --- HTTP client (http.c) --- */

struct rs_http_result {
	long status;		/* 0 when no response came */
	struct strbuf body;
	char *subject_token;	/* X-Subject-Token, owned */
};
void rs_http_result_init(struct rs_http_result *res);
void rs_http_result_release(struct rs_http_result *res);

/* A traced REST call (rest.call span named "METHOD route"): method to
 * base + path with extra headers ("Name: value", NULL-terminated list, may
 * be NULL) and an optional JSON body. Returns 0 when a response came (any
 * status), -1 with *cause set when none did. When sink is set, the body
 * goes to it instead of res->body; a sink returning nonzero aborts the
 * transfer. */
int rs_http(struct refstack *rs, const char *method, const char *base,
	    const char *path, const char *route, const char *const *headers,
	    const char *body, struct rs_http_result *res,
	    int (*sink)(const void *data, size_t len, void *payload),
	    void *payload, char **cause);

/* The same without a span and without trace headers: for RPC messages,
 * which carry their context inside. */
int rs_http_plain(const char *method, const char *url, const char *body,
		  struct rs_http_result *res, char **cause);

/* --- RPC (rpc.c) --- */

struct rpc_msg {
	char *method;
	json_t *args;		/* an object, owned */
	char *traceparent;	/* may be NULL */
	char *auth_token;	/* may be NULL */
	bool reply;
};
void rpc_msg_release(struct rpc_msg *msg);
/* Encode a message as JSON text (caller frees):
 * {"method","args","context":{"traceparent","auth_token"},"reply"}. */
char *rpc_encode(const char *method, const json_t *args,
		 const char *traceparent, const char *auth_token, bool reply);
/* Decode and validate; -1 with *cause set when malformed. */
int rpc_decode(const char *text, size_t len, struct rpc_msg *out,
	       char **cause);

/* Call service.method on the service at base and wait for the result
 * (rpc.call span); the result is the caller's. -1 and *cause when the call
 * failed or the callee reported a failure. */
int rpc_call(struct refstack *rs, const char *base, const char *service,
	     const char *method, const json_t *args, const char *token,
	     json_t **result, char **cause);
/* Send without waiting for the work (rpc.cast span): 0 once the callee
 * queued it. */
int rpc_cast(struct refstack *rs, const char *base, const char *service,
	     const char *method, const json_t *args, const char *token,
	     char **cause);
/* Serve POST /rpc: calls run at once, casts go to the worker thread. */
void rs_rpc_serve(struct rs_req *req, struct rs_resp *resp);
int rs_cast_queue_start(struct refstack *rs);
/* Run what is queued, then stop the worker. */
void rs_cast_queue_stop(struct refstack *rs);

/* --- SQLite (db.c) --- */

/* A statement in flight: prepared, with its db span open. */
struct rs_stmt {
	sqlite3_stmt *st;
	struct htrace_span *span;
	int64_t rows;
};
int rs_db_open(struct refstack *rs, char **cause);
void rs_db_close(struct refstack *rs);
/* Hold the connection: one statement or transaction at a time. */
void rs_db_lock(struct refstack *rs);
void rs_db_unlock(struct refstack *rs);
/* Prepare sql (db span begins); -1 on error with *cause. */
int rs_db_prepare(struct refstack *rs, struct rs_stmt *s, const char *sql,
		  char **cause);
int rs_db_bind_text(struct rs_stmt *s, int i, const char *v);
int rs_db_bind_int(struct rs_stmt *s, int i, int64_t v);
int rs_db_bind_double(struct rs_stmt *s, int i, double v);
/* 1 for a row, 0 when done, -1 on error (*cause set). */
int rs_db_step(struct refstack *rs, struct rs_stmt *s, char **cause);
/* Finalize and end the span with the rows seen. */
void rs_db_finish(struct rs_stmt *s);
/* A column as text; "" for NULL. Borrowed until the next step. */
const char *rs_db_text(struct rs_stmt *s, int col);
int64_t rs_db_int(struct rs_stmt *s, int col);
/* Run sql with no parameters and no rows (BEGIN, COMMIT, DDL). */
int rs_db_exec(struct refstack *rs, const char *sql, char **cause);
/* Under the lock, run one UPDATE/INSERT/DELETE with text parameters
 * PARAMS[0..N) (NULL binds NULL): the rows it changed, or -1 (*cause
 * set). */
int rs_db_exec_texts(struct refstack *rs, const char *sql,
		     const char *const *params, size_t n, char **cause);
/* Reply 200 {KEY: [ROW(s, ARG) for each row of SQL]}, SQL's ?1 bound to
 * PARAM unless it is NULL; 500 if the query fails. */
void rs_reply_rows(struct rs_req *req, struct rs_resp *resp,
		   const char *key, const char *sql, const char *param,
		   json_t *(*row)(struct rs_stmt *s, void *arg), void *arg);

/* Seeded ids that scenarios and services refer to. */
#define RS_IMAGE_CIRROS "6d3b9a41-6c0e-4d3b-9a6e-2f1a8c0e5b11"
#define RS_NETWORK_PRIVATE "3c1f0e52-7a4b-4c8d-9e2f-61b7d0a4c5e3"

/* The md5 hex of a seeded image's bytes (image ids seed the generator). */
void rs_image_md5(const char *id, uint64_t size, char out[33]);

/* --- misc (main.c) --- */

/* A random version-4 UUID, 37 bytes with the NUL. */
void rs_uuid(struct refstack *rs, char out[37]);
/* Uniform in [0, 1) from the service's generator (seeded by the knobs). */
double rs_random(struct refstack *rs);
/* Begin a span of kind and name, then spend any delay knob for the name. */
struct htrace_span *rs_begin(struct refstack *rs, enum htrace_kind kind,
			     const char *name);
/* Spend the delay knob for name in SPAN (of KIND; NULL when untraced), as
 * rs_knobs_delay_in decides, and mark SPAN with what it spent:
 * refstack.knob.slow_ns or refstack.knob.cpu_ns. */
void rs_knob_spend(struct refstack *rs, struct htrace_span *span,
		   enum htrace_kind kind, const char *name);
/* ISO 8601 time now + secs, "2026-11-24T22:58:22.000000Z". */
void rs_iso_time(char *buf, size_t size, int64_t secs);
/* Make a directory and its parents; -1 with errno. */
int rs_mkdirs(const char *path);

#endif
