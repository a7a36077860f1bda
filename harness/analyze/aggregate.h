/* aggregate.h: from the spans of each iteration (one trace) to
 * per-operation numbers — count, total time, self time, time on the
 * critical path — and from many iterations to per-operation distributions
 * that compare and gates work on.
 *
 * Spans come in as struct analyze_span, which the run and compare commands
 * fill from the store's span query; nothing here reads the store.
 *
 * Self time of a span: its duration minus the union of its children's
 * intervals, each clipped to the span's own interval (overlapping children
 * are merged, so parallel children are not subtracted twice). Every child
 * counts, asynchronous ones included: self time is "when this span was not
 * inside any child".
 *
 * Critical path (one trace): the chain of work that decided when the root
 * finished. The walk starts at the root's end and goes backwards. At span S
 * with a cursor (initially S's end), it takes the blocking child C that
 * finishes last but no later than the cursor; the gap between C's end and
 * the cursor is S's own time on the path; it recurses into C over [C's
 * start, C's end] and moves the cursor to C's start; when no blocking
 * child ends before the cursor, the rest down to S's start is S's own.
 * Blocking children are those that end no later than their parent and are
 * not of kind "rpc.cast": a cast, and anything that outlives its parent,
 * ran asynchronously and did not hold the parent up, so neither it nor its
 * subtree is on the path. A child that overlaps the cursor (started before
 * and ended after it) lost the race to a later-finishing sibling and is not
 * on the path either. Children that start before their parent (clock skew
 * between hosts) are clipped to the parent's start. The critical times of
 * a trace therefore partition the root's interval: they sum to the root's
 * duration, and for a purely synchronous, sequential trace each span's
 * critical time equals its self time. */
#ifndef HARNESS_ANALYZE_AGGREGATE_H
#define HARNESS_ANALYZE_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/gate.h"

/* One span as analyze sees it. The strings are borrowed from whoever
 * filled the array (the store query's result) and only read during the
 * call they are passed to; NULL reads as "". */
struct analyze_span {
	uint8_t trace_id[16];
	uint64_t span_id;	/* never 0 */
	uint64_t parent_id;	/* 0 for a root */
	const char *kind;	/* "rest.call", "db", "iteration", ... */
	const char *name;
	const char *service;
	uint64_t start_ns;	/* wall clock, unix ns */
	uint64_t dur_ns;
	int status;		/* 0 ok, anything else an error */
};

/* What trace_analyze finds for each span of one trace. */
struct trace_times {
	uint64_t self_ns;
	uint64_t crit_ns;	/* 0 for spans off the critical path */
	bool on_path;		/* some of its time is on the critical path */
	size_t parent;		/* index of the parent in the array, or
				 * TRACE_NO_PARENT for the root and orphans */
};

#define TRACE_NO_PARENT ((size_t)-1)

/* Analyze the N spans of one trace (any order). times[i] (the caller's
 * array of N) gets span i's numbers; *root the index of the root: the
 * longest span with parent_id 0, or, when none has, the longest span whose
 * parent is not in the trace. Spans whose parent is missing (dropped,
 * or not yet ingested) are orphans: they get self time but no critical
 * time. A parent cycle in bad data is cut where it is found. Returns -1
 * with *cause set (caller frees) when N is 0. */
int trace_analyze(struct trace_times *times, size_t *root,
		  const struct analyze_span *spans, size_t n, char **cause);

/* Per-operation distributions over iterations. An operation is a
 * (service, kind, name) triple. Every array below has one value per
 * iteration, in the order the iterations were added; an operation absent
 * in an iteration has 0 count and 0 times there. */
struct aggregate_op {
	char *service, *kind, *name;	/* owned */
	double *count;		/* spans of this operation per iteration */
	double *total_ns;	/* sum of their durations */
	double *self_ns;	/* sum of their self times */
	double *crit_ns;	/* sum of their critical-path times */
	double *durations;	/* every span's duration, all iterations */
	size_t ndurations;
	size_t alloc_durations;
};

struct aggregate {
	struct aggregate_op *ops;	/* sorted by (service, kind, name) */
	size_t nops;
	size_t alloc_ops;
	size_t niterations;
	double *iter_ns;	/* root duration per iteration */
	bool *iter_failed;	/* root status != 0 */
	size_t nfailed;
	size_t alloc_iter;	/* capacity of every per-iteration array */
};

#define AGGREGATE_INIT { 0 }

void aggregate_init(struct aggregate *agg);
void aggregate_release(struct aggregate *agg);

/* Add one iteration: the N spans of its trace. Callers add only the
 * iterations that count (not the warm-up ones); every added iteration is
 * part of every distribution, failed ones included, and failed ones
 * (root status != 0) are counted for failure_rate. */
int aggregate_add_trace(struct aggregate *agg,
			const struct analyze_span *spans, size_t n,
			char **cause);

/* The operation with this key, or NULL; borrowed from agg until it
 * changes. */
const struct aggregate_op *aggregate_find(const struct aggregate *agg,
					  const char *service,
					  const char *kind, const char *name);

/* A gate_lookup_fn over an aggregate (payload: const struct aggregate *):
 *  iteration.STAT over the root durations; step(N).STAT over the
 *  durations of every span of kind "step" named N; op(S,K,N).STAT over
 *  that operation's span durations; count(K, ...).STAT over the per-
 *  iteration sums of the counts of matching operations (0 where none
 *  ran); failure_rate = failed / iterations. Returns 1 (no data) for no
 *  iterations, or a step or operation that never ran. */
int aggregate_gate_lookup(double *value, const struct gate_metric *m,
			  char **cause, void *payload);

#endif
