/* runner.c: the three runners. Closed loops (constant, duration) hand the
 * next iteration to whichever task of a worker is free; the open loop
 * (rate) gives iteration k the slot t0 + k/rate, and a slot that no task
 * could take in time is started late and counted, never dropped. */
#include "load/load-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/error.h"
#include "util/timeutil.h"

#define NS_PER_SEC 1000000000ULL
/* How often a waiting worker looks at the stop flag: load_stop may come
 * from a signal handler, which cannot wake a worker itself. */
#define STOP_POLL_NS (20 * 1000000ULL)
/* How often finished iterations are handed to the caller. */
#define DELIVER_NS (20 * 1000000ULL)

/* Take the next slot of the phase (the load's lock held), or return
 * false when there is none left. *slot_mono is when it is due (0: now, for
 * closed loops). */
static bool claim_locked(struct load *ld, struct load_phase *ph,
			 struct load_iteration *it, uint64_t *slot_mono)
{
	uint64_t k;

	if (atomic_load(&ld->stop) || ph->next >= ph->count)
		return false;
	if (ph->deadline_mono && time_mono_ns() >= ph->deadline_mono) {
		ph->count = ph->next;
		return false;
	}
	k = ph->next++;
	it->seq = ld->next_seq++;
	it->warmup = ph->warmup;
	*slot_mono = 0;
	if (ph->type == RUNNER_RATE)
		*slot_mono = ph->t0_mono +
			     (uint64_t)((double)k * (double)NS_PER_SEC /
					ph->rate);
	return true;
}

/* Queue a finished iteration for the delivering thread (lock held). No
 * signal: waking that thread for every result would cost a context switch
 * per iteration; it comes by every DELIVER_NS. */
static void queue_locked(struct load *ld, const struct load_iteration *it)
{
	ALLOC_GROW(ld->queue, ld->nqueue + 1, ld->aqueue);
	ld->queue[ld->nqueue++] = *it;
}

/* The worker leaves the phase (lock held); the delivering thread waits
 * for the last one. */
static void leave_locked(struct load *ld, struct load_phase *ph)
{
	ph->running--;
	pthread_cond_signal(&ld->cond);
}

/* Under one lock: hand over the iterations that finished and claim slots
 * for the tasks that are free, while there are any (*more). Returns how
 * many tasks still have an iteration, begun or not; with none and no more
 * slots, the worker has left the phase. */
static unsigned exchange(struct load_worker *w, struct load_phase *ph,
			 bool *more)
{
	struct load *ld = w->ld;
	unsigned busy = 0;

	pthread_mutex_lock(&ld->lock);
	for (unsigned i = 0; i < w->ntasks; i++) {
		struct load_task *t = &w->tasks[i];
		uint64_t slot;

		if (t->finished) {
			/* The results go with it. */
			queue_locked(ld, &t->it);
			memset(&t->it, 0, sizeof(t->it));
			t->finished = false;
		}
		if (t->wait == TASK_IDLE && *more) {
			memset(&t->it, 0, sizeof(t->it));
			if (claim_locked(ld, ph, &t->it, &slot)) {
				t->wait = TASK_SLOT;
				t->wake_mono = slot;
			} else {
				*more = false;
			}
		}
		if (t->wait != TASK_IDLE)
			busy++;
	}
	if (!busy && !*more)
		leave_locked(ld, ph);
	pthread_mutex_unlock(&ld->lock);
	return busy;
}

/* The load was stopped: slots not begun are dropped (nothing ran), the
 * iterations in flight end as interrupted at once. */
static void stop_tasks(struct load_worker *w)
{
	for (unsigned i = 0; i < w->ntasks; i++) {
		struct load_task *t = &w->tasks[i];

		if (t->wait == TASK_SLOT)
			t->wait = TASK_IDLE;
		else if (t->wait != TASK_IDLE)
			load_task_resume(t);
	}
	w->nready = 0;
}

/* The first failure of a worker's wait ends the run: the load stops, and
 * load_run reports it. */
static void worker_failed(struct load *ld, char *cause)
{
	pthread_mutex_lock(&ld->lock);
	if (!ld->error)
		ld->error = cause;
	else
		free(cause);
	pthread_mutex_unlock(&ld->lock);
	load_stop(ld);
}

/* A worker: an event loop over its tasks, each an iteration in flight.
 * It begins the slots that are due, resumes the iterations whose response
 * came in or whose time has come, hands over those that finished and
 * claims new slots for free tasks in one lock, and waits on its HTTP
 * client for the next of these. */
static void *worker_main(void *p)
{
	struct load_worker *w = p;
	struct load *ld = w->ld;
	struct load_phase *ph = ld->phase;
	uint64_t timeout = ld->sc->runner.iteration_timeout_ns;
	uint64_t tolerance = ld->opts.late_tolerance_ns;
	bool more = true, swap = true;

	if (!timeout)
		timeout = 60 * NS_PER_SEC;
	for (;;) {
		uint64_t now, until;
		char *cause = NULL;

		if (swap && !exchange(w, ph, &more))
			break;
		swap = false;
		if (atomic_load(&ld->stop)) {
			stop_tasks(w);
			more = false;
			swap = true;
			continue;
		}
		now = time_mono_ns();
		until = now + STOP_POLL_NS;
		for (unsigned i = 0; i < w->ntasks; i++) {
			struct load_task *t = &w->tasks[i];

			if (t->wait == TASK_SLOT && t->wake_mono <= now) {
				t->it.late = t->wake_mono &&
					     now > t->wake_mono + tolerance;
				load_task_begin(t, t->wake_mono, timeout);
			} else if (t->wait == TASK_TIME &&
				   t->wake_mono <= now) {
				load_task_resume(t);
			}
			if (t->finished)
				swap = true;
			else if ((t->wait == TASK_SLOT ||
				  t->wait == TASK_TIME) &&
				 t->wake_mono < until)
				until = t->wake_mono;
		}
		if (swap)
			continue;
		if (http_client_wait(&w->http, until, &cause) < 0) {
			worker_failed(ld, cause);
			continue;
		}
		if (!w->nready)
			continue;
		w->nready = 0;
		for (unsigned i = 0; i < w->ntasks; i++) {
			struct load_task *t = &w->tasks[i];

			if (t->wait == TASK_RESPONSE && t->ready)
				load_task_resume(t);
			if (t->finished)
				swap = true;
		}
	}
	return NULL;
}

static void deliver(struct load *ld, struct load_phase *ph,
		    struct load_iteration *it)
{
	uint64_t start_mono;

	ph->done++;
	if (it->interrupted)
		ph->interrupted++;
	else if (!it->ok)
		ph->failed++;
	if (it->late)
		ph->late++;
	/* Starts on the monotonic clock, from the wall-clock ones. */
	start_mono = ph->t0_mono + (it->start_ns - ph->t0_wall);
	if (!ph->started || start_mono < ph->first_start_mono)
		ph->first_start_mono = start_mono;
	if (!ph->started || start_mono > ph->last_start_mono)
		ph->last_start_mono = start_mono;
	ph->started++;

	ALLOC_GROW(ld->results, ld->nresults + 1, ld->aresults);
	ld->results[ld->nresults++] = *it;
	if (ld->opts.on_iteration)
		ld->opts.on_iteration(&ld->results[ld->nresults - 1],
				      ld->opts.payload);
}

static void progress(struct load *ld, struct load_phase *ph, uint64_t now)
{
	struct load_progress p = { 0 };

	if (!ld->opts.on_progress)
		return;
	p.warming_up = ph->warmup;
	p.done = ph->done;
	p.total = ph->count == UINT64_MAX ? 0 : ph->count;
	if (ph->type == RUNNER_DURATION && !ph->warmup)
		p.total = 0;
	p.failed = ph->failed;
	p.late = ph->late;
	p.elapsed_ns = now - ph->t0_mono;
	if (p.elapsed_ns)
		p.rate = (double)p.done * NS_PER_SEC / (double)p.elapsed_ns;
	if (ph->deadline_mono && ph->type == RUNNER_DURATION)
		p.remaining_ns = ph->deadline_mono > now
					 ? ph->deadline_mono - now : 0;
	else if (ph->type == RUNNER_RATE && !ph->warmup) {
		uint64_t end = ph->t0_mono +
			       (uint64_t)((double)ph->count * NS_PER_SEC /
					  ph->rate);
		p.remaining_ns = end > now ? end - now : 0;
	} else if (p.done && p.total > p.done)
		p.remaining_ns = (uint64_t)((double)p.elapsed_ns *
					    (double)(p.total - p.done) /
					    (double)p.done);
	ld->opts.on_progress(&p, ld->opts.payload);
}

static struct timespec mono_timespec(uint64_t t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(t / NS_PER_SEC);
	ts.tv_nsec = (long)(t % NS_PER_SEC);
	return ts;
}

int load_phase_run(struct load *ld, struct load_phase *ph, unsigned n,
		   char **cause)
{
	uint64_t interval = ld->opts.progress_interval_ns;
	uint64_t next_tick;
	struct load_iteration *batch = NULL;
	size_t nbatch = 0, abatch = 0;
	unsigned started = 0;
	int err = 0;

	if (!interval)
		interval = 200 * 1000000ULL;
	ph->t0_mono = time_mono_ns();
	ph->t0_wall = load_wall_ns(ld, ph->t0_mono);
	ph->running = n;
	ld->phase = ph;
	next_tick = ph->t0_mono + interval;

	pthread_mutex_lock(&ld->lock);
	for (unsigned i = 0; i < n; i++) {
		struct load_worker *w = &ld->workers[i];

		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			ph->running -= n - i;
			break;
		}
		w->started = true;
		started++;
	}
	pthread_mutex_unlock(&ld->lock);
	if (err && !started) {
		if (cause)
			*cause = xasprintf("cannot start a load worker: %s",
					   strerror(err));
		return -1;
	}

	for (;;) {
		unsigned running;
		uint64_t now;

		pthread_mutex_lock(&ld->lock);
		if (ph->running) {
			uint64_t wake = time_mono_ns() + DELIVER_NS;
			struct timespec ts;

			ts = mono_timespec(wake < next_tick ? wake : next_tick);
			while (ph->running &&
			       pthread_cond_timedwait(&ld->cond, &ld->lock,
						      &ts) != ETIMEDOUT)
				;
		}
		/* Swap the queue out, so workers never wait on a callback. */
		{
			struct load_iteration *q = ld->queue;
			size_t aq = ld->aqueue;

			ld->queue = batch;
			ld->aqueue = abatch;
			batch = q;
			abatch = aq;
			nbatch = ld->nqueue;
			ld->nqueue = 0;
		}
		running = ph->running;
		pthread_mutex_unlock(&ld->lock);

		for (size_t i = 0; i < nbatch; i++)
			deliver(ld, ph, &batch[i]);
		nbatch = 0;
		now = time_mono_ns();
		if (now >= next_tick || !running) {
			progress(ld, ph, now);
			while (next_tick <= now)
				next_tick += interval;
		}
		if (!running)
			break;
	}

	for (unsigned i = 0; i < n; i++) {
		if (ld->workers[i].started)
			pthread_join(ld->workers[i].thread, NULL);
		ld->workers[i].started = false;
	}
	free(batch);
	ld->phase = NULL;
	return 0;
}
