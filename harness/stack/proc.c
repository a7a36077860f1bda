/* proc.c: looking at processes through /proc: whether one still lives (and
 * is the one we started, not a reused pid), whether a process group still
 * has members, and the tail of a service's log for error messages. */
#include "stack/stack-int.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int proc_stat(pid_t pid, uint64_t *starttime, char *state, pid_t *pgrp)
{
	char path[64], buf[1024];
	unsigned long long st = 0;
	int pg = 0;
	char s = '?';
	FILE *f;
	size_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name is in parentheses and may itself hold ")". */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime */
	if (sscanf(p + 1,
		   " %c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d"
		   " %*d %*d %*d %*d %llu",
		   &s, &pg, &st) != 3)
		return -1;
	if (starttime)
		*starttime = st;
	if (state)
		*state = s;
	if (pgrp)
		*pgrp = pg;
	return 0;
}

bool proc_alive(pid_t pid, uint64_t starttime)
{
	uint64_t st;
	char state;

	if (pid <= 0 || proc_stat(pid, &st, &state, NULL) < 0)
		return false;
	if (state == 'Z' || state == 'X')
		return false;
	return !starttime || st == starttime;
}

bool proc_group_alive(pid_t pgid)
{
	struct dirent *de;
	bool alive = false;
	DIR *d;

	if (pgid <= 1)
		return false;
	/* Quick answer when the group is empty, zombies included. */
	if (kill(-pgid, 0) < 0 && errno == ESRCH)
		return false;
	/* Otherwise look for a member that is not a zombie: a reparented
	 * zombie may never be reaped if pid 1 does not reap. */
	d = opendir("/proc");
	if (!d)
		return true;
	while (!alive && (de = readdir(d))) {
		pid_t pid, pgrp;
		char state;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (proc_stat(pid, NULL, &state, &pgrp) < 0)
			continue;
		if (pgrp == pgid && state != 'Z' && state != 'X')
			alive = true;
	}
	closedir(d);
	return alive;
}

void proc_describe_status(char *buf, size_t size, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended with wait status %d", status);
}

void proc_log_tail(struct strbuf *sb, const char *path, unsigned nlines)
{
	struct strbuf file = STRBUF_INIT;
	const char *start;
	size_t end;
	unsigned seen = 0;

	if (!path)
		return;
	if (strbuf_read_file(&file, path) < 0) {
		strbuf_addf(sb, "\n(cannot read log '%s': %s)", path,
			    strerror(errno));
		goto out;
	}
	end = file.len;
	while (end && (file.buf[end - 1] == '\n' || file.buf[end - 1] == ' '))
		end--;
	if (!end) {
		strbuf_addf(sb, "\n(log '%s' is empty)", path);
		goto out;
	}
	start = file.buf + end;
	while (start > file.buf) {
		if (start[-1] == '\n' && ++seen == nlines)
			break;
		start--;
	}
	strbuf_addf(sb, "\nlast lines of '%s':", path);
	while (start < file.buf + end) {
		const char *nl = memchr(start, '\n', file.buf + end - start);
		size_t len = nl ? (size_t)(nl - start)
				: (size_t)(file.buf + end - start);

		strbuf_addstr(sb, "\n    ");
		strbuf_add(sb, start, len);
		start += len + 1;
	}
out:
	strbuf_release(&file);
}

void proc_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int stack_mkdir_p(const char *path, char **cause)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			*cause = xasprintf("cannot create directory '%s': %s",
					   p, strerror(errno));
			ret = STACK_ERROR;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}
