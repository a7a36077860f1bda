/* exitcode.h: the exit codes of the harness command, the one place they are
 * defined. `harness --help` prints this table; README.md repeats it. */
#ifndef HARNESS_EXITCODE_H
#define HARNESS_EXITCODE_H

enum harness_exit {
	HARNESS_EXIT_OK = 0,		/* pass: nothing wrong */
	HARNESS_EXIT_REGRESSION = 1,	/* head regressed against the baseline */
	HARNESS_EXIT_LIMIT = 2,		/* an absolute limit (gate) was broken */
	HARNESS_EXIT_INCONCLUSIVE = 3,	/* too little data or no baseline */
	HARNESS_EXIT_MACHINE = 4,	/* the machine's speed moved, not the code */
	HARNESS_EXIT_USAGE = 64,	/* bad command line */
	HARNESS_EXIT_DATA = 65,		/* bad input data: not a store, corrupt file */
	HARNESS_EXIT_RUNTIME = 70,	/* runtime failure: iterations failed, I/O */
	HARNESS_EXIT_INTERRUPTED = 75,	/* run interrupted: Ctrl-C, a service died */
	HARNESS_EXIT_CONFIG = 78,	/* bad harness.yaml or scenario file */
};

/* The table printed by --help: one line per code, NULL-terminated. */
extern const char *const harness_exit_help[];

#endif
