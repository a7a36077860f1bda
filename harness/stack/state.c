/* state.c: the state file of a stack that outlives the command that started
 * it (`harness stack up`), read back by `harness stack status` and
 * `harness stack down`. */
#include "stack/stack-int.h"
#include "util/error.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_VERSION 1

static const char *state_name(enum stack_service_state s)
{
	switch (s) {
	case STACK_SERVICE_RUNNING:
		return "running";
	case STACK_SERVICE_EXITED:
		return "exited";
	case STACK_SERVICE_GONE:
		return "gone";
	case STACK_SERVICE_EXTERNAL:
		return "external";
	}
	return "gone";
}

int stack_save(const struct stack *st, const char *path, char **cause)
{
	json_t *root = json_object(), *services = json_array();
	char started[64], *tmp = xasprintf("%s.tmp", path), *slash;
	int ret = STACK_ERROR;

	time_format_iso(started, sizeof(started), st->started_ns);
	json_object_set_new(root, "version", json_integer(STATE_VERSION));
	json_object_set_new(root, "managed", json_boolean(st->managed));
	json_object_set_new(root, "started", json_string(started));
	json_object_set_new(root, "started_ns",
			    json_integer((json_int_t)st->started_ns));
	json_object_set_new(root, "harness_pid", json_integer(getpid()));
	if (st->config_path)
		json_object_set_new(root, "config",
				    json_string(st->config_path));
	if (st->spool_dir)
		json_object_set_new(root, "spool_dir",
				    json_string(st->spool_dir));
	json_object_set_new(root, "grace_ns",
			    json_integer((json_int_t)st->grace_ns));
	for (size_t i = 0; i < st->nservices; i++) {
		const struct stack_service *svc = &st->services[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(svc->name));
		json_object_set_new(o, "pid", json_integer(svc->pid));
		json_object_set_new(o, "pgid", json_integer(svc->pid));
		json_object_set_new(o, "starttime",
				    json_integer((json_int_t)svc->starttime));
		json_object_set_new(o, "port", json_integer(svc->port));
		json_object_set_new(o, "endpoint",
				    json_string(svc->endpoint));
		json_object_set_new(o, "health", json_string(svc->health));
		if (svc->log_path)
			json_object_set_new(o, "log",
					    json_string(svc->log_path));
		json_object_set_new(o, "state",
				    json_string(state_name(svc->state)));
		json_array_append_new(services, o);
	}
	json_object_set_new(root, "services", services);
	slash = strrchr(tmp, '/');
	if (slash && slash != tmp) {
		*slash = '\0';
		ret = stack_mkdir_p(tmp, cause);
		*slash = '/';
		if (ret)
			goto out;
		ret = STACK_ERROR;
	}
	/* Write then rename, so a reader never sees half a file. */
	if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0) {
		*cause = xasprintf("cannot write '%s': %s", tmp,
				   strerror(errno));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		*cause = xasprintf("cannot rename '%s' to '%s': %s", tmp, path,
				   strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	free(tmp);
	return ret;
}

static char *get_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

int stack_load(struct stack **out, const char *path, char **cause)
{
	json_error_t jerr;
	json_t *root, *services;
	struct stack *st = NULL;
	int ret = STACK_ERROR;

	*out = NULL;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 1;
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		*cause = xasprintf("cannot read '%s': %s (line %d)", path,
				   jerr.text, jerr.line);
		return STACK_ERROR;
	}
	services = json_object_get(root, "services");
	if (json_integer_value(json_object_get(root, "version")) !=
		    STATE_VERSION ||
	    !json_is_array(services)) {
		*cause = xasprintf("'%s' is not a harness stack state file "
				   "of version %d",
				   path, STATE_VERSION);
		goto out;
	}
	st = xcalloc(1, sizeof(*st));
	/* stack_free of a loaded stack leaves it running; stack_down is
	 * what stops it. */
	st->detached = true;
	st->managed = json_is_true(json_object_get(root, "managed"));
	st->started_ns = (uint64_t)json_integer_value(
		json_object_get(root, "started_ns"));
	st->grace_ns =
		(uint64_t)json_integer_value(json_object_get(root, "grace_ns"));
	if (!st->grace_ns)
		st->grace_ns = 5ull * 1000000000u;
	st->config_path = get_str(root, "config");
	st->spool_dir = get_str(root, "spool_dir");
	st->nservices = json_array_size(services);
	st->services = xcalloc(st->nservices ? st->nservices : 1,
			       sizeof(*st->services));
	for (size_t i = 0; i < st->nservices; i++) {
		json_t *o = json_array_get(services, i);
		struct stack_service *svc = &st->services[i];

		svc->pidfd = -1;
		svc->name = get_str(o, "name");
		svc->endpoint = get_str(o, "endpoint");
		svc->health = get_str(o, "health");
		svc->log_path = get_str(o, "log");
		svc->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
		svc->starttime = (uint64_t)json_integer_value(
			json_object_get(o, "starttime"));
		svc->port = (int)json_integer_value(json_object_get(o, "port"));
		if (!svc->name || !svc->endpoint || !svc->health ||
		    (st->managed && svc->pid <= 1)) {
			*cause = xasprintf("'%s': service %zu is incomplete",
					   path, i + 1);
			goto out;
		}
		svc->state = st->managed ? STACK_SERVICE_RUNNING
					 : STACK_SERVICE_EXTERNAL;
		/* Not our children: liveness comes from /proc. */
		svc->child = false;
		stack_service_poll(svc);
	}
	*out = st;
	st = NULL;
	ret = 0;
out:
	stack_free(st);
	json_decref(root);
	return ret;
}
