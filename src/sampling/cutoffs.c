/*
 * cutoffs.c - truncation by an absolute or statistical threshold:
 * epsilon and eta sampling (Hewitt et al. 2022, Hugging Face), top-n-sigma
 * (Tang et al. 2024, llama.cpp) and Top-H (Hugging Face main).
 */
#include "sampler_impl.h"

#include <float.h>
#include <string.h>

typedef struct {
    double v;       /* epsilon, eta or n */
    size_t min_keep;
} cutoff_state;

/* Logit of the min_keep-th most likely candidate (ties with it are kept by
 * HF's "scores < kth" test). */
static float kth_logit(ll_candidates *c, size_t k) {
    if (k == 0) return INFINITY;
    if (k > c->size) k = c->size;
    int32_t *pos = c->ws->idx;
    ll_cand_top_positions(c, k, pos);
    return c->logit[pos[k - 1]];
}

/* Removes tokens with probability < thr whose logit is below the min_keep-th
 * largest. */
static void remove_below(ll_candidates *c, float thr, size_t min_keep) {
    float kth = kth_logit(c, min_keep ? min_keep : 1);
    uint8_t *keep = (uint8_t *)c->ws->keys;
    for (size_t i = 0; i < c->size; i++) keep[i] = !(c->p[i] < thr && c->logit[i] < kth);
    c->p_valid = false;
    ll_cand_keep_mask(c, keep);
}

static ll_status epsilon_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const cutoff_state *s = state;
    if (c->size == 0) return LL_OK;
    ll_cand_softmax(c);
    remove_below(c, (float)s->v, s->min_keep);
    return LL_OK;
}

static ll_status eta_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const cutoff_state *s = state;
    if (c->size == 0) return LL_OK;
    ll_cand_softmax(c);
    double entropy = 0.0;
    for (size_t i = 0; i < c->size; i++)
        if (c->p[i] > 0.0f) entropy -= (double)c->p[i] * log((double)c->p[i]);
    float eps = (float)s->v;
    float eta = sqrtf(eps) * (float)exp(-(double)(float)entropy);
    if (eps < eta) eta = eps;
    remove_below(c, eta, s->min_keep);
    return LL_OK;
}

static ll_sampler *cutoff_new(const char *name, double v, size_t min_keep, ll_error *err,
                              ll_status (*apply)(void *, ll_candidates *, const ll_history *, ll_error *)) {
    if (ll_check_range(name, v, 0.0, true, 1.0, true, err) != LL_OK) return NULL;
    if (min_keep < 1) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_keep = 0 is out of range: %s needs >= 1", name);
        return NULL;
    }
    cutoff_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->v = v;
    s->min_keep = min_keep;
    ll_sampler_ops ops = {strcmp(name, "epsilon_cutoff") == 0 ? "epsilon" : "eta", 0, apply, NULL, NULL, NULL};
    char vbuf[32];
    return ll_sampler_make(&ops, s, err, "%s(%s)", ops.name, ll_format_double(vbuf, v));
}

ll_sampler *ll_sampler_epsilon_new(double epsilon, size_t min_keep, ll_error *err) {
    return cutoff_new("epsilon_cutoff", epsilon, min_keep, err, epsilon_apply);
}

ll_sampler *ll_sampler_eta_new(double eta, size_t min_keep, ll_error *err) {
    return cutoff_new("eta_cutoff", eta, min_keep, err, eta_apply);
}

/* ---- top-n-sigma (llama.cpp arithmetic) ---- */

static ll_status top_n_sigma_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const cutoff_state *s = state;
    if (c->size <= 1) return LL_OK;
    float max = c->logit[0], sum = 0.0f;
    size_t valid = 0;
    for (size_t i = 0; i < c->size; i++) {
        float l = c->logit[i];
        if (l == -INFINITY) continue;
        if (l > max) max = l;
        sum += l;
        valid++;
    }
    float mean = valid > 0 ? sum / (float)valid : 0.0f;
    float acc = 0.0f;
    for (size_t i = 0; i < c->size; i++) {
        float l = c->logit[i];
        if (l == -INFINITY) continue;
        double d = (double)(l - mean);
        acc = (float)((double)acc + d * d);
    }
    float sd = valid > 0 ? (float)sqrt((double)(acc / (float)valid)) : 0.0f;
    float thr = max - (float)s->v * sd;
    for (size_t i = 0; i < c->size; i++)
        if (c->logit[i] < thr) c->logit[i] = -INFINITY;
    c->p_valid = false;
    return LL_OK;
}

ll_sampler *ll_sampler_top_n_sigma_new(float n, ll_error *err) {
    if (ll_check_finite("top_n_sigma", n, err) != LL_OK) return NULL;
    if (n <= 0.0f) return ll_sampler_noop_new("top_n_sigma", "top_n_sigma(n<=0: off)", err);
    cutoff_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->v = n;
    static const ll_sampler_ops ops = {"top_n_sigma", 0, top_n_sigma_apply, NULL, NULL, NULL};
    return ll_sampler_make(&ops, s, err, "top_n_sigma(n=%g)", (double)n);
}

/* ---- Top-H (Hugging Face main) ---- */

#define TOP_H_WINDOW 100

static ll_status top_h_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const cutoff_state *s = state;
    if (c->size == 0) return LL_OK;
    size_t n = LL_MIN((size_t)TOP_H_WINDOW, c->size);
    ll_cand_top_k(c, n);
    /* softmax over the window only, entropy budget tau = top_h * H */
    float max = c->logit[0];
    double sum = c->ws->k->exp_sum(c->logit, n, max, c->p, NULL);
    double ent = 0.0;
    for (size_t i = 0; i < n; i++) {
        double q = (double)c->p[i] / sum;
        if (q > 0.0) ent -= q * log(q);
    }
    double tau = s->v * ent, cum = 0.0;
    size_t keep = 1;
    for (size_t i = 0; i < n; i++) {
        double q = (double)c->p[i] / sum;
        if (q > 0.0) cum -= q * log(q);
        if (i > 0 && cum > tau) break;
        keep = i + 1;
    }
    c->size = keep;
    c->p_valid = false;
    return LL_OK;
}

ll_sampler *ll_sampler_top_h_new(double top_h, ll_error *err) {
    if (ll_check_range("top_h", top_h, 0.0, true, 1.0, false, err) != LL_OK) return NULL;
    cutoff_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->v = top_h;
    static const ll_sampler_ops ops = {"top_h", 0, top_h_apply, NULL, NULL, NULL};
    char vbuf[32];
    return ll_sampler_make(&ops, s, err, "top_h(%s)", ll_format_double(vbuf, top_h));
}
