/* verdict.c: what the writers of a comparison share (report/verdict.h):
 * how the runs are named, which rows are shown and how, and the plain
 * lines on the noise, a machine-wide shift and an inconclusive verdict. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/verdict.h"
#include "util/error.h"
#include "util/strbuf.h"

char *report_compare_run_line(const struct store_run *run)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "run %lld (%s", (long long)run->id, run->scenario);
	if (run->label)
		strbuf_addf(&sb, " '%s'", run->label);
	for (size_t i = 0; i < run->ncommits; i++) {
		const struct store_commit *c = &run->commits[i];

		strbuf_addf(&sb, "%s %s %.8s%s", i ? "," : ";", c->repo,
			    c->sha, c->dirty ? "*" : "");
	}
	strbuf_addch(&sb, ')');
	return strbuf_detach(&sb, NULL);
}

static bool same_commits(const struct store_run *a, const struct store_run *b)
{
	if (a->ncommits != b->ncommits)
		return false;
	for (size_t i = 0; i < a->ncommits; i++)
		if (strcmp(a->commits[i].repo, b->commits[i].repo) ||
		    strcmp(a->commits[i].sha, b->commits[i].sha) ||
		    a->commits[i].dirty != b->commits[i].dirty)
			return false;
	return true;
}

static void add_commits(struct strbuf *sb, const struct store_run *run)
{
	for (size_t i = 0; i < run->ncommits; i++) {
		const struct store_commit *c = &run->commits[i];

		strbuf_addf(sb, "%s%s %.8s%s", i ? ", " : "", c->repo, c->sha,
			    c->dirty ? "*" : "");
	}
}

char *report_compare_side_line(const struct run_data *rd)
{
	struct strbuf sb = STRBUF_INIT;
	bool same = true;

	if (rd->nruns <= 1)
		return report_compare_run_line(rd->run);
	strbuf_addstr(&sb, "runs ");
	for (size_t i = 0; i < rd->nruns; i++) {
		strbuf_addf(&sb, "%s%lld", i ? ", " : "",
			    (long long)rd->runs[i]->id);
		same = same && same_commits(rd->runs[0], rd->runs[i]);
	}
	strbuf_addf(&sb, " pooled (%s", rd->run->scenario);
	if (same && rd->run->ncommits) {
		strbuf_addstr(&sb, "; ");
		add_commits(&sb, rd->run);
	} else if (!same) {
		for (size_t i = 0; i < rd->nruns; i++) {
			strbuf_addf(&sb, "; run %lld: ",
				    (long long)rd->runs[i]->id);
			add_commits(&sb, rd->runs[i]);
		}
	}
	strbuf_addch(&sb, ')');
	return strbuf_detach(&sb, NULL);
}

bool report_compare_row_shown(const struct verdict *v, size_t r,
			      const struct report_options *opt)
{
	const struct compare_row *row = &v->cmp.rows[r];

	if (opt && opt->all_rows)
		return true;
	return row->finding || row->inconclusive || row->gated_crit ||
	       row->role == COMPARE_ROLE_CAUSE ||
	       (row->measure == COMPARE_TIME &&
		(row->gated || !strcmp(row->kind, "iteration")));
}

const struct compare_cause *report_compare_cause_of(const struct verdict *v,
						    size_t r)
{
	for (size_t i = 0; i < v->cmp.ncauses; i++)
		if (v->cmp.causes[i].row == r)
			return &v->cmp.causes[i];
	return NULL;
}

int report_compare_check(FILE *out, char **cause)
{
	if (fflush(out) == 0 && !ferror(out))
		return 0;
	*cause = xasprintf("cannot write the report: %s",
			   strerror(errno ? errno : EIO));
	return -1;
}

/* Robust spreads are of ln(time): near the relative spread, shown as one. */
static void add_spread(struct strbuf *sb, double log_sd)
{
	strbuf_addf(sb, "±%.1f%%", 100 * log_sd);
}

/* A log shift as the relative change it is. */
static void add_rel(struct strbuf *sb, double log_shift)
{
	strbuf_addf(sb, "%+.1f%%", 100 * expm1(log_shift));
}

/* Rounds listed before "...": enough to see a pattern, short enough for
 * one line. */
#define NOISE_ROUNDS 8

size_t report_compare_noise_lines(const struct compare_result *c,
				  char *lines[2])
{
	const struct compare_noise *n = &c->noise;
	const struct compare_machine *mc = &c->machine;
	struct strbuf sb = STRBUF_INIT;
	size_t shown = n->nblocks < NOISE_ROUNDS ? n->nblocks : NOISE_ROUNDS;

	lines[0] = lines[1] = NULL;
	if (!n->nblocks || !n->base_spread || !n->head_spread ||
	    !n->block_machine) {
		lines[0] = xstrdup("noise: not measured");
		return 1;
	}
	strbuf_addstr(&sb, "noise: spread of an operation within a run ");
	if (n->nblocks == 1) {
		add_spread(&sb, n->base_spread[0]);
		strbuf_addstr(&sb, " in base, ");
		add_spread(&sb, n->head_spread[0]);
		strbuf_addstr(&sb, " in head");
	} else {
		strbuf_addf(&sb, "per round of %zu (base/head) ", n->nblocks);
		for (size_t b = 0; b < shown; b++) {
			strbuf_addstr(&sb, b ? ", " : "");
			add_spread(&sb, n->base_spread[b]);
			strbuf_addch(&sb, '/');
			add_spread(&sb, n->head_spread[b]);
		}
		if (shown < n->nblocks)
			strbuf_addstr(&sb, ", ...");
	}
	strbuf_addstr(&sb, "; operations around the machine factor ");
	add_spread(&sb, n->op_spread);
	lines[0] = strbuf_detach(&sb, NULL);

	strbuf_addstr(&sb, "drift: machine factor (head against base) ");
	if (n->nblocks == 1) {
		add_rel(&sb, n->block_machine[0]);
	} else {
		strbuf_addstr(&sb, "per round ");
		for (size_t b = 0; b < shown; b++) {
			strbuf_addstr(&sb, b ? ", " : "");
			add_rel(&sb, n->block_machine[b]);
		}
		if (shown < n->nblocks)
			strbuf_addstr(&sb, ", ...");
	}
	if (mc->factor.k) {
		strbuf_addstr(&sb, n->nblocks == 1 ? " [" : ", combined ");
		if (n->nblocks > 1) {
			add_rel(&sb, mc->factor.est);
			strbuf_addstr(&sb, " [");
		}
		add_rel(&sb, mc->factor.lo);
		strbuf_addstr(&sb, ", ");
		add_rel(&sb, mc->factor.hi);
		strbuf_addstr(&sb, "], every change shown net of it");
	} else {
		strbuf_addstr(&sb, ", no interval");
	}
	if (n->nblocks > 1) {
		strbuf_addstr(&sb, "; drift between rounds ");
		add_spread(&sb, n->drift);
	} else {
		strbuf_addstr(&sb, "; one round, no drift between rounds "
				   "measured");
	}
	lines[1] = strbuf_detach(&sb, NULL);
	return 2;
}

char *report_compare_machine_line(const struct compare_result *c)
{
	const struct compare_machine *mc = &c->machine;
	struct strbuf sb = STRBUF_INIT;
	bool up = mc->factor.est > 0;

	if (!mc->shifted)
		return NULL;
	strbuf_addstr(&sb, "machine-wide shift: every operation ");
	add_rel(&sb, mc->factor.est);
	strbuf_addstr(&sb, " [");
	add_rel(&sb, mc->factor.lo);
	strbuf_addstr(&sb, ", ");
	add_rel(&sb, mc->factor.hi);
	strbuf_addf(&sb, "], %zu of %zu operations %s, %zu of %zu services "
			 "with it (sign test p=%.2g)",
		    up ? mc->nup : mc->ndown, mc->nops,
		    up ? "slower" : "faster", mc->nservices_with,
		    mc->nservices, mc->sign_p);
	return strbuf_detach(&sb, NULL);
}

char *report_compare_inconclusive_line(const struct compare_result *c,
				       bool with_reason)
{
	struct strbuf sb = STRBUF_INIT;

	if (c->verdict != COMPARE_INCONCLUSIVE)
		return NULL;
	if (with_reason)
		strbuf_addf(&sb, "inconclusive: %s; ",
			    c->reason ? c->reason : "");
	if (c->widest != SIZE_MAX && c->widest < c->nrows) {
		const struct compare_row *w = &c->rows[c->widest];
		char *label = verdict_row_label(w);

		strbuf_addf(&sb, "widest interval: %s, critical path "
				 "%+.2fms [%+.2fms, %+.2fms] against the "
				 "limit %.2fms",
			    label, w->crit.abs_shift / 1e6,
			    w->crit.abs_lo / 1e6, w->crit.abs_hi / 1e6,
			    c->threshold_ns / 1e6);
		free(label);
	}
	if (c->iterations_needed)
		strbuf_addf(&sb, "%sabout %zu iterations per run would settle "
				 "it",
			    c->widest < c->nrows ? "; " : "",
			    c->iterations_needed);
	else if (c->widest >= c->nrows)
		strbuf_addstr(&sb, "a gated metric has no data in a run");
	return strbuf_detach(&sb, NULL);
}

const char *report_compare_gate_word(const struct verdict *v,
				     const struct verdict_gate *g)
{
	if (!g->pass)
		return "FAIL";
	if (g->inconclusive)
		return "inconclusive";
	if (g->type == VERDICT_GATE_REGRESSION && g->unit == GATE_UNIT_NS &&
	    v->status == VERDICT_MACHINE)
		return "machine";
	return "pass";
}

const char *report_compare_status_word(const struct verdict *v)
{
	switch (v->status) {
	case VERDICT_PASS:
		return "pass";
	case VERDICT_REGRESSION:
		return "regression";
	case VERDICT_LIMIT:
		return "limit broken";
	case VERDICT_INCONCLUSIVE:
		return "inconclusive";
	case VERDICT_NO_BASELINE:
		return "no baseline";
	case VERDICT_MACHINE:
		return "machine-wide shift";
	}
	return "?";
}

const char *report_compare_row_note(const struct compare_row *r)
{
	if (r->gated_crit)
		return "REGRESSION, cause, critical path";
	if (r->regression && r->role == COMPARE_ROLE_CAUSE)
		return "REGRESSION, cause";
	if (r->role == COMPARE_ROLE_CONSEQUENCE)
		return "consequence";
	if (r->regression)
		return "REGRESSION";
	if (r->finding)
		return "improved";
	if (r->inconclusive)
		return "inconclusive";
	if (r->role == COMPARE_ROLE_CAUSE)
		return "cause";
	return "";
}

bool report_compare_row_alarm(const struct compare_row *r)
{
	return r->gated_crit ||
	       (r->regression && r->role != COMPARE_ROLE_CONSEQUENCE);
}
