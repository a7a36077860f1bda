/* runload.h: a stored run's measured iterations as an aggregate, the input
 * of comparisons and gates.
 *
 * Which iterations count: every iteration of the run that is not a warm-up
 * one. Failed iterations count for failure_rate only; the distributions
 * (aggregate) hold the iterations that succeeded. Each counted iteration
 * is the trace its trace id names; the root span of kind "iteration" takes
 * its duration from the iterations table (the load driver's own clock), so
 * the iteration time that is compared is the one `harness run` printed;
 * it is the operation (harness, iteration, iteration) whatever the
 * scenario, so that a forced comparison of two scenarios still compares
 * iterations.
 * An iteration whose trace has no span at all in the store (tracing off,
 * spool lost) is rebuilt from the iterations table: a root of kind
 * "iteration" and one span of kind "step" per step, service "harness". */
#ifndef HARNESS_ANALYZE_RUNLOAD_H
#define HARNESS_ANALYZE_RUNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/aggregate.h"
#include "analyze/gate.h"
#include "store/store.h"

struct run_data {
	struct store_run *run;	/* the run row, owned */
	struct aggregate agg;	/* the ok, non-warm-up iterations */
	size_t nmeasured;	/* non-warm-up iterations */
	size_t nfailed;		/* of those, failed */
	size_t nwarmup;
	size_t nrebuilt;	/* counted iterations without stored spans */
	size_t nspans;		/* spans that went into agg */
};

#define RUN_DATA_INIT { NULL, AGGREGATE_INIT, 0, 0, 0, 0, 0 }

void run_data_init(struct run_data *rd);
void run_data_release(struct run_data *rd);

/* Load run RUN_ID of ST into *rd (initialised by the caller). Returns 0,
 * STORE_ENOENT when there is no such run, or another negative value; on
 * failure *cause is set (caller frees) and *rd holds nothing to keep
 * (release it anyway). */
int run_data_load(struct run_data *rd, struct store *st, int64_t run_id,
		  char **cause);

/* A gate_lookup_fn over a loaded run (payload: const struct run_data *):
 * failure_rate is failed / measured iterations of the run, everything
 * else is aggregate_gate_lookup over the iterations that succeeded. */
int run_data_gate_lookup(double *value, const struct gate_metric *m,
			 char **cause, void *payload);

#endif
