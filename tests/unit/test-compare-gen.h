/* test-compare-gen.h: synthetic runs for the compare tests, written
 * through the store API: iterations of NOPS sequential operations under an
 * iteration root, with seeded noise, a planted shift, extra calls or
 * failures. */
#ifndef TEST_COMPARE_GEN_H
#define TEST_COMPARE_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct gen_spec {
	const char *scenario;	/* default "syn" */
	const char *config_hash; /* default "h1" */
	const char *repo, *sha;	/* a commit of the run, or NULL */
	unsigned iterations;	/* measured ones */
	unsigned warmup;
	unsigned nops;		/* operations per iteration */
	uint64_t seed;
	double noise;		/* relative spread of each duration, +-noise */
	int shift_op;		/* this op's durations times 1 + shift; -1 */
	double shift;
	double scale;		/* every op's durations times 1 + scale: a
				 * machine running at another speed */
	int count_op;		/* this op runs 1 + count_extra times; -1 */
	unsigned count_extra;
	unsigned failed;	/* that many measured iterations fail */
	bool no_spans;		/* iterations table only */
	/* Add the iterations to this existing run instead of a new one
	 * (0: a new run), their seq counting on from first_seq: one run
	 * holding what several runs hold. */
	int64_t append_to;
	unsigned first_seq;
};

void gen_spec_init(struct gen_spec *g);

/* The name of operation I: "op07"; its service "svc2". Static buffers. */
const char *gen_op_name(unsigned i);
const char *gen_op_service(unsigned i);

int gen_run(int64_t *run_id, struct store *st, const struct gen_spec *g,
	    char **cause);

#endif
