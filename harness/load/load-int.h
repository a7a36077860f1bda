/* load-int.h: what the files of harness/load share: the load itself, its
 * workers, and the functions that run one iteration and one runner. */
#ifndef HARNESS_LOAD_INT_H
#define HARNESS_LOAD_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "load/http.h"
#include "load/load.h"

struct load_var {
	char *name;
	char *value;
};

/* One stretch of a run with one runner: the warm-up, then the measured
 * iterations. Slots are handed out under the load's lock. */
struct load_phase {
	enum scenario_runner_type type;
	bool warmup;
	uint64_t count;		/* slots; UINT64_MAX: until the deadline */
	uint64_t next;		/* the next slot to hand out */
	uint64_t t0_mono;
	uint64_t t0_wall;
	uint64_t deadline_mono;	/* duration: no start at or after this */
	double rate;		/* rate: slots per second */
	unsigned running;	/* workers still in the phase */
	/* Measured so far, updated as results are delivered. */
	uint64_t done, failed, late, interrupted;
	uint64_t first_start_mono, last_start_mono;
	uint64_t started;
};

struct load_worker {
	struct load *ld;
	struct http_client http;
	pthread_t thread;
	bool started;
	/* Scratch reused across iterations, to keep the hot path free of
	 * allocations where that is easy. */
	struct strbuf url, body, value;
	char **headers;		/* "Name: value" lines of one request */
	size_t nheaders, aheaders;
};

struct load {
	struct load_options opts;
	const struct scenario *sc;
	struct load_var *vars;	/* services.*, then scenario, then config */
	size_t nvars;
	atomic_int stop;
	/* Per step, the route its requests' spans are named after
	 * (load_route); NULL for a sleep. */
	char **routes;

	struct load_worker *workers;
	unsigned nworkers;

	pthread_mutex_t lock;
	pthread_cond_t cond;	/* a worker left its phase */
	struct load_phase *phase;
	uint64_t next_seq;
	/* Finished, not yet delivered; swapped out under lock. */
	struct load_iteration *queue;
	size_t nqueue, aqueue;

	/* Delivered, in delivery order until load_run sorts them. */
	struct load_iteration *results;
	size_t nresults, aresults;
	bool ran;
};

/* Run one iteration on worker w now and fill *it (whose seq, warmup and
 * late the caller has set). intended_mono is the monotonic time it should
 * have started (0: now), for the latency; timeout_ns bounds it. */
void load_iteration_run(struct load_worker *w, struct load_iteration *it,
			uint64_t intended_mono, uint64_t timeout_ns);
void load_iteration_release(struct load_iteration *it);

/* Sleep until the monotonic time t, waking early when the load is
 * stopped; returns false when it was. */
bool load_sleep_until(struct load *ld, uint64_t t);

/* Run one phase with n workers, delivering results as they come. */
int load_phase_run(struct load *ld, struct load_phase *ph, unsigned n,
		   char **cause);

#endif
