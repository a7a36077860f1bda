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

/* Scratch reused from span to span. */
struct convert {
	struct store_attr *attrs;
	size_t attrs_alloc;
	const char **frames;
	size_t frames_alloc;
	struct strbuf frame_text; /* all frames of a span, NUL-separated */
	size_t *frame_offs;
	size_t offs_alloc;
	char kind_buf[32];
	struct symbolizer *sym;	/* made at the first frame */
};

static void convert_release(struct convert *cv)
{
	free(cv->attrs);
	free(cv->frames);
	free(cv->frame_offs);
	strbuf_release(&cv->frame_text);
	symbolizer_free(cv->sym);
}

/* Fill SP from the decoded span S; strings stay borrowed from the reader
 * or from CV. */
static void convert_span(struct store_span *sp, struct convert *cv,
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

	/* A frame as text: "function (file:line)" where the module has
	 * line information, "function (module+0xoffset)" where it has only
	 * symbols, else "module+0xoffset symbol"; so the same code gives
	 * the same stack whatever address it was loaded at. */
	strbuf_reset(&cv->frame_text);
	ALLOC_GROW(cv->frame_offs, s->n_frames, cv->offs_alloc);
	if (s->n_frames && !cv->sym)
		cv->sym = symbolizer_new();
	for (size_t i = 0; i < s->n_frames; i++) {
		const struct spool_frame *f = &s->frames[i];
		const char *module = f->module && *f->module ? f->module : "?";
		char *func, *file;
		int line;

		cv->frame_offs[i] = cv->frame_text.len;
		if (symbolize_frame(cv->sym, f->module, f->offset, &func, &file,
				    &line) == 0) {
			if (file)
				strbuf_addf(&cv->frame_text, "%s (%s:%d)", func,
					    file, line);
			else
				strbuf_addf(&cv->frame_text,
					    "%s (%s+0x%" PRIx64 ")", func,
					    module, f->offset);
			free(func);
			free(file);
		} else {
			strbuf_addf(&cv->frame_text, "%s+0x%" PRIx64, module,
				    f->offset);
			if (f->symbol && *f->symbol)
				strbuf_addf(&cv->frame_text, " %s",
					    f->symbol);
		}
		strbuf_addch(&cv->frame_text, '\0');
	}
	ALLOC_GROW(cv->frames, s->n_frames, cv->frames_alloc);
	for (size_t i = 0; i < s->n_frames; i++)
		cv->frames[i] = cv->frame_text.buf + cv->frame_offs[i];
	sp->frames = cv->frames;
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

	strbuf_init(&cv.frame_text);
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
			struct store_span sp;

			convert_span(&sp, &cv, &rec.u.span, hdr);
			if (store_spans_add(st, run_id, &sp, 1, cause) < 0)
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
	if (!S_ISDIR(sb.st_mode))
		return ingest_file(st, path, run_id, stats, cause);
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
		int ret = ingest_file(st, names[i], run_id, stats, &c);

		if (ret < 0)
			note_failure(&first, &first_cause, &more, ret, c);
		free(names[i]);
	}
	free(names);
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
