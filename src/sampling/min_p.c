/*
 * min_p.c - keep tokens whose probability is at least p times the
 * probability of the most likely token.
 *
 * llama.cpp tests the equivalent logit inequality, logit >= max + log(p),
 * and keeps survivors in their current order without sorting (falling back
 * to a sorted prefix if fewer than min_keep pass). Hugging Face and vLLM
 * compare probabilities: p_i < min_p * p_max is removed; HF then
 * force-keeps the min_keep most likely.
 */
#include "sampler_impl.h"

#include <float.h>

typedef struct {
    double p;
    size_t min_keep;
    ll_profile sem;
} min_p_state;

static ll_status min_p_llamacpp(const min_p_state *s, ll_candidates *c) {
    float thr;
    int32_t *pos = c->ws->idx;
    if (!c->sorted) {
        float max = -FLT_MAX;
        for (size_t i = 0; i < c->size; i++)
            if (c->logit[i] > max) max = c->logit[i];
        thr = max + ll_logf((float)s->p);
        size_t m = c->ws->k->filter_ge(c->logit, c->size, thr, pos);
        if (m > 0 && m >= s->min_keep) {
            if (m < c->size) {
                ll_cand_gather(c, pos, m, false);
            }
            return LL_OK;
        }
        ll_cand_sort(c);
    }
    thr = c->logit[0] + ll_logf((float)s->p);
    size_t i = 1;
    while (i < c->size && (c->logit[i] >= thr || i < s->min_keep)) i++;
    c->size = i;
    return LL_OK;
}

static ll_status min_p_hf(const min_p_state *s, ll_candidates *c) {
    /* softmax probabilities in float; p_i / p_max computed without the
     * normalisation (the exponentials share one divisor) */
    float max = ll_cand_max(c);
    float *e = c->ws->tmp;
    c->ws->k->exp_sum(c->logit, c->size, max, e, NULL);
    float thr = (float)s->p;
    size_t min_keep = s->sem == LL_PROFILE_HF ? (s->min_keep ? s->min_keep : 1) : 0;
    int32_t *pos = c->ws->idx;
    size_t m = 0;
    for (size_t i = 0; i < c->size; i++)
        if (e[i] >= thr) pos[m++] = (int32_t)i;
    if (m < min_keep) {
        size_t k = LL_MIN(min_keep, c->size);
        ll_cand_top_k(c, k);
        return LL_OK;
    }
    if (m < c->size) ll_cand_gather(c, pos, m, c->sorted);
    c->p_valid = false;
    return LL_OK;
}

static ll_status min_p_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const min_p_state *s = state;
    if (c->size == 0) return LL_OK;
    if (s->sem == LL_PROFILE_LLAMACPP) return min_p_llamacpp(s, c);
    return min_p_hf(s, c);
}

ll_sampler *ll_sampler_min_p_new(double p, size_t min_keep, ll_profile sem, ll_error *err) {
    if (sem == LL_PROFILE_LLAMA2C) sem = LL_PROFILE_LLAMACPP;
    /* llama.cpp defines p > 1 (a threshold above the maximum: only the most
     * likely token, or min_keep tokens, survive); the others reject it */
    if (ll_check_range("min_p", p, 0.0, false, sem == LL_PROFILE_LLAMACPP ? INFINITY : 1.0, false, err) != LL_OK)
        return NULL;
    if (p <= 0.0 && sem != LL_PROFILE_HF) return ll_sampler_noop_new("min_p", "min_p(p=0: off)", err);
    if (sem == LL_PROFILE_HF && min_keep < 1) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_keep = 0 is out of range: the hf profile needs >= 1");
        return NULL;
    }
    min_p_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->p = p;
    s->min_keep = min_keep;
    s->sem = sem;
    static const ll_sampler_ops ops = {"min_p", 0, min_p_apply, NULL, NULL, NULL};
    char pbuf[32];
    return ll_sampler_make(&ops, s, err, "min_p(p=%s)", ll_format_double(pbuf, p));
}
