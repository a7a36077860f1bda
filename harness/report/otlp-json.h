/* otlp-json.h: a run's spans as OTLP/JSON, the ExportTraceServiceRequest
 * of OTLP/HTTP, written to a file or POSTed to an OTLP/HTTP endpoint (an
 * OpenTelemetry Collector, Jaeger, Tempo, or `harness collect`).
 *
 * How a harness span becomes an OTLP span:
 *
 *   service, host, pid      -> one resourceSpans per (service, host, pid),
 *                              resource attributes service.name
 *                              ("unknown_service" when none), host.name,
 *                              process.pid (each only when known)
 *   (all spans)             -> scopeSpans with scope name "harness"
 *   trace_id, span_id,      -> traceId, spanId, parentSpanId: lowercase
 *   parent_id                  hex; parentSpanId absent for a root
 *   kind                    -> kind (otlp_json_span_kind) and the
 *                              attribute harness.kind with the kind name
 *   start_ns, dur_ns        -> startTimeUnixNano, endTimeUnixNano as
 *                              decimal strings (negative values as 0)
 *   attributes              -> typed AnyValues: stringValue, intValue (a
 *                              decimal string), doubleValue (non-finite
 *                              ones as "NaN", "Infinity", "-Infinity"),
 *                              boolValue
 *   tid                     -> attribute thread.id, unless one is there
 *   stack frames            -> attribute code.stacktrace, one frame a
 *                              line, innermost first, unless one is there
 *   status error, message   -> status {code: 2, message}; ok spans have
 *                              no status (UNSET)
 *
 * Strings that are not valid UTF-8 (JSON wants UTF-8) have their bad
 * bytes replaced by U+FFFD. */
#ifndef HARNESS_REPORT_OTLP_JSON_H
#define HARNESS_REPORT_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* OTLP SpanKind values. */
enum otlp_json_kind {
	OTLP_JSON_KIND_INTERNAL = 1,
	OTLP_JSON_KIND_SERVER = 2,
	OTLP_JSON_KIND_CLIENT = 3,
	OTLP_JSON_KIND_PRODUCER = 4,
};

/* The OTLP SpanKind of a harness kind: rest.dispatch and rpc.dispatch are
 * SERVER; rest.call, rpc.call, db and exec CLIENT; rpc.cast PRODUCER;
 * anything else (NULL too) INTERNAL. */
enum otlp_json_kind otlp_json_span_kind(const char *kind);

/* Spans collected into one request, grouped by resource. */
struct otlp_json_batch;

struct otlp_json_batch *otlp_json_batch_new(void);
/* Free; accepts NULL. */
void otlp_json_batch_free(struct otlp_json_batch *b);
/* Add a copy of SP. */
void otlp_json_batch_add(struct otlp_json_batch *b,
			 const struct store_span *sp);
/* Spans added since the batch was made or last taken. */
size_t otlp_json_batch_count(const struct otlp_json_batch *b);
/* The request as compact JSON text, NUL-terminated, *len bytes (LEN may
 * be NULL); the caller frees it. The batch is empty afterwards. */
char *otlp_json_batch_take(struct otlp_json_batch *b, size_t *len);

/* Spans per request by default when posting. */
#define OTLP_JSON_BATCH_DEFAULT 512

struct otlp_json_options {
	/* Write one request holding every span to this file ("-": stdout;
	 * written under a temporary name, renamed when complete). NULL:
	 * no file. */
	const char *out_path;
	/* POST the spans to this OTLP/HTTP traces endpoint
	 * (http://127.0.0.1:4318/v1/traces). NULL: no POST. */
	const char *url;
	/* Spans per POST; 0: OTLP_JSON_BATCH_DEFAULT. */
	size_t batch;
	/* Per request, in milliseconds; 0: 30000. */
	long timeout_ms;
	/* Retries of a request answered 429, 502, 503 or 504 (the codes
	 * OTLP/HTTP calls retryable), after Retry-After or a growing pause
	 * of at most 5s; negative: none, 0: the default of 3. */
	int retries;
};

void otlp_json_options_init(struct otlp_json_options *opt);

struct otlp_json_stats {
	size_t spans;		/* spans of the run read */
	size_t requests;	/* POSTs answered with success */
};

/* Export every span of RUN_ID (0: spans of no run) as OPT says: to a file,
 * to an endpoint, or both. A POST fails (and the export stops there) when
 * the endpoint cannot be reached, answers other than 2xx, or reports
 * rejected spans in partialSuccess; *cause then names the URL and why
 * (spans of earlier batches have been delivered: STATS says how many
 * requests). Returns 0 or -1 with *cause set (the caller frees it). */
int otlp_json_export(struct store *st, int64_t run_id,
		     const struct otlp_json_options *opt,
		     struct otlp_json_stats *stats, char **cause);

#endif
