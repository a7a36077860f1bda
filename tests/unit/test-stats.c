/* test-stats.c: analyze/stats.c against reference values computed with
 * numpy and scipy (tests/data/analyze/gen-stats.py wrote
 * stats-expected.txt), plus a few properties checked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"

/* One line of stats-expected.txt: "kind key=v,v,v key=v ...". */
#define MAX_FIELDS 16
struct ref_line {
	char kind[32];
	size_t nfields;
	char *key[MAX_FIELDS];
	double *val[MAX_FIELDS];
	size_t nval[MAX_FIELDS];
};

struct ref {
	struct ref_line *lines;
	size_t nlines;
};

static void parse_list(char *s, double **out, size_t *n)
{
	size_t cap = 8, len = 0;
	double *v = malloc(cap * sizeof(*v));
	char *tok, *save = NULL;

	assert_non_null(v);
	for (tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;

		if (len == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[len++] = strtod(tok, &end);
		assert_true(end != tok && *end == '\0');
	}
	*out = v;
	*n = len;
}

static void ref_load(struct ref *r)
{
	const char *root = getenv("HARNESS_SOURCE_ROOT");
	char path[4096], *line = NULL;
	size_t cap = 0, alloc = 0;
	FILE *f;

	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/tests/data/analyze/stats-expected.txt",
		 root);
	f = fopen(path, "r");
	assert_non_null(f);
	memset(r, 0, sizeof(*r));
	while (getline(&line, &cap, f) > 0) {
		struct ref_line *l;
		char *tok, *save = NULL;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (r->nlines == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			r->lines = realloc(r->lines, alloc * sizeof(*r->lines));
			assert_non_null(r->lines);
		}
		l = &r->lines[r->nlines++];
		memset(l, 0, sizeof(*l));
		tok = strtok_r(line, " \n", &save);
		assert_non_null(tok);
		snprintf(l->kind, sizeof(l->kind), "%s", tok);
		while ((tok = strtok_r(NULL, " \n", &save))) {
			char *eq = strchr(tok, '=');

			assert_non_null(eq);
			assert_true(l->nfields < MAX_FIELDS);
			*eq = '\0';
			l->key[l->nfields] = strdup(tok);
			parse_list(eq + 1, &l->val[l->nfields],
				   &l->nval[l->nfields]);
			l->nfields++;
		}
	}
	free(line);
	fclose(f);
	assert_true(r->nlines > 50);
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		for (size_t j = 0; j < r->lines[i].nfields; j++) {
			free(r->lines[i].key[j]);
			free(r->lines[i].val[j]);
		}
	free(r->lines);
}

static const double *field(const struct ref_line *l, const char *key,
			   size_t *n)
{
	for (size_t j = 0; j < l->nfields; j++)
		if (!strcmp(l->key[j], key)) {
			if (n)
				*n = l->nval[j];
			return l->val[j];
		}
	return NULL;
}

static double scalar(const struct ref_line *l, const char *key)
{
	size_t n = 0;
	const double *v = field(l, key, &n);

	if (!v || n != 1)
		fail_msg("line '%s' has no scalar '%s'", l->kind, key);
	return v[0];
}

/* Relative closeness, with an absolute floor for values near 0. */
static void assert_close(double got, double want, double rel, const char *what)
{
	double tol = rel * fmax(fabs(want), 1e-300);

	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static size_t ref_count(const struct ref *r, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nlines; i++)
		n += !strcmp(r->lines[i].kind, kind);
	return n;
}

static void test_stats__percentiles_match_numpy(void **state)
{
	struct ref r;

	(void)state;
	ref_load(&r);
	assert_true(ref_count(&r, "percentile") >= 30);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];
		const double *x;
		size_t n = 0;
		double got, *sorted;

		if (strcmp(l->kind, "percentile"))
			continue;
		x = field(l, "x", &n);
		assert_int_equal(stats_percentile(&got, x, n, scalar(l, "p")),
				 0);
		assert_close(got, scalar(l, "expect"), 1e-12, "percentile");
		sorted = malloc(n * sizeof(*sorted));
		memcpy(sorted, x, n * sizeof(*sorted));
		stats_sort(sorted, n);
		assert_close(stats_quantile_sorted(sorted, n,
						   scalar(l, "p") / 100),
			     scalar(l, "expect"), 1e-12, "quantile");
		free(sorted);
	}
	ref_free(&r);
}

static void test_stats__describe_matches_numpy(void **state)
{
	struct ref r;
	struct stats_summary s;
	double mad;

	(void)state;
	ref_load(&r);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];
		const double *x;
		size_t n = 0;

		if (strcmp(l->kind, "describe"))
			continue;
		x = field(l, "x", &n);
		assert_int_equal(stats_summarize(&s, x, n), 0);
		assert_int_equal(s.n, n);
		assert_close(s.mean, scalar(l, "mean"), 1e-12, "mean");
		assert_close(stats_mean(x, n), scalar(l, "mean"), 1e-12, "mean");
		assert_close(s.median, scalar(l, "median"), 1e-12, "median");
		assert_close(s.stddev, scalar(l, "stddev"), 1e-10, "stddev");
		assert_close(s.mad, scalar(l, "mad"), 1e-12, "mad");
		assert_int_equal(stats_mad(&mad, x, n), 0);
		assert_close(mad, scalar(l, "mad"), 1e-12, "mad");
		assert_close(s.min, scalar(l, "min"), 0, "min");
		assert_close(s.max, scalar(l, "max"), 0, "max");
		assert_close(stats_min(x, n), scalar(l, "min"), 0, "min");
		assert_close(stats_max(x, n), scalar(l, "max"), 0, "max");
	}
	/* An empty sample: NAN, not a crash. */
	assert_int_equal(stats_summarize(&s, NULL, 0), 0);
	assert_true(isnan(s.median) && isnan(s.p99));
	assert_true(isnan(stats_mean(NULL, 0)));
	ref_free(&r);
}

static void test_stats__normal_distribution(void **state)
{
	struct ref r;

	(void)state;
	ref_load(&r);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];

		if (!strcmp(l->kind, "normcdf")) {
			double z = scalar(l, "z");

			assert_close(stats_norm_cdf(z), scalar(l, "cdf"), 1e-12,
				     "cdf");
			assert_close(stats_norm_sf(z), scalar(l, "sf"), 1e-12,
				     "sf");
		} else if (!strcmp(l->kind, "normppf")) {
			assert_close(stats_norm_ppf(scalar(l, "p")),
				     scalar(l, "expect"), 1e-10, "ppf");
		}
	}
	ref_free(&r);
}

static void test_stats__mwu_exact_distribution(void **state)
{
	struct ref r;

	(void)state;
	ref_load(&r);
	assert_true(ref_count(&r, "mwucdf") >= 12);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];
		double got;

		if (strcmp(l->kind, "mwucdf"))
			continue;
		assert_int_equal(stats_mwu_cdf(&got, (size_t)scalar(l, "m"),
					       (size_t)scalar(l, "n"),
					       scalar(l, "k")),
				 0);
		assert_close(got, scalar(l, "expect"), 1e-12, "mwu cdf");
	}
	ref_free(&r);
}

static void test_stats__mwu_matches_scipy(void **state)
{
	struct ref r;
	size_t nexact = 0, nnormal = 0;

	(void)state;
	ref_load(&r);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];
		struct stats_mwu m;
		const double *a, *b;
		size_t na = 0, nb = 0;
		bool exact;

		if (strcmp(l->kind, "mwu"))
			continue;
		a = field(l, "a", &na);
		b = field(l, "b", &nb);
		exact = scalar(l, "exact") != 0;
		assert_int_equal(stats_mann_whitney(&m, a, na, b, nb,
						    exact ? STATS_MWU_EXACT
							  : STATS_MWU_NORMAL),
				 0);
		assert_int_equal(m.exact, exact);
		assert_close(m.u, scalar(l, "u"), 1e-12, "U");
		assert_close(m.p, scalar(l, "p"), 1e-9, "p");
		if (exact) {
			nexact++;
			/* Small samples without ties: AUTO is exact too. */
			struct stats_mwu m2;

			assert_int_equal(stats_mann_whitney(&m2, a, na, b, nb,
							    STATS_MWU_AUTO),
					 0);
			assert_true(m2.exact);
			assert_close(m2.p, m.p, 0, "auto p");
		} else {
			nnormal++;
			assert_close(m.z, scalar(l, "z"), 1e-10, "z");
			if (m.ties) {
				struct stats_mwu m2;

				assert_int_equal(
					stats_mann_whitney(&m2, a, na, b, nb,
							   STATS_MWU_AUTO),
					0);
				assert_false(m2.exact);
			}
		}
		/* Swapping the samples mirrors U and keeps p. */
		{
			struct stats_mwu w;

			assert_int_equal(stats_mann_whitney(&w, b, nb, a, na,
							    exact ? STATS_MWU_EXACT
								  : STATS_MWU_NORMAL),
					 0);
			assert_close(w.u, (double)na * nb - m.u, 1e-12, "U'");
			assert_close(w.p, m.p, 1e-12, "p'");
		}
	}
	assert_true(nexact >= 5 && nnormal >= 5);
	ref_free(&r);
}

static void test_stats__mwu_by_hand(void **state)
{
	/* a = {1, 2, 3}, b = {4, 5, 6}: no a exceeds any b, U = 0. Of the
	 * C(6, 3) = 20 equally likely rank sets, one gives U = 0 and one
	 * U = 9, so the exact two-sided p is 2/20. */
	const double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
	/* With a tie: a = {1, 2}, b = {2, 3}: pairs (a > b) = 0, one tie:
	 * U = 0.5. */
	const double c[] = { 1, 2 }, d[] = { 2, 3 };
	struct stats_mwu m;

	(void)state;
	assert_int_equal(stats_mann_whitney(&m, a, 3, b, 3, STATS_MWU_AUTO), 0);
	assert_true(m.exact);
	assert_false(m.ties);
	assert_close(m.u, 0, 0, "U");
	assert_close(m.p, 0.1, 1e-15, "p");
	assert_true(m.z < 0);
	assert_int_equal(stats_mann_whitney(&m, c, 2, d, 2, STATS_MWU_AUTO), 0);
	assert_true(m.ties);
	assert_false(m.exact);
	assert_close(m.u, 0.5, 0, "U");
	/* Empty samples are refused. */
	assert_int_equal(stats_mann_whitney(&m, a, 0, b, 3, STATS_MWU_AUTO),
			 -1);
}

static void test_stats__hodges_lehmann(void **state)
{
	struct ref r;
	size_t nexact = 0;

	(void)state;
	ref_load(&r);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];
		struct stats_hl h;
		const double *a, *b;
		size_t na = 0, nb = 0;

		if (strcmp(l->kind, "hl"))
			continue;
		a = field(l, "a", &na);
		b = field(l, "b", &nb);
		assert_int_equal(stats_hodges_lehmann(&h, a, na, b, nb,
						      scalar(l, "alpha")),
				 0);
		assert_close(h.shift, scalar(l, "shift"), 1e-12, "shift");
		assert_close(h.lo, scalar(l, "lo"), 1e-12, "lo");
		assert_close(h.hi, scalar(l, "hi"), 1e-12, "hi");
		assert_true(h.lo <= h.shift && h.shift <= h.hi);
		if (field(l, "conf", NULL)) {
			assert_close(h.conf, scalar(l, "conf"), 1e-12, "conf");
			nexact++;
		} else {
			assert_true(h.conf >= 0.94 && h.conf <= 0.96);
		}
	}
	assert_true(nexact >= 8);
	ref_free(&r);
}

static int cmp_dbl(const void *pa, const void *pb)
{
	double x = *(const double *)pa, y = *(const double *)pb;

	return (x > y) - (x < y);
}

/* Large samples take the path that never builds the differences: the
 * results must be exactly the order statistics of all of them. Ties and
 * an even and an odd number of pairs included. */
static void test_stats__hodges_lehmann_large(void **state)
{
	static const size_t sizes[][2] = { { 100, 120 }, { 101, 99 },
					   { 300, 7 } };
	uint64_t s = 12345;

	(void)state;
	for (size_t c = 0; c < 3; c++) {
		size_t na = sizes[c][0], nb = sizes[c][1], N = na * nb, k;
		double *a = malloc(na * sizeof(*a)), *b = malloc(nb * sizeof(*b));
		double *d = malloc(N * sizeof(*d)), med;
		struct stats_hl h;

		for (size_t i = 0; i < na + nb; i++) {
			double v;

			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			v = (double)(s >> 40) / 1024.0; /* ties are likely */
			if (i < na)
				a[i] = 1e6 + v;
			else
				b[i - na] = 1.03e6 + v * (1 + (double)c / 10);
		}
		for (size_t i = 0; i < na; i++)
			for (size_t j = 0; j < nb; j++)
				d[i * nb + j] = b[j] - a[i];
		qsort(d, N, sizeof(*d), cmp_dbl);
		med = N % 2 ? d[N / 2]
			    : d[N / 2 - 1] + (d[N / 2] - d[N / 2 - 1]) / 2;
		assert_int_equal(stats_hodges_lehmann(&h, a, na, b, nb, 0.05),
				 0);
		assert_true(h.shift == med);
		/* lo is D(k) and hi D(N + 1 - k) for one k. */
		for (k = 0; k < N && d[k] < h.lo; k++)
			;
		assert_true(k < N && d[k] == h.lo);
		assert_true(d[N - 1 - k] == h.hi ||
			    (k > 0 && d[k - 1] == h.lo &&
			     d[N - k] == h.hi));
		assert_true(h.lo < h.shift && h.shift < h.hi);
		free(a);
		free(b);
		free(d);
	}
}

static void test_stats__hodges_lehmann_by_hand(void **state)
{
	/* a = {10, 20, 30}, b = {12, 22, 32, 42}: the 12 differences b - a
	 * are 2, 12, 22, 32 (from 10), -8, 2, 12, 22 (from 20), -18, -8, 2,
	 * 12 (from 30); sorted -18 -8 -8 2 2 2 12 12 12 22 22 32, median
	 * (2 + 12) / 2 = 7. The median of a is 20: relative shift 0.35. */
	const double a[] = { 10, 20, 30 }, b[] = { 12, 22, 32, 42 };
	struct stats_hl h;

	(void)state;
	assert_int_equal(stats_hodges_lehmann(&h, a, 3, b, 4, 0.05), 0);
	assert_close(h.shift, 7, 1e-15, "shift");
	assert_close(h.rel_shift, 0.35, 1e-15, "rel");
	/* 3 and 4 values cannot reach 95%: P(U = 0) = 1/35 > 0.025, so the
	 * interval is the whole range with coverage 1 - 2/35. */
	assert_close(h.lo, -18, 0, "lo");
	assert_close(h.hi, 32, 0, "hi");
	assert_close(h.conf, 1 - 2.0 / 35, 1e-12, "conf");
}

static void test_stats__benjamini_hochberg(void **state)
{
	struct ref r;
	size_t nbh = 0;

	(void)state;
	ref_load(&r);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];
		const double *p, *q, *rej;
		size_t n = 0, nq = 0, nrej = 0, nrejected = 0;
		double *got;
		bool *reject;

		if (strcmp(l->kind, "bh"))
			continue;
		p = field(l, "p", &n);
		q = field(l, "q", &nq);
		rej = field(l, "reject", &nrej);
		assert_int_equal(n, nq);
		assert_int_equal(n, nrej);
		got = malloc(n * sizeof(*got));
		reject = malloc(n * sizeof(*reject));
		assert_int_equal(stats_bh(got, reject, p, n,
					  scalar(l, "alpha")),
				 0);
		for (size_t j = 0; j < n; j++) {
			assert_close(got[j], q[j], 1e-12, "q");
			assert_int_equal(reject[j], rej[j] != 0);
			nrejected += reject[j];
		}
		/* The paper's example (15 p-values) rejects four. */
		if (n == 15)
			assert_int_equal(nrejected, 4);
		/* In place. */
		memcpy(got, p, n * sizeof(*got));
		assert_int_equal(stats_bh(got, NULL, got, n, 0.05), 0);
		for (size_t j = 0; j < n; j++)
			assert_close(got[j], q[j], 1e-12, "q in place");
		free(got);
		free(reject);
		nbh++;
	}
	assert_int_equal(nbh, 2);
	ref_free(&r);
}

static void test_stats__sample_size(void **state)
{
	struct ref r;

	(void)state;
	ref_load(&r);
	for (size_t i = 0; i < r.nlines; i++) {
		const struct ref_line *l = &r.lines[i];

		if (strcmp(l->kind, "samplesize"))
			continue;
		assert_int_equal(stats_mwu_sample_size(scalar(l, "sda"),
						       scalar(l, "sdb"),
						       scalar(l, "effect"),
						       scalar(l, "alpha"),
						       scalar(l, "power")),
				 (size_t)scalar(l, "expect"));
	}
	/* No noise: the least n at which the exact test can reach 5%
	 * (2 / C(8, 4) = 0.029 but 2 / C(6, 3) = 0.1). */
	assert_int_equal(stats_mwu_sample_size(0, 0, 1, 0.05, 0.8), 4);
	/* A bigger effect never needs more iterations. */
	assert_true(stats_mwu_sample_size(10, 10, 20, 0.05, 0.8) <=
		    stats_mwu_sample_size(10, 10, 10, 0.05, 0.8));
	assert_int_equal(stats_mwu_sample_size(10, 10, 0, 0.05, 0.8), 0);
	ref_free(&r);
}

/* Known answers of the DerSimonian-Laird combination, worked by hand:
 * equal estimates have no between-block variance; spread ones do. */
static void test_stats__combine_blocks(void **state)
{
	static const double same[] = { 0.1, 0.2, 0.3 };
	static const double spread[] = { 0.0, 0.5, 1.0 };
	static const double var[] = { 0.01, 0.01, 0.01 };
	struct stats_combined c;

	(void)state;
	/* Q = 100 (0.01 + 0 + 0.01) = 2 = k - 1: tau2 = 0. */
	assert_int_equal(stats_combine_blocks(&c, same, var, 3, 0.05), 0);
	assert_true(fabs(c.est - 0.2) < 1e-12);
	assert_true(fabs(c.q - 2) < 1e-9);
	assert_true(c.tau2 == 0);
	assert_true(fabs(c.se - sqrt(1.0 / 300)) < 1e-12);
	assert_true(fabs(c.lo - (0.2 - 1.959963985 * c.se)) < 1e-6);
	/* Q = 50, C = 300 - 30000 / 300 = 200: tau2 = 48 / 200 = 0.24;
	 * weights 1 / 0.25: se = sqrt(1 / 12). */
	assert_int_equal(stats_combine_blocks(&c, spread, var, 3, 0.05), 0);
	assert_true(fabs(c.est - 0.5) < 1e-12);
	assert_true(fabs(c.tau2 - 0.24) < 1e-12);
	assert_true(fabs(c.se - sqrt(1.0 / 12)) < 1e-12);
	assert_true(c.p > 0.05);	/* z = 1.73 */
	assert_true(fabs(c.z - 0.5 / sqrt(1.0 / 12)) < 1e-9);
	/* One block: itself. */
	assert_int_equal(stats_combine_blocks(&c, spread + 1, var, 1, 0.05),
			 0);
	assert_true(c.est == 0.5 && fabs(c.se - 0.1) < 1e-12 && c.tau2 == 0);
	assert_true(fabs(c.p - 2 * stats_norm_sf(5)) < 1e-15);
	/* Bad input. */
	assert_int_equal(stats_combine_blocks(&c, same, var, 0, 0.05), -1);
	{
		static const double zero[] = { 0.01, 0, 0.01 };

		assert_int_equal(
			stats_combine_blocks(&c, same, zero, 3, 0.05), -1);
	}
}

/* Log shifts are ratios, and the standard error read back from an
 * interval. */
static void test_stats__log_shift(void **state)
{
	double a[20], b[20], ya[20], yb[20];
	struct stats_hl hl;

	(void)state;
	for (int i = 0; i < 20; i++) {
		a[i] = 1000 * (1 + 0.01 * i);
		b[i] = 1.25 * a[i];
	}
	stats_log_transform(ya, a, 20, 1e-9);
	stats_log_transform(yb, b, 20, 1e-9);
	assert_int_equal(stats_hodges_lehmann(&hl, ya, 20, yb, 20, 0.05), 0);
	assert_true(fabs(expm1(hl.shift) - 0.25) < 1e-6);
	assert_true(hl.lo <= hl.shift && hl.shift <= hl.hi);
	assert_true(fabs(stats_hl_se(&hl, 0) -
			 (hl.hi - hl.lo) /
				 (2 * stats_norm_ppf(1 - (1 - hl.conf) / 2))) <
		    1e-12);
	assert_true(stats_hl_se(&hl, 10) == 10);
	/* In place, with an offset: ln(0 + 1) = 0. */
	a[0] = 0;
	stats_log_transform(a, a, 1, 1);
	assert_true(a[0] == 0);
}

/* The sign test against the binomial, and the sequential shares. */
static void test_stats__sign_test_and_looks(void **state)
{
	double sum = 0;

	(void)state;
	/* 2 P(X <= 0), n = 10: 2 / 1024. */
	assert_true(fabs(stats_sign_test(10, 10) - 2.0 / 1024) < 1e-12);
	assert_true(fabs(stats_sign_test(0, 10) - 2.0 / 1024) < 1e-12);
	/* 2 P(X <= 3), n = 10: 2 * 176 / 1024. */
	assert_true(fabs(stats_sign_test(7, 10) - 352.0 / 1024) < 1e-12);
	assert_true(stats_sign_test(5, 10) == 1);
	assert_true(stats_sign_test(0, 0) == 1);
	assert_true(stats_alpha_at_look(0.05, 0) == 0.05);
	assert_true(stats_alpha_at_look(0.05, 1) == 0.025);
	assert_true(stats_alpha_at_look(0.05, 3) == 0.00625);
	/* Spent over any number of looks: below alpha. */
	for (unsigned k = 1; k <= 100; k++)
		sum += stats_alpha_at_look(0.05, k);
	assert_true(sum <= 0.05);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats__percentiles_match_numpy),
		cmocka_unit_test(test_stats__describe_matches_numpy),
		cmocka_unit_test(test_stats__normal_distribution),
		cmocka_unit_test(test_stats__mwu_exact_distribution),
		cmocka_unit_test(test_stats__mwu_matches_scipy),
		cmocka_unit_test(test_stats__mwu_by_hand),
		cmocka_unit_test(test_stats__hodges_lehmann),
		cmocka_unit_test(test_stats__hodges_lehmann_by_hand),
		cmocka_unit_test(test_stats__hodges_lehmann_large),
		cmocka_unit_test(test_stats__benjamini_hochberg),
		cmocka_unit_test(test_stats__sample_size),
		cmocka_unit_test(test_stats__combine_blocks),
		cmocka_unit_test(test_stats__log_shift),
		cmocka_unit_test(test_stats__sign_test_and_looks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
