/*
 * attention.h - the vector kernels of attention over a key/value cache
 * (internal): a query head's scores against cached keys, the softmax's
 * exponentials and their sum, the probability-weighted sum of cached
 * values, and the conversion of new keys and values into an F16 cache. One
 * table per instruction set, picked at run time (dispatch.c; LOGITLAB_SIMD
 * lowers it). The FFN's SiLU gate (it shares ggml's exp) and RoPE's turn
 * (ggml's fused roundings) and the RMS norm's sum of squares are here too.
 *
 * Every table returns the same bits, so a token depends neither on the
 * CPU, the table nor the thread count. The order of every sum is the one
 * llama.cpp's CPU backend uses on an AVX-512 build (ggml 34af94cd compiled
 * by gcc 12 -O3 -march=native; docs/parity.md), so that with an F32 cache
 * and llama.cpp run with -fa off the scores, probabilities and outputs are
 * ggml's own bits:
 *  - score (ggml_vec_dot_f32): the first hd & ~63 dimensions in 4 x 16
 *    lanes, dimension d into accumulator (d / 16) % 4, lane d % 16, by
 *    fused multiply-add from +0; the accumulators added as (a0 + a2) +
 *    (a1 + a3), the 16 lanes as a tree (lane i + 8 into i, then i + 4,
 *    i + 2, i + 1); then the rest in order: s + q[d] * k[d] rounded twice
 *    up to the last hd % 8 dimensions, fused for those (gcc's vectorized
 *    remainder loop, then its scalar epilogue).
 *  - exponentials (ggml_v_expf, AVX-512 form): a polynomial with fused
 *    multiply-adds scaled by 2^n; not correctly rounded, but the same bits
 *    everywhere. The sum: the cached positions in blocks of 16 by absolute
 *    position (masked positions add +0), each block a tree sum in float as
 *    above, the blocks added in double in order (ggml_vec_soft_max_f32).
 *  - weighted sum of values: position p into accumulator r = p % (16 x
 *    n_acc) by fused multiply-add in increasing p, from +0; n_acc 4 is
 *    ggml_vec_dot_f32 over the positions (one token: llama.cpp's vector
 *    path), reduced as the score's 4 x 16 lanes; n_acc 1 is tinyBLAS's 16
 *    lanes (a batch of tokens: llamafile's sgemm), a tree.
 *  - Q8_0 values are widened as ggml's dequantize_row_q8_0: (float)q x d,
 *    one rounding; then summed as F32 values.
 *  - F16 values are widened exactly; floats are narrowed to F16 rounding to
 *    nearest even, as ggml stores them (vcvtps2ph with imm 0,
 *    ll_fp32_to_fp16). A NaN stays a NaN (its payload bits may differ
 *    between tables).
 */
#ifndef LL_ATTENTION_H
#define LL_ATTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the weighted sum's accumulators: 16 lanes x LL_ATTN_MAX_ACC x head_dim floats */
#define LL_ATTN_MAX_ACC 4
#define LL_ATTN_LANES   16

typedef struct ll_attn_kernels {
    const char *name;
    /* out[i] = q . k_i for n keys k_i = k + i * stride (floats), hd each */
    void (*scores_f32)(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out);
    /* the same over F16 keys (stride in F16 elements) */
    void (*scores_f16)(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out);
    /* x[i] = exp(x[i] - max) for n values at absolute positions p0 + i;
     * returns their sum in ggml's order */
    double (*softmax_exp)(float *x, size_t n, size_t p0, float max);
    /* acc[r][d] (r < 16 x n_acc) += w[i] * v_i[d] for the positions p0 + i
     * of n values v_i = v + i * stride, r = (p0 + i) % (16 x n_acc), in
     * increasing position (n_acc 1 or 4); first: every accumulator starts
     * at +0 */
    void (*wsum_f32)(float *acc, size_t n_acc, const float *w, const float *v, size_t stride, size_t n, size_t hd,
                     size_t p0, bool first);
    void (*wsum_f16)(float *acc, size_t n_acc, const float *w, const uint16_t *v, size_t stride, size_t n, size_t hd,
                     size_t p0, bool first);
    /* the same over Q8_0 values (ggml's blocks of 32: half d, int8 q[32];
     * hd a multiple of 32), v_i = v + i * stride bytes, each value q x d */
    void (*wsum_q8_0)(float *acc, size_t n_acc, const float *w, const uint8_t *v, size_t stride, size_t n, size_t hd,
                      size_t p0, bool first);
    /* out[d] = the accumulators of d added in the order above */
    void (*wsum_reduce)(float *out, const float *acc, size_t n_acc, size_t hd);
    /* the FFN gate of one row, ggml_vec_swiglu_f32: g[i] = g[i] / (1 +
     * exp(-g[i])) * u[i], exp as above in blocks of 16 from the row's start,
     * ll_expf (correctly rounded, as glibc's expf nearly always is) for the
     * last n % 16 */
    void (*swiglu)(float *g, const float *u, size_t n);
    /* one head turned by RoPE, ggml's roundings: pair i (adjacent: 2i and
     * 2i + 1; neox: i and i + half) by r[2i] = cos, r[2i + 1] = sin:
     * x0' = fma(x0, cos, -(x1 sin)), x1' = fma(x0, sin, x1 cos) */
    void (*rope)(float *v, const float *r, size_t half, bool neox);
    /* dst[i] = x[i] rounded to F16 (nearest even), n values */
    void (*to_f16)(uint16_t *dst, const float *x, size_t n);
    /* dst[i] = x[i] rounded to F16 as to_f16 and widened back: a query
     * against an F16 cache, as ggml converts it to the keys' type */
    void (*round_f16)(float *dst, const float *x, size_t n);
    /* out[r] = the sum of squares of row r (x + r * stride, n values) as
     * ggml's RMS norm sums it: each square a float, added in order to a
     * double from +0. One long chain of additions per row, so the SIMD
     * tables run rows side by side, a row per lane */
    void (*sq_sums)(const float *x, size_t stride, size_t rows, size_t n, double *out);
} ll_attn_kernels;

extern const ll_attn_kernels ll_attn_scalar;
#if defined(LL_HAVE_AVX2)
extern const ll_attn_kernels ll_attn_avx2;
#endif
#if defined(LL_HAVE_AVX512)
extern const ll_attn_kernels ll_attn_avx512;
#endif

/* The table for the CPU ll_kernels_best picks (the same level). */
const ll_attn_kernels *ll_attn_kernels_best(void);

#endif /* LL_ATTENTION_H */
