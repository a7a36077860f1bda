/* stack.c: capture the return addresses of a span's caller at span start
 * (HTRACE_STACKS=1); they become module+offset frames in the record. */
#include <execinfo.h>

#include "trace/internal.h"

int htrace_stack_capture_(uint64_t *pcs, int max, int skip)
{
	void *raw[HTRACE_MAX_FRAMES + 8];
	int n, want = max + skip + 1;

	if (want > (int)(sizeof(raw) / sizeof(raw[0])))
		want = (int)(sizeof(raw) / sizeof(raw[0]));
	/* backtrace() itself does not count: raw[0] is this function. */
	n = backtrace(raw, want);
	skip++;
	if (n <= skip)
		return 0;
	n -= skip;
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++)
		pcs[i] = (uint64_t)(uintptr_t)raw[skip + i];
	return n;
}
