/* run.h: the parts of `harness run` that live beside cmd-run.c: the gates
 * of a scenario checked before a run and evaluated after it, and the table
 * printed at its end. Internal to the CLI. */
#ifndef HARNESS_CLI_RUN_H
#define HARNESS_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "load/load.h"
#include "store/store.h"

struct gate;

/* The scenario's gates, parsed. */
struct run_gates {
	struct gate **gates;
	size_t n;
};

/* Parse every gate of SC. On a bad expression returns -1 with *cause
 * (caller frees) as "FILE:LINE:COLUMN: bad gate '...': why", the column
 * pointing into the expression. */
int run_gates_parse(struct run_gates *out, const struct scenario *sc,
		    char **cause);
void run_gates_release(struct run_gates *g);

/* Evaluate the absolute gates of SC (its `gates:`, or the default "no failed
 * iteration") on run RUN_ID: failure_rate over its measured iterations,
 * every other metric over those that succeeded (analyze/verdict.h). Prints
 * one line per gate to OUT; *broken is how many failed. Returns 0, or a
 * negative value with *cause set (caller frees). */
int run_gates_eval(const struct scenario *sc, struct store *st,
		   int64_t run_id, FILE *out, size_t *broken, char **cause);

/* Parse a trace id of 32 hex digits into 16 bytes; -1 if it is not one
 * (an iteration that was not traced has ""). */
int run_trace_id_parse(uint8_t out[16], const char *hex);

/* Everything the end-of-run table shows besides the iterations. */
struct run_totals {
	const char *scenario;
	int64_t run_id;
	enum store_run_status status;
	const char *reason;		/* NULL for none */
	int64_t spans;			/* collected in this run */
	int64_t spans_dropped;
	int64_t corrupt;
	int64_t spans_unmapped;		/* stored as func: no kind known */
	uint64_t elapsed_ns;		/* of the measured phase */
	/* OSprofiler's spans read from osp_url (NULL: none were). */
	const char *osp_url;
	int64_t osp_traces, osp_read, osp_spans, osp_unpaired, osp_rejected;
};

/* Print the table: iterations ok/failed/warm-up, latency percentiles of the
 * iteration and of each step, the commonest failure reasons, spans
 * collected and dropped, corrupt records, unmapped spans, and what was
 * read from OSprofiler's store. */
void run_print_summary(FILE *out, const struct scenario *sc,
		       const struct load_iteration *its, size_t n,
		       const struct run_totals *t);

#endif
