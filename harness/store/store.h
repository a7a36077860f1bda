/* store.h: the harness store, one SQLite file (WAL) holding runs, the git
 * commits they ran against, iterations, spans and ingest bookkeeping.
 *
 * Nothing outside harness/store/ writes SQL: every question another module
 * asks of the store is a function here.
 *
 * Conventions. Functions return 0 on success and a negative value on
 * failure; where they take `char **cause`, a failure sets *cause to a
 * message the caller frees ("cannot open 'x.db': disk full"). Strings that
 * the store hands back inside a struct belong to that struct and live until
 * its free function is called. Strings passed in are copied or written
 * before the call returns; the caller keeps them. */
#ifndef HARNESS_STORE_H
#define HARNESS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema version this harness writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 3
/* PRAGMA application_id of a harness store: "HRNS". */
#define STORE_APPLICATION_ID 0x48524e53

struct store;

/* Open the store at PATH. A missing file, an empty file or an SQLite
 * database without any table is initialised; an older harness store is
 * migrated. Anything else is refused without being written to: a file that
 * is not SQLite, an SQLite database with someone else's tables, or a store
 * written by a newer harness. Refusals return STORE_ENOTSTORE or
 * STORE_ENEWER, other failures -1. */
int store_open(struct store **out, const char *path, char **cause);
#define STORE_ENOTSTORE (-2)
#define STORE_ENEWER (-3)
/* Close and free; accepts NULL. Rolls back an open transaction. */
void store_free(struct store *st);
/* The path the store was opened with. Borrowed from st. */
const char *store_path(const struct store *st);
/* The schema version of the open store (after migration). */
int store_schema_version(const struct store *st);

/* Transactions. They nest: only the outermost begin and commit reach
 * SQLite, and a rollback at any depth rolls back the whole transaction
 * (the inner commits then fail). Functions that write open their own
 * transaction when none is open, so a caller only needs these to group
 * several writes into one. */
int store_tx_begin(struct store *st, char **cause);
int store_tx_commit(struct store *st, char **cause);
void store_tx_rollback(struct store *st);

/* Intern a string (service, host, span name, attribute key) and give its
 * id. Ids are stable for the life of the store file. */
int store_intern(int64_t *id, struct store *st, const char *s, char **cause);

/* The commit of one repository under test. */
struct store_commit {
	const char *repo;	/* project name from the config */
	const char *path;	/* repository path, as configured */
	const char *sha;	/* full hex sha */
	const char *branch;	/* NULL when HEAD is detached */
	bool dirty;		/* modified, staged or untracked files */
	const char *subject;	/* first line of the message */
	int64_t time;		/* commit time, unix seconds */
};

/* Find or add the commit row for C; *id is its id. */
int store_commit_upsert(int64_t *id, struct store *st,
			const struct store_commit *c, char **cause);

enum store_run_status {
	STORE_RUN_RUNNING,
	STORE_RUN_OK,
	STORE_RUN_FAILED,
	STORE_RUN_INTERRUPTED,
};
/* "running", "ok", "failed", "interrupted". Static string. */
const char *store_run_status_name(enum store_run_status s);

/* What a run is created with. */
struct store_run_info {
	const char *scenario;		/* required */
	const char *label;		/* may be NULL */
	const char *config_hash;	/* required: sha256 hex */
	const char *config;		/* config text or path; may be NULL */
	const char *host;		/* may be NULL */
	int64_t start_ns;		/* unix ns */
	const char *runner_json;	/* runner settings as JSON; may be NULL */
};

/* Create a run with status running; *run_id is its id (never 0). */
int store_run_create(int64_t *run_id, struct store *st,
		     const struct store_run_info *info, char **cause);
/* Record the commit C as one of the run's (upserting it). */
int store_run_add_commit(struct store *st, int64_t run_id,
			 const struct store_commit *c, char **cause);
/* Set the run's final status, its reason (NULL for none) and end time. */
int store_run_finish(struct store *st, int64_t run_id,
		     enum store_run_status status, const char *reason,
		     int64_t end_ns, char **cause);

/* A run as read back. Every pointer belongs to the struct. */
struct store_run {
	int64_t id;
	char *scenario;
	char *label;		/* NULL if none */
	char *config_hash;
	char *config;		/* NULL if none */
	char *host;		/* NULL if none */
	int64_t start_ns;
	int64_t end_ns;		/* 0 while running */
	enum store_run_status status;
	char *status_reason;	/* NULL if none */
	char *runner_json;	/* NULL if none */
	int64_t spans_dropped;
	int64_t niterations;	/* rows in iterations */
	int64_t nspans;		/* rows in spans */
	struct store_commit *commits; /* ordered by repo name */
	size_t ncommits;
};

/* Read run ID. Returns STORE_ENOENT (cause set) if there is none. */
int store_run_get(struct store_run **out, struct store *st, int64_t id,
		  char **cause);
#define STORE_ENOENT (-4)
/* Free a run from store_run_get; accepts NULL. */
void store_run_free(struct store_run *run);

/* Runs newest first (by start time, then id), of SCENARIO only when not
 * NULL, at most LIMIT of them when LIMIT > 0. *out is an array of *n runs
 * (their commits filled in) freed with store_runs_free. */
int store_runs_list(struct store_run **out, size_t *n, struct store *st,
		    const char *scenario, size_t limit, char **cause);
void store_runs_free(struct store_run *runs, size_t n);

/* The newest run of SCENARIO with CONFIG_HASH whose commits include SHA in
 * the repository named REPO (REPO NULL: in any repository). Only runs with
 * status ok count when OK_ONLY. A run on a clean checkout of SHA is
 * preferred to a newer one on a dirty work tree. *run_id is 0 when there
 * is none. */
int store_run_find(int64_t *run_id, struct store *st, const char *scenario,
		   const char *config_hash, const char *repo, const char *sha,
		   bool ok_only, char **cause);

/* One timed step of an iteration. */
struct store_step {
	const char *name;
	int64_t start_ns;
	int64_t dur_ns;
	bool ok;
	const char *error;	/* NULL when ok */
};

/* One iteration of a run: a root span of the load driver. */
struct store_iteration {
	int64_t seq;		/* 0-based order of the iteration in the run */
	uint8_t trace_id[16];
	bool warmup;
	bool ok;
	const char *error;	/* NULL when ok */
	int64_t intended_start_ns; /* when the runner meant to start it */
	int64_t start_ns;
	int64_t dur_ns;
	struct store_step *steps;
	size_t nsteps;
};

/* Add an iteration and its steps to run RUN_ID. */
int store_iteration_add(struct store *st, int64_t run_id,
			const struct store_iteration *it, char **cause);
/* The iterations of a run ordered by seq, steps by index. *out is an
 * array of *n, freed with store_iterations_free (which frees the strings
 * and steps too). */
int store_iterations_get(struct store_iteration **out, size_t *n,
			 struct store *st, int64_t run_id, char **cause);
void store_iterations_free(struct store_iteration *its, size_t n);

enum store_attr_type {
	STORE_ATTR_INT,
	STORE_ATTR_DOUBLE,
	STORE_ATTR_TEXT,
	STORE_ATTR_BOOL,
};

struct store_attr {
	const char *key;
	enum store_attr_type type;
	union {
		int64_t i;
		double d;
		const char *s;
		bool b;
	} v;
};

enum store_span_status {
	STORE_SPAN_OK = 0,
	STORE_SPAN_ERROR = 1,
};

/* A span, to add or as read back. Span and parent ids are 64-bit values
 * stored in SQLite's signed INTEGER (the same bits). */
struct store_span {
	int64_t id;		/* row id; set when read back */
	int64_t run_id;		/* set when read back; 0 for none */
	uint8_t trace_id[16];
	uint64_t span_id;	/* never 0 */
	uint64_t parent_id;	/* 0 for a root */
	const char *kind;	/* "rest.call", "db", ... (DESIGN.md) */
	const char *name;
	const char *service;	/* may be NULL */
	const char *host;	/* may be NULL */
	int64_t pid;
	int64_t tid;
	int64_t start_ns;	/* unix ns */
	int64_t dur_ns;
	enum store_span_status status;
	const char *message;	/* NULL if none */
	const char *const *frames; /* stack, innermost first; NULL if none */
	size_t nframes;
	const struct store_attr *attrs;
	size_t nattrs;
};

/* Add N spans for RUN_ID (0: spans that belong to no run) in one
 * transaction (or inside the caller's). Strings are interned, stacks
 * deduplicated. */
int store_spans_add(struct store *st, int64_t run_id,
		    const struct store_span *spans, size_t n, char **cause);

/* Called once per span read back. SPAN and everything it points to is
 * borrowed for the call only. A non-zero return stops the walk and is
 * returned by the function that walks. */
typedef int (*store_span_fn)(const struct store_span *span, void *payload);

/* Every span of RUN_ID (0: of no run), ordered by trace id, then start
 * time, then row id, so that the spans of one trace come together. */
int store_spans_each(struct store *st, int64_t run_id, store_span_fn fn,
		     void *payload, char **cause);
/* The spans of one trace in RUN_ID, by start time then row id. */
int store_trace_spans_each(struct store *st, int64_t run_id,
			   const uint8_t trace_id[16], store_span_fn fn,
			   void *payload, char **cause);

/* One trace of the store as a list shows it. */
struct store_trace {
	uint8_t trace_id[16];
	int64_t run_id;		/* 0 for none */
	int64_t iteration;	/* seq of the run's iteration that recorded
				 * it; -1 for none */
	char *root_name;	/* the longest parentless span's; NULL if none */
	char *services;		/* distinct services, sorted, comma-separated;
				 * NULL if no span names one */
	int64_t start_ns;	/* earliest span start */
	int64_t dur_ns;		/* to the latest span end */
	int64_t nspans;
	int64_t nerrors;	/* spans with status error */
};

/* The traces of RUN_ID (0: of no run; negative: of every run), newest
 * first, at most LIMIT when LIMIT > 0. *out is an array of *n freed with
 * store_traces_free. A trace id found in two runs gives two rows. */
int store_traces_list(struct store_trace **out, size_t *n, struct store *st,
		      int64_t run_id, size_t limit, char **cause);
void store_traces_free(struct store_trace *traces, size_t n);

/* The trace whose hex id starts with PREFIX (1 to 32 hex digits, any
 * case), in run IN_RUN (0: of no run; negative: any run): its id and its
 * run (0 for none). STORE_ENOENT when none matches, STORE_EAMBIGUOUS when
 * several traces (or one trace in several runs) do; *cause says which. */
int store_trace_find(uint8_t trace_id[16], int64_t *run_id, struct store *st,
		     const char *prefix, int64_t in_run, char **cause);
#define STORE_EAMBIGUOUS (-5)

/* A span's timing: the columns that analysis needs, nothing else. The
 * strings are borrowed for the call only. */
struct store_span_timing {
	uint8_t trace_id[16];
	uint64_t span_id;
	uint64_t parent_id;
	const char *kind;
	const char *name;
	const char *service;	/* NULL when none */
	int64_t start_ns;
	int64_t dur_ns;
	enum store_span_status status;
};

typedef int (*store_timing_fn)(const struct store_span_timing *span,
			       void *payload);

/* The timing of every span of RUN_ID (0: of no run), the spans of one
 * trace together, traces in trace id order; the order within a trace is
 * unspecified. No attributes, stacks or messages are read, so this is the
 * fast walk for aggregates over millions of spans. Stops like
 * store_spans_each. */
int store_span_timings_each(struct store *st, int64_t run_id,
			    store_timing_fn fn, void *payload, char **cause);

/* How far ingest has read one spool file. IDENTITY names the file's
 * writer (from its header) so that a file replaced at the same path is
 * read from the start again. */
struct store_position {
	int64_t device;
	int64_t inode;
	char *identity;		/* owned by the struct */
	int64_t offset;		/* bytes consumed, header included */
	int64_t records;	/* records consumed */
	int64_t corrupt;	/* corrupt records skipped so far */
	int64_t run_id;		/* 0 for none */
};

/* Read the position of PATH; *found is false (and *pos zeroed) if the file
 * was never ingested. Release with store_position_release. */
int store_position_get(struct store_position *pos, bool *found,
		       struct store *st, const char *path, char **cause);
/* Write the position of PATH. Call it inside the transaction that added
 * the spans read up to POS->offset, so the two never disagree. */
int store_position_set(struct store *st, const char *path,
		       const struct store_position *pos, char **cause);
void store_position_release(struct store_position *pos);
/* Forget the positions of every file under directory DIR (which is gone:
 * its files will not be read again). */
int store_positions_forget(struct store *st, const char *dir, char **cause);

/* Add to the drop counts of (RUN_ID, SERVICE, PID): spans the writer
 * reported dropped and records ingest found corrupt. The run's
 * spans_dropped total grows by SPANS_DROPPED too. */
int store_drops_add(struct store *st, int64_t run_id, const char *service,
		    int64_t pid, int64_t spans_dropped, int64_t corrupt,
		    char **cause);
/* Add N to the spans of (RUN_ID, SERVICE, PID) that were stored as func
 * because harness has no kind for their operation. */
int store_unmapped_add(struct store *st, int64_t run_id, const char *service,
		       int64_t pid, int64_t n, char **cause);
/* The unmapped spans of RUN_ID (0: of no run). */
int store_unmapped_total(int64_t *n, struct store *st, int64_t run_id,
			 char **cause);
/* Totals of the drops of RUN_ID (0: of no run). */
int store_drops_total(int64_t *spans_dropped, int64_t *corrupt,
		      struct store *st, int64_t run_id, char **cause);

/* Thread names: set the name of thread TID of (RUN_ID, SERVICE, PID),
 * replacing an earlier one; get it (*name NULL when none is known; the
 * caller frees it). */
int store_thread_name_set(struct store *st, int64_t run_id,
			  const char *service, int64_t pid, int64_t tid,
			  const char *name, char **cause);
int store_thread_name_get(char **name, struct store *st, int64_t run_id,
			  const char *service, int64_t pid, int64_t tid,
			  char **cause);

#endif
