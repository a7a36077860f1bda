/* run-gates.c: a scenario's absolute limits for `harness run`: parsed before
 * anything starts, so that a bad expression names its file:line:column, and
 * evaluated after the run by analyze/verdict.h over what the store holds. */
#include "cli/run.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/gate.h"
#include "analyze/verdict.h"
#include "util/error.h"
#include "util/strbuf.h"

int run_gates_parse(struct run_gates *out, const struct scenario *sc,
		    char **cause)
{
	out->gates = xcalloc(sc->ngates ? sc->ngates : 1, sizeof(*out->gates));
	out->n = 0;
	for (size_t i = 0; i < sc->ngates; i++) {
		const struct scenario_gate *sg = &sc->gates[i];
		unsigned col = 1;
		char *why = NULL;

		if (gate_parse(&out->gates[out->n], sg->expr, &col,
			       &why) < 0) {
			const char *file = sg->pos.file ? sg->pos.file
							: sc->path;
			unsigned at = scenario_gate_column(sg, col);

			*cause = xasprintf("%s:%u:%u: bad gate '%s': %s", file,
					   sg->pos.line, at, sg->expr,
					   why ? why : "cannot parse");
			free(why);
			run_gates_release(out);
			return -1;
		}
		out->n++;
	}
	return 0;
}

void run_gates_release(struct run_gates *g)
{
	for (size_t i = 0; i < g->n; i++)
		gate_free(g->gates[i]);
	free(g->gates);
	g->gates = NULL;
	g->n = 0;
}

int run_trace_id_parse(uint8_t out[16], const char *hex)
{
	static const char digits[] = "0123456789abcdef";

	if (strlen(hex) != 32)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		const char *d = strchr(digits, tolower((unsigned char)hex[i]));

		if (!d || !*d)
			return -1;
		if (i % 2)
			out[i / 2] |= (uint8_t)(d - digits);
		else
			out[i / 2] = (uint8_t)((d - digits) << 4);
	}
	return 0;
}

int run_gates_eval(const struct scenario *sc, struct store *st,
		   int64_t run_id, FILE *out, size_t *broken, char **cause)
{
	struct verdict v;
	int ret;

	*broken = 0;
	verdict_init(&v);
	ret = gates_for_run(&v, st, run_id, sc, cause);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < v.ngates; i++) {
		if (v.gates[i].type != VERDICT_GATE_ABSOLUTE)
			continue;
		if (!v.gates[i].pass)
			(*broken)++;
		fprintf(out, "%-12s %s\n", i ? "" : "gates",
			v.gates[i].message);
	}
	ret = 0;
out:
	verdict_release(&v);
	return ret;
}
