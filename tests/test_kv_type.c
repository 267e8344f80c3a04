/*
 * test_kv_type.c - the KV cache type (ll_context_params.kv_type): an F16
 * cache stores every key and value rounded to F16 to nearest even, bit for
 * bit as ggml stores it (ll_fp32_to_fp16, vcvtps2ph), a Q8_0 cache as
 * ggml's quantize_row_q8_0 stores its blocks (scale amax / 127 rounded to
 * half, values rounded to nearest even at 127 / amax); their logits stay
 * within a stated bound of the F32 cache's on the embedded KJV model and
 * stories260K (F16 only: its head size, 8, is no multiple of Q8_0's 32,
 * which is an error); the thread count and the kernel table change no bit;
 * rows of F16, Q8_0 and F32 contexts share a step without changing any;
 * branch nodes are stored like the cache; sizes; bad values are errors
 * that name the value and the valid ones; the default stays F32.
 */
#include "test_util.h"

#include "kernels/attention.h"
#include "kernels/quant.h"
#include "model/model_impl.h"

/* The largest |logit(F16 cache) - logit(F32 cache)| allowed, over a
 * 40-token prompt and 24 one-token steps (logits span about 20). Measured
 * when written (AVX-512): KJV (Q8_0, 6 layers, head size 32) 0.165,
 * stories260K (F32, 5 layers, head size 8) 0.0147; the bounds are 3x that,
 * room for other CPUs' matrix kernels, far below a wrong cache (> 1). */
#define KJV_BOUND     0.5
#define STORIES_BOUND 0.05
/* the same for a Q8_0 cache on KJV: measured when written (AVX-512)
 * 0.172 (F16 then 0.196), the bound 3x that */
#define KJV_Q8_BOUND 0.5
#define N_PROMPT      40
#define N_STEPS       24

static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}
static float rnd_float(float scale) { return ((float)rnd() / (float)(1u << 24) * 2.0f - 1.0f) * scale; }

static ll_context *make(const ll_model *m, size_t n_ctx, int threads, ll_kv_type t) {
    ll_error err;
    ll_context_params p = ll_context_params_default();
    p.n_ctx = n_ctx;
    p.n_threads = threads;
    p.kv_type = t;
    ll_context *c = ll_context_new_ex(m, &p, &err);
    CHECK(c != NULL, "%s", err.message);
    return c;
}

/* a prompt of N_PROMPT tokens, then N_STEPS tokens one at a time (each
 * the previous logits' argmax of the F32 run, given in `gen` when not
 * NULL, else chosen and written there); logits of every step */
static void run(const ll_model *m, int threads, ll_kv_type t, int32_t *gen, bool choose, float *logits) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab;
    ll_context *c = make(m, 128, threads, t);
    if (!c) return;
    int32_t p[N_PROMPT];
    for (size_t i = 0; i < N_PROMPT; i++) p[i] = (int32_t)(1 + (17 * i + 5) % (V - 1));
    CHECK_OK(ll_context_decode(c, p, N_PROMPT, logits, NULL, &err), err);
    for (size_t s = 0; s < N_STEPS; s++) {
        const float *lg = logits + s * V;
        if (choose) {
            size_t b = 0;
            for (size_t i = 1; i < V; i++)
                if (lg[i] > lg[b]) b = i;
            gen[s] = (int32_t)b;
        }
        CHECK_OK(ll_context_decode(c, &gen[s], 1, logits + (s + 1) * V, NULL, &err), err);
    }
    ll_context_free(c);
}

/* ggml's quantize_row_q8_0 for one block of 32, written out: the scale
 * amax / 127 rounded to half, the values x * (127 / amax) rounded to
 * nearest even */
static void q8_0_block(const float *x, uint8_t out[34]) {
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
    uint16_t d = ll_fp32_to_fp16(amax / 127.0f);
    float id = amax != 0 ? 127.0f / amax : 0.0f;
    out[0] = (uint8_t)(d & 0xFF);
    out[1] = (uint8_t)(d >> 8);
    for (int i = 0; i < 32; i++) out[2 + i] = (uint8_t)(int8_t)lrintf(x[i] * id);
}

/* t's logits against F32's within bound, the same bits on 1 and 3
 * threads as on 2 */
static void logits_checks(const ll_model *m, const char *name, ll_kv_type t, double bound, const float *a,
                          int32_t *gen) {
    size_t V = ll_model_get_info(m)->n_vocab, n = (N_STEPS + 1) * V;
    float *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    const char *tn = ll_kv_type_name(t);
    run(m, 2, t, gen, false, b);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
    CHECK(worst <= bound && worst > 0, "%s: max |%s - f32| logit = %g, bound %g (0: the cache type is not used)", name,
          tn, worst, bound);
    printf("%s: max |logit(%s cache) - logit(f32 cache)| = %.6f (bound %g)\n", name, tn, worst, bound);
    for (int threads = 1; threads <= 3; threads += 2) {
        run(m, threads, t, gen, false, c);
        CHECK(memcmp(b, c, n * sizeof *c) == 0, "%s: %s cache, %d threads: logits differ from 2 threads", name, tn,
              threads);
    }
    free(b);
    free(c);
}

/* F16 (and Q8_0 where the head size allows it: q8_bound > 0) against
 * F32 logits, the F16 rounding and Q8_0 blocks of layer 0's stored keys
 * and values (their inputs do not depend on the cache), thread counts. */
static void model_checks(const ll_model *m, const char *name, double bound, double q8_bound) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab, n = (N_STEPS + 1) * V;
    float *a = malloc(n * sizeof *a);
    int32_t gen[N_STEPS];
    run(m, 2, LL_KV_F32, gen, true, a);
    logits_checks(m, name, LL_KV_F16, bound, a, gen);
    if (q8_bound > 0) logits_checks(m, name, LL_KV_Q8_0, q8_bound, a, gen);

    /* layer 0: the F16 bits are the F32 values rounded, the Q8_0 blocks
     * the F32 values quantized */
    bool q8 = q8_bound > 0;
    ll_context *f32 = make(m, 64, 1, LL_KV_F32), *f16 = make(m, 64, 1, LL_KV_F16),
               *c8 = q8 ? make(m, 64, 1, LL_KV_Q8_0) : NULL;
    int32_t p[20];
    for (size_t i = 0; i < 20; i++) p[i] = (int32_t)(1 + (29 * i + 3) % (V - 1));
    for (int t = 0; t < 3; t++) {
        ll_context *x = t == 0 ? f32 : t == 1 ? f16 : c8; /* the same arithmetic in all: a run, then one-token rows */
        if (!x) continue;
        CHECK_OK(ll_context_decode(x, p, 12, a, NULL, &err), err);
        for (size_t i = 12; i < 20; i++) CHECK_OK(ll_context_decode(x, &p[i], 1, a, NULL, &err), err);
    }
    size_t kv = m->kv_dim, hd = ll_model_get_info(m)->head_dim, heads = ll_model_get_info(m)->n_kv_heads;
    size_t bad = 0, bad8 = 0, nonzero = 0, missing = 0;
    for (size_t pos = 0; pos < 20; pos++)
        for (size_t head = 0; head < heads; head++)
            for (int value = 0; value < 2; value++) {
                const float *x = ll_context_kv_at(f32, 0, head, pos, value);
                const uint16_t *h = ll_context_kv_at(f16, 0, head, pos, value);
                const uint8_t *b8 = c8 ? ll_context_kv_at(c8, 0, head, pos, value) : NULL;
                missing += !x || !h || (q8 && !b8);
                for (size_t i = 0; x && h && i < hd; i++) {
                    bad += h[i] != ll_fp32_to_fp16(x[i]);
                    nonzero += x[i] != 0;
                }
                for (size_t blk = 0; x && b8 && blk < hd / 32; blk++) {
                    uint8_t want[34];
                    q8_0_block(x + 32 * blk, want);
                    bad8 += memcmp(want, b8 + 34 * blk, 34) != 0;
                }
            }
    CHECK(missing == 0 && bad == 0 && nonzero > 0,
          "%s: %zu stored F16 values are not the F32 values rounded to nearest even (%zu heads missing)", name, bad,
          missing);
    CHECK(bad8 == 0, "%s: %zu stored Q8_0 blocks are not ggml's quantization of the F32 values", name, bad8);
    CHECK(ll_context_kv_at(f16, 0, 0, 20, false) == NULL, "position 20 is not cached");
    CHECK(ll_context_kv_at(f16, ll_model_get_info(m)->n_layers, 0, 0, false) == NULL, "no such layer");
    CHECK(ll_context_kv_at(f16, 0, heads, 0, false) == NULL, "no such KV head");

    /* sizes: half the bytes, exactly 2 x layers x positions x kv_dim x 2,
     * the 64 positions rounded up to a block of 128 */
    size_t L = ll_model_get_info(m)->n_layers;
    CHECK(ll_context_kv_bytes(f16) == 2 * L * 128 * kv * 2, "%s: F16 KV bytes %zu", name, ll_context_kv_bytes(f16));
    CHECK(ll_context_kv_bytes(f32) == 2 * ll_context_kv_bytes(f16), "%s: F32 KV bytes %zu vs F16 %zu", name,
          ll_context_kv_bytes(f32), ll_context_kv_bytes(f16));
    CHECK(ll_context_kv_type(f16) == LL_KV_F16 && ll_context_kv_type(f32) == LL_KV_F32, "kv types");
    if (c8) /* 34 bytes per 32 values */
        CHECK(ll_context_kv_bytes(c8) == 2 * L * 128 * kv / 32 * 34 && ll_context_kv_type(c8) == LL_KV_Q8_0,
              "%s: Q8_0 KV bytes %zu", name, ll_context_kv_bytes(c8));
    ll_context_free(f32);
    ll_context_free(f16);
    ll_context_free(c8);
    free(a);
}

/* An F32, an F16 and a Q8_0 context share steps (the work context F32):
 * each gets the bits it gets alone; branches of an F16 or a Q8_0 context
 * equal appending. */
static void mixed_and_branches(const ll_model *m) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab;
    enum { NT = 3 };
    const ll_kv_type types[NT] = {LL_KV_F32, LL_KV_F16, LL_KV_Q8_0};
    float *alone = malloc(2 * NT * V * sizeof(float)), *got = malloc(2 * NT * V * sizeof(float));
    int32_t p[12] = {1, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150}, next = 77;
    for (int t = 0; t < NT; t++) {
        ll_context *c = make(m, 32, 1, types[t]);
        if (!c) return;
        CHECK_OK(ll_context_decode(c, p, 12, alone + 2 * t * V, NULL, &err), err);
        CHECK_OK(ll_context_decode(c, &next, 1, alone + (2 * t + 1) * V, NULL, &err), err);
        ll_context_free(c);
    }
    ll_context *work = make(m, 4, 2, LL_KV_F32), *ctx[NT];
    for (int t = 0; t < NT; t++) ctx[t] = make(m, 32, 1, types[t]);
    if (!work || !ctx[0] || !ctx[1] || !ctx[2]) return;
    ll_batch_row rows[12 * NT];
    for (int t = 0; t < NT; t++)
        for (size_t i = 0; i < 12; i++)
            rows[12 * t + i] = (ll_batch_row){ctx[t], p[i], LL_BATCH_APPEND, -1, i == 11 ? got + 2 * t * V : NULL};
    CHECK_OK(ll_decode_batch(work, rows, 12 * NT, &err), err);
    for (int t = 0; t < NT; t++) /* in another order than the prompts' */
        rows[t] = (ll_batch_row){ctx[NT - 1 - t], next, LL_BATCH_APPEND, -1, got + (2 * (NT - 1 - t) + 1) * V};
    CHECK_OK(ll_decode_batch(work, rows, NT, &err), err);
    CHECK(memcmp(alone, got, 2 * NT * V * sizeof(float)) == 0,
          "F32, F16 and Q8_0 contexts in one step differ from alone");

    /* a branch of an F16 or a Q8_0 context: the node stored as the cache, as an appended row */
    for (int t = 1; t < NT; t++) {
        ll_context *b = make(m, 32, 1, types[t]);
        int32_t parents[2] = {-1, -1}, toks[2] = {next, next}, nodes[2], child = 9;
        CHECK_OK(ll_context_decode(b, p, 12, got, NULL, &err), err);
        CHECK_OK(ll_context_decode_tree(b, parents, toks, 2, got, nodes, &err), err);
        CHECK(memcmp(got, alone + (2 * t + 1) * V, V * sizeof(float)) == 0, "a %s branch row differs from appending it",
              ll_kv_type_name(types[t]));
        CHECK_OK(ll_context_decode_tree(b, &nodes[1], &child, 1, got + V, nodes, &err), err);
        ll_context *ap = make(m, 32, 1, types[t]);
        CHECK_OK(ll_context_decode(ap, p, 12, got + 2 * V, NULL, &err), err);
        CHECK_OK(ll_context_decode(ap, &next, 1, got + 2 * V, NULL, &err), err);
        CHECK_OK(ll_context_decode(ap, &child, 1, got + 2 * V, NULL, &err), err);
        CHECK(memcmp(got + V, got + 2 * V, V * sizeof(float)) == 0, "a %s node read back differs from the cache's",
              ll_kv_type_name(types[t]));
        ll_context_free(ap);
        ll_context_free(b);
    }
    ll_context_free(work);
    for (int t = 0; t < NT; t++) ll_context_free(ctx[t]);
    free(alone);
    free(got);
}

/* Every table this CPU runs gives the scalar table's bits, for head sizes
 * around the 64-dimension blocks and the 8-dimension tail, runs that start
 * inside a block of 16 positions, both accumulator layouts. */
static void kernel_tables(void) {
    const ll_attn_kernels *best = ll_attn_kernels_best(), *tables[3];
    size_t nt = 0;
#if defined(LL_HAVE_AVX2)
    if (strcmp(best->name, "avx2") == 0 || strcmp(best->name, "avx512") == 0) tables[nt++] = &ll_attn_avx2;
#endif
#if defined(LL_HAVE_AVX512)
    if (strcmp(best->name, "avx512") == 0) tables[nt++] = &ll_attn_avx512;
#endif
    printf("attention tables checked against scalar: %zu (best: %s)\n", nt, best->name);
    enum { MAXD = 200, NK = 140, ACC = LL_ATTN_LANES * LL_ATTN_MAX_ACC * MAXD };
    static const size_t dims[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 64, 72, 80, 96, 100, 128, 130, 200};
    static float q[MAXD], k[NK * (MAXD + 3)], w[NK], s_ref[NK], s_got[NK], o_ref[MAXD], o_got[MAXD];
    static float acc_ref[ACC], acc_got[ACC], x_ref[NK], x_got[NK];
    static uint16_t kh[NK * (MAXD + 3)], h_ref[NK * (MAXD + 3)], h_got[NK * (MAXD + 3)];
    for (size_t di = 0; di < LL_ARRAY_LEN(dims); di++) {
        size_t hd = dims[di], stride = hd + 3;
        for (size_t i = 0; i < hd; i++) q[i] = rnd_float(4.0f);
        for (size_t i = 0; i < NK * stride; i++) {
            k[i] = rnd_float(3.0f);
            kh[i] = ll_fp32_to_fp16(k[i]);
        }
        for (size_t i = 0; i < NK; i++) w[i] = rnd_float(1.0f);
        for (size_t t = 0; t < nt; t++) {
            const ll_attn_kernels *T = tables[t];
            for (size_t n = 1; n <= NK; n += 23) {
                ll_attn_scalar.scores_f32(q, k, stride, n, hd, s_ref);
                T->scores_f32(q, k, stride, n, hd, s_got);
                CHECK(memcmp(s_ref, s_got, n * sizeof(float)) == 0, "%s scores_f32 hd %zu n %zu", T->name, hd, n);
                ll_attn_scalar.scores_f16(q, kh, stride, n, hd, s_ref);
                T->scores_f16(q, kh, stride, n, hd, s_got);
                CHECK(memcmp(s_ref, s_got, n * sizeof(float)) == 0, "%s scores_f16 hd %zu n %zu", T->name, hd, n);
            }
            for (size_t n_acc = 1; n_acc <= 4; n_acc += 3) {
                size_t p0 = 5 + hd % 13, L = LL_ATTN_LANES * n_acc * hd; /* a run not starting a block */
                ll_attn_scalar.wsum_f32(acc_ref, n_acc, w, k, stride, NK - 2, hd, p0, true);
                T->wsum_f32(acc_got, n_acc, w, k, stride, NK - 2, hd, p0, true);
                /* then one more position, as a branch node adds it */
                ll_attn_scalar.wsum_f32(acc_ref, n_acc, w + 1, k + stride, stride, 1, hd, p0 + NK - 2, false);
                T->wsum_f32(acc_got, n_acc, w + 1, k + stride, stride, 1, hd, p0 + NK - 2, false);
                CHECK(memcmp(acc_ref, acc_got, L * sizeof(float)) == 0, "%s wsum_f32 hd %zu n_acc %zu", T->name, hd,
                      n_acc);
                ll_attn_scalar.wsum_reduce(o_ref, acc_ref, n_acc, hd);
                T->wsum_reduce(o_got, acc_ref, n_acc, hd);
                CHECK(memcmp(o_ref, o_got, hd * sizeof(float)) == 0, "%s wsum_reduce hd %zu n_acc %zu", T->name, hd,
                      n_acc);
                /* a short run (one token's step: position by position) */
                ll_attn_scalar.wsum_f32(acc_ref, n_acc, w, k, stride, 20, hd, p0, true);
                T->wsum_f32(acc_got, n_acc, w, k, stride, 20, hd, p0, true);
                CHECK(memcmp(acc_ref, acc_got, L * sizeof(float)) == 0, "%s short wsum_f32 hd %zu n_acc %zu", T->name,
                      hd, n_acc);
                ll_attn_scalar.wsum_f16(acc_ref, n_acc, w, kh, stride, NK, hd, p0, true);
                T->wsum_f16(acc_got, n_acc, w, kh, stride, NK, hd, p0, true);
                CHECK(memcmp(acc_ref, acc_got, L * sizeof(float)) == 0, "%s wsum_f16 hd %zu n_acc %zu", T->name, hd,
                      n_acc);
            }
            if (hd % 32 == 0) { /* Q8_0 values: q x d, then as F32 values */
                size_t rb = hd / 32 * 34 + 6; /* rows 6 bytes apart */
                static uint8_t v8[NK * (MAXD / 32 * 34 + 6)];
                static float deq[NK * MAXD];
                for (size_t i = 0; i < NK; i++)
                    for (size_t blk = 0; blk < hd / 32; blk++) {
                        q8_0_block(k + i * stride + 32 * blk, v8 + i * rb + 34 * blk);
                        ll_dequantize_row_ref(LL_T_Q8_0, v8 + i * rb + 34 * blk, deq + i * hd + 32 * blk, 32);
                    }
                for (size_t n_acc = 1; n_acc <= 4; n_acc += 3) {
                    size_t p0 = 3 + hd % 11, L = LL_ATTN_LANES * n_acc * hd;
                    for (size_t n = 20; n <= NK; n += NK - 20) { /* a short run and a long one */
                        ll_attn_scalar.wsum_f32(acc_ref, n_acc, w, deq, hd, n, hd, p0, true);
                        T->wsum_q8_0(acc_got, n_acc, w, v8, rb, n, hd, p0, true);
                        ll_attn_scalar.wsum_f32(acc_ref, n_acc, w + 1, deq + hd, hd, 1, hd, p0 + n, false);
                        T->wsum_q8_0(acc_got, n_acc, w + 1, v8 + rb, rb, 1, hd, p0 + n, false);
                        CHECK(memcmp(acc_ref, acc_got, L * sizeof(float)) == 0,
                              "%s wsum_q8_0 hd %zu n_acc %zu n %zu: not wsum_f32 of q x d", T->name, hd, n_acc, n);
                        ll_attn_scalar.wsum_q8_0(acc_got, n_acc, w, v8, rb, n, hd, p0, true);
                        ll_attn_scalar.wsum_q8_0(acc_got, n_acc, w + 1, v8 + rb, rb, 1, hd, p0 + n, false);
                        CHECK(memcmp(acc_ref, acc_got, L * sizeof(float)) == 0,
                              "scalar wsum_q8_0 hd %zu n_acc %zu n %zu: not wsum_f32 of q x d", hd, n_acc, n);
                    }
                }
            }
            ll_attn_scalar.to_f16(h_ref, k, NK * stride);
            T->to_f16(h_got, k, NK * stride);
            CHECK(memcmp(h_ref, h_got, NK * stride * sizeof(uint16_t)) == 0, "%s to_f16 n %zu", T->name, NK * stride);
            ll_attn_scalar.round_f16(o_ref, q, hd);
            T->round_f16(o_got, q, hd);
            CHECK(memcmp(o_ref, o_got, hd * sizeof(float)) == 0, "%s round_f16 hd %zu", T->name, hd);
            /* sums of squares of 1-19 rows side by side, each row's chain as one row alone */
            for (size_t rows = 1; rows < 20; rows += 2) {
                double ss_ref[20], ss_got[20];
                ll_attn_scalar.sq_sums(k, stride, rows, hd, ss_ref);
                T->sq_sums(k, stride, rows, hd, ss_got);
                CHECK(memcmp(ss_ref, ss_got, rows * sizeof(double)) == 0, "%s sq_sums hd %zu rows %zu", T->name, hd,
                      rows);
            }
            /* softmax over positions p0 .. p0 + n - 1 of scores up to 30 apart */
            size_t n = 1 + hd % NK, p0 = hd % 23;
            for (size_t i = 0; i < n; i++) x_ref[i] = x_got[i] = rnd_float(15.0f);
            double sr = ll_attn_scalar.softmax_exp(x_ref, n, p0, 15.0f), sg = T->softmax_exp(x_got, n, p0, 15.0f);
            CHECK(sr == sg && memcmp(x_ref, x_got, n * sizeof(float)) == 0, "%s softmax_exp n %zu p0 %zu: %a vs %a",
                  T->name, n, p0, sr, sg);
            /* RoPE over one head: adjacent pairs and NeoX halves */
            for (int neox = 0; neox < 2; neox++) {
                for (size_t i = 0; i < hd; i++) o_ref[i] = o_got[i] = rnd_float(5.0f);
                ll_attn_scalar.rope(o_ref, k, hd / 2, neox);
                T->rope(o_got, k, hd / 2, neox);
                CHECK(memcmp(o_ref, o_got, hd * sizeof(float)) == 0, "%s rope hd %zu neox %d", T->name, hd, neox);
            }
            /* the FFN gate: the 16-blocks and a tail */
            for (size_t i = 0; i < hd; i++) o_ref[i] = o_got[i] = rnd_float(12.0f);
            ll_attn_scalar.swiglu(o_ref, q, hd);
            T->swiglu(o_got, q, hd);
            CHECK(memcmp(o_ref, o_got, hd * sizeof(float)) == 0, "%s swiglu n %zu", T->name, hd);
        }
    }
    /* exp at the edges: exactly 1 at 0, 0 far below, inf far above, close
     * to the true value in between (ggml's polynomial: not correctly
     * rounded, within 2 ulp) */
    static const float xs[] = {0.0f,    -0.0f,  -1e-8f,    -0.5f, -1.0f, -10.0f, -87.0f, -100.0f, -104.0f,
                               -150.0f, -1e30f, -INFINITY, 1.0f,  80.0f, 89.0f,  200.0f, INFINITY};
    for (size_t i = 0; i < LL_ARRAY_LEN(xs); i++) {
        float e_ref = xs[i], e;
        ll_attn_scalar.softmax_exp(&e_ref, 1, 0, 0.0f);
        double truth = exp((double)xs[i]);
        CHECK(xs[i] != 0.0f || e_ref == 1.0f, "exp(0) = %a", e_ref);
        bool over = isinf((float)truth);
        CHECK(over ? isinf(e_ref) && e_ref > 0 : fabs(e_ref - truth) <= 2.0 * fabs(truth) * 0x1p-23 + 0x1p-149,
              "exp(%g) = %a, true %a", xs[i], e_ref, truth);
        for (size_t t = 0; t < nt; t++) {
            e = xs[i];
            tables[t]->softmax_exp(&e, 1, 7, 0.0f);
            CHECK(memcmp(&e, &e_ref, sizeof e) == 0, "%s exp(%g) = %a, scalar %a", tables[t]->name, xs[i], e, e_ref);
        }
    }
    /* the order attention.h states: a 16-dimension head adds the products
     * in order (0x1p-24 + 1 + 0x1p-24 stays 1); at 64 dimensions d = 0
     * and d = 32 meet first (accumulators 0 and 2) */
    float one[64], kk[64] = {0}, out;
    for (size_t i = 0; i < 64; i++) one[i] = 1.0f;
    kk[0] = 0x1p-24f;
    kk[1] = 1.0f;
    kk[15] = 0x1p-24f;
    ll_attn_scalar.scores_f32(one, kk, 64, 1, 16, &out);
    CHECK(out == 1.0f, "order below 64 dimensions: got %a", out);
    kk[15] = 0;
    kk[32] = 0x1p-24f;
    ll_attn_scalar.scores_f32(one, kk, 64, 1, 64, &out);
    CHECK(out == 1.0f + 0x1p-23f, "order at 64 dimensions: got %a", out);
    for (size_t t = 0; t < nt; t++) {
        tables[t]->scores_f32(one, kk, 64, 1, 64, &out);
        CHECK(out == 1.0f + 0x1p-23f, "%s order at 64 dimensions: got %a", tables[t]->name, out);
    }
    /* RoPE's roundings: x0' = fma(x0, cos, -(x1 sin)) keeps x0 cos exact */
    {
        /* x0 cos = 1 + 2^-11 + 2^-23 + 2^-24 + 2^-35: rounded first it would go
         * up, and minus 2^-34 it stays there; fused it rounds down */
        float v[2] = {1.0f + 0x1p-12f, 1.0f}, r[2] = {1.0f + 0x1p-12f + 0x1p-23f, 0x1p-34f};
        float want1 = fmaf(v[0], r[1], v[1] * r[0]);
        ll_attn_scalar.rope(v, r, 1, false);
        CHECK(v[0] == 1.0f + 0x1p-11f + 0x1p-23f && v[1] == want1, "rope roundings: %a %a", v[0], v[1]);
    }
    /* F16 rounding at the edges, every table as ll_fp32_to_fp16 (ggml's) */
    static const float edge[] = {
        0.0f,     -0.0f,    1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 65504.0f,     65519.0f,     65520.0f,   -65520.0f,
        0x1p-24f, 0x1p-25f, 0x3p-25f,        0x1p-14f,        0x1.ff8p-15f, 0x1.ffcp-15f, INFINITY,   -INFINITY,
        1e-30f,   3.14159f, -2.71828f,       0x1.002p0f,      0x1.006p0f,   1e6f,         0x1.8p-24f, 0x1p-26f};
    uint16_t e_ref[LL_ARRAY_LEN(edge)], e_got[LL_ARRAY_LEN(edge)];
    for (size_t i = 0; i < LL_ARRAY_LEN(edge); i++) e_ref[i] = ll_fp32_to_fp16(edge[i]);
    CHECK(e_ref[2] == 0x3C00 && e_ref[3] == 0x3C02 && e_ref[6] == 0x7C00 && e_ref[5] == 0x7BFF && e_ref[8] == 0x0001 &&
              e_ref[9] == 0x0000 && e_ref[10] == 0x0002,
          "ties to even: %04x %04x %04x %04x %04x %04x %04x", e_ref[2], e_ref[3], e_ref[6], e_ref[5], e_ref[8],
          e_ref[9], e_ref[10]);
    float r_want[LL_ARRAY_LEN(edge)], r_got[LL_ARRAY_LEN(edge)];
    for (size_t i = 0; i < LL_ARRAY_LEN(edge); i++) r_want[i] = ll_fp16_to_fp32(e_ref[i]);
    for (size_t t = 0; t < nt; t++) {
        tables[t]->to_f16(e_got, edge, LL_ARRAY_LEN(edge));
        CHECK(memcmp(e_ref, e_got, sizeof e_ref) == 0, "%s to_f16 edge values", tables[t]->name);
        tables[t]->round_f16(r_got, edge, LL_ARRAY_LEN(edge));
        CHECK(memcmp(r_want, r_got, sizeof r_want) == 0, "%s round_f16 edge values", tables[t]->name);
    }
}

static void bad_values(const ll_model *m) {
    ll_error err;
    ll_context_params p = ll_context_params_default();
    CHECK(p.kv_type == LL_KV_F32 && p.n_ctx == 0 && p.n_threads == 1, "defaults: F32, n_ctx 0, 1 thread");
    ll_context *c = ll_context_new(m, 8, 1, &err);
    CHECK(c && ll_context_kv_type(c) == LL_KV_F32, "ll_context_new makes an F32 cache");
    ll_context_free(c);
    p.kv_type = (ll_kv_type)7;
    c = ll_context_new_ex(m, &p, &err);
    CHECK(!c && err.status == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "kv_type = 7") &&
              strstr(err.message, "LL_KV_F16") && strstr(err.message, "LL_KV_Q8_0 (2)"),
          "kv_type 7: %s", err.message);
    c = ll_context_new_ex(m, NULL, &err);
    CHECK(!c && err.status == LL_ERR_INVALID_ARGUMENT, "NULL params: %s", err.message);
    p = ll_context_params_default();
    p.kv_type = LL_KV_F16;
    p.n_ctx = (1u << 24) + 1;
    c = ll_context_new_ex(m, &p, &err);
    CHECK(!c && strstr(err.message, "16777217"), "n_ctx out of range: %s", err.message);
    ll_kv_type t = LL_KV_F32;
    CHECK(ll_kv_type_parse("f16", &t, &err) == LL_OK && t == LL_KV_F16, "f16 parses");
    CHECK(ll_kv_type_parse("f32", &t, &err) == LL_OK && t == LL_KV_F32, "f32 parses");
    CHECK(ll_kv_type_parse("q8_0", &t, &err) == LL_OK && t == LL_KV_Q8_0, "q8_0 parses");
    t = LL_KV_F32;
    CHECK(ll_kv_type_parse("q4_0", &t, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "'q4_0'") &&
              strstr(err.message, "f32, f16, q8_0") && t == LL_KV_F32,
          "q4_0: %s", err.message);
    CHECK(ll_kv_type_parse("F16", &t, &err) == LL_ERR_INVALID_ARGUMENT, "names are lower case, as llama.cpp's -ctk");
    CHECK(ll_kv_type_parse(NULL, &t, &err) == LL_ERR_INVALID_ARGUMENT, "NULL");
    CHECK(!strcmp(ll_kv_type_name(LL_KV_F16), "f16") && !strcmp(ll_kv_type_name(LL_KV_F32), "f32") &&
              !strcmp(ll_kv_type_name(LL_KV_Q8_0), "q8_0") && ll_kv_type_name((ll_kv_type)3) == NULL,
          "names");
}

int main(void) {
    ll_error err;
    kernel_tables();
    ll_model *kjv = ll_model_load_default(&err);
    CHECK(kjv != NULL, "%s", err.message);
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", tu_shared());
    ll_model *st = ll_model_load(path, NULL, &err);
    CHECK(st != NULL, "%s: %s", path, err.message);
    if (kjv) {
        model_checks(kjv, "KJV", KJV_BOUND, KJV_Q8_BOUND);
        mixed_and_branches(kjv);
        bad_values(kjv);
    }
    if (st) {
        model_checks(st, "stories260K", STORIES_BOUND, 0);
        /* Q8_0 blocks of 32 do not divide its heads of 8 */
        ll_context_params p = ll_context_params_default();
        p.kv_type = LL_KV_Q8_0;
        ll_context *c = ll_context_new_ex(st, &p, &err);
        CHECK(!c && err.status == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "multiple of 32") &&
                  strstr(err.message, "this model's is 8"),
              "Q8_0 cache with head size 8: %s", err.message);
        ll_context_free(c);
    }
    ll_model_free(kjv);
    ll_model_free(st);
    printf("%d checks, %d failures\n", tu_checks, tu_failures);
    return tu_failures != 0;
}
