/* compare-mkstore.c: make the synthetic store that compare-cli.sh runs
 * `harness compare` on. Runs (ids in a new store):
 *   1 base at SHA_A           2 like 1 at SHA_A (A/A)
 *   3 op19 twice as slow (the iteration +7%) at SHA_B
 *   4 op07 called twice       5 three failed iterations
 *   6 scenario "other"        7, 8 four noisy iterations of 3 ops
 *   9, 10 like 3 at SHA_B, other seeds (several runs per side)
 *   11 like 1 on a machine 30% slower: every operation x1.3
 *
 * usage: compare-mkstore DB CONFIG_HASH REPO SHA_A SHA_B */
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "test-compare-gen.h"

int main(int argc, char **argv)
{
	struct store *st = NULL;
	struct gen_spec g[11];
	char *cause = NULL;
	int64_t id;

	if (argc != 6) {
		fprintf(stderr, "usage: compare-mkstore DB CONFIG_HASH REPO "
				"SHA_A SHA_B\n");
		return 64;
	}
	for (int i = 0; i < 11; i++) {
		gen_spec_init(&g[i]);
		g[i].config_hash = argv[2];
		g[i].repo = argv[3];
		g[i].nops = 20;
		g[i].seed = (uint64_t)i + 1;
	}
	g[0].sha = argv[4];
	g[1].sha = argv[4];
	g[2].sha = argv[5];
	g[2].shift_op = 19;
	g[2].shift = 1.0;
	g[3].count_op = 7;
	g[3].count_extra = 1;
	g[4].failed = 3;
	g[5].scenario = "other";
	for (int i = 6; i < 8; i++) {
		g[i].iterations = 4;
		g[i].nops = 3;
		g[i].noise = 0.5;
	}
	for (int i = 8; i < 10; i++) {
		g[i].sha = argv[5];
		g[i].shift_op = 19;
		g[i].shift = 1.0;
	}
	g[10].scale = 0.3;
	if (store_open(&st, argv[1], &cause) < 0)
		goto fail;
	for (int i = 0; i < 11; i++)
		if (gen_run(&id, st, &g[i], &cause) < 0 || id != i + 1)
			goto fail;
	store_free(st);
	return 0;
fail:
	fprintf(stderr, "compare-mkstore: %s\n", cause ? cause : "bad run id");
	free(cause);
	store_free(st);
	return 1;
}
