/*
 * attention.h - the vector kernels of attention over a key/value cache
 * (internal): one query head's scores against a run of cached keys, the
 * probability-weighted sum of the cached values, and the conversion of new
 * keys and values into an F16 cache. One table per instruction set,
 * picked at run time (dispatch.c, LOGITLAB_SIMD lowers it).
 *
 * Every table returns bit-identical results, so a token does not depend on
 * the CPU, the table or the thread count:
 *  - a score is a sum over the head's dimensions d in 16 lanes: lane
 *    d % 16 adds q[d] * k[d] (the product rounded to float, then the sum;
 *    no fused multiply-add) in increasing d from +0; the lanes are then
 *    added as a tree: lane i + 8 into i, then i + 4, i + 2, i + 1. (A
 *    missing lane adds +0, which changes nothing: a lane that starts at +0
 *    never holds -0.)
 *  - a weighted sum adds w[p] * v_p[d] to out[d] for p in increasing order
 *    (product rounded, then the sum), each d on its own.
 *  - F16 values are widened exactly; floats are narrowed to F16 rounding to
 *    nearest even, as ggml stores them (vcvtps2ph with imm 0,
 *    ll_fp32_to_fp16).
 */
#ifndef LL_ATTENTION_H
#define LL_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

typedef struct ll_attn_kernels {
    const char *name;
    /* out[i] = q . k_i for n keys k_i = k + i * stride (floats), hd each */
    void (*scores_f32)(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out);
    /* the same over F16 keys (stride in F16 elements) */
    void (*scores_f16)(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out);
    /* out[d] += w[i] * v_i[d] for i = 0 .. n-1 in order, v_i = v + i * stride, d < hd */
    void (*wsum_f32)(float *out, const float *w, const float *v, size_t stride, size_t n, size_t hd);
    void (*wsum_f16)(float *out, const float *w, const uint16_t *v, size_t stride, size_t n, size_t hd);
    /* dst[i] = x[i] rounded to F16 (nearest even), n values */
    void (*to_f16)(uint16_t *dst, const float *x, size_t n);
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
