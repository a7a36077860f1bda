/* run-gates.c: a scenario's absolute limits for `harness run`: parsed before
 * anything starts, so that a bad expression names its file:line:column, and
 * evaluated after the run over the spans the store received for it. */
#include "cli/run.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/aggregate.h"
#include "analyze/gate.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Whether the scalar written at POS starts with a quote, in which case the
 * expression's first character is one column further right. */
static bool scalar_quoted(const struct config_pos *pos)
{
	FILE *f = pos->file ? fopen(pos->file, "r") : NULL;
	unsigned line = 1, col = 1;
	int c;

	if (!f)
		return false;
	while ((c = getc(f)) != EOF) {
		if (line == pos->line && col == pos->column)
			break;
		if (c == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	fclose(f);
	return c == '"' || c == '\'';
}

int run_gates_parse(struct run_gates *out, const struct scenario *sc,
		    char **cause)
{
	out->gates = xcalloc(sc->ngates ? sc->ngates : 1, sizeof(*out->gates));
	out->n = 0;
	for (size_t i = 0; i < sc->ngates; i++) {
		const struct scenario_gate *sg = &sc->gates[i];
		unsigned col = 1;
		char *why = NULL;

		if (gate_parse(&out->gates[out->n], sg->expr, &col,
			       &why) < 0) {
			const char *file = sg->pos.file ? sg->pos.file
							: sc->path;
			unsigned at = sg->pos.column + col - 1 +
				      (scalar_quoted(&sg->pos) ? 1 : 0);

			*cause = xasprintf("%s:%u:%u: bad gate '%s': %s", file,
					   sg->pos.line, at, sg->expr,
					   why ? why : "cannot parse");
			free(why);
			run_gates_release(out);
			return -1;
		}
		out->n++;
	}
	return 0;
}

void run_gates_release(struct run_gates *g)
{
	for (size_t i = 0; i < g->n; i++)
		gate_free(g->gates[i]);
	free(g->gates);
	g->gates = NULL;
	g->n = 0;
}

/* The spans of one trace at a time, as store_span_timings_each hands them
 * over (grouped by trace id), fed to the aggregate when the trace is one
 * of the measured iterations. */
struct gather {
	const uint8_t (*ids)[16];	/* sorted */
	size_t nids;
	struct aggregate *agg;
	bool have;
	uint8_t cur[16];
	struct analyze_span *spans;
	size_t n, alloc;
	char **strs;			/* copies the spans point into */
	size_t nstrs, astrs;
	char *cause;
	size_t traces;
};

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static const char *keep(struct gather *g, const char *s)
{
	if (!s)
		return NULL;
	ALLOC_GROW(g->strs, g->nstrs + 1, g->astrs);
	g->strs[g->nstrs] = xstrdup(s);
	return g->strs[g->nstrs++];
}

static int flush_trace(struct gather *g)
{
	int ret = 0;

	if (g->have && g->n &&
	    bsearch(g->cur, g->ids, g->nids, 16, cmp_id)) {
		ret = aggregate_add_trace(g->agg, g->spans, g->n, &g->cause);
		g->traces++;
	}
	for (size_t i = 0; i < g->nstrs; i++)
		free(g->strs[i]);
	g->nstrs = 0;
	g->n = 0;
	g->have = false;
	return ret;
}

static int gather_span(const struct store_span_timing *sp, void *payload)
{
	struct gather *g = payload;
	struct analyze_span *a;

	if (g->have && memcmp(g->cur, sp->trace_id, 16) && flush_trace(g) < 0)
		return -1;
	if (!g->have) {
		memcpy(g->cur, sp->trace_id, 16);
		g->have = true;
	}
	ALLOC_GROW(g->spans, g->n + 1, g->alloc);
	a = &g->spans[g->n++];
	memcpy(a->trace_id, sp->trace_id, 16);
	a->span_id = sp->span_id;
	a->parent_id = sp->parent_id;
	a->kind = keep(g, sp->kind);
	a->name = keep(g, sp->name);
	a->service = keep(g, sp->service);
	a->start_ns = sp->start_ns > 0 ? (uint64_t)sp->start_ns : 0;
	a->dur_ns = sp->dur_ns > 0 ? (uint64_t)sp->dur_ns : 0;
	a->status = sp->status == STORE_SPAN_OK ? 0 : 1;
	return 0;
}

int run_trace_id_parse(uint8_t out[16], const char *hex)
{
	static const char digits[] = "0123456789abcdef";

	if (strlen(hex) != 32)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		const char *d = strchr(digits, tolower((unsigned char)hex[i]));

		if (!d || !*d)
			return -1;
		if (i % 2)
			out[i / 2] |= (uint8_t)(d - digits);
		else
			out[i / 2] = (uint8_t)((d - digits) << 4);
	}
	return 0;
}

int run_gates_eval(const struct run_gates *gates, struct store *st,
		   int64_t run_id, const struct load_iteration *its, size_t n,
		   FILE *out, size_t *broken, char **cause)
{
	struct aggregate agg;
	struct gather g;
	uint8_t (*ids)[16] = xcalloc(n ? n : 1, sizeof(*ids));
	size_t nids = 0;
	int ret = 0;

	*broken = 0;
	for (size_t i = 0; i < n; i++)
		if (!its[i].warmup && !its[i].interrupted &&
		    !run_trace_id_parse(ids[nids], its[i].trace_id))
			nids++;
	qsort(ids, nids, sizeof(*ids), cmp_id);

	aggregate_init(&agg);
	memset(&g, 0, sizeof(g));
	g.ids = (const uint8_t (*)[16])ids;
	g.nids = nids;
	g.agg = &agg;
	ret = store_span_timings_each(st, run_id, gather_span, &g, cause);
	if (!ret)
		ret = flush_trace(&g);
	else
		flush_trace(&g);
	if (ret < 0) {
		if (g.cause) {
			free(*cause);
			*cause = g.cause;
			g.cause = NULL;
		}
		goto out;
	}

	for (size_t i = 0; i < gates->n; i++) {
		struct gate_result res;

		ret = gate_eval(&res, gates->gates[i], aggregate_gate_lookup,
				&agg, cause);
		if (ret < 0)
			goto out;
		ret = 0;
		if (!res.pass)
			(*broken)++;
		fprintf(out, "%-12s %s\n", i ? "" : "gates", res.line);
		gate_result_release(&res);
	}
	if (g.traces < nids)
		fprintf(out, "%-12s over %zu of %zu iterations (the others "
			"left no spans)\n", "", g.traces, nids);

out:
	free(g.cause);
	free(g.spans);
	free(g.strs);
	free(ids);
	aggregate_release(&agg);
	return ret;
}
