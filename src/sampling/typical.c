/*
 * typical.c - locally typical sampling (Meister et al. 2022): keep the
 * tokens whose surprise -log p is closest to the entropy of the
 * distribution, until their mass exceeds p.
 *
 * llama.cpp stops at the first token where the float cumulative mass is
 * strictly greater than p; Hugging Face counts how many cumulative sums are
 * below p and keeps every token whose distance does not exceed the distance
 * at that index (ties survive), never fewer than min_keep.
 */
#include "sampler_impl.h"

typedef struct {
    double p;
    size_t min_keep;
    ll_profile sem;
} typical_state;

/* Positions sorted by score ascending (stable), into pos. */
static void sort_by_score(ll_candidates *c, const float *score, int32_t *pos) {
    uint64_t *keys = c->ws->keys;
    for (size_t i = 0; i < c->size; i++) keys[i] = ((uint64_t)ll_float_order(score[i]) << 32) | i;
    ll_sort_keys(keys, c->size, keys + c->ws->n_vocab + 1);
    for (size_t i = 0; i < c->size; i++) pos[i] = ll_key_pos(keys[i]);
}

static ll_status typical_llamacpp(const typical_state *s, ll_candidates *c) {
    ll_cand_softmax_llamacpp(c, true);
    float entropy = 0.0f;
    for (size_t i = 0; i < c->size; i++) {
        float p = c->p[i];
        /* llama.cpp computes 0 * log(0) = NaN here (undefined order after);
         * a zero-probability token contributes nothing instead */
        if (p > 0.0f) entropy += -p * ll_logf(p);
    }
    float *score = c->ws->tmp;
    for (size_t i = 0; i < c->size; i++) score[i] = fabsf(-ll_logf(c->p[i]) - entropy);
    int32_t *pos = c->ws->idx;
    sort_by_score(c, score, pos);
    float cum = 0.0f, p = (float)s->p;
    size_t last = c->size;
    for (size_t i = 0; i < c->size; i++) {
        cum += c->p[pos[i]];
        if (cum > p && (s->min_keep == 0 || i + 1 >= s->min_keep)) {
            last = i + 1;
            break;
        }
    }
    ll_cand_gather(c, pos, last, false);
    return LL_OK;
}

static ll_status typical_hf(const typical_state *s, ll_candidates *c) {
    size_t n = c->size;
    float max = ll_cand_max(c);
    double sum = c->ws->k->exp_sum(c->logit, n, max, c->p, NULL);
    double log_sum = log(sum);
    float *score = c->ws->tmp;
    double ent = 0.0;
    for (size_t i = 0; i < n; i++) {
        double lp = (double)c->logit[i] - (double)max - log_sum;
        double pr = exp(lp);
        if (pr > 0.0) ent -= lp * pr; /* nansum: 0 * -inf is skipped */
    }
    for (size_t i = 0; i < n; i++) {
        double lp = (double)c->logit[i] - (double)max - log_sum;
        score[i] = isinf(lp) ? INFINITY : (float)fabs(-lp - ent);
    }
    int32_t *pos = c->ws->idx;
    sort_by_score(c, score, pos);
    double cum = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        cum += (double)c->p[pos[i]] / sum;
        if ((float)cum < (float)s->p) last++;
    }
    if (last > n - 1) last = n - 1;
    float cut = score[pos[last]];
    size_t min_keep = s->min_keep ? s->min_keep : 1;
    uint8_t *keep = (uint8_t *)c->ws->keys; /* scratch: n bytes */
    for (size_t i = 0; i < n; i++) keep[i] = score[i] <= cut;
    for (size_t i = 0; i < n && i < min_keep; i++) keep[pos[i]] = 1;
    c->p_valid = false;
    ll_cand_keep_mask(c, keep);
    return LL_OK;
}

static ll_status typical_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const typical_state *s = state;
    if (c->size == 0) return LL_OK;
    if (s->sem == LL_PROFILE_LLAMACPP) return typical_llamacpp(s, c);
    return typical_hf(s, c);
}

ll_sampler *ll_sampler_typical_new(double p, size_t min_keep, ll_profile sem, ll_error *err) {
    if (sem == LL_PROFILE_LLAMA2C) sem = LL_PROFILE_LLAMACPP;
    if (sem == LL_PROFILE_LLAMACPP) {
        if (ll_check_range("typical_p", p, 0.0, false, 1.0, false, err) != LL_OK) return NULL;
        if ((float)p >= 1.0f) return ll_sampler_noop_new("typical", "typical(p=1: off)", err);
    } else {
        if (ll_check_range("typical_p", p, 0.0, true, 1.0, true, err) != LL_OK) return NULL;
    }
    if (sem == LL_PROFILE_HF && min_keep < 1) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_keep = 0 is out of range: the hf profile needs >= 1");
        return NULL;
    }
    typical_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->p = p;
    s->min_keep = min_keep;
    s->sem = sem;
    static const ll_sampler_ops ops = {"typical", 0, typical_apply, NULL, NULL, NULL};
    char pbuf[32];
    return ll_sampler_make(&ops, s, err, "typical(p=%s)", ll_format_double(pbuf, p));
}
