/*
 * bench_sampling.c - microseconds per token for the sampling chains of
 * issue 2, at vocabulary sizes 32000, 128256 and 151936.
 *
 * Chains (llama.cpp profile):
 *   A    penalties(last 64, 1.1) -> top_k 40 -> top_p 0.95 -> min_p 0.05 -> temperature 0.8 -> dist
 *   B    top_k 50 -> top_p 0.9 -> temperature 0.7 -> dist
 *   greedy
 *   full temperature 0.8 -> dist over the whole vocabulary
 *
 * Logits ~ N(0, 3^2), the penalty window pre-filled with 64 random tokens,
 * as in the llama.cpp measurement the issue quotes. Two timings per chain:
 *   apply   ll_chain_sample_inplace on a buffer refreshed before each call
 *           (the generation loop's path: the model's logits are scratch),
 *           comparable to llama.cpp's "apply" column;
 *   const   ll_chain_sample on a const array (validation + copy included).
 * For an anchor measured in the same run, the same chains are also run by
 * a plain re-implementation of llama.cpp's algorithms (array-of-structs
 * fill, a hash lookup per candidate for penalties, bucket partial sort,
 * scalar expf): its ratio to logitlab is less noisy than comparing with
 * figures taken on another day.
 *
 * Medians of --iters timed calls after a warm-up. Not a test: run it with
 * `build/bench/bench_sampling` on an idle machine.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "logitlab.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint64_t rs = 0x1234567ull;
static double unif(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) * 0x1p-53;
}

/* ------------------------------------------------------------------ */
/* llama.cpp-style reference implementation (the same-run anchor)      */
/* ------------------------------------------------------------------ */

typedef struct {
    int32_t id;
    float logit, p;
} tok;

typedef struct {
    tok *data;
    size_t size;
    bool sorted;
    int64_t selected;
} tok_arr;

static int cmp_tok(const void *a, const void *b) {
    float x = ((const tok *)a)->logit, y = ((const tok *)b)->logit;
    return x > y ? -1 : x < y;
}

/* 128 buckets over [-10, 10], then sort only the top buckets */
static void ref_partial_sort(tok_arr *c, size_t k, tok *tmp, int *bucket_idx) {
    if (k <= 128) {
        /* heap-free selection: a simple partial selection sort would be
         * slower than llama.cpp; use a full sort of a bounded pass instead */
        size_t n = c->size;
        size_t count = 0;
        float thr = -INFINITY;
        /* keep the best k in tmp (insertion) */
        for (size_t i = 0; i < n; i++) {
            float l = c->data[i].logit;
            if (count == k && !(l > thr)) continue;
            size_t j = count < k ? count++ : k - 1;
            while (j > 0 && tmp[j - 1].logit < l) {
                tmp[j] = tmp[j - 1];
                j--;
            }
            tmp[j] = c->data[i];
            thr = tmp[count - 1].logit;
        }
        memcpy(c->data, tmp, k * sizeof *tmp);
    } else {
        int hist[128] = {0};
        for (size_t i = 0; i < c->size; i++) {
            int b = (int)(6.4f * c->data[i].logit + 64.0f);
            b = b < 0 ? 0 : b > 127 ? 127 : b;
            bucket_idx[i] = b;
            hist[b]++;
        }
        int ib = 127;
        size_t nhave = 0;
        for (; ib >= 0; ib--) {
            nhave += (size_t)hist[ib];
            if (nhave >= k) break;
        }
        size_t m = 0;
        for (size_t i = 0; i < c->size; i++)
            if (bucket_idx[i] >= ib) tmp[m++] = c->data[i];
        qsort(tmp, m, sizeof *tmp, cmp_tok);
        memcpy(c->data, tmp, k * sizeof *tmp);
    }
    c->size = k;
    c->sorted = true;
}

typedef struct {
    int32_t key[256];
    int32_t val[256];
} small_map; /* open addressing, the penalty window's counts */

static int map_find(const small_map *m, int32_t key) {
    uint32_t h = (uint32_t)key * 2654435761u;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t s = (h + i) & 255;
        if (m->key[s] == key) return m->val[s];
        if (m->key[s] == -1) return 0;
    }
    return 0;
}

static void map_add(small_map *m, int32_t key) {
    uint32_t h = (uint32_t)key * 2654435761u;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t s = (h + i) & 255;
        if (m->key[s] == key || m->key[s] == -1) {
            m->key[s] = key;
            m->val[s]++;
            return;
        }
    }
}

static void ref_softmax(tok_arr *c) {
    float max = c->sorted ? c->data[0].logit : -INFINITY;
    if (!c->sorted)
        for (size_t i = 0; i < c->size; i++) max = fmaxf(max, c->data[i].logit);
    float sum = 0;
    for (size_t i = 0; i < c->size; i++) sum += (c->data[i].p = expf(c->data[i].logit - max));
    for (size_t i = 0; i < c->size; i++) c->data[i].p /= sum;
}

static void ref_dist(tok_arr *c, ll_mt19937 *r) {
    float max = c->data[0].logit;
    for (size_t i = 1; i < c->size; i++) max = fmaxf(max, c->data[i].logit);
    double sum = 0;
    for (size_t i = 0; i < c->size; i++) sum += (c->data[i].p = expf(c->data[i].logit - max));
    double target = sum * ll_mt19937_canonical_double(r), run = 0;
    c->selected = (int64_t)c->size - 1;
    bool found = false;
    for (size_t i = 0; i < c->size; i++) {
        if (!found) {
            run += c->data[i].p;
            if (run >= target) {
                c->selected = (int64_t)i;
                found = true;
            }
        }
        c->data[i].p = (float)(c->data[i].p / sum);
    }
}

/* chain: 'A', 'B', 'g' (greedy), 'f' (full); returns the token */
static int32_t ref_chain(char which, const float *logits, size_t n, tok *buf, tok *tmp, int *bidx, const small_map *win,
                         ll_mt19937 *r) {
    tok_arr c = {buf, n, false, -1};
    for (size_t i = 0; i < n; i++) buf[i] = (tok){(int32_t)i, logits[i], 0};
    if (which == 'g') {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (buf[i].logit > buf[best].logit) best = i;
        return buf[best].id;
    }
    if (which == 'A')
        for (size_t i = 0; i < c.size; i++) {
            int cnt = map_find(win, c.data[i].id);
            if (cnt > 0) c.data[i].logit = c.data[i].logit <= 0 ? c.data[i].logit * 1.1f : c.data[i].logit / 1.1f;
        }
    if (which == 'A' || which == 'B') {
        ref_partial_sort(&c, which == 'A' ? 40 : 50, tmp, bidx);
        ref_softmax(&c);
        float cum = 0, p = which == 'A' ? 0.95f : 0.9f;
        for (size_t i = 0; i < c.size; i++) {
            cum += c.data[i].p;
            if (cum >= p) {
                c.size = i + 1;
                break;
            }
        }
        if (which == 'A') {
            float thr = c.data[0].logit + logf(0.05f);
            size_t i = 1;
            while (i < c.size && c.data[i].logit >= thr) i++;
            c.size = i;
        }
    }
    float t = which == 'B' ? 0.7f : 0.8f;
    for (size_t i = 0; i < c.size; i++) c.data[i].logit /= t;
    ref_dist(&c, r);
    return c.data[c.selected].id;
}

/* ------------------------------------------------------------------ */

static ll_chain *make_chain(char which, size_t V, const int32_t *window) {
    ll_error err;
    ll_chain *ch = ll_chain_new(V, &err);
    const ll_profile L = LL_PROFILE_LLAMACPP;
    if (which == 'A') {
        ll_penalty_params pp = {1.1f, 0, 0, LL_PENALTY_SCOPE_LAST_N, LL_PENALTY_SCOPE_LAST_N, 64, L};
        ll_chain_add(ch, ll_sampler_penalties_new(&pp, &err), &err);
        ll_chain_add(ch, ll_sampler_top_k_new(40, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_top_p_new(0.95, 1, L, &err), &err);
        ll_chain_add(ch, ll_sampler_min_p_new(0.05, 1, L, &err), &err);
        ll_chain_add(ch, ll_sampler_temperature_new(0.8f, L, &err), &err);
    } else if (which == 'B') {
        ll_chain_add(ch, ll_sampler_top_k_new(50, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_top_p_new(0.9, 1, L, &err), &err);
        ll_chain_add(ch, ll_sampler_temperature_new(0.7f, L, &err), &err);
    } else if (which == 'f') {
        ll_chain_add(ch, ll_sampler_temperature_new(0.8f, L, &err), &err);
    }
    ll_chain_add(ch, which == 'g' ? ll_sampler_greedy_new(&err) : ll_sampler_dist_new(42, L, &err), &err);
    ll_chain_set_prompt(ch, window, 64, &err);
    return ch;
}

int main(int argc, char **argv) {
    int iters = 2000, warm = 100;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = true;
        else {
            fprintf(stderr, "usage: bench_sampling [--iters N] [--json]\n");
            return 2;
        }
    }
    const size_t sizes[] = {32000, 128256, 151936};
    const char chains[] = {'A', 'B', 'g', 'f'};
    const char *names[] = {"A", "B", "greedy", "full"};
    double *t = malloc((size_t)iters * sizeof *t);
    if (!json) {
        printf("logitlab sampling bench: simd=%s, %d iterations, median us/token\n", ll_simd_level_name(), iters);
        printf("%-7s %8s %10s %10s %12s %8s\n", "chain", "n_vocab", "apply", "const", "llama.cpp-ref", "ratio");
    }
    for (size_t si = 0; si < 3; si++) {
        size_t V = sizes[si];
        float *logits = malloc(V * sizeof *logits), *work = malloc(V * sizeof *work);
        tok *buf = malloc(V * sizeof *buf), *tmp = malloc(V * sizeof *tmp);
        int *bidx = malloc(V * sizeof *bidx);
        for (size_t i = 0; i < V; i++)
            logits[i] = (float)(3.0 * sqrt(-2 * log(unif() + 1e-300)) * cos(6.283185307179586 * unif()));
        int32_t window[64];
        small_map win;
        memset(win.key, -1, sizeof win.key);
        memset(win.val, 0, sizeof win.val);
        for (int i = 0; i < 64; i++) {
            window[i] = (int32_t)(unif() * (double)V);
            map_add(&win, window[i]);
        }
        for (size_t ci = 0; ci < 4; ci++) {
            ll_chain *ch = make_chain(chains[ci], V, window);
            ll_error err;
            int32_t tokn;
            for (int i = 0; i < warm + iters; i++) {
                memcpy(work, logits, V * sizeof *work);
                double t0 = now_us();
                ll_chain_sample_inplace(ch, work, V, &tokn, &err);
                if (i >= warm) t[i - warm] = now_us() - t0;
            }
            double apply = bench_median(t, iters);
            for (int i = 0; i < warm + iters; i++) {
                double t0 = now_us();
                ll_chain_sample(ch, logits, V, &tokn, &err);
                if (i >= warm) t[i - warm] = now_us() - t0;
            }
            double cnst = bench_median(t, iters);
            ll_mt19937 r;
            ll_mt19937_seed(&r, 42);
            volatile int32_t sink = 0;
            for (int i = 0; i < warm + iters; i++) {
                double t0 = now_us();
                sink += ref_chain(chains[ci], logits, V, buf, tmp, bidx, &win, &r);
                if (i >= warm) t[i - warm] = now_us() - t0;
            }
            (void)sink;
            double ref = bench_median(t, iters);
            if (json)
                printf("{\"chain\":\"%s\",\"n_vocab\":%zu,\"apply_us\":%.2f,\"const_us\":%.2f,\"ref_us\":%.2f,"
                       "\"simd\":\"%s\"}\n",
                       names[ci], V, apply, cnst, ref, ll_simd_level_name());
            else
                printf("%-7s %8zu %10.2f %10.2f %12.2f %7.1fx\n", names[ci], V, apply, cnst, ref, ref / apply);
            ll_chain_free(ch);
        }
        free(logits);
        free(work);
        free(buf);
        free(tmp);
        free(bidx);
    }
    free(t);
    return 0;
}
