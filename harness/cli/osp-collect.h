/* osp-collect.h: OSprofiler's spans taken from where its driver keeps
 * them (Redis) into the store, for `harness run` at the end of each run
 * and for `harness ingest --format osprofiler --from URL`. Internal to the
 * CLI. */
#ifndef HARNESS_CLI_OSP_COLLECT_H
#define HARNESS_CLI_OSP_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "collect/osprofiler.h"
#include "store/ingest.h"
#include "store/store.h"

struct osp_collect_result {
	char *source;		/* the URL without its password; owned */
	uint64_t traces;	/* traces asked for (or found) */
	uint64_t read;		/* notifications read */
	uint64_t deleted;	/* of them, deleted after they were stored */
	struct osprofiler_stats os;	/* spans, unmapped, unpaired, ... */
};

/* Read the notifications of the traces BASE_IDS (UUIDs as OSprofiler
 * writes them; NULL: every trace in the database) from the Redis at URL,
 * make them spans (collect/osprofiler.h: the one mapping), write them to a
 * spool file in SPOOL_DIR, ingest it into ST for RUN_ID (0: no run) adding
 * to *ingest, add the unmapped counts per service to the store, and only
 * then delete from Redis what was read. The spool file is removed once
 * ingested when REMOVE is true. Returns 0, or -1 with *cause set (the
 * caller frees): what was read but not stored stays in Redis. Release
 * res with osp_collect_result_release either way. */
int osp_collect_redis(struct store *st, const char *url,
		      const char *const *base_ids, size_t n, int64_t run_id,
		      const char *spool_dir, int remove,
		      struct store_ingest_stats *ingest,
		      struct osp_collect_result *res, char **cause);

void osp_collect_result_release(struct osp_collect_result *res);

/* A trace id of 16 bytes as OSprofiler's base_id: a lowercase UUID with
 * dashes, into out (37 bytes). */
void osp_collect_uuid(char out[37], const uint8_t id[16]);

#endif
