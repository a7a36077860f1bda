/* htrace-alone.c: htrace.h must compile on its own as strict C99. */
#include "htrace.h"

int main(void)
{
	struct htrace_context ctx = { { 0 }, 0, 0 };
	/* The inline wrappers, as a service would use them. */
	struct htrace_span *s = htrace_begin(HTRACE_KIND_FUNC, "f");

	htrace_attr_str(s, "k", "v");
	htrace_attr_int(s, "n", 1);
	htrace_attr_double(s, "d", 1.5);
	htrace_attr_bool(s, "b", 1);
	htrace_set_error(s, NULL);
	htrace_end(s);
	htrace_db_end(htrace_db_begin("sqlite", "SELECT 1"), 1);
	htrace_http_end(htrace_http_client_begin("GET", "/"), 200);
	htrace_end(htrace_begin_root(HTRACE_KIND_ITERATION, "i", 0));
	htrace_end(htrace_begin_detached(&ctx, HTRACE_KIND_STEP, "d", 0));
	return htrace_kind_name(HTRACE_KIND_FUNC) == 0 && ctx.flags != 0 &&
	       htrace_enabled();
}
