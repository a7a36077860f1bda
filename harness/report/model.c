/* model.c: loading what the writers show from the store: a trace as a tree
 * in display order, and a run with its iterations, per-operation
 * aggregate and median iteration. */
#include "report/report.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

void report_trace_init(struct report_trace *t)
{
	memset(t, 0, sizeof(*t));
}

static void span_release(struct report_span *sp)
{
	free(sp->kind);
	free(sp->name);
	free(sp->service);
	free(sp->host);
	free(sp->message);
	for (size_t i = 0; i < sp->nframes; i++)
		free(sp->frames[i]);
	free(sp->frames);
	for (size_t i = 0; i < sp->nattrs; i++) {
		free(sp->attrs[i].key);
		free(sp->attrs[i].text);
	}
	free(sp->attrs);
}

void report_trace_release(struct report_trace *t)
{
	for (size_t i = 0; i < t->nspans; i++)
		span_release(&t->spans[i]);
	free(t->spans);
	free(t->services);
	report_trace_init(t);
}

static void attr_copy(struct report_attr *dst, const struct store_attr *a)
{
	dst->key = dup_or_empty(a->key);
	dst->type = a->type;
	switch (a->type) {
	case STORE_ATTR_INT:
		dst->i = a->v.i;
		dst->text = xasprintf("%lld", (long long)a->v.i);
		break;
	case STORE_ATTR_DOUBLE:
		dst->d = a->v.d;
		dst->text = xasprintf("%.17g", a->v.d);
		break;
	case STORE_ATTR_BOOL:
		dst->i = a->v.b;
		dst->text = xstrdup(a->v.b ? "true" : "false");
		break;
	default:
		dst->type = STORE_ATTR_TEXT;
		dst->text = dup_or_empty(a->v.s);
		break;
	}
}

void report_trace_add(struct report_trace *t, const struct store_span *sp)
{
	struct report_span *r;

	ALLOC_GROW(t->spans, t->nspans + 1, t->alloc);
	r = &t->spans[t->nspans++];
	memset(r, 0, sizeof(*r));
	if (t->nspans == 1) {
		memcpy(t->trace_id, sp->trace_id, 16);
		t->run_id = sp->run_id;
	}
	r->span_id = sp->span_id;
	r->parent_id = sp->parent_id;
	r->kind = dup_or_empty(sp->kind);
	r->name = dup_or_empty(sp->name);
	r->service = dup_or_empty(sp->service);
	r->host = dup_or_empty(sp->host);
	r->pid = sp->pid;
	r->tid = sp->tid;
	r->start_ns = sp->start_ns;
	r->dur_ns = sp->dur_ns > 0 ? sp->dur_ns : 0;
	r->error = sp->status != STORE_SPAN_OK;
	r->message = sp->message ? xstrdup(sp->message) : NULL;
	if (sp->nframes) {
		r->frames = xcalloc(sp->nframes, sizeof(*r->frames));
		for (size_t i = 0; i < sp->nframes; i++)
			r->frames[i] = dup_or_empty(sp->frames[i]);
		r->nframes = sp->nframes;
	}
	if (sp->nattrs) {
		r->attrs = xcalloc(sp->nattrs, sizeof(*r->attrs));
		for (size_t i = 0; i < sp->nattrs; i++)
			attr_copy(&r->attrs[i], &sp->attrs[i]);
		r->nattrs = sp->nattrs;
	}
}

/* Sorting helpers: qsort has no payload, so the arrays sorted hold what
 * they compare. */
struct id_index {
	uint64_t id;
	size_t index;
};

static int cmp_id_index(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static size_t find_span(const struct id_index *ids, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ids[lo].id == id ? ids[lo].index : REPORT_NO_PARENT;
}

struct start_index {
	int64_t start;
	size_t index;
};

static int cmp_start_index(const void *a, const void *b)
{
	const struct start_index *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Depth-first from span ROOT into ORDER, children by start time. The
 * children of span i are kids[first[i] .. first[i + 1]). */
static void visit(size_t root, const size_t *first, const size_t *kids,
		  bool *seen, size_t *order, size_t *norder, size_t *stack,
		  unsigned *depth, struct report_span *spans)
{
	size_t top = 0;

	stack[top++] = root;
	depth[root] = 0;
	while (top) {
		size_t i = stack[--top];

		if (seen[i])
			continue;
		seen[i] = true;
		order[(*norder)++] = i;
		spans[i].depth = depth[i];
		/* Push in reverse so the earliest child comes out first. */
		for (size_t k = first[i + 1]; k > first[i]; k--) {
			size_t c = kids[k - 1];

			if (!seen[c]) {
				depth[c] = depth[i] + 1;
				stack[top++] = c;
			}
		}
	}
}

void report_trace_finish(struct report_trace *t)
{
	size_t n = t->nspans;
	struct id_index *ids;
	struct start_index *by_start;
	size_t *parent, *first, *kids, *order, *stack, *where, norder = 0;
	unsigned *depth;
	struct report_span *sorted;
	bool *seen;

	if (!n)
		return;
	ids = xcalloc(n, sizeof(*ids));
	by_start = xcalloc(n, sizeof(*by_start));
	parent = xcalloc(n, sizeof(*parent));
	first = xcalloc(n + 1, sizeof(*first));
	kids = xcalloc(n, sizeof(*kids));
	order = xcalloc(n, sizeof(*order));
	stack = xcalloc(n, sizeof(*stack));
	where = xcalloc(n, sizeof(*where));
	depth = xcalloc(n, sizeof(*depth));
	seen = xcalloc(n, sizeof(*seen));

	for (size_t i = 0; i < n; i++) {
		ids[i] = (struct id_index){ t->spans[i].span_id, i };
		by_start[i] = (struct start_index){ t->spans[i].start_ns, i };
	}
	qsort(ids, n, sizeof(*ids), cmp_id_index);
	qsort(by_start, n, sizeof(*by_start), cmp_start_index);
	for (size_t i = 0; i < n; i++) {
		const struct report_span *sp = &t->spans[i];

		parent[i] = sp->parent_id ?
				    find_span(ids, n, sp->parent_id) :
				    REPORT_NO_PARENT;
		if (parent[i] == i)
			parent[i] = REPORT_NO_PARENT;
	}
	/* Children lists in start order: count, prefix sums, fill. */
	for (size_t i = 0; i < n; i++)
		if (parent[i] != REPORT_NO_PARENT)
			first[parent[i] + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	{
		size_t *fill = xcalloc(n, sizeof(*fill));

		for (size_t k = 0; k < n; k++) {
			size_t i = by_start[k].index, p = parent[i];

			if (p != REPORT_NO_PARENT)
				kids[first[p] + fill[p]++] = i;
		}
		free(fill);
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = by_start[k].index;

		if (parent[i] == REPORT_NO_PARENT)
			visit(i, first, kids, seen, order, &norder, stack,
			      depth, t->spans);
	}
	/* Whatever is left sits on a parent cycle: cut it there. */
	for (size_t k = 0; k < n; k++) {
		size_t i = by_start[k].index;

		if (!seen[i]) {
			parent[i] = REPORT_NO_PARENT;
			visit(i, first, kids, seen, order, &norder, stack,
			      depth, t->spans);
		}
	}

	sorted = xcalloc(n, sizeof(*sorted));
	for (size_t k = 0; k < n; k++)
		where[order[k]] = k;
	t->nerrors = 0;
	t->start_ns = INT64_MAX;
	t->end_ns = INT64_MIN;
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		struct report_span *sp = &sorted[k];

		*sp = t->spans[i];
		sp->parent = parent[i] == REPORT_NO_PARENT ? REPORT_NO_PARENT :
							     where[parent[i]];
		if (sp->parent == REPORT_NO_PARENT)
			sp->depth = 0;
		sp->nchildren = first[i + 1] - first[i];
		if (sp->error)
			t->nerrors++;
		if (sp->start_ns < t->start_ns)
			t->start_ns = sp->start_ns;
		if (sp->start_ns + sp->dur_ns > t->end_ns)
			t->end_ns = sp->start_ns + sp->dur_ns;
	}
	free(t->spans);
	t->spans = sorted;
	t->alloc = n;

	free(t->services);
	t->services = xcalloc(n, sizeof(*t->services));
	t->nservices = 0;
	for (size_t k = 0; k < n; k++) {
		size_t j;

		for (j = 0; j < t->nservices; j++)
			if (!strcmp(t->services[j], t->spans[k].service))
				break;
		if (j == t->nservices)
			t->services[t->nservices++] = t->spans[k].service;
	}
	for (size_t i = 0; i < 16; i++)
		snprintf(t->id_hex + 2 * i, 3, "%02x", t->trace_id[i]);

	free(ids);
	free(by_start);
	free(parent);
	free(first);
	free(kids);
	free(order);
	free(stack);
	free(where);
	free(depth);
	free(seen);
}

static int add_span_cb(const struct store_span *sp, void *payload)
{
	report_trace_add(payload, sp);
	return 0;
}

int report_trace_load(struct report_trace *t, struct store *st,
		      int64_t run_id, const uint8_t trace_id[16],
		      char **cause)
{
	report_trace_init(t);
	if (store_trace_spans_each(st, run_id, trace_id, add_span_cb, t,
				   cause) < 0) {
		report_trace_release(t);
		return -1;
	}
	if (!t->nspans) {
		if (cause)
			*cause = xstrdup("the trace has no spans");
		return STORE_ENOENT;
	}
	report_trace_finish(t);
	return 0;
}

struct traces_walk {
	struct report_trace *traces;
	size_t n, alloc;
};

static int add_traces_cb(const struct store_span *sp, void *payload)
{
	struct traces_walk *w = payload;

	/* The store hands the spans of one trace together. */
	if (!w->n || memcmp(w->traces[w->n - 1].trace_id, sp->trace_id, 16)) {
		ALLOC_GROW(w->traces, w->n + 1, w->alloc);
		report_trace_init(&w->traces[w->n++]);
	}
	report_trace_add(&w->traces[w->n - 1], sp);
	return 0;
}

int report_traces_load(struct report_trace **out, size_t *n,
		       struct store *st, int64_t run_id, char **cause)
{
	struct traces_walk w = { 0 };

	*out = NULL;
	*n = 0;
	if (store_spans_each(st, run_id, add_traces_cb, &w, cause) < 0) {
		report_traces_free(w.traces, w.n);
		return -1;
	}
	for (size_t i = 0; i < w.n; i++)
		report_trace_finish(&w.traces[i]);
	*out = w.traces;
	*n = w.n;
	return 0;
}

void report_traces_free(struct report_trace *traces, size_t n)
{
	for (size_t i = 0; i < n && traces; i++)
		report_trace_release(&traces[i]);
	free(traces);
}

bool report_span_cross_service(const struct report_trace *t, size_t i)
{
	const struct report_span *sp = &t->spans[i];

	return sp->parent != REPORT_NO_PARENT &&
	       strcmp(t->spans[sp->parent].service, sp->service) != 0;
}

const char *report_fmt_dur(char *buf, size_t size, double ns)
{
	if (!(ns >= 0) || isinf(ns))
		snprintf(buf, size, "-");
	else
		time_format_duration(buf, size, (uint64_t)llround(ns));
	return buf;
}

unsigned report_service_color(const struct report_trace *t,
			      const char *service)
{
	for (size_t i = 0; t && i < t->nservices; i++)
		if (!strcmp(t->services[i], service))
			return (unsigned)(i % REPORT_NCOLORS);
	/* Not in the trace: a hash, so the same name keeps its colour. */
	{
		unsigned h = 5381;

		for (const char *p = service; *p; p++)
			h = h * 33 + (unsigned char)*p;
		return h % REPORT_NCOLORS;
	}
}

/* ------------------------------------------------------------------ */
/* The run model. */

void report_model_init(struct report_model *m)
{
	memset(m, 0, sizeof(*m));
	aggregate_init(&m->agg);
	report_trace_init(&m->median_trace);
}

void report_model_release(struct report_model *m)
{
	store_run_free(m->run);
	store_iterations_free(m->its, m->nits);
	free(m->runner_type);
	aggregate_release(&m->agg);
	free(m->ops);
	report_trace_release(&m->median_trace);
	report_model_init(m);
}

static bool has_trace(const struct store_iteration *it)
{
	for (int i = 0; i < 16; i++)
		if (it->trace_id[i])
			return true;
	return false;
}

static bool counts(const struct store_iteration *it)
{
	return !it->warmup && has_trace(it);
}

/* Feeding the aggregate: the spans of the current trace, copied (the
 * store's are borrowed for one callback). */
struct agg_walk {
	const struct report_model *m;
	struct aggregate *agg;
	uint8_t trace_id[16];
	struct analyze_span *spans;
	size_t n, alloc;
	int failed;
	char *cause;
};

static bool trace_counts(const struct report_model *m, const uint8_t *id)
{
	for (size_t i = 0; i < m->nits; i++)
		if (counts(&m->its[i]) && !memcmp(m->its[i].trace_id, id, 16))
			return true;
	return false;
}

static void agg_flush(struct agg_walk *w)
{
	if (w->n && !w->failed && trace_counts(w->m, w->trace_id) &&
	    aggregate_add_trace(w->agg, w->spans, w->n, &w->cause) < 0)
		w->failed = 1;
	for (size_t i = 0; i < w->n; i++) {
		free((char *)w->spans[i].kind);
		free((char *)w->spans[i].name);
		free((char *)w->spans[i].service);
	}
	w->n = 0;
}

static int agg_span_cb(const struct store_span *sp, void *payload)
{
	struct agg_walk *w = payload;
	struct analyze_span *a;

	if (w->n && memcmp(w->trace_id, sp->trace_id, 16))
		agg_flush(w);
	memcpy(w->trace_id, sp->trace_id, 16);
	ALLOC_GROW(w->spans, w->n + 1, w->alloc);
	a = &w->spans[w->n++];
	memcpy(a->trace_id, sp->trace_id, 16);
	a->span_id = sp->span_id;
	a->parent_id = sp->parent_id;
	a->kind = dup_or_empty(sp->kind);
	a->name = dup_or_empty(sp->name);
	a->service = dup_or_empty(sp->service);
	a->start_ns = sp->start_ns > 0 ? (uint64_t)sp->start_ns : 0;
	a->dur_ns = sp->dur_ns > 0 ? (uint64_t)sp->dur_ns : 0;
	a->status = sp->status;
	return 0;
}

static int cmp_ops(const void *a, const void *b)
{
	const struct report_op *x = a, *y = b;

	if (x->crit_ns != y->crit_ns)
		return x->crit_ns > y->crit_ns ? -1 : 1;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->op->name, y->op->name);
}

static double mean_of(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

static void make_ops(struct report_model *m)
{
	size_t n = m->agg.niterations;
	double iter_mean = mean_of(m->agg.iter_ns, n);

	m->ops = xcalloc(m->agg.nops ? m->agg.nops : 1, sizeof(*m->ops));
	for (size_t i = 0; i < m->agg.nops; i++) {
		const struct aggregate_op *op = &m->agg.ops[i];
		struct report_op *r = &m->ops[m->nops++];

		r->op = op;
		r->count = mean_of(op->count, n);
		r->total_ns = mean_of(op->total_ns, n);
		r->self_ns = mean_of(op->self_ns, n);
		r->crit_ns = mean_of(op->crit_ns, n);
		r->crit_share = iter_mean > 0 ? r->crit_ns / iter_mean : 0;
	}
	qsort(m->ops, m->nops, sizeof(*m->ops), cmp_ops);
}

struct dur_index {
	int64_t dur;
	size_t index;
};

static int cmp_dur_index(const void *a, const void *b)
{
	const struct dur_index *x = a, *y = b;

	if (x->dur != y->dur)
		return x->dur < y->dur ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The median iteration: among the counted ones that succeeded (all
 * counted ones when none did), the lower median by duration. */
static void find_median(struct report_model *m)
{
	struct dur_index *d = xcalloc(m->nits ? m->nits : 1, sizeof(*d));
	size_t n = 0;

	for (int pass = 0; pass < 2 && !n; pass++)
		for (size_t i = 0; i < m->nits; i++)
			if (counts(&m->its[i]) && (pass || m->its[i].ok))
				d[n++] = (struct dur_index){ m->its[i].dur_ns,
							     i };
	if (n) {
		qsort(d, n, sizeof(*d), cmp_dur_index);
		m->median = &m->its[d[(n - 1) / 2].index];
	}
	free(d);
}

static char *runner_type(const char *runner_json)
{
	json_t *root, *type;
	char *out = NULL;

	if (!runner_json)
		return NULL;
	root = json_loads(runner_json, 0, NULL);
	type = json_object_get(root, "type");
	if (json_is_string(type))
		out = xstrdup(json_string_value(type));
	json_decref(root);
	return out;
}

int report_model_load(struct report_model *m, struct store *st,
		      int64_t run_id, char **cause)
{
	struct agg_walk w = { 0 };
	int ret;

	report_model_init(m);
	ret = store_run_get(&m->run, st, run_id, cause);
	if (ret < 0)
		goto fail;
	ret = store_iterations_get(&m->its, &m->nits, st, run_id, cause);
	if (ret < 0)
		goto fail;
	ret = store_drops_total(&m->spans_dropped, &m->corrupt, st, run_id,
				cause);
	if (ret < 0)
		goto fail;
	m->runner_type = runner_type(m->run->runner_json);
	for (size_t i = 0; i < m->nits; i++) {
		if (m->its[i].warmup)
			m->nwarmup++;
		else if (!m->its[i].ok)
			m->nfailed++;
	}

	w.m = m;
	w.agg = &m->agg;
	ret = store_spans_each(st, run_id, agg_span_cb, &w, cause);
	agg_flush(&w);
	free(w.spans);
	if (ret < 0)
		goto fail;
	if (w.failed) {
		if (cause)
			*cause = w.cause;
		else
			free(w.cause);
		ret = -1;
		goto fail;
	}
	make_ops(m);

	find_median(m);
	if (m->median) {
		ret = report_trace_load(&m->median_trace, st, run_id,
					m->median->trace_id, cause);
		if (ret == STORE_ENOENT) {
			/* An iteration whose spans never reached the store:
			 * the report says so instead of failing. */
			if (cause) {
				free(*cause);
				*cause = NULL;
			}
			report_trace_init(&m->median_trace);
		} else if (ret < 0) {
			goto fail;
		}
	}
	return 0;
fail:
	report_model_release(m);
	return ret < 0 ? ret : -1;
}

void report_options_init(struct report_options *opt)
{
	memset(opt, 0, sizeof(*opt));
}
