/* compare.h: compare a base and a head side, operation by operation, and
 * decide: pass, regression, a machine-wide shift, or inconclusive.
 * harness/analyze/README.md ("The verdict") explains the method and why.
 *
 * Input: each side as its pooled aggregate (aggregate.h) and, when the
 * sides were measured in rounds (ci/gate.sh --rounds), one aggregate per
 * round: block i of the base and block i of the head ran next to each
 * other. Every operation (service, kind, name) present in either side
 * gives two rows, and the iteration and the steps are operations too
 * (kinds "iteration" and "step"):
 *
 *  - a time row: the operation's per-iteration total time (0 where it did
 *    not run), and beside it its self time and its critical-path time;
 *  - a count row: its per-iteration number of spans. Counts that are
 *    constant in every run are compared exactly: a difference is a
 *    finding, with no noise and no test. Counts that vary (polls,
 *    retries) are tested like times, and are never gated: they follow
 *    the times.
 *
 * Each measure is tested on the log scale, y = ln(x + c) with c = 1us +
 * 1% of the pooled mean: per block the Hodges-Lehmann shift of y (head -
 * base) with its standard error, then the machine factor of that block
 * is subtracted, then the blocks are combined (stats_combine_blocks).
 * A shift d is the ratio exp(d): relative changes and their intervals
 * are expm1 of the log ones and cannot pass -100%.
 *
 * The machine factor of a block is the median, over every operation of
 * the services that ran in both runs, of the log shift of its self time;
 * the spread of the operations around it (1.4826 MAD, less what their own
 * noise explains) is added to every operation's variance, so an operation
 * counts as changed only when it moved more than the machine moved the
 * operations in general. When the machine factor, combined over the
 * blocks, is significant, at least min_effect in size, and most
 * operations of most services moved with it, the result says so
 * (compare_result.machine): a machine-wide shift, not a code regression.
 *
 * The p-values of the tested rows are adjusted with Benjamini-Hochberg
 * at level alpha (alpha / 2^look in a sequential gate, stats.h), one
 * family per measure. A row is a finding when its q-value is below that
 * level, its interval is clear of 0, and the interval reaches min_effect
 * on its side (a change proven smaller than min_effect is no finding; or
 * its base median is 0), and for time rows the shift is at least a
 * hundredth of the critical-path threshold below (sub-microsecond
 * functions move by the clock's steps). A time row whose self time is
 * such a regression
 * is a regression finding too (its cause role), even when its total is
 * too noisy to show it.
 *
 * Roles: the time row of an operation (not the iteration or a step)
 * whose self time is a regression finding is a cause; but a caller's own
 * time (kinds rest.call and rpc.call: the wait outside its child spans,
 * in the network or in a queue) is a consequence when a cause was found
 * in another operation. A time row that is a regression finding and no
 * cause is a consequence: a slower callee, or waiting behind one; so is
 * every finding of a count that varies.
 *
 * Verdict, for the gated metrics (options.gated; by default, and for the
 * metric "critical-path", the critical-path time of every operation):
 *  - regression: an operation whose critical-path time grew (q below the
 *    level) by at least min_effect of the base iteration's median, net of
 *    the machine factor, and which is a cause; or a gated time row
 *    (iteration, step, op) that is a regression finding; or
 *    fail_on_count_increase and an exactly compared count grew;
 *  - machine: no regression, and a machine-wide shift;
 *  - inconclusive: otherwise, when the interval of a gated quantity
 *    reaches min_effect: for the critical path, the upper end of some
 *    operation's critical-path shift (services' operations, not
 *    harness's own client spans, not consequences) reaches min_effect of
 *    the base iteration median; or a gated metric has no data in one of
 *    the sides. iterations_needed then estimates how many iterations
 *    per run would settle it;
 *  - pass: otherwise. */
#ifndef HARNESS_ANALYZE_COMPARE_H
#define HARNESS_ANALYZE_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	/* Gate the critical-path times of the operations (the default when
	 * ngated is 0; with gated metrics, set it to gate both). */
	bool critical_path;
	bool fail_on_count_increase;	/* default true */
	/* Sequential testing: the look this comparison is (1, 2, ... as a
	 * gate adds rounds); every test and interval is at level
	 * stats_alpha_at_look(alpha, look). 0: not sequential. */
	unsigned look;
};

/* Set the defaults above. */
void compare_options_init(struct compare_options *opt);

enum compare_measure {
	COMPARE_TIME,		/* per-iteration total time, ns */
	COMPARE_COUNT,		/* per-iteration number of spans */
};

/* One measure of one operation, base against head, on the log scale,
 * blocks combined, the machine factor removed. */
struct compare_est {
	bool tested;		/* there were values to test */
	double est, lo, hi;	/* log shift and its interval */
	double se, p, q;	/* q: BH-adjusted within its family */
	double raw;		/* log shift before the machine factor */
	/* est in the unit of the values: (base mean + c) * expm1(est), and
	 * the same for lo and hi. */
	double abs_shift, abs_lo, abs_hi;
};

enum compare_role {
	COMPARE_ROLE_NONE,
	COMPARE_ROLE_CAUSE,		/* its own (self) time grew */
	COMPARE_ROLE_CONSEQUENCE,	/* it grew because of another */
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
	struct stats_mwu mwu;		/* of the pooled sides, unadjusted */
	/* The change shown: rel_shift, rel_lo and rel_hi are expm1 of the
	 * log-scale estimate of the row (net of the machine factor), shift,
	 * lo and hi those times the base median; when the base median is 0
	 * the relative fields are NAN and shift, lo and hi the plain
	 * Hodges-Lehmann shift of the pooled sides. conf is the level. */
	struct stats_hl hl;
	/* Time rows: total (the row's own test), self and critical-path
	 * time; count rows use total only. */
	struct compare_est total, self, crit;
	double q;			/* BH-adjusted p-value of total */
	enum compare_role role;
	bool gated_crit;		/* failed the critical-path gate */
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
	/* Shift of its per-iteration critical time in ns, net of the
	 * machine factor (shift, lo, hi; the relative fields as in
	 * compare_row.hl). */
	struct stats_hl crit;
	double share;		/* crit.shift / the iteration's base median */
};

enum compare_verdict {
	COMPARE_PASS,
	COMPARE_REGRESSION,
	COMPARE_INCONCLUSIVE,
	COMPARE_MACHINE,	/* a machine-wide shift, no code regression */
};

/* What the noise was, and how the machine moved. */
struct compare_noise {
	size_t nblocks;
	/* Per block: the typical within-run spread of the operations (the
	 * median over operations of the robust standard deviation of
	 * ln(time), ~ a relative spread) of base and head, and the machine
	 * factor (log shift of head against base). Owned arrays of
	 * nblocks. */
	double *base_spread, *head_spread, *block_machine;
	/* The spread of the operations around the machine factor (log), the
	 * median over blocks. */
	double op_spread;
	/* Drift between rounds: the standard deviation of block_machine
	 * (0 for one block). */
	double drift;
};

struct compare_machine {
	struct stats_combined factor;	/* log shift, blocks combined */
	size_t nops, nup, ndown;	/* operations with self time in both
					 * sides, and how many moved up or
					 * down by at least half the factor */
	size_t nservices, nservices_with;	/* services, and those whose
						 * median operation moved
						 * with the factor */
	double sign_p;			/* sign test of nup against ndown */
	bool shifted;			/* a machine-wide shift */
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
	double level;			/* the alpha the tests used */
	struct compare_noise noise;
	struct compare_machine machine;
	/* The services' critical-path work per iteration (sum of the
	 * operations' critical times): its shift net of the machine, in
	 * ns and relative (hl as in compare_row), and the threshold that
	 * matters, min_effect of the base iteration median, in ns. */
	struct compare_est work;
	double work_base_mean;
	double threshold_ns;
	/* The operation (time row) whose critical-path time could have
	 * grown the most: the highest upper end of its interval, net of
	 * the machine; SIZE_MAX when none. The critical-path gate passes
	 * when even that end stays below threshold_ns. */
	size_t widest;
	size_t nconsequences;
};

/* Compare HEAD against BASE, as one block each. Both need at least one
 * iteration. Returns 0 with *res filled (release with
 * compare_result_release), or -1 with *cause set (caller frees). */
int compare_aggregates(struct compare_result *res,
		       const struct aggregate *base,
		       const struct aggregate *head,
		       const struct compare_options *opt, char **cause);

/* The same with NBLOCKS rounds: base_blocks[i] and head_blocks[i] ran
 * next to each other, and BASE and HEAD pool them. A block with no
 * iteration on either side is left out. NBLOCKS 0 is one block of the
 * pooled sides. */
int compare_blocks(struct compare_result *res, const struct aggregate *base,
		   const struct aggregate *head,
		   const struct aggregate *base_blocks,
		   const struct aggregate *head_blocks, size_t nblocks,
		   const struct compare_options *opt, char **cause);
void compare_result_release(struct compare_result *res);

const char *compare_verdict_str(enum compare_verdict v);

#endif
