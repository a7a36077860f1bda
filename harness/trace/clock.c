/* clock.c: the span clock. On x86-64 with an invariant TSC a span reads
 * the cycle counter (a few ns) instead of clock_gettime (tens of ns on a
 * VM), scaled to CLOCK_MONOTONIC by a rate calibrated at init and refined
 * by the flusher thread; elsewhere it reads CLOCK_MONOTONIC itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace/internal.h"

int htrace_clock_tsc_;
struct htrace_clock htrace_clock_;

static uint64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/* The kernel's own verdict: it sets constant_tsc (fixed rate across
 * frequency changes) and nonstop_tsc (runs in deep C-states) only when
 * the counter can be used as a clock. */
static int tsc_invariant(void)
{
	char line[4096];
	int ok = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
		break;
	}
	fclose(f);
	return ok;
}

/* A (monotonic ns, ticks) pair read as close together as possible: of a
 * few tries, the one whose two clock reads are nearest, with the ticks
 * taken between them. */
static void pair(uint64_t *ns, uint64_t *ticks)
{
	uint64_t best = UINT64_MAX;

	*ns = 0;
	*ticks = 0;

	for (int i = 0; i < 5; i++) {
		uint64_t a = read_ns(CLOCK_MONOTONIC);
		uint64_t t = __rdtsc();
		uint64_t b = read_ns(CLOCK_MONOTONIC);
		if (b - a < best) {
			best = b - a;
			*ns = a + (b - a) / 2;
			*ticks = t;
		}
	}
}

/* ns per tick as a 32.32 fixed-point factor, from two pairs. */
static uint64_t rate(uint64_t ns0, uint64_t t0, uint64_t ns1, uint64_t t1)
{
	if (t1 <= t0 || ns1 <= ns0)
		return 0;
	return (uint64_t)(((unsigned __int128)(ns1 - ns0) << 32) / (t1 - t0));
}
#endif

void htrace_clock_init_(void)
{
	const char *force = getenv("HTRACE_CLOCK");
	uint64_t wall = read_ns(CLOCK_REALTIME);
	uint64_t mono = read_ns(CLOCK_MONOTONIC);

	/* The fallback: ticks are monotonic ns, scaled by exactly 1. */
	htrace_clock_tsc_ = 0;
	htrace_clock_.tick_base = mono;
	htrace_clock_.wall_base = wall;
	htrace_clock_.mono_base = mono;
	atomic_store_explicit(&htrace_clock_.mult, (uint64_t)1 << 32,
			      memory_order_relaxed);
#if defined(__x86_64__)
	if (force && !strcmp(force, "monotonic"))
		return;
	if (!tsc_invariant())
		return;
	{
		uint64_t ns0, t0, ns1, t1, m;
		struct timespec two_ms = { 0, 2000000 };

		pair(&ns0, &t0);
		wall = read_ns(CLOCK_REALTIME) - (read_ns(CLOCK_MONOTONIC) - ns0);
		nanosleep(&two_ms, NULL);
		pair(&ns1, &t1);
		m = rate(ns0, t0, ns1, t1);
		/* A counter between 100 MHz and 20 GHz, or none at all. */
		if (m < ((uint64_t)1 << 32) / 20 || m > ((uint64_t)10 << 32))
			return;
		htrace_clock_.tick_base = t0;
		htrace_clock_.mono_base = ns0;
		htrace_clock_.wall_base = wall;
		atomic_store_explicit(&htrace_clock_.mult, m,
				      memory_order_relaxed);
		htrace_clock_tsc_ = 1;
	}
#else
	(void)force;
#endif
}

/* The longer the interval since init, the better the rate: the flusher
 * calls this every interval. The scale always maps tick_base to
 * mono_base, so times stay continuous while the rate is refined. */
void htrace_clock_recalibrate_(void)
{
#if defined(__x86_64__)
	uint64_t ns, t, m;

	if (!htrace_clock_tsc_)
		return;
	pair(&ns, &t);
	m = rate(htrace_clock_.mono_base, htrace_clock_.tick_base, ns, t);
	if (m)
		atomic_store_explicit(&htrace_clock_.mult, m,
				      memory_order_relaxed);
#endif
}
