/* cmd-compare.c: harness compare — compare the head runs with the baseline
 * runs (one or several per side, pooled), found by run id or by git, check
 * the head's gates, print the verdict in the asked formats and exit with
 * the code CI acts on. */
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
#include "store/store.h"
#include "util/strbuf.h"
#include "vcs/vcs.h"

static const char compare_usage[] =
	"usage: harness compare [OPTION...] BASE HEAD\n"
	"       harness compare [OPTION...] --baseline REF [HEAD]\n"
	"\n"
	"Compare the head run with the base run operation by operation,\n"
	"check the head's gates, and exit with the verdict. BASE and HEAD\n"
	"are run ids (see 'harness runs') or git revisions of the project\n"
	"under test; a revision stands for the newest comparable run (same\n"
	"scenario, same config hash) at its commit, or for every one of them\n"
	"with --all-runs. With --baseline REF the base is the run at the\n"
	"merge-base of REF and the head (default head: HEAD), as a\n"
	"pull-request job wants.\n"
	"\n"
	"Several runs per side: BASE and HEAD are comma-separated lists\n"
	"(harness compare 3,5,7 4,6,8), of run ids and revisions alike. As\n"
	"many runs a side are paired rounds (run i of the base ran next to\n"
	"run i of the head, as ci/gate.sh --rounds makes them): each round's\n"
	"shift is estimated on its own and the rounds are combined, so the\n"
	"machine's drift between rounds widens the intervals instead of\n"
	"passing for a change; otherwise a side's runs are pooled. The runs\n"
	"of a side must share scenario and config hash (--force pools them\n"
	"anyway); the gates apply to the pooled head.\n"
	"\n"
	"  -c, --config FILE   harness.yaml: projects, scenarios, the store\n"
	"                      (default: $HARNESS_CONFIG, ./harness.yaml, the\n"
	"                      shipped one)\n"
	"  --store FILE        the store (default: the config's)\n"
	"  --project NAME      the project whose git revisions are meant\n"
	"                      (default: the config's first project)\n"
	"  --scenario NAME     the scenario, when both sides are revisions\n"
	"                      (default: the newest run at the head commit)\n"
	"  --baseline REF      base: the run at merge-base(REF, head)\n"
	"  --alpha X           false discovery rate, 0.05 or 5% (default: the\n"
	"                      scenario's regression.alpha, else 5%)\n"
	"  --min-effect X      smallest relative shift that matters, 0.05 or\n"
	"                      5% (default: the scenario's, else 5%)\n"
	"  --metric METRIC     a metric whose regression fails, repeatable:\n"
	"                      critical-path, iteration, step(NAME),\n"
	"                      op(SERVICE, KIND, NAME) (default: the\n"
	"                      scenario's regression.metrics, else\n"
	"                      critical-path)\n"
	"  --look N            this comparison is look N of a sequential gate\n"
	"                      that adds rounds until it is settled: every\n"
	"                      test is at alpha / 2^N (ci/gate.sh --budget)\n"
	"  --no-scenario       do not load the scenario file: default gates\n"
	"                      (no failed iteration) and regression limits\n"
	"  --all-runs          a revision stands for every comparable run at\n"
	"                      its commit, pooled, not only the newest\n"
	"  --force             compare runs of different scenarios or configs\n"
	"  --no-baseline-ok    exit 0, not 3, when there is no baseline run or\n"
	"                      the comparison is inconclusive\n"
	"  --format LIST       comma-separated: terminal, markdown, json,\n"
	"                      junit, html (default: terminal)\n"
	"  --out-dir DIR       write compare.md, compare.json, compare.xml,\n"
	"                      compare.html in DIR (terminal still goes to\n"
	"                      stdout; also as --out, its old name)\n"
	"  --all               show every operation, not only the findings\n"
	"  --flame FILE        write the differential flame graph (SVG) of\n"
	"                      the base against the head to FILE\n"
	"\n"
	"Exit: 0 pass; 1 regression; 2 an absolute gate broken (wins over 1);\n"
	"3 inconclusive or no baseline; 4 a machine-wide shift (every service\n"
	"moved together: measure again); 64 usage; 65 no such run, no run at a\n"
	"commit, or runs not comparable; 70 runtime failure; 78 bad config or\n"
	"scenario.\n";

static int cmd_compare_exec(int argc, char **argv);

const struct cmd_entry cmd_compare_entry = {
	.name = "compare",
	.summary = "compare two runs and gate on the verdict",
	.usage = compare_usage,
	.exec = cmd_compare_exec,
};

/* The formats are the report writers with a comparison (report.h), one
 * bit each by their place in report_writers, written in that order. */
static int parse_formats(unsigned *out, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	int ret = 0;

	*out = 0;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		const struct report_writer *w = report_writer_find(t);
		size_t i;

		if (!w || !w->write_compare) {
			ret = cmd_usage_error(&cmd_compare_entry,
					      "bad --format '%s': want a list "
					      "of terminal, markdown, json, "
					      "junit, html",
					      list);
			break;
		}
		for (i = 0; report_writers[i] != w; i++)
			;
		*out |= 1u << i;
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
	bool all_runs;		/* a revision: every comparable run */
};

/* The runs of one side, in the order given, each once. */
struct side {
	int64_t *ids;
	size_t n, alloc;
};

static void side_add(struct side *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return;
	ALLOC_GROW(s->ids, s->n + 1, s->alloc);
	s->ids[s->n++] = id;
}

/* The project's repository, opened on first use. On failure *cause
 * says why, for the caller to report. */
static int open_repo(struct ctx *c, char **cause)
{
	const struct config_project *p = NULL;
	char *path, *sub = NULL;

	if (c->repo)
		return HARNESS_EXIT_OK;
	if (!c->cfg) {
		*cause = xasprintf("git revisions need a config with "
				   "projects: cannot load '%s'",
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
			*cause = xasprintf("no project '%s' in '%s'",
					   c->project, c->cfg->path);
		else
			*cause = xasprintf("'%s' names no project, so git "
					   "revisions mean nothing; give run "
					   "ids",
					   c->cfg->path);
		return HARNESS_EXIT_CONFIG;
	}
	path = config_resolve(c->cfg, p->path);
	if (vcs_open(&c->repo, path, &sub) < 0) {
		*cause = xasprintf("project '%s': %s", p->name, sub);
		free(sub);
		free(path);
		return HARNESS_EXIT_CONFIG;
	}
	free(path);
	c->repo_name = p->name;
	return HARNESS_EXIT_OK;
}

/* open_repo, reporting why it failed. */
static int open_repo_or_say(struct ctx *c)
{
	char *cause = NULL;
	int ret = open_repo(c, &cause);

	if (ret) {
		error("%s", cause);
		free(cause);
	}
	return ret;
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

/* SPEC, one item of a side that is not a run id, as a git revision of
 * the project. Digits only (a run id that is not in the store) stand for
 * a revision only when one resolves, else for the missing run; anything
 * else that does not resolve names neither a run nor a revision. Both are
 * bad input data (65): what the name stands for is not there. */
static int resolve_ref(char sha[VCS_SHA_BUFSZ], struct ctx *c,
		       const char *spec)
{
	bool digits = strspn(spec, "0123456789") == strlen(spec);
	char *cause = NULL;
	int ret = open_repo(c, &cause);

	if (!ret && vcs_resolve(sha, c->repo, spec, &cause) < 0)
		ret = HARNESS_EXIT_DATA;
	if (!ret)
		return HARNESS_EXIT_OK;
	if (digits) {
		error("no run %s in '%s'; 'harness runs' lists the runs", spec,
		      store_path(c->st));
		ret = HARNESS_EXIT_DATA;
	} else if (ret == HARNESS_EXIT_DATA) {
		error("'%s' is neither a run id nor a revision of project "
		      "'%s': %s", spec, c->repo_name, cause);
	} else {
		error("'%s' is not a run id, nor a revision: %s", spec, cause);
	}
	free(cause);
	return ret;
}

/* Every run like FIRST (the newest comparable run at SHA, run_at): the
 * same scenario, config hash and commit, on a clean checkout when FIRST
 * is, status ok; oldest first. */
static int runs_like(struct side *s, struct ctx *c, const char *sha,
		     int64_t first)
{
	struct store_run *like = NULL, *runs = NULL;
	char *cause = NULL;
	bool dirty = false;
	size_t n = 0;

	if (store_run_get(&like, c->st, first, &cause) < 0 ||
	    store_runs_list(&runs, &n, c->st, like->scenario, 0, &cause) < 0) {
		error("%s", cause);
		free(cause);
		store_run_free(like);
		return HARNESS_EXIT_RUNTIME;
	}
	for (size_t k = 0; k < like->ncommits; k++)
		if (!strcmp(like->commits[k].repo, c->repo_name))
			dirty = like->commits[k].dirty;
	for (size_t i = n; i-- > 0;) {
		if (runs[i].status != STORE_RUN_OK ||
		    strcmp(runs[i].config_hash, like->config_hash))
			continue;
		for (size_t k = 0; k < runs[i].ncommits; k++)
			if (!strcmp(runs[i].commits[k].repo, c->repo_name) &&
			    !strcmp(runs[i].commits[k].sha, sha) &&
			    runs[i].commits[k].dirty == dirty)
				side_add(s, runs[i].id);
	}
	store_runs_free(runs, n);
	store_run_free(like);
	return HARNESS_EXIT_OK;
}

/* The first run id of the comma-separated SPEC, or 0. */
static int64_t first_run_id(struct store *st, const char *spec)
{
	char *copy = xstrdup(spec ? spec : ""), *save = NULL;
	int64_t id = 0;

	for (char *t = strtok_r(copy, ",", &save); t && !id;
	     t = strtok_r(NULL, ",", &save))
		as_run_id(&id, st, t);
	free(copy);
	return id;
}

/* The runs SPEC names, a comma-separated list of run ids and revisions,
 * into *s. A revision is resolved like LIKE_ID (0: like the side's first
 * run once there is one, else by --scenario and the config's hash).
 * A revision without a run stops the head; on the base it is left out
 * with a warning (no baseline when nothing is left). */
static int resolve_side(struct side *s, struct ctx *c, const char *spec,
			int64_t like_id, bool head)
{
	char *copy = xstrdup(spec), *save = NULL, *t;
	char sha[VCS_SHA_BUFSZ];
	bool several = strchr(spec, ',') != NULL;
	int ret = HARNESS_EXIT_OK;

	if (!*spec || spec[0] == ',' || spec[strlen(spec) - 1] == ',' ||
	    strstr(spec, ",,")) {
		ret = cmd_usage_error(&cmd_compare_entry,
				      "bad run list '%s': want ids or "
				      "revisions separated by commas",
				      spec);
		goto out;
	}
	for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct store_run *like = NULL;
		int64_t id = 0, lid = like_id ? like_id : s->n ? s->ids[0] : 0;

		if (as_run_id(&id, c->st, t)) {
			side_add(s, id);
			continue;
		}
		if ((ret = resolve_ref(sha, c, t)))
			goto out;
		if (lid)
			store_run_get(&like, c->st, lid, NULL);
		ret = run_at(&id, c, sha, like);
		store_run_free(like);
		if (ret)
			goto out;
		if (!id && head) {
			error("no run at %.12s ('%s') of project '%s'%s%s", sha,
			      t, c->repo_name,
			      c->scenario ? " for scenario " : "",
			      c->scenario ? c->scenario : "");
			ret = HARNESS_EXIT_DATA;
			goto out;
		}
		if (!id) {
			warning("%s: no comparable run at %.12s ('%s')",
				several ? "left out of the base"
					: "no baseline",
				sha, t);
			continue;
		}
		if (!c->all_runs)
			side_add(s, id);
		else if ((ret = runs_like(s, c, sha, id)))
			goto out;
	}
	if (!head && several && !s->n)
		warning("no baseline: no run of '%s' found", spec);
out:
	free(copy);
	return ret;
}

/* The flame graph of the pooled runs, as flame_write_runs draws one run
 * against another. */
static int write_flame(const char *path, struct store *st,
		       const struct verdict *v, char **cause)
{
	const struct run_data *sides[2] = { &v->base, &v->head };
	const enum flame_side which[2] = { FLAME_BASE, FLAME_HEAD };
	struct report_output o = { 0 };
	struct flame_options fo;
	struct strbuf title = STRBUF_INIT;
	struct flame f;
	int ret = 0;

	flame_init(&f);
	flame_options_init(&fo);
	strbuf_addstr(&title, "runs");
	for (int k = 0; k < 2 && ret == 0; k++) {
		strbuf_addstr(&title, k ? " against" : "");
		for (size_t i = 0; i < sides[k]->nruns && ret == 0; i++) {
			int64_t id = sides[k]->runs[i]->id;

			strbuf_addf(&title, "%s%lld", i ? "," : " ",
				    (long long)id);
			ret = flame_load_run(&f, which[k], st, id, cause);
		}
	}
	if (ret < 0)
		goto out;
	flame_finish(&f);
	/* One run per side keeps the flame graph's own title. */
	if (v->base.nruns > 1 || v->head.nruns > 1)
		fo.title = title.buf;
	ret = report_output_open(&o, path, cause);
	if (ret < 0)
		goto out;
	ret = flame_write_svg(o.fp, &f, &fo, cause);
	if (ret == 0)
		ret = report_output_commit(&o, cause);
	else
		report_output_abort(&o);
out:
	strbuf_release(&title);
	flame_release(&f);
	return ret;
}

static void warn_user(const char *msg)
{
	warning("%s", msg);
}

/* The models of every run of each side, for the writers that draw runs
 * (HTML), and the differential flame graph they inline. */
struct models {
	struct report_model *heads, *bases;
	size_t nheads, nbases;
	char *flame;
	bool loaded;
};

static void models_release(struct models *ms)
{
	for (size_t i = 0; i < ms->nheads; i++)
		report_model_release(&ms->heads[i]);
	for (size_t i = 0; i < ms->nbases; i++)
		report_model_release(&ms->bases[i]);
	free(ms->heads);
	free(ms->bases);
	free(ms->flame);
}

static int load_side(struct report_model **out, size_t *n, struct store *st,
		     const struct run_data *rd, char **cause)
{
	*out = xcalloc(rd->nruns ? rd->nruns : 1, sizeof(**out));
	for (*n = 0; *n < rd->nruns; (*n)++) {
		report_model_init(&(*out)[*n]);
		if (report_model_load(&(*out)[*n], st, rd->runs[*n]->id,
				      cause) < 0) {
			(*n)++;
			return -1;
		}
	}
	return 0;
}

/* Fill C's models from the store, once. */
static int load_models(struct report_comparison *c, struct models *ms,
		       struct store *st, const struct verdict *v,
		       char **cause)
{
	char *fcause = NULL;

	if (ms->loaded)
		return 0;
	ms->loaded = true;
	if (load_side(&ms->heads, &ms->nheads, st, &v->head, cause) < 0)
		return -1;
	if (v->has_base) {
		if (load_side(&ms->bases, &ms->nbases, st, &v->base, cause) < 0)
			return -1;
		ms->heads[0].base = &ms->bases[0];
	}
	if (v->compared)
		ms->heads[0].cmp = &v->cmp;
	/* The page inlines the differential flame graph. */
	if (v->has_base &&
	    flame_svg_for_runs(&ms->flame, st, v->base.run->id,
			       v->head.run->id, NULL, &fcause) < 0) {
		warning("no flame graph in the HTML page: %s", fcause);
		free(fcause);
	}
	c->heads = ms->heads;
	c->nheads = ms->nheads;
	c->bases = ms->bases;
	c->nbases = ms->nbases;
	return 0;
}

/* Each asked format through its writer: to stdout, or to its file in
 * OUTDIR. */
static int write_outputs(struct store *st, const struct verdict *v,
			 unsigned fmts, const char *outdir,
			 const struct report_options *base_opt)
{
	struct report_comparison c = { .v = v };
	struct models ms = { 0 };
	int ret = HARNESS_EXIT_OK;

	for (size_t i = 0; report_writers[i] && !ret; i++) {
		const struct report_writer *w = report_writers[i];
		struct report_options ro = *base_opt;
		char *cause = NULL, *path = NULL;
		FILE *f = stdout;
		int rc = 0;

		if (!(fmts & (1u << i)))
			continue;
		if (w->compare_models)
			rc = load_models(&c, &ms, st, v, &cause);
		if (rc == 0 && outdir && w->compare_file) {
			path = xasprintf("%s/%s", outdir, w->compare_file);
			f = fopen(path, "w");
			if (!f) {
				error("cannot open '%s': %s", path,
				      strerror(errno));
				free(path);
				ret = HARNESS_EXIT_RUNTIME;
				break;
			}
		}
		ro.out_path = path;
		ro.flame_svg = ms.flame;
		if (rc == 0)
			rc = w->write_compare(f, &c, &ro, &cause);
		if (f != stdout && fclose(f) != 0 && rc == 0) {
			cause = xasprintf("cannot write '%s': %s", path,
					  strerror(errno));
			rc = -1;
		}
		free(path);
		if (rc < 0) {
			error("%s", cause);
			free(cause);
			ret = HARNESS_EXIT_RUNTIME;
		}
	}
	models_release(&ms);
	return ret;
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
		{ "all-runs", no_argument, NULL, 'R' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-baseline-ok", no_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'F' },
		{ "out-dir", required_argument, NULL, 'o' },
		/* The old name: ci/gate.sh's callers in users' pipelines. */
		{ "out", required_argument, NULL, 'O' },
		{ "all", no_argument, NULL, 'A' },
		{ "flame", required_argument, NULL, 'G' },
		{ "look", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { 0 };
	struct verdict_options vopt;
	struct report_options ropt;
	struct verdict v;
	struct scenario *sc = NULL;
	const char *store_opt = NULL, *baseline = NULL, *outdir = NULL;
	const char **metrics = NULL, *flame_path = NULL;
	const char *base_spec = NULL, *head_spec = "HEAD";
	char *store_path = NULL, *cause = NULL;
	char sha[VCS_SHA_BUFSZ], mb[VCS_SHA_BUFSZ];
	struct side base = { 0 }, head = { 0 };
	unsigned fmts = 0;
	bool no_scenario = false;
	size_t nmetrics = 0;
	struct stat sb;
	int opt, ret;

	verdict_options_init(&vopt);
	report_options_init(&ropt);
	ropt.warn = warn_user;
	verdict_init(&v);
	while ((opt = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
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
		case 'R':
			c.all_runs = true;
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
		case 'O':
			warning("'--out' is an old name of '--out-dir'");
			/* fall through */
		case 'o':
			outdir = optarg;
			break;
		case 'A':
			ropt.all_rows = true;
			break;
		case 'G':
			flame_path = optarg;
			break;
		case 'L': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 ||
			    n > 1000 || optarg[0] == '-') {
				ret = cmd_usage_error(&cmd_compare_entry,
						      "bad --look '%s': want "
						      "a whole number from 1 "
						      "to 1000",
						      optarg);
				goto out;
			}
			vopt.look = (unsigned)n;
			break;
		}
		default:
			ret = cmd_option_error(&cmd_compare_entry,
					       opts, argv, opt);
			goto out;
		}
	}
	if (!fmts && (ret = parse_formats(&fmts, "terminal")))
		goto out;
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

	/* The head: run ids, revisions (like a run id given on either
	 * side, else by --scenario and the config's hash). */
	{
		int64_t like = first_run_id(c.st, head_spec);

		if (!like)
			like = first_run_id(c.st, base_spec);
		if ((ret = resolve_side(&head, &c, head_spec, like, true)))
			goto out;
	}

	/* The base: run ids, revisions like the head, or the merge-base. */
	if (baseline) {
		if ((ret = open_repo_or_say(&c)) ||
		    (ret = run_commit(sha, &c, head.ids[0])))
			goto out;
		if (vcs_merge_base(mb, c.repo, sha, baseline, &cause) < 0) {
			error("merge-base of '%s' and run %lld: %s", baseline,
			      (long long)head.ids[0], cause);
			ret = HARNESS_EXIT_USAGE;
			goto out;
		}
		ret = resolve_side(&base, &c, mb, head.ids[0], false);
	} else {
		ret = resolve_side(&base, &c, base_spec, head.ids[0], false);
	}
	if (ret)
		goto out;
	for (size_t i = 0; i < base.n; i++)
		for (size_t k = 0; k < head.n; k++)
			if (base.ids[i] == head.ids[k])
				warning("run %lld is in both the base and the "
					"head",
					(long long)head.ids[k]);

	/* The head's scenario, for its gates and regression limits. */
	if (!no_scenario) {
		struct store_run *run = NULL;

		if (store_run_get(&run, c.st, head.ids[0], &cause) < 0) {
			error("%s", cause);
			ret = HARNESS_EXIT_RUNTIME;
			goto out;
		}
		ret = scenario_load(&sc, run->scenario, c.cfg, &cause);
		if (ret < 0) {
			error("%s (--no-scenario compares with the default "
			      "limits)",
			      cause);
			store_run_free(run);
			ret = HARNESS_EXIT_CONFIG;
			goto out;
		}
		store_run_free(run);
	}

	ret = verdict_for_run_sets(&v, c.st, base.ids, base.n, head.ids,
				   head.n, sc, &vopt, &cause);
	if (ret < 0) {
		error("%s", cause);
		ret = ret == VERDICT_ECONFIG ? HARNESS_EXIT_CONFIG
		      : ret == VERDICT_EMISMATCH || ret == STORE_ENOENT
			      ? HARNESS_EXIT_DATA
			      : HARNESS_EXIT_RUNTIME;
		goto out;
	}
	ret = write_outputs(c.st, &v, fmts, outdir, &ropt);
	if (!ret && flame_path && !base.n)
		warning("no baseline: no flame graph written");
	else if (!ret && flame_path &&
		 write_flame(flame_path, c.st, &v, &cause) < 0) {
		error("%s", cause);
		ret = HARNESS_EXIT_RUNTIME;
	}
	if (!ret)
		ret = verdict_exit_code(&v);
out:
	free(base.ids);
	free(head.ids);
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
