/* scenario.c: loading a scenario file (runner, steps, gates, regression
 * limits) with the same strictness as harness.yaml, checking every template
 * against what is defined at that point of the scenario. */
#include "config/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/internal.h"
#include "config/template.h"
#include "util/suggest.h"

#ifndef HARNESS_SCENARIOS_DIR
#define HARNESS_SCENARIOS_DIR "scenarios"
#endif

static const char *const runner_types[] = {
    [RUNNER_CONSTANT] = "constant",
    [RUNNER_DURATION] = "duration",
    [RUNNER_RATE] = "rate",
    NULL,
};

static const char *const step_types[] = {
    [STEP_REQUEST] = "request",
    [STEP_POLL] = "poll",
    [STEP_SLEEP] = "sleep",
    NULL,
};

static const char *const methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL,
};

static const char *const request_keys[] = {
    "name", "method", "url",     "headers", "json",
    "body", "expect", "timeout", "extract", NULL,
};

static const char *const poll_keys[] = {
    "name",    "method",  "url",   "headers", "json",     "body", "expect",
    "timeout", "extract", "until", "fail_if", "interval", NULL,
};

/* Where a scenario's templates may look, as the steps go by. */
struct scope {
	struct ynames defined; /* grows with each step's extractions */
	struct ynames later;   /* extracted somewhere in the scenario */
};

static void cond_release(struct scenario_cond *c)
{
	free(c->path);
	free(c->value);
}

static void step_release(struct scenario_step *st)
{
	struct scenario_request *r = &st->request;

	free(st->name);
	free(r->method);
	free(r->url);
	config_kv_free(r->headers, r->nheaders);
	free(r->json);
	free(r->body);
	free(r->expect);
	for (size_t i = 0; i < r->nextract; i++) {
		free(r->extract[i].var);
		free(r->extract[i].path);
	}
	free(r->extract);
	cond_release(&st->until);
	for (size_t i = 0; i < st->nfail_if; i++)
		cond_release(&st->fail_if[i]);
	free(st->fail_if);
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	free(sc->path);
	free(sc->name);
	free(sc->description);
	for (size_t i = 0; i < sc->nsteps; i++)
		step_release(&sc->steps[i]);
	free(sc->steps);
	config_kv_free(sc->variables, sc->nvariables);
	for (size_t i = 0; i < sc->ngates; i++)
		free(sc->gates[i].expr);
	free(sc->gates);
	for (size_t i = 0; i < sc->regression.nmetrics; i++)
		free(sc->regression.metrics[i]);
	free(sc->regression.metrics);
	free(sc);
}

static struct config_pos pos_of(const struct yfile *f, const struct ynode *n)
{
	struct config_pos pos = {f->path, n->line, n->column};

	return pos;
}

/* A positive duration. */
static int get_timeout(struct yfile *f, const struct ynode *m, const char *key,
                       uint64_t *out)
{
	const struct ynode *v = ymap_get(m, key);

	if (!v)
		return 0;
	if (yget_duration(f, v, key, out))
		return -1;
	if (!*out)
		return yerror(f, v, "'%s': must be more than 0", key);
	return 0;
}

static int load_runner(struct yfile *f, struct scenario_runner *r,
                       const struct ynode *m)
{
	static const char *const keys[] = {
	    "type",     "iterations", "concurrency",       "warmup",
	    "duration", "rate",       "iteration_timeout", NULL,
	};
	const struct ynode *v;
	long long n;
	int type;

	if (ymap_check_keys(f, m, keys, "runner"))
		return -1;
	if ((v = ymap_get(m, "type"))) {
		if (yget_enum(f, v, "type", runner_types, &type))
			return -1;
		r->type = (enum scenario_runner_type)type;
	}
	if ((v = ymap_get(m, "iterations"))) {
		if (r->type == RUNNER_DURATION)
			return yerror(f, v,
			              "'iterations': does not apply to runner "
			              "type 'duration', which runs for its "
			              "'duration'");
		if (yget_int(f, v, "iterations", 1, 1000000000, &n))
			return -1;
		r->iterations = (unsigned)n;
	}
	if ((v = ymap_get(m, "concurrency"))) {
		if (yget_int(f, v, "concurrency", 1, 100000, &n))
			return -1;
		r->concurrency = (unsigned)n;
	}
	if ((v = ymap_get(m, "warmup"))) {
		if (yget_int(f, v, "warmup", 0, 1000000000, &n))
			return -1;
		r->warmup = (unsigned)n;
	}
	if ((v = ymap_get(m, "duration"))) {
		if (r->type == RUNNER_CONSTANT)
			return yerror(f, v,
			              "'duration': does not apply to runner "
			              "type 'constant'; use type 'duration' "
			              "or 'rate'");
		if (get_timeout(f, m, "duration", &r->duration_ns))
			return -1;
	} else if (r->type == RUNNER_DURATION) {
		return yerror(f, m,
		              "runner type 'duration' requires "
		              "'duration'");
	}
	if ((v = ymap_get(m, "rate"))) {
		if (r->type != RUNNER_RATE)
			return yerror(f, v,
			              "'rate': does not apply to runner type "
			              "'%s'; use type 'rate'",
			              runner_types[r->type]);
		if (yget_number(f, v, "rate", &r->rate))
			return -1;
		if (r->rate <= 0 || r->rate > 1e6)
			return yerror(f, v,
			              "'rate': must be more than 0 and "
			              "at most 1000000 per second");
	} else if (r->type == RUNNER_RATE) {
		return yerror(f, m,
		              "runner type 'rate' requires 'rate' "
		              "(iterations per second)");
	}
	return get_timeout(f, m, "iteration_timeout", &r->iteration_timeout_ns);
}

static void json_string(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			strbuf_addstr(out, "\\\"");
			break;
		case '\\':
			strbuf_addstr(out, "\\\\");
			break;
		case '\n':
			strbuf_addstr(out, "\\n");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		case '\b':
			strbuf_addstr(out, "\\b");
			break;
		case '\f':
			strbuf_addstr(out, "\\f");
			break;
		default:
			if (*p < 0x20)
				strbuf_addf(out, "\\u%04x", *p);
			else
				strbuf_addch(out, *p);
		}
	}
	strbuf_addch(out, '"');
}

/* A YAML value as JSON text. Plain scalars keep their YAML type (42 stays
 * a number, true a boolean); strings are checked for templates. */
static int to_json(struct yfile *f, const struct ynode *n, struct strbuf *out,
                   const struct scope *sc)
{
	long long i;
	double d;

	if (n->kind == YNODE_MAP) {
		if (ymap_check_keys(f, n, NULL, "json"))
			return -1;
		strbuf_addch(out, '{');
		for (size_t k = 0; k < YMAP_PAIRS(n); k++) {
			const struct ynode *key = YMAP_KEY(n, k);

			if (k)
				strbuf_addch(out, ',');
			if (ycheck_template(f, key, "json", key->text,
			                    &sc->defined, &sc->later))
				return -1;
			json_string(out, key->text);
			strbuf_addch(out, ':');
			if (to_json(f, YMAP_VALUE(n, k), out, sc))
				return -1;
		}
		strbuf_addch(out, '}');
		return 0;
	}
	if (n->kind == YNODE_SEQ) {
		strbuf_addch(out, '[');
		for (size_t k = 0; k < n->n; k++) {
			if (k)
				strbuf_addch(out, ',');
			if (to_json(f, n->items[k], out, sc))
				return -1;
		}
		strbuf_addch(out, ']');
		return 0;
	}
	switch (n->type) {
	case YSCALAR_NULL:
		strbuf_addstr(out, "null");
		return 0;
	case YSCALAR_BOOL:
		strbuf_addstr(out, tolower((unsigned char)n->text[0]) == 't'
		                       ? "true"
		                       : "false");
		return 0;
	case YSCALAR_INT:
		if (yget_int(f, n, "json", LLONG_MIN, LLONG_MAX, &i))
			return -1;
		strbuf_addf(out, "%lld", i);
		return 0;
	case YSCALAR_FLOAT:
		if (yget_number(f, n, "json", &d))
			return -1;
		ydump_number(out, d);
		return 0;
	default:
		if (ycheck_template(f, n, "json", n->text, &sc->defined,
		                    &sc->later))
			return -1;
		json_string(out, n->text);
		return 0;
	}
}

/* Dotted path with indexes: server.addresses[0].addr, [0].id */
static int valid_json_path(const char *p)
{
	if (!*p)
		return 0;
	for (;;) {
		if (*p != '[') {
			size_t len = strcspn(p, ".[]");

			if (!len)
				return 0;
			p += len;
		}
		while (*p == '[') {
			size_t len = strspn(p + 1, "0123456789");

			if (!len || p[1 + len] != ']')
				return 0;
			p += len + 2;
		}
		if (!*p)
			return 1;
		if (*p != '.')
			return 0;
		p++;
	}
}

static int valid_header_name(const char *s)
{
	if (!*s)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789!#$%&'*+-.^_`|~") == strlen(s);
}

static int get_json_path(struct yfile *f, const struct ynode *v,
                         const char *key, char **out)
{
	if (yget_str(f, v, key, out))
		return -1;
	if (!valid_json_path(*out))
		return yerror(f, v,
		              "'%s': bad JSON path '%s'; expected names and "
		              "[index] joined by '.', such as "
		              "servers[0].id",
		              key, *out);
	return 0;
}

static int load_cond(struct yfile *f, struct scenario_cond *c,
                     const struct ynode *m, const char *what,
                     const struct scope *sc)
{
	static const char *const keys[] = {
	    "json",
	    "equals",
	    "not_equals",
	    NULL,
	};
	const struct ynode *v, *eq, *ne;

	if (ymap_check_keys(f, m, keys, what))
		return -1;
	c->pos = pos_of(f, m);
	if (ymap_require(f, m, "json", what, (struct ynode **)&v) ||
	    get_json_path(f, v, "json", &c->path))
		return -1;
	eq = ymap_get(m, "equals");
	ne = ymap_get(m, "not_equals");
	if (eq && ne)
		return yerror(f, ne,
		              "'not_equals': cannot be used with "
		              "'equals' in %s",
		              what);
	if (!eq && !ne)
		return yerror(f, m, "%s needs 'equals' or 'not_equals'", what);
	c->op = eq ? COND_EQ : COND_NE;
	v = eq ? eq : ne;
	if (yget_text(f, v, eq ? "equals" : "not_equals", &c->value))
		return -1;
	return ycheck_template(f, v, eq ? "equals" : "not_equals", c->value,
	                       &sc->defined, &sc->later);
}

static int load_expect(struct yfile *f, struct scenario_request *r,
                       const struct ynode *v)
{
	const struct ynode *const *items = (const struct ynode *const *)&v;
	size_t n = 1;
	long long code;

	if (v->kind == YNODE_SEQ) {
		if (!v->n)
			return yerror(f, v,
			              "'expect': needs at least one "
			              "status");
		items = (const struct ynode *const *)v->items;
		n = v->n;
	}
	r->expect = xcalloc(n, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		if (items[i]->kind != YNODE_SCALAR ||
		    items[i]->type != YSCALAR_INT)
			return yerror(f, items[i],
			              "'expect': expected an integer "
			              "status (or a list of them), found %s",
			              ynode_describe(items[i]));
		if (yget_int(f, items[i], "expect", 100, 599, &code))
			return -1;
		r->expect[r->nexpect++] = (int)code;
	}
	return 0;
}

static int load_extract(struct yfile *f, struct scenario_request *r,
                        const struct ynode *m, struct scope *sc)
{
	static const char *const keys[] = {"json", "header", NULL};

	if (ymap_check_keys(f, m, NULL, "extract"))
		return -1;
	r->extract = xcalloc(YMAP_PAIRS(m) + 1, sizeof(*r->extract));
	for (size_t i = 0; i < YMAP_PAIRS(m); i++) {
		const struct ynode *k = YMAP_KEY(m, i);
		const struct ynode *v = YMAP_VALUE(m, i), *j, *h;
		struct scenario_extract *e = &r->extract[i];

		if (config_check_variable_name(f, k))
			return -1;
		e->var = xstrdup(k->text);
		e->pos = pos_of(f, k);
		r->nextract++;
		if (ymap_check_keys(f, v, keys, "extract"))
			return -1;
		j = ymap_get(v, "json");
		h = ymap_get(v, "header");
		if (j && h)
			return yerror(f, h,
			              "'header': cannot be used with "
			              "'json' in one extraction");
		if (j) {
			e->from = EXTRACT_JSON;
			if (get_json_path(f, j, "json", &e->path))
				return -1;
		} else if (h) {
			e->from = EXTRACT_HEADER;
			if (yget_str(f, h, "header", &e->path))
				return -1;
			if (!valid_header_name(e->path))
				return yerror(f, h,
				              "'header': bad header "
				              "name '%s'",
				              e->path);
		} else {
			return yerror(f, v,
			              "extraction '%s' needs 'json' or "
			              "'header'",
			              e->var);
		}
	}
	return 0;
}

static int load_headers(struct yfile *f, struct scenario_request *r,
                        const struct ynode *m, const struct scope *sc)
{
	if (ymap_check_keys(f, m, NULL, "headers"))
		return -1;
	r->headers = xcalloc(YMAP_PAIRS(m) + 1, sizeof(*r->headers));
	for (size_t i = 0; i < YMAP_PAIRS(m); i++) {
		const struct ynode *k = YMAP_KEY(m, i);
		struct config_kv *h = &r->headers[i];

		if (!valid_header_name(k->text))
			return yerror(f, k, "bad header name '%s'", k->text);
		for (size_t j = 0; j < i; j++)
			if (!strcasecmp(r->headers[j].key, k->text))
				return yerror(f, k,
				              "duplicate header '%s' (header "
				              "names ignore case; first at "
				              "line %u)",
				              k->text, r->headers[j].pos.line);
		if (yget_text(f, YMAP_VALUE(m, i), k->text, &h->value))
			return -1;
		h->key = xstrdup(k->text);
		h->pos = pos_of(f, k);
		r->nheaders++;
		if (ycheck_template(f, YMAP_VALUE(m, i), k->text, h->value,
		                    &sc->defined, &sc->later))
			return -1;
	}
	return 0;
}

/* The parts a request step and a poll step share. */
static int load_request(struct yfile *f, struct scenario_step *st,
                        const struct ynode *m, const char *what,
                        struct scope *sc)
{
	struct scenario_request *r = &st->request;
	const struct ynode *v, *body;
	struct strbuf json = STRBUF_INIT;

	r->method = xstrdup("GET");
	if ((v = ymap_get(m, "method"))) {
		char *upper;
		size_t i;

		if (yget_str(f, v, "method", &upper))
			return -1;
		for (char *p = upper; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		for (i = 0; methods[i]; i++)
			if (!strcmp(methods[i], upper))
				break;
		if (!methods[i]) {
			free(upper);
			return yerror(f, v,
			              "'method': unknown value '%s'; valid: "
			              "GET, HEAD, POST, PUT, PATCH, DELETE, "
			              "OPTIONS",
			              v->text);
		}
		free(r->method);
		r->method = upper;
	}
	if (ymap_require(f, m, "url", what, (struct ynode **)&v) ||
	    yget_str(f, v, "url", &r->url) ||
	    ycheck_template(f, v, "url", r->url, &sc->defined, &sc->later))
		return -1;
	if (strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8) &&
	    strncmp(r->url, "{{", 2))
		return yerror(f, v,
		              "'url': expected an http:// or https:// "
		              "URL or one starting with a template such as "
		              "{{services.api}}, found '%s'",
		              r->url);
	if ((v = ymap_get(m, "headers")) && load_headers(f, r, v, sc))
		return -1;
	body = ymap_get(m, "body");
	if ((v = ymap_get(m, "json"))) {
		if (body)
			return yerror(f, body,
			              "'body': cannot be used with "
			              "'json' in one %s",
			              what);
		if (to_json(f, v, &json, sc)) {
			strbuf_release(&json);
			return -1;
		}
		r->json = strbuf_detach(&json, NULL);
	}
	if (body && (yget_text(f, body, "body", &r->body) ||
	             ycheck_template(f, body, "body", r->body, &sc->defined,
	                             &sc->later)))
		return -1;
	if ((v = ymap_get(m, "expect")) && load_expect(f, r, v))
		return -1;
	if (get_timeout(f, m, "timeout", &st->timeout_ns))
		return -1;
	/* Extractions are defined for the steps after this one. */
	if ((v = ymap_get(m, "extract")) && load_extract(f, r, v, sc))
		return -1;
	return 0;
}

static int load_poll(struct yfile *f, struct scenario_step *st,
                     const struct ynode *m, struct scope *sc)
{
	const struct ynode *v;

	if (ymap_require(f, m, "until", "poll step", (struct ynode **)&v) ||
	    load_cond(f, &st->until, v, "until", sc))
		return -1;
	if ((v = ymap_get(m, "fail_if"))) {
		if (yseq_expect(f, v, "fail_if"))
			return -1;
		st->fail_if = xcalloc(v->n + 1, sizeof(*st->fail_if));
		for (size_t i = 0; i < v->n; i++) {
			st->nfail_if++;
			if (load_cond(f, &st->fail_if[i], v->items[i],
			              "fail_if", sc))
				return -1;
		}
	}
	return get_timeout(f, m, "interval", &st->interval_ns);
}

static int load_sleep(struct yfile *f, struct scenario_step *st,
                      const struct ynode *v)
{
	static const char *const keys[] = {"name", "duration", NULL};
	const struct ynode *d = v;

	if (v->kind == YNODE_MAP) {
		if (ymap_check_keys(f, v, keys, "sleep step") ||
		    ymap_require(f, v, "duration", "sleep step",
		                 (struct ynode **)&d))
			return -1;
	}
	return yget_duration(f, d, v == d ? "sleep" : "duration",
	                     &st->sleep_ns);
}

static int load_step(struct yfile *f, struct scenario *s, size_t idx,
                     const struct ynode *item, struct scope *sc)
{
	struct scenario_step *st = &s->steps[idx];
	const struct ynode *k, *m, *v;
	int type;

	st->pos = pos_of(f, item);
	if (item->kind != YNODE_MAP || YMAP_PAIRS(item) != 1)
		return yerror(f, item,
		              "a step is a mapping with one key, request, "
		              "poll or sleep; found %s",
		              item->kind == YNODE_MAP ? "several keys"
		                                      : ynode_describe(item));
	k = YMAP_KEY(item, 0);
	m = YMAP_VALUE(item, 0);
	if (ymap_check_keys(f, item, step_types, "a step"))
		return -1;
	yget_enum(f, k, "step", step_types, &type);
	st->type = (enum scenario_step_type)type;
	st->interval_ns = 500000000ull;
	st->timeout_ns = type == STEP_POLL ? 60000000000ull : 30000000000ull;
	if (st->type == STEP_SLEEP && m->kind != YNODE_MAP) {
		if (load_sleep(f, st, m))
			return -1;
	} else {
		const char *what = st->type == STEP_POLL    ? "poll step"
		                   : st->type == STEP_SLEEP ? "sleep step"
		                                            : "request step";

		if (ymap_check_keys(f, m,
		                    st->type == STEP_POLL    ? poll_keys
		                    : st->type == STEP_SLEEP ? NULL
		                                             : request_keys,
		                    what))
			return -1;
		if ((v = ymap_get(m, "name"))) {
			if (yget_text(f, v, "name", &st->name))
				return -1;
			if (!*st->name)
				return yerror(f, v,
				              "'name': must not be "
				              "empty");
		}
		if (st->type == STEP_SLEEP) {
			if (load_sleep(f, st, m))
				return -1;
		} else if (load_request(f, st, m, what, sc) ||
		           (st->type == STEP_POLL && load_poll(f, st, m, sc))) {
			return -1;
		}
	}
	if (!st->name)
		st->name = xasprintf("%s %zu", step_types[type], idx + 1);
	for (size_t i = 0; i < idx; i++)
		if (!strcmp(s->steps[i].name, st->name))
			return yerror(
			    f, ymap_get(m, "name") ? ymap_get(m, "name") : item,
			    "duplicate step name '%s' (first at "
			    "line %u)",
			    st->name, s->steps[i].pos.line);
	for (size_t i = 0; i < st->request.nextract; i++)
		ynames_add(&sc->defined, st->request.extract[i].var);
	return 0;
}

/* Every name any step extracts, for "extracted only by a later step". */
static void collect_extracted(const struct ynode *steps, struct ynames *set)
{
	for (size_t i = 0; i < steps->n; i++) {
		const struct ynode *item = steps->items[i], *m, *ex;

		if (item->kind != YNODE_MAP || YMAP_PAIRS(item) != 1)
			continue;
		m = YMAP_VALUE(item, 0);
		if (m->kind != YNODE_MAP || !(ex = ymap_get(m, "extract")) ||
		    ex->kind != YNODE_MAP)
			continue;
		for (size_t j = 0; j < YMAP_PAIRS(ex); j++)
			if (YMAP_KEY(ex, j)->kind == YNODE_SCALAR)
				ynames_add(set, YMAP_KEY(ex, j)->text);
	}
}

static int load_steps(struct yfile *f, struct scenario *s,
                      const struct ynode *seq, struct scope *sc)
{
	if (yseq_expect(f, seq, "steps"))
		return -1;
	if (!seq->n)
		return yerror(f, seq, "'steps': needs at least one step");
	collect_extracted(seq, &sc->later);
	s->steps = xcalloc(seq->n, sizeof(*s->steps));
	for (size_t i = 0; i < seq->n; i++) {
		s->nsteps++;
		if (load_step(f, s, i, seq->items[i], sc))
			return -1;
	}
	return 0;
}

unsigned scenario_gate_column(const struct scenario_gate *g, unsigned col)
{
	/* A quote ahead of the expression moves it a column right. */
	return g->pos.column + (col ? col : 1) - 1 + (g->quoted ? 1 : 0);
}

static int load_gates(struct yfile *f, struct scenario *s,
                      const struct ynode *seq)
{
	if (yseq_expect(f, seq, "gates"))
		return -1;
	s->gates = xcalloc(seq->n + 1, sizeof(*s->gates));
	for (size_t i = 0; i < seq->n; i++) {
		struct scenario_gate *g = &s->gates[i];

		if (yget_str(f, seq->items[i], "gates", &g->expr))
			return -1;
		g->pos = pos_of(f, seq->items[i]);
		g->quoted = seq->items[i]->style == YSTYLE_SINGLE_QUOTED ||
		            seq->items[i]->style == YSTYLE_DOUBLE_QUOTED;
		s->ngates++;
		if (!*g->expr)
			return yerror(f, seq->items[i],
			              "'gates': a gate must not be empty");
	}
	return 0;
}

static int load_regression(struct yfile *f, struct scenario_regression *r,
                           const struct ynode *m)
{
	static const char *const keys[] = {
	    "alpha", "min_effect", "metrics", "fail_on_count_increase", NULL,
	};
	const struct ynode *v;

	if (ymap_check_keys(f, m, keys, "regression"))
		return -1;
	if ((v = ymap_get(m, "alpha"))) {
		if (yget_fraction(f, v, "alpha", &r->alpha))
			return -1;
		if (r->alpha <= 0 || r->alpha >= 1)
			return yerror(f, v,
			              "'alpha': must be between 0 and 1 "
			              "(0%% and 100%%), exclusive");
	}
	if ((v = ymap_get(m, "min_effect"))) {
		if (yget_fraction(f, v, "min_effect", &r->min_effect))
			return -1;
		if (r->min_effect < 0)
			return yerror(f, v,
			              "'min_effect': must not be "
			              "negative");
	}
	if ((v = ymap_get(m, "metrics"))) {
		if (yseq_expect(f, v, "metrics"))
			return -1;
		if (!v->n)
			return yerror(f, v,
			              "'metrics': needs at least one "
			              "metric");
		for (size_t i = 0; i < r->nmetrics; i++)
			free(r->metrics[i]);
		free(r->metrics);
		r->nmetrics = 0;
		r->metrics = xcalloc(v->n + 1, sizeof(char *));
		for (size_t i = 0; i < v->n; i++) {
			if (yget_str(f, v->items[i], "metrics", &r->metrics[i]))
				return -1;
			r->nmetrics++;
			if (!*r->metrics[i])
				return yerror(f, v->items[i],
				              "'metrics': a metric must not be "
				              "empty");
		}
	}
	if ((v = ymap_get(m, "fail_on_count_increase")) &&
	    yget_bool(f, v, "fail_on_count_increase",
	              &r->fail_on_count_increase))
		return -1;
	return 0;
}

static char *default_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".yaml"))
		len -= 5;
	return xstrndup(base, len);
}

static int valid_scenario_name(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	                 strlen(s);
}

static int load_root(struct yfile *f, struct scenario *s,
                     const struct config *cfg, struct scope *sc)
{
	static const char *const keys[] = {
	    "name",  "description", "runner",     "variables",
	    "steps", "gates",       "regression", NULL,
	};
	const struct ynode *root = f->root, *v;

	if (ymap_check_keys(f, root, keys, "the scenario"))
		return -1;
	if ((v = ymap_get(root, "name"))) {
		if (yget_str(f, v, "name", &s->name))
			return -1;
		if (!valid_scenario_name(s->name))
			return yerror(f, v,
			              "'name': bad scenario name '%s'; "
			              "expected letters, digits, '_', '.' or "
			              "'-'",
			              s->name);
	} else {
		s->name = default_name(s->path);
		if (!valid_scenario_name(s->name))
			return yerror(f, root,
			              "the file name '%s' is not a valid "
			              "scenario name; set 'name'",
			              s->name);
	}
	if ((v = ymap_get(root, "description")) &&
	    yget_str(f, v, "description", &s->description))
		return -1;
	if ((v = ymap_get(root, "runner")) && load_runner(f, &s->runner, v))
		return -1;
	/* Scenario variables may use the config's names and the built-ins;
	 * they are defined for every step. */
	ynames_add(&sc->defined, "iteration");
	ynames_add(&sc->defined, "uuid");
	for (size_t i = 0; cfg && i < cfg->nvariables; i++)
		ynames_add(&sc->defined, cfg->variables[i].key);
	for (size_t i = 0; cfg && i < cfg->nservices; i++) {
		char *ref = xasprintf("services.%s", cfg->services[i].name);

		ynames_add(&sc->defined, ref);
		free(ref);
	}
	if ((v = ymap_get(root, "variables"))) {
		if (config_load_variables(f, v, &s->variables, &s->nvariables))
			return -1;
		for (size_t i = 0; i < s->nvariables; i++)
			if (ycheck_template(
			        f, YMAP_VALUE(v, i), s->variables[i].key,
			        s->variables[i].value, &sc->defined, NULL))
				return -1;
		for (size_t i = 0; i < s->nvariables; i++)
			ynames_add(&sc->defined, s->variables[i].key);
	}
	if (ymap_require(f, root, "steps", "the scenario",
	                 (struct ynode **)&v) ||
	    load_steps(f, s, v, sc))
		return -1;
	if ((v = ymap_get(root, "gates")) && load_gates(f, s, v))
		return -1;
	if ((v = ymap_get(root, "regression"))) {
		s->has_regression = true;
		if (load_regression(f, &s->regression, v))
			return -1;
	}
	return 0;
}

/* The scenario names (NAME of NAME.yaml) in DIR into *names, for a
 * did-you-mean; a config file there is no scenario. */
static void scenario_names(struct ynames *names, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml") ||
		    !strcmp(e->d_name, "harness.yaml") || e->d_name[0] == '.')
			continue;
		e->d_name[len - 5] = '\0';
		ynames_add(names, e->d_name);
	}
	closedir(d);
}

/* NAME.yaml in the config's directory, $HARNESS_SCENARIOS_DIR, then the
 * source tree's scenarios/. A folder named twice (the config beside the
 * shipped scenarios) is searched and named once. */
static char *find_scenario(const char *name, const struct config *cfg,
                           char **cause)
{
	const char *dirs[3], *env = getenv("HARNESS_SCENARIOS_DIR"), *hint;
	char *real[3] = {NULL, NULL, NULL};
	struct ynames names = YNAMES_INIT;
	struct strbuf looked = STRBUF_INIT;
	size_t ndirs = 0, nreal = 0;
	char *found = NULL;

	if (strchr(name, '/') ||
	    (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".yaml")))
		return xstrdup(name);
	if (cfg && cfg->dir)
		dirs[ndirs++] = cfg->dir;
	if (env && *env)
		dirs[ndirs++] = env;
	dirs[ndirs++] = HARNESS_SCENARIOS_DIR;
	for (size_t i = 0; i < ndirs && !found; i++) {
		char *r = realpath(dirs[i], NULL);
		bool seen = false;

		for (size_t k = 0; k < nreal && r; k++)
			seen |= !strcmp(real[k], r);
		if (seen) {
			free(r);
			continue;
		}
		if (r)
			real[nreal++] = r;
		found = xasprintf("%s/%s.yaml", dirs[i], name);
		if (access(found, F_OK)) {
			free(found);
			found = NULL;
			strbuf_addf(&looked, "%s%s", looked.len ? ", " : "",
			            dirs[i]);
			scenario_names(&names, dirs[i]);
		}
	}
	if (!found) {
		static const char *const none[] = {NULL};

		hint = suggest_closest(name, names.v ? (const char *const *)
		                                             names.v
		                                     : none);
		*cause = xasprintf("scenario '%s' not found: no %s.yaml in "
		                   "%s%s%s%s",
		                   name, name, looked.buf,
		                   hint ? "; did you mean '" : "",
		                   hint ? hint : "", hint ? "'?" : "");
	}
	for (size_t k = 0; k < nreal; k++)
		free(real[k]);
	ynames_release(&names);
	strbuf_release(&looked);
	return found;
}

int scenario_load(struct scenario **out, const char *name_or_path,
                  const struct config *cfg, char **cause)
{
	struct scenario *s;
	struct scope sc = {YNAMES_INIT, YNAMES_INIT};
	struct yfile f = {0};
	char *ignored = NULL;
	char *path;
	int ret = -1;

	*out = NULL;
	if (!cause)
		cause = &ignored;
	*cause = NULL;
	path = find_scenario(name_or_path, cfg, cause);
	if (!path)
		goto out;
	s = xcalloc(1, sizeof(*s));
	s->path = path;
	s->runner.type = RUNNER_CONSTANT;
	s->runner.iterations = 10;
	s->runner.concurrency = 1;
	s->runner.iteration_timeout_ns = 60000000000ull;
	s->regression.alpha = 0.05;
	s->regression.min_effect = 0.05;
	s->regression.metrics = xcalloc(2, sizeof(char *));
	s->regression.metrics[0] = xstrdup("critical-path");
	s->regression.nmetrics = 1;
	s->regression.fail_on_count_increase = true;
	if (yfile_load(&f, s->path, cause) || load_root(&f, s, cfg, &sc)) {
		scenario_free(s);
		goto out;
	}
	*out = s;
	ret = 0;
out:
	yfile_release(&f);
	ynames_release(&sc.defined);
	ynames_release(&sc.later);
	free(ignored);
	return ret;
}

/* JSON text as a YAML flow value: the same characters, with a blank after
 * each ':' and ',' outside strings so that YAML reads the keys apart. */
static void dump_json(struct strbuf *out, const char *json)
{
	int in_str = 0;

	for (const char *p = json; *p; p++) {
		strbuf_addch(out, *p);
		if (in_str) {
			if (*p == '\\' && p[1])
				strbuf_addch(out, *++p);
			else if (*p == '"')
				in_str = 0;
		} else if (*p == '"') {
			in_str = 1;
		} else if (*p == ':' || *p == ',') {
			strbuf_addch(out, ' ');
		}
	}
}

static void dump_line(struct strbuf *out, const char *indent, const char *key,
                      const char *value)
{
	strbuf_addf(out, "%s%s: ", indent, key);
	ydump_str(out, value);
	strbuf_addch(out, '\n');
}

static void dump_dur(struct strbuf *out, const char *indent, const char *key,
                     uint64_t ns)
{
	strbuf_addf(out, "%s%s: ", indent, key);
	ydump_duration(out, ns);
	strbuf_addch(out, '\n');
}

static void dump_cond(struct strbuf *out, const char *first, const char *indent,
                      const struct scenario_cond *c)
{
	dump_line(out, first, "json", c->path);
	dump_line(out, indent, c->op == COND_EQ ? "equals" : "not_equals",
	          c->value);
}

static void dump_step(struct strbuf *out, const struct scenario_step *st)
{
	const struct scenario_request *r = &st->request;
	const char *in = "      ";

	strbuf_addf(out, "  - %s:\n", step_types[st->type]);
	dump_line(out, in, "name", st->name);
	if (st->type == STEP_SLEEP) {
		dump_dur(out, in, "duration", st->sleep_ns);
		return;
	}
	dump_line(out, in, "method", r->method);
	dump_line(out, in, "url", r->url);
	if (r->nheaders)
		config_dump_kv(out, in, "headers", r->headers, r->nheaders);
	if (r->json) {
		strbuf_addf(out, "%sjson: ", in);
		dump_json(out, r->json);
		strbuf_addch(out, '\n');
	}
	if (r->body)
		dump_line(out, in, "body", r->body);
	if (r->nexpect) {
		strbuf_addf(out, "%sexpect: [", in);
		for (size_t i = 0; i < r->nexpect; i++)
			strbuf_addf(out, "%s%d", i ? ", " : "", r->expect[i]);
		strbuf_addstr(out, "]\n");
	}
	dump_dur(out, in, "timeout", st->timeout_ns);
	if (r->nextract) {
		strbuf_addf(out, "%sextract:\n", in);
		for (size_t i = 0; i < r->nextract; i++) {
			const struct scenario_extract *e = &r->extract[i];

			strbuf_addf(out, "%s  ", in);
			ydump_str(out, e->var);
			strbuf_addstr(out, ":\n");
			dump_line(out, "          ",
			          e->from == EXTRACT_JSON ? "json" : "header",
			          e->path);
		}
	}
	if (st->type != STEP_POLL)
		return;
	strbuf_addf(out, "%suntil:\n", in);
	dump_cond(out, "        ", "        ", &st->until);
	if (st->nfail_if) {
		strbuf_addf(out, "%sfail_if:\n", in);
		for (size_t i = 0; i < st->nfail_if; i++)
			dump_cond(out, "        - ", "          ",
			          &st->fail_if[i]);
	}
	dump_dur(out, in, "interval", st->interval_ns);
}

void scenario_dump(const struct scenario *sc, struct strbuf *out)
{
	const struct scenario_runner *r = &sc->runner;

	dump_line(out, "", "name", sc->name);
	if (sc->description)
		dump_line(out, "", "description", sc->description);
	strbuf_addf(out, "runner:\n  type: %s\n", runner_types[r->type]);
	if (r->type != RUNNER_DURATION)
		strbuf_addf(out, "  iterations: %u\n", r->iterations);
	strbuf_addf(out, "  concurrency: %u\n  warmup: %u\n", r->concurrency,
	            r->warmup);
	if (r->type != RUNNER_CONSTANT && r->duration_ns)
		dump_dur(out, "  ", "duration", r->duration_ns);
	if (r->type == RUNNER_RATE) {
		strbuf_addstr(out, "  rate: ");
		ydump_number(out, r->rate);
		strbuf_addch(out, '\n');
	}
	dump_dur(out, "  ", "iteration_timeout", r->iteration_timeout_ns);
	config_dump_kv(out, "", "variables", sc->variables, sc->nvariables);
	strbuf_addstr(out, "steps:\n");
	for (size_t i = 0; i < sc->nsteps; i++)
		dump_step(out, &sc->steps[i]);
	strbuf_addf(out, "gates:%s\n", sc->ngates ? "" : " []");
	for (size_t i = 0; i < sc->ngates; i++) {
		strbuf_addstr(out, "  - ");
		ydump_str(out, sc->gates[i].expr);
		strbuf_addch(out, '\n');
	}
	if (!sc->has_regression)
		return;
	strbuf_addstr(out, "regression:\n  alpha: ");
	ydump_number(out, sc->regression.alpha);
	strbuf_addstr(out, "\n  min_effect: ");
	ydump_number(out, sc->regression.min_effect);
	strbuf_addstr(out, "\n  metrics:\n");
	for (size_t i = 0; i < sc->regression.nmetrics; i++) {
		strbuf_addstr(out, "    - ");
		ydump_str(out, sc->regression.metrics[i]);
		strbuf_addch(out, '\n');
	}
	strbuf_addf(out, "  fail_on_count_increase: %s\n",
	            sc->regression.fail_on_count_increase ? "true" : "false");
}
