/* bench-propagate.c: what signing and verifying OSprofiler headers costs
 * per call, htrace_inject_context and htrace_extract against the one-shot
 * HMAC() of the same X-Trace-Info in the same run.
 *
 * usage: bench-propagate [calls per round] [rounds]; prints the median ns
 * per call of each, and fails when the library's X-Trace-HMAC is not the
 * one-shot HMAC's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "htrace.h"

#define KEY "bench-secret"
#define MAX_ROUNDS 99

struct headers {
	char tp[64];
	char info[256];
	char mac[64];
};

/* Copies as a client's header list would, without printf's cost. */
static void copy(char *to, size_t size, const char *value)
{
	size_t n = strlen(value);

	if (n >= size)
		n = size - 1;
	memcpy(to, value, n);
	to[n] = '\0';
}

static void set_header(const char *name, const char *value, void *payload)
{
	struct headers *h = payload;

	if (!strcmp(name, "traceparent"))
		copy(h->tp, sizeof(h->tp), value);
	else if (!strcmp(name, "X-Trace-Info"))
		copy(h->info, sizeof(h->info), value);
	else
		copy(h->mac, sizeof(h->mac), value);
}

static const char *get_header(const char *name, void *payload)
{
	struct headers *h = payload;

	if (!strcasecmp(name, "traceparent"))
		return h->tp;
	if (!strcasecmp(name, "X-Trace-Info"))
		return h->info;
	if (!strcasecmp(name, "X-Trace-HMAC"))
		return h->mac;
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* What inject paid for its HMAC before: the one-shot call, in hex. */
static int oneshot_hex(const char *info, char out[41])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!HMAC(EVP_sha1(), KEY, (int)strlen(KEY),
		  (const unsigned char *)info, strlen(info), md, &len) ||
	    len != 20)
		return -1;
	for (unsigned i = 0; i < 20; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[40] = '\0';
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 200000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	double inject[MAX_ROUNDS], extract[MAX_ROUNDS], oneshot[MAX_ROUNDS];
	struct htrace_options o;
	struct htrace_context ctx, out;
	struct headers h;
	char mac[41];
	unsigned sink = 0;

	if (calls < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench-propagate [calls] [rounds]\n");
		return 2;
	}
	htrace_options_init(&o);
	o.hmac_keys = KEY;
	/* No spool directory: propagation alone, recording off. */
	if (htrace_init_with(&o) < 0) {
		fprintf(stderr, "bench-propagate: cannot start libhtrace\n");
		return 1;
	}
	for (int i = 0; i < 16; i++)
		ctx.trace_id[i] = (uint8_t)(17 * i + 1);
	ctx.span_id = 0x0123456789abcdefull;
	ctx.flags = HTRACE_FLAG_SAMPLED;
	memset(&h, 0, sizeof(h));
	if (htrace_inject_context(&ctx, set_header, &h) != 1 || !h.mac[0] ||
	    oneshot_hex(h.info, mac) < 0 || strcmp(mac, h.mac) ||
	    htrace_extract(get_header, &h, &out) != HTRACE_EXTRACT_OK) {
		fprintf(stderr, "bench-propagate: headers differ from the "
				"one-shot HMAC or do not verify\n");
		return 1;
	}

	for (int r = 0; r < rounds; r++) {
		double t;

		t = now_ns();
		for (long i = 0; i < calls; i++) {
			ctx.span_id = (uint64_t)i + 1;
			sink += (unsigned)htrace_inject_context(&ctx,
								set_header, &h);
		}
		inject[r] = (now_ns() - t) / (double)calls;

		t = now_ns();
		for (long i = 0; i < calls; i++)
			sink += (unsigned)htrace_extract(get_header, &h, &out);
		extract[r] = (now_ns() - t) / (double)calls;

		t = now_ns();
		for (long i = 0; i < calls; i++)
			sink += (unsigned)oneshot_hex(h.info, mac);
		oneshot[r] = (now_ns() - t) / (double)calls;
	}
	if (htrace_extract(get_header, &h, &out) != HTRACE_EXTRACT_OK ||
	    out.span_id != (uint64_t)calls) {
		fprintf(stderr, "bench-propagate: last headers do not "
				"verify\n");
		return 1;
	}
	printf("propagate: %ld calls x %d rounds, one key (sink %u)\n", calls,
	       rounds, sink);
	printf("  inject (traceparent + signed X-Trace-Info)  %7.0f ns/call\n",
	       median(inject, rounds));
	printf("  extract (X-Trace-HMAC verified)             %7.0f ns/call\n",
	       median(extract, rounds));
	printf("  one-shot HMAC() of the same X-Trace-Info    %7.0f ns/call\n",
	       median(oneshot, rounds));
	htrace_shutdown();
	return 0;
}
