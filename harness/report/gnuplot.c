/* gnuplot.c: running gnuplot as a child process on a script of reports/,
 * with its output and data files in a scratch directory so that no path
 * of the user's ever has to be quoted in gnuplot's language. */
#include "report/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"
#include "util/strbuf.h"

static char *find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	if (!path || !*path)
		return NULL;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *cand = xasprintf("%s/%s", *dir ? dir : ".", name);
		struct stat sb;

		if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(copy);
	return found;
}

int gnuplot_init(struct gnuplot *gp, const char *program, char **cause)
{
	const char *tmp = getenv("TMPDIR");

	memset(gp, 0, sizeof(*gp));
	gp->program = find_on_path(program ? program : "gnuplot");
	if (!gp->program)
		return 1;
	/* gnuplot sees this path inside single quotes. */
	if (!tmp || !*tmp || strchr(tmp, '\''))
		tmp = "/tmp";
	gp->dir = xasprintf("%s/harness-report-XXXXXX", tmp);
	if (!mkdtemp(gp->dir)) {
		*cause = xasprintf("cannot make a directory in '%s': %s", tmp,
				   strerror(errno));
		free(gp->dir);
		free(gp->program);
		memset(gp, 0, sizeof(*gp));
		return -1;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

void gnuplot_release(struct gnuplot *gp)
{
	if (gp->dir)
		nftw(gp->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(gp->dir);
	free(gp->program);
	memset(gp, 0, sizeof(*gp));
}

char *gnuplot_data_path(struct gnuplot *gp, const char *name)
{
	return xasprintf("%s/%u-%s", gp->dir, ++gp->nfiles, name);
}

static int write_file(const char *path, const char *text, char **cause)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		*cause = xasprintf("cannot write '%s': %s", path,
				   strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return 0;
}

/* Copy FROM to TO: TO may be on another file system than the scratch
 * directory. */
static int copy_file(const char *from, const char *to, char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	FILE *f;
	int ret = 0;

	if (strbuf_read_file(&sb, from) < 0) {
		*cause = xasprintf("cannot read '%s': %s", from,
				   strerror(errno));
		return -1;
	}
	f = fopen(to, "wb");
	if (!f || fwrite(sb.buf, 1, sb.len, f) != sb.len || fclose(f) != 0) {
		*cause = xasprintf("cannot write '%s': %s", to,
				   strerror(errno));
		if (f)
			fclose(f);
		ret = -1;
	}
	strbuf_release(&sb);
	return ret;
}

int gnuplot_draw(struct gnuplot *gp, const char *template, const char *vars,
		 const char *terminal, int width, int height,
		 const char *path, char **cause)
{
	struct strbuf script = STRBUF_INIT, err = STRBUF_INIT;
	char *script_path = gnuplot_data_path(gp, "chart.gp");
	char *out_path = gnuplot_data_path(gp, "chart.out");
	char *err_path = gnuplot_data_path(gp, "stderr.txt");
	int ret = -1, status, fd;
	pid_t pid;

	if (!strcmp(terminal, "svg"))
		strbuf_addf(&script,
			    "set terminal svg size %d,%d dynamic "
			    "font 'sans,12' background rgb 'white'\n",
			    width, height);
	else
		strbuf_addf(&script,
			    "set terminal pngcairo size %d,%d "
			    "font 'sans,10' background rgb 'white'\n",
			    width, height);
	strbuf_addf(&script, "set output '%s'\n%s\n%s\nset output\n",
		    out_path, vars, template);
	if (write_file(script_path, script.buf, cause) < 0)
		goto out;

	pid = fork();
	if (pid < 0) {
		*cause = xasprintf("cannot start '%s': %s", gp->program,
				   strerror(errno));
		goto out;
	}
	if (pid == 0) {
		fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			close(fd);
		}
		execl(gp->program, gp->program, script_path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*cause = xasprintf("cannot wait for '%s': %s",
					   gp->program, strerror(errno));
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		strbuf_read_file(&err, err_path);
		while (err.len && err.buf[err.len - 1] == '\n')
			err.buf[--err.len] = '\0';
		*cause = xasprintf("'%s' failed (%s %d)%s%s", gp->program,
				   WIFEXITED(status) ? "exit" : "signal",
				   WIFEXITED(status) ? WEXITSTATUS(status) :
						       WTERMSIG(status),
				   err.len ? ": " : "", err.buf);
		goto out;
	}
	ret = copy_file(out_path, path, cause);
out:
	strbuf_release(&script);
	strbuf_release(&err);
	free(script_path);
	free(out_path);
	free(err_path);
	return ret;
}
