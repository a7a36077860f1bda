/* output.c: what the report commands share: opening an existing store,
 * naming a run, and writing a file that appears whole or not at all. */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

int report_store_open(struct store **st, const char *path, char **cause)
{
	struct stat sb;

	*st = NULL;
	/* Reading never creates a store. */
	if (stat(path, &sb) < 0) {
		*cause = xasprintf("cannot open '%s': %s", path,
				   strerror(errno));
		return STORE_ENOENT;
	}
	return store_open(st, path, cause);
}

int report_run_resolve(int64_t *run_id, struct store *st, const char *arg,
		       char **cause)
{
	char *end;
	long long v;

	*run_id = 0;
	if (!strcmp(arg, "latest")) {
		struct store_run *runs = NULL;
		size_t n = 0;

		if (store_runs_list(&runs, &n, st, NULL, 1, cause) < 0)
			return -1;
		if (n)
			*run_id = runs[0].id;
		store_runs_free(runs, n);
		if (!*run_id) {
			*cause = xasprintf("no runs in '%s' yet",
					   store_path(st));
			return STORE_ENOENT;
		}
		return 0;
	}
	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || *end || end == arg || v <= 0) {
		*cause = xasprintf("bad run '%s': want a run id or 'latest'",
				   arg);
		return REPORT_EBADRUN;
	}
	{
		struct store_run *run = NULL;
		int rc = store_run_get(&run, st, v, cause);

		store_run_free(run);
		if (rc < 0)
			return rc;
	}
	*run_id = v;
	return 0;
}

int report_output_open(struct report_output *o, const char *path,
		       char **cause)
{
	memset(o, 0, sizeof(*o));
	if (!path || !strcmp(path, "-")) {
		o->fp = stdout;
		return 0;
	}
	o->path = xstrdup(path);
	o->tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	o->fp = fopen(o->tmp, "w");
	if (!o->fp) {
		*cause = xasprintf("cannot write '%s': %s", o->tmp,
				   strerror(errno));
		free(o->path);
		free(o->tmp);
		memset(o, 0, sizeof(*o));
		return -1;
	}
	return 0;
}

int report_output_commit(struct report_output *o, char **cause)
{
	int ret = 0;

	if (!o->fp)
		return 0;
	if (!o->path) {
		if (fflush(o->fp) != 0 || ferror(o->fp)) {
			*cause = xasprintf("cannot write to stdout: %s",
					   strerror(errno));
			ret = -1;
		}
		o->fp = NULL;
		return ret;
	}
	if (ferror(o->fp) | (fclose(o->fp) != 0)) {
		*cause = xasprintf("cannot write '%s': %s", o->tmp,
				   strerror(errno));
		unlink(o->tmp);
		ret = -1;
	} else if (rename(o->tmp, o->path) < 0) {
		*cause = xasprintf("cannot rename '%s' to '%s': %s", o->tmp,
				   o->path, strerror(errno));
		unlink(o->tmp);
		ret = -1;
	}
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
	return ret;
}

void report_output_abort(struct report_output *o)
{
	if (o->fp && o->path) {
		fclose(o->fp);
		unlink(o->tmp);
	}
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
}
