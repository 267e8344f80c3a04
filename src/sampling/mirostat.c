/*
 * mirostat.c - Mirostat v1 and v2 (Basu et al. 2021): samplers that steer
 * the surprise (-log2 p) of chosen tokens towards a target tau by adapting
 * a truncation threshold mu after every token, with learning rate eta.
 *
 * Both select the token themselves (libstdc++ discrete_distribution over
 * the truncated, renormalised probabilities) and update mu inside apply,
 * exactly as llama.cpp does.
 */
#include "rng.h"
#include "sampler_impl.h"

#include <stdlib.h>

typedef struct {
    int32_t n_vocab, m;
    float tau, eta, mu;
    uint32_t seed;
    ll_mt19937 rng;
} mirostat_state;

static float log2f_exact(float x) { return (float)log2((double)x); }
static float powf_exact(float x, float y) { return (float)pow((double)x, (double)y); }

/* llama.cpp softmaxes whatever it is given: with every logit at -inf it
 * divides 0 by 0 and picks a token with probability NaN, and a +inf or NaN
 * left by an earlier stage (a finite logit overflowing under a small
 * temperature) does the same. Like every other selecting stage, refuse
 * (ll_select_check). */
static ll_status select_and_update(mirostat_state *s, ll_candidates *c) {
    ll_cand_softmax_llamacpp(c, true);
    int64_t idx = ll_discrete_distribution(&s->rng, c->p, c->size);
    /* libstdc++'s discrete_distribution forces its last cumulative weight
     * to 1, so when rounding leaves the sum short of u it returns the last
     * candidate even if its probability is 0 (logit -inf, or an
     * exponential that underflowed). Sorted, those are the tail: take the
     * last candidate that can occur. The first one can (its logit is the
     * finite maximum: ll_select_check). The draw itself is llama.cpp's,
     * so the random stream stays in step with it. */
    while (idx > 0 && !(c->p[idx] > 0.0f)) idx--;
    c->selected = idx;
    float surprise = -log2f_exact(c->p[idx]);
    s->mu = s->mu - s->eta * (surprise - s->tau);
    return LL_OK;
}

static ll_status mirostat_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    mirostat_state *s = state;
    ll_status st = ll_select_check(c, err);
    if (st != LL_OK) return st;
    ll_cand_softmax_llamacpp(c, true);
    /* Zipf exponent estimated from the m most likely tokens */
    float sum_ti_bi = 0.0f, sum_ti_sq = 0.0f;
    for (size_t i = 0; i + 1 < (size_t)s->m && i + 1 < c->size; i++) {
        float t_i = ll_logf((float)(i + 2) / (float)(i + 1));
        float b_i = ll_logf(c->p[i] / c->p[i + 1]);
        sum_ti_bi += t_i * b_i;
        sum_ti_sq += t_i * t_i;
    }
    float s_hat = sum_ti_bi / sum_ti_sq;
    float eps_hat = s_hat - 1.0f;
    float k = powf_exact((eps_hat * powf_exact(2.0f, s->mu)) / (1.0f - powf_exact((float)s->n_vocab, -eps_hat)),
                         1.0f / s_hat);
    /* (int)k of NaN (one candidate) is 1 in llama.cpp on x86 */
    int ik = isfinite(k) && k < 2147483647.0f ? (int)k : 1;
    ll_cand_top_k(c, (size_t)(ik > 1 ? ik : 1));
    return select_and_update(s, c);
}

static ll_status mirostat_v2_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    mirostat_state *s = state;
    ll_status st = ll_select_check(c, err);
    if (st != LL_OK) return st;
    ll_cand_softmax_llamacpp(c, true);
    size_t keep = 0;
    while (keep < c->size && !(-log2f_exact(c->p[keep]) > s->mu)) keep++;
    c->size = keep ? keep : 1;
    return select_and_update(s, c);
}

static void mirostat_reset(void *state) {
    mirostat_state *s = state;
    s->mu = 2.0f * s->tau;
    ll_mt19937_seed(&s->rng, s->seed);
}

static mirostat_state *mirostat_state_new(uint32_t seed, float tau, float eta, ll_error *err) {
    if (ll_check_range("mirostat_tau", tau, 0.0, false, INFINITY, true, err) != LL_OK) return NULL;
    if (ll_check_range("mirostat_eta", eta, 0.0, false, INFINITY, true, err) != LL_OK) return NULL;
    mirostat_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->tau = tau;
    s->eta = eta;
    s->seed = seed;
    mirostat_reset(s);
    return s;
}

ll_sampler *ll_sampler_mirostat_new(int32_t n_vocab, uint32_t seed, float tau, float eta, int32_t m,
                                    ll_error *err) {
    if (n_vocab < 1 || m < 1) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "mirostat: n_vocab = %d and m = %d must both be >= 1", n_vocab, m);
        return NULL;
    }
    mirostat_state *s = mirostat_state_new(seed, tau, eta, err);
    if (!s) return NULL;
    s->n_vocab = n_vocab;
    s->m = m;
    static const ll_sampler_ops ops = {"mirostat", LL_SAMPLER_SELECTS, mirostat_apply, NULL, mirostat_reset, free};
    return ll_sampler_make(&ops, s, err, "mirostat(tau=%g, eta=%g, m=%d, seed=%u)", (double)tau, (double)eta, m,
                           seed);
}

ll_sampler *ll_sampler_mirostat_v2_new(uint32_t seed, float tau, float eta, ll_error *err) {
    mirostat_state *s = mirostat_state_new(seed, tau, eta, err);
    if (!s) return NULL;
    static const ll_sampler_ops ops = {"mirostat_v2", LL_SAMPLER_SELECTS, mirostat_v2_apply, NULL, mirostat_reset,
                                       free};
    return ll_sampler_make(&ops, s, err, "mirostat_v2(tau=%g, eta=%g, seed=%u)", (double)tau, (double)eta, seed);
}
