/* text.c: the terminal writer: a trace as an indented tree with offsets,
 * and a run as a summary with its slowest operations. */
#include "report/report.h"

#include <string.h>

#include "util/timeutil.h"

static void write_trace(FILE *out, const struct report_trace *t)
{
	char dur[32], off[32];

	fprintf(out, "trace %s", t->id_hex);
	if (t->run_id)
		fprintf(out, "  run %lld", (long long)t->run_id);
	fprintf(out, "  %zu span%s, %zu service%s, %zu error%s, %s\n",
		t->nspans, t->nspans == 1 ? "" : "s", t->nservices,
		t->nservices == 1 ? "" : "s", t->nerrors,
		t->nerrors == 1 ? "" : "s",
		report_fmt_dur(dur, sizeof(dur),
			       (double)(t->end_ns - t->start_ns)));
	fprintf(out, "%-10s %9s  %-12s %-13s %s\n", "OFFSET", "DURATION",
		"SERVICE", "KIND", "NAME");
	for (size_t i = 0; i < t->nspans; i++) {
		const struct report_span *sp = &t->spans[i];

		off[0] = '+';
		report_fmt_dur(off + 1, sizeof(off) - 1,
			       (double)(sp->start_ns - t->start_ns));
		report_fmt_dur(dur, sizeof(dur), (double)sp->dur_ns);
		fprintf(out, "%-10s %9s  %-12s %-13s %*s%s%s%s\n", off, dur,
			*sp->service ? sp->service : "-", sp->kind,
			(int)(2 * sp->depth), "", sp->name,
			sp->parent == REPORT_NO_PARENT && sp->parent_id ?
				" (orphan: parent not recorded)" :
				"",
			sp->error ? "  !! ERROR" : "");
		if (sp->error && sp->message)
			fprintf(out, "%-10s %9s  %-12s %-13s %*s   !! %s\n", "",
				"", "", "", (int)(2 * sp->depth), "",
				sp->message);
	}
}

static int text_write_traces(FILE *out, const struct report_trace *traces,
			     size_t n, const struct report_options *opt,
			     char **cause)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc('\n', out);
		write_trace(out, &traces[i]);
	}
	return 0;
}

static int text_write_run(FILE *out, const struct report_model *m,
			  const struct report_options *opt, char **cause)
{
	const struct store_run *r = m->run;
	char date[64], a[32], b[32];
	size_t top = m->nops < 10 ? m->nops : 10;

	time_format_iso(date, sizeof(date), (uint64_t)r->start_ns);
	fprintf(out, "run %lld: %s%s%s, %s, started %s on %s\n",
		(long long)r->id, r->scenario, r->label ? " " : "",
		r->label ? r->label : "", store_run_status_name(r->status),
		date, r->host ? r->host : "?");
	if (r->status_reason)
		fprintf(out, "  reason: %s\n", r->status_reason);
	for (size_t i = 0; i < r->ncommits; i++)
		fprintf(out, "  %-12s %.12s%s %s\n", r->commits[i].repo,
			r->commits[i].sha, r->commits[i].dirty ? "*" : "",
			r->commits[i].subject ? r->commits[i].subject : "");
	fprintf(out,
		"  iterations %zu (%zu warm-up, %zu failed), spans %lld, "
		"dropped %lld, corrupt %lld\n",
		m->nits, m->nwarmup, m->nfailed, (long long)r->nspans,
		(long long)m->spans_dropped, (long long)m->corrupt);
	if (m->median)
		fprintf(out, "  median iteration #%lld: %s\n",
			(long long)m->median->seq,
			report_fmt_dur(a, sizeof(a),
				       (double)m->median->dur_ns));
	if (!top)
		return 0;
	fprintf(out, "\ntop operations by critical-path time (mean per "
		     "iteration):\n");
	fprintf(out, "  %9s %6s %9s %6s  %-12s %-13s %s\n", "CRITICAL",
		"SHARE", "TOTAL", "COUNT", "SERVICE", "KIND", "NAME");
	for (size_t i = 0; i < top; i++) {
		const struct report_op *o = &m->ops[i];

		fprintf(out, "  %9s %5.1f%% %9s %6.1f  %-12s %-13s %s\n",
			report_fmt_dur(a, sizeof(a), o->crit_ns),
			100 * o->crit_share,
			report_fmt_dur(b, sizeof(b), o->total_ns), o->count,
			*o->op->service ? o->op->service : "-", o->op->kind,
			o->op->name);
	}
	return 0;
}

const struct report_writer report_text_writer = {
	.name = "text",
	.summary = "plain text for a terminal",
	.write_run = text_write_run,
	.write_traces = text_write_traces,
};
