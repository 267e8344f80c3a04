/*
 * length.c - processors driven by the length of the sequence: a minimum
 * length before EOS may appear (HF min_length / min_new_tokens, vLLM
 * min_tokens), forced BOS/EOS, and the exponential EOS boost after a start
 * index (HF exponential_decay_length_penalty).
 */
#include "sampler_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t min_length, min_new_tokens;
    int32_t *eos;
    size_t n_eos;
} min_length_state;

static void set_ids(ll_candidates *c, const int32_t *ids, size_t n, float v) {
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < n; i++) {
        int64_t pos = ll_cand_pos(c, ids[i]);
        if (pos >= 0) c->logit[pos] = v;
    }
    ll_cand_pos_end(c);
    c->p_valid = false;
}

static ll_status min_length_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    const min_length_state *s = state;
    bool block = false;
    if (s->min_length > 0 && (int64_t)h->n < s->min_length) block = true;
    if (s->min_new_tokens > 0 && (int64_t)h->n - (int64_t)h->prompt_len < s->min_new_tokens) block = true;
    if (block) set_ids(c, s->eos, s->n_eos, -INFINITY);
    return LL_OK;
}

static void free_with_ids(void *state) {
    min_length_state *s = state;
    if (!s) return;
    free(s->eos);
    free(s);
}

static int32_t *copy_ids(const int32_t *ids, size_t n, ll_error *err) {
    int32_t *c = ll_calloc(n ? n : 1, sizeof *c, err);
    if (c && n) memcpy(c, ids, n * sizeof *c);
    return c;
}

static ll_status check_eos(const char *who, const int32_t *eos, size_t n_eos, ll_error *err) {
    if (n_eos == 0 || !eos)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s needs at least one EOS token id", who);
    for (size_t i = 0; i < n_eos; i++)
        if (eos[i] < 0)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: EOS id %d is negative: valid is [0, n_vocab)", who,
                           eos[i]);
    return LL_OK;
}

ll_sampler *ll_sampler_min_length_new(int32_t min_length, int32_t min_new_tokens, const int32_t *eos,
                                      size_t n_eos, ll_error *err) {
    if (min_length < 0 || min_new_tokens < 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %d is negative: valid is [0, inf), 0 = no minimum",
                min_length < 0 ? "min_length" : "min_new_tokens", min_length < 0 ? min_length : min_new_tokens);
        return NULL;
    }
    if (min_length <= 0 && min_new_tokens <= 0)
        return ll_sampler_noop_new("min_length", "min_length(off)", err);
    if (check_eos("min_length/min_new_tokens", eos, n_eos, err) != LL_OK) return NULL;
    min_length_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->min_length = min_length;
    s->min_new_tokens = min_new_tokens;
    s->n_eos = n_eos;
    s->eos = copy_ids(eos, n_eos, err);
    if (!s->eos) {
        free(s);
        return NULL;
    }
    static const ll_sampler_ops ops = {"min_length", 0, min_length_apply, NULL, NULL, free_with_ids};
    if (min_new_tokens > 0 && min_length > 0)
        return ll_sampler_make(&ops, s, err, "min_length(total %d, new %d)", min_length, min_new_tokens);
    if (min_new_tokens > 0) return ll_sampler_make(&ops, s, err, "min_new_tokens(%d)", min_new_tokens);
    return ll_sampler_make(&ops, s, err, "min_length(%d)", min_length);
}

/* ---- forced BOS / EOS (HF) ---- */

typedef struct {
    int32_t token;
    int64_t at_length;  /* the history length at which it is forced */
    int32_t *eos;       /* forced EOS may name several ids */
    size_t n_eos;
} forced_state;

static ll_status forced_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    const forced_state *s = state;
    if ((int64_t)h->n != s->at_length) return LL_OK;
    for (size_t i = 0; i < c->size; i++) c->logit[i] = -INFINITY;
    if (s->eos) set_ids(c, s->eos, s->n_eos, 0.0f);
    else set_ids(c, &s->token, 1, 0.0f);
    c->sorted = false;
    return LL_OK;
}

static void forced_free(void *state) {
    forced_state *s = state;
    if (!s) return;
    free(s->eos);
    free(s);
}

ll_sampler *ll_sampler_forced_bos_new(int32_t bos, ll_error *err) {
    forced_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->token = bos;
    s->at_length = 1;
    static const ll_sampler_ops ops = {"forced_bos", 0, forced_apply, NULL, NULL, forced_free};
    return ll_sampler_make(&ops, s, err, "forced_bos(%d)", bos);
}

ll_sampler *ll_sampler_forced_eos_new(int32_t max_length, const int32_t *eos, size_t n_eos, ll_error *err) {
    if (check_eos("forced_eos", eos, n_eos, err) != LL_OK) return NULL;
    forced_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->at_length = (int64_t)max_length - 1;
    s->eos = copy_ids(eos, n_eos, err);
    s->n_eos = n_eos;
    if (!s->eos) {
        free(s);
        return NULL;
    }
    static const ll_sampler_ops ops = {"forced_eos", 0, forced_apply, NULL, NULL, forced_free};
    return ll_sampler_make(&ops, s, err, "forced_eos(max_length=%d)", max_length);
}

/* ---- exponential decay length penalty (HF) ---- */

typedef struct {
    int64_t start;   /* start_index + prompt length */
    double factor;
    int32_t *eos;
    size_t n_eos;
} decay_state;

static ll_status decay_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    const decay_state *s = state;
    int64_t cur = (int64_t)h->n;
    if (cur <= s->start) return LL_OK;
    double boost = pow(s->factor, (double)(cur - s->start)) - 1.0;
    float fb = (float)boost;
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->n_eos; i++) {
        int64_t pos = ll_cand_pos(c, s->eos[i]);
        if (pos >= 0) c->logit[pos] += fabsf(c->logit[pos]) * fb;
    }
    ll_cand_pos_end(c);
    c->sorted = false;
    c->p_valid = false;
    return LL_OK;
}

static void decay_free(void *state) {
    decay_state *s = state;
    if (!s) return;
    free(s->eos);
    free(s);
}

ll_sampler *ll_sampler_exp_decay_length_new(int32_t start_index, double decay_factor, size_t prompt_len,
                                            const int32_t *eos, size_t n_eos, ll_error *err) {
    if (check_eos("exponential_decay_length_penalty", eos, n_eos, err) != LL_OK) return NULL;
    if (ll_check_finite("decay_factor", decay_factor, err) != LL_OK) return NULL;
    decay_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->start = (int64_t)start_index + (int64_t)prompt_len;
    s->factor = decay_factor;
    s->eos = copy_ids(eos, n_eos, err);
    s->n_eos = n_eos;
    if (!s->eos) {
        free(s);
        return NULL;
    }
    static const ll_sampler_ops ops = {"exp_decay_length", 0, decay_apply, NULL, NULL, decay_free};
    return ll_sampler_make(&ops, s, err, "exp_decay_length(start=%d, factor=%g)", start_index, decay_factor);
}
