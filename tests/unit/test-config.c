/* test-config.c: harness.yaml and scenario loading: round trips of the
 * effective configuration, every kind of error at its file:line:column,
 * the duration and percentage parsers, and {{name}} templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/template.h"
#include "config/ytree.h"

static char tmpdir[1024];

static const char *data_path(const char *name)
{
	static char path[4096];
	const char *root = getenv("HARNESS_SOURCE_ROOT");

	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/tests/data/config/%s", root, name);
	return path;
}

/* Write content to tmpdir/name; returns the path (static buffer). */
static const char *write_tmp(const char *name, const char *content, size_t len)
{
	static char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static const char *write_tmp_str(const char *name, const char *content)
{
	return write_tmp(name, content, strlen(content));
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-config-XXXXXX",
	         base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("expected '%s' in '%s'", needle,
		         haystack ? haystack : "(null)");
}

/* config_load(path) must fail with a message containing want. */
static void expect_config_error(const char *path, const char *want)
{
	struct config *cfg = (struct config *)1;
	char *cause = NULL;

	assert_true(config_load(&cfg, path, &cause) < 0);
	assert_null(cfg);
	assert_contains(cause, want);
	free(cause);
}

static void expect_scenario_error(const struct config *cfg, const char *path,
                                  const char *want)
{
	struct scenario *sc = (struct scenario *)1;
	char *cause = NULL;

	assert_true(scenario_load(&sc, path, cfg, &cause) < 0);
	assert_null(sc);
	assert_contains(cause, want);
	free(cause);
}

static struct config *load_good_config(void)
{
	struct config *cfg = NULL;
	char *cause = NULL;

	if (config_load(&cfg, data_path("good.yaml"), &cause) < 0)
		fail_msg("good.yaml: %s", cause);
	return cfg;
}

static void test_config__roundtrip(void **state)
{
	struct config *cfg = load_good_config(), *cfg2 = NULL;
	struct scenario *sc = NULL, *sc2 = NULL;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	char *cause = NULL;
	const char *path;

	(void)state;
	config_dump(cfg, &a);
	path = write_tmp_str("dumped.yaml", a.buf);
	if (config_load(&cfg2, path, &cause) < 0)
		fail_msg("reloading the dump: %s\n%s", cause, a.buf);
	config_dump(cfg2, &b);
	assert_string_equal(a.buf, b.buf);
	assert_string_equal(cfg->hash, cfg2->hash);
	assert_int_equal(strlen(cfg->hash), 64);

	/* What good.yaml says, and the defaults it leaves out. */
	assert_int_equal(cfg->nservices, 2);
	assert_string_equal(cfg->services[0].name, "identity");
	assert_int_equal(cfg->services[0].port, 0);
	assert_int_equal(cfg->services[0].start_timeout_ns, 1500000000ull);
	assert_string_equal(cfg->services[0].argv[3], "{{port}}");
	assert_null(cfg->services[0].argv[6]);
	assert_int_equal(cfg->services[1].port, 18774);
	assert_string_equal(cfg->services[1].health, "/healthz");
	assert_int_equal(cfg->services[1].start_timeout_ns, 10000000000ull);
	assert_int_equal(cfg->services[1].trace, CONFIG_TRACE_OTLP);
	assert_null(cfg->services[1].url);
	assert_true(cfg->tracing.sample_rate == 0.5);
	assert_true(cfg->tracing.otlp);
	assert_int_equal(cfg->tracing.nhmac_keys, 2);
	assert_string_equal(cfg->variables[2].key, "pin");
	assert_string_equal(cfg->variables[2].value, "1234");
	assert_string_equal(cfg->variables[2].pos.file, cfg->path);
	assert_int_equal(cfg->variables[2].pos.line, 18);
	assert_int_equal(cfg->variables[2].pos.column, 3);
	assert_int_equal(cfg->services[1].pos.line, 27);
	assert_int_equal(cfg->services[1].pos.column, 5);

	if (scenario_load(&sc, data_path("good-scenario.yaml"), cfg, &cause) <
	    0)
		fail_msg("good-scenario.yaml: %s", cause);
	strbuf_reset(&a);
	strbuf_reset(&b);
	scenario_dump(sc, &a);
	path = write_tmp_str("dumped-scenario.yaml", a.buf);
	if (scenario_load(&sc2, path, cfg2, &cause) < 0)
		fail_msg("reloading the dump: %s\n%s", cause, a.buf);
	scenario_dump(sc2, &b);
	assert_string_equal(a.buf, b.buf);

	assert_string_equal(sc->name, "good-boot");
	assert_int_equal(sc->runner.iterations, 5);
	assert_int_equal(sc->runner.iteration_timeout_ns, 30000000000ull);
	assert_int_equal(sc->nsteps, 6);
	assert_string_equal(sc->steps[0].request.method, "POST");
	assert_string_equal(sc->steps[0].request.json,
	                    "{\"auth\":{\"identity\":{\"methods\":"
	                    "[\"password\"],\"password\":{\"user\":{\"name\":"
	                    "\"{{user}}\",\"password\":\"{{password}}\","
	                    "\"id\":7,\"enabled\":true,\"weight\":1.5,"
	                    "\"none\":null}}}}}");
	assert_int_equal(sc->steps[0].request.nexpect, 1);
	assert_int_equal(sc->steps[0].request.expect[0], 201);
	assert_int_equal(sc->steps[0].request.extract[0].from, EXTRACT_HEADER);
	assert_int_equal(sc->steps[1].request.nexpect, 2);
	assert_int_equal(sc->steps[1].timeout_ns, 30000000000ull);
	assert_string_equal(sc->steps[1].request.extract[1].path,
	                    "server.addresses[0].addr");
	assert_int_equal(sc->steps[2].type, STEP_POLL);
	assert_string_equal(sc->steps[2].request.method, "GET");
	assert_int_equal(sc->steps[2].interval_ns, 200000000ull);
	assert_int_equal(sc->steps[2].timeout_ns, 60000000000ull);
	assert_int_equal(sc->steps[2].until.op, COND_EQ);
	assert_int_equal(sc->steps[2].nfail_if, 2);
	assert_int_equal(sc->steps[2].fail_if[1].op, COND_NE);
	assert_string_equal(sc->steps[3].name, "sleep 4");
	assert_int_equal(sc->steps[3].sleep_ns, 100000000ull);
	assert_int_equal(sc->steps[4].sleep_ns, 250000ull);
	assert_string_equal(sc->steps[5].name, "request 6");
	assert_int_equal(sc->steps[5].request.nexpect, 1);
	assert_int_equal(sc->steps[5].request.expect[0], 204);
	assert_int_equal(sc->steps[2].request.nexpect, 0);
	assert_int_equal(sc->ngates, 2);
	assert_int_equal(sc->gates[1].pos.line, 49);
	assert_true(sc->has_regression);
	assert_true(sc->regression.alpha == 0.05);
	assert_false(sc->regression.fail_on_count_increase);

	strbuf_release(&a);
	strbuf_release(&b);
	scenario_free(sc);
	scenario_free(sc2);
	config_free(cfg);
	config_free(cfg2);
}

static void test_config__defaults(void **state)
{
	struct config *cfg = NULL;
	struct scenario *sc = NULL;
	char *cause = NULL;
	const char *path;

	(void)state;
	if (config_load(&cfg, data_path("minimal.yaml"), &cause) < 0)
		fail_msg("%s", cause);
	assert_int_equal(cfg->version, 1);
	assert_string_equal(cfg->store, "harness.db");
	assert_string_equal(cfg->spool_dir, "spool");
	assert_true(cfg->manage);
	assert_int_equal(cfg->tracing.nhmac_keys, 1);
	assert_string_equal(cfg->tracing.hmac_keys[0], "SECRET_KEY");
	assert_false(cfg->tracing.stacks);
	assert_true(cfg->tracing.sample_rate == 1.0);
	assert_true(cfg->tracing.osprofiler_headers);
	assert_false(cfg->tracing.trust_traceparent);
	assert_false(cfg->tracing.otlp);
	assert_string_equal(cfg->tracing.otlp_listen, "127.0.0.1:4318");
	assert_null(cfg->tracing.osprofiler_url);
	assert_null(cfg->tls.ca_file);
	assert_false(cfg->tls.insecure);
	assert_int_equal(cfg->nservices, 0);
	assert_true(cfg->dir[0] == '/');
	{
		char *p = config_resolve(cfg, cfg->store);

		assert_contains(p, "/tests/data/config/harness.db");
		free(p);
	}

	path = write_tmp_str("just-steps.yaml", "steps:\n  - sleep: 1s\n");
	if (scenario_load(&sc, path, NULL, &cause) < 0)
		fail_msg("%s", cause);
	assert_string_equal(sc->name, "just-steps");
	assert_null(sc->description);
	assert_int_equal(sc->runner.type, RUNNER_CONSTANT);
	assert_int_equal(sc->runner.iterations, 10);
	assert_int_equal(sc->runner.concurrency, 1);
	assert_int_equal(sc->runner.warmup, 0);
	assert_int_equal(sc->runner.iteration_timeout_ns, 60000000000ull);
	assert_false(sc->has_regression);
	assert_true(sc->regression.alpha == 0.05);
	assert_true(sc->regression.min_effect == 0.05);
	assert_int_equal(sc->regression.nmetrics, 1);
	assert_string_equal(sc->regression.metrics[0], "critical-path");
	assert_true(sc->regression.fail_on_count_increase);
	assert_int_equal(sc->ngates, 0);
	scenario_free(sc);
	config_free(cfg);
}

static void test_config__bad_config_files(void **state)
{
	static const struct {
		const char *file;
		const char *want;
	} cases[] = {
	    {"bad-config-unknown.yaml",
	     "bad-config-unknown.yaml:4:3: unknown key 'sample_rat' in "
	     "tracing; did you mean 'sample_rate'?"},
	    {"bad-config-template.yaml",
	     "bad-config-template.yaml:8:21: 'IDENTITY_URL': undefined "
	     "template variable 'services.identiy'; did you mean "
	     "'services.identity'?"},
	    {"bad-config-unmanaged.yaml",
	     "bad-config-unmanaged.yaml:6:5: missing required key 'url' "
	     "in service 'api'"},
	    {"bad-config-dup.yaml",
	     "bad-config-dup.yaml:5:3: duplicate key 'user' in variables "
	     "(first at line 3, column 3)"},
	    {"bad-config-enum.yaml",
	     "bad-config-enum.yaml:5:12: 'trace': unknown value 'jaeger'; "
	     "valid: htrace, otlp, osprofiler, none"},
	    {"bad-config-port.yaml",
	     "bad-config-port.yaml:5:11: 'port': 70000 is out of range "
	     "(1..65535)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_config_error(data_path(cases[i].file), cases[i].want);
}

static void test_config__bad_scenario_files(void **state)
{
	static const struct {
		const char *file;
		const char *want;
	} cases[] = {
	    {"bad-runner-key.yaml",
	     "bad-runner-key.yaml:7:3: unknown key 'iteratons' in runner; "
	     "did you mean 'iterations'?"},
	    {"bad-runner-int.yaml",
	     "bad-runner-int.yaml:1:22: 'iterations': expected an "
	     "integer, found a string"},
	    {"bad-runner-duration.yaml",
	     "bad-runner-duration.yaml:2:3: runner type 'duration' "
	     "requires 'duration'"},
	    {"bad-runner-rate.yaml",
	     "bad-runner-rate.yaml:2:3: runner type 'rate' requires "
	     "'rate'"},
	    {"bad-runner-enum.yaml",
	     "bad-runner-enum.yaml:2:9: 'type': unknown value 'ramp'; did "
	     "you mean 'rate'? (valid: constant, duration, rate)"},
	    {"bad-step-url.yaml",
	     "bad-step-url.yaml:3:7: missing required key 'url' in "
	     "request step"},
	    {"bad-step-duration.yaml",
	     "bad-step-duration.yaml:4:16: 'timeout': bad duration "
	     "'fast'"},
	    {"bad-step-type.yaml",
	     "bad-step-type.yaml:3:5: unknown key 'requests' in a step; "
	     "did you mean 'request'?"},
	    {"bad-step-body.yaml",
	     "bad-step-body.yaml:5:13: 'body': cannot be used with "
	     "'json'"},
	    {"bad-percent.yaml",
	     "bad-percent.yaml:4:10: 'alpha': bad percentage "
	     "'5 percent'"},
	    {"bad-template-order.yaml",
	     "bad-template-order.yaml:4:12: 'url': template variable "
	     "'server_id' is not extracted by an earlier step"},
	    {"bad-template-undefined.yaml",
	     "bad-template-undefined.yaml:6:29: 'json': undefined "
	     "template variable 'flavour'; did you mean 'flavor'?"},
	    {"bad-dup-step.yaml",
	     "bad-dup-step.yaml:3:19: duplicate step name 'pause'"},
	    {"bad-extract-path.yaml",
	     "bad-extract-path.yaml:5:20: 'json': bad JSON path "
	     "'servers..id'"},
	    {"bad-yaml-syntax.yaml",
	     "bad-yaml-syntax.yaml:5:1: found unexpected end of stream "
	     "(while scanning a quoted scalar that starts at line 3, "
	     "column 12)"},
	};
	struct config *cfg = load_good_config();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_scenario_error(cfg, data_path(cases[i].file),
		                      cases[i].want);
	config_free(cfg);
}

/* Small generated files for each kind of bad value. */
static void test_config__bad_values(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"steps:\n  - sleep: -1s\n",
	     "s.yaml:2:12: 'sleep': bad duration '-1s'"},
	    {"steps:\n  - sleep: 10\n",
	     "s.yaml:2:12: 'sleep': bad duration '10'"},
	    {"steps:\n  - sleep: true\n",
	     "s.yaml:2:12: 'sleep': expected a duration such as 250ms, "
	     "found a boolean"},
	    {"steps:\n  - sleep: 1s\nregression: {min_effect: \"%\"}\n",
	     "s.yaml:3:26: 'min_effect': bad percentage '%'"},
	    {"steps:\n  - sleep: 1s\nregression: {alpha: 150%}\n",
	     "s.yaml:3:21: 'alpha': must be between 0 and 1"},
	    {"steps:\n  - sleep: 1s\nregression: {alpha: -5%}\n",
	     "s.yaml:3:21: 'alpha': bad percentage '-5%'"},
	    {"runner: {type: constant, rate: 5}\nsteps:\n  - sleep: 1s\n",
	     "s.yaml:1:32: 'rate': does not apply to runner type "
	     "'constant'"},
	    {"runner: {type: duration, duration: 1m, iterations: 5}\n"
	     "steps:\n  - sleep: 1s\n",
	     "s.yaml:1:52: 'iterations': does not apply to runner type "
	     "'duration'"},
	    {"runner: {concurrency: 0}\nsteps:\n  - sleep: 1s\n",
	     "s.yaml:1:23: 'concurrency': 0 is out of range"},
	    {"runner: [constant]\nsteps:\n  - sleep: 1s\n",
	     "s.yaml:1:9: runner: expected a mapping, found a list"},
	    {"name: x\n",
	     "s.yaml:1:1: missing required key 'steps' in the scenario"},
	    {"steps: []\n", "s.yaml:1:8: 'steps': needs at least one"},
	    {"steps:\n  - request: {url: \"http://h/\", expect: 99}\n",
	     "s.yaml:2:41: 'expect': 99 is out of range (100..599)"},
	    {"steps:\n  - request: {url: \"http://h/\", expect: [ok]}\n",
	     "s.yaml:2:42: 'expect': expected an integer status"},
	    {"steps:\n  - request: {url: \"http://h/\", method: FETCH}\n",
	     "s.yaml:2:41: 'method': unknown value 'FETCH'"},
	    {"steps:\n  - request: {url: \"http://h/{{nope}}\"}\n",
	     "s.yaml:2:20: 'url': undefined template variable 'nope'"},
	    {"steps:\n  - request: {url: \"http://h/{{ bad\"}\n",
	     "s.yaml:2:20: 'url': unterminated '{{' at offset 9"},
	    {"steps:\n  - poll: {url: \"http://h/\"}\n",
	     "s.yaml:2:11: missing required key 'until' in poll step"},
	    {"steps:\n  - poll: {url: \"http://h/\", until: {json: a}}\n",
	     "s.yaml:2:37: until needs 'equals' or 'not_equals'"},
	    {"steps:\n  - request: {url: ftp://h/}\n",
	     "s.yaml:2:20: 'url': expected an http:// or https:// URL"},
	    {"steps:\n  - {sleep: 1s, request: {url: \"http://h/\"}}\n",
	     "s.yaml:2:5: a step is a mapping with one key"},
	    {"variables: {iteration: 3}\nsteps:\n  - sleep: 1s\n",
	     "s.yaml:1:13: variable name 'iteration' is reserved"},
	    {"steps:\n  - request:\n      url: \"http://h/\"\n"
	     "      headers: {Accept: a, accept: b}\n",
	     "s.yaml:4:28: duplicate header 'accept'"},
	    {"steps:\n  - sleep: !!binary aGVsbG8=\n",
	     "s.yaml:2:12: unsupported YAML tag"},
	    {"steps:\n  - sleep: &a 1s\n  - sleep: *b\n",
	     "s.yaml:3:12: alias '*b' names no earlier anchor"},
	    {"steps:\n  - sleep: 1s\n---\nsteps: []\n",
	     "s.yaml:3:1: a second YAML document"},
	    {"- sleep: 1s\n",
	     "s.yaml:1:1: the scenario: expected a mapping, found a list"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_tmp_str("s.yaml", cases[i].text);

		expect_scenario_error(NULL, path, cases[i].want);
	}
}

static void test_config__bad_config_values(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"store: x.db\n",
	     "c.yaml:1:1: missing required key 'version' in the config"},
	    {"version: 2\n", "c.yaml:1:10: 'version': unsupported version "
	                     "2; expected 1"},
	    {"version: 1\nmanage: yes\n",
	     "c.yaml:2:9: 'manage': expected a boolean (true or false), "
	     "found a string"},
	    {"version: 1\ntracing: {sample_rate: 2}\n",
	     "c.yaml:2:24: 'sample_rate': must be between 0 and 1"},
	    {"version: 1\ntracing: {hmac_keys: []}\n",
	     "c.yaml:2:22: 'hmac_keys': needs at least one key"},
	    {"version: 1\ntracing: {otlp: {listen: localhost}}\n",
	     "c.yaml:2:26: 'listen': expected HOST:PORT"},
	    {"version: 1\ntracing:\n  osprofiler:\n    connection_string: "
	     "messaging://\n",
	     "c.yaml:4:24: 'connection_string': harness collects "
	     "OSprofiler's spans from redis://HOST:PORT only"},
	    {"version: 1\ntracing: {osprofiler: {url: x}}\n",
	     "unknown key 'url' in osprofiler"},
	    {"version: 1\ntracing:\n  osprofiler:\n    connection_string: "
	     "\"redis://{{services.redis.port}}\"\nservices:\n  - {name: "
	     "rediss, command: [r]}\n",
	     "c.yaml:4:24: 'connection_string': undefined template variable "
	     "'services.redis.port'; did you mean 'services.rediss.port'?"},
	    {"version: 1\ntracing:\n  osprofiler:\n    connection_string: "
	     "\"redis://127.0.0.1:{{port}}\"\n",
	     "c.yaml:4:24: 'connection_string': undefined template variable "
	     "'port'"},
	    {"version: 1\nservices:\n  - name: a\n",
	     "c.yaml:3:5: missing required key 'command' in service 'a'"},
	    {"version: 1\nservices:\n  - {name: a, command: [a]}\n"
	     "  - {name: a, command: [b]}\n",
	     "c.yaml:4:12: duplicate service 'a' (first at line 3)"},
	    {"version: 1\nservices:\n  - {name: a, command: [a], port: "
	     "80}\n  - {name: b, command: [b], port: 80}\n",
	     "c.yaml:4:35: 'port': 80 is also the port of service 'a'"},
	    {"version: 1\nservices:\n  - {name: a, command: [a], port: "
	     "x}\n",
	     "c.yaml:3:35: 'port': expected an integer (1..65535) or "
	     "'auto', found a string"},
	    {"version: 1\nservices:\n  - {name: a, command: [\"{{iteration"
	     "}}\"]}\n",
	     "c.yaml:3:25: 'command': undefined template variable "
	     "'iteration'"},
	    {"version: 1\nservices:\n  - {name: a, command: [a], "
	     "start_timeout: 0s}\n",
	     "c.yaml:3:44: 'start_timeout': must be more than 0"},
	    {"version: 1\nservices:\n  - {name: a, command: [a], health: "
	     "healthz}\n",
	     "c.yaml:3:37: 'health': expected a path starting with '/'"},
	    {"version: 1\nprojects:\n  - {name: p}\n",
	     "c.yaml:3:5: missing required key 'path' in project"},
	    {"version: 1\nvariables: {a.b: 1}\n",
	     "c.yaml:2:13: bad variable name 'a.b'"},
	    {"version: 1\nservices:\n  - {name: a, command: [a], env: "
	     "{1X: y}}\n",
	     "c.yaml:3:35: bad environment variable name '1X'"},
	    {"version: 1\nservices:\n  - {name: a, comand: [a]}\n",
	     "c.yaml:3:15: unknown key 'comand' in service; did you mean "
	     "'command'?"},
	    {"version: 1\nserveces: []\n",
	     "c.yaml:2:1: unknown key 'serveces' in the config; did you "
	     "mean 'services'?"},
	    {"version: 1\nx: &a [*a]\n",
	     "c.yaml:2:8: alias '*a' refers to a node that contains it"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_tmp_str("c.yaml", cases[i].text);

		expect_config_error(path, cases[i].want);
	}
}

static void test_config__duplicate_key(void **state)
{
	const char *path;

	(void)state;
	path = write_tmp_str("dup.yaml",
	                     "steps:\n  - request:\n      url: \"http://h/\"\n"
	                     "      timeout: 1s\n      url: \"http://g/\"\n");
	expect_scenario_error(NULL, path,
	                      "dup.yaml:5:7: duplicate key 'url' in request "
	                      "step (first at line 3, column 7)");
	path = write_tmp_str("dup2.yaml", "version: 1\n\"version\": 1\n");
	expect_config_error(path, "dup2.yaml:2:1: duplicate key 'version'");
}

static void test_config__bad_files(void **state)
{
	const size_t big = (16u << 20) + 1;
	char *buf;
	char path[4096];

	(void)state;
	expect_config_error(write_tmp_str("empty.yaml", ""),
	                    "empty.yaml:1:1: the file is empty");
	expect_config_error(write_tmp_str("comments.yaml", "# nothing\n\n"),
	                    "comments.yaml:1:1: the file is empty");
	expect_config_error(write_tmp("nul.yaml", "version: 1\n\0\n", 13),
	                    "nul.yaml:2:1: binary file: NUL byte");
	expect_config_error(
	    write_tmp_str("latin1.yaml", "version: 1\nname: caf\xe9\n"),
	    "latin1.yaml:2:10: binary file: invalid UTF-8 "
	    "(byte 0xe9)");
	expect_config_error(
	    write_tmp_str("utf8.yaml", "version: 1\ncaf\xc3\xa9: \xff\n"),
	    "utf8.yaml:2:7: binary file: invalid UTF-8");

	buf = malloc(big);
	assert_non_null(buf);
	memset(buf, '#', big);
	expect_config_error(write_tmp("big.yaml", buf, big),
	                    "big.yaml' is larger than 16 MiB");
	free(buf);

	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	expect_config_error(path, "cannot read '");
	expect_config_error(path, "missing.yaml': No such file or directory");
	expect_config_error(tmpdir, "': Is a directory");
	if (geteuid() != 0) {
		const char *p = write_tmp_str("secret.yaml", "version: 1\n");

		assert_int_equal(chmod(p, 0), 0);
		expect_config_error(p, "secret.yaml': Permission denied");
	}
	expect_scenario_error(NULL, path, "missing.yaml': No such file");
}

static void test_config__duration_parser(void **state)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} good[] = {
	    {"250ms", 250000000ull},
	    {"1.5s", 1500000000ull},
	    {"2m", 120000000000ull},
	    {"100us", 100000ull},
	    {"1h", 3600000000000ull},
	    {"0s", 0},
	    {"7ns", 7},
	    {"0.25ms", 250000ull},
	    {"1.0000000001s", 1000000000ull},
	};
	static const char *const bad[] = {
	    "fast",
	    "-1s",
	    "10",
	    "",
	    "s",
	    "1.s",
	    ".5s",
	    "1 s",
	    "1sec",
	    "1S",
	    "+1s",
	    "1e3ms",
	    "99999999999999999999s",
	    "6000000h",
	    "1.5",
	    "1ms ",
	};
	uint64_t ns;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ns = 12345;
		if (config_parse_duration(good[i].s, &ns) < 0)
			fail_msg("'%s' should parse", good[i].s);
		assert_int_equal(ns, good[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_duration(bad[i], &ns) == 0)
			fail_msg("'%s' should not parse", bad[i]);
	assert_int_equal(config_parse_duration(NULL, &ns), -1);
}

static void test_config__percent_parser(void **state)
{
	static const char *const bad[] = {
	    "5", "%", "5 %", "-5%", "5%%", "a%", "1.2.3%", "", "5%x", ".%",
	};
	double v;

	(void)state;
	assert_int_equal(config_parse_percent("5%", &v), 0);
	assert_true(v == 0.05);
	assert_int_equal(config_parse_percent("0.1%", &v), 0);
	assert_true(v == 0.001);
	assert_int_equal(config_parse_percent("100%", &v), 0);
	assert_true(v == 1.0);
	assert_int_equal(config_parse_percent("250%", &v), 0);
	assert_true(v == 2.5);
	assert_int_equal(config_parse_percent(".5%", &v), 0);
	assert_true(v == 0.005);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_percent(bad[i], &v) == 0)
			fail_msg("'%s' should not parse", bad[i]);
}

static const char *lookup(const char *name, void *payload)
{
	(void)payload;
	if (!strcmp(name, "token"))
		return "abc";
	if (!strcmp(name, "services.api"))
		return "http://127.0.0.1:8774";
	if (!strcmp(name, "quote"))
		return "say \"hi\"\n";
	return NULL;
}

static void test_config__template_expand(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *cause = NULL;

	(void)state;
	assert_int_equal(template_expand(&out,
	                                 "{{services.api}}/v2?t={{ "
	                                 "token }}&x={{\ttoken}}}",
	                                 lookup, NULL, &cause),
	                 0);
	assert_string_equal(out.buf, "http://127.0.0.1:8774/v2?t=abc&x=abc}");
	strbuf_reset(&out);
	assert_int_equal(
	    template_expand(&out, "no templates } {", lookup, NULL, &cause), 0);
	assert_string_equal(out.buf, "no templates } {");
	strbuf_reset(&out);
	assert_int_equal(template_expand_json(&out, "{\"q\":\"{{quote}}\"}",
	                                      lookup, NULL, &cause),
	                 0);
	assert_string_equal(out.buf, "{\"q\":\"say \\\"hi\\\"\\n\"}");
	strbuf_reset(&out);
	assert_int_equal(
	    template_expand(&out, "a{{nope}}b", lookup, NULL, &cause), -1);
	assert_string_equal(cause, "undefined template variable 'nope'");
	free(cause);
	cause = NULL;
	strbuf_reset(&out);
	assert_int_equal(
	    template_expand(&out, "x {{ token", lookup, NULL, &cause), -1);
	assert_string_equal(cause, "unterminated '{{' at offset 2");
	free(cause);
	cause = NULL;
	strbuf_reset(&out);
	assert_int_equal(template_expand(&out, "{{9x}}", lookup, NULL, &cause),
	                 -1);
	assert_string_equal(cause, "malformed template '{{9x}}' at offset 0; "
	                           "expected {{name}}");
	free(cause);
	assert_int_equal(template_expand(&out, "{{}}", lookup, NULL, NULL), -1);
	strbuf_release(&out);
}

struct names {
	char list[256];
	size_t offsets[8];
	size_t n;
};

static int collect(const char *name, size_t offset, void *payload)
{
	struct names *nm = payload;

	if (nm->n)
		strcat(nm->list, ",");
	strcat(nm->list, name);
	nm->offsets[nm->n++] = offset;
	return !strcmp(name, "stop") ? 42 : 0;
}

static void test_config__template_names(void **state)
{
	struct names nm = {"", {0}, 0};
	char *cause = NULL;

	(void)state;
	assert_int_equal(template_foreach_name("{{a}}-{{ services.b-c }}x"
	                                       "{{a}}",
	                                       collect, &nm, &cause),
	                 0);
	assert_string_equal(nm.list, "a,services.b-c,a");
	assert_int_equal(nm.n, 3);
	assert_int_equal(nm.offsets[1], 6);
	assert_int_equal(nm.offsets[2], 25);
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(
	    template_foreach_name("{{x}}{{stop}}{{y}}", collect, &nm, NULL),
	    42);
	assert_string_equal(nm.list, "x,stop");
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(
	    template_foreach_name("{{x}} {{y z}}", collect, &nm, &cause), -1);
	assert_string_equal(cause, "malformed template '{{y z}}' at offset 6; "
	                           "expected {{name}}");
	free(cause);
	assert_true(template_has_names("a{{b}}"));
	assert_false(template_has_names("a{b}}"));
	assert_true(template_name_valid("services.api"));
	assert_true(template_name_valid("_x-1"));
	assert_false(template_name_valid("1x"));
	assert_false(template_name_valid(""));
	assert_false(template_name_valid("a b"));
}

static void test_config__scenario_lookup(void **state)
{
	struct config *cfg = NULL;
	struct scenario *sc = NULL;
	char *cause = NULL;
	char sub[4096];
	const char *cpath;

	(void)state;
	cpath = write_tmp_str("harness.yaml", "version: 1\n");
	assert_int_equal(config_load(&cfg, cpath, &cause), 0);
	write_tmp_str("near.yaml", "steps:\n  - sleep: 1s\n");
	assert_int_equal(scenario_load(&sc, "near", cfg, &cause), 0);
	assert_string_equal(sc->name, "near");
	assert_contains(sc->path, "/near.yaml");
	scenario_free(sc);

	snprintf(sub, sizeof(sub), "%s/more", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_tmp_str("more/far.yaml",
	              "name: far-away\nsteps:\n  - sleep: 2s\n");
	setenv("HARNESS_SCENARIOS_DIR", sub, 1);
	assert_int_equal(scenario_load(&sc, "far", cfg, &cause), 0);
	assert_string_equal(sc->name, "far-away");
	scenario_free(sc);

	expect_scenario_error(cfg, "nowhere", "scenario 'nowhere' not found");
	expect_scenario_error(cfg, "nowhere", sub);
	/* A near miss of a scenario in any folder searched gets a
	 * did-you-mean, as a mistyped key does; harness.yaml is no
	 * scenario. */
	expect_scenario_error(cfg, "neer", "; did you mean 'near'?");
	expect_scenario_error(cfg, "fra", "; did you mean 'far'?");
	assert_true(scenario_load(&sc, "harnes", cfg, &cause) < 0);
	assert_null(strstr(cause, "did you mean 'harness'"));
	free(cause);
	cause = NULL;
	/* The config's folder named again by $HARNESS_SCENARIOS_DIR (as
	 * the shipped config and scenarios are) is searched and named once. */
	snprintf(sub, sizeof(sub), "%s/.", tmpdir);
	setenv("HARNESS_SCENARIOS_DIR", sub, 1);
	assert_true(scenario_load(&sc, "nowhere", cfg, &cause) < 0);
	{
		const char *first = strstr(cause, tmpdir);

		assert_non_null(first);
		assert_null(strstr(first + strlen(tmpdir), tmpdir));
	}
	free(cause);
	cause = NULL;
	unsetenv("HARNESS_SCENARIOS_DIR");
	/* A name with ".yaml" is a path, relative to the working directory,
	 * not to the config. */
	expect_scenario_error(cfg, "near.yaml", "cannot read 'near.yaml'");
	config_free(cfg);
}

static void test_config__default_path(void **state)
{
	(void)state;
	setenv("HARNESS_CONFIG", "/some/where.yaml", 1);
	assert_string_equal(config_default_path(), "/some/where.yaml");
	unsetenv("HARNESS_CONFIG");
	assert_non_null(strstr(config_default_path(), "harness.yaml"));
}

/* tracing.osprofiler.connection_string: templated with variables and
 * services.NAME[.host|.port], dumped (and so hashed) only when set. */
static void test_config__osprofiler(void **state)
{
	struct config *a = NULL, *b = NULL, *c = NULL;
	struct strbuf sb = STRBUF_INIT;
	char *cause = NULL;
	const char *text =
	    "version: 1\n"
	    "variables: {db: \"2\"}\n"
	    "tracing:\n"
	    "  osprofiler:\n"
	    "    connection_string: \"redis://{{services.redis.host}}:"
	    "{{services.redis.port}}/{{db}}\"\n"
	    "services:\n"
	    "  - {name: redis, command: [redis-server, --port, \"{{port}}\"]}\n";

	(void)state;
	if (config_load(&a, write_tmp_str("o1.yaml", text), &cause) < 0)
		fail_msg("%s", cause);
	assert_string_equal(a->tracing.osprofiler_url,
			    "redis://{{services.redis.host}}:"
			    "{{services.redis.port}}/{{db}}");
	assert_int_equal(a->tracing.osprofiler_url_pos.line, 5);
	config_dump(a, &sb);
	assert_contains(sb.buf, "  osprofiler:\n    connection_string: ");
	/* the dump loads as the same config */
	if (config_load(&b, write_tmp("o2.yaml", sb.buf, sb.len), &cause) < 0)
		fail_msg("%s", cause);
	assert_string_equal(a->hash, b->hash);
	/* without the key: another hash, and no osprofiler in the dump */
	if (config_load(&c, write_tmp_str("o3.yaml", "version: 1\n"), &cause) <
	    0)
		fail_msg("%s", cause);
	assert_string_not_equal(a->hash, c->hash);
	strbuf_reset(&sb);
	config_dump(c, &sb);
	assert_null(strstr(sb.buf, "osprofiler:"));
	strbuf_release(&sb);
	config_free(a);
	config_free(b);
	config_free(c);
}

static void test_config__hash(void **state)
{
	struct config *a = NULL, *b = NULL, *c = NULL;
	char *cause = NULL;

	(void)state;
	/* The same effective configuration, written differently. */
	assert_int_equal(
	    config_load(&a, write_tmp_str("h1.yaml", "version: 1\n"), &cause),
	    0);
	assert_int_equal(
	    config_load(&b,
	                write_tmp_str("h2.yaml", "# same\nversion: 1\n"
	                                         "store: harness.db\n"
	                                         "tracing: {stacks: "
	                                         "false}\n"),
	                &cause),
	    0);
	assert_int_equal(
	    config_load(&c,
	                write_tmp_str("h3.yaml", "version: 1\n"
	                                         "store: other.db\n"),
	                &cause),
	    0);
	assert_string_equal(a->hash, b->hash);
	assert_string_not_equal(a->hash, c->hash);
	config_free(a);
	config_free(b);
	config_free(c);
}

static void test_config__tracing_enabled(void **state)
{
	struct config *on = NULL, *off = NULL, *again = NULL;
	struct strbuf dump = STRBUF_INIT;
	char *cause = NULL;

	(void)state;
	assert_int_equal(
	    config_load(&on, write_tmp_str("t1.yaml", "version: 1\n"), &cause),
	    0);
	assert_true(on->tracing.enabled);
	assert_int_equal(
	    config_load(&off,
	                write_tmp_str("t2.yaml", "version: 1\n"
	                                         "tracing: {enabled: false}\n"),
	                &cause),
	    0);
	assert_false(off->tracing.enabled);
	assert_string_not_equal(on->hash, off->hash);
	/* The key is dumped only when off: a tracing config dumps (and
	 * hashes) as it did before the key existed. */
	config_dump(on, &dump);
	assert_null(strstr(dump.buf, "\n  enabled:"));
	assert_non_null(strstr(dump.buf, "tracing:\n  hmac_keys:"));
	strbuf_reset(&dump);
	config_dump(off, &dump);
	assert_non_null(strstr(dump.buf, "tracing:\n  enabled: false\n"));
	/* The dump loads back to the same configuration. */
	assert_int_equal(
	    config_load(&again, write_tmp("t3.yaml", dump.buf, dump.len),
	                &cause),
	    0);
	assert_false(again->tracing.enabled);
	assert_string_equal(again->hash, off->hash);
	config_free(again);
	again = NULL;
	/* Not a boolean: refused with where it was written. */
	assert_true(
	    config_load(&again,
	                write_tmp_str("t4.yaml", "version: 1\ntracing:\n"
	                                         "  enabled: sometimes\n"),
	                &cause) < 0);
	assert_null(again);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "t4.yaml:3:12: 'enabled': expected a "
	                              "boolean"));
	free(cause);
	strbuf_release(&dump);
	config_free(on);
	config_free(off);
}

static struct config *load_ok(const char *name, const char *text)
{
	struct config *cfg = NULL;
	char *cause = NULL;

	if (config_load(&cfg, write_tmp_str(name, text), &cause) < 0)
		fail_msg("%s: %s", name, cause);
	return cfg;
}

static void test_config__tls(void **state)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n"
	                          "-----END CERTIFICATE-----\n";
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
	    {"version: 1\ntls: true\n",
	     "c.yaml:2:6: tls: expected a mapping, found a boolean"},
	    {"version: 1\ntls: {verify: maybe}\n",
	     "c.yaml:2:15: 'verify': expected a boolean (true or false), "
	     "found a string"},
	    {"version: 1\ntls: {ca_file: [ca.pem]}\n",
	     "c.yaml:2:16: 'ca_file': expected a string, found a list"},
	    {"version: 1\ntls: {ca_file: \"\"}\n",
	     "c.yaml:2:16: 'ca_file': must not be empty"},
	    {"version: 1\ntls: {ca_fil: ca.pem}\n",
	     "c.yaml:2:7: unknown key 'ca_fil' in tls; did you mean "
	     "'ca_file'?"},
	    {"version: 1\ntls:\n  verify: false\n  ca_file: none.pem\n",
	     "c.yaml:4:12: 'ca_file': cannot read '"},
	    {"version: 1\ntls: {ca_file: .}\n",
	     "c.yaml:2:16: 'ca_file': '"},
	    {"version: 1\ntls: {ca_file: key.txt}\n",
	     "c.yaml:2:16: 'ca_file': '"},
	};
	struct config *plain, *both, *again, *off, *ca, *empty;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	char *cause = NULL, *path;

	(void)state;
	write_tmp_str("ca.pem", pem);
	write_tmp_str("key.txt", "not a certificate\n");

	/* Defaults: the system's CAs, every check on, nothing dumped. */
	plain = load_ok("p.yaml", "version: 1\n");
	assert_null(plain->tls.ca_file);
	assert_false(plain->tls.insecure);
	config_dump(plain, &a);
	assert_null(strstr(a.buf, "tls"));
	/* The hash of a config without tls is what it was before the key
	 * existed (the same text hashed by the harness of then). */
	assert_string_equal(plain->hash, "662bc06da6e74efcab3b5a1e422083643a"
	                                 "a8f1d4bc92583c8ff13ec38e1b7ed6");
	empty = load_ok("e.yaml", "version: 1\ntls: {}\n");
	strbuf_reset(&b);
	config_dump(empty, &b);
	assert_string_equal(a.buf, b.buf);
	assert_string_equal(empty->hash, plain->hash);

	/* Both keys; the file is relative to the config's folder. */
	both = load_ok("b.yaml", "version: 1\ntls:\n  ca_file: ca.pem\n"
	                         "  verify: false\n");
	assert_string_equal(both->tls.ca_file, "ca.pem");
	assert_int_equal(both->tls.ca_file_pos.line, 3);
	assert_int_equal(both->tls.ca_file_pos.column, 12);
	assert_true(both->tls.insecure);
	path = config_resolve(both, both->tls.ca_file);
	assert_string_equal(path + strlen(path) - 7, "/ca.pem");
	assert_true(path[0] == '/');
	free(path);
	/* Not hashed: runs with and without it compare. */
	assert_string_equal(both->hash, plain->hash);
	strbuf_reset(&a);
	config_dump(both, &a);
	assert_contains(a.buf, "\ntls:\n  ca_file: ca.pem\n  verify: false\n"
	                       "variables:");
	/* The dump loads back to the same thing (in the same folder). */
	if (config_load(&again, write_tmp("again.yaml", a.buf, a.len),
	                &cause) < 0)
		fail_msg("%s\n%s", cause, a.buf);
	strbuf_reset(&b);
	config_dump(again, &b);
	assert_string_equal(a.buf, b.buf);
	assert_string_equal(again->tls.ca_file, "ca.pem");
	assert_true(again->tls.insecure);

	/* Each key alone: only what differs makes the block appear. */
	off = load_ok("o.yaml", "version: 1\ntls: {verify: false}\n");
	assert_null(off->tls.ca_file);
	assert_true(off->tls.insecure);
	strbuf_reset(&a);
	config_dump(off, &a);
	assert_contains(a.buf, "\ntls:\n  verify: false\nvariables:");
	ca = load_ok("c2.yaml", "version: 1\ntls: {ca_file: ca.pem, "
	                        "verify: true}\n");
	assert_false(ca->tls.insecure);
	strbuf_reset(&a);
	config_dump(ca, &a);
	assert_contains(a.buf, "\ntls:\n  ca_file: ca.pem\n  verify: true\n");
	assert_string_equal(ca->hash, plain->hash);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_config_error(write_tmp_str("c.yaml", bad[i].text),
		                    bad[i].want);
	/* The path, made absolute, and why. */
	expect_config_error(write_tmp_str("c.yaml", bad[5].text),
	                    "/none.pem': No such file or directory");
	expect_config_error(write_tmp_str("c.yaml", bad[6].text),
	                    "' is not a file");
	expect_config_error(write_tmp_str("c.yaml", bad[7].text),
	                    "/key.txt' holds no PEM certificate");

	strbuf_release(&a);
	strbuf_release(&b);
	config_free(plain);
	config_free(empty);
	config_free(both);
	config_free(again);
	config_free(off);
	config_free(ca);
}

static void test_config__aliases_and_json(void **state)
{
	struct scenario *sc = NULL;
	char *cause = NULL;
	const char *path;

	(void)state;
	path = write_tmp_str(
	    "alias.yaml",
	    "variables: {v: x}\n"
	    "steps:\n"
	    "  - request:\n"
	    "      url: \"http://h/\"\n"
	    "      headers: &h {Accept: text/plain}\n"
	    "      json: [1, -0, 0x10, 1.50, \"2\", yes, True, ~, {}, [], "
	    "\"{{v}}\", \"tab\\tq\\\"\", 1e3]\n"
	    "  - request: {url: \"http://h/\", headers: *h, json: 5}\n");
	if (scenario_load(&sc, path, NULL, &cause) < 0)
		fail_msg("%s", cause);
	assert_string_equal(sc->steps[0].request.json,
	                    "[1,0,16,1.5,\"2\",\"yes\",true,null,{},[],"
	                    "\"{{v}}\",\"tab\\tq\\\"\",1000]");
	assert_int_equal(sc->steps[1].request.nheaders, 1);
	assert_string_equal(sc->steps[1].request.headers[0].value,
	                    "text/plain");
	assert_string_equal(sc->steps[1].request.json, "5");
	scenario_free(sc);

	/* Billion laughs stops at the node limit instead of eating memory. */
	path = write_tmp_str(
	    "laughs.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	                   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	                   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	                   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	                   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
	expect_scenario_error(NULL, path, "too many YAML nodes");
}

/* Each scalar remembers how it was written, aliases included; a gate
 * remembers whether it was quoted, which moves its text a column right. */
static void test_config__scalar_style(void **state)
{
	static const struct {
		const char *key, *text;
		enum yscalar_style style;
		unsigned line, column;
	} want[] = {
	    {"plain", "a b", YSTYLE_PLAIN, 1, 8},
	    {"single", "a 'b'", YSTYLE_SINGLE_QUOTED, 2, 9},
	    {"double", "a\tb", YSTYLE_DOUBLE_QUOTED, 3, 9},
	    {"literal", "a\nb\n", YSTYLE_LITERAL, 4, 10},
	    {"folded", "a b\n", YSTYLE_FOLDED, 7, 9},
	    {"alias", "a\tb", YSTYLE_DOUBLE_QUOTED, 3, 9},
	    {"number", "5", YSTYLE_PLAIN, 11, 9},
	};
	struct yfile f;
	struct scenario *sc = NULL;
	char *cause = NULL;
	const char *path;

	(void)state;
	path = write_tmp_str("style.yaml", "plain: a b\n"
	                                   "single: 'a ''b'''\n"
	                                   "double: &d \"a\\tb\"\n"
	                                   "literal: |\n"
	                                   "  a\n"
	                                   "  b\n"
	                                   "folded: >\n"
	                                   "  a\n"
	                                   "  b\n"
	                                   "alias: *d\n"
	                                   "number: 5\n");
	if (yfile_load(&f, path, &cause) < 0)
		fail_msg("%s", cause);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct ynode *n = ymap_get(f.root, want[i].key);

		assert_non_null(n);
		assert_string_equal(n->text, want[i].text);
		assert_int_equal(n->style, want[i].style);
		assert_int_equal(n->line, want[i].line);
		assert_int_equal(n->column, want[i].column);
	}
	assert_int_equal(ymap_get(f.root, "number")->type, YSCALAR_INT);
	yfile_release(&f);

	path = write_tmp_str("gates.yaml", "steps:\n"
	                                   "  - request: {url: \"http://h/\"}\n"
	                                   "gates:\n"
	                                   "  - failure_rate < 1%\n"
	                                   "  - \"iteration.p95 < 800ms\"\n"
	                                   "  - 'iteration.p50 < 1s'\n"
	                                   "  - >-\n"
	                                   "    iteration.max < 2s\n");
	if (scenario_load(&sc, path, NULL, &cause) < 0)
		fail_msg("%s", cause);
	assert_int_equal(sc->ngates, 4);
	assert_false(sc->gates[0].quoted);
	assert_true(sc->gates[1].quoted);
	assert_true(sc->gates[2].quoted);
	assert_false(sc->gates[3].quoted);
	for (size_t i = 0; i < sc->ngates; i++) {
		assert_int_equal(sc->gates[i].pos.line, 4 + i);
		assert_int_equal(sc->gates[i].pos.column, 5);
	}
	assert_string_equal(sc->gates[2].expr, "iteration.p50 < 1s");
	scenario_free(sc);
}

/* Read a data file into a strbuf. */
static void read_data(struct strbuf *sb, const char *name)
{
	if (strbuf_read_file(sb, data_path(name)) < 0)
		fail_msg("cannot read %s", name);
}

/* xorshift: the mutations are the same on every run. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void mutate(struct strbuf *out, const struct strbuf *in, uint32_t *rs)
{
	static const char pieces[] = ":-{}[]#&*!|>'\"\n \t,%0x\xc3\xff";
	int edits = 1 + (int)(next_rand(rs) % 4);

	strbuf_reset(out);
	strbuf_add(out, in->buf, in->len);
	while (edits-- > 0 && out->len > 1) {
		size_t at = next_rand(rs) % out->len;

		switch (next_rand(rs) % 4) {
		case 0: /* overwrite */
			out->buf[at] =
			    pieces[next_rand(rs) % (sizeof(pieces) - 1)];
			break;
		case 1: /* delete a run */
		{
			size_t n = 1 + next_rand(rs) % 8;

			if (at + n > out->len)
				n = out->len - at;
			memmove(out->buf + at, out->buf + at + n,
			        out->len - at - n + 1);
			out->len -= n;
			break;
		}
		case 2: /* truncate */
			out->len = at;
			out->buf[at] = '\0';
			break;
		default: /* duplicate a line's worth */
		{
			size_t n = 1 + next_rand(rs) % 40;
			char *copy;

			if (at + n > out->len)
				n = out->len - at;
			copy = xstrndup(out->buf + at, n);
			strbuf_add(out, copy, n);
			free(copy);
		}
		}
	}
}

/* Mangled files never crash the loader; a failure always names the file,
 * and whatever loads still dumps, reloads and dumps the same. */
static void test_config__mutations(void **state)
{
	struct strbuf cfg_text = STRBUF_INIT, sc_text = STRBUF_INIT;
	struct strbuf m = STRBUF_INIT, a = STRBUF_INIT, b = STRBUF_INIT;
	struct config *good = load_good_config();
	uint32_t rs = 0x5eed1234;
	int loaded = 0;

	(void)state;
	/* Another seed explores other mutations: HARNESS_FUZZ_SEED=N. */
	if (getenv("HARNESS_FUZZ_SEED"))
		rs =
		    (uint32_t)strtoul(getenv("HARNESS_FUZZ_SEED"), NULL, 0) | 1;
	read_data(&cfg_text, "good.yaml");
	read_data(&sc_text, "good-scenario.yaml");
	for (int i = 0; i < 1500; i++) {
		int is_sc = i & 1;
		struct config *cfg = NULL, *cfg2 = NULL;
		struct scenario *sc = NULL, *sc2 = NULL;
		char *cause = NULL;
		const char *path;
		int r;

		mutate(&m, is_sc ? &sc_text : &cfg_text, &rs);
		path = write_tmp("m.yaml", m.buf, m.len);
		r = is_sc ? scenario_load(&sc, path, good, &cause)
		          : config_load(&cfg, path, &cause);
		if (r < 0) {
			assert_non_null(cause);
			if (!strstr(cause, "m.yaml"))
				fail_msg("no file name in '%s'", cause);
			free(cause);
			continue;
		}
		loaded++;
		strbuf_reset(&a);
		strbuf_reset(&b);
		if (is_sc)
			scenario_dump(sc, &a);
		else
			config_dump(cfg, &a);
		path = write_tmp_str("m2.yaml", a.buf);
		r = is_sc ? scenario_load(&sc2, path, good, &cause)
		          : config_load(&cfg2, path, &cause);
		if (r < 0)
			fail_msg("dump does not reload: %s\n%s\nfrom:\n%s",
			         cause, a.buf, m.buf);
		if (is_sc)
			scenario_dump(sc2, &b);
		else
			config_dump(cfg2, &b);
		if (strcmp(a.buf, b.buf))
			fail_msg("dump changed on reload:\n%s\n---\n%s", a.buf,
			         b.buf);
		scenario_free(sc);
		scenario_free(sc2);
		config_free(cfg);
		config_free(cfg2);
	}
	/* Some mutations must leave a loadable file, or this tests little. */
	assert_true(loaded > 20);
	config_free(good);
	strbuf_release(&cfg_text);
	strbuf_release(&sc_text);
	strbuf_release(&m);
	strbuf_release(&a);
	strbuf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config__roundtrip),
	    cmocka_unit_test(test_config__defaults),
	    cmocka_unit_test(test_config__osprofiler),
	    cmocka_unit_test(test_config__bad_config_files),
	    cmocka_unit_test(test_config__bad_scenario_files),
	    cmocka_unit_test(test_config__bad_values),
	    cmocka_unit_test(test_config__bad_config_values),
	    cmocka_unit_test(test_config__duplicate_key),
	    cmocka_unit_test(test_config__bad_files),
	    cmocka_unit_test(test_config__duration_parser),
	    cmocka_unit_test(test_config__percent_parser),
	    cmocka_unit_test(test_config__template_expand),
	    cmocka_unit_test(test_config__template_names),
	    cmocka_unit_test(test_config__scenario_lookup),
	    cmocka_unit_test(test_config__default_path),
	    cmocka_unit_test(test_config__hash),
	    cmocka_unit_test(test_config__tracing_enabled),
	    cmocka_unit_test(test_config__tls),
	    cmocka_unit_test(test_config__aliases_and_json),
	    cmocka_unit_test(test_config__scalar_style),
	    cmocka_unit_test(test_config__mutations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
