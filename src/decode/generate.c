/*
 * generate.c - the generation loop: logits -> chain -> token -> stop check
 * -> token back to the model, for greedy decoding, sampling (n independent
 * samples decoded together as branches of the prompt) and beam search
 * (beam.c). Every result says why it stopped.
 */
#define _POSIX_C_SOURCE 200809L
#include "generate_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ll_stop_reason_name(ll_stop_reason r) {
    switch (r) {
    case LL_STOP_NONE: return "none";
    case LL_STOP_EOS: return "eos";
    case LL_STOP_STRING: return "stop_string";
    case LL_STOP_LENGTH: return "length";
    case LL_STOP_TIME: return "time";
    case LL_STOP_CONTEXT: return "context";
    case LL_STOP_INTERRUPTED: return "interrupted";
    }
    return "?";
}

void ll_generate_params_init(ll_generate_params *p, ll_profile profile) {
    memset(p, 0, sizeof *p);
    ll_sampling_params_init(&p->sampling, profile);
    p->max_new_tokens = LL_UNSET_INT;
    p->max_length = LL_UNSET_INT;
    p->n = 1;
    p->num_beams = 1;
    p->length_penalty = 1.0f;
    p->early_stopping = LL_EARLY_STOPPING_FALSE;
    p->num_return_sequences = 1;
    p->logprobs = -1;
}

double ll_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool ll_gen_should_stop(ll_gen_stop *s) {
    if (s->reason != LL_STOP_NONE) return true;
    if (s->flag && *s->flag) s->reason = LL_STOP_INTERRUPTED;
    else if (s->deadline > 0 && ll_now_seconds() > s->deadline) s->reason = LL_STOP_TIME;
    else if (s->prev_fn && s->prev_fn(s->prev_user)) s->reason = LL_STOP_INTERRUPTED;
    return s->reason != LL_STOP_NONE;
}

ll_stop_reason ll_gen_stop_reason(const ll_gen_stop *s) {
    return s->reason != LL_STOP_NONE ? s->reason : LL_STOP_INTERRUPTED; /* the model's own reason */
}

static bool gen_abort(void *user) { return ll_gen_should_stop(user); }

/* ---- the real model as an ll_lm ---- */

static void ctx_reset(void *self) { ll_context_rewind(self, 0, NULL); }
static ll_status ctx_extend(void *self, const int32_t *t, size_t n, float *logits, ll_error *err) {
    return ll_context_decode(self, t, n, logits, NULL, err);
}
static ll_status ctx_branch(void *self, const int32_t *parents, const int32_t *t, size_t n, float *logits,
                            int32_t *nodes, ll_error *err) {
    return ll_context_decode_tree(self, parents, t, n, logits, nodes, err);
}

void ll_lm_from_context(ll_lm *lm, ll_context *c) {
    lm->self = c;
    lm->n_vocab = ll_model_get_info(ll_context_model(c))->n_vocab;
    lm->n_ctx = ll_context_n_ctx(c);
    lm->reset = ctx_reset;
    lm->extend = ctx_extend;
    lm->branch = ctx_branch;
}

/* ---- shared helpers ---- */

ll_status ll_gen_resolve(const ll_lm *lm, const ll_tokenizer *tok, size_t n_prompt, const ll_generate_params *p,
                         ll_gen_setup *s, ll_error *err) {
    memset(s, 0, sizeof *s);
    if (n_prompt == 0) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the prompt is empty: give at least one token");
    if (n_prompt >= lm->n_ctx)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "the prompt has %zu tokens but the context holds %zu: shorten it or raise n_ctx (-c)", n_prompt,
                       lm->n_ctx);
    if (p->n < 1 || p->n > 64) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "n = %d is out of range: valid is [1, 64]", p->n);
    if (p->num_beams < 1 || p->num_beams > 64)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "num_beams = %d is out of range: valid is [1, 64]", p->num_beams);
    if (p->num_beams > 1 && p->n > 1)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "n > 1 and num_beams > 1 cannot be combined (use num_return_sequences)");
    if (p->num_return_sequences < 1 || (p->num_beams > 1 && p->num_return_sequences > p->num_beams))
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "num_return_sequences = %d is out of range: valid is [1, num_beams = %d]", p->num_return_sequences,
                       p->num_beams);
    if (p->num_beams == 1 && p->num_return_sequences > 1)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "num_return_sequences > 1 needs beam search (num_beams > 1); for samples use n");
    if (p->logprobs > LL_MAX_LOGPROBS)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "logprobs = %d is out of range: valid is [0, %d]", p->logprobs,
                       LL_MAX_LOGPROBS);
    if (!(p->max_time >= 0.0)) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "max_time = %g is negative", p->max_time);
    if (p->n_stop > 0 && !tok)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "stop strings need a tokenizer to decode the text");
    for (size_t i = 0; i < p->n_stop; i++)
        if (!p->stop[i] || !p->stop[i][0])
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "stop string %zu is empty", i);
    /* how many new tokens at most */
    int64_t max_new;
    if (p->max_new_tokens != LL_UNSET_INT) {
        if (p->max_new_tokens < 1)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "max_new_tokens = %d is out of range: valid is >= 1",
                           p->max_new_tokens);
        max_new = p->max_new_tokens;
    } else if (p->max_length != LL_UNSET_INT) {
        if ((int64_t)p->max_length <= (int64_t)n_prompt)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "the prompt has %zu tokens but max_length = %d counts the prompt too: raise max_length or use "
                           "max_new_tokens",
                           n_prompt, p->max_length);
        max_new = (int64_t)p->max_length - (int64_t)n_prompt;
    } else {
        /* the profile's length default (HF main: 20 new tokens, the
         * Completions API: 16, llama.cpp and llama2.c: -1, the context) */
        max_new = ll_profile_max_new_tokens(p->sampling.profile);
    }
    size_t room = lm->n_ctx - n_prompt;
    s->max_new = max_new < 0 || (uint64_t)max_new > room ? room : (size_t)max_new;
    s->length_is_context = max_new < 0 || (uint64_t)max_new > room;
    /* end-of-generation ids */
    if (p->eos_ids) {
        for (size_t i = 0; i < p->n_eos_ids && s->n_eos_ids < LL_GEN_MAX_EOS; i++) {
            if (p->eos_ids[i] < 0 || (size_t)p->eos_ids[i] >= lm->n_vocab)
                return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "eos id %d is out of range: valid is [0, %zu)",
                               p->eos_ids[i], lm->n_vocab);
            s->eos[s->n_eos_ids++] = p->eos_ids[i];
        }
    } else if (tok) {
        s->n_eos_ids = ll_tokenizer_eog_ids(tok, s->eos, LL_GEN_MAX_EOS);
        if (s->n_eos_ids > LL_GEN_MAX_EOS) s->n_eos_ids = LL_GEN_MAX_EOS;
    }
    /* ignore_eos: EOS no longer ends a sequence (nor finishes a beam) */
    s->n_eos = p->ignore_eos ? 0 : s->n_eos_ids;
    /* the chain's view: the EOS ids for min_new_tokens and bad_words */
    s->sampling = p->sampling;
    if (!s->sampling.eos_ids && s->n_eos_ids) {
        s->sampling.eos_ids = s->eos;
        s->sampling.n_eos_ids = s->n_eos_ids;
    }
    /* llama.cpp's ignore_eos also bans the EOS ids (a -inf logit bias); vLLM's
     * only keeps going after one: the profile table says which */
    if (p->ignore_eos && s->n_eos_ids && ll_profile_ignore_eos_bans(p->sampling.profile)) {
        size_t nb = p->sampling.n_logit_bias + s->n_eos_ids;
        s->bias = ll_calloc(nb, sizeof *s->bias, err);
        if (!s->bias) return LL_ERR_OUT_OF_MEMORY;
        for (size_t i = 0; i < p->sampling.n_logit_bias; i++) s->bias[i] = p->sampling.logit_bias[i];
        for (size_t i = 0; i < s->n_eos_ids; i++)
            s->bias[p->sampling.n_logit_bias + i] = (ll_token_bias){s->eos[i], -INFINITY};
        s->sampling.logit_bias = s->bias;
        s->sampling.n_logit_bias = nb;
    }
    return LL_OK;
}

void ll_gen_setup_free(ll_gen_setup *s) { free(s->bias); }

bool ll_gen_is_eos(const ll_gen_setup *s, int32_t tok) {
    for (size_t i = 0; i < s->n_eos; i++)
        if (s->eos[i] == tok) return true;
    return false;
}

/* Keeps top[0..n) the n highest log-probs seen, highest first (a tie keeps
 * the earlier one). */
static void push_top(ll_logprob *top, size_t n, int32_t id, float lp) {
    if (!(lp > top[n - 1].logprob)) return;
    size_t j = n - 1;
    while (j > 0 && top[j - 1].logprob < lp) {
        top[j] = top[j - 1];
        j--;
    }
    top[j] = (ll_logprob){id, lp};
}

/* log-softmax value of `id` and the top n of a logit vector */
void ll_gen_logprobs_raw(const float *logits, size_t V, int32_t id, size_t n_top, ll_token_logprobs *out) {
    float mx = -INFINITY;
    for (size_t i = 0; i < V; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0.0;
    for (size_t i = 0; i < V; i++) sum += exp((double)logits[i] - mx);
    double lse = (double)mx + log(sum);
    out->id = id;
    out->raw = (float)((double)logits[id] - lse);
    out->n_top = n_top;
    for (size_t k = 0; k < n_top; k++) out->top_raw[k] = (ll_logprob){-1, -INFINITY};
    for (size_t i = 0; i < V && n_top; i++) push_top(out->top_raw, n_top, (int32_t)i, (float)((double)logits[i] - lse));
}

/* the processed distribution: what the chain left (softmax over survivors) */
void ll_gen_logprobs_processed(const ll_candidates *c, int32_t id, size_t n_top, ll_token_logprobs *out) {
    out->processed = -INFINITY;
    for (size_t k = 0; k < n_top; k++) out->top_processed[k] = (ll_logprob){-1, -INFINITY};
    for (size_t i = 0; i < c->size; i++) {
        float p = ll_candidates_prob(c, i);
        float lp = p > 0.0f ? logf(p) : -INFINITY;
        int32_t cid = ll_candidates_id(c, i);
        if (cid == id) out->processed = lp;
        if (n_top) push_top(out->top_processed, n_top, cid, lp);
    }
}

/* ---- one sequence's text ---- */

ll_status ll_gen_text_init(ll_gen_text *t, const ll_tokenizer *tok, const ll_generate_params *p, ll_error *err) {
    memset(t, 0, sizeof *t);
    ll_stopper_init(&t->stop, p->stop, p->n_stop);
    if (!tok) return LL_OK;
    t->detok = ll_detokenizer_new(tok, err);
    return t->detok ? LL_OK : LL_ERR_OUT_OF_MEMORY;
}

void ll_gen_text_free(ll_gen_text *t) {
    ll_detokenizer_free(t->detok);
    ll_stopper_free(&t->stop);
}

/* Feeds a token; returns true if a stop string completed. Streams what is
 * final through the callback. */
bool ll_gen_text_push(ll_gen_text *t, const ll_generate_params *p, int32_t seq, int32_t tok, bool *oom) {
    if (!t->detok) return false;
    size_t n;
    const char *s = ll_detokenizer_push(t->detok, tok, &n);
    bool hit = ll_stopper_push(&t->stop, s, n, oom);
    ll_gen_text_stream(t, p, seq, hit);
    return hit;
}

void ll_gen_text_stream(ll_gen_text *t, const ll_generate_params *p, int32_t seq, bool final) {
    if (!t->detok) return;
    if (final && !t->stop.stopped) { /* whatever the decoder still holds */
        size_t n;
        const char *s = ll_detokenizer_flush(t->detok, &n);
        bool oom = false;
        ll_stopper_push(&t->stop, s, n, &oom);
    }
    size_t start, n;
    ll_stopper_take(&t->stop, final, &start, &n);
    if (n && p->on_text) p->on_text(p->user, seq, t->stop.text + start, n);
}

ll_status ll_gen_finish_seq(ll_generation *g, ll_gen_text *t, const int32_t *toks, size_t n, ll_error *err) {
    g->tokens = ll_malloc((n ? n : 1) * sizeof *g->tokens, err);
    if (!g->tokens) return LL_ERR_OUT_OF_MEMORY;
    if (n) memcpy(g->tokens, toks, n * sizeof *toks);
    g->n_tokens = n;
    size_t len = t->stop.text ? t->stop.len : 0;
    g->text = ll_malloc(len + 1, err);
    if (!g->text) return LL_ERR_OUT_OF_MEMORY;
    if (len) memcpy(g->text, t->stop.text, len);
    g->text[len] = '\0';
    g->text_len = len;
    return LL_OK;
}

void ll_generate_result_free(ll_generate_result *r) {
    if (!r || !r->seqs) return;
    for (size_t i = 0; i < r->n_seqs; i++) {
        free(r->seqs[i].tokens);
        free(r->seqs[i].text);
        free(r->seqs[i].logprobs);
    }
    free(r->seqs);
    memset(r, 0, sizeof *r);
}

uint32_t ll_gen_derive_seed(uint32_t seed, int32_t i) {
    if (i == 0) return seed; /* n = 1 gives the same tokens as a single run */
    uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ull * (uint64_t)i;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

/* ---- one sampled sequence, one token at a time ---- */

ll_status ll_gen_seq_init(ll_gen_seq *q, int32_t index, ll_gen_setup *su, const ll_generate_params *p,
                          const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt, size_t n_vocab,
                          ll_error *err) {
    memset(q, 0, sizeof *q);
    q->index = index;
    q->su = su;
    q->p = p;
    q->n_vocab = n_vocab;
    ll_sampling_params sp = su->sampling;
    uint32_t seed = sp.seed >= 0 ? (uint32_t)sp.seed : LL_DEFAULT_SEED;
    sp.seed = ll_gen_derive_seed(seed, index);
    q->chain = ll_chain_from_params(&sp, n_vocab, err);
    if (!q->chain) return err ? err->status : LL_ERR_INVALID_ARGUMENT;
    ll_status st = ll_chain_set_prompt(q->chain, prompt, n_prompt, err);
    if (st == LL_OK) st = ll_gen_text_init(&q->text, tok, p, err);
    if (st != LL_OK) return st;
    q->toks = ll_malloc((su->max_new + 1) * sizeof(int32_t), err);
    if (!q->toks) return LL_ERR_OUT_OF_MEMORY;
    if (p->logprobs >= 0) {
        q->lp = ll_calloc(su->max_new + 1, sizeof(ll_token_logprobs), err);
        q->raw = ll_malloc(n_vocab * sizeof(float), err);
        if (!q->lp || !q->raw) return LL_ERR_OUT_OF_MEMORY;
    }
    return LL_OK;
}

/* The chain picks the token; its log-probs (raw and processed) and the
 * sequence's score are taken before accept changes the chain's state. */
static ll_status seq_select(ll_gen_seq *q, float *logits, int32_t *token, ll_error *err) {
    size_t V = q->n_vocab;
    ll_token_logprobs *lp = q->lp ? &q->lp[q->n] : NULL;
    if (lp) memcpy(q->raw, logits, V * sizeof(float)); /* the chain works in place */
    ll_status st = ll_chain_sample_inplace(q->chain, logits, V, token, err);
    if (st != LL_OK) return st;
    const ll_candidates *c = ll_chain_candidates(q->chain);
    if (lp) {
        size_t n_top = q->p->logprobs > 0 ? (size_t)q->p->logprobs : 0;
        ll_gen_logprobs_raw(q->raw, V, *token, n_top, lp);
        ll_gen_logprobs_processed(c, *token, n_top, lp);
    }
    /* the score needs only the chosen candidate, not a pass over all of them */
    float chosen = c->selected >= 0 ? ll_candidates_prob(c, (size_t)c->selected) : 0.0f;
    q->score += chosen > 0.0f ? logf(chosen) : -INFINITY;
    return LL_OK;
}

/* Why the sequence ends after token t, or LL_STOP_NONE; the first that
 * applies wins: EOS, a stop string (the text is fed here), the length,
 * the early stop. */
static ll_stop_reason seq_stop_check(ll_gen_seq *q, int32_t t, bool *oom) {
    ll_gen_setup *su = q->su;
    if (ll_gen_is_eos(su, t)) return LL_STOP_EOS;
    if (ll_gen_text_push(&q->text, q->p, q->index, t, oom)) return LL_STOP_STRING;
    if (q->n >= su->max_new) return su->length_is_context ? LL_STOP_CONTEXT : LL_STOP_LENGTH;
    if (ll_gen_should_stop(&su->stop)) return su->stop.reason;
    return LL_STOP_NONE;
}

ll_status ll_gen_seq_step(ll_gen_seq *q, float *logits, int32_t *token, ll_error *err) {
    int32_t t;
    ll_status st = seq_select(q, logits, &t, err);
    if (st == LL_OK) st = ll_chain_accept(q->chain, t, err);
    if (st != LL_OK) return st;
    q->toks[q->n++] = t;
    *token = t;
    bool oom = false;
    ll_stop_reason why = seq_stop_check(q, t, &oom);
    if (oom) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
    if (why != LL_STOP_NONE) ll_gen_seq_end(q, why);
    return LL_OK;
}

void ll_gen_seq_end(ll_gen_seq *q, ll_stop_reason reason) {
    q->done = true;
    q->reason = reason;
    ll_gen_text_stream(&q->text, q->p, q->index, true);
}

ll_status ll_gen_seq_finish(ll_gen_seq *q, ll_generation *g, ll_error *err) {
    g->reason = q->reason;
    g->score = q->score;
    g->logprobs = q->lp;
    q->lp = NULL;
    return ll_gen_finish_seq(g, &q->text, q->toks, q->n, err);
}

void ll_gen_seq_free(ll_gen_seq *q) {
    ll_chain_free(q->chain);
    ll_gen_text_free(&q->text);
    free(q->toks);
    free(q->lp);
    free(q->raw);
}

/* ---- sampling and greedy: n sequences in lockstep ---- */

/* The n samples of one prompt decode together: sample i's next-token
 * logits are row rows[i] of the last forward pass; its last token is node
 * node[i] of the context's token tree (-1: the prompt's end). */
typedef struct {
    size_t ns, V;
    ll_gen_seq *sq;
    float *logits;           /* ns rows */
    int32_t *parents, *toks; /* the next forward pass: k tokens and where each hangs */
    int32_t *nodes, *node;
    size_t *rows;
} sample_batch;

static ll_status batch_init(sample_batch *b, const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt,
                            size_t n_prompt, const ll_generate_params *p, ll_gen_setup *su, ll_error *err) {
    size_t V = lm->n_vocab, ns = (size_t)p->n;
    memset(b, 0, sizeof *b);
    b->ns = ns;
    b->V = V;
    b->sq = ll_calloc(ns, sizeof *b->sq, err);
    b->logits = ll_malloc(ns * V * sizeof(float), err);
    b->parents = ll_calloc(ns, sizeof(int32_t), err);
    b->toks = ll_calloc(ns, sizeof(int32_t), err);
    b->nodes = ll_calloc(ns, sizeof(int32_t), err);
    b->node = ll_calloc(ns, sizeof(int32_t), err);
    b->rows = ll_calloc(ns, sizeof(size_t), err);
    if (!b->sq || !b->logits || !b->parents || !b->toks || !b->nodes || !b->node || !b->rows)
        return LL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < ns; i++) {
        ll_status st = ll_gen_seq_init(&b->sq[i], (int32_t)i, su, p, tok, prompt, n_prompt, V, err);
        if (st != LL_OK) return st;
        b->node[i] = -1;
        b->rows[i] = i;
    }
    return LL_OK;
}

static void batch_free(sample_batch *b) {
    for (size_t i = 0; b->sq && i < b->ns; i++) ll_gen_seq_free(&b->sq[i]);
    free(b->sq);
    free(b->logits);
    free(b->parents);
    free(b->toks);
    free(b->nodes);
    free(b->node);
    free(b->rows);
}

/* One token for every live sequence; those that go on are queued for the
 * next forward pass (*k of them). */
static ll_status batch_step(sample_batch *b, size_t *k, ll_error *err) {
    *k = 0;
    for (size_t i = 0; i < b->ns; i++) {
        ll_gen_seq *q = &b->sq[i];
        if (q->done) continue;
        int32_t t;
        ll_status st = ll_gen_seq_step(q, b->logits + b->rows[i] * b->V, &t, err);
        if (st != LL_OK) return st;
        if (q->done) continue;
        b->parents[*k] = b->node[i];
        b->toks[*k] = t;
        b->rows[i] = (*k)++;
    }
    return LL_OK;
}

/* The forward pass over the k queued tokens: a plain extend for one
 * sequence, a token tree for n. */
static ll_status batch_decode(sample_batch *b, const ll_lm *lm, size_t k, ll_error *err) {
    if (b->ns == 1) return lm->extend(lm->self, b->toks, 1, b->logits, err);
    ll_status st = lm->branch(lm->self, b->parents, b->toks, k, b->logits, b->nodes, err);
    for (size_t i = 0, j = 0; st == LL_OK && i < b->ns; i++)
        if (!b->sq[i].done) b->node[i] = b->nodes[j++];
    return st;
}

static void batch_end(sample_batch *b, ll_stop_reason reason) {
    for (size_t i = 0; i < b->ns; i++)
        if (!b->sq[i].done) ll_gen_seq_end(&b->sq[i], reason);
}

static ll_status sample_loop(const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                             const ll_generate_params *p, ll_gen_setup *su, ll_generate_result *out, ll_error *err) {
    size_t V = lm->n_vocab, ns = (size_t)p->n;
    sample_batch b;
    ll_status st = batch_init(&b, lm, tok, prompt, n_prompt, p, su, err);
    if (st != LL_OK) goto done;
    lm->reset(lm->self);
    double t0 = ll_now_seconds();
    /* a stop before or during the prompt: every sequence empty, not an error */
    bool stopped = ll_gen_should_stop(&su->stop);
    if (!stopped) {
        st = lm->extend(lm->self, prompt, n_prompt, b.logits, err);
        stopped = st == LL_ERR_INTERRUPTED;
        if (stopped) st = LL_OK;
        if (st != LL_OK) goto done;
    }
    out->prompt_seconds = ll_now_seconds() - t0;
    out->prompt_stopped = stopped;
    double t_start = ll_now_seconds();
    if (stopped) batch_end(&b, ll_gen_stop_reason(&su->stop));
    for (size_t i = 1; i < ns && !stopped; i++) memcpy(b.logits + i * V, b.logits, V * sizeof(float));
    while (!stopped) {
        size_t k;
        st = batch_step(&b, &k, err);
        if (st != LL_OK || k == 0) break;
        st = batch_decode(&b, lm, k, err);
        if (st == LL_ERR_INTERRUPTED) {
            /* stopped inside the forward pass: the tokens chosen so far stay */
            st = LL_OK;
            batch_end(&b, ll_gen_stop_reason(&su->stop));
            break;
        }
        if (st != LL_OK) break;
        out->n_generated += k;
    }
    if (st != LL_OK) goto done;
    out->gen_seconds = ll_now_seconds() - t_start;
    out->seqs = ll_calloc(ns, sizeof *out->seqs, err);
    if (!out->seqs) {
        st = LL_ERR_OUT_OF_MEMORY;
        goto done;
    }
    out->n_seqs = ns;
    for (size_t i = 0; i < ns && st == LL_OK; i++) st = ll_gen_seq_finish(&b.sq[i], &out->seqs[i], err);
done:
    batch_free(&b);
    return st;
}

ll_status ll_generate(const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                      const ll_generate_params *p, ll_generate_result *out, ll_error *err) {
    double t_call = ll_now_seconds(); /* max_time counts from here, as HF's MaxTimeCriteria */
    memset(out, 0, sizeof *out);
    out->n_prompt = n_prompt;
    for (size_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || (size_t)prompt[i] >= lm->n_vocab)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "prompt token %zu = %d is out of range: valid is [0, %zu)", i,
                           prompt[i], lm->n_vocab);
    ll_gen_setup su;
    ll_status st = ll_gen_resolve(lm, tok, n_prompt, p, &su, err);
    if (st == LL_OK) {
        su.stop.flag = p->interrupt;
        su.stop.deadline = p->max_time > 0 ? t_call + p->max_time : 0.0;
        /* On our own context the forward pass polls the stop between
         * layers, so a long prompt or decode stops within a fraction of a
         * second instead of running to its end; the context's own check
         * keeps working through ours and is put back after. */
        ll_context *ctx = lm->extend == ctx_extend ? lm->self : NULL;
        if (ctx) {
            ll_context_get_abort(ctx, &su.stop.prev_fn, &su.stop.prev_user);
            ll_context_set_abort(ctx, gen_abort, &su.stop);
        }
        if (p->num_beams > 1) st = ll_beam_search(lm, tok, prompt, n_prompt, p, &su, out, err);
        else st = sample_loop(lm, tok, prompt, n_prompt, p, &su, out, err);
        if (ctx) ll_context_set_abort(ctx, su.stop.prev_fn, su.stop.prev_user);
    }
    ll_gen_setup_free(&su);
    if (st != LL_OK) ll_generate_result_free(out);
    return st;
}
