/* chrome.c: the Chrome trace writer (Trace Event Format, JSON object form)
 * that Perfetto and chrome://tracing open: a process per service, a track
 * per thread, a complete ("X") event per span and a flow arrow for every
 * call from one service into another.
 *
 * Events on one track must nest. Spans of one thread normally do, but not
 * always: a thread that interleaves asynchronous work, or a wall clock
 * stepped while a span was open (start is wall time, duration monotonic),
 * gives spans that overlap without one containing the other. Such a span
 * moves to an extra track of the same thread, "(overlap N)", rather than
 * having its times changed. */
#include "report/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* Microseconds with nanosecond digits, exact. */
static void put_us(FILE *out, int64_t ns)
{
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	fprintf(out, "%s%" PRIu64 ".%03" PRIu64, ns < 0 ? "-" : "",
		a / 1000, a % 1000);
}

/* Where a span is drawn. */
struct placed {
	const struct report_trace *t;
	const struct report_span *sp;
	size_t trace;		/* index of t in the traces written */
	size_t service;		/* index: chrome pid is service + 1 */
	size_t track;		/* index into the track table */
	size_t lane;
	int tid;		/* chrome tid */
};

struct track {
	size_t service;
	int64_t pid, tid;
	const char *host;
	size_t nlanes;
	int first_tid;		/* chrome tid of lane 0; lane N is +N */
};

struct chrome {
	const char **services;
	size_t nservices, alloc_services;
	struct track *tracks;
	size_t ntracks, alloc_tracks;
	struct placed *spans;
	size_t nspans;
	/* where[offset[k] + j]: the placement of span j of trace k. */
	size_t *offset, *where;
	int64_t t0;
};

static size_t service_of(struct chrome *c, const char *s)
{
	for (size_t i = 0; i < c->nservices; i++)
		if (!strcmp(c->services[i], s))
			return i;
	ALLOC_GROW(c->services, c->nservices + 1, c->alloc_services);
	c->services[c->nservices] = s;
	return c->nservices++;
}

static size_t track_of(struct chrome *c, size_t service,
		       const struct report_span *sp)
{
	for (size_t i = 0; i < c->ntracks; i++) {
		const struct track *t = &c->tracks[i];

		if (t->service == service && t->pid == sp->pid &&
		    t->tid == sp->tid && !strcmp(t->host, sp->host))
			return i;
	}
	ALLOC_GROW(c->tracks, c->ntracks + 1, c->alloc_tracks);
	c->tracks[c->ntracks] = (struct track){ service, sp->pid, sp->tid,
						sp->host, 0, 0 };
	return c->ntracks++;
}

/* Track, then start, then longest first, then shallowest first: a parent
 * comes before the children that share its start. */
static int cmp_placed(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	int64_t xe = x->sp->start_ns + x->sp->dur_ns,
		ye = y->sp->start_ns + y->sp->dur_ns;

	if (x->track != y->track)
		return x->track < y->track ? -1 : 1;
	if (x->sp->start_ns != y->sp->start_ns)
		return x->sp->start_ns < y->sp->start_ns ? -1 : 1;
	if (xe != ye)
		return xe > ye ? -1 : 1;
	if (x->sp->depth != y->sp->depth)
		return x->sp->depth < y->sp->depth ? -1 : 1;
	return x->sp < y->sp ? -1 : x->sp > y->sp;
}

/* Give each span of one track (spans[from, to), sorted) the first lane
 * where it nests: each lane keeps the ends of its open spans as a stack. */
static void assign_lanes(struct chrome *c, size_t from, size_t to)
{
	int64_t **stacks = NULL;
	size_t *depth = NULL, nlanes = 0;

	for (size_t i = from; i < to; i++) {
		struct placed *p = &c->spans[i];
		int64_t start = p->sp->start_ns, end = start + p->sp->dur_ns;
		size_t lane;

		for (lane = 0; lane < nlanes; lane++) {
			while (depth[lane] && stacks[lane][depth[lane] - 1] <=
						      start &&
			       stacks[lane][depth[lane] - 1] < end)
				depth[lane]--;
			if (!depth[lane] ||
			    stacks[lane][depth[lane] - 1] >= end)
				break;
		}
		if (lane == nlanes) {
			nlanes++;
			stacks = xrealloc(stacks, nlanes * sizeof(*stacks));
			depth = xrealloc(depth, nlanes * sizeof(*depth));
			stacks[lane] = xcalloc(to - from, sizeof(**stacks));
			depth[lane] = 0;
		}
		stacks[lane][depth[lane]++] = end;
		p->lane = lane;
	}
	c->tracks[c->spans[from].track].nlanes = nlanes;
	for (size_t l = 0; l < nlanes; l++)
		free(stacks[l]);
	free(stacks);
	free(depth);
}

static void place(struct chrome *c, const struct report_trace *traces,
		  size_t n)
{
	size_t total = 0, k = 0;
	int *next_tid;

	c->offset = xcalloc(n + 1, sizeof(*c->offset));
	for (size_t i = 0; i < n; i++) {
		c->offset[i] = total;
		total += traces[i].nspans;
	}
	c->offset[n] = total;
	c->spans = xcalloc(total ? total : 1, sizeof(*c->spans));
	c->where = xcalloc(total ? total : 1, sizeof(*c->where));
	c->t0 = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < traces[i].nspans; j++) {
			struct placed *p = &c->spans[k++];

			p->t = &traces[i];
			p->trace = i;
			p->sp = &traces[i].spans[j];
			p->service = service_of(c, p->sp->service);
			p->track = track_of(c, p->service, p->sp);
			if (p->sp->start_ns < c->t0)
				c->t0 = p->sp->start_ns;
		}
	}
	c->nspans = total;
	qsort(c->spans, total, sizeof(*c->spans), cmp_placed);
	for (size_t i = 0; i < total; i++) {
		const struct placed *p = &c->spans[i];

		c->where[c->offset[p->trace] + (size_t)(p->sp - p->t->spans)] =
			i;
	}
	for (size_t i = 0; i < total;) {
		size_t j = i;

		while (j < total && c->spans[j].track == c->spans[i].track)
			j++;
		assign_lanes(c, i, j);
		i = j;
	}
	/* Chrome tids: per service, 1.. in track order, one per lane. */
	next_tid = xcalloc(c->nservices ? c->nservices : 1, sizeof(*next_tid));
	for (size_t t = 0; t < c->ntracks; t++) {
		struct track *tr = &c->tracks[t];

		tr->first_tid = next_tid[tr->service] + 1;
		next_tid[tr->service] += (int)tr->nlanes;
	}
	for (size_t i = 0; i < total; i++)
		c->spans[i].tid = c->tracks[c->spans[i].track].first_tid +
				  (int)c->spans[i].lane;
	free(next_tid);
}

static void put_attr(FILE *out, const struct report_attr *a)
{
	put_str(out, a->key);
	fputc(':', out);
	switch (a->type) {
	case STORE_ATTR_INT:
		fprintf(out, "%" PRId64, a->i);
		break;
	case STORE_ATTR_BOOL:
		fputs(a->i ? "true" : "false", out);
		break;
	case STORE_ATTR_DOUBLE:
		/* JSON has no NaN or infinity: those go as text. */
		if (isfinite(a->d))
			fprintf(out, "%.17g", a->d);
		else
			put_str(out, a->text);
		break;
	default:
		put_str(out, a->text);
		break;
	}
}

static void put_event(FILE *out, const struct chrome *c,
		      const struct placed *p)
{
	const struct report_span *sp = p->sp;

	fputs(",\n{\"ph\":\"X\",\"name\":", out);
	put_str(out, sp->name);
	fputs(",\"cat\":", out);
	put_str(out, sp->kind);
	fprintf(out, ",\"pid\":%zu,\"tid\":%d,\"ts\":", p->service + 1,
		p->tid);
	put_us(out, sp->start_ns - c->t0);
	fputs(",\"dur\":", out);
	put_us(out, sp->dur_ns);
	fprintf(out, ",\"args\":{\"trace_id\":\"%s\",\"span_id\":\"%016llx\"",
		p->t->id_hex, (unsigned long long)sp->span_id);
	if (sp->parent_id)
		fprintf(out, ",\"parent_id\":\"%016llx\"",
			(unsigned long long)sp->parent_id);
	fprintf(out, ",\"status\":\"%s\"", sp->error ? "error" : "ok");
	if (sp->message) {
		fputs(",\"message\":", out);
		put_str(out, sp->message);
	}
	for (size_t i = 0; i < sp->nattrs; i++) {
		/* Attribute keys never clash with ours: ours have no dot. */
		fputc(',', out);
		put_attr(out, &sp->attrs[i]);
	}
	if (sp->nframes) {
		fputs(",\"stack\":[", out);
		for (size_t i = 0; i < sp->nframes; i++) {
			if (i)
				fputc(',', out);
			put_str(out, sp->frames[i]);
		}
		fputc(']', out);
	}
	fputs("}}", out);
}

static void put_meta(FILE *out, const char *what, size_t pid, int tid,
		     const char *name)
{
	fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%zu", what,
		pid);
	if (tid)
		fprintf(out, ",\"tid\":%d", tid);
	fputs(",\"args\":{\"name\":", out);
	put_str(out, name);
	fputs("}}", out);
}

static void put_flows(FILE *out, const struct chrome *c)
{
	size_t id = 0;

	for (size_t i = 0; i < c->nspans; i++) {
		const struct placed *child = &c->spans[i], *parent;
		const struct report_span *psp;
		int64_t ts;

		if (!report_span_cross_service(child->t,
					       (size_t)(child->sp -
							child->t->spans)))
			continue;
		parent = &c->spans[c->where[c->offset[child->trace] +
					    child->sp->parent]];
		psp = parent->sp;
		/* The start binds to the parent's slice, so it must lie in
		 * it even when the child's clock disagrees. */
		ts = child->sp->start_ns;
		if (ts < psp->start_ns)
			ts = psp->start_ns;
		if (ts > psp->start_ns + psp->dur_ns)
			ts = psp->start_ns + psp->dur_ns;
		id++;
		fprintf(out,
			",\n{\"ph\":\"s\",\"name\":\"call\",\"cat\":\"flow\","
			"\"id\":%zu,\"pid\":%zu,\"tid\":%d,\"ts\":",
			id, parent->service + 1, parent->tid);
		put_us(out, ts - c->t0);
		fprintf(out,
			"},\n{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"call\","
			"\"cat\":\"flow\",\"id\":%zu,\"pid\":%zu,\"tid\":%d,"
			"\"ts\":",
			id, child->service + 1, child->tid);
		put_us(out, child->sp->start_ns - c->t0);
		fputc('}', out);
	}
}

static int chrome_write_traces(FILE *out, const struct report_trace *traces,
			       size_t n, const struct report_options *opt,
			       char **cause)
{
	struct chrome c = { 0 };

	place(&c, traces, n);
	fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":"
	      "\"harness\"",
	      out);
	if (c.nspans)
		fprintf(out, ",\"start_unix_ns\":\"%" PRId64 "\"", c.t0);
	fprintf(out, ",\"traces\":\"%zu\"},\n\"traceEvents\":[\n", n);
	/* A first event so that every later one starts with a comma. */
	fputs("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,"
	      "\"args\":{\"name\":\"harness export\"}}",
	      out);
	for (size_t s = 0; s < c.nservices; s++) {
		put_meta(out, "process_name", s + 1,
			 0, *c.services[s] ? c.services[s] : "(no service)");
		fprintf(out,
			",\n{\"ph\":\"M\",\"name\":\"process_sort_index\","
			"\"pid\":%zu,\"args\":{\"sort_index\":%zu}}",
			s + 1, s + 1);
	}
	for (size_t k = 0; k < c.ntracks; k++) {
		const struct track *t = &c.tracks[k];

		for (size_t l = 0; l < t->nlanes; l++) {
			char *name = xasprintf("%s pid %lld tid %lld", *t->host ?
						       t->host :
						       "?",
					       (long long)t->pid,
					       (long long)t->tid);

			if (l) {
				char *more = xasprintf("%s (overlap %zu)",
						       name, l);

				free(name);
				name = more;
			}
			put_meta(out, "thread_name", t->service + 1,
				 t->first_tid + (int)l, name);
			free(name);
		}
	}
	for (size_t i = 0; i < c.nspans; i++)
		put_event(out, &c, &c.spans[i]);
	put_flows(out, &c);
	fputs("\n]}\n", out);
	free(c.services);
	free(c.tracks);
	free(c.spans);
	free(c.offset);
	free(c.where);
	if (ferror(out)) {
		*cause = xstrdup("cannot write the Chrome trace");
		return -1;
	}
	return 0;
}

const struct report_writer report_chrome_writer = {
	.name = "chrome",
	.summary = "Chrome trace JSON (open in ui.perfetto.dev)",
	.write_traces = chrome_write_traces,
};
