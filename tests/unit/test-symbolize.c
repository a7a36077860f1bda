/* test-symbolize.c: the frame symbolizer on this very binary (built with
 * debug information): names, files and lines of known functions, the same
 * answers from the process-wide cache, a module replaced in place read
 * again, and several threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/symbolize.h"

/* Two functions whose lines the tests know; noinline and used through
 * pointers so that both keep a body of their own. */
static int first_line, second_line;

__attribute__((noinline)) static int symbolize_target_one(int x)
{
	first_line = __LINE__;
	return x * 3 + 1;
}

__attribute__((noinline)) static int symbolize_target_two(int x)
{
	second_line = __LINE__;
	return x * 5 - 2;
}

static int (*volatile keep_one)(int) = symbolize_target_one;
static int (*volatile keep_two)(int) = symbolize_target_two;

/* The module and offset of an address a few bytes into fn, as libhtrace
 * records a return address. */
static void where(void *fn, char *module, size_t size, uint64_t *offset)
{
	Dl_info info;

	assert_true(dladdr(fn, &info) != 0);
	assert_non_null(info.dli_fname);
	assert_non_null(realpath(info.dli_fname, module) ? module : NULL);
	assert_true(strlen(module) < size);
	*offset = (uint64_t)((uintptr_t)fn - (uintptr_t)info.dli_fbase) + 4;
}

static void check_frame(struct symbolizer *sym, void *fn, const char *name,
			int line)
{
	char module[4096];
	uint64_t offset;
	char *func = NULL, *file = NULL;
	int got_line = 0;

	where(fn, module, sizeof(module), &offset);
	assert_int_equal(symbolize_frame(sym, module, offset, &func, &file,
					 &got_line),
			 0);
	assert_string_equal(func, name);
	assert_non_null(file);
	assert_non_null(strstr(file, "test-symbolize.c"));
	/* Within the function: its opening line or one of its body. */
	assert_true(got_line >= line - 3 && got_line <= line + 2);
	free(func);
	free(file);
}

static void test_symbolize__known_functions(void **state)
{
	struct symbolizer *sym = symbolizer_new();

	(void)state;
	assert_int_equal(keep_one(1) + keep_two(1), 7);
	assert_non_null(sym);
	check_frame(sym, (void *)symbolize_target_one, "symbolize_target_one",
		    first_line);
	check_frame(sym, (void *)symbolize_target_two, "symbolize_target_two",
		    second_line);
	symbolizer_free(sym);

	/* A second pass answers from what the process keeps: the same. */
	sym = symbolizer_new();
	check_frame(sym, (void *)symbolize_target_two, "symbolize_target_two",
		    second_line);
	check_frame(sym, (void *)symbolize_target_one, "symbolize_target_one",
		    first_line);
	symbolizer_free(sym);

	/* And so does one after the kept modules are dropped. */
	symbolizer_forget_modules();
	sym = symbolizer_new();
	check_frame(sym, (void *)symbolize_target_one, "symbolize_target_one",
		    first_line);
	symbolizer_free(sym);
}

static void test_symbolize__missing_module(void **state)
{
	struct symbolizer *sym = symbolizer_new();
	char *func = (char *)"x", *file = (char *)"y";
	int line = 7;

	(void)state;
	assert_int_equal(symbolize_frame(sym, "/nonexistent/libnothing.so",
					 0x1234, &func, &file, &line),
			 -1);
	assert_null(func);
	assert_null(file);
	assert_int_equal(line, 0);
	symbolizer_free(sym);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

/* A module rebuilt at the same path is read again, not answered from the
 * copy kept of the old one. */
static void test_symbolize__module_replaced(void **state)
{
	char self[4096], dir[] = "/tmp/test-symbolize-XXXXXX", path[4200];
	char tmp[4200];
	uint64_t offset;
	struct symbolizer *sym;
	char *func = NULL, *file = NULL;
	int line = 0, rc;

	(void)state;
	where((void *)symbolize_target_one, self, sizeof(self), &offset);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/module", dir);
	snprintf(tmp, sizeof(tmp), "%s/module.new", dir);
	assert_int_equal(copy_file(self, path), 0);

	sym = symbolizer_new();
	assert_int_equal(symbolize_frame(sym, path, offset, &func, &file,
					 &line),
			 0);
	assert_string_equal(func, "symbolize_target_one");
	free(func);
	free(file);
	symbolizer_free(sym);

	/* Replaced by a file with no symbol there (a shell script). */
	{
		FILE *f = fopen(tmp, "w");

		assert_non_null(f);
		fputs("#!/bin/sh\nexit 0\n", f);
		fclose(f);
	}
	assert_int_equal(rename(tmp, path), 0);
	sym = symbolizer_new();
	func = file = NULL;
	rc = symbolize_frame(sym, path, offset, &func, &file, &line);
	assert_int_equal(rc, -1);
	assert_null(func);
	symbolizer_free(sym);

	unlink(path);
	rmdir(dir);
}

struct worker {
	int ok;
};

static void *resolve_many(void *p)
{
	struct worker *w = p;
	struct symbolizer *sym = symbolizer_new();
	char module[4096];
	uint64_t off_one, off_two;

	where((void *)symbolize_target_one, module, sizeof(module), &off_one);
	where((void *)symbolize_target_two, module, sizeof(module), &off_two);
	for (int i = 0; i < 200; i++) {
		char *func = NULL, *file = NULL;
		int line = 0;
		uint64_t off = i % 2 ? off_two : off_one;
		const char *want = i % 2 ? "symbolize_target_two"
					 : "symbolize_target_one";

		if (symbolize_frame(sym, module, off, &func, &file, &line) ==
			    0 &&
		    !strcmp(func, want))
			w->ok++;
		free(func);
		free(file);
	}
	symbolizer_free(sym);
	return NULL;
}

static void test_symbolize__threads(void **state)
{
	pthread_t t[4];
	struct worker w[4] = { { 0 } };

	(void)state;
	symbolizer_forget_modules();
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, resolve_many,
						&w[i]),
				 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 200);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbolize__known_functions),
		cmocka_unit_test(test_symbolize__missing_module),
		cmocka_unit_test(test_symbolize__module_replaced),
		cmocka_unit_test(test_symbolize__threads),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	symbolizer_forget_modules();
	return ret;
}
