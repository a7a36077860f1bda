/* osp-redis.h: OSprofiler's notifications read from Redis, where its
 * redis:// driver keeps them, and deleted once they are stored.
 *
 * The layout is the driver's (osprofiler/drivers/redis_driver.py, as in
 * OSprofiler 3.4.3): each notification is a JSON text LPUSHed onto the
 * list "osprofiler_opt:<base_id>", newest first; traces that failed may
 * also have "osprofiler_error:<base_id>" (with filter_error_trace). The
 * legacy layout of older OSprofilers (one key per notification,
 * "osprofiler:<base_id>...") is not read.
 *
 * Deleting takes away exactly what was read: the oldest N entries of the
 * list (LTRIM key 0 -(N+1)), so a notification pushed after the read
 * stays for the next reader.
 *
 * Why Redis and not OSprofiler's messaging:// driver: Redis keeps each
 * trace's notifications under the trace's own key until they are deleted,
 * so the run's traces are read after the run, exactly and only those,
 * with no consumer running alongside the load and nothing lost while none
 * listens; a messaging:// consumer must be bound to the notifications
 * exchange before the first request and drains a queue that other
 * consumers may share. */
#ifndef HARNESS_COLLECT_OSP_REDIS_H
#define HARNESS_COLLECT_OSP_REDIS_H

#include <stddef.h>
#include <stdint.h>

#define OSP_REDIS_PREFIX "osprofiler_opt:"
#define OSP_REDIS_ERROR_PREFIX "osprofiler_error:"

struct osp_redis;

/* Connect to URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], as redis-py's
 * from_url takes it (port 6379, db 0 by default; HOST may be [v6]); AUTH
 * and SELECT are sent when given. Returns 0, or -1 with *cause set (the
 * caller frees) naming the URL without its password. */
int osp_redis_connect(struct osp_redis **out, const char *url, char **cause);
void osp_redis_free(struct osp_redis *r);

/* URL with its password replaced by "***", for messages; caller frees. */
char *osp_redis_url_name(const char *url);

/* The URL with its password replaced by "***", for messages. Borrowed. */
const char *osp_redis_name(const struct osp_redis *r);

/* Every base_id with a list in the database (SCAN, so the server is not
 * blocked), sorted. *ids is a NULL-terminated array the caller frees with
 * strv_free. */
int osp_redis_trace_ids(struct osp_redis *r, char ***ids, size_t *n,
			char **cause);

/* Called once per notification read, with its JSON text. */
typedef void osp_redis_note_fn(const char *json, size_t len, void *payload);

/* Read every notification of the traces IDS (base_ids, as OSprofiler
 * writes them: lowercase UUIDs with dashes), oldest first, in pipelined
 * batches; remember how many of each were read for osp_redis_delete_read.
 * *notes (may be NULL) counts them. */
int osp_redis_read(struct osp_redis *r, const char *const *ids, size_t n,
		   osp_redis_note_fn *fn, void *payload, uint64_t *notes,
		   char **cause);

/* Delete what osp_redis_read read since the last delete, and each read
 * trace's error key. *deleted (may be NULL) counts the notifications. */
int osp_redis_delete_read(struct osp_redis *r, uint64_t *deleted,
			  char **cause);

#endif
