/* ingest.c: spool files into the store, batch by batch, each batch and the
 * file position after it committed together so that nothing is stored
 * twice and nothing is lost when ingest stops anywhere. */
#include "store/ingest.h"
#include "store/store-internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "spool/spool.h"
#include "spool/symbolize.h"
#include "util/strbuf.h"

/* Records per transaction: large enough that commits cost little, small
 * enough that an interrupted ingest redoes little. */
#define INGEST_BATCH 2000

/* Frames and stacks met in one pass, each interned once, so that a
 * frame met in every span costs one lookup here rather than one in the
 * symbolizer (which itself keeps each module's symbol index and resolved
 * frames for the life of the process). A frame is known by its module,
 * dladdr's symbol and its offset (module and symbol as small ids), a
 * stack by its frames' ids. */
struct frame_slot {
	uint64_t offset;
	uint32_t module, symbol;
	uint32_t id;		/* 1 + index in texts; 0: an empty slot */
};

struct stack_slot {
	uint64_t hash;
	uint32_t *ids;		/* NULL: an empty slot */
	size_t n;
	const char **frames;	/* the frames' texts, borrowed from texts */
	char *text;		/* the frames joined as the store has them */
	size_t len;
	uint64_t key;		/* idmap_hash of text */
};

struct frame_cache {
	struct symbolizer *sym;	/* made at the first frame */
	struct idmap names;	/* module paths and symbols → id */
	int64_t nnames;
	struct frame_slot *fslots;
	size_t nfslots, nframes;
	char **texts;		/* frame id - 1 → its text */
	size_t texts_alloc;
	struct stack_slot *sslots;
	size_t nsslots, nstacks;
	uint32_t *ids;		/* scratch: this span's frame ids */
	size_t ids_alloc;
};

static void frame_cache_release(struct frame_cache *fc)
{
	symbolizer_free(fc->sym);
	idmap_release(&fc->names);
	free(fc->fslots);
	for (size_t i = 0; i < fc->nframes; i++)
		free(fc->texts[i]);
	free(fc->texts);
	for (size_t i = 0; i < fc->nsslots; i++) {
		free(fc->sslots[i].ids);
		free(fc->sslots[i].frames);
		free(fc->sslots[i].text);
	}
	free(fc->sslots);
	free(fc->ids);
	memset(fc, 0, sizeof(*fc));
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static uint32_t name_id(struct frame_cache *fc, const char *s)
{
	size_t len = strlen(s);
	uint64_t hash = idmap_hash(s, len);
	int64_t id = idmap_get(&fc->names, s, len, hash);

	if (!id) {
		id = ++fc->nnames;
		idmap_put(&fc->names, s, len, hash, id);
	}
	return (uint32_t)id;
}

/* A frame as text: "function (file:line)" where the module has line
 * information, "function (module+0xoffset)" where it has only symbols,
 * else "module+0xoffset symbol"; so the same code gives the same stack
 * whatever address it was loaded at. */
static char *frame_text(struct frame_cache *fc, const struct spool_frame *f)
{
	const char *module = f->module && *f->module ? f->module : "?";
	char *func, *file, *text;
	int line;

	if (!fc->sym)
		fc->sym = symbolizer_new();
	if (symbolize_frame(fc->sym, f->module, f->offset, &func, &file,
			    &line) == 0) {
		if (file)
			text = xasprintf("%s (%s:%d)", func, file, line);
		else
			text = xasprintf("%s (%s+0x%" PRIx64 ")", func, module,
					 f->offset);
		free(func);
		free(file);
	} else if (f->symbol && *f->symbol) {
		text = xasprintf("%s+0x%" PRIx64 " %s", module, f->offset,
				 f->symbol);
	} else {
		text = xasprintf("%s+0x%" PRIx64, module, f->offset);
	}
	return text;
}

static size_t frame_slot_of(const struct frame_slot *e, size_t mask)
{
	return (size_t)mix64(mix64(e->offset, e->module), e->symbol) & mask;
}

static void grow_frames(struct frame_cache *fc)
{
	size_t n = fc->nfslots ? 2 * fc->nfslots : 256;
	struct frame_slot *slots = xcalloc(n, sizeof(*slots));

	for (size_t i = 0; i < fc->nfslots; i++) {
		size_t j;

		if (!fc->fslots[i].id)
			continue;
		j = frame_slot_of(&fc->fslots[i], n - 1);
		while (slots[j].id)
			j = (j + 1) & (n - 1);
		slots[j] = fc->fslots[i];
	}
	free(fc->fslots);
	fc->fslots = slots;
	fc->nfslots = n;
}

/* The id of frame F, symbolised the first time it is met. */
static uint32_t frame_id(struct frame_cache *fc, const struct spool_frame *f)
{
	struct frame_slot key = {
		.offset = f->offset,
		.module = name_id(fc, f->module ? f->module : ""),
		.symbol = name_id(fc, f->symbol ? f->symbol : ""),
	};
	struct frame_slot *e;
	size_t j, mask;

	if ((fc->nframes + 1) * 2 > fc->nfslots)
		grow_frames(fc);
	mask = fc->nfslots - 1;
	for (j = frame_slot_of(&key, mask);; j = (j + 1) & mask) {
		e = &fc->fslots[j];
		if (!e->id)
			break;
		if (e->offset == key.offset && e->module == key.module &&
		    e->symbol == key.symbol)
			return e->id;
	}
	ALLOC_GROW(fc->texts, fc->nframes + 1, fc->texts_alloc);
	fc->texts[fc->nframes] = frame_text(fc, f);
	*e = key;
	e->id = (uint32_t)++fc->nframes;
	return e->id;
}

static void grow_stacks(struct frame_cache *fc)
{
	size_t n = fc->nsslots ? 2 * fc->nsslots : 256;
	struct stack_slot *slots = xcalloc(n, sizeof(*slots));

	for (size_t i = 0; i < fc->nsslots; i++) {
		size_t j;

		if (!fc->sslots[i].ids)
			continue;
		j = (size_t)fc->sslots[i].hash & (n - 1);
		while (slots[j].ids)
			j = (j + 1) & (n - 1);
		slots[j] = fc->sslots[i];
	}
	free(fc->sslots);
	fc->sslots = slots;
	fc->nsslots = n;
}

/* The stack of the N frames of a span; borrowed from FC until its
 * release. */
static const struct stack_slot *stack_of(struct frame_cache *fc,
					 const struct spool_frame *frames,
					 size_t n)
{
	struct strbuf text = STRBUF_INIT;
	struct stack_slot *e;
	uint64_t hash = n;
	size_t j, mask;

	ALLOC_GROW(fc->ids, n, fc->ids_alloc);
	for (size_t i = 0; i < n; i++) {
		fc->ids[i] = frame_id(fc, &frames[i]);
		hash = mix64(hash, fc->ids[i]);
	}
	if ((fc->nstacks + 1) * 2 > fc->nsslots)
		grow_stacks(fc);
	mask = fc->nsslots - 1;
	for (j = (size_t)hash & mask;; j = (j + 1) & mask) {
		e = &fc->sslots[j];
		if (!e->ids)
			break;
		if (e->hash == hash && e->n == n &&
		    !memcmp(e->ids, fc->ids, n * sizeof(*fc->ids)))
			return e;
	}
	e->hash = hash;
	e->n = n;
	e->ids = xmalloc(n * sizeof(*e->ids));
	memcpy(e->ids, fc->ids, n * sizeof(*e->ids));
	e->frames = xmalloc(n * sizeof(*e->frames));
	for (size_t i = 0; i < n; i++) {
		e->frames[i] = fc->texts[fc->ids[i] - 1];
		if (i)
			strbuf_addch(&text, '\n');
		strbuf_addstr(&text, e->frames[i]);
	}
	e->text = strbuf_detach(&text, &e->len);
	e->key = idmap_hash(e->text, e->len);
	fc->nstacks++;
	return e;
}

/* Scratch reused from span to span. */
struct convert {
	struct store_attr *attrs;
	size_t attrs_alloc;
	char kind_buf[32];
	struct frame_cache *frames;	/* the pass's */
};

static void convert_release(struct convert *cv)
{
	free(cv->attrs);
}

/* Fill SP from the decoded span S; strings stay borrowed from the reader
 * or from CV. Its stack, if it has one, is *STACK. */
static void convert_span(struct store_span *sp,
			 const struct stack_slot **stack, struct convert *cv,
			 const struct spool_span *s,
			 const struct spool_header *hdr)
{
	const char *kind = spool_kind_name(s->kind);

	memset(sp, 0, sizeof(*sp));
	memcpy(sp->trace_id, s->trace_id, 16);
	sp->span_id = s->span_id;
	sp->parent_id = s->parent_id;
	if (!kind) {
		/* A newer writer's kind: keep it under a name of its own. */
		snprintf(cv->kind_buf, sizeof(cv->kind_buf), "kind.%u",
			 s->kind);
		kind = cv->kind_buf;
	}
	sp->kind = kind;
	sp->name = s->name ? s->name : "";
	sp->message = s->message && *s->message ? s->message : NULL;
	sp->service = s->service && *s->service ? s->service : hdr->service;
	sp->host = s->host && *s->host ? s->host : hdr->host;
	if (sp->service && !*sp->service)
		sp->service = NULL;
	if (sp->host && !*sp->host)
		sp->host = NULL;
	sp->pid = s->pid ? s->pid : hdr->pid;
	sp->tid = s->tid;
	sp->start_ns = (int64_t)s->start_ns;
	sp->dur_ns = (int64_t)s->dur_ns;
	sp->status = s->status == SPOOL_STATUS_ERROR ? STORE_SPAN_ERROR :
						       STORE_SPAN_OK;

	ALLOC_GROW(cv->attrs, s->n_attrs, cv->attrs_alloc);
	for (size_t i = 0; i < s->n_attrs; i++) {
		const struct spool_attr *a = &s->attrs[i];
		struct store_attr *b = &cv->attrs[i];

		b->key = a->key;
		switch (a->type) {
		case SPOOL_ATTR_INT:
			b->type = STORE_ATTR_INT;
			b->v.i = a->v.i;
			break;
		case SPOOL_ATTR_DOUBLE:
			b->type = STORE_ATTR_DOUBLE;
			b->v.d = a->v.d;
			break;
		case SPOOL_ATTR_BOOL:
			b->type = STORE_ATTR_BOOL;
			b->v.b = a->v.b != 0;
			break;
		default:
			b->type = STORE_ATTR_TEXT;
			b->v.s = a->v.s ? a->v.s : "";
			break;
		}
	}
	sp->attrs = cv->attrs;
	sp->nattrs = s->n_attrs;

	*stack = s->n_frames ? stack_of(cv->frames, s->frames, s->n_frames) :
			       NULL;
	sp->frames = *stack ? (*stack)->frames : NULL;
	sp->nframes = s->n_frames;
}

/* The state of one file being ingested. */
struct file_pass {
	const char *key;	/* real path: the positions key */
	struct store_position pos;
	int64_t corrupt;	/* corrupt records in the current batch */
};

/* Write the position and the batch's corrupt count, then commit. */
static int end_batch(struct store *st, struct file_pass *fp,
		     const struct spool_header *hdr, int64_t run_id,
		     char **cause)
{
	if (fp->corrupt &&
	    store_drops_add(st, run_id, hdr->service, hdr->pid, 0,
			    fp->corrupt, cause) < 0)
		return -1;
	fp->corrupt = 0;
	if (store_position_set(st, fp->key, &fp->pos, cause) < 0)
		return -1;
	return store_tx_commit(st, cause);
}

static int ingest_file(struct store *st, const char *path, int64_t run_id,
		       struct frame_cache *fc,
		       struct store_ingest_stats *stats, char **cause)
{
	struct file_pass fp = { 0 };
	struct convert cv = { 0 };
	struct spool_reader *r = NULL;
	const struct spool_header *hdr;
	struct spool_record rec;
	struct stat sb;
	char *key = NULL, *identity = NULL, *open_cause = NULL;
	bool found, in_tx = false;
	size_t nbatch = 0;
	int rc, ret = -1;

	cv.frames = fc;
	key = realpath(path, NULL);
	if (!key || stat(key, &sb) < 0) {
		ret = store_fail(cause, STORE_ENOENT, "cannot read '%s': %s",
				 path, strerror(errno));
		goto out;
	}
	fp.key = key;
	rc = spool_reader_open(&r, path, &open_cause);
	if (rc == SPOOL_ETORN) {
		/* The writer has not finished the header: next pass. */
		free(open_cause);
		stats->files_pending++;
		ret = 0;
		goto out;
	}
	if (rc < 0) {
		ret = rc == SPOOL_EVERSION ? STORE_EVERSION :
		      rc == SPOOL_EFORMAT  ? STORE_EFORMAT :
					     -1;
		if (cause)
			*cause = open_cause;
		else
			free(open_cause);
		goto out;
	}
	hdr = spool_reader_header(r);
	identity = xasprintf("%s/%s/%" PRIu32 "/%" PRIu64,
			     hdr->service ? hdr->service : "",
			     hdr->host ? hdr->host : "", hdr->pid,
			     hdr->start_ns);
	if (store_position_get(&fp.pos, &found, st, key, cause) < 0)
		goto out;
	if (found && (!fp.pos.identity || strcmp(fp.pos.identity, identity))) {
		/* Another writer's file now lives at this path: its records
		 * are new ones, read from the start. */
		found = false;
	}
	if (found && (uint64_t)fp.pos.offset > (uint64_t)sb.st_size) {
		ret = store_fail(cause, STORE_EFORMAT,
				 "'%s' is shorter (%lld bytes) than what was "
				 "already ingested (%lld bytes): not read "
				 "again",
				 path, (long long)sb.st_size,
				 (long long)fp.pos.offset);
		goto out;
	}
	if (!found) {
		store_position_release(&fp.pos);
		memset(&fp.pos, 0, sizeof(fp.pos));
		fp.pos.offset = (int64_t)spool_reader_data_offset(r);
	}
	free(fp.pos.identity);
	fp.pos.identity = identity;
	identity = NULL;
	fp.pos.device = (int64_t)sb.st_dev;
	fp.pos.inode = (int64_t)sb.st_ino;
	fp.pos.run_id = run_id;
	spool_reader_seek(r, (uint64_t)fp.pos.offset);
	stats->files++;

	for (;;) {
		if (!in_tx) {
			if (store_tx_begin(st, cause) < 0)
				goto out;
			in_tx = true;
		}
		rc = spool_reader_next(r, &rec, cause);
		if (rc == SPOOL_READ_EOF)
			break;
		if (rc == SPOOL_READ_TORN) {
			stats->torn++;
			break;
		}
		if (rc == SPOOL_READ_ERROR)
			goto out;
		if (rc == SPOOL_READ_CORRUPT) {
			fp.corrupt++;
			fp.pos.corrupt++;
			stats->corrupt++;
			stats->corrupt_bytes += (int64_t)rec.skipped;
		} else if (rec.type == SPOOL_RECORD_SPAN &&
			   rec.version <= SPOOL_VERSION) {
			const struct stack_slot *stack;
			struct store_span sp;
			int64_t stack_id = 0;

			convert_span(&sp, &stack, &cv, &rec.u.span, hdr);
			if ((stack &&
			     store_stack_intern(&stack_id, st, stack->text,
						stack->len, stack->key,
						cause) < 0) ||
			    store_span_insert(st, run_id, &sp, stack_id,
					      cause) < 0)
				goto out;
			stats->spans++;
			stats->records++;
		} else if (rec.type == SPOOL_RECORD_DROPPED &&
			   rec.version <= SPOOL_VERSION) {
			if (store_drops_add(st, run_id, hdr->service, hdr->pid,
					    (int64_t)rec.u.dropped.count, 0,
					    cause) < 0)
				goto out;
			stats->dropped += (int64_t)rec.u.dropped.count;
			stats->records++;
		} else if (rec.type == SPOOL_RECORD_THREAD &&
			   rec.version <= SPOOL_VERSION) {
			if (store_thread_name_set(st, run_id, hdr->service,
						  hdr->pid, rec.u.thread.tid,
						  rec.u.thread.name, cause) < 0)
				goto out;
			stats->records++;
		} else {
			/* Record types or versions a newer writer knows:
			 * consumed, not stored. */
			stats->records++;
		}
		if (rc == SPOOL_READ_OK)
			fp.pos.records++;
		fp.pos.offset = (int64_t)spool_reader_offset(r);
		if (++nbatch == INGEST_BATCH) {
			in_tx = false;
			if (end_batch(st, &fp, hdr, run_id, cause) < 0)
				goto out;
			nbatch = 0;
		}
	}
	in_tx = false;
	if (end_batch(st, &fp, hdr, run_id, cause) < 0)
		goto out;
	ret = 0;
out:
	if (in_tx)
		store_tx_rollback(st);
	if (ret < 0)
		stats->files_failed++;
	store_position_release(&fp.pos);
	convert_release(&cv);
	spool_reader_free(r);
	free(identity);
	free(key);
	return ret;
}

static int is_spool_name(const char *name)
{
	size_t len = strlen(name), slen = strlen(SPOOL_SUFFIX);

	return name[0] != '.' && len > slen &&
	       !strcmp(name + len - slen, SPOOL_SUFFIX);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep the first failure's code and cause; count the others. */
static void note_failure(int *first, char **first_cause, int *more, int ret,
			 char *cause)
{
	if (!*first) {
		*first = ret;
		*first_cause = cause;
	} else {
		(*more)++;
		free(cause);
	}
}

int store_ingest_path(struct store *st, const char *path, int64_t run_id,
		      struct store_ingest_stats *stats, char **cause)
{
	struct frame_cache fc = { 0 };
	char **names = NULL, *first_cause = NULL;
	size_t n = 0, alloc = 0;
	int first = 0, more = 0;
	struct dirent *de;
	struct stat sb;
	DIR *dir;

	if (run_id) {
		struct store_run *run;
		int ret = store_run_get(&run, st, run_id, cause);

		if (ret < 0)
			return ret;
		store_run_free(run);
	}
	if (stat(path, &sb) < 0)
		return store_fail(cause, STORE_ENOENT, "cannot read '%s': %s",
				  path, strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		first = ingest_file(st, path, run_id, &fc, stats, cause);
		frame_cache_release(&fc);
		return first;
	}
	dir = opendir(path);
	if (!dir)
		return store_fail(cause, -1, "cannot read '%s': %s", path,
				  strerror(errno));
	while ((de = readdir(dir))) {
		if (!is_spool_name(de->d_name))
			continue;
		ALLOC_GROW(names, n + 1, alloc);
		names[n++] = xasprintf("%s/%s", path, de->d_name);
	}
	closedir(dir);
	/* In name order, so that two passes see files alike. */
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *c = NULL;
		int ret = ingest_file(st, names[i], run_id, &fc, stats, &c);

		if (ret < 0)
			note_failure(&first, &first_cause, &more, ret, c);
		free(names[i]);
	}
	free(names);
	frame_cache_release(&fc);
	if (!first)
		return 0;
	if (more && cause) {
		*cause = xasprintf("%s (and %d more file%s failed)",
				   first_cause, more, more == 1 ? "" : "s");
		free(first_cause);
	} else if (cause) {
		*cause = first_cause;
	} else {
		free(first_cause);
	}
	return first;
}
