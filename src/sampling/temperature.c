/*
 * temperature.c - temperature and entropy-scaled ("dynamic") temperature.
 *
 * Dividing logits by T sharpens (T < 1) or flattens (T > 1) the softmax.
 * Every framework divides (never multiplies by 1/T, which rounds
 * differently). T = 0 means greedy: llama.cpp implements it inside the
 * temperature stage by keeping only the first maximal logit, which is what
 * this stage does for T = 0 whatever the profile.
 */
#include "sampler_impl.h"

#include <stdlib.h>

typedef struct {
    float t;
} temp_state;

/* Keeps the first maximum, sets every other logit to -inf (llama.cpp's
 * temperature <= 0). Size and order are unchanged. */
static void mask_all_but_first_max(ll_candidates *c) {
    if (c->size == 0) return;
    size_t best = ll_cand_argmax(c);
    for (size_t i = 0; i < c->size; i++)
        if (i != best) c->logit[i] = -INFINITY;
    c->p_valid = false;
}

static ll_status temp_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const temp_state *s = state;
    if (s->t <= 0.0f) {
        mask_all_but_first_max(c);
        return LL_OK;
    }
    c->ws->k->div(c->logit, c->size, s->t);
    c->p_valid = false;
    return LL_OK;
}

ll_sampler *ll_sampler_temperature_new(float t, ll_profile sem, ll_error *err) {
    if (ll_check_finite("temperature", t, err) != LL_OK) return NULL;
    if (sem == LL_PROFILE_HF) {
        if (t <= 0.0f) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                    "temperature = %g: the hf profile needs a strictly positive temperature (valid is "
                    "(0, inf)); for greedy decoding set do_sample = false",
                    (double)t);
            return NULL;
        }
    } else if (t < 0.0f) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "temperature = %g is negative: valid is [0, inf), 0 = greedy",
                (double)t);
        return NULL;
    }
    if (t == 1.0f) return ll_sampler_noop_new("temperature", "temperature(t=1)", err);
    temp_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->t = t;
    static const ll_sampler_ops ops = {"temperature", 0, temp_apply, NULL, NULL, NULL};
    return ll_sampler_make(&ops, s, err, "temperature(t=%g)", (double)t);
}

/* ---- dynamic temperature (llama.cpp temp_ext) ---- */

typedef struct {
    float t, delta, exponent;
} dyna_state;

static ll_status dyna_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const dyna_state *s = state;
    if (s->delta <= 0.0f) {
        temp_state ts = {s->t};
        return temp_apply(&ts, c, h, err);
    }
    float min_t = s->t - s->delta > 0.0f ? s->t - s->delta : 0.0f;
    float max_t = s->t + s->delta;
    if (c->size <= 1) return LL_OK;
    float max_entropy = -ll_logf(1.0f / (float)c->size);
    ll_cand_softmax_llamacpp(c, true);
    float entropy = 0.0f;
    for (size_t i = 0; i < c->size; i++) {
        float p = c->p[i];
        if (p > 0.0f) entropy -= p * ll_logf(p);
    }
    float normalized = entropy / max_entropy;
    float dyn_t = min_t + (max_t - min_t) * (float)pow((double)normalized, (double)s->exponent);
    if (dyn_t <= 0.0f) {
        mask_all_but_first_max(c);
    } else {
        for (size_t i = 0; i < c->size; i++) c->logit[i] /= dyn_t;
    }
    /* llama.cpp recomputes the probabilities in double here */
    double max_l = c->logit[0], sum = 0.0;
    for (size_t i = 0; i < c->size; i++) {
        double e = exp((double)c->logit[i] - max_l);
        c->p[i] = (float)e;
        sum += e;
    }
    for (size_t i = 0; i < c->size; i++) c->p[i] = (float)((double)c->p[i] / sum);
    c->p_valid = true;
    c->p_norm = 1.0;
    return LL_OK;
}

ll_sampler *ll_sampler_dynatemp_new(float t, float range, float exponent, ll_error *err) {
    if (ll_check_finite("temperature", t, err) != LL_OK) return NULL;
    if (t < 0.0f) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "temperature = %g is negative: valid is [0, inf)", (double)t);
        return NULL;
    }
    if (ll_check_range("dynatemp_range", range, 0.0f, false, INFINITY, true, err) != LL_OK) return NULL;
    if (ll_check_range("dynatemp_exponent", exponent, 0.0f, false, INFINITY, true, err) != LL_OK) return NULL;
    if (t == 1.0f && range <= 0.0f) return ll_sampler_noop_new("dynatemp", "dynatemp(t=1, range=0)", err);
    dyna_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->t = t;
    s->delta = range;
    s->exponent = exponent;
    static const ll_sampler_ops ops = {"dynatemp", 0, dyna_apply, NULL, NULL, NULL};
    return ll_sampler_make(&ops, s, err, "dynatemp(t=%g, range=%g, exp=%g)", (double)t, (double)range,
                           (double)exponent);
}
