/* open-run.c: how the commands that read runs (report, export, trace) open
 * the store and name a run, with one set of messages and exit codes. */
#include "cli/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"

int cmd_open_store_run(struct store **st, int64_t *run_id,
		       const char *store_opt, const char *config_opt,
		       const char *run_arg)
{
	char *path = NULL, *cause = NULL;
	int ret, rc;

	*st = NULL;
	*run_id = 0;
	ret = cmd_store_path(&path, store_opt, config_opt);
	if (ret != HARNESS_EXIT_OK)
		return ret;
	/* No store is no run: bad input, as a file that is not a store. */
	rc = report_store_open(st, path, &cause);
	if (rc < 0) {
		error("%s", cause);
		ret = rc == STORE_ENOENT || rc == STORE_ENOTSTORE ||
				      rc == STORE_ENEWER ?
			      HARNESS_EXIT_DATA :
			      HARNESS_EXIT_RUNTIME;
		goto out;
	}
	if (run_arg) {
		rc = report_run_resolve(run_id, *st, run_arg, &cause);
		if (rc == REPORT_EBADRUN) {
			error("%s", cause);
			ret = HARNESS_EXIT_USAGE;
			goto out;
		}
		if (rc < 0) {
			if (rc == STORE_ENOENT && strcmp(run_arg, "latest"))
				error("%s; 'harness runs' lists the runs",
				      cause);
			else
				error("%s", cause);
			ret = rc == STORE_ENOENT ? HARNESS_EXIT_DATA :
						   HARNESS_EXIT_RUNTIME;
			goto out;
		}
	}
	ret = HARNESS_EXIT_OK;
out:
	if (ret != HARNESS_EXIT_OK) {
		store_free(*st);
		*st = NULL;
	}
	free(cause);
	free(path);
	return ret;
}
