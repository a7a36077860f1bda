/* collect-dump.c: print the spans of spool files or of a store, one line
 * each, for the collector and OSprofiler integration tests:
 *   TRACE-ID SPAN-ID PARENT-ID KIND STATUS SERVICE NAME
 * Usage: collect-dump spool FILE...   |   collect-dump store FILE */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spool/spool.h"
#include "store/store.h"

static void print_span(const uint8_t trace_id[16], uint64_t span_id,
		       uint64_t parent_id, const char *kind, int error,
		       const char *service, const char *name)
{
	for (int i = 0; i < 16; i++)
		printf("%02x", trace_id[i]);
	printf(" %016" PRIx64 " %016" PRIx64 " %s %s %s %s\n", span_id,
	       parent_id, kind ? kind : "?", error ? "error" : "ok",
	       service && *service ? service : "-", name ? name : "");
}

static int dump_spool(const char *path)
{
	struct spool_reader *r;
	struct spool_record rec;
	const char *service;
	char *cause = NULL;
	int ret;

	if (spool_reader_open(&r, path, &cause)) {
		fprintf(stderr, "collect-dump: %s\n", cause);
		return 1;
	}
	while ((ret = spool_reader_next(r, &rec, &cause)) == SPOOL_READ_OK ||
	       ret == SPOOL_READ_CORRUPT) {
		const struct spool_span *s = &rec.u.span;

		if (ret != SPOOL_READ_OK || rec.type != SPOOL_RECORD_SPAN)
			continue;
		service = s->service && *s->service
				  ? s->service
				  : spool_reader_header(r)->service;
		print_span(s->trace_id, s->span_id, s->parent_id,
			   spool_kind_name(s->kind),
			   s->status == SPOOL_STATUS_ERROR, service, s->name);
	}
	spool_reader_free(r);
	if (ret == SPOOL_READ_ERROR) {
		fprintf(stderr, "collect-dump: %s\n", cause);
		return 1;
	}
	return 0;
}

static int on_span(const struct store_span *s, void *payload)
{
	print_span(s->trace_id, s->span_id, s->parent_id, s->kind,
		   s->status == STORE_SPAN_ERROR, s->service, s->name);
	return 0;
}

int main(int argc, char **argv)
{
	struct store *st;
	char *cause = NULL;
	int ret = 0;

	if (argc >= 3 && !strcmp(argv[1], "spool")) {
		for (int i = 2; i < argc; i++)
			ret |= dump_spool(argv[i]);
		return ret;
	}
	if (argc == 3 && !strcmp(argv[1], "store")) {
		if (store_open(&st, argv[2], &cause) ||
		    store_spans_each(st, 0, on_span, NULL, &cause)) {
			fprintf(stderr, "collect-dump: %s\n", cause);
			return 1;
		}
		store_free(st);
		return 0;
	}
	fprintf(stderr, "usage: collect-dump spool FILE... | store FILE\n");
	return 2;
}
