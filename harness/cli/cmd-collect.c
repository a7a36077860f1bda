/* cmd-collect.c: run the OTLP/HTTP collector in the foreground until
 * SIGINT or SIGTERM, turning received spans into spool records. */
#include "cli/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "collect/collect.h"
#include "config/config.h"
#include "store/ingest.h"
#include "store/store.h"

static const char collect_usage[] =
	"usage: harness collect [-c FILE] [--listen ADDR:PORT] [--spool DIR]\n"
	"                       [--token TOKEN] [--max-body BYTES] [--fsync]\n"
	"                       [--store FILE [--ingest-interval DURATION]]\n"
	"\n"
	"Receive OTLP/HTTP traces (POST /v1/traces, protobuf or JSON, gzip\n"
	"or identity) and append each span to a spool file that 'harness\n"
	"ingest' reads. Prints the address it listens on and the spool file,\n"
	"then runs until SIGINT or SIGTERM. A request is answered only once\n"
	"its spans are written.\n"
	"\n"
	"  -c, --config FILE  take the address (tracing.otlp.listen) and the\n"
	"                     spool directory (spool) from FILE\n"
	"  --listen ADDR:PORT where to listen (default: with -c, the\n"
	"                     config's tracing.otlp.listen, else\n"
	"                     127.0.0.1:4318; port 0 picks a free port)\n"
	"  --spool DIR        the spool directory (default: the config's)\n"
	"  --token TOKEN      require 'Authorization: Bearer TOKEN'\n"
	"  --max-body BYTES   largest body, also after inflating (default\n"
	"                     16777216); larger ones get 413\n"
	"  --fsync            fdatasync the spool file before answering\n"
	"  --store FILE       also ingest the spool file into the store FILE\n"
	"                     every interval, and once more on exit\n"
	"  --ingest-interval DURATION  how often (default 2s; 250ms, 1m ...)\n";

static int cmd_collect_exec(int argc, char **argv);

const struct cmd_entry cmd_collect_entry = {
	.name = "collect",
	.summary = "receive OTLP/HTTP traces into the spool",
	.usage = collect_usage,
	.exec = cmd_collect_exec,
};

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !v || v > SIZE_MAX / 2)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* --store: one ingest pass over the collector's spool file. */
static int ingest_pass(struct store *st, const char *spool,
		       struct store_ingest_stats *total)
{
	char *cause = NULL;

	if (store_ingest_path(st, spool, 0, total, &cause) < 0) {
		error("%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int cmd_collect_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "spool", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "fsync", no_argument, NULL, 'f' },
		{ "store", required_argument, NULL, 'i' },
		{ "ingest-interval", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct collect_options opts = { 0 };
	struct collector *c = NULL;
	struct collect_stats st;
	struct config *cfg = NULL;
	const char *config_path = NULL, *ingest_path = NULL;
	struct store_ingest_stats ist = { 0 };
	struct store *store = NULL;
	uint64_t interval_ns = 2000000000ull;
	struct timespec tick;
	int ingest_failed = 0;
	char *spool = NULL, *listen = NULL, *cause = NULL;
	sigset_t set;
	int opt, sig, ret = HARNESS_EXIT_OK;

	while ((opt = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			free(listen);
			listen = xstrdup(optarg);
			break;
		case 's':
			free(spool);
			spool = xstrdup(optarg);
			break;
		case 't':
			opts.token = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &opts.max_body)) {
				ret = cmd_usage_error(&cmd_collect_entry,
						      "bad --max-body '%s': "
						      "want a number of bytes,"
						      " 1 or more",
						      optarg);
				goto out;
			}
			break;
		case 'f':
			opts.fsync = 1;
			break;
		case 'i':
			ingest_path = optarg;
			break;
		case 'I':
			if (config_parse_duration(optarg, &interval_ns) ||
			    !interval_ns) {
				ret = cmd_usage_error(&cmd_collect_entry,
						      "bad --ingest-interval "
						      "'%s': want a duration "
						      "such as 2s or 250ms",
						      optarg);
				goto out;
			}
			break;
		default:
			ret = cmd_option_error(&cmd_collect_entry,
					       longopts, argv, opt);
			goto out;
		}
	}
	if (optind < argc) {
		ret = cmd_usage_error(&cmd_collect_entry,
				      "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (config_path) {
		if (config_load(&cfg, config_path, &cause)) {
			error("%s", cause);
			ret = HARNESS_EXIT_CONFIG;
			goto out;
		}
		if (!listen && cfg->tracing.otlp_listen)
			listen = xstrdup(cfg->tracing.otlp_listen);
		if (!spool)
			spool = config_resolve(cfg, cfg->spool_dir);
	}
	if (!spool) {
		ret = cmd_usage_error(&cmd_collect_entry,
				      "no spool directory: give --spool DIR or "
				      "-c FILE");
		goto out;
	}
	if (mkdir(spool, 0755) && errno != EEXIST) {
		error("cannot create '%s': %s", spool, strerror(errno));
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	opts.listen = listen;
	opts.spool_dir = spool;
	if (ingest_path && store_open(&store, ingest_path, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_DATA;
		goto out;
	}

	/* Block the signals before the server threads start, so that they
	 * inherit the mask and only sigwait() below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (collect_start(&c, &opts, &cause)) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	printf("listening on http://%s/v1/traces\n", collect_address(c));
	printf("spool file %s\n", collect_spool_path(c));
	fflush(stdout);
	if (!store) {
		if (sigwait(&set, &sig))
			sig = SIGTERM;
	} else {
		tick.tv_sec = (time_t)(interval_ns / 1000000000ull);
		tick.tv_nsec = (long)(interval_ns % 1000000000ull);
		while ((sig = sigtimedwait(&set, NULL, &tick)) < 0)
			if (errno == EAGAIN && ingest_pass(store,
					collect_spool_path(c), &ist))
				ingest_failed = 1;
	}
	/* Stop answering first, so that the last pass sees every span that
	 * was acknowledged. */
	collect_stop_listening(c);
	collect_stats(c, &st);
	if (store && ingest_pass(store, collect_spool_path(c), &ist))
		ingest_failed = 1;
	collect_stop(c);
	fprintf(stderr,
		"harness: collect: %llu requests, %llu spans written, "
		"%llu rejected, %llu bad requests, %llu write errors\n",
		(unsigned long long)st.requests,
		(unsigned long long)st.spans_accepted,
		(unsigned long long)st.spans_rejected,
		(unsigned long long)st.bad_requests,
		(unsigned long long)st.write_errors);
	if (store)
		fprintf(stderr, "harness: collect: ingested %lld spans into "
			"'%s'\n", (long long)ist.spans, ingest_path);
	ret = st.write_errors || ingest_failed ? HARNESS_EXIT_RUNTIME
					       : HARNESS_EXIT_OK;
out:
	store_free(store);
	free(cause);
	free(spool);
	free(listen);
	config_free(cfg);
	return ret;
}
