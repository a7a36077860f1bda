/* test-flame.c: the differential flame graph (report/flame.h) on
 * hand-built traces, and on runs loaded from a real store file; the SVG
 * is checked with a small strict XML reader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/flame.h"
#include "util/error.h"
#include "util/strbuf.h"

#define MS 1000000ULL

/* A span of a hand-built trace: ids, frame key, duration in ms. */
struct sp {
	uint64_t id, parent;
	const char *service, *kind, *name;
	double ms;
};

static void add(struct flame *f, enum flame_side side, const struct sp *sps,
		size_t n)
{
	struct analyze_span *spans = calloc(n, sizeof(*spans));
	char *cause = NULL;

	for (size_t i = 0; i < n; i++) {
		spans[i].span_id = sps[i].id;
		spans[i].parent_id = sps[i].parent;
		spans[i].service = sps[i].service;
		spans[i].kind = sps[i].kind;
		spans[i].name = sps[i].name;
		spans[i].start_ns = 1000 + i;
		spans[i].dur_ns = (uint64_t)llround(sps[i].ms * MS);
	}
	if (flame_add_trace(f, side, spans, n, &cause) < 0)
		fail_msg("flame_add_trace: %s", cause);
	free(spans);
}

static char *render(const struct flame *f, const struct flame_options *opt)
{
	char *buf = NULL, *cause = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	if (flame_write_svg(fp, f, opt, &cause) < 0)
		fail_msg("flame_write_svg: %s", cause);
	fclose(fp);
	return buf;
}

/* The <g> element of the frame whose data-name is NAME (the first), as a
 * new string; NULL when there is none. */
static char *frame_of(const char *svg, const char *name)
{
	char *key = xasprintf("data-name=\"%s\"", name);
	const char *p = strstr(svg, key), *start, *end;

	free(key);
	if (!p)
		return NULL;
	for (start = p; start > svg && strncmp(start, "<g ", 3); start--)
		;
	end = strstr(p, "</g>");
	assert_non_null(end);
	return xstrndup(start, (size_t)(end + 4 - start));
}

/* The value of attribute ATTR of the first element TAG in S, as a new
 * string. */
static char *attr_of(const char *s, const char *tag, const char *attr)
{
	char *open = xasprintf("<%s ", tag), *key = xasprintf(" %s=\"", attr);
	const char *p = strstr(s, open), *q, *end;

	assert_non_null(p);
	end = strchr(p, '>');
	q = strstr(p, key);
	assert_true(q && q < end);
	q += strlen(key);
	free(open);
	free(key);
	return xstrndup(q, strcspn(q, "\""));
}

static double rect_num(const char *frame, const char *attr)
{
	char *v = attr_of(frame, "rect", attr);
	double d = strtod(v, NULL);

	free(v);
	return d;
}

/* The text between <title> and </title> of FRAME, as a new string. */
static char *title_of(const char *frame)
{
	const char *p = strstr(frame, "<title>"), *end;

	assert_non_null(p);
	p += 7;
	end = strstr(p, "</title>");
	assert_non_null(end);
	return xstrndup(p, (size_t)(end - p));
}

static size_t count_str(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A strict check of the XML that the writer emits: one root element,
 * balanced tags, quoted attributes, only the five named entities and
 * character references, no control bytes, valid UTF-8. Returns NULL or
 * what is wrong. */
static const char *xml_check(const char *s)
{
	const char *stack[64];
	size_t depth = 0, nroots = 0, namelen[64];
	const unsigned char *p = (const unsigned char *)s;

	if (!strncmp(s, "<?xml ", 6)) {
		const char *e = strstr(s, "?>");

		if (!e)
			return "unterminated prolog";
		p = (const unsigned char *)e + 2;
	}
	while (*p) {
		if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r')
			return "control byte";
		if (*p >= 0x80) {
			size_t n = (*p & 0xe0) == 0xc0   ? 2
				   : (*p & 0xf0) == 0xe0 ? 3
				   : (*p & 0xf8) == 0xf0 ? 4
							 : 0;

			if (!n)
				return "bad UTF-8 lead byte";
			for (size_t i = 1; i < n; i++)
				if ((p[i] & 0xc0) != 0x80)
					return "bad UTF-8 continuation";
			p += n;
			continue;
		}
		if (*p == '&') {
			static const char *const ents[] = { "amp;", "lt;",
							    "gt;", "quot;",
							    "apos;" };
			bool ok = false;

			for (size_t i = 0; i < 5; i++)
				if (!strncmp((const char *)p + 1, ents[i],
					     strlen(ents[i])))
					ok = true;
			if (!ok)
				return "bad entity";
			p++;
			continue;
		}
		if (*p == '>')
			return "stray '>' in text";
		if (*p != '<') {
			if (!depth && !strchr(" \t\r\n", *p))
				return "text outside the root";
			p++;
			continue;
		}
		p++;
		if (*p == '/') {
			size_t n = strcspn((const char *)++p, ">");

			if (!depth || n != namelen[depth - 1] ||
			    strncmp((const char *)p, stack[depth - 1], n))
				return "mismatched end tag";
			depth--;
			p += n + 1;
			continue;
		}
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", *p) || !*p)
			return "bad tag name";
		if (!depth && nroots++)
			return "two root elements";
		if (depth == 64)
			return "too deep";
		stack[depth] = (const char *)p;
		namelen[depth] = strcspn((const char *)p, " \t\n/>");
		p += namelen[depth];
		for (;;) {
			while (*p == ' ' || *p == '\n' || *p == '\t')
				p++;
			if (*p == '>') {
				depth++;
				p++;
				break;
			}
			if (p[0] == '/' && p[1] == '>') {
				p += 2;
				break;
			}
			if (!strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", *p) || !*p)
				return "bad attribute name";
			p += strcspn((const char *)p, "= \t\n>");
			if (p[0] != '=' || p[1] != '"')
				return "attribute without a quoted value";
			p += 2;
			while (*p && *p != '"') {
				if (*p == '<')
					return "'<' in an attribute";
				if (*p < 0x20)
					return "control byte in attribute";
				if (*p == '&' &&
				    strncmp((const char *)p, "&amp;", 5) &&
				    strncmp((const char *)p, "&lt;", 4) &&
				    strncmp((const char *)p, "&gt;", 4) &&
				    strncmp((const char *)p, "&quot;", 6) &&
				    strncmp((const char *)p, "&apos;", 6))
					return "bad entity in attribute";
				p++;
			}
			if (!*p)
				return "unterminated attribute";
			p++;
		}
	}
	if (depth)
		return "unclosed element";
	return nroots == 1 ? NULL : "no root element";
}

/* base: iteration 100ms > api 60ms > (db SELECT 20ms, rpc 30ms). */
static const struct sp base_trace[] = {
	{ 1, 0, "harness", "iteration", "iteration", 100 },
	{ 2, 1, "api", "rest.dispatch", "POST /servers", 60 },
	{ 3, 2, "api", "db", "SELECT hosts", 20 },
	{ 4, 2, "scheduler", "rpc.call", "select", 30 },
};

static void test_flame__doubled_child_is_red(void **state)
{
	const struct sp head_trace[] = {
		{ 1, 0, "harness", "iteration", "iteration", 120 },
		{ 2, 1, "api", "rest.dispatch", "POST /servers", 80 },
		{ 3, 2, "api", "db", "SELECT hosts", 40 },
		{ 4, 2, "scheduler", "rpc.call", "select", 30 },
	};
	const char *path[] = { "harness iteration iteration",
			       "api rest.dispatch POST /servers",
			       "api db SELECT hosts" };
	struct flame f;
	char *svg, *frame, *title, *fill, red[8], grey[8];
	size_t i;

	(void)state;
	flame_init(&f);
	add(&f, FLAME_BASE, base_trace, 4);
	add(&f, FLAME_HEAD, head_trace, 4);
	flame_finish(&f);
	i = flame_find(&f, path, 3);
	assert_int_not_equal(i, FLAME_NO_NODE);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_BASE) - 20e6) < 1);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_HEAD) - 40e6) < 1);

	svg = render(&f, NULL);
	assert_null(xml_check(svg));
	frame = frame_of(svg, "SELECT hosts");
	assert_non_null(frame);
	title = title_of(frame);
	assert_string_equal(title,
			    "api db SELECT hosts: base 20.000 ms \xe2\x86\x92 "
			    "head 40.000 ms (+100.0%)\n"
			    "calls per iteration: base 1.00 \xe2\x86\x92 head "
			    "1.00");
	fill = attr_of(frame, "rect", "fill");
	assert_string_equal(fill, flame_color(red, sizeof(red), 1.0));
	/* Saturated: +100% is as red as +50%, and red is not grey. */
	assert_string_equal(fill, flame_color(red, sizeof(red), 0.5));
	assert_string_not_equal(fill, flame_color(grey, sizeof(grey), 0));
	free(fill);
	free(title);
	free(frame);

	/* The unchanged sibling stays grey; the parent is +33.3%. */
	frame = frame_of(svg, "select");
	fill = attr_of(frame, "rect", "fill");
	assert_string_equal(fill, grey);
	free(fill);
	free(frame);
	frame = frame_of(svg, "POST /servers");
	title = title_of(frame);
	assert_non_null(strstr(title, "(+33.3%)"));
	fill = attr_of(frame, "rect", "fill");
	assert_string_equal(fill, flame_color(red, sizeof(red), 1.0 / 3));
	free(fill);
	free(title);
	free(frame);
	free(svg);
	flame_release(&f);
}

static void test_flame__unchanged_is_neutral(void **state)
{
	struct flame f;
	char grey[8], *svg;
	size_t nframes = 0;

	(void)state;
	flame_init(&f);
	add(&f, FLAME_BASE, base_trace, 4);
	add(&f, FLAME_BASE, base_trace, 4);
	add(&f, FLAME_HEAD, base_trace, 4);
	flame_finish(&f);
	svg = render(&f, NULL);
	assert_null(xml_check(svg));
	flame_color(grey, sizeof(grey), 0);
	for (const char *p = svg; (p = strstr(p, "<g class=\"frame"));
	     p++) {
		const char *end = strstr(p, "</g>");
		char *frame = xstrndup(p, (size_t)(end - p));
		char *fill = attr_of(frame, "rect", "fill");

		assert_string_equal(fill, grey);
		assert_non_null(strstr(frame, "<title>"));
		assert_non_null(strstr(frame, "(+0.0%)"));
		free(fill);
		free(frame);
		nframes++;
	}
	assert_int_equal(nframes, 4);
	assert_int_equal(count_str(svg, "<g class=\"frame"), 4);
	assert_null(strstr(svg, "class=\"frame new"));
	assert_null(strstr(svg, "class=\"frame gone"));
	free(svg);
	flame_release(&f);
}

static void test_flame__only_in_head_or_base(void **state)
{
	const struct sp head_trace[] = {
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "api", "rest.dispatch", "POST /servers", 60 },
		{ 3, 2, "api", "db", "SELECT hosts", 20 },
		{ 5, 2, "api", "exec", "qemu-img", 25 },
	};
	struct flame f;
	char red[8], *svg, *frame, *title, *fill, *cls;

	(void)state;
	flame_init(&f);
	add(&f, FLAME_BASE, base_trace, 4);
	add(&f, FLAME_HEAD, head_trace, 4);
	flame_finish(&f);
	svg = render(&f, NULL);
	assert_null(xml_check(svg));

	frame = frame_of(svg, "qemu-img");
	assert_non_null(frame);
	cls = attr_of(frame, "g", "class");
	assert_string_equal(cls, "frame new");
	title = title_of(frame);
	assert_non_null(strstr(title, "api exec qemu-img: base 0.000 ms "
				      "\xe2\x86\x92 head 25.000 ms (new in "
				      "head)"));
	fill = attr_of(frame, "rect", "fill");
	assert_string_equal(fill, flame_color(red, sizeof(red), 1));
	/* Scaled with its siblings, see below. */
	assert_true(fabs(rect_num(frame, "width") - 708.0 * 25 / 75) < 0.01);
	free(fill);
	free(title);
	free(cls);
	free(frame);

	/* Only in the base: marked, hatched, as wide as its base time. */
	frame = frame_of(svg, "select");
	assert_non_null(frame);
	cls = attr_of(frame, "g", "class");
	assert_string_equal(cls, "frame gone");
	title = title_of(frame);
	assert_non_null(strstr(title, "scheduler rpc.call select: base "
				      "30.000 ms \xe2\x86\x92 head 0.000 ms "
				      "(gone in head)"));
	fill = attr_of(frame, "rect", "fill");
	assert_string_equal(fill, "url(#flame-gone)");
	/* Children of POST /servers: 20 + 25 (head) + 30 (base only) = 75
	 * > 60, so all three are scaled to fit its 708px. */
	assert_true(fabs(rect_num(frame, "width") - 708.0 * 30 / 75) < 0.01);
	free(fill);
	free(title);
	free(cls);
	free(frame);
	free(svg);
	flame_release(&f);
}

static void test_flame__widths_proportional(void **state)
{
	const struct sp t[] = {
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "b", "func", "beta", 50 },
		{ 3, 1, "a", "func", "alpha", 25 },
		{ 4, 3, "a", "db", "query-long-name", 5 },
	};
	struct flame f;
	struct flame_options opt;
	char *svg, *root, *alpha, *beta, *q;

	(void)state;
	flame_init(&f);
	add(&f, FLAME_BASE, t, 4);
	add(&f, FLAME_HEAD, t, 4);
	flame_finish(&f);
	flame_options_init(&opt);
	opt.width = 1020;
	svg = render(&f, &opt);
	assert_null(xml_check(svg));
	root = frame_of(svg, "iteration");
	alpha = frame_of(svg, "alpha");
	beta = frame_of(svg, "beta");
	q = frame_of(svg, "query-long-name");
	/* 1000px for 100ms; children from the parent's left edge, sorted
	 * by name: alpha before beta whatever the input order. */
	assert_true(fabs(rect_num(root, "width") - 1000) < 0.01);
	assert_true(fabs(rect_num(root, "x") - 10) < 0.01);
	assert_true(fabs(rect_num(alpha, "width") - 250) < 0.01);
	assert_true(fabs(rect_num(alpha, "x") - 10) < 0.01);
	assert_true(fabs(rect_num(beta, "width") - 500) < 0.01);
	assert_true(fabs(rect_num(beta, "x") - 260) < 0.01);
	assert_true(fabs(rect_num(q, "width") - 50) < 0.01);
	/* Root at the bottom, each level one frame (17px) above. */
	assert_true(fabs(rect_num(root, "y") - rect_num(alpha, "y") - 17) <
		    0.01);
	assert_true(fabs(rect_num(alpha, "y") - rect_num(q, "y") - 17) <
		    0.01);
	assert_true(strstr(svg, "data-name=\"alpha\"") <
		    strstr(svg, "data-name=\"beta\""));
	/* The label fits in alpha's frame; in q's (50px, 6 characters)
	 * the name alone, cut. */
	assert_non_null(strstr(alpha, ">a: alpha</text>"));
	assert_non_null(strstr(q, ">quer..</text>"));
	free(root);
	free(alpha);
	free(beta);
	free(q);
	free(svg);
	flame_release(&f);
}

/* Time per iteration: the mean over each side's iterations, calls of one
 * frame key in a trace summed into one node. */
static void test_flame__mean_per_iteration(void **state)
{
	const struct sp base[] = {
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "s", "db", "q", 10 },
		{ 3, 1, "s", "db", "q", 10 },
	};
	const struct sp head1[] = {
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "s", "db", "q", 30 },
	};
	const struct sp head2[] = {
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "s", "db", "q", 10 },
	};
	const char *path[] = { "harness iteration iteration", "s db q" };
	struct flame f;
	char *svg, *frame, *title, grey[8], *fill;
	size_t i;

	(void)state;
	flame_init(&f);
	add(&f, FLAME_BASE, base, 3);
	add(&f, FLAME_HEAD, head1, 2);
	add(&f, FLAME_HEAD, head2, 2);
	add(&f, FLAME_HEAD, head1, 2);
	add(&f, FLAME_HEAD, head2, 2);
	flame_finish(&f);
	assert_int_equal(f.niterations[FLAME_BASE], 1);
	assert_int_equal(f.niterations[FLAME_HEAD], 4);
	i = flame_find(&f, path, 2);
	assert_int_not_equal(i, FLAME_NO_NODE);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_BASE) - 20e6) < 1);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_HEAD) - 20e6) < 1);
	svg = render(&f, NULL);
	frame = frame_of(svg, "q");
	title = title_of(frame);
	assert_non_null(strstr(title, "base 20.000 ms \xe2\x86\x92 head "
				      "20.000 ms (+0.0%)\ncalls per "
				      "iteration: base 2.00 \xe2\x86\x92 head "
				      "1.00"));
	fill = attr_of(frame, "rect", "fill");
	assert_string_equal(fill, flame_color(grey, sizeof(grey), 0));
	free(fill);
	free(title);
	free(frame);
	free(svg);
	flame_release(&f);
}

/* The same tree added in another order gives the same bytes. */
static void test_flame__deterministic(void **state)
{
	const struct sp shuffled[] = {
		{ 4, 2, "scheduler", "rpc.call", "select", 30 },
		{ 3, 2, "api", "db", "SELECT hosts", 20 },
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "api", "rest.dispatch", "POST /servers", 60 },
	};
	struct flame a, b;
	char *sa, *sb;

	(void)state;
	flame_init(&a);
	flame_init(&b);
	add(&a, FLAME_BASE, base_trace, 4);
	add(&a, FLAME_HEAD, base_trace, 4);
	add(&b, FLAME_HEAD, shuffled, 4);
	add(&b, FLAME_BASE, shuffled, 4);
	flame_finish(&a);
	flame_finish(&b);
	sa = render(&a, NULL);
	sb = render(&b, NULL);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	flame_release(&a);
	flame_release(&b);
}

/* Orphans start top-level frames, parent cycles stay out, and names that
 * XML cannot hold as they are come out escaped and well-formed. */
static void test_flame__orphans_cycles_escaping(void **state)
{
	const struct sp t[] = {
		{ 1, 0, "harness", "iteration", "iteration", 100 },
		{ 2, 1, "a&b", "db", "SELECT * FROM t WHERE x<'1' AND y>\"2\"",
		  40 },
		{ 3, 99, "lost", "func", "orphan", 50 },
		{ 4, 5, "c", "func", "cycle-a", 5 },
		{ 5, 4, "c", "func", "cycle-b", 5 },
		{ 6, 6, "c", "func", "self", 5 },
		{ 7, 1, "bad", "func", "bad\x01\xff" "byte", 10 },
	};
	struct flame f;
	char *svg, *frame;

	(void)state;
	flame_init(&f);
	add(&f, FLAME_BASE, t, 7);
	add(&f, FLAME_HEAD, t, 7);
	flame_finish(&f);
	assert_int_equal(f.nroots, 2);
	assert_string_equal(f.nodes[f.roots[0]].name, "iteration");
	assert_string_equal(f.nodes[f.roots[1]].name, "orphan");
	for (size_t i = 0; i < f.nnodes; i++)
		assert_null(strstr(f.nodes[i].name, "cycle"));
	assert_int_equal(f.nnodes, 4);

	svg = render(&f, NULL);
	assert_null(xml_check(svg));
	assert_null(strstr(svg, "cycle"));
	assert_null(strstr(svg, "data-name=\"self\""));
	frame = frame_of(svg, "SELECT * FROM t WHERE x&lt;&apos;1&apos; AND "
			      "y&gt;&quot;2&quot;");
	assert_non_null(frame);
	assert_non_null(strstr(frame, "<title>a&amp;b db SELECT"));
	free(frame);
	assert_non_null(strstr(svg, "data-name=\"bad??byte\""));
	/* The orphan (50ms) beside the iteration (100ms): a third. */
	frame = frame_of(svg, "orphan");
	assert_true(fabs(rect_num(frame, "width") - 1180.0 / 3) < 0.01);
	free(frame);
	free(svg);
	flame_release(&f);
}

/* Identifiers in the URL path of an HTTP call's name are one frame. */
static void test_flame__empty_and_errors(void **state)
{
	struct flame f;
	char *svg, *cause = NULL;
	struct analyze_span none;

	(void)state;
	flame_init(&f);
	assert_int_equal(flame_add_trace(&f, FLAME_BASE, &none, 0, &cause),
			 -1);
	assert_non_null(cause);
	free(cause);
	flame_finish(&f);
	svg = render(&f, NULL);
	assert_null(xml_check(svg));
	assert_non_null(strstr(svg, ">no spans</text>"));
	assert_null(strstr(svg, "class=\"frame"));
	free(svg);
	flame_release(&f);
	flame_release(&f);

	/* The checker itself refuses what it should. */
	assert_non_null(xml_check("<svg><g></svg>"));
	assert_non_null(xml_check("<svg a=\"<\"/>"));
	assert_non_null(xml_check("<svg>&nbsp;</svg>"));
	assert_non_null(xml_check("<svg/><svg/>"));
	assert_non_null(xml_check("<svg>\xff</svg>"));
	assert_null(xml_check("<svg a=\"&amp;\"><g/>x</svg>"));
}

static void test_flame__colors(void **state)
{
	char buf[8], grey[8];

	(void)state;
	flame_color(grey, sizeof(grey), 0);
	assert_string_equal(grey, "#dddddd");
	assert_string_equal(flame_color(buf, sizeof(buf), 0.5), "#e03c2c");
	assert_string_equal(flame_color(buf, sizeof(buf), 7), "#e03c2c");
	assert_string_equal(flame_color(buf, sizeof(buf), INFINITY),
			    "#e03c2c");
	assert_string_equal(flame_color(buf, sizeof(buf), -0.5), "#3a72e0");
	assert_string_equal(flame_color(buf, sizeof(buf), -1), "#3a72e0");
	assert_string_equal(flame_color(buf, sizeof(buf), NAN), grey);
	/* Half way: half way between grey and red (0xdd..0xe0 rounds). */
	assert_string_equal(flame_color(buf, sizeof(buf), 0.25), "#df8d85");
}

/* Runs loaded from a store file: warm-up and failed iterations left out,
 * the iteration root named and timed by the iterations table, an
 * iteration without spans rebuilt from its steps. */
static void make_iteration(struct store *st, int64_t run, int64_t seq,
			   bool warmup, bool ok, int64_t dur_ms,
			   const char *step)
{
	struct store_step s = { step, 1000, 40 * (int64_t)MS, true, NULL };
	struct store_iteration it = { 0 };
	char *cause = NULL;

	it.seq = seq;
	it.trace_id[0] = (uint8_t)(seq + 1);
	it.warmup = warmup;
	it.ok = ok;
	it.error = ok ? NULL : "boom";
	it.start_ns = 1000;
	it.intended_start_ns = 1000;
	it.dur_ns = dur_ms * (int64_t)MS;
	it.steps = step ? &s : NULL;
	it.nsteps = step ? 1 : 0;
	if (store_iteration_add(st, run, &it, &cause) < 0)
		fail_msg("store_iteration_add: %s", cause);
}

static void make_trace(struct store *st, int64_t run, int64_t seq,
		       const char *child)
{
	struct store_span sp[2];
	char *cause = NULL;

	memset(sp, 0, sizeof(sp));
	for (int i = 0; i < 2; i++) {
		sp[i].trace_id[0] = (uint8_t)(seq + 1);
		sp[i].span_id = (uint64_t)i + 1;
		sp[i].start_ns = 1000;
	}
	sp[0].kind = "iteration";
	sp[0].name = "boot-vm";
	sp[0].service = "load";
	sp[0].dur_ns = 50 * (int64_t)MS;
	sp[1].parent_id = 1;
	sp[1].kind = "rest.dispatch";
	sp[1].name = child;
	sp[1].service = "api";
	sp[1].dur_ns = 30 * (int64_t)MS;
	if (store_spans_add(st, run, sp, 2, &cause) < 0)
		fail_msg("store_spans_add: %s", cause);
}

static void test_flame__load_run(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], db[300], wal[320], *cause = NULL;
	struct store_run_info info = { 0 };
	struct store *st = NULL;
	struct flame f;
	int64_t run = 0;
	const char *root[] = { "harness iteration iteration" };
	const char *post[] = { "harness iteration iteration",
			       "api rest.dispatch POST /servers" };
	const char *step[] = { "harness iteration iteration",
			       "harness step boot" };
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test-flame-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/h.db", dir);
	if (store_open(&st, db, &cause) < 0)
		fail_msg("store_open: %s", cause);
	info.scenario = "boot-vm";
	info.config_hash = "00";
	info.start_ns = 1000;
	if (store_run_create(&run, st, &info, &cause) < 0)
		fail_msg("store_run_create: %s", cause);
	make_iteration(st, run, 0, true, true, 60, NULL);
	make_trace(st, run, 0, "warm only");
	make_iteration(st, run, 1, false, true, 60, NULL);
	make_trace(st, run, 1, "POST /servers");
	make_iteration(st, run, 2, false, true, 60, NULL);
	make_trace(st, run, 2, "POST /servers");
	make_iteration(st, run, 3, false, false, 60, NULL);
	make_trace(st, run, 3, "failed only");
	make_iteration(st, run, 4, false, true, 60, "boot");

	flame_init(&f);
	if (flame_load_run(&f, FLAME_HEAD, st, run, &cause) < 0)
		fail_msg("flame_load_run: %s", cause);
	flame_finish(&f);
	assert_int_equal(f.niterations[FLAME_HEAD], 3);
	assert_int_equal(f.niterations[FLAME_BASE], 0);
	assert_int_equal(f.run_id[FLAME_HEAD], run);
	assert_int_equal(f.nroots, 1);
	i = flame_find(&f, root, 1);
	assert_int_not_equal(i, FLAME_NO_NODE);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_HEAD) - 60e6) < 1);
	i = flame_find(&f, post, 2);
	assert_int_not_equal(i, FLAME_NO_NODE);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_HEAD) - 20e6) < 1);
	i = flame_find(&f, step, 2);
	assert_int_not_equal(i, FLAME_NO_NODE);
	assert_true(fabs(flame_node_ns(&f, i, FLAME_HEAD) - 40e6 / 3) < 1);
	for (i = 0; i < f.nnodes; i++) {
		assert_string_not_equal(f.nodes[i].name, "warm only");
		assert_string_not_equal(f.nodes[i].name, "failed only");
	}
	flame_release(&f);

	/* The run against itself: a string, and the same bytes in a file. */
	{
		char *svg = NULL, path[320];
		struct strbuf file = STRBUF_INIT;

		snprintf(path, sizeof(path), "%s/f.svg", dir);
		if (flame_svg_for_runs(&svg, st, run, run, NULL, &cause) < 0 ||
		    flame_write_runs(path, st, run, run, NULL, &cause) < 0)
			fail_msg("flame runs: %s", cause);
		assert_int_equal(strbuf_read_file(&file, path), 0);
		assert_string_equal(svg, file.buf);
		assert_non_null(strstr(svg, "base run 1 \xe2\x86\x92 head run 1"));
		assert_non_null(strstr(svg, "(+0.0%)"));
		assert_null(xml_check(svg));
		free(svg);
		strbuf_release(&file);
		unlink(path);
		assert_int_equal(flame_svg_for_runs(&svg, st, run, run + 1,
						    NULL, &cause),
				 STORE_ENOENT);
		assert_null(svg);
		free(cause);
		cause = NULL;
	}

	flame_init(&f);
	assert_int_equal(flame_load_run(&f, FLAME_BASE, st, run + 1, &cause),
			 STORE_ENOENT);
	assert_non_null(cause);
	free(cause);
	flame_release(&f);

	store_free(st);
	unlink(db);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", db);
	unlink(wal);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flame__doubled_child_is_red),
		cmocka_unit_test(test_flame__unchanged_is_neutral),
		cmocka_unit_test(test_flame__only_in_head_or_base),
		cmocka_unit_test(test_flame__widths_proportional),
		cmocka_unit_test(test_flame__mean_per_iteration),
		cmocka_unit_test(test_flame__deterministic),
		cmocka_unit_test(test_flame__orphans_cycles_escaping),
		cmocka_unit_test(test_flame__empty_and_errors),
		cmocka_unit_test(test_flame__colors),
		cmocka_unit_test(test_flame__load_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
