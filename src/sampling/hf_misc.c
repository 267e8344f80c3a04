/*
 * hf_misc.c - the remaining Hugging Face logits processors: NaN/inf
 * removal, log-softmax renormalisation, encoder repetition penalty,
 * prefix-constrained decoding, Bark's EOS prioritiser, Hamming diversity
 * (group beam search) and the "lefthash" watermark.
 *
 * They matter less for everyday sampling than the warpers, but each is a
 * documented HF behaviour a user may want to reproduce exactly.
 */
#include "sampler_impl.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static void free_plain(void *state) { free(state); }

/* ---- InfNanRemove: NaN -> 0, +inf -> FLT_MAX, -inf -> -FLT_MAX ---- */

static ll_status inf_nan_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)state;
    (void)h;
    (void)err;
    for (size_t i = 0; i < c->size; i++) {
        float v = c->logit[i];
        if (isnan(v)) c->logit[i] = 0.0f;
        else if (v == INFINITY) c->logit[i] = FLT_MAX;
        else if (v == -INFINITY) c->logit[i] = -FLT_MAX;
    }
    c->sorted = false;
    c->p_valid = false;
    return LL_OK;
}

ll_sampler *ll_sampler_inf_nan_remove_new(ll_error *err) {
    static const ll_sampler_ops ops = {"inf_nan_remove", 0, inf_nan_apply, NULL, NULL, free_plain};
    return ll_sampler_make(&ops, NULL, err, "inf_nan_remove");
}

/* ---- LogitNormalization: log_softmax ---- */

static ll_status log_softmax_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)state;
    (void)h;
    (void)err;
    if (c->size == 0) return LL_OK;
    float max = ll_cand_max(c);
    double sum = c->ws->k->exp_sum(c->logit, c->size, max, c->ws->tmp, NULL);
    float lse = (float)((double)max + log(sum));
    for (size_t i = 0; i < c->size; i++) c->logit[i] -= lse;
    c->p_valid = false;
    return LL_OK;
}

ll_sampler *ll_sampler_log_softmax_new(ll_error *err) {
    static const ll_sampler_ops ops = {"log_softmax", 0, log_softmax_apply, NULL, NULL, free_plain};
    return ll_sampler_make(&ops, NULL, err, "log_softmax");
}

/* ---- encoder repetition penalty: boosts tokens of the encoder input ---- */

typedef struct {
    float inv_penalty;
    int32_t *ids;
    size_t n;
} enc_rep_state;

static ll_status enc_rep_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const enc_rep_state *s = state;
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->n; i++) {
        int64_t pos = ll_cand_pos(c, s->ids[i]);
        if (pos < 0) continue;
        float v = c->logit[pos];
        /* HF stores 1/penalty and applies the repetition-penalty rule with
         * it; a token listed twice must only be scaled once */
        bool seen = false;
        for (size_t j = 0; j < i; j++) seen |= s->ids[j] == s->ids[i];
        if (!seen) c->logit[pos] = v < 0.0f ? v * s->inv_penalty : v / s->inv_penalty;
    }
    ll_cand_pos_end(c);
    c->sorted = false;
    c->p_valid = false;
    return LL_OK;
}

static void enc_rep_free(void *state) {
    enc_rep_state *s = state;
    if (!s) return;
    free(s->ids);
    free(s);
}

ll_sampler *ll_sampler_encoder_repetition_penalty_new(float penalty, const int32_t *encoder_ids, size_t n,
                                                      ll_error *err) {
    if (!(penalty > 0.0f) || !isfinite(penalty)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "encoder_repetition_penalty = %g is out of range: valid is (0, inf)", (double)penalty);
        return NULL;
    }
    enc_rep_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->inv_penalty = 1.0f / penalty;
    s->ids = ll_calloc(n ? n : 1, sizeof *s->ids, err);
    if (!s->ids) {
        free(s);
        return NULL;
    }
    if (n) memcpy(s->ids, encoder_ids, n * sizeof *encoder_ids);
    s->n = n;
    static const ll_sampler_ops ops = {"encoder_repetition_penalty", 0, enc_rep_apply, NULL, NULL, enc_rep_free};
    return ll_sampler_make(&ops, s, err, "encoder_repetition_penalty(%g)", (double)penalty);
}

/* ---- prefix-constrained decoding ---- */

typedef struct {
    ll_allowed_tokens_fn fn;
    void *user;
} prefix_state;

static ll_status prefix_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    const prefix_state *s = state;
    int32_t *allowed = c->ws->idx;
    size_t n = s->fn(s->user, h, allowed, c->ws->n_vocab);
    if (n == 0)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "prefix_allowed_tokens returned no token for this prefix: at least one must be allowed");
    /* keep only allowed tokens: mark them in the id->position map's twin */
    uint8_t *keep = (uint8_t *)c->ws->keys;
    memset(keep, 0, c->size);
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < n; i++) {
        int64_t pos = ll_cand_pos(c, allowed[i]);
        if (pos >= 0) keep[pos] = 1;
    }
    ll_cand_pos_end(c);
    for (size_t i = 0; i < c->size; i++)
        if (!keep[i]) c->logit[i] = -INFINITY;
    c->p_valid = false;
    return LL_OK;
}

ll_sampler *ll_sampler_prefix_allowed_new(ll_allowed_tokens_fn fn, void *user, ll_error *err) {
    if (!fn) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "prefix_allowed_tokens needs a callback");
        return NULL;
    }
    prefix_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->fn = fn;
    s->user = user;
    static const ll_sampler_ops ops = {"prefix_allowed", 0, prefix_apply, NULL, NULL, free_plain};
    return ll_sampler_make(&ops, s, err, "prefix_allowed");
}

/* ---- Bark EOS prioritiser ---- */

typedef struct {
    int32_t *eos;
    size_t n_eos;
    float min_eos_p;
} bark_state;

static ll_status bark_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const bark_state *s = state;
    if (c->size == 0) return LL_OK;
    float max = ll_cand_max(c);
    double sum = c->ws->k->exp_sum(c->logit, c->size, max, c->ws->tmp, NULL);
    bool trigger = false;
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->n_eos; i++) {
        int64_t pos = ll_cand_pos(c, s->eos[i]);
        if (pos >= 0 && (float)((double)c->ws->tmp[pos] / sum) > s->min_eos_p) trigger = true;
    }
    if (trigger) {
        uint8_t *is_eos = (uint8_t *)c->ws->keys;
        memset(is_eos, 0, c->size);
        for (size_t i = 0; i < s->n_eos; i++) {
            int64_t pos = ll_cand_pos(c, s->eos[i]);
            if (pos >= 0) is_eos[pos] = 1;
        }
        for (size_t i = 0; i < c->size; i++)
            if (!is_eos[i]) c->logit[i] = -INFINITY;
        c->p_valid = false;
    }
    ll_cand_pos_end(c);
    return LL_OK;
}

static void bark_free(void *state) {
    bark_state *s = state;
    if (!s) return;
    free(s->eos);
    free(s);
}

ll_sampler *ll_sampler_bark_eos_prioritizer_new(const int32_t *eos, size_t n_eos, float min_eos_p,
                                                ll_error *err) {
    if (!(min_eos_p > 0.0f)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_eos_p = %g is out of range: valid is (0, 1]", (double)min_eos_p);
        return NULL;
    }
    bark_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->eos = ll_calloc(n_eos ? n_eos : 1, sizeof *s->eos, err);
    if (!s->eos) {
        free(s);
        return NULL;
    }
    if (n_eos) memcpy(s->eos, eos, n_eos * sizeof *eos);
    s->n_eos = n_eos;
    s->min_eos_p = min_eos_p;
    static const ll_sampler_ops ops = {"bark_eos_prioritizer", 0, bark_apply, NULL, NULL, bark_free};
    return ll_sampler_make(&ops, s, err, "bark_eos_prioritizer(min_eos_p=%g)", (double)min_eos_p);
}

/* ---- Hamming diversity (group beam search) ---- */

void ll_hamming_diversity(float *scores, size_t n_vocab, const int32_t *previous_group_tokens, size_t n,
                          float diversity_penalty) {
    for (size_t i = 0; i < n; i++) {
        int32_t t = previous_group_tokens[i];
        if (t >= 0 && (size_t)t < n_vocab) scores[t] -= diversity_penalty;
    }
}

/* ---- watermark (HF WatermarkLogitsProcessor, "lefthash" seeding) ---- */

/* (a * b) mod (2^64 - 1) with 32-bit limbs: hi * 2^64 + lo == hi + lo. */
static uint64_t mulmod_2_64_minus_1(uint64_t a, uint64_t b) {
    const uint64_t M = 0xffffffffffffffffull;
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    uint64_t lo = (p00 & 0xffffffffu) | (mid << 32);
    uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    uint64_t r = hi + lo;
    if (r < hi) r += 1; /* a carry out of 2^64 is worth 1 mod M */
    if (r == M) r = 0;
    return r;
}

typedef struct {
    size_t vocab_size, green;
    float bias;
    uint64_t hashing_key;
    int32_t *perm;
} watermark_state;

static ll_status watermark_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    watermark_state *s = state;
    if (h->n < 1) return LL_OK; /* HF: shorter than the context width, unchanged */
    /* torch: manual_seed(key * last % (2^64 - 1)) seeds mt19937 with the low
     * 32 bits; randperm draws n-1 outputs, swapping r[i] and r[i + x % (n-i)] */
    uint64_t seed = mulmod_2_64_minus_1(s->hashing_key, (uint64_t)h->tokens[h->n - 1]);
    ll_mt19937 rng;
    ll_mt19937_seed(&rng, (uint32_t)seed);
    size_t n = s->vocab_size;
    for (size_t i = 0; i < n; i++) s->perm[i] = (int32_t)i;
    for (size_t i = 0; i + 1 < n; i++) {
        size_t z = (size_t)(ll_mt19937_next(&rng) % (uint32_t)(n - i));
        int32_t t = s->perm[i];
        s->perm[i] = s->perm[i + z];
        s->perm[i + z] = t;
    }
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->green; i++) {
        int64_t pos = ll_cand_pos(c, s->perm[i]);
        if (pos >= 0) c->logit[pos] += s->bias;
    }
    ll_cand_pos_end(c);
    c->sorted = false;
    c->p_valid = false;
    return LL_OK;
}

static void watermark_free(void *state) {
    watermark_state *s = state;
    if (!s) return;
    free(s->perm);
    free(s);
}

ll_sampler *ll_sampler_watermark_new(size_t vocab_size, double greenlist_ratio, float bias, uint64_t hashing_key,
                                     ll_error *err) {
    if (ll_check_range("greenlist_ratio", greenlist_ratio, 0.0, true, 1.0, true, err) != LL_OK) return NULL;
    if (vocab_size == 0 || vocab_size > UINT32_MAX / 20) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "watermark vocab_size = %zu is out of range", vocab_size);
        return NULL;
    }
    watermark_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->perm = ll_calloc(vocab_size, sizeof *s->perm, err);
    if (!s->perm) {
        free(s);
        return NULL;
    }
    s->vocab_size = vocab_size;
    s->green = (size_t)((double)vocab_size * greenlist_ratio);
    s->bias = bias;
    s->hashing_key = hashing_key;
    static const ll_sampler_ops ops = {"watermark", 0, watermark_apply, NULL, NULL, watermark_free};
    return ll_sampler_make(&ops, s, err, "watermark(ratio=%g, bias=%g)", greenlist_ratio, (double)bias);
}
