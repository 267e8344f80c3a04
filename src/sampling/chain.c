/*
 * chain.c - a chain is an ordered list of samplers plus the token history
 * they see. Applying it validates the logits, runs every stage on one
 * candidate array and reports the token the selecting stage picked.
 *
 * The chain owns all memory a token needs (workspace, history reserve), so
 * after the first few calls sampling allocates nothing.
 */
#include "chain_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ll_chain *ll_chain_new(size_t n_vocab, ll_error *err) {
    if (n_vocab == 0 || n_vocab > (size_t)INT32_MAX) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "n_vocab = %zu is out of range: valid is [1, %d]", n_vocab, INT32_MAX);
        return NULL;
    }
    ll_chain *ch = ll_calloc(1, sizeof *ch, err);
    if (!ch) return NULL;
    ch->n_vocab = n_vocab;
    if (ll_workspace_init(&ch->ws, n_vocab, err) != LL_OK) {
        free(ch);
        return NULL;
    }
    ch->hist_cap = 256;
    ch->hist = ll_calloc(ch->hist_cap, sizeof *ch->hist, err);
    if (!ch->hist) {
        ll_chain_free(ch);
        return NULL;
    }
    ll_cand_init_dense(&ch->cur, &ch->ws, ch->ws.input, 0);
    return ch;
}

void ll_chain_free(ll_chain *ch) {
    if (!ch) return;
    for (size_t i = 0; i < ch->n; i++) ll_sampler_free(ch->s[i]);
    free(ch->s);
    free(ch->hist);
    ll_workspace_free(&ch->ws);
    free(ch);
}

ll_status ll_chain_add(ll_chain *ch, ll_sampler *s, ll_error *err) {
    if (!s) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "cannot add a NULL sampler");
    if (ch->n > 0 && (ch->s[ch->n - 1]->ops.flags & LL_SAMPLER_SELECTS)) {
        ll_status st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                               "cannot add %s after %s: a token-selecting stage must be the last one", s->desc,
                               ch->s[ch->n - 1]->desc);
        ll_sampler_free(s);
        return st;
    }
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? 2 * ch->cap : 8;
        ll_sampler **a = ll_realloc_array(ch->s, cap, sizeof *a, err);
        if (!a) {
            ll_sampler_free(s);
            return LL_ERR_OUT_OF_MEMORY;
        }
        ch->s = a;
        ch->cap = cap;
    }
    ch->s[ch->n++] = s;
    /* a sampler joining mid-generation sees the history so far */
    if (s->ops.accept)
        for (size_t i = 0; i < ch->hist_n; i++) s->ops.accept(s->state, ch->hist[i], i < ch->prompt_len);
    return LL_OK;
}

size_t ll_chain_length(const ll_chain *ch) { return ch->n; }
const ll_sampler *ll_chain_get(const ll_chain *ch, size_t i) { return i < ch->n ? ch->s[i] : NULL; }
size_t ll_chain_n_vocab(const ll_chain *ch) { return ch->n_vocab; }

size_t ll_chain_describe(const ll_chain *ch, char *buf, size_t cap) {
    size_t len = 0;
    if (cap) buf[0] = '\0';
    for (size_t i = 0; i < ch->n; i++) {
        const char *parts[2] = {i ? " -> " : "", ch->s[i]->desc};
        for (int k = 0; k < 2; k++) {
            size_t n = strlen(parts[k]);
            if (len < cap) {
                size_t room = cap - 1 - len, w = n < room ? n : room;
                memcpy(buf + len, parts[k], w);
                buf[len + w] = '\0';
            }
            len += n;
        }
    }
    return len;
}

void ll_chain_reset(ll_chain *ch) {
    ch->hist_n = 0;
    ch->prompt_len = 0;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->s[i]->ops.reset) ch->s[i]->ops.reset(ch->s[i]->state);
}

static ll_status push_history(ll_chain *ch, int32_t token, bool is_prompt, ll_error *err) {
    if (token < 0 || (size_t)token >= ch->n_vocab)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "token id %d is out of range: valid is [0, %zu)", token,
                       ch->n_vocab);
    if (ch->hist_n == ch->hist_cap) {
        int32_t *h = ll_realloc_array(ch->hist, 2 * ch->hist_cap, sizeof *h, err);
        if (!h) return LL_ERR_OUT_OF_MEMORY;
        ch->hist = h;
        ch->hist_cap *= 2;
    }
    ch->hist[ch->hist_n++] = token;
    if (is_prompt) ch->prompt_len = ch->hist_n;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->s[i]->ops.accept) ch->s[i]->ops.accept(ch->s[i]->state, token, is_prompt);
    return LL_OK;
}

ll_status ll_chain_set_prompt(ll_chain *ch, const int32_t *tokens, size_t n, ll_error *err) {
    ll_chain_reset(ch);
    for (size_t i = 0; i < n; i++) {
        ll_status st = push_history(ch, tokens[i], true, err);
        if (st != LL_OK) {
            ll_error_prefix(err, "prompt token %zu", i);
            return st;
        }
    }
    return LL_OK;
}

ll_status ll_chain_accept(ll_chain *ch, int32_t token, ll_error *err) {
    return push_history(ch, token, false, err);
}

ll_history ll_chain_history(const ll_chain *ch) {
    ll_history h = {ch->hist, ch->hist_n, ch->prompt_len};
    return h;
}

void ll_chain_set_trace(ll_chain *ch, ll_trace *trace) { ch->trace = trace; }

static ll_status check_logits(const ll_chain *ch, const float *logits, size_t n_vocab, ll_error *err) {
    if (!logits) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "logits are NULL");
    if (n_vocab != ch->n_vocab)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "got %zu logits but the chain was built for a vocabulary of %zu",
                       n_vocab, ch->n_vocab);
    ptrdiff_t bad = ch->ws.k->find_invalid(logits, n_vocab);
    if (bad >= 0) {
        char v[32];
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "logit[%td] = %s: logits must be finite or -inf", bad,
                       ll_format_float(v, logits[bad]));
    }
    return LL_OK;
}

ll_status ll_chain_run(ll_chain *ch, ll_candidates *c, ll_error *err) {
    ll_history h = ll_chain_history(ch);
    if (ch->trace) {
        ll_status st = ll_trace_begin(ch->trace, ch->n_vocab, ch->n, err);
        if (st != LL_OK) return st;
    }
    for (size_t i = 0; i < ch->n; i++) {
        ll_sampler *s = ch->s[i];
        if (ch->trace) ll_trace_before(ch->trace, c);
        if ((s->ops.flags & LL_SAMPLER_NEEDS_SORTED) && !c->sorted) ll_cand_sort(c);
        ll_status st = s->ops.apply(s->state, c, &h, err);
        if (st != LL_OK) {
            ll_error_prefix(err, "%s", s->desc);
            return st;
        }
        if (ch->trace) ll_trace_after(ch->trace, c, s->desc);
    }
    return LL_OK;
}

static ll_status run_on(ll_chain *ch, float *logits, size_t n_vocab, int32_t *token, bool need_token,
                        ll_error *err) {
    ch->have_result = false;
    ll_cand_init_dense(&ch->cur, &ch->ws, logits, n_vocab);
    ll_status st = ll_chain_run(ch, &ch->cur, err);
    if (st != LL_OK) return st;
    ch->have_result = true;
    int64_t sel = ch->cur.selected;
    if (sel < 0 || (size_t)sel >= ch->cur.size) {
        if (token) *token = -1;
        if (need_token)
            return ll_fail(err, LL_ERR_STATE,
                           "the chain selected no token: end it with a selecting stage (greedy, dist, mirostat)");
        return LL_OK;
    }
    if (token) *token = ll_candidates_id(&ch->cur, (size_t)sel);
    return LL_OK;
}

ll_status ll_chain_sample(ll_chain *ch, const float *logits, size_t n_vocab, int32_t *token, ll_error *err) {
    ll_status st = check_logits(ch, logits, n_vocab, err);
    if (st != LL_OK) return st;
    memcpy(ch->ws.input, logits, n_vocab * sizeof *logits);
    return run_on(ch, ch->ws.input, n_vocab, token, true, err);
}

ll_status ll_chain_sample_inplace(ll_chain *ch, float *logits, size_t n_vocab, int32_t *token, ll_error *err) {
    ll_status st = check_logits(ch, logits, n_vocab, err);
    if (st != LL_OK) return st;
    return run_on(ch, logits, n_vocab, token, true, err);
}

ll_status ll_chain_apply(ll_chain *ch, const float *logits, size_t n_vocab, int32_t *token, ll_error *err) {
    ll_status st = check_logits(ch, logits, n_vocab, err);
    if (st != LL_OK) return st;
    memcpy(ch->ws.input, logits, n_vocab * sizeof *logits);
    return run_on(ch, ch->ws.input, n_vocab, token, false, err);
}

const ll_candidates *ll_chain_candidates(ll_chain *ch) {
    if (!ch->have_result) return NULL;
    ll_candidates *c = &ch->cur;
    if (!c->p_valid && c->size > 0) {
        float max = ll_cand_max(c);
        if (max == -INFINITY) {
            memset(c->p, 0, c->size * sizeof *c->p);
        } else {
            double sum = ch->ws.k->exp_sum(c->logit, c->size, max, c->p, NULL);
            c->p_norm = sum;
        }
        c->p_valid = true;
    }
    return c;
}
