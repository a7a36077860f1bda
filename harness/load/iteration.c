/* iteration.c: one iteration of a scenario: its steps in order with a fresh
 * variable scope, recorded as one trace (iteration > step > rest.call). */
#include "load/load-int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "config/template.h"
#include "htrace.h"
#include "load/extract.h"
#include "util/error.h"
#include "util/timeutil.h"

#define NS_PER_SEC 1000000000ULL
#define REQUEST_TIMEOUT_DEFAULT (30 * NS_PER_SEC)
#define POLL_TIMEOUT_DEFAULT (60 * NS_PER_SEC)
#define POLL_INTERVAL_DEFAULT (500 * 1000000ULL)
/* How much of a response body a failure reason quotes. */
#define REASON_BODY_MAX 200

/* The names an iteration can see: what its steps extracted, then the
 * iteration's own values, then the load's variables. */
struct scope {
	struct load *ld;
	char seq[24];
	char uuid[37];
	struct load_var *vars;
	size_t nvars, alloc;
};

/* A random (version 4) UUID, as 36 characters of text. */
static void make_uuid(char out[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n <= 0)
			die("cannot read random bytes for a uuid");
		got += (size_t)n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const char *scope_lookup(const char *name, void *payload)
{
	struct scope *s = payload;

	for (size_t i = s->nvars; i-- > 0;)
		if (!strcmp(s->vars[i].name, name))
			return s->vars[i].value;
	if (!strcmp(name, "iteration"))
		return s->seq;
	if (!strcmp(name, "uuid")) {
		/* Made on first use: most iterations need none. */
		if (!s->uuid[0])
			make_uuid(s->uuid);
		return s->uuid;
	}
	for (size_t i = 0; i < s->ld->nvars; i++)
		if (!strcmp(s->ld->vars[i].name, name))
			return s->ld->vars[i].value;
	return NULL;
}

static void scope_set(struct scope *s, const char *name, const char *value)
{
	for (size_t i = 0; i < s->nvars; i++) {
		if (!strcmp(s->vars[i].name, name)) {
			free(s->vars[i].value);
			s->vars[i].value = xstrdup(value);
			return;
		}
	}
	ALLOC_GROW(s->vars, s->nvars + 1, s->alloc);
	s->vars[s->nvars].name = xstrdup(name);
	s->vars[s->nvars].value = xstrdup(value);
	s->nvars++;
}

static void scope_release(struct scope *s)
{
	for (size_t i = 0; i < s->nvars; i++) {
		free(s->vars[i].name);
		free(s->vars[i].value);
	}
	free(s->vars);
}

/* Append at most REASON_BODY_MAX bytes of body on one line, cut at a
 * character boundary. */
static void add_body_excerpt(struct strbuf *sb, const struct strbuf *body)
{
	size_t n = body->len;

	if (!n) {
		strbuf_addstr(sb, "(empty body)");
		return;
	}
	if (n > REASON_BODY_MAX) {
		n = REASON_BODY_MAX;
		while (n && ((unsigned char)body->buf[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)body->buf[i];

		strbuf_addch(sb, ch < 0x20 || ch == 0x7f ? ' ' : ch);
	}
	if (n < body->len)
		strbuf_addstr(sb, "...");
}

static bool status_expected(const struct scenario_request *req, long status)
{
	if (!req->nexpect)
		return status >= 200 && status <= 299;
	for (size_t i = 0; i < req->nexpect; i++)
		if (req->expect[i] == status)
			return true;
	return false;
}

static void add_expected(struct strbuf *sb, const struct scenario_request *req)
{
	if (!req->nexpect) {
		strbuf_addstr(sb, "expected a 2xx status");
		return;
	}
	strbuf_addstr(sb, "expected status ");
	for (size_t i = 0; i < req->nexpect; i++) {
		if (i)
			strbuf_addstr(sb, i + 1 == req->nexpect ? " or " : ", ");
		strbuf_addf(sb, "%d", req->expect[i]);
	}
}

/* What one step is doing: the iteration's state and the step's outcome. */
struct step_run {
	struct load_worker *w;
	struct scope *scope;
	const struct scenario_step *step;
	const char *name;
	struct load_step_result *res;
	uint64_t it_deadline;	/* monotonic */
	struct http_response resp;
	json_t *json;		/* resp.body parsed, once */
	bool json_parsed;
	struct strbuf reason;	/* set when the step failed */
	bool interrupted;
};

static void fail(struct step_run *r, const char *fmt, ...)
	HARNESS_PRINTF(2, 3);

static void fail(struct step_run *r, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&r->reason);
	strbuf_addf(&r->reason, "step '%s': ", r->name);
	va_start(ap, fmt);
	strbuf_vaddf(&r->reason, fmt, ap);
	va_end(ap);
}

static json_t *response_json(struct step_run *r)
{
	if (!r->json_parsed) {
		r->json = json_loadb(r->resp.body.buf, r->resp.body.len,
				     JSON_DECODE_ANY, NULL);
		r->json_parsed = true;
	}
	return r->json;
}

static void forget_response(struct step_run *r)
{
	json_decref(r->json);
	r->json = NULL;
	r->json_parsed = false;
}

static bool stopped(struct load *ld)
{
	return atomic_load_explicit(&ld->stop, memory_order_relaxed) != 0;
}

/* When a step ran into the iteration's deadline or the stop flag, that is
 * the reason, rather than the timeout or abort it caused. */
static bool fail_bounds(struct step_run *r)
{
	struct load *ld = r->w->ld;
	char buf[32];

	if (stopped(ld)) {
		r->interrupted = true;
		fail(r, "interrupted");
		return true;
	}
	if (time_mono_ns() >= r->it_deadline) {
		time_format_duration(buf, sizeof(buf),
				     ld->sc->runner.iteration_timeout_ns);
		fail(r, "iteration timed out after %s", buf);
		return true;
	}
	return false;
}

static void add_header(struct load_worker *w, const char *name,
		       const char *value)
{
	ALLOC_GROW(w->headers, w->nheaders + 1, w->aheaders);
	w->headers[w->nheaders++] = xasprintf("%s: %s", name, value);
}

static void inject_header(const char *name, const char *value, void *payload)
{
	add_header(payload, name, value);
}

static void clear_headers(struct load_worker *w)
{
	for (size_t i = 0; i < w->nheaders; i++)
		free(w->headers[i]);
	w->nheaders = 0;
}

static int expand(struct step_run *r, struct strbuf *out, const char *tmpl,
		  bool json, const char *what)
{
	char *cause = NULL;
	int ret;

	strbuf_reset(out);
	if (json)
		ret = template_expand_json(out, tmpl, scope_lookup, r->scope,
					   &cause);
	else
		ret = template_expand(out, tmpl, scope_lookup, r->scope,
				      &cause);
	if (ret < 0) {
		fail(r, "%s: %s", what, cause ? cause : "bad template");
		free(cause);
	}
	return ret;
}

/* Send the step's request once (a poll calls this per try) as one
 * rest.call span named after the step's route (load_route). Returns 0
 * when a response with an expected status came back, -1 with the step
 * failed otherwise. */
static int send_once(struct step_run *r, uint64_t step_deadline)
{
	struct load_worker *w = r->w;
	const struct scenario_request *req = &r->step->request;
	const char *method = req->method ? req->method : "GET";
	struct http_request hr = { 0 };
	struct htrace_span *span = NULL;
	bool has_ctype = false;
	uint64_t now = time_mono_ns(), end;
	char *cause = NULL;
	struct strbuf value = STRBUF_INIT;
	int ret = -1;

	forget_response(r);
	clear_headers(w);
	if (expand(r, &w->url, req->url, false, "url") < 0)
		goto out;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct config_kv *h = &req->headers[i];

		if (expand(r, &value, h->value, false, h->key) < 0)
			goto out;
		add_header(w, h->key, value.buf);
		if (!strcasecmp(h->key, "Content-Type"))
			has_ctype = true;
	}
	if (req->json) {
		if (expand(r, &w->body, req->json, true, "json") < 0)
			goto out;
		if (!has_ctype)
			add_header(w, "Content-Type", "application/json");
	} else if (req->body) {
		if (expand(r, &w->body, req->body, false, "body") < 0)
			goto out;
	}

	end = step_deadline < r->it_deadline ? step_deadline : r->it_deadline;
	hr.method = method;
	hr.url = w->url.buf;
	hr.body = req->json || req->body ? w->body.buf : NULL;
	hr.body_len = w->body.len;
	hr.timeout_ns = end > now ? end - now : 1000000;

	if (w->ld->opts.trace) {
		/* Named after the step's route, not the URL: every iteration
		 * creates its own server, and a name per server would make
		 * each call an operation of its own in comparisons. */
		const char *route = w->ld->routes[r->step - w->ld->sc->steps];

		span = htrace_begin(HTRACE_KIND_REST_CALL, route);
		htrace_attr_str(span, HTRACE_ATTR_HTTP_REQUEST_METHOD, method);
		htrace_attr_str(span, HTRACE_ATTR_HTTP_ROUTE,
				strchr(route, ' ') + 1);
		htrace_attr_str(span, HTRACE_ATTR_URL_FULL, hr.url);
		htrace_inject(inject_header, w);
	}
	hr.headers = (const char *const *)w->headers;
	hr.nheaders = w->nheaders;
	r->res->requests++;
	if (http_client_send(&w->http, &hr, &r->resp, &cause) < 0) {
		if (span)
			htrace_set_error(span, cause);
		htrace_http_end(span, 0);
		r->res->status = 0;
		if (!fail_bounds(r))
			fail(r, "%s", cause);
		free(cause);
		goto out;
	}
	htrace_http_end(span, (int)r->resp.status);
	r->res->status = (int)r->resp.status;
	if (!status_expected(req, r->resp.status)) {
		struct strbuf sb = STRBUF_INIT;

		add_expected(&sb, req);
		strbuf_addf(&sb, ", got %ld: ", r->resp.status);
		add_body_excerpt(&sb, &r->resp.body);
		fail(r, "%s", sb.buf);
		strbuf_release(&sb);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&value);
	return ret;
}

static int extract_all(struct step_run *r)
{
	const struct scenario_request *req = &r->step->request;
	struct strbuf *v = &r->w->value;

	for (size_t i = 0; i < req->nextract; i++) {
		const struct scenario_extract *ex = &req->extract[i];
		char *cause = NULL;
		json_t *j;
		const char *h;

		if (ex->from == EXTRACT_HEADER) {
			h = http_response_header(&r->resp, ex->path);
			if (!h) {
				fail(r, "no header '%s' in the response "
					"(status %ld)", ex->path,
				     r->resp.status);
				return -1;
			}
			scope_set(r->scope, ex->var, h);
			continue;
		}
		j = extract_json_path(response_json(r), ex->path, &cause);
		if (!j) {
			struct strbuf sb = STRBUF_INIT;

			add_body_excerpt(&sb, &r->resp.body);
			fail(r, "%s in %s", cause, sb.buf);
			strbuf_release(&sb);
			free(cause);
			return -1;
		}
		strbuf_reset(v);
		extract_json_text(v, j);
		scope_set(r->scope, ex->var, v->buf);
	}
	return 0;
}

static const char *op_text(enum scenario_cond_op op)
{
	return op == COND_EQ ? "==" : "!=";
}

static int run_request(struct step_run *r)
{
	uint64_t timeout = r->step->timeout_ns ? r->step->timeout_ns
					       : REQUEST_TIMEOUT_DEFAULT;

	if (send_once(r, time_mono_ns() + timeout) < 0)
		return -1;
	return extract_all(r);
}

static int run_poll(struct step_run *r)
{
	const struct scenario_step *st = r->step;
	uint64_t timeout = st->timeout_ns ? st->timeout_ns
					  : POLL_TIMEOUT_DEFAULT;
	uint64_t interval = st->interval_ns ? st->interval_ns
					    : POLL_INTERVAL_DEFAULT;
	uint64_t t0 = time_mono_ns(), deadline = t0 + timeout;
	struct strbuf *v = &r->w->value;
	char buf[32];

	for (;;) {
		uint64_t try_start = time_mono_ns(), next;

		if (send_once(r, deadline) < 0)
			return -1;
		for (size_t i = 0; i < st->nfail_if; i++) {
			const struct scenario_cond *c = &st->fail_if[i];

			if (extract_cond_holds(response_json(r), c, v)) {
				fail(r, "fail_if %s %s '%s' held (value '%s')",
				     c->path, op_text(c->op), c->value,
				     v->buf);
				return -1;
			}
		}
		if (!st->until.path ||
		    extract_cond_holds(response_json(r), &st->until, v))
			return extract_all(r);
		next = try_start + interval;
		if (next >= deadline) {
			time_format_duration(buf, sizeof(buf), timeout);
			fail(r, "timed out after %s waiting for %s %s '%s' "
				"(last status %ld, value '%s')",
			     buf, st->until.path, op_text(st->until.op),
			     st->until.value, r->resp.status, v->buf);
			return -1;
		}
		if (next >= r->it_deadline) {
			load_sleep_until(r->w->ld, r->it_deadline);
			fail_bounds(r);
			return -1;
		}
		if (!load_sleep_until(r->w->ld, next)) {
			fail_bounds(r);
			return -1;
		}
	}
}

static int run_sleep(struct step_run *r)
{
	uint64_t until = time_mono_ns() + r->step->sleep_ns;

	if (until > r->it_deadline) {
		load_sleep_until(r->w->ld, r->it_deadline);
		fail_bounds(r);
		return -1;
	}
	if (!load_sleep_until(r->w->ld, until)) {
		fail_bounds(r);
		return -1;
	}
	return 0;
}

static void hex_id(char out[33], const uint8_t id[HTRACE_TRACE_ID_SIZE])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < HTRACE_TRACE_ID_SIZE; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[32] = '\0';
}

void load_iteration_run(struct load_worker *w, struct load_iteration *it,
			uint64_t intended_mono, uint64_t timeout_ns)
{
	struct load *ld = w->ld;
	const struct scenario *sc = ld->sc;
	struct scope scope = { .ld = ld };
	struct step_run r = { .w = w, .scope = &scope };
	struct htrace_span *root = NULL;
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE];
	uint64_t t0 = time_mono_ns(), deadline_mono;
	char namebuf[32];

	snprintf(scope.seq, sizeof(scope.seq), "%" PRIu64, it->seq);
	http_response_init(&r.resp);
	strbuf_init(&r.reason);
	deadline_mono = t0 + timeout_ns;
	r.it_deadline = deadline_mono;

	it->start_ns = time_wall_ns();
	if (!intended_mono || intended_mono > t0)
		intended_mono = t0;
	it->intended_ns = it->start_ns - (t0 - intended_mono);
	it->trace_id[0] = '\0';
	it->steps = xcalloc(sc->nsteps ? sc->nsteps : 1, sizeof(*it->steps));
	it->nsteps = 0;
	it->ok = true;
	if (ld->opts.trace) {
		root = htrace_begin_root(HTRACE_KIND_ITERATION,
					 sc->name ? sc->name : "iteration",
					 trace_id);
		if (root) {
			hex_id(it->trace_id, trace_id);
			htrace_attr_int(root, HTRACE_ATTR_HARNESS_ITERATION,
					(int64_t)it->seq);
			if (it->warmup)
				htrace_attr_bool(root, "harness.warmup", 1);
		}
	}

	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct scenario_step *st = &sc->steps[i];
		struct load_step_result *res = &it->steps[it->nsteps++];
		struct htrace_span *span = NULL;
		uint64_t s0;
		int ret;

		if (!st->name)
			snprintf(namebuf, sizeof(namebuf), "step %zu", i + 1);
		r.step = st;
		r.name = st->name ? st->name : namebuf;
		r.res = res;
		res->name = st->name;
		res->start_ns = time_wall_ns();
		s0 = time_mono_ns();
		if (root) {
			span = htrace_begin(HTRACE_KIND_STEP, r.name);
			htrace_attr_str(span, HTRACE_ATTR_HARNESS_STEP,
					r.name);
		}
		if (stopped(ld) || s0 >= deadline_mono) {
			fail_bounds(&r);
			ret = -1;
		} else if (st->type == STEP_REQUEST) {
			ret = run_request(&r);
		} else if (st->type == STEP_POLL) {
			ret = run_poll(&r);
		} else {
			ret = run_sleep(&r);
		}
		res->dur_ns = time_mono_ns() - s0;
		res->ok = ret == 0;
		if (span) {
			if (!res->ok)
				htrace_set_error(span, r.reason.buf);
			htrace_end(span);
		}
		if (!res->ok) {
			it->ok = false;
			it->interrupted = r.interrupted;
			it->reason = strbuf_detach(&r.reason, NULL);
			break;
		}
	}

	it->dur_ns = time_mono_ns() - t0;
	it->latency_ns = it->dur_ns + (t0 - intended_mono);
	if (root) {
		if (!it->ok)
			htrace_set_error(root, it->reason);
		htrace_end(root);
	}
	forget_response(&r);
	http_response_release(&r.resp);
	strbuf_release(&r.reason);
	clear_headers(w);
	scope_release(&scope);
}

void load_iteration_release(struct load_iteration *it)
{
	free(it->reason);
	free(it->steps);
	it->reason = NULL;
	it->steps = NULL;
	it->nsteps = 0;
}
