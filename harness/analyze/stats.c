/* stats.c: descriptive statistics, the Mann-Whitney test, the
 * Hodges-Lehmann shift, Benjamini-Hochberg and Noether's sample size. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

void stats_sort(double *x, size_t n)
{
	if (n > 1)
		qsort(x, n, sizeof(*x), cmp_double);
}

static double *copy_sorted(const double *x, size_t n)
{
	double *c = malloc((n ? n : 1) * sizeof(*c));

	if (!c)
		return NULL;
	if (n)
		memcpy(c, x, n * sizeof(*c));
	stats_sort(c, n);
	return c;
}

double stats_quantile_sorted(const double *sorted, size_t n, double q)
{
	double h, lo;
	size_t i;

	if (!n)
		return NAN;
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	h = (double)(n - 1) * q;
	lo = floor(h);
	i = (size_t)lo;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (h - lo) * (sorted[i + 1] - sorted[i]);
}

double stats_percentile_sorted(const double *sorted, size_t n, double p)
{
	return stats_quantile_sorted(sorted, n, p / 100.0);
}

double stats_median_sorted(const double *sorted, size_t n)
{
	return stats_quantile_sorted(sorted, n, 0.5);
}

int stats_percentile(double *out, const double *x, size_t n, double p)
{
	double *s = copy_sorted(x, n);

	if (!s)
		return -1;
	*out = stats_percentile_sorted(s, n, p);
	free(s);
	return 0;
}

double stats_mean(const double *x, size_t n)
{
	double sum = 0;

	if (!n)
		return NAN;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return sum / (double)n;
}

double stats_min(const double *x, size_t n)
{
	double m;

	if (!n)
		return NAN;
	m = x[0];
	for (size_t i = 1; i < n; i++)
		if (x[i] < m)
			m = x[i];
	return m;
}

double stats_max(const double *x, size_t n)
{
	double m;

	if (!n)
		return NAN;
	m = x[0];
	for (size_t i = 1; i < n; i++)
		if (x[i] > m)
			m = x[i];
	return m;
}

double stats_stddev(const double *x, size_t n)
{
	double mean, ss = 0;

	if (!n)
		return NAN;
	if (n == 1)
		return 0;
	/* Two passes: the textbook one-pass formula cancels badly for
	 * durations in nanoseconds with a small spread. */
	mean = stats_mean(x, n);
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - mean) * (x[i] - mean);
	return sqrt(ss / (double)(n - 1));
}

/* MAD of sorted data, using dev (n doubles) as scratch. */
static double mad_sorted(const double *sorted, size_t n, double *dev)
{
	double med = stats_median_sorted(sorted, n);

	for (size_t i = 0; i < n; i++)
		dev[i] = fabs(sorted[i] - med);
	stats_sort(dev, n);
	return stats_median_sorted(dev, n);
}

int stats_mad(double *out, const double *x, size_t n)
{
	double *s;

	if (!n) {
		*out = NAN;
		return 0;
	}
	s = copy_sorted(x, n);
	if (!s)
		return -1;
	/* The deviations can overwrite the sorted copy: each is computed
	 * from the value at its own index after the median is known. */
	*out = mad_sorted(s, n, s);
	free(s);
	return 0;
}

int stats_summarize(struct stats_summary *out, const double *x, size_t n)
{
	double *s;

	out->n = n;
	if (!n) {
		out->min = out->max = out->mean = out->stddev = NAN;
		out->median = out->mad = NAN;
		out->p50 = out->p90 = out->p95 = out->p99 = NAN;
		return 0;
	}
	s = copy_sorted(x, n);
	if (!s)
		return -1;
	out->min = s[0];
	out->max = s[n - 1];
	out->mean = stats_mean(s, n);
	out->stddev = stats_stddev(s, n);
	out->median = out->p50 = stats_median_sorted(s, n);
	out->p90 = stats_percentile_sorted(s, n, 90);
	out->p95 = stats_percentile_sorted(s, n, 95);
	out->p99 = stats_percentile_sorted(s, n, 99);
	out->mad = mad_sorted(s, n, s);
	free(s);
	return 0;
}

double stats_norm_cdf(double z)
{
	return 0.5 * erfc(-z / M_SQRT2);
}

double stats_norm_sf(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

/* Acklam's rational approximation (relative error 1.15e-9), then one
 * Halley step on erfc, which brings it to double precision. */
double stats_norm_ppf(double p)
{
	static const double a[] = { -3.969683028665376e+01,
				    2.209460984245205e+02,
				    -2.759285104469687e+02,
				    1.383577518672690e+02,
				    -3.066479806614716e+01,
				    2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01,
				    1.615858368580409e+02,
				    -1.556989798598866e+02,
				    6.680131188771972e+01,
				    -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03,
				    -3.223964580411365e-01,
				    -2.400758277161838e+00,
				    -2.549732539343734e+00,
				    4.374664141464968e+00,
				    2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03,
				    3.224671290700398e-01,
				    2.445134137142996e+00,
				    3.754408661907416e+00 };
	const double plow = 0.02425;
	double q, r, x, e, u;

	if (!(p > 0 && p < 1))
		return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
	if (p < plow) {
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) *
			     q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else if (p <= 1 - plow) {
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) *
			     r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) *
			     r + 1);
	} else {
		q = sqrt(-2 * log(1 - p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) *
			      q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	e = stats_norm_cdf(x) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

/* ------------------------------------------------------------------ */

/* The exact null distribution of U for sizes m, n (no ties): pmf[k] for
 * k in 0..mn. The number of arrangements f(m, n, k) with U = k obeys
 * f(m, n, k) = f(m - 1, n, k - n) + f(m, n - 1, k): the largest of the
 * m + n values belongs either to the first sample (beating all n of the
 * second) or to the second. We grow n one step at a time, keeping one row
 * of counts for every m' <= m. Counts reach C(m + n, m), which a double
 * holds closely enough (exactly up to m + n = 56). */
static double *mwu_pmf(size_t m, size_t n)
{
	size_t len = m * n + 1;
	double *rows, *pmf = NULL;
	double total = 0;

	rows = calloc((m + 1) * len, sizeof(*rows));
	if (!rows)
		return NULL;
	for (size_t i = 0; i <= m; i++)
		rows[i * len] = 1; /* n = 0: U = 0 for every m */
	for (size_t j = 1; j <= n; j++) {
		/* rows[i] holds f(i, j - 1, .); make it f(i, j, .) in order
		 * of i, since f(i, j) needs f(i - 1, j). */
		for (size_t i = 1; i <= m; i++) {
			double *cur = rows + i * len;
			const double *prev = rows + (i - 1) * len;
			size_t top = i * j;

			for (size_t k = top + 1; k-- > j;)
				cur[k] += prev[k - j];
		}
	}
	pmf = malloc(len * sizeof(*pmf));
	if (pmf) {
		memcpy(pmf, rows + m * len, len * sizeof(*pmf));
		for (size_t k = 0; k < len; k++)
			total += pmf[k];
		for (size_t k = 0; k < len; k++)
			pmf[k] /= total;
	}
	free(rows);
	return pmf;
}

int stats_mwu_cdf(double *out, size_t m, size_t n, double k)
{
	double *pmf, sum = 0;

	if (k < 0) {
		*out = 0;
		return 0;
	}
	pmf = mwu_pmf(m, n);
	if (!pmf)
		return -1;
	for (size_t i = 0; i <= m * n && (double)i <= k; i++)
		sum += pmf[i];
	*out = sum > 1 ? 1 : sum;
	free(pmf);
	return 0;
}

struct tagged {
	double v;
	int from_a;
};

static int cmp_tagged(const void *pa, const void *pb)
{
	const struct tagged *a = pa, *b = pb;

	return (a->v > b->v) - (a->v < b->v);
}

int stats_mann_whitney(struct stats_mwu *out, const double *a, size_t na,
		       const double *b, size_t nb, enum stats_mwu_method method)
{
	size_t n = na + nb;
	struct tagged *pool;
	double ranksum_a = 0, tie_term = 0, mu, sigma2, u, dev;
	bool exact;

	memset(out, 0, sizeof(*out));
	if (!na || !nb ||
	    (method == STATS_MWU_EXACT &&
	     (na > STATS_MWU_EXACT_LIMIT || nb > STATS_MWU_EXACT_LIMIT))) {
		errno = EINVAL;
		return -1;
	}
	pool = malloc(n * sizeof(*pool));
	if (!pool)
		return -1;
	for (size_t i = 0; i < na; i++)
		pool[i] = (struct tagged){ a[i], 1 };
	for (size_t j = 0; j < nb; j++)
		pool[na + j] = (struct tagged){ b[j], 0 };
	qsort(pool, n, sizeof(*pool), cmp_tagged);

	/* Midranks: a run of t equal values at 0-based positions i..i+t-1
	 * all get rank i + (t + 1) / 2. */
	for (size_t i = 0; i < n;) {
		size_t t = 1;
		double rank;

		while (i + t < n && pool[i + t].v == pool[i].v)
			t++;
		rank = (double)i + ((double)t + 1) / 2;
		for (size_t k = i; k < i + t; k++)
			if (pool[k].from_a)
				ranksum_a += rank;
		if (t > 1) {
			tie_term += (double)t * t * t - (double)t;
			out->ties = true;
		}
		i += t;
	}
	free(pool);

	u = ranksum_a - (double)na * ((double)na + 1) / 2;
	out->u = u;
	mu = (double)na * (double)nb / 2;
	sigma2 = (double)na * (double)nb / 12 *
		 (((double)n + 1) - tie_term / ((double)n * ((double)n - 1)));
	dev = u - mu;
	out->z = sigma2 > 0 ? dev / sqrt(sigma2) : 0;

	exact = method == STATS_MWU_EXACT ||
		(method == STATS_MWU_AUTO && !out->ties &&
		 na <= STATS_MWU_EXACT_MAX && nb <= STATS_MWU_EXACT_MAX);
	out->exact = exact;
	if (exact) {
		double *pmf = mwu_pmf(na, nb), tail = 0;
		double umax = u > (double)na * nb - u ? u : (double)na * nb - u;

		if (!pmf)
			return -1;
		for (size_t k = na * nb + 1; k-- > 0 && (double)k >= umax;)
			tail += pmf[k];
		free(pmf);
		out->p = 2 * tail;
	} else if (sigma2 <= 0) {
		out->p = 1; /* every value equal: no evidence either way */
	} else {
		double d = fabs(dev) - 0.5;

		out->p = 2 * stats_norm_sf(d / sqrt(sigma2));
	}
	if (out->p > 1)
		out->p = 1;
	return 0;
}

/* ------------------------------------------------------------------ */

/* The k-th smallest (0-based) of x[0..n), by quickselect (Hoare partition
 * around a median of three): expected linear time where sorting the n a
 * b pairwise differences of a Hodges-Lehmann estimate would dominate a
 * comparison. Reorders x. */
static double select_nth(double *x, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

	while (lo < hi) {
		ptrdiff_t i = lo, j = hi, mid = lo + (hi - lo) / 2;
		double a = x[lo], b = x[mid], c = x[hi], p;

		p = a < b ? (b < c ? b : (a < c ? c : a))
			  : (a < c ? a : (b < c ? c : b));
		while (i <= j) {
			while (x[i] < p)
				i++;
			while (x[j] > p)
				j--;
			if (i <= j) {
				double t = x[i];

				x[i++] = x[j];
				x[j--] = t;
			}
		}
		/* x[lo..j] <= p <= x[i..hi]; between them, all equal p. */
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			return x[kk];
	}
	return x[kk];
}

/* The median of x[0..n), n > 0, by selection. Reorders x. */
static double select_median(double *x, size_t n)
{
	double hi = select_nth(x, n, n / 2), lo;

	if (n % 2)
		return hi;
	/* x[0..n/2) now holds the lower half: its maximum. */
	lo = x[0];
	for (size_t i = 1; i < n / 2; i++)
		if (x[i] > lo)
			lo = x[i];
	return lo + (hi - lo) / 2;
}

/* For large samples the n a n b differences are not made at all: with a
 * and b sorted, how many differences b_j - a_i are <= t is counted in one
 * merge-like pass (IEEE subtraction is monotonic, so the pointer into b
 * only moves forward as a_i grows), and the k-th smallest difference is
 * the smallest double t whose count reaches k, found by bisection on t
 * down to adjacent doubles. O((na + nb) log range) per order statistic. */
struct diffs {
	const double *a, *b;	/* sorted */
	size_t na, nb;
};

static size_t diffs_count_le(const struct diffs *d, double t)
{
	size_t j = 0, n = 0;

	/* As a_i grows, so does the number of b_j within t of it: walk i
	 * upwards and j only moves forward. */
	for (size_t i = 0; i < d->na; i++) {
		while (j < d->nb && d->b[j] - d->a[i] <= t)
			j++;
		n += j;
	}
	return n;
}

/* The k-th smallest (1-based) difference b_j - a_i. */
static double diffs_kth(const struct diffs *d, size_t k)
{
	double lo = d->b[0] - d->a[d->na - 1];
	double hi = d->b[d->nb - 1] - d->a[0];

	if (diffs_count_le(d, lo) >= k)
		return lo;
	/* count(lo) < k <= count(hi) */
	for (;;) {
		double mid = lo + (hi - lo) / 2;

		if (mid <= lo || mid >= hi)
			return hi;
		if (diffs_count_le(d, mid) >= k)
			hi = mid;
		else
			lo = mid;
	}
}

#define HL_SELECT_MAX 4096	/* up to this many pairs: select in memory */

int stats_hodges_lehmann(struct stats_hl *out, const double *a, size_t na,
			 const double *b, size_t nb, double alpha)
{
	size_t N = na * nb, k;
	double *d, *as, *sa = NULL, *sb = NULL, amed;
	struct diffs ds = { 0 };

	memset(out, 0, sizeof(*out));
	if (!na || !nb || !(alpha > 0 && alpha < 1) || nb > SIZE_MAX / na) {
		errno = EINVAL;
		return -1;
	}
	if (N > HL_SELECT_MAX) {
		sa = copy_sorted(a, na);
		sb = copy_sorted(b, nb);
		if (!sa || !sb) {
			free(sa);
			free(sb);
			return -1;
		}
		ds = (struct diffs){ sa, sb, na, nb };
		out->shift = diffs_kth(&ds, (N + 1) / 2);
		if (N % 2 == 0) {
			double up = diffs_kth(&ds, N / 2 + 1);

			out->shift += (up - out->shift) / 2;
		}
		d = NULL;
	} else {
		d = malloc(N * sizeof(*d));
		if (!d)
			return -1;
		for (size_t i = 0; i < na; i++)
			for (size_t j = 0; j < nb; j++)
				d[i * nb + j] = b[j] - a[i];
		out->shift = select_median(d, N);
	}

	if (na <= STATS_MWU_EXACT_MAX && nb <= STATS_MWU_EXACT_MAX) {
		double *pmf = mwu_pmf(na, nb), cdf = 0, below;

		if (!pmf) {
			free(d);
			free(sa);
			free(sb);
			return -1;
		}
		/* k - 1 = the largest c with P(U <= c) <= alpha / 2, and
		 * below = P(U <= k - 1). When even P(U = 0) is above alpha / 2
		 * the samples are too small for the level: k = 1 gives the
		 * full range, which misses the shift only when U is 0 or N. */
		k = 1;
		below = pmf[0];
		for (size_t c = 0; c <= N; c++) {
			cdf += pmf[c];
			if (cdf > alpha / 2 * (1 + 1e-12))
				break;
			k = c + 1;
			below = cdf;
		}
		free(pmf);
		out->conf = 1 - 2 * below;
	} else {
		double sd = sqrt((double)N * ((double)(na + nb) + 1) / 12);
		double z = stats_norm_ppf(1 - alpha / 2);
		double kk = floor((double)N / 2 - z * sd + 0.5);

		k = kk < 1 ? 1 : (size_t)kk;
		out->conf = 1 - 2 * stats_norm_cdf(((double)k - 0.5 -
						    (double)N / 2) / sd);
	}
	if (k > (N + 1) / 2)
		k = (N + 1) / 2;
	if (d) {
		out->lo = select_nth(d, N, k - 1);
		out->hi = select_nth(d, N, N - k);
	} else {
		out->lo = diffs_kth(&ds, k);
		out->hi = diffs_kth(&ds, N + 1 - k);
	}
	free(d);
	free(sa);
	free(sb);

	as = copy_sorted(a, na);
	if (!as)
		return -1;
	amed = stats_median_sorted(as, na);
	free(as);
	if (amed != 0) {
		out->rel_shift = out->shift / fabs(amed);
		out->rel_lo = out->lo / fabs(amed);
		out->rel_hi = out->hi / fabs(amed);
	} else {
		out->rel_shift = out->rel_lo = out->rel_hi = NAN;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

struct ranked_p {
	double p;
	size_t index;
};

static int cmp_ranked_p(const void *pa, const void *pb)
{
	const struct ranked_p *a = pa, *b = pb;

	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

int stats_bh(double *q, bool *reject, const double *p, size_t n,
	     double alpha)
{
	struct ranked_p *r;
	double run = 1;

	if (!n)
		return 0;
	r = malloc(n * sizeof(*r));
	if (!r)
		return -1;
	for (size_t i = 0; i < n; i++)
		r[i] = (struct ranked_p){ p[i], i };
	qsort(r, n, sizeof(*r), cmp_ranked_p);
	/* Walk from the largest p down, so each q is the running minimum of
	 * p(j) n / j over the ranks j at or above it. The p-values were
	 * copied into r, so q may alias p. */
	for (size_t k = n; k-- > 0;) {
		double v = r[k].p * (double)n / (double)(k + 1);

		if (v < run)
			run = v;
		q[r[k].index] = run;
	}
	if (reject)
		for (size_t i = 0; i < n; i++)
			reject[i] = q[i] <= alpha;
	free(r);
	return 0;
}

/* ------------------------------------------------------------------ */

size_t stats_mwu_sample_size(double sd_a, double sd_b, double effect,
			     double alpha, double power)
{
	double sd, P, za, zb, N;
	size_t nmin = 1, n;

	if (!(effect > 0) || !(alpha > 0 && alpha < 1) ||
	    !(power > 0 && power < 1) || sd_a < 0 || sd_b < 0)
		return 0;
	/* Smallest equal sizes whose best exact two-sided p, 2 / C(2n, n),
	 * gets to alpha. */
	for (double binom = 2; 2 / binom > alpha; nmin++)
		binom = binom * (2.0 * nmin + 1) * (2.0 * nmin + 2) /
			(((double)nmin + 1) * ((double)nmin + 1));
	sd = sqrt(sd_a * sd_a + sd_b * sd_b);
	if (sd == 0)
		return nmin;
	P = stats_norm_cdf(effect / sd);
	if (P >= 1 - 1e-15)
		return nmin;
	za = stats_norm_ppf(1 - alpha / 2);
	zb = stats_norm_ppf(power);
	N = (za + zb) * (za + zb) / (3 * (P - 0.5) * (P - 0.5));
	if (N / 2 > 1e9)
		return (size_t)1e9;
	n = (size_t)ceil(N / 2);
	return n < nmin ? nmin : n;
}

int stats_robust_sd(double *out, const double *x, size_t n)
{
	double mad;

	if (stats_mad(&mad, x, n) < 0)
		return -1;
	*out = mad > 0 ? 1.4826 * mad : stats_stddev(x, n);
	return 0;
}

/* ------------------------------------------------------------------ */

void stats_log_transform(double *y, const double *x, size_t n, double offset)
{
	for (size_t i = 0; i < n; i++)
		y[i] = log(x[i] + offset);
}

int stats_combine_blocks(struct stats_combined *out, const double *d,
			 const double *var, size_t k, double alpha)
{
	double sw = 0, sw2 = 0, swd = 0, dbar, q = 0, c, tau2 = 0;
	double sws = 0, swsd = 0, z;

	memset(out, 0, sizeof(*out));
	if (!k || !(alpha > 0 && alpha < 1)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < k; i++) {
		double w;

		if (!(var[i] > 0)) {
			errno = EINVAL;
			return -1;
		}
		w = 1 / var[i];
		sw += w;
		sw2 += w * w;
		swd += w * d[i];
	}
	dbar = swd / sw;
	for (size_t i = 0; i < k; i++)
		q += (d[i] - dbar) * (d[i] - dbar) / var[i];
	c = sw - sw2 / sw;
	if (k > 1 && c > 0 && q > (double)(k - 1))
		tau2 = (q - (double)(k - 1)) / c;
	for (size_t i = 0; i < k; i++) {
		double w = 1 / (var[i] + tau2);

		sws += w;
		swsd += w * d[i];
	}
	out->k = k;
	out->est = swsd / sws;
	out->se = sqrt(1 / sws);
	out->tau2 = tau2;
	out->q = q;
	z = stats_norm_ppf(1 - alpha / 2);
	out->lo = out->est - z * out->se;
	out->hi = out->est + z * out->se;
	out->z = out->est / out->se;
	out->p = 2 * stats_norm_sf(fabs(out->z));
	if (out->p > 1)
		out->p = 1;
	return 0;
}

double stats_hl_se(const struct stats_hl *hl, double floor)
{
	double conf = hl->conf, z, se;

	if (!(conf > 0) || conf >= 1)
		conf = 0.95;
	z = stats_norm_ppf(1 - (1 - conf) / 2);
	se = (hl->hi - hl->lo) / (2 * z);
	return se > floor ? se : floor;
}

double stats_sign_test(size_t k, size_t n)
{
	size_t lo = k < n - k ? k : n - k;
	double p = 0;

	if (!n)
		return 1;
	/* 2 P(X <= min(k, n - k)) for X ~ Binomial(n, 1/2). */
	for (size_t i = 0; i <= lo; i++)
		p += exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
			 lgamma((double)(n - i) + 1) - (double)n * log(2.0));
	p *= 2;
	return p > 1 ? 1 : p;
}

double stats_alpha_at_look(double alpha, unsigned look)
{
	return look ? ldexp(alpha, -(int)(look > 1000 ? 1000 : look)) : alpha;
}
