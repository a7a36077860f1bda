/* cmd.h: the shape of a harness subcommand. Each lives in its own
 * cmd-NAME.c and is listed once in the table in main.c. */
#ifndef HARNESS_CMD_H
#define HARNESS_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/exitcode.h"

struct cmd_entry {
	const char *name;
	/* One line for `harness --help`. */
	const char *summary;
	/* The full usage text: synopsis, then options, one per line. Printed
	 * by `harness CMD --help` and `harness help CMD`. */
	const char *usage;
	/* Run the command. argv[0] is the command name; getopt_long is reset
	 * before the call. Returns an enum harness_exit code. */
	int (*exec)(int argc, char **argv);
};

/* Print one line, "harness: error: MSG; see 'harness CMD --help'", to
 * stderr; returns HARNESS_EXIT_USAGE so that a command can `return
 * cmd_usage_error(...)`. MSG names the option and what it wants. */
int cmd_usage_error(const struct cmd_entry *entry, const char *fmt, ...)
	HARNESS_PRINTF(2, 3);

struct option;
/* The usage error for what getopt_long returned as C: ':' (an option
 * without its value) or '?' (an unknown option, or a prefix of several of
 * OPTS; a near miss gets a did-you-mean). ARGV is the command's. */
int cmd_option_error(const struct cmd_entry *entry, const struct option *opts,
		     char **argv, int c);

/* The store a command works on: STORE_OPT (its --store) when given, else
 * the store of the config CONFIG_OPT (its -c/--config; NULL: the default
 * config). *out is the caller's to free. Returns an enum harness_exit
 * code; on failure it has reported why. Defined in cmd-runs.c. */
int cmd_store_path(char **out, const char *store_opt, const char *config_opt);
struct store;
/* Open the store (as cmd_store_path finds it; it must exist) and, when
 * RUN_ARG is given, resolve it (a run id or "latest") into *run_id, else
 * 0. Reports failures; returns an enum harness_exit code: 64 for a RUN_ARG
 * that is neither a run id nor "latest"; 65 for a store or run that does
 * not exist, or a file that is not a harness store or is newer; 70
 * otherwise. On success *st is the caller's to free.
 * Defined in open-run.c. */
int cmd_open_store_run(struct store **st, int64_t *run_id,
		       const char *store_opt, const char *config_opt,
		       const char *run_arg);
/* A --limit value: a whole number, 0 or more, into *out; -1 if S is not
 * one. Defined in cmd-runs.c. */
int cmd_parse_limit(const char *s, size_t *out);

/* The commands, in the order `harness --help` lists them. */
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_runs_entry;
extern const struct cmd_entry cmd_ingest_entry;
extern const struct cmd_entry cmd_collect_entry;
extern const struct cmd_entry cmd_stack_entry;
extern const struct cmd_entry cmd_compare_entry;
extern const struct cmd_entry cmd_trace_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_report_entry;

#endif
