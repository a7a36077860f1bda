/* bench-ingest.c: store_ingest_path over realistic spool files (several
 * services' processes, HTTP, database and RPC spans with their attributes,
 * with and without stacks) against raw prepared inserts of the same rows
 * into a store of the same schema and pragmas. Target: 0.7 of raw or more.
 * With stacks, ingest also symbolises each distinct frame: libdw reads
 * each module once per process, and each frame is resolved once; the
 * first pass of a process (modules read cold, as in a one-shot `harness
 * ingest`) is timed and shown apart from the best pass.
 *
 * usage: bench-ingest [SPANS] [FILES] [plain|stacks] (default: both) */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool.h"
#include "spool/symbolize.h"
#include "store/ingest.h"
#include "store/store.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

/* Spans per transaction on the raw side: ingest's batch. */
#define RAW_BATCH 2000
#define MAX_ATTRS 4
#define MAX_FRAMES 20
#define NAMES_PER_SERVICE 16
#define STACK_VARIANTS 2
#define THREADS_PER_FILE 6
#define SPANS_PER_TRACE 4	/* in each file: ~50 across all of them */

static const char *const services[] = {
	"identity", "image", "network", "api", "scheduler",
	"compute", "conductor", "placement", "volume", "metadata",
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

static const char *const resources[] = { "servers", "images", "ports",
					 "networks", "flavors", "volumes",
					 "tokens", "hosts" };
static const char *const tables[] = { "instances", "ports", "images",
				      "quotas", "allocations", "hosts",
				      "volumes", "tokens" };
static const char *const methods[] = { "select_destinations",
				       "build_and_run_instance",
				       "allocate_for_instance", "get_by_uuid",
				       "update_usage", "attach" };

/* The kinds of a service's names in order, and their ids in the store's
 * kinds table (migration 1). */
static const char *const name_kinds[NAMES_PER_SERVICE] = {
	"rest.dispatch", "rest.dispatch", "rest.dispatch", "db", "db", "db",
	"db", "db", "db", "rpc.call", "rpc.call", "rpc.cast", "rest.call",
	"rest.call", "func", "func",
};
/* How often each name is picked: databases and HTTP dominate. */
static const unsigned name_weights[NAMES_PER_SERVICE] = {
	4, 3, 2, 9, 8, 6, 5, 4, 3, 3, 2, 2, 4, 3, 2, 2,
};

static const char *const attr_keys[] = {
	"http.request.method", "url.path", "http.response.status_code",
	"http.route", "url.full", "db.system.name", "db.query.text",
	"db.response.returned_rows", "rpc.system", "rpc.method",
	"messaging.destination.name", "code.function.name", "code.lineno",
};
#define NKEYS (sizeof(attr_keys) / sizeof(attr_keys[0]))
enum {
	K_METHOD, K_PATH, K_STATUS, K_ROUTE, K_URL, K_DBSYS, K_QUERY, K_ROWS,
	K_RPCSYS, K_RPCMETHOD, K_DEST, K_FUNC, K_LINE,
};

static int kind_id(const char *kind)
{
	static const char *const ids[] = {
		NULL, "rest.call", "rest.dispatch", "rpc.call", "rpc.cast",
		"rpc.dispatch", "db", "lib", "thread.spawn", "thread.main",
		"exec", "func", "iteration", "step",
	};

	for (int i = 1; i < (int)(sizeof(ids) / sizeof(ids[0])); i++)
		if (!strcmp(ids[i], kind))
			return i;
	return 0;
}

/* The interned strings, ids in order from 1 as first met: host,
 * services, names, attribute keys (names repeat across services). */
#define HOST_ID 1
#define SERVICE_ID(s) (2 + (int64_t)(s))

struct name {
	char *text;
	char *route;	/* rest.*: the path template */
	char *query;	/* db: the query text */
	const char *method;
	int kind;	/* spool kind */
};

struct frame_src {
	const char *module;
	const char *symbol;
	uint64_t offset;
};

/* A stack as libhtrace would record it, and as the store keeps it. */
struct stack {
	struct spool_frame frames[MAX_FRAMES];
	size_t n;
	char *text;	/* frames joined by '\n', as ingest stores them */
	int64_t hash;	/* 64-bit FNV-1a of text, as the store's */
	int64_t id;	/* on the raw side: 0 until inserted */
};

struct rattr {
	int64_t key_id;
	int type;	/* enum store_attr_type */
	int64_t i;
	const char *s;
};

/* A span as the raw side inserts it, every id known. */
struct row {
	uint8_t trace_id[16];
	uint64_t span_id, parent_id;
	int64_t start_ns, dur_ns;
	int64_t name_id, service_id, pid, tid;
	int kind_id, status, nattrs;
	const char *message;
	struct stack *stack;
	struct rattr attrs[MAX_ATTRS];
	char text[64];	/* the URL or path attribute's value */
};

struct file_desc {
	int service;
	uint32_t pid;
	size_t nspans;
};

struct bench {
	size_t nspans, nfiles;
	struct name names[NSERVICES][NAMES_PER_SERVICE];
	int64_t name_ids[NSERVICES][NAMES_PER_SERVICE];
	int64_t key_ids[NKEYS];
	const char **strings;	/* strings[id - 1] */
	bool *used;		/* used[id - 1]: by a span of the files */
	size_t nstrings;
	struct file_desc *files;
	struct stack *stacks;	/* [service][name][variant] */
	size_t nstacks;
	struct row *rows;	/* in ingest's order: file by file */
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int pick_name(uint64_t *rng)
{
	unsigned total = 0, r;

	for (int j = 0; j < NAMES_PER_SERVICE; j++)
		total += name_weights[j];
	r = (unsigned)(rng_next(rng) % total);
	for (int j = 0; j < NAMES_PER_SERVICE; j++) {
		if (r < name_weights[j])
			return j;
		r -= name_weights[j];
	}
	return 0;
}

/* A query on TAB as an ORM would write it. */
static char *db_query(const char *tab, bool select)
{
	if (select)
		return xasprintf("SELECT %s.id, %s.uuid, %s.project_id,"
				 " %s.status, %s.created_at FROM %s WHERE"
				 " %s.project_id = ? AND %s.deleted = 0"
				 " LIMIT 1000",
				 tab, tab, tab, tab, tab, tab, tab, tab);
	return xasprintf("UPDATE %s SET status = ?, updated_at = ? WHERE"
			 " %s.uuid = ? AND %s.deleted = 0",
			 tab, tab, tab);
}

static void make_names(struct bench *b)
{
	for (size_t s = 0; s < NSERVICES; s++) {
		for (int j = 0; j < NAMES_PER_SERVICE; j++) {
			struct name *n = &b->names[s][j];
			const char *kind = name_kinds[j];
			const char *res = resources[(s + (size_t)j) % 8];
			const char *tab = tables[(s * 3 + (size_t)j) % 8];

			n->kind = spool_kind_parse(kind);
			n->method = j % 3 == 0 ? "GET" : j % 3 == 1 ? "POST" :
							"DELETE";
			if (!strcmp(kind, "rest.dispatch")) {
				n->route = xasprintf("/v2/%s/{%s_id}", res,
						     res);
				n->text = xasprintf("%s %s", n->method,
						    n->route);
			} else if (!strcmp(kind, "rest.call")) {
				n->route = xasprintf("/v2/%s", res);
				n->text = xasprintf("%s %s %s", n->method,
						    services[(s + 1 +
							      (size_t)j) %
							     NSERVICES],
						    n->route);
			} else if (!strcmp(kind, "db")) {
				n->text = xasprintf("%s %s",
						    j % 2 ? "SELECT" : "UPDATE",
						    tab);
				n->query = db_query(tab, j % 2);
			} else if (!strcmp(kind, "func")) {
				n->text = xasprintf("%s.%s", services[s],
						    methods[(size_t)j % 6]);
			} else {
				n->text = xasprintf("%s.%s", services[s],
						    methods[(s + (size_t)j) %
							    6]);
			}
		}
	}
}

static int64_t string_id(struct bench *b, const char *text)
{
	for (size_t i = 0; i < b->nstrings; i++)
		if (!strcmp(b->strings[i], text))
			return (int64_t)i + 1;
	b->strings = xrealloc(b->strings,
			      (b->nstrings + 1) * sizeof(*b->strings));
	b->strings[b->nstrings++] = text;
	return (int64_t)b->nstrings;
}

static void make_string_ids(struct bench *b)
{
	if (string_id(b, "node-1") != HOST_ID)
		die("host id");
	for (size_t s = 0; s < NSERVICES; s++)
		if (string_id(b, services[s]) != SERVICE_ID(s))
			die("service id");
	for (size_t s = 0; s < NSERVICES; s++)
		for (int j = 0; j < NAMES_PER_SERVICE; j++)
			b->name_ids[s][j] = string_id(b, b->names[s][j].text);
	for (size_t k = 0; k < NKEYS; k++)
		b->key_ids[k] = string_id(b, attr_keys[k]);
	b->used = xcalloc(b->nstrings, sizeof(*b->used));
}

static void free_names(struct bench *b)
{
	for (size_t s = 0; s < NSERVICES; s++) {
		for (int j = 0; j < NAMES_PER_SERVICE; j++) {
			free(b->names[s][j].text);
			free(b->names[s][j].route);
			free(b->names[s][j].query);
		}
	}
}

/* Code addresses for frames: functions of this program, of libc and of
 * SQLite, as dladdr sees them. */
static size_t code_pool(struct frame_src *pool, size_t max)
{
	void *const fns[] = {
		(void *)pick_name, (void *)make_names, (void *)code_pool,
		(void *)rng_next, (void *)kind_id, (void *)free_names,
		(void *)strtoul, (void *)qsort, (void *)snprintf,
		(void *)getenv, (void *)strdup, (void *)fopen,
		(void *)fclose, (void *)bsearch, (void *)sqlite3_step,
		(void *)sqlite3_prepare_v2, (void *)sqlite3_exec,
		(void *)sqlite3_bind_int64, (void *)sqlite3_reset,
		(void *)sqlite3_finalize, (void *)sqlite3_open,
		(void *)sqlite3_column_int64, (void *)store_ingest_path,
		(void *)store_open, (void *)spool_encode_span,
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]) && n < max;
	     i++) {
		Dl_info info;

		if (!dladdr(fns[i], &info) || !info.dli_fname ||
		    !info.dli_fbase)
			continue;
		pool[n].module = info.dli_fname;
		pool[n].symbol = info.dli_sname ? info.dli_sname : "";
		pool[n].offset = (uint64_t)((uintptr_t)fns[i] -
					    (uintptr_t)info.dli_fbase);
		n++;
	}
	return n;
}

/* A frame as ingest words it (harness/store/ingest.c). */
static void frame_text(struct strbuf *sb, struct symbolizer *sym,
		       const struct spool_frame *f)
{
	const char *module = f->module && *f->module ? f->module : "?";
	char *func, *file;
	int line;

	if (symbolize_frame(sym, f->module, f->offset, &func, &file,
			    &line) == 0) {
		if (file)
			strbuf_addf(sb, "%s (%s:%d)", func, file, line);
		else
			strbuf_addf(sb, "%s (%s+0x%" PRIx64 ")", func, module,
				    f->offset);
		free(func);
		free(file);
	} else {
		strbuf_addf(sb, "%s+0x%" PRIx64, module, f->offset);
		if (f->symbol && *f->symbol)
			strbuf_addf(sb, " %s", f->symbol);
	}
}

static int64_t fnv1a(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return (int64_t)h;
}

static void make_stacks(struct bench *b)
{
	struct frame_src pool[32];
	size_t npool = code_pool(pool, 32);
	struct symbolizer *sym = symbolizer_new();
	struct strbuf sb = STRBUF_INIT;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	b->nstacks = NSERVICES * NAMES_PER_SERVICE * STACK_VARIANTS;
	b->stacks = xcalloc(b->nstacks, sizeof(*b->stacks));
	for (size_t i = 0; i < b->nstacks; i++) {
		struct stack *st = &b->stacks[i];

		st->n = 12 + (size_t)(rng_next(&rng) % (MAX_FRAMES - 11));
		strbuf_reset(&sb);
		for (size_t k = 0; k < st->n; k++) {
			const struct frame_src *src =
				&pool[rng_next(&rng) % npool];
			struct spool_frame *f = &st->frames[k];

			/* A return address: some bytes into the function. */
			f->offset = src->offset + 4 + rng_next(&rng) % 24;
			f->pc = 0x7f0000000000ULL + f->offset;
			f->module = src->module;
			f->symbol = src->symbol;
			if (k)
				strbuf_addch(&sb, '\n');
			frame_text(&sb, sym, f);
		}
		st->text = xstrdup(sb.buf);
		st->hash = fnv1a(sb.buf, sb.len);
	}
	strbuf_release(&sb);
	symbolizer_free(sym);
}

/* Make span K of file F: the spool span (strings borrowed from the names,
 * the stacks and URL) and its raw row. */
static void make_span(struct bench *b, size_t f, size_t k, uint64_t *rng,
		      bool with_stack, struct spool_span *sp,
		      struct spool_attr *attrs, struct row *row)
{
	char *url = row->text;
	size_t url_size = sizeof(row->text);
	const struct file_desc *fd = &b->files[f];
	int j = pick_name(rng);
	const struct name *n = &b->names[fd->service][j];
	uint64_t trace = k / SPANS_PER_TRACE, trng = trace * 2654435761ULL + 1;
	uint64_t id = rng_next(rng) | 1;
	size_t na = 0;

	memset(sp, 0, sizeof(*sp));
	memset(row, 0, sizeof(*row));
	rng_next(&trng);
	for (int i = 0; i < 16; i += 8) {
		uint64_t v = rng_next(&trng);
		memcpy(sp->trace_id + i, &v, 8);
	}
	sp->span_id = id;
	sp->parent_id = k % SPANS_PER_TRACE ? row[-1].span_id :
					      rng_next(&trng) | 1;
	sp->kind = (unsigned)n->kind;
	sp->name = n->text;
	sp->tid = fd->pid + 1 + (uint32_t)(rng_next(rng) % THREADS_PER_FILE);
	sp->start_ns = 1700000000000000000ULL + trace * 50000000ULL +
		       (uint64_t)f * 100000 + k % SPANS_PER_TRACE * 1000;
	sp->dur_ns = 20000 + rng_next(rng) % 5000000;
	if (rng_next(rng) % 100 == 0) {
		sp->status = SPOOL_STATUS_ERROR;
		sp->message = "timed out waiting for a reply";
	}
	switch (n->kind) {
	case 1: /* rest.call */
		snprintf(url, url_size,
			 "http://10.0.0.%d:87%02d%s/%016" PRIx64, 2 + j,
			 (int)(f % 100), n->route, rng_next(rng));
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_METHOD],
			.type = SPOOL_ATTR_STR, .v.s = n->method };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_URL],
			.type = SPOOL_ATTR_STR, .v.s = url };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_STATUS],
			.type = SPOOL_ATTR_INT, .v.i = sp->status ? 503 : 200 };
		break;
	case 2: /* rest.dispatch */
		snprintf(url, url_size, "/v2/%s/%016" PRIx64,
			 resources[(size_t)(fd->service + j) % 8],
			 rng_next(rng));
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_METHOD],
			.type = SPOOL_ATTR_STR, .v.s = n->method };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_PATH],
			.type = SPOOL_ATTR_STR, .v.s = url };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_STATUS],
			.type = SPOOL_ATTR_INT, .v.i = sp->status ? 500 : 200 };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_ROUTE],
			.type = SPOOL_ATTR_STR, .v.s = n->route };
		break;
	case 6: /* db */
		url[0] = '\0';
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_DBSYS],
			.type = SPOOL_ATTR_STR, .v.s = "sqlite" };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_QUERY],
			.type = SPOOL_ATTR_STR, .v.s = n->query };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_ROWS],
			.type = SPOOL_ATTR_INT,
			.v.i = (int64_t)(rng_next(rng) % 40) };
		break;
	case 3: /* rpc.call */
	case 4: /* rpc.cast */
		url[0] = '\0';
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_RPCSYS],
			.type = SPOOL_ATTR_STR, .v.s = "oslo.messaging" };
		attrs[na++] = (struct spool_attr){
			.key = attr_keys[K_RPCMETHOD], .type = SPOOL_ATTR_STR,
			.v.s = methods[(size_t)j % 6] };
		if (n->kind == 3)
			attrs[na++] = (struct spool_attr){
				.key = attr_keys[K_DEST],
				.type = SPOOL_ATTR_STR,
				.v.s = services[(size_t)(fd->service + 1) %
						NSERVICES] };
		break;
	default: /* func */
		url[0] = '\0';
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_FUNC],
			.type = SPOOL_ATTR_STR, .v.s = methods[(size_t)j % 6] };
		attrs[na++] = (struct spool_attr){ .key = attr_keys[K_LINE],
			.type = SPOOL_ATTR_INT, .v.i = 100 + j };
		break;
	}
	sp->attrs = attrs;
	sp->n_attrs = na;

	memcpy(row->trace_id, sp->trace_id, 16);
	row->span_id = sp->span_id;
	row->parent_id = sp->parent_id;
	row->start_ns = (int64_t)sp->start_ns;
	row->dur_ns = (int64_t)sp->dur_ns;
	row->name_id = b->name_ids[fd->service][j];
	b->used[HOST_ID - 1] = true;
	b->used[SERVICE_ID(fd->service) - 1] = true;
	b->used[row->name_id - 1] = true;
	row->service_id = SERVICE_ID(fd->service);
	row->pid = fd->pid;
	row->tid = sp->tid;
	row->kind_id = kind_id(name_kinds[j]);
	row->status = sp->status == SPOOL_STATUS_ERROR ? STORE_SPAN_ERROR :
							  STORE_SPAN_OK;
	row->message = sp->message;
	row->nattrs = (int)na;
	for (size_t i = 0; i < na; i++) {
		struct rattr *ra = &row->attrs[i];

		for (size_t key = 0; key < NKEYS; key++)
			if (attr_keys[key] == attrs[i].key)
				ra->key_id = b->key_ids[key];
		b->used[ra->key_id - 1] = true;
		if (attrs[i].type == SPOOL_ATTR_INT) {
			ra->type = STORE_ATTR_INT;
			ra->i = attrs[i].v.i;
		} else {
			ra->type = STORE_ATTR_TEXT;
			ra->s = attrs[i].v.s;
		}
	}
	if (with_stack) {
		size_t v = (size_t)(rng_next(rng) % STACK_VARIANTS);
		struct stack *st = &b->stacks[((size_t)fd->service *
					       NAMES_PER_SERVICE + (size_t)j) *
						      STACK_VARIANTS + v];

		sp->frames = st->frames;
		sp->n_frames = st->n;
		row->stack = st;
	}
}

static void put(struct strbuf *buf, size_t need, size_t (*enc)(void *,
		size_t, const void *), const void *what)
{
	size_t got;

	strbuf_grow(buf, need);
	got = enc(buf->buf + buf->len, need, what);
	if (!got)
		die("cannot encode a record");
	buf->len += got;
}

static size_t enc_header(void *p, size_t n, const void *w)
{
	return spool_encode_header(p, n, w);
}

static size_t enc_span(void *p, size_t n, const void *w)
{
	return spool_encode_span(p, n, w);
}

static size_t enc_thread(void *p, size_t n, const void *w)
{
	return spool_encode_thread(p, n, w);
}

/* Write the spool files into DIR and fill b->rows in the order ingest
 * reads them (files in name order, records in file order). */
static void make_files(struct bench *b, const char *dir, bool with_stack)
{
	struct strbuf buf = STRBUF_INIT;
	size_t r = 0;

	memset(b->used, 0, b->nstrings * sizeof(*b->used));
	for (size_t f = 0; f < b->nfiles; f++) {
		struct file_desc *fd = &b->files[f];
		struct spool_header hdr = {
			.version = SPOOL_VERSION,
			.start_ns = 1700000000000000000ULL + f,
			.pid = fd->pid,
			.service = services[fd->service],
			.host = "node-1",
		};
		uint64_t rng = 0x2545f4914f6cdd1dULL + f * 7919;
		char *path;
		FILE *fp;

		strbuf_reset(&buf);
		put(&buf, 4096, enc_header, &hdr);
		for (uint32_t t = 1; t <= THREADS_PER_FILE; t++) {
			char name[32];
			struct spool_thread th = { .tid = fd->pid + t,
						   .name = name };

			snprintf(name, sizeof(name), "%s-worker-%u",
				 services[fd->service], t);
			put(&buf, 256, enc_thread, &th);
		}
		for (size_t k = 0; k < fd->nspans; k++, r++) {
			struct spool_attr attrs[MAX_ATTRS];
			struct spool_span sp;

			make_span(b, f, k, &rng, with_stack, &sp, attrs,
				  &b->rows[r]);
			put(&buf, spool_span_size(&sp), enc_span, &sp);
		}
		path = xasprintf("%s/%02zu-%s-%u%s", dir, f,
				 services[fd->service], fd->pid,
				 SPOOL_SUFFIX);
		fp = fopen(path, "wb");
		if (!fp || fwrite(buf.buf, 1, buf.len, fp) != buf.len ||
		    fclose(fp))
			die("cannot write '%s': %s", path, strerror(errno));
		free(path);
	}
	strbuf_release(&buf);
}

static int exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-ingest: %s: %s\n", sql,
			sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* A fresh store with one run (id 1), closed again. */
static int fresh_store(const char *path)
{
	struct store_run_info info = { .scenario = "bench",
				       .config_hash = "0",
				       .start_ns = 1 };
	struct store *st;
	int64_t run;
	char side[600];
	int ret;

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	if (store_open(&st, path, NULL) < 0)
		return -1;
	ret = store_run_create(&run, st, &info, NULL);
	store_free(st);
	return ret < 0 || run != 1 ? -1 : 0;
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

static int step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The rows straight into the tables of a fresh store, every id known:
 * strings, threads, stacks as first met, spans and their attributes, in
 * transactions of RAW_BATCH spans. */
static int raw_insert(struct bench *b, const char *path, uint64_t *ns)
{
	sqlite3 *db;
	sqlite3_stmt *str = NULL, *thr = NULL, *stk = NULL, *span = NULL,
		     *attr = NULL;
	int64_t next_stack = 1;
	uint64_t t0;
	int ret = -1;

	for (size_t i = 0; i < b->nstacks; i++)
		b->stacks[i].id = 0;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 10000);
	if (exec(db, "PRAGMA journal_mode = WAL") < 0 ||
	    exec(db, "PRAGMA synchronous = NORMAL") < 0 ||
	    exec(db, "PRAGMA foreign_keys = ON") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO strings(id, s) VALUES (?1,"
				   " ?2)", -1, &str, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO threads(run_id, service_id,"
				   " pid, tid, name) VALUES (?1, ?2, ?3, ?4,"
				   " ?5)", -1, &thr, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO stacks(id, hash, frames)"
				   " VALUES (?1, ?2, ?3)", -1, &stk,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
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
	if (exec(db, "BEGIN IMMEDIATE") < 0)
		goto out;
	for (size_t i = 0; i < b->nstrings; i++) {
		if (!b->used[i])
			continue;
		sqlite3_bind_int64(str, 1, (int64_t)i + 1);
		sqlite3_bind_text(str, 2, b->strings[i], -1, SQLITE_STATIC);
		if (step(str) < 0)
			goto out;
	}
	for (size_t f = 0; f < b->nfiles; f++) {
		for (int t = 1; t <= THREADS_PER_FILE; t++) {
			char name[32];

			snprintf(name, sizeof(name), "%s-worker-%d",
				 services[b->files[f].service], t);
			sqlite3_bind_int64(thr, 1, 1);
			sqlite3_bind_int64(thr, 2,
					   SERVICE_ID(b->files[f].service));
			sqlite3_bind_int64(thr, 3, b->files[f].pid);
			sqlite3_bind_int64(thr, 4, b->files[f].pid + t);
			sqlite3_bind_text(thr, 5, name, -1, SQLITE_TRANSIENT);
			if (step(thr) < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < b->nspans; i++) {
		const struct row *r = &b->rows[i];
		int64_t row;

		if (i && i % RAW_BATCH == 0 &&
		    (exec(db, "COMMIT") < 0 ||
		     exec(db, "BEGIN IMMEDIATE") < 0))
			goto out;
		if (r->stack && !r->stack->id) {
			r->stack->id = next_stack++;
			sqlite3_bind_int64(stk, 1, r->stack->id);
			sqlite3_bind_int64(stk, 2, r->stack->hash);
			sqlite3_bind_text(stk, 3, r->stack->text, -1,
					  SQLITE_STATIC);
			if (step(stk) < 0)
				goto out;
		}
		sqlite3_bind_int64(span, 1, 1);
		sqlite3_bind_blob(span, 2, r->trace_id, 16, SQLITE_STATIC);
		sqlite3_bind_int64(span, 3, (int64_t)r->span_id);
		sqlite3_bind_int64(span, 4, (int64_t)r->parent_id);
		sqlite3_bind_int64(span, 5, r->kind_id);
		sqlite3_bind_int64(span, 6, r->name_id);
		sqlite3_bind_int64(span, 7, r->service_id);
		sqlite3_bind_int64(span, 8, HOST_ID);
		sqlite3_bind_int64(span, 9, r->pid);
		sqlite3_bind_int64(span, 10, r->tid);
		sqlite3_bind_int64(span, 11, r->start_ns);
		sqlite3_bind_int64(span, 12, r->dur_ns);
		sqlite3_bind_int(span, 13, r->status);
		if (r->message)
			sqlite3_bind_text(span, 14, r->message, -1,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(span, 14);
		if (r->stack)
			sqlite3_bind_int64(span, 15, r->stack->id);
		else
			sqlite3_bind_null(span, 15);
		if (step(span) < 0)
			goto out;
		row = sqlite3_last_insert_rowid(db);
		for (int a = 0; a < r->nattrs; a++) {
			const struct rattr *ra = &r->attrs[a];

			sqlite3_bind_int64(attr, 1, row);
			sqlite3_bind_int64(attr, 2, ra->key_id);
			sqlite3_bind_int(attr, 3, ra->type);
			if (ra->type == STORE_ATTR_TEXT)
				sqlite3_bind_text(attr, 4, ra->s, -1,
						  SQLITE_STATIC);
			else
				sqlite3_bind_int64(attr, 4, ra->i);
			if (step(attr) < 0)
				goto out;
		}
	}
	if (exec(db, "COMMIT") < 0)
		goto out;
	*ns = time_mono_ns() - t0;
	ret = 0;
out:
	if (ret < 0)
		fprintf(stderr, "bench-ingest: raw: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(str);
	sqlite3_finalize(thr);
	sqlite3_finalize(stk);
	sqlite3_finalize(span);
	sqlite3_finalize(attr);
	sqlite3_close(db);
	return ret;
}

static int ingest(struct bench *b, const char *path, const char *dir,
		  uint64_t *ns)
{
	struct store_ingest_stats stats = { 0 };
	struct store *st;
	char *cause = NULL;
	uint64_t t0;
	int ret;

	if (store_open(&st, path, &cause) < 0) {
		fprintf(stderr, "bench-ingest: %s\n", cause);
		free(cause);
		return -1;
	}
	t0 = time_mono_ns();
	ret = store_ingest_path(st, dir, 1, &stats, &cause);
	*ns = time_mono_ns() - t0;
	store_free(st);
	if (ret < 0) {
		fprintf(stderr, "bench-ingest: %s\n", cause);
		free(cause);
		return -1;
	}
	if (stats.spans != (int64_t)b->nspans || stats.corrupt ||
	    stats.torn || stats.files != (int64_t)b->nfiles) {
		fprintf(stderr, "bench-ingest: ingest stored %" PRId64
			" spans of %zu from %" PRId64 " files (%" PRId64
			" corrupt, %" PRId64 " torn)\n", stats.spans,
			b->nspans, stats.files, stats.corrupt, stats.torn);
		return -1;
	}
	return 0;
}

/* What both stores hold, summed up, so that the two sides are seen to
 * write the same rows. */
static int summary(const char *path, struct strbuf *out)
{
	static const char *const queries[] = {
		"SELECT count(*), count(stack_id), count(message),"
		" total(dur_ns), total(kind), total(pid), total(tid)"
		" FROM spans",
		"SELECT count(*), total(length(a.value)), total(a.type),"
		" total(length(k.s)) FROM span_attrs a JOIN strings k"
		" ON k.id = a.key_id",
		"SELECT count(*), total(length(frames)) FROM stacks",
		"SELECT count(*), total(length(s)) FROM strings",
		"SELECT count(*), total(length(name)) FROM threads",
		"SELECT total(length(n.s)), total(length(sv.s))"
		" FROM spans s JOIN strings n ON n.id = s.name_id"
		" JOIN strings sv ON sv.id = s.service_id",
	};
	sqlite3 *db;
	int ret = 0;

	strbuf_reset(out);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		sqlite3_stmt *s;

		if (sqlite3_prepare_v2(db, queries[q], -1, &s, NULL) !=
		    SQLITE_OK) {
			ret = -1;
			break;
		}
		if (sqlite3_step(s) == SQLITE_ROW)
			for (int c = 0; c < sqlite3_column_count(s); c++)
				strbuf_addf(out, "%s ",
					    (const char *)sqlite3_column_text(
						    s, c));
		strbuf_addch(out, '\n');
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return ret;
}

/* Best of three of each side, alternating, on fresh stores. */
static int run_variant(struct bench *b, const char *dir, bool with_stack,
		       double *ratio)
{
	char spool[300], raw_db[300], store_db[300];
	uint64_t best_raw = 0, best_ingest = 0, cold_ingest = 0;
	struct strbuf raw_sum = STRBUF_INIT, ingest_sum = STRBUF_INIT;
	int ret = -1;

	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(raw_db, sizeof(raw_db), "%s/raw.db", dir);
	snprintf(store_db, sizeof(store_db), "%s/store.db", dir);
	make_files(b, spool, with_stack);
	for (int round = 0; round < 3; round++) {
		uint64_t raw_ns = 0, ingest_ns = 0;

		/* The first pass reads the modules as a new process would. */
		if (!round)
			symbolizer_forget_modules();
		if (fresh_store(raw_db) < 0 || fresh_store(store_db) < 0 ||
		    raw_insert(b, raw_db, &raw_ns) < 0 ||
		    ingest(b, store_db, spool, &ingest_ns) < 0)
			goto out;
		if (!round)
			cold_ingest = ingest_ns;
		if (!best_raw || raw_ns < best_raw)
			best_raw = raw_ns;
		if (!best_ingest || ingest_ns < best_ingest)
			best_ingest = ingest_ns;
	}
	if (summary(raw_db, &raw_sum) < 0 ||
	    summary(store_db, &ingest_sum) < 0)
		goto out;
	if (strcmp(raw_sum.buf, ingest_sum.buf)) {
		fprintf(stderr, "bench-ingest: the two stores differ:\n"
			"raw:\n%singest:\n%s", raw_sum.buf, ingest_sum.buf);
		goto out;
	}
	*ratio = (double)best_raw / (double)best_ingest;
	printf("%s: %zu spans in %zu files, %s\n",
	       with_stack ? "with stacks" : "no stacks", b->nspans, b->nfiles,
	       with_stack ? "one of 320 stacks of 12-20 frames each" :
			    "2-4 attributes each");
	printf("  raw prepared inserts: %8.0f spans/s\n",
	       (double)b->nspans / ((double)best_raw / 1e9));
	printf("  store_ingest_path:    %8.0f spans/s (%.2f of raw) %s\n",
	       (double)b->nspans / ((double)best_ingest / 1e9), *ratio,
	       *ratio >= 0.7 ? "PASS" : "FAIL");
	if (with_stack)
		printf("  first pass (cold):    %8.0f spans/s (%.2f of raw)\n",
		       (double)b->nspans / ((double)cold_ingest / 1e9),
		       (double)best_raw / (double)cold_ingest);
	fflush(stdout);
	ret = 0;
out:
	for (size_t f = 0; f < b->nfiles; f++) {
		char *path = xasprintf("%s/%02zu-%s-%u%s", spool, f,
				       services[b->files[f].service],
				       b->files[f].pid, SPOOL_SUFFIX);
		unlink(path);
		free(path);
	}
	remove_db(raw_db);
	remove_db(store_db);
	strbuf_release(&raw_sum);
	strbuf_release(&ingest_sum);
	return ret;
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	const char *tmp = getenv("TMPDIR");
	char dir[256], spool[300];
	const char *only = argc > 3 ? argv[3] : "";
	double plain = 1, stacked = 1;
	int ret = 2;

	b.nspans = argc > 1 ? strtoul(argv[1], NULL, 10) : 500000;
	b.nfiles = argc > 2 ? strtoul(argv[2], NULL, 10) : 12;
	if (!b.nspans || !b.nfiles || b.nfiles > 99 ||
	    (*only && strcmp(only, "plain") && strcmp(only, "stacks"))) {
		fprintf(stderr, "usage: bench-ingest [SPANS] [FILES]"
			" [plain|stacks]\n");
		return 2;
	}
	/* Symbolising must not go to the network for debug information. */
	unsetenv("DEBUGINFOD_URLS");
	snprintf(dir, sizeof(dir), "%s/bench-ingest-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		die("cannot make a directory in '%s': %s", dir,
		    strerror(errno));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	if (mkdir(spool, 0700) < 0)
		die("cannot make '%s': %s", spool, strerror(errno));

	/* One process per service, a second one of the busiest. */
	b.files = xcalloc(b.nfiles, sizeof(*b.files));
	for (size_t f = 0; f < b.nfiles; f++) {
		b.files[f].service = (int)(f % NSERVICES);
		b.files[f].pid = 10000 + (uint32_t)f * 100;
		b.files[f].nspans = b.nspans / b.nfiles +
				    (f < b.nspans % b.nfiles ? 1 : 0);
	}
	b.rows = xcalloc(b.nspans, sizeof(*b.rows));
	make_names(&b);
	make_string_ids(&b);
	make_stacks(&b);

	if ((strcmp(only, "stacks") &&
	     run_variant(&b, dir, false, &plain) < 0) ||
	    (strcmp(only, "plain") && run_variant(&b, dir, true, &stacked) < 0))
		goto out;
	ret = plain >= 0.7 && stacked >= 0.7 ? 0 : 1;
	printf("%s (target: ingest at 0.7 of raw or more)\n",
	       ret ? "FAIL" : "PASS");
out:
	rmdir(spool);
	rmdir(dir);
	free_names(&b);
	for (size_t i = 0; i < b.nstacks; i++)
		free(b.stacks[i].text);
	free(b.stacks);
	free(b.rows);
	free(b.files);
	free(b.strings);
	free(b.used);
	return ret;
}
