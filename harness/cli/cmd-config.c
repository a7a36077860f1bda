/* cmd-config.c: `harness config check|path`: validate harness.yaml and
 * scenario files and show the effective configuration, or say which config
 * file would be used. */
#include "cli/cmd.h"
#include "config/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char config_usage[] =
    "usage: harness config check [-c FILE] [SCENARIO...]\n"
    "       harness config path [-c FILE]\n"
    "\n"
    "  check   load the config and each scenario, check every key, value\n"
    "          and template, and print the effective configuration (all\n"
    "          defaults filled in) as YAML: the config, then each scenario\n"
    "          as its own document; exit 78 at the first error, named\n"
    "          FILE:LINE:COLUMN\n"
    "  path    print the path of the config file that would be used\n"
    "\n"
    "  -c, --config FILE  the harness.yaml (default: $HARNESS_CONFIG,\n"
    "                     ./harness.yaml, then the shipped one)\n"
    "\n"
    "A SCENARIO is a path (it holds a '/' or ends in .yaml) or a name,\n"
    "looked up as NAME.yaml in the config's directory, then in\n"
    "$HARNESS_SCENARIOS_DIR, then in harness's own scenarios/ folder.\n"
    "scenarios/README.md documents every key.\n";

static int cmd_config_exec(int argc, char **argv);

const struct cmd_entry cmd_config_entry = {
    .name = "config",
    .summary = "check harness.yaml and scenarios, show the effective config",
    .usage = config_usage,
    .exec = cmd_config_exec,
};

static int config_check(const char *path, int nscenarios, char **scenarios)
{
	struct config *cfg = NULL;
	struct strbuf out = STRBUF_INIT;
	char *cause = NULL;
	int ret = HARNESS_EXIT_CONFIG;

	if (config_load(&cfg, path, &cause) < 0) {
		error("%s", cause);
		goto out;
	}
	strbuf_addf(&out, "# config: %s\n# hash: %s\n", cfg->path, cfg->hash);
	config_dump(cfg, &out);
	for (int i = 0; i < nscenarios; i++) {
		struct scenario *sc = NULL;

		if (scenario_load(&sc, scenarios[i], cfg, &cause) < 0) {
			error("%s", cause);
			goto out;
		}
		strbuf_addf(&out, "---\n# scenario: %s\n", sc->path);
		scenario_dump(sc, &out);
		scenario_free(sc);
	}
	/* Print only once everything loaded: a failed check shows the error
	 * alone, not half a configuration. */
	fwrite(out.buf, 1, out.len, stdout);
	if (fflush(stdout) != 0) {
		error("cannot write the configuration: output error");
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}
	ret = HARNESS_EXIT_OK;
out:
	free(cause);
	strbuf_release(&out);
	config_free(cfg);
	return ret;
}

static int cmd_config_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	const char *sub;
	int c;

	if (argc < 2)
		return cmd_usage_error(&cmd_config_entry,
		                       "'config' needs a subcommand: check or "
		                       "path");
	sub = argv[1];
	if (strcmp(sub, "check") && strcmp(sub, "path"))
		return cmd_usage_error(&cmd_config_entry,
		                       "unknown subcommand 'config %s'", sub);
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+:c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		default:
			return cmd_option_error(&cmd_config_entry,
						longopts, argv, c);
		}
	}
	if (!path)
		path = config_default_path();
	if (!strcmp(sub, "path")) {
		if (optind < argc)
			return cmd_usage_error(&cmd_config_entry,
			                       "'config path' takes no "
			                       "arguments");
		printf("%s\n", path);
		return HARNESS_EXIT_OK;
	}
	return config_check(path, argc - optind, argv + optind);
}
