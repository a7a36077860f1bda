/* suggest.c: the closest name to a mistyped one, by Levenshtein distance,
 * for the "did you mean" hints of config, scenario and option errors. */
#include "util/suggest.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row, best;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	row = xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

const char *suggest_closest(const char *word, const char *const *list)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t limit = strlen(word) / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; list[i]; i++) {
		size_t d = edit_distance(word, list[i]);

		if (d < best_d) {
			best_d = d;
			best = list[i];
		}
	}
	return best_d <= limit ? best : NULL;
}
