/*
 * kernels.h - the vector kernels the sampling chain runs over whole logit
 * arrays, in one table per instruction set.
 *
 * Every implementation of an entry returns bit-identical results: the SIMD
 * versions replay the scalar arithmetic lane by lane (same operations, same
 * order of accumulation), so a seed picks the same token whatever CPU runs
 * it. A chain picks its table once, when it is created.
 */
#ifndef LL_KERNELS_H
#define LL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Arrays are processed in blocks of LL_BLOCK elements; per-block maxima and
 * sums let top-k and sampling skip most of a large vocabulary. */
#define LL_BLOCK 64

#define LL_MIN_SIZE(a, b) ((a) < (b) ? (a) : (b))

typedef struct ll_kernels {
    const char *name;
    /* Index of the first NaN or +inf, or -1. */
    ptrdiff_t (*find_invalid)(const float *x, size_t n);
    /* Largest value (-inf when n == 0). */
    float (*max)(const float *x, size_t n);
    /* out[b] = max of x[b*LL_BLOCK .. min(n, (b+1)*LL_BLOCK)). */
    void (*block_max)(const float *x, size_t n, float *out);
    /* x[i] = x[i] / t (a true division, as every framework does). */
    void (*div)(float *x, size_t n, float t);
    /* p[i] = ll_expf(x[i] - max) and, if block_sums is not NULL, the sum of
     * each block in double. Returns the total in double. Lane order of the
     * accumulation is fixed: element i goes to accumulator i % 8; the eight
     * are reduced as ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)); blocks are then
     * added in order. */
    double (*exp_sum)(const float *x, size_t n, float max, float *p, double *block_sums);
    /* Writes, in increasing order, the positions i with x[i] >= thr; returns
     * their count. */
    size_t (*filter_ge)(const float *x, size_t n, float thr, int32_t *idx);
} ll_kernels;

extern const ll_kernels ll_kernels_scalar;
#if defined(LL_HAVE_AVX2)
extern const ll_kernels ll_kernels_avx2;
#endif
#if defined(LL_HAVE_AVX512)
extern const ll_kernels ll_kernels_avx512;
#endif

/* The best table this CPU supports, lowered by LOGITLAB_SIMD if set. */
const ll_kernels *ll_kernels_best(void);

/* Constants of ll_expf, shared by every implementation. */
#define LL_EXP_TABLE_BITS 4
#define LL_EXP_N 16
#define LL_EXP_C_HI 0x1.7154766p+4          /* 16/ln2, 28 significant bits */
#define LL_EXP_C_LO (-0x1.a8fa03d1105e0p-25) /* 16/ln2 - LL_EXP_C_HI */
#define LL_EXP_SHIFT 0x1.8p52                 /* adding it rounds to an integer */
#define LL_EXP_X_MIN (-110.0)                 /* exp below this is 0 in float */
#define LL_EXP_X_MAX 90.0                     /* exp above this is +inf in float */
/* Taylor coefficients of 2^(r/16) = exp(r ln2/16): (ln2/16)^n / n! */
#define LL_EXP_P1 0.04332169878499658
#define LL_EXP_P2 0.0009383847928089872
#define LL_EXP_P3 1.3550807779497457e-05
#define LL_EXP_P4 1.467610032291943e-07
#define LL_EXP_P5 1.2715871950558131e-09
#define LL_EXP_P6 9.181219573844438e-12
extern const double ll_exp_table[LL_EXP_N]; /* 2^(j/16) */

#endif /* LL_KERNELS_H */
