/* traces.c: the traces of a run as a list (one row per trace, with its
 * root span and a few totals) and the lookup of a trace by an id prefix. */
#include "store/store-internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One row per (run, trace). The root is the longest span with no parent;
 * the iteration is the run's iteration that recorded this trace. */
static const char trace_list_select[] =
	"SELECT s.trace_id, s.run_id, min(s.start_ns),"
	" max(s.start_ns + s.dur_ns), count(*), sum(s.status != 0),"
	" (SELECT i.seq FROM iterations i WHERE i.run_id = s.run_id"
	"   AND i.trace_id = s.trace_id),"
	" (SELECT n.s FROM spans r JOIN strings n ON n.id = r.name_id"
	"   WHERE r.run_id IS s.run_id AND r.trace_id = s.trace_id"
	"   AND r.parent_id = 0 ORDER BY r.dur_ns DESC, r.id LIMIT 1),"
	" (SELECT group_concat(v.s, ',') FROM (SELECT DISTINCT sv.s AS s"
	"   FROM spans x JOIN strings sv ON sv.id = x.service_id"
	"   WHERE x.run_id IS s.run_id AND x.trace_id = s.trace_id"
	"   ORDER BY sv.s) v)"
	" FROM spans s WHERE ?2 OR s.run_id IS ?1"
	" GROUP BY s.run_id, s.trace_id"
	" ORDER BY min(s.start_ns) DESC, s.trace_id"
	" LIMIT ?3";

int store_traces_list(struct store_trace **out, size_t *n, struct store *st,
		      int64_t run_id, size_t limit, char **cause)
{
	struct store_trace *list = NULL;
	size_t count = 0, alloc = 0;
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	*n = 0;
	if (!(s = store_prepare(st, trace_list_select, cause)))
		return -1;
	store_bind_id(s, 1, run_id > 0 ? run_id : 0);
	sqlite3_bind_int(s, 2, run_id < 0);
	sqlite3_bind_int64(s, 3, limit ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_trace *t;
		const void *tid = sqlite3_column_blob(s, 0);

		ALLOC_GROW(list, count + 1, alloc);
		t = &list[count++];
		memset(t, 0, sizeof(*t));
		if (tid && sqlite3_column_bytes(s, 0) == 16)
			memcpy(t->trace_id, tid, 16);
		t->run_id = sqlite3_column_int64(s, 1);
		t->start_ns = sqlite3_column_int64(s, 2);
		t->dur_ns = sqlite3_column_int64(s, 3) - t->start_ns;
		t->nspans = sqlite3_column_int64(s, 4);
		t->nerrors = sqlite3_column_int64(s, 5);
		t->iteration = sqlite3_column_type(s, 6) == SQLITE_NULL ?
				       -1 :
				       sqlite3_column_int64(s, 6);
		t->root_name = store_column_strdup(s, 7);
		t->services = store_column_strdup(s, 8);
	}
	if (rc != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot list traces of '%s'", st->path);
		sqlite3_finalize(s);
		store_traces_free(list, count);
		return -1;
	}
	sqlite3_finalize(s);
	*out = list;
	*n = count;
	return 0;
}

void store_traces_free(struct store_trace *traces, size_t n)
{
	if (!traces)
		return;
	for (size_t i = 0; i < n; i++) {
		free(traces[i].root_name);
		free(traces[i].services);
	}
	free(traces);
}

static const char trace_find_select[] =
	"SELECT DISTINCT s.trace_id, s.run_id FROM spans s"
	" WHERE substr(hex(s.trace_id), 1, ?1) = ?2 AND (?4 OR s.run_id IS ?3)"
	" LIMIT 2";

int store_trace_find(uint8_t trace_id[16], int64_t *run_id, struct store *st,
		     const char *prefix, int64_t in_run, char **cause)
{
	char upper[33];
	size_t len = strlen(prefix);
	sqlite3_stmt *s;
	int rc, found = 0;

	if (!len || len > 32)
		return store_fail(cause, -1,
				  "bad trace id '%s': want 1 to 32 hex digits",
				  prefix);
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)prefix[i]))
			return store_fail(cause, -1,
					  "bad trace id '%s': want hex digits",
					  prefix);
		upper[i] = (char)toupper((unsigned char)prefix[i]);
	}
	upper[len] = '\0';
	if (!(s = store_prepare(st, trace_find_select, cause)))
		return -1;
	sqlite3_bind_int(s, 1, (int)len);
	sqlite3_bind_text(s, 2, upper, (int)len, SQLITE_STATIC);
	store_bind_id(s, 3, in_run > 0 ? in_run : 0);
	sqlite3_bind_int(s, 4, in_run < 0);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *tid = sqlite3_column_blob(s, 0);

		if (found++)
			break;
		if (tid && sqlite3_column_bytes(s, 0) == 16)
			memcpy(trace_id, tid, 16);
		*run_id = sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot read traces of '%s'", st->path);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	if (!found)
		return store_fail(cause, STORE_ENOENT, "no trace '%s' in '%s'",
				  prefix, st->path);
	if (found > 1)
		return store_fail(cause, STORE_EAMBIGUOUS,
				  "trace id '%s' is ambiguous in '%s': give "
				  "more digits or --run",
				  prefix, st->path);
	return 0;
}
