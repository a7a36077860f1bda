/* stack.h: starting, watching and stopping the services that a harness.yaml
 * names. Each service runs in its own session (and so its own process
 * group), with its output in a log file and tracing turned on through its
 * environment; `harness run` and `harness stack` are the callers. */
#ifndef HARNESS_STACK_H
#define HARNESS_STACK_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct stack;

/* Return codes besides 0: a runtime failure (a service that would not
 * start, died, or would not stop), a configuration the stack cannot be
 * built from (an unknown template, a program that does not exist), and a
 * start given up because the caller's stop flag was raised. */
enum stack_error {
	STACK_ERROR = -1,
	STACK_ERROR_CONFIG = -2,
	STACK_ERROR_INTERRUPTED = -3,
};

struct stack_options {
	/* Where services write spool files (HTRACE_SPOOL_DIR); NULL: the
	 * config's spool_dir. Created if missing. */
	const char *spool_dir;
	/* Where NAME.log files go; NULL: <config dir>/.harness/logs.
	 * Created if missing. */
	const char *log_dir;
	/* SIGTERM to SIGKILL in stack_down; 0: 5 seconds. */
	uint64_t grace_ns;
	/* Extra directories searched first for a program without a slash,
	 * colon-separated like PATH; NULL for none. */
	const char *program_path;
	/* Set (by the caller's signal handler, say for SIGINT) to give up a
	 * stack_up in progress: it stops what it started and returns
	 * STACK_ERROR_INTERRUPTED within about a second. NULL: none. */
	const volatile sig_atomic_t *stop;
};

/* Start the services of cfg in order and wait until each answers 200 on
 * its health path. Ports written as `auto` are chosen first, so that every
 * {{services.NAME}} template can be expanded before anything starts.
 * When cfg->manage is false nothing starts: the services' urls are checked
 * for health (each within its start_timeout).
 *
 * If a service does not come up, everything started so far is stopped and
 * *cause (caller frees) names the service, why (exited with status N, timed
 * out, health returned 500), and the last lines of its log. opts may be
 * NULL. On success *out belongs to the caller: stack_down then stack_free,
 * or stack_free alone, which stops what is still running. cfg is not kept.
 */
int stack_up(struct stack **out, const struct config *cfg,
	     const struct stack_options *opts, char **cause);

/* For a config with manage: false, a stack of the configured urls at once,
 * with no health wait (stack_service_health asks each); STACK_ERROR_CONFIG
 * for a managed config or a service without a url. */
int stack_attach(struct stack **out, const struct config *cfg,
		 char **cause);

/* Non-blocking: 0 when every service still runs, STACK_ERROR when one has
 * died, with *cause naming it, its exit status and its log tail. Services
 * that harness started are reaped here (waitpid WNOHANG); no SIGCHLD
 * handler is needed. For a stack loaded from a state file, liveness is
 * checked with kill(pid, 0) and the process's start time. cause may be
 * NULL. */
int stack_check(struct stack *st, char **cause);

/* Fill fds (room for nfds) with one pollfd per running service that harness
 * started: a pidfd that becomes readable (POLLIN) when the service exits.
 * Returns how many were filled. A caller's event loop adds them to its
 * poll() set and calls stack_check when one fires, so a dead service is
 * noticed at once without signal handlers. The fds belong to the stack. */
size_t stack_pollfds(const struct stack *st, struct pollfd *fds, size_t nfds);

/* The base URL of a service, "http://127.0.0.1:PORT" (or its configured
 * url for an unmanaged stack), without a trailing slash; NULL if there is
 * no such service. Borrowed from st, valid until stack_free. */
const char *stack_endpoint(const struct stack *st, const char *service);

/* Stop every service: SIGTERM to each process group (last started first),
 * wait up to the grace period, then SIGKILL whatever is left, and reap.
 * Children of services go too, since the whole group is signalled. Returns
 * STACK_ERROR with *cause (may be NULL) if a process survived SIGKILL.
 * Safe to call twice; a no-op for an unmanaged stack. */
int stack_down(struct stack *st, char **cause);

/* As stack_down, but the services named in KEEP go on running (and are
 * stopped by a later stack_down): `harness run` keeps the store that
 * OSprofiler's spans are in until it has read them. */
int stack_down_except(struct stack *st, const char *const *keep, size_t nkeep,
		      char **cause);

/* Expand a template of harness.yaml outside a service (variables,
 * services.NAME, services.NAME.host, services.NAME.port) against the
 * running stack. *out is the caller's; STACK_ERROR_CONFIG with *cause for
 * an unknown name. */
int stack_expand(char **out, const struct stack *st, const struct config *cfg,
		 const char *tmpl, char **cause);

/* Forget the processes without stopping them, so that stack_free leaves
 * them running (`harness stack up` saves the state first). */
void stack_detach(struct stack *st);

/* Stop what is still running (unless detached) and free. Accepts NULL. */
void stack_free(struct stack *st);

/* The state file: what `harness stack status` and `harness stack down`
 * read after `harness stack up` has exited. JSON with pids, process
 * groups, ports, endpoints, log paths and the start time. */

/* <config dir>/.harness/stack.json; the caller frees. */
char *stack_state_path(const struct config *cfg);
int stack_save(const struct stack *st, const char *path, char **cause);
/* Load a saved stack. Returns 1 and sets *out to NULL when there is no
 * file; 0 on success; STACK_ERROR with *cause for an unreadable file. A
 * loaded stack starts detached: stack_free leaves its services running,
 * stack_down stops them. */
int stack_load(struct stack **out, const char *path, char **cause);

enum stack_service_state {
	STACK_SERVICE_RUNNING,
	STACK_SERVICE_EXITED,	/* exit_status holds the wait status */
	STACK_SERVICE_GONE,	/* not ours, and no longer there */
	STACK_SERVICE_EXTERNAL, /* not managed: only a url */
};

/* One service as seen now; the strings are borrowed from the stack. */
struct stack_service_info {
	const char *name;
	pid_t pid;		/* also its process group; 0 if external */
	int port;		/* 0 if external and not parsed from url */
	const char *endpoint;
	const char *health;	/* the health path */
	const char *log_path;	/* NULL if external */
	enum stack_service_state state;
	int exit_status;	/* wait status when EXITED */
};

size_t stack_nservices(const struct stack *st);
/* Refresh service i's state (as stack_check does) and describe it. */
void stack_service_info(struct stack *st, size_t i,
			struct stack_service_info *info);
/* One health request to service i: 0 if it answered 200; STACK_ERROR with
 * *cause ("GET URL returned 500", "connection refused") otherwise. */
int stack_service_health(const struct stack *st, size_t i, char **cause);
/* The start time of the stack, unix ns. */
uint64_t stack_started_ns(const struct stack *st);
/* True when no service process of the stack is left (or it is external). */
bool stack_stopped(struct stack *st);

#endif
