/* aggregate.c: self time and the critical path of one trace, and the
 * per-operation distributions over many iterations (see aggregate.h for
 * the definitions). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/aggregate.h"
#include "util/error.h"

static const char *str(const char *s)
{
	return s ? s : "";
}

static uint64_t span_end(const struct analyze_span *s)
{
	return s->start_ns + s->dur_ns;
}

/* Sort keys, so that no comparison needs the span array. */
struct by_id {
	uint64_t id;
	size_t index;
};

static int cmp_by_id(const void *pa, const void *pb)
{
	const struct by_id *a = pa, *b = pb;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

/* A child in its parent's list: latest end first; ties by earliest start,
 * then index, so the order (and the path) does not depend on the input
 * order. */
struct kid {
	uint64_t end, start;
	size_t index;
};

static int cmp_kid(const void *pa, const void *pb)
{
	const struct kid *a = pa, *b = pb;

	if (a->end != b->end)
		return a->end > b->end ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

struct interval {
	uint64_t lo, hi;
};

static int cmp_interval(const void *pa, const void *pb)
{
	const struct interval *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (a->hi > b->hi) - (a->hi < b->hi);
}

static size_t find_id(const struct by_id *ids, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ids[lo].id == id ? ids[lo].index : TRACE_NO_PARENT;
}

static bool blocking(const struct analyze_span *child,
		     const struct analyze_span *parent)
{
	return span_end(child) <= span_end(parent) &&
	       strcmp(str(child->kind), "rpc.cast");
}

struct frame {
	size_t span;
	uint64_t lo;		/* the part of the span still to attribute */
	uint64_t cursor;	/* is [lo, cursor] */
	size_t next;		/* next child to look at, in end order */
};

int trace_analyze(struct trace_times *times, size_t *root,
		  const struct analyze_span *spans, size_t n, char **cause)
{
	struct by_id *ids;
	struct kid *kids;
	size_t *first, *fill;
	unsigned char *state;
	struct interval *iv;
	struct frame *stack;
	size_t best = TRACE_NO_PARENT, depth;

	if (!n) {
		*cause = xstrdup("a trace without spans");
		return -1;
	}
	memset(times, 0, n * sizeof(*times));

	/* Parents by id. A duplicate id resolves to its first copy. */
	ids = xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = (struct by_id){ spans[i].span_id, i };
	qsort(ids, n, sizeof(*ids), cmp_by_id);
	for (size_t i = 0; i < n; i++) {
		size_t p = spans[i].parent_id
				   ? find_id(ids, n, spans[i].parent_id)
				   : TRACE_NO_PARENT;

		times[i].parent = p == i ? TRACE_NO_PARENT : p;
	}
	free(ids);

	/* Cut parent cycles: walk up from each span marking the path (1)
	 * until a finished span (2) or a root; meeting the path again is a
	 * cycle, broken by making the span where it closed an orphan. */
	state = xcalloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		size_t s = i;

		while (s != TRACE_NO_PARENT && state[s] == 0) {
			state[s] = 1;
			if (times[s].parent != TRACE_NO_PARENT &&
			    state[times[s].parent] == 1) {
				times[s].parent = TRACE_NO_PARENT;
				break;
			}
			s = times[s].parent;
		}
		for (s = i; s != TRACE_NO_PARENT && state[s] == 1;
		     s = times[s].parent)
			state[s] = 2;
	}
	free(state);

	/* The root: the longest true root, else the longest orphan. */
	for (int pass = 0; pass < 2 && best == TRACE_NO_PARENT; pass++)
		for (size_t i = 0; i < n; i++) {
			if (times[i].parent != TRACE_NO_PARENT ||
			    (pass == 0 && spans[i].parent_id != 0))
				continue;
			if (best == TRACE_NO_PARENT ||
			    spans[i].dur_ns > spans[best].dur_ns ||
			    (spans[i].dur_ns == spans[best].dur_ns &&
			     spans[i].start_ns < spans[best].start_ns))
				best = i;
		}
	*root = best;

	/* Children lists (CSR): kids[first[p] .. first[p + 1]) are p's
	 * children, latest end first. */
	first = xcalloc(n + 1, sizeof(*first));
	kids = xmalloc(n * sizeof(*kids));
	fill = xmalloc(n * sizeof(*fill));
	for (size_t i = 0; i < n; i++)
		if (times[i].parent != TRACE_NO_PARENT)
			first[times[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	memcpy(fill, first, n * sizeof(*fill));
	for (size_t i = 0; i < n; i++)
		if (times[i].parent != TRACE_NO_PARENT)
			kids[fill[times[i].parent]++] = (struct kid){
				span_end(&spans[i]), spans[i].start_ns, i
			};
	free(fill);
	for (size_t p = 0; p < n; p++)
		if (first[p + 1] - first[p] > 1)
			qsort(kids + first[p], first[p + 1] - first[p],
			      sizeof(*kids), cmp_kid);

	/* Self time: the span minus the merged union of its children,
	 * clipped to it. */
	iv = xmalloc(n * sizeof(*iv));
	for (size_t p = 0; p < n; p++) {
		uint64_t lo = spans[p].start_ns, hi = span_end(&spans[p]);
		uint64_t covered = 0, cur_lo = 0, cur_hi = 0;
		size_t m = 0;

		for (size_t k = first[p]; k < first[p + 1]; k++) {
			const struct analyze_span *c = &spans[kids[k].index];
			uint64_t a = c->start_ns > lo ? c->start_ns : lo;
			uint64_t b = span_end(c) < hi ? span_end(c) : hi;

			if (a < b)
				iv[m++] = (struct interval){ a, b };
		}
		qsort(iv, m, sizeof(*iv), cmp_interval);
		for (size_t k = 0; k < m; k++) {
			if (k == 0 || iv[k].lo > cur_hi) {
				covered += cur_hi - cur_lo;
				cur_lo = iv[k].lo;
				cur_hi = iv[k].hi;
			} else if (iv[k].hi > cur_hi) {
				cur_hi = iv[k].hi;
			}
		}
		covered += cur_hi - cur_lo;
		times[p].self_ns = spans[p].dur_ns - covered;
	}
	free(iv);

	/* The critical path, with an explicit stack (a trace can be deep). */
	stack = xmalloc(n * sizeof(*stack));
	depth = 0;
	if (best != TRACE_NO_PARENT)
		stack[depth++] = (struct frame){ best, spans[best].start_ns,
						 span_end(&spans[best]),
						 first[best] };
	while (depth) {
		struct frame *f = &stack[depth - 1];
		const struct analyze_span *s = &spans[f->span];
		bool pushed = false;

		while (f->next < first[f->span + 1]) {
			size_t ci = kids[f->next].index;
			const struct analyze_span *c = &spans[ci];
			uint64_t cend = span_end(c), clo;

			if (!blocking(c, s) || cend > f->cursor) {
				f->next++;
				continue;
			}
			if (cend <= f->lo) {
				f->next = first[f->span + 1];
				break;
			}
			times[f->span].crit_ns += f->cursor - cend;
			f->next++;
			clo = c->start_ns > f->lo ? c->start_ns : f->lo;
			f->cursor = clo;
			stack[depth++] = (struct frame){ ci, clo, cend,
							 first[ci] };
			pushed = true;
			break;
		}
		if (pushed)
			continue;
		if (f->cursor > f->lo)
			times[f->span].crit_ns += f->cursor - f->lo;
		depth--;
	}
	free(stack);
	for (size_t i = 0; i < n; i++)
		times[i].on_path = times[i].crit_ns > 0;
	free(first);
	free(kids);
	return 0;
}

/* ------------------------------------------------------------------ */

void aggregate_init(struct aggregate *agg)
{
	memset(agg, 0, sizeof(*agg));
}

static void op_release(struct aggregate_op *op)
{
	free(op->service);
	free(op->kind);
	free(op->name);
	free(op->count);
	free(op->total_ns);
	free(op->self_ns);
	free(op->crit_ns);
	free(op->durations);
}

void aggregate_release(struct aggregate *agg)
{
	if (!agg)
		return;
	for (size_t i = 0; i < agg->nops; i++)
		op_release(&agg->ops[i]);
	free(agg->ops);
	free(agg->iter_ns);
	free(agg->iter_failed);
	memset(agg, 0, sizeof(*agg));
}

static int cmp_key(const struct aggregate_op *op, const char *service,
		   const char *kind, const char *name)
{
	int c = strcmp(op->service, service);

	if (!c)
		c = strcmp(op->kind, kind);
	if (!c)
		c = strcmp(op->name, name);
	return c;
}

/* Index of the first op not below the key. */
static size_t op_lower_bound(const struct aggregate *agg, const char *service,
			     const char *kind, const char *name)
{
	size_t lo = 0, hi = agg->nops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_key(&agg->ops[mid], service, kind, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct aggregate_op *aggregate_find(const struct aggregate *agg,
					  const char *service,
					  const char *kind, const char *name)
{
	size_t i = op_lower_bound(agg, str(service), str(kind), str(name));

	if (i < agg->nops &&
	    !cmp_key(&agg->ops[i], str(service), str(kind), str(name)))
		return &agg->ops[i];
	return NULL;
}

static double *zeros(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(double));
}

static double *grow_zero(double *p, size_t used, size_t alloc)
{
	p = xrealloc(p, alloc * sizeof(*p));
	memset(p + used, 0, (alloc - used) * sizeof(*p));
	return p;
}

/* The op for a key, created (all zeros so far) when new. */
static struct aggregate_op *op_get(struct aggregate *agg,
				   const struct analyze_span *s)
{
	const char *service = str(s->service), *kind = str(s->kind),
		   *name = str(s->name);
	size_t i = op_lower_bound(agg, service, kind, name);
	struct aggregate_op *op;

	if (i < agg->nops && !cmp_key(&agg->ops[i], service, kind, name))
		return &agg->ops[i];
	ALLOC_GROW(agg->ops, agg->nops + 1, agg->alloc_ops);
	memmove(agg->ops + i + 1, agg->ops + i,
		(agg->nops - i) * sizeof(*agg->ops));
	agg->nops++;
	op = &agg->ops[i];
	memset(op, 0, sizeof(*op));
	op->service = xstrdup(service);
	op->kind = xstrdup(kind);
	op->name = xstrdup(name);
	op->count = zeros(agg->alloc_iter);
	op->total_ns = zeros(agg->alloc_iter);
	op->self_ns = zeros(agg->alloc_iter);
	op->crit_ns = zeros(agg->alloc_iter);
	return op;
}

int aggregate_add_trace(struct aggregate *agg,
			const struct analyze_span *spans, size_t n,
			char **cause)
{
	struct trace_times *times;
	size_t root, it = agg->niterations;

	if (!n) {
		*cause = xstrdup("an iteration without spans");
		return -1;
	}
	times = xmalloc(n * sizeof(*times));
	if (trace_analyze(times, &root, spans, n, cause) < 0) {
		free(times);
		return -1;
	}
	if (it == agg->alloc_iter) {
		size_t old = agg->alloc_iter;

		agg->alloc_iter = old ? 2 * old : 16;
		agg->iter_ns = grow_zero(agg->iter_ns, old, agg->alloc_iter);
		agg->iter_failed = xrealloc(agg->iter_failed,
					    agg->alloc_iter *
						    sizeof(*agg->iter_failed));
		for (size_t i = 0; i < agg->nops; i++) {
			struct aggregate_op *op = &agg->ops[i];

			op->count = grow_zero(op->count, old, agg->alloc_iter);
			op->total_ns = grow_zero(op->total_ns, old,
						 agg->alloc_iter);
			op->self_ns = grow_zero(op->self_ns, old,
						agg->alloc_iter);
			op->crit_ns = grow_zero(op->crit_ns, old,
						agg->alloc_iter);
		}
	}
	agg->iter_ns[it] = root != TRACE_NO_PARENT
				   ? (double)spans[root].dur_ns
				   : 0;
	agg->iter_failed[it] = root != TRACE_NO_PARENT &&
			       spans[root].status != 0;
	agg->nfailed += agg->iter_failed[it];
	for (size_t i = 0; i < n; i++) {
		struct aggregate_op *op = op_get(agg, &spans[i]);

		op->count[it] += 1;
		op->total_ns[it] += (double)spans[i].dur_ns;
		op->self_ns[it] += (double)times[i].self_ns;
		op->crit_ns[it] += (double)times[i].crit_ns;
		ALLOC_GROW(op->durations, op->ndurations + 1,
			   op->alloc_durations);
		op->durations[op->ndurations++] = (double)spans[i].dur_ns;
	}
	agg->niterations++;
	free(times);
	return 0;
}

/* ------------------------------------------------------------------ */

static int lookup_stat(double *value, const struct gate_metric *m,
		       const double *x, size_t n, char **cause)
{
	if (!n)
		return 1;
	if (gate_metric_stat(value, m, x, n) < 0) {
		*cause = xstrdup("out of memory");
		return -1;
	}
	return 0;
}

int aggregate_gate_lookup(double *value, const struct gate_metric *m,
			  char **cause, void *payload)
{
	const struct aggregate *agg = payload;
	const struct aggregate_op *op;
	double *x;
	size_t n = 0;
	int ret;

	if (!agg->niterations)
		return 1;
	switch (m->subject) {
	case GATE_ITERATION:
		return lookup_stat(value, m, agg->iter_ns, agg->niterations,
				   cause);
	case GATE_FAILURE_RATE:
		*value = (double)agg->nfailed / (double)agg->niterations;
		return 0;
	case GATE_OP:
		op = aggregate_find(agg, m->service, m->kind, m->name);
		return op ? lookup_stat(value, m, op->durations,
					op->ndurations, cause)
			  : 1;
	case GATE_STEP: {
		size_t total = 0;

		for (size_t i = 0; i < agg->nops; i++)
			if (!strcmp(agg->ops[i].kind, "step") &&
			    !strcmp(agg->ops[i].name, m->step))
				total += agg->ops[i].ndurations;
		x = xmalloc((total ? total : 1) * sizeof(*x));
		for (size_t i = 0; i < agg->nops; i++) {
			const struct aggregate_op *o = &agg->ops[i];

			if (strcmp(o->kind, "step") || strcmp(o->name, m->step))
				continue;
			memcpy(x + n, o->durations,
			       o->ndurations * sizeof(*x));
			n += o->ndurations;
		}
		break;
	}
	case GATE_COUNT:
		n = agg->niterations;
		x = zeros(n);
		for (size_t i = 0; i < agg->nops; i++) {
			const struct aggregate_op *o = &agg->ops[i];

			if ((m->kind && strcmp(o->kind, m->kind)) ||
			    (m->service && strcmp(o->service, m->service)) ||
			    (m->name && strcmp(o->name, m->name)))
				continue;
			for (size_t it = 0; it < n; it++)
				x[it] += o->count[it];
		}
		break;
	default:
		return 1;
	}
	ret = lookup_stat(value, m, x, n, cause);
	free(x);
	return ret;
}
