/* main.c: the harness command: global options and the one command table
 * that every subcommand is reached through. */
#include "cli/cmd.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/suggest.h"

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

static void print_usage(const struct cmd_entry *entry)
{
	fputs(entry->usage, stdout);
	if (entry->usage[0] && entry->usage[strlen(entry->usage) - 1] != '\n')
		fputc('\n', stdout);
}

int cmd_usage_error(const struct cmd_entry *entry, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One line: the whole help after a typo buries the message. */
	error("%s%s see 'harness %s --help'", buf,
	      buf[0] && buf[strlen(buf) - 1] == '?' ? "" : ";", entry->name);
	return HARNESS_EXIT_USAGE;
}

/* The options of OPTS whose name starts with the LEN bytes of NAME. */
static size_t options_starting(struct strbuf *sb, const struct option *opts,
			       const char *name, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; opts[i].name; i++) {
		if (!strncmp(opts[i].name, name, len)) {
			strbuf_addf(sb, "%s--%s", n ? ", " : "", opts[i].name);
			n++;
		}
	}
	return n;
}

int cmd_option_error(const struct cmd_entry *entry, const struct option *opts,
		     char **argv, int c)
{
	const char *arg = argv[optind - 1], *names[64], *hint;
	struct strbuf sb = STRBUF_INIT;
	size_t len, n = 0;
	char *word;
	int ret;

	if (c == ':')
		return cmd_usage_error(entry, "option '%s' needs a value", arg);
	len = strncmp(arg, "--", 2) ? 0 : strcspn(arg + 2, "=");
	/* optopt: the unknown letter, or the option given a value that
	 * takes none (--force=x); 0 for an unknown long option. */
	if (optopt && !(len && arg[2 + len] == '='))
		return cmd_usage_error(entry, "unknown option '-%c'",
				       isprint(optopt) ? optopt : '?');
	if (!len)
		return cmd_usage_error(entry, "unknown option '%s'", arg);
	word = xstrndup(arg + 2, len);
	if (optopt) {
		ret = cmd_usage_error(entry, "option '--%s' takes no value",
				      word);
		goto out;
	}
	/* getopt_long takes any unique prefix; a prefix of several is
	 * refused. */
	if (options_starting(&sb, opts, word, len) > 1) {
		ret = cmd_usage_error(entry, "ambiguous option '--%s': %s?",
				      word, sb.buf);
		goto out;
	}
	for (size_t i = 0; opts[i].name && n + 1 < ARRAY_SIZE(names); i++)
		names[n++] = opts[i].name;
	names[n] = NULL;
	hint = suggest_closest(word, names);
	if (hint)
		ret = cmd_usage_error(entry, "unknown option '--%s'; did you "
				      "mean '--%s'?", word, hint);
	else
		ret = cmd_usage_error(entry, "unknown option '--%s'", word);
out:
	strbuf_release(&sb);
	free(word);
	return ret;
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
	error("'%s' is not a harness command; see 'harness --help'", name);
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
	print_usage(entry);
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
		error("unknown option '%s'; see 'harness --help'", argv[1]);
		return HARNESS_EXIT_USAGE;
	}
	entry = find_command(argv[1]);
	if (!entry)
		return unknown_command(argv[1]);
	if (wants_help(argc - 1, argv + 1)) {
		print_usage(entry);
		return HARNESS_EXIT_OK;
	}
	optind = 0; /* glibc: a full reset of getopt for the command */
	opterr = 0; /* commands report bad options through cmd_usage_error */
	return entry->exec(argc - 1, argv + 1);
}
