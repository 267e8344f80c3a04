/*
 * dry.c - DRY, "don't repeat yourself" (p-e-w; llama.cpp's port of the
 * koboldcpp implementation): a token that would extend a sequence already
 * seen in the recent history is penalised by multiplier * base^(n - allowed)
 * where n is the length of the repeat it would extend. Sequence breakers
 * (e.g. a newline) stop the scan backwards so repeats never span them.
 *
 * Breakers are token sequences here (llama.cpp's test constructor); turning
 * breaker strings into token sequences needs a vocabulary and is done by
 * the caller that has one.
 */
#include "sampler_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    float multiplier, base;
    int32_t allowed_length, last_n;
    int32_t *ring;           /* last_n most recent accepted tokens */
    size_t ring_len, ring_head;
    int32_t *brk_tokens;     /* breakers: head token, then its tail */
    size_t *brk_start, *brk_len; /* per breaker: offset of the head, total length */
    size_t n_brk;
    int32_t *repeat;         /* scratch: last_n */
    int32_t *hist;           /* scratch: history newest first */
    int32_t *max_rep_id;     /* scratch: token -> longest repeat it extends */
    int32_t *max_rep_len;
    size_t n_max_rep;
} dry_state;

static int32_t rat(const dry_state *s, size_t i) { return s->hist[i]; }

static bool is_single_breaker(const dry_state *s, int32_t id) {
    for (size_t b = 0; b < s->n_brk; b++)
        if (s->brk_len[b] == 1 && s->brk_tokens[s->brk_start[b]] == id) return true;
    return false;
}

static void note_repeat(dry_state *s, int32_t id, int32_t len) {
    for (size_t j = 0; j < s->n_max_rep; j++)
        if (s->max_rep_id[j] == id) {
            if (s->max_rep_len[j] < len) s->max_rep_len[j] = len;
            return;
        }
    s->max_rep_id[s->n_max_rep] = id;
    s->max_rep_len[s->n_max_rep++] = len;
}

static ll_status dry_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    dry_state *s = state;
    int n = (int)LL_MIN(s->ring_len, (size_t)s->last_n);
    if (n <= s->allowed_length) return LL_OK;
    for (int i = 0; i < n; i++) s->hist[i] = s->ring[(s->ring_head + s->ring_len - 1 - (size_t)i) % (size_t)s->last_n];

    /* 1: the nearest breaker (head at distance i, its tail following it
     * towards the present) limits how far back a repeat may reach */
    int rep_limit = n;
    for (int i = 0; i < n; i++) {
        int longest = -1;
        for (size_t b = 0; b < s->n_brk; b++) {
            const int32_t *seq = s->brk_tokens + s->brk_start[b];
            int tail = (int)s->brk_len[b] - 1;
            if (seq[0] != rat(s, (size_t)i) || tail <= longest || tail > i) continue;
            bool match = true;
            for (int o = 0; o < tail && match; o++) match = seq[1 + o] == rat(s, (size_t)(i - o - 1));
            if (match) longest = tail;
        }
        if (longest >= 0) {
            rep_limit = i - longest;
            break;
        }
    }
    if (rep_limit < s->allowed_length) return LL_OK;

    /* 2: Z-algorithm over the reversed history: repeat[last-k] = length of
     * the match between the suffix ending k tokens ago and the newest one */
    int last = n - 1;
    memset(s->repeat, 0, (size_t)n * sizeof *s->repeat);
    int lt = 0, rt = 0;
    for (int k = 1; k < n; k++) {
        if (k > rt) {
            int m = 0;
            while (m + k < n && rat(s, (size_t)m) == rat(s, (size_t)(m + k))) m++;
            s->repeat[last - k] = LL_MIN(m, rep_limit);
            if (m > 0) {
                lt = k;
                rt = k + m - 1;
            }
        } else {
            int p = k - lt, right = rt - k + 1;
            if (s->repeat[last - p] < right) {
                s->repeat[last - k] = LL_MIN(s->repeat[last - p], rep_limit);
            } else {
                int i = rt + 1;
                while (i < n && rat(s, (size_t)i) == rat(s, (size_t)(i - k))) i++;
                s->repeat[last - k] = LL_MIN(i - k, rep_limit);
                lt = k;
                rt = i - 1;
            }
        }
    }

    /* 3: the token after each long enough repeat would extend it */
    s->n_max_rep = 0;
    for (int i = 0; i < n - 1; i++) {
        int len = s->repeat[i];
        if (len >= s->allowed_length) note_repeat(s, rat(s, (size_t)(n - 2 - i)), len);
    }

    /* 4: penalise, with the exponent capped so base^e stays a float */
    int max_exp = 0;
    if (s->base > 1.000001f) max_exp = (int)(88.7228391f / ll_logf(s->base));
    ll_cand_pos_begin(c);
    for (size_t j = 0; j < s->n_max_rep; j++) {
        int32_t id = s->max_rep_id[j];
        int64_t pos = ll_cand_pos(c, id);
        if (pos < 0 || is_single_breaker(s, id)) continue;
        int e = s->max_rep_len[j] - s->allowed_length;
        if (max_exp > 0 && e > max_exp) e = max_exp;
        c->logit[pos] -= (float)((double)s->multiplier * pow((double)s->base, (double)e));
    }
    ll_cand_pos_end(c);
    c->sorted = false;
    c->p_valid = false;
    return LL_OK;
}

static void dry_accept(void *state, int32_t token, bool is_prompt) {
    (void)is_prompt;
    dry_state *s = state;
    size_t cap = (size_t)s->last_n;
    if (s->ring_len == cap) {
        s->ring[s->ring_head] = token;
        s->ring_head = (s->ring_head + 1) % cap;
    } else {
        s->ring[(s->ring_head + s->ring_len) % cap] = token;
        s->ring_len++;
    }
}

static void dry_reset(void *state) {
    dry_state *s = state;
    s->ring_len = s->ring_head = 0;
}

static void dry_free(void *state) {
    dry_state *s = state;
    if (!s) return;
    free(s->ring);
    free(s->brk_tokens);
    free(s->brk_start);
    free(s->brk_len);
    free(s->repeat);
    free(s->hist);
    free(s->max_rep_id);
    free(s->max_rep_len);
    free(s);
}

ll_sampler *ll_sampler_dry_new(const ll_dry_params *dp, ll_error *err) {
    if (!dp) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "DRY parameters are NULL");
        return NULL;
    }
    if (ll_check_finite("dry_multiplier", dp->multiplier, err) != LL_OK) return NULL;
    if (ll_check_finite("dry_base", dp->base, err) != LL_OK) return NULL;
    if (dp->allowed_length < 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "dry_allowed_length = %d is negative: valid is [0, inf)",
                dp->allowed_length);
        return NULL;
    }
    if (dp->last_n < 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "dry_penalty_last_n = %d is negative: valid is [0, inf), 0 = off",
                dp->last_n);
        return NULL;
    }
    if (dp->multiplier == 0.0f || dp->base < 1.0f || dp->last_n == 0)
        return ll_sampler_noop_new("dry", "dry(off)", err);
    size_t total = 0;
    for (size_t b = 0; b < dp->n_breakers; b++) {
        if (dp->breakers[b].n == 0 || !dp->breakers[b].tokens) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "DRY sequence breaker %zu is empty", b);
            return NULL;
        }
        total += dp->breakers[b].n;
    }
    dry_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    size_t n = (size_t)dp->last_n;
    s->multiplier = dp->multiplier;
    s->base = dp->base;
    s->allowed_length = dp->allowed_length;
    s->last_n = dp->last_n;
    s->ring = ll_calloc(n, sizeof *s->ring, err);
    s->repeat = ll_calloc(n, sizeof *s->repeat, err);
    s->hist = ll_calloc(n, sizeof *s->hist, err);
    s->max_rep_id = ll_calloc(n, sizeof *s->max_rep_id, err);
    s->max_rep_len = ll_calloc(n, sizeof *s->max_rep_len, err);
    s->brk_tokens = ll_calloc(total + 1, sizeof *s->brk_tokens, err);
    s->brk_start = ll_calloc(dp->n_breakers + 1, sizeof *s->brk_start, err);
    s->brk_len = ll_calloc(dp->n_breakers + 1, sizeof *s->brk_len, err);
    if (!s->ring || !s->repeat || !s->hist || !s->max_rep_id || !s->max_rep_len || !s->brk_tokens ||
        !s->brk_start || !s->brk_len) {
        dry_free(s);
        return NULL;
    }
    size_t off = 0;
    for (size_t b = 0; b < dp->n_breakers; b++) {
        memcpy(s->brk_tokens + off, dp->breakers[b].tokens, dp->breakers[b].n * sizeof(int32_t));
        s->brk_start[b] = off;
        s->brk_len[b] = dp->breakers[b].n;
        off += dp->breakers[b].n;
    }
    s->n_brk = dp->n_breakers;
    static const ll_sampler_ops ops = {"dry", 0, dry_apply, dry_accept, dry_reset, dry_free};
    return ll_sampler_make(&ops, s, err, "dry(mult=%g, base=%g, allowed=%d, last %d)", (double)dp->multiplier,
                           (double)dp->base, dp->allowed_length, dp->last_n);
}
