/* flame.h: the differential flame graph of two runs: the aggregated call
 * tree of a base run against a head run as one self-contained SVG, where
 * a frame's width is time and its colour the change.
 *
 * The tree. Every counted iteration (not warm-up, ok; the ones compare
 * counts) is one trace; its spans are merged into one tree keyed by the
 * path of (service, kind, name) frames from the root, so that the same
 * call reached the same way lands in the same node whatever its span ids.
 * A node's value on a side is the summed duration of its spans divided by
 * that side's number of iterations: time per iteration, so that runs with
 * different iteration counts compare. As in runload.h, the root of kind
 * "iteration" is the frame (harness, iteration, iteration) with the
 * iterations table's duration, and an iteration without stored spans is
 * rebuilt from its steps. Spans whose parent is not in the trace start a
 * top-level frame of their own; spans in a parent cycle are left out.
 * Identifiers in the URL path of an HTTP call's name (numbers, UUIDs:
 * "DELETE /servers/6d3b9a41-...") become "{id}", so that a client naming
 * its span after the URL it fetched still has one frame per call.
 *
 * The picture. The root is at the bottom, each frame's children on top of
 * it, sorted by name (then service, then kind), so the output is
 * deterministic. A frame is as wide as its head time; a frame only in the
 * base is drawn as wide as its base time, hatched and marked "(gone)".
 * Children whose widths add up to more than their parent's (parallel or
 * asynchronous work, or frames only in the base) are scaled down together
 * to fit it. The colour goes from blue (faster) through grey (no change)
 * to red (slower) by the relative change (head - base) / base, saturating
 * at +-50%; a frame only in the head is full red. Every frame carries a
 * <title>: "service kind name: base X ms → head Y ms (+Z%)". */
#ifndef HARNESS_REPORT_FLAME_H
#define HARNESS_REPORT_FLAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/aggregate.h"
#include "store/store.h"

enum flame_side {
	FLAME_BASE = 0,
	FLAME_HEAD = 1,
};

#define FLAME_NO_NODE ((size_t)-1)

/* One frame of the merged tree. Strings owned by the flame. */
struct flame_node {
	char *service, *kind, *name;
	size_t parent;		/* FLAME_NO_NODE for a top-level frame */
	size_t *children;	/* indexes, sorted after flame_finish */
	size_t nchildren, alloc;
	/* Summed span durations and span counts over a side's iterations. */
	double sum_ns[2];
	uint64_t count[2];
};

struct flame {
	struct flame_node *nodes;
	size_t nnodes, alloc;
	size_t *roots;		/* top-level frames, sorted after flame_finish */
	size_t nroots, roots_alloc;
	size_t niterations[2];	/* traces added per side */
	int64_t run_id[2];	/* 0 when not loaded from a store */
};

void flame_init(struct flame *f);
void flame_release(struct flame *f);

/* Merge the N spans of one iteration's trace (any order) into SIDE's
 * tree and count one iteration on that side. Strings are copied. Returns
 * 0, or -1 with *cause set (caller frees) when N is 0. */
int flame_add_trace(struct flame *f, enum flame_side side,
		    const struct analyze_span *spans, size_t n, char **cause);

/* Add the counted iterations of run RUN_ID of ST on SIDE. Returns 0,
 * STORE_ENOENT when there is no such run, or another negative value; on
 * failure *cause is set (caller frees). */
int flame_load_run(struct flame *f, enum flame_side side, struct store *st,
		   int64_t run_id, char **cause);

/* Sort every node's children (and the roots) by name, service, kind.
 * Call once after the last add, before the getters below and writing. */
void flame_finish(struct flame *f);

/* Time per iteration of node I on SIDE, in ns (0 when the side has no
 * iterations). */
double flame_node_ns(const struct flame *f, size_t i, enum flame_side side);

/* The node at the path of frames given as "service kind name" strings
 * from the top, or FLAME_NO_NODE. */
size_t flame_find(const struct flame *f, const char *const *path,
		  size_t depth);

struct flame_options {
	const char *title;	/* heading; NULL for a default from run ids */
	unsigned width;		/* of the image in px; 0 for 1200 */
	double min_px;		/* frames narrower are left out; < 0 for 0.1 */
};

void flame_options_init(struct flame_options *opt);

/* Write the SVG of F (finished) to OUT. Returns 0, or -1 with *cause set
 * when writing fails. */
int flame_write_svg(FILE *out, const struct flame *f,
		    const struct flame_options *opt, char **cause);

/* The flame graph of run BASE_ID against run HEAD_ID of ST, written to
 * PATH ("-" or NULL: stdout) under a temporary name renamed into place,
 * so a failure leaves no half file. OPT may be NULL. Returns 0,
 * STORE_ENOENT when a run does not exist, or another negative value; on
 * failure *cause is set (caller frees). */
int flame_write_runs(const char *path, struct store *st, int64_t base_id,
		     int64_t head_id, const struct flame_options *opt,
		     char **cause);

/* The same SVG as a string in *svg (the caller frees), for a page that
 * inlines it. Returns as flame_write_runs. */
int flame_svg_for_runs(char **svg, struct store *st, int64_t base_id,
		       int64_t head_id, const struct flame_options *opt,
		       char **cause);

/* The colour of a relative change REL (0.2 is 20% slower), as "#rrggbb"
 * in BUF (at least 8 bytes): blue at -50% and below, grey at 0, red at
 * +50% and above. */
const char *flame_color(char *buf, size_t size, double rel);

#endif
