/* timeutil.c: the two clocks harness uses and how it prints them. */
#include "util/timeutil.h"

#include <stdio.h>
#include <time.h>

uint64_t time_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void time_format_duration(char *buf, size_t size, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, size, "%luns", (unsigned long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.0fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.2fms", ns / 1e6);
	else if (ns < 60000000000ull)
		snprintf(buf, size, "%.2fs", ns / 1e9);
	else
		snprintf(buf, size, "%lum%02lus",
			 (unsigned long)(ns / 60000000000ull),
			 (unsigned long)(ns / 1000000000ull % 60));
}

void time_format_iso(char *buf, size_t size, uint64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
