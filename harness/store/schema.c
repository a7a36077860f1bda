/* schema.c: the store's schema as numbered migrations. Migration N takes a
 * store from user_version N-1 to N; they run in order, each store_open, in
 * one transaction. A released migration is never edited: add the next. */
#include "store/store-internal.h"

static const char migration_1[] =
	/* Interned strings: services, hosts, span names, attribute keys. */
	"CREATE TABLE strings ("
	"  id INTEGER PRIMARY KEY,"
	"  s TEXT NOT NULL UNIQUE);"

	/* Span kinds, a small fixed table (more names are added on demand
	 * so that a newer writer's kind is kept, not lost). */
	"CREATE TABLE kinds ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE);"
	"INSERT INTO kinds(id, name) VALUES"
	"  (1, 'rest.call'), (2, 'rest.dispatch'), (3, 'rpc.call'),"
	"  (4, 'rpc.cast'), (5, 'rpc.dispatch'), (6, 'db'), (7, 'lib'),"
	"  (8, 'thread.spawn'), (9, 'thread.main'), (10, 'exec'),"
	"  (11, 'func'), (12, 'iteration'), (13, 'step');"

	/* The state of one repository under test. */
	"CREATE TABLE commits ("
	"  id INTEGER PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  path TEXT,"
	"  sha TEXT NOT NULL,"
	"  branch TEXT,"
	"  dirty INTEGER NOT NULL DEFAULT 0,"
	"  subject TEXT,"
	"  commit_time INTEGER);"
	"CREATE INDEX commits_sha ON commits(sha, repo);"

	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  scenario TEXT NOT NULL,"
	"  label TEXT,"
	"  config_hash TEXT NOT NULL,"
	"  config TEXT,"
	"  host TEXT,"
	"  start_ns INTEGER NOT NULL,"
	"  end_ns INTEGER,"
	"  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN"
	"    ('running', 'ok', 'failed', 'interrupted')),"
	"  status_reason TEXT,"
	"  runner TEXT,"
	"  spans_dropped INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX runs_scenario ON runs(scenario, config_hash, start_ns);"

	"CREATE TABLE run_commits ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  commit_id INTEGER NOT NULL REFERENCES commits(id),"
	"  PRIMARY KEY (run_id, commit_id));"
	"CREATE INDEX run_commits_commit ON run_commits(commit_id, run_id);"

	"CREATE TABLE iterations ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  trace_id BLOB,"
	"  warmup INTEGER NOT NULL DEFAULT 0,"
	"  ok INTEGER NOT NULL,"
	"  error TEXT,"
	"  intended_start_ns INTEGER,"
	"  start_ns INTEGER,"
	"  dur_ns INTEGER,"
	"  UNIQUE (run_id, seq));"

	"CREATE TABLE iteration_steps ("
	"  iteration INTEGER NOT NULL"
	"    REFERENCES iterations(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  start_ns INTEGER,"
	"  dur_ns INTEGER,"
	"  ok INTEGER NOT NULL,"
	"  error TEXT,"
	"  PRIMARY KEY (iteration, idx));"

	/* Stack traces, deduplicated: hash is a 64-bit FNV-1a of frames. */
	"CREATE TABLE stacks ("
	"  id INTEGER PRIMARY KEY,"
	"  hash INTEGER NOT NULL,"
	"  frames TEXT NOT NULL);"
	"CREATE INDEX stacks_hash ON stacks(hash);"

	/* Span and parent ids are unsigned 64-bit values kept in INTEGER's
	 * signed 64 bits. status: 0 ok, 1 error. */
	"CREATE TABLE spans ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
	"  trace_id BLOB NOT NULL,"
	"  span_id INTEGER NOT NULL,"
	"  parent_id INTEGER NOT NULL DEFAULT 0,"
	"  kind INTEGER NOT NULL REFERENCES kinds(id),"
	"  name_id INTEGER NOT NULL REFERENCES strings(id),"
	"  service_id INTEGER REFERENCES strings(id),"
	"  host_id INTEGER REFERENCES strings(id),"
	"  pid INTEGER,"
	"  tid INTEGER,"
	"  start_ns INTEGER NOT NULL,"
	"  dur_ns INTEGER NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  message TEXT,"
	"  stack_id INTEGER REFERENCES stacks(id));"
	"CREATE INDEX spans_run_trace ON spans(run_id, trace_id);"

	/* type: 0 int, 1 double, 2 text, 3 bool (value holds 0 or 1). */
	"CREATE TABLE span_attrs ("
	"  span INTEGER NOT NULL REFERENCES spans(id) ON DELETE CASCADE,"
	"  key_id INTEGER NOT NULL REFERENCES strings(id),"
	"  type INTEGER NOT NULL,"
	"  value);"
	"CREATE INDEX span_attrs_span ON span_attrs(span);"

	"CREATE TABLE ingest_positions ("
	"  path TEXT PRIMARY KEY,"
	"  device INTEGER,"
	"  inode INTEGER,"
	"  identity TEXT,"
	"  offset INTEGER NOT NULL,"
	"  records INTEGER NOT NULL,"
	"  corrupt INTEGER NOT NULL DEFAULT 0,"
	"  run_id INTEGER,"
	"  updated_ns INTEGER);"

	/* Per run, service and process: spans the writer dropped (as its
	 * drop records say) and records ingest found corrupt. */
	"CREATE TABLE drops ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
	"  service_id INTEGER REFERENCES strings(id),"
	"  pid INTEGER,"
	"  spans_dropped INTEGER NOT NULL DEFAULT 0,"
	"  corrupt_records INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX drops_run ON drops(run_id, service_id, pid);";

/* Thread names (libhtrace's thread records), so that views can label a
 * process's threads. The latest name of a thread wins. */
static const char migration_2[] =
	"CREATE TABLE threads ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
	"  service_id INTEGER REFERENCES strings(id),"
	"  pid INTEGER NOT NULL,"
	"  tid INTEGER NOT NULL,"
	"  name TEXT NOT NULL);"
	"CREATE INDEX threads_key ON threads(run_id, service_id, pid, tid);";

/* Spans that came in with an operation harness has no kind for (an
 * OSprofiler point of an unknown op), kept as func: counted per run,
 * service and process with the drops, so a run says how much of it is
 * untyped. */
static const char migration_3[] =
	"ALTER TABLE drops ADD COLUMN spans_unmapped INTEGER NOT NULL"
	" DEFAULT 0;";

const char *const store_migrations[] = {
	NULL, /* version 0: nothing */
	migration_1,
	migration_2,
	migration_3,
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
		       STORE_SCHEMA_VERSION + 1,
	       "one migration per schema version");
