/* cmd-trace.c: harness trace list|show: the traces in the store, and one
 * trace as a tree, JSON, a call graph, a Chrome trace or a web page. */
#include "cli/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static const char trace_usage[] =
	"usage: harness trace list [-c FILE] [--store FILE] [--run RUN]\n"
	"                          [--limit N]\n"
	"       harness trace show [-c FILE] [--store FILE] [--run RUN]\n"
	"                          [--format FORMAT] [--nodes span|operation]\n"
	"                          [-o FILE] ID\n"
	"\n"
	"list: the traces of the store, newest first: trace id, run,\n"
	"iteration, root span, start (UTC), duration, spans, services,\n"
	"errors.\n"
	"show: one trace. ID is its hex id or a unique prefix of it.\n"
	"\n"
	"  -c, --config FILE  the harness.yaml whose store is read (default:\n"
	"                     $HARNESS_CONFIG, ./harness.yaml, the shipped one)\n"
	"  --store FILE       the store (default: the config's)\n"
	"  --run RUN          only traces of this run (an id or 'latest')\n"
	"  --limit N          list at most N traces (default 50; 0: all)\n"
	"  --format FORMAT    text (default): an indented tree with offsets\n"
	"                     from the trace start, durations, services,\n"
	"                     kinds and errors; json: the tree with every\n"
	"                     field and attribute; dot: the call graph for\n"
	"                     Graphviz; chrome: Chrome trace JSON (Perfetto);\n"
	"                     html: a self-contained page with the trace's\n"
	"                     waterfall\n"
	"  --nodes span|operation  dot: a node per span (default) or per\n"
	"                     operation\n"
	"  -o, --output FILE  write to FILE instead of stdout\n";

static int cmd_trace_exec(int argc, char **argv);

const struct cmd_entry cmd_trace_entry = {
	.name = "trace",
	.summary = "list the traces in the store, show one",
	.usage = trace_usage,
	.exec = cmd_trace_exec,
};

struct trace_opts {
	const char *config, *store, *run, *format, *output, *nodes;
	size_t limit;
};

static int exit_for_store(int rc)
{
	if (rc == STORE_ENOTSTORE || rc == STORE_ENEWER || rc == STORE_ENOENT)
		return HARNESS_EXIT_DATA;
	return HARNESS_EXIT_RUNTIME;
}

/* Open the store of the options and resolve --run (0 when not given). */
static int open_store(struct store **st, int64_t *run_id,
		      const struct trace_opts *o)
{
	return cmd_open_store_run(st, run_id, o->store, o->config, o->run);
}

static int trace_list(const struct trace_opts *o)
{
	struct store_trace *t = NULL;
	struct store *st;
	char *cause = NULL;
	int64_t run_id;
	size_t n = 0;
	int ret;

	ret = open_store(&st, &run_id, o);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	if (store_traces_list(&t, &n, st, o->run ? run_id : -1, o->limit,
			      &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (!n) {
		printf("no traces in '%s'%s\n", store_path(st),
		       o->run ? " for this run" : "");
		goto out;
	}
	printf("%-32s %5s %5s  %-20s %-20s %9s %6s %6s  %s\n", "TRACE", "RUN",
	       "ITER", "ROOT", "START", "DURATION", "SPANS", "ERRORS",
	       "SERVICES");
	for (size_t i = 0; i < n; i++) {
		char id[33], run[24], iter[24], date[64], dur[32];

		for (int k = 0; k < 16; k++)
			snprintf(id + 2 * k, 3, "%02x", t[i].trace_id[k]);
		snprintf(run, sizeof(run), "%lld", (long long)t[i].run_id);
		snprintf(iter, sizeof(iter), "%lld",
			 (long long)t[i].iteration);
		time_format_iso(date, sizeof(date), (uint64_t)t[i].start_ns);
		report_fmt_dur(dur, sizeof(dur), (double)t[i].dur_ns);
		printf("%-32s %5s %5s  %-20.40s %-20s %9s %6lld %6lld  %s\n",
		       id, t[i].run_id ? run : "-",
		       t[i].iteration >= 0 ? iter : "-",
		       t[i].root_name ? t[i].root_name : "(no root)", date,
		       dur, (long long)t[i].nspans, (long long)t[i].nerrors,
		       t[i].services ? t[i].services : "-");
	}
out:
	store_traces_free(t, n);
	store_free(st);
	free(cause);
	return ret;
}

static int trace_show(const struct trace_opts *o, const char *id)
{
	const struct report_writer *w;
	struct report_options ropt;
	struct report_output out = { 0 };
	struct report_trace t;
	struct store *st;
	uint8_t trace_id[16];
	int64_t run_id, found_run;
	char *cause = NULL;
	int ret, rc;

	w = report_writer_find(o->format);
	if (!w || !w->write_traces)
		return cmd_usage_error(&cmd_trace_entry,
				       "bad --format '%s': want text, json, "
				       "dot, chrome or html",
				       o->format);
	report_options_init(&ropt);
	ropt.out_path = o->output;
	if (!strcmp(o->nodes, "operation"))
		ropt.dot_nodes = REPORT_DOT_OPERATIONS;
	else if (strcmp(o->nodes, "span"))
		return cmd_usage_error(&cmd_trace_entry,
				       "bad --nodes '%s': want span or "
				       "operation",
				       o->nodes);

	report_trace_init(&t);
	ret = open_store(&st, &run_id, o);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	rc = store_trace_find(trace_id, &found_run, st, id,
			      o->run ? run_id : -1, &cause);
	if (rc < 0) {
		error("%s", cause);
		/* No such trace is bad input, as no such run; a bad or
		 * ambiguous id is for the user to retype. */
		ret = rc == STORE_EAMBIGUOUS || rc == -1 ? HARNESS_EXIT_USAGE
							 : exit_for_store(rc);
		goto out;
	}
	rc = report_trace_load(&t, st, found_run, trace_id, &cause);
	if (rc < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (report_output_open(&out, o->output, &cause) < 0 ||
	    w->write_traces(out.fp, &t, 1, &ropt, &cause) < 0 ||
	    report_output_commit(&out, &cause) < 0) {
		report_output_abort(&out);
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	ret = HARNESS_EXIT_OK;
out:
	report_trace_release(&t);
	store_free(st);
	free(cause);
	return ret;
}

static int cmd_trace_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "run", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "nodes", required_argument, NULL, 'N' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_opts o = { .format = "text", .nodes = "span",
				.limit = 50 };
	const char *sub;
	int c;

	if (argc < 2)
		return cmd_usage_error(&cmd_trace_entry,
				       "want a subcommand: list or show");
	sub = argv[1];
	if (strcmp(sub, "list") && strcmp(sub, "show"))
		return cmd_usage_error(&cmd_trace_entry,
				       "unknown subcommand '%s'", sub);
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, ":c:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case 's':
			o.store = optarg;
			break;
		case 'r':
			o.run = optarg;
			break;
		case 'n':
			if (cmd_parse_limit(optarg, &o.limit) < 0)
				return cmd_usage_error(&cmd_trace_entry,
						       "bad --limit '%s': "
						       "want a whole number, "
						       "0 for all",
						       optarg);
			break;
		case 'f':
			o.format = optarg;
			break;
		case 'N':
			o.nodes = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		default:
			return cmd_option_error(&cmd_trace_entry,
						opts, argv, c);
		}
	}
	if (!strcmp(sub, "list")) {
		if (optind < argc)
			return cmd_usage_error(&cmd_trace_entry,
					       "unexpected argument '%s'",
					       argv[optind]);
		return trace_list(&o);
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_trace_entry,
				       "trace show wants a trace id");
	if (optind + 1 < argc)
		return cmd_usage_error(&cmd_trace_entry,
				       "unexpected argument '%s'",
				       argv[optind + 1]);
	return trace_show(&o, argv[optind]);
}
