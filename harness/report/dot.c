/* dot.c: the Graphviz writer: the call graph of traces, a node per span or
 * per operation, services as clusters, calls that cross from one service
 * to another drawn bold and red. */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"

/* Light fills, one per service colour index (the HTML palette too). */
static const char *const fills[REPORT_NCOLORS] = {
	"#cfe2f3", "#d9ead3", "#fce5cd", "#ead1dc",
	"#fff2cc", "#d0e0e3", "#d9d2e9", "#f4cccc",
};

/* A DOT string's content: quotes and backslashes escaped, newlines as
 * DOT's centred line breaks. */
static void add_escaped(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		if (*s == '\n') {
			strbuf_addstr(sb, "\\n");
			continue;
		}
		strbuf_addch(sb, *s);
	}
}

struct op_node {
	const char *service, *kind, *name;	/* borrowed from the traces */
	size_t count, errors;
	double total_ns;
};

struct op_edge {
	size_t from, to, count;
	bool cross;
};

struct graph {
	struct op_node *nodes;
	size_t nnodes, alloc_nodes;
	struct op_edge *edges;
	size_t nedges, alloc_edges;
	const char **services;
	size_t nservices, alloc_services;
};

static size_t service_index(struct graph *g, const char *service)
{
	for (size_t i = 0; i < g->nservices; i++)
		if (!strcmp(g->services[i], service))
			return i;
	ALLOC_GROW(g->services, g->nservices + 1, g->alloc_services);
	g->services[g->nservices] = service;
	return g->nservices++;
}

static size_t op_index(struct graph *g, const struct report_span *sp)
{
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct op_node *o = &g->nodes[i];

		if (!strcmp(o->service, sp->service) &&
		    !strcmp(o->kind, sp->kind) && !strcmp(o->name, sp->name))
			return i;
	}
	ALLOC_GROW(g->nodes, g->nnodes + 1, g->alloc_nodes);
	g->nodes[g->nnodes] = (struct op_node){ sp->service, sp->kind,
						sp->name, 0, 0, 0 };
	service_index(g, sp->service);
	return g->nnodes++;
}

static void add_edge(struct graph *g, size_t from, size_t to, bool cross)
{
	for (size_t i = 0; i < g->nedges; i++)
		if (g->edges[i].from == from && g->edges[i].to == to) {
			g->edges[i].count++;
			return;
		}
	ALLOC_GROW(g->edges, g->nedges + 1, g->alloc_edges);
	g->edges[g->nedges++] = (struct op_edge){ from, to, 1, cross };
}

static void write_header(struct strbuf *sb, const char *title)
{
	strbuf_addstr(sb, "digraph trace {\n\tlabel=\"");
	add_escaped(sb, title);
	strbuf_addstr(sb,
		      "\";\n\tlabelloc=t;\n\trankdir=LR;\n"
		      "\tfontname=\"Helvetica\";\n"
		      "\tnode [shape=box, style=\"rounded,filled\", "
		      "fontname=\"Helvetica\", fontsize=10];\n"
		      "\tedge [color=\"#777777\", fontname=\"Helvetica\", "
		      "fontsize=9];\n");
}

static void cluster_open(struct strbuf *sb, size_t i, const char *service)
{
	strbuf_addf(sb, "\tsubgraph cluster_%zu {\n\t\tlabel=\"", i);
	add_escaped(sb, *service ? service : "(no service)");
	strbuf_addf(sb,
		    "\";\n\t\tstyle=\"rounded,dashed\";\n"
		    "\t\tcolor=\"#999999\";\n\t\tnode [fillcolor=\"%s\"];\n",
		    fills[i % REPORT_NCOLORS]);
}

static void write_edge_attrs(struct strbuf *sb, bool cross, size_t count)
{
	strbuf_addstr(sb, " [");
	if (cross)
		strbuf_addstr(sb, "color=\"#c0392b\", penwidth=2.5, "
				  "style=bold, ");
	if (count > 1)
		strbuf_addf(sb, "label=\"x%zu\", ", count);
	strbuf_addstr(sb, "arrowsize=0.7]");
}

static void write_spans(struct strbuf *sb, const struct report_trace *traces,
			size_t n)
{
	struct graph g = { 0 };
	char dur[32];

	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < traces[k].nspans; i++)
			service_index(&g, traces[k].spans[i].service);
	for (size_t s = 0; s < g.nservices; s++) {
		cluster_open(sb, s, g.services[s]);
		for (size_t k = 0; k < n; k++) {
			const struct report_trace *t = &traces[k];

			for (size_t i = 0; i < t->nspans; i++) {
				const struct report_span *sp = &t->spans[i];

				if (strcmp(sp->service, g.services[s]))
					continue;
				strbuf_addf(sb, "\t\tt%zus%zu [label=\"", k,
					    i);
				add_escaped(sb, sp->kind);
				strbuf_addstr(sb, "\\n");
				add_escaped(sb, sp->name);
				strbuf_addf(sb, "\\n%s\"",
					    report_fmt_dur(dur, sizeof(dur),
							   (double)sp->dur_ns));
				if (sp->error)
					strbuf_addstr(sb,
						      ", color=\"#c0392b\", "
						      "penwidth=2");
				strbuf_addstr(sb, "];\n");
			}
		}
		strbuf_addstr(sb, "\t}\n");
	}
	for (size_t k = 0; k < n; k++) {
		const struct report_trace *t = &traces[k];

		for (size_t i = 0; i < t->nspans; i++) {
			if (t->spans[i].parent == REPORT_NO_PARENT)
				continue;
			strbuf_addf(sb, "\tt%zus%zu -> t%zus%zu", k,
				    t->spans[i].parent, k, i);
			write_edge_attrs(sb, report_span_cross_service(t, i),
					 1);
			strbuf_addstr(sb, ";\n");
		}
	}
	free(g.services);
}

static void write_operations(struct strbuf *sb,
			     const struct report_trace *traces, size_t n)
{
	struct graph g = { 0 };
	char dur[32];

	for (size_t k = 0; k < n; k++) {
		const struct report_trace *t = &traces[k];
		size_t *ops = xcalloc(t->nspans ? t->nspans : 1,
				      sizeof(*ops));

		for (size_t i = 0; i < t->nspans; i++) {
			struct op_node *o;

			ops[i] = op_index(&g, &t->spans[i]);
			o = &g.nodes[ops[i]];
			o->count++;
			o->errors += t->spans[i].error;
			o->total_ns += (double)t->spans[i].dur_ns;
			if (t->spans[i].parent != REPORT_NO_PARENT)
				add_edge(&g, ops[t->spans[i].parent], ops[i],
					 report_span_cross_service(t, i));
		}
		free(ops);
	}
	for (size_t s = 0; s < g.nservices; s++) {
		cluster_open(sb, s, g.services[s]);
		for (size_t i = 0; i < g.nnodes; i++) {
			const struct op_node *o = &g.nodes[i];

			if (strcmp(o->service, g.services[s]))
				continue;
			strbuf_addf(sb, "\t\top%zu [label=\"", i);
			add_escaped(sb, o->kind);
			strbuf_addstr(sb, "\\n");
			add_escaped(sb, o->name);
			strbuf_addf(sb, "\\n%zu x, %s total\"", o->count,
				    report_fmt_dur(dur, sizeof(dur),
						   o->total_ns));
			if (o->errors)
				strbuf_addstr(sb, ", color=\"#c0392b\", "
						  "penwidth=2");
			strbuf_addstr(sb, "];\n");
		}
		strbuf_addstr(sb, "\t}\n");
	}
	for (size_t i = 0; i < g.nedges; i++) {
		strbuf_addf(sb, "\top%zu -> op%zu", g.edges[i].from,
			    g.edges[i].to);
		write_edge_attrs(sb, g.edges[i].cross, g.edges[i].count);
		strbuf_addstr(sb, ";\n");
	}
	free(g.nodes);
	free(g.edges);
	free(g.services);
}

static int dot_write_traces(FILE *out, const struct report_trace *traces,
			    size_t n, const struct report_options *opt,
			    char **cause)
{
	struct strbuf sb = STRBUF_INIT;
	char *title;

	if (n == 1)
		title = xasprintf("trace %s", traces[0].id_hex);
	else
		title = xasprintf("%zu traces", n);
	write_header(&sb, title);
	free(title);
	if (opt->dot_nodes == REPORT_DOT_OPERATIONS)
		write_operations(&sb, traces, n);
	else
		write_spans(&sb, traces, n);
	strbuf_addstr(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, out);
	strbuf_release(&sb);
	return 0;
}

const struct report_writer report_dot_writer = {
	.name = "dot",
	.summary = "Graphviz call graph (render with dot -Tsvg)",
	.write_traces = dot_write_traces,
};
