/* store.c: opening (and refusing) store files, migrations, transactions,
 * interning, and the run, commit, iteration and bookkeeping rows. Spans
 * live in spans.c, ingest in ingest.c. */
#include "store/store-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_INTERN_INSERT] =
		"INSERT INTO strings(s) VALUES (?1) ON CONFLICT(s) DO NOTHING",
	[STMT_INTERN_SELECT] = "SELECT id FROM strings WHERE s = ?1",
	[STMT_KIND_INSERT] =
		"INSERT INTO kinds(name) VALUES (?1) ON CONFLICT(name) "
		"DO NOTHING",
	[STMT_KIND_SELECT] = "SELECT id FROM kinds WHERE name = ?1",
	[STMT_STACK_SELECT] =
		"SELECT id FROM stacks WHERE hash = ?1 AND frames = ?2",
	[STMT_STACK_INSERT] = "INSERT INTO stacks(hash, frames) VALUES (?1, ?2)",
	[STMT_SPAN_INSERT] =
		"INSERT INTO spans(run_id, trace_id, span_id, parent_id, kind,"
		" name_id, service_id, host_id, pid, tid, start_ns, dur_ns,"
		" status, message, stack_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
		" ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[STMT_ATTR_INSERT] =
		"INSERT INTO span_attrs(span, key_id, type, value) "
		"VALUES (?1, ?2, ?3, ?4)",
	[STMT_POSITION_GET] =
		"SELECT device, inode, identity, offset, records, corrupt,"
		" run_id FROM ingest_positions WHERE path = ?1",
	[STMT_POSITION_SET] =
		"INSERT INTO ingest_positions(path, device, inode, identity,"
		" offset, records, corrupt, run_id, updated_ns) VALUES (?1, ?2,"
		" ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(path) DO UPDATE SET"
		" device = excluded.device, inode = excluded.inode,"
		" identity = excluded.identity, offset = excluded.offset,"
		" records = excluded.records, corrupt = excluded.corrupt,"
		" run_id = excluded.run_id, updated_ns = excluded.updated_ns",
};

int store_fail(char **cause, int code, const char *fmt, ...)
{
	va_list ap;

	if (cause) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return code;
}

int store_dbfail(struct store *st, char **cause, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (cause) {
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
		*cause = xasprintf("%s: %s", msg, sqlite3_errmsg(st->db));
		free(msg);
	}
	return -1;
}

sqlite3_stmt *store_prepare(struct store *st, const char *sql, char **cause)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_dbfail(st, cause, "cannot query '%s'", st->path);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id, char **cause)
{
	sqlite3_stmt *s = st->stmts[id];

	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK) {
		store_dbfail(st, cause, "cannot query '%s'", st->path);
		sqlite3_finalize(s);
		return NULL;
	}
	st->stmts[id] = s;
	return s;
}

int store_bind_text(sqlite3_stmt *s, int i, const char *text)
{
	if (!text)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
}

int store_bind_id(sqlite3_stmt *s, int i, int64_t id)
{
	if (!id)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, id);
}

char *store_column_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/* Run a statement that returns no row; frees it. */
static int step_done(struct store *st, sqlite3_stmt *s, char **cause)
{
	int ret = 0;

	if (sqlite3_step(s) != SQLITE_DONE)
		ret = store_dbfail(st, cause, "cannot write '%s'", st->path);
	sqlite3_finalize(s);
	return ret;
}

/* A value for one statement parameter, bound by bind_args. */
enum arg_type {
	ARG_INT,		/* an integer */
	ARG_ID,			/* an id: NULL when 0 */
	ARG_TEXT,		/* a string: NULL when NULL */
	ARG_BLOB,		/* I bytes at P */
};

struct arg {
	enum arg_type type;
	int64_t i;
	const void *p;
};

#define A_INT(v) ((struct arg){ ARG_INT, (int64_t)(v), NULL })
#define A_ID(v) ((struct arg){ ARG_ID, (v), NULL })
#define A_TEXT(v) ((struct arg){ ARG_TEXT, 0, (v) })
#define A_BLOB(v, n) ((struct arg){ ARG_BLOB, (n), (v) })
/* An array of arguments and its length, for the functions below. */
#define ARGS(...) (const struct arg[]){ __VA_ARGS__ }, \
	ARRAY_SIZE(((const struct arg[]){ __VA_ARGS__ }))

/* Bind ARGS[0..N) to parameters ?1..?N of S. */
static void bind_args(sqlite3_stmt *s, const struct arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct arg *a = &args[i];
		int idx = (int)i + 1;

		switch (a->type) {
		case ARG_INT:
			sqlite3_bind_int64(s, idx, a->i);
			break;
		case ARG_ID:
			store_bind_id(s, idx, a->i);
			break;
		case ARG_TEXT:
			store_bind_text(s, idx, a->p);
			break;
		case ARG_BLOB:
			sqlite3_bind_blob(s, idx, a->p, (int)a->i,
					  SQLITE_STATIC);
			break;
		}
	}
}

/* SQL prepared with ARGS bound; NULL (and *cause set) if it cannot be
 * prepared. The caller finalizes it. */
static sqlite3_stmt *query(struct store *st, const char *sql,
			   const struct arg *args, size_t n, char **cause)
{
	sqlite3_stmt *s = store_prepare(st, sql, cause);

	if (s)
		bind_args(s, args, n);
	return s;
}

/* Run SQL, which returns no row, with ARGS. */
static int write_sql(struct store *st, const char *sql,
		     const struct arg *args, size_t n, char **cause)
{
	sqlite3_stmt *s = query(st, sql, args, n, cause);

	if (!s)
		return -1;
	return step_done(st, s, cause);
}

/* Run the cached statement ID, which returns no row, with ARGS. */
static int write_stmt(struct store *st, enum store_stmt id,
		      const struct arg *args, size_t n, char **cause)
{
	sqlite3_stmt *s = store_stmt(st, id, cause);
	int ret = 0;

	if (!s)
		return -1;
	bind_args(s, args, n);
	if (sqlite3_step(s) != SQLITE_DONE)
		ret = store_dbfail(st, cause, "cannot write '%s'", st->path);
	sqlite3_reset(s);
	return ret;
}

/* The integer in the first column of SQL's first row, with ARGS: 1 and
 * *OUT set if there is a row, 0 if there is none, -1 on error. */
static int select_int64(int64_t *out, struct store *st, const char *sql,
			const struct arg *args, size_t n, char **cause)
{
	sqlite3_stmt *s = query(st, sql, args, n, cause);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	return rc == SQLITE_ROW;
}

/* Run UPDATE with ARGS, and INSERT with the same ARGS if UPDATE changed
 * no row. */
static int update_or_insert(struct store *st, const char *update,
			    const char *insert, const struct arg *args,
			    size_t n, char **cause)
{
	if (write_sql(st, update, args, n, cause) < 0)
		return -1;
	if (sqlite3_changes(st->db) > 0)
		return 0;
	return write_sql(st, insert, args, n, cause);
}

static int exec(struct store *st, const char *sql, char **cause)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_dbfail(st, cause, "cannot write '%s'", st->path);
	return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

/* What an existing database file holds, read without writing a byte. */
struct file_kind {
	int app_id;
	int version;
	int ntables;
};

static int read_kind(sqlite3 *db, struct file_kind *k)
{
	int rc;

	rc = pragma_int(db, "PRAGMA application_id", &k->app_id);
	if (rc == SQLITE_OK)
		rc = pragma_int(db, "PRAGMA user_version", &k->version);
	if (rc == SQLITE_OK)
		rc = pragma_int(db, "SELECT count(*) FROM sqlite_master",
				&k->ntables);
	return rc;
}

/* Decide from K whether the file at PATH may be opened for writing. */
static int judge_kind(const char *path, const struct file_kind *k,
		      char **cause)
{
	if (k->app_id == STORE_APPLICATION_ID) {
		if (k->version > STORE_SCHEMA_VERSION)
			return store_fail(cause, STORE_ENEWER,
					  "'%s' was written by a newer harness "
					  "(schema %d, this one knows %d): "
					  "upgrade harness",
					  path, k->version,
					  STORE_SCHEMA_VERSION);
		return 0;
	}
	if (k->app_id == 0 && k->ntables == 0 && k->version == 0)
		return 0; /* an empty SQLite database: ours to initialise */
	return store_fail(cause, STORE_ENOTSTORE,
			  "'%s' is not a harness store: it is an SQLite "
			  "database with other contents",
			  path);
}

/* Look at an existing file through a read-only connection, which reads
 * the WAL too and never writes. */
static int check_existing(const char *path, char **cause)
{
	struct file_kind k = { 0 };
	sqlite3 *db = NULL;
	int rc, ret;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = read_kind(db, &k);
	if (rc == SQLITE_NOTADB)
		ret = store_fail(cause, STORE_ENOTSTORE,
				 "'%s' is not a harness store: it is not an "
				 "SQLite database",
				 path);
	else if (rc != SQLITE_OK)
		ret = store_fail(cause, -1, "cannot open '%s': %s", path,
				 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	else
		ret = judge_kind(path, &k, cause);
	sqlite3_close(db);
	return ret;
}

static int migrate(struct store *st, char **cause)
{
	struct file_kind k = { 0 };
	char sql[64];
	int ret;

	if (pragma_int(st->db, "PRAGMA user_version", &st->version) !=
	    SQLITE_OK)
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	if (st->version == STORE_SCHEMA_VERSION)
		return 0;
	if (exec(st, "BEGIN IMMEDIATE", cause) < 0)
		return -1;
	/* Another process may have got here first: look again, locked. */
	if (read_kind(st->db, &k) != SQLITE_OK) {
		ret = store_dbfail(st, cause, "cannot read '%s'", st->path);
		goto fail;
	}
	ret = judge_kind(st->path, &k, cause);
	if (ret < 0)
		goto fail;
	for (int v = k.version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(st->db, store_migrations[v], NULL, NULL,
				 NULL) != SQLITE_OK) {
			ret = store_dbfail(st, cause,
					   "cannot migrate '%s' to schema %d",
					   st->path, v);
			goto fail;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION);
	if ((ret = exec(st, sql, cause)) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
		 STORE_APPLICATION_ID);
	if ((ret = exec(st, sql, cause)) < 0)
		goto fail;
	if ((ret = exec(st, "COMMIT", cause)) < 0)
		goto fail;
	st->version = STORE_SCHEMA_VERSION;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int store_open(struct store **out, const char *path, char **cause)
{
	struct store *st;
	struct stat sb;
	int ret;

	*out = NULL;
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return store_fail(cause, STORE_ENOTSTORE,
					  "'%s' is not a harness store: it is "
					  "a directory",
					  path);
		ret = check_existing(path, cause);
		if (ret < 0)
			return ret;
	} else if (errno != ENOENT) {
		return store_fail(cause, -1, "cannot open '%s': %s", path,
				  strerror(errno));
	}

	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	idmap_init(&st->strings);
	idmap_init(&st->kinds);
	idmap_init(&st->stacks);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		ret = store_dbfail(st, cause, "cannot open '%s'", path);
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_extended_result_codes(st->db, 0);
	/* WAL lets a report read while a run writes; NORMAL sync is safe
	 * with WAL (a crash loses at most the last transactions, never the
	 * file). */
	if ((ret = exec(st, "PRAGMA journal_mode = WAL", cause)) < 0 ||
	    (ret = exec(st, "PRAGMA synchronous = NORMAL", cause)) < 0 ||
	    (ret = exec(st, "PRAGMA foreign_keys = ON", cause)) < 0)
		goto fail;
	if ((ret = migrate(st, cause)) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	store_free(st);
	return ret;
}

void store_forget_cache(struct store *st)
{
	idmap_release(&st->strings);
	idmap_release(&st->kinds);
	idmap_release(&st->stacks);
}

void store_free(struct store *st)
{
	if (!st)
		return;
	if (st->tx_depth && st->db)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	store_forget_cache(st);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

int store_schema_version(const struct store *st)
{
	return st->version;
}

int store_tx_begin(struct store *st, char **cause)
{
	if (st->tx_depth++ > 0)
		return 0;
	st->tx_failed = false;
	/* IMMEDIATE: take the write lock now rather than fail to upgrade a
	 * read lock halfway through. */
	if (exec(st, "BEGIN IMMEDIATE", cause) < 0) {
		st->tx_depth = 0;
		return -1;
	}
	return 0;
}

int store_tx_commit(struct store *st, char **cause)
{
	if (!st->tx_depth)
		return store_fail(cause, -1, "no transaction to commit");
	if (--st->tx_depth > 0) {
		if (st->tx_failed)
			return store_fail(cause, -1,
					  "transaction was rolled back");
		return 0;
	}
	if (st->tx_failed) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		store_forget_cache(st);
		st->tx_failed = false;
		return store_fail(cause, -1, "transaction was rolled back");
	}
	if (exec(st, "COMMIT", cause) < 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		store_forget_cache(st);
		return -1;
	}
	return 0;
}

void store_tx_rollback(struct store *st)
{
	if (!st->tx_depth)
		return;
	if (--st->tx_depth > 0) {
		st->tx_failed = true;
		return;
	}
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	store_forget_cache(st);
	st->tx_failed = false;
}

/* Find or add KEY through the INSERT and SELECT statements given, with M
 * as the cache in front of them. */
static int intern_in(int64_t *id, struct store *st, struct idmap *m,
		     enum store_stmt ins, enum store_stmt sel, const char *key,
		     char **cause)
{
	size_t len = strlen(key);
	uint64_t hash = idmap_hash(key, len);
	sqlite3_stmt *s;
	int64_t v;

	v = idmap_get(m, key, len, hash);
	if (v) {
		*id = v;
		return 0;
	}
	if (write_stmt(st, ins, ARGS(A_TEXT(key)), cause) < 0)
		return -1;
	if (sqlite3_changes(st->db) > 0) {
		v = sqlite3_last_insert_rowid(st->db);
	} else {
		if (!(s = store_stmt(st, sel, cause)))
			return -1;
		store_bind_text(s, 1, key);
		if (sqlite3_step(s) != SQLITE_ROW) {
			store_dbfail(st, cause, "cannot read '%s'", st->path);
			sqlite3_reset(s);
			return -1;
		}
		v = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	idmap_put(m, key, len, hash, v);
	*id = v;
	return 0;
}

int store_intern(int64_t *id, struct store *st, const char *s, char **cause)
{
	return intern_in(id, st, &st->strings, STMT_INTERN_INSERT,
			 STMT_INTERN_SELECT, s, cause);
}

int store_intern_kind(int64_t *id, struct store *st, const char *name,
		      char **cause)
{
	return intern_in(id, st, &st->kinds, STMT_KIND_INSERT,
			 STMT_KIND_SELECT, name, cause);
}

int store_commit_upsert(int64_t *id, struct store *st,
			const struct store_commit *c, char **cause)
{
	int found;

	if (!c->repo || !c->sha)
		return store_fail(cause, -1, "a commit needs a repo and a sha");
	found = select_int64(id, st,
			     "SELECT id FROM commits WHERE sha = ?1 AND"
			     " repo = ?2 AND path IS ?3 AND branch IS ?4 AND"
			     " dirty = ?5 ORDER BY id LIMIT 1",
			     ARGS(A_TEXT(c->sha), A_TEXT(c->repo),
				  A_TEXT(c->path), A_TEXT(c->branch),
				  A_INT(c->dirty)),
			     cause);
	if (found)
		return found < 0 ? -1 : 0;
	if (write_sql(st,
		      "INSERT INTO commits(repo, path, sha, branch, dirty,"
		      " subject, commit_time) VALUES (?1, ?2, ?3, ?4, ?5,"
		      " ?6, ?7)",
		      ARGS(A_TEXT(c->repo), A_TEXT(c->path), A_TEXT(c->sha),
			   A_TEXT(c->branch), A_INT(c->dirty),
			   A_TEXT(c->subject), A_INT(c->time)),
		      cause) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static const char *const status_names[] = {
	[STORE_RUN_RUNNING] = "running",
	[STORE_RUN_OK] = "ok",
	[STORE_RUN_FAILED] = "failed",
	[STORE_RUN_INTERRUPTED] = "interrupted",
};

const char *store_run_status_name(enum store_run_status s)
{
	if ((size_t)s >= ARRAY_SIZE(status_names))
		return "unknown";
	return status_names[s];
}

static enum store_run_status status_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (name && !strcmp(name, status_names[i]))
			return (enum store_run_status)i;
	return STORE_RUN_FAILED;
}

int store_run_create(int64_t *run_id, struct store *st,
		     const struct store_run_info *info, char **cause)
{
	if (!info->scenario || !info->config_hash)
		return store_fail(cause, -1,
				  "a run needs a scenario and a config hash");
	if (write_sql(st,
		      "INSERT INTO runs(scenario, label, config_hash, config,"
		      " host, start_ns, runner) VALUES (?1, ?2, ?3, ?4, ?5,"
		      " ?6, ?7)",
		      ARGS(A_TEXT(info->scenario), A_TEXT(info->label),
			   A_TEXT(info->config_hash), A_TEXT(info->config),
			   A_TEXT(info->host), A_INT(info->start_ns),
			   A_TEXT(info->runner_json)),
		      cause) < 0)
		return -1;
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_run_add_commit(struct store *st, int64_t run_id,
			 const struct store_commit *c, char **cause)
{
	int64_t commit_id;

	if (store_tx_begin(st, cause) < 0)
		return -1;
	if (store_commit_upsert(&commit_id, st, c, cause) < 0)
		goto fail;
	if (write_sql(st,
		      "INSERT INTO run_commits(run_id, commit_id) VALUES"
		      " (?1, ?2) ON CONFLICT DO NOTHING",
		      ARGS(A_INT(run_id), A_INT(commit_id)), cause) < 0)
		goto fail;
	return store_tx_commit(st, cause);
fail:
	store_tx_rollback(st);
	return -1;
}

int store_run_finish(struct store *st, int64_t run_id,
		     enum store_run_status status, const char *reason,
		     int64_t end_ns, char **cause)
{
	if (write_sql(st,
		      "UPDATE runs SET status = ?1, status_reason = ?2,"
		      " end_ns = ?3 WHERE id = ?4",
		      ARGS(A_TEXT(store_run_status_name(status)),
			   A_TEXT(reason), A_INT(end_ns), A_INT(run_id)),
		      cause) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(cause, STORE_ENOENT, "no run %lld in '%s'",
				  (long long)run_id, st->path);
	return 0;
}

static const char run_columns[] =
	"SELECT id, scenario, label, config_hash, config, host, start_ns,"
	" end_ns, status, status_reason, runner, spans_dropped,"
	" (SELECT count(*) FROM iterations i WHERE i.run_id = runs.id),"
	" (SELECT count(*) FROM spans s WHERE s.run_id = runs.id)"
	" FROM runs";

static void commit_release(struct store_commit *c)
{
	free((char *)c->repo);
	free((char *)c->path);
	free((char *)c->sha);
	free((char *)c->branch);
	free((char *)c->subject);
}

static void run_release(struct store_run *run)
{
	free(run->scenario);
	free(run->label);
	free(run->config_hash);
	free(run->config);
	free(run->host);
	free(run->status_reason);
	free(run->runner_json);
	for (size_t i = 0; i < run->ncommits; i++)
		commit_release(&run->commits[i]);
	free(run->commits);
}

static void run_from_row(struct store_run *run, sqlite3_stmt *s)
{
	char *status;

	memset(run, 0, sizeof(*run));
	run->id = sqlite3_column_int64(s, 0);
	run->scenario = store_column_strdup(s, 1);
	run->label = store_column_strdup(s, 2);
	run->config_hash = store_column_strdup(s, 3);
	run->config = store_column_strdup(s, 4);
	run->host = store_column_strdup(s, 5);
	run->start_ns = sqlite3_column_int64(s, 6);
	run->end_ns = sqlite3_column_int64(s, 7);
	status = store_column_strdup(s, 8);
	run->status = status_from_name(status);
	free(status);
	run->status_reason = store_column_strdup(s, 9);
	run->runner_json = store_column_strdup(s, 10);
	run->spans_dropped = sqlite3_column_int64(s, 11);
	run->niterations = sqlite3_column_int64(s, 12);
	run->nspans = sqlite3_column_int64(s, 13);
}

static int read_commits(struct store_run *run, struct store *st,
			char **cause)
{
	sqlite3_stmt *s;
	size_t alloc = 0;
	int rc;

	s = query(st,
		  "SELECT c.repo, c.path, c.sha, c.branch, c.dirty,"
		  " c.subject, c.commit_time FROM run_commits rc JOIN"
		  " commits c ON c.id = rc.commit_id WHERE"
		  " rc.run_id = ?1 ORDER BY c.repo, c.id",
		  ARGS(A_INT(run->id)), cause);
	if (!s)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_commit *c;

		ALLOC_GROW(run->commits, run->ncommits + 1, alloc);
		c = &run->commits[run->ncommits++];
		c->repo = store_column_strdup(s, 0);
		c->path = store_column_strdup(s, 1);
		c->sha = store_column_strdup(s, 2);
		c->branch = store_column_strdup(s, 3);
		c->dirty = sqlite3_column_int(s, 4) != 0;
		c->subject = store_column_strdup(s, 5);
		c->time = sqlite3_column_int64(s, 6);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	return 0;
}

int store_run_get(struct store_run **out, struct store *st, int64_t id,
		  char **cause)
{
	struct store_run *run;
	sqlite3_stmt *s;
	char *sql;
	int rc;

	*out = NULL;
	sql = xasprintf("%s WHERE id = ?1", run_columns);
	s = query(st, sql, ARGS(A_INT(id)), cause);
	free(sql);
	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		if (rc == SQLITE_DONE)
			return store_fail(cause, STORE_ENOENT,
					  "no run %lld in '%s'", (long long)id,
					  st->path);
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	}
	run = xmalloc(sizeof(*run));
	run_from_row(run, s);
	sqlite3_finalize(s);
	if (read_commits(run, st, cause) < 0) {
		store_run_free(run);
		return -1;
	}
	*out = run;
	return 0;
}

void store_run_free(struct store_run *run)
{
	if (!run)
		return;
	run_release(run);
	free(run);
}

int store_runs_list(struct store_run **out, size_t *n, struct store *st,
		    const char *scenario, size_t limit, char **cause)
{
	struct store_run *runs = NULL;
	size_t nruns = 0, alloc = 0;
	sqlite3_stmt *s;
	char *sql;
	int rc;

	*out = NULL;
	*n = 0;
	sql = xasprintf("%s WHERE ?1 IS NULL OR scenario = ?1 ORDER BY"
			" start_ns DESC, id DESC LIMIT ?2",
			run_columns);
	s = query(st, sql,
		  ARGS(A_TEXT(scenario), A_INT(limit ? (int64_t)limit : -1)),
		  cause);
	free(sql);
	if (!s)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ALLOC_GROW(runs, nruns + 1, alloc);
		run_from_row(&runs[nruns++], s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_runs_free(runs, nruns);
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	}
	for (size_t i = 0; i < nruns; i++) {
		if (read_commits(&runs[i], st, cause) < 0) {
			store_runs_free(runs, nruns);
			return -1;
		}
	}
	*out = runs;
	*n = nruns;
	return 0;
}

void store_runs_free(struct store_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_release(&runs[i]);
	free(runs);
}

int store_run_find(int64_t *run_id, struct store *st, const char *scenario,
		   const char *config_hash, const char *repo, const char *sha,
		   bool ok_only, char **cause)
{
	*run_id = 0;
	/* A clean checkout of the commit is the better baseline: prefer
	 * it, and take a dirty one only when there is nothing else. */
	if (select_int64(run_id, st,
			 "SELECT r.id, min(c.dirty) AS d FROM runs r"
			 " JOIN run_commits rc ON rc.run_id = r.id"
			 " JOIN commits c ON c.id = rc.commit_id"
			 " WHERE r.scenario = ?1 AND r.config_hash = ?2"
			 " AND c.sha = ?3 AND (?4 IS NULL OR c.repo = ?4)"
			 " AND (?5 = 0 OR r.status = 'ok')"
			 " GROUP BY r.id"
			 " ORDER BY d, r.start_ns DESC, r.id DESC LIMIT 1",
			 ARGS(A_TEXT(scenario), A_TEXT(config_hash),
			      A_TEXT(sha), A_TEXT(repo), A_INT(ok_only)),
			 cause) < 0)
		return -1;
	return 0;
}

int store_iteration_add(struct store *st, int64_t run_id,
			const struct store_iteration *it, char **cause)
{
	sqlite3_stmt *s = NULL;
	int64_t iter_id;

	if (store_tx_begin(st, cause) < 0)
		return -1;
	if (write_sql(st,
		      "INSERT INTO iterations(run_id, seq, trace_id, warmup,"
		      " ok, error, intended_start_ns, start_ns, dur_ns)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		      ARGS(A_INT(run_id), A_INT(it->seq),
			   A_BLOB(it->trace_id, 16), A_INT(it->warmup),
			   A_INT(it->ok), A_TEXT(it->error),
			   A_INT(it->intended_start_ns), A_INT(it->start_ns),
			   A_INT(it->dur_ns)),
		      cause) < 0)
		goto fail;
	iter_id = sqlite3_last_insert_rowid(st->db);
	if (!it->nsteps)
		return store_tx_commit(st, cause);
	s = store_prepare(st,
			  "INSERT INTO iteration_steps(iteration, idx, name,"
			  " start_ns, dur_ns, ok, error) VALUES (?1, ?2, ?3,"
			  " ?4, ?5, ?6, ?7)",
			  cause);
	if (!s)
		goto fail;
	for (size_t i = 0; i < it->nsteps; i++) {
		const struct store_step *step = &it->steps[i];

		sqlite3_reset(s);
		bind_args(s, ARGS(A_INT(iter_id), A_INT(i),
				  A_TEXT(step->name ? step->name : ""),
				  A_INT(step->start_ns), A_INT(step->dur_ns),
				  A_INT(step->ok), A_TEXT(step->error)));
		if (sqlite3_step(s) != SQLITE_DONE) {
			store_dbfail(st, cause, "cannot write '%s'", st->path);
			sqlite3_finalize(s);
			goto fail;
		}
	}
	sqlite3_finalize(s);
	return store_tx_commit(st, cause);
fail:
	store_tx_rollback(st);
	return -1;
}

static int read_steps(struct store_iteration *it, sqlite3_stmt *s,
		      int64_t iter_id)
{
	size_t alloc = 0;
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, iter_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_step *step;

		ALLOC_GROW(it->steps, it->nsteps + 1, alloc);
		step = &it->steps[it->nsteps++];
		step->name = store_column_strdup(s, 0);
		step->start_ns = sqlite3_column_int64(s, 1);
		step->dur_ns = sqlite3_column_int64(s, 2);
		step->ok = sqlite3_column_int(s, 3) != 0;
		step->error = store_column_strdup(s, 4);
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_iterations_get(struct store_iteration **out, size_t *n,
			 struct store *st, int64_t run_id, char **cause)
{
	struct store_iteration *its = NULL;
	size_t nits = 0, alloc = 0;
	sqlite3_stmt *s, *steps = NULL;
	int64_t *ids = NULL;
	int rc, ret = -1;

	*out = NULL;
	*n = 0;
	s = query(st,
		  "SELECT id, seq, trace_id, warmup, ok, error,"
		  " intended_start_ns, start_ns, dur_ns FROM iterations"
		  " WHERE run_id = ?1 ORDER BY seq",
		  ARGS(A_INT(run_id)), cause);
	if (!s)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_iteration *it;
		const void *blob;

		ALLOC_GROW(its, nits + 1, alloc);
		ids = xrealloc(ids, alloc * sizeof(*ids));
		ids[nits] = sqlite3_column_int64(s, 0);
		it = &its[nits++];
		memset(it, 0, sizeof(*it));
		it->seq = sqlite3_column_int64(s, 1);
		blob = sqlite3_column_blob(s, 2);
		if (blob && sqlite3_column_bytes(s, 2) == 16)
			memcpy(it->trace_id, blob, 16);
		it->warmup = sqlite3_column_int(s, 3) != 0;
		it->ok = sqlite3_column_int(s, 4) != 0;
		it->error = store_column_strdup(s, 5);
		it->intended_start_ns = sqlite3_column_int64(s, 6);
		it->start_ns = sqlite3_column_int64(s, 7);
		it->dur_ns = sqlite3_column_int64(s, 8);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_dbfail(st, cause, "cannot read '%s'", st->path);
		goto out;
	}
	if (nits) {
		steps = store_prepare(st,
				      "SELECT name, start_ns, dur_ns, ok, error"
				      " FROM iteration_steps WHERE"
				      " iteration = ?1 ORDER BY idx",
				      cause);
		if (!steps)
			goto out;
	}
	for (size_t i = 0; i < nits; i++) {
		if (read_steps(&its[i], steps, ids[i]) < 0) {
			store_dbfail(st, cause, "cannot read '%s'", st->path);
			goto out;
		}
	}
	*out = its;
	*n = nits;
	its = NULL;
	nits = 0;
	ret = 0;
out:
	sqlite3_finalize(steps);
	store_iterations_free(its, nits);
	free(ids);
	return ret;
}

void store_iterations_free(struct store_iteration *its, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < its[i].nsteps; j++) {
			free((char *)its[i].steps[j].name);
			free((char *)its[i].steps[j].error);
		}
		free(its[i].steps);
		free((char *)its[i].error);
	}
	free(its);
}

int store_position_get(struct store_position *pos, bool *found,
		       struct store *st, const char *path, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	memset(pos, 0, sizeof(*pos));
	*found = false;
	if (!(s = store_stmt(st, STMT_POSITION_GET, cause)))
		return -1;
	store_bind_text(s, 1, path);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = true;
		pos->device = sqlite3_column_int64(s, 0);
		pos->inode = sqlite3_column_int64(s, 1);
		pos->identity = store_column_strdup(s, 2);
		pos->offset = sqlite3_column_int64(s, 3);
		pos->records = sqlite3_column_int64(s, 4);
		pos->corrupt = sqlite3_column_int64(s, 5);
		pos->run_id = sqlite3_column_int64(s, 6);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	return 0;
}

int store_position_set(struct store *st, const char *path,
		       const struct store_position *pos, char **cause)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return write_stmt(st, STMT_POSITION_SET,
			  ARGS(A_TEXT(path), A_INT(pos->device),
			       A_INT(pos->inode), A_TEXT(pos->identity),
			       A_INT(pos->offset), A_INT(pos->records),
			       A_INT(pos->corrupt), A_ID(pos->run_id),
			       A_INT((int64_t)ts.tv_sec * 1000000000 +
				     ts.tv_nsec)),
			  cause);
}

int store_positions_forget(struct store *st, const char *dir, char **cause)
{
	char *prefix = xasprintf("%s/", dir);
	int ret;

	/* A prefix match without LIKE, whose % and _ a path may hold. */
	ret = write_sql(st,
			"DELETE FROM ingest_positions WHERE"
			" substr(path, 1, length(?1)) = ?1",
			ARGS(A_TEXT(prefix)), cause);
	free(prefix);
	return ret;
}

void store_position_release(struct store_position *pos)
{
	free(pos->identity);
	pos->identity = NULL;
}

int store_drops_add(struct store *st, int64_t run_id, const char *service,
		    int64_t pid, int64_t spans_dropped, int64_t corrupt,
		    char **cause)
{
	int64_t service_id = 0;

	if (store_tx_begin(st, cause) < 0)
		return -1;
	if (service && store_intern(&service_id, st, service, cause) < 0)
		goto fail;
	if (update_or_insert(st,
			     "UPDATE drops SET spans_dropped = spans_dropped"
			     " + ?4, corrupt_records = corrupt_records + ?5"
			     " WHERE run_id IS ?1 AND service_id IS ?2 AND"
			     " pid = ?3",
			     "INSERT INTO drops(run_id, service_id, pid,"
			     " spans_dropped, corrupt_records) VALUES"
			     " (?1, ?2, ?3, ?4, ?5)",
			     ARGS(A_ID(run_id), A_ID(service_id), A_INT(pid),
				  A_INT(spans_dropped), A_INT(corrupt)),
			     cause) < 0)
		goto fail;
	if (run_id && spans_dropped &&
	    write_sql(st,
		      "UPDATE runs SET spans_dropped = spans_dropped + ?2"
		      " WHERE id = ?1",
		      ARGS(A_INT(run_id), A_INT(spans_dropped)), cause) < 0)
		goto fail;
	return store_tx_commit(st, cause);
fail:
	store_tx_rollback(st);
	return -1;
}

int store_unmapped_add(struct store *st, int64_t run_id, const char *service,
		       int64_t pid, int64_t n, char **cause)
{
	int64_t service_id = 0;

	if (store_tx_begin(st, cause) < 0)
		return -1;
	if (service && store_intern(&service_id, st, service, cause) < 0)
		goto fail;
	if (update_or_insert(st,
			     "UPDATE drops SET spans_unmapped = spans_unmapped"
			     " + ?4 WHERE run_id IS ?1 AND service_id IS ?2"
			     " AND pid = ?3",
			     "INSERT INTO drops(run_id, service_id, pid,"
			     " spans_unmapped) VALUES (?1, ?2, ?3, ?4)",
			     ARGS(A_ID(run_id), A_ID(service_id), A_INT(pid),
				  A_INT(n)),
			     cause) < 0)
		goto fail;
	return store_tx_commit(st, cause);
fail:
	store_tx_rollback(st);
	return -1;
}

int store_unmapped_total(int64_t *n, struct store *st, int64_t run_id,
			 char **cause)
{
	*n = 0;
	return select_int64(n, st,
			    "SELECT total(spans_unmapped) FROM drops"
			    " WHERE run_id IS ?1",
			    ARGS(A_ID(run_id)), cause) < 0 ? -1 : 0;
}

int store_drops_total(int64_t *spans_dropped, int64_t *corrupt,
		      struct store *st, int64_t run_id, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	*spans_dropped = 0;
	*corrupt = 0;
	s = query(st,
		  "SELECT total(spans_dropped), total(corrupt_records)"
		  " FROM drops WHERE run_id IS ?1",
		  ARGS(A_ID(run_id)), cause);
	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*spans_dropped = sqlite3_column_int64(s, 0);
		*corrupt = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	return 0;
}

int store_thread_name_set(struct store *st, int64_t run_id,
			  const char *service, int64_t pid, int64_t tid,
			  const char *name, char **cause)
{
	int64_t service_id = 0;

	if (store_tx_begin(st, cause) < 0)
		return -1;
	if (service && store_intern(&service_id, st, service, cause) < 0)
		goto fail;
	if (update_or_insert(st,
			     "UPDATE threads SET name = ?5 WHERE run_id IS ?1"
			     " AND service_id IS ?2 AND pid = ?3 AND"
			     " tid = ?4",
			     "INSERT INTO threads(run_id, service_id, pid, tid,"
			     " name) VALUES (?1, ?2, ?3, ?4, ?5)",
			     ARGS(A_ID(run_id), A_ID(service_id), A_INT(pid),
				  A_INT(tid), A_TEXT(name ? name : "")),
			     cause) < 0)
		goto fail;
	return store_tx_commit(st, cause);
fail:
	store_tx_rollback(st);
	return -1;
}

int store_thread_name_get(char **name, struct store *st, int64_t run_id,
			  const char *service, int64_t pid, int64_t tid,
			  char **cause)
{
	sqlite3_stmt *s;
	int rc;

	*name = NULL;
	s = query(st,
		  "SELECT t.name FROM threads t"
		  " LEFT JOIN strings sv ON sv.id = t.service_id"
		  " WHERE t.run_id IS ?1 AND sv.s IS ?2 AND"
		  " t.pid = ?3 AND t.tid = ?4",
		  ARGS(A_ID(run_id), A_TEXT(service), A_INT(pid), A_INT(tid)),
		  cause);
	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*name = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dbfail(st, cause, "cannot read '%s'", st->path);
	return 0;
}
