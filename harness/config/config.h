/* config.h: harness.yaml and scenario files as typed structs, loaded with
 * libyaml. Every value keeps where it came from, so that a later check (an
 * undefined template, a bad gate) can still name file:line:column. */
#ifndef HARNESS_CONFIG_H
#define HARNESS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Where a value was written: file (borrowed from the owning config or
 * scenario, lives as long as it), 1-based line and column. */
struct config_pos {
	const char *file;
	unsigned line;
	unsigned column;
};

/* A key/value pair: environment entries, headers, variables. */
struct config_kv {
	char *key;
	char *value;
	struct config_pos pos;
};

/* How a service gets its tracing turned on. */
enum config_trace_mode {
	CONFIG_TRACE_HTRACE,	 /* libhtrace: HTRACE_* environment (default) */
	CONFIG_TRACE_OTLP,	 /* an OpenTelemetry SDK: OTEL_* environment */
	CONFIG_TRACE_OSPROFILER, /* OSprofiler: signed headers, its own config */
	CONFIG_TRACE_NONE,
};

struct config_service {
	char *name;
	char **argv;		/* NULL-terminated; NULL when not written (only
				 * allowed when manage is false) */
	size_t argc;
	struct config_kv *env;	/* extra environment, templated */
	size_t nenv;
	int port;		/* 0 means `auto`: a free loopback port */
	char *health;		/* health path, default "/healthz" */
	char *url;		/* base URL when the stack is not managed */
	char *workdir;		/* NULL: the config file's directory */
	enum config_trace_mode trace;
	uint64_t start_timeout_ns; /* default 10s */
	struct config_pos pos;
};

struct config_project {
	char *name;
	char *path;		/* relative paths are relative to the config */
	struct config_pos pos;
};

struct config_tracing {
	bool enabled;		/* false: no service and no load driver
				 * records spans; default true */
	char **hmac_keys;	/* sign with the first, accept any */
	size_t nhmac_keys;
	bool stacks;		/* stack traces at span start; default false */
	double sample_rate;	/* 0..1, default 1 */
	bool osprofiler_headers; /* X-Trace-Info/HMAC; default true */
	bool trust_traceparent;	/* accept an unsigned traceparent; default false */
	bool otlp;		/* start the OTLP collector; default false */
	char *otlp_listen;	/* default "127.0.0.1:4318" */
	/* tracing.osprofiler.connection_string: where OSprofiler's redis
	 * driver keeps the services' notifications, templated (variables,
	 * services.NAME[.host|.port]); NULL: none are collected. */
	char *osprofiler_url;
	struct config_pos osprofiler_url_pos;
};

/* How the load driver and the health checks talk to https:// services. */
struct config_tls {
	/* PEM CA bundle to trust, as written: relative to dir (see
	 * config_resolve); NULL: the system's CAs. */
	char *ca_file;
	struct config_pos ca_file_pos;
	/* `verify: false`: no check of certificates or host names. Default
	 * false, so that a zeroed struct checks them. */
	bool insecure;
};

/* What a message about a certificate that could not be verified ends
 * with: the keys that would fix it. */
#define CONFIG_TLS_HINT \
	" (trust its CA with tls.ca_file, or set tls.verify: false)"

struct config {
	char *path;		/* the file as given */
	char *dir;		/* its directory, absolute: base of relative
				 * paths */
	int version;		/* must be 1 */
	char *store;		/* default "harness.db", as written: relative
				 * to dir (see config_resolve) */
	char *spool_dir;	/* default "spool", as written, like store */
	bool keep_spool;	/* harness run keeps a good run's spool
				 * directory; default false; not hashed */
	bool manage;		/* harness starts and stops the stack; default true */
	struct config_project *projects;
	size_t nprojects;
	struct config_tracing tracing;
	struct config_tls tls;	/* not hashed */
	struct config_service *services; /* in start order */
	size_t nservices;
	struct config_kv *variables;
	size_t nvariables;
	char hash[65];		/* sha256 hex of the effective configuration */
};

enum scenario_runner_type {
	RUNNER_CONSTANT,	/* iterations at concurrency, closed loop */
	RUNNER_DURATION,	/* as many as fit in duration, closed loop */
	RUNNER_RATE,		/* open loop: rate per second, concurrency cap */
};

struct scenario_runner {
	enum scenario_runner_type type;	/* default constant */
	unsigned iterations;	/* default 10 */
	unsigned concurrency;	/* default 1 */
	uint64_t duration_ns;	/* required for duration; cap for rate */
	double rate;		/* iterations per second, required for rate */
	unsigned warmup;	/* warm-up iterations, default 0 */
	uint64_t iteration_timeout_ns; /* default 60s */
};

enum scenario_step_type {
	STEP_REQUEST,
	STEP_POLL,
	STEP_SLEEP,
};

enum scenario_extract_from {
	EXTRACT_JSON,		/* dotted path with indexes: server.addresses[0] */
	EXTRACT_HEADER,		/* a response header, case-insensitive */
};

struct scenario_extract {
	char *var;
	enum scenario_extract_from from;
	char *path;		/* JSON path or header name */
	struct config_pos pos;
};

/* What a request step (and each try of a poll) sends and expects. Strings
 * may hold {{name}} templates, expanded per iteration. */
struct scenario_request {
	char *method;		/* default GET */
	char *url;		/* required */
	struct config_kv *headers;
	size_t nheaders;
	char *json;		/* body from a YAML `json:` mapping, as JSON text */
	char *body;		/* or a raw body */
	int *expect;		/* accepted statuses; default {200..299} if none */
	size_t nexpect;
	struct scenario_extract *extract;
	size_t nextract;
};

enum scenario_cond_op {
	COND_EQ, COND_NE,
};

/* A poll's condition: the value at a JSON path compared with a string. */
struct scenario_cond {
	char *path;
	enum scenario_cond_op op;
	char *value;
	struct config_pos pos;
};

struct scenario_step {
	char *name;		/* default: "<type> <n>" */
	enum scenario_step_type type;
	struct scenario_request request;  /* request and poll */
	struct scenario_cond until;	  /* poll: stop when true */
	struct scenario_cond *fail_if;	  /* poll: fail at once when true */
	size_t nfail_if;
	uint64_t interval_ns;	/* poll, default 500ms */
	uint64_t timeout_ns;	/* poll, default 60s; request, default 30s */
	uint64_t sleep_ns;	/* sleep */
	struct config_pos pos;
};

/* A gate as written, e.g. "iteration.p95 < 800ms" or
 * "count(db, service=scheduler) <= 5"; analyze/ parses the expression. */
struct scenario_gate {
	char *expr;
	struct config_pos pos;
	bool quoted;	/* written in quotes: expr starts at pos.column + 1 */
};

/* The column in the file of character col (1-based) of g's expression,
 * for a message that points into it. */
unsigned scenario_gate_column(const struct scenario_gate *g, unsigned col);

/* Regression limits against the baseline. */
struct scenario_regression {
	double alpha;		/* false discovery rate, default 0.05 */
	double min_effect;	/* fraction, default 0.05 (5%) */
	char **metrics;		/* default {"iteration"} */
	size_t nmetrics;
	bool fail_on_count_increase; /* default true */
};

struct scenario {
	char *path;
	char *name;		/* default: file name without .yaml */
	char *description;
	struct scenario_runner runner;
	struct scenario_step *steps;
	size_t nsteps;
	struct config_kv *variables; /* scenario-local variables */
	size_t nvariables;
	struct scenario_gate *gates;
	size_t ngates;
	bool has_regression;	/* a `regression:` section was written */
	struct scenario_regression regression;
};

/* Load and validate a harness.yaml. On error, returns a negative value and
 * sets *cause (caller frees) to "FILE:LINE:COLUMN: what was wrong" with a
 * suggestion where one helps. */
int config_load(struct config **out, const char *path, char **cause);
void config_free(struct config *cfg);

/* Load a scenario: SCENARIO is a path when it holds a '/' or ends in
 * ".yaml"; otherwise NAME.yaml is looked up in the config's directory, then
 * in $HARNESS_SCENARIOS_DIR, then in the source tree's scenarios/ folder
 * (fixed at build time). Templates are checked against the config's
 * variables and services (cfg may be NULL: none), the scenario's variables,
 * the built-ins iteration and uuid, and what earlier steps extract. */
int scenario_load(struct scenario **out, const char *name_or_path,
		  const struct config *cfg, char **cause);
void scenario_free(struct scenario *sc);

/* A path from the config (store, spool_dir, a project's path, a workdir)
 * made absolute against cfg->dir. Caller frees. */
char *config_resolve(const struct config *cfg, const char *path);

/* Write the effective configuration (defaults filled in) as YAML. */
void config_dump(const struct config *cfg, struct strbuf *out);
void scenario_dump(const struct scenario *sc, struct strbuf *out);

/* The default config: $HARNESS_CONFIG, else ./harness.yaml, else the
 * scenarios/harness.yaml harness ships. Borrowed static string. */
const char *config_default_path(void);

/* Parse "250ms", "1.5s", "2m", "100us", "1h" (units ns, us, ms, s, m, h;
 * no sign, no blank) into ns; -1 if malformed or out of range. */
int config_parse_duration(const char *s, uint64_t *ns);
/* Parse "5%" into 0.05 ("0.5%", "100%" too; no sign, no blank); -1 if
 * malformed. */
int config_parse_percent(const char *s, double *frac);

#endif
