/* test-ingest.c: spool files written with the spool encoder, ingested into
 * a real store: no duplicates on a second pass, growth continued, a torn
 * tail left and completed, a flipped byte skipped and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool.h"
#include "store/ingest.h"
#include "store/store.h"
#include "util/strbuf.h"

struct fixture {
	char dir[256];
	char db[300];
	char spool[300];	/* a spool file */
	char cwd[4096];		/* to go back to */
	struct store *st;
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
	char *cause = NULL;

	snprintf(f->dir, sizeof(f->dir), "%s/test-ingest-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir) || !getcwd(f->cwd, sizeof(f->cwd)))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/h.db", f->dir);
	snprintf(f->spool, sizeof(f->spool), "%s/api-10.htspool", f->dir);
	if (store_open(&f->st, f->db, &cause) < 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->st);
	if (chdir(f->cwd) < 0)
		return -1;
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void append(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "ab");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static void write_header(const char *path, const char *service,
			 uint32_t pid)
{
	struct spool_header hdr = {
		.version = SPOOL_VERSION, .start_ns = 1700000000000000000ULL,
		.pid = pid, .service = service, .host = "node-1",
	};
	unsigned char buf[512];
	size_t n = spool_encode_header(buf, sizeof(buf), &hdr);

	assert_true(n > 0);
	append(path, buf, n);
}

/* Encode span number I (trace 0xI..., span id I+1) into BUF. */
static size_t encode_span(unsigned char *buf, size_t size, unsigned i)
{
	struct spool_attr attrs[] = {
		{ .key = "db.system.name", .type = SPOOL_ATTR_STR,
		  .v.s = "sqlite" },
		{ .key = "db.response.returned_rows", .type = SPOOL_ATTR_INT,
		  .v.i = (int64_t)i * 10 },
		{ .key = "ratio", .type = SPOOL_ATTR_DOUBLE, .v.d = 0.5 },
		{ .key = "cached", .type = SPOOL_ATTR_BOOL, .v.b = 1 },
	};
	struct spool_frame frames[] = {
		{ .pc = 0x7f0000001234, .offset = 0x1234,
		  .module = "/usr/lib/libnova.so", .symbol = "boot_server" },
		{ .pc = 0x400010, .offset = 0x10, .module = "/usr/bin/api",
		  .symbol = "" },
	};
	struct spool_span s = {
		.span_id = i + 1,
		.parent_id = i ? 1 : 0,
		.kind = (unsigned)spool_kind_parse(i ? "db" : "rest.dispatch"),
		.status = i == 2 ? SPOOL_STATUS_ERROR : SPOOL_STATUS_OK,
		.name = i ? "SELECT instances" : "POST /servers",
		.message = i == 2 ? "database is locked" : NULL,
		.tid = 100 + i,
		.start_ns = 1000 + i,
		.dur_ns = 50,
		.attrs = attrs,
		.n_attrs = i ? 4 : 0,
		.frames = frames,
		.n_frames = i == 1 ? 2 : 0,
	};
	size_t n;

	memset(s.trace_id, 0xa0 + (int)(i % 2), 16);
	n = spool_encode_span(buf, size, &s);
	assert_true(n > 0);
	return n;
}

static void append_spans(const char *path, unsigned from, unsigned to)
{
	unsigned char buf[4096];

	for (unsigned i = from; i < to; i++)
		append(path, buf, encode_span(buf, sizeof(buf), i));
}

static void append_dropped(const char *path, uint64_t count)
{
	struct spool_dropped d = { .count = count, .time_ns = 5 };
	unsigned char buf[64];
	size_t n = spool_encode_dropped(buf, sizeof(buf), &d);

	assert_true(n > 0);
	append(path, buf, n);
}

static int ingest(struct fixture *f, const char *path, int64_t run_id,
		  struct store_ingest_stats *stats)
{
	char *cause = NULL;
	int ret;

	memset(stats, 0, sizeof(*stats));
	ret = store_ingest_path(f->st, path, run_id, stats, &cause);
	if (ret < 0 && ret != STORE_EVERSION && ret != STORE_EFORMAT)
		fail_msg("ingest: %s", cause);
	free(cause);
	return ret;
}

static int count_span(const struct store_span *sp, void *payload)
{
	(*(int *)payload)++;
	return 0;
}

static int nspans(struct fixture *f, int64_t run_id)
{
	int n = 0;

	assert_int_equal(store_spans_each(f->st, run_id, count_span, &n, NULL),
			 0);
	return n;
}

static int describe(const struct store_span *sp, void *payload)
{
	struct strbuf *out = payload;

	strbuf_addf(out, "%llu<%llu %s '%s' %s@%s pid=%lld tid=%lld %d",
		    (unsigned long long)sp->span_id,
		    (unsigned long long)sp->parent_id, sp->kind, sp->name,
		    sp->service, sp->host, (long long)sp->pid,
		    (long long)sp->tid, (int)sp->status);
	if (sp->message)
		strbuf_addf(out, " '%s'", sp->message);
	for (size_t i = 0; i < sp->nattrs; i++)
		strbuf_addf(out, " %s", sp->attrs[i].key);
	for (size_t i = 0; i < sp->nframes; i++)
		strbuf_addf(out, " [%s]", sp->frames[i]);
	strbuf_addch(out, '\n');
	return 0;
}

static void test_ingest__twice_stores_once(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_stats s;
	struct strbuf out = STRBUF_INIT;
	int64_t dropped, corrupt;

	write_header(f->spool, "api", 10);
	append_spans(f->spool, 0, 3);
	append_dropped(f->spool, 5);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.files, 1);
	assert_int_equal(s.spans, 3);
	assert_int_equal(s.records, 4);
	assert_int_equal(s.dropped, 5);
	assert_int_equal(s.corrupt, 0);
	assert_int_equal(s.torn, 0);

	assert_int_equal(store_spans_each(f->st, 0, describe, &out, NULL), 0);
	/* Traces 0xa0.. (spans 1 and 3) then 0xa1.. (span 2). */
	assert_string_equal(
		out.buf,
		"1<0 rest.dispatch 'POST /servers' api@node-1 pid=10 tid=100 0\n"
		"3<1 db 'SELECT instances' api@node-1 pid=10 tid=102 1"
		" 'database is locked' db.system.name"
		" db.response.returned_rows ratio cached\n"
		"2<1 db 'SELECT instances' api@node-1 pid=10 tid=101 0"
		" db.system.name db.response.returned_rows ratio cached"
		" [/usr/lib/libnova.so+0x1234 boot_server]"
		" [/usr/bin/api+0x10]\n");

	/* The second pass finds nothing new. */
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.files, 1);
	assert_int_equal(s.spans, 0);
	assert_int_equal(s.records, 0);
	assert_int_equal(s.dropped, 0);
	assert_int_equal(nspans(f, 0), 3);
	assert_int_equal(store_drops_total(&dropped, &corrupt, f->st, 0, NULL),
			 0);
	assert_int_equal(dropped, 5);
	assert_int_equal(corrupt, 0);

	/* A relative path names the same file: still nothing new. */
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(ingest(f, "./api-10.htspool", 0, &s), 0);
	assert_int_equal(s.spans, 0);
	assert_int_equal(nspans(f, 0), 3);
	strbuf_release(&out);
}

static void test_ingest__grown_file_is_continued(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_stats s;
	struct store_position pos;
	bool found;

	write_header(f->spool, "api", 10);
	append_spans(f->spool, 0, 2);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 2);
	append_spans(f->spool, 2, 5);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 3);
	assert_int_equal(nspans(f, 0), 5);

	assert_int_equal(store_position_get(&pos, &found, f->st,
					    f->spool, NULL),
			 0);
	assert_true(found);
	assert_int_equal(pos.records, 5);
	{
		struct stat sb;

		assert_int_equal(stat(f->spool, &sb), 0);
		assert_int_equal(pos.offset, sb.st_size);
	}
	store_position_release(&pos);
}

static void test_ingest__torn_tail_left_then_completed(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_stats s;
	unsigned char buf[4096];
	size_t n;

	write_header(f->spool, "api", 10);
	append_spans(f->spool, 0, 1);
	n = encode_span(buf, sizeof(buf), 1);
	append(f->spool, buf, n / 2);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 1);
	assert_int_equal(s.torn, 1);
	assert_int_equal(s.corrupt, 0);
	/* Still torn: nothing more, nothing counted corrupt. */
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 0);
	assert_int_equal(s.torn, 1);
	/* The writer finishes the record. */
	append(f->spool, buf + n / 2, n - n / 2);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 1);
	assert_int_equal(s.torn, 0);
	assert_int_equal(s.corrupt, 0);
	assert_int_equal(nspans(f, 0), 2);

	/* A header still being written: the file waits for a later pass. */
	snprintf(f->spool, sizeof(f->spool), "%s/half.htspool", f->dir);
	append(f->spool, SPOOL_MAGIC, 5);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.files_pending, 1);
	assert_int_equal(s.spans, 0);
}

static void test_ingest__flipped_byte_skipped_and_counted(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_stats s;
	unsigned char buf[4096];
	struct strbuf out = STRBUF_INIT;
	int64_t dropped, corrupt;
	size_t n;

	write_header(f->spool, "api", 10);
	append_spans(f->spool, 0, 1);
	n = encode_span(buf, sizeof(buf), 1);
	buf[n / 2] ^= 0x40; /* inside the payload: the CRC no longer fits */
	append(f->spool, buf, n);
	append_spans(f->spool, 2, 3);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 2);
	assert_int_equal(s.corrupt, 1);
	assert_int_equal(s.corrupt_bytes, (int64_t)n);
	assert_int_equal(store_spans_each(f->st, 0, describe, &out, NULL), 0);
	assert_non_null(strstr(out.buf, "\n3<1 db"));
	assert_null(strstr(out.buf, "\n2<1"));
	assert_int_equal(store_drops_total(&dropped, &corrupt, f->st, 0, NULL),
			 0);
	assert_int_equal(corrupt, 1);
	assert_int_equal(dropped, 0);

	/* Counted once: a second pass does not see it again. */
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.corrupt, 0);
	assert_int_equal(store_drops_total(&dropped, &corrupt, f->st, 0, NULL),
			 0);
	assert_int_equal(corrupt, 1);
	strbuf_release(&out);
}

static void test_ingest__unknown_version_and_not_spool(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_stats s;
	unsigned char buf[512];
	struct spool_header hdr = { .service = "api", .host = "h", .pid = 1 };
	char *cause = NULL;
	size_t n;

	n = spool_encode_header(buf, sizeof(buf), &hdr);
	buf[8] = 9; /* format version 9 */
	append(f->spool, buf, n);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_ingest_path(f->st, f->spool, 0, &s, &cause),
			 STORE_EVERSION);
	assert_non_null(strstr(cause, "unknown spool format version 9"));
	free(cause);
	cause = NULL;
	assert_int_equal(s.files_failed, 1);

	snprintf(f->spool, sizeof(f->spool), "%s/notes.txt", f->dir);
	append(f->spool, "hello, this is text\n", 20);
	assert_int_equal(store_ingest_path(f->st, f->spool, 0, &s, &cause),
			 STORE_EFORMAT);
	assert_non_null(strstr(cause, "is not a spool file"));
	free(cause);
	cause = NULL;

	snprintf(f->spool, sizeof(f->spool), "%s/missing.htspool", f->dir);
	assert_int_equal(store_ingest_path(f->st, f->spool, 0, &s, &cause),
			 STORE_ENOENT);
	free(cause);
}

static void test_ingest__directory_and_run(void **state)
{
	struct fixture *f = *state;
	struct store_run_info info = {
		.scenario = "boot-vm", .config_hash = "h", .start_ns = 1,
	};
	struct store_ingest_stats s;
	char spool_dir[300], a[400], b[400], other[400];
	char *cause = NULL;
	int64_t run;

	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", f->dir);
	assert_int_equal(mkdir(spool_dir, 0700), 0);
	snprintf(a, sizeof(a), "%s/api-10.htspool", spool_dir);
	snprintf(b, sizeof(b), "%s/scheduler-20.htspool", spool_dir);
	snprintf(other, sizeof(other), "%s/README", spool_dir);

	assert_int_equal(store_run_create(&run, f->st, &info, NULL), 0);
	/* An empty spool directory: nothing to do, no error. */
	assert_int_equal(ingest(f, spool_dir, run, &s), 0);
	assert_int_equal(s.files, 0);
	write_header(a, "api", 10);
	append_spans(a, 0, 2);
	write_header(b, "scheduler", 20);
	append_spans(b, 0, 3);
	append(other, "not a spool file\n", 17);
	assert_int_equal(ingest(f, spool_dir, run, &s), 0);
	assert_int_equal(s.files, 2);
	assert_int_equal(s.spans, 5);
	assert_int_equal(nspans(f, run), 5);
	assert_int_equal(nspans(f, 0), 0);
	assert_int_equal(ingest(f, spool_dir, run, &s), 0);
	assert_int_equal(s.spans, 0);

	/* Another writer's file at the same path is read from the start. */
	assert_int_equal(unlink(a), 0);
	write_header(a, "api", 11);
	append_spans(a, 0, 1);
	assert_int_equal(ingest(f, spool_dir, run, &s), 0);
	assert_int_equal(s.spans, 1);
	assert_int_equal(nspans(f, run), 6);

	/* A run that does not exist is refused. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_ingest_path(f->st, spool_dir, run + 100, &s,
					   &cause),
			 STORE_ENOENT);
	free(cause);
}

/* Many spans across several batches, all stored once. */
static void test_ingest__many_batches(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_stats s;
	struct strbuf data = STRBUF_INIT;
	unsigned char buf[4096];

	write_header(f->spool, "api", 10);
	for (unsigned i = 0; i < 5000; i++)
		strbuf_add(&data, buf, encode_span(buf, sizeof(buf), i % 4));
	append(f->spool, data.buf, data.len);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 5000);
	assert_int_equal(nspans(f, 0), 5000);
	assert_int_equal(ingest(f, f->spool, 0, &s), 0);
	assert_int_equal(s.spans, 0);
	strbuf_release(&data);
}

/* Spans whose stacks repeat within and across files: each span keeps its
 * own frames, in order; frames alike but for dladdr's symbol stay apart. */
static void append_stack_span(const char *path, uint64_t id,
			      const struct spool_frame *frames, size_t n)
{
	struct spool_span s = {
		.span_id = id, .kind = 11, .name = "f", .start_ns = id,
		.dur_ns = 1, .frames = frames, .n_frames = n,
	};
	unsigned char buf[4096];
	size_t len;

	memset(s.trace_id, 0xc0, 16);
	len = spool_encode_span(buf, sizeof(buf), &s);
	assert_true(len > 0);
	append(path, buf, len);
}

static void test_ingest__stacks_repeated_across_files(void **state)
{
	struct fixture *f = *state;
	static const struct spool_frame fr[] = {
		{ .offset = 0x10, .module = "/nonexistent/liba.so",
		  .symbol = "one" },
		{ .offset = 0x20, .module = "/nonexistent/liba.so",
		  .symbol = "two" },
		{ .offset = 0x20, .module = "/nonexistent/liba.so",
		  .symbol = "deux" },
		{ .offset = 0x10, .module = "/nonexistent/libb.so",
		  .symbol = "" },
	};
	const struct spool_frame x[] = { fr[0], fr[1] }, y[] = { fr[0], fr[2] },
				 z[] = { fr[1], fr[0], fr[3] };
	struct store_ingest_stats s;
	struct strbuf out = STRBUF_INIT;
	char spool_dir[300], a[400], b[400];

	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", f->dir);
	assert_int_equal(mkdir(spool_dir, 0700), 0);
	snprintf(a, sizeof(a), "%s/a-1.htspool", spool_dir);
	snprintf(b, sizeof(b), "%s/b-2.htspool", spool_dir);
	write_header(a, "api", 1);
	write_header(b, "compute", 2);
	for (unsigned i = 0; i < 3; i++) {
		append_stack_span(a, 1 + 10 * i, x, 2);
		append_stack_span(a, 2 + 10 * i, y, 2);
		append_stack_span(b, 3 + 10 * i, z, 3);
		append_stack_span(b, 4 + 10 * i, x, 2);
	}
	assert_int_equal(ingest(f, spool_dir, 0, &s), 0);
	assert_int_equal(s.spans, 12);
	assert_int_equal(store_spans_each(f->st, 0, describe, &out, NULL), 0);
	for (unsigned i = 0; i < 3; i++) {
		char *want = NULL;

		if (asprintf(&want,
			     "%u<0 func 'f' api@node-1 pid=1 tid=0 0"
			     " [/nonexistent/liba.so+0x10 one]"
			     " [/nonexistent/liba.so+0x20 two]\n"
			     "%u<0 func 'f' api@node-1 pid=1 tid=0 0"
			     " [/nonexistent/liba.so+0x10 one]"
			     " [/nonexistent/liba.so+0x20 deux]\n"
			     "%u<0 func 'f' compute@node-1 pid=2 tid=0 0"
			     " [/nonexistent/liba.so+0x20 two]"
			     " [/nonexistent/liba.so+0x10 one]"
			     " [/nonexistent/libb.so+0x10]\n"
			     "%u<0 func 'f' compute@node-1 pid=2 tid=0 0"
			     " [/nonexistent/liba.so+0x10 one]"
			     " [/nonexistent/liba.so+0x20 two]\n",
			     1 + 10 * i, 2 + 10 * i, 3 + 10 * i,
			     4 + 10 * i) < 0)
			fail();
		assert_non_null(strstr(out.buf, want));
		free(want);
	}
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_ingest__twice_stores_once),
		T(test_ingest__grown_file_is_continued),
		T(test_ingest__torn_tail_left_then_completed),
		T(test_ingest__flipped_byte_skipped_and_counted),
		T(test_ingest__unknown_version_and_not_spool),
		T(test_ingest__directory_and_run),
		T(test_ingest__many_batches),
		T(test_ingest__stacks_repeated_across_files),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
