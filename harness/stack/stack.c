/* stack.c: bring the configured services up in order (ports first, then
 * templates, then fork/exec and a health wait for each), watch them, and
 * take them down again with SIGTERM, a grace period and SIGKILL. */
#include "stack/stack-int.h"
#include "config/config.h"
#include "config/template.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_GRACE_NS (5ull * 1000000000u)
#define STACK_KILL_WAIT_NS (3ull * 1000000000u)
#define STACK_LOG_LINES 20

extern char **environ;

/* Everything a service needs to start, worked out before any starts. */
struct plan {
	char *path;		/* the resolved program */
	char **argv;		/* NULL-terminated, expanded */
	char **envp;		/* NULL-terminated, KEY=VALUE */
	size_t nenv, aenv;
	char *workdir;
};

/* What {{...}} in a service's argv and env can name. */
struct expand_ctx {
	const struct config *cfg;
	const struct stack *st;
	size_t index;		/* the service being expanded */
	const char *spool, *store, *dir;
	char buf[32];
};

static char *path_join(const char *base, const char *p)
{
	if (p[0] == '/' || !base || !base[0])
		return xstrdup(p);
	return xasprintf("%s/%s", base, p);
}

/* A path made absolute against the current directory, so that services
 * (which run in their own workdir) and the state file see the same one. */
static char *path_absolute(const char *p)
{
	char cwd[PATH_MAX];

	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(p);
	if (!strcmp(p, "."))
		return xstrdup(cwd);
	return xasprintf("%s/%s", cwd, p);
}

void stack_service_release(struct stack_service *svc)
{
	if (svc->pidfd >= 0)
		close(svc->pidfd);
	svc->pidfd = -1;
	free(svc->name);
	free(svc->endpoint);
	free(svc->health);
	free(svc->log_path);
}

static void plan_release(struct plan *pl)
{
	free(pl->path);
	for (size_t i = 0; pl->argv && pl->argv[i]; i++)
		free(pl->argv[i]);
	free(pl->argv);
	for (size_t i = 0; i < pl->nenv; i++)
		free(pl->envp[i]);
	free(pl->envp);
	free(pl->workdir);
}

/* Set KEY=VALUE in the plan's environment, replacing an earlier KEY. */
static void plan_setenv(struct plan *pl, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char *kv = xasprintf("%s=%s", key, value);

	for (size_t i = 0; i < pl->nenv; i++) {
		if (!strncmp(pl->envp[i], key, klen) &&
		    pl->envp[i][klen] == '=') {
			free(pl->envp[i]);
			pl->envp[i] = kv;
			return;
		}
	}
	ALLOC_GROW(pl->envp, pl->nenv + 2, pl->aenv);
	pl->envp[pl->nenv++] = kv;
	pl->envp[pl->nenv] = NULL;
}

/* NAME, NAME.host or NAME.port of a service: its endpoint, or the host
 * or the port in it (so that a non-HTTP URL such as redis://HOST:PORT
 * can be written for a service). */
static const char *service_part(struct expand_ctx *ctx, const char *ref)
{
	for (size_t i = 0; i < ctx->st->nservices; i++) {
		const struct stack_service *svc = &ctx->st->services[i];
		size_t len = strlen(svc->name);
		const char *host, *end, *colon;

		if (strncmp(ref, svc->name, len) ||
		    (ref[len] && ref[len] != '.'))
			continue;
		if (!ref[len])
			return svc->endpoint;
		host = strstr(svc->endpoint, "://");
		host = host ? host + 3 : svc->endpoint;
		end = host + strcspn(host, "/?#");
		if (*host == '[') {
			colon = memchr(host, ']', (size_t)(end - host));
			colon = colon && colon + 1 < end && colon[1] == ':'
					? colon + 1
					: NULL;
		} else {
			colon = memchr(host, ':', (size_t)(end - host));
		}
		if (!strcmp(ref + len, ".host")) {
			size_t n = (size_t)((colon ? colon : end) - host);

			if (*host == '[' && n >= 2) {
				host++;
				n -= 2;
			}
			snprintf(ctx->buf, sizeof(ctx->buf), "%.*s", (int)n,
				 host);
			return ctx->buf;
		}
		if (!strcmp(ref + len, ".port")) {
			if (colon)
				snprintf(ctx->buf, sizeof(ctx->buf), "%.*s",
					 (int)(end - colon - 1), colon + 1);
			else if (svc->port)
				snprintf(ctx->buf, sizeof(ctx->buf), "%d",
					 svc->port);
			else
				snprintf(ctx->buf, sizeof(ctx->buf), "%s",
					 !strncmp(svc->endpoint, "https:", 6)
						 ? "443" : "80");
			return ctx->buf;
		}
		return NULL;
	}
	return NULL;
}

static const char *expand_lookup(const char *name, void *payload)
{
	struct expand_ctx *ctx = payload;
	const struct config *cfg = ctx->cfg;

	if (!strcmp(name, "port")) {
		if (ctx->index == SIZE_MAX)
			return NULL;
		snprintf(ctx->buf, sizeof(ctx->buf), "%d",
			 ctx->st->services[ctx->index].port);
		return ctx->buf;
	}
	if (!strcmp(name, "spool"))
		return ctx->spool;
	if (!strcmp(name, "store"))
		return ctx->store;
	if (!strcmp(name, "dir"))
		return ctx->dir;
	if (!strncmp(name, "services.", 9))
		return service_part(ctx, name + 9);
	for (size_t i = 0; i < cfg->nvariables; i++)
		if (!strcmp(cfg->variables[i].key, name))
			return cfg->variables[i].value;
	return NULL;
}

static int expand_into(char **out, const char *tmpl, struct expand_ctx *ctx,
		       const struct config_service *svc,
		       const struct config_pos *pos, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	char *why = NULL;

	if (template_expand(&sb, tmpl, expand_lookup, ctx, &why) < 0) {
		*cause = xasprintf("%s:%u:%u: service '%s': %s",
				   pos->file ? pos->file : ctx->cfg->path,
				   pos->line, pos->column, svc->name, why);
		free(why);
		strbuf_release(&sb);
		return STACK_ERROR_CONFIG;
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

/* The directory of the running executable, for programs that ship with
 * harness (harness-refstack) and live beside it or in the build tree. */
static char *self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xstrdup(buf);
}

static char *search_dirs(const char *name, const char *dirs)
{
	const char *p = dirs;

	while (p && *p) {
		size_t len = strcspn(p, ":");
		char *cand;

		if (len) {
			cand = xasprintf("%.*s/%s", (int)len, p, name);
			if (!access(cand, X_OK))
				return cand;
			free(cand);
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* Resolve argv[0]: a path with a slash is taken against the workdir; a
 * bare name is looked up in opts->program_path, then (for harness's own
 * harness-* programs) beside the running executable and in the build tree,
 * then in PATH. */
static int find_program(char **out, const char *name, const char *workdir,
			const struct stack_options *opts, char **cause)
{
	char *found = NULL, *self = NULL, *dirs = NULL;

	if (strchr(name, '/')) {
		found = path_join(workdir, name);
		if (access(found, X_OK) < 0) {
			*cause = xasprintf("cannot run '%s': %s", found,
					   strerror(errno));
			free(found);
			return STACK_ERROR_CONFIG;
		}
		*out = found;
		return 0;
	}
	if (opts && opts->program_path)
		found = search_dirs(name, opts->program_path);
	if (!found && !strncmp(name, "harness-", 8) && (self = self_dir())) {
		dirs = xasprintf("%s:%s/../refstack", self, self);
		found = search_dirs(name, dirs);
	}
#ifdef HARNESS_REFSTACK_BUILD_DIR
	if (!found && !strncmp(name, "harness-", 8))
		found = search_dirs(name, HARNESS_REFSTACK_BUILD_DIR);
#endif
	if (!found)
		found = search_dirs(name, getenv("PATH"));
	free(self);
	free(dirs);
	if (!found) {
		*cause = xasprintf("cannot find program '%s' in PATH", name);
		return STACK_ERROR_CONFIG;
	}
	*out = found;
	return 0;
}

/* Choose every port before anything starts. Each `auto` port is bound on
 * 127.0.0.1:0 and the sockets are held until all are chosen, so no two
 * services get the same one; a fixed port is checked to be free. */
static int pick_ports(struct stack *st, const struct config *cfg,
		      char **cause)
{
	int *fds = xcalloc(cfg->nservices, sizeof(*fds));
	int ret = 0;
	size_t i;

	for (i = 0; i < cfg->nservices; i++)
		fds[i] = -1;
	for (i = 0; i < cfg->nservices && !ret; i++) {
		const struct config_service *cs = &cfg->services[i];
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)cs->port);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 ||
		    bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0) {
			if (cs->port)
				*cause = xasprintf("port %d of service '%s' is "
						   "not free: %s",
						   cs->port, cs->name,
						   strerror(errno));
			else
				*cause = xasprintf("cannot choose a port for "
						   "service '%s': %s",
						   cs->name, strerror(errno));
			ret = STACK_ERROR;
			break;
		}
		st->services[i].port = ntohs(sa.sin_port);
		st->services[i].endpoint =
			xasprintf("http://127.0.0.1:%d", st->services[i].port);
	}
	for (i = 0; i < cfg->nservices; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ret;
}

static void set_tracing_env(struct plan *pl, const struct config *cfg,
			    const struct config_service *cs,
			    const char *spool)
{
	const struct config_tracing *tr = &cfg->tracing;
	struct strbuf keys = STRBUF_INIT;
	char rate[32];

	/* Tracing off: no HTRACE_SPOOL_DIR (libhtrace stays off), nor any
	 * other tracing variable. */
	if (!tr->enabled)
		return;
	switch (cs->trace) {
	case CONFIG_TRACE_HTRACE:
		for (size_t i = 0; i < tr->nhmac_keys; i++) {
			if (i)
				strbuf_addch(&keys, ',');
			strbuf_addstr(&keys, tr->hmac_keys[i]);
		}
		snprintf(rate, sizeof(rate), "%g", tr->sample_rate);
		plan_setenv(pl, "HTRACE_SERVICE", cs->name);
		plan_setenv(pl, "HTRACE_SPOOL_DIR", spool);
		plan_setenv(pl, "HTRACE_HMAC_KEYS", keys.buf);
		plan_setenv(pl, "HTRACE_STACKS", tr->stacks ? "1" : "0");
		plan_setenv(pl, "HTRACE_SAMPLE_RATE", rate);
		plan_setenv(pl, "HTRACE_TRUST_TRACEPARENT",
			    tr->trust_traceparent ? "1" : "0");
		plan_setenv(pl, "HTRACE_OSPROFILER_HEADERS",
			    tr->osprofiler_headers ? "1" : "0");
		break;
	case CONFIG_TRACE_OTLP: {
		char *ep = xasprintf("http://%s", tr->otlp_listen
							  ? tr->otlp_listen
							  : "127.0.0.1:4318");

		plan_setenv(pl, "OTEL_EXPORTER_OTLP_ENDPOINT", ep);
		plan_setenv(pl, "OTEL_SERVICE_NAME", cs->name);
		free(ep);
		break;
	}
	case CONFIG_TRACE_OSPROFILER:
	case CONFIG_TRACE_NONE:
		/* OSprofiler reads its own service config; nothing here. */
		break;
	}
	strbuf_release(&keys);
}

static int plan_service(struct plan *pl, struct stack *st,
			const struct config *cfg, size_t index,
			struct expand_ctx *ctx,
			const struct stack_options *opts, char **cause)
{
	const struct config_service *cs = &cfg->services[index];
	int ret;

	if (!cs->argv || !cs->argc || !cs->argv[0]) {
		*cause = xasprintf("%s:%u:%u: service '%s' has no command",
				   cs->pos.file ? cs->pos.file : cfg->path,
				   cs->pos.line, cs->pos.column, cs->name);
		return STACK_ERROR_CONFIG;
	}
	ctx->index = index;
	pl->workdir = cs->workdir ? path_join(ctx->dir, cs->workdir)
				  : xstrdup(ctx->dir);
	pl->argv = xcalloc(cs->argc + 1, sizeof(*pl->argv));
	for (size_t i = 0; i < cs->argc; i++) {
		ret = expand_into(&pl->argv[i], cs->argv[i], ctx, cs, &cs->pos,
				  cause);
		if (ret < 0)
			return ret;
	}
	ret = find_program(&pl->path, pl->argv[0], pl->workdir, opts, cause);
	if (ret < 0) {
		char *why = *cause;

		*cause = xasprintf("%s:%u:%u: service '%s': %s",
				   cs->pos.file ? cs->pos.file : cfg->path,
				   cs->pos.line, cs->pos.column, cs->name, why);
		free(why);
		return ret;
	}
	/* The tracing environment is the config's to give: an HTRACE_* or a
	 * TRACEPARENT that harness itself inherited must not leak in. */
	for (char **e = environ; e && *e; e++) {
		if (!strncmp(*e, "HTRACE_", 7) ||
		    !strncmp(*e, "TRACEPARENT=", 12))
			continue;
		ALLOC_GROW(pl->envp, pl->nenv + 2, pl->aenv);
		pl->envp[pl->nenv++] = xstrdup(*e);
		pl->envp[pl->nenv] = NULL;
	}
	set_tracing_env(pl, cfg, cs, ctx->spool);
	for (size_t i = 0; i < cs->nenv; i++) {
		char *value;

		ret = expand_into(&value, cs->env[i].value, ctx, cs,
				  &cs->env[i].pos, cause);
		if (ret < 0)
			return ret;
		plan_setenv(pl, cs->env[i].key, value);
		free(value);
	}
	if (!pl->envp) {
		pl->envp = xcalloc(1, sizeof(*pl->envp));
		pl->aenv = 1;
	}
	return 0;
}

/* In the child between fork and exec: only async-signal-safe calls. On a
 * failure, the stage and errno go back through the pipe. */
static void child_exec(const struct plan *pl, int nullfd, int logfd,
		       int errfd)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP,
				    SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2 };
	struct sigaction sa;
	sigset_t none;
	int msg[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	msg[0] = 0;
	if (setsid() < 0)
		goto fail;
	msg[0] = 1;
	if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		goto fail;
	msg[0] = 2;
	if (chdir(pl->workdir) < 0)
		goto fail;
	/* Nothing else of ours leaks into the service; the error pipe
	 * closes at exec, which tells the parent that exec worked. */
	syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
	msg[0] = 3;
	execve(pl->path, pl->argv, pl->envp);
fail:
	msg[1] = errno;
	if (write(errfd, msg, sizeof(msg)) < 0)
		_exit(126);
	_exit(127);
}

static int spawn(struct stack_service *svc, const struct plan *pl,
		 char **cause)
{
	static const char *const stages[] = {
		"cannot start a session", "cannot redirect output",
		"cannot change to directory", "cannot execute",
	};
	int pfd[2] = { -1, -1 }, nullfd = -1, logfd = -1, msg[2];
	int ret = STACK_ERROR;
	ssize_t n;
	pid_t pid;

	logfd = open(svc->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		     0644);
	if (logfd < 0) {
		*cause = xasprintf("cannot open '%s': %s", svc->log_path,
				   strerror(errno));
		goto out;
	}
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		*cause = xasprintf("cannot start service '%s': %s", svc->name,
				   strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		*cause = xasprintf("cannot fork for service '%s': %s",
				   svc->name, strerror(errno));
		goto out;
	}
	if (!pid)
		child_exec(pl, nullfd, logfd, pfd[1]);
	close(pfd[1]);
	pfd[1] = -1;
	svc->pid = pid;
	svc->child = true;
	svc->state = STACK_SERVICE_RUNNING;
	do
		n = read(pfd[0], msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(msg)) {
		int status, stage = msg[0] >= 0 && msg[0] < 3 ? msg[0] : 3;

		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		svc->state = STACK_SERVICE_EXITED;
		svc->exit_status = status;
		*cause = xasprintf("cannot start service '%s': %s '%s': %s",
				   svc->name, stages[stage],
				   stage == 2 ? pl->workdir : pl->path,
				   strerror(msg[1]));
		goto out;
	}
	/* The child has called setsid and exec'd: its pid is its group. */
	proc_stat(pid, &svc->starttime, NULL, NULL);
	svc->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ret = 0;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (nullfd >= 0)
		close(nullfd);
	if (logfd >= 0)
		close(logfd);
	return ret;
}

void stack_service_poll(struct stack_service *svc)
{
	int status;
	pid_t r;

	if (svc->state != STACK_SERVICE_RUNNING)
		return;
	if (svc->child) {
		do
			r = waitpid(svc->pid, &status, WNOHANG);
		while (r < 0 && errno == EINTR);
		if (r == svc->pid) {
			svc->state = STACK_SERVICE_EXITED;
			svc->exit_status = status;
			return;
		}
		if (r == 0)
			return;
		/* ECHILD: someone else reaped it (a SIGCHLD handler). */
	}
	if (!proc_alive(svc->pid, svc->starttime))
		svc->state = STACK_SERVICE_GONE;
}

static char *describe_death(const struct stack_service *svc,
			    const char *when)
{
	struct strbuf sb = STRBUF_INIT;
	char what[128];

	if (svc->state == STACK_SERVICE_EXITED)
		proc_describe_status(what, sizeof(what), svc->exit_status);
	else
		snprintf(what, sizeof(what), "is no longer running");
	strbuf_addf(&sb, "service '%s' (pid %d) %s%s", svc->name,
		    (int)svc->pid, what, when);
	proc_log_tail(&sb, svc->log_path, STACK_LOG_LINES);
	return strbuf_detach(&sb, NULL);
}

/* Poll the health path until 200, the timeout, the process's end, the
 * caller's stop flag, or a certificate that is not trusted: it comes back
 * the same however long one waits (and the last try before the timeout,
 * cut short, would blame the clock instead). */
static int wait_healthy(const struct stack *st, struct stack_service *svc,
			uint64_t timeout_ns, const volatile sig_atomic_t *stop,
			char **cause)
{
	uint64_t start = time_mono_ns(), delay = 20000000u;
	char tbuf[32];

	for (;;) {
		uint64_t now, left;
		char *why = NULL;
		int ret;

		if (stop && *stop) {
			*cause = xasprintf("interrupted while waiting for "
					   "service '%s'",
					   svc->name);
			return STACK_ERROR_INTERRUPTED;
		}
		stack_service_poll(svc);
		if (svc->pid && svc->state != STACK_SERVICE_RUNNING) {
			*cause = describe_death(svc,
						" before it became healthy");
			return STACK_ERROR;
		}
		now = time_mono_ns();
		left = start + timeout_ns > now ? start + timeout_ns - now : 0;
		ret = health_get(st, svc->endpoint, svc->health,
				 left < 1000000000u ? left : 1000000000u, &why);
		if (!ret)
			return 0;
		if (ret == HEALTH_UNTRUSTED) {
			*cause = xasprintf("service '%s' did not become "
					   "healthy: %s",
					   svc->name, why);
			free(why);
			return STACK_ERROR;
		}
		now = time_mono_ns();
		if (now >= start + timeout_ns) {
			struct strbuf sb = STRBUF_INIT;

			time_format_duration(tbuf, sizeof(tbuf), timeout_ns);
			strbuf_addf(&sb,
				    "service '%s' did not become healthy "
				    "within %s: %s",
				    svc->name, tbuf, why);
			proc_log_tail(&sb, svc->log_path, STACK_LOG_LINES);
			*cause = strbuf_detach(&sb, NULL);
			free(why);
			return STACK_ERROR;
		}
		free(why);
		left = start + timeout_ns - now;
		proc_sleep_ns(delay < left ? delay : left);
		if (delay < 200000000u)
			delay *= 2;
	}
}

static struct stack *stack_new(const struct config *cfg,
			       const struct stack_options *opts)
{
	struct stack *st = xcalloc(1, sizeof(*st));

	st->managed = cfg->manage;
	st->grace_ns = opts && opts->grace_ns ? opts->grace_ns
					      : STACK_GRACE_NS;
	st->started_ns = time_wall_ns();
	st->config_path = cfg->path ? path_absolute(cfg->path) : NULL;
	if (cfg->tls.ca_file) {
		char *dir = path_absolute(cfg->dir ? cfg->dir : ".");

		st->ca_file = path_join(dir, cfg->tls.ca_file);
		free(dir);
	}
	st->insecure = cfg->tls.insecure;
	st->services = xcalloc(cfg->nservices ? cfg->nservices : 1,
			       sizeof(*st->services));
	st->nservices = cfg->nservices;
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct config_service *cs = &cfg->services[i];
		struct stack_service *svc = &st->services[i];

		svc->name = xstrdup(cs->name);
		svc->health = xstrdup(cs->health ? cs->health : "/healthz");
		svc->pidfd = -1;
		svc->state = cfg->manage ? STACK_SERVICE_RUNNING
					 : STACK_SERVICE_EXTERNAL;
	}
	return st;
}

static uint64_t service_timeout(const struct config_service *cs)
{
	return cs->start_timeout_ns ? cs->start_timeout_ns
				    : 10ull * 1000000000u;
}

static int set_external(struct stack *st, const struct config *cfg,
			char **cause)
{
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct config_service *cs = &cfg->services[i];
		struct stack_service *svc = &st->services[i];
		size_t len;

		if (!cs->url) {
			*cause = xasprintf("%s:%u:%u: service '%s' has no url "
					   "and the stack is not managed",
					   cs->pos.file ? cs->pos.file
							: cfg->path,
					   cs->pos.line, cs->pos.column,
					   cs->name);
			return STACK_ERROR_CONFIG;
		}
		len = strlen(cs->url);
		while (len && cs->url[len - 1] == '/')
			len--;
		svc->endpoint = xstrndup(cs->url, len);
		svc->state = STACK_SERVICE_EXTERNAL;
	}
	return 0;
}

int stack_attach(struct stack **out, const struct config *cfg,
		 char **cause)
{
	struct stack *st;
	int ret;

	*out = NULL;
	*cause = NULL;
	if (cfg->manage) {
		*cause = xasprintf("'%s': the stack is managed by harness; "
				   "only an unmanaged one can be attached",
				   cfg->path ? cfg->path : "config");
		return STACK_ERROR_CONFIG;
	}
	st = stack_new(cfg, NULL);
	ret = set_external(st, cfg, cause);
	if (ret) {
		stack_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

static int check_external(struct stack *st, const struct config *cfg,
			  const struct stack_options *opts, char **cause)
{
	int ret = set_external(st, cfg, cause);

	for (size_t i = 0; !ret && i < cfg->nservices; i++)
		ret = wait_healthy(st, &st->services[i],
				   service_timeout(&cfg->services[i]),
				   opts ? opts->stop : NULL, cause);
	return ret;
}

int stack_up(struct stack **out, const struct config *cfg,
	     const struct stack_options *opts, char **cause)
{
	struct stack *st = stack_new(cfg, opts);
	struct plan *plans = NULL;
	struct expand_ctx ctx = { .cfg = cfg, .st = st };
	char *dir = NULL, *spool = NULL, *store = NULL, *logs = NULL;
	int ret;

	*out = NULL;
	*cause = NULL;
	if (!cfg->manage) {
		ret = check_external(st, cfg, opts, cause);
		goto out;
	}
	dir = path_absolute(cfg->dir ? cfg->dir : ".");
	spool = opts && opts->spool_dir
			? path_absolute(opts->spool_dir)
			: path_join(dir, cfg->spool_dir ? cfg->spool_dir
							: "spool");
	store = path_join(dir, cfg->store ? cfg->store : "harness.db");
	logs = opts && opts->log_dir ? path_absolute(opts->log_dir)
				     : path_join(dir, ".harness/logs");
	st->spool_dir = xstrdup(spool);
	ret = stack_mkdir_p(spool, cause);
	if (!ret)
		ret = stack_mkdir_p(logs, cause);
	if (!ret)
		ret = pick_ports(st, cfg, cause);
	if (ret)
		goto out;
	ctx.spool = spool;
	ctx.store = store;
	ctx.dir = dir;
	plans = xcalloc(cfg->nservices ? cfg->nservices : 1, sizeof(*plans));
	for (size_t i = 0; i < cfg->nservices; i++) {
		st->services[i].log_path =
			xasprintf("%s/%s.log", logs, cfg->services[i].name);
		ret = plan_service(&plans[i], st, cfg, i, &ctx, opts, cause);
		if (ret)
			goto out;
	}
	/* Nothing has started yet: mark all as not running, so that a
	 * failure part-way stops exactly what did start. */
	for (size_t i = 0; i < cfg->nservices; i++)
		st->services[i].state = STACK_SERVICE_GONE;
	for (size_t i = 0; i < cfg->nservices; i++) {
		ret = spawn(&st->services[i], &plans[i], cause);
		if (!ret)
			ret = wait_healthy(st, &st->services[i],
					   service_timeout(&cfg->services[i]),
					   opts ? opts->stop : NULL, cause);
		if (ret)
			goto out;
	}
out:
	for (size_t i = 0; plans && i < cfg->nservices; i++)
		plan_release(&plans[i]);
	free(plans);
	free(dir);
	free(spool);
	free(store);
	free(logs);
	if (ret) {
		stack_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

int stack_check(struct stack *st, char **cause)
{
	for (size_t i = 0; st->managed && i < st->nservices; i++) {
		struct stack_service *svc = &st->services[i];

		stack_service_poll(svc);
		if (svc->state == STACK_SERVICE_RUNNING)
			continue;
		if (cause)
			*cause = describe_death(svc, "");
		return STACK_ERROR;
	}
	return 0;
}

size_t stack_pollfds(const struct stack *st, struct pollfd *fds, size_t nfds)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nservices && n < nfds; i++) {
		const struct stack_service *svc = &st->services[i];

		if (svc->pidfd < 0 || svc->state != STACK_SERVICE_RUNNING)
			continue;
		fds[n].fd = svc->pidfd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

const char *stack_endpoint(const struct stack *st, const char *service)
{
	for (size_t i = 0; i < st->nservices; i++)
		if (!strcmp(st->services[i].name, service))
			return st->services[i].endpoint;
	return NULL;
}

/* Whether the process group of svc is still ours to signal: a loaded
 * service whose pid now belongs to another process had an empty group
 * when the pid was reused, so that group is not ours. */
static bool group_is_ours(const struct stack_service *svc)
{
	uint64_t start;

	if (svc->pid <= 1)
		return false;
	if (svc->child || proc_stat(svc->pid, &start, NULL, NULL) < 0)
		return true;
	return !svc->starttime || start == svc->starttime;
}

static bool service_stopped(struct stack_service *svc)
{
	stack_service_poll(svc);
	if (svc->state == STACK_SERVICE_RUNNING)
		return false;
	return !group_is_ours(svc) || !proc_group_alive(svc->pid);
}

/* Whether every service but the kept ones has stopped. */
static bool others_stopped(struct stack *st)
{
	for (size_t i = 0; st->managed && i < st->nservices; i++)
		if (!st->services[i].keep &&
		    !service_stopped(&st->services[i]))
			return false;
	return true;
}

bool stack_stopped(struct stack *st)
{
	for (size_t i = 0; st->managed && i < st->nservices; i++)
		if (!service_stopped(&st->services[i]))
			return false;
	return true;
}

static void signal_all(struct stack *st, int sig)
{
	for (size_t i = st->nservices; i-- > 0;) {
		struct stack_service *svc = &st->services[i];

		if (!svc->keep && !service_stopped(svc))
			kill(-svc->pid, sig);
	}
}

static bool wait_stopped(struct stack *st, uint64_t timeout_ns)
{
	uint64_t deadline = time_mono_ns() + timeout_ns;

	for (;;) {
		if (others_stopped(st))
			return true;
		if (time_mono_ns() >= deadline)
			return false;
		proc_sleep_ns(20000000u);
	}
}

/* Stop every service whose keep flag is not set. */
static int down_others(struct stack *st, char **cause)
{
	if (!st->managed)
		return 0;
	signal_all(st, SIGTERM);
	if (!wait_stopped(st, st->grace_ns)) {
		signal_all(st, SIGKILL);
		if (!wait_stopped(st, STACK_KILL_WAIT_NS)) {
			for (size_t i = 0; i < st->nservices; i++) {
				struct stack_service *svc = &st->services[i];

				if (svc->keep || service_stopped(svc))
					continue;
				if (cause)
					*cause = xasprintf(
						"service '%s' (process group "
						"%d) is still running after "
						"SIGKILL",
						svc->name, (int)svc->pid);
				return STACK_ERROR;
			}
		}
	}
	for (size_t i = 0; i < st->nservices; i++) {
		if (st->services[i].keep)
			continue;
		if (st->services[i].pidfd >= 0)
			close(st->services[i].pidfd);
		st->services[i].pidfd = -1;
	}
	return 0;
}

int stack_down(struct stack *st, char **cause)
{
	for (size_t i = 0; i < st->nservices; i++)
		st->services[i].keep = false;
	return down_others(st, cause);
}

int stack_down_except(struct stack *st, const char *const *keep, size_t nkeep,
		      char **cause)
{
	int ret;

	for (size_t i = 0; i < st->nservices; i++) {
		st->services[i].keep = false;
		for (size_t j = 0; j < nkeep; j++)
			if (!strcmp(st->services[i].name, keep[j]))
				st->services[i].keep = true;
	}
	ret = down_others(st, cause);
	for (size_t i = 0; i < st->nservices; i++)
		st->services[i].keep = false;
	return ret;
}

int stack_expand(char **out, const struct stack *st, const struct config *cfg,
		 const char *tmpl, char **cause)
{
	struct expand_ctx ctx = { .cfg = cfg, .st = st, .index = SIZE_MAX };
	struct strbuf sb = STRBUF_INIT;

	*out = NULL;
	if (template_expand(&sb, tmpl, expand_lookup, &ctx, cause) < 0) {
		strbuf_release(&sb);
		return STACK_ERROR_CONFIG;
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

void stack_detach(struct stack *st)
{
	st->detached = true;
}

void stack_free(struct stack *st)
{
	if (!st)
		return;
	if (!st->detached)
		stack_down(st, NULL);
	for (size_t i = 0; i < st->nservices; i++)
		stack_service_release(&st->services[i]);
	free(st->services);
	free(st->config_path);
	free(st->spool_dir);
	free(st->ca_file);
	free(st);
}

size_t stack_nservices(const struct stack *st)
{
	return st->nservices;
}

void stack_service_info(struct stack *st, size_t i,
			struct stack_service_info *info)
{
	struct stack_service *svc = &st->services[i];

	stack_service_poll(svc);
	info->name = svc->name;
	info->pid = svc->pid;
	info->port = svc->port;
	info->endpoint = svc->endpoint;
	info->health = svc->health;
	info->log_path = svc->log_path;
	info->state = svc->state;
	info->exit_status = svc->exit_status;
}

int stack_service_health(const struct stack *st, size_t i, char **cause)
{
	char *why = NULL;
	int ret = health_get(st, st->services[i].endpoint,
			     st->services[i].health, 2000000000u, &why);

	if (ret && cause)
		*cause = why;
	else
		free(why);
	return ret ? STACK_ERROR : 0;
}

uint64_t stack_started_ns(const struct stack *st)
{
	return st->started_ns;
}

char *stack_state_path(const struct config *cfg)
{
	char *dir = path_absolute(cfg->dir ? cfg->dir : ".");
	char *path = path_join(dir, ".harness/stack.json");

	free(dir);
	return path;
}
