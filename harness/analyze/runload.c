/* runload.c: read a run's iterations and span timings from the store,
 * hand on the traces of the iterations that count, and aggregate them
 * (see runload.h). */
#include <stdlib.h>
#include <string.h>

#include "analyze/runload.h"
#include "util/error.h"

/* The iteration is one operation whatever the scenario calls it, so that
 * a forced comparison of two scenarios still compares iterations. */
#define ITERATION_SERVICE "harness"
#define ITERATION_NAME "iteration"

void run_data_init(struct run_data *rd)
{
	memset(rd, 0, sizeof(*rd));
	aggregate_init(&rd->agg);
}

void run_data_release(struct run_data *rd)
{
	for (size_t i = 0; i < rd->nruns; i++)
		store_run_free(rd->runs[i]);
	free(rd->runs);
	aggregate_release(&rd->agg);
	for (size_t i = 0; i < rd->nruns && rd->blocks; i++)
		aggregate_release(&rd->blocks[i]);
	free(rd->blocks);
	memset(rd, 0, sizeof(*rd));
}

/* Strings of the spans buffered for one trace: the walk lends its strings
 * for one call only, and a trace is aggregated when the next one begins.
 * Few distinct strings, so a small open-addressing set keeps them. */
struct pool {
	char **slots;
	size_t nslots, used;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static const char *pool_get(struct pool *p, const char *s)
{
	size_t i, mask;

	if (!s)
		return NULL;
	if (2 * (p->used + 1) > p->nslots) {
		struct pool old = *p;

		p->nslots = old.nslots ? 2 * old.nslots : 64;
		p->slots = xcalloc(p->nslots, sizeof(*p->slots));
		p->used = 0;
		for (size_t j = 0; j < old.nslots; j++) {
			if (!old.slots[j])
				continue;
			mask = p->nslots - 1;
			i = hash_str(old.slots[j]) & mask;
			while (p->slots[i])
				i = (i + 1) & mask;
			p->slots[i] = old.slots[j];
			p->used++;
		}
		free(old.slots);
	}
	mask = p->nslots - 1;
	for (i = hash_str(s) & mask; p->slots[i]; i = (i + 1) & mask)
		if (!strcmp(p->slots[i], s))
			return p->slots[i];
	p->slots[i] = xstrdup(s);
	p->used++;
	return p->slots[i];
}

static void pool_release(struct pool *p)
{
	for (size_t i = 0; i < p->nslots; i++)
		free(p->slots[i]);
	free(p->slots);
}

/* A counted iteration, found by trace id. */
struct counted {
	uint8_t trace_id[16];
	const struct store_iteration *it;
	size_t index;		/* in the run's iterations */
};

static int cmp_counted(const void *pa, const void *pb)
{
	const struct counted *a = pa, *b = pb;

	return memcmp(a->trace_id, b->trace_id, 16);
}

struct loader {
	run_trace_fn *fn;
	void *payload;
	struct run_traces_counts *counts;
	struct pool pool;
	struct counted *counted;
	size_t ncounted;
	bool *has_spans;	/* per iteration of the run */
	struct analyze_span *spans;	/* the current trace's */
	size_t nspans, alloc;
	char *cause;
};

static struct counted *find_counted(struct loader *ld,
				    const uint8_t trace_id[16])
{
	struct counted key;

	memcpy(key.trace_id, trace_id, 16);
	return bsearch(&key, ld->counted, ld->ncounted, sizeof(key),
		       cmp_counted);
}

/* Aggregate the buffered trace when it is a counted iteration's. */
static int flush(struct loader *ld)
{
	struct counted *c;
	int ret = 0;

	if (!ld->nspans)
		return 0;
	c = find_counted(ld, ld->spans[0].trace_id);
	if (c && !ld->has_spans[c->index]) {
		ld->has_spans[c->index] = true;
		for (size_t i = 0; i < ld->nspans; i++) {
			struct analyze_span *s = &ld->spans[i];

			if (s->parent_id || !s->kind ||
			    strcmp(s->kind, "iteration"))
				continue;
			if (c->it->dur_ns > 0)
				s->dur_ns = (uint64_t)c->it->dur_ns;
			s->status = 0;
			s->service = ITERATION_SERVICE;
			s->name = ITERATION_NAME;
		}
		ret = ld->fn(ld->spans, ld->nspans, ld->payload, &ld->cause);
		ld->counts->nspans += ld->nspans;
	}
	ld->nspans = 0;
	return ret;
}

static int on_span(const struct store_span_timing *sp, void *payload)
{
	struct loader *ld = payload;
	struct analyze_span *s;

	if (ld->nspans && memcmp(ld->spans[0].trace_id, sp->trace_id, 16) &&
	    flush(ld) < 0)
		return -1;
	ALLOC_GROW(ld->spans, ld->nspans + 1, ld->alloc);
	s = &ld->spans[ld->nspans++];
	memcpy(s->trace_id, sp->trace_id, 16);
	s->span_id = sp->span_id;
	s->parent_id = sp->parent_id;
	s->kind = pool_get(&ld->pool, sp->kind);
	s->name = pool_get(&ld->pool, sp->name);
	s->service = pool_get(&ld->pool, sp->service);
	s->start_ns = sp->start_ns > 0 ? (uint64_t)sp->start_ns : 0;
	s->dur_ns = sp->dur_ns > 0 ? (uint64_t)sp->dur_ns : 0;
	s->status = sp->status != STORE_SPAN_OK;
	return 0;
}

/* An iteration without stored spans, from the iterations table. */
static int rebuild(struct loader *ld, const struct store_iteration *it)
{
	size_t n = it->nsteps + 1;
	struct analyze_span *spans = xcalloc(n, sizeof(*spans));
	int ret;

	for (size_t i = 0; i < n; i++) {
		memcpy(spans[i].trace_id, it->trace_id, 16);
		spans[i].span_id = i + 1;
		spans[i].service = "harness";
	}
	spans[0].kind = "iteration";
	spans[0].service = ITERATION_SERVICE;
	spans[0].name = ITERATION_NAME;
	spans[0].start_ns = it->start_ns > 0 ? (uint64_t)it->start_ns : 0;
	spans[0].dur_ns = it->dur_ns > 0 ? (uint64_t)it->dur_ns : 0;
	for (size_t i = 0; i < it->nsteps; i++) {
		const struct store_step *step = &it->steps[i];

		spans[i + 1].parent_id = 1;
		spans[i + 1].kind = "step";
		spans[i + 1].name = step->name;
		spans[i + 1].start_ns =
			step->start_ns > 0 ? (uint64_t)step->start_ns : 0;
		spans[i + 1].dur_ns =
			step->dur_ns > 0 ? (uint64_t)step->dur_ns : 0;
	}
	ret = ld->fn(spans, n, ld->payload, &ld->cause);
	free(spans);
	ld->counts->nrebuilt++;
	return ret;
}

int run_traces_each(struct store *st, int64_t run_id, run_trace_fn *fn,
		    void *payload, struct run_traces_counts *counts,
		    char **cause)
{
	struct run_traces_counts dummy;
	struct loader ld = { .fn = fn, .payload = payload };
	struct store_iteration *its = NULL;
	size_t nits = 0;
	int ret;

	ld.counts = counts ? counts : &dummy;
	memset(ld.counts, 0, sizeof(*ld.counts));
	ret = store_iterations_get(&its, &nits, st, run_id, cause);
	if (ret < 0)
		return ret;
	ld.counted = xcalloc(nits ? nits : 1, sizeof(*ld.counted));
	ld.has_spans = xcalloc(nits ? nits : 1, sizeof(*ld.has_spans));
	for (size_t i = 0; i < nits; i++) {
		if (its[i].warmup) {
			ld.counts->nwarmup++;
			continue;
		}
		ld.counts->nmeasured++;
		if (!its[i].ok) {
			ld.counts->nfailed++;
			continue;
		}
		memcpy(ld.counted[ld.ncounted].trace_id, its[i].trace_id, 16);
		ld.counted[ld.ncounted].index = i;
		ld.counted[ld.ncounted++].it = &its[i];
	}
	qsort(ld.counted, ld.ncounted, sizeof(*ld.counted), cmp_counted);

	ret = store_span_timings_each(st, run_id, on_span, &ld, cause);
	if (ret == 0)
		ret = flush(&ld);
	if (ret < 0) {
		if (ld.cause) {
			free(*cause);
			*cause = xasprintf("run %lld: %s", (long long)run_id,
					   ld.cause);
		}
		ret = -1;
		goto out;
	}
	/* Counted iterations without spans (among them all but one of
	 * iterations that share a trace id, as untraced ones do). */
	for (size_t i = 0; i < nits; i++) {
		if (its[i].warmup || !its[i].ok || ld.has_spans[i])
			continue;
		if (rebuild(&ld, &its[i]) < 0) {
			*cause = xasprintf("run %lld: %s", (long long)run_id,
					   ld.cause);
			ret = -1;
			goto out;
		}
	}
	ret = 0;
out:
	free(ld.cause);
	free(ld.spans);
	free(ld.counted);
	free(ld.has_spans);
	pool_release(&ld.pool);
	store_iterations_free(its, nits);
	return ret;
}

/* The pooled aggregate of a side, and its run's own block. */
struct both_aggregates {
	struct aggregate *pooled, *block;
};

static int add_to_aggregate(const struct analyze_span *spans, size_t n,
			    void *payload, char **cause)
{
	struct both_aggregates *both = payload;

	if (aggregate_add_trace(both->block, spans, n, cause) < 0)
		return -1;
	return aggregate_add_trace(both->pooled, spans, n, cause);
}

int run_data_add(struct run_data *rd, struct store *st, int64_t run_id,
		 char **cause)
{
	struct run_traces_counts c;
	struct store_run *run = NULL;
	struct both_aggregates both;
	int ret;

	ret = store_run_get(&run, st, run_id, cause);
	if (ret < 0)
		return ret;
	rd->runs = xrealloc(rd->runs, (rd->nruns + 1) * sizeof(*rd->runs));
	rd->blocks = xrealloc(rd->blocks,
			      (rd->nruns + 1) * sizeof(*rd->blocks));
	aggregate_init(&rd->blocks[rd->nruns]);
	both.pooled = &rd->agg;
	both.block = &rd->blocks[rd->nruns];
	rd->runs[rd->nruns++] = run;
	rd->run = rd->runs[0];
	ret = run_traces_each(st, run_id, add_to_aggregate, &both, &c,
			      cause);
	if (ret < 0)
		return ret;
	rd->nmeasured += c.nmeasured;
	rd->nfailed += c.nfailed;
	rd->nwarmup += c.nwarmup;
	rd->nrebuilt += c.nrebuilt;
	rd->nspans += c.nspans;
	return 0;
}

int run_data_load(struct run_data *rd, struct store *st, int64_t run_id,
		  char **cause)
{
	return run_data_add(rd, st, run_id, cause);
}

int run_data_gate_lookup(double *value, const struct gate_metric *m,
			 char **cause, void *payload)
{
	const struct run_data *rd = payload;

	if (m->subject == GATE_FAILURE_RATE) {
		if (!rd->nmeasured)
			return 1;
		*value = (double)rd->nfailed / (double)rd->nmeasured;
		return 0;
	}
	return aggregate_gate_lookup(value, m, cause, (void *)&rd->agg);
}
