/* html.h: what the two HTML pages share (html.c): escaping, the page
 * template, the waterfall of a trace and the gnuplot charts. The run and
 * trace pages are in html.c, the comparison page in html-compare.c.
 * Internal to harness/report/. */
#ifndef HARNESS_REPORT_HTML_H
#define HARNESS_REPORT_HTML_H

#include <stdbool.h>
#include <stdio.h>

#include "report/gnuplot.h"
#include "report/report.h"
#include "util/error.h"
#include "util/strbuf.h"

/* S with <, >, &, " and ' escaped; NULL adds nothing. */
void html_esc(struct strbuf *sb, const char *s);
void html_escf(struct strbuf *sb, const char *fmt, ...) HARNESS_PRINTF(2, 3);

/* One card of a summary grid: a key and its value, both escaped. */
void html_item(struct strbuf *sb, const char *k, const char *v);
void html_itemf(struct strbuf *sb, const char *k, const char *fmt, ...)
	HARNESS_PRINTF(3, 4);

/* The services of COLORS as a legend of colour swatches. */
void html_legend(struct strbuf *sb, const struct report_trace *colors);
/* The waterfall of trace T: one row per span (a <details> with the
 * span's attributes, error and stack), coloured by service as in COLORS
 * (a trace whose service list decides the colours: T itself, or one
 * made for several traces). The time axis spans SCALE_NS from the
 * trace's start; 0 for the trace's own length. */
void html_waterfall(struct strbuf *sb, const struct report_trace *t,
		    const struct report_trace *colors, double scale_ns);

/* The iterations of M as a table in a closed <details> whose summary
 * starts with WHAT. */
void html_iterations(struct strbuf *sb, const struct report_model *m,
		     const char *what);

/* The page of reports/report.html around BODY, written to OUT. */
int html_write_page(FILE *out, const char *title, const char *body,
		    char **cause);

/* The durations in ms of the iterations of M that count (not warm-up),
 * sorted, in a new array of *n (at least one element allocated). */
double *html_counted_ms(const struct report_model *m, size_t *n);
/* Chart data of M for reports/drift.gp (seq, ms, state) and
 * reports/throughput.gp (second, finished, failed); the latter returns
 * false, adding nothing, when M's runner does not run at a rate or for
 * a duration. */
void html_drift_data(struct strbuf *data, const struct report_model *m);
bool html_throughput_data(struct strbuf *data, const struct report_model *m);
/* The CDF of the N sorted values MS: "ms fraction" lines. */
void html_cdf_data(struct strbuf *data, const double *ms, size_t n);

/* One chart: a gnuplot script of reports/ with the statements VARS
 * before it, drawn as inline SVG with a PNG beside the page. */
struct html_chart {
	const char *name;	/* file stem: "cdf" */
	const char *caption;
	const char *template;
	struct strbuf vars;
	int width, height;	/* SVG size in px; 0 for 600 x 330 */
	bool wide;		/* the page's full width */
};

/* The charts of one page: gnuplot, and what went wrong for the page to
 * say. */
struct html_charts {
	struct gnuplot gp;
	bool ready;		/* gnuplot found */
	const struct report_options *opt;
	struct strbuf *warnings;	/* the page's warnings, borrowed */
	int failures;
};

/* Find gnuplot; when there is none (or opt->gnuplot is ""), charts are
 * not ready and a warning says why (to opt->warn and WARNINGS, except
 * for ""). */
void html_charts_init(struct html_charts *hc,
		      const struct report_options *opt,
		      struct strbuf *warnings);
/* A data file holding TEXT; its path (the caller frees), or NULL. */
char *html_charts_data(struct html_charts *hc, const char *text);
/* Draw C as a <figure> into SB; a failure is counted and warned about. */
void html_charts_draw(struct html_charts *hc, struct strbuf *sb,
		      const struct html_chart *c);
/* Add a warning for the failures and remove the scratch files. */
void html_charts_release(struct html_charts *hc);

/* gnuplot's (or another) SVG as an inline element with ids prefixed by
 * NAME and LABEL as its accessible name. */
void html_inline_svg(struct strbuf *sb, const char *svg, const char *name,
		     const char *label);

/* The comparison page (html-compare.c): M with m->base set. C, when not
 * NULL, holds the model of every run of each side (m is c->heads[0]): the
 * page then lists every run that was pooled. */
int html_write_compare(FILE *out, const struct report_model *m,
		       const struct report_comparison *c,
		       const struct report_options *opt, char **cause);

#endif
