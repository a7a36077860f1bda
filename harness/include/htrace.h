/* htrace.h: the public interface of libhtrace, the tracing library that
 * services link. Spans go to per-process spool files that `harness ingest`
 * reads; contexts travel over HTTP (traceparent, OSprofiler headers), inside
 * RPC messages (traceparent text), to threads and to child processes.
 *
 * Every function is safe to call when tracing is off (no spool directory)
 * or when there is no active trace: it returns at once, and functions that
 * return a span return NULL, which every other function accepts. libhtrace
 * never prints, exits or aborts; what it cannot record it counts. */
#ifndef HTRACE_H
#define HTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define HTRACE_API __attribute__((visibility("default")))
#else
#define HTRACE_API
#endif

#define HTRACE_TRACE_ID_SIZE 16
/* "00-" 32 hex "-" 16 hex "-" 2 hex, plus the terminating NUL. */
#define HTRACE_TRACEPARENT_SIZE 56

/* Kinds of span: the typed operations a multi-service system is made of.
 * The numbers are stored in spool files: never renumber, only append. */
enum htrace_kind {
	HTRACE_KIND_REST_CALL = 1,	/* "rest.call": outbound HTTP request */
	HTRACE_KIND_REST_DISPATCH,	/* "rest.dispatch": serving a request */
	HTRACE_KIND_RPC_CALL,		/* "rpc.call": RPC expecting a reply */
	HTRACE_KIND_RPC_CAST,		/* "rpc.cast": one-way RPC */
	HTRACE_KIND_RPC_DISPATCH,	/* "rpc.dispatch": serving an RPC */
	HTRACE_KIND_DB,			/* "db": a database query */
	HTRACE_KIND_LIB,		/* "lib": a native library call */
	HTRACE_KIND_THREAD_SPAWN,	/* "thread.spawn": starting a thread */
	HTRACE_KIND_THREAD_MAIN,	/* "thread.main": a thread's work */
	HTRACE_KIND_EXEC,		/* "exec": an external command */
	HTRACE_KIND_FUNC,		/* "func": anything else */
	HTRACE_KIND_ITERATION,		/* "iteration": one scenario iteration */
	HTRACE_KIND_STEP,		/* "step": one step of an iteration */
};
#define HTRACE_KIND_FIRST HTRACE_KIND_REST_CALL
#define HTRACE_KIND_LAST HTRACE_KIND_STEP

/* Standard attribute names, after OpenTelemetry semantic conventions. */
#define HTRACE_ATTR_DB_SYSTEM_NAME "db.system.name"
#define HTRACE_ATTR_DB_QUERY_TEXT "db.query.text"
#define HTRACE_ATTR_DB_OPERATION_NAME "db.operation.name"
#define HTRACE_ATTR_DB_COLLECTION_NAME "db.collection.name"
#define HTRACE_ATTR_DB_RESPONSE_RETURNED_ROWS "db.response.returned_rows"
#define HTRACE_ATTR_HTTP_REQUEST_METHOD "http.request.method"
#define HTRACE_ATTR_HTTP_RESPONSE_STATUS_CODE "http.response.status_code"
#define HTRACE_ATTR_HTTP_ROUTE "http.route"
#define HTRACE_ATTR_URL_FULL "url.full"
#define HTRACE_ATTR_URL_PATH "url.path"
#define HTRACE_ATTR_SERVER_ADDRESS "server.address"
#define HTRACE_ATTR_SERVER_PORT "server.port"
#define HTRACE_ATTR_RPC_SYSTEM "rpc.system"
#define HTRACE_ATTR_RPC_SERVICE "rpc.service"
#define HTRACE_ATTR_RPC_METHOD "rpc.method"
#define HTRACE_ATTR_MESSAGING_DESTINATION_NAME "messaging.destination.name"
#define HTRACE_ATTR_PROCESS_COMMAND_LINE "process.command_line"
#define HTRACE_ATTR_PROCESS_EXECUTABLE_NAME "process.executable.name"
#define HTRACE_ATTR_PROCESS_EXIT_CODE "process.exit.code"
#define HTRACE_ATTR_PROCESS_PID "process.pid"
#define HTRACE_ATTR_THREAD_NAME "thread.name"
#define HTRACE_ATTR_CODE_FUNCTION_NAME "code.function.name"
#define HTRACE_ATTR_CODE_FILE_PATH "code.file.path"
#define HTRACE_ATTR_CODE_LINE_NUMBER "code.line.number"
#define HTRACE_ATTR_ERROR_TYPE "error.type"
/* harness's own: the scenario step and iteration number. */
#define HTRACE_ATTR_HARNESS_ITERATION "harness.iteration"
#define HTRACE_ATTR_HARNESS_STEP "harness.step"

/* A trace context: where a span sits, as it travels between processes.
 * flags bit 0 is W3C's "sampled". */
struct htrace_context {
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE];
	uint64_t span_id;
	uint8_t flags;
};
#define HTRACE_FLAG_SAMPLED 0x01

/* Settings; htrace_init() reads them from the environment:
 * HTRACE_SERVICE, HTRACE_SPOOL_DIR, HTRACE_HMAC_KEYS, HTRACE_STACKS,
 * HTRACE_SAMPLE_RATE, HTRACE_TRUST_TRACEPARENT, HTRACE_OSPROFILER_HEADERS.
 * HTRACE_CLOCK=monotonic makes spans read clock_gettime instead of the
 * CPU's cycle counter (which is used only when it is invariant).
 * Strings are copied by htrace_init_with(). */
struct htrace_options {
	const char *service;	/* NULL: the program's name */
	const char *spool_dir;	/* NULL or "": tracing off */
	const char *hmac_keys;	/* comma-separated; sign with the first */
	int stacks;		/* capture return addresses at span start */
	double sample_rate;	/* 0..1: share of roots that are recorded */
	int trust_traceparent;	/* accept an unsigned traceparent */
	int osprofiler_headers;	/* inject X-Trace-Info / X-Trace-HMAC */
	unsigned flush_interval_ms; /* 0: 200 */
};

/* Fill opts with the defaults: sample rate 1, OSprofiler headers on,
 * everything else zero or NULL. */
HTRACE_API void htrace_options_init(struct htrace_options *opts);

/* Read the settings from the environment and start. Idempotent and
 * thread-safe: only the first call of htrace_init/htrace_init_with counts.
 * If TRACEPARENT is set (by a traced parent process), the calling thread is
 * attached to it. Returns 0 when tracing is on, 1 when it is off (no spool
 * directory), negative when it could not start (tracing is then off). */
HTRACE_API int htrace_init(void);
HTRACE_API int htrace_init_with(const struct htrace_options *opts);
/* Nonzero when tracing is on. */
HTRACE_API int htrace_enabled(void);
/* Write the records buffered by every thread, running or ended, to the
 * spool file now. (A thread's state, made at its first span, is kept for
 * later threads when it ends; the flusher writes what it left, within the
 * flush interval, and htrace_shutdown and process exit write it too.) */
HTRACE_API void htrace_flush(void);
/* Flush, stop the flusher thread and close the spool file; tracing is off
 * afterwards (spans still open are dropped and counted). */
HTRACE_API void htrace_shutdown(void);

/* Kind names ("rest.call" ...); NULL for an unknown kind. */
HTRACE_API const char *htrace_kind_name(enum htrace_kind kind);
/* The kind of a name; -1 when the name is unknown. */
HTRACE_API int htrace_kind_parse(const char *name);

/* Spans. A span is opaque; the library owns it until htrace_end(). */
struct htrace_span;

/* Begin a child of the calling thread's current span (or of the attached
 * context). It becomes the thread's current span until htrace_end(). NULL
 * when tracing is off or there is no active trace. name is copied. */
HTRACE_API struct htrace_span *htrace_begin(enum htrace_kind kind,
					    const char *name);
/* Begin a new trace with a new random trace id (subject to the sample
 * rate); its trace id is copied to trace_id when that is not NULL. */
HTRACE_API struct htrace_span *htrace_begin_root(
	enum htrace_kind kind, const char *name,
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE]);
/* A span that does not nest on the calling thread, for code that keeps
 * several traces going at once on one thread (an event loop): a child of
 * parent (NULL: the root of a new trace, sampled like htrace_begin_root,
 * its trace id copied to trace_id when that is not NULL), never the
 * thread's current span. Children and injected headers name it through
 * htrace_span_context. It ends with htrace_end on any thread; one still
 * open when its thread exits is not recorded. NULL when tracing is off or
 * parent is invalid or not sampled. */
HTRACE_API struct htrace_span *htrace_begin_detached(
	const struct htrace_context *parent, enum htrace_kind kind,
	const char *name, uint8_t trace_id[HTRACE_TRACE_ID_SIZE]);
/* End and record the span; the thread's current span becomes its parent.
 * End a span on the thread that began it (a detached span: any thread). */
HTRACE_API void htrace_end(struct htrace_span *span);

/* Attributes; key and value are copied. A span holds about 1 KiB of
 * attributes; what does not fit is dropped and counted. */
HTRACE_API void htrace_attr_str(struct htrace_span *span, const char *key,
				const char *value);
HTRACE_API void htrace_attr_int(struct htrace_span *span, const char *key,
				int64_t value);
HTRACE_API void htrace_attr_double(struct htrace_span *span, const char *key,
				   double value);
HTRACE_API void htrace_attr_bool(struct htrace_span *span, const char *key,
				 int value);
/* Mark the span failed, with a message (copied; may be NULL). */
HTRACE_API void htrace_set_error(struct htrace_span *span,
				 const char *message);
/* The context of a span (to hand to another thread or message). Returns 0,
 * or -1 when span is NULL. */
HTRACE_API int htrace_span_context(const struct htrace_span *span,
				   struct htrace_context *out);

/* Convenience: a db span named "<OPERATION> <table>" from the query, with
 * db.system.name and db.query.text. */
HTRACE_API struct htrace_span *htrace_db_begin(const char *system,
					       const char *query_text);
/* db.response.returned_rows, then end. rows < 0: not recorded. */
HTRACE_API void htrace_db_end(struct htrace_span *span, int64_t rows);
/* rest.call named "<METHOD> <path>", with http.request.method and url.full.
 * Inject the headers after this, so the callee's parent is this span. */
HTRACE_API struct htrace_span *htrace_http_client_begin(const char *method,
							const char *url);
/* rest.dispatch named "<METHOD> <route>", with http.request.method and
 * http.route. Extract and attach the inbound context before this. */
HTRACE_API struct htrace_span *htrace_http_server_begin(const char *method,
							const char *route);
/* http.response.status_code, error when status >= 500 (server) or >= 400
 * (client) or status <= 0 (no response), then end. */
HTRACE_API void htrace_http_end(struct htrace_span *span, int status);
/* rpc.call / rpc.cast / rpc.dispatch named method, with rpc.system and
 * rpc.method. */
HTRACE_API struct htrace_span *htrace_rpc_begin(enum htrace_kind kind,
						const char *system,
						const char *method);
/* exec named after argv[0]'s base name, with process.command_line (argv
 * joined by spaces) and process.executable.name. Build the child's
 * environment with htrace_exec_env() after this. */
HTRACE_API struct htrace_span *htrace_exec_begin(const char *const *argv);
/* process.exit.code from a wait status (signals: 128 + signal), error when
 * nonzero, then end. */
HTRACE_API void htrace_exec_end(struct htrace_span *span, int wait_status);

/* Contexts. */

/* The calling thread's current context: its current span, else the
 * attached context. Returns 0, or -1 when there is none. */
HTRACE_API int htrace_current(struct htrace_context *out);
/* Continue ctx on the calling thread: until htrace_detach(), a span begun
 * with no current span is a child of ctx. Returns 0, -1 when ctx is NULL
 * or invalid. A context whose sampled flag is clear starts nothing. */
HTRACE_API int htrace_attach(const struct htrace_context *ctx);
HTRACE_API void htrace_detach(void);
/* Write ctx as traceparent text ("00-<trace>-<span>-<flags>") into buf.
 * Returns 0, or -1 when ctx is invalid (a zero id). */
HTRACE_API int htrace_context_format(const struct htrace_context *ctx,
				     char buf[HTRACE_TRACEPARENT_SIZE]);

/* Results of parsing and extracting a context. */
enum htrace_extract_result {
	HTRACE_EXTRACT_OK = 0,
	HTRACE_EXTRACT_UNTRACED = 1,	/* no (acceptable) context present */
	HTRACE_EXTRACT_FORGED = 2,	/* OSprofiler HMAC did not verify */
	HTRACE_EXTRACT_MALFORMED = 3,	/* present but not well-formed */
};
/* Parse traceparent text per W3C Trace Context. Returns HTRACE_EXTRACT_OK
 * or HTRACE_EXTRACT_MALFORMED (also for NULL text). Counts nothing. */
HTRACE_API int htrace_context_parse(const char *text,
				    struct htrace_context *out);

/* HTTP propagation through the caller's headers. */
typedef void htrace_header_set_fn(const char *name, const char *value,
				  void *payload);
typedef const char *htrace_header_get_fn(const char *name, void *payload);

/* Set traceparent (and, when enabled and a key is configured,
 * X-Trace-Info and X-Trace-HMAC) for the current context. Returns 1 when
 * headers were set, 0 when there is no current context. */
HTRACE_API int htrace_inject(htrace_header_set_fn *set, void *payload);
/* The same for an explicit context (works even with tracing off, as long
 * as the library was initialised with keys). */
HTRACE_API int htrace_inject_context(const struct htrace_context *ctx,
				     htrace_header_set_fn *set,
				     void *payload);
/* Read the inbound context: the OSprofiler pair when its HMAC verifies
 * under any configured key, else a bare traceparent when
 * trust_traceparent is on. get is called with header names as spelled
 * above ("traceparent", "X-Trace-Info", "X-Trace-HMAC") and should match
 * case-insensitively. Returns an enum htrace_extract_result and counts it;
 * *out is set only on HTRACE_EXTRACT_OK. */
HTRACE_API int htrace_extract(htrace_header_get_fn *get, void *payload,
			      struct htrace_context *out);

/* "TRACEPARENT=<traceparent>" for a child process's environment, for the
 * current context. Returns 0, -1 when there is no context or buf is
 * smaller than 12 + HTRACE_TRACEPARENT_SIZE. */
HTRACE_API int htrace_exec_env(char *buf, size_t size);

/* Counters since init. */
struct htrace_stats {
	uint64_t spans_recorded;	/* encoded into a buffer */
	uint64_t spans_dropped;		/* lost: memory, I/O, depth */
	uint64_t attrs_dropped;		/* did not fit in their span */
	uint64_t extract_ok;
	uint64_t extract_untraced;
	uint64_t extract_forged;
	uint64_t extract_malformed;
	uint64_t bytes_written;
	uint64_t write_errors;
};
HTRACE_API void htrace_stats(struct htrace_stats *out);

/* The disabled path. Nonzero while tracing is on; read it only through
 * htrace_enabled(). The functions above that begin a span, and those that
 * take one, are wrapped below by inline checks of this flag and of a NULL
 * span, so that a call costs a load and a branch when tracing is off and
 * does not go through the library at all. Define HTRACE_NO_INLINE to call
 * the functions directly; taking a function's address is unaffected. */
HTRACE_API extern int htrace_active_;

#ifndef HTRACE_NO_INLINE
#if defined(__GNUC__)
#define HTRACE_ACTIVE_() __atomic_load_n(&htrace_active_, __ATOMIC_RELAXED)
#define HTRACE_UNLIKELY_(x) __builtin_expect(!!(x), 0)
/* Inlined even at -O0, so that a stack captured at span start begins in
 * the caller, not in a wrapper. */
#define HTRACE_INLINE_ static inline __attribute__((always_inline))
#else
#define HTRACE_ACTIVE_() (*(volatile int *)&htrace_active_)
#define HTRACE_UNLIKELY_(x) (x)
#define HTRACE_INLINE_ static inline
#endif

HTRACE_INLINE_ int htrace_enabled_inline_(void)
{
	return HTRACE_ACTIVE_();
}

HTRACE_INLINE_ struct htrace_span *htrace_begin_inline_(
	enum htrace_kind kind, const char *name)
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_begin)(kind, name);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ struct htrace_span *htrace_begin_root_inline_(
	enum htrace_kind kind, const char *name,
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE])
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_begin_root)(kind, name, trace_id);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ struct htrace_span *htrace_begin_detached_inline_(
	const struct htrace_context *parent, enum htrace_kind kind,
	const char *name, uint8_t trace_id[HTRACE_TRACE_ID_SIZE])
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_begin_detached)(parent, kind, name, trace_id);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ void htrace_end_inline_(struct htrace_span *span)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_end)(span);
}

HTRACE_INLINE_ void htrace_attr_str_inline_(struct htrace_span *span,
					   const char *key, const char *value)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_attr_str)(span, key, value);
}

HTRACE_INLINE_ void htrace_attr_int_inline_(struct htrace_span *span,
					   const char *key, int64_t value)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_attr_int)(span, key, value);
}

HTRACE_INLINE_ void htrace_attr_double_inline_(struct htrace_span *span,
					      const char *key, double value)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_attr_double)(span, key, value);
}

HTRACE_INLINE_ void htrace_attr_bool_inline_(struct htrace_span *span,
					    const char *key, int value)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_attr_bool)(span, key, value);
}

HTRACE_INLINE_ void htrace_set_error_inline_(struct htrace_span *span,
					    const char *message)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_set_error)(span, message);
}

HTRACE_INLINE_ struct htrace_span *htrace_db_begin_inline_(
	const char *system, const char *query_text)
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_db_begin)(system, query_text);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ void htrace_db_end_inline_(struct htrace_span *span,
					 int64_t rows)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_db_end)(span, rows);
}

HTRACE_INLINE_ struct htrace_span *htrace_http_client_begin_inline_(
	const char *method, const char *url)
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_http_client_begin)(method, url);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ struct htrace_span *htrace_http_server_begin_inline_(
	const char *method, const char *route)
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_http_server_begin)(method, route);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ void htrace_http_end_inline_(struct htrace_span *span,
					   int status)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_http_end)(span, status);
}

HTRACE_INLINE_ struct htrace_span *htrace_rpc_begin_inline_(
	enum htrace_kind kind, const char *system, const char *method)
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_rpc_begin)(kind, system, method);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ struct htrace_span *htrace_exec_begin_inline_(
	const char *const *argv)
{
	if (HTRACE_UNLIKELY_(HTRACE_ACTIVE_()))
		return (htrace_exec_begin)(argv);
	return (struct htrace_span *)0;
}

HTRACE_INLINE_ void htrace_exec_end_inline_(struct htrace_span *span,
					   int wait_status)
{
	if (HTRACE_UNLIKELY_(span != 0))
		(htrace_exec_end)(span, wait_status);
}

#define htrace_enabled() htrace_enabled_inline_()
#define htrace_begin(k, n) htrace_begin_inline_(k, n)
#define htrace_begin_root(k, n, t) htrace_begin_root_inline_(k, n, t)
#define htrace_begin_detached(p, k, n, t) \
	htrace_begin_detached_inline_(p, k, n, t)
#define htrace_end(s) htrace_end_inline_(s)
#define htrace_attr_str(s, k, v) htrace_attr_str_inline_(s, k, v)
#define htrace_attr_int(s, k, v) htrace_attr_int_inline_(s, k, v)
#define htrace_attr_double(s, k, v) htrace_attr_double_inline_(s, k, v)
#define htrace_attr_bool(s, k, v) htrace_attr_bool_inline_(s, k, v)
#define htrace_set_error(s, m) htrace_set_error_inline_(s, m)
#define htrace_db_begin(s, q) htrace_db_begin_inline_(s, q)
#define htrace_db_end(s, r) htrace_db_end_inline_(s, r)
#define htrace_http_client_begin(m, u) htrace_http_client_begin_inline_(m, u)
#define htrace_http_server_begin(m, r) htrace_http_server_begin_inline_(m, r)
#define htrace_http_end(s, c) htrace_http_end_inline_(s, c)
#define htrace_rpc_begin(k, s, m) htrace_rpc_begin_inline_(k, s, m)
#define htrace_exec_begin(a) htrace_exec_begin_inline_(a)
#define htrace_exec_end(s, w) htrace_exec_end_inline_(s, w)
#endif /* HTRACE_NO_INLINE */

#ifdef __cplusplus
}
#endif

#endif
