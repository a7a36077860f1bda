/* html.c: the HTML writer: one self-contained page (inline style, script
 * and SVG charts, nothing fetched) for a run, a comparison (html-compare.c)
 * or a trace's waterfall. Charts come from gnuplot; without it the page is
 * written without them and says how to get them. */
#include "report/html.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"
#include "report/templates.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define GNUPLOT_HINT                                                           \
	"install it with 'apt-get install gnuplot-nox' and write the report " \
	"again"

void html_esc(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '"':
			strbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			strbuf_addstr(sb, "&#39;");
			break;
		default:
			strbuf_addch(sb, *s);
		}
	}
}

void html_escf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	html_esc(sb, s);
	free(s);
}




static const char *dur(char *buf, size_t size, double ns)
{
	return report_fmt_dur(buf, size, ns);
}

/* ------------------------------------------------------------------ */
/* The waterfall of one trace. */

void html_legend(struct strbuf *sb, const struct report_trace *colors)
{
	strbuf_addstr(sb, "<p class=\"legend\">");
	for (size_t i = 0; i < colors->nservices; i++) {
		const char *s = colors->services[i];

		strbuf_addf(sb, "<span><i class=\"c%u\"></i>",
			    report_service_color(colors, s));
		html_esc(sb, *s ? s : "(no service)");
		strbuf_addstr(sb, "</span>");
	}
	strbuf_addstr(sb, "</p>\n");
}

static void span_details(struct strbuf *sb, const struct report_trace *t,
			 const struct report_span *sp)
{
	char b[32];

	strbuf_addstr(sb, "<div class=\"more\">");
	if (sp->error) {
		strbuf_addstr(sb, "<p class=\"errtext\">");
		html_esc(sb, sp->message ? sp->message : "error");
		strbuf_addstr(sb, "</p>");
	}
	strbuf_addstr(sb, "<table><tbody>");
	strbuf_addstr(sb, "<tr><th>where</th><td class=\"mono\">");
	html_escf(sb, "%s on %s, pid %lld, tid %lld",
		  *sp->service ? sp->service : "?", *sp->host ? sp->host : "?",
		  (long long)sp->pid, (long long)sp->tid);
	strbuf_addstr(sb, "</td></tr><tr><th>when</th><td>");
	html_escf(sb, "+%s from the trace start, for ",
		  dur(b, sizeof(b), (double)(sp->start_ns - t->start_ns)));
	html_escf(sb, "%s", dur(b, sizeof(b), (double)sp->dur_ns));
	strbuf_addf(sb,
		    "</td></tr><tr><th>span</th><td class=\"mono\">%016llx",
		    (unsigned long long)sp->span_id);
	if (sp->parent_id)
		strbuf_addf(sb, " (parent %016llx%s)",
			    (unsigned long long)sp->parent_id,
			    sp->parent == REPORT_NO_PARENT ? ", not recorded" :
							     "");
	strbuf_addstr(sb, "</td></tr>");
	for (size_t i = 0; i < sp->nattrs; i++) {
		strbuf_addstr(sb, "<tr><th class=\"mono\">");
		html_esc(sb, sp->attrs[i].key);
		strbuf_addstr(sb, "</th><td class=\"mono\">");
		html_esc(sb, sp->attrs[i].text);
		strbuf_addstr(sb, "</td></tr>");
	}
	strbuf_addstr(sb, "</tbody></table>");
	if (sp->nframes) {
		strbuf_addstr(sb, "<pre class=\"mono\">");
		for (size_t i = 0; i < sp->nframes; i++) {
			html_escf(sb, "#%zu %s", i, sp->frames[i]);
			strbuf_addch(sb, '\n');
		}
		strbuf_addstr(sb, "</pre>");
	}
	strbuf_addstr(sb, "</div>");
}

/* A round step for about four ticks over TOTAL: 1, 2 or 5 times a
 * power of ten. */
static double tick_step(double total)
{
	double p = pow(10, floor(log10(total / 4)));

	for (int i = 0;; i++) {
		static const double m[] = { 1, 2, 5, 10 };

		if (i == 3 || total / (m[i] * p) <= 5)
			return m[i] * p;
	}
}

/* A tick's label: a duration without needless zeros, "50ms". */
static const char *tick_label(char *buf, size_t size, double ns)
{
	char *dot;

	dur(buf, size, ns);
	dot = strchr(buf, '.');
	if (dot) {
		char *end = dot + strspn(dot + 1, "0123456789") + 1;
		char *z = end;

		while (z > dot + 1 && z[-1] == '0')
			z--;
		if (z == dot + 1)
			z = dot;
		memmove(z, end, strlen(end) + 1);
	}
	return buf;
}

void html_waterfall(struct strbuf *sb, const struct report_trace *t,
		    const struct report_trace *colors, double scale_ns)
{
	double total = scale_ns > 0 ? scale_ns :
				      (double)(t->end_ns - t->start_ns);
	double step;
	char b[32];

	if (total <= 0)
		total = 1;
	step = tick_step(total);
	strbuf_addf(sb, "<div class=\"waterfall\" style=\"--step:%.3f%%\">\n"
			"<div class=\"axis\"><span>service, kind, operation"
			"</span><span class=\"ticks\">",
		    100 * step / total);
	for (int i = 0; i * step <= total * 1.0001 && i < 100; i++) {
		double at = 100 * i * step / total;

		strbuf_addf(sb, "<span style=\"left:%.3f%%\">", at);
		html_esc(sb, tick_label(b, sizeof(b), i * step));
		strbuf_addstr(sb, "</span>");
	}
	strbuf_addstr(sb, "</span><span class=\"dur\">took</span></div>\n");
	for (size_t i = 0; i < t->nspans; i++) {
		const struct report_span *sp = &t->spans[i];
		unsigned c = report_service_color(colors, sp->service);
		double left = 100.0 * (double)(sp->start_ns - t->start_ns) /
			      total,
		       width = 100.0 * (double)sp->dur_ns / total;

		if (left < 0)
			left = 0;
		if (left > 100)
			left = 100;
		if (left + width > 100)
			width = 100 - left;
		strbuf_addf(sb, "<details class=\"span%s%s\"><summary>",
			    sp->error ? " err" : "",
			    (double)sp->dur_ns < total / 100 ? " fast" : "");
		strbuf_addf(sb, "<span class=\"label\" style=\"--d:%u\" "
				"title=\"",
			    sp->depth);
		html_escf(sb, "%s %s %s", *sp->service ? sp->service : "?",
			  sp->kind, sp->name);
		strbuf_addf(sb, "\"><span class=\"svc c%u\">", c);
		html_esc(sb, *sp->service ? sp->service : "?");
		strbuf_addstr(sb, "</span><span class=\"kind\">");
		html_esc(sb, sp->kind);
		strbuf_addstr(sb, "</span>");
		html_esc(sb, sp->name);
		if (sp->error)
			strbuf_addstr(sb, " &#9888;");
		strbuf_addf(sb,
			    "</span><span class=\"track\"><span "
			    "class=\"span-bar c%u\" style=\"left:%.3f%%;"
			    "width:%.3f%%\" title=\"",
			    c, left, width);
		html_escf(sb, "%s %s: %s", sp->kind, sp->name,
			  dur(b, sizeof(b), (double)sp->dur_ns));
		strbuf_addstr(sb, "\"></span></span><span class=\"dur\">");
		html_esc(sb, dur(b, sizeof(b), (double)sp->dur_ns));
		strbuf_addstr(sb, "</span></summary>");
		span_details(sb, t, sp);
		strbuf_addstr(sb, "</details>\n");
	}
	strbuf_addstr(sb, "</div>\n");
}

/* The page: the template of reports/ with its blanks filled. */
int html_write_page(FILE *out, const char *title, const char *body,
		    char **cause)
{
	struct strbuf page = STRBUF_INIT, t = STRBUF_INIT;
	const char *p = report_tmpl_report_html;

	html_esc(&t, title);
	while (*p) {
		const char *at = strchr(p, '@');
		const char *fill = NULL;
		size_t skip = 0;

		if (!at) {
			strbuf_addstr(&page, p);
			break;
		}
		strbuf_add(&page, p, (size_t)(at - p));
		if (!strncmp(at, "@TITLE@", 7))
			fill = t.buf, skip = 7;
		else if (!strncmp(at, "@STYLE@", 7))
			fill = report_tmpl_report_css, skip = 7;
		else if (!strncmp(at, "@SCRIPT@", 8))
			fill = report_tmpl_report_js, skip = 8;
		else if (!strncmp(at, "@BODY@", 6))
			fill = body, skip = 6;
		else if (!strncmp(at, "@GENERATOR@", 11))
			fill = "harness " HARNESS_VERSION, skip = 11;
		if (fill) {
			strbuf_addstr(&page, fill);
			p = at + skip;
		} else {
			strbuf_addch(&page, '@');
			p = at + 1;
		}
	}
	fwrite(page.buf, 1, page.len, out);
	strbuf_release(&page);
	strbuf_release(&t);
	if (ferror(out)) {
		*cause = xstrdup("cannot write the HTML page");
		return -1;
	}
	return 0;
}

static int html_write_traces(FILE *out, const struct report_trace *traces,
			     size_t n, const struct report_options *opt,
			     char **cause)
{
	struct strbuf body = STRBUF_INIT;
	char *title;
	char b[32];
	int ret;

	for (size_t k = 0; k < n; k++) {
		const struct report_trace *t = &traces[k];

		strbuf_addstr(&body, "<h1>Trace <code>");
		html_esc(&body, t->id_hex);
		strbuf_addstr(&body, "</code></h1>\n<p class=\"lead\">");
		if (t->run_id)
			strbuf_addf(&body, "Run %lld. ", (long long)t->run_id);
		html_escf(&body,
			  "%zu spans in %zu services over %s, %zu with "
			  "errors. Open a row for its attributes, error and "
			  "stack.",
			  t->nspans, t->nservices,
			  dur(b, sizeof(b), (double)(t->end_ns - t->start_ns)),
			  t->nerrors);
		strbuf_addstr(&body, "</p>\n");
		html_legend(&body, t);
		html_waterfall(&body, t, t, 0);
	}
	title = n == 1 ? xasprintf("harness trace %s", traces[0].id_hex) :
			 xasprintf("harness: %zu traces", n);
	ret = html_write_page(out, title, body.buf, cause);
	free(title);
	strbuf_release(&body);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Charts. */

/* An SVG as an inline element: no XML prolog, no namespace URLs (HTML
 * gives inline SVG its namespace), ids made unique per chart. */
void html_inline_svg(struct strbuf *sb, const char *svg, const char *name,
		     const char *label)
{
	const char *p = strstr(svg, "<svg");
	struct strbuf in = STRBUF_INIT;
	static const char *const drop[] = {
		"xmlns=\"http://www.w3.org/2000/svg\"",
		"xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
	};
	static const char *const refs[] = {
		" id='", " id=\"", "url(#", "href='#", "href=\"#",
	};

	if (!p)
		return;
	strbuf_addstr(&in, p);
	for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
		char *at = strstr(in.buf, drop[i]);

		if (at)
			memset(at, ' ', strlen(drop[i]));
	}
	strbuf_addf(sb, "<svg role=\"img\" aria-label=\"");
	html_esc(sb, label);
	strbuf_addch(sb, '"');
	for (p = in.buf + 4; *p; p++) {
		if (!strncmp(p, "<title>Gnuplot</title>", 22)) {
			strbuf_addstr(sb, "<title>");
			html_esc(sb, label);
			strbuf_addstr(sb, "</title>");
			p += 21;
			continue;
		}
		/* Every id and every reference to one gets the prefix. */
		for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
			size_t len = strlen(refs[i]);

			if (!strncmp(p, refs[i], len)) {
				strbuf_add(sb, p, len);
				strbuf_addf(sb, "%s-", name);
				p += len - 1;
				goto next;
			}
		}
		strbuf_addch(sb, *p);
next:;
	}
	strbuf_release(&in);
}

static char *png_path(const char *out_path, const char *name)
{
	const char *dot = strrchr(out_path, '.'), *slash = strrchr(out_path,
								    '/');
	size_t stem = dot && (!slash || dot > slash) ?
			      (size_t)(dot - out_path) :
			      strlen(out_path);

	return xasprintf("%.*s-%s.png", (int)stem, out_path, name);
}

static void warn_page(struct html_charts *hc, const char *msg)
{
	if (hc->opt->warn)
		hc->opt->warn(msg);
	strbuf_addstr(hc->warnings, "<p class=\"warning\">");
	html_esc(hc->warnings, msg);
	strbuf_addstr(hc->warnings, "</p>\n");
}

void html_charts_init(struct html_charts *hc,
		      const struct report_options *opt,
		      struct strbuf *warnings)
{
	char *cause = NULL, *msg;
	int rc;

	memset(hc, 0, sizeof(*hc));
	hc->opt = opt;
	hc->warnings = warnings;
	if (opt->gnuplot && !*opt->gnuplot)
		return;
	rc = gnuplot_init(&hc->gp, opt->gnuplot, &cause);
	if (rc == 0) {
		hc->ready = true;
		return;
	}
	msg = rc > 0 ? xasprintf("gnuplot not found on PATH: the report has "
				 "no charts; %s",
				 GNUPLOT_HINT) :
		       xasprintf("no charts: %s", cause);
	warn_page(hc, msg);
	free(msg);
	free(cause);
}

char *html_charts_data(struct html_charts *hc, const char *text)
{
	char *path;
	FILE *f;

	if (!hc->ready)
		return NULL;
	path = gnuplot_data_path(&hc->gp, "data.txt");
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		char *msg = xasprintf("cannot write '%s': %s", path,
				      strerror(errno));

		if (hc->opt->warn)
			hc->opt->warn(msg);
		free(msg);
		hc->failures++;
		free(path);
		return NULL;
	}
	return path;
}

void html_charts_draw(struct html_charts *hc, struct strbuf *sb,
		      const struct html_chart *c)
{
	char *svg_path, *png = NULL, *cause = NULL;
	struct strbuf svg = STRBUF_INIT;
	int w = c->width ? c->width : 600, h = c->height ? c->height : 330;
	const struct report_options *opt = hc->opt;

	if (!hc->ready)
		return;
	svg_path = gnuplot_data_path(&hc->gp, "chart.svg");
	if (gnuplot_draw(&hc->gp, c->template, c->vars.buf, "svg", w, h,
			 svg_path, &cause) < 0 ||
	    strbuf_read_file(&svg, svg_path) < 0) {
		if (opt->warn) {
			char *msg = xasprintf("chart '%s' not drawn: %s",
					      c->name,
					      cause ? cause : strerror(errno));

			opt->warn(msg);
			free(msg);
		}
		hc->failures++;
		goto out;
	}
	if (opt->out_path) {
		/* Bigger than the SVG, for a page that shows the PNG at
		 * its own size (Markdown). */
		png = png_path(opt->out_path, c->name);
		if (gnuplot_draw(&hc->gp, c->template, c->vars.buf, "png",
				 w * 5 / 3, h * 3 / 2, png, &cause) < 0) {
			if (opt->warn)
				opt->warn(cause);
			free(png);
			png = NULL;
		}
	}
	strbuf_addf(sb, "<figure%s>", c->wide ? " class=\"wide\"" : "");
	html_inline_svg(sb, svg.buf, c->name, c->caption);
	strbuf_addstr(sb, "<figcaption>");
	html_esc(sb, c->caption);
	if (png) {
		const char *base = strrchr(png, '/');

		strbuf_addstr(sb, " Also written as <code>");
		html_esc(sb, base ? base + 1 : png);
		strbuf_addstr(sb, "</code> beside this page.");
	}
	strbuf_addstr(sb, "</figcaption></figure>\n");
out:
	free(cause);
	free(png);
	free(svg_path);
	strbuf_release(&svg);
}

void html_charts_release(struct html_charts *hc)
{
	if (hc->failures) {
		char *msg = xasprintf("%d chart%s could not be drawn by "
				      "gnuplot; see the warnings of the "
				      "report command.",
				      hc->failures,
				      hc->failures == 1 ? "" : "s");

		strbuf_addstr(hc->warnings, "<p class=\"warning\">");
		html_esc(hc->warnings, msg);
		strbuf_addstr(hc->warnings, "</p>\n");
		free(msg);
	}
	if (hc->ready)
		gnuplot_release(&hc->gp);
	hc->ready = false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double *html_counted_ms(const struct report_model *m, size_t *n)
{
	double *ms = xcalloc(m->nits ? m->nits : 1, sizeof(*ms));

	*n = 0;
	for (size_t i = 0; i < m->nits; i++)
		if (!m->its[i].warmup)
			ms[(*n)++] = (double)m->its[i].dur_ns / 1e6;
	qsort(ms, *n, sizeof(*ms), cmp_double);
	return ms;
}

void html_cdf_data(struct strbuf *data, const double *ms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_addf(data, "%.6f %.6f\n", ms[i],
			    (double)(i + 1) / (double)n);
}

void html_drift_data(struct strbuf *data, const struct report_model *m)
{
	for (size_t i = 0; i < m->nits; i++)
		strbuf_addf(data, "%lld %.6f %d\n", (long long)m->its[i].seq,
			    (double)m->its[i].dur_ns / 1e6,
			    m->its[i].warmup ? 1 :
			    !m->its[i].ok    ? 2 :
					       0);
}

bool html_throughput_data(struct strbuf *data, const struct report_model *m)
{
	int64_t t0 = INT64_MAX, tend = 0;
	size_t nbins;
	unsigned *done, *failed;

	if (!m->nits || !m->runner_type ||
	    (strcmp(m->runner_type, "rate") &&
	     strcmp(m->runner_type, "duration")))
		return false;
	for (size_t i = 0; i < m->nits; i++) {
		int64_t end = m->its[i].start_ns + m->its[i].dur_ns;

		if (m->its[i].start_ns < t0)
			t0 = m->its[i].start_ns;
		if (end > tend)
			tend = end;
	}
	nbins = (size_t)((tend - t0) / 1000000000) + 1;
	if (nbins > 100000)
		nbins = 100000;
	done = xcalloc(nbins, sizeof(*done));
	failed = xcalloc(nbins, sizeof(*failed));
	for (size_t i = 0; i < m->nits; i++) {
		size_t b = (size_t)((m->its[i].start_ns + m->its[i].dur_ns -
				     t0) /
				    1000000000);

		if (b >= nbins)
			b = nbins - 1;
		done[b]++;
		failed[b] += !m->its[i].ok;
	}
	for (size_t b = 0; b < nbins; b++)
		strbuf_addf(data, "%zu.5 %u %u\n", b, done[b], failed[b]);
	free(done);
	free(failed);
	return true;
}

/* The charts of one run: latency CDF, duration over the run, throughput
 * of runs at a rate or for a duration. */
static void charts(struct strbuf *sb, const struct report_model *m,
		   const struct report_options *opt, struct strbuf *warnings)
{
	struct html_charts hc;
	struct html_chart c[3] = {
		{ "cdf",
		  "Iteration latency: the share of counted iterations that "
		  "finished within each time.",
		  report_tmpl_cdf_gp, STRBUF_INIT, 0, 0, false },
		{ "drift",
		  "Each iteration's duration in run order: warm-up, drift "
		  "and outliers show here.",
		  report_tmpl_drift_gp, STRBUF_INIT, 0, 0, false },
		{ "throughput",
		  "Iterations finished in each second of the run.",
		  report_tmpl_throughput_gp, STRBUF_INIT, 0, 0, false },
	};
	bool want[3] = { false, false, false };
	struct strbuf data = STRBUF_INIT;
	size_t n;
	double *ms = html_counted_ms(m, &n);
	char *path;

	html_charts_init(&hc, opt, warnings);
	if (!hc.ready)
		goto out;
	if (n) {
		html_cdf_data(&data, ms, n);
		if ((path = html_charts_data(&hc, data.buf))) {
			strbuf_addf(&c[0].vars,
				    "datafile='%s'\np50=%.6f\np90=%.6f\n"
				    "p99=%.6f\n",
				    path, stats_percentile_sorted(ms, n, 50),
				    stats_percentile_sorted(ms, n, 90),
				    stats_percentile_sorted(ms, n, 99));
			want[0] = true;
		}
		free(path);
	}
	if (m->nits) {
		strbuf_reset(&data);
		html_drift_data(&data, m);
		if ((path = html_charts_data(&hc, data.buf))) {
			strbuf_addf(&c[1].vars, "datafile='%s'\nmedian=%.6f\n",
				    path, n ? stats_median_sorted(ms, n) : 0.0);
			want[1] = true;
		}
		free(path);
	}
	strbuf_reset(&data);
	if (html_throughput_data(&data, m) &&
	    (path = html_charts_data(&hc, data.buf))) {
		strbuf_addf(&c[2].vars, "datafile='%s'\n", path);
		want[2] = true;
		free(path);
	}
	if (want[0] || want[1] || want[2]) {
		strbuf_addstr(sb, "<h2 id=\"charts\">Charts</h2>\n"
				  "<div class=\"charts\">\n");
		for (size_t i = 0; i < ARRAY_SIZE(c); i++)
			if (want[i])
				html_charts_draw(&hc, sb, &c[i]);
		strbuf_addstr(sb, "</div>\n");
	}
out:
	html_charts_release(&hc);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		strbuf_release(&c[i].vars);
	strbuf_release(&data);
	free(ms);
}

/* ------------------------------------------------------------------ */
/* The run report. */

void html_item(struct strbuf *sb, const char *k, const char *v)
{
	strbuf_addstr(sb, "<div><span class=\"k\">");
	html_esc(sb, k);
	strbuf_addstr(sb, "</span><span class=\"v\">");
	html_esc(sb, v);
	strbuf_addstr(sb, "</span></div>");
}

void html_itemf(struct strbuf *sb, const char *k, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	html_item(sb, k, s);
	free(s);
}

static void summary(struct strbuf *sb, const struct report_model *m,
		    const struct stats_summary *s)
{
	const struct store_run *r = m->run;
	char b[32], date[64];

	strbuf_addstr(sb, "<div class=\"summary\">");
	html_item(sb, "scenario", r->scenario);
	html_item(sb, "status", store_run_status_name(r->status));
	html_itemf(sb, "iterations", "%zu", m->nits - m->nwarmup);
	html_itemf(sb, "failed", "%zu", m->nfailed);
	html_itemf(sb, "warm-up", "%zu", m->nwarmup);
	html_item(sb, "median", s->n ? dur(b, sizeof(b), s->median) : "-");
	html_item(sb, "p90", s->n ? dur(b, sizeof(b), s->p90) : "-");
	html_item(sb, "p99", s->n ? dur(b, sizeof(b), s->p99) : "-");
	html_itemf(sb, "spans", "%lld", (long long)r->nspans);
	html_itemf(sb, "spans dropped", "%lld", (long long)m->spans_dropped);
	html_itemf(sb, "corrupt records", "%lld", (long long)m->corrupt);
	html_item(sb, "runner", m->runner_type ? m->runner_type : "-");
	time_format_iso(date, sizeof(date), (uint64_t)r->start_ns);
	html_item(sb, "started", date);
	html_item(sb, "run time",
	     r->end_ns > r->start_ns ?
		     dur(b, sizeof(b), (double)(r->end_ns - r->start_ns)) :
		     "-");
	html_item(sb, "host", r->host ? r->host : "-");
	html_itemf(sb, "config", "%.12s", r->config_hash);
	strbuf_addstr(sb, "</div>\n");
}

static void commits(struct strbuf *sb, const struct store_run *r)
{
	strbuf_addstr(sb, "<h2 id=\"commits\">Commits under test</h2>\n");
	if (!r->ncommits) {
		strbuf_addstr(sb, "<p>The run recorded no commits.</p>\n");
		return;
	}
	strbuf_addstr(sb, "<table><thead><tr><th>repository</th><th>commit"
			  "</th><th>branch</th><th>subject</th></tr></thead>"
			  "<tbody>\n");
	for (size_t i = 0; i < r->ncommits; i++) {
		const struct store_commit *c = &r->commits[i];

		strbuf_addstr(sb, "<tr><td>");
		html_esc(sb, c->repo);
		strbuf_addstr(sb, "</td><td class=\"mono\" title=\"");
		html_esc(sb, c->sha);
		strbuf_addstr(sb, "\">");
		html_escf(sb, "%.12s", c->sha);
		if (c->dirty)
			strbuf_addstr(sb, " <span class=\"badge bad\">dirty"
					  "</span>");
		strbuf_addstr(sb, "</td><td>");
		html_esc(sb, c->branch ? c->branch : "(detached)");
		strbuf_addstr(sb, "</td><td>");
		html_esc(sb, c->subject ? c->subject : "");
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table>\n");
}

static void top_ops(struct strbuf *sb, const struct report_model *m)
{
	size_t top = m->nops < 15 ? m->nops : 15;
	double max = top ? m->ops[0].crit_ns : 0;
	char b[32];

	strbuf_addstr(sb, "<h2 id=\"time\">Where the time went</h2>\n");
	if (!top) {
		strbuf_addstr(sb, "<p>No spans of counted iterations reached "
				  "the store, so there is nothing to break "
				  "down.</p>\n");
		return;
	}
	strbuf_addstr(sb,
		      "<p>Operations by their time on the critical path — the "
		      "chain of work that decided when each iteration "
		      "finished — as a mean per counted iteration. Share is "
		      "of the mean iteration time; self time excludes "
		      "children.</p>\n<table><thead><tr><th>service</th>"
		      "<th>kind</th><th>operation</th><th class=\"num\">"
		      "critical</th><th class=\"num\">share</th><th></th>"
		      "<th class=\"num\">self</th><th class=\"num\">total"
		      "</th><th class=\"num\">count</th></tr></thead>"
		      "<tbody>\n");
	for (size_t i = 0; i < top; i++) {
		const struct report_op *o = &m->ops[i];

		strbuf_addf(sb, "<tr><td><span class=\"badge\">");
		html_esc(sb, *o->op->service ? o->op->service : "?");
		strbuf_addstr(sb, "</span></td><td>");
		html_esc(sb, o->op->kind);
		strbuf_addstr(sb, "</td><td class=\"mono\">");
		html_esc(sb, o->op->name);
		strbuf_addstr(sb, "</td><td class=\"num\">");
		html_esc(sb, dur(b, sizeof(b), o->crit_ns));
		strbuf_addf(sb,
			    "</td><td class=\"num\">%.1f%%</td><td "
			    "class=\"bar\"><div class=\"meter\" "
			    "style=\"width:%.1f%%\"></div></td>"
			    "<td class=\"num\">",
			    100 * o->crit_share,
			    max > 0 ? 100 * o->crit_ns / max : 0);
		html_esc(sb, dur(b, sizeof(b), o->self_ns));
		strbuf_addstr(sb, "</td><td class=\"num\">");
		html_esc(sb, dur(b, sizeof(b), o->total_ns));
		strbuf_addf(sb, "</td><td class=\"num\">%.1f</td></tr>\n",
			    o->count);
	}
	strbuf_addstr(sb, "</tbody></table>\n");
}

void html_iterations(struct strbuf *sb, const struct report_model *m,
		     const char *what)
{
	char b[32], off[32];

	strbuf_addstr(sb, "<details><summary>");
	html_esc(sb, what);
	strbuf_addf(sb, ": all %zu iterations</summary>\n", m->nits);
	strbuf_addstr(sb, "<table><thead><tr><th class=\"num\">#</th>"
			  "<th class=\"num\">start</th><th class=\"num\">"
			  "duration</th><th>status</th><th>trace</th>"
			  "</tr></thead><tbody>\n");
	for (size_t i = 0; i < m->nits; i++) {
		const struct store_iteration *it = &m->its[i];

		strbuf_addf(sb, "<tr><td class=\"num\">%lld</td>"
				"<td class=\"num\">+",
			    (long long)it->seq);
		html_esc(sb, dur(off, sizeof(off),
				 (double)(it->start_ns - m->run->start_ns)));
		strbuf_addstr(sb, "</td><td class=\"num\">");
		html_esc(sb, dur(b, sizeof(b), (double)it->dur_ns));
		strbuf_addstr(sb, "</td><td>");
		if (it->warmup)
			strbuf_addstr(sb, "warm-up ");
		if (it->ok) {
			strbuf_addstr(sb, "<span class=\"badge ok\">ok</span>");
		} else {
			strbuf_addstr(sb, "<span class=\"badge bad\">failed"
					  "</span> ");
			html_esc(sb, it->error ? it->error : "");
		}
		if (it == m->median)
			strbuf_addstr(sb, " (median)");
		strbuf_addstr(sb, "</td><td class=\"mono\">");
		for (int k = 0; k < 16; k++)
			strbuf_addf(sb, "%02x", it->trace_id[k]);
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table></details>\n");
}

static int html_write_run(FILE *out, const struct report_model *m,
			  const struct report_options *opt, char **cause)
{
	const struct store_run *r = m->run;
	struct strbuf body = STRBUF_INIT, warnings = STRBUF_INIT,
		      chart = STRBUF_INIT;
	struct stats_summary s;
	double *ms = xcalloc(m->nits ? m->nits : 1, sizeof(*ms));
	size_t n = 0;
	char b[32];
	char *title;
	int ret;

	if (m->base) {
		free(ms);
		return html_write_compare(out, m, NULL, opt, cause);
	}
	for (size_t i = 0; i < m->nits; i++)
		if (!m->its[i].warmup)
			ms[n++] = (double)m->its[i].dur_ns;
	if (stats_summarize(&s, ms, n) < 0)
		die("out of memory");

	strbuf_addstr(&body, "<h1>");
	html_esc(&body, r->scenario);
	strbuf_addf(&body, " <small>run %lld</small> <span class=\"badge %s\">",
		    (long long)r->id, r->status == STORE_RUN_OK ? "ok" : "bad");
	html_esc(&body, store_run_status_name(r->status));
	strbuf_addstr(&body, "</span></h1>\n<p class=\"lead\">");
	if (r->label) {
		html_esc(&body, r->label);
		strbuf_addstr(&body, ". ");
	}
	if (r->status_reason) {
		html_esc(&body, r->status_reason);
		strbuf_addstr(&body, ".");
	}
	strbuf_addstr(&body, "</p>\n");

	/* The one sentence a newcomer reads first. */
	strbuf_addstr(&body, "<p class=\"headline\">");
	if (s.n) {
		html_escf(&body,
			  "Over %zu counted iterations the median took %s",
			  s.n, dur(b, sizeof(b), s.median));
		html_escf(&body, " (p90 %s)", dur(b, sizeof(b), s.p90));
		if (m->nops) {
			const struct report_op *o = &m->ops[0];

			html_escf(&body,
				  "; most of the critical path was %s %s in "
				  "%s: %.0f%% of an iteration",
				  o->op->kind, o->op->name, o->op->service,
				  100 * o->crit_share);
		}
		strbuf_addstr(&body, ".");
	} else {
		strbuf_addstr(&body, "No iteration of this run counts (all "
				     "warm-up, or none ran).");
	}
	strbuf_addstr(&body, "</p>\n");

	charts(&chart, m, opt, &warnings);
	if (m->nfailed) {
		strbuf_addstr(&warnings, "<p class=\"warning\">");
		html_escf(&warnings,
			  "%zu iteration%s failed; their durations are "
			  "in the charts and marked in the table.",
			  m->nfailed, m->nfailed == 1 ? "" : "s");
		strbuf_addstr(&warnings, "</p>\n");
	}
	if (m->spans_dropped || m->corrupt) {
		strbuf_addstr(&warnings, "<p class=\"warning\">");
		html_escf(&warnings,
			  "%lld spans were dropped by their writers and "
			  "%lld spool records were corrupt: some traces "
			  "are incomplete.",
			  (long long)m->spans_dropped, (long long)m->corrupt);
		strbuf_addstr(&warnings, "</p>\n");
	}
	strbuf_add(&body, warnings.buf, warnings.len);
	summary(&body, m, &s);
	top_ops(&body, m);
	strbuf_add(&body, chart.buf, chart.len);

	strbuf_addstr(&body, "<h2 id=\"waterfall\">The median iteration"
			     "</h2>\n");
	if (m->median && m->median_trace.nspans) {
		strbuf_addstr(&body, "<p>");
		html_escf(&body,
			  "Iteration %lld took %s, the median of the counted "
			  "iterations. One row per span, coloured by service; "
			  "open a row for its attributes, error and stack. "
			  "Trace ",
			  (long long)m->median->seq,
			  dur(b, sizeof(b), (double)m->median->dur_ns));
		strbuf_addstr(&body, "<code>");
		html_esc(&body, m->median_trace.id_hex);
		strbuf_addstr(&body, "</code>.</p>\n");
		html_legend(&body, &m->median_trace);
		html_waterfall(&body, &m->median_trace, &m->median_trace, 0);
	} else {
		strbuf_addstr(&body, "<p>No counted iteration has spans in "
				     "the store.</p>\n");
	}
	commits(&body, r);
	strbuf_addstr(&body, "<h2 id=\"iterations\">Iterations</h2>\n");
	html_iterations(&body, m, "This run");

	title = xasprintf("harness: %s, run %lld", r->scenario,
			  (long long)r->id);
	ret = html_write_page(out, title, body.buf, cause);
	free(title);
	free(ms);
	strbuf_release(&body);
	strbuf_release(&warnings);
	strbuf_release(&chart);
	return ret;
}

/* The comparison page of `harness compare`: the head's model carries the
 * base and the comparison. Without a base, the head's run page. */
static int html_write_comparison(FILE *out, const struct report_comparison *c,
				 const struct report_options *opt,
				 char **cause)
{
	if (!c->nheads) {
		*cause = xstrdup("the HTML comparison needs the runs' models");
		return -1;
	}
	if (!c->heads[0].base)
		return html_write_run(out, &c->heads[0], opt, cause);
	return html_write_compare(out, &c->heads[0], c, opt, cause);
}

const struct report_writer report_html_writer = {
	.name = "html",
	.summary = "one self-contained HTML page",
	.write_run = html_write_run,
	.write_traces = html_write_traces,
	.write_compare = html_write_comparison,
	.compare_models = true,
	.compare_file = "compare.html",
};
