/* test-refstack.c: the pure pieces of the reference stack: knob parsing,
 * address allocation, RPC messages, image bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refstack/imagedata.h"
#include "refstack/knobs.h"
#include "refstack/netaddr.h"
#include "refstack/refstack.h"

static void test_refstack__durations(void **state)
{
	uint64_t ns = 0;

	(void)state;
	assert_int_equal(rs_parse_duration("20ms", &ns), 0);
	assert_int_equal(ns, 20000000);
	assert_int_equal(rs_parse_duration("1.5s", &ns), 0);
	assert_int_equal(ns, 1500000000);
	assert_int_equal(rs_parse_duration("250us", &ns), 0);
	assert_int_equal(ns, 250000);
	/* The benchmarks plant 10% shifts of a few hundred µs. */
	assert_int_equal(rs_parse_duration("125\xc2\xb5s", &ns), 0);
	assert_int_equal(ns, 125000);
	assert_int_equal(rs_parse_duration("12.5\xce\xbcs", &ns), 0);
	assert_int_equal(ns, 12500);
	assert_int_equal(rs_parse_duration("125\xc2\xb5", &ns), -1);
	assert_int_equal(rs_parse_duration("7ns", &ns), 0);
	assert_int_equal(ns, 7);
	assert_int_equal(rs_parse_duration("2m", &ns), 0);
	assert_int_equal(ns, 120000000000ull);
	assert_int_equal(rs_parse_duration("0ms", &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(rs_parse_duration("20", &ns), -1);
	assert_int_equal(rs_parse_duration("ms", &ns), -1);
	assert_int_equal(rs_parse_duration("-5ms", &ns), -1);
	assert_int_equal(rs_parse_duration("5 ms", &ns), -1);
	assert_int_equal(rs_parse_duration("5h", &ns), -1);
	assert_int_equal(rs_parse_duration("", &ns), -1);
	assert_int_equal(rs_parse_duration("nanms", &ns), -1);
	assert_int_equal(rs_parse_duration("1e30s", &ns), -1);
}

/* One knob, one delay per call: an RPC's is spent in the callee's
 * rpc.dispatch, never also in the caller's rpc.call or rpc.cast of the
 * same name; every other span of the name spends it. */
static void test_refstack__knob_once_per_call(void **state)
{
	struct rs_knobs k;
	char *cause = NULL;
	const struct rs_knob_delay *d;

	(void)state;
	rs_knobs_init(&k);
	assert_int_equal(rs_knobs_set(&k, "REFSTACK_SLOW",
				      "scheduler.select_destinations=125us,"
				      "compute.build_and_run_instance=1ms,"
				      "POST /servers=2ms",
				      &cause),
			 0);
	assert_null(rs_knobs_delay_in(&k, HTRACE_KIND_RPC_CALL,
				      "scheduler.select_destinations"));
	d = rs_knobs_delay_in(&k, HTRACE_KIND_RPC_DISPATCH,
			      "scheduler.select_destinations");
	assert_non_null(d);
	assert_int_equal(d->ns, 125000);
	assert_null(rs_knobs_delay_in(&k, HTRACE_KIND_RPC_CAST,
				      "compute.build_and_run_instance"));
	assert_non_null(rs_knobs_delay_in(&k, HTRACE_KIND_RPC_DISPATCH,
					  "compute.build_and_run_instance"));
	assert_null(rs_knobs_delay_in(&k, HTRACE_KIND_REST_CALL,
				      "POST /servers"));
	assert_non_null(rs_knobs_delay_in(&k, HTRACE_KIND_REST_DISPATCH,
					  "POST /servers"));
	assert_non_null(rs_knobs_delay_in(&k, HTRACE_KIND_DB,
					  "POST /servers"));
	assert_null(rs_knobs_delay_in(&k, HTRACE_KIND_DB, "SELECT hosts"));
	rs_knobs_release(&k);
}

static void test_refstack__knobs_set(void **state)
{
	struct rs_knobs k;
	char *cause = NULL;
	const struct rs_knob_delay *d;

	(void)state;
	rs_knobs_init(&k);
	assert_int_equal(rs_knobs_set(&k, "REFSTACK_SLOW",
				      "scheduler.select_destinations=20ms,"
				      "POST /servers=1s",
				      &cause),
			 0);
	assert_int_equal(k.ndelays, 2);
	d = rs_knobs_delay(&k, "scheduler.select_destinations");
	assert_non_null(d);
	assert_int_equal(d->ns, 20000000);
	assert_false(d->cpu);
	d = rs_knobs_delay(&k, "POST /servers");
	assert_non_null(d);
	assert_int_equal(d->ns, 1000000000);
	assert_null(rs_knobs_delay(&k, "POST /server"));
	/* The last one given wins; cpu marks busy work. */
	assert_int_equal(rs_knobs_set(&k, "cpu",
				      "scheduler.select_destinations=3ms",
				      &cause),
			 0);
	d = rs_knobs_delay(&k, "scheduler.select_destinations");
	assert_int_equal(d->ns, 3000000);
	assert_true(d->cpu);

	assert_int_equal(rs_knobs_set(&k, "n_plus_one", "yes", &cause), 0);
	assert_true(k.n_plus_one);
	assert_int_equal(rs_knobs_set(&k, "REFSTACK_N_PLUS_ONE", "0", &cause),
			 0);
	assert_false(k.n_plus_one);
	assert_int_equal(rs_knobs_set(&k, "build_failure_rate", "0.25",
				      &cause),
			 0);
	assert_true(k.build_failure_rate == 0.25);
	assert_int_equal(rs_knobs_set(&k, "seed", "42", &cause), 0);
	assert_int_equal(k.seed, 42);

	assert_int_equal(rs_knobs_set(&k, "build_failure_rate", "1.5",
				      &cause),
			 -1);
	assert_non_null(strstr(cause, "build_failure_rate"));
	free(cause);
	cause = NULL;
	assert_int_equal(rs_knobs_set(&k, "n_plus_one", "maybe", &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(rs_knobs_set(&k, "slow", "noequals", &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(rs_knobs_set(&k, "slow", "op=fast", &cause), -1);
	assert_non_null(strstr(cause, "fast"));
	free(cause);
	cause = NULL;
	assert_int_equal(rs_knobs_set(&k, "frobnicate", "1", &cause), -1);
	assert_non_null(strstr(cause, "unknown knob 'frobnicate'"));
	free(cause);
	rs_knobs_release(&k);
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test-refstack-knobs.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_refstack__knobs_file_and_env(void **state)
{
	struct rs_knobs k;
	char *cause = NULL;
	char *good = write_temp("# a knob file\n\n  slow = api.x=5ms \n"
				"REFSTACK_N_PLUS_ONE=1\r\n"
				"build_failure_rate=0.5");
	char *bad = write_temp("slow=a=1ms\n\nnot a knob line\n");

	(void)state;
	rs_knobs_init(&k);
	assert_int_equal(rs_knobs_load_file(&k, good, &cause), 0);
	assert_non_null(rs_knobs_delay(&k, "api.x"));
	assert_int_equal(rs_knobs_delay(&k, "api.x")->ns, 5000000);
	assert_true(k.n_plus_one);
	assert_true(k.build_failure_rate == 0.5);

	assert_int_equal(rs_knobs_load_file(&k, bad, &cause), -1);
	assert_non_null(strstr(cause, ":3: want KEY=VALUE"));
	free(cause);
	cause = NULL;
	assert_int_equal(rs_knobs_load_file(&k, "/nonexistent/knobs", &cause),
			 -1);
	assert_non_null(strstr(cause, "cannot read"));
	free(cause);
	cause = NULL;

	setenv("REFSTACK_SLOW", "scheduler.select_destinations=20ms", 1);
	setenv("REFSTACK_BUILD_FAILURE_RATE", "0.1", 1);
	assert_int_equal(rs_knobs_load_env(&k, &cause), 0);
	assert_int_equal(
		rs_knobs_delay(&k, "scheduler.select_destinations")->ns,
		20000000);
	assert_true(k.build_failure_rate == 0.1);
	setenv("REFSTACK_BUILD_FAILURE_RATE", "lots", 1);
	assert_int_equal(rs_knobs_load_env(&k, &cause), -1);
	free(cause);
	unsetenv("REFSTACK_SLOW");
	unsetenv("REFSTACK_BUILD_FAILURE_RATE");

	unlink(good);
	unlink(bad);
	free(good);
	free(bad);
	rs_knobs_release(&k);
}

static void test_refstack__delay_spends_time(void **state)
{
	struct rs_knob_delay sleep = { .op = (char *)"x", .ns = 20000000 };
	struct rs_knob_delay busy = { .op = (char *)"x", .ns = 20000000,
				      .cpu = true };
	struct timespec a, b;
	uint64_t ns;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	rs_knob_delay_spend(&sleep);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
	     (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
	assert_true(ns >= 20000000);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	rs_knob_delay_spend(&busy);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
	     (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
	assert_true(ns >= 20000000);
	rs_knob_delay_spend(NULL);
}

static void test_refstack__ip_parse_format(void **state)
{
	uint32_t ip;
	char buf[16];

	(void)state;
	assert_int_equal(rs_ip_parse("10.0.1.255", &ip), 0);
	assert_int_equal(ip, 0x0a0001ff);
	rs_ip_format(ip, buf);
	assert_string_equal(buf, "10.0.1.255");
	assert_int_equal(rs_ip_parse("255.255.255.255", &ip), 0);
	assert_int_equal(ip, 0xffffffff);
	assert_int_equal(rs_ip_parse("256.0.0.1", &ip), -1);
	assert_int_equal(rs_ip_parse("1.2.3", &ip), -1);
	assert_int_equal(rs_ip_parse("1.2.3.4.5", &ip), -1);
	assert_int_equal(rs_ip_parse("1..3.4", &ip), -1);
	assert_int_equal(rs_ip_parse("1.2.3.0004", &ip), -1);
	assert_int_equal(rs_ip_parse("a.b.c.d", &ip), -1);
	assert_int_equal(rs_ip_parse("", &ip), -1);
}

static void test_refstack__cidr(void **state)
{
	uint32_t net, first, last;
	unsigned prefix;

	(void)state;
	assert_int_equal(rs_cidr_parse("10.0.0.0/24", &net, &prefix), 0);
	assert_int_equal(net, 0x0a000000);
	assert_int_equal(prefix, 24);
	rs_cidr_pool(net, prefix, &first, &last);
	assert_int_equal(first, 0x0a000002); /* .0 network, .1 gateway */
	assert_int_equal(last, 0x0a0000fe);  /* .255 broadcast */
	assert_int_equal(rs_cidr_parse("10.0.0.0/16", &net, &prefix), 0);
	rs_cidr_pool(net, prefix, &first, &last);
	assert_int_equal(last, 0x0a00fffe);
	assert_int_equal(rs_cidr_parse("10.0.0.1/24", &net, &prefix), -1);
	assert_int_equal(rs_cidr_parse("10.0.0.0/31", &net, &prefix), -1);
	assert_int_equal(rs_cidr_parse("10.0.0.0/", &net, &prefix), -1);
	assert_int_equal(rs_cidr_parse("10.0.0.0", &net, &prefix), -1);
	assert_int_equal(rs_cidr_parse("10.0.0.0/24x", &net, &prefix), -1);
}

static void test_refstack__lowest_free(void **state)
{
	uint32_t used[] = { 7, 3, 2, 3, 4, 100, 1 };
	uint32_t full[] = { 4, 2, 3 };
	uint32_t out = 0;

	(void)state;
	assert_int_equal(rs_ip_lowest_free(2, 10, NULL, 0, &out), 0);
	assert_int_equal(out, 2);
	/* Unsorted, duplicates and out-of-range entries. */
	assert_int_equal(rs_ip_lowest_free(2, 10, used, 7, &out), 0);
	assert_int_equal(out, 5);
	assert_int_equal(rs_ip_lowest_free(2, 4, full, 3, &out), -1);
	assert_int_equal(rs_ip_lowest_free(2, 5, full, 3, &out), 0);
	assert_int_equal(out, 5);
	assert_int_equal(rs_ip_lowest_free(5, 4, NULL, 0, &out), -1);
}

static void test_refstack__lowest_free_many(void **state)
{
	/* Allocate a /24 pool one by one: each gets the next address, a
	 * freed one is reused first, and a full pool says so. */
	uint32_t used[256], out;
	size_t n = 0;

	(void)state;
	for (uint32_t want = 2; want <= 254; want++) {
		assert_int_equal(rs_ip_lowest_free(2, 254, used, n, &out), 0);
		assert_int_equal(out, want);
		used[n++] = out;
	}
	assert_int_equal(rs_ip_lowest_free(2, 254, used, n, &out), -1);
	used[100] = used[--n]; /* free whatever was at index 100: 102 */
	assert_int_equal(rs_ip_lowest_free(2, 254, used, n, &out), 0);
	assert_int_equal(out, 102);
}

static void test_refstack__rpc_round_trip(void **state)
{
	json_t *args = json_pack("{s:s,s:i}", "instance_id", "abc", "ram_mb",
				 512);
	struct rpc_msg msg;
	char *cause = NULL, *text;

	(void)state;
	text = rpc_encode("select_destinations", args,
			  "00-0af7651916cd43dd8448eb211c80319c-"
			  "b7ad6b7169203331-01",
			  "tok", true);
	assert_non_null(text);
	assert_int_equal(rpc_decode(text, strlen(text), &msg, &cause), 0);
	assert_string_equal(msg.method, "select_destinations");
	assert_true(msg.reply);
	assert_string_equal(msg.traceparent,
			    "00-0af7651916cd43dd8448eb211c80319c-"
			    "b7ad6b7169203331-01");
	assert_string_equal(msg.auth_token, "tok");
	assert_true(json_equal(msg.args, args));
	rpc_msg_release(&msg);
	free(text);

	/* A cast with no context and no arguments. */
	text = rpc_encode("terminate_instance", NULL, NULL, NULL, false);
	assert_int_equal(rpc_decode(text, strlen(text), &msg, &cause), 0);
	assert_false(msg.reply);
	assert_null(msg.traceparent);
	assert_null(msg.auth_token);
	assert_int_equal(json_object_size(msg.args), 0);
	rpc_msg_release(&msg);
	free(text);
	/* The caller's arguments are shared, not taken. */
	assert_int_equal(args->refcount, 1);
	json_decref(args);
}

static void test_refstack__rpc_decode_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"nope",
		"[]",
		"{}",
		"{\"method\":7}",
		"{\"method\":\"\"}",
		"{\"method\":\"m\",\"args\":[]}",
		"{\"method\":\"m\",\"context\":\"x\"}",
		"{\"method\":\"m\",\"context\":{\"traceparent\":5}}",
		"{\"method\":\"m\",\"reply\":\"yes\"}",
		"{\"method\":\"m\",\"method\":\"n\"}",
	};
	struct rpc_msg msg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *cause = NULL;

		assert_int_equal(rpc_decode(bad[i], strlen(bad[i]), &msg,
					    &cause),
				 -1);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "malformed RPC message"));
		free(cause);
	}
}

static void test_refstack__image_bytes(void **state)
{
	unsigned char whole[4096], part[4096];
	uint64_t seed = rs_image_seed("6d3b9a41-6c0e-4d3b-9a6e-2f1a8c0e5b11");
	size_t zeros = 0;

	(void)state;
	assert_int_not_equal(seed, rs_image_seed("another"));
	rs_image_fill(seed, 0, whole, sizeof(whole));
	/* Any split gives the same bytes: ranges can be served alone. */
	for (size_t off = 0; off < sizeof(part);) {
		size_t n = 1 + (off * 7) % 13;

		if (off + n > sizeof(part))
			n = sizeof(part) - off;
		rs_image_fill(seed, off, part + off, n);
		off += n;
	}
	assert_memory_equal(whole, part, sizeof(whole));
	rs_image_fill(seed + 1, 0, part, sizeof(part));
	assert_memory_not_equal(whole, part, sizeof(whole));
	for (size_t i = 0; i < sizeof(whole); i++)
		zeros += whole[i] == 0;
	assert_true(zeros < 64); /* about 16 expected: not a constant */
}

static void test_refstack__image_md5(void **state)
{
	char a[33], b[33], c[33];

	(void)state;
	rs_image_md5("x", 100000, a);
	rs_image_md5("x", 100000, b);
	rs_image_md5("x", 100001, c);
	assert_int_equal(strlen(a), 32);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	/* md5 of nothing. */
	rs_image_md5("x", 0, a);
	assert_string_equal(a, "d41d8cd98f00b204e9800998ecf8427e");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refstack__durations),
		cmocka_unit_test(test_refstack__knobs_set),
		cmocka_unit_test(test_refstack__knob_once_per_call),
		cmocka_unit_test(test_refstack__knobs_file_and_env),
		cmocka_unit_test(test_refstack__delay_spends_time),
		cmocka_unit_test(test_refstack__ip_parse_format),
		cmocka_unit_test(test_refstack__cidr),
		cmocka_unit_test(test_refstack__lowest_free),
		cmocka_unit_test(test_refstack__lowest_free_many),
		cmocka_unit_test(test_refstack__rpc_round_trip),
		cmocka_unit_test(test_refstack__rpc_decode_rejects),
		cmocka_unit_test(test_refstack__image_bytes),
		cmocka_unit_test(test_refstack__image_md5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
