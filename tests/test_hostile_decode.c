/*
 * test_hostile_decode.c - issue 9, items 6 and 8: what the token-selecting
 * stages and the decode loop do with hostile or unlucky input.
 *
 *  - every selecting stage (mirostat v1 and v2 included) refuses to pick a
 *    token when every candidate is at -inf, or when an earlier stage
 *    overflowed a logit to +inf, instead of returning one with p = NaN;
 *  - a long prompt stops within a fraction of a second of the interrupt
 *    flag (set from another thread) or of max_time, with empty sequences
 *    and a context that still works;
 *  - beam search stopped by the flag or max_time returns
 *    num_return_sequences non-empty sequences, whether the stop comes
 *    between steps or inside the forward pass;
 *  - ll_context_decode and ll_context_decode_tree reject token ids outside
 *    the vocabulary and n beyond the context's room, naming both.
 *
 * The model is a synthetic Llama written here (random weights, many thin
 * layers, a 4096-token context): its 4000-token prompt takes far longer
 * than the time bounds, while one layer of a batch takes milliseconds.
 * The bounds are correctness bounds for a loaded 2-core machine under
 * ASan, not benchmarks.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "format/gguf_write.h"
#include "format/tensor_types.h"
#include "test_util.h"

#define VOCAB  260
#define DIM    64
#define HEADS  4
#define FFN    128
#define LAYERS 24
#define CTX    4096
#define PROMPT 4000

/* a stop must be seen within this many seconds of the flag or deadline */
#define STOP_BOUND 1.5

static const char *const NO_TOKEN = "no token can be selected";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- item 6: the selecting stages ---- */

static ll_status sample_with(ll_sampler *pre, ll_sampler *sel, const float *logits, size_t n, int32_t *tok,
                             ll_error *err) {
    ll_chain *ch = ll_chain_new(n, err);
    if (pre) ll_chain_add(ch, pre, err);
    ll_status st = ll_chain_add(ch, sel, err);
    if (st == LL_OK) st = ll_chain_sample(ch, logits, n, tok, err);
    if (st == LL_OK) {
        /* whatever was picked must be possible: finite logit, p in (0, 1] */
        const ll_candidates *c = ll_chain_candidates(ch);
        float p = ll_candidates_prob(c, (size_t)c->selected);
        CHECK(c->logit[c->selected] > -INFINITY && c->logit[c->selected] < INFINITY && p > 0.0f && p <= 1.0f,
              "%s picked token %d with logit %g and p %g", ll_sampler_name(sel), *tok, (double)c->logit[c->selected],
              (double)p);
    }
    ll_chain_free(ch);
    return st;
}

typedef ll_sampler *(*make_fn)(ll_error *err);
static ll_sampler *mk_mirostat(ll_error *err) { return ll_sampler_mirostat_new(16, 7, 5.0f, 0.1f, 100, err); }
static ll_sampler *mk_mirostat_v2(ll_error *err) { return ll_sampler_mirostat_v2_new(7, 5.0f, 0.1f, err); }
static ll_sampler *mk_greedy(ll_error *err) { return ll_sampler_greedy_new(err); }
static ll_sampler *mk_dist_llamacpp(ll_error *err) { return ll_sampler_dist_new(7, LL_PROFILE_LLAMACPP, err); }
static ll_sampler *mk_dist_hf(ll_error *err) { return ll_sampler_dist_new(7, LL_PROFILE_HF, err); }
static ll_sampler *mk_llama2c(ll_error *err) { return ll_sampler_llama2c_top_p_new(0.9f, 7, err); }
static ll_sampler *mk_llama2c_mult(ll_error *err) { return ll_sampler_dist_new(7, LL_PROFILE_LLAMA2C, err); }

static const struct {
    const char *name;
    make_fn make;
} selectors[] = {{"mirostat v1", mk_mirostat},
                 {"mirostat v2", mk_mirostat_v2},
                 {"greedy", mk_greedy},
                 {"dist (llama.cpp)", mk_dist_llamacpp},
                 {"dist (hf)", mk_dist_hf},
                 {"llama2.c top-p", mk_llama2c},
                 {"llama2.c multinomial", mk_llama2c_mult}};

static void selectors_refuse_impossible_tokens(void) {
    float all_banned[16], one_left[16], huge[16];
    for (size_t i = 0; i < 16; i++) {
        all_banned[i] = -INFINITY;
        one_left[i] = i == 11 ? -3.0f : -INFINITY;
        huge[i] = i == 5 ? 3.0e38f : (float)i;
    }
    for (size_t s = 0; s < LL_ARRAY_LEN(selectors); s++) {
        ll_error err;
        int32_t tok = -7;
        /* every candidate at -inf: the same refusal from every selector */
        ll_status st = sample_with(NULL, selectors[s].make(&err), all_banned, 16, &tok, &err);
        CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, NO_TOKEN) && strstr(err.message, "-inf"),
              "%s, all -inf: status %d, token %d, '%s'", selectors[s].name, (int)st, tok, err.message);
        /* one candidate left: always that one, over many draws */
        for (int rep = 0; rep < 20; rep++) {
            ll_chain *ch = ll_chain_new(16, &err);
            ll_chain_add(ch, selectors[s].make(&err), &err);
            for (int k = 0; k < 10; k++) {
                st = ll_chain_sample(ch, one_left, 16, &tok, &err);
                if (st != LL_OK || tok != 11) break;
                ll_chain_accept(ch, tok, &err);
            }
            CHECK(st == LL_OK && tok == 11, "%s, one finite logit: status %d, token %d (%s)", selectors[s].name,
                  (int)st, tok, err.message);
            ll_chain_free(ch);
        }
        /* a temperature of 0.5 overflows 3e38 to +inf: refused by name,
         * not a token with probability NaN */
        st = sample_with(ll_sampler_temperature_new(0.5f, LL_PROFILE_LLAMACPP, &err), selectors[s].make(&err), huge, 16,
                         &tok, &err);
        CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, NO_TOKEN) && strstr(err.message, "inf"),
              "%s after an overflow to +inf: status %d, token %d, '%s'", selectors[s].name, (int)st, tok, err.message);
    }
}

/* ---- a synthetic model ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rnd(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 11) * 0x1p-52 - 1.0);
}

static ll_status add_f32(ll_gguf_writer *w, const char *name, size_t cols, size_t rows, float scale, float offset) {
    float *d = malloc(cols * rows * sizeof *d);
    if (!d) return LL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < cols * rows; i++) d[i] = offset + scale * rnd();
    uint64_t ne[2] = {cols, rows};
    ll_status st = ll_gguf_add_tensor(w, name, LL_T_F32, ne, rows > 1 ? 2 : 1, d);
    free(d);
    return st;
}

static ll_model *synth_model(const char *path, ll_error *err) {
    ll_gguf_writer *w = ll_gguf_writer_new(err);
    if (!w) return NULL;
    ll_gguf_add_str(w, "general.architecture", "llama");
    ll_gguf_add_str(w, "general.name", "test_hostile_decode");
    ll_gguf_add_u32(w, "llama.context_length", CTX);
    ll_gguf_add_u32(w, "llama.embedding_length", DIM);
    ll_gguf_add_u32(w, "llama.block_count", LAYERS);
    ll_gguf_add_u32(w, "llama.feed_forward_length", FFN);
    ll_gguf_add_u32(w, "llama.attention.head_count", HEADS);
    ll_gguf_add_u32(w, "llama.attention.head_count_kv", HEADS);
    ll_gguf_add_u32(w, "llama.rope.dimension_count", DIM / HEADS);
    ll_gguf_add_f32(w, "llama.rope.freq_base", 10000.0f);
    ll_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    /* a SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, one piece */
    static char text[VOCAB][16];
    const char *toks[VOCAB];
    float scores[VOCAB];
    int32_t types[VOCAB];
    for (int i = 0; i < VOCAB; i++) {
        if (i == 0)
            snprintf(text[i], sizeof text[i], "<unk>"), types[i] = 2;
        else if (i == 1)
            snprintf(text[i], sizeof text[i], "<s>"), types[i] = 3;
        else if (i == 2)
            snprintf(text[i], sizeof text[i], "</s>"), types[i] = 3;
        else if (i < 259)
            snprintf(text[i], sizeof text[i], "<0x%02X>", (unsigned)(i - 3)), types[i] = 6;
        else
            snprintf(text[i], sizeof text[i], "\xe2\x96\x81t%d", i), types[i] = 1;
        toks[i] = text[i];
        scores[i] = -(float)i;
    }
    ll_gguf_add_str(w, "tokenizer.ggml.model", "llama");
    ll_gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, VOCAB);
    ll_gguf_add_arr_f32(w, "tokenizer.ggml.scores", scores, VOCAB);
    ll_gguf_add_arr_i32(w, "tokenizer.ggml.token_type", types, VOCAB);
    ll_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
    ll_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
    ll_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    ll_status st = add_f32(w, "token_embd.weight", DIM, VOCAB, 0.5f, 0.0f);
    if (st == LL_OK) st = add_f32(w, "output_norm.weight", DIM, 1, 0.1f, 1.0f);
    for (int l = 0; l < LAYERS && st == LL_OK; l++) {
        static const struct {
            const char *n;
            size_t cols, rows;
        } mats[] = {{"attn_q", DIM, DIM},   {"attn_k", DIM, DIM}, {"attn_v", DIM, DIM},  {"attn_output", DIM, DIM},
                    {"ffn_gate", DIM, FFN}, {"ffn_up", DIM, FFN}, {"ffn_down", FFN, DIM}};
        char n[64];
        for (size_t k = 0; k < LL_ARRAY_LEN(mats) && st == LL_OK; k++) {
            snprintf(n, sizeof n, "blk.%d.%s.weight", l, mats[k].n);
            st = add_f32(w, n, mats[k].cols, mats[k].rows, 0.1f, 0.0f);
        }
        snprintf(n, sizeof n, "blk.%d.attn_norm.weight", l);
        if (st == LL_OK) st = add_f32(w, n, DIM, 1, 0.1f, 1.0f);
        snprintf(n, sizeof n, "blk.%d.ffn_norm.weight", l);
        if (st == LL_OK) st = add_f32(w, n, DIM, 1, 0.1f, 1.0f);
    }
    if (st == LL_OK)
        st = ll_gguf_write(w, path, err);
    else
        ll_fail(err, st, "cannot build the synthetic model");
    ll_gguf_writer_free(w);
    return st == LL_OK ? ll_model_load(path, NULL, err) : NULL;
}

/* ---- item 8: interrupts and limits ---- */

typedef struct {
    volatile sig_atomic_t *flag;
    double delay, set_at;
} setter;

static void *set_later(void *arg) {
    setter *s = arg;
    struct timespec ts = {0, (long)(s->delay * 1e9)};
    nanosleep(&ts, NULL);
    s->set_at = now_s();
    *s->flag = 1;
    return NULL;
}

static int32_t prompt[PROMPT];

static void fill_prompt(void) {
    prompt[0] = 1;
    for (size_t i = 1; i < PROMPT; i++) prompt[i] = 3 + (int32_t)((i * 2654435761u) % (VOCAB - 3));
}

/* greedy logits of a short sequence on a fresh context: the reference that
 * a context used after a stop must still reproduce */
static void fresh_logits(ll_model *m, const int32_t *t, size_t n, float *out) {
    ll_error err;
    ll_context *c = ll_context_new(m, CTX, 2, &err);
    CHECK(c && ll_context_decode(c, t, n, out, NULL, &err) == LL_OK, "fresh decode: %s", err.message);
    ll_context_free(c);
}

static bool same_logits(const float *a, const float *b) { return memcmp(a, b, VOCAB * sizeof *a) == 0; }

/* generate over a 4000-token prompt, stopped by the flag (delay > 0, from
 * a thread) or by max_time */
static void long_prompt_stops(ll_model *m, int num_beams, double max_time, double delay) {
    ll_error err;
    ll_context *c = ll_context_new(m, CTX, 2, &err);
    CHECK(c != NULL, "context: %s", err.message);
    if (!c) return;
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.max_new_tokens = 50;
    p.num_beams = num_beams;
    p.num_return_sequences = num_beams > 1 ? 2 : 1;
    p.max_time = max_time;
    volatile sig_atomic_t flag = 0;
    p.interrupt = &flag;
    setter s = {&flag, delay, 0.0};
    pthread_t th;
    double t0 = now_s();
    if (delay > 0) pthread_create(&th, NULL, set_later, &s);
    ll_generate_result r;
    ll_status st = ll_generate(&lm, NULL, prompt, PROMPT, &p, &r, &err);
    double t1 = now_s();
    if (delay > 0) pthread_join(th, NULL);
    double late = t1 - (delay > 0 ? s.set_at : t0 + max_time);
    ll_stop_reason want = delay > 0 ? LL_STOP_INTERRUPTED : LL_STOP_TIME;
    const char *what = delay > 0 ? "interrupt" : "max_time";
    CHECK(st == LL_OK, "%s during a %d-token prompt (%d beams): %s", what, PROMPT, num_beams, err.message);
    CHECK(late < STOP_BOUND, "%s during the prompt (%d beams): returned %.3f s after it (bound %.1f s)", what,
          num_beams, late, STOP_BOUND);
    if (st == LL_OK) {
        CHECK(r.n_seqs == (size_t)p.num_return_sequences && r.n_generated == 0 && r.prompt_stopped,
              "%zu sequences, %zu decoded, prompt_stopped %d", r.n_seqs, r.n_generated, r.prompt_stopped);
        for (size_t i = 0; i < r.n_seqs; i++)
            CHECK(r.seqs[i].reason == want && r.seqs[i].n_tokens == 0 && r.seqs[i].text && r.seqs[i].text_len == 0,
                  "%s, sequence %zu: reason %s, %zu tokens", what, i, ll_stop_reason_name(r.seqs[i].reason),
                  r.seqs[i].n_tokens);
        ll_generate_result_free(&r);
    }
    /* the context works after the stop: same logits as a fresh one */
    CHECK(ll_context_n_past(c) == 0, "after the stop n_past = %zu, expected 0", ll_context_n_past(c));
    float a[VOCAB], b[VOCAB];
    CHECK(ll_context_decode(c, prompt, 20, a, NULL, &err) == LL_OK, "decode after the stop: %s", err.message);
    fresh_logits(m, prompt, 20, b);
    CHECK(same_logits(a, b), "a context used after a stop gives other logits than a fresh one");
    ll_context_free(c);
    printf("  %s during the prompt (%d beam%s): returned %.3f s after it\n", what, num_beams, num_beams > 1 ? "s" : "",
           late);
}

/* Sets the interrupt flag from inside the forward pass, at its n-th layer
 * check (the context's abort callback, which ll_generate chains to): a stop
 * at a known point of the run, whatever the machine's load. */
typedef struct {
    volatile sig_atomic_t *flag;
    long calls, after;
    double set_at;
} layer_counter;

static bool flag_after_layers(void *user) {
    layer_counter *k = user;
    if (++k->calls == k->after) {
        k->set_at = now_s();
        *k->flag = 1;
    }
    return false;
}

/* beam search stopped while it runs: still num_return_sequences beams. By
 * the interrupt flag: set at the first layer of the fourth forward pass
 * (after the prompt and two beam steps); by max_time: a limit the prompt
 * cannot use up even on a loaded machine under ASan. */
static void beam_stops_while_running(ll_model *m, double max_time, bool by_flag) {
    ll_error err;
    ll_context *c = ll_context_new(m, CTX, 2, &err);
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.max_new_tokens = CTX - 64; /* minutes without a stop */
    p.ignore_eos = true;
    p.num_beams = 4;
    p.num_return_sequences = 3;
    p.max_time = max_time;
    volatile sig_atomic_t flag = 0;
    p.interrupt = &flag;
    layer_counter k = {&flag, 0, 3 * (long)ll_model_get_info(m)->n_layers + 1, 0.0};
    if (by_flag) ll_context_set_abort(c, flag_after_layers, &k);
    double t0 = now_s();
    ll_generate_result r;
    ll_status st = ll_generate(&lm, NULL, prompt, 8, &p, &r, &err);
    double t1 = now_s();
    double late = t1 - (by_flag ? k.set_at : t0 + max_time);
    const char *what = by_flag ? "interrupt" : "max_time";
    CHECK(st == LL_OK, "beam search, %s: %s", what, err.message);
    CHECK(late < STOP_BOUND, "beam search, %s: returned %.3f s after it (bound %.1f s)", what, late, STOP_BOUND);
    if (st == LL_OK) {
        CHECK(r.n_seqs == 3 && !r.prompt_stopped, "beam search, %s: %zu sequences, expected 3", what, r.n_seqs);
        for (size_t i = 0; i < r.n_seqs; i++) {
            CHECK(r.seqs[i].n_tokens > 0 && r.seqs[i].n_tokens < (size_t)p.max_new_tokens && isfinite(r.seqs[i].score),
                  "beam search, %s, sequence %zu: %zu tokens, score %g", what, i, r.seqs[i].n_tokens, r.seqs[i].score);
            CHECK(r.seqs[i].reason == (by_flag ? LL_STOP_INTERRUPTED : LL_STOP_TIME), "reason %s",
                  ll_stop_reason_name(r.seqs[i].reason));
            if (i) CHECK(r.seqs[i].score <= r.seqs[i - 1].score, "beam %zu scores above beam %zu", i, i - 1);
        }
        printf("  beam search, %s while running: returned %.3f s after it with %zu, %zu, %zu tokens\n", what, late,
               r.seqs[0].n_tokens, r.seqs[1].n_tokens, r.seqs[2].n_tokens);
        ll_generate_result_free(&r);
    }
    ll_context_free(c);
}

/* A wrapper model that stops on a chosen step, deterministically: either
 * by setting the flag before the step's decode (seen between steps) or by
 * its own abort callback on the context (a stop inside the forward pass). */
typedef struct {
    ll_context *c;
    volatile sig_atomic_t *flag;
    int calls, stop_at; /* decode calls (extend or branch), the prompt's first */
    bool inside;
    int polls;
} wrap;

static bool wrap_abort(void *user) {
    wrap *w = user;
    return w->calls == w->stop_at && ++w->polls > 2; /* the third layer of that call */
}
static void wrap_reset(void *self) { ll_context_rewind(((wrap *)self)->c, 0, NULL); }
static ll_status wrap_extend(void *self, const int32_t *t, size_t n, float *logits, ll_error *err) {
    wrap *w = self;
    if (++w->calls == w->stop_at && !w->inside) *w->flag = 1;
    return ll_context_decode(w->c, t, n, logits, NULL, err);
}
static ll_status wrap_branch(void *self, const int32_t *parents, const int32_t *t, size_t n, float *logits,
                             int32_t *nodes, ll_error *err) {
    wrap *w = self;
    if (++w->calls == w->stop_at && !w->inside) *w->flag = 1;
    return ll_context_decode_tree(w->c, parents, t, n, logits, nodes, err);
}

/* n samples stopped on their 3rd decode call (the 2nd after the prompt) */
static void samples_stop_on_step(ll_model *m, int n, bool inside) {
    ll_error err;
    volatile sig_atomic_t flag = 0;
    wrap w = {ll_context_new(m, 256, 2, &err), &flag, 0, 3, inside, 0};
    if (inside) ll_context_set_abort(w.c, wrap_abort, &w);
    ll_lm lm = {
        .self = &w, .n_vocab = VOCAB, .n_ctx = 256, .reset = wrap_reset, .extend = wrap_extend, .branch = wrap_branch};
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.sampling.do_sample = 1;
    p.max_new_tokens = 40;
    p.ignore_eos = true;
    p.n = n;
    p.interrupt = &flag;
    ll_generate_result r;
    ll_status st = ll_generate(&lm, NULL, prompt, 8, &p, &r, &err);
    const char *what = inside ? "inside the forward pass" : "between tokens";
    CHECK(st == LL_OK && r.n_seqs == (size_t)n, "%d samples stopped %s: %s", n, what, err.message);
    if (st == LL_OK) {
        /* inside: the 2nd token's decode stopped, 2 tokens were chosen;
         * between: the flag is seen once the 3rd token is chosen */
        size_t want = inside ? 2 : 3;
        for (size_t i = 0; i < r.n_seqs; i++)
            CHECK(r.seqs[i].n_tokens == want && r.seqs[i].reason == LL_STOP_INTERRUPTED,
                  "%d samples stopped %s, sequence %zu: %zu tokens (expected %zu), %s", n, what, i, r.seqs[i].n_tokens,
                  want, ll_stop_reason_name(r.seqs[i].reason));
        ll_generate_result_free(&r);
    }
    ll_context_free(w.c);
}

static void beam_stops_on_step(ll_model *m, bool inside) {
    ll_error err;
    volatile sig_atomic_t flag = 0;
    wrap w = {ll_context_new(m, 256, 2, &err), &flag, 0, 4, inside, 0}; /* the 3rd step's decode */
    if (inside) ll_context_set_abort(w.c, wrap_abort, &w);
    ll_lm lm = {
        .self = &w, .n_vocab = VOCAB, .n_ctx = 256, .reset = wrap_reset, .extend = wrap_extend, .branch = wrap_branch};
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.max_new_tokens = 40;
    p.ignore_eos = true;
    p.num_beams = 3;
    p.num_return_sequences = 3;
    p.length_penalty = 0.5f;
    p.interrupt = &flag;
    ll_generate_result r;
    ll_status st = ll_generate(&lm, NULL, prompt, 8, &p, &r, &err);
    const char *what = inside ? "inside the forward pass" : "between steps";
    CHECK(st == LL_OK && r.n_seqs == 3, "beam search stopped %s: %s", what, err.message);
    if (st == LL_OK) {
        /* between steps: the step after the 3rd decode finishes its best
         * beams (4 tokens); inside the 3rd decode: the running beams of 3 */
        size_t want = inside ? 3 : 4;
        for (size_t i = 0; i < r.n_seqs; i++) {
            CHECK(r.seqs[i].n_tokens == want && r.seqs[i].reason == LL_STOP_INTERRUPTED && isfinite(r.seqs[i].score),
                  "stopped %s, sequence %zu: %zu tokens (expected %zu), %s, score %g", what, i, r.seqs[i].n_tokens,
                  want, ll_stop_reason_name(r.seqs[i].reason), r.seqs[i].score);
            if (i) CHECK(r.seqs[i].score <= r.seqs[i - 1].score, "beam %zu scores above beam %zu", i, i - 1);
        }
        ll_generate_result_free(&r);
    }
    ll_context_free(w.c);
}

/* beam search and beam sampling with every token, or all but one, banned */
static void beams_refuse_banned(ll_model *m) {
    static int32_t banned[VOCAB];
    for (int i = 0; i < VOCAB; i++) banned[i] = i == 77 ? 0 : i; /* all but 77; 0 twice */
    for (int all = 0; all < 2; all++) {
        if (all) banned[77] = 77;
        for (int sample = 0; sample < 2; sample++) {
            ll_error err;
            ll_context *c = ll_context_new(m, 64, 1, &err);
            ll_lm lm;
            ll_lm_from_context(&lm, c);
            ll_generate_params p;
            ll_generate_params_init(&p, LL_PROFILE_HF);
            p.sampling.do_sample = sample;
            p.sampling.suppress_tokens = banned;
            p.sampling.n_suppress_tokens = VOCAB;
            p.max_new_tokens = 3;
            p.num_beams = 2;
            ll_generate_result r;
            ll_status st = ll_generate(&lm, NULL, prompt, 4, &p, &r, &err);
            const char *what = sample ? "beam sampling" : "beam search";
            if (all || sample) {
                /* beam sampling draws 2 x num_beams continuations a step: one
                 * possible token per beam is too few (torch.multinomial fails) */
                CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, NO_TOKEN), "%s, %s banned: status %d, '%s'",
                      what, all ? "every token" : "all but one", (int)st, err.message);
            } else {
                CHECK(st == LL_OK && r.seqs[0].n_tokens == 3 && r.seqs[0].tokens[0] == 77 && r.seqs[0].tokens[2] == 77,
                      "beam search, all but token 77 banned: status %d (%s)", (int)st, err.message);
            }
            if (st == LL_OK) ll_generate_result_free(&r);
            ll_context_free(c);
        }
    }
}

/* the abort callback of ll_context_decode itself: all or nothing */
static bool stop_after(void *user) { return --*(int *)user < 0; }

static void decode_abort_is_all_or_nothing(ll_model *m) {
    ll_error err;
    ll_context *c = ll_context_new(m, CTX, 2, &err);
    float a[VOCAB], b[VOCAB];
    CHECK(ll_context_decode(c, prompt, 10, a, NULL, &err) == LL_OK, "%s", err.message);
    int left = LAYERS + 5; /* the first 256-token batch passes, the second stops */
    ll_context_set_abort(c, stop_after, &left);
    ll_abort_fn fn;
    void *user;
    ll_context_get_abort(c, &fn, &user);
    CHECK(fn == stop_after && user == &left, "ll_context_get_abort returns what was set");
    ll_status st = ll_context_decode(c, prompt + 10, 260, a, NULL, &err);
    CHECK(st == LL_ERR_INTERRUPTED && strstr(err.message, "abort") && ll_context_n_past(c) == 10,
          "stopped decode: status %d, n_past %zu, '%s'", (int)st, ll_context_n_past(c), err.message);
    /* a branch decode stopped: its nodes were never made */
    int32_t par = -1, tok = 5, node = -2;
    left = 0;
    st = ll_context_decode_tree(c, &par, &tok, 1, a, &node, &err);
    CHECK(st == LL_ERR_INTERRUPTED, "stopped branch: status %d", (int)st);
    ll_context_set_abort(c, NULL, NULL);
    par = 0;
    st = ll_context_decode_tree(c, &par, &tok, 1, a, &node, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "node 0 does not exist"),
          "a stopped branch leaves no node: '%s'", err.message);
    /* and the context goes on as if the stopped calls never happened */
    CHECK(ll_context_decode(c, prompt + 10, 20, a, NULL, &err) == LL_OK, "%s", err.message);
    fresh_logits(m, prompt, 30, b);
    CHECK(same_logits(a, b), "logits after stopped decodes differ from a fresh context's");
    ll_context_free(c);
}

static void decode_rejects_bad_ids(ll_model *m) {
    ll_error err;
    ll_context *c = ll_context_new(m, 64, 1, &err);
    float lg[VOCAB];
    const int32_t bad[] = {VOCAB, -1, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < LL_ARRAY_LEN(bad); i++) {
        int32_t t[3] = {1, 5, bad[i]};
        char want[64];
        snprintf(want, sizeof want, "token 2 = %d is out of range: valid is [0, %d)", bad[i], VOCAB);
        ll_status st = ll_context_decode(c, t, 3, lg, NULL, &err);
        CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, want), "id %d: '%s'", bad[i], err.message);
        CHECK(ll_context_n_past(c) == 0, "a rejected decode changed n_past to %zu", ll_context_n_past(c));
        int32_t par = -1, node;
        st = ll_context_decode_tree(c, &par, &bad[i], 1, lg, &node, &err);
        snprintf(want, sizeof want, "token 0 = %d is out of range: valid is [0, %d)", bad[i], VOCAB);
        CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, want), "tree, id %d: '%s'", bad[i], err.message);
    }
    /* n against the room, without wrapping */
    CHECK(ll_context_decode(c, prompt, 60, lg, NULL, &err) == LL_OK, "%s", err.message);
    ll_status st = ll_context_decode(c, prompt, 5, lg, NULL, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "60 cached + 5 new") &&
              strstr(err.message, "room for 4"),
          "n beyond the room: '%s'", err.message);
    st = ll_context_decode(c, prompt, SIZE_MAX, lg, NULL, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "exceed n_ctx = 64"), "n = SIZE_MAX: '%s'", err.message);
    int32_t par = 7, tok = 5, node;
    st = ll_context_decode_tree(c, &par, &tok, 1, lg, &node, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "node 7 does not exist: valid is [-1, 0)"),
          "bad parent: '%s'", err.message);
    ll_context_free(c);
    /* and through ll_generate */
    c = ll_context_new(m, 64, 1, &err);
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    int32_t t[2] = {1, 100000};
    ll_generate_result r;
    st = ll_generate(&lm, NULL, t, 2, &p, &r, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "100000") && strstr(err.message, "[0, 260)"),
          "generate with id 100000: '%s'", err.message);
    ll_context_free(c);
}

int main(void) {
    selectors_refuse_impossible_tokens();

    char path[] = "/tmp/test_hostile_decode_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return tu_finish("hostile_decode");
    close(fd);
    ll_error err;
    ll_model *m = synth_model(path, &err);
    unlink(path);
    CHECK(m != NULL, "synthetic model: %s", err.message);
    if (!m) return tu_finish("hostile_decode");
    fill_prompt();

    decode_rejects_bad_ids(m);
    beams_refuse_banned(m);
    decode_abort_is_all_or_nothing(m);
    long_prompt_stops(m, 1, 0.0, 0.05);
    long_prompt_stops(m, 1, 0.05, 0.0);
    long_prompt_stops(m, 3, 0.0, 0.05);
    long_prompt_stops(m, 3, 0.05, 0.0);
    samples_stop_on_step(m, 1, false);
    samples_stop_on_step(m, 1, true);
    samples_stop_on_step(m, 3, false);
    samples_stop_on_step(m, 3, true);
    beam_stops_on_step(m, false);
    beam_stops_on_step(m, true);
    beam_stops_while_running(m, 0.0, true);
    beam_stops_while_running(m, 2.0, false);

    ll_model_free(m);
    return tu_finish("hostile_decode");
}
