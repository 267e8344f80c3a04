/*
 * bench_generate.c - what the generation loop costs beyond its parts.
 *
 *   bench_generate MODEL [threads] [runs]
 *
 * 1. "manual": the minimal loop a user would write by hand - decode one
 *    token, ll_chain_sample_inplace on the logits, accept - for 64 tokens
 *    after a 16-token prompt. This is forward pass + sampler and nothing
 *    else.
 * 2. "generate": ll_generate with the same chain and the same 64 tokens
 *    (ignore_eos, so both runs do identical work): the difference is what
 *    the loop adds (stop checks, detokenizing, bookkeeping). Target < 2%.
 * 3. Beam search with 4 beams vs greedy, both through ll_generate: time per
 *    generated token of the returned sequence. Target <= 4x.
 * Runs alternate and the medians are reported: absolute times on shared
 * machines are noisy, ratios from one run are what count.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "logitlab.h"

enum { N_PROMPT = 16, N_NEW = 64 };

static void die(const char *what, const ll_error *err) {
    fprintf(stderr, "bench_generate: %s: %s\n", what, err->message);
    exit(1);
}

static void sampling_params(ll_sampling_params *p) {
    ll_sampling_params_init(p, LL_PROFILE_LLAMACPP);
    p->seed = 42;
}

/* decode + chain, as by hand; returns seconds for N_NEW tokens after the prompt */
static double manual_loop(ll_context *c, const int32_t *prompt, size_t V, float *logits, int32_t *out) {
    ll_error err;
    ll_sampling_params sp;
    sampling_params(&sp);
    ll_chain *chain = ll_chain_from_params(&sp, V, &err);
    if (!chain) die("chain", &err);
    ll_context_rewind(c, 0, &err);
    if (ll_chain_set_prompt(chain, prompt, N_PROMPT, &err) != LL_OK) die("prompt", &err);
    if (ll_context_decode(c, prompt, N_PROMPT, logits, NULL, &err) != LL_OK) die("decode", &err);
    double t0 = bench_now_s();
    for (int i = 0; i < N_NEW; i++) {
        int32_t tok;
        if (ll_chain_sample_inplace(chain, logits, V, &tok, &err) != LL_OK) die("sample", &err);
        ll_chain_accept(chain, tok, &err);
        out[i] = tok;
        if (i + 1 < N_NEW && ll_context_decode(c, &tok, 1, logits, NULL, &err) != LL_OK) die("decode", &err);
    }
    double t = bench_now_s() - t0;
    ll_chain_free(chain);
    return t;
}

static double generate(ll_context *c, const ll_tokenizer *tok, const int32_t *prompt, int beams, size_t *n_out,
                       int32_t *out) {
    ll_error err;
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    ll_generate_params g;
    ll_generate_params_init(&g, beams > 1 ? LL_PROFILE_HF : LL_PROFILE_LLAMACPP);
    if (beams > 1) {
        g.num_beams = beams;
        g.early_stopping = LL_EARLY_STOPPING_NEVER;
        g.length_penalty = 0.0f;
    } else {
        sampling_params(&g.sampling);
    }
    g.max_new_tokens = N_NEW;
    g.ignore_eos = true;
    ll_generate_result r;
    if (ll_generate(&lm, tok, prompt, N_PROMPT, &g, &r, &err) != LL_OK) die("generate", &err);
    /* the prompt is not part of the loop's per-token cost */
    double t = r.gen_seconds;
    *n_out = r.seqs[0].n_tokens;
    if (out) memcpy(out, r.seqs[0].tokens, r.seqs[0].n_tokens * sizeof *out);
    ll_generate_result_free(&r);
    return t;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_generate MODEL [threads=2] [runs=5]\n"
                        "  e.g. logitlab synth -o /tmp/110m-Q4_0.gguf --type Q4_0\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 2, runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100 || threads < 1) return 2;
    ll_error err;
    ll_model *m = ll_model_load(argv[1], NULL, &err);
    if (!m) die("load", &err);
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    size_t V = ll_model_get_info(m)->n_vocab;
    ll_context *c = ll_context_new(m, 512, threads, &err);
    if (!c) die("context", &err);
    int32_t prompt[N_PROMPT];
    for (int i = 0; i < N_PROMPT; i++) prompt[i] = (int32_t)(1 + (i * 7919) % (int)(V - 1));
    float *logits = malloc(V * sizeof *logits);
    double tm[100], tg[100], tb[100], tgreedy[100];
    int32_t a[N_NEW], b[N_NEW];
    size_t n_gen = 0, n_beam = 0, n_greedy = 0;
    /* warm-up: caches, page faults, thread pool */
    manual_loop(c, prompt, V, logits, a);
    for (int r = 0; r < runs; r++) {
        tm[r] = manual_loop(c, prompt, V, logits, a) / N_NEW;
        tg[r] = generate(c, tok, prompt, 1, &n_gen, b) / (double)n_gen;
        if (n_gen != N_NEW || memcmp(a, b, sizeof a) != 0) {
            fprintf(stderr, "bench_generate: ll_generate and the manual loop chose different tokens\n");
            return 1;
        }
    }
    /* greedy vs beams */
    for (int r = 0; r < runs; r++) {
        {
            ll_lm lm;
            ll_lm_from_context(&lm, c);
            ll_generate_params q;
            ll_generate_params_init(&q, LL_PROFILE_HF); /* greedy: do_sample is off */
            q.max_new_tokens = N_NEW;
            q.ignore_eos = true;
            ll_generate_result res;
            if (ll_generate(&lm, tok, prompt, N_PROMPT, &q, &res, &err) != LL_OK) die("greedy", &err);
            n_greedy = res.seqs[0].n_tokens;
            tgreedy[r] = res.gen_seconds / (double)n_greedy;
            ll_generate_result_free(&res);
        }
        tb[r] = generate(c, tok, prompt, 4, &n_beam, NULL) / (double)n_beam;
    }
    double mm = bench_median(tm, runs), mg = bench_median(tg, runs), mb = bench_median(tb, runs), mgr = bench_median(tgreedy, runs);
    printf("model %s, %d threads, %d runs, prompt %d, %d new tokens, simd %s\n", argv[1], threads, runs, N_PROMPT,
           N_NEW, ll_simd_level_name());
    printf("manual loop (decode + chain)   %8.3f ms/token\n", mm * 1e3);
    printf("ll_generate, same chain        %8.3f ms/token\n", mg * 1e3);
    printf("loop overhead                  %+8.3f ms/token = %+.2f%% of a token (target < 2%%)\n", (mg - mm) * 1e3,
           100.0 * (mg - mm) / mg);
    printf("greedy (ll_generate)           %8.3f ms/token\n", mgr * 1e3);
    printf("beam search, 4 beams           %8.3f ms/token (%zu tokens) = %.2fx greedy (target <= 4x)\n", mb * 1e3,
           n_beam, mb / mgr);
    free(logits);
    ll_context_free(c);
    ll_model_free(m);
    return 0;
}
