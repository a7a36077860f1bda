/* htrace-crash.c: what libhtrace flushed before a crash stays decodable.
 *   htrace-crash write <dir>  record 100 spans, wait past the flush
 *                             interval, record 5 more, raise SIGABRT
 *   htrace-crash check <dir>  decode every file: all 100 early spans are
 *                             there, each once, and nothing is corrupt */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "htrace.h"
#include "spool/spool.h"

#define EARLY 100

static int write_and_crash(const char *dir)
{
	struct htrace_options o;
	struct htrace_span *root, *s;
	struct timespec wait = { 0, 700 * 1000000L };

	htrace_options_init(&o);
	o.service = "crash";
	o.spool_dir = dir;
	o.flush_interval_ms = 200;
	if (htrace_init_with(&o) != 0)
		return 1;
	root = htrace_begin_root(HTRACE_KIND_ITERATION, "root", NULL);
	for (int i = 0; i < EARLY; i++) {
		s = htrace_begin(HTRACE_KIND_FUNC, "early");
		htrace_attr_int(s, "seq", i);
		htrace_end(s);
	}
	nanosleep(&wait, NULL);
	for (int i = 0; i < 5; i++)
		htrace_end(htrace_begin(HTRACE_KIND_FUNC, "late"));
	raise(SIGABRT);
	htrace_end(root);
	return 0;
}

static int check(const char *dir)
{
	int seen[EARLY] = { 0 };
	struct spool_reader *r;
	struct spool_record rec;
	struct dirent *e;
	char path[512];
	DIR *d = opendir(dir);
	int st, files = 0;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (spool_reader_open(&r, path, NULL) < 0) {
			fprintf(stderr, "cannot open '%s'\n", path);
			return 1;
		}
		files++;
		while ((st = spool_reader_next(r, &rec, NULL)) ==
		       SPOOL_READ_OK) {
			if (rec.type != SPOOL_RECORD_SPAN ||
			    strcmp(rec.u.span.name, "early"))
				continue;
			if (rec.u.span.n_attrs != 1 ||
			    rec.u.span.attrs[0].v.i < 0 ||
			    rec.u.span.attrs[0].v.i >= EARLY)
				return 1;
			seen[rec.u.span.attrs[0].v.i]++;
		}
		spool_reader_free(r);
		if (st != SPOOL_READ_EOF) {
			fprintf(stderr, "'%s' ends with status %d\n", path, st);
			return 1;
		}
	}
	if (d)
		closedir(d);
	if (files != 1) {
		fprintf(stderr, "expected 1 spool file, found %d\n", files);
		return 1;
	}
	for (int i = 0; i < EARLY; i++)
		if (seen[i] != 1) {
			fprintf(stderr, "span %d seen %d times\n", i, seen[i]);
			return 1;
		}
	printf("htrace-crash: all %d flushed spans decoded after SIGABRT\n",
	       EARLY);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "write"))
		return write_and_crash(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "check"))
		return check(argv[2]);
	fprintf(stderr, "usage: htrace-crash write|check <dir>\n");
	return 64;
}
