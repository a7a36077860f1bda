/* osp-collect.c: OSprofiler's notifications from Redis into the store
 * through one spool file, deleted from Redis only once they are stored. */
#include "cli/osp-collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/osp-redis.h"
#include "util/error.h"

void osp_collect_uuid(char out[37], const uint8_t id[16])
{
	size_t n = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		n += (size_t)snprintf(out + n, 3, "%02x", id[i]);
	}
	out[n] = '\0';
}

void osp_collect_result_release(struct osp_collect_result *res)
{
	free(res->source);
	osprofiler_stats_release(&res->os);
	memset(res, 0, sizeof(*res));
}

static void add_note(const char *json, size_t len, void *payload)
{
	osprofiler_batch_add(payload, json, len);
}

int osp_collect_redis(struct store *st, const char *url,
		      const char *const *base_ids, size_t n, int64_t run_id,
		      const char *spool_dir, int remove,
		      struct store_ingest_stats *ingest,
		      struct osp_collect_result *res, char **cause)
{
	struct osprofiler_batch *b = NULL;
	struct osp_redis *r = NULL;
	char **found = NULL, *spool = NULL, *why = NULL;
	size_t nfound = 0;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	res->source = osp_redis_url_name(url);
	if (osp_redis_connect(&r, url, cause) < 0)
		return -1;
	if (!base_ids) {
		if (osp_redis_trace_ids(r, &found, &nfound, cause) < 0)
			goto out;
		base_ids = (const char *const *)found;
		n = nfound;
	}
	res->traces = n;
	b = osprofiler_batch_new(&res->os);
	if (osp_redis_read(r, base_ids, n, add_note, b, &res->read, cause) < 0)
		goto out;
	if (!res->read) {
		ret = 0;
		goto out;
	}
	if (osprofiler_batch_write(b, spool_dir, &spool, cause) < 0)
		goto out;
	if (store_ingest_path(st, spool, run_id, ingest, &why) < 0) {
		*cause = xasprintf("cannot store the spans read from redis "
				   "'%s' (left there): %s",
				   osp_redis_name(r), why);
		free(why);
		goto out;
	}
	for (size_t i = 0; i < res->os.nby_service; i++) {
		const struct osprofiler_unmapped *u = &res->os.by_service[i];

		if (store_unmapped_add(st, run_id, u->service, 0,
				       (int64_t)u->unmapped, cause) < 0)
			goto out;
	}
	if (osp_redis_delete_read(r, &res->deleted, cause) < 0)
		goto out;
	ret = 0;
out:
	if (spool && remove)
		unlink(spool);
	free(spool);
	osprofiler_batch_free(b);
	if (found) {
		for (size_t i = 0; i < nfound; i++)
			free(found[i]);
		free(found);
	}
	osp_redis_free(r);
	return ret;
}
