/*
 * top_p.c - nucleus sampling: keep the most likely tokens until their
 * probability mass reaches p.
 *
 * The frameworks agree on the idea and differ at the boundary:
 *  - llama.cpp sums probabilities in float from the most likely down and
 *    keeps the token whose addition reaches p (cum >= p, inclusive).
 *  - Hugging Face sorts ascending, accumulates from the least likely and
 *    removes tokens whose cumulative mass is <= 1 - p (1 - p computed in
 *    double, compared in float); vLLM does the same with 1 - p in float.
 * Only the top of the distribution is ever sorted: a sorted prefix of 256
 * (then more, if the mass is not reached) is enough.
 */
#include "sampler_impl.h"

typedef struct {
    double p;
    size_t min_keep;
    ll_profile sem;
} top_p_state;

/* Sorted positions of the first `want` candidates, reusing what is known:
 * a sorted array needs no work. Returns the count actually available. */
static size_t sorted_prefix(ll_candidates *c, size_t want, int32_t *pos) {
    if (want > c->size) want = c->size;
    ll_cand_top_positions(c, want, pos);
    return want;
}

static size_t initial_prefix(const ll_candidates *c) {
    if (c->sorted || c->size <= 1024) return c->size;
    return 256;
}

static ll_status top_p_llamacpp(const top_p_state *s, ll_candidates *c) {
    float p = (float)s->p;
    ll_cand_softmax_llamacpp(c, false);
    int32_t *pos = c->ws->idx;
    size_t m = sorted_prefix(c, initial_prefix(c), pos);
    float cum = 0.0f;
    size_t last = c->size;
    for (size_t i = 0; i < c->size; i++) {
        if (i == m) m = sorted_prefix(c, c->size, pos); /* the mass was not reached: sort all */
        cum += c->p[pos[i]];
        if (cum >= p && i + 1 >= s->min_keep) {
            last = i + 1;
            break;
        }
    }
    if (c->sorted) c->size = last;
    else ll_cand_gather(c, pos, last, true);
    return LL_OK;
}

/* HF sorts ascending (torch keeps equal keys in index order) and keeps the
 * top of that order, so when the cut falls inside a run of equal logits the
 * highest positions of the run survive. pos[0..m) is sorted with the lowest
 * position first among ties; fix the run at the cut. */
static void keep_highest_of_tie(ll_candidates *c, int32_t *pos, size_t keep, size_t m) {
    if (keep == 0 || keep >= c->size) return;
    float v = c->logit[pos[keep - 1]];
    if (!(keep < m ? c->logit[pos[keep]] == v : true)) return;
    size_t first = keep - 1;
    while (first > 0 && c->logit[pos[first - 1]] == v) first--;
    /* every position holding v, ascending (a stable scan), last ones win */
    size_t need = keep - first, n_tie = 0;
    int32_t *tie = (int32_t *)c->ws->tmp;
    for (size_t i = 0; i < c->size; i++)
        if (c->logit[i] == v) tie[n_tie++] = (int32_t)i;
    if (n_tie <= need) return;
    for (size_t k = 0; k < need; k++) pos[first + k] = tie[n_tie - need + k];
}

static ll_status top_p_hf(const top_p_state *s, ll_candidates *c) {
    float thr = s->sem == LL_PROFILE_OPENAI ? 1.0f - (float)s->p : (float)(1.0 - s->p);
    size_t min_keep = s->min_keep ? s->min_keep : 1;
    ll_cand_softmax(c);
    double total = 0.0;
    for (size_t i = 0; i < c->size; i++) total += c->p[i];
    int32_t *pos = c->ws->idx;
    size_t m = sorted_prefix(c, initial_prefix(c), pos);
    for (;;) {
        /* mass outside the sorted prefix, then the ascending cumulative sum
         * (in double, as torch accumulates float cumsum) up the prefix */
        double head = 0.0;
        for (size_t i = 0; i < m; i++) head += c->p[pos[i]];
        double tail = total - head;
        if (tail < 0.0) tail = 0.0;
        if (m < c->size && (float)(tail + c->p[pos[m - 1]]) > thr) {
            m = sorted_prefix(c, LL_MIN(c->size, m * 4), pos);
            continue;
        }
        /* keep i iff the mass of i and everything less likely is > thr */
        size_t keep = 0;
        double cum = tail;
        for (size_t i = m; i-- > 0;) {
            cum += c->p[pos[i]];
            if ((float)cum > thr) {
                keep = i + 1;
                break;
            }
        }
        if (keep < min_keep) keep = LL_MIN(min_keep, c->size);
        keep_highest_of_tie(c, pos, keep, m);
        ll_cand_gather(c, pos, keep, true);
        c->p_valid = false;
        return LL_OK;
    }
}

static ll_status top_p_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const top_p_state *s = state;
    if (c->size == 0) return LL_OK;
    if (s->sem == LL_PROFILE_LLAMACPP) return top_p_llamacpp(s, c);
    return top_p_hf(s, c);
}

ll_sampler *ll_sampler_top_p_new(double p, size_t min_keep, ll_profile sem, ll_error *err) {
    if (ll_check_range("top_p", p, 0.0, false, 1.0, false, err) != LL_OK) return NULL;
    if (sem == LL_PROFILE_OPENAI && p == 0.0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "top_p = 0 is out of range: the openai profile accepts (0, 1]");
        return NULL;
    }
    if (sem == LL_PROFILE_LLAMA2C) sem = LL_PROFILE_LLAMACPP;
    if (sem == LL_PROFILE_HF && min_keep < 1) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_keep = 0 is out of range: the hf profile needs >= 1");
        return NULL;
    }
    if ((sem == LL_PROFILE_LLAMACPP && (float)p >= 1.0f) || p >= 1.0)
        return ll_sampler_noop_new("top_p", "top_p(p=1: off)", err);
    top_p_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->p = p;
    s->min_keep = min_keep;
    s->sem = sem;
    static const ll_sampler_ops ops = {"top_p", 0, top_p_apply, NULL, NULL, NULL};
    char pbuf[32];
    ll_format_double(pbuf, p);
    if (sem == LL_PROFILE_LLAMACPP) return ll_sampler_make(&ops, s, err, "top_p(p=%s, cum>=p)", pbuf);
    return ll_sampler_make(&ops, s, err, "top_p(p=%s, tail<=1-p removed)", pbuf);
}
