/* bench-store.c: store_spans_add against raw prepared inserts of the same
 * rows (ids resolved beforehand) into a store of the same schema. The
 * store interns, deduplicates and manages transactions on top; it should
 * keep at least 0.7 of the raw speed. Exits 1 below that.
 *
 * usage: bench-store [SPANS] [BATCH] */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/timeutil.h"

#define NATTRS 3

static const char *const services[] = { "api", "scheduler", "compute",
					"image", "network", "identity" };
static const char *const names[] = { "POST /servers", "SELECT instances",
				     "select_destinations", "GET /images",
				     "spawn", "UPDATE ports", "port.create",
				     "token.issue" };
static const char *const kinds[] = { "rest.call", "db", "rpc.call", "func" };

static void make_span(struct store_span *sp, struct store_attr *attrs,
		      size_t i)
{
	memset(sp, 0, sizeof(*sp));
	memset(sp->trace_id, (int)(i / 50), 16);
	sp->span_id = i + 1;
	sp->parent_id = i % 50 ? i - i % 50 + 1 : 0;
	sp->kind = kinds[i % 4];
	sp->name = names[i % 8];
	sp->service = services[i % 6];
	sp->host = "node-1";
	sp->pid = 100 + (int64_t)(i % 6);
	sp->tid = 200 + (int64_t)(i % 13);
	sp->start_ns = 1700000000000000000LL + (int64_t)i * 1000;
	sp->dur_ns = 500 + (int64_t)(i % 97);
	attrs[0] = (struct store_attr){ .key = "db.system.name",
					.type = STORE_ATTR_TEXT,
					.v.s = "sqlite" };
	attrs[1] = (struct store_attr){ .key = "rows",
					.type = STORE_ATTR_INT,
					.v.i = (int64_t)(i % 7) };
	attrs[2] = (struct store_attr){ .key = "http.response.status_code",
					.type = STORE_ATTR_INT, .v.i = 200 };
	sp->attrs = attrs;
	sp->nattrs = NATTRS;
}

static int exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-store: %s: %s\n", sql,
			sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* The same rows straight into the spans and span_attrs tables of a fresh
 * store, with every interned id known in advance. */
static int raw_insert(const char *path, size_t n, size_t batch,
		      uint64_t *ns)
{
	sqlite3 *db;
	sqlite3_stmt *span, *attr;
	struct store_span sp;
	struct store_attr attrs[NATTRS];
	uint64_t t0;
	int ret = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 10000);
	if (exec(db, "PRAGMA journal_mode = WAL") < 0 ||
	    exec(db, "PRAGMA synchronous = NORMAL") < 0 ||
	    exec(db, "PRAGMA foreign_keys = ON") < 0 ||
	    exec(db, "INSERT INTO strings(id, s) VALUES (1, 'n'), (2, 's'),"
		     " (3, 'h'), (4, 'k1'), (5, 'k2'), (6, 'k3')") < 0)
		goto out;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO spans(run_id, trace_id, span_id,"
			       " parent_id, kind, name_id, service_id,"
			       " host_id, pid, tid, start_ns, dur_ns, status,"
			       " message, stack_id) VALUES (?1, ?2, ?3, ?4,"
			       " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			       " ?15)",
			       -1, &span, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO span_attrs(span, key_id, type,"
			       " value) VALUES (?1, ?2, ?3, ?4)",
			       -1, &attr, NULL) != SQLITE_OK)
		goto out;
	t0 = time_mono_ns();
	for (size_t i = 0; i < n; i++) {
		int64_t row;

		if (i % batch == 0 && exec(db, "BEGIN IMMEDIATE") < 0)
			goto out;
		make_span(&sp, attrs, i);
		sqlite3_reset(span);
		sqlite3_bind_null(span, 1);
		sqlite3_bind_blob(span, 2, sp.trace_id, 16, SQLITE_STATIC);
		sqlite3_bind_int64(span, 3, (int64_t)sp.span_id);
		sqlite3_bind_int64(span, 4, (int64_t)sp.parent_id);
		sqlite3_bind_int64(span, 5, 1 + (int64_t)(i % 4));
		sqlite3_bind_int64(span, 6, 1);
		sqlite3_bind_int64(span, 7, 2);
		sqlite3_bind_int64(span, 8, 3);
		sqlite3_bind_int64(span, 9, sp.pid);
		sqlite3_bind_int64(span, 10, sp.tid);
		sqlite3_bind_int64(span, 11, sp.start_ns);
		sqlite3_bind_int64(span, 12, sp.dur_ns);
		sqlite3_bind_int(span, 13, 0);
		sqlite3_bind_null(span, 14);
		sqlite3_bind_null(span, 15);
		if (sqlite3_step(span) != SQLITE_DONE)
			goto out;
		row = sqlite3_last_insert_rowid(db);
		for (int a = 0; a < NATTRS; a++) {
			sqlite3_reset(attr);
			sqlite3_bind_int64(attr, 1, row);
			sqlite3_bind_int64(attr, 2, 4 + a);
			sqlite3_bind_int(attr, 3, (int)attrs[a].type);
			if (attrs[a].type == STORE_ATTR_TEXT)
				sqlite3_bind_text(attr, 4, attrs[a].v.s, -1,
						  SQLITE_STATIC);
			else
				sqlite3_bind_int64(attr, 4, attrs[a].v.i);
			if (sqlite3_step(attr) != SQLITE_DONE)
				goto out;
		}
		if ((i % batch == batch - 1 || i == n - 1) &&
		    exec(db, "COMMIT") < 0)
			goto out;
	}
	*ns = time_mono_ns() - t0;
	ret = 0;
out:
	if (ret < 0)
		fprintf(stderr, "bench-store: raw: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(span);
	sqlite3_finalize(attr);
	sqlite3_close(db);
	return ret;
}

static int store_insert(const char *path, size_t n, size_t batch,
			uint64_t *ns)
{
	struct store_span *spans = calloc(batch, sizeof(*spans));
	struct store_attr (*attrs)[NATTRS] = calloc(batch, sizeof(*attrs));
	struct store *st;
	char *cause = NULL;
	uint64_t t0;
	int ret = -1;

	if (store_open(&st, path, &cause) < 0) {
		fprintf(stderr, "bench-store: %s\n", cause);
		free(cause);
		goto out_free;
	}
	t0 = time_mono_ns();
	for (size_t i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? n - i : batch;

		for (size_t j = 0; j < m; j++)
			make_span(&spans[j], attrs[j], i + j);
		if (store_spans_add(st, 0, spans, m, &cause) < 0) {
			fprintf(stderr, "bench-store: %s\n", cause);
			free(cause);
			goto out;
		}
	}
	*ns = time_mono_ns() - t0;
	ret = 0;
out:
	store_free(st);
out_free:
	free(spans);
	free(attrs);
	return ret;
}

static void remove_db(const char *path)
{
	char side[600];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	char dir[256], raw_db[300], store_db[300];
	const char *tmp = getenv("TMPDIR");
	uint64_t raw_ns = 0, store_ns = 0, best_raw = 0, best_store = 0;
	struct store *st;
	double ratio;

	snprintf(dir, sizeof(dir), "%s/bench-store-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!n || !batch || !mkdtemp(dir))
		return 2;
	snprintf(raw_db, sizeof(raw_db), "%s/raw.db", dir);
	snprintf(store_db, sizeof(store_db), "%s/store.db", dir);
	/* Best of three of each, alternating, on fresh files. */
	for (int round = 0; round < 3; round++) {
		remove_db(raw_db);
		remove_db(store_db);
		if (store_open(&st, raw_db, NULL) < 0)
			return 2;
		store_free(st);
		if (raw_insert(raw_db, n, batch, &raw_ns) < 0 ||
		    store_insert(store_db, n, batch, &store_ns) < 0)
			return 2;
		if (!best_raw || raw_ns < best_raw)
			best_raw = raw_ns;
		if (!best_store || store_ns < best_store)
			best_store = store_ns;
	}
	remove_db(raw_db);
	remove_db(store_db);
	rmdir(dir);
	ratio = (double)best_raw / (double)best_store;
	printf("%zu spans (%d attributes each), batches of %zu\n", n, NATTRS,
	       batch);
	printf("raw prepared inserts: %8.0f spans/s\n",
	       (double)n / ((double)best_raw / 1e9));
	printf("store_spans_add:      %8.0f spans/s (%.2f of raw)\n",
	       (double)n / ((double)best_store / 1e9), ratio);
	return ratio >= 0.7 ? 0 : 1;
}
