/* stack.c: capture the return addresses of a span's caller at span start
 * (HTRACE_STACKS=1); they become module+offset frames in the record. */
#include <execinfo.h>

#include "trace/internal.h"

int htrace_stack_capture_(uint64_t *pcs, int max, const void *caller)
{
	void *raw[HTRACE_MAX_FRAMES + 12];
	int n, first = 0;

	n = backtrace(raw, (int)(sizeof(raw) / sizeof(raw[0])));
	/* The stack starts at the caller's frame, found by its return
	 * address. Counting libhtrace's frames above it instead goes wrong
	 * in an optimised build: a call that ends a function becomes a
	 * jump (htrace_begin's to begin, at -O2), a function is inlined or
	 * split, and a frame more or less there cost the caller's frame or
	 * kept one of ours. A sanitizer that interposes backtrace() adds
	 * frames of its own on top. Not found (the unwinder gave up
	 * early): no stack rather than a wrong one. */
	while (first < n && raw[first] != caller)
		first++;
	if (first == n)
		return 0;
	n -= first;
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++)
		pcs[i] = (uint64_t)(uintptr_t)raw[first + i];
	return n;
}
