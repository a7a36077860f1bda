/* extract.c: dotted JSON paths with indexes ("servers[0].id") over jansson
 * values, their text, and the conditions that polls wait on. */
#include "load/extract.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/* Fail with a message naming the whole path and the part at fault: "no
 * value at 'servers[2].id': 'servers' has 2 elements". */
static json_t *path_fail(char **cause, const char *path, const char *fmt,
			 ...) HARNESS_PRINTF(3, 4);

static json_t *path_fail(char **cause, const char *path, const char *fmt,
			 ...)
{
	char *why;
	va_list ap;

	if (!cause)
		return NULL;
	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	*cause = xasprintf("no value at '%s': %s", path, why);
	free(why);
	return NULL;
}

json_t *extract_json_path(json_t *root, const char *path, char **cause)
{
	const char *p = path;
	json_t *v = root;
	char key[256];

	if (!root)
		return path_fail(cause, path, "the response is not JSON");
	while (*p) {
		/* The path up to here, without the dot that follows it. */
		int at = (int)(p - path) - (p > path && p[-1] == '.');

		if (*p == '[') {
			char *end;
			unsigned long long idx;

			if (!isdigit((unsigned char)p[1]) ||
			    (idx = strtoull(p + 1, &end, 10), *end != ']'))
				return path_fail(cause, path,
						 "bad index after '%.*s'", at,
						 path);
			if (!json_is_array(v))
				return path_fail(cause, path,
						 "'%.*s' is not an array", at,
						 path);
			if (idx >= json_array_size(v))
				return path_fail(cause, path,
						 "'%.*s' has %zu elements", at,
						 path, json_array_size(v));
			v = json_array_get(v, idx);
			p = end + 1;
		} else {
			size_t n = strcspn(p, ".[");

			if (!n || n >= sizeof(key))
				return path_fail(cause, path,
						 "bad name after '%.*s'", at,
						 path);
			memcpy(key, p, n);
			key[n] = '\0';
			if (!json_is_object(v))
				return path_fail(cause, path,
						 at ? "'%.*s' is not an object"
						    : "%.*sthe response is not "
						      "an object",
						 at, path);
			v = json_object_get(v, key);
			if (!v)
				return path_fail(cause, path,
						 "no key '%s'", key);
			p += n;
		}
		if (*p == '.') {
			p++;
			if (!*p || *p == '.' || *p == '[')
				return path_fail(cause, path,
						 "bad name after '%.*s'",
						 (int)(p - path), path);
		} else if (*p && *p != '[') {
			return path_fail(cause, path, "bad path");
		}
	}
	return v;
}

/* The shortest text that reads back as the same double: 0.1, not
 * 0.10000000000000001. */
static void add_real(struct strbuf *out, double d)
{
	char buf[32];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	strbuf_addstr(out, buf);
}

void extract_json_text(struct strbuf *out, const json_t *v)
{
	char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		strbuf_add(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		strbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		add_real(out, json_real_value(v));
		break;
	case JSON_TRUE:
		strbuf_addstr(out, "true");
		break;
	case JSON_FALSE:
		strbuf_addstr(out, "false");
		break;
	case JSON_NULL:
		strbuf_addstr(out, "null");
		break;
	default:
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!s)
			die("out of memory");
		strbuf_addstr(out, s);
		free(s);
		break;
	}
}

bool extract_cond_holds(json_t *root, const struct scenario_cond *cond,
			struct strbuf *value)
{
	json_t *v = extract_json_path(root, cond->path, NULL);
	bool eq;

	strbuf_reset(value);
	if (!v) {
		strbuf_addstr(value, "(missing)");
		return false;
	}
	extract_json_text(value, v);
	eq = !strcmp(value->buf, cond->value);
	return cond->op == COND_EQ ? eq : !eq;
}
