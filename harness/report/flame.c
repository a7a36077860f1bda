/* flame.c: the differential flame graph (flame.h): two runs' iterations
 * merged into one call tree by frame path, drawn as one self-contained SVG
 * with width for time and colour for change. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report/flame.h"

#include "analyze/runload.h"
#include "report/report.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Drawing constants, in px. */
#define FRAME_H 16
#define FRAME_GAP 1
#define PAD 10
#define HEAD_H 58
#define FOOT_H 8
#define FONT_PX 12
#define CHAR_W (FONT_PX * 0.6)
/* The relative change at which the colour saturates. */
#define SATURATE 0.5

void flame_init(struct flame *f)
{
	memset(f, 0, sizeof(*f));
}

void flame_release(struct flame *f)
{
	for (size_t i = 0; i < f->nnodes; i++) {
		struct flame_node *n = &f->nodes[i];

		free(n->service);
		free(n->kind);
		free(n->name);
		free(n->children);
	}
	free(f->nodes);
	free(f->roots);
	memset(f, 0, sizeof(*f));
}

void flame_options_init(struct flame_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->min_px = -1;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* The child of PARENT (FLAME_NO_NODE: a top-level frame) with the key
 * (service, kind, name), made when missing. Fan-out is small (calls are
 * merged by key), so a linear look is enough. */
static size_t child_of(struct flame *f, size_t parent, const char *service,
		       const char *kind, const char *name)
{
	size_t *list, n, id;
	struct flame_node *node;

	service = str_or_empty(service);
	kind = str_or_empty(kind);
	name = str_or_empty(name);
	if (parent == FLAME_NO_NODE) {
		list = f->roots;
		n = f->nroots;
	} else {
		list = f->nodes[parent].children;
		n = f->nodes[parent].nchildren;
	}
	for (size_t i = 0; i < n; i++) {
		node = &f->nodes[list[i]];
		if (!strcmp(node->name, name) &&
		    !strcmp(node->service, service) &&
		    !strcmp(node->kind, kind))
			return list[i];
	}

	ALLOC_GROW(f->nodes, f->nnodes + 1, f->alloc);
	id = f->nnodes++;
	node = &f->nodes[id];
	memset(node, 0, sizeof(*node));
	node->service = xstrdup(service);
	node->kind = xstrdup(kind);
	node->name = xstrdup(name);
	node->parent = parent;
	if (parent == FLAME_NO_NODE) {
		ALLOC_GROW(f->roots, f->nroots + 1, f->roots_alloc);
		f->roots[f->nroots++] = id;
	} else {
		struct flame_node *p = &f->nodes[parent];

		ALLOC_GROW(p->children, p->nchildren + 1, p->alloc);
		p->children[p->nchildren++] = id;
	}
	return id;
}

/* The child of PARENT for span SP, by its frame key. */
static size_t child_for(struct flame *f, size_t parent,
			const struct analyze_span *sp)
{
	return child_of(f, parent, sp->service, sp->kind, sp->name);
}

/* Span indexes sorted by span id, then position: the first of spans that
 * share an id is the one children attach to. */
struct by_id {
	uint64_t span_id;
	size_t index;
};

static int cmp_by_id(const void *pa, const void *pb)
{
	const struct by_id *a = pa, *b = pb;

	if (a->span_id != b->span_id)
		return a->span_id < b->span_id ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* The index of the first span with id ID, or n when none. */
static size_t find_span(const struct by_id *ids, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ids[mid].span_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ids[lo].span_id == id ? ids[lo].index : n;
}

int flame_add_trace(struct flame *f, enum flame_side side,
		    const struct analyze_span *spans, size_t n, char **cause)
{
	struct by_id *ids;
	size_t *parent, *first, *next, *stack, *node_of;
	size_t top = 0;

	if (!n) {
		*cause = xstrdup("a trace without spans");
		return -1;
	}
	ids = xcalloc(n, sizeof(*ids));
	parent = xcalloc(n, sizeof(*parent));
	/* Children as linked lists: first child, next sibling. */
	first = xcalloc(n, sizeof(*first));
	next = xcalloc(n, sizeof(*next));
	stack = xcalloc(n, sizeof(*stack));
	node_of = xcalloc(n, sizeof(*node_of));
	for (size_t i = 0; i < n; i++) {
		ids[i].span_id = spans[i].span_id;
		ids[i].index = i;
		first[i] = next[i] = n;
	}
	qsort(ids, n, sizeof(*ids), cmp_by_id);
	for (size_t i = 0; i < n; i++)
		parent[i] = spans[i].parent_id
				    ? find_span(ids, n, spans[i].parent_id)
				    : n;
	/* Link children in reverse so each list is in input order; a span
	 * that is its own parent is in a cycle and never reached. */
	for (size_t i = n; i-- > 0;) {
		if (parent[i] == n || parent[i] == i)
			continue;
		next[i] = first[parent[i]];
		first[parent[i]] = i;
	}
	/* Walk from the roots (no parent, or a parent not in the trace):
	 * spans in a parent cycle are not reachable and stay out. Each span
	 * has one parent, so none is reached twice. */
	for (size_t i = 0; i < n; i++) {
		if (parent[i] != n)
			continue;
		node_of[i] = child_for(f, FLAME_NO_NODE, &spans[i]);
		stack[top++] = i;
		while (top) {
			size_t s = stack[--top];
			struct flame_node *node = &f->nodes[node_of[s]];

			node->sum_ns[side] += (double)spans[s].dur_ns;
			node->count[side]++;
			for (size_t c = first[s]; c != n; c = next[c]) {
				node_of[c] = child_for(f, node_of[s],
						       &spans[c]);
				stack[top++] = c;
			}
		}
	}
	f->niterations[side]++;
	free(ids);
	free(parent);
	free(first);
	free(next);
	free(stack);
	free(node_of);
	return 0;
}

struct flame_target {
	struct flame *f;
	enum flame_side side;
};

static int add_to_flame(const struct analyze_span *spans, size_t n,
			void *payload, char **cause)
{
	struct flame_target *t = payload;

	return flame_add_trace(t->f, t->side, spans, n, cause);
}

int flame_load_run(struct flame *f, enum flame_side side, struct store *st,
		   int64_t run_id, char **cause)
{
	struct flame_target t = { f, side };
	struct store_run *run = NULL;
	int ret;

	ret = store_run_get(&run, st, run_id, cause);
	if (ret < 0)
		return ret;
	store_run_free(run);
	ret = run_traces_each(st, run_id, add_to_flame, &t, NULL, cause);
	if (ret < 0)
		return ret;
	f->run_id[side] = run_id;
	return 0;
}

/* Node indexes by name, service, kind; PAYLOAD is the flame. */
static int cmp_nodes(const void *pa, const void *pb, void *payload)
{
	const struct flame *f = payload;
	const struct flame_node *a = &f->nodes[*(const size_t *)pa];
	const struct flame_node *b = &f->nodes[*(const size_t *)pb];
	int c = strcmp(a->name, b->name);

	if (!c)
		c = strcmp(a->service, b->service);
	if (!c)
		c = strcmp(a->kind, b->kind);
	return c;
}

void flame_finish(struct flame *f)
{
	if (f->nroots)
		qsort_r(f->roots, f->nroots, sizeof(*f->roots), cmp_nodes, f);
	for (size_t i = 0; i < f->nnodes; i++)
		if (f->nodes[i].nchildren)
			qsort_r(f->nodes[i].children, f->nodes[i].nchildren,
				sizeof(size_t), cmp_nodes, f);
}

double flame_node_ns(const struct flame *f, size_t i, enum flame_side side)
{
	if (!f->niterations[side])
		return 0;
	return f->nodes[i].sum_ns[side] / (double)f->niterations[side];
}

size_t flame_find(const struct flame *f, const char *const *path,
		  size_t depth)
{
	const size_t *list = f->roots;
	size_t n = f->nroots, found = FLAME_NO_NODE;

	for (size_t d = 0; d < depth; d++) {
		found = FLAME_NO_NODE;
		for (size_t i = 0; i < n && found == FLAME_NO_NODE; i++) {
			const struct flame_node *node = &f->nodes[list[i]];
			char *key = xasprintf("%s %s %s", node->service,
					      node->kind, node->name);

			if (!strcmp(key, path[d]))
				found = list[i];
			free(key);
		}
		if (found == FLAME_NO_NODE)
			return FLAME_NO_NODE;
		list = f->nodes[found].children;
		n = f->nodes[found].nchildren;
	}
	return found;
}

const char *flame_color(char *buf, size_t size, double rel)
{
	/* Grey, and the two ends: red for slower, blue for faster. */
	static const int grey[3] = { 0xdd, 0xdd, 0xdd };
	static const int red[3] = { 0xe0, 0x3c, 0x2c };
	static const int blue[3] = { 0x3a, 0x72, 0xe0 };
	const int *end = rel < 0 ? blue : red;
	double t = isnan(rel) ? 0 : fabs(rel) / SATURATE;
	int rgb[3];

	if (t > 1)
		t = 1;
	for (int i = 0; i < 3; i++)
		rgb[i] = (int)lround(grey[i] + (end[i] - grey[i]) * t);
	snprintf(buf, size, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
	return buf;
}

/* The length of the UTF-8 sequence at S (at most LEN bytes), or 0 when it
 * is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Append at most MAX characters of S escaped for XML text and attribute
 * values; bytes XML cannot hold (controls, broken UTF-8) become '?'.
 * Returns how many characters were appended. */
static size_t add_xml(struct strbuf *sb, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), nchars = 0;

	for (size_t i = 0; i < len && nchars < max; nchars++) {
		size_t n = utf8_len(p + i, len - i);

		if (!n || (p[i] < 0x20 && p[i] != '\t')) {
			strbuf_addch(sb, '?');
			i++;
			continue;
		}
		switch (p[i]) {
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '"':
			strbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			strbuf_addstr(sb, "&apos;");
			break;
		default:
			strbuf_add(sb, p + i, n);
		}
		i += n;
	}
	return nchars;
}

/* Characters in S, counting a broken byte as one. */
static size_t utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n = 0;

	for (size_t i = 0; i < len; n++) {
		size_t k = utf8_len(p + i, len - i);

		i += k ? k : 1;
	}
	return n;
}

/* What one frame shows: its widths and change. */
struct frame_info {
	double base_ns, head_ns;
	bool in_base, in_head;
	double width_ns;	/* head time; base time for a base-only frame */
	double rel;		/* (head - base) / base; 0 when neither */
};

static void frame_info(struct frame_info *fi, const struct flame *f,
		       size_t i)
{
	const struct flame_node *n = &f->nodes[i];

	fi->base_ns = flame_node_ns(f, i, FLAME_BASE);
	fi->head_ns = flame_node_ns(f, i, FLAME_HEAD);
	fi->in_base = n->count[FLAME_BASE] > 0;
	fi->in_head = n->count[FLAME_HEAD] > 0;
	fi->width_ns = fi->in_head ? fi->head_ns : fi->base_ns;
	if (fi->base_ns > 0)
		fi->rel = (fi->head_ns - fi->base_ns) / fi->base_ns;
	else
		fi->rel = fi->head_ns > 0 ? INFINITY : 0;
	if (!fi->in_head)
		fi->rel = -1;
}

/* The title of a frame: "service kind name: base X ms → head Y ms
 * (+Z%)", then the calls per iteration on a second line. */
static void add_title(struct strbuf *sb, const struct flame *f, size_t i,
		      const struct frame_info *fi)
{
	const struct flame_node *n = &f->nodes[i];
	double calls[2];

	for (int s = 0; s < 2; s++)
		calls[s] = f->niterations[s]
				   ? (double)n->count[s] /
					     (double)f->niterations[s]
				   : 0;
	strbuf_addstr(sb, "<title>");
	add_xml(sb, n->service, SIZE_MAX);
	strbuf_addch(sb, ' ');
	add_xml(sb, n->kind, SIZE_MAX);
	strbuf_addch(sb, ' ');
	add_xml(sb, n->name, SIZE_MAX);
	strbuf_addf(sb, ": base %.3f ms \xe2\x86\x92 head %.3f ms ",
		    fi->base_ns / 1e6, fi->head_ns / 1e6);
	if (!fi->in_base)
		strbuf_addstr(sb, "(new in head)");
	else if (!fi->in_head)
		strbuf_addstr(sb, "(gone in head)");
	else if (isinf(fi->rel))
		strbuf_addstr(sb, "(from 0)");
	else
		strbuf_addf(sb, "(%+.1f%%)", fi->rel * 100);
	strbuf_addf(sb, "\ncalls per iteration: base %.2f \xe2\x86\x92 head "
		    "%.2f</title>",
		    calls[FLAME_BASE], calls[FLAME_HEAD]);
}

/* The label in a frame PX wide: "service: name" when it fits, else the
 * name, cut to fit with ".."; nothing when not even three characters
 * fit. */
static void add_label(struct strbuf *sb, const struct flame_node *n,
		      double x, double y, double px)
{
	size_t fit = px > 6 ? (size_t)((px - 6) / CHAR_W) : 0;
	char *label;
	size_t len;

	if (fit < 3)
		return;
	label = *n->service ? xasprintf("%s: %s", n->service, n->name)
			    : xstrdup(n->name);
	len = utf8_chars(label);
	if (len > fit && *n->service) {
		free(label);
		label = xstrdup(n->name);
		len = utf8_chars(label);
	}
	strbuf_addf(sb, "<text x=\"%.2f\" y=\"%.2f\">", x + 3,
		    y + FRAME_H - 4.5);
	if (len <= fit) {
		add_xml(sb, label, SIZE_MAX);
	} else {
		add_xml(sb, label, fit - 2);
		strbuf_addstr(sb, "..");
	}
	strbuf_addstr(sb, "</text>");
	free(label);
}

/* A frame waiting to be drawn: node, left edge, width, depth. */
struct pending {
	size_t node;
	double x, px;
	unsigned depth;
};

/* Lay the frames out depth first, in display order: a frame's children
 * from its left edge, each as wide as its time, scaled down together
 * when they add up to more than the frame. Frames narrower than MIN_PX
 * are left out with their subtrees. */
static struct pending *layout(size_t *nout, unsigned *max_depth,
			      const struct flame *f, double x0, double px_all,
			      double min_px)
{
	struct pending *stack = xcalloc(f->nnodes + 1, sizeof(*stack));
	struct pending *out = xcalloc(f->nnodes + 1, sizeof(*out));
	struct frame_info fi;
	size_t top = 0, n = 0;
	double total = 0, x;

	*max_depth = 0;
	for (size_t i = 0; i < f->nroots; i++) {
		frame_info(&fi, f, f->roots[i]);
		total += fi.width_ns;
	}
	/* Push in reverse, so the first (by name) is drawn first. */
	x = x0 + px_all;
	for (size_t i = f->nroots; i-- > 0;) {
		double px;

		frame_info(&fi, f, f->roots[i]);
		px = total > 0 ? fi.width_ns / total * px_all : 0;
		x -= px;
		stack[top++] = (struct pending){ f->roots[i], x, px, 0 };
	}
	while (top) {
		struct pending p = stack[--top];
		const struct flame_node *node = &f->nodes[p.node];
		double sum = 0, scale;

		if (p.px < min_px || p.px <= 0)
			continue;
		out[n++] = p;
		if (p.depth > *max_depth)
			*max_depth = p.depth;
		frame_info(&fi, f, p.node);
		for (size_t c = 0; c < node->nchildren; c++) {
			struct frame_info ci;

			frame_info(&ci, f, node->children[c]);
			sum += ci.width_ns;
		}
		if (sum <= 0)
			continue;
		/* px per ns for the children: the frame's own, unless
		 * they would overflow it. */
		scale = sum > fi.width_ns ? p.px / sum : p.px / fi.width_ns;
		x = p.x;
		for (size_t c = 0; c < node->nchildren; c++) {
			struct frame_info ci;

			frame_info(&ci, f, node->children[c]);
			x += ci.width_ns * scale;
		}
		for (size_t c = node->nchildren; c-- > 0;) {
			struct frame_info ci;
			double px;

			frame_info(&ci, f, node->children[c]);
			px = ci.width_ns * scale;
			x -= px;
			stack[top++] = (struct pending){ node->children[c], x,
							 px, p.depth + 1 };
		}
	}
	free(stack);
	*nout = n;
	return out;
}

static void add_legend(struct strbuf *sb, unsigned width)
{
	double x = width - PAD - 11 * 14 - 170;
	char color[8];

	strbuf_addf(sb, "<g class=\"legend\"><text x=\"%.2f\" y=\"44\" "
		    "text-anchor=\"end\">faster</text>",
		    x - 4);
	for (int i = 0; i < 11; i++) {
		double rel = (i - 5) * SATURATE / 5;

		strbuf_addf(sb, "<rect x=\"%.2f\" y=\"34\" width=\"14\" "
			    "height=\"12\" fill=\"%s\"><title>%+.0f%%"
			    "</title></rect>",
			    x + i * 14, flame_color(color, sizeof(color), rel),
			    rel * 100);
	}
	x += 11 * 14;
	strbuf_addf(sb, "<text x=\"%.2f\" y=\"44\">slower</text>", x + 4);
	strbuf_addf(sb, "<rect x=\"%.2f\" y=\"34\" width=\"14\" height=\"12\" "
		    "fill=\"url(#flame-gone)\"/><text x=\"%.2f\" y=\"44\">"
		    "only in base</text></g>\n",
		    x + 60, x + 78);
}

int flame_write_svg(FILE *out, const struct flame *f,
		    const struct flame_options *opt, char **cause)
{
	struct flame_options defaults;
	struct strbuf sb = STRBUF_INIT;
	struct pending *frames;
	unsigned width, max_depth, height;
	size_t nframes;
	char color[8];
	int ret = 0;

	if (!opt) {
		flame_options_init(&defaults);
		opt = &defaults;
	}
	width = opt->width ? opt->width : 1200;
	frames = layout(&nframes, &max_depth, f, PAD, width - 2.0 * PAD,
			opt->min_px < 0 ? 0.1 : opt->min_px);
	height = HEAD_H + (nframes ? max_depth + 1 : 1) *
				  (FRAME_H + FRAME_GAP) + FOOT_H;

	strbuf_addf(&sb,
		    "<?xml version=\"1.0\" encoding=\"UTF-8\" "
		    "standalone=\"no\"?>\n"
		    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		    "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
		    "font-family=\"monospace\" font-size=\"%d\">\n",
		    width, height, width, height, FONT_PX);
	/* Frames only in the base: pale blue stripes, light enough for the
	 * label to stay readable. */
	strbuf_addstr(&sb,
		      "<defs><pattern id=\"flame-gone\" width=\"6\" "
		      "height=\"6\" patternUnits=\"userSpaceOnUse\" "
		      "patternTransform=\"rotate(45)\"><rect width=\"6\" "
		      "height=\"6\" fill=\"#ffffff\"/><rect width=\"2\" "
		      "height=\"6\" fill=\"#9db6ea\"/></pattern></defs>\n");
	strbuf_addstr(&sb,
		      "<style>.frame:hover rect{stroke:#000;stroke-width:1}"
		      ".frame text{pointer-events:none;fill:#000}"
		      ".gone rect{stroke:#3a72e0;stroke-dasharray:3,2}"
		      "</style>\n");
	strbuf_addf(&sb, "<rect width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>\n",
		    width, height);
	strbuf_addf(&sb, "<text x=\"%d\" y=\"20\" font-size=\"15\">", PAD);
	if (opt->title)
		add_xml(&sb, opt->title, SIZE_MAX);
	else if (f->run_id[FLAME_BASE] || f->run_id[FLAME_HEAD])
		strbuf_addf(&sb, "Differential flame graph: base run %lld "
			    "\xe2\x86\x92 head run %lld",
			    (long long)f->run_id[FLAME_BASE],
			    (long long)f->run_id[FLAME_HEAD]);
	else
		strbuf_addstr(&sb, "Differential flame graph");
	strbuf_addf(&sb, "</text>\n<text x=\"%d\" y=\"44\">width: head time "
		    "per iteration (%zu base, %zu head iterations)</text>\n",
		    PAD, f->niterations[FLAME_BASE],
		    f->niterations[FLAME_HEAD]);
	add_legend(&sb, width);
	if (!nframes)
		strbuf_addf(&sb, "<text x=\"%d\" y=\"%d\">no spans</text>\n",
			    PAD, HEAD_H + FRAME_H - 4);

	for (size_t i = 0; i < nframes; i++) {
		const struct pending *p = &frames[i];
		const struct flame_node *n = &f->nodes[p->node];
		struct frame_info fi;
		double y = HEAD_H + (double)(max_depth - p->depth) *
					    (FRAME_H + FRAME_GAP);

		frame_info(&fi, f, p->node);
		strbuf_addf(&sb, "<g class=\"frame%s\" data-service=\"",
			    !fi.in_head   ? " gone"
			    : !fi.in_base ? " new"
					  : "");
		add_xml(&sb, n->service, SIZE_MAX);
		strbuf_addstr(&sb, "\" data-kind=\"");
		add_xml(&sb, n->kind, SIZE_MAX);
		strbuf_addstr(&sb, "\" data-name=\"");
		add_xml(&sb, n->name, SIZE_MAX);
		strbuf_addf(&sb, "\" data-depth=\"%u\" data-base-ns=\"%.0f\" "
			    "data-head-ns=\"%.0f\">",
			    p->depth, fi.base_ns, fi.head_ns);
		add_title(&sb, f, p->node, &fi);
		strbuf_addf(&sb, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			    "height=\"%d\" rx=\"2\" fill=\"%s\"/>",
			    p->x, y, p->px, FRAME_H,
			    !fi.in_head ? "url(#flame-gone)"
					: flame_color(color, sizeof(color),
						      fi.rel));
		add_label(&sb, n, p->x, y, p->px);
		strbuf_addstr(&sb, "</g>\n");
	}
	strbuf_addstr(&sb, "</svg>\n");

	if (fwrite(sb.buf, 1, sb.len, out) != sb.len || fflush(out) != 0) {
		*cause = xasprintf("cannot write the flame graph: %s",
				   strerror(errno));
		ret = -1;
	}
	free(frames);
	strbuf_release(&sb);
	return ret;
}

/* Load both runs into F (initialised by the caller) and finish it. */
static int load_runs(struct flame *f, struct store *st, int64_t base_id,
		     int64_t head_id, char **cause)
{
	int ret = flame_load_run(f, FLAME_BASE, st, base_id, cause);

	if (ret == 0)
		ret = flame_load_run(f, FLAME_HEAD, st, head_id, cause);
	if (ret == 0)
		flame_finish(f);
	return ret;
}

int flame_write_runs(const char *path, struct store *st, int64_t base_id,
		     int64_t head_id, const struct flame_options *opt,
		     char **cause)
{
	struct report_output o;
	struct flame f;
	int ret;

	flame_init(&f);
	ret = load_runs(&f, st, base_id, head_id, cause);
	if (ret < 0)
		goto out;
	ret = report_output_open(&o, path, cause);
	if (ret < 0)
		goto out;
	ret = flame_write_svg(o.fp, &f, opt, cause);
	if (ret == 0)
		ret = report_output_commit(&o, cause);
	else
		report_output_abort(&o);
out:
	flame_release(&f);
	return ret;
}

int flame_svg_for_runs(char **svg, struct store *st, int64_t base_id,
		       int64_t head_id, const struct flame_options *opt,
		       char **cause)
{
	struct flame f;
	size_t len = 0;
	FILE *fp = NULL;
	int ret;

	*svg = NULL;
	flame_init(&f);
	ret = load_runs(&f, st, base_id, head_id, cause);
	if (ret < 0)
		goto out;
	fp = open_memstream(svg, &len);
	if (!fp) {
		*cause = xasprintf("cannot make the flame graph: %s",
				   strerror(errno));
		ret = -1;
		goto out;
	}
	ret = flame_write_svg(fp, &f, opt, cause);
out:
	if (fp)
		fclose(fp);
	if (ret < 0) {
		free(*svg);
		*svg = NULL;
	}
	flame_release(&f);
	return ret;
}
