/* ytree.c: reading a YAML file into a tree of positioned nodes with
 * libyaml's event API, and the strict getters that turn nodes into typed
 * values with "file:line:column: expected X, found Y" messages. */
#include "config/ytree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "config/config.h"
#include "config/template.h"
#include "util/strbuf.h"
#include "util/suggest.h"

/* Nesting deeper than this is not a config file; refusing it keeps every
 * walk over the tree shallow. */
#define YTREE_MAX_DEPTH 64
/* Aliases are expanded by copying; this caps what a few anchors can blow
 * up to ("billion laughs"). */
#define YTREE_MAX_NODES 200000

struct anchor {
	char *name;
	struct ynode *node;
};

struct builder {
	struct yfile *f;
	struct ynode *stack[YTREE_MAX_DEPTH];
	size_t depth;
	struct anchor *anchors;
	size_t nanchors, anchors_alloc;
	size_t nodes;
};

int yerror(struct yfile *f, const struct ynode *n, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!f->cause || *f->cause)
		return -1;
	strbuf_addf(&sb, "%s:%u:%u: ", f->path, n ? n->line : 1,
	            n ? n->column : 1);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*f->cause = strbuf_detach(&sb, NULL);
	return -1;
}

static int error_at(struct yfile *f, unsigned line, unsigned column,
                    const char *fmt, ...) HARNESS_PRINTF(4, 5);

static int error_at(struct yfile *f, unsigned line, unsigned column,
                    const char *fmt, ...)
{
	struct ynode where = {.line = line, .column = column};
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	yerror(f, &where, "%s", msg);
	free(msg);
	return -1;
}

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->items[i]);
	free(n->items);
	free(n->text);
	free(n);
}

void yfile_release(struct yfile *f)
{
	ynode_free(f->root);
	f->root = NULL;
}

/* Read at most YTREE_MAX_FILE bytes; a longer file is refused rather than
 * cut, and so is anything that is not a regular file's worth of text. */
static int read_limited(struct yfile *f, struct strbuf *sb)
{
	FILE *fp = fopen(f->path, "rb");
	struct stat st;
	char buf[65536];
	size_t got;
	int ret = -1;

	if (!fp) {
		*f->cause =
		    xasprintf("cannot read '%s': %s", f->path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		*f->cause = xasprintf("cannot read '%s': %s", f->path,
		                      strerror(EISDIR));
		goto out;
	}
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (sb->len + got > YTREE_MAX_FILE) {
			*f->cause = xasprintf("'%s' is larger than %u MiB; "
			                      "not a config file",
			                      f->path, YTREE_MAX_FILE >> 20);
			goto out;
		}
		strbuf_add(sb, buf, got);
	}
	if (ferror(fp)) {
		*f->cause = xasprintf("cannot read '%s': %s", f->path,
		                      strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	fclose(fp);
	return ret;
}

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Refuse binary files before libyaml sees them, naming the first bad byte
 * by line and column (columns in characters, as libyaml counts them). */
static int check_text(struct yfile *f, const struct strbuf *sb)
{
	const unsigned char *p = (const unsigned char *)sb->buf;
	unsigned line = 1, column = 1;
	size_t i = 0;

	while (i < sb->len) {
		size_t len;

		if (p[i] == '\0')
			return error_at(f, line, column,
			                "binary file: NUL byte; expected "
			                "UTF-8 text");
		len = utf8_len(p + i, sb->len - i);
		if (!len)
			return error_at(f, line, column,
			                "binary file: invalid UTF-8 (byte "
			                "0x%02x); expected UTF-8 text",
			                p[i]);
		if (p[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
		i += len;
	}
	return 0;
}

static int plain_is(const char *s, const char *a, const char *b, const char *c)
{
	return !strcmp(s, a) || !strcmp(s, b) || !strcmp(s, c);
}

static int all_digits(const char *s, int (*ok)(int))
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!ok((unsigned char)*s))
			return 0;
	return 1;
}

static int is_dec(int c)
{
	return c >= '0' && c <= '9';
}

static int is_oct(int c)
{
	return c >= '0' && c <= '7';
}

static int is_hex(int c)
{
	return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_float_text(const char *s)
{
	int digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	if (plain_is(s, ".inf", ".Inf", ".INF"))
		return 1;
	while (is_dec((unsigned char)*s)) {
		s++;
		digits++;
	}
	if (*s == '.') {
		s++;
		while (is_dec((unsigned char)*s)) {
			s++;
			digits++;
		}
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!all_digits(s, is_dec))
			return 0;
		return 1;
	}
	return *s == '\0';
}

/* The YAML 1.2 core schema, for plain scalars. */
static enum yscalar_type resolve_plain(const char *s)
{
	const char *d = s;

	if (!*s || plain_is(s, "~", "null", "Null") || !strcmp(s, "NULL"))
		return YSCALAR_NULL;
	if (plain_is(s, "true", "True", "TRUE") ||
	    plain_is(s, "false", "False", "FALSE"))
		return YSCALAR_BOOL;
	if (*d == '+' || *d == '-')
		d++;
	if (all_digits(d, is_dec))
		return YSCALAR_INT;
	if ((!strncmp(s, "0o", 2) && all_digits(s + 2, is_oct)) ||
	    (!strncmp(s, "0x", 2) && all_digits(s + 2, is_hex)))
		return YSCALAR_INT;
	if (is_float_text(s) || plain_is(s, ".nan", ".NaN", ".NAN"))
		return YSCALAR_FLOAT;
	return YSCALAR_STRING;
}

static struct ynode *new_node(struct builder *b, enum ynode_kind kind,
                              yaml_mark_t mark)
{
	struct ynode *n;

	if (++b->nodes > YTREE_MAX_NODES) {
		error_at(b->f, (unsigned)mark.line + 1,
		         (unsigned)mark.column + 1,
		         "too many YAML nodes (more than %d)", YTREE_MAX_NODES);
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)mark.line + 1;
	n->column = (unsigned)mark.column + 1;
	return n;
}

static enum yscalar_style scalar_style(yaml_scalar_style_t style)
{
	switch (style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		return YSTYLE_SINGLE_QUOTED;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return YSTYLE_DOUBLE_QUOTED;
	case YAML_LITERAL_SCALAR_STYLE:
		return YSTYLE_LITERAL;
	case YAML_FOLDED_SCALAR_STYLE:
		return YSTYLE_FOLDED;
	default:
		return YSTYLE_PLAIN;
	}
}

static struct ynode *copy_node(struct builder *b, const struct ynode *src)
{
	struct ynode *n;
	yaml_mark_t mark = {0};

	mark.line = src->line - 1;
	mark.column = src->column - 1;
	n = new_node(b, src->kind, mark);
	if (!n)
		return NULL;
	n->type = src->type;
	n->style = src->style;
	if (src->text)
		n->text = xstrdup(src->text);
	if (src->n) {
		n->items = xcalloc(src->n, sizeof(*n->items));
		n->alloc = src->n;
		for (size_t i = 0; i < src->n; i++) {
			n->items[i] = copy_node(b, src->items[i]);
			if (!n->items[i]) {
				ynode_free(n);
				return NULL;
			}
			n->n++;
		}
	}
	return n;
}

static int check_tag(struct builder *b, const char *tag, yaml_mark_t mark,
                     const char *want)
{
	if (!tag || !strcmp(tag, "!") || !strcmp(tag, want))
		return 0;
	return error_at(b->f, (unsigned)mark.line + 1,
	                (unsigned)mark.column + 1, "unsupported YAML tag '%s'",
	                tag);
}

static void add_anchor(struct builder *b, const char *name, struct ynode *n)
{
	if (!name)
		return;
	ALLOC_GROW(b->anchors, b->nanchors + 1, b->anchors_alloc);
	b->anchors[b->nanchors].name = xstrdup(name);
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

/* Attach n to the open container (or make it the root). Takes n. */
static void attach(struct builder *b, struct ynode *n)
{
	struct ynode *parent;

	if (!b->depth) {
		b->f->root = n;
		return;
	}
	parent = b->stack[b->depth - 1];
	ALLOC_GROW(parent->items, parent->n + 1, parent->alloc);
	parent->items[parent->n++] = n;
}

static int on_event(struct builder *b, yaml_event_t *ev, int *docs)
{
	yaml_mark_t m = ev->start_mark;
	struct ynode *n = NULL;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return error_at(b->f, (unsigned)m.line + 1,
			                (unsigned)m.column + 1,
			                "a second YAML document; expected "
			                "one document per file");
		return 0;
	case YAML_SCALAR_EVENT: {
		const char *tag = (const char *)ev->data.scalar.tag;
		const char *value = (const char *)ev->data.scalar.value;

		if (check_tag(b, tag, m, YAML_STR_TAG))
			return -1;
		if (strlen(value) != ev->data.scalar.length)
			return error_at(b->f, (unsigned)m.line + 1,
			                (unsigned)m.column + 1,
			                "NUL character in a string");
		n = new_node(b, YNODE_SCALAR, m);
		if (!n)
			return -1;
		n->text = xstrdup(value);
		n->style = scalar_style(ev->data.scalar.style);
		if (ev->data.scalar.plain_implicit && !tag)
			n->type = resolve_plain(value);
		else
			n->type = YSCALAR_STRING;
		add_anchor(b, (const char *)ev->data.scalar.anchor, n);
		attach(b, n);
		return 0;
	}
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;

		for (size_t i = b->nanchors; i-- > 0;) {
			if (strcmp(b->anchors[i].name, name))
				continue;
			if (!b->anchors[i].node)
				return error_at(b->f, (unsigned)m.line + 1,
				                (unsigned)m.column + 1,
				                "alias '*%s' refers to a node "
				                "that contains it",
				                name);
			n = copy_node(b, b->anchors[i].node);
			if (!n)
				return -1;
			attach(b, n);
			return 0;
		}
		return error_at(b->f, (unsigned)m.line + 1,
		                (unsigned)m.column + 1,
		                "alias '*%s' names no earlier anchor", name);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int seq = ev->type == YAML_SEQUENCE_START_EVENT;
		const char *tag =
		    seq ? (const char *)ev->data.sequence_start.tag
		        : (const char *)ev->data.mapping_start.tag;
		const char *anchor =
		    seq ? (const char *)ev->data.sequence_start.anchor
		        : (const char *)ev->data.mapping_start.anchor;

		if (check_tag(b, tag, m, seq ? YAML_SEQ_TAG : YAML_MAP_TAG))
			return -1;
		if (b->depth == YTREE_MAX_DEPTH)
			return error_at(
			    b->f, (unsigned)m.line + 1, (unsigned)m.column + 1,
			    "nested deeper than %d levels", YTREE_MAX_DEPTH);
		n = new_node(b, seq ? YNODE_SEQ : YNODE_MAP, m);
		if (!n)
			return -1;
		attach(b, n);
		b->stack[b->depth++] = n;
		/* An anchor on a container is recorded when it closes, so
		 * that an alias copies the whole of it. */
		if (anchor)
			add_anchor(b, anchor, NULL);
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		n = b->stack[--b->depth];
		for (size_t i = b->nanchors; i-- > 0;) {
			if (!b->anchors[i].node) {
				b->anchors[i].node = n;
				break;
			}
		}
		return 0;
	default:
		return 0;
	}
}

static int parse_error(struct yfile *f, yaml_parser_t *parser)
{
	yaml_mark_t m = parser->problem_mark;
	const char *problem = parser->problem ? parser->problem : "bad YAML";

	if (parser->error == YAML_MEMORY_ERROR)
		die("out of memory");
	if (parser->context)
		return error_at(f, (unsigned)m.line + 1, (unsigned)m.column + 1,
		                "%s (%s that starts at line %u, column %u)",
		                problem, parser->context,
		                (unsigned)parser->context_mark.line + 1,
		                (unsigned)parser->context_mark.column + 1);
	return error_at(f, (unsigned)m.line + 1, (unsigned)m.column + 1, "%s",
	                problem);
}

int yfile_load(struct yfile *f, const char *path, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	struct builder b = {.f = f};
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, docs = 0, ret = -1;

	f->path = path;
	f->root = NULL;
	f->cause = cause;
	*cause = NULL;
	if (read_limited(f, &sb) || check_text(f, &sb))
		goto out_buf;
	if (!yaml_parser_initialize(&parser))
		die("out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb.buf,
	                             sb.len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parse_error(f, &parser);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (on_event(&b, &ev, &docs)) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (!f->root ||
	    (f->root->kind == YNODE_SCALAR && f->root->type == YSCALAR_NULL)) {
		error_at(f, 1, 1, "the file is empty; expected a mapping");
		goto out;
	}
	ret = 0;
out:
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	if (ret)
		yfile_release(f);
out_buf:
	strbuf_release(&sb);
	return ret;
}

const char *ynode_describe(const struct ynode *n)
{
	if (n->kind == YNODE_MAP)
		return "a mapping";
	if (n->kind == YNODE_SEQ)
		return "a list";
	switch (n->type) {
	case YSCALAR_NULL:
		return "null";
	case YSCALAR_BOOL:
		return "a boolean";
	case YSCALAR_INT:
		return "an integer";
	case YSCALAR_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}

static void list_names(struct strbuf *sb, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", list[i]);
}

int ymap_expect(struct yfile *f, const struct ynode *n, const char *what)
{
	if (n->kind == YNODE_MAP)
		return 0;
	return yerror(f, n, "%s: expected a mapping, found %s", what,
	              ynode_describe(n));
}

int yseq_expect(struct yfile *f, const struct ynode *n, const char *key)
{
	if (n->kind == YNODE_SEQ)
		return 0;
	return yerror(f, n, "'%s': expected a list, found %s", key,
	              ynode_describe(n));
}

int ymap_check_keys(struct yfile *f, const struct ynode *map,
                    const char *const *keys, const char *what)
{
	if (ymap_expect(f, map, what))
		return -1;
	for (size_t i = 0; i < YMAP_PAIRS(map); i++) {
		const struct ynode *k = YMAP_KEY(map, i);
		const char *hint;
		size_t j;

		if (k->kind != YNODE_SCALAR || k->type == YSCALAR_NULL)
			return yerror(f, k,
			              "a key in %s is %s; expected a "
			              "name",
			              what, ynode_describe(k));
		for (j = 0; j < i; j++) {
			const struct ynode *prev = YMAP_KEY(map, j);

			if (prev->kind == YNODE_SCALAR &&
			    !strcmp(prev->text, k->text))
				return yerror(f, k,
				              "duplicate key '%s' in %s "
				              "(first at line %u, column %u)",
				              k->text, what, prev->line,
				              prev->column);
		}
		if (!keys)
			continue;
		for (j = 0; keys[j]; j++)
			if (!strcmp(keys[j], k->text))
				break;
		if (keys[j])
			continue;
		hint = suggest_closest(k->text, keys);
		if (hint)
			return yerror(f, k,
			              "unknown key '%s' in %s; did you mean "
			              "'%s'?",
			              k->text, what, hint);
		{
			struct strbuf sb = STRBUF_INIT;

			list_names(&sb, keys);
			yerror(f, k, "unknown key '%s' in %s; valid keys: %s",
			       k->text, what, sb.buf);
			strbuf_release(&sb);
			return -1;
		}
	}
	return 0;
}

struct ynode *ymap_get(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i < YMAP_PAIRS(map); i++) {
		const struct ynode *k = YMAP_KEY(map, i);

		if (k->kind == YNODE_SCALAR && !strcmp(k->text, key))
			return YMAP_VALUE(map, i);
	}
	return NULL;
}

int ymap_require(struct yfile *f, const struct ynode *map, const char *key,
                 const char *what, struct ynode **out)
{
	*out = ymap_get(map, key);
	if (*out)
		return 0;
	return yerror(f, map, "missing required key '%s' in %s", key, what);
}

static int wrong_type(struct yfile *f, const struct ynode *n, const char *key,
                      const char *expected)
{
	return yerror(f, n, "'%s': expected %s, found %s", key, expected,
	              ynode_describe(n));
}

int yget_str(struct yfile *f, const struct ynode *n, const char *key,
             char **out)
{
	if (n->kind != YNODE_SCALAR || n->type != YSCALAR_STRING)
		return wrong_type(f, n, key, "a string");
	*out = xstrdup(n->text);
	return 0;
}

int yget_text(struct yfile *f, const struct ynode *n, const char *key,
              char **out)
{
	if (n->kind != YNODE_SCALAR || n->type == YSCALAR_NULL)
		return wrong_type(f, n, key, "a string");
	*out = xstrdup(n->text);
	return 0;
}

int yget_int(struct yfile *f, const struct ynode *n, const char *key,
             long long min, long long max, long long *out)
{
	const char *s;
	char *end;
	long long v;
	int base = 10;

	if (n->kind != YNODE_SCALAR || n->type != YSCALAR_INT)
		return wrong_type(f, n, key, "an integer");
	s = n->text;
	if (!strncmp(s, "0o", 2)) {
		s += 2;
		base = 8;
	} else if (!strncmp(s, "0x", 2)) {
		s += 2;
		base = 16;
	}
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno || *end || v < min || v > max)
		return yerror(f, n, "'%s': %s is out of range (%lld..%lld)",
		              key, n->text, min, max);
	*out = v;
	return 0;
}

int yget_bool(struct yfile *f, const struct ynode *n, const char *key,
              bool *out)
{
	if (n->kind != YNODE_SCALAR || n->type != YSCALAR_BOOL)
		return wrong_type(f, n, key, "a boolean (true or false)");
	*out = n->text[0] == 't' || n->text[0] == 'T';
	return 0;
}

int yget_number(struct yfile *f, const struct ynode *n, const char *key,
                double *out)
{
	double v;

	if (n->kind != YNODE_SCALAR ||
	    (n->type != YSCALAR_INT && n->type != YSCALAR_FLOAT))
		return wrong_type(f, n, key, "a number");
	v = strtod(n->text, NULL);
	if (!isfinite(v))
		return yerror(f, n,
		              "'%s': expected a finite number, found "
		              "'%s'",
		              key, n->text);
	*out = v;
	return 0;
}

int yget_duration(struct yfile *f, const struct ynode *n, const char *key,
                  uint64_t *out)
{
	if (n->kind != YNODE_SCALAR || n->type == YSCALAR_NULL ||
	    n->type == YSCALAR_BOOL)
		return wrong_type(f, n, key, "a duration such as 250ms");
	if (config_parse_duration(n->text, out) < 0)
		return yerror(f, n,
		              "'%s': bad duration '%s'; expected a number "
		              "and a unit (ns, us, ms, s, m, h) such as "
		              "250ms or 1.5s",
		              key, n->text);
	return 0;
}

int yget_fraction(struct yfile *f, const struct ynode *n, const char *key,
                  double *out)
{
	if (n->kind == YNODE_SCALAR &&
	    (n->type == YSCALAR_INT || n->type == YSCALAR_FLOAT))
		return yget_number(f, n, key, out);
	if (n->kind != YNODE_SCALAR || n->type != YSCALAR_STRING)
		return wrong_type(f, n, key, "a percentage such as 5%");
	if (config_parse_percent(n->text, out) < 0)
		return yerror(f, n,
		              "'%s': bad percentage '%s'; expected a number "
		              "and '%%' such as 5%% or 0.5%%, or a fraction "
		              "such as 0.05",
		              key, n->text);
	return 0;
}

int yget_enum(struct yfile *f, const struct ynode *n, const char *key,
              const char *const *names, int *out)
{
	struct strbuf sb = STRBUF_INIT;
	const char *hint;

	if (n->kind != YNODE_SCALAR || n->type == YSCALAR_NULL)
		return wrong_type(f, n, key, "a string");
	for (int i = 0; names[i]; i++) {
		if (!strcmp(names[i], n->text)) {
			*out = i;
			return 0;
		}
	}
	list_names(&sb, names);
	hint = suggest_closest(n->text, names);
	if (hint)
		yerror(f, n,
		       "'%s': unknown value '%s'; did you mean '%s'? "
		       "(valid: %s)",
		       key, n->text, hint, sb.buf);
	else
		yerror(f, n, "'%s': unknown value '%s'; valid: %s", key,
		       n->text, sb.buf);
	strbuf_release(&sb);
	return -1;
}

static int plain_safe_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' ||
	       c == '-' || c == '+' || c == '%' || c == '=' || c == '$' ||
	       c == '(' || c == ')' || c == '<' || c == '>';
}

/* Plain when the text has only characters that YAML never treats as
 * syntax in a plain scalar, does not start with an indicator, and does not
 * resolve to a null, boolean or number. */
static int plain_ok(const char *s)
{
	if (!*s || *s == '-' || *s == '%' || *s == '<' || *s == '>' ||
	    *s == '(' || *s == '$')
		return 0;
	for (const char *p = s; *p; p++)
		if (!plain_safe_char((unsigned char)*p))
			return 0;
	return resolve_plain(s) == YSCALAR_STRING;
}

void ydump_str(struct strbuf *out, const char *s)
{
	if (plain_ok(s)) {
		strbuf_addstr(out, s);
		return;
	}
	strbuf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
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
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				strbuf_addf(out, "\\x%02x", *p);
			} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f &&
			           p[1] != 0x85) {
				/* C1 controls: YAML cannot hold them raw. */
				strbuf_addf(out, "\\x%02x", p[1]);
				p++;
			} else if (*p == 0xef && p[1] == 0xbf &&
			           (p[2] == 0xbe || p[2] == 0xbf)) {
				strbuf_addf(out, "\\uff%02x",
				            0xfe + (p[2] & 1));
				p += 2;
			} else {
				strbuf_addch(out, *p);
			}
		}
	}
	strbuf_addch(out, '"');
}

void ydump_duration(struct strbuf *out, uint64_t ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
	    {"h", 3600000000000ull}, {"m", 60000000000ull},
	    {"s", 1000000000ull},    {"ms", 1000000ull},
	    {"us", 1000ull},         {"ns", 1ull},
	};

	if (!ns) {
		strbuf_addstr(out, "0s");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (ns % units[i].ns == 0) {
			strbuf_addf(out, "%llu%s",
			            (unsigned long long)(ns / units[i].ns),
			            units[i].unit);
			return;
		}
	}
}

void ydump_number(struct strbuf *out, double v)
{
	char buf[64];

	if (v == floor(v) && fabs(v) < 1e15) {
		/* Whole numbers as integers: 1000, not 1e+03. */
		strbuf_addf(out, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	strbuf_addstr(out, buf);
}

void ynames_add(struct ynames *set, const char *name)
{
	if (ynames_has(set, name))
		return;
	ALLOC_GROW(set->v, set->n + 2, set->alloc);
	set->v[set->n++] = xstrdup(name);
	set->v[set->n] = NULL;
}

bool ynames_has(const struct ynames *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i], name))
			return true;
	return false;
}

void ynames_release(struct ynames *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = set->alloc = 0;
}

struct check_ctx {
	struct yfile *f;
	const struct ynode *n;
	const char *key;
	const struct ynames *defined;
	const struct ynames *later;
};

static int check_one(const char *name, size_t offset, void *payload)
{
	struct check_ctx *c = payload;
	static const char *const none[] = {NULL};
	const char *hint;

	if (ynames_has(c->defined, name))
		return 0;
	if (c->later && ynames_has(c->later, name))
		return yerror(c->f, c->n,
		              "'%s': template variable '%s' is not extracted "
		              "by an earlier step (only by this or a later "
		              "one)",
		              c->key, name);
	hint = suggest_closest(name, c->defined->v
	                                     ? (const char *const *)c->defined->v
	                                     : none);
	if (hint)
		return yerror(c->f, c->n,
		              "'%s': undefined template variable '%s'; did "
		              "you mean '%s'?",
		              c->key, name, hint);
	return yerror(c->f, c->n, "'%s': undefined template variable '%s'",
	              c->key, name);
}

int ycheck_template(struct yfile *f, const struct ynode *n, const char *key,
                    const char *text, const struct ynames *defined,
                    const struct ynames *later)
{
	struct check_ctx c = {f, n, key, defined, later};
	char *cause = NULL;
	int r;

	r = template_foreach_name(text, check_one, &c, &cause);
	if (r && cause) {
		yerror(f, n, "'%s': %s", key, cause);
		free(cause);
	}
	return r ? -1 : 0;
}
