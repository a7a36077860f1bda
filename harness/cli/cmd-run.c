/* cmd-run.c: harness run — drive a scenario against the stack and store the
 * run: the commits under test, every iteration, every span the services and
 * the load driver recorded, and how the run ended. */
#include "cli/cmd.h"
#include "cli/osp-collect.h"
#include "cli/run.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/collect.h"
#include "config/config.h"
#include "config/template.h"
#include "htrace.h"
#include "load/load.h"
#include "stack/stack.h"
#include "store/ingest.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "vcs/vcs.h"

static const char run_usage[] =
	"usage: harness run [OPTION...] SCENARIO\n"
	"\n"
	"Run a scenario against the stack of the config: start the services\n"
	"(unless --no-stack), drive the scenario's load through them with\n"
	"every iteration traced, stop them, and store the run: the commit of\n"
	"every configured project, each iteration and its steps, and every\n"
	"span. SCENARIO is a name (boot-vm: boot-vm.yaml beside the config,\n"
	"in $HARNESS_SCENARIOS_DIR or among the shipped scenarios) or a path.\n"
	"Spans are written to SPOOL/run-ID first (with --no-stack, the\n"
	"services' to SPOOL); a good run, once they are stored, removes\n"
	"that directory. A run that failed or was interrupted, or whose\n"
	"spool was not read to the end, keeps it for a look or for 'harness\n"
	"ingest', and its summary says where.\n"
	"With tracing.osprofiler.connection_string (redis://...), the\n"
	"notifications that OSprofiler's redis driver stored for the run's\n"
	"traces are read at the end, stored with the run and then deleted\n"
	"from Redis; a run whose spans could not be read there fails.\n"
	"\n"
	"  -c, --config FILE       the harness.yaml (default:\n"
	"                          $HARNESS_CONFIG, ./harness.yaml, then the\n"
	"                          shipped one)\n"
	"  --iterations N          measured iterations (a duration runner\n"
	"                          becomes a constant one)\n"
	"  --concurrency N         iterations in flight at once\n"
	"  --duration DURATION     run for DURATION (250ms, 30s, 2m): a\n"
	"                          constant runner becomes a duration one;\n"
	"                          for a rate runner, a cap\n"
	"  --rate RATE             open loop: start RATE iterations per\n"
	"                          second (makes the runner a rate one)\n"
	"  --warmup N              warm-up iterations, run first and marked\n"
	"  --label TEXT            a label stored with the run\n"
	"  --store FILE            the store (default: the config's)\n"
	"  --no-stack              use a stack that is already up: the one\n"
	"                          'harness stack up' started, or the urls of\n"
	"                          a config with manage: false\n"
	"  --baseline REF          compare the run, as 'harness compare'\n"
	"                          does, with the newest ok run at the\n"
	"                          merge-base of REF and HEAD (first\n"
	"                          project); its verdict decides the exit\n"
	"  --keep-spool            keep SPOOL/run-ID after a good run too\n"
	"                          (the config's keep_spool: true does the\n"
	"                          same)\n"
	"\n"
	"Exit status: 0 every iteration passed and no gate broke; 1 a\n"
	"regression against the baseline; 2 a gate of the scenario broke;\n"
	"3 no baseline run, or an inconclusive comparison; 70 some\n"
	"iterations failed; 75 interrupted (Ctrl-C, or a service died);\n"
	"78 a bad config or scenario.\n";

static int cmd_run_exec(int argc, char **argv);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.summary = "run a scenario against the stack and store the run",
	.usage = run_usage,
	.exec = cmd_run_exec,
};

/* The command line, before anything is loaded. */
struct run_args {
	const char *scenario;
	const char *config_path;
	const char *label;
	const char *store_opt;
	const char *baseline;
	long iterations;	/* -1: as the scenario says */
	long concurrency;
	long warmup;
	uint64_t duration_ns;	/* 0: as the scenario says */
	double rate;		/* 0: as the scenario says */
	bool no_stack;
	bool keep_spool;
};

struct run {
	struct run_args a;
	struct config *cfg;
	struct scenario *sc;
	struct run_gates gates;
	struct vcs_commit *commits;	/* one per project of cfg */
	size_t ncommits;
	char *baseline_sha;		/* --baseline resolved */
	int64_t baseline_run;		/* its run; 0 for none */
	char *store_path;
	struct store *store;
	int64_t run_id;
	char *spool_root;
	char *spool_dir;		/* this run's: <spool>/run-<id> */
	struct collector *collector;	/* OTLP receiver for this run */
	struct stack *stack;
	bool stack_started;		/* by this run: stop it at the end */
	struct load *ld;
	struct load_summary sum;
	bool load_ran;
	const struct load_iteration *its;
	size_t nits;
	struct store_ingest_stats ingest;
	/* What reading spool_dir left unread: when nothing, every span of
	 * it is in the store. */
	int64_t spool_corrupt, spool_torn, spool_pending;
	bool spool_read;		/* ingested without an error */
	int64_t dropped, corrupt, unmapped;
	/* tracing.osprofiler.connection_string expanded, the services it
	 * names (kept running until it is read), and what was read. */
	char *osp_url;
	char **osp_keep;
	size_t nosp_keep, aosp_keep;
	bool osp_collected;
	struct osp_collect_result osp;
	bool tty;
	bool progress_shown;
	/* The first failure: its exit code and the reason stored. */
	int fail_exit;
	char *fail_reason;
	/* A service died during the load: the first line of why. */
	char *death;
};

/* Set by the signal handler: the signal number. */
static volatile sig_atomic_t run_signal;
/* The load in progress, for the signal handler to stop. */
static struct load *_Atomic run_load;

static void on_signal(int sig)
{
	static const char again[] =
		"\nharness: stopping: the stack is being brought down and "
		"what was collected stored\n";
	struct load *ld;

	if (run_signal) {
		ssize_t w = write(STDERR_FILENO, again, sizeof(again) - 1);

		(void)w;
		return;
	}
	run_signal = sig;
	ld = atomic_load(&run_load);
	if (ld)
		load_stop(ld);
}

/* The first Ctrl-C (or SIGTERM) stops the load gracefully: no new
 * iteration, the stack brought down, what was collected stored. */
static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void clear_progress(struct run *r)
{
	if (r->progress_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		r->progress_shown = false;
	}
}

/* Record a failure (the first one decides the exit code and the reason
 * stored with the run) and report it. */
static void run_fail(struct run *r, int exit_code, const char *fmt, ...)
	HARNESS_PRINTF(3, 4);

static void run_fail(struct run *r, int exit_code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	clear_progress(r);
	error("%s", msg);
	if (!r->fail_exit) {
		char *nl = strchr(msg, '\n');

		if (nl)
			*nl = '\0';
		r->fail_exit = exit_code;
		r->fail_reason = msg;
	} else {
		free(msg);
	}
}

/* ---- the command line ------------------------------------------------ */

static int parse_count(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int bad_value(const char *opt, const char *want)
{
	return cmd_usage_error(&cmd_run_entry, "bad --%s '%s': want %s", opt,
			       optarg, want);
}

static int parse_args(struct run_args *a, int argc, char **argv)
{
	enum {
		OPT_ITERATIONS = 256, OPT_CONCURRENCY, OPT_DURATION, OPT_RATE,
		OPT_WARMUP, OPT_LABEL, OPT_STORE, OPT_NO_STACK, OPT_BASELINE,
		OPT_KEEP_SPOOL,
	};
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "iterations", required_argument, NULL, OPT_ITERATIONS },
		{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "no-stack", no_argument, NULL, OPT_NO_STACK },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "keep-spool", no_argument, NULL, OPT_KEEP_SPOOL },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_run_entry;
	char *end;
	int c;

	a->iterations = a->concurrency = a->warmup = -1;
	while ((c = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config_path = optarg;
			break;
		case OPT_ITERATIONS:
			if (parse_count(optarg, 1, UINT_MAX, &a->iterations))
				return bad_value("iterations", "a whole number "
						 "of at least 1");
			break;
		case OPT_CONCURRENCY:
			if (parse_count(optarg, 1, 100000, &a->concurrency))
				return bad_value("concurrency",
						 "1 to 100000");
			break;
		case OPT_WARMUP:
			if (parse_count(optarg, 0, UINT_MAX, &a->warmup))
				return bad_value("warmup", "a whole number");
			break;
		case OPT_DURATION:
			if (config_parse_duration(optarg, &a->duration_ns) ||
			    !a->duration_ns)
				return bad_value("duration", "a number and a "
						 "unit, such as 30s");
			break;
		case OPT_RATE:
			errno = 0;
			a->rate = strtod(optarg, &end);
			if (errno || !*optarg || *end || !isfinite(a->rate) ||
			    a->rate <= 0)
				return bad_value("rate", "iterations per "
						 "second, more than 0");
			break;
		case OPT_LABEL:
			a->label = optarg;
			break;
		case OPT_STORE:
			a->store_opt = optarg;
			break;
		case OPT_NO_STACK:
			a->no_stack = true;
			break;
		case OPT_BASELINE:
			a->baseline = optarg;
			break;
		case OPT_KEEP_SPOOL:
			a->keep_spool = true;
			break;
		default:
			return cmd_option_error(e, longopts, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(e, "no scenario given");
	a->scenario = argv[optind++];
	if (optind < argc)
		return cmd_usage_error(e, "unexpected argument '%s'",
				       argv[optind]);
	if (a->iterations > 0 && a->duration_ns && a->rate <= 0)
		return cmd_usage_error(e, "--iterations and --duration go "
				       "together only with --rate");
	return HARNESS_EXIT_OK;
}

/* The runner options override the scenario's runner. */
static void apply_runner_args(struct scenario_runner *rn,
			      const struct run_args *a)
{
	if (a->rate > 0) {
		rn->type = RUNNER_RATE;
		rn->rate = a->rate;
	}
	if (a->duration_ns) {
		if (rn->type == RUNNER_CONSTANT)
			rn->type = RUNNER_DURATION;
		rn->duration_ns = a->duration_ns;
	}
	if (a->iterations > 0) {
		if (rn->type == RUNNER_DURATION) {
			rn->type = RUNNER_CONSTANT;
			rn->duration_ns = 0;
		}
		rn->iterations = (unsigned)a->iterations;
	}
	if (rn->type == RUNNER_CONSTANT)
		rn->duration_ns = 0;
	if (rn->type != RUNNER_RATE)
		rn->rate = 0;
	if (a->concurrency > 0)
		rn->concurrency = (unsigned)a->concurrency;
	if (a->warmup >= 0)
		rn->warmup = (unsigned)a->warmup;
}

static const char *runner_type_name(enum scenario_runner_type t)
{
	switch (t) {
	case RUNNER_DURATION:
		return "duration";
	case RUNNER_RATE:
		return "rate";
	case RUNNER_CONSTANT:
		break;
	}
	return "constant";
}

/* The runner settings as stored with the run: a JSON object. */
static char *runner_json(const struct scenario_runner *rn)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "{\"type\": \"%s\"", runner_type_name(rn->type));
	if (rn->type != RUNNER_DURATION)
		strbuf_addf(&sb, ", \"iterations\": %u", rn->iterations);
	strbuf_addf(&sb, ", \"concurrency\": %u, \"warmup\": %u",
		    rn->concurrency, rn->warmup);
	if (rn->duration_ns)
		strbuf_addf(&sb, ", \"duration_ns\": %llu",
			    (unsigned long long)rn->duration_ns);
	if (rn->type == RUNNER_RATE)
		strbuf_addf(&sb, ", \"rate\": %.17g", rn->rate);
	strbuf_addf(&sb, ", \"iteration_timeout_ns\": %llu}",
		    (unsigned long long)rn->iteration_timeout_ns);
	return strbuf_detach(&sb, NULL);
}

/* ---- before anything starts -------------------------------------------- */

/* Config, scenario and gates: a bad file stops the run here, before a
 * service or a run row exists. */
static int load_files(struct run *r)
{
	const char *path = r->a.config_path ? r->a.config_path
					    : config_default_path();
	char *cause = NULL;

	if (config_load(&r->cfg, path, &cause) < 0)
		goto bad;
	if (scenario_load(&r->sc, r->a.scenario, r->cfg, &cause) < 0)
		goto bad;
	apply_runner_args(&r->sc->runner, &r->a);
	if (run_gates_parse(&r->gates, r->sc, &cause) < 0)
		goto bad;
	return 0;
bad:
	error("%s", cause);
	free(cause);
	return HARNESS_EXIT_CONFIG;
}

/* The commit of every configured project; with --baseline, the commit the
 * baseline ref meets HEAD at in the first project. */
static int read_commits(struct run *r)
{
	struct vcs_repo *repo = NULL;
	char *cause = NULL;
	int ret = 0;

	r->commits = xcalloc(r->cfg->nprojects ? r->cfg->nprojects : 1,
			     sizeof(*r->commits));
	for (size_t i = 0; i < r->cfg->nprojects && !ret; i++) {
		const struct config_project *p = &r->cfg->projects[i];
		char *path = config_resolve(r->cfg, p->path);

		if (vcs_open(&repo, path, &cause) < 0 ||
		    vcs_head(&r->commits[i], repo, &cause) < 0) {
			error("%s:%u:%u: project '%s': %s", p->pos.file,
			      p->pos.line, p->pos.column, p->name, cause);
			ret = HARNESS_EXIT_CONFIG;
		} else {
			r->ncommits++;
		}
		if (!ret && i == 0 && r->a.baseline) {
			char sha[VCS_SHA_BUFSZ];

			if (vcs_merge_base(sha, repo, "HEAD", r->a.baseline,
					   &cause) < 0) {
				error("--baseline '%s': %s", r->a.baseline,
				      cause);
				ret = HARNESS_EXIT_USAGE;
			} else {
				r->baseline_sha = xstrdup(sha);
			}
		}
		free(cause);
		cause = NULL;
		free(path);
		vcs_free(repo);
		repo = NULL;
	}
	if (!ret && r->a.baseline && !r->cfg->nprojects) {
		error("--baseline '%s': the config names no project to find it "
		      "in", r->a.baseline);
		ret = HARNESS_EXIT_CONFIG;
	}
	return ret;
}

static int open_store(struct run *r)
{
	char *cause = NULL;
	int ret;

	r->store_path = r->a.store_opt ? xstrdup(r->a.store_opt)
				       : config_resolve(r->cfg, r->cfg->store);
	ret = store_open(&r->store, r->store_path, &cause);
	if (ret < 0) {
		error("%s", cause);
		free(cause);
		return ret == STORE_ENOTSTORE || ret == STORE_ENEWER
			       ? HARNESS_EXIT_DATA
			       : HARNESS_EXIT_RUNTIME;
	}
	return 0;
}

/* The run row, status running, with its commits: from here on a crash
 * leaves a visible run. */
static int create_run(struct run *r)
{
	struct store_run_info info = { 0 };
	struct strbuf dump = STRBUF_INIT;
	char host[256] = "";
	char *runner = runner_json(&r->sc->runner), *cause = NULL;
	int ret = 0;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	config_dump(r->cfg, &dump);
	info.scenario = r->sc->name;
	info.label = r->a.label;
	info.config_hash = r->cfg->hash;
	info.config = dump.buf;
	info.host = host[0] ? host : NULL;
	info.start_ns = (int64_t)time_wall_ns();
	info.runner_json = runner;
	if (store_tx_begin(r->store, &cause) < 0 ||
	    store_run_create(&r->run_id, r->store, &info, &cause) < 0)
		goto fail;
	for (size_t i = 0; i < r->ncommits; i++) {
		const struct config_project *p = &r->cfg->projects[i];
		const struct vcs_commit *vc = &r->commits[i];
		struct store_commit c = {
			.repo = p->name,
			.path = p->path,
			.sha = vc->sha,
			.branch = vc->branch,
			.dirty = vc->dirty,
			.subject = vc->subject,
			.time = vc->time,
		};

		if (store_run_add_commit(r->store, r->run_id, &c, &cause) < 0)
			goto fail;
	}
	if (store_tx_commit(r->store, &cause) < 0)
		goto fail;
	goto out;
fail:
	store_tx_rollback(r->store);
	error("cannot record the run in '%s': %s", r->store_path, cause);
	r->run_id = 0;
	ret = HARNESS_EXIT_RUNTIME;
out:
	free(cause);
	free(runner);
	strbuf_release(&dump);
	return ret;
}

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; *s && !ret; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	if (!ret && mkdir(p, 0777) < 0 && errno != EEXIST)
		ret = -1;
	free(p);
	return ret;
}

/* <spool>/run-<id>, made new: a directory left by a run of another store
 * with the same id gets a suffix, so its files never join this run. */
static void make_spool_dir(struct run *r)
{
	r->spool_root = config_resolve(r->cfg, r->cfg->spool_dir);
	if (mkdir_p(r->spool_root) < 0) {
		run_fail(r, HARNESS_EXIT_RUNTIME, "cannot create '%s': %s",
			 r->spool_root, strerror(errno));
		return;
	}
	for (unsigned k = 0; k < 1000; k++) {
		char *dir = k ? xasprintf("%s/run-%lld.%u", r->spool_root,
					  (long long)r->run_id, k)
			      : xasprintf("%s/run-%lld", r->spool_root,
					  (long long)r->run_id);

		if (!mkdir(dir, 0777)) {
			r->spool_dir = dir;
			return;
		}
		if (errno != EEXIST) {
			run_fail(r, HARNESS_EXIT_RUNTIME,
				 "cannot create '%s': %s", dir,
				 strerror(errno));
			free(dir);
			return;
		}
		free(dir);
	}
	run_fail(r, HARNESS_EXIT_RUNTIME, "cannot create a spool directory "
		 "for run %lld in '%s'", (long long)r->run_id, r->spool_root);
}

/* ---- the stack ------------------------------------------------------ */

static int stack_exit(int ret)
{
	if (ret == STACK_ERROR_CONFIG)
		return HARNESS_EXIT_CONFIG;
	if (ret == STACK_ERROR_INTERRUPTED)
		return HARNESS_EXIT_INTERRUPTED;
	return HARNESS_EXIT_RUNTIME;
}

/* --no-stack: the stack `harness stack up` left running, or the urls of an
 * unmanaged config. */
static void attach_stack(struct run *r)
{
	char *state = stack_state_path(r->cfg), *cause = NULL;
	int ret = stack_load(&r->stack, state, &cause);

	if (ret == 1) {
		if (r->cfg->manage) {
			run_fail(r, HARNESS_EXIT_RUNTIME,
				 "--no-stack: no stack is running for '%s' "
				 "(no '%s'); start one with 'harness stack up "
				 "-c %s'",
				 r->cfg->path, state, r->cfg->path);
			goto out;
		}
		ret = stack_attach(&r->stack, r->cfg, &cause);
	}
	if (ret < 0) {
		run_fail(r, stack_exit(ret), "%s", cause);
		goto out;
	}
	if (stack_check(r->stack, &cause) < 0)
		run_fail(r, HARNESS_EXIT_RUNTIME, "--no-stack: %s", cause);
out:
	free(cause);
	free(state);
}

/* With tracing.otlp enabled, services that speak OTLP (an OpenTelemetry
 * SDK, OSprofiler's otlp:// driver) export to a collector that this run
 * starts before them and stops after them, writing into the run's spool
 * directory, so their spans are ingested with everyone else's. */
static void start_collector(struct run *r)
{
	struct collect_options o = {
		.listen = r->cfg->tracing.otlp_listen,
		.spool_dir = r->spool_dir,
	};
	char *cause = NULL;

	if (!r->cfg->tracing.enabled || !r->cfg->tracing.otlp || r->a.no_stack)
		return;
	if (collect_start(&r->collector, &o, &cause) < 0) {
		run_fail(r, HARNESS_EXIT_RUNTIME,
			 "cannot start the OTLP collector: %s (another "
			 "collector on that address? change tracing.otlp.listen)",
			 cause);
		free(cause);
		r->collector = NULL;
		return;
	}
	printf("collecting OTLP on http://%s\n", collect_address(r->collector));
}

/* After the services stopped: whatever they exported on the way out has
 * been answered, so it is in the spool. */
static void stop_collector(struct run *r)
{
	collect_stop(r->collector);
	r->collector = NULL;
}

static void start_stack(struct run *r)
{
	struct stack_options opts = {
		.spool_dir = r->spool_dir,
		.stop = &run_signal,
	};
	char *cause = NULL, *state;
	int ret;

	if (r->a.no_stack) {
		attach_stack(r);
		return;
	}
	if (r->cfg->manage && r->cfg->nservices)
		printf("starting %zu services\n", r->cfg->nservices);
	fflush(stdout);
	ret = stack_up(&r->stack, r->cfg, &opts, &cause);
	if (ret < 0) {
		if (ret != STACK_ERROR_INTERRUPTED)
			run_fail(r, stack_exit(ret), "%s", cause);
		free(cause);
		r->stack = NULL;
		return;
	}
	r->stack_started = true;
	/* Which processes served this run, for whoever looks at it later
	 * (and for tests, which kill one). */
	state = xasprintf("%s/stack.json", r->spool_dir);
	if (stack_save(r->stack, state, &cause) < 0) {
		warning("%s", cause);
		free(cause);
	}
	free(state);
}

/* Every service but those the OSprofiler connection string names: their
 * last spans are in, and the store they are in still runs. */
static void stop_services(struct run *r)
{
	char *cause = NULL;

	if (!r->stack || !r->stack_started)
		return;
	if (stack_down_except(r->stack, (const char *const *)r->osp_keep,
			      r->nosp_keep, &cause) < 0) {
		clear_progress(r);
		warning("%s", cause);
		free(cause);
	}
}

static void stop_stack(struct run *r)
{
	char *cause = NULL;

	if (!r->stack)
		return;
	if (r->stack_started && stack_down(r->stack, &cause) < 0) {
		clear_progress(r);
		warning("%s", cause);
		free(cause);
	}
	/* A loaded stack is detached: freeing it leaves it running. */
	stack_free(r->stack);
	r->stack = NULL;
}

/* ---- the load ------------------------------------------------------- */

/* Watches the stack while the load runs: a service that dies stops the
 * load at once (its pidfd wakes the poll), or within 200 ms. */
struct watcher {
	struct stack *stack;
	struct load *ld;
	atomic_int done;
	char *death;		/* why, when a service died */
	pthread_t thread;
};

#define WATCH_INTERVAL_MS 200

static void *watch_main(void *arg)
{
	struct watcher *w = arg;

	while (!atomic_load(&w->done)) {
		struct pollfd fds[64];
		size_t n = stack_pollfds(w->stack, fds, ARRAY_SIZE(fds));
		char *cause = NULL;

		if (poll(fds, n, WATCH_INTERVAL_MS) < 0 && errno != EINTR)
			break;
		if (stack_check(w->stack, &cause) < 0) {
			w->death = cause ? cause : xstrdup("a service died");
			load_stop(w->ld);
			break;
		}
	}
	return NULL;
}

static const char *service_url(const char *name, void *payload)
{
	return stack_endpoint(payload, name);
}

static void on_progress(const struct load_progress *p, void *payload)
{
	struct run *r = payload;
	char el[32], left[32];

	if (!r->tty)
		return;
	time_format_duration(el, sizeof(el), p->elapsed_ns);
	printf("\r%s: %s%llu", r->sc->name, p->warming_up ? "warm-up " : "",
	       (unsigned long long)p->done);
	if (p->total)
		printf("/%llu", (unsigned long long)p->total);
	printf(" iterations, %.1f it/s, %llu errors, %s elapsed",
	       p->rate, (unsigned long long)p->failed, el);
	if (p->remaining_ns) {
		time_format_duration(left, sizeof(left), p->remaining_ns);
		printf(", %s left", left);
	}
	fputs("\033[K", stdout);
	fflush(stdout);
	r->progress_shown = true;
}

/* The load driver records its own spans (service "harness") into the
 * run's spool directory, with the tracing settings of the config. */
static bool start_tracing(struct run *r)
{
	const struct config_tracing *tr = &r->cfg->tracing;
	struct htrace_options o;
	struct strbuf keys = STRBUF_INIT;
	int ret;

	for (size_t i = 0; i < tr->nhmac_keys; i++)
		strbuf_addf(&keys, "%s%s", i ? "," : "", tr->hmac_keys[i]);
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = r->spool_dir;
	o.hmac_keys = keys.buf;
	o.stacks = tr->stacks;
	o.sample_rate = tr->sample_rate;
	o.trust_traceparent = tr->trust_traceparent;
	o.osprofiler_headers = tr->osprofiler_headers;
	ret = htrace_init_with(&o);
	strbuf_release(&keys);
	if (ret) {
		warning("cannot start tracing in '%s'; the iterations are not "
			"traced", r->spool_dir);
		return false;
	}
	return true;
}

static void drive_load(struct run *r)
{
	struct load_options opts = { 0 };
	struct watcher w = { 0 };
	bool watching = false;
	char *cause = NULL, *ca_file = NULL;
	int err;

	opts.scenario = r->sc;
	opts.variables = r->cfg->variables;
	opts.nvariables = r->cfg->nvariables;
	opts.service_url = service_url;
	opts.service_payload = r->stack;
	opts.on_progress = on_progress;
	opts.payload = r;
	/* https:// services: the CAs and checks the health checks used. */
	if (r->cfg->tls.ca_file)
		ca_file = config_resolve(r->cfg, r->cfg->tls.ca_file);
	opts.ca_file = ca_file;
	opts.insecure = r->cfg->tls.insecure;
	/* tracing: {enabled: false}: no spans, no trace headers. */
	opts.trace = r->cfg->tracing.enabled && start_tracing(r);
	if (load_new(&r->ld, &opts, &cause) < 0) {
		run_fail(r, HARNESS_EXIT_CONFIG, "scenario '%s': %s",
			 r->sc->path, cause);
		free(cause);
		goto out;
	}

	atomic_store(&run_load, r->ld);
	if (run_signal)
		load_stop(r->ld);
	w.stack = r->stack;
	w.ld = r->ld;
	atomic_init(&w.done, 0);
	err = pthread_create(&w.thread, NULL, watch_main, &w);
	if (err)
		warning("cannot watch the stack: %s", strerror(err));
	else
		watching = true;

	if (load_run(r->ld, &r->sum, &cause) < 0) {
		run_fail(r, HARNESS_EXIT_RUNTIME, "cannot drive the load: %s",
			 cause);
		free(cause);
	} else {
		r->load_ran = true;
	}
	atomic_store(&run_load, NULL);
	if (watching) {
		atomic_store(&w.done, 1);
		pthread_join(w.thread, NULL);
	}
	clear_progress(r);
	if (w.death) {
		char *nl = strchr(w.death, '\n');

		error("%s", w.death);
		if (nl)
			*nl = '\0';
		r->death = w.death;
	}
	r->its = load_results(r->ld, &r->nits);
out:
	if (opts.trace)
		htrace_shutdown();
	free(ca_file);
}

/* ---- after the load --------------------------------------------------- */

static int note_service(const char *name, size_t offset, void *payload)
{
	struct run *r = payload;
	const char *dot;
	size_t len;

	(void)offset;
	if (strncmp(name, "services.", 9))
		return 0;
	name += 9;
	dot = strchr(name, '.');
	len = dot ? (size_t)(dot - name) : strlen(name);
	ALLOC_GROW(r->osp_keep, r->nosp_keep + 1, r->aosp_keep);
	r->osp_keep[r->nosp_keep++] = xstrndup(name, len);
	return 0;
}

/* tracing.osprofiler.connection_string against the stack that runs: the
 * services it names stay up until it has been read. */
static void osprofiler_setup(struct run *r)
{
	const struct config_tracing *tr = &r->cfg->tracing;
	char *cause = NULL;

	if (!tr->enabled || !tr->osprofiler_url || !r->stack)
		return;
	template_foreach_name(tr->osprofiler_url, note_service, r, NULL);
	if (stack_expand(&r->osp_url, r->stack, r->cfg, tr->osprofiler_url,
			 &cause) < 0) {
		run_fail(r, HARNESS_EXIT_CONFIG, "%s:%u:%u: "
			 "'connection_string': %s", tr->osprofiler_url_pos.file,
			 tr->osprofiler_url_pos.line,
			 tr->osprofiler_url_pos.column, cause);
		free(cause);
	}
}

/* The OSprofiler spans of the run's traces, from Redis into the store
 * and the run's spool directory. A run whose spans could not be read
 * fails: without them it would look good and be wrong. */
static void collect_osprofiler(struct run *r)
{
	char **ids, *cause = NULL;
	size_t n = 0;

	if (!r->osp_url || !r->nits)
		return;
	ids = xcalloc(r->nits, sizeof(*ids));
	for (size_t i = 0; i < r->nits; i++) {
		uint8_t id[16] = { 0 };

		if (run_trace_id_parse(id, r->its[i].trace_id) < 0)
			continue;
		ids[n] = xmalloc(37);
		osp_collect_uuid(ids[n++], id);
	}
	if (osp_collect_redis(r->store, r->osp_url, (const char *const *)ids,
			      n, r->run_id, r->spool_dir, 0, &r->ingest,
			      &r->osp, &cause) < 0) {
		run_fail(r, HARNESS_EXIT_RUNTIME, "OSprofiler's spans were "
			 "not collected: %s", cause);
		free(cause);
	} else {
		r->osp_collected = true;
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int ingest_dir(struct run *r, const char *dir)
{
	char *cause = NULL;

	if (store_ingest_path(r->store, dir, r->run_id, &r->ingest,
			      &cause) < 0) {
		run_fail(r, HARNESS_EXIT_RUNTIME, "cannot ingest '%s': %s",
			 dir, cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void ingest_spans(struct run *r)
{
	struct store_ingest_stats before = r->ingest;
	struct stat sb;

	if (r->spool_dir) {
		r->spool_read = !ingest_dir(r, r->spool_dir);
		r->spool_corrupt = r->ingest.corrupt - before.corrupt;
		r->spool_torn = r->ingest.torn - before.torn;
		r->spool_pending = r->ingest.files_pending -
				   before.files_pending;
	}
	/* Services this run did not start (--no-stack, manage: false)
	 * write where the config says; they were not stopped, so give them
	 * a flush interval first. */
	if ((!r->stack_started || !r->cfg->manage) && r->load_ran &&
	    r->spool_root &&
	    !stat(r->spool_root, &sb) && S_ISDIR(sb.st_mode)) {
		usleep(500 * 1000);
		ingest_dir(r, r->spool_root);
	}
}

/* The counts of what did not reach the store typed and whole. */
static void read_drops(struct run *r)
{
	char *cause = NULL;

	if (store_drops_total(&r->dropped, &r->corrupt, r->store, r->run_id,
			      &cause) < 0 ||
	    store_unmapped_total(&r->unmapped, r->store, r->run_id,
				 &cause) < 0) {
		warning("%s", cause);
		free(cause);
	}
}

static void store_iterations(struct run *r)
{
	char *cause = NULL;

	if (!r->nits)
		return;
	if (store_tx_begin(r->store, &cause) < 0)
		goto fail;
	for (size_t i = 0; i < r->nits; i++) {
		const struct load_iteration *it = &r->its[i];
		struct store_step *steps =
			xcalloc(it->nsteps ? it->nsteps : 1, sizeof(*steps));
		struct store_iteration si = { 0 };
		int ret;

		for (size_t j = 0; j < it->nsteps; j++) {
			const struct load_step_result *sr = &it->steps[j];

			/* The loader names every step ("request 3"). */
			steps[j].name = sr->name ? sr->name
						 : r->sc->steps[j].name;
			steps[j].start_ns = (int64_t)sr->start_ns;
			steps[j].dur_ns = (int64_t)sr->dur_ns;
			steps[j].ok = sr->ok;
			steps[j].error = sr->ok ? NULL
						: it->reason ? it->reason
							     : "failed";
		}
		si.seq = (int64_t)it->seq;
		if (run_trace_id_parse(si.trace_id, it->trace_id) < 0)
			memset(si.trace_id, 0, sizeof(si.trace_id));
		si.warmup = it->warmup;
		si.ok = it->ok;
		si.error = it->ok ? NULL : it->reason ? it->reason : "failed";
		si.intended_start_ns = (int64_t)it->intended_ns;
		si.start_ns = (int64_t)it->start_ns;
		si.dur_ns = (int64_t)it->dur_ns;
		si.steps = steps;
		si.nsteps = it->nsteps;
		ret = store_iteration_add(r->store, r->run_id, &si, &cause);
		free(steps);
		if (ret < 0)
			goto fail;
	}
	if (store_tx_commit(r->store, &cause) < 0)
		goto fail;
	return;
fail:
	store_tx_rollback(r->store);
	run_fail(r, HARNESS_EXIT_RUNTIME, "cannot store the iterations: %s",
		 cause);
	free(cause);
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

/* How the run ended: interrupted beats a setup failure, which beats
 * failed iterations. Returns the exit code; *reason is the caller's. */
static int decide(struct run *r, enum store_run_status *status,
		  char **reason)
{
	uint64_t failed = 0, measured = 0;

	for (size_t i = 0; i < r->nits; i++) {
		if (r->its[i].warmup || r->its[i].interrupted)
			continue;
		measured++;
		if (!r->its[i].ok)
			failed++;
	}
	if (r->death) {
		*status = STORE_RUN_INTERRUPTED;
		*reason = xstrdup(r->death);
		return HARNESS_EXIT_INTERRUPTED;
	}
	if (run_signal) {
		*status = STORE_RUN_INTERRUPTED;
		*reason = xasprintf("interrupted by %s",
				    signal_name(run_signal));
		return HARNESS_EXIT_INTERRUPTED;
	}
	if (r->fail_exit) {
		*status = STORE_RUN_FAILED;
		*reason = xstrdup(r->fail_reason);
		return r->fail_exit;
	}
	if (failed) {
		*status = STORE_RUN_FAILED;
		*reason = xasprintf("%llu of %llu iterations failed",
				    (unsigned long long)failed,
				    (unsigned long long)measured);
		return HARNESS_EXIT_RUNTIME;
	}
	*status = STORE_RUN_OK;
	*reason = NULL;
	return HARNESS_EXIT_OK;
}

/* --baseline: the newest ok run at the baseline commit, looked up before
 * this run exists so that it never finds itself. */
static int find_baseline(struct run *r)
{
	const struct config_project *p = &r->cfg->projects[0];
	char *cause = NULL;

	if (!r->baseline_sha)
		return 0;
	if (store_run_find(&r->baseline_run, r->store, r->sc->name,
			   r->cfg->hash, p->name, r->baseline_sha, true,
			   &cause) < 0) {
		error("%s", cause);
		free(cause);
		return HARNESS_EXIT_RUNTIME;
	}
	return 0;
}

/* --baseline: compare this run with the baseline run through `harness
 * compare` (its verdict, its report, its exit code). No baseline run is
 * inconclusive, as compare has it. */
static int compare_baseline(struct run *r)
{
	char base[32], head[32];
	char *argv[] = {
		"compare", "--store", r->store_path, "--config", r->cfg->path,
		"--project", r->cfg->projects[0].name, base, head, NULL,
	};
	int ret;

	printf("%-12s '%s' meets HEAD of '%s' at %.12s: ", "baseline",
	       r->a.baseline, r->cfg->projects[0].name, r->baseline_sha);
	if (!r->baseline_run) {
		printf("no ok run of %s there with this config\n",
		       r->sc->name);
		return HARNESS_EXIT_INCONCLUSIVE;
	}
	printf("run %lld\n\n", (long long)r->baseline_run);
	fflush(stdout);
	snprintf(base, sizeof(base), "%lld", (long long)r->baseline_run);
	snprintf(head, sizeof(head), "%lld", (long long)r->run_id);
	optind = 0; /* a full reset of getopt, as main does */
	opterr = 0;
	ret = cmd_compare_entry.exec((int)ARRAY_SIZE(argv) - 1, argv);
	fflush(stdout);
	return ret;
}

/* ---- the spool directory --------------------------------------------- */

/* A run's spool directory holds files only (spool files, stack.json):
 * remove them, then it. */
static int remove_spool_dir(const char *dir, char **cause)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = -1;

	if (!d) {
		*cause = xasprintf("cannot open '%s': %s", dir,
				   strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			*cause = xasprintf("cannot remove '%s/%s': %s", dir,
					   e->d_name, strerror(errno));
			goto out;
		}
	}
	if (rmdir(dir) < 0) {
		*cause = xasprintf("cannot remove '%s': %s", dir,
				   strerror(errno));
		goto out;
	}
	ret = 0;
out:
	closedir(d);
	return ret;
}

static void add_count(struct strbuf *sb, int64_t n, const char *one,
		      const char *many)
{
	if (n)
		strbuf_addf(sb, "%s%lld %s", sb->len ? ", " : "", (long long)n,
			    n == 1 ? one : many);
}

/* Why the run's spool directory stays, or NULL when it goes: a run stored
 * ok and complete, every record of its spool read, needs its raw spans no
 * more, unless asked to keep them. Any other run may need them looked at
 * or ingested again. */
static char *spool_keep_reason(const struct run *r,
			       enum store_run_status status, bool finished)
{
	struct strbuf sb = STRBUF_INIT;

	if (status == STORE_RUN_INTERRUPTED)
		return xstrdup("the run was interrupted");
	if (status != STORE_RUN_OK)
		return xstrdup("the run failed");
	if (!finished || !r->spool_read)
		return xstrdup("the run is not stored complete");
	add_count(&sb, r->spool_corrupt, "corrupt record skipped",
		  "corrupt records skipped");
	add_count(&sb, r->spool_torn, "file ends in a torn record",
		  "files end in a torn record");
	add_count(&sb, r->spool_pending, "file without a whole header",
		  "files without a whole header");
	if (sb.len)
		return strbuf_detach(&sb, NULL);
	strbuf_release(&sb);
	if (r->a.keep_spool)
		return xstrdup("--keep-spool");
	if (r->cfg->keep_spool)
		return xasprintf("keep_spool in %s", r->cfg->path);
	return NULL;
}

/* A good run's spool directory goes once the run is stored; one that
 * stays is named in the summary. */
static void settle_spool(struct run *r, enum store_run_status status,
			 bool finished)
{
	char *why, *real, *cause = NULL;

	if (!r->spool_dir)
		return;
	why = spool_keep_reason(r, status, finished);
	/* Ingest knows files by their real path. */
	real = why ? NULL : realpath(r->spool_dir, NULL);
	if (!why && remove_spool_dir(r->spool_dir, &cause) < 0) {
		warning("%s", cause);
		free(cause);
		why = xstrdup("it could not be removed");
	}
	/* Its files are gone: so are the store's notes of how far they
	 * were read. */
	if (!why && r->store &&
	    store_positions_forget(r->store, real ? real : r->spool_dir,
				   &cause) < 0) {
		warning("%s", cause);
		free(cause);
	}
	free(real);
	if (why)
		printf("%-12s kept in %s (%s)\n", "spool", r->spool_dir, why);
	free(why);
}

static int finish(struct run *r)
{
	enum store_run_status status;
	struct run_totals t = { 0 };
	char *reason = NULL, *cause = NULL;
	size_t broken = 0;
	bool finished = true;
	int code = decide(r, &status, &reason);

	if (store_run_finish(r->store, r->run_id, status, reason,
			     (int64_t)time_wall_ns(), &cause) < 0) {
		error("cannot finish run %lld: %s", (long long)r->run_id,
		      cause);
		free(cause);
		cause = NULL;
		finished = false;
		if (!code)
			code = HARNESS_EXIT_RUNTIME;
	}

	t.scenario = r->sc->name;
	t.run_id = r->run_id;
	t.status = status;
	t.reason = reason;
	t.spans = r->ingest.spans;
	t.spans_dropped = r->dropped;
	t.corrupt = r->corrupt;
	t.spans_unmapped = r->unmapped;
	t.elapsed_ns = r->sum.elapsed_ns;
	if (r->osp_collected) {
		t.osp_url = r->osp.source;
		t.osp_traces = (int64_t)r->osp.traces;
		t.osp_read = (int64_t)r->osp.read;
		t.osp_spans = (int64_t)r->osp.os.spans;
		t.osp_unpaired = (int64_t)r->osp.os.unpaired;
		t.osp_rejected = (int64_t)r->osp.os.rejected;
	}
	run_print_summary(stdout, r->sc, r->its, r->nits, &t);

	if (r->gates.n && status == STORE_RUN_INTERRUPTED) {
		printf("%-12s not evaluated: the run was interrupted\n",
		       "gates");
	} else if (r->gates.n && r->load_ran) {
		if (run_gates_eval(r->sc, r->store, r->run_id, stdout, &broken,
				   &cause) < 0) {
			error("cannot evaluate the gates: %s", cause);
			free(cause);
			if (!code)
				code = HARNESS_EXIT_RUNTIME;
		} else if (broken && !code) {
			code = HARNESS_EXIT_LIMIT;
		}
	}
	/* The comparison decides the exit of a run that went through:
	 * pass, regression, a broken gate (compare checks them too) or
	 * inconclusive. */
	if (r->baseline_sha && r->load_ran &&
	    (!code || code == HARNESS_EXIT_LIMIT)) {
		int cmp = compare_baseline(r);

		if (cmp != HARNESS_EXIT_OK || !code)
			code = cmp;
	}
	settle_spool(r, status, finished);
	printf("stored as run %lld in %s\n", (long long)r->run_id,
	       r->store_path);
	fflush(stdout);
	free(reason);
	return code;
}

static void run_release(struct run *r)
{
	stop_stack(r);
	stop_collector(r);
	load_free(r->ld);
	store_free(r->store);
	for (size_t i = 0; i < r->ncommits; i++)
		vcs_commit_release(&r->commits[i]);
	free(r->commits);
	free(r->baseline_sha);
	free(r->store_path);
	free(r->spool_root);
	free(r->spool_dir);
	free(r->fail_reason);
	free(r->death);
	free(r->osp_url);
	for (size_t i = 0; i < r->nosp_keep; i++)
		free(r->osp_keep[i]);
	free(r->osp_keep);
	osp_collect_result_release(&r->osp);
	run_gates_release(&r->gates);
	scenario_free(r->sc);
	config_free(r->cfg);
}

static int cmd_run_exec(int argc, char **argv)
{
	struct run r;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = parse_args(&r.a, argc, argv);
	if (ret)
		return ret;
	ret = load_files(&r);
	if (!ret)
		ret = read_commits(&r);
	if (!ret)
		ret = open_store(&r);
	if (!ret)
		ret = find_baseline(&r);
	if (!ret) {
		catch_signals();
		ret = create_run(&r);
	}
	if (ret)
		goto out;

	r.tty = isatty(STDOUT_FILENO);
	printf("run %lld of %s (%s)\n", (long long)r.run_id, r.sc->name,
	       r.sc->path);
	fflush(stdout);
	make_spool_dir(&r);
	if (!r.fail_exit && !run_signal)
		start_collector(&r);
	if (!r.fail_exit && !run_signal)
		start_stack(&r);
	if (!r.fail_exit && !run_signal)
		osprofiler_setup(&r);
	if (!r.fail_exit && !run_signal)
		drive_load(&r);
	stop_services(&r);
	stop_collector(&r);
	ingest_spans(&r);
	collect_osprofiler(&r);
	stop_stack(&r);
	read_drops(&r);
	store_iterations(&r);
	ret = finish(&r);
out:
	run_release(&r);
	return ret;
}
