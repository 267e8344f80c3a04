/*
 * threadpool.h - a persistent pool of worker threads for the forward pass
 * (internal). A job is split into n_threads parts; the caller runs part 0
 * and returns when every part is done. Workers spin briefly between jobs
 * (a decode step issues ~100 jobs per token) and sleep when idle.
 */
#ifndef LL_THREADPOOL_H
#define LL_THREADPOOL_H

#include "../core/internal.h"

typedef struct ll_pool ll_pool;

/* fn(ctx, part, n_parts) must process its part of the work. */
typedef void (*ll_pool_fn)(void *ctx, int part, int n_parts);

ll_pool *ll_pool_new(int n_threads, ll_error *err);
void ll_pool_free(ll_pool *p);
int ll_pool_size(const ll_pool *p);
void ll_pool_run(ll_pool *p, ll_pool_fn fn, void *ctx);

#endif /* LL_THREADPOOL_H */
