/* load-int.h: what the files of harness/load share: the load itself, its
 * workers, and the functions that run one iteration and one runner. */
#ifndef HARNESS_LOAD_INT_H
#define HARNESS_LOAD_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "load/http.h"
#include "load/load.h"

struct load_var {
	char *name;
	char *value;
};

/* One stretch of a run with one runner: the warm-up, then the measured
 * iterations. Slots are handed out under the load's lock. */
struct load_phase {
	enum scenario_runner_type type;
	bool warmup;
	uint64_t count;		/* slots; UINT64_MAX: until the deadline */
	uint64_t next;		/* the next slot to hand out */
	uint64_t t0_mono;
	uint64_t t0_wall;
	uint64_t deadline_mono;	/* duration: no start at or after this */
	double rate;		/* rate: slots per second */
	unsigned running;	/* workers still in the phase */
	/* Measured so far, updated as results are delivered. */
	uint64_t done, failed, late, interrupted;
	uint64_t first_start_mono, last_start_mono;
	uint64_t started;
};

/* What a task is waiting for. */
enum load_task_wait {
	TASK_IDLE,		/* no iteration, or a finished one in it */
	TASK_SLOT,		/* a claimed rate slot, not begun yet */
	TASK_RESPONSE,		/* its request's response */
	TASK_TIME,		/* wake_mono (a sleep, a poll's interval) */
};

struct load_task_run;

/* One iteration in flight on a worker, between the events it waits for;
 * a worker has one task per iteration it keeps going at once. */
struct load_task {
	struct load_worker *w;
	enum load_task_wait wait;
	uint64_t wake_mono;	/* TASK_SLOT, TASK_TIME */
	bool ready;		/* TASK_RESPONSE: the response is in */
	bool finished;		/* it is done, for the worker to hand on */
	struct load_iteration it;
	struct http_handle http;
	struct load_task_run *run;	/* iteration.c's state */
};

struct load_worker {
	struct load *ld;
	struct http_client http;
	pthread_t thread;
	bool started;
	struct load_task *tasks;
	unsigned ntasks;
	unsigned nready;	/* tasks whose response came in */
};

struct load {
	struct load_options opts;
	const struct scenario *sc;
	struct load_var *vars;	/* services.*, then scenario, then config */
	size_t nvars;
	atomic_int stop;
	/* Why a worker could not go on (its wait failed), under lock. */
	char *error;
	/* Per step, the route its requests' spans are named after
	 * (load_route); NULL for a sleep. */
	char **routes;

	struct load_worker *workers;
	unsigned nworkers;

	pthread_mutex_t lock;
	pthread_cond_t cond;	/* a worker left its phase */
	struct load_phase *phase;
	uint64_t next_seq;
	/* Finished, not yet delivered; swapped out under lock. */
	struct load_iteration *queue;
	size_t nqueue, aqueue;

	/* Delivered, in delivery order until load_run sorts them. */
	struct load_iteration *results;
	size_t nresults, aresults;
	bool ran;
	/* One pair of clock reads at load_run, from which every wall time
	 * of the run is derived (load_wall_ns). */
	uint64_t wall_base, mono_base;
};

/* The wall-clock time (unix ns) of monotonic time mono of ld's run. Read
 * from one pair, as libhtrace does, instead of a wall clock read next to
 * each monotonic one: the gaps between the starts and intended starts of
 * a run are then exactly those of the monotonic clock, whatever preempts
 * a worker between two reads, and an iteration costs one clock read. */
static inline uint64_t load_wall_ns(const struct load *ld, uint64_t mono)
{
	return ld->wall_base + (mono - ld->mono_base);
}

/* A task of worker w, its HTTP handle in w's client. Returns -1 with
 * *cause set when libcurl cannot make a handle; release it with
 * load_task_release either way. */
int load_task_init(struct load_task *t, struct load_worker *w, char **cause);
void load_task_release(struct load_task *t);

/* Begin t's iteration now: t->it has its seq, warmup and late set; the
 * rest is filled as it runs. intended_mono is the monotonic time it
 * should have started (0: now), for the latency; timeout_ns bounds it. It
 * runs until it waits (t->wait) or is finished (t->finished). */
void load_task_begin(struct load_task *t, uint64_t intended_mono,
		     uint64_t timeout_ns);
/* Go on after what t waited for: its response is in, its time has come,
 * or the load was stopped (then it ends as interrupted at once). */
void load_task_resume(struct load_task *t);

void load_iteration_release(struct load_iteration *it);

/* Run one phase with n workers, delivering results as they come. */
int load_phase_run(struct load *ld, struct load_phase *ph, unsigned n,
		   char **cause);

#endif
