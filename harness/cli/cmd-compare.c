/* cmd-compare.c: harness compare — compare a head run with a baseline run,
 * found by run id or by git, check the head's gates, print the verdict in
 * the asked formats and exit with the code CI acts on. */
#include "cli/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/verdict.h"
#include "config/config.h"
#include "report/report.h"
#include "report/flame.h"
#include "report/verdict.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "vcs/vcs.h"

static const char compare_usage[] =
	"usage: harness compare [options] <base> <head>\n"
	"       harness compare [options] --baseline <ref> [<head>]\n"
	"\n"
	"Compare the head run with the base run operation by operation,\n"
	"check the head's gates, and exit with the verdict. <base> and <head>\n"
	"are run ids (see 'harness runs') or git revisions of the project\n"
	"under test; a revision stands for the newest comparable run (same\n"
	"scenario, same config hash) at its commit. With --baseline REF the\n"
	"base is the newest comparable run at the merge-base of REF and the\n"
	"head (default head: HEAD), as a pull-request job wants.\n"
	"\n"
	"  --store FILE        the store (default: the config's store)\n"
	"  --config FILE       harness.yaml: projects, scenarios (default:\n"
	"                      $HARNESS_CONFIG, ./harness.yaml, the shipped "
	"one)\n"
	"  --project NAME      the project whose git revisions are meant\n"
	"                      (default: the config's first project)\n"
	"  --scenario NAME     the scenario, when both sides are revisions\n"
	"                      (default: the newest run at the head commit)\n"
	"  --baseline REF      base: the run at merge-base(REF, head)\n"
	"  --alpha X           false discovery rate, 0.05 or 5% (default: the\n"
	"                      scenario's regression.alpha, else 5%)\n"
	"  --min-effect X      smallest relative shift that matters, 0.05 or\n"
	"                      5% (default: the scenario's, else 5%)\n"
	"  --metric M          a metric whose regression fails, repeatable:\n"
	"                      iteration, step(NAME), op(SERVICE, KIND, "
	"NAME)\n"
	"                      (default: the scenario's regression.metrics)\n"
	"  --no-scenario       do not load the scenario file: default gates\n"
	"                      (no failed iteration) and regression limits\n"
	"  --force             compare runs of different scenarios or configs\n"
	"  --no-baseline-ok    exit 0, not 3, when there is no baseline run or\n"
	"                      the comparison is inconclusive\n"
	"  --format LIST       comma-separated: terminal, markdown, json,\n"
	"                      junit, html (default: terminal)\n"
	"  --out DIR           write compare.md, compare.json, compare.xml,\n"
	"                      compare.html in DIR (terminal still goes to\n"
	"                      stdout)\n"
	"  --all               show every operation, not only the findings\n"
	"  --flame FILE        write the differential flame graph (SVG) of\n"
	"                      the base against the head to FILE\n"
	"\n"
	"Exit: 0 pass; 1 regression; 2 an absolute gate broken (wins over 1);\n"
	"3 inconclusive or no baseline; 64 usage; 65 no such run, no run at a\n"
	"commit, or runs not comparable; 70 runtime failure; 78 bad config or\n"
	"scenario.\n";

static int cmd_compare_exec(int argc, char **argv);

const struct cmd_entry cmd_compare_entry = {
	.name = "compare",
	.summary = "compare two runs and gate on the verdict",
	.usage = compare_usage,
	.exec = cmd_compare_exec,
};

enum format_bits {
	FMT_TERMINAL = 1 << 0,
	FMT_MARKDOWN = 1 << 1,
	FMT_JSON = 1 << 2,
	FMT_JUNIT = 1 << 3,
	FMT_HTML = 1 << 4,
};

static const struct {
	const char *name;
	enum format_bits bit;
	const char *file;
	int (*write)(FILE *, const struct verdict *,
		     const struct report_compare_options *, char **);
} formats[] = {
	{ "terminal", FMT_TERMINAL, NULL, report_compare_terminal },
	{ "markdown", FMT_MARKDOWN, "compare.md", report_compare_markdown },
	{ "json", FMT_JSON, "compare.json", report_compare_json },
	{ "junit", FMT_JUNIT, "compare.xml", report_compare_junit },
	{ "html", FMT_HTML, "compare.html", NULL },
};

/* HTML is the report writers' run report (report.h) of the head with the
 * base and the comparison filled in. */
static int write_html(FILE *f, struct store *st, const struct verdict *v,
		      const char *path, char **cause)
{
	struct report_model head, base;
	struct report_options ro;
	int ret = -1;

	report_model_init(&head);
	report_model_init(&base);
	if (report_model_load(&head, st, v->head.run->id, cause) < 0)
		goto out;
	if (v->has_base) {
		if (report_model_load(&base, st, v->base.run->id, cause) < 0)
			goto out;
		head.base = &base;
	}
	if (v->compared)
		head.cmp = &v->cmp;
	report_options_init(&ro);
	ro.out_path = path;
	ret = report_html_writer.write_run(f, &head, &ro, cause);
out:
	report_model_release(&head);
	report_model_release(&base);
	return ret;
}

static int parse_formats(unsigned *out, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	int ret = 0;

	*out = 0;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(formats); i++)
			if (!strcmp(formats[i].name, t))
				break;
		if (i == ARRAY_SIZE(formats)) {
			ret = cmd_usage_error(&cmd_compare_entry,
					      "unknown format '%s'", t);
			break;
		}
		*out |= formats[i].bit;
	}
	if (!ret && !*out)
		ret = cmd_usage_error(&cmd_compare_entry,
				      "--format needs at least one format");
	free(copy);
	return ret;
}

/* "5%" or "0.05", in (0, 1). */
static int parse_fraction(double *out, const char *s)
{
	char *end;

	if (strchr(s, '%'))
		return config_parse_percent(s, out) < 0 || *out <= 0 ||
				       *out >= 1
			       ? -1
			       : 0;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out > 0 && *out < 1))
		return -1;
	return 0;
}

/* A run id: digits only, naming a run of the store. */
static int as_run_id(int64_t *id, struct store *st, const char *spec)
{
	struct store_run *run = NULL;
	char *end;
	long long v;

	*id = 0;
	if (!*spec || strspn(spec, "0123456789") != strlen(spec))
		return 0;
	errno = 0;
	v = strtoll(spec, &end, 10);
	if (errno || v <= 0)
		return 0;
	if (store_run_get(&run, st, v, NULL) < 0)
		return 0;
	store_run_free(run);
	*id = v;
	return 1;
}

struct ctx {
	struct store *st;
	struct config *cfg;
	const char *cfg_path;
	const char *project;
	const char *scenario;
	struct vcs_repo *repo;
	const char *repo_name;
};

/* The project's repository, opened on first use. */
static int open_repo(struct ctx *c)
{
	const struct config_project *p = NULL;
	char *path, *cause = NULL;

	if (c->repo)
		return HARNESS_EXIT_OK;
	if (!c->cfg) {
		error("git revisions need a config with projects: cannot "
		      "load '%s'",
		      c->cfg_path);
		return HARNESS_EXIT_CONFIG;
	}
	for (size_t i = 0; i < c->cfg->nprojects; i++)
		if (!c->project || !strcmp(c->cfg->projects[i].name, c->project)) {
			p = &c->cfg->projects[i];
			break;
		}
	if (!p) {
		if (c->project)
			error("no project '%s' in '%s'", c->project,
			      c->cfg->path);
		else
			error("'%s' names no project, so git revisions mean "
			      "nothing; give run ids",
			      c->cfg->path);
		return HARNESS_EXIT_CONFIG;
	}
	path = config_resolve(c->cfg, p->path);
	if (vcs_open(&c->repo, path, &cause) < 0) {
		error("project '%s': %s", p->name, cause);
		free(cause);
		free(path);
		return HARNESS_EXIT_CONFIG;
	}
	free(path);
	c->repo_name = p->name;
	return HARNESS_EXIT_OK;
}

/* The commit of run ID in the project's repository, for a merge-base. */
static int run_commit(char sha[VCS_SHA_BUFSZ], struct ctx *c, int64_t id)
{
	struct store_run *run = NULL;
	char *cause = NULL;
	int ret = HARNESS_EXIT_DATA;

	if (store_run_get(&run, c->st, id, &cause) < 0) {
		error("%s", cause);
		free(cause);
		return HARNESS_EXIT_DATA;
	}
	for (size_t i = 0; i < run->ncommits; i++)
		if (!strcmp(run->commits[i].repo, c->repo_name)) {
			snprintf(sha, VCS_SHA_BUFSZ, "%s", run->commits[i].sha);
			ret = HARNESS_EXIT_OK;
		}
	if (ret)
		error("run %lld has no commit of project '%s'", (long long)id,
		      c->repo_name);
	store_run_free(run);
	return ret;
}

/* The newest run at SHA: of the head's scenario and config when LIKE is
 * set, else of --scenario (or any) with the config's hash. *id is 0 when
 * none. */
static int run_at(int64_t *id, struct ctx *c, const char *sha,
		  const struct store_run *like)
{
	struct store_run *runs = NULL;
	char *cause = NULL;
	size_t n = 0;

	*id = 0;
	if (like || c->scenario) {
		if (store_run_find(id, c->st, like ? like->scenario : c->scenario,
				   like ? like->config_hash : c->cfg->hash,
				   c->repo_name, sha, true, &cause) < 0)
			goto fail;
		return HARNESS_EXIT_OK;
	}
	if (store_runs_list(&runs, &n, c->st, NULL, 0, &cause) < 0)
		goto fail;
	for (size_t i = 0; i < n && !*id; i++) {
		if (runs[i].status != STORE_RUN_OK ||
		    strcmp(runs[i].config_hash, c->cfg->hash))
			continue;
		for (size_t k = 0; k < runs[i].ncommits; k++)
			if (!strcmp(runs[i].commits[k].repo, c->repo_name) &&
			    !strcmp(runs[i].commits[k].sha, sha))
				*id = runs[i].id;
	}
	store_runs_free(runs, n);
	return HARNESS_EXIT_OK;
fail:
	error("%s", cause);
	free(cause);
	return HARNESS_EXIT_RUNTIME;
}

static int resolve_ref(char sha[VCS_SHA_BUFSZ], struct ctx *c,
		       const char *ref)
{
	char *cause = NULL;
	int ret = open_repo(c);

	if (ret)
		return ret;
	if (vcs_resolve(sha, c->repo, ref, &cause) < 0) {
		error("%s", cause);
		free(cause);
		return HARNESS_EXIT_USAGE;
	}
	return HARNESS_EXIT_OK;
}

static int write_outputs(struct store *st, const struct verdict *v,
			 unsigned fmts, const char *outdir,
			 const struct report_compare_options *ropt)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		char *cause = NULL, *path = NULL;
		FILE *f = stdout;
		int rc;

		if (!(fmts & formats[i].bit))
			continue;
		if (outdir && formats[i].file) {
			path = xasprintf("%s/%s", outdir, formats[i].file);
			f = fopen(path, "w");
			if (!f) {
				error("cannot open '%s': %s", path,
				      strerror(errno));
				free(path);
				return HARNESS_EXIT_RUNTIME;
			}
		}
		if (formats[i].write)
			rc = formats[i].write(f, v, ropt, &cause);
		else
			rc = write_html(f, st, v, path, &cause);
		if (f != stdout && fclose(f) != 0 && rc == 0) {
			cause = xasprintf("cannot write '%s': %s", path,
					  strerror(errno));
			rc = -1;
		}
		free(path);
		if (rc < 0) {
			error("%s", cause);
			free(cause);
			return HARNESS_EXIT_RUNTIME;
		}
	}
	return HARNESS_EXIT_OK;
}

static int cmd_compare_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "project", required_argument, NULL, 'p' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "baseline", required_argument, NULL, 'b' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "min-effect", required_argument, NULL, 'e' },
		{ "metric", required_argument, NULL, 'm' },
		{ "no-scenario", no_argument, NULL, 'N' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-baseline-ok", no_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'F' },
		{ "out", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'A' },
		{ "flame", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { 0 };
	struct verdict_options vopt;
	struct report_compare_options ropt;
	struct verdict v;
	struct scenario *sc = NULL;
	const char *store_opt = NULL, *baseline = NULL, *outdir = NULL;
	const char **metrics = NULL, *flame_path = NULL;
	const char *base_spec = NULL, *head_spec = "HEAD";
	char *store_path = NULL, *cause = NULL;
	char sha[VCS_SHA_BUFSZ], mb[VCS_SHA_BUFSZ];
	int64_t base_id = 0, head_id = 0;
	unsigned fmts = FMT_TERMINAL;
	bool no_scenario = false;
	size_t nmetrics = 0;
	struct stat sb;
	int opt, ret;

	verdict_options_init(&vopt);
	report_compare_options_init(&ropt);
	verdict_init(&v);
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			store_opt = optarg;
			break;
		case 'c':
			c.cfg_path = optarg;
			break;
		case 'p':
			c.project = optarg;
			break;
		case 'S':
			c.scenario = optarg;
			break;
		case 'b':
			baseline = optarg;
			break;
		case 'a':
			if (parse_fraction(&vopt.alpha, optarg) < 0) {
				ret = cmd_usage_error(&cmd_compare_entry,
						      "bad --alpha '%s': want "
						      "a fraction such as 0.05 "
						      "or 5%%",
						      optarg);
				goto out;
			}
			break;
		case 'e':
			if (parse_fraction(&vopt.min_effect, optarg) < 0) {
				ret = cmd_usage_error(&cmd_compare_entry,
						      "bad --min-effect '%s': "
						      "want a fraction such as "
						      "0.05 or 5%%",
						      optarg);
				goto out;
			}
			break;
		case 'm':
			metrics = xrealloc(metrics,
					   (nmetrics + 1) * sizeof(*metrics));
			metrics[nmetrics++] = optarg;
			break;
		case 'N':
			no_scenario = true;
			break;
		case 'f':
			vopt.force = true;
			break;
		case 'k':
			vopt.no_baseline_ok = true;
			break;
		case 'F':
			if ((ret = parse_formats(&fmts, optarg)))
				goto out;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'A':
			ropt.all_rows = true;
			break;
		case 'G':
			flame_path = optarg;
			break;
		case ':':
			ret = cmd_usage_error(&cmd_compare_entry,
					      "option '%s' needs a value",
					      argv[optind - 1]);
			goto out;
		default:
			ret = cmd_usage_error(&cmd_compare_entry,
					      "unknown option '%s'",
					      argv[optind - 1]);
			goto out;
		}
	}
	if (baseline) {
		if (argc - optind > 1) {
			ret = cmd_usage_error(&cmd_compare_entry,
					      "with --baseline, give only the "
					      "head");
			goto out;
		}
		if (optind < argc)
			head_spec = argv[optind];
	} else {
		if (argc - optind != 2) {
			ret = cmd_usage_error(&cmd_compare_entry,
					      "need a base and a head (or "
					      "--baseline REF)");
			goto out;
		}
		base_spec = argv[optind];
		head_spec = argv[optind + 1];
	}
	vopt.metrics = metrics;
	vopt.nmetrics = nmetrics;
	ropt.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (outdir && mkdir(outdir, 0777) < 0 && errno != EEXIST) {
		error("cannot create '%s': %s", outdir, strerror(errno));
		ret = HARNESS_EXIT_RUNTIME;
		goto out;
	}

	/* The config: projects for revisions, the scenario, the store. */
	if (!c.cfg_path)
		c.cfg_path = config_default_path();
	if (config_load(&c.cfg, c.cfg_path, &cause) < 0) {
		if (!store_opt || c.cfg_path != config_default_path()) {
			error("%s", cause);
			ret = HARNESS_EXIT_CONFIG;
			goto out;
		}
		free(cause);
		cause = NULL;
		c.cfg = NULL;
	}
	store_path = store_opt ? xstrdup(store_opt)
			       : config_resolve(c.cfg, c.cfg->store);
	if (stat(store_path, &sb) < 0) {
		error("cannot open '%s': %s", store_path, strerror(errno));
		ret = HARNESS_EXIT_DATA;
		goto out;
	}
	ret = store_open(&c.st, store_path, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = ret == STORE_ENOTSTORE || ret == STORE_ENEWER
			      ? HARNESS_EXIT_DATA
			      : HARNESS_EXIT_RUNTIME;
		goto out;
	}

	/* The head: a run id, else the newest run at a revision. */
	if (!as_run_id(&head_id, c.st, head_spec)) {
		struct store_run *like = NULL;
		int64_t other = 0;

		if ((ret = resolve_ref(sha, &c, head_spec)))
			goto out;
		if (base_spec && as_run_id(&other, c.st, base_spec))
			store_run_get(&like, c.st, other, NULL);
		ret = run_at(&head_id, &c, sha, like);
		store_run_free(like);
		if (ret)
			goto out;
		if (!head_id) {
			error("no run at %.12s ('%s') of project '%s'%s%s", sha,
			      head_spec, c.repo_name,
			      c.scenario ? " for scenario " : "",
			      c.scenario ? c.scenario : "");
			ret = HARNESS_EXIT_DATA;
			goto out;
		}
	}

	/* The base: a run id, a revision, or the merge-base. */
	if (base_spec || baseline) {
		struct store_run *head = NULL;
		const char *ref = base_spec;

		if (base_spec && as_run_id(&base_id, c.st, base_spec))
			goto have_base;
		if (store_run_get(&head, c.st, head_id, &cause) < 0) {
			error("%s", cause);
			ret = HARNESS_EXIT_RUNTIME;
			goto out;
		}
		if (baseline) {
			if ((ret = open_repo(&c)) ||
			    (ret = run_commit(sha, &c, head_id))) {
				store_run_free(head);
				goto out;
			}
			if (vcs_merge_base(mb, c.repo, sha, baseline,
					   &cause) < 0) {
				error("merge-base of '%s' and run %lld: %s",
				      baseline, (long long)head_id, cause);
				store_run_free(head);
				ret = HARNESS_EXIT_USAGE;
				goto out;
			}
			ref = mb;
		}
		ret = resolve_ref(sha, &c, ref);
		if (!ret)
			ret = run_at(&base_id, &c, sha, head);
		store_run_free(head);
		if (ret)
			goto out;
		if (!base_id)
			warning("no baseline: no comparable run at %.12s "
				"('%s')",
				sha, baseline ? baseline : base_spec);
	}
have_base:
	if (base_id && base_id == head_id) {
		warning("the base and the head are the same run (%lld)",
			(long long)head_id);
	}

	/* The head run's scenario, for its gates and regression limits. */
	if (!no_scenario) {
		struct store_run *head = NULL;

		if (store_run_get(&head, c.st, head_id, &cause) < 0) {
			error("%s", cause);
			ret = HARNESS_EXIT_RUNTIME;
			goto out;
		}
		ret = scenario_load(&sc, head->scenario, c.cfg, &cause);
		if (ret < 0) {
			error("%s (--no-scenario compares with the default "
			      "limits)",
			      cause);
			store_run_free(head);
			ret = HARNESS_EXIT_CONFIG;
			goto out;
		}
		store_run_free(head);
	}

	ret = verdict_for_runs(&v, c.st, base_id, head_id, sc, &vopt, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = ret == VERDICT_ECONFIG ? HARNESS_EXIT_CONFIG
		      : ret == VERDICT_EMISMATCH || ret == STORE_ENOENT
			      ? HARNESS_EXIT_DATA
			      : HARNESS_EXIT_RUNTIME;
		goto out;
	}
	ret = write_outputs(c.st, &v, fmts, outdir, &ropt);
	if (!ret && flame_path && !base_id)
		warning("no baseline: no flame graph written");
	else if (!ret && flame_path &&
		 flame_write_runs(flame_path, c.st, base_id, head_id, NULL,
				  &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
	}
	if (!ret)
		ret = verdict_exit_code(&v);
out:
	verdict_release(&v);
	scenario_free(sc);
	store_free(c.st);
	vcs_free(c.repo);
	config_free(c.cfg);
	free(metrics);
	free(store_path);
	free(cause);
	return ret;
}
