/* internal.h: what the parts of libhtrace share; not installed. */
#ifndef HARNESS_TRACE_INTERNAL_H
#define HARNESS_TRACE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* Inside the library the functions are called as they are. */
#define HTRACE_NO_INLINE
#include "htrace.h"

#define HTRACE_LIKELY(x) __builtin_expect(!!(x), 1)
#define HTRACE_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define HTRACE_MAX_KEYS 8
#define HTRACE_MAX_FRAMES 32

/* Process-wide settings, fixed between init and shutdown. */
struct htrace_config {
	char *service;
	char *spool_dir;
	char *keys[HTRACE_MAX_KEYS];
	size_t key_lens[HTRACE_MAX_KEYS];
	size_t n_keys;
	int stacks;
	double sample_rate;
	int trust_traceparent;
	int osprofiler_headers;
	unsigned flush_interval_ms;
};

struct htrace_counters {
	atomic_uint_fast64_t spans_recorded;
	atomic_uint_fast64_t spans_dropped;
	atomic_uint_fast64_t attrs_dropped;
	atomic_uint_fast64_t extract[4];
	atomic_uint_fast64_t bytes_written;
	atomic_uint_fast64_t write_errors;
	/* Dropped but not yet reported in a DROPPED record. */
	atomic_uint_fast64_t dropped_unreported;
};

/* htrace_active_ (htrace.h) is the flag that says tracing is on. */
#define htrace_on_ htrace_active_
extern struct htrace_config htrace_config_;
extern struct htrace_counters htrace_counters_;

/* The span clock (clock.c). A span reads ticks at begin and end; ticks
 * become monotonic ns through mult (ns per tick, 32.32 fixed point) from
 * tick_base, and unix ns from wall_base. Without an invariant TSC, ticks
 * are CLOCK_MONOTONIC ns and mult is 1.0. */
struct htrace_clock {
	uint64_t tick_base;
	uint64_t mono_base;
	uint64_t wall_base;
	_Atomic uint64_t mult;
};
extern int htrace_clock_tsc_;
extern struct htrace_clock htrace_clock_;
void htrace_clock_init_(void);
void htrace_clock_recalibrate_(void);

static inline uint64_t htrace_ticks_(void)
{
#if defined(__x86_64__)
	if (HTRACE_LIKELY(htrace_clock_tsc_))
		return __rdtsc();
#endif
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		return (uint64_t)ts.tv_sec * 1000000000ull +
		       (uint64_t)ts.tv_nsec;
	}
}

/* ns in a tick interval, at the current rate. */
static inline uint64_t htrace_ticks_ns_(uint64_t ticks)
{
	uint64_t m = atomic_load_explicit(&htrace_clock_.mult,
					  memory_order_relaxed);

	return (uint64_t)(((unsigned __int128)ticks * m) >> 32);
}

/* Unix ns of a tick reading. */
static inline uint64_t htrace_ticks_unix_(uint64_t ticks)
{
	if (HTRACE_UNLIKELY(ticks < htrace_clock_.tick_base))
		return htrace_clock_.wall_base -
		       htrace_ticks_ns_(htrace_clock_.tick_base - ticks);
	return htrace_clock_.wall_base +
	       htrace_ticks_ns_(ticks - htrace_clock_.tick_base);
}

/* Random bits from the calling thread's generator (seeded per thread and
 * again after fork). */
uint64_t htrace_random_(void);

/* The return address of the function that names it: in a public
 * function, a pc in the application's code that called libhtrace. */
#define HTRACE_CALLER() __builtin_return_address(0)

/* Forgets the keyed HMAC contexts of propagate.c: called whenever
 * htrace_config_'s keys are released, so that none outlives its key. */
void htrace_hmac_reset_(void);

/* Stack capture (stack.c): up to max return addresses into pcs, from
 * caller (HTRACE_CALLER() of the public function that begins the span)
 * outwards, so that no frame of libhtrace is in them however the compiler
 * shaped its calls. Returns how many; 0 when caller is not on the
 * stack. */
int htrace_stack_capture_(uint64_t *pcs, int max, const void *caller);

/* How many thread states have a ring mapped, and of those how many are
 * spare and how many handed over by ended threads, not yet written (for
 * tests: a static build can call it, a shared one does not export it). */
void htrace_thread_states_(unsigned *mapped, unsigned *spare,
			   unsigned *retired);

#endif
