/* knobs.h: the reference stack's fault and slowness knobs. Each knob turns
 * on a real code path (a sleep or busy loop inside a named span, one query
 * per host, a failed build), so tests and demos can plant a regression. */
#ifndef HARNESS_REFSTACK_KNOBS_H
#define HARNESS_REFSTACK_KNOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "htrace.h"

/* Extra time spent in the operation (span name) op: asleep, or busy on the
 * CPU. */
struct rs_knob_delay {
	char *op;
	uint64_t ns;
	bool cpu;
};

struct rs_knobs {
	struct rs_knob_delay *delays;
	size_t ndelays;
	size_t alloc;
	bool n_plus_one;	/* scheduler: one SELECT per host */
	double build_failure_rate; /* 0..1: builds that end in ERROR */
	uint64_t seed;		/* of the failure draws; 0: the clock's */
};

void rs_knobs_init(struct rs_knobs *k);
void rs_knobs_release(struct rs_knobs *k);

/* Set one knob from KEY and VALUE. Keys are the environment names
 * (REFSTACK_SLOW, REFSTACK_CPU, REFSTACK_N_PLUS_ONE,
 * REFSTACK_BUILD_FAILURE_RATE, REFSTACK_SEED) or the same without the
 * prefix in any case ("slow", "n_plus_one"). SLOW and CPU take a comma
 * separated list of OP=DURATION. Returns -1 and sets *cause (caller frees)
 * on an unknown key or a bad value. */
int rs_knobs_set(struct rs_knobs *k, const char *key, const char *value,
		 char **cause);
/* Add delays from "OP=DURATION[,OP=DURATION...]". */
int rs_knobs_add_delays(struct rs_knobs *k, const char *list, bool cpu,
			char **cause);
/* Read KEY=VALUE lines; blank lines and lines starting with '#' are
 * skipped. The cause names file:line. */
int rs_knobs_load_file(struct rs_knobs *k, const char *path, char **cause);
/* Apply every REFSTACK_* variable of the environment. */
int rs_knobs_load_env(struct rs_knobs *k, char **cause);

/* The delay configured for op, or NULL. Borrowed from k. */
const struct rs_knob_delay *rs_knobs_delay(const struct rs_knobs *k,
					   const char *op);
/* The delay to spend in a span of KIND named OP, or NULL. A knob names an
 * operation, and an operation runs once per call: an RPC's in the callee's
 * rpc.dispatch, so the caller's rpc.call or rpc.cast of the same name (and
 * an outbound rest.call) spends nothing, or one knob would delay each call
 * twice. Borrowed from k. */
const struct rs_knob_delay *rs_knobs_delay_in(const struct rs_knobs *k,
					      enum htrace_kind kind,
					      const char *op);
/* Spend the delay: nanosleep, or spin on the CPU clock of the thread. */
void rs_knob_delay_spend(const struct rs_knob_delay *d);

/* Parse "20ms", "1.5s", "250us" (also "250µs"), "100ns", "2m" into ns; -1
 * if malformed. */
int rs_parse_duration(const char *s, uint64_t *ns);

#endif
