/* main.c: the harness command: global options and the one command table
 * that every subcommand is reached through. */
#include "cli/cmd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cmd_entry *const commands[] = {
	&cmd_run_entry,
	&cmd_config_entry,
	&cmd_runs_entry,
	&cmd_ingest_entry,
	&cmd_collect_entry,
	&cmd_stack_entry,
	&cmd_compare_entry,
	&cmd_trace_entry,
	&cmd_export_entry,
	&cmd_report_entry,
	NULL,
};

static const char main_usage[] =
	"usage: harness [--version] [--help] <command> [<args>]\n"
	"       harness help <command>\n";

static void print_main_help(FILE *out)
{
	fputs(main_usage, out);
	fputs("\nProfile a multi-service stack: run a scenario, store every span,\n"
	      "compare runs per commit, gate CI.\n\ncommands:\n",
	      out);
	for (size_t i = 0; commands[i]; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name,
			commands[i]->summary);
	fputs("\nexit codes:\n", out);
	for (size_t i = 0; harness_exit_help[i]; i++)
		fprintf(out, "%s\n", harness_exit_help[i]);
	fputs("\n'harness help <command>' or 'harness <command> --help' shows a "
	      "command's options.\n",
	      out);
}

static const struct cmd_entry *find_command(const char *name)
{
	for (size_t i = 0; commands[i]; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

void cmd_print_usage(const struct cmd_entry *entry, int to_stderr)
{
	FILE *out = to_stderr ? stderr : stdout;

	fputs(entry->usage, out);
	if (entry->usage[0] && entry->usage[strlen(entry->usage) - 1] != '\n')
		fputc('\n', out);
}

int cmd_usage_error(const struct cmd_entry *entry, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	error("%s", buf);
	cmd_print_usage(entry, 1);
	return HARNESS_EXIT_USAGE;
}

/* `--help` or `-h` anywhere before `--` asks for the command's help. */
static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

static int unknown_command(const char *name)
{
	error("'%s' is not a harness command", name);
	print_main_help(stderr);
	return HARNESS_EXIT_USAGE;
}

static int cmd_help(int argc, char **argv)
{
	const struct cmd_entry *entry;

	if (argc < 2) {
		print_main_help(stdout);
		return HARNESS_EXIT_OK;
	}
	entry = find_command(argv[1]);
	if (!entry)
		return unknown_command(argv[1]);
	cmd_print_usage(entry, 0);
	return HARNESS_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct cmd_entry *entry;

	if (argc < 2) {
		print_main_help(stderr);
		return HARNESS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_main_help(stdout);
		return HARNESS_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("harness %s\n", HARNESS_VERSION);
		return HARNESS_EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return cmd_help(argc - 1, argv + 1);
	if (argv[1][0] == '-') {
		error("unknown option '%s'", argv[1]);
		fputs(main_usage, stderr);
		return HARNESS_EXIT_USAGE;
	}
	entry = find_command(argv[1]);
	if (!entry)
		return unknown_command(argv[1]);
	if (wants_help(argc - 1, argv + 1)) {
		cmd_print_usage(entry, 0);
		return HARNESS_EXIT_OK;
	}
	optind = 0; /* glibc: a full reset of getopt for the command */
	opterr = 0; /* commands report bad options through cmd_usage_error */
	return entry->exec(argc - 1, argv + 1);
}
