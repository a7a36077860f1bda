/* error.c: one way to tell the user what went wrong, and allocation that
 * gives up cleanly when memory runs out. */
#include "util/error.h"
#include "util/exitcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *progname = "harness";

const char *const harness_exit_help[] = {
	"  0   pass",
	"  1   regression against the baseline",
	"  2   absolute limit (gate) broken",
	"  3   inconclusive: too few iterations, or no baseline",
	"  4   machine-wide shift: every service moved together, not the code",
	" 64   usage error (bad command line)",
	" 65   bad input data (not a harness store, corrupt file)",
	" 70   runtime failure (failed iterations, I/O, a service)",
	" 75   run interrupted (Ctrl-C, a service died)",
	" 78   configuration error (harness.yaml or a scenario)",
	NULL,
};

void error_set_progname(const char *name)
{
	progname = name;
}

static void report(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s: %s%s\n", progname, prefix, buf);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("fatal: ", fmt, ap);
	va_end(ap);
	exit(HARNESS_EXIT_RUNTIME);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory allocating %zu bytes", n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die("out of memory allocating %zu bytes", n);
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory duplicating a string");
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		die("out of memory duplicating a string");
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory formatting a string");
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
