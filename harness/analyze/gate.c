/* gate.c: the gate expression language of gate.h, a hand-written
 * recursive-descent parser over one line, and evaluation through a lookup
 * callback. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/gate.h"
#include "analyze/stats.h"
#include "util/error.h"
#include "util/strbuf.h"

struct parser {
	const char *s;
	size_t pos;
	char *err;		/* the first error, owned */
	size_t err_pos;
};

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
	HARNESS_PRINTF(3, 4);

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->err)
		return -1;
	va_start(ap, fmt);
	p->err = xvasprintf(fmt, ap);
	va_end(ap);
	p->err_pos = pos;
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
		p->pos++;
}

/* The text at pos for a message: the next run of non-blank characters,
 * or "the end". Returns a string the caller frees. */
static char *found(const struct parser *p, size_t pos)
{
	const char *t = p->s + pos;
	size_t n = 0;

	while (t[n] == ' ' || t[n] == '\t')
		t++;
	if (!*t)
		return xstrdup("the end");
	while (t[n] && t[n] != ' ' && t[n] != '\t' && n < 40)
		n++;
	return xasprintf("'%.*s'", (int)n, t);
}

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_ident(int c)
{
	return isalnum(c) || c == '_';
}

/* An identifier at pos, without skipping anything; its length or 0. */
static size_t ident_len(const struct parser *p)
{
	size_t n = 0;

	if (!is_ident_start((unsigned char)p->s[p->pos]))
		return 0;
	while (is_ident((unsigned char)p->s[p->pos + n]))
		n++;
	return n;
}

static bool accept(struct parser *p, char c)
{
	skip_ws(p);
	if (p->s[p->pos] != c)
		return false;
	p->pos++;
	return true;
}

static int expect(struct parser *p, char c, const char *after)
{
	char *f;

	if (accept(p, c))
		return 0;
	f = found(p, p->pos);
	fail_at(p, p->pos, "expected '%c' after %s, found %s", c, after, f);
	free(f);
	return -1;
}

/* An argument inside parentheses: a quoted string or bare text up to one
 * of , ( ) = ". */
static int parse_arg(struct parser *p, char **out, const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	size_t start;

	skip_ws(p);
	start = p->pos;
	if (p->s[p->pos] == '"') {
		p->pos++;
		for (;;) {
			char c = p->s[p->pos];

			if (!c) {
				strbuf_release(&sb);
				return fail_at(p, start,
					       "unterminated string in %s",
					       what);
			}
			p->pos++;
			if (c == '"')
				break;
			if (c == '\\' && (p->s[p->pos] == '"' ||
					  p->s[p->pos] == '\\'))
				c = p->s[p->pos++];
			strbuf_addch(&sb, c);
		}
	} else {
		size_t end;

		while (p->s[p->pos] && !strchr(",()=\"", p->s[p->pos]))
			p->pos++;
		end = p->pos;
		while (end > start &&
		       (p->s[end - 1] == ' ' || p->s[end - 1] == '\t'))
			end--;
		strbuf_add(&sb, p->s + start, end - start);
	}
	if (!sb.len) {
		char *f = found(p, start);

		strbuf_release(&sb);
		fail_at(p, start, "expected %s, found %s", what, f);
		free(f);
		return -1;
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

static int parse_stat(struct parser *p, struct gate_metric *m,
		      const char *after)
{
	static const struct {
		const char *name;
		enum gate_stat stat;
	} names[] = {
		{ "min", GATE_STAT_MIN },	{ "max", GATE_STAT_MAX },
		{ "mean", GATE_STAT_MEAN },	{ "median", GATE_STAT_MEDIAN },
		{ "stddev", GATE_STAT_STDDEV },
	};
	size_t start = p->pos, n = ident_len(p);

	if (p->s[p->pos] == 'p' && isdigit((unsigned char)p->s[p->pos + 1])) {
		/* pNN or pNN.N: digits with one optional fraction. */
		size_t i = p->pos + 1;
		char *text;
		double v;

		while (isdigit((unsigned char)p->s[i]))
			i++;
		if (p->s[i] == '.' && isdigit((unsigned char)p->s[i + 1]))
			for (i++; isdigit((unsigned char)p->s[i]);)
				i++;
		text = xstrndup(p->s + p->pos + 1, i - p->pos - 1);
		v = strtod(text, NULL);
		free(text);
		if (!(v <= 100) || is_ident((unsigned char)p->s[i])) {
			size_t end = i;

			while (is_ident((unsigned char)p->s[end]))
				end++;
			return fail_at(p, start,
				       "unknown statistic '%.*s' after %s: a "
				       "percentile is p0 to p100",
				       (int)(end - start), p->s + start, after);
		}
		m->stat = GATE_STAT_PERCENTILE;
		m->percentile = v;
		p->pos = i;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (n == strlen(names[i].name) &&
		    !strncmp(p->s + p->pos, names[i].name, n)) {
			m->stat = names[i].stat;
			p->pos += n;
			return 0;
		}
	if (n)
		return fail_at(p, start,
			       "unknown statistic '%.*s' after %s: use min, "
			       "max, mean, median, stddev or pNN (p50, p95, "
			       "p99)",
			       (int)n, p->s + start, after);
	{
		char *f = found(p, start);

		fail_at(p, start,
			"expected a statistic (min, max, mean, median, "
			"stddev, p50, p95, p99) after %s, found %s",
			after, f);
		free(f);
	}
	return -1;
}

/* count(KIND, service=S, name=N) */
static int parse_count(struct parser *p, struct gate_metric *m)
{
	char *kind = NULL;

	if (expect(p, '(', "'count'") < 0 ||
	    parse_arg(p, &kind, "a span kind (db, rpc.call, ... or *)") < 0)
		return -1;
	if (strcmp(kind, "*"))
		m->kind = kind;
	else
		free(kind);
	while (accept(p, ',')) {
		size_t start, n;
		char **slot;

		skip_ws(p);
		start = p->pos;
		n = ident_len(p);
		if (n == 7 && !strncmp(p->s + start, "service", 7)) {
			slot = &m->service;
		} else if (n == 4 && !strncmp(p->s + start, "name", 4)) {
			slot = &m->name;
		} else {
			char *f = found(p, start);

			fail_at(p, start,
				"expected a filter service=... or name=... in "
				"count(...), found %s",
				f);
			free(f);
			return -1;
		}
		if (*slot)
			return fail_at(p, start, "'%.*s' given twice in "
				       "count(...)", (int)n, p->s + start);
		p->pos += n;
		if (expect(p, '=', n == 4 ? "'name'" : "'service'") < 0 ||
		    parse_arg(p, slot, n == 4 ? "a span name" : "a service") <
			    0)
			return -1;
	}
	return expect(p, ')', "the arguments of count(...)");
}

/* The metric at pos. With bare set, a subject without a statistic is
 * accepted (median). */
static int parse_metric(struct parser *p, struct gate_metric *m, bool bare)
{
	size_t start, n;
	const char *after;

	memset(m, 0, sizeof(*m));
	skip_ws(p);
	start = p->pos;
	n = ident_len(p);
	if (n == 9 && !strncmp(p->s + start, "iteration", n)) {
		m->subject = GATE_ITERATION;
		p->pos += n;
		after = "'iteration'";
	} else if (n == 4 && !strncmp(p->s + start, "step", n)) {
		m->subject = GATE_STEP;
		p->pos += n;
		if (expect(p, '(', "'step'") < 0 ||
		    parse_arg(p, &m->step, "a step name") < 0 ||
		    expect(p, ')', "the step name") < 0)
			return -1;
		after = "'step(...)'";
	} else if (n == 2 && !strncmp(p->s + start, "op", n)) {
		m->subject = GATE_OP;
		p->pos += n;
		if (expect(p, '(', "'op'") < 0 ||
		    parse_arg(p, &m->service, "a service name") < 0 ||
		    expect(p, ',', "the service in op(service, kind, name)") <
			    0 ||
		    parse_arg(p, &m->kind, "a span kind") < 0 ||
		    expect(p, ',', "the kind in op(service, kind, name)") < 0 ||
		    parse_arg(p, &m->name, "an operation name") < 0 ||
		    expect(p, ')', "the name in op(service, kind, name)") < 0)
			return -1;
		after = "'op(...)'";
	} else if (!bare && n == 5 && !strncmp(p->s + start, "count", n)) {
		m->subject = GATE_COUNT;
		p->pos += n;
		if (parse_count(p, m) < 0)
			return -1;
		m->stat = GATE_STAT_MAX;
		if (p->s[p->pos] == '.') {
			p->pos++;
			return parse_stat(p, m, "'count(...)'");
		}
		return 0;
	} else if (!bare && n == 12 &&
		   !strncmp(p->s + start, "failure_rate", n)) {
		m->subject = GATE_FAILURE_RATE;
		p->pos += n;
		return 0;
	} else {
		if (n)
			return fail_at(p, start,
				       bare ? "unknown metric '%.*s': use "
					      "iteration, step(NAME) or "
					      "op(SERVICE, KIND, NAME)"
					    : "unknown metric '%.*s': use "
					      "iteration, step(NAME), "
					      "op(SERVICE, KIND, NAME), "
					      "count(KIND, ...) or "
					      "failure_rate",
				       (int)n, p->s + start);
		{
			char *f = found(p, start);

			fail_at(p, start, "expected a metric, found %s", f);
			free(f);
		}
		return -1;
	}
	if (p->s[p->pos] != '.') {
		if (bare) {
			m->stat = GATE_STAT_MEDIAN;
			return 0;
		}
		return fail_at(p, p->pos,
			       "expected '.' and a statistic after %s, as in "
			       "%.*s.p95",
			       after, (int)(p->pos - start), p->s + start);
	}
	p->pos++;
	return parse_stat(p, m, after);
}

static int parse_cmp(struct parser *p, enum gate_cmp *cmp, size_t *len)
{
	const char *s;
	char *f;

	skip_ws(p);
	s = p->s + p->pos;
	*len = 2;
	if (!strncmp(s, "<=", 2))
		*cmp = GATE_LE;
	else if (!strncmp(s, ">=", 2))
		*cmp = GATE_GE;
	else if (!strncmp(s, "==", 2))
		*cmp = GATE_EQ;
	else if (!strncmp(s, "!=", 2))
		*cmp = GATE_NE;
	else if ((*len = 1) && *s == '<')
		*cmp = GATE_LT;
	else if (*s == '>')
		*cmp = GATE_GT;
	else {
		f = found(p, p->pos);
		fail_at(p, p->pos,
			"expected a comparison (<, <=, >, >=, ==, !=) after "
			"the metric, found %s",
			f);
		free(f);
		return -1;
	}
	p->pos += *len;
	return 0;
}

static const char *unit_word(enum gate_unit unit)
{
	switch (unit) {
	case GATE_UNIT_NS:
		return "a duration (such as 800ms)";
	case GATE_UNIT_COUNT:
		return "a number";
	case GATE_UNIT_FRACTION:
		return "a percentage (such as 1%)";
	}
	return "a value";
}

static int parse_limit(struct parser *p, struct gate *g, const char *cmp)
{
	static const struct {
		const char *name;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 },
	};
	size_t start, i, ulen;
	const char *s;
	double v;
	char *numtext, *f;
	enum { PLAIN, DURATION, PERCENT } form;

	skip_ws(p);
	start = i = p->pos;
	s = p->s;
	while (isdigit((unsigned char)s[i]))
		i++;
	if (s[i] == '.' && isdigit((unsigned char)s[i + 1]))
		for (i++; isdigit((unsigned char)s[i]);)
			i++;
	if (i == start)
		goto bad;
	numtext = xstrndup(s + start, i - start);
	v = strtod(numtext, NULL);
	free(numtext);
	/* "800 ms" reads as "800ms": blanks may separate a unit. */
	ulen = 0;
	while (s[i + ulen] == ' ' || s[i + ulen] == '\t')
		ulen++;
	if (isalpha((unsigned char)s[i + ulen]) || s[i + ulen] == '%')
		i += ulen;
	ulen = 0;
	while (isalpha((unsigned char)s[i + ulen]))
		ulen++;
	if (s[i] == '%') {
		form = PERCENT;
		v /= 100;
		ulen = 1;
	} else if (ulen) {
		size_t u;

		for (u = 0; u < ARRAY_SIZE(units); u++)
			if (strlen(units[u].name) == ulen &&
			    !strncmp(s + i, units[u].name, ulen))
				break;
		if (u == ARRAY_SIZE(units))
			return fail_at(p, i,
				       "unknown unit '%.*s' in '%.*s': use "
				       "ns, us, ms, s or m",
				       (int)ulen, s + i, (int)(i + ulen - start),
				       s + start);
		form = DURATION;
		v *= units[u].ns;
	} else {
		form = PLAIN;
	}
	if (is_ident((unsigned char)s[i + ulen]))
		goto bad;

	switch (g->unit) {
	case GATE_UNIT_NS:
		if (form == PLAIN)
			return fail_at(p, start,
				       "expected a duration after '%s', found "
				       "'%.*s' (add a unit: ns, us, ms, s or "
				       "m)",
				       cmp, (int)(i - start), s + start);
		if (form != DURATION)
			goto bad;
		break;
	case GATE_UNIT_COUNT:
		if (form != PLAIN)
			goto bad;
		break;
	case GATE_UNIT_FRACTION:
		if (form == DURATION)
			goto bad;
		if (v > 1)
			return fail_at(p, start,
				       "a failure rate is at most 100%% (or "
				       "1), found '%.*s'",
				       (int)(i + ulen - start), s + start);
		break;
	}
	g->limit = v;
	p->pos = i + ulen;
	return 0;
bad:
	f = found(p, start);
	fail_at(p, start, "expected %s after '%s', found %s",
		unit_word(g->unit), cmp, f);
	free(f);
	return -1;
}

enum gate_unit gate_metric_unit(const struct gate_metric *m)
{
	switch (m->subject) {
	case GATE_COUNT:
		return GATE_UNIT_COUNT;
	case GATE_FAILURE_RATE:
		return GATE_UNIT_FRACTION;
	default:
		return GATE_UNIT_NS;
	}
}

static int finish(struct parser *p, unsigned *column, char **cause)
{
	if (!p->err)
		return 0;
	if (column)
		*column = (unsigned)p->err_pos + 1;
	*cause = p->err;
	p->err = NULL;
	return -1;
}

int gate_parse(struct gate **out, const char *expr, unsigned *column,
	       char **cause)
{
	struct parser p = { .s = expr };
	struct gate *g = xcalloc(1, sizeof(*g));
	char cmp[3];
	size_t len;

	*out = NULL;
	g->expr = xstrdup(expr);
	if (parse_metric(&p, &g->metric, false) < 0)
		goto fail;
	g->unit = gate_metric_unit(&g->metric);
	if (parse_cmp(&p, &g->cmp, &len) < 0)
		goto fail;
	memcpy(cmp, p.s + p.pos - len, len);
	cmp[len] = '\0';
	if (parse_limit(&p, g, cmp) < 0)
		goto fail;
	skip_ws(&p);
	if (p.s[p.pos]) {
		char *f = found(&p, p.pos);

		fail_at(&p, p.pos, "unexpected %s after the limit", f);
		free(f);
		goto fail;
	}
	*out = g;
	return 0;
fail:
	gate_free(g);
	return finish(&p, column, cause);
}

void gate_metric_release(struct gate_metric *m)
{
	if (!m)
		return;
	free(m->step);
	free(m->service);
	free(m->kind);
	free(m->name);
	memset(m, 0, sizeof(*m));
}

void gate_free(struct gate *g)
{
	if (!g)
		return;
	gate_metric_release(&g->metric);
	free(g->expr);
	free(g);
}

int gate_metric_parse(struct gate_metric *out, const char *text,
		      unsigned *column, char **cause)
{
	struct parser p = { .s = text };

	if (parse_metric(&p, out, true) == 0) {
		skip_ws(&p);
		if (p.s[p.pos]) {
			char *f = found(&p, p.pos);

			fail_at(&p, p.pos, "unexpected %s after the metric", f);
			free(f);
		}
	}
	if (p.err)
		gate_metric_release(out);
	return finish(&p, column, cause);
}

/* An argument printed so that gate_parse reads it back. */
static void add_arg(struct strbuf *sb, const char *s)
{
	bool quote = !*s || strpbrk(s, ",()=\" \t\\");

	if (!quote) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

char *gate_metric_format(const struct gate_metric *m)
{
	struct strbuf sb = STRBUF_INIT;

	switch (m->subject) {
	case GATE_ITERATION:
		strbuf_addstr(&sb, "iteration");
		break;
	case GATE_STEP:
		strbuf_addstr(&sb, "step(");
		add_arg(&sb, m->step);
		strbuf_addch(&sb, ')');
		break;
	case GATE_OP:
		strbuf_addstr(&sb, "op(");
		add_arg(&sb, m->service);
		strbuf_addstr(&sb, ", ");
		add_arg(&sb, m->kind);
		strbuf_addstr(&sb, ", ");
		add_arg(&sb, m->name);
		strbuf_addch(&sb, ')');
		break;
	case GATE_COUNT:
		strbuf_addstr(&sb, "count(");
		add_arg(&sb, m->kind ? m->kind : "*");
		if (m->service) {
			strbuf_addstr(&sb, ", service=");
			add_arg(&sb, m->service);
		}
		if (m->name) {
			strbuf_addstr(&sb, ", name=");
			add_arg(&sb, m->name);
		}
		strbuf_addch(&sb, ')');
		break;
	case GATE_FAILURE_RATE:
		strbuf_addstr(&sb, "failure_rate");
		return strbuf_detach(&sb, NULL);
	}
	switch (m->stat) {
	case GATE_STAT_MIN:
		strbuf_addstr(&sb, ".min");
		break;
	case GATE_STAT_MAX:
		strbuf_addstr(&sb, ".max");
		break;
	case GATE_STAT_MEAN:
		strbuf_addstr(&sb, ".mean");
		break;
	case GATE_STAT_MEDIAN:
		strbuf_addstr(&sb, ".median");
		break;
	case GATE_STAT_STDDEV:
		strbuf_addstr(&sb, ".stddev");
		break;
	case GATE_STAT_PERCENTILE:
		strbuf_addf(&sb, ".p%g", m->percentile);
		break;
	}
	return strbuf_detach(&sb, NULL);
}

void gate_format_value(char *buf, size_t size, double v, enum gate_unit unit)
{
	if (isnan(v)) {
		snprintf(buf, size, "n/a");
		return;
	}
	switch (unit) {
	case GATE_UNIT_NS: {
		/* Four significant digits in the largest unit that keeps the
		 * number at least 1, so a limit prints as it was written:
		 * 800ms, 1.2s, 2m. */
		static const struct {
			const char *name;
			double ns;
		} units[] = {
			{ "m", 60e9 }, { "s", 1e9 }, { "ms", 1e6 },
			{ "us", 1e3 }, { "ns", 1 },
		};
		size_t u = 0;

		while (u + 1 < ARRAY_SIZE(units) && fabs(v) < units[u].ns)
			u++;
		snprintf(buf, size, "%.4g%s", v / units[u].ns, units[u].name);
		break;
	}
	case GATE_UNIT_COUNT:
		snprintf(buf, size, "%.6g", v);
		break;
	case GATE_UNIT_FRACTION:
		snprintf(buf, size, "%.4g%%", v * 100);
		break;
	}
}

const char *gate_cmp_str(enum gate_cmp cmp)
{
	static const char *const s[] = { "<", "<=", ">", ">=", "==", "!=" };

	return (size_t)cmp < ARRAY_SIZE(s) ? s[cmp] : "?";
}

int gate_metric_stat(double *out, const struct gate_metric *m,
		     const double *x, size_t n)
{
	switch (m->stat) {
	case GATE_STAT_MIN:
		*out = stats_min(x, n);
		return 0;
	case GATE_STAT_MAX:
		*out = stats_max(x, n);
		return 0;
	case GATE_STAT_MEAN:
		*out = stats_mean(x, n);
		return 0;
	case GATE_STAT_STDDEV:
		*out = stats_stddev(x, n);
		return 0;
	case GATE_STAT_MEDIAN:
		return stats_percentile(out, x, n, 50);
	case GATE_STAT_PERCENTILE:
		return stats_percentile(out, x, n, m->percentile);
	}
	*out = NAN;
	return 0;
}

bool gate_compare(double observed, enum gate_cmp cmp, double limit)
{
	if (isnan(observed))
		return false;
	switch (cmp) {
	case GATE_LT:
		return observed < limit;
	case GATE_LE:
		return observed <= limit;
	case GATE_GT:
		return observed > limit;
	case GATE_GE:
		return observed >= limit;
	case GATE_EQ:
		return observed == limit;
	case GATE_NE:
		return observed != limit;
	}
	return false;
}

int gate_eval(struct gate_result *res, const struct gate *g,
	      gate_lookup_fn lookup, void *payload, char **cause)
{
	char obs[64], lim[64], *metric;
	double v = NAN;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = lookup(&v, &g->metric, cause, payload);
	if (ret < 0)
		return ret;
	res->missing = ret > 0;
	res->observed = res->missing ? NAN : v;
	res->pass = !res->missing && gate_compare(v, g->cmp, g->limit);
	metric = gate_metric_format(&g->metric);
	gate_format_value(lim, sizeof(lim), g->limit, g->unit);
	if (res->missing) {
		res->line = xasprintf("%s: no data, limit %s %s: FAIL", metric,
				      gate_cmp_str(g->cmp), lim);
	} else {
		gate_format_value(obs, sizeof(obs), v, g->unit);
		res->line = xasprintf("%s = %s, limit %s %s: %s", metric, obs,
				      gate_cmp_str(g->cmp), lim,
				      res->pass ? "pass" : "FAIL");
	}
	free(metric);
	return 0;
}

void gate_result_release(struct gate_result *res)
{
	if (!res)
		return;
	free(res->line);
	memset(res, 0, sizeof(*res));
}
