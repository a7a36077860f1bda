#!/usr/bin/python3
# gen-stats.py: write stats-expected.txt, the reference values that
# tests/unit/test-stats.c checks harness/analyze/stats.c against.
#
# Run once by hand (Debian: python3-scipy), not by the tests:
#   /usr/bin/python3 tests/data/analyze/gen-stats.py > \
#       tests/data/analyze/stats-expected.txt
#
# The values come from independent sources, not from the C code's
# formulas: numpy's percentile, scipy's mannwhitneyu (exact and
# asymptotic), scipy's normal distribution, and for the exact null
# distribution of U and the Moses interval a brute-force enumeration of
# every way to split the pooled ranks (itertools.combinations), where the C
# code uses a recurrence.
#
# Format, one case per line: a word naming the check, then key=value
# fields; lists are comma-separated. Lines starting with '#' are comments.
import itertools
import math
import random

import numpy as np
from scipy import stats

out = []


def fmt(v):
    return repr(float(v))


def lst(xs):
    return ",".join(fmt(x) for x in xs)


def emit(kind, **kw):
    out.append(kind + " " + " ".join(
        "%s=%s" % (k, lst(v) if isinstance(v, (list, tuple, np.ndarray))
                   else fmt(v)) for k, v in kw.items()))


rng = random.Random(20240611)

# Percentiles: numpy's default (linear interpolation between closest ranks).
for xs in ([15, 20, 35, 40, 50], [3.5], [1, 2, 3, 4],
           [rng.uniform(0, 1000) for _ in range(37)]):
    for p in (0, 10, 25, 50, 90, 95, 99, 100):
        emit("percentile", x=xs, p=p, expect=np.percentile(xs, p))

# Descriptive statistics of one sample.
xs = [rng.gauss(100, 15) for _ in range(25)]
med = np.median(xs)
emit("describe", x=xs, mean=np.mean(xs), median=med,
     stddev=np.std(xs, ddof=1), mad=np.median(np.abs(np.array(xs) - med)),
     min=min(xs), max=max(xs))

# Normal distribution.
for z in (-6, -2.5, -1.96, 0, 0.3, 1.644853627, 3, 8):
    emit("normcdf", z=z, cdf=stats.norm.cdf(z), sf=stats.norm.sf(z))
for p in (1e-10, 1e-4, 0.01, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999):
    emit("normppf", p=p, expect=stats.norm.ppf(p))


def exact_pmf(m, n):
    """Null distribution of U_a (pairs a > b) by enumerating which of the
    m + n ranks belong to a."""
    counts = {}
    total = 0
    for ranks in itertools.combinations(range(1, m + n + 1), m):
        u = sum(ranks) - m * (m + 1) // 2
        counts[u] = counts.get(u, 0) + 1
        total += 1
    return [counts.get(u, 0) / total for u in range(m * n + 1)]


# Exact null distribution, P(U <= k).
for m, n in ((5, 5), (3, 7), (6, 8)):
    pmf = exact_pmf(m, n)
    for k in (0, 2, m * n // 3, m * n // 2):
        emit("mwucdf", m=m, n=n, k=k, expect=sum(pmf[:k + 1]))

# Mann-Whitney, exact: small samples without ties.
cases = [
    ([1.1, 2.2, 3.3, 4.4, 5.5], [6.1, 7.2, 8.3, 9.4, 10.5]),
    ([19, 22, 16, 29, 24], [20, 11, 17, 12, 15]),
    ([3.1, 9.7, 4.2], [1.5, 2.6, 5.3, 6.4, 7.5, 8.6, 0.7]),
    ([rng.gauss(10, 2) for _ in range(8)],
     [rng.gauss(12, 2) for _ in range(6)]),
    ([rng.gauss(10, 2) for _ in range(20)],
     [rng.gauss(11, 2) for _ in range(17)]),
]
for a, b in cases:
    r = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact")
    emit("mwu", exact=1, a=a, b=b, u=r.statistic, p=r.pvalue)


def z_of(a, b):
    n1, n2 = len(a), len(b)
    n = n1 + n2
    tc = stats.tiecorrect(stats.rankdata(a + b))
    u1 = stats.mannwhitneyu(a, b, alternative="two-sided").statistic
    sd = math.sqrt(tc * n1 * n2 * (n + 1) / 12.0)
    return (u1 - n1 * n2 / 2.0) / sd if sd > 0 else 0.0


# Mann-Whitney, normal approximation: ties, larger samples.
cases = [
    ([1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 4, 4, 5, 5, 6, 7, 7]),
    ([10, 10, 10, 12, 12, 15], [10, 12, 12, 15, 15, 15, 18]),
    ([round(rng.gauss(50, 10)) for _ in range(40)],
     [round(rng.gauss(55, 10)) for _ in range(35)]),
    ([rng.expovariate(1 / 800.0) for _ in range(60)],
     [rng.expovariate(1 / 880.0) for _ in range(60)]),
    ([5, 5, 5, 5], [5, 5, 5]),
]
for a, b in cases:
    r = stats.mannwhitneyu(a, b, alternative="two-sided",
                           method="asymptotic", use_continuity=True)
    emit("mwu", exact=0, a=a, b=b, u=r.statistic, z=z_of(a, b),
         p=r.pvalue)


# Hodges-Lehmann shift and the Moses interval, exact: k - 1 is the largest
# c with P(U <= c) <= alpha / 2 under the enumerated distribution.
def hl_exact(a, b, alpha):
    d = sorted(y - x for x in a for y in b)
    N = len(d)
    pmf = exact_pmf(len(a), len(b))
    k, cdf, below = 1, 0.0, pmf[0]
    for c in range(N + 1):
        cdf += pmf[c]
        if cdf > alpha / 2 * (1 + 1e-12):
            break
        k, below = c + 1, cdf
    return np.median(d), d[k - 1], d[N - k], 1 - 2 * below


cases = [
    ([1.83, 0.50, 1.62, 2.48, 1.68], [0.88, 0.65, 0.60, 2.05, 1.06]),
    ([10, 11, 13], [14, 15, 16, 17, 18, 20, 21]),
    ([rng.gauss(100, 10) for _ in range(8)],
     [rng.gauss(110, 10) for _ in range(6)]),
    ([1.0, 2.0], [3.0, 4.0]),
]
for a, b in cases:
    for alpha in (0.05, 0.1):
        s, lo, hi, conf = hl_exact(a, b, alpha)
        emit("hl", alpha=alpha, a=a, b=b, shift=s, lo=lo, hi=hi, conf=conf)


# Large samples: k = round(N/2 - z(1-alpha/2) sqrt(N (m+n+1) / 12)), with
# z from scipy.
def hl_normal(a, b, alpha):
    d = sorted(y - x for x in a for y in b)
    N = len(d)
    z = stats.norm.ppf(1 - alpha / 2)
    k = int(math.floor(N / 2 - z * math.sqrt(N * (len(a) + len(b) + 1)
                                             / 12.0) + 0.5))
    return np.median(d), d[k - 1], d[N - k]


a = [rng.gauss(1000, 50) for _ in range(30)]
b = [rng.gauss(1050, 50) for _ in range(25)]
s, lo, hi = hl_normal(a, b, 0.05)
emit("hl", alpha=0.05, a=a, b=b, shift=s, lo=lo, hi=hi)

# Benjamini-Hochberg: the 15 p-values of Benjamini & Hochberg (1995),
# section 4; at FDR 0.05 the paper rejects the four smallest. The adjusted
# values are the step-up minimum, computed here with numpy.
def bh(p):
    p = np.asarray(p, dtype=float)
    n = len(p)
    order = np.argsort(p, kind="stable")
    adj = p[order] * n / np.arange(1, n + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(adj, 1)
    return q


bhp = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
       0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]
emit("bh", alpha=0.05, p=bhp, q=bh(bhp),
     reject=[1 if v <= 0.05 else 0 for v in bh(bhp)])
bhp = [0.01, 0.04, 0.03, 0.005, 0.2, 0.9]
emit("bh", alpha=0.05, p=bhp, q=bh(bhp),
     reject=[1 if v <= 0.05 else 0 for v in bh(bhp)])


# Noether's sample size, equal groups, with scipy's normal distribution.
def noether(sa, sb, effect, alpha, power):
    P = stats.norm.cdf(effect / math.sqrt(sa * sa + sb * sb))
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    return math.ceil((za + zb) ** 2 / (3 * (P - 0.5) ** 2) / 2)


for sa, sb, eff in ((50, 50, 40), (100, 120, 30), (10, 10, 5)):
    emit("samplesize", sda=sa, sdb=sb, effect=eff, alpha=0.05, power=0.8,
         expect=noether(sa, sb, eff, 0.05, 0.8))

print("# generated by gen-stats.py (numpy %s, scipy %s); do not edit"
      % (np.__version__, __import__("scipy").__version__))
print("\n".join(out))
