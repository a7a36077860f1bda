/* cmd-ingest.c: read spool files (or directories of them) into the store;
 * safe to run again and again, it only ever adds what is new. */
#include "cli/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/osprofiler.h"
#include "store/ingest.h"
#include "store/store.h"

static const char ingest_usage[] =
	"usage: harness ingest [--store FILE] [--run ID] [--format F] PATH...\n"
	"\n"
	"Read spool files into the store: each PATH is a spool file or a\n"
	"directory whose *.htspool files are read. Ingest remembers how far\n"
	"it read each file: running it again stores nothing twice, a file\n"
	"that grew is continued, and a record still being written is left\n"
	"for the next pass. Corrupt records are skipped and counted.\n"
	"\n"
	"  --store FILE  the store (default: the config's store)\n"
	"  --run ID      attach the spans to run ID (default: to no run)\n"
	"  --format F    spool (default) or osprofiler: with osprofiler,\n"
	"                each PATH is an OSprofiler file: its\n"
	"                notifications (JSON lines or array) or the output\n"
	"                of 'osprofiler trace show --json'; importing a file\n"
	"                twice stores its spans twice\n"
	"  -q, --quiet   print nothing but errors\n";

static int cmd_ingest_exec(int argc, char **argv);

const struct cmd_entry cmd_ingest_entry = {
	.name = "ingest",
	.summary = "read spool files into the store",
	.usage = ingest_usage,
	.exec = cmd_ingest_exec,
};

static int parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !*s || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Bad input data (65): not a store, a spool file of an unknown version,
 * a file that is not a spool file, a run that does not exist. */
static int exit_code_of(int ret)
{
	switch (ret) {
	case STORE_ENOTSTORE:
	case STORE_ENEWER:
	case STORE_EVERSION:
	case STORE_EFORMAT:
	case STORE_ENOENT:
		return HARNESS_EXIT_DATA;
	default:
		return HARNESS_EXIT_RUNTIME;
	}
}

/* --format osprofiler: convert FILE into a spool file in a temporary
 * directory, ingest that the normal way, remove it. */
static int ingest_osprofiler(struct store *st, const char *file,
			     int64_t run_id, struct store_ingest_stats *stats,
			     char **cause)
{
	struct osprofiler_stats os;
	const char *tmp = getenv("TMPDIR");
	char *dir, *spool = NULL;
	int ret;

	dir = xasprintf("%s/harness-osprofiler-XXXXXX",
			tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		*cause = xasprintf("cannot create '%s': %s", dir,
				   strerror(errno));
		free(dir);
		return -1;
	}
	ret = osprofiler_import(file, dir, &spool, &os, cause);
	if (!ret) {
		ret = store_ingest_path(st, spool, run_id, stats, cause);
		if (os.unpaired || os.rejected)
			warning("'%s': %llu span%s without a start or stop, "
				"%llu notification%s rejected", file,
				(unsigned long long)os.unpaired,
				os.unpaired == 1 ? "" : "s",
				(unsigned long long)os.rejected,
				os.rejected == 1 ? "" : "s");
		unlink(spool);
	} else {
		ret = STORE_EFORMAT;
	}
	rmdir(dir);
	free(spool);
	free(dir);
	return ret;
}

static void print_stats(const struct store_ingest_stats *s)
{
	printf("ingested %lld span%s from %lld file%s", (long long)s->spans,
	       s->spans == 1 ? "" : "s", (long long)s->files,
	       s->files == 1 ? "" : "s");
	if (s->dropped)
		printf("; writers dropped %lld span%s", (long long)s->dropped,
		       s->dropped == 1 ? "" : "s");
	if (s->corrupt)
		printf("; skipped %lld corrupt record%s (%lld bytes)",
		       (long long)s->corrupt, s->corrupt == 1 ? "" : "s",
		       (long long)s->corrupt_bytes);
	if (s->torn)
		printf("; %lld file%s end%s in a record still being written",
		       (long long)s->torn, s->torn == 1 ? "" : "s",
		       s->torn == 1 ? "s" : "");
	if (s->files_pending)
		printf("; %lld file%s not started yet",
		       (long long)s->files_pending,
		       s->files_pending == 1 ? "" : "s");
	printf("\n");
}

static int cmd_ingest_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "run", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_ingest_stats stats = { 0 };
	const char *store_opt = NULL;
	struct store *st = NULL;
	char *path = NULL, *cause = NULL;
	int64_t run_id = 0;
	int c, ret, quiet = 0, worst = 0, osprofiler = 0;

	while ((c = getopt_long(argc, argv, ":q", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store_opt = optarg;
			break;
		case 'r':
			if (parse_id(optarg, &run_id) < 0)
				return cmd_usage_error(&cmd_ingest_entry,
						       "bad --run '%s': want a "
						       "run id",
						       optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'f':
			if (strcmp(optarg, "osprofiler") &&
			    strcmp(optarg, "spool"))
				return cmd_usage_error(&cmd_ingest_entry,
						       "bad --format '%s': want "
						       "spool or osprofiler",
						       optarg);
			osprofiler = !strcmp(optarg, "osprofiler");
			break;
		default:
			return cmd_option_error(&cmd_ingest_entry,
						opts, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_ingest_entry,
				       "no spool file or directory given");
	ret = cmd_store_path(&path, store_opt);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	ret = store_open(&st, path, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = exit_code_of(ret);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		if (osprofiler)
			ret = ingest_osprofiler(st, argv[i], run_id, &stats,
						&cause);
		else
			ret = store_ingest_path(st, argv[i], run_id, &stats,
						&cause);
		if (ret < 0) {
			error("%s", cause);
			free(cause);
			cause = NULL;
			/* Bad data outranks a runtime failure: it will not
			 * go away by trying again. */
			if (!worst || exit_code_of(ret) == HARNESS_EXIT_DATA)
				worst = exit_code_of(ret);
		}
	}
	if (!quiet)
		print_stats(&stats);
	if (stats.corrupt)
		warning("skipped %lld corrupt record%s",
			(long long)stats.corrupt,
			stats.corrupt == 1 ? "" : "s");
	ret = worst ? worst : HARNESS_EXIT_OK;
out:
	store_free(st);
	free(cause);
	free(path);
	return ret;
}
