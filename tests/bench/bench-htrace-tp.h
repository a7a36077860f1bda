/* bench-htrace-tp.h: an LTTng-UST tracepoint with the same fields as the
 * benchmarked span (kind, name, two attributes), the reference that
 * libhtrace's cost is compared with. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER htrace_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./bench-htrace-tp.h"

#if !defined(BENCH_HTRACE_TP_H) || \
	defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_HTRACE_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(htrace_bench, span,
	LTTNG_UST_TP_ARGS(int, kind, const char *, name, const char *, k1,
			  const char *, v1, const char *, k2, int64_t, v2),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int, kind, kind)
		lttng_ust_field_string(name, name)
		lttng_ust_field_string(k1, k1)
		lttng_ust_field_string(v1, v1)
		lttng_ust_field_string(k2, k2)
		lttng_ust_field_integer(int64_t, v2, v2)))

#endif

#include <lttng/tracepoint-event.h>
