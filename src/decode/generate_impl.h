/*
 * generate_impl.h - what the sampling loop (generate.c) and beam search
 * (beam.c) share (internal).
 */
#ifndef LL_GENERATE_IMPL_H
#define LL_GENERATE_IMPL_H

#include <math.h>

#include "../core/internal.h"
#include "stop.h"

#define LL_GEN_MAX_EOS 16

/* An early stop: the caller's interrupt flag, the max_time deadline and
 * one more check (a context's own abort callback; the server's "stopping"),
 * polled by the loops after each token and by the forward pass between
 * layers (ll_context_set_abort). The first positive check sets reason, and
 * it stays set. */
typedef struct {
    const volatile sig_atomic_t *flag;
    double deadline;       /* ll_now_seconds() at which to stop; 0 = none */
    ll_abort_fn prev_fn;   /* the context's own check (or the server's), still honoured */
    void *prev_user;
    ll_stop_reason reason; /* LL_STOP_NONE until a check says stop */
} ll_gen_stop;

typedef struct {
    size_t max_new;          /* new tokens at most (also bounded by the context) */
    bool length_is_context;  /* the limit is the context window, not a length setting */
    int32_t eos[LL_GEN_MAX_EOS]; /* the end-of-generation ids */
    size_t n_eos_ids;
    size_t n_eos;                /* how many of them end a sequence: 0 with ignore_eos */
    ll_sampling_params sampling; /* with EOS ids and llama.cpp's ignore_eos bans filled in */
    ll_token_bias *bias;
    ll_gen_stop stop;
} ll_gen_setup;

typedef struct {
    ll_detokenizer *detok;
    ll_stopper stop;
} ll_gen_text;

double ll_now_seconds(void);
bool ll_gen_should_stop(ll_gen_stop *s);
/* why an extend or branch that returned LL_ERR_INTERRUPTED stopped */
ll_stop_reason ll_gen_stop_reason(const ll_gen_stop *s);
ll_status ll_gen_resolve(const ll_lm *lm, const ll_tokenizer *tok, size_t n_prompt, const ll_generate_params *p,
                         ll_gen_setup *s, ll_error *err);
void ll_gen_setup_free(ll_gen_setup *s);
bool ll_gen_is_eos(const ll_gen_setup *s, int32_t tok);
void ll_gen_logprobs_raw(const float *logits, size_t V, int32_t id, size_t n_top, ll_token_logprobs *out);
void ll_gen_logprobs_processed(const ll_candidates *c, int32_t id, size_t n_top, ll_token_logprobs *out);

/* The seed of sample i of n (SplitMix64 of seed + i; sample 0 keeps the
 * seed, so n = 1 is a single run): every loop that draws n samples uses it,
 * so the server's n > 1 equals the CLI's. */
uint32_t ll_gen_derive_seed(uint32_t seed, int32_t i);
ll_status ll_gen_text_init(ll_gen_text *t, const ll_tokenizer *tok, const ll_generate_params *p, ll_error *err);
void ll_gen_text_free(ll_gen_text *t);
bool ll_gen_text_push(ll_gen_text *t, const ll_generate_params *p, int32_t seq, int32_t tok, bool *oom);
void ll_gen_text_stream(ll_gen_text *t, const ll_generate_params *p, int32_t seq, bool final);
ll_status ll_gen_finish_seq(ll_generation *g, ll_gen_text *t, const int32_t *toks, size_t n, ll_error *err);

/* ---- one sampled sequence, one token at a time ----
 * The per-token steps of sampling and greedy decoding: generate.c's loop
 * (n samples in lockstep) and the server's slots (src/serve/engine.c)
 * both advance their sequences with ll_gen_seq_step, so a request gives
 * the tokens `logitlab generate` gives. Who computes the logits (one
 * context, a token tree, a batch of slots) is the caller's business. */
typedef struct {
    ll_chain *chain;  /* its own chain, seeded ll_gen_derive_seed(seed, index) */
    ll_gen_text text; /* detokenizer and stop strings; streams through p->on_text */
    int32_t *toks;    /* the tokens chosen so far (room for su->max_new) */
    size_t n;
    ll_token_logprobs *lp; /* one per token; NULL unless p->logprobs >= 0 */
    float *raw;            /* the logits before the chain (the chain works in place); with lp only */
    double score;          /* sum of the chosen tokens' log-probs under the chain's distribution */
    bool done;
    ll_stop_reason reason; /* why it ended, once done */
    int32_t index;         /* which of the n samples: its seed, on_text's seq */
    ll_gen_setup *su;      /* the request's limits, EOS ids and early stop (shared by the n) */
    const ll_generate_params *p;
    size_t n_vocab;
} ll_gen_seq;

/* Sample `index` of a request: its chain (seeded, the prompt given to the
 * penalties), text state and buffers. On failure q is still safe to free. */
ll_status ll_gen_seq_init(ll_gen_seq *q, int32_t index, ll_gen_setup *su, const ll_generate_params *p,
                          const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt, size_t n_vocab,
                          ll_error *err);
/* One token from the next-token logits (modified in place): select it with
 * the chain, record its log-probs and score, accept it, stream the text
 * that became final, and check EOS, stop strings, the length and the early
 * stop in that order (q->done, q->reason). Only for a sequence not done. */
ll_status ll_gen_seq_step(ll_gen_seq *q, float *logits, int32_t *token, ll_error *err);
/* Ends the sequence from outside (a stop inside the forward pass): the
 * tokens so far stay, the decoder's held text is streamed. */
void ll_gen_seq_end(ll_gen_seq *q, ll_stop_reason reason);
/* The finished sequence as a result entry: tokens, text, reason, score; the
 * log-probs move into g. */
ll_status ll_gen_seq_finish(ll_gen_seq *q, ll_generation *g, ll_error *err);
void ll_gen_seq_free(ll_gen_seq *q);

ll_status ll_beam_search(const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                         const ll_generate_params *p, ll_gen_setup *su, ll_generate_result *out, ll_error *err);

#endif /* LL_GENERATE_IMPL_H */
