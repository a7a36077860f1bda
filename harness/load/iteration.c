/* iteration.c: one iteration of a scenario: its steps in order with a fresh
 * variable scope, recorded as one trace (iteration > step > rest.call), run
 * as a task that a worker's event loop resumes whenever what it waits for
 * (a response, a time) has come, so one thread keeps many going. */
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

/* Where a task's iteration is, between the events it waits for. */
enum step_wait {
	WAIT_NONE,
	WAIT_REQUEST,		/* a request step's response */
	WAIT_POLL_RESPONSE,	/* a poll's try's response */
	WAIT_POLL_NEXT,		/* a poll's next try */
	WAIT_SLEEP,		/* a sleep step's end */
	WAIT_DEADLINE,		/* the iteration's deadline, then it fails */
};

/* A task's iteration as it runs: its scope, the step it is at, the spans
 * open, and its scratch, reused from one iteration to the next. */
struct load_task_run {
	struct load_task *t;
	struct load *ld;
	struct scope scope;
	size_t step;
	const struct scenario_step *st;
	const char *name;
	char namebuf[32];
	struct load_step_result *res;
	enum step_wait wait;
	uint64_t t0;		/* monotonic: the iteration's start */
	uint64_t intended_mono;
	uint64_t it_deadline;	/* monotonic */
	uint64_t s0;		/* monotonic: the step's start */
	uint64_t poll_deadline;	/* monotonic: the poll step's timeout */
	uint64_t try_start;	/* monotonic: the poll's try in flight */
	/* Spans: the iteration, its step, the request in flight. */
	struct htrace_span *root, *span, *call;
	struct http_response resp;
	json_t *json;		/* resp.body parsed, once */
	bool json_parsed;
	struct strbuf reason;	/* set when the step failed */
	bool interrupted;
	/* Scratch: the request's URL, body (libcurl reads it while the
	 * request is in flight), header lines, and an extracted value. */
	struct strbuf url, body, value;
	/* "Name: value" lines of one request, in buffers kept from one
	 * request to the next, and the lines as libcurl is handed them. */
	struct strbuf *hlines;
	const char **headers;
	size_t nheaders, ahlines, aheaders;
};

static void fail(struct load_task_run *r, const char *fmt, ...)
	HARNESS_PRINTF(2, 3);

static void fail(struct load_task_run *r, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&r->reason);
	strbuf_addf(&r->reason, "step '%s': ", r->name);
	va_start(ap, fmt);
	strbuf_vaddf(&r->reason, fmt, ap);
	va_end(ap);
}

static json_t *response_json(struct load_task_run *r)
{
	if (!r->json_parsed) {
		r->json = json_loadb(r->resp.body.buf, r->resp.body.len,
				     JSON_DECODE_ANY, NULL);
		r->json_parsed = true;
	}
	return r->json;
}

static void forget_response(struct load_task_run *r)
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
static bool fail_bounds(struct load_task_run *r)
{
	struct load *ld = r->ld;
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

static void add_header(struct load_task_run *r, const char *name,
		       const char *value)
{
	struct strbuf *sb;

	if (r->nheaders == r->ahlines) {
		size_t old = r->ahlines;

		ALLOC_GROW(r->hlines, r->nheaders + 1, r->ahlines);
		for (size_t i = old; i < r->ahlines; i++)
			strbuf_init(&r->hlines[i]);
	}
	sb = &r->hlines[r->nheaders++];
	strbuf_reset(sb);
	strbuf_addstr(sb, name);
	strbuf_addstr(sb, ": ");
	strbuf_addstr(sb, value);
}

static void inject_header(const char *name, const char *value, void *payload)
{
	add_header(payload, name, value);
}

static void clear_headers(struct load_task_run *r)
{
	r->nheaders = 0;
}

static int expand(struct load_task_run *r, struct strbuf *out,
		  const char *tmpl, bool json, const char *what)
{
	char *cause = NULL;
	int ret;

	strbuf_reset(out);
	if (json)
		ret = template_expand_json(out, tmpl, scope_lookup, &r->scope,
					   &cause);
	else
		ret = template_expand(out, tmpl, scope_lookup, &r->scope,
				      &cause);
	if (ret < 0) {
		fail(r, "%s: %s", what, cause ? cause : "bad template");
		free(cause);
	}
	return ret;
}

/* A context of span s, for its children and the headers it injects. */
static const struct htrace_context *context_of(struct htrace_span *s,
					       struct htrace_context *ctx)
{
	return htrace_span_context(s, ctx) == 0 ? ctx : NULL;
}

/* Begin sending the step's request once (a poll does so per try) as one
 * rest.call span named after the step's route (load_route). Returns 0
 * when it is on its way, -1 with the step failed otherwise. */
static int send_begin(struct load_task_run *r, uint64_t step_deadline)
{
	struct load *ld = r->ld;
	const struct scenario_request *req = &r->st->request;
	const char *method = req->method ? req->method : "GET";
	struct http_request hr = { 0 };
	struct htrace_context ctx;
	bool has_ctype = false;
	uint64_t now = time_mono_ns(), end;
	char *cause = NULL;

	forget_response(r);
	clear_headers(r);
	if (expand(r, &r->url, req->url, false, "url") < 0)
		return -1;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct config_kv *h = &req->headers[i];

		if (expand(r, &r->value, h->value, false, h->key) < 0)
			return -1;
		add_header(r, h->key, r->value.buf);
		if (!strcasecmp(h->key, "Content-Type"))
			has_ctype = true;
	}
	if (req->json) {
		if (expand(r, &r->body, req->json, true, "json") < 0)
			return -1;
		if (!has_ctype)
			add_header(r, "Content-Type", "application/json");
	} else if (req->body) {
		if (expand(r, &r->body, req->body, false, "body") < 0)
			return -1;
	}

	end = step_deadline < r->it_deadline ? step_deadline : r->it_deadline;
	hr.method = method;
	hr.url = r->url.buf;
	hr.body = req->json || req->body ? r->body.buf : NULL;
	hr.body_len = r->body.len;
	hr.timeout_ns = end > now ? end - now : 1000000;

	r->call = NULL;
	if (r->span) {
		/* Named after the step's route, not the URL: every iteration
		 * creates its own server, and a name per server would make
		 * each call an operation of its own in comparisons. */
		const char *route = ld->routes[r->step];

		r->call = htrace_begin_detached(context_of(r->span, &ctx),
						HTRACE_KIND_REST_CALL, route,
						NULL);
		htrace_attr_str(r->call, HTRACE_ATTR_HTTP_REQUEST_METHOD,
				method);
		htrace_attr_str(r->call, HTRACE_ATTR_HTTP_ROUTE,
				strchr(route, ' ') + 1);
		htrace_attr_str(r->call, HTRACE_ATTR_URL_FULL, hr.url);
		if (context_of(r->call, &ctx))
			htrace_inject_context(&ctx, inject_header, r);
	}
	/* The buffers have stopped growing: point at them now. */
	ALLOC_GROW(r->headers, r->nheaders, r->aheaders);
	for (size_t i = 0; i < r->nheaders; i++)
		r->headers[i] = r->hlines[i].buf;
	hr.headers = r->headers;
	hr.nheaders = r->nheaders;
	r->res->requests++;
	if (http_handle_start(&r->t->http, &hr, &r->resp, &cause) < 0) {
		htrace_set_error(r->call, cause);
		htrace_http_end(r->call, 0);
		r->call = NULL;
		r->res->status = 0;
		fail(r, "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* The request begun by send_begin is over (or, stopped, cut short).
 * Returns 0 when a response with an expected status came back, -1 with
 * the step failed otherwise. */
static int send_end(struct load_task_run *r)
{
	const struct scenario_request *req = &r->st->request;
	struct http_handle *h = &r->t->http;
	char *cause = NULL;

	if (h->busy) {
		http_handle_abort(h);
		htrace_set_error(r->call, "interrupted");
		htrace_http_end(r->call, 0);
		r->call = NULL;
		r->res->status = 0;
		if (!fail_bounds(r))
			fail(r, "interrupted");
		return -1;
	}
	if (http_handle_result(h, &cause) < 0) {
		htrace_set_error(r->call, cause);
		htrace_http_end(r->call, 0);
		r->call = NULL;
		r->res->status = 0;
		if (!fail_bounds(r))
			fail(r, "%s", cause);
		free(cause);
		return -1;
	}
	htrace_http_end(r->call, (int)r->resp.status);
	r->call = NULL;
	r->res->status = (int)r->resp.status;
	if (!status_expected(req, r->resp.status)) {
		struct strbuf sb = STRBUF_INIT;

		add_expected(&sb, req);
		strbuf_addf(&sb, ", got %ld: ", r->resp.status);
		add_body_excerpt(&sb, &r->resp.body);
		fail(r, "%s", sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	return 0;
}

static int extract_all(struct load_task_run *r)
{
	const struct scenario_request *req = &r->st->request;
	struct strbuf *v = &r->value;

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
			scope_set(&r->scope, ex->var, h);
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
		scope_set(&r->scope, ex->var, v->buf);
	}
	return 0;
}

static const char *op_text(enum scenario_cond_op op)
{
	return op == COND_EQ ? "==" : "!=";
}

static void wait_for(struct load_task_run *r, enum step_wait what,
		     uint64_t wake_mono)
{
	r->wait = what;
	if (what == WAIT_REQUEST || what == WAIT_POLL_RESPONSE) {
		r->t->wait = TASK_RESPONSE;
		r->t->ready = false;
	} else {
		r->t->wait = TASK_TIME;
		r->t->wake_mono = wake_mono;
	}
}

/* Wait until the iteration's deadline, then fail: a sleep or a poll's
 * interval that would end after it. */
static void wait_deadline(struct load_task_run *r)
{
	wait_for(r, WAIT_DEADLINE, r->it_deadline);
}

/* One try of the poll step; 1 when it is on its way, -1 when it failed. */
static int poll_try(struct load_task_run *r)
{
	r->try_start = time_mono_ns();
	if (send_begin(r, r->poll_deadline) < 0)
		return -1;
	wait_for(r, WAIT_POLL_RESPONSE, 0);
	return 1;
}

/* A poll's try is back: 0 when the condition holds (the step is done), 1
 * when it waits for the next try, -1 when it failed. */
static int poll_response(struct load_task_run *r)
{
	const struct scenario_step *st = r->st;
	uint64_t interval = st->interval_ns ? st->interval_ns
					    : POLL_INTERVAL_DEFAULT;
	uint64_t timeout = st->timeout_ns ? st->timeout_ns
					  : POLL_TIMEOUT_DEFAULT;
	struct strbuf *v = &r->value;
	uint64_t next;
	char buf[32];

	if (send_end(r) < 0)
		return -1;
	for (size_t i = 0; i < st->nfail_if; i++) {
		const struct scenario_cond *c = &st->fail_if[i];

		if (extract_cond_holds(response_json(r), c, v)) {
			fail(r, "fail_if %s %s '%s' held (value '%s')",
			     c->path, op_text(c->op), c->value, v->buf);
			return -1;
		}
	}
	if (!st->until.path ||
	    extract_cond_holds(response_json(r), &st->until, v))
		return extract_all(r);
	next = r->try_start + interval;
	if (next >= r->poll_deadline) {
		time_format_duration(buf, sizeof(buf), timeout);
		fail(r, "timed out after %s waiting for %s %s '%s' "
			"(last status %ld, value '%s')",
		     buf, st->until.path, op_text(st->until.op),
		     st->until.value, r->resp.status, v->buf);
		return -1;
	}
	if (next >= r->it_deadline)
		wait_deadline(r);
	else
		wait_for(r, WAIT_POLL_NEXT, next);
	return 1;
}

/* Begin step r->step: 0 when it is done at once, 1 when it waits, -1
 * when it failed. */
static int step_begin(struct load_task_run *r)
{
	struct load_iteration *it = &r->t->it;
	const struct scenario_step *st = &r->ld->sc->steps[r->step];
	struct htrace_context ctx;
	uint64_t timeout, until;

	if (!st->name)
		snprintf(r->namebuf, sizeof(r->namebuf), "step %zu",
			 r->step + 1);
	r->st = st;
	r->name = st->name ? st->name : r->namebuf;
	r->res = &it->steps[it->nsteps++];
	r->res->name = st->name;
	r->s0 = time_mono_ns();
	r->res->start_ns = load_wall_ns(r->ld, r->s0);
	r->span = NULL;
	if (r->root) {
		r->span = htrace_begin_detached(context_of(r->root, &ctx),
						HTRACE_KIND_STEP, r->name,
						NULL);
		htrace_attr_str(r->span, HTRACE_ATTR_HARNESS_STEP, r->name);
	}
	if (stopped(r->ld) || r->s0 >= r->it_deadline) {
		fail_bounds(r);
		return -1;
	}
	switch (st->type) {
	case STEP_REQUEST:
		timeout = st->timeout_ns ? st->timeout_ns
					 : REQUEST_TIMEOUT_DEFAULT;
		if (send_begin(r, r->s0 + timeout) < 0)
			return -1;
		wait_for(r, WAIT_REQUEST, 0);
		return 1;
	case STEP_POLL:
		timeout = st->timeout_ns ? st->timeout_ns
					 : POLL_TIMEOUT_DEFAULT;
		r->poll_deadline = r->s0 + timeout;
		return poll_try(r);
	case STEP_SLEEP:
		until = r->s0 + st->sleep_ns;
		if (until > r->it_deadline)
			wait_deadline(r);
		else
			wait_for(r, WAIT_SLEEP, until);
		return 1;
	}
	return -1;
}

/* Where the step that waited goes on: as step_begin returns. */
static int step_resume(struct load_task_run *r)
{
	switch (r->wait) {
	case WAIT_REQUEST:
		if (send_end(r) < 0)
			return -1;
		return extract_all(r);
	case WAIT_POLL_RESPONSE:
		return poll_response(r);
	case WAIT_POLL_NEXT:
		if (stopped(r->ld)) {
			fail_bounds(r);
			return -1;
		}
		return poll_try(r);
	case WAIT_SLEEP:
		if (stopped(r->ld)) {
			fail_bounds(r);
			return -1;
		}
		return 0;
	case WAIT_DEADLINE:
		fail_bounds(r);
		return -1;
	case WAIT_NONE:
		break;
	}
	return -1;
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

/* The iteration is over: its last step failed (ret < 0) or all went
 * through. */
static void iteration_end(struct load_task_run *r)
{
	struct load_task *t = r->t;
	struct load_iteration *it = &t->it;

	it->dur_ns = time_mono_ns() - r->t0;
	it->latency_ns = it->dur_ns + (r->t0 - r->intended_mono);
	if (r->root) {
		if (!it->ok)
			htrace_set_error(r->root, it->reason);
		htrace_end(r->root);
		r->root = NULL;
	}
	forget_response(r);
	clear_headers(r);
	scope_release(&r->scope);
	memset(&r->scope, 0, sizeof(r->scope));
	r->wait = WAIT_NONE;
	t->wait = TASK_IDLE;
	t->finished = true;
}

/* A step has come to its end with ret (0 ok, -1 failed): close it, then
 * go on with the next steps until one waits or the iteration is over. */
static void step_end(struct load_task_run *r, int ret)
{
	struct load_iteration *it = &r->t->it;

	for (;;) {
		r->res->dur_ns = time_mono_ns() - r->s0;
		r->res->ok = ret == 0;
		if (r->span) {
			if (!r->res->ok)
				htrace_set_error(r->span, r->reason.buf);
			htrace_end(r->span);
			r->span = NULL;
		}
		if (!r->res->ok) {
			it->ok = false;
			it->interrupted = r->interrupted;
			it->reason = strbuf_detach(&r->reason, NULL);
			break;
		}
		if (++r->step == r->ld->sc->nsteps)
			break;
		ret = step_begin(r);
		if (ret > 0)
			return;
	}
	iteration_end(r);
}

static void on_response(struct http_handle *h, void *payload)
{
	struct load_task *t = payload;

	(void)h;
	t->ready = true;
	t->w->nready++;
}

int load_task_init(struct load_task *t, struct load_worker *w, char **cause)
{
	struct load_task_run *r = xcalloc(1, sizeof(*r));

	memset(t, 0, sizeof(*t));
	t->w = w;
	t->run = r;
	r->t = t;
	r->ld = w->ld;
	http_response_init(&r->resp);
	strbuf_init(&r->reason);
	strbuf_init(&r->url);
	strbuf_init(&r->body);
	strbuf_init(&r->value);
	return http_handle_init(&t->http, &w->http, on_response, t, cause);
}

void load_task_release(struct load_task *t)
{
	struct load_task_run *r = t->run;

	http_handle_release(&t->http);
	if (r) {
		forget_response(r);
		for (size_t i = 0; i < r->ahlines; i++)
			strbuf_release(&r->hlines[i]);
		free(r->hlines);
		free(r->headers);
		scope_release(&r->scope);
		http_response_release(&r->resp);
		strbuf_release(&r->reason);
		strbuf_release(&r->url);
		strbuf_release(&r->body);
		strbuf_release(&r->value);
		free(r);
	}
	load_iteration_release(&t->it);
	memset(t, 0, sizeof(*t));
}

void load_task_begin(struct load_task *t, uint64_t intended_mono,
		     uint64_t timeout_ns)
{
	struct load_task_run *r = t->run;
	struct load_iteration *it = &t->it;
	const struct scenario *sc = r->ld->sc;
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE];
	int ret;

	memset(&r->scope, 0, sizeof(r->scope));
	r->scope.ld = r->ld;
	snprintf(r->scope.seq, sizeof(r->scope.seq), "%" PRIu64, it->seq);
	strbuf_reset(&r->reason);
	r->interrupted = false;
	r->step = 0;
	r->t0 = time_mono_ns();
	r->it_deadline = r->t0 + timeout_ns;

	t->finished = false;
	it->start_ns = load_wall_ns(r->ld, r->t0);
	if (!intended_mono || intended_mono > r->t0)
		intended_mono = r->t0;
	r->intended_mono = intended_mono;
	it->intended_ns = load_wall_ns(r->ld, intended_mono);
	it->trace_id[0] = '\0';
	it->steps = xcalloc(sc->nsteps ? sc->nsteps : 1, sizeof(*it->steps));
	it->nsteps = 0;
	it->ok = true;
	r->root = NULL;
	if (r->ld->opts.trace) {
		r->root = htrace_begin_detached(NULL, HTRACE_KIND_ITERATION,
						sc->name ? sc->name
							 : "iteration",
						trace_id);
		if (r->root) {
			hex_id(it->trace_id, trace_id);
			htrace_attr_int(r->root, HTRACE_ATTR_HARNESS_ITERATION,
					(int64_t)it->seq);
			if (it->warmup)
				htrace_attr_bool(r->root, "harness.warmup", 1);
		}
	}
	ret = step_begin(r);
	if (ret <= 0)
		step_end(r, ret);
}

void load_task_resume(struct load_task *t)
{
	struct load_task_run *r = t->run;
	int ret;

	if (t->wait == TASK_IDLE || t->wait == TASK_SLOT)
		return;
	t->ready = false;
	ret = step_resume(r);
	if (ret <= 0)
		step_end(r, ret);
}

void load_iteration_release(struct load_iteration *it)
{
	free(it->reason);
	free(it->steps);
	it->reason = NULL;
	it->steps = NULL;
	it->nsteps = 0;
}
