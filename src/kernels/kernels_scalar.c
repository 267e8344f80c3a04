/*
 * kernels_scalar.c - the reference implementation of every kernel, and of
 * ll_expf.
 *
 * The SIMD tables must match these results bit for bit, so the arithmetic
 * here is written out exactly as the vector code performs it: fused
 * multiply-adds where they use them, eight accumulators where they have
 * eight lanes.
 */
#include "kernels.h"

#include "logitlab.h"

#include <math.h>
#include <string.h>

const double ll_exp_table[LL_EXP_N] = {
    1.0,
    1.0442737824274138,
    1.0905077326652577,
    1.1387886347566916,
    1.189207115002721,
    1.241857812073484,
    1.2968395546510096,
    1.3542555469368927,
    1.4142135623730951,
    1.4768261459394993,
    1.5422108254079407,
    1.6104903319492543,
    1.681792830507429,
    1.7562521603732995,
    1.8340080864093424,
    1.9152065613971474,
};

/*
 * exp(x) = 2^(k/16) * 2^(r/16), k = round(16x/ln2), |r| <= 1/2. The table
 * gives 2^(j/16), a degree-6 polynomial gives 2^(r/16) to ~2^-50, and the
 * double result is rounded once to float, so the answer is the correctly
 * rounded expf except when the exact value lies within ~2^-50 of a rounding
 * boundary. libm's expf differs by platform; this one does not.
 *
 * It is on the forward pass's path (SiLU: one call per FFN value), so the
 * fused multiply-adds are the CPU's where it has them (a clone chosen at
 * load time; fma rounds once either way, so the bits are the same) and
 * 2^m is built from its bits instead of calling ldexp (y 2^m with y in
 * [0.7, 1.5] and |m| < 200 is a normal double: the product is exact).
 */
/* gcc only: clang (the fuzz builds) leaves the clones' dispatcher out of
 * a static library with the fuzzer's instrumentation (an undefined
 * ll_expf at link time); there, the default code alone, same bits */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define LL_FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define LL_FMA_CLONES
#endif

static double pow2i(int64_t m) {
    uint64_t bits = (uint64_t)(m + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

LL_FMA_CLONES float ll_expf(float xf) {
    double x = (double)xf;
    if (x != x) return xf;
    if (!(x > LL_EXP_X_MIN)) x = LL_EXP_X_MIN;
    if (x > LL_EXP_X_MAX) x = LL_EXP_X_MAX;
    double zh = x * LL_EXP_C_HI; /* exact: 24-bit x times a 28-bit constant */
    double shifted = zh + LL_EXP_SHIFT; /* FP is strict: not folded away */
    double kd = shifted - LL_EXP_SHIFT;
    double r = fma(x, LL_EXP_C_LO, zh - kd);
    double poly = fma(r, LL_EXP_P6, LL_EXP_P5);
    poly = fma(r, poly, LL_EXP_P4);
    poly = fma(r, poly, LL_EXP_P3);
    poly = fma(r, poly, LL_EXP_P2);
    poly = fma(r, poly, LL_EXP_P1);
    poly = fma(r, poly, 1.0);
    int64_t k = (int64_t)kd;
    uint64_t j = (uint64_t)k & (LL_EXP_N - 1);
    int64_t m = (k - (int64_t)j) / LL_EXP_N;
    double y = ll_exp_table[j] * poly;
    return (float)(y * pow2i(m));
}

static ptrdiff_t scalar_find_invalid(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(x[i] < INFINITY)) return (ptrdiff_t)i;
    return -1;
}

static float scalar_max(const float *x, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

static void scalar_block_max(const float *x, size_t n, float *out) {
    for (size_t b = 0; b * LL_BLOCK < n; b++) {
        size_t end = LL_MIN_SIZE((b + 1) * LL_BLOCK, n);
        out[b] = scalar_max(x + b * LL_BLOCK, end - b * LL_BLOCK);
    }
}

static void scalar_div(float *x, size_t n, float t) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / t;
}

static double reduce8(const double a[8]) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

static double scalar_exp_sum(const float *x, size_t n, float max, float *p, double *block_sums) {
    double total = 0.0;
    for (size_t b = 0; b * LL_BLOCK < n; b++) {
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t start = b * LL_BLOCK, end = LL_MIN_SIZE(start + LL_BLOCK, n);
        for (size_t i = start; i < end; i++) {
            float v = ll_expf(x[i] - max);
            p[i] = v;
            acc[i % 8] += (double)v;
        }
        double s = reduce8(acc);
        if (block_sums) block_sums[b] = s;
        total += s;
    }
    return total;
}

static size_t scalar_filter_ge(const float *x, size_t n, float thr, int32_t *idx) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] >= thr) idx[m++] = (int32_t)i;
    return m;
}

const ll_kernels ll_kernels_scalar = {
    "scalar",
    scalar_find_invalid,
    scalar_max,
    scalar_block_max,
    scalar_div,
    scalar_exp_sum,
    scalar_filter_ge,
};
