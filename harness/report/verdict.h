/* verdict.h: what the writers of a comparison's verdict (analyze/verdict.h)
 * share: terminal.c, markdown.c, compare-json.c (JSON with a versioned
 * schema, compare-json.md) and junit.c. The writers themselves are
 * report_writer entries (report.h), found by name like every other. */
#ifndef HARNESS_REPORT_VERDICT_H
#define HARNESS_REPORT_VERDICT_H

#include <stdbool.h>
#include <stdio.h>

#include "analyze/verdict.h"
#include "report/report.h"

/* The JSON writer's write_compare (compare-json.c), for json.c. */
int report_compare_json(FILE *out, const struct report_comparison *c,
			const struct report_options *opt, char **cause);

/* Helpers the compare writers share (terminal.c). */
/* "run 12 (boot-vm; harness 1a2b3c4d*, nova 5e6f7a8b)"; caller frees. */
char *report_compare_run_line(const struct store_run *run);
/* A side of the comparison: the run line of its one run, or "runs 3, 5,
 * 7 pooled (boot-vm; harness 1a2b3c4d)" (each run's commits when they
 * differ); caller frees. */
char *report_compare_side_line(const struct run_data *rd);
/* Whether row R is shown without all_rows: a finding, a gated metric, an
 * inconclusive row or the iteration. */
bool report_compare_row_shown(const struct verdict *v, size_t r,
			      const struct report_options *opt);
/* The cause that row R is, or NULL. Borrowed from v. */
const struct compare_cause *report_compare_cause_of(const struct verdict *v,
						    size_t r);
/* Whether the write to OUT failed: sets *cause. */
int report_compare_check(FILE *out, char **cause);

#endif
