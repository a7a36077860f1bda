/* osprofiler.h: importing OSprofiler traces as spool spans.
 *
 * Input, auto-detected: the notifications OSprofiler's notifier emits
 * (dicts with name "<op>-start"/"<op>-stop", base_id, trace_id,
 * parent_id, timestamp, info, and project/service when a driver adds
 * them; also wrapped as {"payload": {...}} by the messaging driver), one
 * JSON object per line or a JSON array of them; or the tree that
 * `osprofiler trace show --json` prints ("info", "children"), whose
 * "meta.raw_payload.*" entries are those same notifications.
 *
 * A start and a stop with the same trace_id make one span:
 *
 *   base_id (UUID)          -> trace id (its 16 bytes)
 *   trace_id (UUID)         -> span id: its low 64 bits (as OSprofiler's
 *                              own OpenTracing drivers shorten ids)
 *   parent_id (UUID)        -> parent id: its low 64 bits; 0 (a root) when
 *                              parent_id == base_id. libhtrace injects
 *                              base_id = its trace id and parent_id = a
 *                              UUID whose low 64 bits are its span id, so
 *                              OSprofiler spans hang under the harness span
 *                              that made the request.
 *   timestamps (UTC)        -> start_ns, dur_ns (0 when the stop is
 *                              missing: counted as unpaired)
 *   op (name before "-start") -> kind:
 *                              wsgi -> rest.dispatch;
 *                              db -> db;
 *                              rpc -> rpc.call when info.function.name is
 *                                in a module named "rpcapi" (OpenStack's
 *                                client proxies: nova.compute.rpcapi.
 *                                ComputeAPI.build_and_run_instance), and
 *                                rpc.cast when an rpc.dispatch child of it
 *                                stops after it (a call waits for its
 *                                reply, so its dispatch ends first; the
 *                                info alone cannot tell a cast from a
 *                                call); any other rpc (the managers that
 *                                serve the calls) -> rpc.dispatch;
 *                              requests, http, http_client, http.client
 *                                -> rest.call;
 *                              anything else -> func, "unmapped": marked
 *                                osprofiler.unmapped = true, its start
 *                                info kept as osprofiler.info.KEY
 *                                (strings as they are, the rest as JSON
 *                                text), and counted in stats.unmapped
 *   service                 -> "service" (or "project" when only that),
 *                              else "osprofiler"; info.host -> host
 *   span name               -> wsgi, requests: "METHOD path"; db: the
 *                              statement's first word; info.function.name
 *                              when present; else the op
 *   attributes              -> osprofiler.name (the op);
 *                              rest.*: http.request.method, url.path,
 *                              url.full (info.request.url), url.query,
 *                              url.scheme, http.response.status_code when
 *                              a point records it (info.response.status;
 *                              OSprofiler 3.4.3's middleware does not);
 *                              db: db.query.text (info.db.statement),
 *                              db.operation.name (its first word),
 *                              db.system.name (info.db.system, else
 *                              "other_sql": OSprofiler does not record
 *                              it); rpc.*: rpc.system "oslo_messaging",
 *                              rpc.service and rpc.method (the function
 *                              name split at its last dot);
 *                              code.function.name; a stop with info.etype
 *                              marks the span failed: error.type and the
 *                              message (info.message) */
#ifndef HARNESS_COLLECT_OSPROFILER_H
#define HARNESS_COLLECT_OSPROFILER_H

#include <stddef.h>
#include <stdint.h>

#include "collect/otlp.h"

/* Unmapped spans of one service. */
struct osprofiler_unmapped {
	char *service;
	uint64_t unmapped;
};

struct osprofiler_stats {
	uint64_t notifications;	/* start and stop dicts read */
	uint64_t spans;		/* spans made */
	uint64_t unpaired;	/* of which a start or a stop was missing */
	uint64_t rejected;	/* notifications without valid ids or time */
	uint64_t unmapped;	/* spans of an op harness has no kind for */
	struct osprofiler_unmapped *by_service;	/* those, per service */
	size_t nby_service, aby_service;
};

/* Free what a decoding left in st (by_service) and zero it. */
void osprofiler_stats_release(struct osprofiler_stats *st);

/* Notifications added one at a time (as a reader of a driver's storage
 * finds them), paired and emitted together: a start and its stop may come
 * in any order, and the rpc rule looks at a span's children. */
struct osprofiler_batch;
/* stats is zeroed, and filled as the batch is emitted; it must live as
 * long as the batch. */
struct osprofiler_batch *osprofiler_batch_new(struct osprofiler_stats *stats);
/* One notification's JSON text (a dict, or {"payload": dict}); what is
 * not a notification is counted as rejected. */
void osprofiler_batch_add(struct osprofiler_batch *b, const char *json,
			  size_t len);
/* Emit every span of what was added (then forgotten); returns 0 or what
 * emit returned when negative. */
int osprofiler_batch_emit(struct osprofiler_batch *b, otlp_span_fn *emit,
			  void *payload);
/* Emit into a new spool file in spool_dir (service "osprofiler");
 * *spool_path (caller frees) names it. 0, or -1 with *cause set. */
int osprofiler_batch_write(struct osprofiler_batch *b, const char *spool_dir,
			   char **spool_path, char **cause);
void osprofiler_batch_free(struct osprofiler_batch *b);

/* Decode a whole input and call emit once per span (same contract as in
 * otlp.h; a positive return counts the span as rejected). Returns 0, or
 * OTLP_EMALFORMED with *cause set when the input is none of the formats,
 * or what emit returned when negative. */
int osprofiler_decode(const void *data, size_t len, otlp_span_fn *emit,
		      void *payload, struct osprofiler_stats *stats,
		      char **cause);

/* Read FILE and write its spans to a new spool file in spool_dir
 * (service "osprofiler"); *spool_path (caller frees) names it. Returns 0
 * or -1 with *cause set. */
int osprofiler_import(const char *file, const char *spool_dir,
		      char **spool_path, struct osprofiler_stats *stats,
		      char **cause);

#endif
