/* load-scenario.c: the shipped scenario files, loaded by the config code and
 * run by the load driver against a local server that answers like the
 * reference stack: boot-vm end to end with its spans read back from the
 * spool, list-servers at a fixed rate, and a run stopped from a signal
 * handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "config/config.h"
#include "htrace.h"
#include "load/load.h"
#include "spool/spool.h"
#include "test-load-server.h"
#include "util/timeutil.h"

#define MS 1000000ULL

static struct test_server server;
static char dir[] = "/tmp/load-scenario-XXXXXX";
static char spool[sizeof(dir) + 16];
static struct config *cfg;

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int setup(void **state)
{
	char path[256], yaml[1024];
	char *cause = NULL;
	struct htrace_options o;

	(void)state;
	if (test_server_start(&server, 0) < 0 || !mkdtemp(dir))
		return -1;
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(path, sizeof(path), "%s/harness.yaml", dir);
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "manage: false\n"
		 "variables:\n"
		 "  username: admin\n"
		 "  password: secret\n"
		 "  image: cirros\n"
		 "  flavor: m1.tiny\n"
		 "services:\n"
		 "  - name: identity\n"
		 "    url: %s\n"
		 "  - name: api\n"
		 "    url: %s\n",
		 server.base, server.base);
	if (write_file(path, yaml) < 0)
		return -1;
	if (config_load(&cfg, path, &cause) < 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return -1;
	}
	if (mkdir(spool, 0700) < 0)
		return -1;
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = spool;
	o.hmac_keys = "load-scenario-key";
	return htrace_init_with(&o) == 0 ? 0 : -1;
}

static void remove_dir(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char path[512];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
		if (unlink(path) < 0)
			remove_dir(path);
	}
	closedir(dp);
	rmdir(d);
}

static int teardown(void **state)
{
	(void)state;
	htrace_shutdown();
	config_free(cfg);
	test_server_stop(&server);
	remove_dir(dir);
	return 0;
}

/* What `harness run` does with a stack: a service's endpoint. */
static const char *service_url(const char *name, void *payload)
{
	const struct config *c = payload;

	for (size_t i = 0; i < c->nservices; i++)
		if (!strcmp(c->services[i].name, name))
			return c->services[i].url;
	return NULL;
}

static struct scenario *load_scenario(const char *name)
{
	const char *root = getenv("HARNESS_SOURCE_ROOT");
	struct scenario *sc = NULL;
	char path[512], *cause = NULL;

	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/scenarios/%s.yaml", root, name);
	if (scenario_load(&sc, path, cfg, &cause) < 0)
		fail_msg("%s", cause);
	return sc;
}

static struct load *new_load(const struct scenario *sc)
{
	struct load_options opts = {
		.scenario = sc,
		.variables = cfg->variables,
		.nvariables = cfg->nvariables,
		.service_url = service_url,
		.service_payload = cfg,
		.trace = true,
	};
	struct load *ld = NULL;
	char *cause = NULL;

	if (load_new(&ld, &opts, &cause) < 0)
		fail_msg("%s", cause);
	return ld;
}

static unsigned count_spans(unsigned kind)
{
	DIR *d = opendir(spool);
	struct dirent *e;
	char path[512];
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		struct spool_reader *r;
		struct spool_record rec;
		char *cause = NULL;

		if (!strstr(e->d_name, ".htspool"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", spool, e->d_name);
		if (spool_reader_open(&r, path, &cause) < 0)
			fail_msg("%s", cause);
		while (spool_reader_next(r, &rec, &cause) == SPOOL_READ_OK)
			if (rec.type == SPOOL_RECORD_SPAN &&
			    rec.u.span.kind == kind)
				n++;
		spool_reader_free(r);
	}
	closedir(d);
	return n;
}

static void test_load_scenario__boot_vm(void **state)
{
	struct scenario *sc = load_scenario("boot-vm");
	struct load_summary sum;
	struct load *ld;
	const struct load_iteration *its;
	size_t n;

	(void)state;
	server.flip_after = 3;
	ld = new_load(sc);
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	/* 20 iterations after 2 warm-ups, as the file says. */
	assert_int_equal(sum.iterations, 20);
	assert_int_equal(sum.warmup, 2);
	assert_int_equal(sum.failed, 0);
	assert_int_equal(server.tokens, 22);
	assert_int_equal(server.created, 22);
	assert_int_equal(server.deleted, 22);
	its = load_results(ld, &n);
	assert_int_equal(n, 22);
	for (size_t i = 0; i < n; i++) {
		if (!its[i].ok)
			fail_msg("iteration %zu: %s", i, its[i].reason);
		assert_int_equal(its[i].nsteps, 4);
		assert_string_equal(its[i].steps[0].name, "authenticate");
		assert_string_equal(its[i].steps[2].name, "wait-active");
		assert_int_equal(its[i].steps[2].requests, 4);
		assert_int_equal(its[i].steps[3].status, 204);
		assert_int_equal(strlen(its[i].trace_id), 32);
	}
	load_free(ld);
	scenario_free(sc);

	/* Each iteration: one trace of 4 steps and 7 HTTP calls. */
	htrace_flush();
	assert_int_equal(count_spans(HTRACE_KIND_ITERATION), 22);
	assert_int_equal(count_spans(HTRACE_KIND_STEP), 22 * 4);
	assert_int_equal(count_spans(HTRACE_KIND_REST_CALL), 22 * 7);
}

static void test_load_scenario__list_servers_rate(void **state)
{
	struct scenario *sc = load_scenario("list-servers");
	struct load_summary sum;
	struct load *ld;
	const struct load_iteration *its;
	size_t n;

	(void)state;
	assert_int_equal(sc->runner.type, RUNNER_RATE);
	/* The file's rate, for 1s instead of 10s. */
	sc->runner.duration_ns = 1000 * MS;
	ld = new_load(sc);
	assert_int_equal(load_run(ld, &sum, NULL), 0);
	assert_int_equal(sum.failed, 0);
	assert_int_equal(sum.iterations, (uint64_t)sc->runner.rate);
	/* The schedule is the file's rate exactly; how close the starts
	 * came to it is bench-load's to measure, not a test's on a shared
	 * machine. */
	its = load_results(ld, &n);
	assert_int_equal(n, sum.iterations);
	for (size_t i = 0; i < n; i++) {
		uint64_t due = (uint64_t)((double)i * 1e9 / sc->runner.rate);
		uint64_t gap = its[i].intended_ns - its[0].intended_ns;

		assert_true(its[i].ok);
		assert_true(gap + 1 >= due && gap <= due + 1);
		assert_true(its[i].start_ns >= its[i].intended_ns);
	}
	print_message("%.0f/s asked, %.2f/s achieved, %" PRIu64 " late\n",
		      sc->runner.rate, sum.achieved_rate, sum.late);
	load_free(ld);
	scenario_free(sc);
}

static struct load *running;

static void on_alarm(int sig)
{
	(void)sig;
	load_stop(running);
}

static void test_load_scenario__stopped_by_signal(void **state)
{
	struct scenario *sc = load_scenario("boot-vm");
	struct itimerval t = { .it_value = { 0, 300000 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct load_summary sum;
	uint64_t t0, el;

	(void)state;
	/* Never ACTIVE: without the stop, each iteration polls for 60s. */
	server.flip_after = 1000000;
	sc->runner.iterations = 1000;
	running = new_load(sc);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &t, NULL), 0);
	t0 = time_mono_ns();
	assert_int_equal(load_run(running, &sum, NULL), 0);
	el = time_mono_ns() - t0;
	assert_true(sum.stopped);
	/* Stopped at 300ms, where an iteration would poll for a minute. */
	assert_true(el < 30000 * MS);
	assert_int_equal(sum.failed, 0);
	assert_true(sum.interrupted >= 1);
	load_free(running);
	running = NULL;
	scenario_free(sc);
	server.flip_after = 3;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_scenario__boot_vm),
		cmocka_unit_test(test_load_scenario__list_servers_rate),
		cmocka_unit_test(test_load_scenario__stopped_by_signal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
