/*
 * bias.c - additive biases and bans: logit_bias (per token), sequence bias
 * and bad-word sequences (multi-token, Hugging Face), suppressed tokens.
 *
 * All of these touch only the tokens they name, so they cost O(entries)
 * whatever the vocabulary size.
 */
#include "sampler_impl.h"

#include <stdlib.h>
#include <string.h>

/* Adds bias to the candidate with this id, if present. */
static void add_to_id(ll_candidates *c, int32_t id, float bias) {
    int64_t pos = ll_cand_pos(c, id);
    if (pos >= 0) c->logit[pos] += bias;
}

/* ---- logit_bias ---- */

typedef struct {
    ll_token_bias *b;
    size_t n;
} logit_bias_state;

static ll_status logit_bias_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)h;
    (void)err;
    const logit_bias_state *s = state;
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->n; i++) add_to_id(c, s->b[i].token, s->b[i].bias);
    ll_cand_pos_end(c);
    c->p_valid = false;
    return LL_OK;
}

static void logit_bias_free(void *state) {
    logit_bias_state *s = state;
    if (!s) return;
    free(s->b);
    free(s);
}

static ll_status check_token(const char *what, int32_t id, size_t n_vocab, ll_error *err) {
    if (id >= 0 && (size_t)id < n_vocab) return LL_OK;
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: token id %d is out of range: valid is [0, %zu)", what, id,
                   n_vocab);
}

ll_sampler *ll_sampler_logit_bias_new(const ll_token_bias *biases, size_t n, size_t n_vocab, ll_error *err) {
    if (n == 0) return ll_sampler_noop_new("logit_bias", "logit_bias(empty)", err);
    for (size_t i = 0; i < n; i++) {
        if (check_token("logit_bias", biases[i].token, n_vocab, err) != LL_OK) return NULL;
        if (isnan(biases[i].bias) || biases[i].bias == INFINITY) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                    "logit_bias for token %d = %g is invalid: valid is a finite number or -inf (ban)",
                    biases[i].token, (double)biases[i].bias);
            return NULL;
        }
    }
    logit_bias_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->b = ll_calloc(n, sizeof *s->b, err);
    if (!s->b) {
        free(s);
        return NULL;
    }
    memcpy(s->b, biases, n * sizeof *s->b);
    s->n = n;
    static const ll_sampler_ops ops = {"logit_bias", 0, logit_bias_apply, NULL, NULL, logit_bias_free};
    return ll_sampler_make(&ops, s, err, "logit_bias(%zu token%s)", n, n == 1 ? "" : "s");
}

/* ---- sequence bias / bad words ---- */

typedef struct {
    int32_t *tokens; /* all sequences, concatenated */
    size_t *start, *len;
    float *bias;
    size_t n;
} seq_bias_state;

/* True when the last m tokens of h equal seq[0..m). */
static bool history_ends_with(const ll_history *h, const int32_t *seq, size_t m) {
    if (m > h->n) return false;
    return memcmp(h->tokens + h->n - m, seq, m * sizeof *seq) == 0;
}

static ll_status seq_bias_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    const seq_bias_state *s = state;
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->n; i++) {
        const int32_t *seq = s->tokens + s->start[i];
        size_t m = s->len[i];
        /* a sequence longer than the history is skipped, as HF does, even one
         * whose prefix would fit */
        if (m > 1 && (m > h->n || !history_ends_with(h, seq, m - 1))) continue;
        add_to_id(c, seq[m - 1], s->bias[i]);
    }
    ll_cand_pos_end(c);
    c->p_valid = false;
    return LL_OK;
}

static void seq_bias_free(void *state) {
    seq_bias_state *s = state;
    if (!s) return;
    free(s->tokens);
    free(s->start);
    free(s->len);
    free(s->bias);
    free(s);
}

static ll_sampler *seq_bias_build(const char *name, const ll_token_seq *seqs, const float *biases, size_t n,
                                  size_t n_vocab, ll_error *err) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!seqs[i].tokens || seqs[i].n == 0) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: sequence %zu is empty", name, i);
            return NULL;
        }
        for (size_t j = 0; j < seqs[i].n; j++)
            if (check_token(name, seqs[i].tokens[j], n_vocab, err) != LL_OK) return NULL;
        if (isnan(biases[i]) || biases[i] == INFINITY) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: bias %g of sequence %zu is invalid: valid is finite or -inf",
                    name, (double)biases[i], i);
            return NULL;
        }
        total += seqs[i].n;
    }
    seq_bias_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->tokens = ll_calloc(total, sizeof *s->tokens, err);
    s->start = ll_calloc(n, sizeof *s->start, err);
    s->len = ll_calloc(n, sizeof *s->len, err);
    s->bias = ll_calloc(n, sizeof *s->bias, err);
    if (!s->tokens || !s->start || !s->len || !s->bias) {
        seq_bias_free(s);
        return NULL;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->tokens + off, seqs[i].tokens, seqs[i].n * sizeof(int32_t));
        s->start[i] = off;
        s->len[i] = seqs[i].n;
        s->bias[i] = biases[i];
        off += seqs[i].n;
    }
    s->n = n;
    static const ll_sampler_ops ops_bias = {"sequence_bias", 0, seq_bias_apply, NULL, NULL, seq_bias_free};
    static const ll_sampler_ops ops_bad = {"bad_words", 0, seq_bias_apply, NULL, NULL, seq_bias_free};
    bool bad = strcmp(name, "bad_words") == 0;
    return ll_sampler_make(bad ? &ops_bad : &ops_bias, s, err, "%s(%zu sequence%s)", name, n, n == 1 ? "" : "s");
}

ll_sampler *ll_sampler_sequence_bias_new(const ll_sequence_bias *biases, size_t n, size_t n_vocab,
                                         ll_error *err) {
    if (n == 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "sequence_bias is empty: give at least one sequence");
        return NULL;
    }
    ll_token_seq *seqs = ll_calloc(n, sizeof *seqs, err);
    float *b = ll_calloc(n, sizeof *b, err);
    ll_sampler *s = NULL;
    if (seqs && b) {
        /* HF's dict semantics: a repeated sequence keeps its last bias */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            for (; j < m; j++)
                if (seqs[j].n == biases[i].seq.n &&
                    memcmp(seqs[j].tokens, biases[i].seq.tokens, seqs[j].n * sizeof(int32_t)) == 0)
                    break;
            seqs[j] = biases[i].seq;
            b[j] = biases[i].bias;
            if (j == m) m++;
        }
        s = seq_bias_build("sequence_bias", seqs, b, m, n_vocab, err);
    }
    free(seqs);
    free(b);
    return s;
}

ll_sampler *ll_sampler_bad_words_new(const ll_token_seq *seqs, size_t n, const int32_t *eos, size_t n_eos,
                                     size_t n_vocab, ll_error *err) {
    if (n == 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "bad_words is empty: give at least one token sequence");
        return NULL;
    }
    ll_token_seq *kept = ll_calloc(n, sizeof *kept, err);
    float *b = ll_calloc(n, sizeof *b, err);
    ll_sampler *s = NULL;
    if (kept && b) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            bool is_eos = false;
            if (seqs[i].n == 1 && seqs[i].tokens)
                for (size_t e = 0; e < n_eos; e++) is_eos |= seqs[i].tokens[0] == eos[e];
            if (is_eos) continue; /* HF drops a lone EOS: banning it would make generation endless */
            kept[m] = seqs[i];
            b[m++] = -INFINITY;
        }
        if (m == 0) s = ll_sampler_noop_new("bad_words", "bad_words(only EOS: off)", err);
        else s = seq_bias_build("bad_words", kept, b, m, n_vocab, err);
    }
    free(kept);
    free(b);
    return s;
}

/* ---- suppress tokens ---- */

typedef struct {
    int32_t *ids;
    size_t n;
    int64_t at_length; /* -1: always; else only when the history has this length */
} suppress_state;

static ll_status suppress_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)err;
    const suppress_state *s = state;
    if (s->at_length >= 0 && (int64_t)h->n != s->at_length) return LL_OK;
    ll_cand_pos_begin(c);
    for (size_t i = 0; i < s->n; i++) {
        int64_t pos = ll_cand_pos(c, s->ids[i]);
        if (pos >= 0) c->logit[pos] = -INFINITY;
    }
    ll_cand_pos_end(c);
    c->p_valid = false;
    return LL_OK;
}

static void suppress_free(void *state) {
    suppress_state *s = state;
    if (!s) return;
    free(s->ids);
    free(s);
}

static ll_sampler *suppress_build(const int32_t *ids, size_t n, size_t n_vocab, int64_t at_length,
                                  ll_error *err) {
    for (size_t i = 0; i < n; i++)
        if (check_token("suppress_tokens", ids[i], n_vocab, err) != LL_OK) return NULL;
    if (n == 0) return ll_sampler_noop_new("suppress_tokens", "suppress_tokens(empty)", err);
    suppress_state *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->ids = ll_calloc(n, sizeof *s->ids, err);
    if (!s->ids) {
        free(s);
        return NULL;
    }
    memcpy(s->ids, ids, n * sizeof *ids);
    s->n = n;
    s->at_length = at_length;
    static const ll_sampler_ops ops = {"suppress_tokens", 0, suppress_apply, NULL, NULL, suppress_free};
    if (at_length >= 0)
        return ll_sampler_make(&ops, s, err, "suppress_tokens(%zu, at length %lld)", n, (long long)at_length);
    return ll_sampler_make(&ops, s, err, "suppress_tokens(%zu)", n);
}

ll_sampler *ll_sampler_suppress_tokens_new(const int32_t *ids, size_t n, size_t n_vocab, ll_error *err) {
    return suppress_build(ids, n, n_vocab, -1, err);
}

ll_sampler *ll_sampler_suppress_tokens_at_begin_new(const int32_t *ids, size_t n, size_t n_vocab,
                                                    size_t begin_index, ll_error *err) {
    return suppress_build(ids, n, n_vocab, (int64_t)begin_index, err);
}
