/* test-load.c: the load driver's HTTP client, extraction, templating and
 * steps, against a real HTTP server on 127.0.0.1 (test-load-server.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htrace.h"
#include "load/extract.h"
#include "load/http.h"
#include "load/load.h"
#include "spool/spool.h"
#include "test-load-server.h"
#include "util/timeutil.h"

#define S(x) ((char *)(x))
#define MS 1000000ULL

static struct test_server server;

static int setup(void **state)
{
	(void)state;
	return test_server_start(&server, 0);
}

static int teardown(void **state)
{
	(void)state;
	test_server_stop(&server);
	return 0;
}

static char *url(const char *path)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", server.base, path);
	return buf[i];
}

/* A scenario of the steps given, one iteration, concurrency 1. */
static void scenario_of(struct scenario *sc, struct scenario_step *steps,
			size_t n)
{
	memset(sc, 0, sizeof(*sc));
	sc->name = S("test");
	sc->steps = steps;
	sc->nsteps = n;
	sc->runner.type = RUNNER_CONSTANT;
	sc->runner.iterations = 1;
	sc->runner.concurrency = 1;
	sc->runner.iteration_timeout_ns = 10000 * MS;
}

static const char *service_url(const char *name, void *payload)
{
	(void)payload;
	return !strcmp(name, "api") ? server.base : NULL;
}

/* Run a load with opts to its end; it must not stop early. */
static struct load *run_with(const struct load_options *opts)
{
	struct load *ld = NULL;
	struct load_summary sum;
	char *cause = NULL;

	if (load_new(&ld, opts, &cause) < 0)
		fail_msg("load_new: %s", cause);
	if (load_run(ld, &sum, &cause) < 0)
		fail_msg("load_run: %s", cause);
	assert_false(sum.stopped);
	return ld;
}

/* Run sc once; *out gets a copy of the iteration's reason (or NULL). */
static struct load *run(struct scenario *sc, const struct config_kv *vars,
			size_t nvars, bool trace)
{
	struct load_options opts = {
		.scenario = sc,
		.variables = vars,
		.nvariables = nvars,
		.service_url = service_url,
		.trace = trace,
	};

	return run_with(&opts);
}

static const struct load_iteration *only(struct load *ld)
{
	size_t n;
	const struct load_iteration *it = load_results(ld, &n);

	assert_int_equal(n, 1);
	return it;
}

static void test_load__json_paths(void **state)
{
	json_t *root = json_loads("{\"server\":{\"id\":\"abc\",\"n\":7,"
				  "\"r\":0.1,\"t\":true,\"f\":false,"
				  "\"z\":null,\"a\":[{\"b\":[5,6,{\"c\":"
				  "\"deep\"}]}],\"o\":{\"x\":1}}}",
				  0, NULL);
	struct strbuf sb = STRBUF_INIT;
	char *cause = NULL;
	json_t *v, *arr;
	static const struct {
		const char *path;
		const char *text;
	} ok[] = {
		{ "server.id", "abc" },
		{ "server.n", "7" },
		{ "server.r", "0.1" },
		{ "server.t", "true" },
		{ "server.f", "false" },
		{ "server.z", "null" },
		{ "server.a[0].b[1]", "6" },
		{ "server.a[0].b[2].c", "deep" },
		{ "server.o", "{\"x\":1}" },
	};
	static const struct {
		const char *path;
		const char *cause;
	} bad[] = {
		{ "server.missing", "no value at 'server.missing': no key "
				    "'missing'" },
		{ "server.a[3]", "no value at 'server.a[3]': 'server.a' has 1 "
				 "elements" },
		{ "server.id[0]", "no value at 'server.id[0]': 'server.id' is "
				  "not an array" },
		{ "server.id.x", "no value at 'server.id.x': 'server.id' is "
				 "not an object" },
		{ "server.a[x]", "no value at 'server.a[x]': bad index after "
				 "'server.a'" },
		{ "server..id", "no value at 'server..id': bad name after "
				"'server.'" },
	};

	(void)state;
	assert_non_null(root);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = extract_json_path(root, ok[i].path, &cause);
		if (!v)
			fail_msg("%s: %s", ok[i].path, cause);
		strbuf_reset(&sb);
		extract_json_text(&sb, v);
		assert_string_equal(sb.buf, ok[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(extract_json_path(root, bad[i].path, &cause));
		assert_string_equal(cause, bad[i].cause);
		free(cause);
		cause = NULL;
	}
	arr = json_loads("[10,[20,30]]", 0, NULL);
	v = extract_json_path(arr, "[1][0]", NULL);
	assert_non_null(v);
	assert_int_equal(json_integer_value(v), 20);
	assert_null(extract_json_path(NULL, "a", &cause));
	assert_string_equal(cause, "no value at 'a': the response is not JSON");
	free(cause);
	json_decref(arr);
	json_decref(root);
	strbuf_release(&sb);
}

/* Send req through h and wait for it, as a worker's loop would. */
static int send_wait(struct http_client *c, struct http_handle *h,
		     const struct http_request *req, struct http_response *res,
		     char **cause)
{
	if (http_handle_start(h, req, res, cause) < 0)
		return -1;
	while (h->busy)
		if (http_client_wait(c, 0, cause) < 0)
			return -1;
	return http_handle_result(h, cause);
}

static void test_load__http_request(void **state)
{
	struct http_client c;
	struct http_handle h;
	struct http_response res;
	const char *headers[] = { "X-Test: hello", "Content-Type: text/x" };
	struct http_request req = {
		.method = "PUT",
		.url = url("/echo"),
		.headers = headers,
		.nheaders = 2,
		.body = "[1,2]",
		.body_len = 5,
		.timeout_ns = 5000 * MS,
	};
	char *cause = NULL;

	(void)state;
	assert_int_equal(http_client_init(&c, NULL, &cause), 0);
	assert_int_equal(http_handle_init(&h, &c, NULL, NULL, &cause), 0);
	http_response_init(&res);
	assert_int_equal(send_wait(&c, &h, &req, &res, &cause), 0);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.buf, "{\"method\":\"PUT\",\"x_test\":"
					  "\"hello\",\"body\":[1,2]}");
	assert_string_equal(http_response_header(&res, "content-TYPE"),
			    "application/json");
	assert_null(http_response_header(&res, "X-Nope"));
	assert_string_equal(server.last_ctype, "text/x");
	assert_true(res.dur_ns > 0);
	assert_true(res.start_ns > 0);

	/* A body over the bound fails the request. */
	http_handle_release(&h);
	http_client_release(&c);
	struct http_client_options o = { .max_body = 100 };
	assert_int_equal(http_client_init(&c, &o, &cause), 0);
	assert_int_equal(http_handle_init(&h, &c, NULL, NULL, &cause), 0);
	server.big_size = 5000;
	req.method = "GET";
	req.url = url("/big");
	req.body = NULL;
	req.nheaders = 0;
	assert_int_equal(send_wait(&c, &h, &req, &res, &cause), -1);
	assert_non_null(strstr(cause, "response body larger than 100 bytes"));
	free(cause);
	cause = NULL;

	/* Nothing listens on port 1. */
	req.url = "http://127.0.0.1:1/";
	assert_int_equal(send_wait(&c, &h, &req, &res, &cause), -1);
	assert_non_null(strstr(cause, "GET http://127.0.0.1:1/: "));
	free(cause);
	http_response_release(&res);
	http_handle_release(&h);
	http_client_release(&c);
}

static void test_load__expected_status(void **state)
{
	int expect_200[] = { 200 };
	int expect_many[] = { 200, 201, 204 };
	struct scenario_step steps[] = {
		{ .name = S("create-server"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"), .url = url("/servers"),
			       .json = S("{\"a\":1}"), .expect = expect_200,
			       .nexpect = 1 } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;

	(void)state;
	scenario_of(&sc, steps, 1);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_false(it->ok);
	assert_false(it->interrupted);
	assert_string_equal(
		it->reason,
		"step 'create-server': expected status 200, got 202: "
		"{\"server\":{\"id\":\"srv-1\",\"n\":1,\"ok\":true,"
		"\"ratio\":0.5,\"none\":null,\"tags\":[\"a\",{\"k\":[1,2,3]}]}}");
	assert_int_equal(it->nsteps, 1);
	assert_int_equal(it->steps[0].status, 202);
	assert_false(it->steps[0].ok);
	assert_string_equal(server.last_ctype, "application/json");
	assert_string_equal(server.last_body, "{\"a\":1}");
	load_free(ld);

	/* Default: any 2xx; a 400 fails and the steps after it never run. */
	struct scenario_step two[] = {
		{ .name = S("ok"), .type = STEP_REQUEST,
		  .request = { .url = url("/servers"), .method = S("POST") } },
		{ .name = S("bad"), .type = STEP_REQUEST,
		  .request = { .url = url("/status/400") } },
		{ .name = S("never"), .type = STEP_REQUEST,
		  .request = { .url = url("/ok") } },
	};
	scenario_of(&sc, two, 3);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_false(it->ok);
	assert_string_equal(it->reason,
			    "step 'bad': expected a 2xx status, got 400: "
			    "{\"badRequest\":{\"message\":\"bad\"}}");
	assert_int_equal(it->nsteps, 2);
	assert_true(it->steps[0].ok);
	assert_false(it->steps[1].ok);
	load_free(ld);

	/* Several accepted statuses; 404 is not among them. */
	two[1].request.url = url("/status/204");
	two[1].request.expect = expect_many;
	two[1].request.nexpect = 3;
	two[2].request.url = url("/status/404");
	two[2].request.expect = expect_many;
	two[2].request.nexpect = 3;
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_string_equal(it->reason,
			    "step 'never': expected status 200, 201 or 204, "
			    "got 404: {\"badRequest\":{\"message\":"
			    "\"bad\"}}");
	load_free(ld);
}

static void test_load__long_body_truncated(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("big"), .type = STEP_REQUEST,
		  .request = { .url = url("/big"), .expect = (int[]){ 201 },
			       .nexpect = 1 } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;

	(void)state;
	server.big_size = 5000;
	scenario_of(&sc, steps, 1);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_non_null(strstr(it->reason, "got 200: xxxx"));
	assert_true(strlen(it->reason) < 300);
	assert_string_equal(it->reason + strlen(it->reason) - 4, "x...");
	load_free(ld);
}

static void test_load__extract_and_templates(void **state)
{
	struct scenario_extract ex[] = {
		{ .var = S("id"), .from = EXTRACT_JSON, .path = S("server.id") },
		{ .var = S("n"), .from = EXTRACT_JSON, .path = S("server.n") },
		{ .var = S("ok"), .from = EXTRACT_JSON, .path = S("server.ok") },
		{ .var = S("deep"), .from = EXTRACT_JSON,
		  .path = S("server.tags[1].k[2]") },
		{ .var = S("token"), .from = EXTRACT_HEADER,
		  .path = S("x-subject-token") },
	};
	struct config_kv hdr[] = {
		{ .key = S("X-Test"), .value = S("{{token}}/{{ who }}") },
	};
	struct scenario_step steps[] = {
		{ .name = S("create"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"),
			       .url = S("{{services.api}}/servers"),
			       .extract = ex, .nextract = 5 } },
		{ .name = S("echo"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"),
			       .url = S("{{base}}/echo"),
			       .headers = hdr, .nheaders = 1,
			       .json = S("{\"id\":\"{{id}}\",\"n\":\"{{n}}\","
					 "\"ok\":\"{{ok}}\",\"deep\":"
					 "\"{{deep}}\",\"it\":\"{{iteration}}"
					 "\",\"u\":\"{{uuid}}\",\"u2\":"
					 "\"{{uuid}}\",\"q\":\"{{quote}}\"}") } },
	};
	struct config_kv cfg_vars[] = {
		{ .key = S("base"), .value = S("{{services.api}}") },
		{ .key = S("who"), .value = S("config") },
		{ .key = S("quote"), .value = S("a\"b") },
	};
	struct config_kv sc_vars[] = {
		{ .key = S("who"), .value = S("scenario-{{who}}") },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;
	json_t *body, *v;
	unsigned created = test_server_get(&server, &server.created) + 1;
	char want[64];

	(void)state;
	scenario_of(&sc, steps, 2);
	sc.variables = sc_vars;
	sc.nvariables = 1;
	ld = run(&sc, cfg_vars, 3, false);
	it = only(ld);
	if (!it->ok)
		fail_msg("%s", it->reason);
	assert_int_equal(it->nsteps, 2);
	assert_string_equal(it->steps[1].name, "echo");
	assert_int_equal(it->steps[1].status, 200);

	body = json_loads(server.last_body, 0, NULL);
	assert_non_null(body);
	snprintf(want, sizeof(want), "srv-%u", created);
	assert_string_equal(json_string_value(json_object_get(body, "id")),
			    want);
	snprintf(want, sizeof(want), "%u", created);
	assert_string_equal(json_string_value(json_object_get(body, "n")),
			    want);
	assert_string_equal(json_string_value(json_object_get(body, "ok")),
			    "true");
	assert_string_equal(json_string_value(json_object_get(body, "deep")),
			    "3");
	assert_string_equal(json_string_value(json_object_get(body, "it")),
			    "0");
	assert_string_equal(json_string_value(json_object_get(body, "q")),
			    "a\"b");
	v = json_object_get(body, "u");
	assert_int_equal(strlen(json_string_value(v)), 36);
	assert_int_equal(json_string_value(v)[14], '4');
	assert_string_equal(json_string_value(v),
			    json_string_value(json_object_get(body, "u2")));
	json_decref(body);
	assert_string_equal(server.last_method, "POST");
	assert_string_equal(server.last_url, "/echo");
	load_free(ld);

	/* The header's value reaches the server. */
	struct scenario_step hstep[] = {
		{ .name = S("h"), .type = STEP_REQUEST,
		  .request = { .url = S("{{base}}/echo"), .headers = hdr,
			       .nheaders = 1,
			       .extract = (struct scenario_extract[]){
				       { .var = S("x"), .from = EXTRACT_JSON,
					 .path = S("x_test") } },
			       .nextract = 1 } },
		{ .name = S("h2"), .type = STEP_REQUEST,
		  .request = { .url = S("{{base}}/echo"),
			       .body = S("{{x}}|{{who}}") } },
	};
	struct config_kv tok[] = {
		{ .key = S("token"), .value = S("T") },
		{ .key = S("who"), .value = S("me") },
		{ .key = S("base"), .value = S("{{services.api}}") },
	};
	scenario_of(&sc, hstep, 2);
	ld = run(&sc, tok, 3, false);
	it = only(ld);
	if (!it->ok)
		fail_msg("%s", it->reason);
	assert_string_equal(server.last_body, "T/me|me");
	assert_string_equal(server.last_method, "GET");
	load_free(ld);
}

static void test_load__extract_missing(void **state)
{
	struct scenario_extract ex[] = {
		{ .var = S("id"), .from = EXTRACT_JSON,
		  .path = S("server.tags[5]") },
	};
	struct scenario_extract hex[] = {
		{ .var = S("t"), .from = EXTRACT_HEADER, .path = S("X-Nope") },
	};
	struct scenario_extract tex[] = {
		{ .var = S("t"), .from = EXTRACT_JSON, .path = S("a.b") },
	};
	struct scenario_step steps[] = {
		{ .name = S("create"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"), .url = url("/servers"),
			       .extract = ex, .nextract = 1 } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;

	(void)state;
	scenario_of(&sc, steps, 1);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_false(it->ok);
	assert_non_null(strstr(it->reason,
			       "step 'create': no value at 'server.tags[5]': "
			       "'server.tags' has 2 elements in {\"server\""));
	load_free(ld);

	steps[0].request.extract = hex;
	ld = run(&sc, NULL, 0, false);
	assert_string_equal(only(ld)->reason,
			    "step 'create': no header 'X-Nope' in the "
			    "response (status 202)");
	load_free(ld);

	steps[0].request.method = NULL;
	steps[0].request.url = url("/text");
	steps[0].request.extract = tex;
	ld = run(&sc, NULL, 0, false);
	assert_string_equal(only(ld)->reason,
			    "step 'create': no value at 'a.b': the response "
			    "is not JSON in not json");
	load_free(ld);
}

static void test_load__poll(void **state)
{
	struct scenario_extract ex[] = {
		{ .var = S("id"), .from = EXTRACT_JSON, .path = S("server.id") },
	};
	struct scenario_extract pex[] = {
		{ .var = S("st"), .from = EXTRACT_JSON,
		  .path = S("server.status") },
	};
	struct scenario_cond fail_if[] = {
		{ .path = S("server.status"), .op = COND_EQ,
		  .value = S("ERROR") },
	};
	struct scenario_step steps[] = {
		{ .name = S("create"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"), .url = url("/servers"),
			       .extract = ex, .nextract = 1 } },
		{ .name = S("wait-active"), .type = STEP_POLL,
		  .request = { .url = url("/servers/{{id}}"), .extract = pex,
			       .nextract = 1 },
		  .until = { .path = S("server.status"), .op = COND_EQ,
			     .value = S("ACTIVE") },
		  .fail_if = fail_if, .nfail_if = 1,
		  .interval_ns = 10 * MS, .timeout_ns = 5000 * MS },
		{ .name = S("show"), .type = STEP_REQUEST,
		  .request = { .url = url("/echo"), .body = S("{{st}}") } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;

	(void)state;
	server.flip_after = 3;
	scenario_of(&sc, steps, 3);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	if (!it->ok)
		fail_msg("%s", it->reason);
	/* BUILD three times, then ACTIVE: four tries, 10ms apart. */
	assert_int_equal(it->steps[1].requests, 4);
	assert_true(it->steps[1].dur_ns >= 30 * MS);
	assert_string_equal(server.last_body, "ACTIVE");
	load_free(ld);

	/* Never ACTIVE: times out with the last value. Tries begin 50ms
	 * apart or more, and none begins that would end past the timeout:
	 * ten at most; how many fit in depends on the machine. */
	server.flip_after = 1000000;
	steps[1].timeout_ns = 500 * MS;
	steps[1].interval_ns = 50 * MS;
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_false(it->ok);
	assert_string_equal(it->reason,
			    "step 'wait-active': timed out after 500.00ms "
			    "waiting for server.status == 'ACTIVE' (last "
			    "status 200, value 'BUILD')");
	assert_true(it->steps[1].requests >= 2 &&
		    it->steps[1].requests <= 10);
	assert_true(it->steps[1].dur_ns >=
		    (it->steps[1].requests - 1) * 50 * MS);
	assert_int_equal(it->nsteps, 2);
	load_free(ld);

	/* fail_if holds at the first try. */
	steps[1].request.url = url("/servers/broken");
	steps[1].timeout_ns = 5000 * MS;
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_string_equal(it->reason,
			    "step 'wait-active': fail_if server.status == "
			    "'ERROR' held (value 'ERROR')");
	assert_int_equal(it->steps[1].requests, 1);
	load_free(ld);
	server.flip_after = 3;
}

static void test_load__sleep_and_timeout(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("nap"), .type = STEP_SLEEP, .sleep_ns = 50 * MS },
		{ .name = S("ok"), .type = STEP_REQUEST,
		  .request = { .url = url("/ok") } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;
	uint64_t t0;

	(void)state;
	scenario_of(&sc, steps, 2);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_true(it->ok);
	assert_null(it->reason);
	/* At least as long as planned; the upper bound is one only a
	 * sleep that never ends would break. */
	assert_true(it->steps[0].dur_ns >= 50 * MS);
	assert_true(it->steps[0].dur_ns < 5000 * MS);
	assert_true(it->dur_ns >= it->steps[0].dur_ns + it->steps[1].dur_ns);
	assert_int_equal(it->latency_ns, it->dur_ns);
	assert_int_equal(it->intended_ns, it->start_ns);
	load_free(ld);

	/* The iteration timeout cuts a long sleep and a slow request: the
	 * iteration lasts the timeout or more, and ends long before the
	 * sleep or the response would (a minute, 4s: bounds that no busy
	 * machine comes near after a 100ms timeout). */
	steps[0].sleep_ns = 60000 * MS;
	sc.runner.iteration_timeout_ns = 100 * MS;
	t0 = time_mono_ns();
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_true(time_mono_ns() - t0 < 30000 * MS);
	assert_string_equal(it->reason,
			    "step 'nap': iteration timed out after 100.00ms");
	assert_true(it->dur_ns >= 100 * MS);
	assert_int_equal(it->nsteps, 1);
	load_free(ld);

	steps[0].sleep_ns = 0;
	steps[1].request.url = url("/sleep");
	server.sleep_ms = 4000;
	t0 = time_mono_ns();
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_true(time_mono_ns() - t0 < 3500 * MS);
	assert_string_equal(it->reason,
			    "step 'ok': iteration timed out after 100.00ms");
	assert_true(it->dur_ns >= 100 * MS);
	server.sleep_ms = 0;
	load_free(ld);
}

static void test_load__connection_refused(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("down"), .type = STEP_REQUEST,
		  .request = { .method = S("DELETE"),
			       .url = S("http://127.0.0.1:1/x") } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;

	(void)state;
	scenario_of(&sc, steps, 1);
	ld = run(&sc, NULL, 0, false);
	it = only(ld);
	assert_false(it->ok);
	assert_non_null(strstr(it->reason,
			       "step 'down': DELETE http://127.0.0.1:1/x: "));
	assert_int_equal(it->steps[0].status, 0);
	load_free(ld);
}

static void test_load__undefined_names(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("a"), .type = STEP_REQUEST,
		  .request = { .url = S("{{services.nova}}/x") } },
	};
	struct scenario sc;
	struct load_options opts = { .scenario = &sc,
				     .service_url = service_url };
	struct load *ld;
	char *cause = NULL;

	(void)state;
	scenario_of(&sc, steps, 1);
	assert_int_equal(load_new(&ld, &opts, &cause), -1);
	assert_null(ld);
	assert_string_equal(cause, "step 'a' url: unknown service 'nova' in "
				   "{{services.nova}}");
	free(cause);

	steps[0].request.url = url("/{{later}}");
	assert_int_equal(load_new(&ld, &opts, &cause), -1);
	assert_string_equal(cause, "step 'a' url: {{later}} is not defined");
	free(cause);

	steps[0].request.url = url("/{{bad");
	assert_int_equal(load_new(&ld, &opts, &cause), -1);
	assert_non_null(strstr(cause, "step 'a' url: "));
	free(cause);

	sc.nsteps = 0;
	assert_int_equal(load_new(&ld, &opts, &cause), -1);
	assert_string_equal(cause, "the scenario has no steps");
	free(cause);
}

static void test_load__connection_reuse(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("a"), .type = STEP_REQUEST,
		  .request = { .url = url("/ok") } },
		{ .name = S("b"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"), .url = url("/echo"),
			       .json = S("{}") } },
	};
	struct scenario sc;
	struct load *ld;
	unsigned before = test_server_get(&server, &server.connections);
	unsigned reqs = test_server_get(&server, &server.requests);
	size_t n;
	const struct load_iteration *its;

	(void)state;
	scenario_of(&sc, steps, 2);
	sc.runner.iterations = 20;
	sc.runner.concurrency = 2;
	ld = run(&sc, NULL, 0, false);
	its = load_results(ld, &n);
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++)
		assert_true(its[i].ok);
	assert_int_equal(test_server_get(&server, &server.requests) - reqs,
			 40);
	/* One connection per worker, kept alive for all 40 requests. */
	assert_int_equal(test_server_get(&server, &server.connections) -
				 before,
			 2);
	load_free(ld);
}

static int remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

/* The spans of one kind read back from the spool files in dir. */
struct seen_span {
	unsigned kind;
	char name[64];
	char message[256];
	char trace[33];
	uint64_t span_id, parent_id;
	unsigned status;
	int64_t http_status;
	char url[128];
	char route[64];
};

static size_t read_spans(const char *dir, struct seen_span *out, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		struct spool_reader *r;
		struct spool_record rec;
		char *cause = NULL;

		if (!strstr(e->d_name, ".htspool"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (spool_reader_open(&r, path, &cause) < 0)
			fail_msg("%s", cause);
		assert_string_equal(spool_reader_header(r)->service,
				    "harness");
		while (spool_reader_next(r, &rec, &cause) == SPOOL_READ_OK) {
			const struct spool_span *sp = &rec.u.span;
			struct seen_span *s;

			if (rec.type != SPOOL_RECORD_SPAN || n == max)
				continue;
			s = &out[n++];
			memset(s, 0, sizeof(*s));
			s->kind = sp->kind;
			snprintf(s->name, sizeof(s->name), "%s", sp->name);
			snprintf(s->message, sizeof(s->message), "%s",
				 sp->message ? sp->message : "");
			for (int i = 0; i < 16; i++)
				snprintf(s->trace + 2 * i, 3, "%02x",
					 sp->trace_id[i]);
			s->span_id = sp->span_id;
			s->parent_id = sp->parent_id;
			s->status = sp->status;
			for (size_t i = 0; i < sp->n_attrs; i++) {
				const struct spool_attr *a = &sp->attrs[i];

				if (!strcmp(a->key, "http.response.status_code"))
					s->http_status = a->v.i;
				if (!strcmp(a->key, "url.full"))
					snprintf(s->url, sizeof(s->url), "%s",
						 a->v.s);
				if (!strcmp(a->key, "http.route"))
					snprintf(s->route, sizeof(s->route),
						 "%s", a->v.s);
			}
		}
		spool_reader_free(r);
	}
	closedir(d);
	return n;
}

static const struct seen_span *find_span(const struct seen_span *s, size_t n,
					 unsigned kind, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].kind == kind && !strcmp(s[i].name, name))
			return &s[i];
	fail_msg("no span '%s' of kind %u", name, kind);
	return NULL;
}

static void test_load__trace(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("a"), .type = STEP_REQUEST,
		  .request = { .url = url("/ok") } },
		{ .name = S("b"), .type = STEP_REQUEST,
		  .request = { .url = url("/status/409") } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *it;
	struct htrace_options o;
	char dir[] = "/tmp/test-load-XXXXXX";
	char hex[33], iter_trace[33];
	struct seen_span spans[16];
	const struct seen_span *root, *step, *call, *step_b, *call_b;
	uint64_t injected_parent;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = dir;
	o.hmac_keys = "secret";
	assert_int_equal(htrace_init_with(&o), 0);

	scenario_of(&sc, steps, 2);
	ld = run(&sc, NULL, 0, true);
	it = only(ld);
	assert_false(it->ok);
	assert_int_equal(strlen(it->trace_id), 32);
	snprintf(iter_trace, sizeof(iter_trace), "%s", it->trace_id);
	/* The server verified the signed headers: same trace. */
	assert_int_equal(server.last_extract, HTRACE_EXTRACT_OK);
	for (int i = 0; i < HTRACE_TRACE_ID_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", server.last_ctx.trace_id[i]);
	assert_string_equal(hex, it->trace_id);
	assert_non_null(strstr(server.last_traceparent, it->trace_id));
	injected_parent = server.last_ctx.span_id;
	load_free(ld);
	htrace_shutdown();

	/* iteration > step > rest.call, all in the iteration's trace. */
	n = read_spans(dir, spans, 16);
	assert_int_equal(n, 5);
	root = find_span(spans, n, HTRACE_KIND_ITERATION, "test");
	step = find_span(spans, n, HTRACE_KIND_STEP, "a");
	step_b = find_span(spans, n, HTRACE_KIND_STEP, "b");
	call = find_span(spans, n, HTRACE_KIND_REST_CALL, "GET /ok");
	call_b = find_span(spans, n, HTRACE_KIND_REST_CALL, "GET /status/409");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(spans[i].trace, iter_trace);
	assert_int_equal(root->parent_id, 0);
	assert_int_equal(step->parent_id, root->span_id);
	assert_int_equal(step_b->parent_id, root->span_id);
	assert_int_equal(call->parent_id, step->span_id);
	assert_int_equal(call_b->parent_id, step_b->span_id);
	/* The service's spans hang under the rest.call that sent them. */
	assert_int_equal(injected_parent, call_b->span_id);
	assert_int_equal(call->http_status, 200);
	assert_string_equal(call->url, url("/ok"));
	assert_int_equal(call_b->http_status, 409);
	assert_int_equal(root->status, SPOOL_STATUS_ERROR);
	assert_non_null(strstr(root->message,
			       "step 'b': expected a 2xx status, got 409"));
	assert_int_equal(step_b->status, SPOOL_STATUS_ERROR);
	assert_int_equal(step->status, SPOOL_STATUS_OK);
	assert_int_equal(remove_tree(dir), 0);
}

/* One worker interleaves three iterations, yet every span lands in its
 * own iteration's trace, under its own step. */
static void test_load__trace_interleaved(void **state)
{
	struct scenario_step steps[] = {
		{ .name = S("slow"), .type = STEP_REQUEST,
		  .request = { .url = url("/sleep") } },
		{ .name = S("fast"), .type = STEP_REQUEST,
		  .request = { .url = url("/ok") } },
	};
	struct scenario sc;
	struct load_options opts = { .scenario = &sc, .workers = 1,
				     .trace = true };
	struct load *ld;
	const struct load_iteration *its;
	struct htrace_options o;
	char dir[] = "/tmp/test-load-XXXXXX";
	struct seen_span spans[64];
	size_t n, nits;
	bool overlap = false;

	(void)state;
	assert_non_null(mkdtemp(dir));
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = dir;
	assert_int_equal(htrace_init_with(&o), 0);

	scenario_of(&sc, steps, 2);
	sc.runner.iterations = 6;
	sc.runner.concurrency = 3;
	server.sleep_ms = 50;
	ld = run_with(&opts);
	server.sleep_ms = 0;
	its = load_results(ld, &nits);
	assert_int_equal(nits, 6);
	for (size_t i = 0; i < nits; i++) {
		assert_true(its[i].ok);
		for (size_t j = 0; j < nits; j++)
			if (i != j && its[j].start_ns >= its[i].start_ns &&
			    its[j].start_ns < its[i].start_ns + its[i].dur_ns)
				overlap = true;
	}
	assert_true(overlap);
	htrace_shutdown();

	n = read_spans(dir, spans, 64);
	assert_int_equal(n, 6 * 5);
	for (size_t i = 0; i < nits; i++) {
		const struct seen_span *root = NULL;
		size_t nsteps = 0, ncalls = 0;

		for (size_t j = 0; j < n; j++)
			if (!strcmp(spans[j].trace, its[i].trace_id) &&
			    spans[j].kind == HTRACE_KIND_ITERATION)
				root = &spans[j];
		assert_non_null(root);
		assert_int_equal(root->parent_id, 0);
		for (size_t j = 0; j < n; j++) {
			const struct seen_span *s = &spans[j];

			if (strcmp(s->trace, its[i].trace_id) ||
			    s->kind != HTRACE_KIND_STEP)
				continue;
			nsteps++;
			assert_int_equal(s->parent_id, root->span_id);
			/* Its one call, named after its step's request. */
			for (size_t k = 0; k < n; k++) {
				if (spans[k].parent_id != s->span_id)
					continue;
				assert_string_equal(spans[k].trace, s->trace);
				assert_int_equal(spans[k].kind,
						 HTRACE_KIND_REST_CALL);
				assert_string_equal(spans[k].name,
						    !strcmp(s->name, "slow")
							    ? "GET /sleep"
							    : "GET /ok");
				ncalls++;
			}
		}
		assert_int_equal(nsteps, 2);
		assert_int_equal(ncalls, 2);
	}
	load_free(ld);
	assert_int_equal(remove_tree(dir), 0);
}

static void test_load__route(void **state)
{
	static const struct {
		const char *method, *url, *route;
	} cases[] = {
		{ "POST", "{{services.identity}}/v3/auth/tokens",
		  "POST /v3/auth/tokens" },
		{ NULL, "{{ services.api }}/servers/{{server_id}}",
		  "GET /servers/{server_id}" },
		{ "DELETE", "{{services.api}}/servers/{{ id }}?force=1#x",
		  "DELETE /servers/{id}" },
		{ "GET", "http://127.0.0.1:{{port}}/a/{{x}}/b?c={{y}}",
		  "GET /a/{x}/b" },
		{ "GET", "https://example.com", "GET /" },
		{ "GET", "{{services.api}}", "GET /" },
		{ "GET", "/v2/images/{{image}}/file", "GET /v2/images/{image}/file" },
		{ "GET", "{{base}}/echo", "GET {base}/echo" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = load_route(cases[i].method, cases[i].url);

		assert_string_equal(r, cases[i].route);
		free(r);
	}
}

/* Each iteration creates its own server, yet its calls carry the route
 * of the scenario's URL template: one operation per request of the
 * scenario, the concrete URL in url.full. */
static void test_load__trace_route_names(void **state)
{
	struct scenario_extract ex[] = {
		{ .var = S("server_id"), .from = EXTRACT_JSON,
		  .path = S("server.id") },
	};
	struct scenario_step steps[] = {
		{ .name = S("create"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"),
			       .url = S("{{services.api}}/servers"),
			       .extract = ex, .nextract = 1 } },
		{ .name = S("show"), .type = STEP_REQUEST,
		  .request = { .url = S("{{services.api}}/servers/"
					"{{ server_id }}?detail=1") } },
		{ .name = S("delete"), .type = STEP_REQUEST,
		  .request = { .method = S("DELETE"),
			       .url = S("{{services.api}}/servers/"
					"{{server_id}}") } },
	};
	struct scenario sc;
	struct load *ld;
	const struct load_iteration *its;
	struct htrace_options o;
	char dir[] = "/tmp/test-load-XXXXXX";
	struct seen_span spans[32];
	char want[2][160];
	size_t n, nits, nshow = 0, ndelete = 0, ncreate = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = dir;
	assert_int_equal(htrace_init_with(&o), 0);

	scenario_of(&sc, steps, 3);
	sc.runner.iterations = 2;
	ld = run(&sc, NULL, 0, true);
	its = load_results(ld, &nits);
	assert_int_equal(nits, 2);
	assert_true(its[0].ok && its[1].ok);
	load_free(ld);
	htrace_shutdown();

	n = read_spans(dir, spans, 32);
	assert_int_equal(n, 2 * 7);
	want[0][0] = want[1][0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct seen_span *s = &spans[i];

		if (s->kind != HTRACE_KIND_REST_CALL)
			continue;
		if (!strcmp(s->name, "GET /servers/{server_id}")) {
			assert_string_equal(s->route, "/servers/{server_id}");
			/* The concrete URL: a server of its own each time. */
			assert_int_equal(strncmp(s->url, url("/servers/srv-"),
						 strlen(url("/servers/srv-"))),
					 0);
			assert_non_null(strstr(s->url, "?detail=1"));
			assert_true(nshow < 2);
			snprintf(want[nshow++], sizeof(want[0]), "%s", s->url);
		} else if (!strcmp(s->name, "DELETE /servers/{server_id}")) {
			assert_string_equal(s->route, "/servers/{server_id}");
			ndelete++;
		} else if (!strcmp(s->name, "POST /servers")) {
			assert_string_equal(s->route, "/servers");
			assert_string_equal(s->url, url("/servers"));
			ncreate++;
		} else {
			fail_msg("rest.call named '%s'", s->name);
		}
	}
	assert_int_equal(nshow, 2);
	assert_int_equal(ndelete, 2);
	assert_int_equal(ncreate, 2);
	assert_string_not_equal(want[0], want[1]);
	assert_int_equal(remove_tree(dir), 0);
}

/* Run sc once over the TLS server ts with the given CA file and checks;
 * returns the load for its results. */
static struct load *run_tls(struct scenario *sc, const char *ca_file,
			    bool insecure, bool trace)
{
	struct load_options opts = {
		.scenario = sc,
		.workers = 1,
		.ca_file = ca_file,
		.insecure = insecure,
		.trace = trace,
	};

	return run_with(&opts);
}

/* https:// through the load driver, against a server with a certificate
 * made for the test: trusted when ca_file names it, refused with a reason
 * about the certificate when it is not (or another CA is named), let
 * through unchecked with insecure; traced requests carry their signed
 * headers, and the connection is reused. */
static void test_load__https(void **state)
{
	char certs[] = "/tmp/test-load-tls-XXXXXX";
	char other[] = "/tmp/test-load-tls-XXXXXX";
	char spool[] = "/tmp/test-load-XXXXXX";
	char key[512], cert[512], other_cert[512], u_ok[128], u_echo[128];
	struct test_server ts;
	struct scenario_step steps[] = {
		{ .name = S("a"), .type = STEP_REQUEST,
		  .request = { .url = u_ok } },
		{ .name = S("b"), .type = STEP_REQUEST,
		  .request = { .method = S("POST"), .url = u_echo,
			       .json = S("{\"x\":1}") } },
	};
	struct scenario sc;
	struct htrace_options o;
	struct load *ld;
	const struct load_iteration *its, *it;
	char hex[33];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(certs));
	assert_non_null(mkdtemp(other));
	assert_non_null(mkdtemp(spool));
	assert_int_equal(test_tls_make_cert(certs), 0);
	assert_int_equal(test_tls_make_cert(other), 0);
	snprintf(key, sizeof(key), "%s/key.pem", certs);
	snprintf(cert, sizeof(cert), "%s/cert.pem", certs);
	snprintf(other_cert, sizeof(other_cert), "%s/cert.pem", other);
	assert_int_equal(test_server_start_tls(&ts, 0, key, cert), 0);
	assert_int_equal(strncmp(ts.base, "https://127.0.0.1:", 18), 0);
	snprintf(u_ok, sizeof(u_ok), "%s/ok", ts.base);
	snprintf(u_echo, sizeof(u_echo), "%s/echo", ts.base);

	/* Trusted: 5 iterations of 2 requests over one connection, each
	 * with its trace headers, which the server verifies. */
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = spool;
	o.hmac_keys = "secret";
	assert_int_equal(htrace_init_with(&o), 0);
	scenario_of(&sc, steps, 2);
	sc.runner.iterations = 5;
	ld = run_tls(&sc, cert, false, true);
	its = load_results(ld, &n);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		if (!its[i].ok)
			fail_msg("iteration %zu: %s", i, its[i].reason);
	assert_int_equal(its[4].steps[1].status, 200);
	assert_int_equal(test_server_get(&ts, &ts.requests), 10);
	assert_int_equal(test_server_get(&ts, &ts.connections), 1);
	assert_string_equal(ts.last_method, "POST");
	assert_string_equal(ts.last_body, "{\"x\":1}");
	assert_string_equal(ts.last_ctype, "application/json");
	assert_int_equal(ts.last_extract, HTRACE_EXTRACT_OK);
	for (int i = 0; i < HTRACE_TRACE_ID_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", ts.last_ctx.trace_id[i]);
	assert_string_equal(hex, its[4].trace_id);
	assert_non_null(strstr(ts.last_traceparent, its[4].trace_id));
	load_free(ld);
	htrace_shutdown();
	assert_int_equal(remove_tree(spool), 0);

	/* No CA named: the system's CAs do not know this one. */
	sc.runner.iterations = 1;
	ld = run_tls(&sc, NULL, false, false);
	it = only(ld);
	assert_false(it->ok);
	assert_non_null(strstr(it->reason, "step 'a': GET "));
	assert_non_null(strstr(it->reason, "certificate"));
	assert_non_null(strstr(it->reason, "tls.ca_file"));
	assert_int_equal(it->steps[0].status, 0);
	load_free(ld);

	/* Another CA named: refused too. */
	ld = run_tls(&sc, other_cert, false, false);
	it = only(ld);
	assert_false(it->ok);
	assert_non_null(strstr(it->reason, "certificate"));
	load_free(ld);
	assert_int_equal(test_server_get(&ts, &ts.requests), 10);

	/* Not checked at all. */
	ld = run_tls(&sc, NULL, true, false);
	it = only(ld);
	if (!it->ok)
		fail_msg("insecure: %s", it->reason);
	load_free(ld);
	assert_int_equal(test_server_get(&ts, &ts.requests), 12);

	test_server_stop(&ts);
	assert_int_equal(remove_tree(certs), 0);
	assert_int_equal(remove_tree(other), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load__json_paths),
		cmocka_unit_test(test_load__http_request),
		cmocka_unit_test(test_load__expected_status),
		cmocka_unit_test(test_load__long_body_truncated),
		cmocka_unit_test(test_load__extract_and_templates),
		cmocka_unit_test(test_load__extract_missing),
		cmocka_unit_test(test_load__poll),
		cmocka_unit_test(test_load__sleep_and_timeout),
		cmocka_unit_test(test_load__connection_refused),
		cmocka_unit_test(test_load__undefined_names),
		cmocka_unit_test(test_load__connection_reuse),
		cmocka_unit_test(test_load__trace),
		cmocka_unit_test(test_load__trace_interleaved),
		cmocka_unit_test(test_load__route),
		cmocka_unit_test(test_load__trace_route_names),
		cmocka_unit_test(test_load__https),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
