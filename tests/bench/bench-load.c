/* bench-load.c: the load driver against a bare libcurl multi loop, Rally
 * and wrk on a trivial local endpoint, at the same number of connections,
 * in alternating rounds of the same run: requests (iterations) per second
 * and CPU time per request of each, medians and spread, and the driver's
 * ratios to them. Targets (issue 15): at least 0.85x the libcurl loop's
 * requests per second and 20x Rally's iterations per second (Rally's
 * HttpRequests.check_request, constant runner at the same concurrency);
 * wrk is the reference figure. The server runs in a child process so that
 * its CPU time is counted for none of them.
 *
 * usage: bench-load [-s SECONDS] [-t WRK_THREADS] [-w WORKERS]
 *                   [-r RALLY_TIMES] [-R RATE]
 *                   [-o driver|traced|curl|wrk|rally]
 *                   [connections] [rounds]
 * -w sets the driver's worker threads (default: its own choice, one per
 * two CPUs); wrk gets as many threads unless -t says otherwise. -r is the
 * number of iterations of each Rally task (default 1000; its rate is
 * that over Rally's own load duration, without its start-up). -o runs
 * that one alone for every round (for perf and strace). Each round also
 * runs the rate runner at -R RATE per second (default 1000) and the
 * duration runner, to measure how closely they keep to their plan.
 *
 * Where the floor is (2 cores shared by client and server): wrk spends
 * about 15us of CPU a request, 90% of it in the kernel. The driver's
 * workers keep all their connections' requests in flight through one
 * libcurl multi handle and one ppoll, so a request costs it no context
 * switch; what is left is libcurl's own per-transfer work (connection
 * lookup with its liveness poll, request formatting, status and header
 * parsing: a bare libcurl multi loop on the same server costs about
 * 17us a request) and a few us of the driver's (templates, results,
 * clocks). Traced, every request also carries signed trace headers.
 * Rally runs python-requests in worker processes, a new connection per
 * iteration. */
#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test-load-server.h"
#include "htrace.h"
#include "load/load.h"
#include "util/timeutil.h"

#define NS_PER_SEC 1000000000ULL
#define MAX_ROUNDS 1000

extern char **environ;

enum who { WRK, LIBCURL, DRIVER, TRACED, RALLY, NWHO };

static const char *const who_names[NWHO] = { "wrk", "libcurl multi loop",
					     "harness load",
					     "harness load, traced",
					     "rally check_request" };

struct figures {
	double rps;
	double cpu_us;		/* CPU time per request, user + system */
	double sys_share;	/* of cpu_us, in the kernel */
	double switches;	/* context switches per request */
	double server_us;	/* the server's, per request */
	unsigned long long requests;
};

struct bench {
	const char *url;
	unsigned conns;
	unsigned wrk_threads;
	unsigned workers;	/* the driver's; 0: its own choice */
	unsigned secs;
	unsigned rally_times;	/* iterations of each Rally task */
	const char *rally_dir;	/* its config, database and HOME */
};

static double tv_us(struct timeval tv)
{
	return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

static double rusage_us(const struct rusage *r)
{
	return tv_us(r->ru_utime) + tv_us(r->ru_stime);
}

/* CPU time, its kernel share and context switches per request, from the
 * difference r1 - r0 (r0 NULL: r1 alone). */
static void set_cpu(struct figures *f, const struct rusage *r0,
		    const struct rusage *r1)
{
	struct rusage zero = { 0 };
	double n = (double)f->requests, cpu, sys;

	if (!r0)
		r0 = &zero;
	cpu = rusage_us(r1) - rusage_us(r0);
	sys = tv_us(r1->ru_stime) - tv_us(r0->ru_stime);
	f->cpu_us = cpu / n;
	f->sys_share = cpu > 0 ? sys / cpu : 0;
	f->switches = (double)(r1->ru_nvcsw + r1->ru_nivcsw - r0->ru_nvcsw -
			       r0->ru_nivcsw) / n;
}

/* The CPU time the server has used so far, in microseconds (from
 * /proc: it is a child that has not been waited for). */
static double server_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's name in parentheses: state, then fields 4 to
	 * 13, then utime and stime in clock ticks. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* The server: a child process with a pool of threads, until killed. Its
 * port comes back through a pipe. */
static pid_t start_server(int *port)
{
	int fd[2];
	pid_t pid;

	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct test_server s;

		close(fd[0]);
		if (test_server_start(&s, 2) < 0)
			_exit(1);
		if (write(fd[1], &s.port, sizeof(s.port)) != sizeof(s.port))
			_exit(1);
		close(fd[1]);
		for (;;)
			pause();
	}
	close(fd[1]);
	if (read(fd[0], port, sizeof(*port)) != sizeof(*port)) {
		close(fd[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(fd[0]);
	return pid;
}

/* wrk's own count and rate; its CPU time from its rusage as a child. */
static int run_wrk(const struct bench *b, struct figures *out)
{
	char c[16], d[16], t[16], buf[8192];
	char *argv[] = { "wrk", "-t", t, "-c", c, "-d", d, (char *)b->url,
			 NULL };
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int fd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	const char *p;

	snprintf(c, sizeof(c), "%u", b->conns);
	snprintf(d, sizeof(d), "%us", b->secs);
	snprintf(t, sizeof(t), "%u", b->wrk_threads);
	if (pipe(fd) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	if (posix_spawnp(&pid, "wrk", &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(fd[0]);
		close(fd[1]);
		fprintf(stderr, "bench-load: cannot run wrk (is it "
				"installed?)\n");
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "bench-load: wrk failed:\n%s", buf);
		return -1;
	}
	if (strstr(buf, "Non-2xx") || strstr(buf, "Socket errors")) {
		fprintf(stderr, "bench-load: wrk saw errors:\n%s", buf);
		return -1;
	}
	p = strstr(buf, " requests in ");
	while (p && p > buf && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (!p || !(out->requests = strtoull(p, NULL, 10)) ||
	    !(p = strstr(buf, "Requests/sec:"))) {
		fprintf(stderr, "bench-load: cannot read wrk's output:\n%s",
			buf);
		return -1;
	}
	out->rps = strtod(p + 13, NULL);
	set_cpu(out, NULL, &ru);
	return 0;
}

/* The driver's CPU time is its whole process's (the workers and, traced,
 * libhtrace's writer): the server is another process. *workers gets the
 * number of worker threads it ran. */
static int run_driver(const struct bench *b, bool trace, struct figures *out,
		      unsigned *workers)
{
	struct scenario_step step = {
		.name = "get",
		.type = STEP_REQUEST,
		.request = { .url = (char *)b->url },
	};
	struct scenario sc = {
		.name = "bench",
		.steps = &step,
		.nsteps = 1,
		.runner = {
			.type = RUNNER_DURATION,
			.concurrency = b->conns,
			.duration_ns = b->secs * NS_PER_SEC,
			.iteration_timeout_ns = 10 * NS_PER_SEC,
		},
	};
	struct load_options opts = { .scenario = &sc, .trace = trace,
				     .workers = b->workers };
	struct load_summary sum;
	struct rusage r0, r1;
	struct load *ld;
	char *cause = NULL;

	if (load_new(&ld, &opts, &cause) < 0) {
		fprintf(stderr, "bench-load: %s\n", cause);
		free(cause);
		return -1;
	}
	getrusage(RUSAGE_SELF, &r0);
	if (load_run(ld, &sum, &cause) < 0) {
		fprintf(stderr, "bench-load: %s\n", cause);
		free(cause);
		load_free(ld);
		return -1;
	}
	getrusage(RUSAGE_SELF, &r1);
	load_free(ld);
	*workers = sum.workers;
	if (sum.failed || !sum.iterations || !sum.elapsed_ns) {
		fprintf(stderr, "bench-load: %llu of %llu iterations failed\n",
			(unsigned long long)sum.failed,
			(unsigned long long)sum.iterations);
		return -1;
	}
	out->requests = sum.iterations;
	out->rps = (double)sum.iterations * NS_PER_SEC /
		   (double)sum.elapsed_ns;
	set_cpu(out, &r0, &r1);
	return 0;
}

/* How closely the runners keep to their plan, which the unit tests leave
 * to this benchmark (a shared machine cannot promise it): the rate runner
 * at a rate well within reach, its achieved rate, the share of late
 * starts and the start lag (start - slot), and how long after its end a
 * duration run returns. */
struct precision {
	double achieved;	/* of the rate asked */
	double late_share;
	double lag_p50_us, lag_p99_us;
	double overshoot_ms;	/* duration run: elapsed - duration */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run_precision(const struct bench *b, double rate,
			 struct precision *out)
{
	struct scenario_step step = {
		.name = "get",
		.type = STEP_REQUEST,
		.request = { .url = (char *)b->url },
	};
	struct scenario sc = {
		.name = "bench",
		.steps = &step,
		.nsteps = 1,
		.runner = {
			.type = RUNNER_RATE,
			.rate = rate,
			.concurrency = b->conns,
			.duration_ns = b->secs * NS_PER_SEC,
			.iteration_timeout_ns = 10 * NS_PER_SEC,
		},
	};
	struct load_options opts = { .scenario = &sc, .workers = b->workers };
	const struct load_iteration *its;
	struct load_summary sum;
	struct load *ld = NULL;
	uint64_t *lag;
	size_t n;
	char *cause = NULL;
	int ret = -1;

	if (load_new(&ld, &opts, &cause) < 0 || load_run(ld, &sum, &cause) < 0)
		goto out;
	its = load_results(ld, &n);
	if (sum.failed || n < 2 || !(lag = calloc(n, sizeof(*lag))))
		goto out;
	for (size_t i = 0; i < n; i++)
		lag[i] = its[i].start_ns - its[i].intended_ns;
	qsort(lag, n, sizeof(*lag), cmp_u64);
	out->achieved = sum.achieved_rate / rate;
	out->late_share = (double)sum.late / (double)n;
	out->lag_p50_us = (double)lag[n / 2] / 1e3;
	out->lag_p99_us = (double)lag[n * 99 / 100] / 1e3;
	free(lag);
	load_free(ld);
	ld = NULL;

	sc.runner.type = RUNNER_DURATION;
	if (load_new(&ld, &opts, &cause) < 0 || load_run(ld, &sum, &cause) < 0)
		goto out;
	out->overshoot_ms = ((double)sum.elapsed_ns -
			     (double)sc.runner.duration_ns) / 1e6;
	ret = 0;
out:
	if (ret < 0)
		fprintf(stderr, "bench-load: the precision runs failed%s%s\n",
			cause ? ": " : "", cause ? cause : "");
	free(cause);
	load_free(ld);
	return ret;
}

/* The floor libcurl sets: as many threads as the driver has workers,
 * each keeping its share of the connections busy with GETs through one
 * multi handle and curl_multi_poll, nothing else (no templates, results,
 * timeouts or header parsing). */
struct curl_loop {
	const struct bench *b;
	unsigned handles;
	uint64_t end_mono;
	unsigned long long requests;
	bool failed;
};

static size_t discard(char *data, size_t size, size_t nmemb, void *p)
{
	(void)data;
	(void)p;
	return size * nmemb;
}

static void *curl_loop_main(void *p)
{
	struct curl_loop *l = p;
	CURLM *m = curl_multi_init();
	CURL *h[64];
	CURLU *u = curl_url();
	unsigned n = l->handles < 64 ? l->handles : 64;
	int running = 1;
	bool more = true;

	curl_url_set(u, CURLUPART_URL, l->b->url, 0);
	for (unsigned i = 0; i < n; i++) {
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_CURLU, u);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h[i], CURLOPT_PROXY, "");
		curl_multi_add_handle(m, h[i]);
	}
	while (more || running) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		more = more && time_mono_ns() < l->end_mono;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->data.result != CURLE_OK)
				l->failed = true;
			l->requests++;
			curl_multi_remove_handle(m, msg->easy_handle);
			if (more)
				curl_multi_add_handle(m, msg->easy_handle);
		}
		if (more || running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (unsigned i = 0; i < n; i++) {
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
	}
	curl_multi_cleanup(m);
	curl_url_cleanup(u);
	return NULL;
}

static int run_curl(const struct bench *b, unsigned threads,
		    struct figures *out)
{
	struct curl_loop l[64];
	pthread_t t[64];
	struct rusage r0, r1;
	uint64_t t0;
	unsigned n = threads ? threads : 1;

	if (n > 64)
		n = 64;
	getrusage(RUSAGE_SELF, &r0);
	t0 = time_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		l[i] = (struct curl_loop){
			.b = b,
			.handles = b->conns / n + (i < b->conns % n),
			.end_mono = t0 + b->secs * NS_PER_SEC,
		};
		pthread_create(&t[i], NULL, curl_loop_main, &l[i]);
	}
	out->requests = 0;
	for (unsigned i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		out->requests += l[i].requests;
		if (l[i].failed) {
			fprintf(stderr, "bench-load: a libcurl request failed\n");
			return -1;
		}
	}
	out->rps = (double)out->requests * NS_PER_SEC /
		   (double)(time_mono_ns() - t0);
	getrusage(RUSAGE_SELF, &r1);
	set_cpu(out, &r0, &r1);
	return 0;
}

/* Run argv to its end with HOME set to home (NULL: as it is) and its
 * output to log_fd; its rusage in *ru. 0 when it exited with 0. */
static int run_cmd(char *const argv[], const char *home, int log_fd,
		   struct rusage *ru)
{
	posix_spawn_file_actions_t fa;
	char **env, homevar[600];
	size_t n = 0, k = 0;
	int status, ret;
	pid_t pid;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!home || strncmp(environ[i], "HOME=", 5))
			env[k++] = environ[i];
	if (home) {
		snprintf(homevar, sizeof(homevar), "HOME=%s", home);
		env[k++] = homevar;
	}
	env[k] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (ret)
		return -1;
	if (wait4(pid, &status, 0, ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return 0;
}

/* A rally command with our config, its output appended to rally.out. */
static int rally(const struct bench *b, struct rusage *ru, ...)
{
	char conf[600], out[600], *argv[16];
	struct rusage dummy;
	unsigned n = 0;
	const char *a;
	va_list ap;
	int fd, ret;

	snprintf(conf, sizeof(conf), "%s/rally.conf", b->rally_dir);
	snprintf(out, sizeof(out), "%s/rally.out", b->rally_dir);
	argv[n++] = "rally";
	argv[n++] = "--config-file";
	argv[n++] = conf;
	va_start(ap, ru);
	while ((a = va_arg(ap, const char *)) && n < 15)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0)
		return -1;
	ret = run_cmd(argv, b->rally_dir, fd, ru ? ru : &dummy);
	close(fd);
	if (ret < 0)
		fprintf(stderr, "bench-load: 'rally %s' failed (is Debian's "
				"rally installed?); its output is in '%s'\n",
			argv[3], out);
	return ret;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fputs(text, f) < 0;
	ret |= fclose(f) != 0;
	return ret ? -1 : 0;
}

/* Rally with no cloud: a SQLite database in its directory, an empty
 * environment (no platform: HttpRequests needs none), and a task of
 * HttpRequests.check_request on our URL, constant runner. */
static int rally_setup(const struct bench *b)
{
	char text[1200];

	snprintf(text, sizeof(text),
		 "[DEFAULT]\nuse_stderr = false\nlog_file = %s/rally.log\n"
		 "[database]\nconnection = sqlite:///%s/rally.sqlite\n",
		 b->rally_dir, b->rally_dir);
	if (write_file(b->rally_dir, "rally.conf", text) < 0 ||
	    write_file(b->rally_dir, "env.json", "{}\n") < 0)
		return -1;
	snprintf(text, sizeof(text),
		 "{\"HttpRequests.check_request\": [{\"args\": {\"url\": "
		 "\"%s\", \"method\": \"GET\", \"status_code\": 200}, "
		 "\"runner\": {\"type\": \"constant\", \"times\": %u, "
		 "\"concurrency\": %u}}]}\n",
		 b->url, b->rally_times, b->conns);
	if (write_file(b->rally_dir, "task.json", text) < 0)
		return -1;
	snprintf(text, sizeof(text), "%s/env.json", b->rally_dir);
	if (rally(b, NULL, "db", "create", NULL) < 0 ||
	    rally(b, NULL, "env", "create", "--name", "bench", "--spec", text,
		  NULL) < 0)
		return -1;
	return 0;
}

/* One Rally task; its rate from its own report: iterations over the load
 * duration (from the first iteration's start to the last one's end, its
 * start-up and database work left out). Its CPU time is the whole
 * command's (Python's start included), for what it is worth. */
static int run_rally(const struct bench *b, struct figures *out)
{
	char task[600], report[600];
	json_t *root, *w;
	json_error_t err;
	struct rusage ru;
	double load;
	long long total, failed;

	snprintf(task, sizeof(task), "%s/task.json", b->rally_dir);
	snprintf(report, sizeof(report), "%s/report.json", b->rally_dir);
	if (rally(b, &ru, "task", "start", "--task", task, NULL) < 0 ||
	    rally(b, NULL, "task", "report", "--json", "--out", report,
		  NULL) < 0)
		return -1;
	root = json_load_file(report, 0, &err);
	/* tasks[0].subtasks[0].workloads[0] */
	w = json_array_get(json_object_get(root, "tasks"), 0);
	w = json_array_get(json_object_get(w, "subtasks"), 0);
	w = json_array_get(json_object_get(w, "workloads"), 0);
	total = json_integer_value(json_object_get(w,
					"total_iteration_count"));
	failed = json_integer_value(json_object_get(w,
					"failed_iteration_count"));
	load = json_number_value(json_object_get(w, "load_duration"));
	json_decref(root);
	if (total <= 0 || load <= 0) {
		fprintf(stderr, "bench-load: cannot read Rally's report "
				"'%s'\n", report);
		return -1;
	}
	if (failed) {
		fprintf(stderr, "bench-load: %lld of %lld Rally iterations "
				"failed\n", failed, total);
		return -1;
	}
	out->requests = (unsigned long long)total;
	out->rps = (double)total / load;
	set_cpu(out, NULL, &ru);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, minimum and maximum of v[0..n) (sorted in place). */
static void stats(double *v, unsigned n, double *med, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
}

static void print_row(const char *name, const struct figures *f, unsigned n)
{
	double v[MAX_ROUNDS], rps[3], cpu[3], srv[3], sys, sw;

	for (unsigned i = 0; i < n; i++)
		v[i] = f[i].rps;
	stats(v, n, &rps[0], &rps[1], &rps[2]);
	for (unsigned i = 0; i < n; i++)
		v[i] = f[i].cpu_us;
	stats(v, n, &cpu[0], &cpu[1], &cpu[2]);
	for (unsigned i = 0; i < n; i++)
		v[i] = f[i].server_us;
	stats(v, n, &srv[0], &srv[1], &srv[2]);
	for (unsigned i = 0; i < n; i++)
		v[i] = f[i].sys_share;
	stats(v, n, &sys, &rps[1], &rps[2]);
	for (unsigned i = 0; i < n; i++)
		v[i] = f[i].switches;
	stats(v, n, &sw, &rps[1], &rps[2]);
	for (unsigned i = 0; i < n; i++)
		v[i] = f[i].rps;
	stats(v, n, &rps[0], &rps[1], &rps[2]);
	printf("%-21s %7.0f req/s [%6.0f-%6.0f]  %5.1f us CPU/req "
	       "[%5.1f-%5.1f] (%2.0f%% kernel, %.2f switches)  server "
	       "%4.1f [%4.1f-%4.1f]\n",
	       name, rps[0], rps[1], rps[2], cpu[0], cpu[1], cpu[2],
	       sys * 100, sw, srv[0], srv[1], srv[2]);
}

/* The ratio of a to b round by round (each pair ran back to back). */
static void print_ratio(const char *what, const struct figures *a,
			const struct figures *b, unsigned n, bool cpu,
			double *median)
{
	double v[MAX_ROUNDS], lo, hi;

	for (unsigned i = 0; i < n; i++)
		v[i] = cpu ? a[i].cpu_us / b[i].cpu_us : a[i].rps / b[i].rps;
	stats(v, n, median, &lo, &hi);
	printf("%-50s %.2fx [%.2f-%.2f]\n", what, *median, lo, hi);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench-load [-s SECONDS] [-t WRK_THREADS] "
			"[-w WORKERS] [-r RALLY_TIMES] [-R RATE] "
			"[-o driver|traced|curl|wrk|rally] [connections] "
			"[rounds]\n");
	return 2;
}

/* Rounds take turns: in round i the runs go in an order rotated by i, so
 * that each sees every position (and the load of the rest of the machine
 * at that moment) alike. */
int main(int argc, char **argv)
{
	static const char *const only_names[NWHO] = { "wrk", "curl", "driver",
						      "traced", "rally" };
	static struct figures fig[NWHO][MAX_ROUNDS];
	static struct precision prec[MAX_ROUNDS];
	struct bench b = { .secs = 1, .rally_times = 1000 };
	double rate = 1000;
	struct htrace_options o;
	char url[64], dir[] = "/tmp/bench-load-XXXXXX";
	char rdir[] = "/tmp/bench-load-rally-XXXXXX";
	unsigned rounds, nruns, workers = 0;
	int port, ret = 1, opt, only = -1;
	double med, to_curl = 0, to_rally = 0;
	pid_t server;

	while ((opt = getopt(argc, argv, "s:t:w:r:R:o:")) != -1) {
		if (opt == 'R')
			rate = atof(optarg);
		else if (opt == 's')
			b.secs = (unsigned)atoi(optarg);
		else if (opt == 'w')
			b.workers = (unsigned)atoi(optarg);
		else if (opt == 't')
			b.wrk_threads = (unsigned)atoi(optarg);
		else if (opt == 'r')
			b.rally_times = (unsigned)atoi(optarg);
		else if (opt == 'o') {
			for (int w = 0; w < NWHO; w++)
				if (!strcmp(optarg, only_names[w]))
					only = w;
			if (only < 0)
				return usage();
		} else {
			return usage();
		}
	}
	b.conns = optind < argc ? (unsigned)atoi(argv[optind]) : 4;
	rounds = optind + 1 < argc ? (unsigned)atoi(argv[optind + 1]) : 9;
	if (!b.conns || !rounds || rounds > MAX_ROUNDS || !b.secs ||
	    b.wrk_threads > b.conns || !b.rally_times || !(rate > 0))
		return usage();

	server = start_server(&port);
	if (server < 0) {
		fprintf(stderr, "bench-load: cannot start the server\n");
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", port);
	b.url = url;
	if (!mkdtemp(dir) || !mkdtemp(rdir))
		goto out;
	b.rally_dir = rdir;
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = dir;
	o.hmac_keys = "bench";
	if (htrace_init_with(&o) != 0)
		goto out;
	if ((only < 0 || only == RALLY) && rally_setup(&b) < 0)
		goto out;

	/* A short run first: it warms the server up and tells how many
	 * threads the driver uses, which wrk then gets too. */
	{
		struct bench warm = b;
		struct figures f;

		warm.secs = 1;
		if (run_driver(&warm, false, &f, &workers) < 0)
			goto out;
		if (!b.wrk_threads)
			b.wrk_threads = workers;
	}
	nruns = only >= 0 ? 1 : NWHO;
	for (unsigned i = 0; i < rounds; i++) {
		for (unsigned j = 0; j < nruns; j++) {
			int w = only >= 0 ? only : (int)((i + j) % NWHO);
			struct figures *f = &fig[w][i];
			double s0 = server_cpu_us(server);
			int r;

			if (w == WRK)
				r = run_wrk(&b, f);
			else if (w == LIBCURL)
				r = run_curl(&b, workers, f);
			else if (w == RALLY)
				r = run_rally(&b, f);
			else
				r = run_driver(&b, w == TRACED, f, &workers);
			if (r < 0)
				goto out;
			f->server_us = (server_cpu_us(server) - s0) /
				       (double)f->requests;
		}
		if (only < 0 && run_precision(&b, rate, &prec[i]) < 0)
			goto out;
	}

	printf("GET %s: %u connections; driver %u worker threads, wrk -t %u "
	       "-c %u; Rally constant runner, concurrency %u, %u times; "
	       "%u rounds, runs alternating (%us each, Rally as long as its "
	       "task takes)\n",
	       url, b.conns, workers, b.wrk_threads, b.conns, b.conns,
	       b.rally_times, rounds, b.secs);
	printf("median [min-max] over the rounds; CPU per request of the "
	       "client (its kernel share and context switches per request, "
	       "medians), then of the server in us; Rally's CPU counts its "
	       "Python start-up and database too\n");
	for (int w = 0; w < NWHO; w++)
		if (only < 0 || only == w)
			print_row(who_names[w], fig[w], rounds);
	if (only >= 0) {
		ret = 0;
		goto out;
	}
	print_ratio("traced, requests/s of wrk's", fig[TRACED], fig[WRK],
		    rounds, false, &med);
	print_ratio("libcurl loop, requests/s of wrk's", fig[LIBCURL], fig[WRK],
		    rounds, false, &med);
	print_ratio("CPU per request, libcurl loop's times", fig[DRIVER],
		    fig[LIBCURL], rounds, true, &med);
	print_ratio("CPU per request, wrk's times", fig[DRIVER], fig[WRK],
		    rounds, true, &med);
	print_ratio("requests/s of wrk's (reference)", fig[DRIVER], fig[WRK],
		    rounds, false, &med);
	print_ratio("traced, iterations/s of Rally's", fig[TRACED], fig[RALLY],
		    rounds, false, &med);
	print_ratio("iterations/s of Rally's (target >= 20)", fig[DRIVER],
		    fig[RALLY], rounds, false, &to_rally);
	print_ratio("requests/s of the libcurl loop's (target >= 0.85)",
		    fig[DRIVER], fig[LIBCURL], rounds, false, &to_curl);
	{
		double v[5][MAX_ROUNDS], m[5], lo[5], hi[5];

		for (unsigned i = 0; i < rounds; i++) {
			v[0][i] = prec[i].achieved;
			v[1][i] = prec[i].late_share * 100;
			v[2][i] = prec[i].lag_p50_us;
			v[3][i] = prec[i].lag_p99_us;
			v[4][i] = prec[i].overshoot_ms;
		}
		for (int k = 0; k < 5; k++)
			stats(v[k], rounds, &m[k], &lo[k], &hi[k]);
		printf("rate runner at %.0f/s for %us: achieved %.4fx the rate "
		       "[%.4f-%.4f], %.1f%% late [%.1f-%.1f], start lag p50 "
		       "%.0fus [%.0f-%.0f], p99 %.0fus [%.0f-%.0f]\n",
		       rate, b.secs, m[0], lo[0], hi[0], m[1], lo[1], hi[1],
		       m[2], lo[2], hi[2], m[3], lo[3], hi[3]);
		printf("duration runner of %us: returns %.1fms after its end "
		       "[%.1f-%.1f]\n", b.secs, m[4], lo[4], hi[4]);
	}
	if (to_curl < 0.85)
		printf("below target: %.2fx the libcurl loop, want 0.85x\n",
		       to_curl);
	if (to_rally < 20)
		printf("below target: %.1fx Rally, want 20x\n", to_rally);
	ret = 0;
out:
	htrace_shutdown();
	if (strcmp(dir, "/tmp/bench-load-XXXXXX"))
		remove_tree(dir);
	if (strcmp(rdir, "/tmp/bench-load-rally-XXXXXX"))
		remove_tree(rdir);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	return ret;
}
