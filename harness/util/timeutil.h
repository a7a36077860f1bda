/* timeutil.h: clocks and durations in nanoseconds. */
#ifndef HARNESS_TIMEUTIL_H
#define HARNESS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, unix epoch nanoseconds. */
uint64_t time_wall_ns(void);
/* Monotonic clock nanoseconds, for durations. */
uint64_t time_mono_ns(void);
/* Format a duration for people: "812us", "1.25ms", "3.40s", "2m05s". */
void time_format_duration(char *buf, size_t size, uint64_t ns);
/* Format unix ns as "2026-11-24T22:58:22Z" (UTC). */
void time_format_iso(char *buf, size_t size, uint64_t wall_ns);

#endif
