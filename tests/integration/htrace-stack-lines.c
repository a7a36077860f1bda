/* htrace-stack-lines.c: a stack captured at span start (HTRACE_STACKS=1)
 * reads "function (file:line)" in the store after ingest: the function
 * that began the span, this file, and the line of the call; and the
 * thread's name is stored with it. Built with -g.
 * Usage: htrace-stack-lines */
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htrace.h"
#include "store/ingest.h"
#include "store/store.h"

static int begin_line;

/* noinline: a frame of its own at any optimisation level. */
__attribute__((noinline)) static void stack_lines_known_function(void)
{
	struct htrace_span *s;

	begin_line = __LINE__ + 1;
	s = htrace_begin_root(HTRACE_KIND_FUNC, "known", NULL);
	htrace_end(s);
}

struct found {
	char frame0[1024];
	int spans;
	int64_t pid, tid;
};

static int on_span(const struct store_span *sp, void *payload)
{
	struct found *f = payload;

	f->spans++;
	f->pid = sp->pid;
	f->tid = sp->tid;
	if (!strcmp(sp->name, "known") && sp->nframes)
		snprintf(f->frame0, sizeof(f->frame0), "%s", sp->frames[0]);
	return 0;
}

static void remove_dir(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(void)
{
	char dir[] = "/tmp/htrace-stack-lines-XXXXXX";
	char db[600], want[128];
	struct store_ingest_stats stats = { 0 };
	struct found f = { "", 0, 0, 0 };
	struct store *st = NULL;
	char *cause = NULL, *thread = NULL;
	int ret = 1;

	if (!mkdtemp(dir)) {
		fprintf(stderr, "htrace-stack-lines: cannot make a temp dir\n");
		return 1;
	}
	setenv("HTRACE_SPOOL_DIR", dir, 1);
	setenv("HTRACE_SERVICE", "stack-lines", 1);
	setenv("HTRACE_STACKS", "1", 1);
	pthread_setname_np(pthread_self(), "stack-main");
	if (htrace_init() != 0) {
		fprintf(stderr, "htrace-stack-lines: cannot start tracing\n");
		goto out;
	}
	stack_lines_known_function();
	htrace_shutdown();

	snprintf(db, sizeof(db), "%s/store.db", dir);
	if (store_open(&st, db, &cause) < 0 ||
	    store_ingest_path(st, dir, 0, &stats, &cause) < 0 ||
	    store_spans_each(st, 0, on_span, &f, &cause) < 0 ||
	    store_thread_name_get(&thread, st, 0, "stack-lines", f.pid, f.tid,
				  &cause) < 0) {
		fprintf(stderr, "htrace-stack-lines: %s\n",
			cause ? cause : "store failed");
		goto out;
	}
	printf("stored frame: %s\n", f.frame0);
	snprintf(want, sizeof(want), "htrace-stack-lines.c:%d)", begin_line);
	if (f.spans != 1 ||
	    strncmp(f.frame0, "stack_lines_known_function (", 28) ||
	    !strstr(f.frame0, want)) {
		fprintf(stderr, "htrace-stack-lines: want the first frame to "
			"read 'stack_lines_known_function (...%s'\n", want);
		goto out;
	}
	if (!thread || strcmp(thread, "stack-main")) {
		fprintf(stderr, "htrace-stack-lines: thread %" PRId64 " is "
			"named '%s' in the store, want 'stack-main'\n", f.tid,
			thread ? thread : "(none)");
		goto out;
	}
	ret = 0;
out:
	free(thread);
	free(cause);
	store_free(st);
	remove_dir(dir);
	return ret;
}
