/* json.c: the JSON writer: a trace as a tree of spans with every field and
 * attribute, and a run as its summary, iterations and operations. The
 * shapes are documented in harness/report/README.md. */
#include "report/report.h"

#include <jansson.h>
#include <stdlib.h>

#include "report/verdict.h"
#include "util/error.h"

static json_t *hex64(uint64_t v)
{
	char buf[17];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)v);
	return json_string(buf);
}

static json_t *attr_value(const struct report_attr *a)
{
	switch (a->type) {
	case STORE_ATTR_INT:
		return json_integer(a->i);
	case STORE_ATTR_DOUBLE:
		return json_real(a->d);
	case STORE_ATTR_BOOL:
		return json_boolean(a->i);
	default:
		return json_string(a->text);
	}
}

static json_t *span_json(const struct report_trace *t,
			 const struct report_span *sp)
{
	json_t *o = json_object(), *attrs = json_object();

	json_object_set_new(o, "span_id", hex64(sp->span_id));
	json_object_set_new(o, "parent_id",
			    sp->parent_id ? hex64(sp->parent_id) :
					    json_null());
	json_object_set_new(o, "kind", json_string(sp->kind));
	json_object_set_new(o, "name", json_string(sp->name));
	json_object_set_new(o, "service", json_string(sp->service));
	json_object_set_new(o, "host", json_string(sp->host));
	json_object_set_new(o, "pid", json_integer(sp->pid));
	json_object_set_new(o, "tid", json_integer(sp->tid));
	json_object_set_new(o, "start_ns", json_integer(sp->start_ns));
	json_object_set_new(o, "offset_ns",
			    json_integer(sp->start_ns - t->start_ns));
	json_object_set_new(o, "duration_ns", json_integer(sp->dur_ns));
	json_object_set_new(o, "status",
			    json_string(sp->error ? "error" : "ok"));
	json_object_set_new(o, "message", sp->message ?
						  json_string(sp->message) :
						  json_null());
	json_object_set_new(o, "cross_service",
			    json_boolean(report_span_cross_service(
				    t, (size_t)(sp - t->spans))));
	for (size_t i = 0; i < sp->nattrs; i++)
		json_object_set_new(attrs, sp->attrs[i].key,
				    attr_value(&sp->attrs[i]));
	json_object_set_new(o, "attributes", attrs);
	if (sp->nframes) {
		json_t *frames = json_array();

		for (size_t i = 0; i < sp->nframes; i++)
			json_array_append_new(frames,
					      json_string(sp->frames[i]));
		json_object_set_new(o, "stack", frames);
	} else {
		json_object_set_new(o, "stack", json_null());
	}
	json_object_set_new(o, "children", json_array());
	return o;
}

static json_t *trace_json(const struct report_trace *t)
{
	json_t *o = json_object(), *roots = json_array(),
	       *services = json_array();
	json_t **nodes = xcalloc(t->nspans ? t->nspans : 1, sizeof(*nodes));

	json_object_set_new(o, "trace_id", json_string(t->id_hex));
	json_object_set_new(o, "run_id", t->run_id ? json_integer(t->run_id) :
						     json_null());
	json_object_set_new(o, "start_ns", json_integer(t->start_ns));
	json_object_set_new(o, "duration_ns",
			    json_integer(t->end_ns - t->start_ns));
	json_object_set_new(o, "span_count", json_integer((json_int_t)t->nspans));
	json_object_set_new(o, "error_count",
			    json_integer((json_int_t)t->nerrors));
	for (size_t i = 0; i < t->nservices; i++)
		json_array_append_new(services, json_string(t->services[i]));
	json_object_set_new(o, "services", services);
	/* Display order puts every parent before its children. */
	for (size_t i = 0; i < t->nspans; i++) {
		const struct report_span *sp = &t->spans[i];

		nodes[i] = span_json(t, sp);
		if (sp->parent == REPORT_NO_PARENT)
			json_array_append(roots, nodes[i]);
		else
			json_array_append(json_object_get(nodes[sp->parent],
							  "children"),
					  nodes[i]);
	}
	json_object_set_new(o, "roots", roots);
	for (size_t i = 0; i < t->nspans; i++)
		json_decref(nodes[i]);
	free(nodes);
	return o;
}

static int dump(FILE *out, json_t *doc, char **cause)
{
	int rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (rc < 0) {
		*cause = xstrdup("cannot write JSON");
		return -1;
	}
	fputc('\n', out);
	return 0;
}

static int json_write_traces(FILE *out, const struct report_trace *traces,
			     size_t n, const struct report_options *opt,
			     char **cause)
{
	json_t *doc;

	if (n == 1) {
		doc = trace_json(&traces[0]);
	} else {
		doc = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(doc, trace_json(&traces[i]));
	}
	return dump(out, doc, cause);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *hex_trace(const uint8_t id[16])
{
	char buf[33];

	for (int i = 0; i < 16; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return json_string(buf);
}

static json_t *run_json(const struct report_model *m)
{
	const struct store_run *r = m->run;
	json_t *o = json_object(), *commits = json_array(),
	       *its = json_array(), *ops = json_array();

	json_object_set_new(o, "run_id", json_integer(r->id));
	json_object_set_new(o, "scenario", json_string(r->scenario));
	json_object_set_new(o, "label", str_or_null(r->label));
	json_object_set_new(o, "status",
			    json_string(store_run_status_name(r->status)));
	json_object_set_new(o, "status_reason", str_or_null(r->status_reason));
	json_object_set_new(o, "host", str_or_null(r->host));
	json_object_set_new(o, "config_hash", json_string(r->config_hash));
	json_object_set_new(o, "runner", str_or_null(m->runner_type));
	json_object_set_new(o, "start_ns", json_integer(r->start_ns));
	json_object_set_new(o, "end_ns", json_integer(r->end_ns));
	for (size_t i = 0; i < r->ncommits; i++) {
		const struct store_commit *c = &r->commits[i];
		json_t *jc = json_object();

		json_object_set_new(jc, "repo", json_string(c->repo));
		json_object_set_new(jc, "sha", json_string(c->sha));
		json_object_set_new(jc, "branch", str_or_null(c->branch));
		json_object_set_new(jc, "dirty", json_boolean(c->dirty));
		json_object_set_new(jc, "subject", str_or_null(c->subject));
		json_array_append_new(commits, jc);
	}
	json_object_set_new(o, "commits", commits);
	json_object_set_new(o, "iteration_count", json_integer((json_int_t)m->nits));
	json_object_set_new(o, "warmup_count",
			    json_integer((json_int_t)m->nwarmup));
	json_object_set_new(o, "failed_count",
			    json_integer((json_int_t)m->nfailed));
	json_object_set_new(o, "span_count", json_integer(r->nspans));
	json_object_set_new(o, "spans_dropped",
			    json_integer(m->spans_dropped));
	json_object_set_new(o, "records_corrupt", json_integer(m->corrupt));
	for (size_t i = 0; i < m->nits; i++) {
		const struct store_iteration *it = &m->its[i];
		json_t *ji = json_object();

		json_object_set_new(ji, "seq", json_integer(it->seq));
		json_object_set_new(ji, "trace_id", hex_trace(it->trace_id));
		json_object_set_new(ji, "warmup", json_boolean(it->warmup));
		json_object_set_new(ji, "ok", json_boolean(it->ok));
		json_object_set_new(ji, "error", str_or_null(it->error));
		json_object_set_new(ji, "start_ns", json_integer(it->start_ns));
		json_object_set_new(ji, "duration_ns",
				    json_integer(it->dur_ns));
		json_array_append_new(its, ji);
	}
	json_object_set_new(o, "iterations", its);
	json_object_set_new(o, "median_iteration",
			    m->median ? json_integer(m->median->seq) :
					json_null());
	for (size_t i = 0; i < m->nops; i++) {
		const struct report_op *op = &m->ops[i];
		json_t *jo = json_object();

		json_object_set_new(jo, "service", json_string(op->op->service));
		json_object_set_new(jo, "kind", json_string(op->op->kind));
		json_object_set_new(jo, "name", json_string(op->op->name));
		json_object_set_new(jo, "count", json_real(op->count));
		json_object_set_new(jo, "total_ns", json_real(op->total_ns));
		json_object_set_new(jo, "self_ns", json_real(op->self_ns));
		json_object_set_new(jo, "critical_ns", json_real(op->crit_ns));
		json_object_set_new(jo, "critical_share",
				    json_real(op->crit_share));
		json_array_append_new(ops, jo);
	}
	json_object_set_new(o, "operations", ops);
	return o;
}

static int json_write_run(FILE *out, const struct report_model *m,
			  const struct report_options *opt, char **cause)
{
	json_t *doc = run_json(m);

	if (m->cmp) {
		json_t *c = json_object();

		json_object_set_new(c, "verdict",
				    json_string(compare_verdict_str(
					    m->cmp->verdict)));
		json_object_set_new(c, "reason", str_or_null(m->cmp->reason));
		json_object_set_new(c, "findings",
				    json_integer((json_int_t)m->cmp->nfindings));
		if (m->base)
			json_object_set_new(c, "base", run_json(m->base));
		json_object_set_new(doc, "comparison", c);
	}
	return dump(out, doc, cause);
}

const struct report_writer report_json_writer = {
	.name = "json",
	.summary = "JSON (shapes in harness/report/README.md)",
	.write_run = json_write_run,
	.write_traces = json_write_traces,
	.write_compare = report_compare_json,
	.compare_file = "compare.json",
};
