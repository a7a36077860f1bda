/* stack-int.h: what the files of harness/stack share and nobody else
 * sees: the struct behind the opaque handle and the process helpers. */
#ifndef HARNESS_STACK_INT_H
#define HARNESS_STACK_INT_H

#include "stack/stack.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct stack_service {
	char *name;
	char *endpoint;		/* http://127.0.0.1:PORT or the url */
	char *health;		/* path, starts with '/' */
	char *log_path;		/* NULL when external */
	int port;
	pid_t pid;		/* also the process group and session */
	uint64_t starttime;	/* /proc/PID/stat field 22, against reuse */
	int pidfd;		/* -1 when none */
	bool child;		/* started by this process: ours to reap */
	bool keep;		/* left running by stack_down_except */
	enum stack_service_state state;
	int exit_status;
};

struct stack {
	struct stack_service *services;
	size_t nservices;
	bool managed;
	bool detached;
	uint64_t grace_ns;
	uint64_t started_ns;
	char *config_path;	/* may be NULL */
	char *spool_dir;	/* may be NULL */
	/* For https:// health checks: the config's tls.ca_file made
	 * absolute (NULL: the system's CAs), and tls.verify: false. Not in
	 * the state file: a stack harness started serves http://. */
	char *ca_file;
	bool insecure;
};

/* proc.c */

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot) and
 * field 3 (state); -1 if the process does not exist. */
int proc_stat(pid_t pid, uint64_t *starttime, char *state, pid_t *pgrp);
/* Whether pid is the live (not zombie) process that started at
 * starttime. */
bool proc_alive(pid_t pid, uint64_t starttime);
/* Whether any live (not zombie) process is in process group pgid. */
bool proc_group_alive(pid_t pgid);
/* Describe a wait status: "exited with status 3", "was killed by signal 9
 * (Killed)". Into buf. */
void proc_describe_status(char *buf, size_t size, int status);
/* The last nlines lines of a file, each indented, with a heading naming
 * the file; appended to sb. */
struct strbuf;
void proc_log_tail(struct strbuf *sb, const char *path, unsigned nlines);
/* mkdir -p; STACK_ERROR with *cause on failure. */
int stack_mkdir_p(const char *path, char **cause);
/* Sleep for ns nanoseconds (restarting after signals). */
void proc_sleep_ns(uint64_t ns);

/* health.c */

/* What health_get returns for a server certificate that could not be
 * verified: asking again will not help. */
#define HEALTH_UNTRUSTED (-100)

/* GET base+path once within timeout_ns, trusting the CAs of st's
 * ca_file (unless st->insecure): 0 on 200, else STACK_ERROR (or
 * HEALTH_UNTRUSTED) with a short reason in *why (caller frees) like
 * "returned 500", "connection refused" or "SSL certificate problem". */
int health_get(const struct stack *st, const char *base, const char *path,
	       uint64_t timeout_ns, char **why);

/* stack.c */
void stack_service_release(struct stack_service *svc);
/* Refresh svc->state without blocking. */
void stack_service_poll(struct stack_service *svc);

#endif
