/* main.c: harness-refstack SERVICE [options]: run one service of the
 * reference stack on a loopback port until SIGTERM. */
#include "refstack/refstack.h"

#include "util/error.h"
#include "util/exitcode.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: harness-refstack <service> [options]\n"
	"\n"
	"services: identity, image, network, api, scheduler, compute\n"
	"\n"
	"  --port N                listen on 127.0.0.1:N (0: any free port)\n"
	"  --host ADDR             listen address (default 127.0.0.1)\n"
	"  --port-file FILE        write the port listened on to FILE\n"
	"  --data-dir DIR          where databases and disks go (default .)\n"
	"  --db PATH               the SQLite database (default\n"
	"                          DATA-DIR/SERVICE.db)\n"
	"  --identity-url URL      base URLs of the peers\n"
	"  --image-url URL\n"
	"  --network-url URL\n"
	"  --scheduler-url URL\n"
	"  --compute-url URL\n"
	"  --api-url URL\n"
	"  --knobs FILE            KEY=VALUE knobs (also $REFSTACK_KNOBS)\n"
	"  --slow OP=DURATION      sleep DURATION inside operation OP (a span\n"
	"                          name: scheduler.select_destinations,\n"
	"                          'POST /servers'); repeatable\n"
	"  --cpu OP=DURATION       the same, busy on the CPU\n"
	"  --n-plus-one            scheduler: one SELECT per host\n"
	"  --build-failure-rate R  compute: share of builds that fail, 0..1\n"
	"  --seed N                seed of the failure draws\n"
	"  --help                  this text\n"
	"\n"
	"Knobs are applied in order: --knobs file, REFSTACK_* environment\n"
	"(REFSTACK_SLOW, REFSTACK_CPU, REFSTACK_N_PLUS_ONE,\n"
	"REFSTACK_BUILD_FAILURE_RATE, REFSTACK_SEED), then options.\n"
	"Tracing is set up by libhtrace from HTRACE_* variables.\n";

static const struct rs_service *const services[] = {
	&rs_identity_service, &rs_image_service, &rs_network_service,
	&rs_api_service, &rs_scheduler_service, &rs_compute_service,
};

/* Create the schema and seed on first start (user_version 0 -> 1). */
static int db_setup(struct refstack *rs, char **cause)
{
	sqlite3_stmt *st;
	char *err = NULL;
	int version = 0;

	if (sqlite3_exec(rs->db, "PRAGMA journal_mode=WAL", NULL, NULL,
			 &err) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(rs->db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (version >= 1)
		return 0;
	if (sqlite3_exec(rs->db, "BEGIN IMMEDIATE", NULL, NULL, &err) !=
		    SQLITE_OK ||
	    sqlite3_exec(rs->db, rs->svc->schema, NULL, NULL, &err) !=
		    SQLITE_OK)
		goto fail_rollback;
	if (rs->svc->seed && rs->svc->seed(rs, cause) < 0) {
		sqlite3_exec(rs->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(rs->db, "PRAGMA user_version = 1; COMMIT", NULL, NULL,
			 &err) != SQLITE_OK)
		goto fail_rollback;
	return 0;
fail_rollback:
	sqlite3_exec(rs->db, "ROLLBACK", NULL, NULL, NULL);
fail:
	*cause = xasprintf("cannot set up '%s': %s", rs->db_path,
			   err ? err : sqlite3_errmsg(rs->db));
	sqlite3_free(err);
	return -1;
}

enum {
	OPT_PORT = 256, OPT_HOST, OPT_PORT_FILE, OPT_DATA_DIR, OPT_DB,
	OPT_IDENTITY, OPT_IMAGE, OPT_NETWORK, OPT_SCHEDULER, OPT_COMPUTE,
	OPT_API, OPT_KNOBS, OPT_SLOW, OPT_CPU, OPT_N_PLUS_ONE, OPT_FAILURE,
	OPT_SEED, OPT_HELP,
};

static const struct option options[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "db", required_argument, NULL, OPT_DB },
	{ "identity-url", required_argument, NULL, OPT_IDENTITY },
	{ "image-url", required_argument, NULL, OPT_IMAGE },
	{ "network-url", required_argument, NULL, OPT_NETWORK },
	{ "scheduler-url", required_argument, NULL, OPT_SCHEDULER },
	{ "compute-url", required_argument, NULL, OPT_COMPUTE },
	{ "api-url", required_argument, NULL, OPT_API },
	{ "knobs", required_argument, NULL, OPT_KNOBS },
	{ "slow", required_argument, NULL, OPT_SLOW },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "n-plus-one", no_argument, NULL, OPT_N_PLUS_ONE },
	{ "build-failure-rate", required_argument, NULL, OPT_FAILURE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Base URLs without a trailing slash, so paths can be appended. */
static char *url_arg(const char *s)
{
	char *u = xstrdup(s);
	size_t n = strlen(u);

	while (n && u[n - 1] == '/')
		u[--n] = '\0';
	return u;
}

static int usage_error(const char *msg, const char *arg)
{
	error(msg, arg);
	fputs(usage, stderr);
	return HARNESS_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct refstack rs;
	const char *host = "127.0.0.1", *port_file = NULL, *knobs_file;
	char *cause = NULL, *end;
	struct rs_knobs opt_knobs;
	int port = -1, c, ret = HARNESS_EXIT_RUNTIME;
	bool started = false;
	sigset_t set;

	error_set_progname("harness-refstack");
	memset(&rs, 0, sizeof(rs));
	rs_knobs_init(&rs.knobs);
	rs_knobs_init(&opt_knobs);
	if (argc >= 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return usage_error("%s", "no service named");
	for (size_t i = 0; i < ARRAY_SIZE(services); i++)
		if (!strcmp(services[i]->name, argv[1]))
			rs.svc = services[i];
	if (!rs.svc)
		return usage_error("unknown service '%s'", argv[1]);
	knobs_file = getenv("REFSTACK_KNOBS");
	optind = 2;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_PORT:
			errno = 0;
			port = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || port < 0 ||
			    port > 65535)
				return usage_error("bad port '%s'", optarg);
			break;
		case OPT_HOST: host = optarg; break;
		case OPT_PORT_FILE: port_file = optarg; break;
		case OPT_DATA_DIR:
			free(rs.data_dir);
			rs.data_dir = xstrdup(optarg);
			break;
		case OPT_DB:
			free(rs.db_path);
			rs.db_path = xstrdup(optarg);
			break;
		case OPT_IDENTITY: case OPT_IMAGE: case OPT_NETWORK:
		case OPT_SCHEDULER: case OPT_COMPUTE: case OPT_API:
			free(rs.peer[c - OPT_IDENTITY]);
			rs.peer[c - OPT_IDENTITY] = url_arg(optarg);
			break;
		case OPT_KNOBS: knobs_file = optarg; break;
		case OPT_SLOW: case OPT_CPU:
			if (rs_knobs_add_delays(&opt_knobs, optarg,
						c == OPT_CPU, &cause) < 0)
				goto knob_error;
			break;
		case OPT_N_PLUS_ONE:
			opt_knobs.n_plus_one = true;
			break;
		case OPT_FAILURE:
			if (rs_knobs_set(&opt_knobs, "build_failure_rate",
					 optarg, &cause) < 0)
				goto knob_error;
			break;
		case OPT_SEED:
			if (rs_knobs_set(&opt_knobs, "seed", optarg, &cause) <
			    0)
				goto knob_error;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			ret = 0;
			goto out;
		default:
			ret = usage_error("%s", "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		ret = usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (port < 0) {
		ret = usage_error("%s", "--port is required");
		goto out;
	}
	/* Knobs: the file, then the environment, then the options. */
	if (knobs_file && rs_knobs_load_file(&rs.knobs, knobs_file, &cause) < 0)
		goto knob_error;
	if (rs_knobs_load_env(&rs.knobs, &cause) < 0)
		goto knob_error;
	for (size_t i = 0; i < opt_knobs.ndelays; i++) {
		struct rs_knob_delay *d = &opt_knobs.delays[i];

		ALLOC_GROW(rs.knobs.delays, rs.knobs.ndelays + 1,
			   rs.knobs.alloc);
		rs.knobs.delays[rs.knobs.ndelays++] = *d;
		d->op = NULL;
	}
	if (opt_knobs.n_plus_one)
		rs.knobs.n_plus_one = true;
	if (opt_knobs.build_failure_rate > 0)
		rs.knobs.build_failure_rate = opt_knobs.build_failure_rate;
	if (opt_knobs.seed)
		rs.knobs.seed = opt_knobs.seed;

	pthread_mutex_init(&rs.rand_lock, NULL);
	rs.rand_state = rs.knobs.seed;
	if (!rs.rand_state)
		rs.rand_state = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	if (!rs.rand_state)
		rs.rand_state = 88172645463325252u;
	if (!rs.data_dir)
		rs.data_dir = xstrdup(".");
	if (rs_mkdirs(rs.data_dir) < 0) {
		error("cannot create '%s': %s", rs.data_dir, strerror(errno));
		goto out;
	}
	if (!rs.db_path)
		rs.db_path = xasprintf("%s/%s.db", rs.data_dir, rs.svc->name);

	/* Signals are taken by sigwait in rs_serve: block them before any
	 * thread starts, so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (htrace_init() < 0)
		warning("tracing could not start; serving untraced");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rs_db_open(&rs, &cause) < 0 || db_setup(&rs, &cause) < 0) {
		error("%s", cause);
		goto out_curl;
	}
	if (rs.svc->start && rs.svc->start(&rs, &cause) < 0) {
		error("%s", cause);
		goto out_db;
	}
	started = true;
	if (rs_cast_queue_start(&rs) < 0)
		goto out_stop;
	if (rs_serve(&rs, host, port, port_file) == 0)
		ret = 0;
	rs_cast_queue_stop(&rs);
out_stop:
	if (started && rs.svc->stop)
		rs.svc->stop(&rs);
out_db:
	rs_db_close(&rs);
out_curl:
	curl_global_cleanup();
	htrace_shutdown();
	pthread_mutex_destroy(&rs.rand_lock);
	goto out;
knob_error:
	error("%s", cause);
	ret = HARNESS_EXIT_USAGE;
out:
	free(cause);
	rs_knobs_release(&opt_knobs);
	rs_knobs_release(&rs.knobs);
	for (size_t i = 0; i < RS_NPEERS; i++)
		free(rs.peer[i]);
	free(rs.data_dir);
	free(rs.db_path);
	return ret;
}
