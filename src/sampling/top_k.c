/*
 * top_k.c - keep the k most likely tokens.
 *
 * llama.cpp keeps exactly k (which of several tied tokens survives is
 * unspecified there; here the lower position wins). Hugging Face and vLLM
 * keep every token whose logit equals the k-th largest, so ties can leave
 * more than k. Either way the result is sorted by logit, and selection
 * never sorts the whole vocabulary (see candidates.c).
 */
#include "sampler_impl.h"

typedef struct {
    int32_t k;
    size_t min_keep;
    ll_profile sem;
} top_k_state;

/* HF/vLLM: threshold at the k-th largest value, ties kept. */
static void top_k_keep_ties(ll_candidates *c, size_t k) {
    if (k >= c->size) return; /* nothing to remove */
    int32_t *pos = c->ws->idx;
    ll_cand_top_positions(c, k, pos);
    float kth = c->logit[pos[k - 1]];
    if (kth == -INFINITY) return; /* fewer than k finite values: nothing is removed */
    size_t m = k;
    if (c->sorted) {
        while (m < c->size && c->logit[m] == kth) m++;
        c->size = m;
        return;
    }
    /* every position >= kth (ties beyond the k-th included); filter_ge
     * lists them in index order, so they are sorted before the array is
     * marked sorted - later stages (top_p) rely on it */
    size_t n_ge = c->ws->k->filter_ge(c->logit, c->size, kth, pos);
    uint64_t *keys = c->ws->keys;
    for (size_t j = 0; j < n_ge; j++) keys[j] = ll_cand_key(c, (size_t)pos[j]);
    ll_sort_keys(keys, n_ge, keys + c->ws->n_vocab + 1);
    for (size_t j = 0; j < n_ge; j++) pos[j] = ll_key_pos(keys[j]);
    m = n_ge;
    ll_cand_gather(c, pos, m, true);
}

static ll_status top_k_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const top_k_state *s = state;
    size_t k = (size_t)s->k;
    if (s->sem == LL_PROFILE_LLAMACPP) {
        ll_cand_top_k(c, k);
        return LL_OK;
    }
    if (k < s->min_keep) k = s->min_keep;
    top_k_keep_ties(c, k);
    return LL_OK;
}

ll_sampler *ll_sampler_top_k_new(int32_t k, size_t min_keep, ll_profile sem, ll_error *err) {
    switch (sem) {
    case LL_PROFILE_LLAMACPP:
    case LL_PROFILE_LLAMA2C:
        if (k <= 0) return ll_sampler_noop_new("top_k", "top_k(k<=0: off)", err);
        sem = LL_PROFILE_LLAMACPP;
        break;
    case LL_PROFILE_OPENAI:
        if (k == 0 || k == -1) return ll_sampler_noop_new("top_k", "top_k(k=0: off)", err);
        if (k < -1) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "top_k = %d is out of range: valid is 0 or -1 (off), or >= 1", k);
            return NULL;
        }
        break;
    default:
        if (k <= 0) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                    "top_k = %d is out of range: the hf profile needs a strictly positive integer (0 turns "
                    "top_k off when building a chain from parameters)",
                    k);
            return NULL;
        }
        break;
    }
    top_k_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->k = k;
    s->min_keep = min_keep;
    s->sem = sem;
    static const ll_sampler_ops ops = {"top_k", 0, top_k_apply, NULL, NULL, NULL};
    if (sem == LL_PROFILE_LLAMACPP) return ll_sampler_make(&ops, s, err, "top_k(k=%d)", k);
    return ll_sampler_make(&ops, s, err, "top_k(k=%d, ties kept)", k);
}
