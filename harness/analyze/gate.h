/* gate.h: gate expressions, the absolute limits a scenario file puts on a
 * run ("iteration.p95 < 800ms"), parsed and evaluated.
 *
 * The language (harness/analyze/README.md has the long form):
 *
 *	gate     = metric op limit
 *	metric   = subject "." stat
 *	         | "count" "(" kind { "," filter } ")" [ "." stat ]
 *	         | "failure_rate"
 *	subject  = "iteration"
 *	         | "step" "(" arg ")"
 *	         | "op" "(" arg "," arg "," arg ")"	service, kind, name
 *	stat     = "min" | "max" | "mean" | "median" | "stddev"
 *	         | "p" number				p50, p95, p99.9
 *	filter   = ("service" | "name") "=" arg
 *	kind     = arg					"*" for any kind
 *	arg      = a "double-quoted string" (\" and \\ escape) or bare text
 *	           without , ( ) = " (surrounding blanks are dropped)
 *	op       = "<" | "<=" | ">" | ">=" | "==" | "!="
 *	limit    = number unit		unit: ns us ms s m (durations)
 *	         | number "%"		a fraction: 1% = 0.01
 *	         | number		plain count or fraction
 *
 * Every metric is a statistic of a distribution over the run's non-warmup
 * iterations:
 *  - iteration.STAT: the durations of the iterations (root spans);
 *  - step(NAME).STAT: the durations of the step spans called NAME;
 *  - op(SERVICE, KIND, NAME).STAT: the durations of every matching span
 *    (each call, not a per-iteration sum);
 *  - count(KIND, ...).STAT: per iteration, the number of spans of that kind
 *    (matching the filters); the statistic defaults to max, so
 *    "count(db, service=scheduler) <= 5" holds when no iteration made more
 *    than five scheduler queries;
 *  - failure_rate: failed iterations / iterations, 0..1.
 * Time metrics take a duration limit; counts a plain number; failure_rate
 * a percentage or a plain fraction. */
#ifndef HARNESS_ANALYZE_GATE_H
#define HARNESS_ANALYZE_GATE_H

#include <stdbool.h>
#include <stddef.h>

enum gate_subject {
	GATE_ITERATION,
	GATE_STEP,
	GATE_OP,
	GATE_COUNT,
	GATE_FAILURE_RATE,
};

enum gate_stat {
	GATE_STAT_MIN,
	GATE_STAT_MAX,
	GATE_STAT_MEAN,
	GATE_STAT_MEDIAN,
	GATE_STAT_STDDEV,
	GATE_STAT_PERCENTILE,	/* percentile in struct gate_metric */
};

enum gate_cmp {
	GATE_LT,
	GATE_LE,
	GATE_GT,
	GATE_GE,
	GATE_EQ,
	GATE_NE,
};

/* What a value means, which decides how it is printed. */
enum gate_unit {
	GATE_UNIT_NS,		/* a duration in nanoseconds */
	GATE_UNIT_COUNT,	/* a plain number */
	GATE_UNIT_FRACTION,	/* 0..1, printed as a percentage */
};

/* A reference to one observed number of a run. Strings are owned by the
 * metric (gate_metric_release frees them). */
struct gate_metric {
	enum gate_subject subject;
	char *step;		/* GATE_STEP: the step name */
	char *service;		/* GATE_OP; GATE_COUNT filter or NULL */
	char *kind;		/* GATE_OP; GATE_COUNT: NULL for any kind */
	char *name;		/* GATE_OP; GATE_COUNT filter or NULL */
	enum gate_stat stat;	/* not used by GATE_FAILURE_RATE */
	double percentile;	/* GATE_STAT_PERCENTILE: 0..100 */
};

struct gate {
	char *expr;		/* the expression as written */
	struct gate_metric metric;
	enum gate_cmp cmp;
	double limit;		/* ns, a count or a fraction, per unit */
	enum gate_unit unit;	/* the metric's unit (and so the limit's) */
};

/* Parse EXPR into *out (caller frees with gate_free). On error returns -1,
 * sets *cause (caller frees) to a message such as "expected a duration
 * after '<', found 'fast'" and *column to the 1-based column in EXPR where
 * the problem is, so the caller can point at file:line:column (a
 * scenario's gate: scenario_gate_column). column may be NULL. */
int gate_parse(struct gate **out, const char *expr, unsigned *column,
	       char **cause);
void gate_free(struct gate *g);

/* Parse a bare metric reference, "iteration", "step(NAME)" or
 * "op(S, K, N)", as a regression section names them; a statistic suffix
 * is accepted but not required (stat then is GATE_STAT_MEDIAN). Same
 * error convention as gate_parse. Release with gate_metric_release. */
int gate_metric_parse(struct gate_metric *out, const char *text,
		      unsigned *column, char **cause);
void gate_metric_release(struct gate_metric *m);

/* The unit of a metric's values. */
enum gate_unit gate_metric_unit(const struct gate_metric *m);

/* Print a metric back in canonical form ("step(boot).p95",
 * "count(db, service=scheduler).max"); returns a string the caller frees. */
char *gate_metric_format(const struct gate_metric *m);
/* Print a value in a unit: "912ms", "1.5%", "5". Writes at most size
 * bytes into buf, always terminated. */
void gate_format_value(char *buf, size_t size, double v, enum gate_unit unit);
const char *gate_cmp_str(enum gate_cmp cmp);

/* The observed value of a metric over the run's non-warmup iterations.
 * Return 0 with *value set; 1 when the run has no data for it (no such
 * step, no iteration at all); negative on failure with *cause set (caller
 * frees). */
typedef int (*gate_lookup_fn)(double *value, const struct gate_metric *m,
			      char **cause, void *payload);

struct gate_result {
	bool pass;
	bool missing;		/* the lookup had no data: the gate fails */
	double observed;	/* NAN when missing */
	/* "iteration.p95 = 912ms, limit < 800ms: FAIL" (owned; released by
	 * gate_result_release). */
	char *line;
};

/* Evaluate G with LOOKUP. Returns 0 with *res filled (pass or fail), or
 * the lookup's negative value with *cause set. */
int gate_eval(struct gate_result *res, const struct gate *g,
	      gate_lookup_fn lookup, void *payload, char **cause);
void gate_result_release(struct gate_result *res);

/* Apply M's statistic (stat, percentile) to x[0..n) and set *out; NAN
 * for n == 0. Returns -1 when out of memory (it sorts a copy). */
int gate_metric_stat(double *out, const struct gate_metric *m,
		     const double *x, size_t n);

/* Whether observed CMP limit holds. */
bool gate_compare(double observed, enum gate_cmp cmp, double limit);

#endif
