/* bench-compare.c: harness compare's analysis (both runs read from the
 * store, aggregated per trace with self and critical-path times, and
 * compared operation by operation) against SQLite computing a plain
 * GROUP BY (count and total time per operation) over the same rows of the
 * same two runs. Prints both times and their ratio; the target is at most
 * 3, and the benchmark exits 1 above 3.
 *
 * usage: bench-compare [SPANS_PER_RUN] [SPANS_PER_ITERATION] */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/verdict.h"
#include "store/store.h"
#include "util/timeutil.h"

#define NOPS 50

static int make_run(struct store *st, size_t nspans, size_t per_it,
		    uint64_t seed, double slow)
{
	struct store_run_info info = { .scenario = "bench",
				       .config_hash = "h",
				       .start_ns = 1700000000000000000LL };
	struct store_span *spans = calloc(per_it, sizeof(*spans));
	char names[NOPS][16], services[NOPS][8];
	uint64_t s = seed;
	int64_t run, t = info.start_ns;
	char *cause = NULL;

	for (int i = 0; i < NOPS; i++) {
		snprintf(names[i], sizeof(names[i]), "op%02d", i);
		snprintf(services[i], sizeof(services[i]), "svc%d", i % 6);
	}
	if (store_run_create(&run, st, &info, &cause) < 0)
		goto fail;
	for (size_t it = 0; it * per_it < nspans; it++) {
		struct store_iteration row = { .seq = (int64_t)it, .ok = true };
		int64_t cursor = t + 100;

		memcpy(row.trace_id, &seed, 8);
		memcpy(row.trace_id + 8, &it, sizeof(it));
		for (size_t k = 1; k < per_it; k++) {
			struct store_span *sp = &spans[k];
			int op = (int)(k % NOPS);

			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			memset(sp, 0, sizeof(*sp));
			memcpy(sp->trace_id, row.trace_id, 16);
			sp->span_id = k + 1;
			sp->parent_id = 1;
			sp->kind = k % 3 ? "func" : "db";
			sp->name = names[op];
			sp->service = services[op];
			sp->start_ns = cursor;
			sp->dur_ns = 10000 + (int64_t)(s >> 54) +
				     (op == 7 ? (int64_t)(slow * 10000) : 0);
			cursor += sp->dur_ns + 10;
		}
		memset(&spans[0], 0, sizeof(spans[0]));
		memcpy(spans[0].trace_id, row.trace_id, 16);
		spans[0].span_id = 1;
		spans[0].kind = "iteration";
		spans[0].name = "bench";
		spans[0].service = "harness";
		spans[0].start_ns = t;
		spans[0].dur_ns = cursor - t;
		row.start_ns = t;
		row.dur_ns = cursor - t;
		if (store_iteration_add(st, run, &row, &cause) < 0 ||
		    store_spans_add(st, run, spans, per_it, &cause) < 0)
			goto fail;
		t = cursor + 1000;
	}
	if (store_run_finish(st, run, STORE_RUN_OK, NULL, t, &cause) < 0)
		goto fail;
	free(spans);
	return 0;
fail:
	fprintf(stderr, "bench-compare: %s\n", cause);
	free(cause);
	free(spans);
	return -1;
}

static int group_by(const char *path, int64_t run, uint64_t *rows)
{
	static const char sql[] =
		"SELECT kind, name_id, service_id, count(*), sum(dur_ns)"
		" FROM spans WHERE run_id = ?1"
		" GROUP BY kind, name_id, service_id";
	sqlite3 *db;
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, run);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*rows += (uint64_t)sqlite3_column_int64(s, 3);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc == SQLITE_DONE ? 0 : -1;
}

int main(int argc, char **argv)
{
	size_t nspans = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t per_it = argc > 2 ? strtoul(argv[2], NULL, 10) : 500;
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300], side[320];
	struct verdict_options opt;
	struct store *st = NULL;
	struct verdict v;
	uint64_t t0, t_cmp, t_sql, rows = 0;
	char *cause = NULL;
	int ret = 1;
	double ratio;

	snprintf(dir, sizeof(dir), "%s/bench-compare-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (per_it < 2 || !mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/h.db", dir);
	if (store_open(&st, path, &cause) < 0) {
		fprintf(stderr, "bench-compare: %s\n", cause);
		goto out;
	}
	t0 = time_mono_ns();
	if (make_run(st, nspans, per_it, 1, 0) < 0 ||
	    make_run(st, nspans, per_it, 2, 0.5) < 0)
		goto out;
	printf("made 2 runs of %zu spans (%zu per iteration) in %.1fs\n",
	       nspans, per_it, (double)(time_mono_ns() - t0) / 1e9);

	/* Warm the page cache the same way for both. */
	if (group_by(path, 1, &rows) < 0 || group_by(path, 2, &rows) < 0)
		goto out;
	rows = 0;
	t0 = time_mono_ns();
	if (group_by(path, 1, &rows) < 0 || group_by(path, 2, &rows) < 0)
		goto out;
	t_sql = time_mono_ns() - t0;

	verdict_options_init(&opt);
	verdict_init(&v);
	t0 = time_mono_ns();
	if (verdict_for_runs(&v, st, 1, 2, NULL, &opt, &cause) < 0) {
		fprintf(stderr, "bench-compare: %s\n", cause);
		verdict_release(&v);
		goto out;
	}
	t_cmp = time_mono_ns() - t0;
	ratio = (double)t_cmp / (double)t_sql;
	printf("GROUP BY over both runs: %.3fs (%llu rows)\n",
	       (double)t_sql / 1e9, (unsigned long long)rows);
	printf("compare (load, aggregate, critical path, tests): %.3fs, "
	       "%zu rows, %zu findings, verdict %s\n",
	       (double)t_cmp / 1e9, v.cmp.nrows, v.cmp.nfindings,
	       verdict_status_str(v.status));
	printf("ratio compare / GROUP BY: %.2f (target <= 3)\n", ratio);
	verdict_release(&v);
	ret = ratio <= 3 ? 0 : 1;
out:
	store_free(st);
	free(cause);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	rmdir(dir);
	return ret;
}
