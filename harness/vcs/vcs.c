/* vcs.c: commit identity through libgit2, so that every run says exactly
 * which code it measured and a baseline can be found by git ancestry. */
#include "vcs/vcs.h"

#include <git2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

struct vcs_repo {
	git_repository *git;
	char *path;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* libgit2 keeps global state; initialise it once for the process and let
 * exit() take it down (other modules may still hold repositories). */
static void init_libgit2(void)
{
	git_libgit2_init();
}

static int fail(char **cause, int code, const char *fmt, ...)
	HARNESS_PRINTF(3, 4);

static int fail(char **cause, int code, const char *fmt, ...)
{
	va_list ap;

	if (cause) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return code;
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

int vcs_open(struct vcs_repo **out, const char *path, char **cause)
{
	git_repository *git = NULL;
	struct vcs_repo *repo;
	int rc;

	*out = NULL;
	pthread_once(&init_once, init_libgit2);
	rc = git_repository_open_ext(&git, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
				     NULL);
	if (rc == GIT_ENOTFOUND)
		return fail(cause, VCS_ENOTREPO,
			    "'%s' is not a git repository", path);
	if (rc < 0)
		return fail(cause, -1, "cannot open repository '%s': %s", path,
			    git_msg());
	repo = xcalloc(1, sizeof(*repo));
	repo->git = git;
	repo->path = xstrdup(path);
	*out = repo;
	return 0;
}

void vcs_free(struct vcs_repo *repo)
{
	if (!repo)
		return;
	git_repository_free(repo->git);
	free(repo->path);
	free(repo);
}

const char *vcs_path(const struct vcs_repo *repo)
{
	return repo->path;
}

void vcs_commit_release(struct vcs_commit *c)
{
	free(c->branch);
	free(c->subject);
	c->branch = NULL;
	c->subject = NULL;
}

static void fill_commit(struct vcs_commit *out, git_commit *commit)
{
	const char *msg = git_commit_message(commit);
	size_t len;

	git_oid_tostr(out->sha, sizeof(out->sha), git_commit_id(commit));
	if (!msg)
		msg = "";
	len = strcspn(msg, "\r\n");
	out->subject = xstrndup(msg, len);
	out->time = (int64_t)git_commit_time(commit);
}

static int is_dirty(bool *dirty, struct vcs_repo *repo, char **cause)
{
	git_status_options opts;
	git_status_list *list = NULL;

	*dirty = false;
	if (git_repository_is_bare(repo->git))
		return 0;
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
		     GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
	if (git_status_list_new(&list, repo->git, &opts) < 0)
		return fail(cause, -1, "cannot read the status of '%s': %s",
			    repo->path, git_msg());
	*dirty = git_status_list_entrycount(list) > 0;
	git_status_list_free(list);
	return 0;
}

int vcs_head(struct vcs_commit *out, struct vcs_repo *repo, char **cause)
{
	git_reference *head = NULL;
	git_object *obj = NULL;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	rc = git_repository_head(&head, repo->git);
	if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND)
		return fail(cause, VCS_EUNKNOWN, "'%s' has no commits yet",
			    repo->path);
	if (rc < 0)
		return fail(cause, -1, "cannot read HEAD of '%s': %s",
			    repo->path, git_msg());
	if (git_reference_peel(&obj, head, GIT_OBJECT_COMMIT) < 0) {
		fail(cause, -1, "HEAD of '%s' is not a commit: %s", repo->path,
		     git_msg());
		goto out;
	}
	fill_commit(out, (git_commit *)obj);
	if (git_reference_is_branch(head))
		out->branch = xstrdup(git_reference_shorthand(head));
	if (is_dirty(&out->dirty, repo, cause) < 0) {
		vcs_commit_release(out);
		goto out;
	}
	ret = 0;
out:
	git_object_free(obj);
	git_reference_free(head);
	return ret;
}

/* REF peeled to the commit it names; *commit is the caller's to free. */
static int lookup(git_object **commit, struct vcs_repo *repo, const char *ref,
		  char **cause)
{
	git_object *obj = NULL;
	int rc;

	*commit = NULL;
	rc = git_revparse_single(&obj, repo->git, ref);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return fail(cause, VCS_EUNKNOWN,
			    "unknown revision '%s' in '%s'", ref, repo->path);
	if (rc == GIT_EAMBIGUOUS)
		return fail(cause, VCS_EUNKNOWN,
			    "ambiguous revision '%s' in '%s': give more of "
			    "the sha",
			    ref, repo->path);
	if (rc < 0)
		return fail(cause, -1, "cannot resolve '%s' in '%s': %s", ref,
			    repo->path, git_msg());
	rc = git_object_peel(commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return fail(cause, VCS_EUNKNOWN,
			    "revision '%s' in '%s' is not a commit", ref,
			    repo->path);
	return 0;
}

int vcs_describe(struct vcs_commit *out, struct vcs_repo *repo,
		 const char *ref, char **cause)
{
	git_object *commit;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = lookup(&commit, repo, ref, cause);
	if (ret < 0)
		return ret;
	fill_commit(out, (git_commit *)commit);
	git_object_free(commit);
	return 0;
}

int vcs_resolve(char sha[VCS_SHA_BUFSZ], struct vcs_repo *repo,
		const char *ref, char **cause)
{
	git_object *commit;
	int ret;

	sha[0] = '\0';
	ret = lookup(&commit, repo, ref, cause);
	if (ret < 0)
		return ret;
	git_oid_tostr(sha, VCS_SHA_BUFSZ, git_object_id(commit));
	git_object_free(commit);
	return 0;
}

int vcs_merge_base(char sha[VCS_SHA_BUFSZ], struct vcs_repo *repo,
		   const char *a, const char *b, char **cause)
{
	git_object *ca = NULL, *cb = NULL;
	git_oid base;
	int rc, ret;

	sha[0] = '\0';
	if ((ret = lookup(&ca, repo, a, cause)) < 0 ||
	    (ret = lookup(&cb, repo, b, cause)) < 0)
		goto out;
	rc = git_merge_base(&base, repo->git, git_object_id(ca),
			    git_object_id(cb));
	if (rc == GIT_ENOTFOUND) {
		ret = fail(cause, VCS_EUNKNOWN,
			   "'%s' and '%s' share no history in '%s'", a, b,
			   repo->path);
		goto out;
	}
	if (rc < 0) {
		ret = fail(cause, -1,
			   "cannot find the merge-base of '%s' and '%s' in "
			   "'%s': %s",
			   a, b, repo->path, git_msg());
		goto out;
	}
	git_oid_tostr(sha, VCS_SHA_BUFSZ, &base);
	ret = 0;
out:
	git_object_free(ca);
	git_object_free(cb);
	return ret;
}
