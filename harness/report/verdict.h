/* verdict.h: what the writers of a comparison's verdict (analyze/verdict.h)
 * share (verdict.c): terminal.c, markdown.c, html-compare.c,
 * compare-json.c (JSON with a versioned schema, compare-json.md) and
 * junit.c. The writers themselves are report_writer entries (report.h),
 * found by name like every other. Every writer says the same things in
 * the same words: what the noise was, why a verdict is inconclusive, the
 * evidence of a machine-wide shift, each gate as FAIL, inconclusive,
 * machine or pass, and each row by its role. */
#ifndef HARNESS_REPORT_VERDICT_H
#define HARNESS_REPORT_VERDICT_H

#include <stdbool.h>
#include <stdio.h>

#include "analyze/verdict.h"
#include "report/report.h"

/* The JSON writer's write_compare (compare-json.c), for json.c. */
int report_compare_json(FILE *out, const struct report_comparison *c,
			const struct report_options *opt, char **cause);

/* Helpers the compare writers share. */
/* "run 12 (boot-vm; harness 1a2b3c4d*, nova 5e6f7a8b)"; caller frees. */
char *report_compare_run_line(const struct store_run *run);
/* A side of the comparison: the run line of its one run, or "runs 3, 5,
 * 7 pooled (boot-vm; harness 1a2b3c4d)" (each run's commits when they
 * differ); caller frees. */
char *report_compare_side_line(const struct run_data *rd);
/* Whether row R is shown without all_rows: a finding, a gated metric, an
 * inconclusive row, a cause or the iteration. */
bool report_compare_row_shown(const struct verdict *v, size_t r,
			      const struct report_options *opt);
/* The cause that row R is, or NULL. Borrowed from v. */
const struct compare_cause *report_compare_cause_of(const struct verdict *v,
						    size_t r);
/* Whether the write to OUT failed: sets *cause. */
int report_compare_check(FILE *out, char **cause);

/* What the noise was, in at most two lines (*lines[0], *lines[1]; the
 * caller frees both), returning how many:
 *  "noise: spread of an operation within a run ±2.1% in base, ±2.3% in
 *   head; operations around the machine factor ±0.8%" (per round, base/
 *   head, when there were rounds), and
 *  "drift: machine factor (head against base) per round +1.0%, -0.4%,
 *   combined +0.3% [-0.9%, +1.5%]; drift between rounds ±1.0%".
 * Spreads are robust standard deviations of ln(time), close to relative
 * ones; the machine factor is the median operation's shift. A result
 * without blocks (built by hand) gives the one line "noise: not
 * measured". */
size_t report_compare_noise_lines(const struct compare_result *c,
				  char *lines[2]);
/* The evidence of a machine-wide shift, or NULL when there was none:
 * "machine-wide shift: every operation +12.0% [+10.1%, +14.0%], 48 of 50
 * operations slower, 5 of 5 services with it (sign test p=1e-13)".
 * Caller frees. */
char *report_compare_machine_line(const struct compare_result *c);
/* Why the comparison is inconclusive, or NULL when it is not: with
 * WITH_REASON "inconclusive: " and its reason, then the operation with
 * the widest critical-path interval against the limit and the
 * iterations per run that would settle it:
 *  "widest interval: op(S, K, N), critical path +0.16ms [-0.40ms,
 *   +1.23ms] against the limit 0.16ms; about 2508 iterations per run
 *   would settle it". Caller frees. */
char *report_compare_inconclusive_line(const struct compare_result *c,
				       bool with_reason);
/* A gate's word: "FAIL", "inconclusive" (never "pass" when the gate
 * could not rule out a regression), "machine" (a regression gate on a
 * time when the verdict is a machine-wide shift: it held only net of the
 * machine) or "pass". Static. */
const char *report_compare_gate_word(const struct verdict *v,
				     const struct verdict_gate *g);
/* The status for people: "pass", "regression", "limit broken",
 * "inconclusive", "no baseline", "machine-wide shift". Static. */
const char *report_compare_status_word(const struct verdict *v);
/* A row's role, for a table's last column: "REGRESSION, cause, critical
 * path" (it failed the critical-path gate), "REGRESSION, cause",
 * "consequence" (it grew because another operation did: no finding of
 * its own), "REGRESSION" (the iteration, a step or a count),
 * "improved", "inconclusive", "cause" (its own time grew, its total
 * not significantly) or "". Static. */
const char *report_compare_row_note(const struct compare_row *r);
/* Whether row R is shown as an alarm (red, bold): a regression that is
 * not a consequence, or a failed critical-path gate. */
bool report_compare_row_alarm(const struct compare_row *r);

#endif
