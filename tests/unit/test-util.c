/* test-util.c: strbuf growth and formatting, duration printing, the
 * closest name for a did-you-mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/suggest.h"
#include "util/timeutil.h"

static void test_util__strbuf_grows_and_detaches(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;

	(void)state;
	assert_string_equal(sb.buf, "");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i % 10);
	assert_int_equal(sb.len, 2000);
	assert_int_equal(sb.buf[1999], ',');
	strbuf_addch(&sb, 'x');
	s = strbuf_detach(&sb, &len);
	assert_int_equal(len, 2001);
	assert_int_equal(s[2000], 'x');
	assert_int_equal(s[2001], '\0');
	assert_int_equal(sb.len, 0);
	free(s);
	strbuf_release(&sb);
}

static void test_util__duration_format(void **state)
{
	char buf[32];

	(void)state;
	time_format_duration(buf, sizeof(buf), 999);
	assert_string_equal(buf, "999ns");
	time_format_duration(buf, sizeof(buf), 1250000);
	assert_string_equal(buf, "1.25ms");
	time_format_duration(buf, sizeof(buf), 3400000000ull);
	assert_string_equal(buf, "3.40s");
	time_format_duration(buf, sizeof(buf), 125000000000ull);
	assert_string_equal(buf, "2m05s");
}

static void test_util__suggest_closest(void **state)
{
	static const char *const names[] = { "boot-vm", "image-download",
					     "list-servers", NULL };
	static const char *const none[] = { NULL };

	(void)state;
	assert_string_equal(suggest_closest("boot-mv", names), "boot-vm");
	assert_string_equal(suggest_closest("bootvm", names), "boot-vm");
	assert_string_equal(suggest_closest("list-server", names),
			    "list-servers");
	/* Too far from every name to be a typo of one. */
	assert_null(suggest_closest("frobnicate", names));
	assert_null(suggest_closest("x", names));
	assert_null(suggest_closest("boot-vm", none));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util__strbuf_grows_and_detaches),
		cmocka_unit_test(test_util__duration_format),
		cmocka_unit_test(test_util__suggest_closest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
