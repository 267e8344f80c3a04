/*
 * xtc.c - "exclude top choices" (XTC, llama.cpp): with probability
 * `probability`, remove every token whose probability is at least
 * `threshold` except the least likely of them, pushing the text away from
 * its most predictable continuations.
 *
 * The coin is drawn from the stage's own mt19937 (uniform float, as
 * llama.cpp) on every call with at least two candidates.
 */
#include "sampler_impl.h"

#include <stdlib.h>

typedef struct {
    float probability, threshold;
    size_t min_keep;
    uint32_t seed;
    ll_mt19937 rng;
} xtc_state;

static ll_status xtc_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    xtc_state *s = state;
    if (c->size < 2) return LL_OK;
    float chance = ll_mt19937_canonical_float(&s->rng);
    if (chance > s->probability) return LL_OK;
    ll_cand_softmax_llamacpp(c, true);
    size_t pos_last = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (c->p[i] >= s->threshold) pos_last = i;
        else break;
    }
    if (c->size - pos_last >= s->min_keep && pos_last > 0) {
        /* the array was compacted by the sort, so dropping a prefix is
         * moving the start of the current buffers */
        c->id += pos_last;
        c->logit += pos_last;
        c->p += pos_last;
        c->size -= pos_last;
    }
    return LL_OK;
}

static void xtc_reset(void *state) {
    xtc_state *s = state;
    ll_mt19937_seed(&s->rng, s->seed);
}

ll_sampler *ll_sampler_xtc_new(float probability, float threshold, size_t min_keep, uint32_t seed,
                               ll_error *err) {
    if (ll_check_range("xtc_probability", probability, 0.0, false, 1.0, false, err) != LL_OK) return NULL;
    if (ll_check_range("xtc_threshold", threshold, 0.0, false, 1.0, false, err) != LL_OK) return NULL;
    if (probability <= 0.0f || threshold > 0.5f)
        return ll_sampler_noop_new("xtc", "xtc(off: probability 0 or threshold > 0.5)", err);
    xtc_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->probability = probability;
    s->threshold = threshold;
    s->min_keep = min_keep;
    s->seed = seed;
    ll_mt19937_seed(&s->rng, seed);
    static const ll_sampler_ops ops = {"xtc", 0, xtc_apply, NULL, xtc_reset, free};
    return ll_sampler_make(&ops, s, err, "xtc(p=%g, threshold=%g)", (double)probability, (double)threshold);
}
