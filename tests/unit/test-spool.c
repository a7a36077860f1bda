/* test-spool.c: spool records survive a round trip through a real file;
 * a flipped byte, a torn tail and an unknown version are each detected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "htrace.h"
#include "spool/spool.h"

struct fixture {
	char dir[64];
	struct spool_file *file;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/test-spool-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	if (spool_file_create(&fx->file, fx->dir, "nova/api", NULL) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	DIR *d = opendir(fx->dir);
	struct dirent *e;
	char path[512];

	spool_file_free(fx->file);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void sample_span(struct spool_span *s, struct spool_attr *attrs,
			struct spool_frame *frames, uint64_t id)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(0xa0 + i);
	s->span_id = id;
	s->parent_id = 0x1122334455667788ull;
	s->kind = HTRACE_KIND_DB;
	s->status = SPOOL_STATUS_ERROR;
	s->name = "SELECT hosts";
	s->message = "no such table";
	s->service = "scheduler";
	s->host = "node-1";
	s->pid = 4242;
	s->tid = 4243;
	s->start_ns = 1700000000123456789ull;
	s->dur_ns = 98765;
	attrs[0].key = HTRACE_ATTR_DB_QUERY_TEXT;
	attrs[0].type = SPOOL_ATTR_STR;
	attrs[0].v.s = "SELECT * FROM hosts WHERE id = ?";
	attrs[1].key = HTRACE_ATTR_DB_RESPONSE_RETURNED_ROWS;
	attrs[1].type = SPOOL_ATTR_INT;
	attrs[1].v.i = -1234567890123ll;
	attrs[2].key = "ratio";
	attrs[2].type = SPOOL_ATTR_DOUBLE;
	attrs[2].v.d = 0.125;
	attrs[3].key = "cached";
	attrs[3].type = SPOOL_ATTR_BOOL;
	attrs[3].v.b = 1;
	s->attrs = attrs;
	s->n_attrs = 4;
	frames[0].pc = 0x401234;
	frames[0].offset = 0x1234;
	frames[0].module = "/usr/bin/scheduler";
	frames[0].symbol = "select_destinations";
	frames[1].pc = 0x7f0000001000;
	frames[1].offset = 0x1000;
	frames[1].module = "/lib/libc.so.6";
	frames[1].symbol = "";
	s->frames = frames;
	s->n_frames = 2;
}

static void write_span(struct fixture *fx, uint64_t id)
{
	struct spool_span s;
	struct spool_attr attrs[4];
	struct spool_frame frames[2];

	sample_span(&s, attrs, frames, id);
	assert_int_equal(spool_file_write_span(fx->file, &s, NULL), 0);
}

static struct spool_reader *open_reader(struct fixture *fx)
{
	struct spool_reader *r = NULL;
	char *cause = NULL;

	assert_int_equal(spool_reader_open(&r, spool_file_path(fx->file),
					   &cause), 0);
	assert_null(cause);
	return r;
}

static void test_spool__round_trip(void **state)
{
	struct fixture *fx = *state;
	struct spool_record rec;
	struct spool_span s;
	struct spool_attr attrs[4];
	struct spool_frame frames[2];
	struct spool_dropped dropped = { 17, 1700000001000000000ull };
	struct spool_thread thread = { 4243, "worker-1" };
	struct spool_reader *r;
	const struct spool_header *h;
	unsigned char buf[512];
	size_t n;

	write_span(fx, 0x0102030405060708ull);
	n = spool_encode_dropped(buf, sizeof(buf), &dropped);
	assert_true(n > 0);
	assert_int_equal(spool_file_append(fx->file, buf, n, NULL), 0);
	n = spool_encode_thread(buf, sizeof(buf), &thread);
	assert_true(n > 0);
	assert_int_equal(spool_file_append(fx->file, buf, n, NULL), 0);

	r = open_reader(fx);
	h = spool_reader_header(r);
	assert_int_equal(h->version, SPOOL_VERSION);
	assert_string_equal(h->service, "nova/api");
	assert_int_equal(h->pid, getpid());
	assert_true(h->host[0] != '\0');
	assert_true(h->start_ns > 0);

	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_int_equal(rec.type, SPOOL_RECORD_SPAN);
	assert_int_equal(rec.offset, spool_reader_data_offset(r));
	sample_span(&s, attrs, frames, 0x0102030405060708ull);
	assert_memory_equal(rec.u.span.trace_id, s.trace_id, 16);
	assert_true(rec.u.span.span_id == s.span_id);
	assert_true(rec.u.span.parent_id == s.parent_id);
	assert_int_equal(rec.u.span.kind, HTRACE_KIND_DB);
	assert_int_equal(rec.u.span.status, SPOOL_STATUS_ERROR);
	assert_string_equal(rec.u.span.name, "SELECT hosts");
	assert_string_equal(rec.u.span.message, "no such table");
	assert_string_equal(rec.u.span.service, "scheduler");
	assert_string_equal(rec.u.span.host, "node-1");
	assert_int_equal(rec.u.span.pid, 4242);
	assert_int_equal(rec.u.span.tid, 4243);
	assert_true(rec.u.span.start_ns == s.start_ns);
	assert_true(rec.u.span.dur_ns == s.dur_ns);
	assert_int_equal(rec.u.span.n_attrs, 4);
	assert_string_equal(rec.u.span.attrs[0].key, "db.query.text");
	assert_int_equal(rec.u.span.attrs[0].type, SPOOL_ATTR_STR);
	assert_string_equal(rec.u.span.attrs[0].v.s, attrs[0].v.s);
	assert_int_equal(rec.u.span.attrs[1].type, SPOOL_ATTR_INT);
	assert_true(rec.u.span.attrs[1].v.i == -1234567890123ll);
	assert_int_equal(rec.u.span.attrs[2].type, SPOOL_ATTR_DOUBLE);
	assert_true(rec.u.span.attrs[2].v.d == 0.125);
	assert_int_equal(rec.u.span.attrs[3].type, SPOOL_ATTR_BOOL);
	assert_int_equal(rec.u.span.attrs[3].v.b, 1);
	assert_int_equal(rec.u.span.n_frames, 2);
	assert_true(rec.u.span.frames[0].pc == 0x401234);
	assert_true(rec.u.span.frames[0].offset == 0x1234);
	assert_string_equal(rec.u.span.frames[0].module, "/usr/bin/scheduler");
	assert_string_equal(rec.u.span.frames[0].symbol,
			    "select_destinations");
	assert_string_equal(rec.u.span.frames[1].symbol, "");

	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_int_equal(rec.type, SPOOL_RECORD_DROPPED);
	assert_true(rec.u.dropped.count == 17);
	assert_true(rec.u.dropped.time_ns == dropped.time_ns);

	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_int_equal(rec.type, SPOOL_RECORD_THREAD);
	assert_int_equal(rec.u.thread.tid, 4243);
	assert_string_equal(rec.u.thread.name, "worker-1");

	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_EOF);
	spool_reader_free(r);
}

/* Raw attributes (libhtrace's path) decode like structured ones, and an
 * empty span (no message, no attributes) round-trips too. */
static void test_spool__raw_attrs_and_sizes(void **state)
{
	struct fixture *fx = *state;
	unsigned char raw[256], buf[1024], small[1024];
	size_t len = 0, n;
	struct spool_span s;
	struct spool_record rec;
	struct spool_reader *r;
	char *scratch = NULL;
	size_t scratch_size = 0;

	(void)fx;
	len += spool_attr_put_str(raw + len, sizeof(raw) - len, "k", "v");
	len += spool_attr_put_int(raw + len, sizeof(raw) - len, "i", 42);
	len += spool_attr_put_double(raw + len, sizeof(raw) - len, "d", 2.5);
	len += spool_attr_put_bool(raw + len, sizeof(raw) - len, "b", 0);
	assert_int_equal(spool_attr_put_str(small, 3, "key", "value"), 0);
	memset(&s, 0, sizeof(s));
	s.trace_id[15] = 1;
	s.span_id = 9;
	s.kind = HTRACE_KIND_FUNC;
	s.name = "f";
	s.raw_attrs = raw;
	s.raw_attrs_len = len;
	s.n_raw_attrs = 4;
	n = spool_encode_span(buf, sizeof(buf), &s);
	assert_int_equal(n, spool_span_size(&s));
	assert_int_equal(spool_encode_span(small, n - 1, &s), 0);
	assert_int_equal(spool_decode_record(buf, n, &rec, &scratch,
					     &scratch_size), SPOOL_READ_OK);
	assert_int_equal(rec.u.span.n_attrs, 4);
	assert_null(rec.u.span.message);
	assert_string_equal(rec.u.span.attrs[0].v.s, "v");
	assert_true(rec.u.span.attrs[1].v.i == 42);
	assert_true(rec.u.span.attrs[2].v.d == 2.5);
	assert_int_equal(rec.u.span.attrs[3].v.b, 0);
	assert_int_equal(spool_decode_record(buf, n - 1, &rec, &scratch,
					     &scratch_size), SPOOL_READ_TORN);
	free(scratch);

	assert_int_equal(spool_file_append(fx->file, buf, n, NULL), 0);
	r = open_reader(fx);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_string_equal(rec.u.span.name, "f");
	spool_reader_free(r);
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_spool__flipped_byte_skipped(void **state)
{
	struct fixture *fx = *state;
	struct spool_record rec;
	struct spool_reader *r;
	uint64_t second, third;

	write_span(fx, 1);
	write_span(fx, 2);
	write_span(fx, 3);
	r = open_reader(fx);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	second = rec.end;
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	third = rec.end;
	spool_reader_free(r);

	/* In the middle of the second span's name. */
	flip_byte(spool_file_path(fx->file), (off_t)second + 8 + 70);
	r = open_reader(fx);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_true(rec.u.span.span_id == 1);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_CORRUPT);
	assert_true(rec.offset == second);
	assert_true(rec.skipped == third - second);
	assert_true(spool_reader_offset(r) == third);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_true(rec.u.span.span_id == 3);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_EOF);
	spool_reader_free(r);

	/* A broken length field is corrupt too, and resync finds span 3. */
	flip_byte(spool_file_path(fx->file), (off_t)second + 7);
	r = open_reader(fx);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_CORRUPT);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_true(rec.u.span.span_id == 3);
	spool_reader_free(r);
}

static void test_spool__torn_tail(void **state)
{
	struct fixture *fx = *state;
	struct spool_record rec;
	struct spool_reader *r;
	struct stat st;
	const char *path = spool_file_path(fx->file);
	unsigned char tail[64];
	uint64_t first_end;
	int fd;

	write_span(fx, 1);
	write_span(fx, 2);
	assert_int_equal(stat(path, &st), 0);
	/* Cut the last record short, keeping what was cut. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, tail, 20, st.st_size - 20), 20);
	assert_int_equal(ftruncate(fd, st.st_size - 20), 0);

	r = open_reader(fx);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	first_end = rec.end;
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_TORN);
	assert_true(spool_reader_offset(r) == first_end);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_TORN);
	spool_reader_free(r);

	/* The writer finishes it: a new pass resumes and reads it. */
	assert_int_equal(pwrite(fd, tail, 20, st.st_size - 20), 20);
	close(fd);
	r = open_reader(fx);
	spool_reader_seek(r, first_end);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_OK);
	assert_true(rec.u.span.span_id == 2);
	assert_int_equal(spool_reader_next(r, &rec, NULL), SPOOL_READ_EOF);
	spool_reader_free(r);
}

static void test_spool__unknown_version_refused(void **state)
{
	struct fixture *fx = *state;
	struct spool_reader *r = NULL;
	char *cause = NULL;
	unsigned char v = 99;
	char path[512];
	int fd;

	write_span(fx, 1);
	fd = open(spool_file_path(fx->file), O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 1, SPOOL_MAGIC_SIZE), 1);
	close(fd);
	assert_int_equal(spool_reader_open(&r, spool_file_path(fx->file),
					   &cause), SPOOL_EVERSION);
	assert_null(r);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "version 99"));
	free(cause);

	snprintf(path, sizeof(path), "%s/not-spool", fx->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "hello, world", 12), 12);
	close(fd);
	cause = NULL;
	assert_int_equal(spool_reader_open(&r, path, &cause), SPOOL_EFORMAT);
	free(cause);
	unlink(path);
}

/* Records laid out with zero CRCs decode once sealed; a buffer that ends
 * inside a record is refused. */
static void test_spool__seal(void **state)
{
	unsigned char buf[512];
	struct spool_dropped d = { 7, 1234 };
	struct spool_thread t = { 42, "worker" };
	struct spool_record rec;
	char *scratch = NULL;
	size_t scratch_size = 0, n1, n2;

	(void)state;
	n1 = spool_encode_dropped(buf, sizeof(buf), &d);
	n2 = spool_encode_thread(buf + n1, sizeof(buf) - n1, &t);
	assert_true(n1 && n2);
	memset(buf + n1 - 4, 0, 4);
	memset(buf + n1 + n2 - 4, 0, 4);
	assert_int_equal(spool_decode_record(buf, n1, &rec, &scratch,
					     &scratch_size),
			 SPOOL_READ_CORRUPT);
	assert_int_equal(spool_seal(buf, n1 + n2), 0);
	assert_int_equal(spool_decode_record(buf, n1, &rec, &scratch,
					     &scratch_size),
			 SPOOL_READ_OK);
	assert_int_equal(rec.u.dropped.count, 7);
	assert_int_equal(spool_decode_record(buf + n1, n2, &rec, &scratch,
					     &scratch_size),
			 SPOOL_READ_OK);
	assert_string_equal(rec.u.thread.name, "worker");
	assert_int_equal(spool_seal(buf, n1 + n2 - 1), -1);
	assert_int_equal(spool_seal(buf, n1 + 3), -1);
	free(scratch);
}

static void test_spool__kind_names(void **state)
{
	(void)state;
	assert_string_equal(spool_kind_name(HTRACE_KIND_REST_CALL),
			    "rest.call");
	assert_string_equal(spool_kind_name(HTRACE_KIND_STEP), "step");
	assert_null(spool_kind_name(0));
	assert_null(spool_kind_name(HTRACE_KIND_LAST + 1));
	for (int k = HTRACE_KIND_FIRST; k <= HTRACE_KIND_LAST; k++)
		assert_int_equal(spool_kind_parse(spool_kind_name(k)), k);
	assert_int_equal(spool_kind_parse("nope"), -1);
	/* Known CRC-32C check value. */
	assert_true(spool_crc32c(0, "123456789", 9) == 0xE3069283u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spool__round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spool__raw_attrs_and_sizes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_spool__flipped_byte_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool__torn_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_spool__unknown_version_refused, setup, teardown),
		cmocka_unit_test(test_spool__kind_names),
		cmocka_unit_test(test_spool__seal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
