/* cmd-runs.c: list the runs in a store, newest first, with the commits
 * each one measured. */
#include "cli/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static const char runs_usage[] =
	"usage: harness runs [-c FILE] [--store FILE] [--scenario NAME]\n"
	"                    [--limit N]\n"
	"\n"
	"List the runs in the store, newest first: id, start time (UTC),\n"
	"scenario, label, status, iterations, and the commit of each\n"
	"repository ('*' marks a dirty work tree).\n"
	"\n"
	"  -c, --config FILE  the harness.yaml whose store is read (default:\n"
	"                     $HARNESS_CONFIG, ./harness.yaml, the shipped one)\n"
	"  --store FILE       the store (default: the config's)\n"
	"  --scenario NAME    only runs of this scenario\n"
	"  --limit N          at most N runs (default 20; 0 lists all)\n";

static int cmd_runs_exec(int argc, char **argv);

int cmd_store_path(char **out, const char *store_opt, const char *config_opt)
{
	struct config *cfg;
	char *cause = NULL;

	*out = NULL;
	if (store_opt) {
		*out = xstrdup(store_opt);
		return HARNESS_EXIT_OK;
	}
	if (config_load(&cfg, config_opt ? config_opt : config_default_path(),
			&cause) < 0) {
		error("%s", cause);
		free(cause);
		return HARNESS_EXIT_CONFIG;
	}
	*out = config_resolve(cfg, cfg->store);
	config_free(cfg);
	return HARNESS_EXIT_OK;
}

const struct cmd_entry cmd_runs_entry = {
	.name = "runs",
	.summary = "list the runs in the store",
	.usage = runs_usage,
	.exec = cmd_runs_exec,
};

/* The commits column: "nova 1a2b3c4d*, glance 5e6f7a8b". */
static char *format_commits(const struct store_run *run)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < run->ncommits; i++) {
		const struct store_commit *c = &run->commits[i];

		strbuf_addf(&sb, "%s%s %.8s%s", i ? ", " : "", c->repo, c->sha,
			    c->dirty ? "*" : "");
	}
	if (!run->ncommits)
		strbuf_addstr(&sb, "-");
	return strbuf_detach(&sb, NULL);
}

static void print_runs(const struct store_run *runs, size_t n)
{
	static const char *const head[] = { "ID", "DATE", "SCENARIO", "LABEL",
					    "STATUS", "ITER", "COMMITS" };
	enum { NCOLS = 7 };
	char ***cells = xcalloc(n, sizeof(*cells));
	int width[NCOLS];

	for (int c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const struct store_run *r = &runs[i];
		char date[64];

		time_format_iso(date, sizeof(date), (uint64_t)r->start_ns);
		cells[i] = xcalloc(NCOLS, sizeof(char *));
		cells[i][0] = xasprintf("%lld", (long long)r->id);
		cells[i][1] = xstrdup(date);
		cells[i][2] = xstrdup(r->scenario);
		cells[i][3] = xstrdup(r->label ? r->label : "-");
		cells[i][4] = xstrdup(store_run_status_name(r->status));
		cells[i][5] = xasprintf("%lld", (long long)r->niterations);
		cells[i][6] = format_commits(r);
		for (int c = 0; c < NCOLS - 1; c++) {
			int len = (int)strlen(cells[i][c]);

			if (len > width[c])
				width[c] = len;
		}
	}
	for (int c = 0; c < NCOLS - 1; c++)
		printf("%-*s  ", width[c], head[c]);
	printf("%s\n", head[NCOLS - 1]);
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < NCOLS; c++) {
			if (c < NCOLS - 1)
				printf("%-*s  ", width[c], cells[i][c]);
			else
				printf("%s\n", cells[i][c]);
			free(cells[i][c]);
		}
		free(cells[i]);
	}
	free(cells);
}

int cmd_parse_limit(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int cmd_runs_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_opt = NULL, *scenario = NULL, *config_opt = NULL;
	struct store_run *runs = NULL;
	struct store *st = NULL;
	char *path = NULL, *cause = NULL;
	size_t limit = 20, n = 0;
	struct stat sb;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_opt = optarg;
			break;
		case 's':
			store_opt = optarg;
			break;
		case 'S':
			scenario = optarg;
			break;
		case 'n':
			if (cmd_parse_limit(optarg, &limit) < 0)
				return cmd_usage_error(&cmd_runs_entry,
						       "bad --limit '%s': "
						       "want a whole number, "
						       "0 for all",
						       optarg);
			break;
		default:
			return cmd_option_error(&cmd_runs_entry, opts, argv, c);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_runs_entry,
				       "unexpected argument '%s'", argv[optind]);
	ret = cmd_store_path(&path, store_opt, config_opt);
	if (ret != HARNESS_EXIT_OK)
		return ret;

	/* Listing never creates a store: a missing file has no runs. */
	if (stat(path, &sb) < 0 && errno == ENOENT)
		goto empty;
	ret = store_open(&st, path, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = ret == STORE_ENOTSTORE || ret == STORE_ENEWER ?
			      HARNESS_EXIT_DATA :
			      HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (store_runs_list(&runs, &n, st, scenario, limit, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (n) {
		print_runs(runs, n);
		ret = HARNESS_EXIT_OK;
		goto out;
	}
empty:
	if (scenario)
		printf("no runs of '%s' in '%s' yet; make one with "
		       "'harness run %s'\n",
		       scenario, path, scenario);
	else
		printf("no runs in '%s' yet; make one with "
		       "'harness run boot-vm'\n",
		       path);
	ret = HARNESS_EXIT_OK;
out:
	store_runs_free(runs, n);
	store_free(st);
	free(cause);
	free(path);
	return ret;
}
