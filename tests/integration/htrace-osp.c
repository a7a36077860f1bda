/* htrace-osp.c: libhtrace's side of the OSprofiler compatibility test.
 *   htrace-osp sign <keys>                    print X-Trace-Info,
 *       X-Trace-HMAC, the trace id (hex) and the span id (hex), a line each
 *   htrace-osp verify <keys> <info> <hmac>    print "ok <trace> <span>"
 *       or the extract result name; exit 0 only when ok */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "htrace.h"

struct pair {
	const char *info;
	const char *hmac;
};

static void set(const char *name, const char *value, void *payload)
{
	(void)payload;
	if (!strcasecmp(name, "X-Trace-Info"))
		printf("%s\n", value);
	else if (!strcasecmp(name, "X-Trace-HMAC"))
		printf("%s\n", value);
}

static const char *get(const char *name, void *payload)
{
	struct pair *p = payload;

	if (!strcasecmp(name, "X-Trace-Info"))
		return p->info;
	if (!strcasecmp(name, "X-Trace-HMAC"))
		return p->hmac;
	return NULL;
}

static void print_ctx(const struct htrace_context *ctx)
{
	for (int i = 0; i < 16; i++)
		printf("%02x", ctx->trace_id[i]);
	printf(" %016" PRIx64 "\n", ctx->span_id);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "ok", "untraced", "forged",
					     "malformed" };
	struct htrace_options o;
	struct htrace_context ctx;
	struct pair p;
	int r;

	if (argc < 3)
		return 64;
	htrace_options_init(&o);
	o.hmac_keys = argv[2];
	htrace_init_with(&o);
	if (!strcmp(argv[1], "sign") && argc == 3) {
		/* A context with every byte distinct, so a swapped or lost
		 * byte shows. */
		for (int i = 0; i < 16; i++)
			ctx.trace_id[i] = (uint8_t)(0xf1 - 7 * i);
		ctx.span_id = 0x8877665544332211ull;
		ctx.flags = HTRACE_FLAG_SAMPLED;
		if (htrace_inject_context(&ctx, set, NULL) != 1)
			return 1;
		print_ctx(&ctx);
		return 0;
	}
	if (!strcmp(argv[1], "verify") && argc == 5) {
		p.info = argv[3];
		p.hmac = argv[4];
		r = htrace_extract(get, &p, &ctx);
		if (r != HTRACE_EXTRACT_OK) {
			printf("%s\n", r >= 0 && r <= 3 ? names[r] : "?");
			return 1;
		}
		printf("ok ");
		print_ctx(&ctx);
		return 0;
	}
	return 64;
}
