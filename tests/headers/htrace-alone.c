/* htrace-alone.c: htrace.h must compile on its own as strict C99. */
#include "htrace.h"

int main(void)
{
	struct htrace_context ctx = { { 0 }, 0, 0 };
	return htrace_kind_name(HTRACE_KIND_FUNC) == 0 && ctx.flags != 0;
}
