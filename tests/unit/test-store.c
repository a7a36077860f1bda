/* test-store.c: the store on real SQLite files in a temp directory:
 * creation, migration, refusals that leave files untouched, and round
 * trips of runs, iterations, spans, positions and drops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/strbuf.h"

struct fixture {
	char dir[256];
	char db[300];
};

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/test-store-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/h.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct store *open_ok(const char *path)
{
	struct store *st = NULL;
	char *cause = NULL;
	int rc = store_open(&st, path, &cause);

	if (rc < 0)
		fail_msg("store_open: %s", cause);
	return st;
}

static void sql(const char *path, const char *text)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t sql_int(const char *path, const char *text)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &s, NULL),
			 SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Whether the first column of the first row of TEXT is WANT. */
static bool sql_is(const char *path, const char *text, const char *want)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	bool same = false;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &s, NULL),
			 SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		same = !strcmp((const char *)sqlite3_column_text(s, 0), want);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return same;
}

static void test_store__create_and_reopen(void **state)
{
	struct fixture *f = *state;
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "abc", .start_ns = 1,
	};
	struct store *st = open_ok(f->db);
	struct store_run *run;
	int64_t id, a, b;

	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	assert_string_equal(store_path(st), f->db);
	assert_int_equal(store_run_create(&id, st, &info, NULL), 0);
	assert_true(id > 0);
	assert_int_equal(store_intern(&a, st, "nova-api", NULL), 0);
	store_free(st);

	assert_int_equal(sql_int(f->db, "PRAGMA application_id"),
			 STORE_APPLICATION_ID);
	assert_int_equal(sql_int(f->db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_true(sql_is(f->db, "PRAGMA journal_mode", "wal"));

	st = open_ok(f->db);
	assert_int_equal(store_run_get(&run, st, id, NULL), 0);
	assert_string_equal(run->scenario, "boot-vm");
	assert_int_equal(run->status, STORE_RUN_RUNNING);
	store_run_free(run);
	/* Interned ids survive a reopen (the cache starts empty). */
	assert_int_equal(store_intern(&b, st, "nova-api", NULL), 0);
	assert_int_equal(a, b);
	assert_int_equal(store_intern(&b, st, "glance", NULL), 0);
	assert_true(a != b);
	store_free(st);
}

static void test_store__migrate_from_version_0(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;
	FILE *fp;

	/* An SQLite file with a header but no tables and user_version 0. */
	sql(f->db, "CREATE TABLE t(x); DROP TABLE t;");
	assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 0);
	st = open_ok(f->db);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	store_free(st);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM kinds"), 13);
	assert_true(sql_is(f->db, "PRAGMA journal_mode", "wal"));

	/* An empty file is initialised too. */
	snprintf(f->db + strlen(f->db), 8, ".empty");
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(store_open(&st, f->db, &cause), 0);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	store_free(st);
}

static void test_store__refuse_newer(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	char *cause = NULL;
	char want[512];

	store_free(st);
	sql(f->db, "PRAGMA user_version = 7");
	assert_int_equal(store_open(&st, f->db, &cause), STORE_ENEWER);
	assert_null(st);
	snprintf(want, sizeof(want),
		 "'%s' was written by a newer harness (schema 7, this one "
		 "knows %d): upgrade harness",
		 f->db, STORE_SCHEMA_VERSION);
	assert_string_equal(cause, want);
	free(cause);
	assert_int_equal(sql_int(f->db, "PRAGMA user_version"), 7);
}

/* Read a file's bytes and mtime. */
static void snapshot(const char *path, struct strbuf *bytes, struct stat *sb)
{
	strbuf_reset(bytes);
	assert_int_equal(strbuf_read_file(bytes, path), 0);
	assert_int_equal(stat(path, sb), 0);
}

static void assert_untouched(const char *path, const struct strbuf *before,
			     const struct stat *sb_before)
{
	struct strbuf after = STRBUF_INIT;
	struct stat sb;
	char side[400];

	snapshot(path, &after, &sb);
	assert_int_equal(after.len, before->len);
	assert_memory_equal(after.buf, before->buf, before->len);
	assert_int_equal(sb.st_mtim.tv_sec, sb_before->st_mtim.tv_sec);
	assert_int_equal(sb.st_mtim.tv_nsec, sb_before->st_mtim.tv_nsec);
	strbuf_release(&after);
	/* No WAL or journal left beside it either. */
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_not_equal(access(side, F_OK), 0);
	snprintf(side, sizeof(side), "%s-journal", path);
	assert_int_not_equal(access(side, F_OK), 0);
}

static void test_store__refuse_text_file(void **state)
{
	struct fixture *f = *state;
	struct strbuf before = STRBUF_INIT;
	struct store *st = NULL;
	char *cause = NULL;
	struct stat sb;
	FILE *fp;

	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fputs("scenario: boot-vm\nthis is not a database\n", fp);
	fclose(fp);
	snapshot(f->db, &before, &sb);
	assert_int_equal(store_open(&st, f->db, &cause), STORE_ENOTSTORE);
	assert_null(st);
	assert_non_null(strstr(cause, "is not a harness store"));
	free(cause);
	assert_untouched(f->db, &before, &sb);
	strbuf_release(&before);
}

static void test_store__refuse_foreign_sqlite(void **state)
{
	struct fixture *f = *state;
	struct strbuf before = STRBUF_INIT;
	struct store *st = NULL;
	char *cause = NULL;
	struct stat sb;

	sql(f->db, "CREATE TABLE inventory(item TEXT, qty INTEGER);"
		   "INSERT INTO inventory VALUES ('bolts', 12);");
	snapshot(f->db, &before, &sb);
	assert_int_equal(store_open(&st, f->db, &cause), STORE_ENOTSTORE);
	assert_null(st);
	assert_non_null(strstr(cause, "is not a harness store"));
	free(cause);
	assert_untouched(f->db, &before, &sb);
	strbuf_release(&before);

	/* A directory is refused too. */
	assert_int_equal(store_open(&st, f->dir, &cause), STORE_ENOTSTORE);
	free(cause);
}

static void test_store__runs_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_run_info info = {
		.scenario = "boot-vm",
		.label = "base",
		.config_hash = "h1",
		.config = "version: 1\n",
		.host = "ci-7",
		.start_ns = 1000,
		.runner_json = "{\"type\":\"constant\",\"iterations\":10}",
	};
	struct store_commit nova = {
		.repo = "nova", .path = "../nova",
		.sha = "1111111111111111111111111111111111111111",
		.branch = "main", .dirty = false, .subject = "Fix boot",
		.time = 1700000000,
	};
	struct store_commit glance = {
		.repo = "glance", .path = "../glance",
		.sha = "2222222222222222222222222222222222222222",
		.branch = NULL, .dirty = true, .subject = "WIP",
		.time = 1700000100,
	};
	struct store_run *runs, *run;
	int64_t r1, r2, r3, found, c1, c2;
	size_t n;
	char *cause = NULL;

	assert_int_equal(store_run_create(&r1, st, &info, NULL), 0);
	assert_int_equal(store_run_add_commit(st, r1, &nova, NULL), 0);
	assert_int_equal(store_run_add_commit(st, r1, &glance, NULL), 0);
	/* Adding the same commit again changes nothing. */
	assert_int_equal(store_run_add_commit(st, r1, &nova, NULL), 0);
	assert_int_equal(store_run_finish(st, r1, STORE_RUN_OK, NULL, 5000,
					  NULL),
			 0);
	info.start_ns = 6000;
	info.label = "head";
	assert_int_equal(store_run_create(&r2, st, &info, NULL), 0);
	assert_int_equal(store_run_add_commit(st, r2, &nova, NULL), 0);
	assert_int_equal(store_run_finish(st, r2, STORE_RUN_FAILED,
					  "3 of 10 iterations failed", 9000,
					  NULL),
			 0);
	info.scenario = "list-servers";
	info.start_ns = 7000;
	assert_int_equal(store_run_create(&r3, st, &info, NULL), 0);

	/* Commits are shared between runs, not copied. */
	assert_int_equal(store_commit_upsert(&c1, st, &nova, NULL), 0);
	assert_int_equal(store_commit_upsert(&c2, st, &nova, NULL), 0);
	assert_int_equal(c1, c2);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM commits"), 2);

	assert_int_equal(store_runs_list(&runs, &n, st, NULL, 0, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(runs[0].id, r3);
	assert_int_equal(runs[1].id, r2);
	assert_int_equal(runs[2].id, r1);
	assert_int_equal(runs[2].ncommits, 2);
	assert_string_equal(runs[2].commits[0].repo, "glance");
	assert_true(runs[2].commits[0].dirty);
	assert_null(runs[2].commits[0].branch);
	assert_string_equal(runs[2].commits[1].repo, "nova");
	assert_string_equal(runs[2].commits[1].branch, "main");
	assert_string_equal(runs[2].commits[1].subject, "Fix boot");
	assert_int_equal(runs[2].commits[1].time, 1700000000);
	assert_int_equal(runs[2].status, STORE_RUN_OK);
	assert_int_equal(runs[2].end_ns, 5000);
	assert_string_equal(runs[2].label, "base");
	assert_string_equal(runs[2].host, "ci-7");
	assert_string_equal(runs[2].config, "version: 1\n");
	assert_string_equal(runs[2].runner_json,
			    "{\"type\":\"constant\",\"iterations\":10}");
	assert_int_equal(runs[0].status, STORE_RUN_RUNNING);
	assert_int_equal(runs[0].ncommits, 0);
	store_runs_free(runs, n);

	assert_int_equal(store_runs_list(&runs, &n, st, "boot-vm", 1, NULL),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(runs[0].id, r2);
	store_runs_free(runs, n);

	assert_int_equal(store_run_get(&run, st, r2, NULL), 0);
	assert_int_equal(run->status, STORE_RUN_FAILED);
	assert_string_equal(run->status_reason, "3 of 10 iterations failed");
	assert_string_equal(store_run_status_name(run->status), "failed");
	store_run_free(run);
	assert_int_equal(store_run_get(&run, st, 999, &cause), STORE_ENOENT);
	assert_non_null(strstr(cause, "no run 999"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_run_finish(st, 999, STORE_RUN_OK, NULL, 1,
					  &cause),
			 STORE_ENOENT);
	free(cause);

	/* The newest run at nova's sha is r2, the newest ok one r1. */
	assert_int_equal(store_run_find(&found, st, "boot-vm", "h1", "nova",
					nova.sha, false, NULL),
			 0);
	assert_int_equal(found, r2);
	assert_int_equal(store_run_find(&found, st, "boot-vm", "h1", "nova",
					nova.sha, true, NULL),
			 0);
	assert_int_equal(found, r1);
	assert_int_equal(store_run_find(&found, st, "boot-vm", "h1", NULL,
					glance.sha, false, NULL),
			 0);
	assert_int_equal(found, r1);
	assert_int_equal(store_run_find(&found, st, "boot-vm", "other-hash",
					"nova", nova.sha, false, NULL),
			 0);
	assert_int_equal(found, 0);
	assert_int_equal(store_run_find(&found, st, "boot-vm", "h1", "glance",
					nova.sha, false, NULL),
			 0);
	assert_int_equal(found, 0);
	store_free(st);
}

static void test_store__iterations_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "h", .start_ns = 1,
	};
	struct store_step steps[] = {
		{ .name = "create", .start_ns = 10, .dur_ns = 5, .ok = true },
		{ .name = "wait-active", .start_ns = 15, .dur_ns = 50,
		  .ok = false, .error = "timed out after 60s" },
	};
	struct store_iteration it = {
		.seq = 0, .warmup = true, .ok = true, .intended_start_ns = 9,
		.start_ns = 10, .dur_ns = 100,
	};
	struct store_iteration *its;
	int64_t run;
	size_t n;

	assert_int_equal(store_run_create(&run, st, &info, NULL), 0);
	memset(it.trace_id, 0xab, 16);
	assert_int_equal(store_iteration_add(st, run, &it, NULL), 0);
	it.seq = 1;
	it.warmup = false;
	it.ok = false;
	it.error = "step 'wait-active' failed";
	it.trace_id[0] = 1;
	it.steps = steps;
	it.nsteps = 2;
	assert_int_equal(store_iteration_add(st, run, &it, NULL), 0);
	/* The same seq twice is refused (and nothing half-written stays). */
	assert_int_not_equal(store_iteration_add(st, run, &it, NULL), 0);

	assert_int_equal(store_iterations_get(&its, &n, st, run, NULL), 0);
	assert_int_equal(n, 2);
	assert_true(its[0].warmup);
	assert_true(its[0].ok);
	assert_null(its[0].error);
	assert_int_equal(its[0].nsteps, 0);
	assert_int_equal(its[0].trace_id[5], 0xab);
	assert_int_equal(its[1].seq, 1);
	assert_false(its[1].ok);
	assert_string_equal(its[1].error, "step 'wait-active' failed");
	assert_int_equal(its[1].trace_id[0], 1);
	assert_int_equal(its[1].intended_start_ns, 9);
	assert_int_equal(its[1].dur_ns, 100);
	assert_int_equal(its[1].nsteps, 2);
	assert_string_equal(its[1].steps[0].name, "create");
	assert_true(its[1].steps[0].ok);
	assert_string_equal(its[1].steps[1].name, "wait-active");
	assert_false(its[1].steps[1].ok);
	assert_string_equal(its[1].steps[1].error, "timed out after 60s");
	assert_int_equal(its[1].steps[1].dur_ns, 50);
	store_iterations_free(its, n);

	assert_int_equal(
		sql_int(f->db, "SELECT count(*) FROM iteration_steps"), 2);
	store_free(st);
}

/* Spans as read back, flattened into text for comparison. */
static int collect(const struct store_span *sp, void *payload)
{
	struct strbuf *out = payload;

	strbuf_addf(out, "%02x%02x %llx<%llx %s %s %s@%s %lld/%lld %lld+%lld %d",
		    sp->trace_id[0], sp->trace_id[15],
		    (unsigned long long)sp->span_id,
		    (unsigned long long)sp->parent_id, sp->kind, sp->name,
		    sp->service ? sp->service : "-",
		    sp->host ? sp->host : "-", (long long)sp->pid,
		    (long long)sp->tid, (long long)sp->start_ns,
		    (long long)sp->dur_ns, (int)sp->status);
	if (sp->message)
		strbuf_addf(out, " msg=%s", sp->message);
	for (size_t i = 0; i < sp->nframes; i++)
		strbuf_addf(out, " f=%s", sp->frames[i]);
	for (size_t i = 0; i < sp->nattrs; i++) {
		const struct store_attr *a = &sp->attrs[i];

		switch (a->type) {
		case STORE_ATTR_INT:
			strbuf_addf(out, " %s=%lld", a->key,
				    (long long)a->v.i);
			break;
		case STORE_ATTR_DOUBLE:
			strbuf_addf(out, " %s=%g", a->key, a->v.d);
			break;
		case STORE_ATTR_TEXT:
			strbuf_addf(out, " %s='%s'", a->key, a->v.s);
			break;
		case STORE_ATTR_BOOL:
			strbuf_addf(out, " %s=%s", a->key,
				    a->v.b ? "true" : "false");
			break;
		}
	}
	strbuf_addch(out, '\n');
	return 0;
}

static int stop_at_second(const struct store_span *sp, void *payload)
{
	int *n = payload;

	return ++*n == 2 ? 42 : 0;
}

static void test_store__spans_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "h", .start_ns = 1,
	};
	const char *frames[] = { "nova_api.so+0x10 boot", "main+0x4" };
	struct store_attr db_attrs[] = {
		{ .key = "db.system.name", .type = STORE_ATTR_TEXT,
		  .v.s = "sqlite" },
		{ .key = "db.response.returned_rows", .type = STORE_ATTR_INT,
		  .v.i = -3 },
		{ .key = "cache.hit", .type = STORE_ATTR_BOOL, .v.b = true },
		{ .key = "load", .type = STORE_ATTR_DOUBLE, .v.d = 0.25 },
	};
	struct store_span spans[4] = {
		{ .span_id = 1, .kind = "rest.dispatch", .name = "POST /servers",
		  .service = "api", .host = "h1", .pid = 10, .tid = 11,
		  .start_ns = 100, .dur_ns = 50 },
		{ .span_id = 0xfedcba9876543210ULL, .parent_id = 1,
		  .kind = "db", .name = "SELECT hosts", .service = "api",
		  .host = "h1", .pid = 10, .tid = 12, .start_ns = 110,
		  .dur_ns = 5, .status = STORE_SPAN_ERROR,
		  .message = "database is locked", .frames = frames,
		  .nframes = 2, .attrs = db_attrs, .nattrs = 4 },
		{ .span_id = 3, .parent_id = 1, .kind = "rpc.call",
		  .name = "select_destinations", .service = "scheduler",
		  .pid = 20, .start_ns = 120, .dur_ns = 20, .frames = frames,
		  .nframes = 2, .attrs = db_attrs, .nattrs = 1 },
		{ .span_id = 9, .kind = "brand.new.kind", .name = "other",
		  .start_ns = 5, .dur_ns = 1 },
	};
	struct strbuf out = STRBUF_INIT, one = STRBUF_INIT;
	uint8_t other[16];
	char *cause = NULL;
	int64_t run;
	int n = 0;

	assert_int_equal(store_run_create(&run, st, &info, NULL), 0);
	for (int i = 0; i < 3; i++)
		memset(spans[i].trace_id, 0x11, 16);
	memset(spans[3].trace_id, 0x22, 16);
	memcpy(other, spans[3].trace_id, 16);
	assert_int_equal(store_spans_add(st, run, spans, 2, NULL), 0);
	assert_int_equal(store_spans_add(st, run, spans + 2, 2, NULL), 0);
	/* And one span that belongs to no run. */
	assert_int_equal(store_spans_add(st, 0, spans, 1, NULL), 0);

	assert_int_equal(store_spans_each(st, run, collect, &out, NULL), 0);
	assert_string_equal(
		out.buf,
		"1111 1<0 rest.dispatch POST /servers api@h1 10/11 100+50 0\n"
		"1111 fedcba9876543210<1 db SELECT hosts api@h1 10/12 110+5 1"
		" msg=database is locked f=nova_api.so+0x10 boot f=main+0x4"
		" db.system.name='sqlite' db.response.returned_rows=-3"
		" cache.hit=true load=0.25\n"
		"1111 3<1 rpc.call select_destinations scheduler@- 20/0"
		" 120+20 0 f=nova_api.so+0x10 boot f=main+0x4"
		" db.system.name='sqlite'\n"
		"2222 9<0 brand.new.kind other -@- 0/0 5+1 0\n");
	/* Stacks are stored once; strings once. */
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM stacks"), 1);
	assert_int_equal(
		sql_int(f->db, "SELECT count(*) FROM strings WHERE s = 'api'"),
		1);

	assert_int_equal(store_trace_spans_each(st, run, other, collect, &one,
						NULL),
			 0);
	assert_string_equal(one.buf,
			    "2222 9<0 brand.new.kind other -@- 0/0 5+1 0\n");
	strbuf_reset(&one);
	assert_int_equal(store_spans_each(st, 0, collect, &one, NULL), 0);
	assert_string_equal(
		one.buf,
		"1111 1<0 rest.dispatch POST /servers api@h1 10/11 100+50 0\n");

	/* A callback's non-zero return stops the walk and comes back. */
	assert_int_equal(store_spans_each(st, run, stop_at_second, &n, NULL),
			 42);
	assert_int_equal(n, 2);

	/* A batch with one bad span writes none of it. */
	spans[1].name = NULL;
	assert_int_not_equal(store_spans_add(st, run, spans, 2, &cause), 0);
	assert_non_null(cause);
	free(cause);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans"), 5);
	/* The store still works after the rollback. */
	assert_int_equal(store_spans_add(st, run, spans + 2, 1, NULL), 0);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM spans"), 6);

	strbuf_release(&out);
	strbuf_release(&one);
	store_free(st);
}

static int stop_timing(const struct store_span_timing *sp, void *payload)
{
	int *n = payload;

	(void)sp;
	return ++*n == 2 ? 42 : 0;
}

static int collect_timing(const struct store_span_timing *sp, void *payload)
{
	struct strbuf *out = payload;

	strbuf_addf(out, "%02x %llx<%llx %s %s %s %lld+%lld %d\n",
		    sp->trace_id[0], (unsigned long long)sp->span_id,
		    (unsigned long long)sp->parent_id, sp->kind, sp->name,
		    sp->service ? sp->service : "-", (long long)sp->start_ns,
		    (long long)sp->dur_ns, (int)sp->status);
	return 0;
}

static void test_store__span_timings(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "h", .start_ns = 1,
	};
	struct store_span spans[4] = {
		{ .span_id = 2, .kind = "db", .name = "SELECT hosts",
		  .service = "scheduler", .host = "h", .start_ns = 20,
		  .dur_ns = 3, .status = STORE_SPAN_ERROR, .message = "m" },
		{ .span_id = 1, .parent_id = 7, .kind = "brand.new.kind",
		  .name = "x", .start_ns = 10, .dur_ns = 4 },
		{ .span_id = 0xfedcba9876543210ULL, .kind = "iteration",
		  .name = "boot-vm", .service = "harness", .start_ns = 5,
		  .dur_ns = 50 },
		{ .span_id = 3, .kind = "db", .name = "SELECT hosts",
		  .service = "scheduler", .start_ns = 30, .dur_ns = 6 },
	};
	struct strbuf out = STRBUF_INIT;
	int64_t run, other;
	int n = 0;

	assert_int_equal(store_run_create(&run, st, &info, NULL), 0);
	assert_int_equal(store_run_create(&other, st, &info, NULL), 0);
	memset(spans[0].trace_id, 0x22, 16);
	memset(spans[1].trace_id, 0x11, 16);
	memset(spans[2].trace_id, 0x22, 16);
	memset(spans[3].trace_id, 0x33, 16);
	assert_int_equal(store_spans_add(st, run, spans, 3, NULL), 0);
	assert_int_equal(store_spans_add(st, other, spans + 3, 1, NULL), 0);

	/* Traces in id order, each together; only this run's spans. */
	assert_int_equal(store_span_timings_each(st, run,
						 collect_timing,
						 &out, NULL),
			 0);
	assert_true(!strcmp(out.buf,
			    "11 1<7 brand.new.kind x - 10+4 0\n"
			    "22 2<0 db SELECT hosts scheduler 20+3 1\n"
			    "22 fedcba9876543210<0 iteration boot-vm harness"
			    " 5+50 0\n") ||
		    !strcmp(out.buf,
			    "11 1<7 brand.new.kind x - 10+4 0\n"
			    "22 fedcba9876543210<0 iteration boot-vm harness"
			    " 5+50 0\n"
			    "22 2<0 db SELECT hosts scheduler 20+3 1\n"));
	strbuf_reset(&out);
	assert_int_equal(store_span_timings_each(st, other, collect_timing,
						 &out, NULL),
			 0);
	assert_string_equal(out.buf,
			    "33 3<0 db SELECT hosts scheduler 30+6 0\n");
	/* A run without spans walks nothing. */
	strbuf_reset(&out);
	assert_int_equal(store_span_timings_each(st, 999, collect_timing, &out,
						 NULL),
			 0);
	assert_string_equal(out.buf, "");
	/* A non-zero return stops the walk and comes back. */
	assert_int_equal(store_span_timings_each(st, run, stop_timing, &n,
						 NULL),
			 42);
	assert_int_equal(n, 2);
	strbuf_release(&out);
	store_free(st);
}

static void test_store__transactions_nest(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	int64_t id;
	char *cause = NULL;

	assert_int_equal(store_tx_begin(st, NULL), 0);
	assert_int_equal(store_intern(&id, st, "kept", NULL), 0);
	assert_int_equal(store_tx_commit(st, NULL), 0);

	assert_int_equal(store_tx_begin(st, NULL), 0);
	assert_int_equal(store_intern(&id, st, "lost", NULL), 0);
	assert_int_equal(store_tx_begin(st, NULL), 0);
	store_tx_rollback(st);
	/* The inner rollback dooms the outer transaction. */
	assert_int_not_equal(store_tx_commit(st, &cause), 0);
	assert_non_null(cause);
	free(cause);
	assert_int_equal(
		sql_int(f->db, "SELECT count(*) FROM strings WHERE s = 'lost'"),
		0);
	/* After the rollback the cache does not claim "lost" exists. */
	assert_int_equal(store_intern(&id, st, "lost", NULL), 0);
	assert_int_equal(
		sql_int(f->db, "SELECT count(*) FROM strings WHERE s = 'lost'"),
		1);
	store_free(st);
}

static void test_store__positions_and_drops(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "h", .start_ns = 1,
	};
	struct store_position pos = { .device = 3, .inode = 77,
				      .identity = "api/h1/10/5",
				      .offset = 4096, .records = 12,
				      .corrupt = 1 };
	struct store_position got;
	struct store_run *r;
	int64_t run, dropped, corrupt;
	bool found;

	assert_int_equal(store_position_get(&got, &found, st, "a.htspool",
					    NULL),
			 0);
	assert_false(found);
	assert_int_equal(got.offset, 0);
	assert_int_equal(store_run_create(&run, st, &info, NULL), 0);
	pos.run_id = run;
	assert_int_equal(store_position_set(st, "a.htspool", &pos, NULL), 0);
	pos.offset = 8192;
	pos.records = 20;
	assert_int_equal(store_position_set(st, "a.htspool", &pos, NULL), 0);
	assert_int_equal(store_position_get(&got, &found, st, "a.htspool",
					    NULL),
			 0);
	assert_true(found);
	assert_int_equal(got.offset, 8192);
	assert_int_equal(got.records, 20);
	assert_int_equal(got.corrupt, 1);
	assert_int_equal(got.inode, 77);
	assert_int_equal(got.run_id, run);
	assert_string_equal(got.identity, "api/h1/10/5");
	store_position_release(&got);

	assert_int_equal(store_drops_add(st, run, "api", 10, 5, 0, NULL), 0);
	assert_int_equal(store_drops_add(st, run, "api", 10, 2, 1, NULL), 0);
	assert_int_equal(store_drops_add(st, run, "scheduler", 20, 1, 0, NULL),
			 0);
	assert_int_equal(store_drops_add(st, 0, "api", 10, 100, 0, NULL), 0);
	assert_int_equal(store_drops_total(&dropped, &corrupt, st, run, NULL),
			 0);
	assert_int_equal(dropped, 8);
	assert_int_equal(corrupt, 1);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM drops"), 3);
	/* Unmapped spans: with the drops of their process, or a row of
	 * their own; totals per run. */
	assert_int_equal(store_unmapped_add(st, run, "api", 10, 3, NULL), 0);
	assert_int_equal(store_unmapped_add(st, run, "nova-api", 0, 4, NULL),
			 0);
	assert_int_equal(store_unmapped_add(st, 0, "api", 10, 50, NULL), 0);
	assert_int_equal(store_unmapped_total(&dropped, st, run, NULL), 0);
	assert_int_equal(dropped, 7);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM drops"), 4);
	assert_int_equal(store_drops_total(&dropped, &corrupt, st, run, NULL),
			 0);
	assert_int_equal(dropped, 8);
	assert_int_equal(store_run_get(&r, st, run, NULL), 0);
	assert_int_equal(r->spans_dropped, 8);
	store_run_free(r);
	store_free(st);
}

static void test_store__traces_list_and_find(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "h", .start_ns = 1,
	};
	struct store_iteration it = { .seq = 7, .ok = true, .start_ns = 100,
				      .dur_ns = 60 };
	struct store_span spans[5] = {
		{ .span_id = 1, .kind = "iteration", .name = "boot-vm",
		  .service = "harness", .start_ns = 100, .dur_ns = 60 },
		{ .span_id = 2, .parent_id = 1, .kind = "rest.dispatch",
		  .name = "POST /servers", .service = "api", .start_ns = 110,
		  .dur_ns = 40, .status = STORE_SPAN_ERROR },
		{ .span_id = 3, .parent_id = 2, .kind = "db", .name = "SELECT",
		  .service = "api", .start_ns = 120, .dur_ns = 5 },
		/* A second trace, later, whose root was not recorded. */
		{ .span_id = 4, .parent_id = 99, .kind = "db", .name = "x",
		  .service = "compute", .start_ns = 500, .dur_ns = 10 },
		{ .span_id = 5, .parent_id = 99, .kind = "db", .name = "y",
		  .start_ns = 505, .dur_ns = 20 },
	};
	struct store_trace *t = NULL;
	uint8_t id[16];
	int64_t run, other_run, found_run;
	char *cause = NULL;
	size_t n;

	assert_int_equal(store_run_create(&run, st, &info, NULL), 0);
	assert_int_equal(store_run_create(&other_run, st, &info, NULL), 0);
	for (int i = 0; i < 3; i++)
		memset(spans[i].trace_id, 0xab, 16);
	memset(spans[3].trace_id, 0xac, 16);
	memset(spans[4].trace_id, 0xac, 16);
	memset(it.trace_id, 0xab, 16);
	assert_int_equal(store_iteration_add(st, run, &it, NULL), 0);
	assert_int_equal(store_spans_add(st, run, spans, 5, NULL), 0);
	/* The first trace again in another run. */
	assert_int_equal(store_spans_add(st, other_run, spans, 1, NULL), 0);

	assert_int_equal(store_traces_list(&t, &n, st, run, 0, NULL), 0);
	assert_int_equal(n, 2);
	/* Newest first. */
	assert_int_equal(t[0].trace_id[0], 0xac);
	assert_null(t[0].root_name);
	assert_int_equal(t[0].iteration, -1);
	assert_string_equal(t[0].services, "compute");
	assert_int_equal(t[0].start_ns, 500);
	assert_int_equal(t[0].dur_ns, 25);
	assert_int_equal(t[0].nspans, 2);
	assert_int_equal(t[1].trace_id[15], 0xab);
	assert_int_equal(t[1].run_id, run);
	assert_string_equal(t[1].root_name, "boot-vm");
	assert_int_equal(t[1].iteration, 7);
	assert_string_equal(t[1].services, "api,harness");
	assert_int_equal(t[1].start_ns, 100);
	assert_int_equal(t[1].dur_ns, 60);
	assert_int_equal(t[1].nspans, 3);
	assert_int_equal(t[1].nerrors, 1);
	store_traces_free(t, n);

	/* Every run, with a limit. */
	assert_int_equal(store_traces_list(&t, &n, st, -1, 0, NULL), 0);
	assert_int_equal(n, 3);
	store_traces_free(t, n);
	assert_int_equal(store_traces_list(&t, &n, st, -1, 1, NULL), 0);
	assert_int_equal(n, 1);
	store_traces_free(t, n);
	assert_int_equal(store_traces_list(&t, &n, st, 0, 0, NULL), 0);
	assert_int_equal(n, 0);
	store_traces_free(t, n);

	/* Prefixes, any case; ambiguity across runs and traces. */
	assert_int_equal(store_trace_find(id, &found_run, st, "aC", -1, NULL),
			 0);
	assert_int_equal(id[0], 0xac);
	assert_int_equal(found_run, run);
	assert_int_equal(store_trace_find(id, &found_run, st, "ab", -1,
					  &cause),
			 STORE_EAMBIGUOUS);
	assert_non_null(strstr(cause, "ambiguous"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_trace_find(id, &found_run, st, "ab", other_run,
					  NULL),
			 0);
	assert_int_equal(found_run, other_run);
	assert_int_equal(store_trace_find(id, &found_run, st, "a", run, NULL),
			 STORE_EAMBIGUOUS);
	assert_int_equal(store_trace_find(id, &found_run, st, "ff", -1,
					  &cause),
			 STORE_ENOENT);
	free(cause);
	cause = NULL;
	assert_int_equal(store_trace_find(id, &found_run, st, "xyz", -1,
					  &cause),
			 -1);
	free(cause);
	store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_store__create_and_reopen),
		T(test_store__migrate_from_version_0),
		T(test_store__refuse_newer),
		T(test_store__refuse_text_file),
		T(test_store__refuse_foreign_sqlite),
		T(test_store__runs_round_trip),
		T(test_store__iterations_round_trip),
		T(test_store__spans_round_trip),
		T(test_store__transactions_nest),
		T(test_store__positions_and_drops),
		T(test_store__traces_list_and_find),
		T(test_store__span_timings),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
