/* otlp.h: OTLP/HTTP trace export requests (ExportTraceServiceRequest, as
 * protobuf or as OTLP/JSON) decoded into spool spans, and the responses.
 *
 * How an OTLP span becomes a harness span:
 *
 *   resource service.name          -> service ("unknown_service" if absent)
 *   resource host.name             -> host
 *   resource process.pid           -> pid; span or resource thread.id -> tid
 *   trace_id (16 bytes)            -> trace_id; all zero: span rejected
 *   span_id (8 bytes, big-endian)  -> span_id; zero: span rejected
 *   parent_span_id (0 or 8 bytes)  -> parent_id (0: a root)
 *   start/end_time_unix_nano       -> start_ns, dur_ns; end < start: rejected
 *   status.code ERROR (2)          -> status error, message = status.message
 *   attributes                     -> typed attributes (string, int, double,
 *                                     bool); arrays and kvlists as JSON text,
 *                                     bytes as lowercase hex
 *   events (first OTLP_MAX_EVENTS) -> attributes event.N.name,
 *                                     event.N.time_unix_nano and
 *                                     event.N.<attribute key>; the rest are
 *                                     counted in otlp.dropped_events
 *
 * The kind, from the OTLP span kind and the attributes present:
 *
 *   SERVER   + http.* or url.*                 -> rest.dispatch
 *   CLIENT   + http.* or url.*                 -> rest.call
 *   CLIENT   + db.system.name (or db.system)   -> db
 *   CLIENT   + rpc.* or messaging.*            -> rpc.call
 *   PRODUCER + rpc.* or messaging.*            -> rpc.cast
 *   SERVER or CONSUMER + rpc.* or messaging.*  -> rpc.dispatch
 *   anything else (INTERNAL, unspecified ...)  -> func
 *
 * Legacy attribute names are copied to the current ones when only the old
 * one is present: db.system -> db.system.name, db.statement ->
 * db.query.text. */
#ifndef HARNESS_COLLECT_OTLP_H
#define HARNESS_COLLECT_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"
#include "util/strbuf.h"

/* Nesting of array and kvlist values, and of JSON documents. */
#define OTLP_MAX_DEPTH 32
/* Events kept per span as attributes. */
#define OTLP_MAX_EVENTS 16
/* Longer string values are cut to this many bytes. */
#define OTLP_MAX_STRING 16384

/* Called once per valid span. Returns 0 when the span was taken, a
 * positive value when it is rejected (it does not fit a spool record:
 * counted like an invalid span), negative to abort the decoding (the
 * decoder returns that value). */
typedef int otlp_span_fn(const struct spool_span *span, void *payload);

struct otlp_result {
	uint64_t accepted;
	uint64_t rejected;
	char *error_message;	/* why the first span was rejected; owned */
};

/* Decode a request body. Returns 0 when the body is well-formed (some
 * spans may have been rejected: see res), OTLP_EMALFORMED with *cause
 * set (the caller frees it) when it is not, or what emit returned when
 * negative. Spans already passed to emit before an error are not undone:
 * a caller that wants all or nothing buffers them. */
#define OTLP_EMALFORMED (-2)
int otlp_decode_protobuf(const void *data, size_t len, otlp_span_fn *emit,
			 void *payload, struct otlp_result *res, char **cause);
int otlp_decode_json(const void *data, size_t len, otlp_span_fn *emit,
		     void *payload, struct otlp_result *res, char **cause);
void otlp_result_release(struct otlp_result *res);

/* ExportTraceServiceResponse: empty when nothing was rejected, else
 * partial_success {rejected_spans, error_message}. */
void otlp_response_protobuf(struct strbuf *out, const struct otlp_result *res);
void otlp_response_json(struct strbuf *out, const struct otlp_result *res);
/* google.rpc.Status {code, message}: the body of a failed request. */
void otlp_status_protobuf(struct strbuf *out, int code, const char *message);
void otlp_status_json(struct strbuf *out, int code, const char *message);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void otlp_hex(char *out, const uint8_t *data, size_t n);

#endif
