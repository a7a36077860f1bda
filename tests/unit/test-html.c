/* test-html.c: the comparison page of the HTML writer on models
 * and comparison results built by hand: the headline for each kind of
 * outcome, a table of real cells with names escaped once, the flame graph
 * inlined, two waterfalls on one time scale; rows by role, the noise and
 * the gates' words; pooled runs listed each, and
 * every comparison format found in the one table of writers. No gnuplot
 * (charts are the integration tests' business). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "util/error.h"

#define MS 1000000LL

/* A run of N iterations of DUR_MS each (the median the middle one) with
 * a three-span trace: harness iteration, api rpc.call, scheduler
 * rpc.dispatch taking SLOW_MS. */
static void model_make(struct report_model *m, int64_t id, size_t n,
		       int64_t dur_ms, int64_t slow_ms)
{
	struct store_span sp[3];
	int64_t t0 = 1000 * MS;

	report_model_init(m);
	m->run = xcalloc(1, sizeof(*m->run));
	m->run->id = id;
	m->run->scenario = xstrdup("boot-vm");
	m->run->config_hash = xstrdup("0123456789abcdef");
	m->run->status = STORE_RUN_OK;
	m->its = xcalloc(n, sizeof(*m->its));
	m->nits = n;
	for (size_t i = 0; i < n; i++) {
		m->its[i].seq = (int64_t)i;
		m->its[i].ok = true;
		m->its[i].trace_id[0] = (uint8_t)(i + 1);
		m->its[i].start_ns = t0 + (int64_t)i * 200 * MS;
		m->its[i].dur_ns = (dur_ms + (int64_t)i) * MS;
	}
	m->median = &m->its[n / 2];
	memset(sp, 0, sizeof(sp));
	for (int k = 0; k < 3; k++) {
		sp[k].trace_id[0] = m->median->trace_id[0];
		sp[k].span_id = (uint64_t)k + 1;
		sp[k].parent_id = (uint64_t)k;
		sp[k].start_ns = m->median->start_ns + k * MS;
	}
	sp[0].kind = "iteration", sp[0].name = "boot-vm";
	sp[0].service = "harness", sp[0].dur_ns = m->median->dur_ns;
	sp[1].kind = "rpc.call", sp[1].name = "scheduler.select_destinations";
	sp[1].service = "api", sp[1].dur_ns = (slow_ms + 1) * MS;
	sp[2].kind = "rpc.dispatch";
	sp[2].name = "scheduler.select_destinations";
	sp[2].service = "scheduler", sp[2].dur_ns = slow_ms * MS;
	sp[2].status = STORE_SPAN_ERROR;
	sp[2].message = "host <b> & gone";
	for (int k = 0; k < 3; k++)
		report_trace_add(&m->median_trace, &sp[k]);
	report_trace_finish(&m->median_trace);
}

static struct compare_row row(const char *service, const char *kind,
			      const char *name, double base_ms, double rel,
			      bool finding)
{
	struct compare_row r;

	memset(&r, 0, sizeof(r));
	r.service = service;
	r.kind = kind;
	r.name = name;
	r.measure = COMPARE_TIME;
	r.nbase = r.nhead = 10;
	r.in_base = r.in_head = true;
	r.base_median = base_ms * 1e6;
	r.head_median = base_ms * (1 + rel) * 1e6;
	r.hl.shift = base_ms * rel * 1e6;
	r.hl.lo = 0.8 * r.hl.shift;
	r.hl.hi = 1.2 * r.hl.shift;
	r.hl.rel_shift = rel;
	r.hl.rel_lo = 0.8 * rel;
	r.hl.rel_hi = 1.2 * rel;
	r.hl.conf = 0.95;
	r.q = finding ? 1e-5 : 0.6;
	r.finding = finding;
	r.regression = finding && rel > 0;
	return r;
}

struct page {
	struct report_model base, head;
	struct compare_result cmp;
	char *html;
};

static void page_write(struct page *p, const char *flame)
{
	struct report_options opt;
	char *cause = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&p->html, &len);

	assert_non_null(f);
	report_options_init(&opt);
	opt.gnuplot = "";
	opt.flame_svg = flame;
	p->head.base = &p->base;
	p->head.cmp = &p->cmp;
	assert_int_equal(report_html_writer.write_run(f, &p->head, &opt,
						      &cause),
			 0);
	assert_null(cause);
	assert_int_equal(fclose(f), 0);
}

static void page_init(struct page *p, enum compare_verdict verdict,
		      const struct compare_row *rows, size_t n)
{
	memset(p, 0, sizeof(*p));
	model_make(&p->base, 1, 9, 70, 1);
	model_make(&p->head, 2, 9, 100, 31);
	p->cmp.rows = xcalloc(n, sizeof(*rows));
	memcpy(p->cmp.rows, rows, n * sizeof(*rows));
	p->cmp.nrows = n;
	for (size_t i = 0; i < n; i++)
		p->cmp.nfindings += rows[i].finding;
	p->cmp.verdict = verdict;
	p->cmp.widest = SIZE_MAX;
	p->cmp.reason = xstrdup("iteration: +42.9% <as said>");
}

static void page_release(struct page *p)
{
	report_model_release(&p->base);
	report_model_release(&p->head);
	free(p->cmp.rows);
	free(p->cmp.causes);
	free(p->cmp.reason);
	free(p->html);
}

/* The text of the element that starts with OPEN, up to CLOSE. */
static char *between(const char *html, const char *open, const char *close)
{
	const char *a = strstr(html, open), *b;

	if (!a)
		return NULL;
	a += strlen(open);
	b = strstr(a, close);
	return b ? xstrndup(a, (size_t)(b - a)) : NULL;
}

static size_t count(const char *html, const char *what)
{
	size_t n = 0;

	for (const char *p = html; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* No table cell holds escaped markup: what the page shows as text never
 * reads like a tag. */
static void assert_cells_clean(const char *html)
{
	assert_null(strstr(html, "&lt;/td&gt;"));
	assert_null(strstr(html, "&lt;td"));
	assert_null(strstr(html, "&lt;br&gt;"));
	assert_null(strstr(html, "&lt;small&gt;"));
	assert_null(strstr(html, "&amp;lt;"));
}

static void test_html__regression_names_causes(void **state)
{
	struct compare_row rows[] = {
		row("harness", "iteration", "iteration", 70, 0.429, true),
		row("api", "rpc.call", "scheduler.select_destinations", 1, 30,
		    true),
		row("scheduler", "rpc.dispatch",
		    "scheduler.select_destinations", 1, 29, true),
		row("api", "db", "SELECT <b> & \"x\"", 2, 0.02, false),
	};
	struct page p;
	char *head;

	(void)state;
	rows[0].gated = true;
	page_init(&p, COMPARE_REGRESSION, rows, ARRAY_SIZE(rows));
	p.cmp.causes = xcalloc(2, sizeof(*p.cmp.causes));
	p.cmp.ncauses = 2;
	p.cmp.causes[0] = (struct compare_cause){ .row = 1,
						  .crit = { .shift = 30e6 },
						  .share = 0.99 };
	p.cmp.causes[1] = (struct compare_cause){ .row = 2,
						  .crit = { .shift = 29e6 },
						  .share = 0.97 };
	page_write(&p, NULL);

	head = between(p.html, "<p class=\"headline\">", "</p>");
	assert_non_null(head);
	assert_non_null(strstr(head, "Head (run 2) is <strong>42.9% slower"
				     "</strong> than base (run 1)"));
	assert_non_null(strstr(head, "CI +34.3% to +51.5%"));
	/* The call and its dispatch are one operation: named once. */
	assert_non_null(strstr(head, "the time went to <code>scheduler."
				     "select_destinations</code> (+30.00ms on "
				     "the critical path)"));
	assert_int_equal(count(head, "select_destinations"), 1);
	free(head);

	/* A real table: six columns, the rows in order (iteration, causes),
	 * the non-finding row with a gate or finding only. */
	assert_non_null(strstr(p.html, "<table class=\"cmp\">"));
	assert_non_null(strstr(p.html, "<th>operation</th><th class=\"num\">"
				       "base</th><th class=\"num\">head</th>"
				       "<th class=\"num\">change (CI)</th>"
				       "<th class=\"num\">q</th><th>verdict"
				       "</th>"));
	assert_true(strstr(p.html, "<strong>iteration</strong>") <
		    strstr(p.html, "rpc.dispatch</span> <span class=\"opname\">"
				   "scheduler.select_destinations"));
	assert_null(strstr(p.html, "SELECT &lt;b&gt;"));
	assert_non_null(strstr(p.html, "<strong>+42.9%</strong> +30.03ms"
				       "<br><small>+34.3% to +51.5%</small>"));
	assert_non_null(strstr(p.html, "cause: +30.00ms on the critical path, "
				       "99% of the growth"));
	assert_non_null(strstr(p.html, "<span class=\"badge\">gated</span>"));
	/* The reason is text, escaped once. */
	assert_non_null(strstr(p.html, "iteration: +42.9% &lt;as said&gt;"));
	assert_cells_clean(p.html);

	/* Two waterfalls on one scale: the head's 104ms. The error message
	 * of a span escaped once. */
	assert_int_equal(count(p.html, "<div class=\"waterfall\""), 2);
	assert_non_null(strstr(p.html, "0 to 104.00ms"));
	assert_int_equal(count(p.html, "host &lt;b&gt; &amp; gone"), 2);
	/* No flame graph given: the section says so. */
	assert_non_null(strstr(p.html, "Where it changed"));
	assert_non_null(strstr(p.html, "No differential flame graph"));
	page_release(&p);
}

static void test_html__flame_inlined(void **state)
{
	struct compare_row rows[] = {
		row("harness", "iteration", "iteration", 70, 0.01, false),
	};
	static const char svg[] =
		"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
		"svg\" width=\"10\" height=\"10\"><defs><pattern id=\"gone\"/>"
		"</defs><g class=\"frame\"><rect fill=\"url(#gone)\"/><title>a"
		"</title></g></svg>\n";
	struct page p;

	(void)state;
	page_init(&p, COMPARE_PASS, rows, ARRAY_SIZE(rows));
	page_write(&p, svg);
	assert_null(strstr(p.html, "<?xml"));
	assert_null(strstr(p.html, "http://www.w3.org"));
	assert_non_null(strstr(p.html, "<figure class=\"wide flame\"><svg "
				       "role=\"img\" aria-label=\"Differential "
				       "flame graph of base against head\""));
	assert_non_null(strstr(p.html, "<pattern id=\"flame-gone\"/>"));
	assert_non_null(strstr(p.html, "fill=\"url(#flame-gone)\""));
	assert_non_null(strstr(p.html, "red is slower than in base"));
	page_release(&p);
}

static void test_html__pass_and_improvement(void **state)
{
	struct compare_row same[] = {
		row("harness", "iteration", "iteration", 70, 0.01, false),
	};
	struct compare_row faster[] = {
		row("harness", "iteration", "iteration", 70, -0.2, true),
		row("image", "db", "SELECT images", 10, -0.5, true),
		row("api", "db", "SELECT flavors", 2, -0.9, true),
	};
	struct page p;
	char *head;

	(void)state;
	page_init(&p, COMPARE_PASS, same, ARRAY_SIZE(same));
	page_write(&p, NULL);
	head = between(p.html, "<p class=\"headline\">", "</p>");
	assert_non_null(strstr(head, "is <strong>as fast as base</strong>"));
	assert_non_null(strstr(head, "CI +0.8% to +1.2%"));
	free(head);
	assert_non_null(strstr(p.html, "No operation changed"));
	page_release(&p);

	page_init(&p, COMPARE_PASS, faster, ARRAY_SIZE(faster));
	page_write(&p, NULL);
	head = between(p.html, "<p class=\"headline\">", "</p>");
	assert_non_null(strstr(head, "<strong>20.0% faster</strong>"));
	/* The biggest change: by time first (SELECT flavors saved less
	 * than half as much), then against its own time. */
	assert_non_null(strstr(head, "2 rows changed, the biggest change in "
				     "<code>SELECT images</code> (-5.00ms per "
				     "iteration, -50.0%)"));
	free(head);
	assert_non_null(strstr(p.html, "<span class=\"badge ok\">faster"));
	assert_cells_clean(p.html);
	page_release(&p);
}

static void test_html__inconclusive_and_many_rows(void **state)
{
	struct compare_row rows[20];
	char names[20][16];
	struct page p;
	char *head;

	(void)state;
	rows[0] = row("harness", "iteration", "iteration", 70, 0.03, false);
	rows[0].inconclusive = true;
	rows[0].gated = true;
	rows[0].iterations_needed = 240;
	for (size_t i = 1; i < ARRAY_SIZE(rows); i++) {
		snprintf(names[i], sizeof(names[i]), "op%02zu", i);
		rows[i] = row("api", "db", names[i], 1, 0.1 * (double)i, true);
	}
	page_init(&p, COMPARE_INCONCLUSIVE, rows, ARRAY_SIZE(rows));
	page_write(&p, NULL);
	head = between(p.html, "<p class=\"headline\">", "</p>");
	assert_non_null(strstr(head, "<strong>the runs cannot tell</strong>"));
	assert_non_null(strstr(head, "about 240 iterations per run would "
				     "tell"));
	assert_non_null(strstr(head, "19 rows changed, the biggest change in "
				     "<code>op19</code>"));
	free(head);
	/* Twelve rows, then the rest behind a <details>, biggest first. */
	assert_non_null(strstr(p.html, "<summary>8 more rows</summary>"));
	assert_true(strstr(p.html, ">op19<") < strstr(p.html, ">op01<"));
	assert_true(strstr(p.html, ">op09<") <
		    strstr(p.html, "8 more rows"));
	assert_true(strstr(p.html, ">op08<") >
		    strstr(p.html, "8 more rows"));
	assert_non_null(strstr(p.html, "<span class=\"badge warn\">cannot tell"
				       "</span>"));
	assert_cells_clean(p.html);
	page_release(&p);
}

static void test_html__names_the_call_not_its_callers(void **state)
{
	struct compare_row rows[] = {
		row("harness", "iteration", "iteration", 170, 0.1, false),
		row("api", "rest.dispatch", "POST /servers", 10, 3.9, true),
		row("scheduler", "rpc.dispatch",
		    "scheduler.select_destinations", 1.5, 20, true),
		row("harness", "step", "create-server", 11, 3.6, true),
		row("api", "db", "SELECT flavors", 0.1, 2, true),
	};
	struct page p;
	char *head;

	(void)state;
	rows[0].inconclusive = true;
	page_init(&p, COMPARE_INCONCLUSIVE, rows, ARRAY_SIZE(rows));
	page_write(&p, NULL);
	head = between(p.html, "<p class=\"headline\">", "</p>");
	assert_non_null(head);
	assert_non_null(strstr(head, "may be slower than base"));
	assert_non_null(strstr(head, "4 rows changed, the biggest change in "
				     "<code>scheduler.select_destinations"
				     "</code> (+30.00ms per iteration, "
				     "+2000%)"));
	free(head);
	page_release(&p);
}

/* Rows by role (a consequence is no finding, a failed critical-path gate
 * is marked), the noise of two rounds under the verdict, and the gates
 * with an inconclusive one said as such; a machine-wide shift in its
 * own word with its evidence. */
static void test_html__roles_noise_and_gates(void **state)
{
	struct compare_row rows[] = {
		row("harness", "iteration", "iteration", 70, 0.429, true),
		row("api", "rpc.call", "scheduler.select_destinations", 1, 30,
		    true),
		row("scheduler", "rpc.dispatch",
		    "scheduler.select_destinations", 1, 29, true),
	};
	double bs[2] = { 0.021, 0.019 }, hs[2] = { 0.023, 0.025 };
	double bm[2] = { 0.01, -0.004 };
	struct report_comparison c;
	struct report_options opt;
	struct verdict v;
	struct page p;
	char *html = NULL, *cause = NULL, *tr;
	size_t len = 0;
	FILE *f;

	(void)state;
	rows[1].role = COMPARE_ROLE_CONSEQUENCE;
	rows[2].role = COMPARE_ROLE_CAUSE;
	rows[2].gated_crit = true;
	page_init(&p, COMPARE_REGRESSION, rows, ARRAY_SIZE(rows));
	p.cmp.noise.nblocks = 2;
	p.cmp.noise.base_spread = bs;
	p.cmp.noise.head_spread = hs;
	p.cmp.noise.block_machine = bm;
	p.cmp.noise.op_spread = 0.008;
	p.cmp.noise.drift = 0.01;
	p.head.base = &p.base;
	p.head.cmp = &p.cmp;
	verdict_init(&v);
	v.gates = xcalloc(2, sizeof(*v.gates));
	v.ngates = 2;
	v.gates[0].name = xstrdup("failure_rate == 0");
	v.gates[0].pass = true;
	v.gates[0].message = xstrdup("failure_rate = 0%, limit == 0: pass");
	v.gates[1].type = VERDICT_GATE_REGRESSION;
	v.gates[1].name = xstrdup("regression: critical-path");
	v.gates[1].pass = true;
	v.gates[1].inconclusive = true;
	v.gates[1].unit = GATE_UNIT_NS;
	v.gates[1].message = xstrdup("critical-path: at most +1.2ms: "
				     "inconclusive");
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.heads = &p.head;
	c.bases = &p.base;
	c.nheads = c.nbases = 1;
	report_options_init(&opt);
	opt.gnuplot = "";
	f = open_memstream(&html, &len);
	assert_non_null(f);
	assert_int_equal(report_html_writer.write_compare(f, &c, &opt, &cause),
			 0);
	assert_int_equal(fclose(f), 0);

	/* The consequence: no red row, no "slower" finding of its own. */
	tr = between(html, "<tr><td class=\"op\"><span class=\"svc c",
		     "</tr>");
	assert_non_null(tr);
	assert_non_null(strstr(tr, "rpc.call"));
	assert_non_null(strstr(tr, "<span class=\"badge\">consequence</span>"
				   "<br><small>slower with another operation"
				   "</small>"));
	assert_null(strstr(tr, "badge bad"));
	free(tr);
	assert_non_null(strstr(html, "<span class=\"badge bad\">slower, cause"
				     "</span> <span class=\"badge bad\">fails "
				     "the critical-path gate</span>"));
	assert_int_equal(count(html, "<tr class=\"slower\">"), 2);
	/* The noise, per round. */
	assert_non_null(strstr(html, "<p class=\"noise\">noise: spread of an "
				     "operation within a run per round of 2 "
				     "(base/head) ±2.1%/±2.3%, ±1.9%/±2.5%; "
				     "operations around the machine factor "
				     "±0.8%<br>drift: machine factor (head "
				     "against base) per round +1.0%, -0.4%"));
	assert_non_null(strstr(html, "drift between rounds ±1.0%</p>"));
	/* The gates: the inconclusive one never reads pass. */
	assert_non_null(strstr(html, "<h2 id=\"gates\">Gates</h2>"));
	assert_non_null(strstr(html, "<tr><td><code>regression: critical-path"
				     "</code></td><td><span class=\"badge "
				     "warn\">inconclusive</span></td>"));
	assert_non_null(strstr(html, "<tr><td><code>failure_rate == 0</code>"
				     "</td><td><span class=\"badge ok\">pass"
				     "</span></td>"));
	assert_cells_clean(html);
	free(html);

	/* A machine-wide shift: its word and its evidence. */
	p.cmp.verdict = COMPARE_MACHINE;
	p.cmp.machine.shifted = true;
	p.cmp.machine.factor.k = 2;
	p.cmp.machine.factor.est = log1p(0.3);
	p.cmp.machine.factor.lo = log1p(0.28);
	p.cmp.machine.factor.hi = log1p(0.32);
	p.cmp.machine.nops = p.cmp.machine.nup = 20;
	p.cmp.machine.nservices = p.cmp.machine.nservices_with = 5;
	p.cmp.machine.sign_p = 1.9e-6;
	v.status = VERDICT_MACHINE;
	v.gates[1].inconclusive = false;
	f = open_memstream(&html, &len);
	assert_non_null(f);
	assert_int_equal(report_html_writer.write_compare(f, &c, &opt, &cause),
			 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(html, "<span class=\"badge warn\">machine-wide "
				     "shift</span>"));
	assert_non_null(strstr(html, "<br><strong>machine-wide shift: every "
				     "operation +30.0% [+28.0%, +32.0%], 20 of "
				     "20 operations slower, 5 of 5 services "
				     "with it (sign test p=1.9e-06)</strong>"));
	assert_non_null(strstr(html, "<span class=\"badge warn\">machine"
				     "</span></td>"));
	free(html);
	p.cmp.noise.nblocks = 0;
	p.cmp.noise.base_spread = p.cmp.noise.head_spread = NULL;
	p.cmp.noise.block_machine = NULL;
	verdict_release(&v);
	page_release(&p);
}

/* `harness compare` finds every comparison format in the one table of
 * writers; the writers of runs and traces only have no comparison. */
static void test_html__compare_writers_found(void **state)
{
	static const struct {
		const char *name, *file;
		bool models;
	} want[] = {
		{ "terminal", NULL, false },
		{ "markdown", "compare.md", false },
		{ "json", "compare.json", false },
		{ "junit", "compare.xml", false },
		{ "html", "compare.html", true },
	};
	static const char *const none[] = { "text", "dot", "chrome" };

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct report_writer *w;

		w = report_writer_find(want[i].name);
		assert_non_null(w);
		assert_non_null(w->write_compare);
		assert_int_equal(w->compare_models, want[i].models);
		if (want[i].file)
			assert_string_equal(w->compare_file, want[i].file);
		else
			assert_null(w->compare_file);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_non_null(report_writer_find(none[i]));
		assert_null(report_writer_find(none[i])->write_compare);
	}
	assert_null(report_writer_find("xml"));
}

/* The page of a comparison through write_compare: with one run a side
 * the same page as write_run; with several, every pooled run listed with
 * its iterations. */
static void test_html__pooled_runs_listed(void **state)
{
	const struct compare_row rows[] = {
		row("harness", "iteration", "boot-vm", 70, 0.429, true),
	};
	struct report_model bases[2], heads[3];
	struct report_comparison c;
	struct report_options opt;
	struct verdict v;
	struct page p;
	char *html = NULL, *cause = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	page_init(&p, COMPARE_REGRESSION, rows, 1);
	page_write(&p, NULL);
	model_make(&bases[0], 1, 9, 70, 1);
	model_make(&bases[1], 5, 7, 71, 1);
	model_make(&heads[0], 2, 9, 100, 31);
	model_make(&heads[1], 6, 9, 101, 31);
	model_make(&heads[2], 7, 5, 99, 31);
	heads[0].base = &bases[0];
	heads[0].cmp = &p.cmp;
	verdict_init(&v);
	report_options_init(&opt);
	opt.gnuplot = "";
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.bases = bases;
	c.heads = heads;

	/* One run a side: byte for byte the page of write_run. */
	c.nbases = c.nheads = 1;
	f = open_memstream(&html, &len);
	assert_non_null(f);
	assert_int_equal(report_html_writer.write_compare(f, &c, &opt, &cause),
			 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(html, p.html);
	assert_null(strstr(html, "Runs pooled"));
	free(html);

	c.nbases = 2;
	c.nheads = 3;
	f = open_memstream(&html, &len);
	assert_non_null(f);
	assert_int_equal(report_html_writer.write_compare(f, &c, &opt, &cause),
			 0);
	assert_null(cause);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(html, "Head: run 2, ok. Base pools runs 1, 5; "
				     "head pools runs 2, 6, 7.</p>"));
	assert_int_equal(count(html, "<h2 id=\"runs\">Runs pooled</h2>"), 1);
	assert_non_null(strstr(html, "base 2 runs, head 3 runs."));
	assert_int_equal(count(html, "<tr><td>base</td>"), 2);
	assert_int_equal(count(html, "<tr><td>head</td>"), 3);
	assert_non_null(strstr(html, "<tr><td>base</td><td class=\"num\">5"
				     "</td><td></td><td>ok</td>"
				     "<td class=\"num\">7</td>"));
	assert_non_null(strstr(html, "<tr><td>head</td><td class=\"num\">7"
				     "</td><td></td><td>ok</td>"
				     "<td class=\"num\">5</td>"));
	/* Every run's iterations: the first of each side as before. */
	assert_int_equal(count(html, "<summary>Base: all 9 iterations"), 1);
	assert_int_equal(count(html, "<summary>Head: all 9 iterations"), 1);
	assert_int_equal(count(html, "<summary>Base, run 5: all 7 "
				     "iterations"),
			 1);
	assert_int_equal(count(html, "<summary>Head, run 6: all 9 "
				     "iterations"),
			 1);
	assert_int_equal(count(html, "<summary>Head, run 7: all 5 "
				     "iterations"),
			 1);
	assert_true(strstr(html, "Runs pooled") <
		    strstr(html, "<h2 id=\"iterations\">"));
	free(html);

	for (size_t i = 0; i < 2; i++)
		report_model_release(&bases[i]);
	for (size_t i = 0; i < 3; i++)
		report_model_release(&heads[i]);
	verdict_release(&v);
	page_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html__regression_names_causes),
		cmocka_unit_test(test_html__flame_inlined),
		cmocka_unit_test(test_html__pass_and_improvement),
		cmocka_unit_test(test_html__inconclusive_and_many_rows),
		cmocka_unit_test(test_html__names_the_call_not_its_callers),
		cmocka_unit_test(test_html__roles_noise_and_gates),
		cmocka_unit_test(test_html__compare_writers_found),
		cmocka_unit_test(test_html__pooled_runs_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
