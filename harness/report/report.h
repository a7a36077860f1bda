/* report.h: what the report writers show and the one interface they share.
 *
 * Two models feed them. A trace (struct report_trace) is the spans of one
 * trace as a tree, in display order. A run (struct report_model) is a run's
 * summary, its iterations, the per-operation aggregate of the iterations
 * that count, its median iteration's trace and, for a comparison, the base
 * run's model and the comparison result. Both are loaded from the store by
 * report_trace_load / report_model_load; writers never read the store.
 *
 * A writer (struct report_writer) is a name and up to three functions: one
 * that writes a run report, one that writes traces and one that writes a
 * comparison (struct report_comparison: the verdict of `harness compare`
 * and, for the writers that draw runs, the runs' models). `harness
 * report`, `harness trace show`, `harness export` and `harness compare`
 * all pick a writer by name (report_writer_find). */
#ifndef HARNESS_REPORT_H
#define HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/aggregate.h"
#include "analyze/compare.h"
#include "analyze/verdict.h"
#include "store/store.h"

/* One attribute of a span. Strings owned by the span. */
struct report_attr {
	char *key;
	enum store_attr_type type;
	char *text;	/* the value as text: 42, 0.25, true, or the string */
	int64_t i;	/* STORE_ATTR_INT and _BOOL */
	double d;	/* STORE_ATTR_DOUBLE */
};

/* One span of a trace, a copy owned by the trace. */
struct report_span {
	uint64_t span_id, parent_id;
	char *kind, *name;
	char *service, *host;	/* "" when unknown, never NULL */
	int64_t pid, tid;
	int64_t start_ns, dur_ns;
	bool error;
	char *message;		/* NULL if none */
	char **frames;		/* stack, innermost first */
	size_t nframes;
	struct report_attr *attrs;
	size_t nattrs;
	/* The tree: index of the parent in the trace's array, or
	 * REPORT_NO_PARENT for the root and for orphans (whose parent is not
	 * in the trace); depth 0 for those. */
	size_t parent;
	unsigned depth;
	size_t nchildren;
};

#define REPORT_NO_PARENT ((size_t)-1)

struct report_trace {
	uint8_t trace_id[16];
	char id_hex[33];
	int64_t run_id;		/* 0 for none */
	/* Depth-first: each span is followed by its subtree, children by
	 * start time; roots (and orphans) by start time. */
	struct report_span *spans;
	size_t nspans;
	size_t alloc;
	int64_t start_ns, end_ns;	/* earliest start, latest end */
	size_t nerrors;
	size_t nservices;
	char **services;	/* distinct, in order of first appearance */
};

void report_trace_init(struct report_trace *t);
void report_trace_release(struct report_trace *t);
/* Add a copy of SP (order does not matter); report_trace_finish then
 * sorts into display order and links the tree. */
void report_trace_add(struct report_trace *t, const struct store_span *sp);
void report_trace_finish(struct report_trace *t);
/* Load the trace TRACE_ID of RUN_ID (0: of no run). An empty trace is
 * STORE_ENOENT. *cause is the caller's to free. */
int report_trace_load(struct report_trace *t, struct store *st,
		      int64_t run_id, const uint8_t trace_id[16],
		      char **cause);
/* Every trace of RUN_ID, in the store's trace order. *out is an array of
 * *n freed with report_traces_free. */
int report_traces_load(struct report_trace **out, size_t *n,
		       struct store *st, int64_t run_id, char **cause);
void report_traces_free(struct report_trace *traces, size_t n);
/* Whether span I was called from another service: its parent is in the
 * trace and ran in a different service. */
bool report_span_cross_service(const struct report_trace *t, size_t i);

/* An operation's place in a run report: per-iteration means over the
 * iterations that count. */
struct report_op {
	const struct aggregate_op *op;	/* borrowed from the model's agg */
	double count, total_ns, self_ns, crit_ns;
	double crit_share;	/* crit_ns / mean iteration time */
};

struct report_model {
	struct store_run *run;
	struct store_iteration *its;
	size_t nits;
	size_t nwarmup, nfailed;	/* among its */
	int64_t spans_dropped, corrupt;
	char *runner_type;		/* "constant", "rate", ...; NULL */
	/* The iterations that count (not warm-up, with a trace), and the
	 * operations sorted by critical-path time, largest first. */
	struct aggregate agg;
	struct report_op *ops;
	size_t nops;
	/* The median iteration by duration among those that count, and its
	 * trace (nspans 0 when it has none). */
	const struct store_iteration *median;
	struct report_trace median_trace;
	/* Comparison: both NULL for the report of one run. Borrowed. With
	 * base set, the HTML writer writes the comparison page (cmp NULL:
	 * the runs could not be compared). */
	const struct report_model *base;
	const struct compare_result *cmp;
};

void report_model_init(struct report_model *m);
void report_model_release(struct report_model *m);
int report_model_load(struct report_model *m, struct store *st,
		      int64_t run_id, char **cause);

enum report_dot_nodes {
	REPORT_DOT_SPANS,	/* one node per span */
	REPORT_DOT_OPERATIONS,	/* one node per (service, kind, name) */
};

struct report_options {
	/* Where the report goes (NULL: stdout). Writers that make files
	 * beside it (chart PNGs) put them next to this path. */
	const char *out_path;
	/* The gnuplot program: NULL for "gnuplot" on PATH; "" for no
	 * charts. */
	const char *gnuplot;
	enum report_dot_nodes dot_nodes;
	/* Warnings for the user (no gnuplot ...) go through this, when set. */
	void (*warn)(const char *msg);
	/* A comparison's differential flame graph (flame.h) as SVG text, for
	 * the HTML writer to inline; borrowed, NULL for none. */
	const char *flame_svg;
	/* Comparison: every operation's rows, not only findings and gated
	 * metrics. */
	bool all_rows;
	/* Comparison, terminal: colour escapes (the caller decides, from
	 * isatty). */
	bool color;
};

void report_options_init(struct report_options *opt);

/* A comparison as `harness compare` made it: the verdict of the pooled
 * runs of each side. For the writers that draw the runs themselves
 * (report_writer.compare_models) also the model of every run of each
 * side, in the verdict's order (v->head.runs, v->base.runs); heads[0] has
 * .base set to bases[0] when there is a base and .cmp to &v->cmp when the
 * sides were compared. All borrowed. */
struct report_comparison {
	const struct verdict *v;
	const struct report_model *heads, *bases;
	size_t nheads, nbases;
};

struct report_writer {
	const char *name;
	const char *summary;	/* one line for usage texts */
	/* Write the report of model M (a run, or a comparison when m->cmp is
	 * set). NULL when this writer has no run report. */
	int (*write_run)(FILE *out, const struct report_model *m,
			 const struct report_options *opt, char **cause);
	/* Write N traces (one for `trace show`, a run's for `export`). NULL
	 * when this writer does not draw traces. */
	int (*write_traces)(FILE *out, const struct report_trace *traces,
			    size_t n, const struct report_options *opt,
			    char **cause);
	/* Write comparison C (`harness compare --format NAME`). NULL when
	 * this writer has no comparison. */
	int (*write_compare)(FILE *out, const struct report_comparison *c,
			     const struct report_options *opt, char **cause);
	/* write_compare needs the runs' models (c->heads, c->bases). */
	bool compare_models;
	/* The file name of the comparison under `compare --out-dir DIR`; NULL:
	 * it goes to stdout even then. */
	const char *compare_file;
};

/* The writer called NAME, or NULL. */
const struct report_writer *report_writer_find(const char *name);
/* The writers, NULL-terminated; the comparison writers in the order
 * `harness compare` writes them. */
extern const struct report_writer *const report_writers[];

extern const struct report_writer report_text_writer;
extern const struct report_writer report_terminal_writer;
extern const struct report_writer report_markdown_writer;
extern const struct report_writer report_json_writer;
extern const struct report_writer report_junit_writer;
extern const struct report_writer report_html_writer;
extern const struct report_writer report_dot_writer;
extern const struct report_writer report_chrome_writer;

/* Helpers shared by the writers (model.c). */
/* "12.3ms": a duration for people, in BUF. */
const char *report_fmt_dur(char *buf, size_t size, double ns);
/* A stable colour index 0..REPORT_NCOLORS-1 for a service name. */
unsigned report_service_color(const struct report_trace *t,
			      const char *service);
#define REPORT_NCOLORS 8

/* What the report commands share (output.c). */

/* Open the store at PATH, which must exist (STORE_ENOENT if not); else
 * as store_open. */
int report_store_open(struct store **st, const char *path, char **cause);
/* The run named ARG: a run id, or "latest" for the newest run.
 * REPORT_EBADRUN when ARG is neither, STORE_ENOENT when it names no run. */
#define REPORT_EBADRUN (-20)
int report_run_resolve(int64_t *run_id, struct store *st, const char *arg,
		       char **cause);

/* A file written under a temporary name and renamed into place on commit,
 * so a failed report leaves no half file; PATH NULL or "-" is stdout. */
struct report_output {
	FILE *fp;
	char *path, *tmp;
};

int report_output_open(struct report_output *o, const char *path,
		       char **cause);
int report_output_commit(struct report_output *o, char **cause);
/* Close and remove the temporary file; accepts an output never opened. */
void report_output_abort(struct report_output *o);

#endif
