/* stats.h: the statistics that comparisons and gates rest on, as pure
 * functions on arrays of doubles.
 *
 * Conventions: inputs are never modified unless the name says "sort"; a
 * function whose name ends in _sorted wants its input sorted ascending (see
 * stats_sort) and never allocates. Functions returning double return NAN
 * for an empty input. Functions returning int return 0 on success and -1
 * when a scratch allocation failed (errno ENOMEM) or an argument was out of
 * range (errno EINVAL); such functions say in their comment what they
 * allocate, and free it before returning. NaN inputs are not supported. */
#ifndef HARNESS_ANALYZE_STATS_H
#define HARNESS_ANALYZE_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* Sort x ascending in place. */
void stats_sort(double *x, size_t n);

/* The q-quantile (0 <= q <= 1) of sorted data, by linear interpolation
 * between closest ranks, numpy's default ("linear", Hyndman & Fan type 7):
 * with h = (n - 1) q, the result is x[floor h] + (h - floor h) *
 * (x[floor h + 1] - x[floor h]). So the 0.5-quantile is the usual median,
 * 0 gives the minimum and 1 the maximum. q outside [0, 1] is clamped. */
double stats_quantile_sorted(const double *sorted, size_t n, double q);
/* Percentile p in [0, 100] of sorted data: stats_quantile_sorted(p / 100). */
double stats_percentile_sorted(const double *sorted, size_t n, double p);
double stats_median_sorted(const double *sorted, size_t n);

/* Percentile p in [0, 100] of unsorted data; sorts a copy (n doubles). */
int stats_percentile(double *out, const double *x, size_t n, double p);

double stats_mean(const double *x, size_t n);
double stats_min(const double *x, size_t n);
double stats_max(const double *x, size_t n);
/* Sample standard deviation (divisor n - 1); 0 for a single value. */
double stats_stddev(const double *x, size_t n);
/* Median absolute deviation from the median, unscaled (multiply by 1.4826
 * to estimate the standard deviation of normal data). Allocates n doubles. */
int stats_mad(double *out, const double *x, size_t n);

/* Everything a report prints about one sample. */
struct stats_summary {
	size_t n;
	double min, max, mean, stddev, median, mad;
	double p50, p90, p95, p99;
};

/* Fill *out for x; allocates n doubles. For n == 0 every field but n is
 * NAN. */
int stats_summarize(struct stats_summary *out, const double *x, size_t n);

/* The standard normal distribution: cdf, survival function 1 - cdf
 * (accurate in the tail) and the quantile function (inverse cdf, for
 * 0 < p < 1; relative error below 1e-9). */
double stats_norm_cdf(double z);
double stats_norm_sf(double z);
double stats_norm_ppf(double p);

/* ------------------------------------------------------------------ */
/* Mann-Whitney U, two-sided. */

enum stats_mwu_method {
	STATS_MWU_AUTO,	  /* exact when there are no ties and both samples
			   * hold at most STATS_MWU_EXACT_MAX values, else
			   * normal */
	STATS_MWU_EXACT,  /* exact distribution of U (ties are not accounted
			   * for; sizes up to STATS_MWU_EXACT_LIMIT) */
	STATS_MWU_NORMAL, /* normal approximation with tie and continuity
			   * correction */
};

#define STATS_MWU_EXACT_MAX 20
#define STATS_MWU_EXACT_LIMIT 50

struct stats_mwu {
	/* U of the first sample a: the number of pairs (a_i, b_j) with
	 * a_i > b_j, plus half the number of ties; equally R_a - na(na+1)/2
	 * with midranks R_a. U of b is na * nb - u. (scipy's U1.) */
	double u;
	/* Standardized statistic, (u - na nb / 2) / sigma with tie
	 * correction, before continuity correction: positive when a tends to
	 * be larger than b. 0 when every value is equal. */
	double z;
	/* Two-sided p-value. The normal one is 2 sf((|u - na nb/2| - 0.5) /
	 * sigma), the exact one 2 P(U >= max(u, na nb - u)); both capped at
	 * 1. Every value equal: p = 1. */
	double p;
	bool exact;	/* which method gave p */
	bool ties;	/* whether the pooled sample had ties */
};

/* Compare samples a (na values) and b (nb values), both non-empty.
 * Allocates the pooled sample (na + nb values) and, for the exact method,
 * (na + 1) (na nb + 1) doubles. EINVAL: an empty sample, or EXACT asked
 * for samples larger than STATS_MWU_EXACT_LIMIT. */
int stats_mann_whitney(struct stats_mwu *out, const double *a, size_t na,
		       const double *b, size_t nb, enum stats_mwu_method method);

/* Exact null distribution of U for sample sizes m and n without ties:
 * P(U <= k). Allocates (m + 1) (m n + 1) doubles; -1 on failure. */
int stats_mwu_cdf(double *out, size_t m, size_t n, double k);

/* ------------------------------------------------------------------ */
/* Hodges-Lehmann shift with the Moses confidence interval. */

struct stats_hl {
	/* Median of the na nb pairwise differences b_j - a_i (head - base):
	 * how much b is shifted above a. */
	double shift;
	/* Confidence interval for the shift: [D(k), D(N + 1 - k)] over the
	 * sorted differences D(1) <= ... <= D(N), N = na nb, where k - 1 is
	 * the largest lower critical value of U for the level: exact
	 * (P(U <= k - 1) <= alpha / 2) when both samples hold at most
	 * STATS_MWU_EXACT_MAX values, else k = round(N/2 - z(1 - alpha/2)
	 * sqrt(N (na + nb + 1) / 12)) (Hollander & Wolfe). k is at least 1:
	 * when the samples are too small for the level, the interval is the
	 * full range of differences and conf says what it really covers. */
	double lo, hi;
	/* The confidence level achieved: 1 - 2 P(U <= k - 1) (exact) or the
	 * normal approximation of it. At least 1 - alpha unless the samples
	 * are too small. */
	double conf;
	/* shift, lo and hi divided by the median of a; NAN when that median
	 * is 0. */
	double rel_shift, rel_lo, rel_hi;
};

/* Estimate the shift of b against a at confidence 1 - alpha (0 < alpha
 * < 1). Allocates na nb doubles (plus the exact distribution as in
 * stats_mann_whitney), so keep samples to thousands of values. */
int stats_hodges_lehmann(struct stats_hl *out, const double *a, size_t na,
			 const double *b, size_t nb, double alpha);

/* ------------------------------------------------------------------ */
/* Benjamini-Hochberg false discovery rate control. */

/* For p-values p[0..n), set q[i] to the BH adjusted p-value: the minimum
 * over the p-values p(j) >= p[i] of p(j) n / rank(j), capped at 1; and
 * reject[i] (when reject is not NULL) to q[i] <= alpha, which is the same
 * set the BH step-up procedure rejects at FDR alpha. q may alias p.
 * Allocates n (p-value, index) pairs. */
int stats_bh(double *q, bool *reject, const double *p, size_t n,
	     double alpha);

/* ------------------------------------------------------------------ */
/* Sample size. */

/* Iterations per side that a two-sided Mann-Whitney test at level alpha
 * needs to detect a shift of `effect` (in the data's unit, > 0) with the
 * given power, when base and head have standard deviations sd_a and sd_b.
 * Noether's formula with equal sample sizes: N = (z(1-alpha/2) +
 * z(power))^2 / (3 (P - 1/2)^2) in total, where P = Phi(effect /
 * sqrt(sd_a^2 + sd_b^2)) is the probability that a head value exceeds a
 * base value under normal noise; the result is ceil(N / 2), and never less
 * than the smallest n at which the exact test can reach alpha at all
 * (4 for alpha 0.05). Returns that n, or 0 for bad arguments. */
size_t stats_mwu_sample_size(double sd_a, double sd_b, double effect,
			     double alpha, double power);

/* A robust standard deviation for sample_size: 1.4826 MAD, or the sample
 * standard deviation when the MAD is 0. Allocates n doubles. */
int stats_robust_sd(double *out, const double *x, size_t n);

/* ------------------------------------------------------------------ */
/* Shifts on the log scale, and blocks combined. */

/* y[i] = ln(x[i] + offset) for n values (offset > 0 keeps zeros finite).
 * A shift d of y is a ratio exp(d) of x (for values large against the
 * offset), so a relative change expm1(d) can never pass -100%. y may
 * alias x. */
void stats_log_transform(double *y, const double *x, size_t n,
			 double offset);

/* One estimate from several blocks (rounds): the random-effects
 * (DerSimonian-Laird) combination of per-block estimates d[i] with
 * within-block variances var[i] > 0. The between-block variance tau2 is
 * estimated from Cochran's Q = sum w (d - dbar)^2, w = 1 / var:
 * tau2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)); then each block
 * is weighted 1 / (var + tau2). With one block, est = d[0], se =
 * sqrt(var[0]) and tau2 = 0. The interval is est -/+ z(1 - alpha/2) se,
 * z = est / se, p two-sided from the normal distribution: a drift that
 * differs from round to round widens it (tau2), so its coverage holds
 * when rounds disagree, which pooling the rounds' iterations would hide. */
struct stats_combined {
	size_t k;		/* blocks */
	double est, se, lo, hi, z, p;
	double tau2;		/* between-block variance */
	double q;		/* Cochran's Q; 0 for one block */
};

int stats_combine_blocks(struct stats_combined *out, const double *d,
			 const double *var, size_t k, double alpha);

/* The standard error of a Hodges-Lehmann shift read back from its
 * interval: (hi - lo) / (2 z), z the normal quantile of the level the
 * interval achieved (hl->conf). Never below floor. */
double stats_hl_se(const struct stats_hl *hl, double floor);

/* Two-sided p-value of a sign test: k of n signs positive, each positive
 * with probability 1/2 under the null; exact. 1 when n is 0. */
double stats_sign_test(size_t k, size_t n);

/* Sequential testing: the share of the error rate ALPHA spent at look
 * LOOK (1, 2, ...): alpha / 2^look. The shares add up to less than alpha
 * however many looks are made, so a gate that looks again after every
 * round and stops at the first settled answer keeps its false-alarm rate
 * below alpha (a Bonferroni bound over the looks). LOOK 0 means "not
 * sequential": alpha itself. */
double stats_alpha_at_look(double alpha, unsigned look);

#endif
