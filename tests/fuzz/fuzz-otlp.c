/* fuzz-otlp.c: an OTLP decoder on arbitrary bytes: the protobuf one, or
 * the JSON one when built with FUZZ_OTLP_JSON. Every accepted span must
 * encode as a spool record, every failure must say why, and the response
 * encoders must take the result. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "collect/otlp.h"
#include "spool/spool.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(const struct spool_span *s, void *payload)
{
	struct strbuf *buf = payload;
	size_t need = spool_span_size(s), n;

	if (!need || need > (4u << 20))
		return 1;
	strbuf_reset(buf);
	strbuf_grow(buf, need);
	n = spool_encode_span(buf->buf, need, s);
	return n ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf buf = STRBUF_INIT, out = STRBUF_INIT;
	struct otlp_result res = { 0 };
	char *cause = NULL;
	int ret;

#if defined(FUZZ_OTLP_JSON)
	ret = otlp_decode_json(data, size, sink, &buf, &res, &cause);
#else
	ret = otlp_decode_protobuf(data, size, sink, &buf, &res, &cause);
#endif
	if (ret == 0) {
		otlp_response_protobuf(&out, &res);
		otlp_response_json(&out, &res);
	} else if (!cause) {
		abort();	/* a failure always says why */
	} else {
		otlp_status_json(&out, 3, cause);
	}
	free(cause);
	otlp_result_release(&res);
	strbuf_release(&buf);
	strbuf_release(&out);
	return 0;
}
