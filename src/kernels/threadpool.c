/*
 * threadpool.c - workers claim the chunks of a job from one atomic word
 * and sleep on a condition variable between jobs.
 *
 * The word holds the job's generation, its number of chunks and the next
 * unclaimed chunk: a thread claims chunk i by moving the word from
 * (gen, n, i) to (gen, n, i + 1). Because the generation is in the word, a
 * worker that wakes after its job ended (or while the next is being set
 * up) can never claim a chunk of the wrong job, and because a thread holds
 * one chunk at a time, one that loses its core (another process took it)
 * delays the job by one chunk: the others run the rest. Fixed parts (the
 * previous design) made every job wait for the slowest thread: 2 threads
 * on a 2-core machine with one core busy ran 20x slower than 1.
 *
 * Waiting: a worker spins on the word for a short time (jobs of a decode
 * step follow each other within microseconds), then sleeps; the caller
 * starts on the chunks at once and wakes sleepers, which join late at no
 * cost to it but the wake-up's system call. When a wake-up brought no
 * help (the caller ran every chunk: the worker found no core in time, or
 * the job was over first) sleepers are left asleep for a while (the same
 * periods as below); spinning workers still help.
 *
 * A late chunk: when a worker loses its core while it holds a chunk, the
 * caller, out of chunks, has to wait until the scheduler gives the worker
 * a core again, which on a machine with another busy process is the
 * other process's time slice (milliseconds, against microseconds of
 * work). The caller tells such a stall from ordinary imbalance by its own
 * time per chunk, sleeps until the chunk is done (so its core is free for
 * the worker), and then runs the pool's jobs alone for a while: 1 ms,
 * doubling while the stalls go on (a stall within the first jobs after a
 * period), up to 128 ms. With a core busy the
 * threads thus cost a stall per backoff period, and generation at -t 2
 * stays about as fast as at -t 1 (bench/busy.sh); once the core is free
 * again the next try finds no stall and the workers help as before.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define SPIN_NS            50000   /* a worker's spin before it sleeps */
#define CHECK_CLOCK_EVERY  64      /* spins between clock reads (a power of two) */
#define YIELD_EVERY        256     /* the caller's spins between yields (a power of two) */
#define WORKER_YIELD_EVERY 16      /* a waiting worker's spins between yields (a power of two) */
#define MAX_CHUNKS         0xFFFFu /* chunks of one job: 16 bits of the word */
/* A chunk is late when the caller has waited for it longer than
 * LATE_CHUNKS of its own chunks plus LATE_NS (an interrupt, a cold cache):
 * a worker that holds a chunk finishes it within about one chunk's time
 * unless it lost its core. */
#define LATE_CHUNKS 4
#define LATE_NS     30000
/* A woken worker that has a core starts within this (a futex wake-up, an
 * idle vCPU's interrupt): a job that took longer without its help was one
 * it could not get a core for. */
#define WAKE_SLACK_NS 100000
/* The caller that ran no chunk (spinning workers took them all) has no time
 * per chunk to judge by: it sleeps after this long and counts no stall. */
#define LATE_NS_UNJUDGED 1000000
#define BACKOFF_MIN_NS   1000000u   /* a period after a stall or a wasted wake-up, */
#define BACKOFF_MAX_NS   128000000u /* doubling up to this while they go on: */
#define BACKOFF_AGAIN    16         /* an event within this many jobs after a period */

/* A period that starts after an event and doubles while the events go on. */
typedef struct {
    uint64_t until; /* now_ns() before which it lasts (0: never started) */
    uint64_t len;   /* the length of the last period */
    unsigned calm;  /* jobs since then without the event (up to BACKOFF_AGAIN) */
} backoff;

/* the claim word: generation (32 bits) | chunks (16) | next chunk (16) */
static uint64_t word(uint32_t gen, size_t n, size_t next) {
    return (uint64_t)gen << 32 | (uint64_t)n << 16 | (uint64_t)next;
}
static uint32_t word_gen(uint64_t w) { return (uint32_t)(w >> 32); }
static size_t word_n(uint64_t w) { return (size_t)(w >> 16 & 0xFFFF); }
static size_t word_next(uint64_t w) { return (size_t)(w & 0xFFFF); }

struct ll_pool {
    int n;
    pthread_t *threads;
    _Atomic uint64_t claim;
    atomic_size_t done; /* chunks of the current job finished */
    atomic_int max_threads;
    atomic_bool stop;
    atomic_int sleepers;
    /* the current job: written before its generation is published, read
     * only by a thread holding one of its chunks (so while it is live) */
    ll_pool_chunk_fn chunk_fn;
    void *ctx;
    size_t base; /* ll_pool_for's first chunk in this job */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* a stalled caller sleeps on done_cv (with mu); whoever finishes the
     * job's last chunk wakes it */
    atomic_bool caller_sleeps;
    pthread_cond_t done_cv;
    /* seen and used only by the thread that runs the jobs: after a stall
     * it runs them alone for a while; after a wake-up that brought no help
     * it leaves sleeping workers asleep for a while */
    backoff solo, no_wake;
    struct worker_arg {
        ll_pool *pool;
        int index;
    } * args;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Claims and runs chunks of job `gen` until none is left; returns how
 * many it ran. */
static size_t work(ll_pool *p, uint32_t gen, int slot) {
    size_t ran = 0;
    uint64_t w = atomic_load_explicit(&p->claim, memory_order_acquire);
    while (word_gen(w) == gen && word_next(w) < word_n(w)) {
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &w, w + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        size_t i = word_next(w), n = word_n(w);
        p->chunk_fn(p->ctx, p->base + i, slot);
        ran++;
        /* seq_cst: pairs with wait_done's store of caller_sleeps */
        if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->caller_sleeps)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
        w = atomic_load_explicit(&p->claim, memory_order_acquire);
    }
    return ran;
}

/* Waits until the generation differs from `seen`; returns the new one, or
 * `seen` when the pool stops. */
static uint32_t wait_job(ll_pool *p, uint32_t seen) {
    uint64_t start = 0;
    for (unsigned spins = 1;; spins++) {
        uint32_t gen = word_gen(atomic_load_explicit(&p->claim, memory_order_acquire));
        if (gen != seen) return gen;
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return seen;
        CPU_RELAX();
        /* a worker that shares a core (with the caller, or another process
         * when the machine is busy) gives it up while it has nothing to do */
        if (spins % WORKER_YIELD_EVERY == 0) sched_yield();
        if (spins % CHECK_CLOCK_EVERY) continue;
        uint64_t t = now_ns();
        if (start == 0) start = t;
        if (t - start < SPIN_NS) continue;
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1); /* seq_cst: pairs with ll_pool_for's check */
        while (word_gen(atomic_load(&p->claim)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
        start = 0;
    }
}

static void *worker_main(void *arg) {
    struct worker_arg *wa = arg;
    ll_pool *p = wa->pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t gen = wait_job(p, seen);
        if (gen == seen) return NULL; /* stopped */
        seen = gen;
        /* a stale limit (the next job's) only changes who helps, never what is computed */
        if (wa->index < atomic_load_explicit(&p->max_threads, memory_order_relaxed)) work(p, gen, wa->index);
    }
}

ll_pool *ll_pool_new(int n_threads, ll_error *err) {
    if (n_threads < 1 || n_threads > LL_POOL_MAX_THREADS) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "n_threads = %d is out of range: valid is [1, %d]", n_threads,
                LL_POOL_MAX_THREADS);
        return NULL;
    }
    ll_pool *p = ll_calloc(1, sizeof *p, err);
    if (!p) return NULL;
    p->n = n_threads;
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->max_threads, n_threads);
    atomic_init(&p->stop, false);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_sleeps, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (n_threads > 1) {
        p->threads = ll_calloc((size_t)n_threads, sizeof *p->threads, err);
        p->args = ll_calloc((size_t)n_threads, sizeof *p->args, err);
        if (!p->threads || !p->args) {
            ll_pool_free(p);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            p->args[i].pool = p;
            p->args[i].index = i;
            if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
                p->n = i; /* join the ones that started */
                ll_pool_free(p);
                ll_fail(err, LL_ERR_OUT_OF_MEMORY, "cannot start worker thread %d", i);
                return NULL;
            }
        }
    }
    return p;
}

void ll_pool_free(ll_pool *p) {
    if (!p) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, true);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p->args);
    free(p);
}

int ll_pool_size(const ll_pool *p) { return p->n; }

/* Waits until the job's n chunks are done: spinning, yielding now and
 * then (a worker that shares the caller's core needs it), and after
 * late_ns sleeping until the last chunk's thread wakes it (a worker
 * waiting for a core may then get the caller's). True when it slept. */
static bool wait_done(ll_pool *p, size_t n, uint64_t late_ns) {
    if (atomic_load_explicit(&p->done, memory_order_acquire) >= n) return false;
    uint64_t start = now_ns();
    for (unsigned spins = 1; atomic_load_explicit(&p->done, memory_order_acquire) < n; spins++) {
        CPU_RELAX();
        if (spins % YIELD_EVERY == 0) sched_yield();
        if (spins % CHECK_CLOCK_EVERY || now_ns() - start < late_ns) continue;
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_sleeps, true); /* seq_cst: pairs with work's check after its add */
        while (atomic_load(&p->done) < n) pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_store(&p->caller_sleeps, false);
        pthread_mutex_unlock(&p->mu);
        return true;
    }
    return false;
}

/* An event at time t (a stall, a wasted wake-up) starts a period: twice
 * as long as the last when the event came within a few jobs after it
 * ended (a process that keeps the core is still there), else the
 * shortest. Counted in jobs, not time: a server's other threads (its
 * connections, its clients) take a core now and then for a moment, and a
 * window as long as the period itself caught those rare stalls and kept
 * the pool alone for most of the time (8 streams through the server:
 * 37% of the jobs ran on one thread). */
static void backoff_start(backoff *b, uint64_t t) {
    bool again = b->len && b->calm < BACKOFF_AGAIN;
    uint64_t len = again ? 2 * b->len : BACKOFF_MIN_NS;
    b->len = len < BACKOFF_MAX_NS ? len : BACKOFF_MAX_NS;
    b->until = t + b->len;
    b->calm = 0;
}

/* a job without the event */
static void backoff_calm(backoff *b) {
    if (b->calm < BACKOFF_AGAIN) b->calm++;
}

static bool backoff_on(const backoff *b) { return b->until && now_ns() < b->until; }

/* Publishes a job of n chunks, works on it and waits until it is done;
 * wake: also wake sleeping workers (else only spinning ones help). */
static void run_job(ll_pool *p, size_t n, int max_threads, bool wake) {
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->max_threads, max_threads, memory_order_relaxed);
    uint32_t gen = word_gen(atomic_load_explicit(&p->claim, memory_order_relaxed)) + 1;
    atomic_store(&p->claim, word(gen, n, 0)); /* seq_cst: pairs with the sleepers check below */
    bool woke = wake && atomic_load(&p->sleepers) > 0;
    if (woke) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    uint64_t t0 = now_ns();
    size_t mine = work(p, gen, 0);
    uint64_t t1 = now_ns(), late = mine ? LATE_CHUNKS * ((t1 - t0) / mine) + LATE_NS : LATE_NS_UNJUDGED;
    if (wait_done(p, n, late) && mine) {
        backoff_start(&p->solo, now_ns());
        return;
    }
    backoff_calm(&p->solo);
    /* the caller ran every chunk of a job long enough for a woken worker
     * with a core to join: the wake-up (a system call, and a thread that
     * may take the caller's core) bought nothing */
    if (woke && mine == n && t1 - t0 >= WAKE_SLACK_NS)
        backoff_start(&p->no_wake, t1);
    else
        backoff_calm(&p->no_wake);
}

int ll_pool_threads_for(const ll_pool *p, size_t bytes) {
    size_t n = bytes / LL_MIN_BYTES_PER_THREAD, most = (size_t)p->n;
    return n < 1 ? 1 : n > most ? (int)most : (int)n;
}

void ll_pool_for(ll_pool *p, size_t n_chunks, int max_threads, ll_pool_chunk_fn fn, void *ctx) {
    if (max_threads <= 0 || max_threads > p->n) max_threads = p->n;
    if (max_threads == 1 || n_chunks <= 1 || backoff_on(&p->solo)) {
        for (size_t i = 0; i < n_chunks; i++) fn(ctx, i, 0);
        return;
    }
    /* more chunks than the word counts: consecutive jobs of at most MAX_CHUNKS */
    p->chunk_fn = fn;
    p->ctx = ctx;
    for (size_t c0 = 0; c0 < n_chunks; c0 += MAX_CHUNKS) {
        p->base = c0;
        run_job(p, n_chunks - c0 < MAX_CHUNKS ? n_chunks - c0 : MAX_CHUNKS, max_threads, !backoff_on(&p->no_wake));
    }
}

int ll_cpus_available(void) {
    long n = 0;
#if defined(__linux__)
    /* taskset and cpusets shrink the mask; a machine with more CPUs than a
     * cpu_set_t holds fails the call and falls back to the count */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > LL_POOL_MAX_THREADS ? LL_POOL_MAX_THREADS : (int)n;
}
