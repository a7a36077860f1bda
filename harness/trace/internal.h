/* internal.h: what the parts of libhtrace share; not installed. */
#ifndef HARNESS_TRACE_INTERNAL_H
#define HARNESS_TRACE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

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

extern int htrace_on_;
extern struct htrace_config htrace_config_;
extern struct htrace_counters htrace_counters_;

/* Random bits from the calling thread's generator (seeded per thread and
 * again after fork). */
uint64_t htrace_random_(void);

/* Stack capture (stack.c): return addresses of the caller's caller. */
int htrace_stack_capture_(uint64_t *pcs, int max, int skip);

#endif
