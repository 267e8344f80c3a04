/*
 * threadpool.h - a persistent pool of worker threads for the forward pass
 * (internal).
 *
 * A job is a number of chunks that the threads claim one at a time from a
 * shared counter, so a thread that does not get a core (another process
 * holds it) delays only the chunk it holds: the others take the rest. The
 * caller works too and returns when every chunk is done. Between jobs the
 * workers spin briefly (a decode step issues ~100 jobs per token), then
 * sleep until the next one. A caller that had to wait milliseconds for a
 * worker's chunk (the worker lost its core) runs the next jobs alone for
 * a while (threadpool.c).
 */
#ifndef LL_THREADPOOL_H
#define LL_THREADPOOL_H

#include <stddef.h>

#include "../core/internal.h"

typedef struct ll_pool ll_pool;

#define LL_POOL_MAX_THREADS 512

/* fn(ctx, chunk, slot): chunk in [0, n_chunks); slot in [0, ll_pool_size)
 * is the thread running it, for per-thread scratch: no two chunks run at
 * once with the same slot. */
typedef void (*ll_pool_chunk_fn)(void *ctx, size_t chunk, int slot);

ll_pool *ll_pool_new(int n_threads, ll_error *err);
void ll_pool_free(ll_pool *p);
int ll_pool_size(const ll_pool *p);

/* Runs chunks 0 .. n_chunks - 1 on at most max_threads threads (the
 * caller's included; 0 or more than the pool: all of them). Work too small
 * to pay for waking a thread passes max_threads 1 and runs on the caller. */
void ll_pool_for(ll_pool *p, size_t n_chunks, int max_threads, ll_pool_chunk_fn fn, void *ctx);

/* The threads a job that reads `bytes` (weights, keys and values) should
 * take: fewer than the pool's below LL_MIN_BYTES_PER_THREAD each, since
 * waking a thread and handing it work costs microseconds, which a small
 * matrix (a 5M-parameter model's) does not repay. */
#define LL_MIN_BYTES_PER_THREAD (96u << 10)
int ll_pool_threads_for(const ll_pool *p, size_t bytes);

#endif /* LL_THREADPOOL_H */
