/* test-propagation.c: trace contexts through HTTP headers: inject/extract
 * round trip, forged and wrongly keyed HMACs, key rotation, every
 * traceparent rule, the counters, signing from many threads across changes
 * of key, and in children forked while other threads sign. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* For other threads than the test's, where cmocka must not fail: a full
 * list drops the header, and the count of headers tells. */
static void set_header_quiet(const char *name, const char *value,
			     void *payload)
{
	struct headers *h = payload;

	if (h->n >= MAX_HEADERS)
		return;
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
	/* What OSprofiler's Python writes for these ids and key:
	 * urlsafe_b64encode(json.dumps({"base_id": ..., "parent_id": ...}))
	 * and hmac.new(b"k1", info, sha1).hexdigest(). */
	assert_string_equal(find(&h, "X-Trace-Info"),
			    "eyJiYXNlX2lkIjogIjAwMTEyMjMzLTQ0NTUtNjY3Ny04OD"
			    "k5LWFhYmJjY2RkZWVmZiIsICJwYXJlbnRfaWQiOiAiMDAx"
			    "MTIyMzMtNDQ1NS02Njc3LTAxMjMtNDU2Nzg5YWJjZGVmIn"
			    "0=");
	assert_string_equal(find(&h, "X-Trace-HMAC"),
			    "07dab42845d58c0495d25826e15b0b4a5e5bdaa7");

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

/* The hex HMAC-SHA1 of info under key by OpenSSL's one-shot HMAC(), as
 * libhtrace computed it before it kept keyed contexts; -1 on failure. */
static int oneshot_mac(const char *key, const char *info, char mac[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!HMAC(EVP_sha1(), key, (int)strlen(key),
		  (const unsigned char *)info, strlen(info), md, &len) ||
	    len != 20)
		return -1;
	for (unsigned i = 0; i < len; i++)
		snprintf(mac + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static void sign(const char *key, const char *info, char mac[41])
{
	assert_int_equal(oneshot_mac(key, info, mac), 0);
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

#define SIGNERS 8
#define SIGNS 300

/* The key lists of the phases of test_propagation__threads, each signing
 * with its first key; the headers signed in phase 0 and 1 are kept. */
static const char *const phase_keys[] = { "alpha", "beta", "gamma,beta" };
static const char *const phase_signer[] = { "alpha", "beta", "gamma" };
static struct headers phase_signed[2];
static pthread_barrier_t phase_barrier;

struct signer {
	int id;
	unsigned errors[3];
};

/* One phase of a signer: sign SIGNS contexts, each checked against the
 * one-shot HMAC under the phase's first key and verified back; and the
 * headers of earlier phases accepted or refused as the keys say. */
static unsigned sign_phase(int id, int phase)
{
	const char *key = phase_signer[phase];
	unsigned errors = 0;

	for (int i = 0; i < SIGNS; i++) {
		struct htrace_context ctx, out;
		struct headers h = { 0 };
		char want[41];
		const char *mac, *info;

		for (int b = 0; b < 16; b++)
			ctx.trace_id[b] = (uint8_t)(b * 31 + id * 7 + i + phase);
		ctx.span_id = (uint64_t)id << 32 | (uint64_t)i << 8 |
			      ((uint64_t)phase + 1);
		ctx.flags = HTRACE_FLAG_SAMPLED;
		if (htrace_inject_context(&ctx, set_header_quiet, &h) != 1 ||
		    h.n != 3) {
			errors++;
			continue;
		}
		info = get_header("X-Trace-Info", &h);
		mac = get_header("X-Trace-HMAC", &h);
		if (!info || !mac || oneshot_mac(key, info, want) < 0 ||
		    strcmp(mac, want))
			errors++;
		memset(&out, 0, sizeof(out));
		if (htrace_extract(get_header, &h, &out) != HTRACE_EXTRACT_OK ||
		    memcmp(out.trace_id, ctx.trace_id, 16) ||
		    out.span_id != ctx.span_id)
			errors++;
		/* alpha is no longer configured after phase 0; beta still is
		 * in phase 2. */
		if (phase >= 1 && htrace_extract(get_header, &phase_signed[0],
						 &out) != HTRACE_EXTRACT_FORGED)
			errors++;
		if (phase == 2 && htrace_extract(get_header, &phase_signed[1],
						 &out) != HTRACE_EXTRACT_OK)
			errors++;
	}
	return errors;
}

/* The same threads live through every phase: their keyed contexts must
 * follow the keys of each init. */
static void *signer_main(void *arg)
{
	struct signer *s = arg;

	for (int phase = 0; phase < 3; phase++) {
		pthread_barrier_wait(&phase_barrier);
		s->errors[phase] = sign_phase(s->id, phase);
		pthread_barrier_wait(&phase_barrier);
	}
	return NULL;
}

/* Signing and verifying from many threads at once, with the same
 * threads across shutdowns and inits with other keys: every signature is
 * the one-shot HMAC's under the key of the moment. */
static void test_propagation__threads(void **state)
{
	struct signer signers[SIGNERS];
	pthread_t threads[SIGNERS];
	struct htrace_context ctx;

	(void)state;
	sample_context(&ctx);
	assert_int_equal(pthread_barrier_init(&phase_barrier, NULL,
					      SIGNERS + 1),
			 0);
	for (int i = 0; i < SIGNERS; i++) {
		signers[i] = (struct signer){ .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, signer_main,
						&signers[i]),
				 0);
	}
	for (int phase = 0; phase < 3; phase++) {
		start(phase_keys[phase], 0);
		if (phase < 2) {
			memset(&phase_signed[phase], 0,
			       sizeof(phase_signed[phase]));
			assert_int_equal(htrace_inject_context(
						 &ctx, set_header,
						 &phase_signed[phase]),
					 1);
		}
		pthread_barrier_wait(&phase_barrier);
		pthread_barrier_wait(&phase_barrier);
	}
	for (int i = 0; i < SIGNERS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	pthread_barrier_destroy(&phase_barrier);
	for (int i = 0; i < SIGNERS; i++)
		for (int phase = 0; phase < 3; phase++)
			if (signers[i].errors[phase])
				fail_msg("signer %d, keys '%s': %u errors", i,
					 phase_keys[phase],
					 signers[i].errors[phase]);
	/* After the threads, alone again, under the last keys. */
	assert_int_equal(htrace_extract(get_header, &phase_signed[1], &ctx),
			 HTRACE_EXTRACT_OK);
}

#define FORKS 20

static atomic_int busy_stop;

/* Signs and verifies until told to stop, so that forks come while other
 * threads are inside libhtrace and OpenSSL. */
static void *busy_signer(void *arg)
{
	struct htrace_context ctx, out;

	(void)arg;
	sample_context(&ctx);
	while (!atomic_load(&busy_stop)) {
		struct headers h = { 0 };

		htrace_inject_context(&ctx, set_header_quiet, &h);
		htrace_extract(get_header, &h, &out);
	}
	return NULL;
}

/* In a forked child: sign and verify; the exit status says whether the
 * headers were right. */
static int child_signs(void)
{
	struct htrace_context ctx, out;
	struct headers h = { 0 };
	const char *mac;

	sample_context(&ctx);
	if (htrace_inject_context(&ctx, set_header_quiet, &h) != 1)
		return 1;
	mac = get_header("X-Trace-HMAC", &h);
	if (!mac || strcmp(mac, "07dab42845d58c0495d25826e15b0b4a5e5bdaa7"))
		return 2;
	if (htrace_extract(get_header, &h, &out) != HTRACE_EXTRACT_OK ||
	    out.span_id != ctx.span_id)
		return 3;
	return 0;
}

/* Services fork while other threads serve requests: the child must sign
 * and verify at once, whatever the other threads held at the fork. */
static void test_propagation__fork(void **state)
{
	pthread_t threads[2];

	(void)state;
	start("k1", 0);
	atomic_store(&busy_stop, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, busy_signer,
						NULL),
				 0);
	for (int i = 0; i < FORKS; i++) {
		struct timespec pause = { 0, 1000000 };
		int status = 0, waited = 0;
		pid_t pid = fork(), got;

		assert_true(pid >= 0);
		if (pid == 0)
			_exit(child_signs());
		/* A child that hangs is killed after 10 s, and fails. */
		while ((got = waitpid(pid, &status, WNOHANG)) == 0 &&
		       waited++ < 10000)
			nanosleep(&pause, NULL);
		if (got == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("fork %d: the child hung", i);
		}
		assert_int_equal(got, pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	atomic_store(&busy_stop, 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
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
		cmocka_unit_test(test_propagation__threads),
		cmocka_unit_test(test_propagation__fork),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	htrace_shutdown();
	return ret;
}
