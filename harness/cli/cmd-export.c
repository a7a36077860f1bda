/* cmd-export.c: harness export: every span of a run in a format other
 * tools open (Chrome trace JSON for Perfetto). */
#include "cli/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/otlp-json.h"
#include "report/report.h"
#include "store/store.h"

static const char export_usage[] =
	"usage: harness export [-c FILE] [--store FILE] [--format FORMAT]\n"
	"                      [-o FILE] RUN\n"
	"       harness export [-c FILE] [--store FILE] --to URL [--batch N]\n"
	"                      RUN\n"
	"\n"
	"Write every span of run RUN (an id or 'latest').\n"
	"\n"
	"  -c, --config FILE  the harness.yaml whose store is read (default:\n"
	"                     $HARNESS_CONFIG, ./harness.yaml, the shipped one)\n"
	"  --store FILE       the store (default: the config's)\n"
	"  --format FORMAT    chrome (default): Chrome trace JSON, which\n"
	"                     ui.perfetto.dev and chrome://tracing open: a\n"
	"                     process per service, a track per thread, flow\n"
	"                     arrows for calls between services;\n"
	"                     json: every trace as a span tree;\n"
	"                     dot: the run's call graph, a node per operation;\n"
	"                     otlp-json: OTLP/JSON (ExportTraceServiceRequest)\n"
	"  -o, --output FILE  write to FILE instead of stdout\n"
	"  --to URL           POST the spans as OTLP/JSON to an OTLP/HTTP\n"
	"                     endpoint, e.g. http://127.0.0.1:4318/v1/traces\n"
	"                     (implies --format otlp-json; with -o, also\n"
	"                     writes the file)\n"
	"  --batch N          spans per POST (default 512)\n";

static int cmd_export_exec(int argc, char **argv);

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.summary = "write a run's spans for other tools (Perfetto, OTLP)",
	.usage = export_usage,
	.exec = cmd_export_exec,
};

static int cmd_export_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "to", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_opt = NULL, *format = NULL, *output = NULL;
	const char *to = NULL, *config_opt = NULL;
	struct otlp_json_options oopt;
	struct otlp_json_stats ostats;
	char *end;
	int otlp;
	const struct report_writer *w;
	struct report_options ropt;
	struct report_output out = { 0 };
	struct report_trace *traces = NULL;
	struct store *st = NULL;
	char *cause = NULL;
	size_t n = 0;
	int64_t run_id;
	int c, ret;

	otlp_json_options_init(&oopt);
	while ((c = getopt_long(argc, argv, ":c:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_opt = optarg;
			break;
		case 's':
			store_opt = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'b':
			oopt.batch = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end ||
			    !oopt.batch || oopt.batch > 1000000)
				return cmd_usage_error(&cmd_export_entry,
						       "bad --batch '%s': want "
						       "1 to 1000000 spans",
						       optarg);
			break;
		default:
			return cmd_option_error(&cmd_export_entry,
						opts, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_export_entry, "export wants a run");
	if (optind + 1 < argc)
		return cmd_usage_error(&cmd_export_entry,
				       "unexpected argument '%s'",
				       argv[optind + 1]);
	if (!format)
		format = to ? "otlp-json" : "chrome";
	if (to && strcmp(format, "otlp-json"))
		return cmd_usage_error(&cmd_export_entry,
				       "--to sends otlp-json, not '%s'",
				       format);
	/* json and dot draw traces too; text is for one trace at a time. */
	w = report_writer_find(format);
	otlp = !strcmp(format, "otlp-json");
	if (!otlp && (!w || !w->write_traces || !strcmp(format, "text") ||
		      !strcmp(format, "html")))
		return cmd_usage_error(&cmd_export_entry,
				       "bad --format '%s': want chrome, "
				       "json, dot or otlp-json",
				       format);
	report_options_init(&ropt);
	ropt.out_path = output;
	ropt.dot_nodes = REPORT_DOT_OPERATIONS;

	ret = cmd_open_store_run(&st, &run_id, store_opt, config_opt,
				 argv[optind]);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	if (otlp) {
		/* Without --to the spans go to -o or stdout; with it, to
		 * a file only when -o asks. */
		oopt.out_path = output ? output : to ? NULL : "-";
		oopt.url = to;
		if (otlp_json_export(st, run_id, &oopt, &ostats, &cause) < 0) {
			error("%s", cause);
			ret = HARNESS_EXIT_RUNTIME;
			goto out;
		}
		if (!ostats.spans)
			warning("run %lld has no spans", (long long)run_id);
		if (to)
			fprintf(stderr, "exported %zu spans in %zu requests "
				"to %s\n", ostats.spans, ostats.requests, to);
		ret = HARNESS_EXIT_OK;
		goto out;
	}
	if (report_traces_load(&traces, &n, st, run_id, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (!n)
		warning("run %lld has no spans", (long long)run_id);
	if (report_output_open(&out, output, &cause) < 0 ||
	    w->write_traces(out.fp, traces, n, &ropt, &cause) < 0 ||
	    report_output_commit(&out, &cause) < 0) {
		report_output_abort(&out);
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	ret = HARNESS_EXIT_OK;
out:
	report_traces_free(traces, n);
	store_free(st);
	free(cause);
	return ret;
}
