/*
 * kernels_avx2.c - AVX2/FMA versions of the kernels (compiled with -mavx2
 * -mfma, called only after the CPU reports both).
 *
 * Results equal kernels_scalar.c bit for bit: ll_expf is evaluated in four
 * double lanes with the same operations, and sums keep the eight-accumulator
 * order the scalar code defines.
 */
#include "kernels.h"

#include <immintrin.h>
#include <math.h>

static ptrdiff_t avx2_find_invalid(const float *x, size_t n) {
    const __m256 inf = _mm256_set1_ps(INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 bad = _mm256_cmp_ps(_mm256_loadu_ps(x + i), inf, _CMP_NLT_UQ);
        int mask = _mm256_movemask_ps(bad);
        if (mask) return (ptrdiff_t)(i + (size_t)__builtin_ctz((unsigned)mask));
    }
    for (; i < n; i++)
        if (!(x[i] < INFINITY)) return (ptrdiff_t)i;
    return -1;
}

static float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static float avx2_max(const float *x, size_t n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
        m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
        m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    float m = hmax256(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

static void avx2_block_max(const float *x, size_t n, float *out) {
    size_t b = 0;
    for (; (b + 1) * LL_BLOCK <= n; b++) {
        const float *q = x + b * LL_BLOCK;
        __m256 m0 = _mm256_max_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(q + 8));
        __m256 m1 = _mm256_max_ps(_mm256_loadu_ps(q + 16), _mm256_loadu_ps(q + 24));
        __m256 m2 = _mm256_max_ps(_mm256_loadu_ps(q + 32), _mm256_loadu_ps(q + 40));
        __m256 m3 = _mm256_max_ps(_mm256_loadu_ps(q + 48), _mm256_loadu_ps(q + 56));
        out[b] = hmax256(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    }
    if (b * LL_BLOCK < n) out[b] = avx2_max(x + b * LL_BLOCK, n - b * LL_BLOCK);
}

static void avx2_div(float *x, size_t n, float t) {
    const __m256 tv = _mm256_set1_ps(t);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_div_ps(_mm256_loadu_ps(x + i), tv));
    for (; i < n; i++) x[i] = x[i] / t;
}

/* ll_expf on four lanes; see kernels_scalar.c for the method. */
static __m128 expf4(__m128 xf) {
    const __m256d xmin = _mm256_set1_pd(LL_EXP_X_MIN), xmax = _mm256_set1_pd(LL_EXP_X_MAX);
    const __m256d shift = _mm256_set1_pd(LL_EXP_SHIFT);
    __m256d x = _mm256_cvtps_pd(xf);
    x = _mm256_min_pd(_mm256_max_pd(x, xmin), xmax);
    __m256d zh = _mm256_mul_pd(x, _mm256_set1_pd(LL_EXP_C_HI));
    __m256d shifted = _mm256_add_pd(zh, shift);
    __m256d kd = _mm256_sub_pd(shifted, shift);
    __m256d r = _mm256_fmadd_pd(x, _mm256_set1_pd(LL_EXP_C_LO), _mm256_sub_pd(zh, kd));
    __m256d poly = _mm256_fmadd_pd(r, _mm256_set1_pd(LL_EXP_P6), _mm256_set1_pd(LL_EXP_P5));
    poly = _mm256_fmadd_pd(r, poly, _mm256_set1_pd(LL_EXP_P4));
    poly = _mm256_fmadd_pd(r, poly, _mm256_set1_pd(LL_EXP_P3));
    poly = _mm256_fmadd_pd(r, poly, _mm256_set1_pd(LL_EXP_P2));
    poly = _mm256_fmadd_pd(r, poly, _mm256_set1_pd(LL_EXP_P1));
    poly = _mm256_fmadd_pd(r, poly, _mm256_set1_pd(1.0));
    __m256i j = _mm256_and_si256(_mm256_castpd_si256(shifted), _mm256_set1_epi64x(LL_EXP_N - 1));
    __m256d t = _mm256_i64gather_pd(ll_exp_table, j, 8);
    /* 2^m with m = (k - j)/16 = floor(k/16), built in the exponent field */
    __m256d md = _mm256_floor_pd(_mm256_mul_pd(kd, _mm256_set1_pd(1.0 / LL_EXP_N)));
    __m256d mb = _mm256_add_pd(md, _mm256_set1_pd(LL_EXP_SHIFT + 1023.0));
    __m256d scale = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(mb), 52));
    __m256d y = _mm256_mul_pd(_mm256_mul_pd(t, poly), scale);
    return _mm256_cvtpd_ps(y);
}

static double reduce_lanes(__m256d lo, __m256d hi) {
    __m256d b = _mm256_add_pd(lo, hi); /* a0+a4, a1+a5, a2+a6, a3+a7 */
    __m128d b01 = _mm256_castpd256_pd128(b), b23 = _mm256_extractf128_pd(b, 1);
    __m128d c = _mm_add_pd(b01, b23); /* (a0+a4)+(a2+a6), (a1+a5)+(a3+a7) */
    return _mm_cvtsd_f64(_mm_add_sd(c, _mm_unpackhi_pd(c, c)));
}

static double avx2_exp_sum(const float *x, size_t n, float max, float *p, double *block_sums) {
    const __m128 mx = _mm_set1_ps(max);
    double total = 0.0;
    for (size_t b = 0; b * LL_BLOCK < n; b++) {
        size_t start = b * LL_BLOCK, end = LL_MIN_SIZE(start + LL_BLOCK, n);
        __m256d acc_lo = _mm256_setzero_pd(), acc_hi = _mm256_setzero_pd();
        size_t i = start;
        for (; i + 8 <= end; i += 8) {
            __m128 lo = expf4(_mm_sub_ps(_mm_loadu_ps(x + i), mx));
            __m128 hi = expf4(_mm_sub_ps(_mm_loadu_ps(x + i + 4), mx));
            _mm_storeu_ps(p + i, lo);
            _mm_storeu_ps(p + i + 4, hi);
            acc_lo = _mm256_add_pd(acc_lo, _mm256_cvtps_pd(lo));
            acc_hi = _mm256_add_pd(acc_hi, _mm256_cvtps_pd(hi));
        }
        if (i < end) {
            float xin[8], out[8];
            size_t rem = end - i;
            for (size_t q = 0; q < 8; q++) xin[q] = q < rem ? x[i + q] : -INFINITY;
            __m128 lo = expf4(_mm_sub_ps(_mm_loadu_ps(xin), mx));
            __m128 hi = expf4(_mm_sub_ps(_mm_loadu_ps(xin + 4), mx));
            _mm_storeu_ps(out, lo);
            _mm_storeu_ps(out + 4, hi);
            for (size_t q = 0; q < rem; q++) p[i + q] = out[q];
            acc_lo = _mm256_add_pd(acc_lo, _mm256_cvtps_pd(lo));
            acc_hi = _mm256_add_pd(acc_hi, _mm256_cvtps_pd(hi));
        }
        double s = reduce_lanes(acc_lo, acc_hi);
        if (block_sums) block_sums[b] = s;
        total += s;
    }
    return total;
}

static size_t avx2_filter_ge(const float *x, size_t n, float thr, int32_t *idx) {
    const __m256 tv = _mm256_set1_ps(thr);
    size_t m = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), tv, _CMP_GE_OQ));
        while (mask) {
            idx[m++] = (int32_t)(i + (size_t)__builtin_ctz(mask));
            mask &= mask - 1;
        }
    }
    for (; i < n; i++)
        if (x[i] >= thr) idx[m++] = (int32_t)i;
    return m;
}

const ll_kernels ll_kernels_avx2 = {
    "avx2",
    avx2_find_invalid,
    avx2_max,
    avx2_block_max,
    avx2_div,
    avx2_exp_sum,
    avx2_filter_ge,
};
