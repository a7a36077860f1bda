/* vcs.h: the git identity of the projects under test, through libgit2:
 * what HEAD is (sha, branch, dirty, subject, time), what a ref names, and
 * where two refs meet.
 *
 * Functions return 0 on success and a negative value on failure with
 * *cause set to a message the caller frees ("'/tmp/x' is not a git
 * repository", "unknown revision 'nope' in 'repo'"). */
#ifndef HARNESS_VCS_H
#define HARNESS_VCS_H

#include <stdbool.h>
#include <stdint.h>

/* Hex digits of a sha-1 object id, and the buffer size holding one. */
#define VCS_SHA_HEXSZ 40
#define VCS_SHA_BUFSZ (VCS_SHA_HEXSZ + 1)

#define VCS_ENOTREPO (-2)
#define VCS_EUNKNOWN (-3)

struct vcs_repo;

/* Open the repository whose work tree (or .git directory) is PATH. PATH
 * itself must be the repository: parent directories are not searched, so
 * a project that is not a repository is never mistaken for the one around
 * it. Returns VCS_ENOTREPO when it is not one. */
int vcs_open(struct vcs_repo **out, const char *path, char **cause);
/* Accepts NULL. */
void vcs_free(struct vcs_repo *repo);
/* The path given to vcs_open. Borrowed from repo. */
const char *vcs_path(const struct vcs_repo *repo);

/* What a commit is. Strings are owned by the struct (vcs_commit_release). */
struct vcs_commit {
	char sha[VCS_SHA_BUFSZ];
	char *branch;		/* short branch name; NULL when detached */
	bool dirty;		/* modified, staged or untracked files that
				 * are not ignored (HEAD only) */
	char *subject;		/* first line of the message */
	int64_t time;		/* commit time, unix seconds */
};

/* The commit HEAD points at, its branch and whether the work tree is
 * dirty. A repository without commits is an error. */
int vcs_head(struct vcs_commit *out, struct vcs_repo *repo, char **cause);
/* The commit REF names (branch and dirty are left NULL and false). */
int vcs_describe(struct vcs_commit *out, struct vcs_repo *repo,
		 const char *ref, char **cause);
void vcs_commit_release(struct vcs_commit *c);

/* Resolve REF (a branch such as "main", a tag "v1.2" — annotated ones
 * peeled —, a sha or unique prefix, "HEAD~3", any git revision) to the
 * full sha of a commit. VCS_EUNKNOWN when it names nothing. */
int vcs_resolve(char sha[VCS_SHA_BUFSZ], struct vcs_repo *repo,
		const char *ref, char **cause);
/* The merge-base of refs A and B: the best common ancestor. VCS_EUNKNOWN
 * when either is unknown or they share no history. */
int vcs_merge_base(char sha[VCS_SHA_BUFSZ], struct vcs_repo *repo,
		   const char *a, const char *b, char **cause);

#endif
