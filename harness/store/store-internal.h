/* store-internal.h: what the files of harness/store share and nobody else
 * sees: the struct behind `struct store`, its cached statements and the
 * in-memory maps that keep interning off the database's back. */
#ifndef HARNESS_STORE_INTERNAL_H
#define HARNESS_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"
#include "util/error.h"

/* A string → id map (open addressing, keys owned by the map). */
struct idmap_entry {
	char *key;
	uint64_t hash;
	int64_t id;
};

struct idmap {
	struct idmap_entry *slots;
	size_t nslots;		/* a power of two, or 0 */
	size_t used;
};

void idmap_init(struct idmap *m);
void idmap_release(struct idmap *m);
/* The id of KEY (length LEN), or 0 if absent. */
int64_t idmap_get(const struct idmap *m, const char *key, size_t len,
		  uint64_t hash);
void idmap_put(struct idmap *m, const char *key, size_t len, uint64_t hash,
	       int64_t id);
/* The hash the maps are keyed with (not stored: it may change). */
uint64_t idmap_hash(const void *data, size_t len);
/* 64-bit FNV-1a: the hash stored in stacks.hash. */
uint64_t store_hash(const void *data, size_t len);

/* Statements prepared once and kept for the life of the store. */
enum store_stmt {
	STMT_INTERN_INSERT,
	STMT_INTERN_SELECT,
	STMT_KIND_INSERT,
	STMT_KIND_SELECT,
	STMT_STACK_SELECT,
	STMT_STACK_INSERT,
	STMT_SPAN_INSERT,
	STMT_ATTR_INSERT,
	STMT_POSITION_GET,
	STMT_POSITION_SET,
	STMT_COUNT
};

struct store {
	sqlite3 *db;
	char *path;
	int version;
	int tx_depth;
	bool tx_failed;		/* an inner rollback doomed the transaction */
	sqlite3_stmt *stmts[STMT_COUNT];
	struct idmap strings;
	struct idmap kinds;
	struct idmap stacks;
};

extern const char *const store_migrations[];

/* Set *cause (when cause is not NULL) to the formatted message; returns
 * CODE so that a function can `return store_fail(cause, -1, ...)`. */
int store_fail(char **cause, int code, const char *fmt, ...)
	HARNESS_PRINTF(3, 4);
/* Same, with ": <sqlite's message>" appended. */
int store_dbfail(struct store *st, char **cause, const char *fmt, ...)
	HARNESS_PRINTF(3, 4);
/* The cached statement ID, reset and with its bindings cleared; NULL (and
 * *cause set) if it cannot be prepared. */
sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id, char **cause);
/* Prepare SQL once, for a statement that is not cached. */
sqlite3_stmt *store_prepare(struct store *st, const char *sql, char **cause);

/* Bind a string, or NULL when S is NULL. */
int store_bind_text(sqlite3_stmt *s, int i, const char *text);
/* Bind an id, or NULL when it is 0. */
int store_bind_id(sqlite3_stmt *s, int i, int64_t id);
/* A column as a new string, NULL if the column is NULL. */
char *store_column_strdup(sqlite3_stmt *s, int i);

/* Intern a span kind name in the kinds table. */
int store_intern_kind(int64_t *id, struct store *st, const char *name,
		      char **cause);

/* The id of the stack whose frames joined by '\n' are TEXT (LEN bytes,
 * KEY = idmap_hash(TEXT, LEN)), added if new. */
int store_stack_intern(int64_t *id, struct store *st, const char *text,
		       size_t len, uint64_t key, char **cause);
/* Add one span in the caller's transaction, with STACK (from
 * store_stack_intern, or 0) as its stack: sp->frames are not looked at.
 * On failure the caller rolls back. */
int store_span_insert(struct store *st, int64_t run_id,
		      const struct store_span *sp, int64_t stack,
		      char **cause);

/* Forget the cached ids of rows a rollback may have removed. */
void store_forget_cache(struct store *st);

#endif
