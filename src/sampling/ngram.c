/*
 * ngram.c - no_repeat_ngram_size (Hugging Face): a token that would
 * complete an n-gram already present in the history gets -inf. The
 * encoder variant bans n-grams of an encoder input instead.
 *
 * The history is scanned for occurrences of its own last n-1 tokens, which
 * is O(history * n) per token and needs no per-step allocation.
 */
#include "sampler_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t n;
    int32_t *enc;   /* encoder tokens (encoder variant), else NULL */
    size_t n_enc;
} ngram_state;

static void ban(ll_candidates *c, int32_t id) {
    int64_t pos = ll_cand_pos(c, id);
    if (pos >= 0) c->logit[pos] = -INFINITY;
}

/* Bans every token that follows an occurrence of `prefix` (m tokens) in src. */
static void ban_followers(ll_candidates *c, const int32_t *src, size_t n_src, const int32_t *prefix, size_t m) {
    if (n_src < m + 1) return;
    for (size_t i = 0; i + m < n_src; i++)
        if (memcmp(src + i, prefix, m * sizeof *src) == 0) ban(c, src[i + m]);
}

static ll_status ngram_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    const ngram_state *s = state;
    size_t n = (size_t)s->n;
    if (h->n + 1 < n) return LL_OK;
    size_t m = n - 1;
    const int32_t *prefix = h->tokens + h->n - m;
    ll_cand_pos_begin(c);
    if (s->enc) ban_followers(c, s->enc, s->n_enc, prefix, m);
    else ban_followers(c, h->tokens, h->n, prefix, m);
    ll_cand_pos_end(c);
    c->p_valid = false;
    return LL_OK;
}

static void ngram_free(void *state) {
    ngram_state *s = state;
    if (!s) return;
    free(s->enc);
    free(s);
}

static ll_sampler *ngram_build(int32_t n, const int32_t *enc, size_t n_enc, ll_error *err) {
    if (n <= 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "no_repeat_ngram_size = %d is out of range: valid is >= 1", n);
        return NULL;
    }
    ngram_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->n = n;
    if (enc) {
        s->enc = ll_calloc(n_enc ? n_enc : 1, sizeof *s->enc, err);
        if (!s->enc) {
            free(s);
            return NULL;
        }
        if (n_enc) memcpy(s->enc, enc, n_enc * sizeof *enc);
        s->n_enc = n_enc;
    }
    static const ll_sampler_ops ops = {"no_repeat_ngram", 0, ngram_apply, NULL, NULL, ngram_free};
    static const ll_sampler_ops enc_ops = {"encoder_no_repeat_ngram", 0, ngram_apply, NULL, NULL, ngram_free};
    if (enc) return ll_sampler_make(&enc_ops, s, err, "encoder_no_repeat_ngram(n=%d)", n);
    return ll_sampler_make(&ops, s, err, "no_repeat_ngram(n=%d)", n);
}

ll_sampler *ll_sampler_no_repeat_ngram_new(int32_t n, ll_error *err) { return ngram_build(n, NULL, 0, err); }

ll_sampler *ll_sampler_encoder_no_repeat_ngram_new(int32_t n, const int32_t *encoder_ids, size_t n_enc,
                                                   ll_error *err) {
    if (!encoder_ids) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "encoder_no_repeat_ngram needs the encoder token ids");
        return NULL;
    }
    return ngram_build(n, encoder_ids, n_enc, err);
}
