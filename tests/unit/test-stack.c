/* test-stack.c: the stack with real processes: python http.server services
 * on free loopback ports, a command that exits at once, one that never
 * becomes healthy, one that ignores SIGTERM, a service killed while up;
 * and an unmanaged service behind https:// (test-load-server.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "stack/stack.h"
#include "test-load-server.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define PY "/usr/bin/python3"
#define MS 1000000ull

struct fixture {
	char dir[64];
	struct config cfg;
};

/* Whether pid is a live process (a zombie counts as dead). */
static int pid_running(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static pid_t read_pid(const char *dir, const char *file)
{
	struct strbuf sb = STRBUF_INIT;
	char *path = xasprintf("%s/%s", dir, file);
	pid_t pid = 0;

	for (int i = 0; i < 100 && !pid; i++) {
		strbuf_reset(&sb);
		if (strbuf_read_file(&sb, path) == 0 && sb.len)
			pid = (pid_t)atoi(sb.buf);
		else
			usleep(10000);
	}
	strbuf_release(&sb);
	free(path);
	return pid;
}

static char *read_text(const char *dir, const char *file)
{
	struct strbuf sb = STRBUF_INIT;
	char *path = xasprintf("%s/%s", dir, file);

	if (strbuf_read_file(&sb, path) < 0)
		strbuf_addstr(&sb, "(unreadable)");
	free(path);
	return strbuf_detach(&sb, NULL);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void add_service(struct config *cfg, const char *name,
			const char *const *argv, uint64_t timeout_ns)
{
	struct config_service *s;
	size_t argc = 0;

	cfg->services = xrealloc(cfg->services,
				 (cfg->nservices + 1) * sizeof(*s));
	s = &cfg->services[cfg->nservices++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	while (argv && argv[argc])
		argc++;
	if (argv) {
		s->argv = xcalloc(argc + 1, sizeof(*s->argv));
		for (size_t i = 0; i < argc; i++)
			s->argv[i] = xstrdup(argv[i]);
		s->argc = argc;
	}
	s->health = xstrdup("/healthz");
	s->start_timeout_ns = timeout_ns ? timeout_ns : 5000 * MS;
	s->pos.file = "test.yaml";
	s->pos.line = (unsigned)cfg->nservices;
	s->pos.column = 3;
}

static void add_env(struct config *cfg, const char *key, const char *value)
{
	struct config_service *s = &cfg->services[cfg->nservices - 1];

	s->env = xrealloc(s->env, (s->nenv + 1) * sizeof(*s->env));
	memset(&s->env[s->nenv], 0, sizeof(*s->env));
	s->env[s->nenv].key = xstrdup(key);
	s->env[s->nenv].value = xstrdup(value);
	s->nenv++;
}

static void free_services(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct config_service *s = &cfg->services[i];

		for (size_t j = 0; j < s->argc; j++)
			free(s->argv[j]);
		free(s->argv);
		for (size_t j = 0; j < s->nenv; j++) {
			free(s->env[j].key);
			free(s->env[j].value);
		}
		free(s->env);
		free(s->health);
		free(s->url);
		free(s->name);
	}
	free(cfg->services);
	cfg->services = NULL;
	cfg->nservices = 0;
}

static char *hmac_keys[] = { "k1", "k2" };

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char *path;
	FILE *f;

	strcpy(fx->dir, "/tmp/harness-test-stack-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	path = xasprintf("%s/healthz", fx->dir);
	f = fopen(path, "w");
	free(path);
	if (!f)
		return -1;
	fputs("ok\n", f);
	fclose(f);
	fx->cfg.dir = fx->dir;
	fx->cfg.path = "test.yaml";
	fx->cfg.version = 1;
	fx->cfg.manage = true;
	fx->cfg.tracing.enabled = true;
	fx->cfg.tracing.hmac_keys = hmac_keys;
	fx->cfg.tracing.nhmac_keys = 2;
	fx->cfg.tracing.sample_rate = 0.5;
	fx->cfg.tracing.osprofiler_headers = true;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct dirent *de;
	DIR *d;

	/* After a failed assertion, nothing the test started stays. */
	d = opendir(fx->dir);
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 4 && !strcmp(de->d_name + len - 4, ".pid")) {
			pid_t pid = read_pid(fx->dir, de->d_name);

			if (pid > 1)
				kill(-pid, SIGKILL);
		}
	}
	if (d)
		closedir(d);
	free_services(&fx->cfg);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* A python web server on {{port}} serving the config dir, with the pid it
 * runs as written to NAME.pid first (exec keeps the pid). */
static void add_python(struct config *cfg, const char *name,
		       const char *prelude)
{
	char *script = xasprintf("%s echo $$ > %s.pid; exec " PY
				 " -m http.server \"$1\" --bind 127.0.0.1",
				 prelude ? prelude : "", name);
	const char *argv[] = { "sh", "-c", script, name, "{{port}}", NULL };

	add_service(cfg, name, argv, 0);
	free(script);
}

static void test_stack__up_check_down(void **state)
{
	struct fixture *fx = *state;
	struct stack_service_info info;
	struct stack *st = NULL;
	struct pollfd fds[4];
	char *cause = NULL, *env;
	pid_t pa, pb;

	add_python(&fx->cfg, "alpha", NULL);
	add_python(&fx->cfg, "beta",
		   "echo \"$PEER $HTRACE_SERVICE $HTRACE_HMAC_KEYS "
		   "$HTRACE_SAMPLE_RATE $HTRACE_SPOOL_DIR\" > beta.env;");
	add_env(&fx->cfg, "PEER", "{{ services.alpha }}/x");

	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);
	assert_null(cause);
	assert_int_equal(stack_nservices(st), 2);
	assert_int_equal(stack_check(st, &cause), 0);
	assert_non_null(stack_endpoint(st, "alpha"));
	assert_non_null(stack_endpoint(st, "beta"));
	assert_null(stack_endpoint(st, "gamma"));
	assert_string_not_equal(stack_endpoint(st, "alpha"),
				stack_endpoint(st, "beta"));
	assert_int_equal(strncmp(stack_endpoint(st, "alpha"),
				 "http://127.0.0.1:", 17), 0);
	assert_int_equal(stack_service_health(st, 0, NULL), 0);
	assert_int_equal(stack_service_health(st, 1, NULL), 0);

	/* Templates and the tracing environment reached the service. */
	env = read_text(fx->dir, "beta.env");
	{
		char *want = xasprintf("%s/x beta k1,k2 0.5 %s/spool\n",
				       stack_endpoint(st, "alpha"), fx->dir);
		assert_string_equal(env, want);
		free(want);
	}
	free(env);

	stack_service_info(st, 0, &info);
	assert_string_equal(info.name, "alpha");
	assert_int_equal(info.state, STACK_SERVICE_RUNNING);
	assert_true(info.port > 0);
	pa = read_pid(fx->dir, "alpha.pid");
	pb = read_pid(fx->dir, "beta.pid");
	assert_int_equal(info.pid, pa);
	assert_int_equal(getpgid(pa), pa);
	assert_true(pid_running(pa) && pid_running(pb));
	assert_int_equal(stack_pollfds(st, fds, 4), 2);
	assert_int_equal(poll(fds, 2, 0), 0);

	assert_int_equal(stack_down(st, &cause), 0);
	assert_true(stack_stopped(st));
	assert_false(pid_running(pa));
	assert_false(pid_running(pb));
	assert_int_equal(kill(-pa, 0), -1);
	assert_int_equal(kill(-pb, 0), -1);
	/* A second stop is harmless. */
	assert_int_equal(stack_down(st, NULL), 0);
	stack_free(st);
}

static void test_stack__otlp_env(void **state)
{
	struct fixture *fx = *state;
	struct stack *st = NULL;
	char *cause = NULL, *env;

	/* Inherited tracing variables do not reach the services. */
	setenv("HTRACE_SERVICE", "inherited", 1);
	fx->cfg.tracing.otlp_listen = "127.0.0.1:4999";
	add_python(&fx->cfg, "otel",
		   "echo \"$OTEL_EXPORTER_OTLP_ENDPOINT $OTEL_SERVICE_NAME "
		   "[$HTRACE_SERVICE] $EXTRA\" > otel.env;");
	fx->cfg.services[0].trace = CONFIG_TRACE_OTLP;
	add_env(&fx->cfg, "EXTRA", "{{dir}}");
	add_python(&fx->cfg, "plain",
		   "echo \"[$HTRACE_SERVICE] $HTRACE_STACKS\" > plain.env;");
	/* The config's env wins over the tracing environment. */
	add_env(&fx->cfg, "HTRACE_STACKS", "yes");
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);
	unsetenv("HTRACE_SERVICE");
	env = read_text(fx->dir, "otel.env");
	{
		char *want = xasprintf("http://127.0.0.1:4999 otel [] %s\n",
				       fx->dir);

		assert_string_equal(env, want);
		free(want);
	}
	free(env);
	env = read_text(fx->dir, "plain.env");
	assert_string_equal(env, "[plain] yes\n");
	free(env);
	stack_free(st);
	fx->cfg.tracing.otlp_listen = NULL;
}

static void test_stack__tracing_off(void **state)
{
	struct fixture *fx = *state;
	struct stack *st = NULL;
	char *cause = NULL, *env;

	/* tracing: {enabled: false}: no tracing variable reaches a service,
	 * not even one that harness inherited; the config's env still does. */
	setenv("HTRACE_SPOOL_DIR", "/inherited", 1);
	fx->cfg.tracing.enabled = false;
	add_python(&fx->cfg, "quiet",
		   "echo \"[$HTRACE_SPOOL_DIR] [$HTRACE_SERVICE] "
		   "[$HTRACE_HMAC_KEYS] $EXTRA\" > quiet.env;");
	add_env(&fx->cfg, "EXTRA", "kept");
	add_python(&fx->cfg, "otel",
		   "echo \"[$OTEL_EXPORTER_OTLP_ENDPOINT]\" > otel.env;");
	fx->cfg.services[1].trace = CONFIG_TRACE_OTLP;
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);
	unsetenv("HTRACE_SPOOL_DIR");
	env = read_text(fx->dir, "quiet.env");
	assert_string_equal(env, "[] [] [] kept\n");
	free(env);
	env = read_text(fx->dir, "otel.env");
	assert_string_equal(env, "[]\n");
	free(env);
	assert_int_equal(stack_down(st, &cause), 0);
	stack_free(st);
}

static void test_stack__exits_at_once(void **state)
{
	struct fixture *fx = *state;
	const char *bad[] = { "sh", "-c", "echo first; echo boom-line >&2; "
				    "exit 3", NULL };
	struct stack *st = NULL;
	char *cause = NULL;
	pid_t pa;

	add_python(&fx->cfg, "alpha", NULL);
	add_service(&fx->cfg, "broken", bad, 0);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), STACK_ERROR);
	assert_null(st);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "service 'broken'"));
	assert_non_null(strstr(cause, "exited with status 3"));
	assert_non_null(strstr(cause, "boom-line"));
	print_message("%s\n", cause);
	assert_non_null(strstr(cause, "broken.log"));
	/* What had started was stopped and reaped. */
	pa = read_pid(fx->dir, "alpha.pid");
	assert_true(pa > 0);
	assert_false(pid_running(pa));
	assert_int_equal(kill(pa, 0), -1);
	free(cause);
}

static void test_stack__never_healthy(void **state)
{
	struct fixture *fx = *state;
	const char *argv[] = { "sh", "-c", "echo $$ > slow.pid; echo waiting; "
				     "exec sleep 30", NULL };
	struct stack *st = NULL;
	char *cause = NULL;
	uint64_t t0 = time_mono_ns();
	pid_t pid;

	add_service(&fx->cfg, "slow", argv, 300 * MS);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), STACK_ERROR);
	/* Given up at the start timeout, long before the service's sleep
	 * would end (30s): a bound no busy machine comes near. */
	assert_true(time_mono_ns() - t0 >= 300 * MS);
	assert_true(time_mono_ns() - t0 < 20000 * MS);
	assert_non_null(strstr(cause, "service 'slow' did not become healthy "
				      "within"));
	assert_non_null(strstr(cause, "waiting"));
	print_message("%s\n", cause);
	pid = read_pid(fx->dir, "slow.pid");
	assert_false(pid_running(pid));
	free(cause);
}

static void test_stack__stop_flag(void **state)
{
	struct fixture *fx = *state;
	const char *argv[] = { "sh", "-c", "echo $$ > slow.pid; "
				     "exec sleep 30", NULL };
	volatile sig_atomic_t stop = 1;
	struct stack_options opts = { .stop = &stop };
	struct stack *st = NULL;
	char *cause = NULL;
	uint64_t t0 = time_mono_ns();

	/* Stopped at once: long before the start timeout (a minute) or
	 * the service's sleep (30s) would end. */
	add_service(&fx->cfg, "slow", argv, 60000 * MS);
	assert_int_equal(stack_up(&st, &fx->cfg, &opts, &cause),
			 STACK_ERROR_INTERRUPTED);
	assert_true(time_mono_ns() - t0 < 20000 * MS);
	assert_non_null(strstr(cause, "'slow'"));
	assert_false(pid_running(read_pid(fx->dir, "slow.pid")));
	free(cause);
}

static void test_stack__ignores_sigterm(void **state)
{
	struct fixture *fx = *state;
	struct stack_options opts = { .grace_ns = 300 * MS };
	struct stack *st = NULL;
	char *cause = NULL;
	uint64_t t0;
	pid_t pid, kid;

	/* The service and a child of it both ignore SIGTERM. */
	add_python(&fx->cfg, "stubborn",
		   "trap '' TERM; sleep 60 & echo $! > kid.pid;");
	assert_int_equal(stack_up(&st, &fx->cfg, &opts, &cause), 0);
	pid = read_pid(fx->dir, "stubborn.pid");
	kid = read_pid(fx->dir, "kid.pid");
	assert_true(pid_running(pid) && pid_running(kid));
	assert_int_equal(getpgid(kid), pid);
	t0 = time_mono_ns();
	assert_int_equal(stack_down(st, &cause), 0);
	assert_true(time_mono_ns() - t0 >= 300 * MS);
	assert_false(pid_running(pid));
	assert_false(pid_running(kid));
	stack_free(st);
}

static void test_stack__dies_while_up(void **state)
{
	struct fixture *fx = *state;
	struct stack_service_info info;
	struct stack *st = NULL;
	struct pollfd fds[2];
	char *cause = NULL;
	size_t n;

	add_python(&fx->cfg, "alpha", NULL);
	add_python(&fx->cfg, "victim", "echo about-to-serve;");
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);
	n = stack_pollfds(st, fds, 2);
	assert_int_equal(n, 2);
	stack_service_info(st, 1, &info);
	assert_int_equal(kill(info.pid, SIGKILL), 0);
	/* The pidfd says so at once, stack_check names the service. */
	assert_int_equal(poll(fds, n, 5000), 1);
	assert_true(fds[1].revents & POLLIN);
	assert_int_equal(stack_check(st, &cause), STACK_ERROR);
	assert_non_null(strstr(cause, "service 'victim'"));
	assert_non_null(strstr(cause, "killed by signal 9"));
	assert_non_null(strstr(cause, "about-to-serve"));
	print_message("%s\n", cause);
	free(cause);
	cause = NULL;
	stack_service_info(st, 1, &info);
	assert_int_equal(info.state, STACK_SERVICE_EXITED);
	assert_true(WIFSIGNALED(info.exit_status));
	assert_int_equal(stack_pollfds(st, fds, 2), 1);
	stack_free(st); /* stops alpha */
	assert_false(pid_running(read_pid(fx->dir, "alpha.pid")));
}

static void test_stack__state_file(void **state)
{
	struct fixture *fx = *state;
	struct stack_service_info info;
	struct stack *st = NULL, *loaded = NULL;
	char *cause = NULL, *path;
	pid_t pa;

	add_python(&fx->cfg, "alpha", NULL);
	path = stack_state_path(&fx->cfg);
	assert_int_equal(strncmp(path, fx->dir, strlen(fx->dir)), 0);
	assert_int_equal(stack_load(&loaded, path, &cause), 1);
	assert_null(loaded);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);
	assert_int_equal(stack_save(st, path, &cause), 0);
	{
		/* Missing directories are made. */
		char *deep = xasprintf("%s/a/b/stack.json", fx->dir);

		assert_int_equal(stack_save(st, deep, &cause), 0);
		assert_int_equal(access(deep, R_OK), 0);
		free(deep);
	}
	pa = read_pid(fx->dir, "alpha.pid");
	/* Detached, the stack outlives its handle. */
	stack_detach(st);
	stack_free(st);
	assert_true(pid_running(pa));

	assert_int_equal(stack_load(&loaded, path, &cause), 0);
	assert_int_equal(stack_nservices(loaded), 1);
	stack_service_info(loaded, 0, &info);
	assert_int_equal(info.state, STACK_SERVICE_RUNNING);
	assert_int_equal(info.pid, pa);
	assert_non_null(strstr(info.log_path, "alpha.log"));
	assert_int_equal(stack_check(loaded, NULL), 0);
	assert_int_equal(stack_service_health(loaded, 0, NULL), 0);
	assert_false(stack_stopped(loaded));
	assert_int_equal(stack_down(loaded, &cause), 0);
	assert_false(pid_running(pa));
	stack_service_info(loaded, 0, &info);
	assert_int_equal(info.state, STACK_SERVICE_GONE);
	assert_int_equal(stack_check(loaded, &cause), STACK_ERROR);
	free(cause);
	stack_free(loaded);
	/* Not reaped by the stack once loaded: reap it here. */
	assert_int_equal(waitpid(pa, NULL, 0), pa);
	free(path);
}

static void test_stack__unmanaged(void **state)
{
	struct fixture *fx = *state;
	struct config ext;
	struct stack *st = NULL, *est = NULL;
	char *cause = NULL;

	add_python(&fx->cfg, "alpha", NULL);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);

	memset(&ext, 0, sizeof(ext));
	ext.dir = fx->dir;
	ext.path = "ext.yaml";
	add_service(&ext, "remote", NULL, 2000 * MS);
	ext.services[0].url = xasprintf("%s/", stack_endpoint(st, "alpha"));
	assert_int_equal(stack_up(&est, &ext, NULL, &cause), 0);
	assert_string_equal(stack_endpoint(est, "remote"),
			    stack_endpoint(st, "alpha"));
	assert_int_equal(stack_check(est, NULL), 0);
	assert_int_equal(stack_down(est, NULL), 0);
	stack_free(est);
	assert_int_equal(stack_attach(&est, &ext, &cause), 0);
	assert_int_equal(stack_service_health(est, 0, NULL), 0);
	stack_free(est);
	assert_int_equal(stack_attach(&est, &fx->cfg, &cause),
			 STACK_ERROR_CONFIG);
	free(cause);
	/* Not managed means not stopped by us. */
	assert_int_equal(stack_service_health(st, 0, NULL), 0);
	stack_free(st);

	/* Now nothing answers there. */
	ext.services[0].start_timeout_ns = 200 * MS;
	assert_int_equal(stack_up(&est, &ext, NULL, &cause), STACK_ERROR);
	assert_non_null(strstr(cause, "service 'remote' did not become "
				      "healthy"));
	free(cause);
	assert_int_equal(stack_attach(&est, &ext, &cause), 0);
	assert_int_equal(stack_service_health(est, 0, &cause), STACK_ERROR);
	assert_non_null(strstr(cause, "/healthz"));
	free(cause);
	stack_free(est);
	free_services(&ext);
}

/* An unmanaged stack behind https:// (the TLS test server, with a
 * certificate made here): healthy when tls.ca_file names the certificate,
 * relative to the config's folder; not when no CA is named, at once and
 * with a reason about the certificate; healthy with verify: false. */
static void test_stack__unmanaged_https(void **state)
{
	struct fixture *fx = *state;
	struct test_server ts;
	struct config ext;
	struct stack *st = NULL;
	char *cause = NULL, *key, *cert;
	uint64_t t0;

	assert_int_equal(test_tls_make_cert(fx->dir), 0);
	key = xasprintf("%s/key.pem", fx->dir);
	cert = xasprintf("%s/cert.pem", fx->dir);
	assert_int_equal(test_server_start_tls(&ts, 0, key, cert), 0);
	memset(&ext, 0, sizeof(ext));
	ext.dir = fx->dir;
	ext.path = "ext.yaml";
	add_service(&ext, "remote", NULL, 2000 * MS);
	ext.services[0].url = xstrdup(ts.base);
	free(ext.services[0].health);
	ext.services[0].health = xstrdup("/ok");

	ext.tls.ca_file = "cert.pem";
	if (stack_up(&st, &ext, NULL, &cause) < 0)
		fail_msg("%s", cause);
	assert_int_equal(stack_service_health(st, 0, NULL), 0);
	stack_free(st);
	assert_int_equal(stack_attach(&st, &ext, &cause), 0);
	assert_int_equal(stack_service_health(st, 0, NULL), 0);
	stack_free(st);
	assert_int_equal(test_server_get(&ts, &ts.requests), 3);

	/* A certificate refused is refused again: no wait for the
	 * start_timeout. */
	ext.tls.ca_file = NULL;
	ext.services[0].start_timeout_ns = 60000 * MS;
	t0 = time_mono_ns();
	assert_int_equal(stack_up(&st, &ext, NULL, &cause), STACK_ERROR);
	assert_true(time_mono_ns() - t0 < 20000 * MS);
	assert_non_null(strstr(cause, "service 'remote' did not become "
				      "healthy: GET https://127.0.0.1:"));
	assert_non_null(strstr(cause, "certificate"));
	assert_non_null(strstr(cause, "tls.ca_file"));
	free(cause);
	assert_int_equal(stack_attach(&st, &ext, &cause), 0);
	assert_int_equal(stack_service_health(st, 0, &cause), STACK_ERROR);
	assert_non_null(strstr(cause, "certificate"));
	free(cause);
	stack_free(st);
	assert_int_equal(test_server_get(&ts, &ts.requests), 3);

	ext.tls.insecure = true;
	if (stack_up(&st, &ext, NULL, &cause) < 0)
		fail_msg("%s", cause);
	stack_free(st);
	assert_int_equal(test_server_get(&ts, &ts.requests), 4);

	test_server_stop(&ts);
	free_services(&ext);
	free(key);
	free(cert);
}

static void test_stack__config_errors(void **state)
{
	struct fixture *fx = *state;
	const char *tmpl[] = { "sh", "-c", "true", "{{nope}}", NULL };
	const char *missing[] = { "no-such-program-here", NULL };
	struct stack *st = NULL;
	char *cause = NULL;

	add_service(&fx->cfg, "typo", tmpl, 0);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause),
			 STACK_ERROR_CONFIG);
	assert_non_null(strstr(cause, "test.yaml:1:3: service 'typo'"));
	assert_non_null(strstr(cause, "undefined template variable 'nope'"));
	free(cause);
	free_services(&fx->cfg);

	add_service(&fx->cfg, "ghost", missing, 0);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause),
			 STACK_ERROR_CONFIG);
	assert_non_null(strstr(cause, "'no-such-program-here'"));
	free(cause);
	free_services(&fx->cfg);

	/* Found, but its workdir is missing: the child says why. */
	add_service(&fx->cfg, "lost", tmpl, 0);
	free(fx->cfg.services[0].argv[3]);
	fx->cfg.services[0].argv[3] = xstrdup("{{port}}");
	fx->cfg.services[0].workdir = xstrdup("no-such-dir");
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), STACK_ERROR);
	assert_non_null(strstr(cause, "cannot start service 'lost': cannot "
				      "change to directory"));
	assert_non_null(strstr(cause, "no-such-dir"));
	free(cause);
	free(fx->cfg.services[0].workdir);
	fx->cfg.services[0].workdir = NULL;
}

static void test_stack__fixed_port_in_use(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct stack *st = NULL;
	char *cause = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	add_python(&fx->cfg, "fixed", NULL);
	fx->cfg.services[0].port = ntohs(sa.sin_port);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), STACK_ERROR);
	assert_non_null(strstr(cause, "service 'fixed'"));
	assert_non_null(strstr(cause, "not free"));
	free(cause);
	close(fd);
}

/* stack_down_except leaves the named service running (harness run keeps
 * the Redis of OSprofiler's spans until it is read), stack_down then
 * stops it; stack_expand fills services.NAME, .host and .port. */
static void test_stack__down_except_and_expand(void **state)
{
	struct fixture *fx = *state;
	struct stack_service_info a, b;
	const char *keep[] = { "store" };
	struct stack *st = NULL;
	char *cause = NULL, *out = NULL, *want;

	add_python(&fx->cfg, "api", NULL);
	add_python(&fx->cfg, "store", NULL);
	assert_int_equal(stack_up(&st, &fx->cfg, NULL, &cause), 0);
	stack_service_info(st, 1, &b);
	assert_int_equal(stack_expand(&out, st, &fx->cfg,
				      "redis://{{services.store.host}}:"
				      "{{ services.store.port }}/0 "
				      "{{services.api}}",
				      &cause),
			 0);
	want = xasprintf("redis://127.0.0.1:%d/0 %s", b.port,
			 stack_endpoint(st, "api"));
	assert_string_equal(out, want);
	free(want);
	free(out);
	/* not a service's own: no port, spool, store or dir */
	assert_int_equal(stack_expand(&out, st, &fx->cfg, "{{port}}", &cause),
			 STACK_ERROR_CONFIG);
	assert_null(out);
	free(cause);
	cause = NULL;

	assert_int_equal(stack_down_except(st, keep, 1, &cause), 0);
	stack_service_info(st, 0, &a);
	stack_service_info(st, 1, &b);
	assert_int_not_equal(a.state, STACK_SERVICE_RUNNING);
	assert_int_equal(b.state, STACK_SERVICE_RUNNING);
	assert_int_equal(stack_service_health(st, 1, NULL), 0);
	assert_false(stack_stopped(st));
	assert_int_equal(stack_down(st, &cause), 0);
	assert_true(stack_stopped(st));
	stack_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_stack__down_except_and_expand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__up_check_down,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__otlp_env, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stack__tracing_off,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__exits_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__never_healthy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__stop_flag, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stack__ignores_sigterm,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__dies_while_up,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__state_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stack__unmanaged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stack__unmanaged_https,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__config_errors,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack__fixed_port_in_use,
						setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
