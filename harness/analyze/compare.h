/* compare.h: compare a base and a head run, operation by operation, and
 * decide: pass, regression or inconclusive.
 *
 * Input: two aggregates (aggregate.h), one per run, of the iterations that
 * count. Every operation (service, kind, name) present in either run gives
 * two rows, and the iteration and the steps are operations too (kinds
 * "iteration" and "step"):
 *
 *  - a time row: the per-iteration total time of the operation (an
 *    iteration where it did not run counts 0), base against head with the
 *    two-sided Mann-Whitney test and the Hodges-Lehmann shift with its
 *    confidence interval at 1 - alpha;
 *  - a count row: the per-iteration number of spans. When every iteration
 *    of each run made the same number, the counts are compared exactly: a
 *    difference is a finding, with no noise and no test. When counts vary
 *    within a run (polling, retries), they are tested like times.
 *
 * The p-values of all tested rows are adjusted together with
 * Benjamini-Hochberg. A tested row is a finding when its q-value is below
 * alpha and its relative shift (HL shift / base median) is at least
 * min_effect in size (or the base median is 0). A finding with a positive
 * shift is a regression, a negative one an improvement.
 *
 * Verdict, for the gated metrics (options.gated; by default the
 * iteration):
 *  - regression: a gated time row is a regression finding, or
 *    fail_on_count_increase is set and any count row is a regression;
 *  - inconclusive: otherwise, if a gated time row cannot rule out a
 *    regression of min_effect (the upper end of its relative confidence
 *    interval reaches min_effect), or a gated metric has no data in one of
 *    the runs. iterations_needed then estimates, with Noether's formula on
 *    the observed robust spread, how many iterations per run would detect
 *    a min_effect shift at the requested power;
 *  - pass: otherwise.
 *
 * When the iteration time regressed (a finding with a positive shift,
 * gated or not), the growth is explained by the operations
 * (not iterations or steps) whose critical-path time grew: per-iteration
 * critical time of each operation tested with Mann-Whitney (BH-corrected
 * across operations) and its HL shift estimated; an operation is a cause
 * when its q-value is below alpha and its shift's confidence interval lies
 * above 0. Biggest shift first. */
#ifndef HARNESS_ANALYZE_COMPARE_H
#define HARNESS_ANALYZE_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "analyze/aggregate.h"
#include "analyze/gate.h"
#include "analyze/stats.h"

struct compare_options {
	double alpha;		/* false discovery rate; default 0.05 */
	double min_effect;	/* relative shift that matters; default 0.05 */
	double power;		/* for iterations_needed; default 0.8 */
	/* Metrics whose regression fails the comparison (GATE_ITERATION,
	 * GATE_STEP or GATE_OP; the statistic is ignored), borrowed; none
	 * means the iteration. */
	const struct gate_metric *gated;
	size_t ngated;
	bool fail_on_count_increase;	/* default true */
};

/* Set the defaults above. */
void compare_options_init(struct compare_options *opt);

enum compare_measure {
	COMPARE_TIME,		/* per-iteration total time, ns */
	COMPARE_COUNT,		/* per-iteration number of spans */
};

struct compare_row {
	/* The operation; borrowed from the base or head aggregate, valid
	 * while both live. */
	const char *service, *kind, *name;
	enum compare_measure measure;
	size_t nbase, nhead;		/* iterations */
	bool in_base, in_head;		/* the operation ran in that run */
	double base_median, head_median;
	/* Count rows compared exactly (constant in each run): no test;
	 * mwu and hl are zero, q is 0 when the counts differ and 1 when
	 * not. */
	bool exact;
	struct stats_mwu mwu;
	struct stats_hl hl;		/* head - base */
	double q;			/* BH-adjusted p-value */
	bool finding;
	bool regression;		/* a finding, head slower or more */
	bool gated;			/* matches options.gated */
	/* Gated, no finding, and a min_effect regression not ruled out. */
	bool inconclusive;
	size_t iterations_needed;	/* when inconclusive, per run */
};

/* One operation whose critical-path time grew. */
struct compare_cause {
	size_t row;		/* its time row in compare_result.rows */
	struct stats_hl crit;	/* shift of per-iteration critical time */
	double share;		/* crit.shift / the iteration's shift */
};

enum compare_verdict {
	COMPARE_PASS,
	COMPARE_REGRESSION,
	COMPARE_INCONCLUSIVE,
};

struct compare_result {
	struct compare_row *rows;	/* by (service, kind, name), time
					 * row before count row */
	size_t nrows;
	size_t nfindings;
	/* Causes of an iteration regression, biggest first; empty when the
	 * iteration did not regress. */
	struct compare_cause *causes;
	size_t ncauses;
	enum compare_verdict verdict;
	size_t iterations_needed;	/* inconclusive: the largest need */
	char *reason;			/* one line on the verdict, owned */
};

/* Compare HEAD against BASE. Both need at least one iteration. Returns 0
 * with *res filled (release with compare_result_release), or -1 with
 * *cause set (caller frees). */
int compare_aggregates(struct compare_result *res,
		       const struct aggregate *base,
		       const struct aggregate *head,
		       const struct compare_options *opt, char **cause);
void compare_result_release(struct compare_result *res);

const char *compare_verdict_str(enum compare_verdict v);

#endif
