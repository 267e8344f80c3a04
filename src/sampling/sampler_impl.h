/*
 * sampler_impl.h - what built-in samplers share (internal): the sampler
 * object, constructors' validation helpers, the exact float helpers that
 * several frameworks' formulas need.
 */
#ifndef LL_SAMPLER_IMPL_H
#define LL_SAMPLER_IMPL_H

#include "candidates.h"

#include <math.h>

struct ll_sampler {
    ll_sampler_ops ops;
    void *state;
    char desc[96];
};

/* Wraps state in a sampler; frees the state with ops->free_state (or
 * free()) on failure. desc is printf-style. */
ll_sampler *ll_sampler_make(const ll_sampler_ops *ops, void *state, ll_error *err,
                            const char *desc_fmt, ...) LL_PRINTF(4, 5);
/* A sampler that leaves the candidates alone: what llama.cpp returns when a
 * parameter disables a stage (shown as "?name"). */
ll_sampler *ll_sampler_noop_new(const char *name, const char *desc, ll_error *err);

/* Validation helpers: each returns LL_OK or fills err with a message that
 * names the parameter, the value and the valid range. */
ll_status ll_check_finite(const char *name, double v, ll_error *err);
ll_status ll_check_range(const char *name, double v, double lo, bool lo_open, double hi, bool hi_open,
                         ll_error *err);

/* LL_OK when a selecting stage can pick a token from c; otherwise the error
 * every selector gives: no candidate left, all at -inf, or a +inf / NaN
 * logit left by an earlier stage (named). One full pass (select.c). */
ll_status ll_select_check(const ll_candidates *c, ll_error *err);

/* (float)log((double)x): the correctly rounded logf on every platform. */
static inline float ll_logf(float x) { return (float)log((double)x); }

/* Shannon entropy (nats) of the candidates' probabilities, skipping zeros. */
double ll_cand_entropy(const ll_candidates *c);

#endif /* LL_SAMPLER_IMPL_H */
