/* template.c: scanning and expanding {{name}} templates. One scanner serves
 * both the load-time check (which names?) and the run-time expansion. */
#include "config/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_name_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-';
}

bool template_name_valid(const char *name)
{
	if (!is_name_start((unsigned char)name[0]))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!is_name_char((unsigned char)*p))
			return false;
	return true;
}

bool template_has_names(const char *s)
{
	return strstr(s, "{{") != NULL;
}

static void set_cause(char **cause, const char *fmt, ...) HARNESS_PRINTF(2, 3);

static void set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (!cause)
		return;
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
}

/*
 * Find the next template at or after s. On success returns a pointer to its
 * "{{", sets *name_start, *name_len and *end (just past "}}"). Returns NULL
 * when there is none, or sets *bad when the text after "{{" is malformed.
 */
static const char *next_template(const char *s, const char **name_start,
                                 size_t *name_len, const char **end, int *bad)
{
	const char *open = strstr(s, "{{");
	const char *p, *n;

	*bad = 0;
	if (!open)
		return NULL;
	p = open + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	n = p;
	if (!is_name_start((unsigned char)*p)) {
		*bad = 1;
		return open;
	}
	while (is_name_char((unsigned char)*p))
		p++;
	*name_start = n;
	*name_len = (size_t)(p - n);
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] != '}' || p[1] != '}') {
		*bad = 1;
		return open;
	}
	*end = p + 2;
	return open;
}

static void bad_template(const char *tmpl, const char *open, char **cause)
{
	const char *close = strstr(open + 2, "}}");

	if (!close)
		set_cause(cause, "unterminated '{{' at offset %zu",
		          (size_t)(open - tmpl));
	else
		set_cause(cause,
		          "malformed template '%.*s' at offset %zu; expected "
		          "{{name}}",
		          (int)(close + 2 - open), open, (size_t)(open - tmpl));
}

int template_foreach_name(const char *tmpl, template_name_fn fn, void *payload,
                          char **cause)
{
	const char *s = tmpl, *open, *name, *end;
	size_t len;
	char buf[256];
	int bad, r;

	while ((open = next_template(s, &name, &len, &end, &bad))) {
		char *heap = NULL;
		char *copy = buf;

		if (bad) {
			bad_template(tmpl, open, cause);
			return -1;
		}
		if (len >= sizeof(buf))
			copy = heap = xmalloc(len + 1);
		memcpy(copy, name, len);
		copy[len] = '\0';
		r = fn(copy, (size_t)(open - tmpl), payload);
		free(heap);
		if (r)
			return r;
		s = end;
	}
	return 0;
}

static void add_json_escaped(struct strbuf *out, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"':
			strbuf_addstr(out, "\\\"");
			break;
		case '\\':
			strbuf_addstr(out, "\\\\");
			break;
		case '\n':
			strbuf_addstr(out, "\\n");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		default:
			if (*p < 0x20)
				strbuf_addf(out, "\\u%04x", *p);
			else
				strbuf_addch(out, *p);
		}
	}
}

static int expand(struct strbuf *out, const char *tmpl,
                  template_lookup_fn lookup, void *payload, char **cause,
                  int json)
{
	const char *s = tmpl, *open, *name, *end;
	size_t len;
	char buf[256];
	int bad;

	while ((open = next_template(s, &name, &len, &end, &bad))) {
		char *heap = NULL;
		char *copy = buf;
		const char *value;

		strbuf_add(out, s, (size_t)(open - s));
		if (bad) {
			bad_template(tmpl, open, cause);
			return -1;
		}
		if (len >= sizeof(buf))
			copy = heap = xmalloc(len + 1);
		memcpy(copy, name, len);
		copy[len] = '\0';
		value = lookup(copy, payload);
		if (!value) {
			set_cause(cause, "undefined template variable '%s'",
			          copy);
			free(heap);
			return -1;
		}
		if (json)
			add_json_escaped(out, value);
		else
			strbuf_addstr(out, value);
		free(heap);
		s = end;
	}
	strbuf_addstr(out, s);
	return 0;
}

int template_expand(struct strbuf *out, const char *tmpl,
                    template_lookup_fn lookup, void *payload, char **cause)
{
	return expand(out, tmpl, lookup, payload, cause, 0);
}

int template_expand_json(struct strbuf *out, const char *tmpl,
                         template_lookup_fn lookup, void *payload, char **cause)
{
	return expand(out, tmpl, lookup, payload, cause, 1);
}
