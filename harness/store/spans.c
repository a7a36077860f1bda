/* spans.c: writing spans in batches (cached statements, interned strings,
 * deduplicated stacks) and walking them back with their attributes. */
#include "store/store-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

int store_stack_intern(int64_t *id, struct store *st, const char *text,
		       size_t len, uint64_t key, char **cause)
{
	sqlite3_stmt *s;
	int64_t hash, v;
	int rc;

	v = idmap_get(&st->stacks, text, len, key);
	if (v) {
		*id = v;
		return 0;
	}
	/* Not met since the store was opened: look in the table, by the
	 * hash it keeps. */
	hash = (int64_t)store_hash(text, len);
	if (!(s = store_stmt(st, STMT_STACK_SELECT, cause)))
		return -1;
	sqlite3_bind_int64(s, 1, hash);
	sqlite3_bind_text(s, 2, text, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_int64(s, 0);
	} else if (rc == SQLITE_DONE) {
		if (!(s = store_stmt(st, STMT_STACK_INSERT, cause)))
			return -1;
		sqlite3_bind_int64(s, 1, hash);
		sqlite3_bind_text(s, 2, text, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(s);
		v = sqlite3_last_insert_rowid(st->db);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot write '%s'", st->path);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	idmap_put(&st->stacks, text, len, key, v);
	*id = v;
	return 0;
}

static int stack_id(int64_t *id, struct store *st, const char *const *frames,
		    size_t nframes, struct strbuf *text, char **cause)
{
	strbuf_reset(text);
	for (size_t i = 0; i < nframes; i++) {
		if (i)
			strbuf_addch(text, '\n');
		strbuf_addstr(text, frames[i] ? frames[i] : "?");
	}
	return store_stack_intern(id, st, text->buf, text->len,
				  idmap_hash(text->buf, text->len), cause);
}

static int add_attr(struct store *st, int64_t span_row,
		    const struct store_attr *a, char **cause)
{
	sqlite3_stmt *s;
	int64_t key_id;

	if (!a->key)
		return store_fail(cause, -1, "a span attribute has no key");
	if (store_intern(&key_id, st, a->key, cause) < 0)
		return -1;
	if (!(s = store_stmt(st, STMT_ATTR_INSERT, cause)))
		return -1;
	sqlite3_bind_int64(s, 1, span_row);
	sqlite3_bind_int64(s, 2, key_id);
	sqlite3_bind_int(s, 3, (int)a->type);
	switch (a->type) {
	case STORE_ATTR_INT:
		sqlite3_bind_int64(s, 4, a->v.i);
		break;
	case STORE_ATTR_DOUBLE:
		sqlite3_bind_double(s, 4, a->v.d);
		break;
	case STORE_ATTR_TEXT:
		store_bind_text(s, 4, a->v.s ? a->v.s : "");
		break;
	case STORE_ATTR_BOOL:
		sqlite3_bind_int(s, 4, a->v.b);
		break;
	default:
		return store_fail(cause, -1, "attribute '%s' has bad type %d",
				  a->key, (int)a->type);
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot write '%s'", st->path);
		sqlite3_reset(s);
		return -1;
	}
	return 0;
}

int store_span_insert(struct store *st, int64_t run_id,
		      const struct store_span *sp, int64_t stack,
		      char **cause)
{
	int64_t kind, name_id, service_id = 0, host_id = 0;
	int64_t row;
	sqlite3_stmt *s;

	if (!sp->kind || !sp->name)
		return store_fail(cause, -1, "a span needs a kind and a name");
	if (store_intern_kind(&kind, st, sp->kind, cause) < 0 ||
	    store_intern(&name_id, st, sp->name, cause) < 0 ||
	    (sp->service &&
	     store_intern(&service_id, st, sp->service, cause) < 0) ||
	    (sp->host && store_intern(&host_id, st, sp->host, cause) < 0))
		return -1;
	if (!(s = store_stmt(st, STMT_SPAN_INSERT, cause)))
		return -1;
	store_bind_id(s, 1, run_id);
	sqlite3_bind_blob(s, 2, sp->trace_id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)sp->span_id);
	sqlite3_bind_int64(s, 4, (int64_t)sp->parent_id);
	sqlite3_bind_int64(s, 5, kind);
	sqlite3_bind_int64(s, 6, name_id);
	store_bind_id(s, 7, service_id);
	store_bind_id(s, 8, host_id);
	sqlite3_bind_int64(s, 9, sp->pid);
	sqlite3_bind_int64(s, 10, sp->tid);
	sqlite3_bind_int64(s, 11, sp->start_ns);
	sqlite3_bind_int64(s, 12, sp->dur_ns);
	sqlite3_bind_int(s, 13, (int)sp->status);
	store_bind_text(s, 14, sp->message);
	store_bind_id(s, 15, stack);
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot write '%s'", st->path);
		sqlite3_reset(s);
		return -1;
	}
	row = sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < sp->nattrs; i++)
		if (add_attr(st, row, &sp->attrs[i], cause) < 0)
			return -1;
	return 0;
}

static int add_span(struct store *st, int64_t run_id,
		    const struct store_span *sp, struct strbuf *text,
		    char **cause)
{
	int64_t stack = 0;

	if (sp->nframes &&
	    stack_id(&stack, st, sp->frames, sp->nframes, text, cause) < 0)
		return -1;
	return store_span_insert(st, run_id, sp, stack, cause);
}

int store_spans_add(struct store *st, int64_t run_id,
		    const struct store_span *spans, size_t n, char **cause)
{
	struct strbuf text = STRBUF_INIT;

	if (store_tx_begin(st, cause) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (add_span(st, run_id, &spans[i], &text, cause) < 0) {
			strbuf_release(&text);
			store_tx_rollback(st);
			return -1;
		}
	}
	strbuf_release(&text);
	return store_tx_commit(st, cause);
}

/* Reading back. The spans query and the attributes query walk the spans
 * in the same order, so the attributes of the current span are the next
 * rows of the second cursor: one pass over each, no query per span. */

static const char span_select[] =
	"SELECT s.id, s.run_id, s.trace_id, s.span_id, s.parent_id, k.name,"
	" n.s, sv.s, h.s, s.pid, s.tid, s.start_ns, s.dur_ns, s.status,"
	" s.message, stk.frames FROM spans s"
	" JOIN kinds k ON k.id = s.kind"
	" JOIN strings n ON n.id = s.name_id"
	" LEFT JOIN strings sv ON sv.id = s.service_id"
	" LEFT JOIN strings h ON h.id = s.host_id"
	" LEFT JOIN stacks stk ON stk.id = s.stack_id"
	" WHERE s.run_id IS ?1 AND (?2 IS NULL OR s.trace_id = ?2)"
	" ORDER BY s.trace_id, s.start_ns, s.id";

static const char attr_select[] =
	"SELECT a.span, k.s, a.type, a.value FROM spans s"
	" JOIN span_attrs a ON a.span = s.id"
	" JOIN strings k ON k.id = a.key_id"
	" WHERE s.run_id IS ?1 AND (?2 IS NULL OR s.trace_id = ?2)"
	" ORDER BY s.trace_id, s.start_ns, s.id, a.rowid";

struct span_walk {
	struct store_attr *attrs;
	size_t alloc;
	const char **frames;
	size_t frames_alloc;
	char *frames_text;
};

static void split_frames(struct span_walk *w, struct store_span *sp,
			 const char *text)
{
	char *p;

	free(w->frames_text);
	w->frames_text = NULL;
	sp->frames = NULL;
	sp->nframes = 0;
	if (!text)
		return;
	w->frames_text = xstrdup(text);
	p = w->frames_text;
	for (;;) {
		char *nl = strchr(p, '\n');

		ALLOC_GROW(w->frames, sp->nframes + 1, w->frames_alloc);
		w->frames[sp->nframes++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	sp->frames = w->frames;
}

/* Collect the attribute rows of span ROW from cursor A, which stands on
 * the first not yet used row (*arc its last step result). */
static void collect_attrs(struct span_walk *w, struct store_span *sp,
			  sqlite3_stmt *a, int *arc, int64_t row)
{
	size_t n = 0;

	while (*arc == SQLITE_ROW && sqlite3_column_int64(a, 0) == row) {
		struct store_attr *at;

		ALLOC_GROW(w->attrs, n + 1, w->alloc);
		at = &w->attrs[n++];
		/* Borrowed from the cursor: stepping moves on, so copy. */
		at->key = xstrdup((const char *)sqlite3_column_text(a, 1));
		at->type = (enum store_attr_type)sqlite3_column_int(a, 2);
		switch (at->type) {
		case STORE_ATTR_INT:
			at->v.i = sqlite3_column_int64(a, 3);
			break;
		case STORE_ATTR_DOUBLE:
			at->v.d = sqlite3_column_double(a, 3);
			break;
		case STORE_ATTR_BOOL:
			at->v.b = sqlite3_column_int(a, 3) != 0;
			break;
		default: {
			const char *t = (const char *)sqlite3_column_text(a, 3);

			at->type = STORE_ATTR_TEXT;
			at->v.s = xstrdup(t ? t : "");
			break;
		}
		}
		*arc = sqlite3_step(a);
	}
	sp->attrs = w->attrs;
	sp->nattrs = n;
}

static void free_attrs(struct store_attr *attrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)attrs[i].key);
		if (attrs[i].type == STORE_ATTR_TEXT)
			free((char *)attrs[i].v.s);
	}
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int walk(struct store *st, int64_t run_id, const uint8_t *trace_id,
		store_span_fn fn, void *payload, char **cause)
{
	struct span_walk w = { 0 };
	sqlite3_stmt *s = NULL, *a = NULL;
	int rc, arc, ret = -1;

	if (!(s = store_prepare(st, span_select, cause)) ||
	    !(a = store_prepare(st, attr_select, cause)))
		goto out;
	store_bind_id(s, 1, run_id);
	store_bind_id(a, 1, run_id);
	if (trace_id) {
		sqlite3_bind_blob(s, 2, trace_id, 16, SQLITE_STATIC);
		sqlite3_bind_blob(a, 2, trace_id, 16, SQLITE_STATIC);
	}
	arc = sqlite3_step(a);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_span sp = { 0 };
		const void *tid = sqlite3_column_blob(s, 2);
		int stop;

		sp.id = sqlite3_column_int64(s, 0);
		sp.run_id = sqlite3_column_int64(s, 1);
		if (tid && sqlite3_column_bytes(s, 2) == 16)
			memcpy(sp.trace_id, tid, 16);
		sp.span_id = (uint64_t)sqlite3_column_int64(s, 3);
		sp.parent_id = (uint64_t)sqlite3_column_int64(s, 4);
		sp.kind = col_text(s, 5);
		sp.name = col_text(s, 6);
		sp.service = col_text(s, 7);
		sp.host = col_text(s, 8);
		sp.pid = sqlite3_column_int64(s, 9);
		sp.tid = sqlite3_column_int64(s, 10);
		sp.start_ns = sqlite3_column_int64(s, 11);
		sp.dur_ns = sqlite3_column_int64(s, 12);
		sp.status = (enum store_span_status)sqlite3_column_int(s, 13);
		sp.message = col_text(s, 14);
		split_frames(&w, &sp, col_text(s, 15));
		collect_attrs(&w, &sp, a, &arc, sp.id);
		stop = fn(&sp, payload);
		free_attrs(w.attrs, sp.nattrs);
		if (stop) {
			ret = stop;
			goto out;
		}
	}
	if (rc != SQLITE_DONE || (arc != SQLITE_DONE && arc != SQLITE_ROW)) {
		store_dbfail(st, cause, "cannot read spans of '%s'", st->path);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(a);
	free(w.attrs);
	free(w.frames);
	free(w.frames_text);
	return ret;
}

int store_spans_each(struct store *st, int64_t run_id, store_span_fn fn,
		     void *payload, char **cause)
{
	return walk(st, run_id, NULL, fn, payload, cause);
}

int store_trace_spans_each(struct store *st, int64_t run_id,
			   const uint8_t trace_id[16], store_span_fn fn,
			   void *payload, char **cause)
{
	return walk(st, run_id, trace_id, fn, payload, cause);
}

/* Timings only: the (run_id, trace_id) index gives the order, so there is
 * no sort, and the kind and string lookups are cached by id. */
static const char timing_select[] =
	"SELECT s.trace_id, s.span_id, s.parent_id, s.kind, s.name_id,"
	" s.service_id, s.start_ns, s.dur_ns, s.status FROM spans s"
	" WHERE s.run_id IS ?1 ORDER BY s.run_id, s.trace_id";
static const char timing_kinds[] = "SELECT id, name FROM kinds";
static const char timing_string[] = "SELECT s FROM strings WHERE id = ?1";

/* Id → text for the ids one walk meets: an open-addressing table, since
 * a real store holds thousands of distinct span names. */
struct timing_names {
	int64_t *ids;		/* 0: empty slot (string ids are never 0) */
	char **text;
	size_t nslots, used;
};

static char **timing_slot(struct timing_names *tn, int64_t id)
{
	size_t mask = tn->nslots - 1;
	size_t i = (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL) & mask;

	while (tn->ids[i] && tn->ids[i] != id)
		i = (i + 1) & mask;
	tn->ids[i] = id;
	return &tn->text[i];
}

static void timing_put(struct timing_names *tn, int64_t id, const char *t)
{
	if (2 * (tn->used + 1) > tn->nslots) {
		struct timing_names old = *tn;

		tn->nslots = old.nslots ? 2 * old.nslots : 64;
		tn->ids = xcalloc(tn->nslots, sizeof(*tn->ids));
		tn->text = xcalloc(tn->nslots, sizeof(*tn->text));
		for (size_t i = 0; i < old.nslots; i++)
			if (old.ids[i])
				*timing_slot(tn, old.ids[i]) = old.text[i];
		free(old.ids);
		free(old.text);
	}
	*timing_slot(tn, id) = xstrdup(t ? t : "");
	tn->used++;
}

static const char *timing_name(struct timing_names *tn, sqlite3_stmt *q,
			       int64_t id)
{
	if (tn->nslots) {
		size_t mask = tn->nslots - 1;
		size_t i = (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL) &
			   mask;

		for (; tn->ids[i]; i = (i + 1) & mask)
			if (tn->ids[i] == id)
				return tn->text[i];
	}
	if (!q)
		return NULL;
	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW)
		return NULL;
	timing_put(tn, id, (const char *)sqlite3_column_text(q, 0));
	return timing_name(tn, NULL, id);
}

static void timing_names_release(struct timing_names *tn)
{
	for (size_t i = 0; i < tn->nslots; i++)
		free(tn->text[i]);
	free(tn->ids);
	free(tn->text);
}

int store_span_timings_each(struct store *st, int64_t run_id,
			    store_timing_fn fn, void *payload, char **cause)
{
	struct timing_names kinds = { 0 }, names = { 0 }, services = { 0 };
	sqlite3_stmt *s = NULL, *k = NULL, *q = NULL;
	int rc, ret = -1;

	if (!(s = store_prepare(st, timing_select, cause)) ||
	    !(k = store_prepare(st, timing_kinds, cause)) ||
	    !(q = store_prepare(st, timing_string, cause)))
		goto out;
	while ((rc = sqlite3_step(k)) == SQLITE_ROW)
		timing_put(&kinds, sqlite3_column_int64(k, 0),
			   (const char *)sqlite3_column_text(k, 1));
	if (rc != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot read kinds of '%s'", st->path);
		goto out;
	}
	store_bind_id(s, 1, run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_span_timing sp = { 0 };
		const void *tid = sqlite3_column_blob(s, 0);
		int stop;

		if (tid && sqlite3_column_bytes(s, 0) == 16)
			memcpy(sp.trace_id, tid, 16);
		sp.span_id = (uint64_t)sqlite3_column_int64(s, 1);
		sp.parent_id = (uint64_t)sqlite3_column_int64(s, 2);
		sp.kind = timing_name(&kinds, NULL,
				      sqlite3_column_int64(s, 3));
		sp.name = timing_name(&names, q, sqlite3_column_int64(s, 4));
		if (sqlite3_column_type(s, 5) != SQLITE_NULL)
			sp.service = timing_name(&services, q,
						 sqlite3_column_int64(s, 5));
		sp.start_ns = sqlite3_column_int64(s, 6);
		sp.dur_ns = sqlite3_column_int64(s, 7);
		sp.status = (enum store_span_status)sqlite3_column_int(s, 8);
		stop = fn(&sp, payload);
		if (stop) {
			ret = stop;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot read spans of '%s'", st->path);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(k);
	sqlite3_finalize(q);
	timing_names_release(&kinds);
	timing_names_release(&names);
	timing_names_release(&services);
	return ret;
}
