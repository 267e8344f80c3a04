/*
 * threadpool.c - workers wait for a generation counter to change, run
 * their part, and count down a pending counter the caller waits on. The
 * wait spins (cheap at ~100 jobs per token) before falling back to a
 * condition variable, so an idle pool costs no CPU. Spinning yields the
 * core now and then: when another process holds a core, the thread we wait
 * for may be the one that needs it (without this, 2 threads on a busy
 * 2-core machine ran 100x slower).
 */
#define _POSIX_C_SOURCE 200809L
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SPIN_ITERATIONS 200000
#define YIELD_EVERY 256 /* a power of two */

struct ll_pool {
    int n;
    pthread_t *threads;
    atomic_uint generation;
    atomic_int pending;
    atomic_bool stop;
    atomic_int sleepers;
    ll_pool_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct worker_arg {
        ll_pool *pool;
        int index;
    } *args;
};

static void *worker_main(void *arg) {
    struct worker_arg *wa = arg;
    ll_pool *p = wa->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
            if (++spins < SPIN_ITERATIONS) {
                if ((spins & (YIELD_EVERY - 1)) == 0) sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        seen = gen;
        p->fn(p->ctx, wa->index, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
}

ll_pool *ll_pool_new(int n_threads, ll_error *err) {
    if (n_threads < 1 || n_threads > 512) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "n_threads = %d is out of range: valid is [1, 512]", n_threads);
        return NULL;
    }
    ll_pool *p = ll_calloc(1, sizeof *p, err);
    if (!p) return NULL;
    p->n = n_threads;
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, false);
    atomic_init(&p->sleepers, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
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
    free(p->threads);
    free(p->args);
    free(p);
}

int ll_pool_size(const ll_pool *p) { return p->n; }

void ll_pool_run(ll_pool *p, ll_pool_fn fn, void *ctx) {
    if (p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1); /* seq_cst: pairs with the sleepers check below */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0, p->n);
    for (unsigned spins = 1; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++)
        if ((spins & (YIELD_EVERY - 1)) == 0) sched_yield();
}
