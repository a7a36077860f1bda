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

/* One side of a comparison: one run, or several runs of the same
 * scenario and config pooled. Pooling adds every run's counted iterations
 * to the same aggregate, so a side of runs 3, 5 and 7 has one
 * distribution per operation over the iterations of all three, exactly
 * as if one run had made them all; the counts below are sums. */
struct run_data {
	struct store_run *run;	/* the first run: runs[0], borrowed */
	struct store_run **runs;	/* the run rows in the order added,
					 * owned */
	size_t nruns;
	struct aggregate agg;	/* the ok, non-warm-up iterations */
	/* The same iterations run by run: blocks[i] holds those of runs[i],
	 * so that a comparison can pair the rounds of ci/gate.sh as blocks
	 * instead of treating every iteration as independent. Owned. */
	struct aggregate *blocks;
	size_t nmeasured;	/* non-warm-up iterations */
	size_t nfailed;		/* of those, failed */
	size_t nwarmup;
	size_t nrebuilt;	/* counted iterations without stored spans */
	size_t nspans;		/* spans that went into agg */
};

#define RUN_DATA_INIT { NULL, NULL, 0, AGGREGATE_INIT, NULL, 0, 0, 0, 0, 0 }

/* What run_traces_each saw of a run's iterations. */
struct run_traces_counts {
	size_t nmeasured;	/* non-warm-up iterations */
	size_t nfailed;		/* of those, failed */
	size_t nwarmup;
	size_t nrebuilt;	/* counted iterations without stored spans */
	size_t nspans;		/* spans handed on */
};

/* Called with the spans of one counted iteration's trace; the spans and
 * their strings are lent for the call only. Returns 0, or a negative
 * value with *cause set. */
typedef int run_trace_fn(const struct analyze_span *spans, size_t n,
			 void *payload, char **cause);

/* Hand FN the trace of every counted iteration (ok, not warm-up) of run
 * RUN_ID, as analysis sees it: the root span of kind iteration named
 * (harness, iteration) with the duration the iterations table holds, and
 * an iteration without stored spans rebuilt from that table (a root and
 * one step span per step). COUNTS, when not NULL, is filled. Returns 0 or
 * a negative value with *cause set (caller frees). */
int run_traces_each(struct store *st, int64_t run_id, run_trace_fn *fn,
		    void *payload, struct run_traces_counts *counts,
		    char **cause);

void run_data_init(struct run_data *rd);
void run_data_release(struct run_data *rd);

/* Add run RUN_ID of ST to *rd (initialised by the caller): its row to
 * runs and its iterations to the pooled numbers. Nothing checks that the
 * runs are alike; verdict_for_run_sets does. Returns 0, STORE_ENOENT when
 * there is no such run, or another negative value; on failure *cause is
 * set (caller frees) and *rd holds nothing to keep (release it anyway). */
int run_data_add(struct run_data *rd, struct store *st, int64_t run_id,
		 char **cause);

/* run_data_add into an *rd that holds no run yet. */
int run_data_load(struct run_data *rd, struct store *st, int64_t run_id,
		  char **cause);

/* A gate_lookup_fn over a loaded run (payload: const struct run_data *):
 * failure_rate is failed / measured iterations of the run, everything
 * else is aggregate_gate_lookup over the iterations that succeeded. */
int run_data_gate_lookup(double *value, const struct gate_metric *m,
			 char **cause, void *payload);

#endif
