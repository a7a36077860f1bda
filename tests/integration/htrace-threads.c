/* htrace-threads.c: thousands of short-lived threads that record spans
 * lose none, and the thread states of ended threads stay bounded; what
 * ended threads handed over is written at exit, and after a crash once
 * the flush interval has passed.
 * Usage: htrace-threads               (the test)
 *        htrace-threads exit <dir>    (a child: threads end, then exit)
 *        htrace-threads crash <dir>   (a child: threads end, then abort) */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trace/internal.h"
#include "spool/spool.h"

#define WAVE 96
#define WAVES 36
#define SPANS 6
#define CHILD_THREADS 20
/* What the states of ended threads may hold at most: spares and handed
 * over ones (64 each in htrace.c), and this thread's. */
#define STATES_BOUND (64 + 64 + 1)

static struct htrace_context g_ctx;

struct seen {
	unsigned char *count;
	long n;
	long spans, dupes, strays;
	uint64_t dropped;
};

/* Remove the files of dir, then dir. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

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

static int fail(const char *what)
{
	fprintf(stderr, "htrace-threads: %s\n", what);
	return 1;
}

/* A connection thread: 6 spans under an attached context, the first with
 * the thread's number and each with its own sequence number. */
static void *conn(void *arg)
{
	long seq = (long)(intptr_t)arg * SPANS;
	struct htrace_span *req, *s;

	htrace_attach(&g_ctx);
	req = htrace_begin(HTRACE_KIND_REST_DISPATCH, "GET /things/{id}");
	htrace_attr_int(req, "seq", seq);
	for (int i = 1; i < SPANS; i++) {
		s = htrace_begin(HTRACE_KIND_DB, "SELECT things");
		htrace_attr_int(s, "seq", seq + i);
		htrace_end(s);
	}
	htrace_end(req);
	htrace_detach();
	return NULL;
}

/* A thread that attaches a context and asks for it, but records nothing:
 * it must cost no state. */
static void *quiet(void *arg)
{
	struct htrace_context c;
	int *ok = arg;

	htrace_attach(&g_ctx);
	*ok = htrace_current(&c) == 0 && c.span_id == g_ctx.span_id;
	htrace_detach();
	*ok = *ok && htrace_current(&c) < 0;
	return NULL;
}

static int run_wave(long first, int n)
{
	pthread_t th[WAVE];
	int made = 0;

	for (; made < n; made++)
		if (pthread_create(&th[made], NULL, conn,
				   (void *)(intptr_t)(first + made)) != 0)
			break;
	for (int i = 0; i < made; i++)
		pthread_join(th[i], NULL);
	return made == n ? 0 : -1;
}

static long vm_size_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmSize:", 7))
			kb = atol(line + 7);
	if (f)
		fclose(f);
	return kb;
}

static int start(const char *dir, unsigned interval_ms)
{
	struct htrace_options o;

	htrace_options_init(&o);
	o.service = "threads";
	o.spool_dir = dir;
	o.flush_interval_ms = interval_ms;
	return htrace_init_with(&o);
}

/* Decode every file of dir; count each span's sequence number. */
static int read_spool(const char *dir, struct seen *sn)
{
	struct spool_reader *r;
	struct spool_record rec;
	struct dirent *e;
	char path[512];
	DIR *d = opendir(dir);
	int st, ret = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (spool_reader_open(&r, path, NULL) < 0) {
			ret = -1;
			break;
		}
		while ((st = spool_reader_next(r, &rec, NULL)) ==
		       SPOOL_READ_OK) {
			int64_t seq;

			if (rec.type == SPOOL_RECORD_DROPPED)
				sn->dropped += rec.u.dropped.count;
			if (rec.type != SPOOL_RECORD_SPAN)
				continue;
			sn->spans++;
			if (rec.u.span.n_attrs != 1 ||
			    strcmp(rec.u.span.attrs[0].key, "seq") ||
			    memcmp(rec.u.span.trace_id, g_ctx.trace_id, 16)) {
				sn->strays++;
				continue;
			}
			seq = rec.u.span.attrs[0].v.i;
			if (seq < 0 || seq >= sn->n) {
				sn->strays++;
				continue;
			}
			if (sn->count[seq]++)
				sn->dupes++;
		}
		spool_reader_free(r);
		if (st != SPOOL_READ_EOF)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* Every sequence number below n seen exactly once, nothing else. */
static int check_spool(const char *dir, long n)
{
	struct seen sn = { .n = n };
	long missing = 0;
	int ret;

	sn.count = calloc((size_t)n, 1);
	if (!sn.count)
		return fail("out of memory");
	ret = read_spool(dir, &sn);
	for (long i = 0; i < n; i++)
		missing += !sn.count[i];
	free(sn.count);
	if (ret < 0)
		return fail("a spool file does not decode to its end");
	if (missing || sn.dupes || sn.strays || sn.dropped ||
	    sn.spans != n) {
		fprintf(stderr, "htrace-threads: %ld spans read for %ld: "
				"%ld missing, %ld twice, %ld strays, %llu "
				"dropped\n", sn.spans, n, missing, sn.dupes,
			sn.strays, (unsigned long long)sn.dropped);
		return 1;
	}
	return 0;
}

/* A child: CHILD_THREADS threads end and wait, handed over, for a flusher
 * that is not due for a minute (exit) or for 100 ms (crash). */
static int child(const char *mode, const char *dir)
{
	int crash = !strcmp(mode, "crash");
	unsigned mapped, spare, retired;

	if (start(dir, crash ? 100 : 60000) != 0)
		return 2;
	if (run_wave(0, CHILD_THREADS) < 0)
		return 3;
	htrace_thread_states_(&mapped, &spare, &retired);
	if (retired != CHILD_THREADS)
		return 4;
	if (crash) {
		struct timespec wait = { 0, 400 * 1000000L };

		nanosleep(&wait, NULL);
		raise(SIGKILL);
	}
	exit(0);
}

/* Run a child mode and check what it left. */
static int run_child(const char *mode, int want_signal)
{
	char dir[] = "/tmp/htrace-threads-XXXXXX";
	int status, ret;
	pid_t pid;

	if (!mkdtemp(dir))
		return fail("cannot make a temporary directory");
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "htrace-threads", mode, dir,
		      (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		rmdir(dir);
		return fail("cannot run a child");
	}
	if (want_signal ? !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL
			: !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "htrace-threads: the %s child ended with "
				"status 0x%x\n", mode, status);
		ret = 1;
	} else {
		ret = check_spool(dir, (long)CHILD_THREADS * SPANS);
		if (ret)
			fprintf(stderr, "htrace-threads: in the %s child\n",
				mode);
	}
	remove_dir(dir);
	return ret;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/htrace-threads-XXXXXX";
	unsigned mapped = 0, spare, retired, max_mapped = 0, after_quiet;
	long vm_first = 0, vm_last = 0, total = 0;
	int ret = 1;

	for (int i = 0; i < 16; i++)
		g_ctx.trace_id[i] = (uint8_t)(0xa0 + i);
	g_ctx.span_id = 0x0102030405060708ull;
	g_ctx.flags = HTRACE_FLAG_SAMPLED;
	if (argc == 3)
		return child(argv[1], argv[2]);
	if (run_child("exit", 0) || run_child("crash", 1))
		return 1;

	if (!mkdtemp(dir))
		return fail("cannot make a temporary directory");
	if (start(dir, 200) != 0) {
		fail("cannot start tracing");
		goto out;
	}
	for (int w = 0; w < WAVES; w++) {
		/* Some waves one thread at a time, most many at once. */
		int n = w % 4 == 3 ? 1 : WAVE;

		for (int k = 0; k < (n == 1 ? WAVE : 1); k++) {
			if (run_wave(total, n) < 0) {
				fail("cannot start a thread");
				goto out;
			}
			total += n;
			htrace_thread_states_(&mapped, &spare, &retired);
			if (mapped > max_mapped)
				max_mapped = mapped;
		}
		if (mapped != spare + retired || mapped > STATES_BOUND) {
			fprintf(stderr, "htrace-threads: after wave %d, %u "
					"states mapped, %u spare, %u handed "
					"over\n", w, mapped, spare, retired);
			goto out;
		}
		if (w == 1)
			vm_first = vm_size_kb();
	}
	vm_last = vm_size_kb();
	/* Reused, not made anew: at most one wave's worth at once. */
	if (max_mapped > WAVE + STATES_BOUND) {
		fprintf(stderr, "htrace-threads: %u states mapped at once\n",
			max_mapped);
		goto out;
	}
	/* A ring is 2 MiB of address space: one per thread would be gigabytes
	 * by now. */
	if (vm_first <= 0 || vm_last - vm_first > 256 * 1024) {
		fprintf(stderr, "htrace-threads: VmSize %ld kB after wave 1, "
				"%ld kB at the end\n", vm_first, vm_last);
		goto out;
	}
	{
		pthread_t th[8];
		int ok[8] = { 0 };

		for (int i = 0; i < 8; i++)
			if (pthread_create(&th[i], NULL, quiet, &ok[i]) != 0) {
				fail("cannot start a thread");
				goto out;
			}
		for (int i = 0; i < 8; i++)
			pthread_join(th[i], NULL);
		htrace_thread_states_(&after_quiet, &spare, &retired);
		for (int i = 0; i < 8; i++)
			if (!ok[i]) {
				fail("a thread lost its attached context");
				goto out;
			}
		if (after_quiet != mapped) {
			fail("a thread that recorded nothing made a state");
			goto out;
		}
	}
	htrace_shutdown();
	htrace_thread_states_(&mapped, &spare, &retired);
	if (mapped || spare || retired) {
		fprintf(stderr, "htrace-threads: after shutdown, %u states "
				"mapped\n", mapped);
		goto out;
	}
	ret = check_spool(dir, total * SPANS);
out:
	htrace_shutdown();
	remove_dir(dir);
	if (!ret)
		printf("htrace-threads: %ld threads, %ld spans, at most %u "
		       "states mapped, VmSize +%ld kB\n", total, total * SPANS,
		       max_mapped, vm_last - vm_first);
	return ret;
}
