/*
 * bench_batch.c - what continuous batching buys: B sequences advanced by
 * one ll_decode_batch step each (the server's step, without HTTP), against
 * one sequence decoded alone.
 *
 *   bench_batch MODEL [threads] [rounds] [streams,...] [tokens] [f32|f16|q8_0]
 *
 * Each level (default 1,4,8 streams) gets its own contexts holding a
 * 16-token prompt, then decodes `tokens` (default 64; serve_bench's
 * streams are 128) per stream, with a KV cache of the given type (default
 * f32, as `logitlab serve`'s), every stream one row
 * of each step (each row's token is its own greedy choice, so the streams
 * differ). The levels are interleaved round by round so that all see the
 * same machine state; printed: the median aggregate tokens/s of each level
 * and the median of the per-round ratios to one stream.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "logitlab.h"

enum { N_PROMPT = 16, MAX_NEW = 4096, MAX_LEVELS = 8, MAX_STREAMS = 64, MAX_ROUNDS = 101 };

static int n_new = 64;
static ll_kv_type kv_type = LL_KV_F32;

static void die(const char *what, const ll_error *err) {
    fprintf(stderr, "bench_batch: %s: %s\n", what, err->message);
    exit(1);
}

static int32_t argmax(const float *x, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int32_t)b;
}

/* One level: B fresh sequences, a prompt each (not timed), then n_new
 * steps of B rows; returns the aggregate generated tokens/s. */
static double run_level(const ll_model *m, int threads, size_t B, float *lg) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab;
    ll_context_params p = ll_context_params_default();
    p.n_ctx = N_PROMPT + (size_t)n_new + 1;
    p.kv_type = kv_type;
    p.n_threads = threads;
    ll_context *work = ll_context_new_ex(m, &p, &err), *c[MAX_STREAMS];
    p.n_threads = 1;
    if (!work) die("context", &err);
    ll_batch_row rows[MAX_STREAMS];
    for (size_t s = 0; s < B; s++) {
        int32_t prompt[N_PROMPT];
        for (size_t i = 0; i < N_PROMPT; i++) prompt[i] = (int32_t)((3 + 17 * s + 29 * i) % V);
        if (!(c[s] = ll_context_new_ex(m, &p, &err))) die("context", &err);
        if (ll_context_decode(c[s], prompt, N_PROMPT, lg + s * V, NULL, &err) != LL_OK) die("prompt", &err);
    }
    double t0 = bench_now_s();
    for (int k = 0; k < n_new; k++) {
        for (size_t s = 0; s < B; s++)
            rows[s] = (ll_batch_row){c[s], argmax(lg + s * V, V), LL_BATCH_APPEND, -1, lg + s * V};
        if (ll_decode_batch(work, rows, B, &err) != LL_OK) die("step", &err);
    }
    double dt = bench_now_s() - t0;
    for (size_t s = 0; s < B; s++) ll_context_free(c[s]);
    ll_context_free(work);
    return (double)(B * (size_t)n_new) / dt;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_batch MODEL [threads] [rounds] [streams,...] [tokens] [f32|f16|q8_0]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 2, rounds = argc > 3 ? atoi(argv[3]) : 5;
    size_t level[MAX_LEVELS] = {1, 4, 8}, n_levels = 3;
    if (argc > 4) {
        n_levels = 0;
        for (char *p = argv[4]; *p && n_levels < MAX_LEVELS;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 1 || v > MAX_STREAMS) {
                fprintf(stderr, "bench_batch: streams must be 1..%d, comma-separated\n", MAX_STREAMS);
                return 2;
            }
            level[n_levels++] = (size_t)v;
            p = *end == ',' ? end + 1 : end;
        }
    }
    if (argc > 5) n_new = atoi(argv[5]);
    if (threads < 1 || threads > 512 || rounds < 1 || rounds > MAX_ROUNDS || n_new < 1 || n_new > MAX_NEW) {
        fprintf(stderr, "bench_batch: threads 1..512, rounds 1..%d, tokens 1..%d\n", MAX_ROUNDS, MAX_NEW);
        return 2;
    }
    ll_error err;
    if (argc > 6 && ll_kv_type_parse(argv[6], &kv_type, &err) != LL_OK) die("KV type", &err);
    ll_model *m = ll_model_load(argv[1], NULL, &err);
    if (!m) die(argv[1], &err);
    float *lg = malloc(MAX_STREAMS * ll_model_get_info(m)->n_vocab * sizeof(float));
    if (!lg) return 1;
    static double rate[MAX_LEVELS][MAX_ROUNDS], ratio[MAX_LEVELS][MAX_ROUNDS];
    run_level(m, threads, level[0], lg); /* warm-up */
    for (int r = 0; r < rounds; r++)
        for (size_t l = 0; l < n_levels; l++) rate[l][r] = run_level(m, threads, level[l], lg);
    printf("%s, %d threads, %d rounds of %d tokens per stream, %s KV cache\n", argv[1], threads, rounds, n_new,
           ll_kv_type_name(kv_type));
    printf("streams   tokens/s (aggregate)   x one stream (median of per-round ratios)\n");
    for (size_t l = 0; l < n_levels; l++) {
        for (int r = 0; r < rounds; r++) ratio[l][r] = rate[l][r] / rate[0][r];
        printf("%7zu   %20.1f   %6.2f\n", level[l], bench_median(rate[l], rounds), bench_median(ratio[l], rounds));
    }
    free(lg);
    ll_model_free(m);
    return 0;
}
