/*
 * test_generate.c - the generation loop.
 *  - ../shared/vectors/hf-beam-vectors.json: greedy and beam-search results
 *    of HF's generate() on a deterministic toy model; the toy is an ll_lm
 *    here and the same requests run through ll_generate. Sequences and
 *    scores must match HF main.
 *  - stopping: stop strings across token boundaries (and never leaking
 *    while streaming), several EOS ids, min_new_tokens with EOS,
 *    max_length vs max_new_tokens, a full context, a time limit;
 *  - branches: ll_context_decode_tree gives the logits of decoding the same
 *    path sequentially; seeded n-sample generation is reproducible and
 *    independent of the thread count.
 */
#include "test_util.h"
#include "util/json.h"

/* ---- the toy model of hf-beam-vectors.json ---- */

typedef struct {
    size_t V;
    uint64_t seed;
    size_t context;
    double scale, eos_bias;
    int32_t eos[4];
    size_t n_eos;
    int32_t prefix[512];
    size_t n_prefix;
    int32_t node_parent[4096], node_tok[4096];
    size_t n_nodes;
} toy;

static uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void toy_logits(const toy *m, const int32_t *seq, size_t n, float *out) {
    size_t start = n > m->context ? n - m->context : 0;
    for (size_t t = 0; t < m->V; t++) {
        uint64_t h = m->seed;
        for (size_t i = start; i < n; i++) h = splitmix64(h ^ (uint64_t)seq[i]);
        h = splitmix64(h ^ (t + 0x1000));
        double u = (double)(h >> 11) * 0x1p-53;
        double logit = (2 * u - 1) * m->scale;
        for (size_t e = 0; e < m->n_eos; e++)
            if ((int32_t)t == m->eos[e]) logit += m->eos_bias;
        out[t] = (float)logit;
    }
}

static void toy_reset(void *self) {
    toy *m = self;
    m->n_prefix = 0;
    m->n_nodes = 0;
}

static ll_status toy_extend(void *self, const int32_t *t, size_t n, float *logits, ll_error *err) {
    (void)err;
    toy *m = self;
    memcpy(m->prefix + m->n_prefix, t, n * sizeof *t);
    m->n_prefix += n;
    toy_logits(m, m->prefix, m->n_prefix, logits);
    return LL_OK;
}

static ll_status toy_branch(void *self, const int32_t *parents, const int32_t *t, size_t n, float *logits,
                            int32_t *nodes, ll_error *err) {
    (void)err;
    toy *m = self;
    int32_t seq[1024];
    for (size_t i = 0; i < n; i++) {
        int32_t id = (int32_t)m->n_nodes++;
        m->node_parent[id] = parents[i];
        m->node_tok[id] = t[i];
        nodes[i] = id;
        size_t depth = 0;
        for (int32_t a = id; a >= 0; a = m->node_parent[a]) depth++;
        memcpy(seq, m->prefix, m->n_prefix * sizeof *seq);
        size_t k = m->n_prefix + depth;
        for (int32_t a = id; a >= 0; a = m->node_parent[a]) seq[--k] = m->node_tok[a];
        toy_logits(m, seq, m->n_prefix + depth, logits + i * m->V);
    }
    return LL_OK;
}

static void toy_lm(toy *m, ll_lm *lm) {
    lm->self = m;
    lm->n_vocab = m->V;
    lm->n_ctx = 4096;
    lm->reset = toy_reset;
    lm->extend = toy_extend;
    lm->branch = toy_branch;
}

static void run_beam_case(const lj_value *cs) {
    const char *id = lj_get(cs, "id")->str;
    const lj_value *req = lj_get(cs, "request"), *mod = lj_get(req, "model"), *gen = lj_get(req, "generate");
    const lj_value *want = lj_get(lj_get(cs, "results"), "main");
    toy m;
    memset(&m, 0, sizeof m);
    m.V = (size_t)lj_num(lj_get(mod, "vocab_size"));
    m.seed = (uint64_t)lj_num(lj_get(mod, "seed"));
    m.context = (size_t)lj_num(lj_get(mod, "context"));
    m.scale = lj_num(lj_get(mod, "scale"));
    m.eos_bias = lj_get(mod, "eos_bias") ? lj_num(lj_get(mod, "eos_bias")) : 0.0;
    const lj_value *eos = lj_get(gen, "eos_token_id");
    if (eos->type == LJ_ARR)
        for (size_t i = 0; i < eos->n; i++) m.eos[m.n_eos++] = (int32_t)lj_num(eos->items[i]);
    else m.eos[m.n_eos++] = (int32_t)lj_num(eos);
    ll_lm lm;
    toy_lm(&m, &lm);
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.eos_ids = m.eos;
    p.n_eos_ids = m.n_eos;
    const lj_value *v;
    if ((v = lj_get(gen, "num_beams"))) p.num_beams = (int32_t)lj_num(v);
    if ((v = lj_get(gen, "length_penalty"))) p.length_penalty = (float)lj_num(v);
    if ((v = lj_get(gen, "num_return_sequences"))) p.num_return_sequences = (int32_t)lj_num(v);
    if ((v = lj_get(gen, "max_new_tokens"))) p.max_new_tokens = (int32_t)lj_num(v);
    if ((v = lj_get(gen, "min_new_tokens"))) p.sampling.min_new_tokens = (int32_t)lj_num(v);
    if ((v = lj_get(gen, "repetition_penalty"))) p.sampling.repetition_penalty = (float)lj_num(v);
    if ((v = lj_get(gen, "no_repeat_ngram_size"))) p.sampling.no_repeat_ngram_size = (int32_t)lj_num(v);
    if ((v = lj_get(gen, "early_stopping"))) {
        if (v->type == LJ_STR) p.early_stopping = LL_EARLY_STOPPING_NEVER;
        else p.early_stopping = v->b ? LL_EARLY_STOPPING_TRUE : LL_EARLY_STOPPING_FALSE;
    }
    int32_t pad = (int32_t)lj_num(lj_get(gen, "pad_token_id"));
    /* HF main fills after EOS with pad (greedy) or, in beam search, with
     * pad if it is truthy else eos[0] */
    int32_t fill = p.num_beams > 1 ? (pad ? pad : m.eos[0]) : pad;
    const lj_value *inputs = lj_get(req, "input_ids"), *seqs = lj_get(want, "sequences");
    const lj_value *scores = lj_get(want, "sequences_scores");
    size_t nrs = (size_t)p.num_return_sequences;
    for (size_t b = 0; b < inputs->n; b++) {
        const lj_value *in = inputs->items[b];
        int32_t prompt[64];
        for (size_t i = 0; i < in->n; i++) prompt[i] = (int32_t)lj_num(in->items[i]);
        ll_generate_result r;
        ll_error err;
        ll_status st = ll_generate(&lm, NULL, prompt, in->n, &p, &r, &err);
        CHECK(st == LL_OK, "%s: %s", id, err.message);
        if (st != LL_OK) continue;
        CHECK(r.n_seqs == nrs, "%s: %zu sequences", id, r.n_seqs);
        for (size_t k = 0; k < nrs && k < r.n_seqs; k++) {
            const lj_value *w = seqs->items[b * nrs + k];
            size_t P = in->n;
            bool same = r.seqs[k].n_tokens + P <= w->n;
            for (size_t i = 0; same && i < r.seqs[k].n_tokens; i++)
                same = r.seqs[k].tokens[i] == (int32_t)lj_num(w->items[P + i]);
            for (size_t i = P + r.seqs[k].n_tokens; same && i < w->n; i++) same = (int32_t)lj_num(w->items[i]) == fill;
            char got[256] = "";
            for (size_t i = 0; i < r.seqs[k].n_tokens; i++)
                snprintf(got + strlen(got), sizeof got - strlen(got), " %d", r.seqs[k].tokens[i]);
            CHECK(same, "%s row %zu seq %zu: generated%s", id, b, k, got);
            if (scores)
                CHECK(tu_close(r.seqs[k].score, lj_num(scores->items[b * nrs + k]), 1e-6, 1e-6),
                      "%s row %zu seq %zu: score %.9g, HF %.9g", id, b, k, r.seqs[k].score,
                      lj_num(scores->items[b * nrs + k]));
        }
        ll_generate_result_free(&r);
    }
}

/* ---- stopping, with the real stories260K model ---- */

static char streamed[4096];
static size_t n_streamed;
static bool leaked;
static const char *stop_word;

static void on_text(void *user, int32_t seq, const char *text, size_t len) {
    (void)user;
    (void)seq;
    memcpy(streamed + n_streamed, text, len);
    n_streamed += len;
    streamed[n_streamed] = '\0';
    if (stop_word && strstr(streamed, stop_word)) leaked = true;
}

static ll_model *stories(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", tu_shared());
    ll_error err;
    ll_model *m = ll_model_load(path, NULL, &err);
    CHECK(m != NULL, "load: %s", err.message);
    return m;
}

static ll_generate_result run(ll_model *m, int threads, const char *prompt, ll_generate_params *p, size_t n_ctx,
                              ll_status *st_out, ll_error *err) {
    ll_context *c = ll_context_new(m, n_ctx, threads, err);
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    int32_t *ids;
    size_t n;
    ll_tokenize(tok, prompt, strlen(prompt), true, false, &ids, &n, err);
    ll_generate_result r;
    *st_out = ll_generate(&lm, tok, ids, n, p, &r, err);
    free(ids);
    ll_context_free(c);
    return r;
}

static void stopping(ll_model *m) {
    ll_error err;
    ll_status st;
    ll_generate_params p;
    /* greedy text of stories260K: "Once upon a time, there was a little girl named Lily. She loved ..." */
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.temperature = 0.0f;
    p.max_new_tokens = 60;
    const char *stops[] = {"girl named", "zzz"};
    p.stop = stops;
    p.n_stop = 2;
    p.on_text = on_text;
    n_streamed = 0;
    leaked = false;
    stop_word = "girl named";
    ll_generate_result r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    CHECK(r.seqs[0].reason == LL_STOP_STRING, "stopped by the stop string, got %s", ll_stop_reason_name(r.seqs[0].reason));
    CHECK(strcmp(r.seqs[0].text, ", there was a little ") == 0, "text without the stop string: '%s'", r.seqs[0].text);
    CHECK(!leaked && strcmp(streamed, r.seqs[0].text) == 0, "streamed text equals the result and never leaked: '%s'",
          streamed);
    ll_generate_result_free(&r);

    /* a stop string that begins inside a token and ends in another: "e was" spans " there" + " was" */
    const char *stops2[] = {"re wa"};
    p.stop = stops2;
    p.n_stop = 1;
    n_streamed = 0;
    stop_word = "re wa";
    leaked = false;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(r.seqs[0].reason == LL_STOP_STRING && strcmp(r.seqs[0].text, ", the") == 0 && !leaked,
          "a stop string across tokens: '%s' (%s)", r.seqs[0].text, ll_stop_reason_name(r.seqs[0].reason));
    ll_generate_result_free(&r);
    p.stop = NULL;
    p.n_stop = 0;
    p.on_text = NULL;
    stop_word = NULL;

    /* several EOS ids: make "," (432) and "▁there" (383) end generation */
    int32_t eos[2] = {383, 432};
    p.eos_ids = eos;
    p.n_eos_ids = 2;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(r.seqs[0].reason == LL_STOP_EOS && r.seqs[0].n_tokens == 1 && r.seqs[0].tokens[0] == 432,
          "the first of several EOS ids ends it (%zu tokens)", r.seqs[0].n_tokens);
    /* min_new_tokens keeps EOS away until 5 tokens are out */
    p.sampling.min_new_tokens = 5;
    ll_generate_result_free(&r);
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    CHECK(r.seqs[0].n_tokens >= 6 && r.seqs[0].reason == LL_STOP_EOS, "min_new_tokens delays EOS: %zu tokens, %s",
          r.seqs[0].n_tokens, ll_stop_reason_name(r.seqs[0].reason));
    for (size_t i = 0; i + 1 < r.seqs[0].n_tokens && i < 5; i++)
        CHECK(r.seqs[0].tokens[i] != 383 && r.seqs[0].tokens[i] != 432, "no EOS before min_new_tokens");
    ll_generate_result_free(&r);
    p.sampling.min_new_tokens = LL_UNSET_INT;
    p.eos_ids = NULL;
    p.n_eos_ids = 0;

    /* max_length counts the prompt (5 tokens); max_new_tokens wins when both are set */
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.max_length = 12;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].n_tokens == 7 && r.seqs[0].reason == LL_STOP_LENGTH, "max_length 12 -> 7 new");
    ll_generate_result_free(&r);
    p.max_new_tokens = 3;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].n_tokens == 3, "max_new_tokens wins over max_length");
    ll_generate_result_free(&r);
    p.max_new_tokens = LL_UNSET_INT;
    p.max_length = 5;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "max_length = 5"), "prompt >= max_length: %s",
          err.message);
    p.max_length = LL_UNSET_INT;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].n_tokens == 20, "HF's default: 20 new tokens");
    ll_generate_result_free(&r);
    /* the other profiles' defaults (docs/semantics.md): OpenAI/vLLM 16, llama.cpp until the context is full */
    ll_generate_params_init(&p, LL_PROFILE_OPENAI);
    p.ignore_eos = true;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].n_tokens == 16 && r.seqs[0].reason == LL_STOP_LENGTH, "openai's default: 16 new tokens");
    ll_generate_result_free(&r);
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.ignore_eos = true;
    r = run(m, 1, "Once upon a time", &p, 40, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].n_tokens == 35 && r.seqs[0].reason == LL_STOP_CONTEXT,
          "llama.cpp's default: until the context (40) is full");
    ll_generate_result_free(&r);

    /* a full context */
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.temperature = 0.0f;
    p.ignore_eos = true;
    r = run(m, 1, "Once upon a time", &p, 16, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].reason == LL_STOP_CONTEXT && r.seqs[0].n_tokens == 11,
          "context of 16: 11 new tokens then 'context' (%zu, %s)", r.seqs[0].n_tokens,
          ll_stop_reason_name(r.seqs[0].reason));
    ll_generate_result_free(&r);
    r = run(m, 1, "Once upon a time, there was a little girl", &p, 8, &st, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "context holds 8"), "prompt longer than the context: %s",
          err.message);
    /* a time limit counts from the call, the prompt included: one that runs
     * out before the prompt is done leaves the sequence empty */
    p.max_time = 1e-9;
    r = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK(st == LL_OK && r.seqs[0].reason == LL_STOP_TIME && r.seqs[0].n_tokens == 0, "max_time (%zu tokens)",
          r.seqs[0].n_tokens);
    ll_generate_result_free(&r);
}

static void branches_and_seeds(ll_model *m) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab;
    int32_t prompt[5] = {1, 403, 407, 261, 378}, a = 432, b = 383;
    float *seq = malloc(V * sizeof *seq), *tree = malloc(2 * V * sizeof *tree);
    ll_context *c = ll_context_new(m, 64, 2, &err);
    int32_t both[7] = {1, 403, 407, 261, 378, 432, 383};
    ll_context_decode(c, both, 7, seq, NULL, &err);
    ll_context_rewind(c, 0, &err);
    ll_context_decode(c, prompt, 5, tree, NULL, &err);
    int32_t par = -1, node;
    ll_context_decode_tree(c, &par, &a, 1, tree, &node, &err);
    int32_t parents[2] = {node, -1}, toks[2] = {b, b}, nodes[2];
    CHECK_OK(ll_context_decode_tree(c, parents, toks, 2, tree, nodes, &err), err);
    double md = 0;
    for (size_t i = 0; i < V; i++) md = fmax(md, fabs(seq[i] - tree[i]));
    CHECK(md < 1e-5, "a branch decodes what the sequential path decodes (max diff %g)", md);
    ll_context_free(c);
    free(seq);
    free(tree);

    /* n samples with a seed: identical across runs and thread counts */
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.n = 3;
    p.max_new_tokens = 40;
    p.sampling.seed = 1234;
    p.logprobs = 3;
    ll_status st;
    ll_generate_result r1 = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    ll_generate_result r2 = run(m, 2, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    CHECK(r1.n_seqs == 3 && r2.n_seqs == 3, "three samples");
    for (size_t i = 0; i < 3 && i < r1.n_seqs && i < r2.n_seqs; i++) {
        CHECK(r1.seqs[i].n_tokens == r2.seqs[i].n_tokens &&
                  memcmp(r1.seqs[i].tokens, r2.seqs[i].tokens, r1.seqs[i].n_tokens * 4) == 0,
              "sample %zu: the same tokens with 1 and 2 threads", i);
        const ll_token_logprobs *lp = r1.seqs[i].logprobs;
        CHECK(lp && lp[0].n_top == 3 && lp[0].raw <= 0 && lp[0].processed <= 0 && lp[0].top_raw[0].logprob >= lp[0].raw,
              "logprobs: raw and processed, with alternatives");
    }
    CHECK(r1.n_seqs == 3 && strcmp(r1.seqs[0].text, r1.seqs[1].text) != 0, "independent samples differ");
    ll_generate_params q = p;
    q.n = 1;
    ll_generate_result r3 = run(m, 1, "Once upon a time", &q, 0, &st, &err);
    CHECK(st == LL_OK && r1.n_seqs == 3 && strcmp(r3.seqs[0].text, r1.seqs[0].text) == 0,
          "sample 0 of n is the single-sample result");
    ll_generate_result_free(&r1);
    ll_generate_result_free(&r2);
    ll_generate_result_free(&r3);

    /* beam search on the real model: 4 beams, deterministic */
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.num_beams = 4;
    p.num_return_sequences = 2;
    p.max_new_tokens = 12;
    r1 = run(m, 2, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    CHECK(r1.n_seqs == 2 && r1.seqs[0].score >= r1.seqs[1].score && r1.seqs[0].n_tokens > 0,
          "beam search returns the best first");
    ll_generate_result_free(&r1);

    /* beam sampling: seeded, the same on any thread count, different from plain beams */
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.num_beams = 3;
    p.max_new_tokens = 16;
    ll_generate_result plain = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    p.sampling.do_sample = 1;
    p.sampling.temperature = 1.5f;
    p.sampling.seed = 99;
    r1 = run(m, 1, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    r2 = run(m, 2, "Once upon a time", &p, 0, &st, &err);
    CHECK_OK(st, err);
    CHECK(r1.n_seqs == 1 && r2.n_seqs == 1 && r1.seqs[0].n_tokens == r2.seqs[0].n_tokens &&
              !memcmp(r1.seqs[0].tokens, r2.seqs[0].tokens, r1.seqs[0].n_tokens * sizeof(int32_t)),
          "beam sampling with a seed: the same with 1 and 2 threads");
    bool differs = plain.n_seqs == 1 && (plain.seqs[0].n_tokens != r1.seqs[0].n_tokens ||
                                         memcmp(plain.seqs[0].tokens, r1.seqs[0].tokens,
                                                r1.seqs[0].n_tokens * sizeof(int32_t)) != 0);
    CHECK(differs, "beam sampling at temperature 1.5 leaves the deterministic beam path ('%s' vs '%s')",
          r1.n_seqs ? r1.seqs[0].text : "", plain.n_seqs ? plain.seqs[0].text : "");
    ll_generate_result_free(&plain);
    ll_generate_result_free(&r1);
    ll_generate_result_free(&r2);
}

/* ---- streaming multi-byte UTF-8: a scripted model emits byte tokens ---- */

typedef struct {
    size_t V, step;
    const int32_t *script;
    size_t n_script;
} scripted;

static void scripted_fill(scripted *s, float *logits) {
    for (size_t t = 0; t < s->V; t++) logits[t] = 0.0f;
    logits[s->script[s->step < s->n_script ? s->step : s->n_script - 1]] = 10.0f;
    s->step++;
}
static void scripted_reset(void *self) { ((scripted *)self)->step = 0; }
static ll_status scripted_extend(void *self, const int32_t *t, size_t n, float *logits, ll_error *err) {
    (void)t;
    (void)n;
    (void)err;
    scripted_fill(self, logits);
    return LL_OK;
}

static char chunks[64][32];
static size_t n_chunks;
static void on_chunk(void *user, int32_t seq, const char *text, size_t len) {
    (void)user;
    (void)seq;
    if (n_chunks < 64 && len < 32) {
        memcpy(chunks[n_chunks], text, len);
        chunks[n_chunks++][len] = '\0';
    }
}

/* Every streamed chunk must be whole UTF-8 characters. */
static bool utf8_complete(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (!n) return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return false;
        p += n;
    }
    return true;
}

static void streaming_utf8(ll_model *m) {
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    /* tok512 has byte tokens <0x00>..<0xFF> at ids 3..258: "é—x" is C3 A9 E2 80 94 'x', then EOS */
    int32_t script[] = {3 + 0xC3, 3 + 0xA9, 3 + 0xE2, 3 + 0x80, 3 + 0x94, 3 + 'x', 2};
    CHECK(strcmp(ll_token_text(tok, 3 + 0xC3), "<0xC3>") == 0, "byte tokens where expected");
    scripted s = {.V = ll_tokenizer_n_vocab(tok), .script = script, .n_script = 7};
    ll_lm lm = {.self = &s, .n_vocab = s.V, .n_ctx = 64, .reset = scripted_reset, .extend = scripted_extend};
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.temperature = 0.0f;
    p.max_new_tokens = 20;
    p.on_text = on_chunk;
    const char *stops[] = {"\xE2\x80\x94x"}; /* a stop string that starts mid-stream */
    int32_t prompt[1] = {1};
    ll_generate_result r;
    ll_error err;
    n_chunks = 0;
    CHECK_OK(ll_generate(&lm, tok, prompt, 1, &p, &r, &err), err);
    CHECK(r.seqs[0].reason == LL_STOP_EOS && strcmp(r.seqs[0].text, "\xC3\xA9\xE2\x80\x94x") == 0,
          "bytes decode to 'é—x' and EOS ends it (%s)", ll_stop_reason_name(r.seqs[0].reason));
    char joined[128] = "";
    for (size_t i = 0; i < n_chunks; i++) {
        CHECK(utf8_complete(chunks[i]), "streamed chunk %zu is whole characters", i);
        strcat(joined, chunks[i]);
    }
    CHECK(n_chunks >= 2 && strcmp(joined, r.seqs[0].text) == 0, "the chunks add up to the text (%zu chunks)", n_chunks);
    ll_generate_result_free(&r);
    /* ignore_eos, per profile: llama.cpp bans the EOS ids, vLLM (openai) only
     * keeps going after one. The scripted model wants EOS (2) at every step. */
    int32_t always_eos[1] = {2};
    scripted se = {.V = s.V, .script = always_eos, .n_script = 1};
    ll_lm lm_eos = {.self = &se, .n_vocab = se.V, .n_ctx = 64, .reset = scripted_reset, .extend = scripted_extend};
    ll_generate_params q;
    ll_generate_params_init(&q, LL_PROFILE_LLAMACPP);
    q.sampling.temperature = 0.0f;
    q.max_new_tokens = 4;
    q.ignore_eos = true;
    CHECK_OK(ll_generate(&lm_eos, tok, prompt, 1, &q, &r, &err), err);
    bool banned = r.seqs[0].n_tokens == 4 && r.seqs[0].reason == LL_STOP_LENGTH;
    for (size_t i = 0; i < r.seqs[0].n_tokens; i++) banned &= r.seqs[0].tokens[i] != 2;
    CHECK(banned, "llama.cpp's ignore_eos: EOS is never generated");
    ll_generate_result_free(&r);
    ll_generate_params_init(&q, LL_PROFILE_OPENAI);
    q.sampling.temperature = 0.0f;
    q.max_new_tokens = 4;
    q.ignore_eos = true;
    se.step = 0;
    CHECK_OK(ll_generate(&lm_eos, tok, prompt, 1, &q, &r, &err), err);
    bool kept_going = r.seqs[0].n_tokens == 4 && r.seqs[0].reason == LL_STOP_LENGTH;
    for (size_t i = 0; i < r.seqs[0].n_tokens; i++) kept_going &= r.seqs[0].tokens[i] == 2;
    CHECK(kept_going, "openai's ignore_eos: EOS is generated and does not stop");
    ll_generate_result_free(&r);
    q.ignore_eos = false;
    se.step = 0;
    CHECK_OK(ll_generate(&lm_eos, tok, prompt, 1, &q, &r, &err), err);
    CHECK(r.seqs[0].n_tokens == 1 && r.seqs[0].reason == LL_STOP_EOS, "without ignore_eos, EOS stops");
    ll_generate_result_free(&r);

    /* and with a stop string made of the split character: nothing of it streams */
    p.stop = stops;
    p.n_stop = 1;
    s.step = 0;
    n_chunks = 0;
    CHECK_OK(ll_generate(&lm, tok, prompt, 1, &p, &r, &err), err);
    joined[0] = '\0';
    for (size_t i = 0; i < n_chunks; i++) strcat(joined, chunks[i]);
    CHECK(r.seqs[0].reason == LL_STOP_STRING && strcmp(r.seqs[0].text, "\xC3\xA9") == 0 &&
              strcmp(joined, "\xC3\xA9") == 0,
          "stop string on a split character: text '%s', streamed '%s'", r.seqs[0].text, joined);
    ll_generate_result_free(&r);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/hf-beam-vectors.json", tu_shared());
    ll_error err;
    lj_doc *d = lj_parse_file(path, &err);
    if (!d) {
        fprintf(stderr, "%s (the shared test data is required)\n", err.message);
        return 1;
    }
    /* the toy itself against the README's check row */
    toy t = {.V = 20, .seed = 42, .context = 1, .scale = 3.0};
    float row[20];
    int32_t five = 5;
    toy_logits(&t, &five, 1, row);
    CHECK(fabsf(row[0] + 2.2584481f) < 1e-6f && fabsf(row[19] - 2.7702708f) < 1e-6f, "toy model check row");
    const lj_value *cases = lj_get(lj_root(d), "cases");
    for (size_t i = 0; i < cases->n; i++) run_beam_case(cases->items[i]);
    lj_free(d);
    ll_model *m = stories();
    if (m) {
        stopping(m);
        streaming_utf8(m);
        branches_and_seeds(m);
        ll_model_free(m);
    }
    return tu_finish("generate");
}
