/* cmd-report.c: harness report: the report of one run, by default one
 * self-contained HTML page with charts drawn by gnuplot. */
#include "cli/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"

static const char report_usage[] =
	"usage: harness report [-c FILE] [--store FILE] [--format FORMAT]\n"
	"                      [-o FILE] RUN\n"
	"\n"
	"The report of run RUN (an id or 'latest'): its summary, commits,\n"
	"the operations that took the critical-path time, charts of\n"
	"iteration latency (CDF), duration over the run and throughput\n"
	"(rate and duration runs), and the waterfall of the median\n"
	"iteration. Charts need gnuplot on PATH (apt-get install\n"
	"gnuplot-nox); without it the report is written without them.\n"
	"\n"
	"  -c, --config FILE  the harness.yaml whose store is read (default:\n"
	"                     $HARNESS_CONFIG, ./harness.yaml, the shipped one)\n"
	"  --store FILE       the store (default: the config's)\n"
	"  --format FORMAT    html (default): one self-contained page that\n"
	"                     loads nothing and reads without JavaScript, the\n"
	"                     charts inline as SVG and also written as PNG\n"
	"                     files beside it (FILE-cdf.png ...);\n"
	"                     text: a summary for the terminal; json\n"
	"  -o, --output FILE  write to FILE (default: stdout; html writes\n"
	"                     report-RUN.html)\n";

static int cmd_report_exec(int argc, char **argv);

const struct cmd_entry cmd_report_entry = {
	.name = "report",
	.summary = "write a run's report: HTML with charts, text or JSON",
	.usage = report_usage,
	.exec = cmd_report_exec,
};

static void warn_user(const char *msg)
{
	warning("%s", msg);
}

static int cmd_report_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_opt = NULL, *format = "html", *output = NULL;
	const char *config_opt = NULL;
	const struct report_writer *w;
	struct report_options ropt;
	struct report_output out = { 0 };
	struct report_model m;
	struct store *st = NULL;
	char *cause = NULL, *default_out = NULL;
	int64_t run_id;
	int c, ret;

	report_model_init(&m);
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
		default:
			return cmd_option_error(&cmd_report_entry,
						opts, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_report_entry, "report wants a run");
	if (optind + 1 < argc)
		return cmd_usage_error(&cmd_report_entry,
				       "unexpected argument '%s'",
				       argv[optind + 1]);
	w = report_writer_find(format);
	if (!w || !w->write_run)
		return cmd_usage_error(&cmd_report_entry,
				       "bad --format '%s': want html, text "
				       "or json",
				       format);

	ret = cmd_open_store_run(&st, &run_id, store_opt, config_opt,
				 argv[optind]);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	if (report_model_load(&m, st, run_id, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	/* A page on a terminal helps nobody: html goes to a file. */
	if (!output && !strcmp(format, "html")) {
		default_out = xasprintf("report-%lld.html", (long long)run_id);
		output = default_out;
	}
	report_options_init(&ropt);
	ropt.out_path = output && strcmp(output, "-") ? output : NULL;
	ropt.warn = warn_user;
	if (report_output_open(&out, output, &cause) < 0 ||
	    w->write_run(out.fp, &m, &ropt, &cause) < 0 ||
	    report_output_commit(&out, &cause) < 0) {
		report_output_abort(&out);
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (default_out)
		fprintf(stderr, "harness: wrote %s\n", default_out);
	ret = HARNESS_EXIT_OK;
out:
	report_model_release(&m);
	store_free(st);
	free(cause);
	free(default_out);
	return ret;
}
