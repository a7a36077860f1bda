/* load.c: a load's life: checking the scenario's templates and resolving
 * its variables and services before the run, then the warm-up and measured
 * phases, then the results. */
#include "load/load-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/template.h"
#include "util/error.h"
#include "util/timeutil.h"

#define NS_PER_SEC 1000000000ULL
#define SERVICES_PREFIX "services."

static struct load_var *find_var(struct load *ld, const char *name)
{
	for (size_t i = 0; i < ld->nvars; i++)
		if (!strcmp(ld->vars[i].name, name))
			return &ld->vars[i];
	return NULL;
}

static void set_var(struct load *ld, size_t *alloc, const char *name,
		    const char *value)
{
	struct load_var *v = find_var(ld, name);

	if (v) {
		free(v->value);
		v->value = xstrdup(value);
		return;
	}
	ALLOC_GROW(ld->vars, ld->nvars + 1, *alloc);
	ld->vars[ld->nvars].name = xstrdup(name);
	ld->vars[ld->nvars].value = xstrdup(value);
	ld->nvars++;
}

static const char *var_lookup(const char *name, void *payload)
{
	struct load_var *v = find_var(payload, name);

	return v ? v->value : NULL;
}

/* The state of the walk over every template before the run. */
struct check {
	struct load *ld;
	size_t *alloc;
	const char *where;	/* "step 'x' url", "variable 'y'" */
	/* Steps: names defined by earlier steps' extractions. */
	const struct scenario *sc;
	size_t step;
	bool in_step;
	char *cause;
};

static int resolve_service(const char *name, size_t offset, void *payload)
{
	struct check *c = payload;
	const char *svc = name + strlen(SERVICES_PREFIX);
	const char *url;

	if (strncmp(name, SERVICES_PREFIX, strlen(SERVICES_PREFIX)) ||
	    find_var(c->ld, name))
		return 0;
	url = c->ld->opts.service_url
		      ? c->ld->opts.service_url(svc, c->ld->opts.service_payload)
		      : NULL;
	if (!url) {
		c->cause = xasprintf("%s: unknown service '%s' in "
				     "{{%s}}", c->where, svc, name);
		return -1;
	}
	set_var(c->ld, c->alloc, name, url);
	return 0;
}

static bool extracted_before(const struct scenario *sc, size_t step,
			     const char *name)
{
	for (size_t i = 0; i < step; i++) {
		const struct scenario_request *r = &sc->steps[i].request;

		if (sc->steps[i].type == STEP_SLEEP)
			continue;
		for (size_t j = 0; j < r->nextract; j++)
			if (!strcmp(r->extract[j].var, name))
				return true;
	}
	return false;
}

static int check_defined(const char *name, size_t offset, void *payload)
{
	struct check *c = payload;

	if (find_var(c->ld, name))
		return 0;
	if (c->in_step && (!strcmp(name, "iteration") ||
			   !strcmp(name, "uuid") ||
			   extracted_before(c->sc, c->step, name)))
		return 0;
	c->cause = xasprintf("%s: {{%s}} is not defined", c->where, name);
	return -1;
}

/* Run fn over the names of tmpl; a syntax error or fn's refusal sets
 * c->cause. */
static int walk(struct check *c, const char *tmpl, template_name_fn fn)
{
	char *cause = NULL;
	int ret;

	if (!tmpl)
		return 0;
	ret = template_foreach_name(tmpl, fn, c, &cause);
	if (ret < 0 && cause && !c->cause) {
		c->cause = xasprintf("%s: %s", c->where, cause);
	}
	free(cause);
	return ret ? -1 : 0;
}

static int walk_step(struct check *c, const struct scenario_step *st,
		     size_t i, template_name_fn fn)
{
	const struct scenario_request *r = &st->request;
	char where[160];
	const char *name = st->name ? st->name : "";

	if (st->type == STEP_SLEEP)
		return 0;
	c->where = where;
	c->step = i;
	c->in_step = true;
	snprintf(where, sizeof(where), "step '%s' url", name);
	if (!r->url) {
		c->cause = xasprintf("step '%s': no url", name);
		return -1;
	}
	if (walk(c, r->url, fn) < 0)
		return -1;
	for (size_t j = 0; j < r->nheaders; j++) {
		snprintf(where, sizeof(where), "step '%s' header '%s'", name,
			 r->headers[j].key);
		if (walk(c, r->headers[j].value, fn) < 0)
			return -1;
	}
	snprintf(where, sizeof(where), "step '%s' json", name);
	if (walk(c, r->json, fn) < 0)
		return -1;
	snprintf(where, sizeof(where), "step '%s' body", name);
	return walk(c, r->body, fn);
}

/* Expand a list of variables in order: each may use services and the
 * variables set before it. */
static int expand_vars(struct check *c, const struct config_kv *kv, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	char where[160];
	char *cause = NULL;
	int ret = 0;

	c->where = where;
	c->in_step = false;
	for (size_t i = 0; i < n && !ret; i++) {
		snprintf(where, sizeof(where), "variable '%s'", kv[i].key);
		if (walk(c, kv[i].value, resolve_service) < 0 ||
		    walk(c, kv[i].value, check_defined) < 0) {
			ret = -1;
			break;
		}
		strbuf_reset(&sb);
		if (template_expand(&sb, kv[i].value, var_lookup, c->ld,
				    &cause) < 0) {
			c->cause = xasprintf("%s: %s", where, cause);
			free(cause);
			ret = -1;
			break;
		}
		set_var(c->ld, c->alloc, kv[i].key, sb.buf);
	}
	strbuf_release(&sb);
	return ret;
}

static int check_runner(const struct scenario_runner *r, char **cause)
{
	if (r->type == RUNNER_DURATION && !r->duration_ns) {
		*cause = xstrdup("the duration runner needs a duration");
		return -1;
	}
	if (r->type == RUNNER_RATE && !(r->rate > 0)) {
		*cause = xstrdup("the rate runner needs a rate above 0");
		return -1;
	}
	return 0;
}

/* Where "{{" at P ends: just past its "}}", with the name (blanks
 * trimmed) in *name and *len; NULL when it does not close. */
static const char *template_end(const char *p, const char **name,
				size_t *len)
{
	const char *end = strstr(p + 2, "}}");

	if (!end)
		return NULL;
	p += 2;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*name = p;
	*len = (size_t)(end - p);
	while (*len && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return end + 2;
}

char *load_route(const char *method, const char *tmpl)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = tmpl ? tmpl : "", *name, *q;
	size_t len, plen = strlen(SERVICES_PREFIX);

	strbuf_addf(&sb, "%s ", method ? method : "GET");
	/* The origin: {{services.NAME}} is a scheme, host and port. */
	if (!strncmp(p, "{{", 2) && (q = template_end(p, &name, &len)) &&
	    len > plen && !strncmp(name, SERVICES_PREFIX, plen)) {
		p = q;
	} else if (!strncmp(p + strcspn(p, ":/{?#"), "://", 3)) {
		/* scheme://host:port, whose parts may be templates. */
		p += strcspn(p, ":") + 3;
		while (*p && *p != '/' && *p != '?' && *p != '#') {
			if (!strncmp(p, "{{", 2) &&
			    (q = template_end(p, &name, &len)))
				p = q;
			else
				p++;
		}
	}
	/* "GET /" for a bare origin; a path that starts with a template
	 * ("{{base}}/servers") stays as it is. */
	if (*p != '/' && strncmp(p, "{{", 2))
		strbuf_addch(&sb, '/');
	while (*p && *p != '?' && *p != '#') {
		if (!strncmp(p, "{{", 2) && (q = template_end(p, &name, &len))) {
			strbuf_addf(&sb, "{%.*s}", (int)len, name);
			p = q;
			continue;
		}
		strbuf_addch(&sb, *p++);
	}
	return strbuf_detach(&sb, NULL);
}

int load_new(struct load **out, const struct load_options *opts,
	     char **cause)
{
	struct load *ld = xcalloc(1, sizeof(*ld));
	const struct scenario *sc = opts->scenario;
	size_t alloc = 0;
	struct check c = { .ld = ld, .alloc = &alloc, .sc = sc };
	pthread_condattr_t attr;

	*out = NULL;
	ld->opts = *opts;
	ld->sc = sc;
	atomic_init(&ld->stop, 0);
	if (!ld->opts.late_tolerance_ns)
		ld->opts.late_tolerance_ns = 10 * 1000000ULL;
	pthread_mutex_init(&ld->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ld->cond, &attr);
	pthread_condattr_destroy(&attr);

	if (!sc || !sc->nsteps) {
		c.cause = xstrdup("the scenario has no steps");
		goto fail;
	}
	if (check_runner(&sc->runner, &c.cause) < 0)
		goto fail;
	/* Services first, so that variables can use them. */
	for (size_t i = 0; i < sc->nsteps; i++)
		if (walk_step(&c, &sc->steps[i], i, resolve_service) < 0)
			goto fail;
	if (expand_vars(&c, opts->variables, opts->nvariables) < 0 ||
	    expand_vars(&c, sc->variables, sc->nvariables) < 0)
		goto fail;
	for (size_t i = 0; i < sc->nsteps; i++)
		if (walk_step(&c, &sc->steps[i], i, check_defined) < 0)
			goto fail;
	ld->routes = xcalloc(sc->nsteps, sizeof(*ld->routes));
	for (size_t i = 0; i < sc->nsteps; i++)
		if (sc->steps[i].type != STEP_SLEEP)
			ld->routes[i] = load_route(sc->steps[i].request.method,
						   sc->steps[i].request.url);
	*out = ld;
	return 0;
fail:
	if (cause)
		*cause = c.cause;
	else
		free(c.cause);
	load_free(ld);
	return -1;
}

void load_stop(struct load *ld)
{
	atomic_store(&ld->stop, 1);
}

const struct load_iteration *load_results(const struct load *ld, size_t *n)
{
	*n = ld->nresults;
	return ld->results;
}

static int by_seq(const void *a, const void *b)
{
	const struct load_iteration *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One worker per two CPUs: the stack under test runs on the same machine,
 * and one event loop keeps thousands of requests a second going. */
static unsigned default_workers(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus >= 4 ? (unsigned)(cpus / 2) : 1;
}

/* nworkers workers sharing the concurrency n out between them. */
static int workers_init(struct load *ld, unsigned n, char **cause)
{
	struct http_client_options hopts = {
		.connect_timeout_ns = ld->opts.connect_timeout_ns,
		.max_body = ld->opts.max_body,
		.ca_file = ld->opts.ca_file,
		.insecure = ld->opts.insecure,
	};
	unsigned nw = ld->opts.workers ? ld->opts.workers : default_workers();

	if (nw > n)
		nw = n;
	ld->workers = xcalloc(nw, sizeof(*ld->workers));
	for (unsigned i = 0; i < nw; i++) {
		struct load_worker *w = &ld->workers[i];
		unsigned ntasks = n / nw + (i < n % nw);

		w->ld = ld;
		ld->nworkers++;
		if (http_client_init(&w->http, &hopts, cause) < 0)
			return -1;
		w->tasks = xcalloc(ntasks, sizeof(*w->tasks));
		for (unsigned j = 0; j < ntasks; j++) {
			w->ntasks++;
			if (load_task_init(&w->tasks[j], w, cause) < 0)
				return -1;
		}
	}
	return 0;
}

static void workers_release(struct load *ld)
{
	for (unsigned i = 0; i < ld->nworkers; i++) {
		struct load_worker *w = &ld->workers[i];

		for (unsigned j = 0; j < w->ntasks; j++)
			load_task_release(&w->tasks[j]);
		free(w->tasks);
		http_client_release(&w->http);
	}
	free(ld->workers);
	ld->workers = NULL;
	ld->nworkers = 0;
}

int load_run(struct load *ld, struct load_summary *summary, char **cause)
{
	const struct scenario_runner *r = &ld->sc->runner;
	unsigned n = r->concurrency ? r->concurrency : 1;
	struct load_phase warm = { 0 }, measured = { 0 };
	int ret = -1;

	memset(summary, 0, sizeof(*summary));
	if (ld->ran) {
		if (cause)
			*cause = xstrdup("a load runs only once");
		return -1;
	}
	ld->ran = true;
	ld->mono_base = time_mono_ns();
	ld->wall_base = time_wall_ns();
	if (workers_init(ld, n, cause) < 0)
		goto out;

	if (r->warmup) {
		warm.type = RUNNER_CONSTANT;
		warm.warmup = true;
		warm.count = r->warmup;
		if (load_phase_run(ld, &warm, ld->nworkers, cause) < 0)
			goto out;
	}

	measured.type = r->type;
	switch (r->type) {
	case RUNNER_CONSTANT:
		measured.count = r->iterations;
		break;
	case RUNNER_DURATION:
		measured.count = UINT64_MAX;
		break;
	case RUNNER_RATE:
		/* With a duration, the slots that fall within it; else the
		 * number of iterations. */
		measured.rate = r->rate;
		if (r->duration_ns) {
			double slots = r->rate * (double)r->duration_ns /
				       (double)NS_PER_SEC;
			measured.count = (uint64_t)slots;
			if ((double)measured.count < slots)
				measured.count++;
		} else {
			measured.count = r->iterations;
		}
		break;
	}
	if (!atomic_load(&ld->stop)) {
		uint64_t start = time_mono_ns();

		if (r->type == RUNNER_DURATION)
			measured.deadline_mono = start + r->duration_ns;
		if (load_phase_run(ld, &measured, ld->nworkers, cause) < 0)
			goto out;
		summary->elapsed_ns = time_mono_ns() - start;
	}

	summary->workers = ld->nworkers;
	summary->warmup = warm.done;
	summary->iterations = measured.done - measured.interrupted;
	summary->failed = measured.failed;
	summary->interrupted = measured.interrupted + warm.interrupted;
	summary->late = measured.late;
	if (measured.started >= 2 && measured.last_start_mono > measured.first_start_mono)
		summary->achieved_rate =
			(double)(measured.started - 1) * NS_PER_SEC /
			(double)(measured.last_start_mono - measured.first_start_mono);
	if (ld->error) {
		if (cause)
			*cause = ld->error;
		else
			free(ld->error);
		ld->error = NULL;
		goto out;
	}
	ret = 0;
out:
	summary->stopped = atomic_load(&ld->stop) != 0;
	qsort(ld->results, ld->nresults, sizeof(*ld->results), by_seq);
	workers_release(ld);
	return ret;
}

void load_free(struct load *ld)
{
	if (!ld)
		return;
	for (size_t i = 0; i < ld->nvars; i++) {
		free(ld->vars[i].name);
		free(ld->vars[i].value);
	}
	free(ld->vars);
	for (size_t i = 0; ld->routes && i < ld->sc->nsteps; i++)
		free(ld->routes[i]);
	free(ld->routes);
	for (size_t i = 0; i < ld->nresults; i++)
		load_iteration_release(&ld->results[i]);
	free(ld->results);
	for (size_t i = 0; i < ld->nqueue; i++)
		load_iteration_release(&ld->queue[i]);
	free(ld->queue);
	free(ld->error);
	pthread_mutex_destroy(&ld->lock);
	pthread_cond_destroy(&ld->cond);
	free(ld);
}
