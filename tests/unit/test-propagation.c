/* test-propagation.c: trace contexts through HTTP headers: inject/extract
 * round trip, forged and wrongly keyed HMACs, key rotation, every
 * traceparent rule, and the counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "htrace.h"

#define MAX_HEADERS 8

struct headers {
	int n;
	char name[MAX_HEADERS][32];
	char value[MAX_HEADERS][256];
};

static void set_header(const char *name, const char *value, void *payload)
{
	struct headers *h = payload;

	assert_true(h->n < MAX_HEADERS);
	snprintf(h->name[h->n], sizeof(h->name[0]), "%s", name);
	snprintf(h->value[h->n], sizeof(h->value[0]), "%s", value);
	h->n++;
}

static const char *get_header(const char *name, void *payload)
{
	struct headers *h = payload;

	for (int i = 0; i < h->n; i++)
		if (!strcasecmp(h->name[i], name))
			return h->value[i];
	return NULL;
}

static char *find(struct headers *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (!strcasecmp(h->name[i], name))
			return h->value[i];
	return NULL;
}

static void start(const char *keys, int trust)
{
	struct htrace_options o;

	htrace_shutdown();
	htrace_options_init(&o);
	o.hmac_keys = keys;
	o.trust_traceparent = trust;
	/* No spool directory: propagation works with recording off. */
	assert_int_equal(htrace_init_with(&o), 1);
}

static void sample_context(struct htrace_context *ctx)
{
	for (int i = 0; i < 16; i++)
		ctx->trace_id[i] = (uint8_t)(0x10 * (i % 16) + i);
	ctx->span_id = 0x0123456789abcdefull;
	ctx->flags = HTRACE_FLAG_SAMPLED;
}

static void inject_with(const char *keys, struct headers *h)
{
	struct htrace_context ctx;

	start(keys, 0);
	sample_context(&ctx);
	memset(h, 0, sizeof(*h));
	assert_int_equal(htrace_inject_context(&ctx, set_header, h), 1);
}

static void test_propagation__round_trip(void **state)
{
	struct htrace_context in, out;
	struct htrace_stats before, after;
	struct headers h;

	(void)state;
	inject_with("k1", &h);
	assert_int_equal(h.n, 3);
	assert_string_equal(find(&h, "traceparent"),
			    "00-00112233445566778899aabbccddeeff-"
			    "0123456789abcdef-01");
	assert_non_null(find(&h, "X-Trace-Info"));
	assert_int_equal(strlen(find(&h, "X-Trace-HMAC")), 40);

	htrace_stats(&before);
	memset(&out, 0, sizeof(out));
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_OK);
	sample_context(&in);
	assert_memory_equal(out.trace_id, in.trace_id, 16);
	assert_true(out.span_id == in.span_id);
	assert_true(out.flags & HTRACE_FLAG_SAMPLED);
	htrace_stats(&after);
	assert_true(after.extract_ok == before.extract_ok + 1);

	/* Without OSprofiler headers only traceparent goes out. */
	htrace_shutdown();
	{
		struct htrace_options o;
		htrace_options_init(&o);
		o.hmac_keys = "k1";
		o.osprofiler_headers = 0;
		htrace_init_with(&o);
	}
	memset(&h, 0, sizeof(h));
	assert_int_equal(htrace_inject_context(&in, set_header, &h), 1);
	assert_int_equal(h.n, 1);
	assert_null(find(&h, "X-Trace-Info"));
}

static void test_propagation__forged(void **state)
{
	struct htrace_context out;
	struct htrace_stats before, after;
	struct headers h;
	char *mac, *info;

	(void)state;
	inject_with("k1", &h);
	htrace_stats(&before);
	mac = find(&h, "X-Trace-HMAC");
	mac[0] = mac[0] == '0' ? '1' : '0';
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_FORGED);
	mac[0] = mac[0] == '0' ? '1' : '0';
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_OK);
	/* Tampered info under the original HMAC. */
	info = find(&h, "X-Trace-Info");
	info[10] = info[10] == 'A' ? 'B' : 'A';
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_FORGED);
	/* A truncated HMAC. */
	mac[39] = '\0';
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_FORGED);
	htrace_stats(&after);
	assert_true(after.extract_forged == before.extract_forged + 3);
	assert_true(after.extract_ok == before.extract_ok + 1);
}

static void test_propagation__wrong_key(void **state)
{
	struct htrace_context out;
	struct headers h;

	(void)state;
	inject_with("secret-a", &h);
	start("secret-b", 1);
	/* Forged wins over a trusted traceparent: a bad signature is not a
	 * missing one. */
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_FORGED);
	/* A service with no keys cannot verify: untraced, as OSprofiler. */
	start(NULL, 0);
	assert_int_equal(htrace_extract(get_header, &h, &out),
			 HTRACE_EXTRACT_UNTRACED);
}

static void test_propagation__key_rotation(void **state)
{
	struct htrace_context out;
	struct headers old_signed, new_signed;

	(void)state;
	inject_with("old", &old_signed);
	inject_with("new,old", &new_signed);
	/* The rotated service signs with its first key, accepts both. */
	assert_string_not_equal(find(&old_signed, "X-Trace-HMAC"),
				find(&new_signed, "X-Trace-HMAC"));
	assert_int_equal(htrace_extract(get_header, &old_signed, &out),
			 HTRACE_EXTRACT_OK);
	assert_int_equal(htrace_extract(get_header, &new_signed, &out),
			 HTRACE_EXTRACT_OK);
	/* A service not yet rotated rejects the new signature. */
	start("old", 0);
	assert_int_equal(htrace_extract(get_header, &new_signed, &out),
			 HTRACE_EXTRACT_FORGED);
	assert_int_equal(htrace_extract(get_header, &old_signed, &out),
			 HTRACE_EXTRACT_OK);
	/* Spaces around keys in the list do not matter. */
	start(" other , new ", 0);
	assert_int_equal(htrace_extract(get_header, &new_signed, &out),
			 HTRACE_EXTRACT_OK);
}

static const struct {
	const char *text;
	int want;
} traceparents[] = {
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_OK },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	  HTRACE_EXTRACT_OK },
	/* Later versions may append fields after a dash. */
	{ "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what",
	  HTRACE_EXTRACT_OK },
	{ "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_OK },
	{ "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
	  HTRACE_EXTRACT_MALFORMED },
	/* Version ff is invalid. */
	{ "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	/* Version 00 is exactly 55 characters. */
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
	  HTRACE_EXTRACT_MALFORMED },
	/* Uppercase hex anywhere is invalid. */
	{ "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0F",
	  HTRACE_EXTRACT_MALFORMED },
	/* All-zero ids are invalid. */
	{ "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	  HTRACE_EXTRACT_MALFORMED },
	/* Non-hex, wrong separators, wrong field lengths. */
	{ "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
	  HTRACE_EXTRACT_MALFORMED },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b701-",
	  HTRACE_EXTRACT_MALFORMED },
	{ "", HTRACE_EXTRACT_MALFORMED },
	{ "00", HTRACE_EXTRACT_MALFORMED },
};

static void test_propagation__traceparent_rules(void **state)
{
	struct htrace_context ctx, back;
	struct htrace_stats before, after;
	char buf[HTRACE_TRACEPARENT_SIZE];
	unsigned ok = 0, bad = 0;

	(void)state;
	start("k1", 1);
	htrace_stats(&before);
	for (size_t i = 0; i < sizeof(traceparents) / sizeof(traceparents[0]);
	     i++) {
		struct headers h = { 0 };
		int got;

		set_header("traceparent", traceparents[i].text, &h);
		got = htrace_extract(get_header, &h, &ctx);
		if (got != traceparents[i].want)
			fail_msg("'%s': got %d, want %d", traceparents[i].text,
				 got, traceparents[i].want);
		assert_int_equal(htrace_context_parse(traceparents[i].text,
						      &back),
				 traceparents[i].want);
		if (got == HTRACE_EXTRACT_OK)
			ok++;
		else
			bad++;
	}
	htrace_stats(&after);
	assert_true(after.extract_ok == before.extract_ok + ok);
	assert_true(after.extract_malformed ==
		    before.extract_malformed + bad);

	/* Parse and format are inverses for version 00. */
	assert_int_equal(htrace_context_parse(traceparents[0].text, &ctx), 0);
	assert_true(ctx.span_id == 0x00f067aa0ba902b7ull);
	assert_int_equal(ctx.flags, 1);
	assert_int_equal(htrace_context_format(&ctx, buf), 0);
	assert_string_equal(buf, traceparents[0].text);
	ctx.span_id = 0;
	assert_int_equal(htrace_context_format(&ctx, buf), -1);
	assert_int_equal(htrace_context_parse(NULL, &ctx),
			 HTRACE_EXTRACT_MALFORMED);
}

static void test_propagation__untrusted_and_absent(void **state)
{
	struct htrace_context ctx;
	struct htrace_stats before, after;
	struct headers h = { 0 };

	(void)state;
	start("k1", 0);
	htrace_stats(&before);
	assert_int_equal(htrace_extract(get_header, &h, &ctx),
			 HTRACE_EXTRACT_UNTRACED);
	set_header("traceparent", traceparents[0].text, &h);
	assert_int_equal(htrace_extract(get_header, &h, &ctx),
			 HTRACE_EXTRACT_UNTRACED);
	/* Info without an HMAC is unsigned: untraced. */
	set_header("X-Trace-Info", "eyJiYXNlX2lkIjogIngifQ==", &h);
	assert_int_equal(htrace_extract(get_header, &h, &ctx),
			 HTRACE_EXTRACT_UNTRACED);
	htrace_stats(&after);
	assert_true(after.extract_untraced == before.extract_untraced + 3);
}

static void sign(const char *key, const char *info, char mac[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	assert_non_null(HMAC(EVP_sha1(), key, (int)strlen(key),
			     (const unsigned char *)info, strlen(info), md,
			     &len));
	for (unsigned i = 0; i < len; i++)
		snprintf(mac + 2 * i, 3, "%02x", md[i]);
}

/* Signed but not the JSON OSprofiler sends: malformed, not forged. */
static void test_propagation__signed_garbage(void **state)
{
	static const char *const infos[] = {
		"eyJiYXNlX2lkIjogIngifQ==",	/* {"base_id": "x"} */
		"bm90IGpzb24=",			/* not json */
		"!!!",				/* not base64 */
		/* {"base_id": "<uuid>"} without parent_id */
		"eyJiYXNlX2lkIjogIjAwMTEyMjMzLTQ0NTUtNjY3Ny04ODk5LWFhYmJjY2RkZWVmZiJ9",
	};
	struct htrace_context ctx;
	struct htrace_stats before, after;
	char mac[41];

	(void)state;
	start("k1", 0);
	htrace_stats(&before);
	for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++) {
		struct headers h = { 0 };

		sign("k1", infos[i], mac);
		set_header("X-Trace-Info", infos[i], &h);
		set_header("X-Trace-HMAC", mac, &h);
		assert_int_equal(htrace_extract(get_header, &h, &ctx),
				 HTRACE_EXTRACT_MALFORMED);
	}
	htrace_stats(&after);
	assert_true(after.extract_malformed == before.extract_malformed + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_propagation__round_trip),
		cmocka_unit_test(test_propagation__forged),
		cmocka_unit_test(test_propagation__wrong_key),
		cmocka_unit_test(test_propagation__key_rotation),
		cmocka_unit_test(test_propagation__traceparent_rules),
		cmocka_unit_test(test_propagation__untrusted_and_absent),
		cmocka_unit_test(test_propagation__signed_garbage),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	htrace_shutdown();
	return ret;
}
