/* test-vcs.c: commit identity on a real repository that the test builds
 * with the git CLI in a temp directory: two branches, a tag, a dirty file,
 * and the errors for a non-repository and an unknown ref. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vcs/vcs.h"

struct repo_fixture {
	char dir[256];
	char repo[300];
	char other[300];	/* a plain directory */
	char base[VCS_SHA_BUFSZ];	/* main's first commit */
	char main2[VCS_SHA_BUFSZ];	/* main's head */
	char feature[VCS_SHA_BUFSZ];	/* feature's head */
};

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

/* Run a shell command in the repository; fail the test if it fails. */
static void sh(const struct repo_fixture *f, const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof(line),
		 "cd '%s' && GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null"
		 " GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org"
		 " GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org"
		 " sh -c '%s' >/dev/null 2>&1",
		 f->repo, cmd);
	if (system(line) != 0)
		fail_msg("command failed: %s", cmd);
}

static void rev(const struct repo_fixture *f, const char *ref,
		char out[VCS_SHA_BUFSZ])
{
	char line[512];
	FILE *p;

	snprintf(line, sizeof(line), "git -C '%s' rev-parse '%s^{commit}'",
		 f->repo, ref);
	p = popen(line, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, VCS_SHA_BUFSZ, p));
	pclose(p);
	assert_int_equal(strlen(out), VCS_SHA_HEXSZ);
}

static int setup(void **state)
{
	struct repo_fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/test-vcs-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/nova", f->dir);
	snprintf(f->other, sizeof(f->other), "%s/plain", f->dir);
	if (mkdir(f->repo, 0700) < 0 || mkdir(f->other, 0700) < 0)
		return -1;
	sh(f, "git init -q -b main . && echo a > a.txt && git add a.txt &&"
	      " GIT_COMMITTER_DATE=\"1700000000 +0000\""
	      " git commit -q -m \"Add a\" && echo \"*.log\" > .gitignore &&"
	      " git add .gitignore && GIT_COMMITTER_DATE=\"1700000100 +0000\""
	      " git commit -q -m \"Ignore logs\" -m \"Second paragraph.\"");
	rev(f, "HEAD", f->main2);
	rev(f, "HEAD~1", f->base);
	sh(f, "git checkout -q -b feature HEAD~1 && echo b > b.txt &&"
	      " git add b.txt && git commit -q -m \"Add b\" &&"
	      " git tag -a v1.2 -m \"release 1.2\" && git checkout -q main");
	rev(f, "feature", f->feature);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct repo_fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct vcs_repo *open_ok(const char *path)
{
	struct vcs_repo *repo = NULL;
	char *cause = NULL;

	if (vcs_open(&repo, path, &cause) < 0)
		fail_msg("vcs_open: %s", cause);
	return repo;
}

static void test_vcs__head_clean_then_dirty(void **state)
{
	struct repo_fixture *f = *state;
	struct vcs_repo *repo = open_ok(f->repo);
	struct vcs_commit c;

	assert_string_equal(vcs_path(repo), f->repo);
	assert_int_equal(vcs_head(&c, repo, NULL), 0);
	assert_string_equal(c.sha, f->main2);
	assert_string_equal(c.branch, "main");
	assert_string_equal(c.subject, "Ignore logs");
	assert_int_equal(c.time, 1700000100);
	assert_false(c.dirty);
	vcs_commit_release(&c);

	/* An ignored file does not make the tree dirty. */
	sh(f, "echo x > debug.log");
	assert_int_equal(vcs_head(&c, repo, NULL), 0);
	assert_false(c.dirty);
	vcs_commit_release(&c);

	/* An untracked one does. */
	sh(f, "mkdir -p sub && echo x > sub/new.txt");
	assert_int_equal(vcs_head(&c, repo, NULL), 0);
	assert_true(c.dirty);
	vcs_commit_release(&c);

	/* So does a modified tracked file. */
	sh(f, "rm -r sub && echo changed > a.txt");
	assert_int_equal(vcs_head(&c, repo, NULL), 0);
	assert_true(c.dirty);
	vcs_commit_release(&c);

	/* And a staged one. */
	sh(f, "git checkout -q -- a.txt && echo c > c.txt && git add c.txt");
	assert_int_equal(vcs_head(&c, repo, NULL), 0);
	assert_true(c.dirty);
	vcs_commit_release(&c);
	vcs_free(repo);
}

static void test_vcs__detached_head(void **state)
{
	struct repo_fixture *f = *state;
	struct vcs_repo *repo;
	struct vcs_commit c;

	sh(f, "git checkout -q --detach feature");
	repo = open_ok(f->repo);
	assert_int_equal(vcs_head(&c, repo, NULL), 0);
	assert_string_equal(c.sha, f->feature);
	assert_null(c.branch);
	assert_string_equal(c.subject, "Add b");
	vcs_commit_release(&c);
	vcs_free(repo);
}

static void test_vcs__resolve(void **state)
{
	struct repo_fixture *f = *state;
	struct vcs_repo *repo = open_ok(f->repo);
	char sha[VCS_SHA_BUFSZ], prefix[9];
	struct vcs_commit c;

	assert_int_equal(vcs_resolve(sha, repo, "main", NULL), 0);
	assert_string_equal(sha, f->main2);
	assert_int_equal(vcs_resolve(sha, repo, "feature", NULL), 0);
	assert_string_equal(sha, f->feature);
	/* An annotated tag peels to its commit. */
	assert_int_equal(vcs_resolve(sha, repo, "v1.2", NULL), 0);
	assert_string_equal(sha, f->feature);
	assert_int_equal(vcs_resolve(sha, repo, "HEAD~1", NULL), 0);
	assert_string_equal(sha, f->base);
	memcpy(prefix, f->base, 8);
	prefix[8] = '\0';
	assert_int_equal(vcs_resolve(sha, repo, prefix, NULL), 0);
	assert_string_equal(sha, f->base);

	assert_int_equal(vcs_describe(&c, repo, "v1.2", NULL), 0);
	assert_string_equal(c.sha, f->feature);
	assert_string_equal(c.subject, "Add b");
	assert_null(c.branch);
	vcs_commit_release(&c);
	vcs_free(repo);
}

static void test_vcs__merge_base(void **state)
{
	struct repo_fixture *f = *state;
	struct vcs_repo *repo = open_ok(f->repo);
	char sha[VCS_SHA_BUFSZ];

	assert_int_equal(vcs_merge_base(sha, repo, "HEAD", "feature", NULL),
			 0);
	assert_string_equal(sha, f->base);
	assert_int_equal(vcs_merge_base(sha, repo, "feature", "main", NULL),
			 0);
	assert_string_equal(sha, f->base);
	/* A ref that contains the other: the merge-base is the older one. */
	assert_int_equal(vcs_merge_base(sha, repo, "main", "HEAD~1", NULL),
			 0);
	assert_string_equal(sha, f->base);
	vcs_free(repo);
}

static void test_vcs__errors(void **state)
{
	struct repo_fixture *f = *state;
	struct vcs_repo *repo = NULL;
	char sha[VCS_SHA_BUFSZ], want[512];
	char *cause = NULL;

	assert_int_equal(vcs_open(&repo, f->other, &cause), VCS_ENOTREPO);
	assert_null(repo);
	snprintf(want, sizeof(want), "'%s' is not a git repository",
		 f->other);
	assert_string_equal(cause, want);
	free(cause);
	cause = NULL;

	repo = open_ok(f->repo);
	assert_int_equal(vcs_resolve(sha, repo, "nope", &cause),
			 VCS_EUNKNOWN);
	snprintf(want, sizeof(want), "unknown revision 'nope' in '%s'",
		 f->repo);
	assert_string_equal(cause, want);
	assert_string_equal(sha, "");
	free(cause);
	cause = NULL;
	assert_int_equal(vcs_merge_base(sha, repo, "main", "nope", &cause),
			 VCS_EUNKNOWN);
	assert_string_equal(cause, want);
	free(cause);
	vcs_free(repo);
}

static void test_vcs__no_commits(void **state)
{
	struct repo_fixture *f = *state;
	struct vcs_repo *repo;
	struct vcs_commit c;
	char *cause = NULL;

	sh(f, "rm -rf .git && git init -q -b main .");
	repo = open_ok(f->repo);
	assert_int_equal(vcs_head(&c, repo, &cause), VCS_EUNKNOWN);
	assert_non_null(strstr(cause, "has no commits yet"));
	free(cause);
	vcs_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_vcs__head_clean_then_dirty),
		T(test_vcs__detached_head),
		T(test_vcs__resolve),
		T(test_vcs__merge_base),
		T(test_vcs__errors),
		T(test_vcs__no_commits),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
