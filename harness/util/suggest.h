/* suggest.h: the "did you mean" of every message about a mistyped name: a
 * config key, a scenario, a command-line option. */
#ifndef HARNESS_SUGGEST_H
#define HARNESS_SUGGEST_H

/* The entry of list closest to word by edit distance, or NULL when none is
 * close enough to be a likely typo (at most a third of word's length, 1 to
 * 3 edits). list is NULL-terminated; the result is borrowed from it. */
const char *suggest_closest(const char *word, const char *const *list);

#endif
