/* extract.h: values out of a response for the steps of a scenario: a JSON
 * value by dotted path with indexes, or a header. Internal to harness/load. */
#ifndef HARNESS_LOAD_EXTRACT_H
#define HARNESS_LOAD_EXTRACT_H

#include <stdbool.h>

#include "config/config.h"
#include "util/strbuf.h"

struct json_t;

/* Find the value at path in root. A path is names separated by dots, each
 * optionally followed by one or more [N] indexes; it may start with an
 * index for a top-level array: "server.id", "servers[0].id", "[1].a.b[2]".
 * An empty path names root itself. Returns the value (borrowed from root)
 * or NULL, with *cause (caller frees) naming the path and the part that
 * was missing or of the wrong type. */
struct json_t *extract_json_path(struct json_t *root, const char *path,
				 char **cause);

/* Append the text of a JSON value: a string as is, an integer or real as
 * its number, true/false, null as "null", an object or array as compact
 * JSON. */
void extract_json_text(struct strbuf *out, const struct json_t *v);

/* Evaluate a poll condition against the parsed body (NULL if the body is
 * not JSON). *value gets the text found, or "(missing)" when the path is
 * absent; a missing path makes both == and != false, so that a poll goes
 * on until the field shows up. */
bool extract_cond_holds(struct json_t *root, const struct scenario_cond *cond,
			struct strbuf *value);

#endif
