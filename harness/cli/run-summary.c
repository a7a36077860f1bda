/* run-summary.c: the table `harness run` prints at its end: how many
 * iterations passed, how long the iteration and each step took, why
 * iterations failed, and what the store received. */
#include "cli/run.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"
#include "util/error.h"
#include "util/timeutil.h"

/* How many distinct failure reasons are shown. */
#define SUMMARY_REASONS 3

static bool measured(const struct load_iteration *it)
{
	return !it->warmup && !it->interrupted;
}

static void format_ns(char *buf, size_t size, double ns)
{
	if (isnan(ns) || ns < 0)
		snprintf(buf, size, "-");
	else
		time_format_duration(buf, size, (uint64_t)llround(ns));
}

static void print_row(FILE *out, const char *label, double *x, size_t n)
{
	static const double pcts[] = { 50, 90, 99 };
	char cell[32];

	fprintf(out, "  %-24.24s %6zu", label, n);
	for (size_t i = 0; i < ARRAY_SIZE(pcts); i++) {
		double v = NAN;

		if (n && stats_percentile(&v, x, n, pcts[i]) < 0)
			die("out of memory");
		format_ns(cell, sizeof(cell), v);
		fprintf(out, " %9s", cell);
	}
	format_ns(cell, sizeof(cell), n ? stats_max(x, n) : NAN);
	fprintf(out, " %9s\n", cell);
}

/* Failures are grouped by the step that failed and its last HTTP status,
 * so that reasons differing only in a response body count as one; the
 * first reason of each group is shown, cut to SUMMARY_REASON_LEN. */
#define SUMMARY_REASON_LEN 160

struct reason_count {
	size_t step;		/* index of the failed step; SIZE_MAX: none */
	int status;
	const char *reason;	/* the first of the group */
	size_t count;
};

static int by_count(const void *a, const void *b)
{
	const struct reason_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->reason, y->reason);
}

static void failed_step(const struct load_iteration *it, size_t *step,
			int *status)
{
	*step = SIZE_MAX;
	*status = 0;
	for (size_t j = 0; j < it->nsteps; j++) {
		if (!it->steps[j].ok) {
			*step = j;
			*status = it->steps[j].status;
			return;
		}
	}
}

static void print_reasons(FILE *out, const struct load_iteration *its,
			  size_t n)
{
	struct reason_count *rc = NULL;
	size_t nrc = 0, arc = 0;

	for (size_t i = 0; i < n; i++) {
		size_t step, j;
		int status;

		if (!measured(&its[i]) || its[i].ok)
			continue;
		failed_step(&its[i], &step, &status);
		for (j = 0; j < nrc; j++)
			if (rc[j].step == step && rc[j].status == status)
				break;
		if (j == nrc) {
			ALLOC_GROW(rc, nrc + 1, arc);
			rc[nrc].step = step;
			rc[nrc].status = status;
			rc[nrc].reason = its[i].reason ? its[i].reason
						       : "no reason given";
			rc[nrc++].count = 0;
		}
		rc[j].count++;
	}
	if (nrc)
		qsort(rc, nrc, sizeof(*rc), by_count);
	for (size_t j = 0; j < nrc && j < SUMMARY_REASONS; j++) {
		size_t len = strlen(rc[j].reason);

		fprintf(out, "%-12s %zu x %.*s%s\n", j ? "" : "failures",
			rc[j].count, SUMMARY_REASON_LEN, rc[j].reason,
			len > SUMMARY_REASON_LEN ? "..." : "");
	}
	if (nrc > SUMMARY_REASONS)
		fprintf(out, "%-12s ... and %zu other kinds\n", "",
			nrc - SUMMARY_REASONS);
	free(rc);
}

void run_print_summary(FILE *out, const struct scenario *sc,
		       const struct load_iteration *its, size_t n,
		       const struct run_totals *t)
{
	size_t ok = 0, failed = 0, warmup = 0, interrupted = 0, nx = 0;
	double *x = xcalloc(n ? n : 1, sizeof(*x));
	char el[32];

	for (size_t i = 0; i < n; i++) {
		if (its[i].warmup)
			warmup++;
		else if (its[i].interrupted)
			interrupted++;
		else if (its[i].ok)
			ok++;
		else
			failed++;
	}

	fprintf(out, "\nrun %lld of %s: %s", (long long)t->run_id,
		t->scenario, store_run_status_name(t->status));
	if (t->reason)
		fprintf(out, " (%s)", t->reason);
	fputc('\n', out);
	time_format_duration(el, sizeof(el), t->elapsed_ns);
	fprintf(out, "%-12s %zu ok, %zu failed, %zu warm-up", "iterations",
		ok, failed, warmup);
	if (interrupted)
		fprintf(out, ", %zu cut short", interrupted);
	fprintf(out, " in %s", el);
	if (t->elapsed_ns && ok + failed)
		fprintf(out, " (%.2f it/s)",
			(double)(ok + failed) * 1e9 / (double)t->elapsed_ns);
	fputc('\n', out);

	if (ok + failed) {
		fprintf(out, "\n  %-24s %6s %9s %9s %9s %9s\n", "latency", "n",
			"p50", "p90", "p99", "max");
		for (size_t i = 0; i < n; i++)
			if (measured(&its[i]))
				x[nx++] = (double)its[i].latency_ns;
		print_row(out, "iteration", x, nx);
		for (size_t s = 0; s < sc->nsteps; s++) {
			char label[64];

			nx = 0;
			for (size_t i = 0; i < n; i++)
				if (measured(&its[i]) && s < its[i].nsteps)
					x[nx++] =
						(double)its[i].steps[s].dur_ns;
			if (sc->steps[s].name)
				snprintf(label, sizeof(label), "  %s",
					 sc->steps[s].name);
			else
				snprintf(label, sizeof(label), "  step %zu",
					 s + 1);
			print_row(out, label, x, nx);
		}
		fputc('\n', out);
	}
	print_reasons(out, its, n);
	fprintf(out, "%-12s %lld collected, %lld dropped, %lld corrupt "
		"records", "spans", (long long)t->spans,
		(long long)t->spans_dropped, (long long)t->corrupt);
	if (t->spans_unmapped || t->osp_url)
		fprintf(out, ", %lld unmapped (kept as func)",
			(long long)t->spans_unmapped);
	fputc('\n', out);
	if (t->osp_url) {
		fprintf(out, "%-12s %lld spans of %lld traces from %s (%lld "
			"notifications", "osprofiler", (long long)t->osp_spans,
			(long long)t->osp_traces, t->osp_url,
			(long long)t->osp_read);
		if (t->osp_unpaired)
			fprintf(out, ", %lld without a start or stop",
				(long long)t->osp_unpaired);
		if (t->osp_rejected)
			fprintf(out, ", %lld rejected",
				(long long)t->osp_rejected);
		fputs(")\n", out);
	}
	free(x);
}
