/* cmd-stack.c: `harness stack up|status|down`: start the configured
 * services and leave them running, show how they are, and stop them. The
 * state in between lives in <config dir>/.harness/stack.json. */
#include "cli/cmd.h"
#include "config/config.h"
#include "stack/stack.h"
#include "util/timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char stack_usage[] =
	"usage: harness stack up [-c FILE]\n"
	"       harness stack status [-c FILE]\n"
	"       harness stack down [-c FILE]\n"
	"\n"
	"  up       start every service of the config, wait until each is\n"
	"           healthy, and leave them running\n"
	"  status   each service's pid, port, URL and health; exits 0 only\n"
	"           when every service is running and healthy\n"
	"  down     stop the services that 'stack up' started\n"
	"\n"
	"  -c, --config FILE  the harness.yaml (default: $HARNESS_CONFIG,\n"
	"                     ./harness.yaml, then the shipped one)\n"
	"\n"
	"Logs go to CONFIG_DIR/.harness/logs/NAME.log, where CONFIG_DIR holds\n"
	"the config; the running stack is recorded in\n"
	"CONFIG_DIR/.harness/stack.json.\n";

static int cmd_stack_exec(int argc, char **argv);

const struct cmd_entry cmd_stack_entry = {
	.name = "stack",
	.summary = "start, inspect and stop the services of the config",
	.usage = stack_usage,
	.exec = cmd_stack_exec,
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Ctrl-C during `stack up` must not leave half a stack running unrecorded:
 * the flag makes stack_up stop what it started and return. */
static void catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int exit_for(int ret)
{
	if (ret == STACK_ERROR_CONFIG)
		return HARNESS_EXIT_CONFIG;
	if (ret == STACK_ERROR_INTERRUPTED)
		return HARNESS_EXIT_INTERRUPTED;
	return HARNESS_EXIT_RUNTIME;
}

static void print_table(struct stack *st, bool check_health, int *unhealthy)
{
	printf("%-14s %-8s %-6s %-28s %s\n", "SERVICE", "PID", "PORT", "URL",
	       "HEALTH");
	for (size_t i = 0; i < stack_nservices(st); i++) {
		struct stack_service_info info;
		char pid[16] = "-", port[16] = "-";
		char *why = NULL, *what;

		stack_service_info(st, i, &info);
		if (info.pid)
			snprintf(pid, sizeof(pid), "%d", (int)info.pid);
		if (info.port)
			snprintf(port, sizeof(port), "%d", info.port);
		if (info.state == STACK_SERVICE_EXITED ||
		    info.state == STACK_SERVICE_GONE) {
			what = xstrdup("dead");
			(*unhealthy)++;
		} else if (!check_health ||
			   !stack_service_health(st, i, &why)) {
			what = xstrdup("ok");
		} else {
			/* Whole: a TLS failure's reason runs long. */
			what = xasprintf("failing (%s)", why);
			(*unhealthy)++;
		}
		free(why);
		printf("%-14s %-8s %-6s %-28s %s\n", info.name, pid, port,
		       info.endpoint, what);
		free(what);
	}
}

/* A recorded stack that still has a live process blocks a second one. */
static int refuse_running(const char *state_path, const char *config_path)
{
	struct stack *old = NULL;
	char *cause = NULL;
	char when[64];
	int ret = stack_load(&old, state_path, &cause);

	if (ret == 1)
		return 0;
	if (ret < 0) {
		error("%s", cause);
		free(cause);
		return HARNESS_EXIT_RUNTIME;
	}
	if (stack_stopped(old)) {
		/* Left over from a stack that ended on its own. */
		stack_free(old);
		unlink(state_path);
		return 0;
	}
	time_format_iso(when, sizeof(when), stack_started_ns(old));
	error("a stack started at %s is still running (see '%s'); stop it "
	      "with 'harness stack down -c %s'",
	      when, state_path, config_path);
	stack_free(old);
	return HARNESS_EXIT_RUNTIME;
}

static int stack_up_cmd(const struct config *cfg)
{
	struct stack_options opts = { .stop = &stop_requested };
	struct stack *st = NULL;
	char *cause = NULL, *state = NULL;
	int ret, unhealthy = 0;

	catch_stop_signals();
	if (!cfg->manage) {
		ret = stack_up(&st, cfg, &opts, &cause);
		if (ret) {
			error("%s", cause);
			free(cause);
			return exit_for(ret);
		}
		printf("the stack of '%s' is not managed by harness "
		       "(manage: false); every service is healthy\n",
		       cfg->path);
		print_table(st, false, &unhealthy);
		stack_free(st);
		return HARNESS_EXIT_OK;
	}
	state = stack_state_path(cfg);
	ret = refuse_running(state, cfg->path);
	if (ret)
		goto out;
	ret = stack_up(&st, cfg, &opts, &cause);
	if (ret) {
		error("%s", cause);
		ret = exit_for(ret);
		goto out;
	}
	if (stack_save(st, state, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out; /* stack_free stops the services */
	}
	print_table(st, false, &unhealthy);
	printf("stack is up; 'harness stack down -c %s' stops it\n",
	       cfg->path);
	stack_detach(st);
	ret = HARNESS_EXIT_OK;
out:
	stack_free(st);
	free(state);
	free(cause);
	return ret;
}

static int stack_status_cmd(const struct config *cfg)
{
	struct stack *st = NULL;
	char *cause = NULL, *state = NULL, when[64];
	int ret, unhealthy = 0;

	if (!cfg->manage) {
		ret = stack_attach(&st, cfg, &cause);
		if (ret) {
			error("%s", cause);
			free(cause);
			return exit_for(ret);
		}
		printf("stack of '%s' (not managed by harness)\n", cfg->path);
	} else {
		state = stack_state_path(cfg);
		ret = stack_load(&st, state, &cause);
		if (ret < 0) {
			error("%s", cause);
			ret = HARNESS_EXIT_RUNTIME;
			goto out;
		}
		if (ret == 1) {
			printf("no stack is running for '%s' (no '%s'); "
			       "'harness stack up' starts one\n",
			       cfg->path, state);
			ret = HARNESS_EXIT_RUNTIME;
			goto out;
		}
		time_format_iso(when, sizeof(when), stack_started_ns(st));
		printf("stack of '%s', started %s\n", cfg->path, when);
	}
	print_table(st, true, &unhealthy);
	ret = unhealthy ? HARNESS_EXIT_RUNTIME : HARNESS_EXIT_OK;
out:
	stack_free(st);
	free(state);
	free(cause);
	return ret;
}

static int stack_down_cmd(const struct config *cfg)
{
	struct stack *st = NULL;
	char *cause = NULL, *state = NULL;
	int ret;

	if (!cfg->manage) {
		printf("the stack of '%s' is not managed by harness "
		       "(manage: false); nothing to stop\n",
		       cfg->path);
		return HARNESS_EXIT_OK;
	}
	state = stack_state_path(cfg);
	ret = stack_load(&st, state, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (ret == 1) {
		printf("no stack is running for '%s'\n", cfg->path);
		ret = HARNESS_EXIT_OK;
		goto out;
	}
	if (stack_down(st, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (unlink(state) < 0 && errno != ENOENT)
		warning("cannot remove '%s': %s", state, strerror(errno));
	printf("stopped %zu services\n", stack_nservices(st));
	ret = HARNESS_EXIT_OK;
out:
	stack_free(st);
	free(state);
	free(cause);
	return ret;
}

static int cmd_stack_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *action;
	struct config *cfg = NULL;
	char *cause = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		default:
			return cmd_option_error(&cmd_stack_entry,
						longopts, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_stack_entry,
				       "say 'up', 'status' or 'down'");
	action = argv[optind];
	if (optind + 1 < argc)
		return cmd_usage_error(&cmd_stack_entry,
				       "unexpected argument '%s'",
				       argv[optind + 1]);
	if (strcmp(action, "up") && strcmp(action, "status") &&
	    strcmp(action, "down"))
		return cmd_usage_error(&cmd_stack_entry,
				       "unknown action '%s': want up, "
				       "status or down",
				       action);
	if (!config_path)
		config_path = config_default_path();
	if (config_load(&cfg, config_path, &cause) < 0) {
		error("%s", cause);
		free(cause);
		return HARNESS_EXIT_CONFIG;
	}
	if (!strcmp(action, "up"))
		ret = stack_up_cmd(cfg);
	else if (!strcmp(action, "status"))
		ret = stack_status_cmd(cfg);
	else
		ret = stack_down_cmd(cfg);
	config_free(cfg);
	return ret;
}
