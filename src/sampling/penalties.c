/*
 * penalties.c - repetition, frequency and presence penalties.
 *
 *  repetition (CTRL, Keskar et al. 2019): a token already seen has its logit
 *    divided by the penalty when positive, multiplied when negative - once,
 *    however often it appeared;
 *  frequency / presence (OpenAI): logit - count * frequency
 *    - (count > 0) * presence.
 *
 * Which tokens count is the scope: the last N accepted tokens (llama.cpp,
 * prompt included), the whole history (HF's repetition penalty), or the
 * generated tokens only (OpenAI/vLLM for frequency and presence). The
 * sampler keeps per-token counts as tokens are accepted, so applying it
 * touches only the tokens in its window: O(window), never O(vocabulary).
 */
#include "sampler_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ll_penalty_scope scope;
    size_t last_n;
    int32_t *ring;       /* LAST_N: the window, oldest at head */
    size_t ring_len, ring_head;
    int32_t *count;      /* per token id, grown on demand */
    size_t count_cap;
    int32_t *distinct;   /* ALL / GENERATED: ids with count > 0 */
    size_t n_distinct, distinct_cap;
} tracker;

typedef struct {
    ll_penalty_params pp;
    ll_penalty_scope rep_scope;
    tracker rep, freq;   /* freq is unused when both scopes are equal */
    bool shared;
    uint32_t *stamp;     /* dedup of ring entries during one apply */
    size_t stamp_cap;
    uint32_t stamp_id;
} penalties_state;

static bool tracker_grow_counts(tracker *t, int32_t id) {
    if ((size_t)id < t->count_cap) return true;
    size_t cap = t->count_cap ? t->count_cap : 1024;
    while (cap <= (size_t)id) cap *= 2;
    int32_t *c = realloc(t->count, cap * sizeof *c);
    if (!c) return false;
    memset(c + t->count_cap, 0, (cap - t->count_cap) * sizeof *c);
    t->count = c;
    t->count_cap = cap;
    return true;
}

static void tracker_accept(tracker *t, int32_t id, bool is_prompt) {
    if (id < 0) return;
    if (t->scope == LL_PENALTY_SCOPE_GENERATED && is_prompt) return;
    if (!tracker_grow_counts(t, id)) return; /* out of memory: the token is not counted */
    if (t->scope == LL_PENALTY_SCOPE_LAST_N) {
        if (t->last_n == 0) return;
        if (t->ring_len == t->last_n) {
            int32_t old = t->ring[t->ring_head];
            t->count[old]--;
            t->ring[t->ring_head] = id;
            t->ring_head = (t->ring_head + 1) % t->last_n;
        } else {
            t->ring[(t->ring_head + t->ring_len) % t->last_n] = id;
            t->ring_len++;
        }
        t->count[id]++;
        return;
    }
    if (t->count[id]++ == 0) {
        if (t->n_distinct == t->distinct_cap) {
            size_t cap = t->distinct_cap ? 2 * t->distinct_cap : 256;
            int32_t *d = realloc(t->distinct, cap * sizeof *d);
            if (!d) {
                t->count[id]--;
                return;
            }
            t->distinct = d;
            t->distinct_cap = cap;
        }
        t->distinct[t->n_distinct++] = id;
    }
}

static void tracker_reset(tracker *t) {
    if (t->count) memset(t->count, 0, t->count_cap * sizeof *t->count);
    t->ring_len = t->ring_head = 0;
    t->n_distinct = 0;
}

static void tracker_free(tracker *t) {
    free(t->ring);
    free(t->count);
    free(t->distinct);
}

/* Calls fn(state, pos, count) once per distinct tracked token present in c. */
typedef void (*penalize_fn)(const penalties_state *s, float *logit, int32_t count);

static void tracker_apply(penalties_state *s, tracker *t, ll_candidates *c, penalize_fn fn) {
    if (t->scope == LL_PENALTY_SCOPE_LAST_N) {
        if (++s->stamp_id == 0) { /* wrapped: clear the stamps */
            memset(s->stamp, 0, s->stamp_cap * sizeof *s->stamp);
            s->stamp_id = 1;
        }
        for (size_t k = 0; k < t->ring_len; k++) {
            int32_t id = t->ring[(t->ring_head + k) % t->last_n];
            if ((size_t)id >= s->stamp_cap || s->stamp[id] == s->stamp_id) continue;
            s->stamp[id] = s->stamp_id;
            int64_t pos = ll_cand_pos(c, id);
            if (pos >= 0) fn(s, &c->logit[pos], t->count[id]);
        }
        return;
    }
    for (size_t k = 0; k < t->n_distinct; k++) {
        int32_t id = t->distinct[k];
        int64_t pos = ll_cand_pos(c, id);
        if (pos >= 0) fn(s, &c->logit[pos], t->count[id]);
    }
}

static void repeat_llamacpp(const penalties_state *s, float *l, int32_t count) {
    (void)count;
    if (*l <= 0.0f) *l *= s->pp.repetition;
    else *l /= s->pp.repetition;
}

static void repeat_hf(const penalties_state *s, float *l, int32_t count) {
    (void)count;
    *l = *l < 0.0f ? *l * s->pp.repetition : *l / s->pp.repetition;
}

static void freq_presence_llamacpp(const penalties_state *s, float *l, int32_t count) {
    if (count <= 0) return;
    *l -= (float)count * s->pp.frequency + (float)(count > 0) * s->pp.presence;
}

static void freq_presence_vllm(const penalties_state *s, float *l, int32_t count) {
    if (count <= 0) return;
    *l -= s->pp.frequency * (float)count;
    *l -= s->pp.presence;
}

static void llamacpp_both(const penalties_state *s, float *l, int32_t count) {
    if (count <= 0) return;
    repeat_llamacpp(s, l, count);
    freq_presence_llamacpp(s, l, count);
}

static ll_status penalties_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    penalties_state *s = state;
    bool rep_on = s->pp.repetition != 1.0f;
    bool fp_on = s->pp.frequency != 0.0f || s->pp.presence != 0.0f;
    ll_cand_pos_begin(c);
    if (s->pp.sem == LL_PROFILE_LLAMACPP && s->shared) {
        tracker_apply(s, &s->rep, c, llamacpp_both);
    } else {
        if (rep_on)
            tracker_apply(s, &s->rep, c, s->pp.sem == LL_PROFILE_LLAMACPP ? repeat_llamacpp : repeat_hf);
        if (fp_on)
            tracker_apply(s, s->shared ? &s->rep : &s->freq, c,
                          s->pp.sem == LL_PROFILE_LLAMACPP ? freq_presence_llamacpp : freq_presence_vllm);
    }
    ll_cand_pos_end(c);
    c->sorted = false;
    c->p_valid = false;
    return LL_OK;
}

static void penalties_accept(void *state, int32_t token, bool is_prompt) {
    penalties_state *s = state;
    tracker_accept(&s->rep, token, is_prompt);
    if (!s->shared) tracker_accept(&s->freq, token, is_prompt);
    if (token >= 0 && (size_t)token >= s->stamp_cap) {
        size_t cap = s->stamp_cap ? s->stamp_cap : 1024;
        while (cap <= (size_t)token) cap *= 2;
        uint32_t *st = realloc(s->stamp, cap * sizeof *st);
        if (st) {
            memset(st + s->stamp_cap, 0, (cap - s->stamp_cap) * sizeof *st);
            s->stamp = st;
            s->stamp_cap = cap;
        }
    }
}

static void penalties_reset(void *state) {
    penalties_state *s = state;
    tracker_reset(&s->rep);
    tracker_reset(&s->freq);
}

static void penalties_free(void *state) {
    penalties_state *s = state;
    if (!s) return;
    tracker_free(&s->rep);
    tracker_free(&s->freq);
    free(s->stamp);
    free(s);
}

static bool tracker_init(tracker *t, ll_penalty_scope scope, size_t last_n) {
    memset(t, 0, sizeof *t);
    t->scope = scope;
    t->last_n = last_n;
    if (scope == LL_PENALTY_SCOPE_LAST_N && last_n > 0) {
        t->ring = malloc(last_n * sizeof *t->ring);
        if (!t->ring) return false;
    }
    return true;
}

const char *ll_penalty_scope_name(ll_penalty_scope scope) {
    switch (scope) {
    case LL_PENALTY_SCOPE_LAST_N: return "last_n";
    case LL_PENALTY_SCOPE_ALL: return "all";
    case LL_PENALTY_SCOPE_GENERATED: return "generated";
    }
    return "?";
}

ll_sampler *ll_sampler_penalties_new(const ll_penalty_params *pp, ll_error *err) {
    if (!pp) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "penalty parameters are NULL");
        return NULL;
    }
    if (!(pp->repetition > 0.0f) || !isfinite(pp->repetition) || !isfinite(1.0f / pp->repetition)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "repetition_penalty = %g is out of range: valid is (0, inf), 1 = off", (double)pp->repetition);
        return NULL;
    }
    if (ll_check_finite("frequency_penalty", pp->frequency, err) != LL_OK) return NULL;
    if (ll_check_finite("presence_penalty", pp->presence, err) != LL_OK) return NULL;
    if ((int)pp->scope < 0 || pp->scope > LL_PENALTY_SCOPE_GENERATED || (int)pp->repetition_scope < 0 ||
        pp->repetition_scope > LL_PENALTY_SCOPE_GENERATED) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "penalty scope must be last_n, all or generated");
        return NULL;
    }
    bool uses_window = pp->scope == LL_PENALTY_SCOPE_LAST_N || pp->repetition_scope == LL_PENALTY_SCOPE_LAST_N;
    if (uses_window && pp->last_n < 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "penalty_last_n = %d is negative: valid is [0, inf), 0 = off",
                pp->last_n);
        return NULL;
    }
    bool off = pp->repetition == 1.0f && pp->frequency == 0.0f && pp->presence == 0.0f;
    if (off || (uses_window && pp->last_n == 0 && pp->scope == pp->repetition_scope))
        return ll_sampler_noop_new("penalties", "penalties(off)", err);
    penalties_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->pp = *pp;
    s->shared = pp->scope == pp->repetition_scope;
    if (!tracker_init(&s->rep, pp->repetition_scope, (size_t)LL_MAX(pp->last_n, 0)) ||
        !tracker_init(&s->freq, pp->scope, (size_t)LL_MAX(pp->last_n, 0))) {
        penalties_free(s);
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory for the penalty window");
        return NULL;
    }
    static const ll_sampler_ops ops = {"penalties", 0, penalties_apply, penalties_accept, penalties_reset,
                                       penalties_free};
    char window[48];
    if (s->shared && pp->scope == LL_PENALTY_SCOPE_LAST_N)
        snprintf(window, sizeof window, "last %d", pp->last_n);
    else if (s->shared)
        snprintf(window, sizeof window, "%s", ll_penalty_scope_name(pp->scope));
    else
        snprintf(window, sizeof window, "rep: %s, freq: %s", ll_penalty_scope_name(pp->repetition_scope),
                 ll_penalty_scope_name(pp->scope));
    return ll_sampler_make(&ops, s, err, "penalties(rep=%g, freq=%g, pres=%g; %s)", (double)pp->repetition,
                           (double)pp->frequency, (double)pp->presence, window);
}
