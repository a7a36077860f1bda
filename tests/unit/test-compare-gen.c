/* test-compare-gen.c: synthetic runs for the compare tests (see
 * test-compare-gen.h). */
#include "test-compare-gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gen_spec_init(struct gen_spec *g)
{
	memset(g, 0, sizeof(*g));
	g->scenario = "syn";
	g->config_hash = "h1";
	g->iterations = 20;
	g->nops = 50;
	g->seed = 1;
	g->noise = 0.02;
	g->shift_op = -1;
	g->count_op = -1;
}

const char *gen_op_name(unsigned i)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "op%02u", i);
	return buf;
}

const char *gen_op_service(unsigned i)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "svc%u", i % 5);
	return buf;
}

static double uniform(uint64_t *s)
{
	/* xorshift64*: plenty for test noise, the same on every machine. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

int gen_run(int64_t *run_id, struct store *st, const struct gen_spec *g,
	    char **cause)
{
	struct store_run_info info = {
		.scenario = g->scenario, .config_hash = g->config_hash,
		.start_ns = 1700000000000000000LL + (int64_t)g->seed * 1000000,
	};
	unsigned total = g->warmup + g->iterations;
	size_t cap = 2 + g->nops + g->count_extra;
	struct store_span *spans = calloc(cap, sizeof(*spans));
	char names[64][16], services[64][16];
	uint64_t s = g->seed * 0x9E3779B97F4A7C15ULL + 7;
	int64_t t = info.start_ns;
	int ret = -1;

	if (!spans || g->nops > 64)
		goto out;
	for (unsigned i = 0; i < g->nops; i++) {
		snprintf(names[i], sizeof(names[i]), "%s", gen_op_name(i));
		snprintf(services[i], sizeof(services[i]), "%s",
			 gen_op_service(i));
	}
	if (g->append_to)
		*run_id = g->append_to;
	else if (store_run_create(run_id, st, &info, cause) < 0)
		goto out;
	if (g->sha && !g->append_to) {
		struct store_commit c = { .repo = g->repo, .path = ".",
					  .sha = g->sha, .subject = "s" };

		if (store_run_add_commit(st, *run_id, &c, cause) < 0)
			goto out;
	}
	if (store_tx_begin(st, cause) < 0)
		goto out;
	for (unsigned it = 0; it < total; it++) {
		struct store_iteration row = { .seq = g->first_seq + it };
		struct store_step step = { .name = "all", .ok = true };
		size_t n = 0;
		int64_t cursor = t + 1000;
		bool failed = it >= total - g->failed;

		memset(row.trace_id, 0, 16);
		row.trace_id[0] = 0xc0;
		row.trace_id[8] = (uint8_t)(g->seed & 0xff);
		row.trace_id[14] = (uint8_t)(it >> 8);
		row.trace_id[15] = (uint8_t)it;
		for (unsigned i = 0; i < g->nops; i++) {
			unsigned calls = 1;
			double base = 1e6 + 1e5 * i;

			if ((int)i == g->count_op)
				calls += g->count_extra;
			if ((int)i == g->shift_op)
				base *= 1 + g->shift;
			base *= 1 + g->scale;
			for (unsigned k = 0; k < calls; k++) {
				struct store_span *sp = &spans[1 + n++];
				double d = base * (1 + g->noise *
						   (2 * uniform(&s) - 1));

				memset(sp, 0, sizeof(*sp));
				memcpy(sp->trace_id, row.trace_id, 16);
				sp->span_id = 2 + n;
				sp->parent_id = 1;
				sp->kind = "func";
				sp->name = names[i];
				sp->service = services[i];
				sp->start_ns = cursor;
				sp->dur_ns = (int64_t)d;
				cursor += sp->dur_ns + 1000;
			}
		}
		memset(&spans[0], 0, sizeof(spans[0]));
		memcpy(spans[0].trace_id, row.trace_id, 16);
		spans[0].span_id = 1;
		spans[0].kind = "iteration";
		spans[0].name = g->scenario;
		spans[0].service = "harness";
		spans[0].start_ns = t;
		spans[0].dur_ns = cursor - t;
		spans[0].status = failed ? STORE_SPAN_ERROR : STORE_SPAN_OK;
		row.warmup = it < g->warmup;
		row.ok = !failed;
		row.error = failed ? "step 'all': status 500" : NULL;
		row.intended_start_ns = t;
		row.start_ns = t;
		row.dur_ns = cursor - t;
		step.start_ns = t + 500;
		step.dur_ns = cursor - t - 1000;
		step.ok = !failed;
		step.error = row.error;
		row.steps = &step;
		row.nsteps = 1;
		if (store_iteration_add(st, *run_id, &row, cause) < 0)
			goto fail;
		if (!g->no_spans &&
		    store_spans_add(st, *run_id, spans, n + 1, cause) < 0)
			goto fail;
		t = cursor + 1000000;
	}
	if (store_tx_commit(st, cause) < 0)
		goto out;
	ret = store_run_finish(st, *run_id, STORE_RUN_OK, NULL, t, cause);
	goto out;
fail:
	store_tx_rollback(st);
out:
	free(spans);
	return ret;
}
