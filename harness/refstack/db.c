/* db.c: each service's SQLite database: one connection used by one
 * statement or transaction at a time, every statement traced as a db span
 * with its query text; the list replies built from one query. */
#include "refstack/refstack.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int rs_db_open(struct refstack *rs, char **cause)
{
	int rc;

	pthread_mutex_init(&rs->db_lock, NULL);
	rc = sqlite3_open_v2(rs->db_path, &rs->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		*cause = xasprintf("cannot open '%s': %s", rs->db_path,
				   rs->db ? sqlite3_errmsg(rs->db) :
					    sqlite3_errstr(rc));
		sqlite3_close(rs->db);
		rs->db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(rs->db, 5000);
	return 0;
}

void rs_db_close(struct refstack *rs)
{
	if (!rs->db)
		return;
	sqlite3_close(rs->db);
	rs->db = NULL;
	pthread_mutex_destroy(&rs->db_lock);
}

void rs_db_lock(struct refstack *rs)
{
	pthread_mutex_lock(&rs->db_lock);
}

void rs_db_unlock(struct refstack *rs)
{
	pthread_mutex_unlock(&rs->db_lock);
}

int rs_db_prepare(struct refstack *rs, struct rs_stmt *s, const char *sql,
		  char **cause)
{
	memset(s, 0, sizeof(*s));
	s->span = htrace_db_begin("sqlite", sql);
	if (sqlite3_prepare_v2(rs->db, sql, -1, &s->st, NULL) != SQLITE_OK) {
		*cause = xasprintf("cannot prepare '%s': %s", sql,
				   sqlite3_errmsg(rs->db));
		htrace_set_error(s->span, *cause);
		htrace_db_end(s->span, -1);
		s->span = NULL;
		return -1;
	}
	return 0;
}

int rs_db_bind_text(struct rs_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT) ==
			       SQLITE_OK ? 0 : -1;
}

int rs_db_bind_int(struct rs_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s->st, i, v) == SQLITE_OK ? 0 : -1;
}

int rs_db_bind_double(struct rs_stmt *s, int i, double v)
{
	return sqlite3_bind_double(s->st, i, v) == SQLITE_OK ? 0 : -1;
}

int rs_db_step(struct refstack *rs, struct rs_stmt *s, char **cause)
{
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW) {
		s->rows++;
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	*cause = xasprintf("'%s': %s", sqlite3_sql(s->st),
			   sqlite3_errmsg(rs->db));
	htrace_set_error(s->span, *cause);
	return -1;
}

void rs_db_finish(struct rs_stmt *s)
{
	sqlite3_finalize(s->st);
	htrace_db_end(s->span, s->rows);
	memset(s, 0, sizeof(*s));
}

const char *rs_db_text(struct rs_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s->st, col);

	return t ? (const char *)t : "";
}

int64_t rs_db_int(struct rs_stmt *s, int col)
{
	return sqlite3_column_int64(s->st, col);
}

int rs_db_exec(struct refstack *rs, const char *sql, char **cause)
{
	struct rs_stmt s;
	int rc;

	if (rs_db_prepare(rs, &s, sql, cause) < 0)
		return -1;
	while ((rc = rs_db_step(rs, &s, cause)) > 0)
		;
	rs_db_finish(&s);
	return rc;
}

int rs_db_exec_texts(struct refstack *rs, const char *sql,
		     const char *const *params, size_t n, char **cause)
{
	struct rs_stmt s;
	int rc;

	rs_db_lock(rs);
	rc = rs_db_prepare(rs, &s, sql, cause);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			if (params[i])
				rs_db_bind_text(&s, (int)i + 1, params[i]);
		rc = rs_db_step(rs, &s, cause);
		rs_db_finish(&s);
	}
	if (rc == 0)
		rc = sqlite3_changes(rs->db);
	rs_db_unlock(rs);
	return rc;
}

void rs_reply_rows(struct rs_req *req, struct rs_resp *resp,
		   const char *key, const char *sql, const char *param,
		   json_t *(*row)(struct rs_stmt *s, void *arg), void *arg)
{
	struct rs_stmt s;
	json_t *list = json_array();
	char *cause = NULL;
	int rc = -1;

	rs_db_lock(req->rs);
	if (rs_db_prepare(req->rs, &s, sql, &cause) == 0) {
		if (param)
			rs_db_bind_text(&s, 1, param);
		while ((rc = rs_db_step(req->rs, &s, &cause)) > 0)
			json_array_append_new(list, row(&s, arg));
		rs_db_finish(&s);
	}
	rs_db_unlock(req->rs);
	if (rc < 0) {
		json_decref(list);
		rs_reply_error(resp, 500, "%s", cause);
	} else {
		rs_reply_json(resp, 200, json_pack("{s:o}", key, list));
	}
	free(cause);
}
