/* template.h: {{name}} templates in config and scenario strings. The config
 * loader lists the names a template uses to check them at load time; the
 * stack and the load driver expand them at run time. */
#ifndef HARNESS_TEMPLATE_H
#define HARNESS_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

/*
 * Syntax: "{{" NAME "}}", with optional blanks (spaces, tabs) around NAME.
 * NAME is [A-Za-z_][A-Za-z0-9_.-]* (so "services.identity" is one name).
 * There is no escape: every "{{" starts a template, and a "{{" without its
 * "}}" or with a malformed name is an error. A lone "}}" is plain text.
 */

/* Called with each name in order; name is NUL-terminated and valid only
 * during the call, offset is where its "{{" starts in the template. A
 * nonzero return stops the walk and is returned by template_foreach_name. */
typedef int (*template_name_fn)(const char *name, size_t offset, void *payload);

/* Gives the value of name, or NULL when name is undefined. The returned
 * string is copied at once, so it need only live until the next call. */
typedef const char *(*template_lookup_fn)(const char *name, void *payload);

/* Walk the names tmpl uses. Returns 0, fn's nonzero value, or -1 on a
 * syntax error with *cause (caller frees) set to a message that gives the
 * offending offset. cause may be NULL. */
int template_foreach_name(const char *tmpl, template_name_fn fn, void *payload,
                          char **cause);

/* Append tmpl to out with every {{name}} replaced by lookup(name). Returns
 * 0, or -1 with *cause set (caller frees; cause may be NULL) on a syntax
 * error or an undefined name; out then holds a partial expansion. */
int template_expand(struct strbuf *out, const char *tmpl,
                    template_lookup_fn lookup, void *payload, char **cause);

/* As template_expand, but each substituted value is escaped for the inside
 * of a JSON string ("\"", "\\", control characters), for the text of a
 * scenario step's `json:` body, whose templates sit inside JSON strings. */
int template_expand_json(struct strbuf *out, const char *tmpl,
                         template_lookup_fn lookup, void *payload,
                         char **cause);

/* Whether s holds at least one "{{". */
bool template_has_names(const char *s);

/* Whether name is a valid template name (see the syntax above). */
bool template_name_valid(const char *name);

#endif
