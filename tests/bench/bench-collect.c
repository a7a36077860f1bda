/* bench-collect.c: spans per second through the OTLP collector (protobuf
 * batches of 512 spans over HTTP on one keep-alive connection, each
 * acknowledged only once written to the spool), against raw SQLite
 * prepared inserts of the same rows in the same run, and ingest of the
 * collector's spool file into a store.
 * Usage: bench-collect [BATCHES] (default 200) */
#include <curl/curl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/collect.h"
#include "store/ingest.h"
#include "store/store.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define BATCH 512

static void put_varint(struct strbuf *sb, uint64_t v)
{
	while (v >= 0x80) {
		strbuf_addch(sb, (int)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	strbuf_addch(sb, (int)v);
}

static void put_len(struct strbuf *sb, unsigned field, const void *data,
		    size_t n)
{
	put_varint(sb, (uint64_t)field << 3 | 2);
	put_varint(sb, n);
	strbuf_add(sb, data, n);
}

static void put_fixed64(struct strbuf *sb, unsigned field, uint64_t v)
{
	put_varint(sb, (uint64_t)field << 3 | 1);
	for (int i = 0; i < 8; i++)
		strbuf_addch(sb, (int)(v >> (8 * i)) & 0xff);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* KeyValue with a string value. */
static void put_kv(struct strbuf *sb, unsigned field, const char *key,
		   const char *value)
{
	struct strbuf kv = STRBUF_INIT, any = STRBUF_INIT;

	put_len(&any, 1, value, strlen(value));
	put_len(&kv, 1, key, strlen(key));
	put_len(&kv, 2, any.buf, any.len);
	put_len(sb, field, kv.buf, kv.len);
	strbuf_release(&kv);
	strbuf_release(&any);
}

/* One ExportTraceServiceRequest of BATCH spans of trace number b. */
static void make_batch(struct strbuf *out, unsigned b, uint64_t t0)
{
	struct strbuf res = STRBUF_INIT, scope = STRBUF_INIT,
		      span = STRBUF_INIT, rs = STRBUF_INIT;
	uint8_t tid[16], sid[8], pid[8];

	memset(tid, 0, sizeof(tid));
	put_be64(tid, 0xbe7c000000000000ull | b);
	put_be64(tid + 8, 1);
	put_kv(&res, 1, "service.name", "bench");
	for (unsigned i = 0; i < BATCH; i++) {
		strbuf_reset(&span);
		put_be64(sid, (uint64_t)b * BATCH + i + 1);
		put_be64(pid, (uint64_t)b * BATCH + 1);
		put_len(&span, 1, tid, 16);
		put_len(&span, 2, sid, 8);
		if (i)
			put_len(&span, 4, pid, 8);
		put_len(&span, 5, "SELECT servers", 14);
		put_varint(&span, 6 << 3);
		put_varint(&span, 3);	/* CLIENT */
		put_fixed64(&span, 7, t0 + i * 1000);
		put_fixed64(&span, 8, t0 + i * 1000 + 500);
		put_kv(&span, 9, "db.system.name", "sqlite");
		put_kv(&span, 9, "db.query.text",
		       "SELECT * FROM servers WHERE id = ?");
		put_len(&scope, 2, span.buf, span.len);
	}
	put_len(&rs, 1, res.buf, res.len);
	put_len(&rs, 2, scope.buf, scope.len);
	put_len(out, 1, rs.buf, rs.len);
	strbuf_release(&res);
	strbuf_release(&scope);
	strbuf_release(&span);
	strbuf_release(&rs);
}

static size_t discard(char *p, size_t size, size_t n, void *payload)
{
	return size * n;
}

static int sql(sqlite3 *db, const char *text)
{
	if (sqlite3_exec(db, text, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-collect: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* The same rows with raw prepared inserts, one transaction per batch. */
static double raw_sqlite(const char *path, unsigned batches, uint64_t t0)
{
	sqlite3 *db;
	sqlite3_stmt *span, *attr;
	uint64_t start;
	uint8_t tid[16];

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		    "CREATE TABLE spans(id INTEGER PRIMARY KEY, trace_id BLOB,"
		    " span_id INTEGER, parent_id INTEGER, kind TEXT, name TEXT,"
		    " service TEXT, start_ns INTEGER, dur_ns INTEGER,"
		    " status INTEGER);"
		    "CREATE TABLE attrs(span INTEGER, key TEXT, value TEXT);") ||
	    sqlite3_prepare_v2(db, "INSERT INTO spans(trace_id, span_id,"
				   " parent_id, kind, name, service, start_ns,"
				   " dur_ns, status) VALUES (?,?,?,?,?,?,?,?,0)",
			       -1, &span, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO attrs(span, key, value)"
				   " VALUES (?,?,?)",
			       -1, &attr, NULL) != SQLITE_OK)
		die("raw sqlite: %s", sqlite3_errmsg(db));
	start = time_mono_ns();
	for (unsigned b = 0; b < batches; b++) {
		memset(tid, 0, sizeof(tid));
		tid[0] = (uint8_t)b;
		sql(db, "BEGIN");
		for (unsigned i = 0; i < BATCH; i++) {
			int64_t row;

			sqlite3_reset(span);
			sqlite3_bind_blob(span, 1, tid, 16, SQLITE_STATIC);
			sqlite3_bind_int64(span, 2, (int64_t)b * BATCH + i + 1);
			sqlite3_bind_int64(span, 3,
					   i ? (int64_t)b * BATCH + 1 : 0);
			sqlite3_bind_text(span, 4, "db", -1, SQLITE_STATIC);
			sqlite3_bind_text(span, 5, "SELECT servers", -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(span, 6, "bench", -1, SQLITE_STATIC);
			sqlite3_bind_int64(span, 7, (int64_t)(t0 + i * 1000));
			sqlite3_bind_int64(span, 8, 500);
			if (sqlite3_step(span) != SQLITE_DONE)
				die("raw sqlite: %s", sqlite3_errmsg(db));
			row = sqlite3_last_insert_rowid(db);
			for (int k = 0; k < 2; k++) {
				sqlite3_reset(attr);
				sqlite3_bind_int64(attr, 1, row);
				sqlite3_bind_text(attr, 2,
						  k ? "db.query.text"
						    : "db.system.name",
						  -1, SQLITE_STATIC);
				sqlite3_bind_text(
					attr, 3,
					k ? "SELECT * FROM servers WHERE id = ?"
					  : "sqlite",
					-1, SQLITE_STATIC);
				if (sqlite3_step(attr) != SQLITE_DONE)
					die("raw sqlite: %s",
					    sqlite3_errmsg(db));
			}
		}
		sql(db, "COMMIT");
	}
	start = time_mono_ns() - start;
	sqlite3_finalize(span);
	sqlite3_finalize(attr);
	sqlite3_close(db);
	return (double)batches * BATCH / ((double)start / 1e9);
}

int main(int argc, char **argv)
{
	unsigned batches = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
	struct collect_options o = { .listen = "127.0.0.1:0" };
	struct store_ingest_stats ist = { 0 };
	struct strbuf *bodies, cmd = STRBUF_INIT;
	struct curl_slist *h = NULL;
	struct collect_stats st;
	struct collector *c;
	struct store *store;
	char dir[] = "/tmp/bench-collect-XXXXXX", *url, *path, *cause = NULL;
	uint64_t t0 = time_wall_ns(), start, ns;
	double collector, raw, ingest;
	size_t bytes = 0;
	CURL *curl;
	long status = 0;

	if (!batches || !mkdtemp(dir))
		die("usage: bench-collect [BATCHES]");
	o.spool_dir = dir;
	if (collect_start(&c, &o, &cause))
		die("%s", cause);
	bodies = xcalloc(batches, sizeof(*bodies));
	for (unsigned b = 0; b < batches; b++) {
		strbuf_init(&bodies[b]);
		make_batch(&bodies[b], b, t0);
		bytes += bodies[b].len;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	url = xasprintf("http://%s/v1/traces", collect_address(c));
	h = curl_slist_append(h, "Content-Type: application/x-protobuf");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);

	start = time_mono_ns();
	for (unsigned b = 0; b < batches; b++) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, bodies[b].buf);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)bodies[b].len);
		if (curl_easy_perform(curl) != CURLE_OK)
			die("request %u failed", b);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200)
			die("request %u: status %ld", b, status);
	}
	ns = time_mono_ns() - start;
	collect_stats(c, &st);
	if (st.spans_accepted != (uint64_t)batches * BATCH)
		die("collector accepted %" PRIu64 " spans, want %u",
		    st.spans_accepted, batches * BATCH);
	collector = (double)st.spans_accepted / ((double)ns / 1e9);
	printf("collector: %u batches of %d spans (%.1f MB protobuf) in "
	       "%.2fs: %.0f spans/s\n",
	       batches, BATCH, (double)bytes / 1e6, (double)ns / 1e9,
	       collector);

	path = xasprintf("%s/raw.db", dir);
	raw = raw_sqlite(path, batches, t0);
	printf("raw SQLite prepared inserts of the same rows: %.0f spans/s\n",
	       raw);
	printf("ratio collector / raw SQLite: %.2f\n", collector / raw);
	free(path);

	path = xasprintf("%s/store.db", dir);
	if (store_open(&store, path, &cause))
		die("%s", cause);
	start = time_mono_ns();
	if (store_ingest_path(store, collect_spool_path(c), 0, &ist, &cause))
		die("%s", cause);
	ns = time_mono_ns() - start;
	ingest = (double)ist.spans / ((double)ns / 1e9);
	printf("ingest of the collector's spool into a store: %lld spans, "
	       "%.0f spans/s\n", (long long)ist.spans, ingest);
	store_free(store);
	free(path);

	collect_stop(c);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	for (unsigned b = 0; b < batches; b++)
		strbuf_release(&bodies[b]);
	free(bodies);
	free(url);
	strbuf_addf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.buf))
		warning("cannot remove '%s'", dir);
	strbuf_release(&cmd);
	return 0;
}
