/* strbuf.h: a growable, always NUL-terminated byte buffer. */
#ifndef HARNESS_STRBUF_H
#define HARNESS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/error.h"

struct strbuf {
	char *buf;	/* always NUL-terminated; never NULL after init */
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { (char *)strbuf_empty_, 0, 0 }
extern const char strbuf_empty_[1];

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (who frees it) and reset sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) HARNESS_PRINTF(2, 3);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_reset(struct strbuf *sb);
/* Read a whole file; -1 with errno set on failure. */
int strbuf_read_file(struct strbuf *sb, const char *path);

#endif
