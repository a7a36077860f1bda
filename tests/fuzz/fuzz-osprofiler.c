/* fuzz-osprofiler.c: the OSprofiler importer on arbitrary bytes: every
 * span it makes must encode as a spool record, every failure says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/osprofiler.h"
#include "spool/spool.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(const struct spool_span *s, void *payload)
{
	struct strbuf *buf = payload;
	size_t need = spool_span_size(s);

	if (!need)
		abort();
	strbuf_reset(buf);
	strbuf_grow(buf, need);
	return spool_encode_span(buf->buf, need, s) ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf buf = STRBUF_INIT;
	struct osprofiler_stats st;
	char *cause = NULL;

	struct osprofiler_batch *b;
	const uint8_t *p = data, *end = data + size;

	if (osprofiler_decode(data, size, sink, &buf, &st, &cause) && !cause)
		abort();
	free(cause);
	osprofiler_stats_release(&st);
	/* As the Redis reader feeds it: each line one stored value. */
	b = osprofiler_batch_new(&st);
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *e = nl ? nl : end;

		osprofiler_batch_add(b, (const char *)p, (size_t)(e - p));
		p = e + 1;
	}
	if (osprofiler_batch_emit(b, sink, &buf) < 0)
		abort();
	osprofiler_batch_free(b);
	osprofiler_stats_release(&st);
	strbuf_release(&buf);
	return 0;
}
