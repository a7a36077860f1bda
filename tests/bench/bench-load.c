/* bench-load.c: the load driver against wrk on a trivial local endpoint, at
 * the same number of connections in the same run: requests per second and
 * CPU time per request of each, and their ratio (the target is at least
 * 0.8x wrk's requests per second). The server runs in a child process so
 * that its CPU time is counted for neither.
 *
 * usage: bench-load [connections] [rounds] */
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
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

extern char **environ;

struct figures {
	double rps;
	double cpu_us_per_req;
	unsigned long long requests;
};

static double tv_us(struct timeval tv)
{
	return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
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

static int run_wrk(const char *url, unsigned conns, unsigned secs,
		   struct figures *out)
{
	char c[16], d[16], t[16], buf[8192];
	char *argv[] = { "wrk", "-t", t, "-c", c, "-d", d, (char *)url, NULL };
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int fd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	const char *p;

	snprintf(c, sizeof(c), "%u", conns);
	snprintf(d, sizeof(d), "%us", secs);
	/* One thread per two connections, at most two: the machine's cores. */
	snprintf(t, sizeof(t), "%u", conns >= 2 ? 2 : 1);
	if (pipe(fd) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	if (posix_spawnp(&pid, "wrk", &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	while ((n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	p = strstr(buf, "Requests/sec:");
	if (!p)
		return -1;
	out->rps = strtod(p + 13, NULL);
	out->requests = (unsigned long long)(out->rps * secs);
	out->cpu_us_per_req = (tv_us(ru.ru_utime) + tv_us(ru.ru_stime)) /
			      (double)(out->requests ? out->requests : 1);
	return 0;
}

static int run_driver(const char *url, unsigned conns, unsigned secs,
		      bool trace, struct figures *out)
{
	struct scenario_step step = {
		.name = "get",
		.type = STEP_REQUEST,
		.request = { .url = (char *)url },
	};
	struct scenario sc = {
		.name = "bench",
		.steps = &step,
		.nsteps = 1,
		.runner = {
			.type = RUNNER_DURATION,
			.concurrency = conns,
			.duration_ns = secs * NS_PER_SEC,
			.iteration_timeout_ns = 10 * NS_PER_SEC,
		},
	};
	struct load_options opts = { .scenario = &sc, .trace = trace };
	struct load_summary sum;
	struct rusage r0, r1;
	struct load *ld;
	char *cause = NULL;
	uint64_t t0, el;

	if (load_new(&ld, &opts, &cause) < 0) {
		fprintf(stderr, "bench-load: %s\n", cause);
		free(cause);
		return -1;
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = time_mono_ns();
	if (load_run(ld, &sum, &cause) < 0) {
		fprintf(stderr, "bench-load: %s\n", cause);
		free(cause);
		load_free(ld);
		return -1;
	}
	el = time_mono_ns() - t0;
	getrusage(RUSAGE_SELF, &r1);
	load_free(ld);
	if (sum.failed) {
		fprintf(stderr, "bench-load: %llu iterations failed\n",
			(unsigned long long)sum.failed);
		return -1;
	}
	out->requests = sum.iterations;
	out->rps = (double)sum.iterations * NS_PER_SEC / (double)el;
	out->cpu_us_per_req = (tv_us(r1.ru_utime) + tv_us(r1.ru_stime) -
			       tv_us(r0.ru_utime) - tv_us(r0.ru_stime)) /
			      (double)(sum.iterations ? sum.iterations : 1);
	return 0;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

static void print(const char *who, const struct figures *f)
{
	printf("%-22s %10.0f req/s %8.1f us CPU/req %10llu requests\n", who,
	       f->rps, f->cpu_us_per_req, f->requests);
}

static void add(struct figures *sum, const struct figures *f, unsigned secs)
{
	/* Sums CPU time and requests; rps is recomputed at the end. */
	sum->requests += f->requests;
	sum->cpu_us_per_req += f->cpu_us_per_req * (double)f->requests;
	sum->rps += (double)secs;	/* seconds, for now */
}

static void finish(struct figures *sum)
{
	double secs = sum->rps;

	sum->rps = (double)sum->requests / secs;
	sum->cpu_us_per_req /= (double)(sum->requests ? sum->requests : 1);
}

/* Rounds of one second each, wrk and the driver taking turns, so that the
 * load of the rest of the machine falls on both alike. */
int main(int argc, char **argv)
{
	unsigned conns = argc > 1 ? (unsigned)atoi(argv[1]) : 4;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
	struct figures wrk = { 0 }, drv = { 0 }, traced = { 0 }, f;
	struct htrace_options o;
	char url[64], dir[] = "/tmp/bench-load-XXXXXX";
	int port, ret = 1;
	pid_t server;

	if (!conns || !rounds) {
		fprintf(stderr, "usage: bench-load [connections] [rounds]\n");
		return 2;
	}
	server = start_server(&port);
	if (server < 0) {
		fprintf(stderr, "bench-load: cannot start the server\n");
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", port);
	if (!mkdtemp(dir))
		goto out;
	htrace_options_init(&o);
	o.service = "harness";
	o.spool_dir = dir;
	o.hmac_keys = "bench";
	if (htrace_init_with(&o) != 0)
		goto out;

	for (unsigned i = 0; i < rounds; i++) {
		if (run_wrk(url, conns, 1, &f) < 0) {
			fprintf(stderr, "bench-load: wrk did not run (is it "
					"installed?)\n");
			goto out;
		}
		add(&wrk, &f, 1);
		if (run_driver(url, conns, 1, false, &f) < 0)
			goto out;
		add(&drv, &f, 1);
		/* Every iteration traced to the spool directory. */
		if (run_driver(url, conns, 1, true, &f) < 0)
			goto out;
		add(&traced, &f, 1);
	}
	finish(&wrk);
	finish(&drv);
	finish(&traced);

	printf("%u connections, %u rounds of 1s each, GET %s\n", conns,
	       rounds, url);
	print("wrk", &wrk);
	print("harness load", &drv);
	print("harness load, traced", &traced);
	printf("ratio: %.2fx wrk's requests/s (traced %.2fx); target >= "
	       "0.80x\n",
	       drv.rps / wrk.rps, traced.rps / wrk.rps);
	if (drv.rps < 0.8 * wrk.rps)
		printf("below target\n");
	ret = 0;
out:
	htrace_shutdown();
	if (strcmp(dir, "/tmp/bench-load-XXXXXX"))
		remove_tree(dir);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	return ret;
}
