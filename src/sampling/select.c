/*
 * select.c - the stages that pick the token: greedy (argmax), multinomial
 * sampling from a seeded generator, and llama2.c's sampler.
 *
 * Sampling is an inverse-CDF walk: exponentials of (logit - max) are summed
 * in double, u in [0, 1) is drawn, and the first candidate whose running
 * sum reaches u * sum wins. Over a whole vocabulary the vector kernel
 * leaves per-block sums, so the walk skips straight to the right block.
 */
#include "rng.h"
#include "sampler_impl.h"

#include <stdlib.h>
#include <string.h>

static ll_status no_candidates(ll_error *err) {
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                   "no token can be selected: every candidate was removed or has logit -inf");
}

/* The model's logits are finite or -inf (the chain checks them), but an
 * earlier stage can still overflow one to +inf (a large finite logit
 * divided by a small temperature), and +inf - +inf is NaN: no probability
 * can be computed then, and no token may be returned with a NaN one. */
static ll_status invalid_logit(const ll_candidates *c, ll_error *err) {
    ptrdiff_t bad = c->ws->k->find_invalid(c->logit, c->size);
    if (bad < 0) bad = 0; /* not reached: callers saw a NaN or +inf */
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                   "no token can be selected: candidate %td (token %d) has logit %g after the earlier stages (an "
                   "overflow?); valid logits are finite or -inf",
                   bad, ll_candidates_id(c, (size_t)bad), (double)c->logit[bad]);
}

ll_status ll_select_check(const ll_candidates *c, ll_error *err) {
    if (c->size == 0) return no_candidates(err);
    if (c->ws->k->find_invalid(c->logit, c->size) >= 0) return invalid_logit(c, err);
    return ll_cand_max(c) == -INFINITY ? no_candidates(err) : LL_OK;
}

/* The last candidate that can occur (p > 0): where an inverse-CDF walk
 * falls off the end because its running sum rounded short of the target.
 * Returning the last candidate regardless, as llama.cpp and run.c do,
 * could pick one of probability 0, even a banned one (logit -inf). There
 * is one: the largest logit is finite, so its exponential is 1. */
static int64_t last_possible(const ll_candidates *c) {
    size_t i = c->size - 1;
    while (i > 0 && !(c->p[i] > 0.0f)) i--;
    return (int64_t)i;
}

/* ---- greedy ---- */

static ll_status greedy_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)state;
    (void)h;
    if (c->size == 0) return no_candidates(err);
    size_t i = ll_cand_argmax(c);
    if (c->logit[i] == -INFINITY) return no_candidates(err);
    if (!(c->logit[i] < INFINITY)) return invalid_logit(c, err);
    c->selected = (int64_t)i;
    return LL_OK;
}

ll_sampler *ll_sampler_greedy_new(ll_error *err) {
    static const ll_sampler_ops ops = {"greedy", LL_SAMPLER_SELECTS, greedy_apply, NULL, NULL, free};
    return ll_sampler_make(&ops, NULL, err, "greedy");
}

/* ---- dist ---- */

typedef struct {
    uint32_t seed;
    ll_mt19937 rng;
    ll_profile sem;
} dist_state;

/* Puts the candidates in increasing id order (HF and vLLM sample over the
 * vocabulary array, whose order is the id order). */
static void order_by_id(ll_candidates *c) {
    if (ll_cand_in_id_order(c)) return;
    uint64_t *keys = c->ws->keys;
    for (size_t i = 0; i < c->size; i++) keys[i] = ((uint64_t)(uint32_t)c->id[i] << 32) | i;
    ll_sort_keys(keys, c->size, keys + c->ws->n_vocab + 1);
    int32_t *pos = c->ws->idx;
    for (size_t i = 0; i < c->size; i++) pos[i] = ll_key_pos(keys[i]);
    ll_cand_gather(c, pos, c->size, false);
}

static ll_status dist_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    dist_state *s = state;
    if (c->size == 0) return no_candidates(err);
    if (s->sem != LL_PROFILE_LLAMACPP) order_by_id(c);
    if (c->size == 1) {
        (void)ll_mt19937_canonical_double(&s->rng); /* llama.cpp draws anyway */
        if (c->logit[0] == -INFINITY) return no_candidates(err);
        if (!(c->logit[0] < INFINITY)) return invalid_logit(c, err);
        c->p[0] = 1.0f;
        c->p_valid = true;
        c->p_norm = 1.0;
        c->selected = 0;
        return LL_OK;
    }
    float max = ll_cand_max(c);
    if (max == -INFINITY) return no_candidates(err);
    if (!(max < INFINITY)) return invalid_logit(c, err);
    double *bsum = c->ws->block_sum;
    double sum = c->ws->k->exp_sum(c->logit, c->size, max, c->p, bsum);
    if (!(sum >= 1.0 && sum < INFINITY)) return invalid_logit(c, err); /* the maximum adds exp(0) = 1 */
    double u = ll_mt19937_canonical_double(&s->rng);
    double target = sum * u;
    size_t nb = (c->size + LL_BLOCK - 1) / LL_BLOCK;
    double run = 0.0;
    size_t b = 0;
    while (b + 1 < nb && run + bsum[b] < target) run += bsum[b++];
    int64_t sel = -1;
    /* p > 0 matters only for u = 0 (target 0), where llama.cpp takes the
     * first candidate even at probability 0; for any other u the running
     * sum first reaches the target on a candidate that added to it */
    for (size_t i = b * LL_BLOCK; i < c->size; i++) {
        run += (double)c->p[i];
        if (run >= target && c->p[i] > 0.0f) {
            sel = (int64_t)i;
            break;
        }
    }
    if (sel < 0) sel = last_possible(c);
    c->selected = sel;
    c->p_valid = true;
    c->p_norm = sum; /* p[i] / sum is llama.cpp's normalised probability */
    return LL_OK;
}

static void dist_reset(void *state) {
    dist_state *s = state;
    ll_mt19937_seed(&s->rng, s->seed);
}

ll_sampler *ll_sampler_dist_new(uint32_t seed, ll_profile sem, ll_error *err) {
    if (sem == LL_PROFILE_LLAMA2C) return ll_sampler_llama2c_top_p_new(1.0f, seed, err);
    dist_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->seed = seed;
    s->sem = sem;
    ll_mt19937_seed(&s->rng, seed);
    static const ll_sampler_ops ops = {"dist", LL_SAMPLER_SELECTS, dist_apply, NULL, dist_reset, free};
    return ll_sampler_make(&ops, s, err, "dist(seed=%u%s)", seed,
                           sem == LL_PROFILE_LLAMACPP ? "" : ", id order");
}

/* ---- llama2.c: softmax, one coin, multinomial or top-p ---- */

typedef struct {
    float topp;
    uint64_t seed, state;
} llama2c_state;

static uint32_t llama2c_random_u32(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float llama2c_random_f32(uint64_t *state) {
    return (float)(llama2c_random_u32(state) >> 8) / 16777216.0f;
}

static ll_status llama2c_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    llama2c_state *s = state;
    size_t n = c->size;
    if (n == 0) return no_candidates(err);
    /* softmax as run.c writes it: max from element 0, float sum in order */
    float max = c->logit[0];
    for (size_t i = 1; i < n; i++)
        if (c->logit[i] > max) max = c->logit[i];
    if (max == -INFINITY) return no_candidates(err);
    if (!(max < INFINITY)) return invalid_logit(c, err);
    c->ws->k->exp_sum(c->logit, n, max, c->p, NULL);
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += c->p[i];
    if (!(sum >= 1.0f && sum < INFINITY)) return invalid_logit(c, err); /* the maximum adds exp(0) = 1 */
    for (size_t i = 0; i < n; i++) c->p[i] /= sum;
    c->p_valid = true;
    c->p_norm = 1.0;
    float coin = llama2c_random_f32(&s->state);
    if (s->topp <= 0.0f || s->topp >= 1.0f) {
        float cdf = 0.0f;
        c->selected = last_possible(c); /* run.c: n - 1, "in case of rounding errors" */
        for (size_t i = 0; i < n; i++) {
            cdf += c->p[i];
            if (coin < cdf) {
                c->selected = (int64_t)i;
                break;
            }
        }
        return LL_OK;
    }
    /* prefilter p >= (1 - topp) / (n - 1), sort by p descending (stable),
     * cut where the cumulative mass first exceeds topp */
    float cutoff = (1.0f - s->topp) / (float)(n - 1);
    uint64_t *keys = c->ws->keys;
    size_t n0 = 0;
    for (size_t i = 0; i < n; i++)
        if (c->p[i] >= cutoff) keys[n0++] = ((uint64_t)(~ll_float_order(c->p[i])) << 32) | i;
    if (n0 == 0) { /* n == 1 (run.c divides by n - 1 = 0 here): the only token */
        c->selected = (int64_t)ll_cand_argmax(c);
        return LL_OK;
    }
    ll_sort_keys(keys, n0, keys + c->ws->n_vocab + 1);
    float cum = 0.0f;
    size_t last = n0 - 1;
    for (size_t i = 0; i < n0; i++) {
        cum += c->p[ll_key_pos(keys[i])];
        if (cum > s->topp) {
            last = i;
            break;
        }
    }
    float r = coin * cum, cdf = 0.0f;
    int64_t sel = ll_key_pos(keys[last]);
    for (size_t i = 0; i <= last; i++) {
        cdf += c->p[ll_key_pos(keys[i])];
        if (r < cdf) {
            sel = ll_key_pos(keys[i]);
            break;
        }
    }
    c->selected = sel;
    return LL_OK;
}

static void llama2c_reset(void *state) {
    llama2c_state *s = state;
    s->state = s->seed;
}

ll_sampler *ll_sampler_llama2c_top_p_new(float p, uint64_t seed, ll_error *err) {
    if (ll_check_range("top_p", p, 0.0, false, 1.0, false, err) != LL_OK) return NULL;
    if (seed == 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "llama2.c seed = 0 is out of range: its xorshift needs a nonzero seed");
        return NULL;
    }
    llama2c_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->topp = p;
    s->seed = s->state = seed;
    static const ll_sampler_ops ops = {"llama2c_sample", LL_SAMPLER_SELECTS, llama2c_apply, NULL, llama2c_reset,
                                       free};
    return ll_sampler_make(&ops, s, err, "llama2c_sample(top_p=%g, seed=%llu)", (double)p,
                           (unsigned long long)seed);
}
