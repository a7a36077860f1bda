/* ingest.h: reading spool files into the store. The one path by which
 * spans enter it: libhtrace's files, the collector's, an importer's.
 *
 * Ingest is idempotent and resumable. For each file it stores how far it
 * read (keyed by the file's real path, with the writer's identity from the
 * header) in the same transaction as the spans read up to there, so that
 * running it twice stores nothing twice, a file that grew is continued,
 * and a torn tail (a record still being written) is left for the next
 * pass. A corrupt record is skipped and counted, in the stats and in the
 * store's drops. */
#ifndef HARNESS_STORE_INGEST_H
#define HARNESS_STORE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A spool file of an unknown format version, or a file that is not a
 * spool file at all: bad input data. */
#define STORE_EVERSION (-5)
#define STORE_EFORMAT (-6)

/* What one ingest did; store_ingest_path adds to it (zero it first). */
struct store_ingest_stats {
	int64_t files;		/* spool files read */
	int64_t files_pending;	/* header not complete yet: left for later */
	int64_t files_failed;	/* not ingested: see the cause */
	int64_t records;	/* records consumed in this pass */
	int64_t spans;		/* spans stored in this pass */
	int64_t dropped;	/* spans the writers reported dropped */
	int64_t corrupt;	/* corrupt records skipped in this pass */
	int64_t corrupt_bytes;	/* bytes they took */
	int64_t torn;		/* files whose torn tail was left */
};

/* Ingest PATH, a spool file or a directory (its files named *.htspool,
 * not recursing), into ST for run RUN_ID (0: spans of no run). A file that
 * fails does not stop the others: every readable file is ingested, and
 * the first failure is returned (STORE_EVERSION, STORE_EFORMAT,
 * STORE_ENOENT for a missing path or run, -1 otherwise) with *cause
 * naming it, and how many more failed. */
int store_ingest_path(struct store *st, const char *path, int64_t run_id,
		      struct store_ingest_stats *stats, char **cause);

#endif
