/* ytree.h: a YAML file as a small tree of nodes that remember their
 * line:column, and the typed, strict getters the config and scenario
 * loaders share. Internal to harness/config. */
#ifndef HARNESS_YTREE_H
#define HARNESS_YTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/strbuf.h"

/* Largest file accepted. */
#define YTREE_MAX_FILE (16u << 20)

enum ynode_kind {
	YNODE_SCALAR,
	YNODE_MAP,
	YNODE_SEQ,
};

/* What a scalar resolves to under the YAML 1.2 core schema. A quoted or
 * !!str-tagged scalar is always a string. */
enum yscalar_type {
	YSCALAR_NULL,
	YSCALAR_BOOL,
	YSCALAR_INT,
	YSCALAR_FLOAT,
	YSCALAR_STRING,
};

/* How a scalar was written, as libyaml reports it. The node's column is
 * that of its quote when quoted (of its anchor or tag when it has one),
 * so a quoted scalar's text starts a column further right. */
enum yscalar_style {
	YSTYLE_PLAIN,
	YSTYLE_SINGLE_QUOTED,
	YSTYLE_DOUBLE_QUOTED,
	YSTYLE_LITERAL, /* | */
	YSTYLE_FOLDED,  /* > */
};

struct ynode {
	enum ynode_kind kind;
	unsigned line;            /* 1-based */
	unsigned column;          /* 1-based */
	char *text;               /* scalar: its value */
	enum yscalar_type type;   /* scalar: its resolved type */
	enum yscalar_style style; /* scalar: how it was written */
	/* Sequence: the items. Mapping: key, value, key, value... */
	struct ynode **items;
	size_t n;
	size_t alloc;
};

/* Number of pairs of a mapping. */
#define YMAP_PAIRS(node) ((node)->n / 2)
#define YMAP_KEY(node, i) ((node)->items[2 * (i)])
#define YMAP_VALUE(node, i) ((node)->items[2 * (i) + 1])

struct yfile {
	const char *path;   /* borrowed from the caller */
	struct ynode *root; /* never NULL after a successful load */
	char **cause;       /* where the first error goes */
};

/* Read and parse path (at most YTREE_MAX_FILE bytes, UTF-8, no NUL) into
 * f->root. path is borrowed and must outlive f. Returns 0, or -1 with
 * *cause set to "PATH:LINE:COLUMN: message" (or "cannot read 'PATH': ..."
 * when no position applies). */
int yfile_load(struct yfile *f, const char *path, char **cause);
void yfile_release(struct yfile *f);

/* Set *f->cause (if not set yet) to "PATH:LINE:COLUMN: " plus the message,
 * at node n (or 1:1 when n is NULL); returns -1. */
int yerror(struct yfile *f, const struct ynode *n, const char *fmt, ...)
    HARNESS_PRINTF(3, 4);

/* "a string", "an integer", "a mapping"...: for "expected X, found Y". */
const char *ynode_describe(const struct ynode *n);

/* n must be a mapping; `what` names it in messages ("runner"). */
int ymap_expect(struct yfile *f, const struct ynode *n, const char *what);
/* Check that every key of map is a string, is unique and is one of keys
 * (NULL-terminated). The message for an unknown key suggests the closest. */
int ymap_check_keys(struct yfile *f, const struct ynode *map,
                    const char *const *keys, const char *what);
/* The value of key in map, or NULL. */
struct ynode *ymap_get(const struct ynode *map, const char *key);
/* As ymap_get, but a missing key is an error at the mapping. */
int ymap_require(struct yfile *f, const struct ynode *map, const char *key,
                 const char *what, struct ynode **out);

/* Typed values. `key` names the value in messages. A scalar of another
 * type, a mapping or a list is an error: "'KEY': expected X, found Y". */
int yget_str(struct yfile *f, const struct ynode *n, const char *key,
             char **out);
/* Any scalar but null, as written (for variables, headers, env). */
int yget_text(struct yfile *f, const struct ynode *n, const char *key,
              char **out);
int yget_int(struct yfile *f, const struct ynode *n, const char *key,
             long long min, long long max, long long *out);
int yget_bool(struct yfile *f, const struct ynode *n, const char *key,
              bool *out);
/* A number (integer or float), finite. */
int yget_number(struct yfile *f, const struct ynode *n, const char *key,
                double *out);
/* A duration string ("250ms"). */
int yget_duration(struct yfile *f, const struct ynode *n, const char *key,
                  uint64_t *out);
/* A fraction written as a number (0.05) or a percentage ("5%"). */
int yget_fraction(struct yfile *f, const struct ynode *n, const char *key,
                  double *out);
/* One of names (NULL-terminated); *out is its index. */
int yget_enum(struct yfile *f, const struct ynode *n, const char *key,
              const char *const *names, int *out);
int yseq_expect(struct yfile *f, const struct ynode *n, const char *key);

/* Writing YAML back: a string as a plain scalar when it reads back as the
 * same string, else double-quoted; a duration in its largest exact unit;
 * a finite number in the fewest digits that read back exactly. */
void ydump_str(struct strbuf *out, const char *s);
void ydump_duration(struct strbuf *out, uint64_t ns);
void ydump_number(struct strbuf *out, double v);

/* A set of names (variables, services.NAME, built-ins) that templates may
 * use; NULL-terminated so that suggest_closest can search it. */
struct ynames {
	char **v;
	size_t n, alloc;
};
#define YNAMES_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}
void ynames_add(struct ynames *set, const char *name);
bool ynames_has(const struct ynames *set, const char *name);
void ynames_release(struct ynames *set);

/* Check every {{name}} in text (the value of node n, key `key`) against
 * defined; `later`, when not NULL, holds names defined only further on,
 * for a clearer message. */
int ycheck_template(struct yfile *f, const struct ynode *n, const char *key,
                    const char *text, const struct ynames *defined,
                    const struct ynames *later);

#endif
