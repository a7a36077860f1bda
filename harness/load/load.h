/* load.h: the load driver. It runs a scenario's steps as iterations over
 * HTTP, with the scenario's runner (constant, duration or rate), records
 * each iteration as one trace with libhtrace, and hands every iteration's
 * result to the caller. It prints nothing. */
#ifndef HARNESS_LOAD_H
#define HARNESS_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct load;

/* One step of one iteration, as it ran. */
struct load_step_result {
	const char *name;	/* borrowed from the scenario */
	uint64_t start_ns;	/* wall clock, unix ns */
	uint64_t dur_ns;
	int status;		/* last HTTP status; 0 for sleep or no reply */
	unsigned requests;	/* HTTP requests sent (a poll sends many) */
	bool ok;
};

/* One iteration: the steps in order, each with a fresh variable scope. */
struct load_iteration {
	uint64_t seq;		/* 0-based, unique in the run, warm-ups first */
	bool warmup;
	bool ok;
	/* Cut short by load_stop: neither ok nor counted as failed. */
	bool interrupted;
	/* Rate runner: started later than its slot plus the tolerance
	 * because every worker was busy. */
	bool late;
	char *reason;		/* NULL when ok: "step 'x': expected ..." */
	char trace_id[33];	/* hex; "" when tracing is off */
	uint64_t intended_ns;	/* wall: when it should have started */
	uint64_t start_ns;	/* wall: when it did start */
	uint64_t dur_ns;	/* from the actual start */
	/* From the intended start, so that a late start counts against the
	 * system (no coordinated omission); dur_ns for closed loops. */
	uint64_t latency_ns;
	struct load_step_result *steps;	/* the steps that ran */
	size_t nsteps;
};

/* What the progress callback gets, about the measured iterations unless
 * warming_up is set (then about the warm-up). */
struct load_progress {
	bool warming_up;
	uint64_t done;		/* finished, whatever the outcome */
	uint64_t total;		/* 0 when unknown (duration runner) */
	uint64_t failed;
	uint64_t late;
	double rate;		/* finished per second so far */
	uint64_t elapsed_ns;
	uint64_t remaining_ns;	/* an estimate; 0 when unknown */
};

/* The endpoint (base URL, e.g. "http://127.0.0.1:8774") of service name,
 * for {{services.NAME}}; NULL when there is no such service. Called by
 * load_new only, never by the workers. */
typedef const char *(*load_service_fn)(const char *name, void *payload);

typedef void (*load_iteration_fn)(const struct load_iteration *it,
				  void *payload);
typedef void (*load_progress_fn)(const struct load_progress *p,
				 void *payload);

struct load_options {
	/* Borrowed; must outlive the load. */
	const struct scenario *scenario;
	/* The config's variables (borrowed, may be NULL); the scenario's own
	 * variables override them. */
	const struct config_kv *variables;
	size_t nvariables;
	load_service_fn service_url;
	void *service_payload;
	/* Both called on the thread that calls load_run, never at the same
	 * time; it pointer is valid during the call only. */
	load_iteration_fn on_iteration;
	load_progress_fn on_progress;
	void *payload;
	uint64_t progress_interval_ns;	/* 0: 200ms */
	/* Rate runner: a start later than slot + this is late. 0: 10ms. */
	uint64_t late_tolerance_ns;
	uint64_t connect_timeout_ns;	/* 0: 10s */
	/* Threads that drive the iterations, each keeping its share of
	 * the concurrency in flight at once over one event loop. 0: one per
	 * two CPUs online, at most the concurrency. */
	unsigned workers;
	size_t max_body;		/* 0: 16 MiB */
	/* https:// requests: a PEM file of the CAs to trust (borrowed,
	 * until load_run returns; NULL: the system's CAs), and whether to
	 * check the server's certificate and host name at all. Set once
	 * per connection handle: they cost an http:// request nothing. */
	const char *ca_file;
	bool insecure;
	/* Record spans with libhtrace (the caller has initialised it with
	 * htrace_init_with, service name "harness") and inject trace
	 * headers into every request. */
	bool trace;
};

struct load_summary {
	uint64_t iterations;	/* measured iterations finished */
	uint64_t failed;
	uint64_t interrupted;
	uint64_t late;
	uint64_t warmup;	/* warm-up iterations finished */
	uint64_t elapsed_ns;	/* of the measured phase */
	/* Measured iterations started per second over the measured phase:
	 * the rate runner's achieved rate. */
	double achieved_rate;
	bool stopped;		/* load_stop was called */
	unsigned workers;	/* threads that drove the iterations */
};

/*
 * Templates ({{name}}) in a step's url, headers, json and body expand, in
 * this order of precedence, to: a value extracted by an earlier step of the
 * same iteration; "iteration" (the iteration's seq); "uuid" (a random UUID
 * v4, one per iteration: every {{uuid}} of an iteration is the same);
 * "services.NAME" (from options.service_url); the scenario's variables;
 * the config's variables. Variables may themselves use services.NAME and,
 * for scenario variables, config variables; they are expanded once, by
 * load_new.
 */

/* The route of a request step, as the name of its rest.call spans:
 * METHOD (NULL: "GET"), a blank, then the path of URL_TEMPLATE with its
 * origin removed (a leading {{services.NAME}}, or a literal
 * scheme://host:port), the query and fragment cut, and every {{name}}
 * written {name}: "{{services.api}}/servers/{{server_id}}?x=1" gives
 * "GET /servers/{server_id}". One name per request of the scenario, not
 * one per server an iteration made, so that comparisons line the calls
 * up. The caller frees. */
char *load_route(const char *method, const char *url_template);

/* Prepare a run: check the scenario's templates, resolve the services it
 * names and expand the variables. Returns 0, or -1 with *cause set (caller
 * frees) naming what is undefined. */
int load_new(struct load **out, const struct load_options *opts,
	     char **cause);

/* Run the warm-up iterations (closed loop, at the runner's concurrency),
 * then the measured ones with the scenario's runner:
 *   constant: runner.iterations, concurrency workers, closed loop;
 *   duration: closed loop; no iteration starts after runner.duration, those
 *             in flight then finish;
 *   rate:     open loop, iteration k due at t0 + k/rate, at most
 *             concurrency at once; rate * duration slots when a duration is
 *             set, else runner.iterations. A slot that starts later than
 *             late_tolerance_ns after its time is marked late, and its
 *             latency counts from the slot.
 * Every iteration is bounded by runner.iteration_timeout. Results reach
 * on_iteration in batches, every 20ms or so. Returns 0 when the
 * run went through (failed iterations included: see summary) or when it was
 * stopped (summary->stopped), -1 with *cause set when it could not run
 * (threads, HTTP handles). Call once per load. */
int load_run(struct load *ld, struct load_summary *summary, char **cause);

/* Ask a running load to stop: no new iteration starts and those in flight
 * are cut short (their requests aborted, their sleeps woken). Safe from any
 * thread and from a signal handler. */
void load_stop(struct load *ld);

/* Every finished iteration, ordered by seq once load_run has returned;
 * borrowed from ld until load_free. */
const struct load_iteration *load_results(const struct load *ld, size_t *n);

void load_free(struct load *ld);

#endif
