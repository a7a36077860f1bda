/* verdict.h: the decision about a run that CI acts on: the head run's
 * absolute gates, its regression limits against a baseline run, and the
 * exit code that says which broke. `harness compare` and `harness run
 * --baseline` both come here; the report writers' write_compare
 * (report/report.h) print a struct verdict.
 *
 * Gates. Every check is one struct verdict_gate, pass or fail, with a
 * message:
 *  - absolute gates: each expression of the scenario's `gates:`, evaluated
 *    on the head run (failure_rate over its measured iterations, every
 *    other metric over those that succeeded). A scenario without gates
 *    gets the default "failure_rate == 0": no failed iteration;
 *  - regression gates, with a baseline: one per metric of the scenario's
 *    `regression: metrics:` (default: iteration), failing when that
 *    metric's time row is a regression finding, and, when
 *    fail_on_count_increase is on (the default), one "count" gate failing
 *    when any operation made more calls per iteration (compare.h).
 *
 * Status and exit code, the first that applies:
 *  1. an absolute gate failed: VERDICT_LIMIT, exit 2. A broken limit is a
 *     fact about the head alone, needing no baseline, so it wins over a
 *     regression found in the same comparison; both show in the reports;
 *  2. a regression gate failed: VERDICT_REGRESSION, exit 1;
 *  3. every operation of most services moved together, and none beyond
 *     that (compare.h, "machine factor"): VERDICT_MACHINE, exit 4. The
 *     machine ran at another speed for the head than for the base; it is
 *     no verdict on the code, and a gate should measure again;
 *  4. no baseline (none given, none found, or one without a successful
 *     iteration), or the comparison could not rule out a regression of
 *     min_effect: VERDICT_NO_BASELINE or VERDICT_INCONCLUSIVE, exit 3 —
 *     exit 0 when no_baseline_ok is set;
 *  5. VERDICT_PASS, exit 0.
 *
 * Regression metrics: "critical-path" (the default) gates the critical-
 * path time of every operation (compare.h); "iteration", "step(NAME)" and
 * "op(S, K, N)" gate that row's total time. Sides of as many runs each
 * are compared as paired rounds (run i of the base with run i of the
 * head, as ci/gate.sh makes them); otherwise each side is pooled into
 * one block. */
#ifndef HARNESS_ANALYZE_VERDICT_H
#define HARNESS_ANALYZE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/compare.h"
#include "analyze/gate.h"
#include "analyze/runload.h"
#include "config/config.h"
#include "store/store.h"

/* The JSON report's schema version (report/compare-json.md). */
#define VERDICT_SCHEMA_VERSION 1

/* Refusals, beside -1 (store or other failure). */
#define VERDICT_EMISMATCH (-2)	/* different scenario or config hash */
#define VERDICT_ECONFIG (-3)	/* a bad gate or metric in the scenario */

struct verdict_options {
	/* Overrides of the scenario's regression section; alpha and
	 * min_effect < 0 and metrics NULL mean "from the scenario". */
	double alpha;
	double min_effect;
	const char *const *metrics;
	size_t nmetrics;
	/* Compare runs of different scenarios or configs anyway. */
	bool force;
	/* No baseline and inconclusive comparisons exit 0. */
	bool no_baseline_ok;
	/* Sequential testing: this comparison is look N of a gate that adds
	 * rounds (compare_options.look); 0: not sequential. */
	unsigned look;
};

void verdict_options_init(struct verdict_options *opt);

enum verdict_gate_type {
	VERDICT_GATE_ABSOLUTE,
	VERDICT_GATE_REGRESSION,
};

struct verdict_gate {
	enum verdict_gate_type type;
	/* "iteration.p95 < 800ms", "regression: iteration",
	 * "regression: count". Owned. */
	char *name;
	bool pass;
	/* A regression gate that could neither find nor rule out a
	 * regression: not failed, and not passed either; writers print it
	 * as "inconclusive", JUnit as skipped. */
	bool inconclusive;
	/* One line: "iteration.p95 = 912ms, limit < 800ms: FAIL", or for a
	 * regression gate what the row shows. Owned. */
	char *message;
	/* Absolute gates: the observed value (NAN when missing), the limit
	 * and their unit. Regression gates on a time row: the row; count
	 * gate: none. */
	double observed, limit;
	enum gate_unit unit;
	bool missing;
	const struct compare_row *row;	/* borrowed from cmp, or NULL */
};

enum verdict_status {
	VERDICT_PASS,
	VERDICT_REGRESSION,
	VERDICT_LIMIT,
	VERDICT_INCONCLUSIVE,
	VERDICT_NO_BASELINE,
	VERDICT_MACHINE,
};

struct verdict {
	/* Each side's runs (one, or several pooled: runload.h). */
	struct run_data base, head;
	bool has_base;		/* base was loaded */
	/* Both runs had successful iterations and were compared. */
	bool compared;
	struct compare_result cmp;
	/* The runs differ in scenario or config hash and --force compared
	 * them anyway: this says how (owned), reports show it first. */
	char *mismatch;
	/* Effective regression settings. */
	double alpha, min_effect;
	bool fail_on_count_increase;
	char **metrics;		/* canonical metric names, owned */
	size_t nmetrics;
	struct verdict_gate *gates;	/* absolute first, then regression */
	size_t ngates;
	enum verdict_status status;
	bool no_baseline_ok;
	/* One line on the outcome, owned: "regression: iteration +12.1%
	 * [+9.8%, +14.0%] (q=0.0001)". */
	char *summary;
};

void verdict_init(struct verdict *v);
void verdict_release(struct verdict *v);

/* Decide about run HEAD_ID against run BASE_ID (0: no baseline) of ST,
 * with the regression section and gates of SC (the head run's scenario;
 * NULL: the defaults). *v must be initialised; release it in every case.
 * Returns 0 with *v filled, or a negative value with *cause set (caller
 * frees): STORE_ENOENT for a run that does not exist, VERDICT_EMISMATCH
 * for runs of different scenarios or configs without opt->force,
 * VERDICT_ECONFIG for a bad gate or metric (cause names file:line:column),
 * -1 for other failures. */
int verdict_for_runs(struct verdict *v, struct store *st, int64_t base_id,
		     int64_t head_id, const struct scenario *sc,
		     const struct verdict_options *opt, char **cause);

/* The same with several runs per side: the iterations of HEAD_IDS (NHEAD
 * of them, at least one) pooled against those of BASE_IDS (NBASE; 0: no
 * baseline), as if each side were one run (runload.h). The runs of a
 * side must share scenario and config hash with each other, and the
 * sides with each other, else VERDICT_EMISMATCH unless opt->force. The
 * absolute gates are evaluated on the pooled head (failure_rate over
 * every measured iteration of its runs). */
int verdict_for_run_sets(struct verdict *v, struct store *st,
			 const int64_t *base_ids, size_t nbase,
			 const int64_t *head_ids, size_t nhead,
			 const struct scenario *sc,
			 const struct verdict_options *opt, char **cause);

/* The absolute gates alone: verdict_for_runs without a baseline, except
 * that the missing baseline is not held against the run (the status is
 * VERDICT_PASS or VERDICT_LIMIT), as `harness run` wants at its end. */
int gates_for_run(struct verdict *v, struct store *st, int64_t run_id,
		  const struct scenario *sc, char **cause);

/* The exit code for V (util/exitcode.h), by the rules above. */
int verdict_exit_code(const struct verdict *v);

/* "pass", "regression", "limit", "inconclusive", "no-baseline",
 * "machine". */
const char *verdict_status_str(enum verdict_status s);

/* The number of failed gates of each type. */
size_t verdict_failed(const struct verdict *v, enum verdict_gate_type type);

/* Formatting shared by the writers. A row's value in its unit ("1.25s",
 * "4"); NAN prints "-". */
void verdict_format_value(char *buf, size_t size, double v,
			  const struct compare_row *r);
/* A row's change: "+12.1% [+9.8%, +14.0%]" (relative Hodges-Lehmann shift
 * and interval), "+3.20ms [+1.10ms, +5.00ms]" when the base median is 0,
 * "+3" for a count compared exactly. */
void verdict_format_change(char *buf, size_t size,
			   const struct compare_row *r);
/* How a row is named: "iteration", "step(boot)", "op(S, K, N)"; the
 * caller frees. */
char *verdict_row_label(const struct compare_row *r);

#endif
