/* cmd-ingest.c: read spool files (or directories of them) into the store;
 * safe to run again and again, it only ever adds what is new. */
#include "cli/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/osp-collect.h"
#include "collect/osprofiler.h"
#include "store/ingest.h"
#include "store/store.h"

static const char ingest_usage[] =
	"usage: harness ingest [-c FILE] [--store FILE] [--run RUN]\n"
	"                      [--format FORMAT] [-q] PATH...\n"
	"       harness ingest [-c FILE] [--store FILE] [--run RUN]\n"
	"                      --format osprofiler\n"
	"                      --from redis://HOST:PORT[/DB]\n"
	"\n"
	"Read spool files into the store: each PATH is a spool file or a\n"
	"directory whose *.htspool files are read. Ingest remembers how far\n"
	"it read each file: running it again stores nothing twice, a file\n"
	"that grew is continued, and a record still being written is left\n"
	"for the next pass. Corrupt records are skipped and counted.\n"
	"\n"
	"  -c, --config FILE  the harness.yaml whose store is written\n"
	"                     (default: $HARNESS_CONFIG, ./harness.yaml, the\n"
	"                     shipped one)\n"
	"  --store FILE       the store (default: the config's)\n"
	"  --run RUN          attach the spans to run RUN, an id (default: to\n"
	"                     no run)\n"
	"  --format FORMAT    spool (default) or osprofiler: with osprofiler,\n"
	"                     each PATH is an OSprofiler file: its\n"
	"                     notifications (JSON lines or array) or the\n"
	"                     output of 'osprofiler trace show --json';\n"
	"                     importing a file twice stores its spans twice\n"
	"  --from URL         with --format osprofiler and no PATH: read the\n"
	"                     notifications that OSprofiler's redis driver\n"
	"                     keeps at URL (those of run RUN's traces with\n"
	"                     --run, else every trace there), store them, and\n"
	"                     delete them from Redis once stored, as 'harness\n"
	"                     run' does with\n"
	"                     tracing.osprofiler.connection_string\n"
	"  -q, --quiet        print nothing but errors\n";

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
		for (size_t i = 0; !ret && i < os.nby_service; i++)
			ret = store_unmapped_add(st, run_id,
						 os.by_service[i].service, 0,
						 (int64_t)os.by_service[i]
							 .unmapped,
						 cause);
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
	osprofiler_stats_release(&os);
	free(spool);
	free(dir);
	return ret;
}

/* The base_ids of run RUN_ID's traced iterations. */
static int run_trace_ids(struct store *st, int64_t run_id, char ***ids,
			 size_t *n, char **cause)
{
	static const uint8_t zero[16];
	struct store_iteration *its = NULL;
	size_t nits = 0;
	int ret;

	*ids = NULL;
	*n = 0;
	ret = store_iterations_get(&its, &nits, st, run_id, cause);
	if (ret < 0)
		return ret;
	*ids = xcalloc(nits + 1, sizeof(**ids));
	for (size_t i = 0; i < nits; i++) {
		if (!memcmp(its[i].trace_id, zero, 16))
			continue;
		(*ids)[*n] = xmalloc(37);
		osp_collect_uuid((*ids)[(*n)++], its[i].trace_id);
	}
	store_iterations_free(its, nits);
	return 0;
}

/* --from: the notifications in Redis, through a spool file in a
 * temporary directory, into the store; deleted from Redis once stored. */
static int ingest_redis(struct store *st, const char *url, int64_t run_id,
			struct store_ingest_stats *stats, int quiet,
			char **cause)
{
	struct osp_collect_result res;
	const char *tmp = getenv("TMPDIR");
	char **ids = NULL, *dir;
	size_t n = 0;
	int ret;

	if (run_id && (ret = run_trace_ids(st, run_id, &ids, &n, cause)) < 0)
		return ret;
	dir = xasprintf("%s/harness-osprofiler-XXXXXX",
			tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		*cause = xasprintf("cannot create '%s': %s", dir,
				   strerror(errno));
		ret = -1;
		goto out;
	}
	ret = osp_collect_redis(st, url, (const char *const *)ids, n, run_id,
				dir, 1, stats, &res, cause);
	if (!ret && !quiet)
		printf("read %llu notification%s of %llu trace%s from %s: "
		       "%llu span%s, %llu unmapped (kept as func), %llu "
		       "deleted there\n",
		       (unsigned long long)res.read, res.read == 1 ? "" : "s",
		       (unsigned long long)res.traces,
		       res.traces == 1 ? "" : "s", res.source,
		       (unsigned long long)res.os.spans,
		       res.os.spans == 1 ? "" : "s",
		       (unsigned long long)res.os.unmapped,
		       (unsigned long long)res.deleted);
	if (!ret && (res.os.unpaired || res.os.rejected))
		warning("%s: %llu span%s without a start or stop, %llu "
			"notification%s rejected", res.source,
			(unsigned long long)res.os.unpaired,
			res.os.unpaired == 1 ? "" : "s",
			(unsigned long long)res.os.rejected,
			res.os.rejected == 1 ? "" : "s");
	osp_collect_result_release(&res);
	/* the file is gone: so is the note of how far it was read */
	if (store_positions_forget(st, dir, NULL) < 0)
		ret = ret ? ret : -1;
	rmdir(dir);
out:
	free(dir);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
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
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "run", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_ingest_stats stats = { 0 };
	const char *store_opt = NULL, *config_opt = NULL, *from = NULL;
	struct store *st = NULL;
	char *path = NULL, *cause = NULL;
	int64_t run_id = 0;
	int c, ret, quiet = 0, worst = 0, osprofiler = 0;

	while ((c = getopt_long(argc, argv, ":c:q", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_opt = optarg;
			break;
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
		case 'F':
			from = optarg;
			break;
		default:
			return cmd_option_error(&cmd_ingest_entry,
						opts, argv, c);
		}
	}
	if (from && !osprofiler)
		return cmd_usage_error(&cmd_ingest_entry,
				       "--from reads OSprofiler's store: it "
				       "needs --format osprofiler");
	if (from && optind < argc)
		return cmd_usage_error(&cmd_ingest_entry,
				       "--from and a PATH ('%s') do not go "
				       "together", argv[optind]);
	if (!from && optind >= argc)
		return cmd_usage_error(&cmd_ingest_entry,
				       "no spool file or directory given");
	ret = cmd_store_path(&path, store_opt, config_opt);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	ret = store_open(&st, path, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = exit_code_of(ret);
		goto out;
	}
	if (from) {
		ret = ingest_redis(st, from, run_id, &stats, quiet, &cause);
		if (ret < 0) {
			error("%s", cause);
			worst = exit_code_of(ret);
		}
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
