/* error.h: reporting errors once, where they are understood, and the
 * allocation helpers that the CLI side uses (libhtrace never uses these). */
#ifndef HARNESS_ERROR_H
#define HARNESS_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define HARNESS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HARNESS_NORETURN __attribute__((noreturn))
#else
#define HARNESS_PRINTF(a, b)
#define HARNESS_NORETURN
#endif

/* Print "harness: error: MSG" to stderr and return -1, so that a failing
 * function can `return error("cannot open '%s': %s", path, strerror(errno));` */
int error(const char *fmt, ...) HARNESS_PRINTF(1, 2);
/* Print "harness: warning: MSG" to stderr. */
void warning(const char *fmt, ...) HARNESS_PRINTF(1, 2);
/* Print "harness: fatal: MSG" and exit with HARNESS_EXIT_RUNTIME. Only for
 * conditions the CLI cannot go on from, such as running out of memory. */
void die(const char *fmt, ...) HARNESS_PRINTF(1, 2) HARNESS_NORETURN;

/* The name used as the prefix of messages; "harness" unless set. */
void error_set_progname(const char *name);

/* Allocation that dies on failure: the CLI may, libhtrace may not. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string that the caller frees. */
char *xasprintf(const char *fmt, ...) HARNESS_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/* Grow *p (an array of *alloc elements of size elem) to hold at least n. */
#define ALLOC_GROW(p, n, alloc)                                                \
	do {                                                                   \
		if ((n) > (alloc)) {                                           \
			size_t new_alloc_ = (alloc) ? (alloc) * 2 : 8;         \
			while (new_alloc_ < (n))                               \
				new_alloc_ *= 2;                               \
			(p) = xrealloc((p), new_alloc_ * sizeof(*(p)));        \
			(alloc) = new_alloc_;                                  \
		}                                                              \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
