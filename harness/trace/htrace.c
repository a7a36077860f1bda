/* htrace.c: libhtrace's core: settings, per-thread state, spans, and the
 * buffered writer that appends spool records to this process's file.
 * Nothing here prints, exits or aborts: what fails is dropped and counted.
 *
 * The hot path is short on purpose: a span builds its spool record in
 * place as it goes (name at begin, attributes as they come), and its end
 * fills the fixed fields and copies the record into the thread's buffer.
 * CRCs are computed, and files written, when a buffer is handed to the
 * flusher thread. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool.h"
#include "trace/internal.h"

#define BUF_SIZE (64 * 1024)
/* Up to 2 MiB per thread absorbs a burst while the flusher writes (as
 * LTTng's per-CPU sub-buffers do). The buffers are mapped at once and
 * touched as bursts need them; a thread that has been quiet for an
 * interval gives back the memory of all free buffers but one. */
#define MAX_BUFS 32
#define KEEP_FREE_BUFS 1
#define MAX_DEPTH 64
#define POOL_MAX 16
#define NAME_MAX_LEN 255
#define ATTRS_SIZE 1024
#define MSG_MAX_LEN 1024
/* A service that serves each connection on a thread of its own starts and
 * ends threads all the time. The state of a thread that ends is handed to
 * the flusher (up to RETIRED_MAX of them, waking it at RETIRED_KICK), which
 * writes what it buffered, batched, and keeps up to SPARE_MAX states, ring
 * mapping and span pool included, for the next threads: no write, munmap
 * (and its TLB shootdown) or mmap on the way. */
#define RETIRED_MAX 64
#define RETIRED_KICK 32
#define SPARE_MAX 64
#define WRITEV_MAX 64

/* Where things sit in a span record (see spool.h): the record header,
 * the fixed payload, the name; then empty message, service and host (the
 * common case: set_error moves the span to the general encoder), then
 * the attributes. */
#define REC_FIXED SPOOL_RECORD_HEADER_SIZE
#define REC_NAME (REC_FIXED + SPOOL_SPAN_FIXED_SIZE)
#define REC_SIZE (REC_NAME + 2 + NAME_MAX_LEN + 6 + ATTRS_SIZE)

struct htrace_span {
	struct tstate *owner;
	unsigned gen;
	atomic_int ended_elsewhere;
	/* Begun by htrace_begin_detached: on no thread's stack. */
	int detached;
	uint8_t trace_id[HTRACE_TRACE_ID_SIZE];
	uint64_t span_id;
	uint64_t parent_id;
	uint64_t start_ticks;
	unsigned kind;
	unsigned status;
	unsigned n_attrs;
	size_t attrs_off;	/* where the attributes start in rec */
	size_t len;		/* bytes of rec in use */
	char *message;
	int n_pcs;
	uint64_t pcs[HTRACE_MAX_FRAMES];
	/* The record being built: the name is NUL-terminated in place (the
	 * message's zero length follows it). */
	unsigned char rec[REC_SIZE];
};

/* A buffer of whole records, CRCs not yet filled in. */
struct tbuf {
	struct tbuf *next;
	int resident;
	size_t len;
	uint64_t spans;
	unsigned char data[BUF_SIZE];
};

/* One per thread that records spans, made at its first span. The owner
 * appends records to cur
 * under lock, a spin lock because it is almost never contended. A full
 * buffer joins the queue and a free one takes its place, and the flusher
 * thread writes queued buffers (and, each interval, the current one)
 * without holding the lock. Buffers come from ring as bursts need them,
 * up to MAX_BUFS; when none is free the owner writes on its own. Nothing
 * here calls malloc while spans are recorded: a fork then finds no
 * allocator lock held by a recording thread (sanitizer allocators are not
 * all fork-safe). */
struct tstate {
	struct tstate *next, *prev;
	atomic_flag lock;
	unsigned gen;
	int registered;
	uint32_t tid;
	uint64_t rng;
	struct tbuf *cur;
	struct tbuf *queue, *queue_tail;	/* full, oldest first */
	struct tbuf *free_bufs;
	struct tbuf *ring;
	unsigned n_bufs;	/* taken from ring so far */
	unsigned handoffs;	/* since the last timed flush */
	uint64_t recorded;	/* not yet added to the global counter */
	struct htrace_span *stack[MAX_DEPTH];
	unsigned depth;
	struct htrace_span *pool[POOL_MAX];
	unsigned pool_n;
};

int htrace_active_;
struct htrace_config htrace_config_;
struct htrace_counters htrace_counters_;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_file_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_initialized;
static int g_init_result;
static int g_atfork_done;
static pthread_key_t g_key;
static int g_key_made;
static unsigned g_gen = 1;
static struct spool_file *g_file;
static int g_file_failed;
static struct tstate *g_threads;
static pthread_t g_flusher;
static int g_flusher_running;
static unsigned g_flusher_gen;
static pthread_cond_t g_flusher_cond = PTHREAD_COND_INITIALIZER;
static int g_flusher_stop;
static atomic_int g_flusher_kick;
/* Set by the exit handler: no flusher starts again. */
static int g_exiting;
/* States of ended threads: handed over (not yet written), and spare (for
 * reuse), both linked through next; and how many rings are mapped. */
static struct tstate *g_retired, *g_spare;
static unsigned g_n_retired, g_n_spare, g_n_mapped;
/* Seeds the generators of new threads; reseeded in a forked child. */
static uint64_t g_seed;

/* The main program as dladdr knows it (its first byte) and its real path.
 * dladdr names the main program by argv[0]: a bare name when it was found
 * on PATH ("harness-refstack"), or a path relative to a working directory
 * that the ingest does not share. Its frames could not be symbolized by
 * that name, so they carry the real one. */
static const void *g_exe_base;
static char g_exe_path[PATH_MAX];
/* Random bits for threads without state (tracing off). */
static __thread uint64_t tls_rng
	__attribute__((tls_model("initial-exec")));
static __thread struct tstate *tls_ts
	__attribute__((tls_model("initial-exec")));
/* The context attached to the thread: kept outside its state, so that a
 * thread that attaches one but records no span has no state. */
static __thread struct htrace_context tls_attached
	__attribute__((tls_model("initial-exec")));
static __thread int tls_has_attached
	__attribute__((tls_model("initial-exec")));

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, fast, and good enough for ids once well seeded. */
static inline uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Little-endian stores, as the spool format wants them. */
static inline void put_le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 4);
#else
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
#endif
}

static inline void put_le64(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
#endif
}

static uint64_t seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
		s = mono_ns() ^ wall_ns() ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)(uintptr_t)&s;
	return s;
}

uint64_t htrace_random_(void)
{
	struct tstate *ts = tls_ts;

	if (ts && ts->gen == g_gen)
		return splitmix(&ts->rng);
	if (!tls_rng)
		tls_rng = seed() | 1;
	return splitmix(&tls_rng);
}

static void ts_lock(struct tstate *ts)
{
	unsigned spins = 0;

	while (atomic_flag_test_and_set_explicit(&ts->lock,
						 memory_order_acquire))
		if (++spins > 64)
			sched_yield();
}

static void ts_unlock(struct tstate *ts)
{
	atomic_flag_clear_explicit(&ts->lock, memory_order_release);
}

static void count_dropped(uint64_t n)
{
	atomic_fetch_add_explicit(&htrace_counters_.spans_dropped, n,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&htrace_counters_.dropped_unreported, n,
				  memory_order_relaxed);
}

/* Write data to the spool file, creating it first if needed (after a
 * fork, the child makes its own). */
static int file_write(const void *data, size_t len)
{
	const char *p = data;
	int ret = -1;

	/* Writes are rare (a full buffer, or every flush interval), so one
	 * lock around them costs nothing and keeps the file from closing
	 * under a writer. */
	pthread_mutex_lock(&g_file_lock);
	if (!g_file && !g_file_failed && htrace_config_.spool_dir) {
		if (spool_file_create(&g_file, htrace_config_.spool_dir,
				      htrace_config_.service, NULL) < 0)
			g_file_failed = 1;
	}
	if (!g_file)
		goto out;
	/* One write(2) per buffer: with O_APPEND, buffers of different
	 * processes never interleave inside a record. A short write leaves
	 * a torn record that readers skip. */
	while (len) {
		ssize_t n = write(spool_file_fd(g_file), p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		atomic_fetch_add_explicit(&htrace_counters_.bytes_written,
					  (uint64_t)n, memory_order_relaxed);
		if ((size_t)n < len)
			goto out;
		len -= (size_t)n;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&g_file_lock);
	if (ret < 0)
		atomic_fetch_add_explicit(&htrace_counters_.write_errors, 1,
					  memory_order_relaxed);
	return ret;
}

/* Append a DROPPED record for losses not yet reported. Called with the
 * buffer locked. */
static void put_dropped(struct tstate *ts)
{
	struct spool_dropped d;
	size_t n;

	d.count = atomic_exchange_explicit(&htrace_counters_.dropped_unreported,
					   0, memory_order_relaxed);
	if (!d.count)
		return;
	d.time_ns = wall_ns();
	n = spool_encode_dropped(ts->cur->data + ts->cur->len,
				 BUF_SIZE - ts->cur->len, &d);
	if (n)
		ts->cur->len += n;
	else
		atomic_fetch_add_explicit(&htrace_counters_.dropped_unreported,
					  d.count, memory_order_relaxed);
}

/* Seal a buffer's records and write them out; it is empty afterwards. */
static void tbuf_write(struct tbuf *b)
{
	if (!b->len)
		return;
	if (spool_seal(b->data, b->len) < 0 || file_write(b->data, b->len) < 0)
		count_dropped(b->spans);
	b->len = 0;
	b->spans = 0;
}

/* Seal n buffers and write them out with one writev(2): with O_APPEND
 * the whole call lands in one piece, as one buffer's write does. The
 * buffers are empty afterwards. */
static void tbufs_write(struct tbuf **bufs, int n)
{
	struct iovec iov[WRITEV_MAX];
	uint64_t lost = 0;
	ssize_t done = -1;
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (spool_seal(bufs[i]->data, bufs[i]->len) < 0) {
			lost += bufs[i]->spans;
			bufs[i]->len = 0;
			bufs[i]->spans = 0;
		}
		iov[i].iov_base = bufs[i]->data;
		iov[i].iov_len = bufs[i]->len;
	}
	pthread_mutex_lock(&g_file_lock);
	if (!g_file && !g_file_failed && htrace_config_.spool_dir) {
		if (spool_file_create(&g_file, htrace_config_.spool_dir,
				      htrace_config_.service, NULL) < 0)
			g_file_failed = 1;
	}
	if (g_file)
		do
			done = writev(spool_file_fd(g_file), iov, n);
		while (done < 0 && errno == EINTR);
	pthread_mutex_unlock(&g_file_lock);
	if (done > 0)
		atomic_fetch_add_explicit(&htrace_counters_.bytes_written,
					  (uint64_t)done, memory_order_relaxed);
	/* A short write keeps the buffers it covers whole; a torn record
	 * after them is skipped by readers, the rest is lost. */
	for (size_t at = 0; k < n; k++) {
		at += iov[k].iov_len;
		if (done < 0 || at > (size_t)done)
			break;
	}
	if (k < n)
		atomic_fetch_add_explicit(&htrace_counters_.write_errors, 1,
					  memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		if (i >= k)
			lost += bufs[i]->spans;
		bufs[i]->len = 0;
		bufs[i]->spans = 0;
	}
	if (lost)
		count_dropped(lost);
}

/* What the flusher adds to the current buffer; called with it locked. */
static void ts_account(struct tstate *ts)
{
	/* Counted per thread on the hot path, summed here. */
	atomic_fetch_add_explicit(&htrace_counters_.spans_recorded,
				  ts->recorded, memory_order_relaxed);
	ts->recorded = 0;
	if (atomic_load_explicit(&htrace_counters_.dropped_unreported,
				 memory_order_relaxed))
		put_dropped(ts);
}

#define RING_SIZE (MAX_BUFS * sizeof(struct tbuf))

static struct tbuf *tbuf_new(struct tstate *ts)
{
	struct tbuf *b;

	if (ts->n_bufs >= MAX_BUFS)
		return NULL;
	b = &ts->ring[ts->n_bufs++];
	b->next = NULL;
	b->resident = 1;
	b->len = 0;
	b->spans = 0;
	return b;
}

/* Give a free buffer's pages back (but its header's); they come back
 * zeroed when it is used again. */
static void tbuf_release_pages(struct tbuf *b)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)b->data + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)b->data + BUF_SIZE) & ~(page - 1);

	if (to > from)
		madvise((void *)from, to - from, MADV_DONTNEED);
	b->resident = 0;
}

/* A free buffer for the state, or NULL; called with it locked. */
static struct tbuf *ts_get_buf(struct tstate *ts)
{
	struct tbuf *b = ts->free_bufs;

	if (b) {
		ts->free_bufs = b->next;
		b->next = NULL;
		b->resident = 1;
		return b;
	}
	return tbuf_new(ts);
}

static void ts_put_buf(struct tstate *ts, struct tbuf *b)
{
	b->next = ts->free_bufs;
	ts->free_bufs = b;
}

static struct tbuf *ts_dequeue(struct tstate *ts)
{
	struct tbuf *b = ts->queue;

	if (b) {
		ts->queue = b->next;
		if (!ts->queue)
			ts->queue_tail = NULL;
		b->next = NULL;
	}
	return b;
}

/* Write every buffer out now; called with the state locked and with
 * g_lock held or the state out of the registry, so the flusher holds
 * none of its buffers. */
static void ts_flush_locked(struct tstate *ts)
{
	struct tbuf *b;

	ts_account(ts);
	while ((b = ts_dequeue(ts))) {
		tbuf_write(b);
		ts_put_buf(ts, b);
	}
	tbuf_write(ts->cur);
}

/* The current buffer has no room for a record; called with it locked.
 * Queue it for the flusher if there is a buffer to take its place, else
 * write it here. */
static void ts_buffer_full(struct tstate *ts)
{
	struct tbuf *b = ts_get_buf(ts);

	if (!b) {
		tbuf_write(ts->cur);
		return;
	}
	if (ts->queue_tail)
		ts->queue_tail->next = ts->cur;
	else
		ts->queue = ts->cur;
	ts->queue_tail = ts->cur;
	ts->cur = b;
	ts->handoffs++;
	/* Without g_lock a wakeup can be missed when the flusher is between
	 * rounds; it then comes at the next interval. */
	atomic_store_explicit(&g_flusher_kick, 1, memory_order_relaxed);
	pthread_cond_signal(&g_flusher_cond);
}

/* After a quiet interval, give back the memory of the free buffers
 * beyond KEEP_FREE_BUFS. */
static void ts_trim(struct tstate *ts)
{
	unsigned n = 0;

	ts_lock(ts);
	if (!ts->handoffs)
		for (struct tbuf *b = ts->free_bufs; b; b = b->next)
			if (n++ >= KEEP_FREE_BUFS && b->resident)
				tbuf_release_pages(b);
	ts->handoffs = 0;
	ts_unlock(ts);
}

/* The flusher's share of one thread, with g_lock held: write the queued
 * buffers, and on a timed round the current one, outside the state's
 * lock so that its owner goes on recording meanwhile. */
static void ts_flush_async(struct tstate *ts, int timed)
{
	int take_cur = timed;

	/* Bounded: a busy thread must not keep the flusher from the rest. */
	for (int i = 0; i <= MAX_BUFS; i++) {
		struct tbuf *b;

		ts_lock(ts);
		if (timed && !i)
			ts_account(ts);
		b = ts_dequeue(ts);
		if (!b && take_cur && ts->cur->len) {
			b = ts_get_buf(ts);
			if (b) {
				struct tbuf *full = ts->cur;
				ts->cur = b;
				b = full;
			} else {
				tbuf_write(ts->cur);
			}
		}
		take_cur = 0;
		ts_unlock(ts);
		if (!b)
			break;
		tbuf_write(b);
		ts_lock(ts);
		ts_put_buf(ts, b);
		ts_unlock(ts);
	}
	if (timed)
		ts_trim(ts);
}

static void ts_free(struct tstate *ts)
{
	if (ts->ring) {
		munmap(ts->ring, RING_SIZE);
		g_n_mapped--;
	}
	for (unsigned i = 0; i < ts->pool_n; i++)
		free(ts->pool[i]);
	for (unsigned i = 0; i < ts->depth; i++)
		if (ts->stack[i]) {
			free(ts->stack[i]->message);
			free(ts->stack[i]);
		}
	free(ts);
}

static void registry_remove(struct tstate *ts)
{
	if (ts->prev)
		ts->prev->next = ts->next;
	else if (g_threads == ts)
		g_threads = ts->next;
	if (ts->next)
		ts->next->prev = ts->prev;
	ts->next = ts->prev = NULL;
	ts->registered = 0;
}

static void registry_add(struct tstate *ts)
{
	ts->prev = NULL;
	ts->next = g_threads;
	if (g_threads)
		g_threads->prev = ts;
	g_threads = ts;
	ts->registered = 1;
}

/* A state whose buffers are written goes to the spares, or is freed;
 * called with g_lock held. Its pages beyond the (empty) current buffer go
 * back, so that a spare costs the memory of one buffer. */
static void ts_recycle(struct tstate *ts)
{
	if (!htrace_on_ || g_n_spare >= SPARE_MAX) {
		ts_free(ts);
		return;
	}
	for (struct tbuf *b = ts->free_bufs; b; b = b->next)
		if (b->resident)
			tbuf_release_pages(b);
	ts->next = g_spare;
	g_spare = ts;
	g_n_spare++;
}

/* Write what the ended threads handed over, as few writev(2) as can be,
 * and recycle their states; called with g_lock held. */
static void retired_write(void)
{
	struct tbuf *bufs[WRITEV_MAX];
	struct tstate *list = g_retired, *ts;
	int n = 0;

	g_retired = NULL;
	g_n_retired = 0;
	for (ts = list; ts; ts = ts->next) {
		struct tbuf *b;

		while ((b = ts_dequeue(ts)) || ts->cur->len) {
			if (n == WRITEV_MAX) {
				tbufs_write(bufs, n);
				n = 0;
			}
			if (!b) {
				bufs[n++] = ts->cur;
				break;
			}
			/* Back to the free list now, written below. */
			ts_put_buf(ts, b);
			bufs[n++] = b;
		}
	}
	if (n)
		tbufs_write(bufs, n);
	while ((ts = list)) {
		list = ts->next;
		ts_recycle(ts);
	}
}

/* Whether an ended thread's buffers can go to the flusher; g_lock held. */
static int can_hand_over(void)
{
	return g_flusher_running && !g_flusher_stop &&
	       g_flusher_gen == g_gen && g_n_retired < RETIRED_MAX;
}

/* Thread exit: hand what the thread buffered to the flusher (or, when it
 * cannot take it, write it here), and forget the thread. */
static void ts_destructor(void *arg)
{
	struct tstate *ts = arg;

	if (!ts)
		return;
	/* All under g_lock, so that a fork finds the state in the registry,
	 * handed over or spare (and the child frees it), or gone. */
	pthread_mutex_lock(&g_lock);
	registry_remove(ts);
	if (tls_ts == ts)
		tls_ts = NULL;
	/* Spans left open die with the thread. */
	for (unsigned i = 0; i < ts->depth; i++)
		if (ts->stack[i]) {
			free(ts->stack[i]->message);
			free(ts->stack[i]);
		}
	ts->depth = 0;
	ts_lock(ts);
	ts_account(ts);
	if (can_hand_over()) {
		ts_unlock(ts);
		ts->next = g_retired;
		g_retired = ts;
		if (++g_n_retired >= RETIRED_KICK) {
			atomic_store_explicit(&g_flusher_kick, 1,
					      memory_order_relaxed);
			pthread_cond_signal(&g_flusher_cond);
		}
	} else {
		ts_flush_locked(ts);
		ts_unlock(ts);
		ts_recycle(ts);
	}
	pthread_mutex_unlock(&g_lock);
}

static void put_thread_name(struct tstate *ts)
{
	char name[64] = "";
	struct spool_thread t;
	size_t n;

	if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
		return;
	t.tid = ts->tid;
	t.name = name;
	n = spool_encode_thread(ts->cur->data + ts->cur->len,
				BUF_SIZE - ts->cur->len, &t);
	ts->cur->len += n;
}

static void start_flusher(void);

/* A spare state made ready for a new thread, or a new one; g_lock held.
 * A spare keeps its ring, its buffers' free list and its span pool. */
static struct tstate *ts_take(void)
{
	struct tstate *ts = g_spare;

	if (ts) {
		g_spare = ts->next;
		g_n_spare--;
		ts->next = ts->prev = NULL;
		ts->cur->next = NULL;
		ts->cur->resident = 1;
		ts->queue = ts->queue_tail = NULL;
		ts->handoffs = 0;
		ts->recorded = 0;
		ts->depth = 0;
		return ts;
	}
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->ring = mmap(NULL, RING_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ts->ring == MAP_FAILED) {
		free(ts);
		return NULL;
	}
	g_n_mapped++;
	ts->cur = tbuf_new(ts);
	return ts;
}

/* Made at the thread's first span, under g_lock: a fork (whose prepare
 * handler takes g_lock) finds the state either registered, and so freed
 * in the child, or not made yet. */
static struct tstate *ts_create(void)
{
	struct tstate *ts;
	int start = 0;

	pthread_mutex_lock(&g_lock);
	ts = ts_take();
	if (!ts)
		goto out;
	atomic_flag_clear(&ts->lock);
	ts->gen = g_gen;
	ts->tid = (uint32_t)syscall(SYS_gettid);
	ts->rng = splitmix(&g_seed) ^ ((uint64_t)ts->tid << 32);
	put_thread_name(ts);
	registry_add(ts);
	if (g_key_made)
		pthread_setspecific(g_key, ts);
	tls_ts = ts;
	/* A forked child's flusher starts with its first traced thread. */
	start = g_flusher_gen != g_gen;
out:
	pthread_mutex_unlock(&g_lock);
	if (start)
		start_flusher();
	return ts;
}

/* The thread's state; after a fork the child's copy is renewed: new
 * random stream, and the flusher thread restarted. */
static inline struct tstate *get_ts(void)
{
	struct tstate *ts = tls_ts;

	if (HTRACE_LIKELY(ts && ts->gen == g_gen))
		return ts;
	if (!ts)
		return ts_create();
	ts->gen = g_gen;
	ts->tid = (uint32_t)syscall(SYS_gettid);
	ts->rng = seed() ^ ((uint64_t)ts->tid << 32);
	if (!ts->registered) {
		/* Tracing was shut down and started again. */
		pthread_mutex_lock(&g_lock);
		registry_add(ts);
		pthread_mutex_unlock(&g_lock);
	}
	start_flusher();
	return ts;
}

/* Everything buffered, by running threads and ended ones, written. */
static void flush_all(void)
{
	pthread_mutex_lock(&g_lock);
	for (struct tstate *ts = g_threads; ts; ts = ts->next) {
		ts_lock(ts);
		ts_flush_locked(ts);
		ts_unlock(ts);
	}
	retired_write();
	pthread_mutex_unlock(&g_lock);
}

static void after_ms(struct timespec *t, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* A round every interval (everything buffered, and the clock rate
 * refined), and one whenever a thread hands over a full buffer or
 * RETIRED_KICK ended threads wait. */
static void *flusher_main(void *arg)
{
	unsigned gen = (unsigned)(uintptr_t)arg;
	struct timespec until, now;

	pthread_mutex_lock(&g_lock);
	after_ms(&until, htrace_config_.flush_interval_ms);
	while (!g_flusher_stop && gen == g_gen) {
		int timed;

		while (!g_flusher_stop && !atomic_exchange(&g_flusher_kick, 0) &&
		       pthread_cond_timedwait(&g_flusher_cond, &g_lock,
					      &until) != ETIMEDOUT)
			;
		if (g_flusher_stop)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		timed = now.tv_sec > until.tv_sec ||
			(now.tv_sec == until.tv_sec &&
			 now.tv_nsec >= until.tv_nsec);
		if (timed) {
			htrace_clock_recalibrate_();
			after_ms(&until, htrace_config_.flush_interval_ms);
		}
		for (struct tstate *ts = g_threads; ts; ts = ts->next)
			ts_flush_async(ts, timed);
		retired_write();
	}
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

static void start_flusher(void)
{
	pthread_condattr_t ca;
	sigset_t all, old;

	pthread_mutex_lock(&g_lock);
	if (!htrace_on_ || g_exiting ||
	    (g_flusher_running && g_flusher_gen == g_gen)) {
		pthread_mutex_unlock(&g_lock);
		return;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g_flusher_cond, &ca);
	pthread_condattr_destroy(&ca);
	g_flusher_stop = 0;
	/* The flusher must not take the service's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	g_flusher_running = pthread_create(&g_flusher, NULL, flusher_main,
					   (void *)(uintptr_t)g_gen) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	g_flusher_gen = g_gen;
	pthread_mutex_unlock(&g_lock);
}

static void stop_flusher(void)
{
	int join;

	pthread_mutex_lock(&g_lock);
	join = g_flusher_running && g_flusher_gen == g_gen;
	g_flusher_stop = 1;
	pthread_cond_broadcast(&g_flusher_cond);
	pthread_mutex_unlock(&g_lock);
	if (join)
		pthread_join(g_flusher, NULL);
	pthread_mutex_lock(&g_lock);
	g_flusher_running = 0;
	pthread_mutex_unlock(&g_lock);
}

/* What threads handed over is written here at the latest; threads that
 * end later write their own. */
static void at_exit(void)
{
	if (!htrace_on_)
		return;
	pthread_mutex_lock(&g_lock);
	g_exiting = 1;
	pthread_mutex_unlock(&g_lock);
	stop_flusher();
	flush_all();
}

/* The same order as everywhere else: g_lock, then a thread's state, then
 * g_file_lock. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&g_lock);
	pthread_mutex_lock(&g_file_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&g_file_lock);
	pthread_mutex_unlock(&g_lock);
}

/* In the child only this thread lives on: other threads' states go, and
 * so do those of ended threads (the parent writes what they hold); this
 * thread's buffer holds the parent's records (the parent writes them), its
 * open spans stay as parents but are not recorded again here; the child
 * writes its own spool file. */
static void fork_child(void)
{
	struct tstate *self = tls_ts, *ts, *next;

	pthread_mutex_init(&g_lock, NULL);
	pthread_mutex_init(&g_file_lock, NULL);
	g_gen++;
	g_flusher_running = 0;
	for (ts = g_threads; ts; ts = next) {
		next = ts->next;
		if (ts != self)
			ts_free(ts);
	}
	g_threads = NULL;
	for (ts = g_retired; ts; ts = next) {
		next = ts->next;
		ts_free(ts);
	}
	for (ts = g_spare; ts; ts = next) {
		next = ts->next;
		ts_free(ts);
	}
	g_retired = g_spare = NULL;
	g_n_retired = g_n_spare = 0;
	g_seed = seed();
	if (self) {
		struct tbuf *b;

		registry_add(self);
		atomic_flag_clear(&self->lock);
		self->cur->len = 0;
		self->cur->spans = 0;
		while ((b = ts_dequeue(self))) {
			b->len = 0;
			b->spans = 0;
			ts_put_buf(self, b);
		}
	}
	if (g_file) {
		spool_file_free(g_file);
		g_file = NULL;
	}
	g_file_failed = 0;
	atomic_store(&htrace_counters_.dropped_unreported, 0);
	tls_rng = 0;
}

static int env_flag(const char *name, int def)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return def;
	return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N' || v[0] == 'f' ||
		 v[0] == 'F');
}

static char *xdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void config_release(struct htrace_config *c)
{
	free(c->service);
	free(c->spool_dir);
	for (size_t i = 0; i < c->n_keys; i++)
		free(c->keys[i]);
	memset(c, 0, sizeof(*c));
	htrace_hmac_reset_();
}

static int parse_keys(struct htrace_config *c, const char *list)
{
	const char *p = list;

	while (p && *p && c->n_keys < HTRACE_MAX_KEYS) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;

		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n) {
			c->keys[c->n_keys] = strndup(s, n);
			if (!c->keys[c->n_keys])
				return -1;
			c->key_lens[c->n_keys++] = n;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

void htrace_options_init(struct htrace_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->sample_rate = 1.0;
	opts->osprofiler_headers = 1;
}

static const char *program_name(void)
{
	extern char *program_invocation_short_name;
	return program_invocation_short_name && *program_invocation_short_name
		       ? program_invocation_short_name
		       : "unknown";
}

/* dl_iterate_phdr lists the main program first: where its first
 * segment sits, for dladdr to say what it calls the program's base. */
static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	const void **addr = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			*addr = (const void *)(uintptr_t)(info->dlpi_addr +
				info->dlpi_phdr[i].p_vaddr);
			break;
		}
	}
	return 1;
}

static void find_main_program(void)
{
	const void *addr = NULL;
	ssize_t n;
	Dl_info info;

	g_exe_base = NULL;
	g_exe_path[0] = '\0';
	n = readlink("/proc/self/exe", g_exe_path, sizeof(g_exe_path) - 1);
	if (n <= 0) {
		g_exe_path[0] = '\0';
		return;
	}
	g_exe_path[n] = '\0';
	dl_iterate_phdr(first_object, &addr);
	memset(&info, 0, sizeof(info));
	if (addr && dladdr(addr, &info) && info.dli_fbase)
		g_exe_base = info.dli_fbase;
	else
		g_exe_path[0] = '\0';
}

static int init_locked(const struct htrace_options *o)
{
	struct htrace_config *c = &htrace_config_;

	config_release(c);
	c->service = xdup(o->service && *o->service ? o->service
						   : program_name());
	c->spool_dir = o->spool_dir && *o->spool_dir ? xdup(o->spool_dir)
						     : NULL;
	if (!c->service || (o->spool_dir && *o->spool_dir && !c->spool_dir) ||
	    parse_keys(c, o->hmac_keys) < 0) {
		config_release(c);
		return -1;
	}
	c->stacks = o->stacks;
	if (c->stacks)
		find_main_program();
	c->sample_rate = o->sample_rate < 0 ? 0
			 : o->sample_rate > 1 ? 1
					      : o->sample_rate;
	c->trust_traceparent = o->trust_traceparent;
	c->osprofiler_headers = o->osprofiler_headers;
	c->flush_interval_ms = o->flush_interval_ms ? o->flush_interval_ms
						    : 200;
	if (!c->spool_dir)
		return 1;

	htrace_clock_init_();
	g_seed = seed();
	if (!g_key_made)
		g_key_made = pthread_key_create(&g_key, ts_destructor) == 0;
	if (!g_atfork_done) {
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		atexit(at_exit);
		g_atfork_done = 1;
	}
	g_file_failed = 0;
	if (spool_file_create(&g_file, c->spool_dir, c->service, NULL) < 0) {
		config_release(c);
		return -1;
	}
	return 0;
}

static int init_once(const struct htrace_options *opts, int *first)
{
	int ret;

	pthread_mutex_lock(&g_lock);
	*first = !g_initialized;
	if (!*first) {
		ret = g_init_result;
		pthread_mutex_unlock(&g_lock);
		return ret;
	}
	ret = init_locked(opts);
	g_initialized = 1;
	g_init_result = ret;
	pthread_mutex_unlock(&g_lock);
	if (ret == 0) {
		atomic_store(&htrace_on_, 1);
		start_flusher();
	}
	return ret;
}

int htrace_init_with(const struct htrace_options *opts)
{
	int first;

	return init_once(opts, &first);
}

int htrace_init(void)
{
	struct htrace_options o;
	const char *rate, *tp;
	int ret, first;

	htrace_options_init(&o);
	o.service = getenv("HTRACE_SERVICE");
	o.spool_dir = getenv("HTRACE_SPOOL_DIR");
	o.hmac_keys = getenv("HTRACE_HMAC_KEYS");
	o.stacks = env_flag("HTRACE_STACKS", 0);
	o.trust_traceparent = env_flag("HTRACE_TRUST_TRACEPARENT", 0);
	o.osprofiler_headers = env_flag("HTRACE_OSPROFILER_HEADERS", 1);
	rate = getenv("HTRACE_SAMPLE_RATE");
	if (rate && *rate) {
		char *end;
		double r = strtod(rate, &end);
		if (end != rate)
			o.sample_rate = r;
	}
	ret = init_once(&o, &first);
	/* A traced parent process passes its context down. */
	tp = getenv("TRACEPARENT");
	if (ret == 0 && first && tp) {
		struct htrace_context ctx;
		if (htrace_context_parse(tp, &ctx) == HTRACE_EXTRACT_OK)
			htrace_attach(&ctx);
	}
	return ret;
}

int htrace_enabled(void)
{
	return htrace_on_;
}

void htrace_flush(void)
{
	if (!htrace_on_)
		return;
	flush_all();
}

void htrace_shutdown(void)
{
	pthread_mutex_lock(&g_lock);
	if (!g_initialized) {
		pthread_mutex_unlock(&g_lock);
		return;
	}
	pthread_mutex_unlock(&g_lock);
	if (htrace_on_) {
		stop_flusher();
		flush_all();
	}
	atomic_store(&htrace_on_, 0);
	pthread_mutex_lock(&g_lock);
	/* Written by flush_all above or by their threads since. */
	retired_write();
	while (g_spare) {
		struct tstate *ts = g_spare;
		g_spare = ts->next;
		ts_free(ts);
	}
	g_n_spare = 0;
	tls_has_attached = 0;
	for (struct tstate *ts = g_threads, *next; ts; ts = next) {
		next = ts->next;
		if (ts != tls_ts) {
			/* Still running threads keep using their state; only
			 * detach it from the registry. */
			ts->next = ts->prev = NULL;
			ts->registered = 0;
			continue;
		}
		count_dropped(ts->depth);
		ts_free(ts);
		tls_ts = NULL;
		if (g_key_made)
			pthread_setspecific(g_key, NULL);
	}
	g_threads = NULL;
	g_gen++;
	pthread_mutex_lock(&g_file_lock);
	spool_file_free(g_file);
	g_file = NULL;
	pthread_mutex_unlock(&g_file_lock);
	config_release(&htrace_config_);
	g_initialized = 0;
	pthread_mutex_unlock(&g_lock);
}

void htrace_thread_states_(unsigned *mapped, unsigned *spare,
			   unsigned *retired)
{
	pthread_mutex_lock(&g_lock);
	*mapped = g_n_mapped;
	*spare = g_n_spare;
	*retired = g_n_retired;
	pthread_mutex_unlock(&g_lock);
}

const char *htrace_kind_name(enum htrace_kind kind)
{
	return spool_kind_name((unsigned)kind);
}

int htrace_kind_parse(const char *name)
{
	return spool_kind_parse(name);
}

/* Spans. */

static struct htrace_span *span_alloc(struct tstate *ts)
{
	struct htrace_span *s;

	if (ts->pool_n)
		return ts->pool[--ts->pool_n];
	s = malloc(sizeof(struct htrace_span));
	if (s)
		s->message = NULL;
	return s;
}

static void span_free(struct tstate *ts, struct htrace_span *s)
{
	if (HTRACE_UNLIKELY(s->message)) {
		free(s->message);
		s->message = NULL;
	}
	if (ts->pool_n < POOL_MAX)
		ts->pool[ts->pool_n++] = s;
	else
		free(s);
}

/* Spans ended on another thread are popped here by their owner. */
static void pop_ended(struct tstate *ts)
{
	while (ts->depth) {
		struct htrace_span *top = ts->stack[ts->depth - 1];
		if (!atomic_load_explicit(&top->ended_elsewhere,
					  memory_order_acquire))
			break;
		ts->depth--;
		span_free(ts, top);
	}
}

static struct htrace_span *span_start(struct tstate *ts, unsigned kind,
				      const char *name, const void *caller,
				      int detached)
{
	struct htrace_span *s;
	size_t n;

	if (HTRACE_UNLIKELY(detached)) {
		s = span_alloc(ts);
		if (!s) {
			count_dropped(1);
			return NULL;
		}
		s->detached = 1;
		goto fill;
	}
	if (HTRACE_UNLIKELY(ts->depth >= MAX_DEPTH)) {
		pop_ended(ts);
		if (ts->depth >= MAX_DEPTH) {
			count_dropped(1);
			return NULL;
		}
	}
	s = span_alloc(ts);
	if (HTRACE_UNLIKELY(!s)) {
		count_dropped(1);
		return NULL;
	}
	/* On the stack at once: a fork in another thread then finds every
	 * span of this one in its pool or on its stack. */
	ts->stack[ts->depth++] = s;
	s->detached = 0;
fill:
	s->owner = ts;
	s->gen = g_gen;
	atomic_store_explicit(&s->ended_elsewhere, 0, memory_order_relaxed);
	do
		s->span_id = splitmix(&ts->rng);
	while (HTRACE_UNLIKELY(!s->span_id));
	s->kind = kind;
	s->status = SPOOL_STATUS_OK;
	s->n_attrs = 0;
	s->message = NULL;
	s->n_pcs = 0;
	n = name ? strlen(name) : 0;
	if (n > NAME_MAX_LEN)
		n = NAME_MAX_LEN;
	put_le16(s->rec + REC_NAME, (unsigned)n);
	if (n)
		memcpy(s->rec + REC_NAME + 2, name, n);
	/* Message, service and host: empty. */
	memset(s->rec + REC_NAME + 2 + n, 0, 6);
	s->attrs_off = REC_NAME + 2 + n + 6;
	s->len = s->attrs_off;
	if (HTRACE_UNLIKELY(htrace_config_.stacks))
		s->n_pcs = htrace_stack_capture_(s->pcs, HTRACE_MAX_FRAMES,
						 caller);
	s->start_ticks = htrace_ticks_();
	return s;
}

static struct htrace_span *begin(enum htrace_kind kind, const char *name,
				 const void *caller)
{
	struct tstate *ts;
	struct htrace_span *parent, *s;

	/* Without a state there is no open span: without an attached
	 * context either, there is nothing to record, and no state to
	 * make. */
	if (HTRACE_UNLIKELY(!tls_ts) && !tls_has_attached)
		return NULL;
	ts = get_ts();
	if (HTRACE_UNLIKELY(!ts)) {
		count_dropped(1);
		return NULL;
	}
	parent = ts->depth ? ts->stack[ts->depth - 1] : NULL;
	if (parent && HTRACE_UNLIKELY(atomic_load_explicit(
			      &parent->ended_elsewhere, memory_order_acquire))) {
		pop_ended(ts);
		parent = ts->depth ? ts->stack[ts->depth - 1] : NULL;
	}
	if (parent) {
		s = span_start(ts, kind, name, caller, 0);
		if (s) {
			memcpy(s->trace_id, parent->trace_id, 16);
			s->parent_id = parent->span_id;
		}
		return s;
	}
	if (!tls_has_attached)
		return NULL;
	s = span_start(ts, kind, name, caller, 0);
	if (s) {
		memcpy(s->trace_id, tls_attached.trace_id, 16);
		s->parent_id = tls_attached.span_id;
	}
	return s;
}

struct htrace_span *htrace_begin(enum htrace_kind kind, const char *name)
{
	if (HTRACE_LIKELY(!htrace_on_))
		return NULL;
	return begin(kind, name, HTRACE_CALLER());
}

/* Whether a new trace is recorded, by the sample rate. */
static int sample_root(void)
{
	double u;

	if (htrace_config_.sample_rate >= 1.0)
		return 1;
	u = (double)(htrace_random_() >> 11) * 0x1.0p-53;
	return u < htrace_config_.sample_rate;
}

/* A new random trace id for root span s. */
static void new_trace(struct tstate *ts, struct htrace_span *s,
		      uint8_t trace_id[HTRACE_TRACE_ID_SIZE])
{
	uint64_t hi, lo;

	do {
		hi = splitmix(&ts->rng);
		lo = splitmix(&ts->rng);
	} while (!hi && !lo);
	for (int i = 0; i < 8; i++) {
		s->trace_id[i] = (uint8_t)(hi >> (56 - 8 * i));
		s->trace_id[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
	s->parent_id = 0;
	if (trace_id)
		memcpy(trace_id, s->trace_id, 16);
}

struct htrace_span *htrace_begin_root(enum htrace_kind kind, const char *name,
				      uint8_t trace_id[HTRACE_TRACE_ID_SIZE])
{
	struct tstate *ts;
	struct htrace_span *s;

	/* Decided before the state is made: a thread whose roots are all
	 * sampled out needs none. */
	if (!htrace_on_ || !sample_root())
		return NULL;
	ts = get_ts();
	if (!ts) {
		count_dropped(1);
		return NULL;
	}
	s = span_start(ts, kind, name, HTRACE_CALLER(), 0);
	if (s)
		new_trace(ts, s, trace_id);
	return s;
}

static int context_valid(const struct htrace_context *ctx);

struct htrace_span *htrace_begin_detached(const struct htrace_context *parent,
					  enum htrace_kind kind,
					  const char *name,
					  uint8_t trace_id[HTRACE_TRACE_ID_SIZE])
{
	struct tstate *ts;
	struct htrace_span *s;

	if (!htrace_on_)
		return NULL;
	if (parent ? !context_valid(parent) ||
			     !(parent->flags & HTRACE_FLAG_SAMPLED)
		   : !sample_root())
		return NULL;
	ts = get_ts();
	if (!ts) {
		count_dropped(1);
		return NULL;
	}
	s = span_start(ts, kind, name, HTRACE_CALLER(), 1);
	if (!s)
		return NULL;
	if (parent) {
		memcpy(s->trace_id, parent->trace_id, 16);
		s->parent_id = parent->span_id;
	} else {
		new_trace(ts, s, trace_id);
	}
	return s;
}

/* Turn captured return addresses into frames; names borrowed from the
 * loaded objects (dladdr), valid while they stay loaded. */
static size_t resolve_frames(const struct htrace_span *s,
			     struct spool_frame *frames)
{
	size_t n = 0;

	for (int i = 0; i < s->n_pcs; i++) {
		Dl_info info;

		memset(&info, 0, sizeof(info));
		frames[n].pc = s->pcs[i];
		frames[n].offset = s->pcs[i];
		frames[n].module = "";
		frames[n].symbol = "";
		if (dladdr((void *)(uintptr_t)s->pcs[i], &info) && info.dli_fname) {
			frames[n].module = g_exe_path[0] &&
						   info.dli_fbase == g_exe_base
						   ? g_exe_path
						   : info.dli_fname;
			frames[n].offset = s->pcs[i] -
					   (uint64_t)(uintptr_t)info.dli_fbase;
			if (info.dli_sname)
				frames[n].symbol = info.dli_sname;
		}
		n++;
	}
	return n;
}

/* A span that needs the general encoder: a message, or frames. The
 * record is sealed already; sealing it again later does no harm. */
static size_t record_general(struct tstate *ts, struct htrace_span *s,
			     uint64_t start_ns, uint64_t dur_ns)
{
	struct spool_frame frames[HTRACE_MAX_FRAMES];
	struct spool_span r;
	struct tbuf *b = ts->cur;

	memcpy(r.trace_id, s->trace_id, 16);
	r.span_id = s->span_id;
	r.parent_id = s->parent_id;
	r.kind = s->kind;
	r.status = s->status;
	r.name = (const char *)s->rec + REC_NAME + 2;
	r.message = s->message;
	r.service = NULL;
	r.host = NULL;
	r.pid = 0;
	r.tid = s->owner->tid;
	r.start_ns = start_ns;
	r.dur_ns = dur_ns;
	r.attrs = NULL;
	r.n_attrs = 0;
	r.raw_attrs = s->rec + s->attrs_off;
	r.raw_attrs_len = s->len - s->attrs_off;
	r.n_raw_attrs = s->n_attrs;
	r.n_frames = s->n_pcs ? resolve_frames(s, frames) : 0;
	r.frames = r.n_frames ? frames : NULL;
	if (spool_span_size(&r) > BUF_SIZE - b->len) {
		ts_buffer_full(ts);
		b = ts->cur;
	}
	return spool_encode_span(b->data + b->len, BUF_SIZE - b->len, &r);
}

static void record(struct tstate *ts, struct htrace_span *s, uint64_t end)
{
	unsigned char *p = s->rec;
	uint64_t start_ns = htrace_ticks_unix_(s->start_ticks);
	uint64_t dur_ns = 0;
	size_t n = s->len + SPOOL_RECORD_TRAILER_SIZE;
	struct tbuf *b;

	/* With an invariant TSC, a thread that moves between CPUs whose
	 * counters disagree could see time go back a little. */
	if (HTRACE_LIKELY(end > s->start_ticks))
		dur_ns = htrace_ticks_ns_(end - s->start_ticks);
	if (HTRACE_UNLIKELY(s->message || s->n_pcs)) {
		ts_lock(ts);
		n = record_general(ts, s, start_ns, dur_ns);
		goto out;
	}
	put_le16(p, SPOOL_SYNC);
	p[2] = SPOOL_RECORD_SPAN;
	p[3] = SPOOL_VERSION;
	put_le32(p + 4, (uint32_t)(s->len - SPOOL_RECORD_HEADER_SIZE));
	memcpy(p + REC_FIXED, s->trace_id, 16);
	put_le64(p + REC_FIXED + 16, s->span_id);
	put_le64(p + REC_FIXED + 24, s->parent_id);
	put_le64(p + REC_FIXED + 32, start_ns);
	put_le64(p + REC_FIXED + 40, dur_ns);
	put_le32(p + REC_FIXED + 48, 0);
	put_le32(p + REC_FIXED + 52, s->owner->tid);
	p[REC_FIXED + 56] = (unsigned char)s->kind;
	p[REC_FIXED + 57] = (unsigned char)s->status;
	put_le16(p + REC_FIXED + 58, s->n_attrs);
	put_le16(p + REC_FIXED + 60, 0);
	put_le16(p + REC_FIXED + 62, 0);

	ts_lock(ts);
	b = ts->cur;
	if (HTRACE_UNLIKELY(n > BUF_SIZE - b->len)) {
		ts_buffer_full(ts);
		b = ts->cur;
	}
	/* The CRC is filled in when the buffer is sealed. */
	memcpy(b->data + b->len, p, n - SPOOL_RECORD_TRAILER_SIZE);
out:
	if (HTRACE_LIKELY(n)) {
		ts->cur->len += n;
		ts->cur->spans++;
		ts->recorded++;
	} else {
		count_dropped(1);
	}
	ts_unlock(ts);
}

void htrace_end(struct htrace_span *s)
{
	struct tstate *ts;
	uint64_t end;

	if (HTRACE_UNLIKELY(!s))
		return;
	end = htrace_ticks_();
	ts = tls_ts;
	if (HTRACE_UNLIKELY(s->detached)) {
		/* On no stack: recorded and freed by whichever thread ends
		 * it, or only freed when tracing went away meanwhile. */
		ts = !htrace_on_ ? NULL : ts ? ts : get_ts();
		if (!ts) {
			free(s->message);
			free(s);
			return;
		}
		/* Its thread's state may be gone: the record names the
		 * thread that ends it. */
		s->owner = ts;
		if (s->gen == g_gen && ts->gen == g_gen)
			record(ts, s, end);
		span_free(ts, s);
		return;
	}
	if (HTRACE_UNLIKELY(!htrace_on_ || !ts)) {
		/* Tracing was shut down (or this thread has no state) while
		 * the span was open; its memory went with its thread. */
		return;
	}
	if (HTRACE_LIKELY(s->gen == g_gen && ts->gen == g_gen))
		record(ts, s, end);
	if (HTRACE_LIKELY(s->owner == ts)) {
		/* Usually the top of the stack; out-of-order ends remove it
		 * from the middle. */
		unsigned i = ts->depth;
		while (i && ts->stack[i - 1] != s)
			i--;
		if (i) {
			memmove(&ts->stack[i - 1], &ts->stack[i],
				(ts->depth - i) * sizeof(ts->stack[0]));
			ts->depth--;
			span_free(ts, s);
		}
		pop_ended(ts);
	} else {
		atomic_store_explicit(&s->ended_elsewhere, 1,
				      memory_order_release);
	}
}

static void attr_dropped(void)
{
	atomic_fetch_add_explicit(&htrace_counters_.attrs_dropped, 1,
				  memory_order_relaxed);
}

/* Start an attribute of value_size bytes in the span's record: key and
 * type written, the value's place returned; NULL when it does not fit. */
static inline unsigned char *attr_put(struct htrace_span *s, const char *key,
				      unsigned type, size_t value_size)
{
	size_t k = strlen(key);
	size_t room = s->attrs_off + ATTRS_SIZE - s->len;
	unsigned char *p;

	if (HTRACE_UNLIKELY(k > 0xffff || 3 + k + value_size > room)) {
		attr_dropped();
		return NULL;
	}
	p = s->rec + s->len;
	put_le16(p, (unsigned)k);
	memcpy(p + 2, key, k);
	p[2 + k] = (unsigned char)type;
	s->len += 3 + k + value_size;
	s->n_attrs++;
	return p + 3 + k;
}

void htrace_attr_str(struct htrace_span *s, const char *key, const char *value)
{
	unsigned char *p;
	size_t n;

	if (!s || !key)
		return;
	value = value ? value : "";
	n = strlen(value);
	if (n > ATTRS_SIZE) {
		attr_dropped();
		return;
	}
	p = attr_put(s, key, SPOOL_ATTR_STR, 4 + n);
	if (p) {
		put_le32(p, (uint32_t)n);
		memcpy(p + 4, value, n);
	}
}

void htrace_attr_int(struct htrace_span *s, const char *key, int64_t value)
{
	unsigned char *p;

	if (!s || !key)
		return;
	p = attr_put(s, key, SPOOL_ATTR_INT, 8);
	if (p)
		put_le64(p, (uint64_t)value);
}

void htrace_attr_double(struct htrace_span *s, const char *key, double value)
{
	unsigned char *p;
	uint64_t bits;

	if (!s || !key)
		return;
	p = attr_put(s, key, SPOOL_ATTR_DOUBLE, 8);
	if (p) {
		memcpy(&bits, &value, 8);
		put_le64(p, bits);
	}
}

void htrace_attr_bool(struct htrace_span *s, const char *key, int value)
{
	unsigned char *p;

	if (!s || !key)
		return;
	p = attr_put(s, key, SPOOL_ATTR_BOOL, 1);
	if (p)
		p[0] = value ? 1 : 0;
}

void htrace_set_error(struct htrace_span *s, const char *message)
{
	if (!s)
		return;
	s->status = SPOOL_STATUS_ERROR;
	free(s->message);
	s->message = message ? strndup(message, MSG_MAX_LEN) : NULL;
}

int htrace_span_context(const struct htrace_span *s, struct htrace_context *out)
{
	if (!s || !out)
		return -1;
	memcpy(out->trace_id, s->trace_id, 16);
	out->span_id = s->span_id;
	out->flags = HTRACE_FLAG_SAMPLED;
	return 0;
}

int htrace_current(struct htrace_context *out)
{
	struct tstate *ts = tls_ts;

	if (!htrace_on_ || !out)
		return -1;
	if (ts) {
		pop_ended(ts);
		if (ts->depth)
			return htrace_span_context(ts->stack[ts->depth - 1],
						   out);
	}
	if (tls_has_attached) {
		*out = tls_attached;
		return 0;
	}
	return -1;
}

static int context_valid(const struct htrace_context *ctx)
{
	int nz = 0;

	for (int i = 0; i < 16; i++)
		nz |= ctx->trace_id[i];
	return nz && ctx->span_id;
}

/* The thread's state waits for its first span. */
int htrace_attach(const struct htrace_context *ctx)
{
	if (!ctx || !context_valid(ctx))
		return -1;
	if (!htrace_on_)
		return 0;
	tls_attached = *ctx;
	tls_has_attached = (ctx->flags & HTRACE_FLAG_SAMPLED) != 0;
	return 0;
}

void htrace_detach(void)
{
	tls_has_attached = 0;
}

void htrace_stats(struct htrace_stats *out)
{
	struct htrace_counters *c = &htrace_counters_;

	out->spans_recorded = atomic_load(&c->spans_recorded);
	out->spans_dropped = atomic_load(&c->spans_dropped);
	out->attrs_dropped = atomic_load(&c->attrs_dropped);
	out->extract_ok = atomic_load(&c->extract[HTRACE_EXTRACT_OK]);
	out->extract_untraced = atomic_load(&c->extract[HTRACE_EXTRACT_UNTRACED]);
	out->extract_forged = atomic_load(&c->extract[HTRACE_EXTRACT_FORGED]);
	out->extract_malformed =
		atomic_load(&c->extract[HTRACE_EXTRACT_MALFORMED]);
	out->bytes_written = atomic_load(&c->bytes_written);
	out->write_errors = atomic_load(&c->write_errors);
}

/* Convenience helpers. */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The word after position p in q (skipping blanks), copied to out. */
static void next_word(const char *p, char *out, size_t size)
{
	size_t n = 0;

	while (*p && is_space(*p))
		p++;
	while (*p && !is_space(*p) && *p != '(' && *p != ';' && *p != ',' &&
	       n + 1 < size)
		out[n++] = *p++;
	out[n] = '\0';
}

static const char *find_keyword(const char *q, const char *kw)
{
	size_t n = strlen(kw);

	for (const char *p = q; *p; p++) {
		if ((p == q || is_space(p[-1])) && !strncasecmp(p, kw, n) &&
		    (is_space(p[n]) || !p[n]))
			return p + n;
	}
	return NULL;
}

struct htrace_span *htrace_db_begin(const char *system, const char *query)
{
	static const char *const table_kw[] = { "FROM", "INTO", "UPDATE",
						"TABLE" };
	struct htrace_span *s;
	char op[32], table[96], name[160];

	if (HTRACE_LIKELY(!htrace_on_))
		return NULL;
	query = query ? query : "";
	next_word(query, op, sizeof(op));
	for (char *p = op; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	table[0] = '\0';
	for (size_t i = 0; i < sizeof(table_kw) / sizeof(table_kw[0]); i++) {
		const char *p = find_keyword(query, table_kw[i]);
		if (p) {
			next_word(p, table, sizeof(table));
			break;
		}
	}
	snprintf(name, sizeof(name), "%s%s%s", op[0] ? op : "QUERY",
		 table[0] ? " " : "", table);
	s = begin(HTRACE_KIND_DB, name, HTRACE_CALLER());
	htrace_attr_str(s, HTRACE_ATTR_DB_SYSTEM_NAME, system ? system : "");
	htrace_attr_str(s, HTRACE_ATTR_DB_QUERY_TEXT, query);
	if (op[0])
		htrace_attr_str(s, HTRACE_ATTR_DB_OPERATION_NAME, op);
	if (table[0])
		htrace_attr_str(s, HTRACE_ATTR_DB_COLLECTION_NAME, table);
	return s;
}

void htrace_db_end(struct htrace_span *s, int64_t rows)
{
	if (!s)
		return;
	if (rows >= 0)
		htrace_attr_int(s, HTRACE_ATTR_DB_RESPONSE_RETURNED_ROWS, rows);
	htrace_end(s);
}

struct htrace_span *htrace_http_client_begin(const char *method,
					     const char *url)
{
	struct htrace_span *s;
	const char *path = "/", *p;
	char name[NAME_MAX_LEN + 1];
	size_t n;

	if (HTRACE_LIKELY(!htrace_on_))
		return NULL;
	method = method ? method : "GET";
	url = url ? url : "";
	p = strstr(url, "://");
	if (p) {
		p = strchr(p + 3, '/');
		if (p)
			path = p;
	} else if (url[0] == '/') {
		path = url;
	}
	n = strcspn(path, "?#");
	snprintf(name, sizeof(name), "%s %.*s", method, (int)n, path);
	s = begin(HTRACE_KIND_REST_CALL, name, HTRACE_CALLER());
	htrace_attr_str(s, HTRACE_ATTR_HTTP_REQUEST_METHOD, method);
	htrace_attr_str(s, HTRACE_ATTR_URL_FULL, url);
	return s;
}

struct htrace_span *htrace_http_server_begin(const char *method,
					     const char *route)
{
	struct htrace_span *s;
	char name[NAME_MAX_LEN + 1];

	if (HTRACE_LIKELY(!htrace_on_))
		return NULL;
	method = method ? method : "GET";
	route = route ? route : "/";
	snprintf(name, sizeof(name), "%s %s", method, route);
	s = begin(HTRACE_KIND_REST_DISPATCH, name, HTRACE_CALLER());
	htrace_attr_str(s, HTRACE_ATTR_HTTP_REQUEST_METHOD, method);
	htrace_attr_str(s, HTRACE_ATTR_HTTP_ROUTE, route);
	return s;
}

void htrace_http_end(struct htrace_span *s, int status)
{
	char msg[32];
	int limit;

	if (!s)
		return;
	limit = s->kind == HTRACE_KIND_REST_DISPATCH ? 500 : 400;
	if (status > 0)
		htrace_attr_int(s, HTRACE_ATTR_HTTP_RESPONSE_STATUS_CODE, status);
	if (status <= 0) {
		htrace_set_error(s, "no response");
	} else if (status >= limit) {
		snprintf(msg, sizeof(msg), "HTTP %d", status);
		htrace_attr_str(s, HTRACE_ATTR_ERROR_TYPE, msg + 5);
		htrace_set_error(s, msg);
	}
	htrace_end(s);
}

struct htrace_span *htrace_rpc_begin(enum htrace_kind kind, const char *system,
				     const char *method)
{
	struct htrace_span *s;

	if (HTRACE_LIKELY(!htrace_on_))
		return NULL;
	s = begin(kind, method ? method : "", HTRACE_CALLER());
	htrace_attr_str(s, HTRACE_ATTR_RPC_SYSTEM, system ? system : "");
	htrace_attr_str(s, HTRACE_ATTR_RPC_METHOD, method ? method : "");
	return s;
}

struct htrace_span *htrace_exec_begin(const char *const *argv)
{
	struct htrace_span *s;
	const char *base = "", *slash;
	char line[ATTRS_SIZE / 2];
	size_t len = 0;

	if (HTRACE_LIKELY(!htrace_on_))
		return NULL;
	if (argv && argv[0]) {
		slash = strrchr(argv[0], '/');
		base = slash ? slash + 1 : argv[0];
	}
	line[0] = '\0';
	for (size_t i = 0; argv && argv[i] && len + 1 < sizeof(line); i++) {
		int n = snprintf(line + len, sizeof(line) - len, "%s%s",
				 i ? " " : "", argv[i]);
		if (n < 0)
			break;
		len += (size_t)n;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
	}
	s = begin(HTRACE_KIND_EXEC, base, HTRACE_CALLER());
	htrace_attr_str(s, HTRACE_ATTR_PROCESS_COMMAND_LINE, line);
	htrace_attr_str(s, HTRACE_ATTR_PROCESS_EXECUTABLE_NAME, base);
	return s;
}

void htrace_exec_end(struct htrace_span *s, int wait_status)
{
	char msg[48];
	int code;

	if (!s)
		return;
	if (WIFEXITED(wait_status))
		code = WEXITSTATUS(wait_status);
	else if (WIFSIGNALED(wait_status))
		code = 128 + WTERMSIG(wait_status);
	else
		code = wait_status;
	htrace_attr_int(s, HTRACE_ATTR_PROCESS_EXIT_CODE, code);
	if (code) {
		if (WIFSIGNALED(wait_status))
			snprintf(msg, sizeof(msg), "killed by signal %d",
				 WTERMSIG(wait_status));
		else
			snprintf(msg, sizeof(msg), "exit code %d", code);
		htrace_set_error(s, msg);
	}
	htrace_end(s);
}
