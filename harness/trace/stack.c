/* stack.c: capture the return addresses of a span's caller at span start
 * (HTRACE_STACKS=1); they become module+offset frames in the record. */
#include <dlfcn.h>
#include <execinfo.h>

#include "trace/internal.h"

/* The load base of the object that holds libhtrace. */
static const void *own_base(void)
{
	static const void *base;
	Dl_info info;

	if (!base && dladdr((void *)(uintptr_t)htrace_stack_capture_, &info))
		base = info.dli_fbase;
	return base;
}

static int in_own_module(void *pc)
{
	Dl_info info;

	return dladdr(pc, &info) && info.dli_fbase == own_base();
}

int htrace_stack_capture_(uint64_t *pcs, int max, int skip)
{
	void *raw[HTRACE_MAX_FRAMES + 12];
	int n, first = 0;

	n = backtrace(raw, (int)(sizeof(raw) / sizeof(raw[0])));
	/* A sanitizer may interpose backtrace() and add its own frame
	 * first: skip frames until this one, then this one and the skip
	 * frames of libhtrace above it. */
	while (first < n && first < 3 && !in_own_module(raw[first]))
		first++;
	if (first == 3 || first == n)
		first = 0;
	first += skip + 1;
	if (n <= first)
		return 0;
	n -= first;
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++)
		pcs[i] = (uint64_t)(uintptr_t)raw[first + i];
	return n;
}
