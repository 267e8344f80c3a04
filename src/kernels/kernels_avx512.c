/*
 * kernels_avx512.c - AVX-512 (F/DQ/VL) versions of the kernels, compiled
 * with -mavx512f -mavx512dq -mavx512vl and called only after the CPU and
 * the OS report them.
 *
 * Results equal kernels_scalar.c bit for bit (see kernels.h).
 */
#include "kernels.h"

#include <immintrin.h>
#include <math.h>

static ptrdiff_t avx512_find_invalid(const float *x, size_t n) {
    const __m512 inf = _mm512_set1_ps(INFINITY);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __mmask16 bad = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), inf, _CMP_NLT_UQ);
        if (bad) return (ptrdiff_t)(i + (size_t)__builtin_ctz((unsigned)bad));
    }
    if (i < n) {
        __mmask16 tail = (__mmask16)((1u << (n - i)) - 1u);
        __mmask16 bad = _mm512_mask_cmp_ps_mask(tail, _mm512_maskz_loadu_ps(tail, x + i), inf, _CMP_NLT_UQ);
        if (bad) return (ptrdiff_t)(i + (size_t)__builtin_ctz((unsigned)bad));
    }
    return -1;
}

static float avx512_max(const float *x, size_t n) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
        m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 32));
        m3 = _mm512_max_ps(m3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    if (i < n) {
        __mmask16 tail = (__mmask16)((1u << (n - i)) - 1u);
        m1 = _mm512_mask_max_ps(m1, tail, m1, _mm512_maskz_loadu_ps(tail, x + i));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

static void avx512_block_max(const float *x, size_t n, float *out) {
    size_t b = 0;
    for (; (b + 1) * LL_BLOCK <= n; b++) {
        const float *q = x + b * LL_BLOCK;
        __m512 m0 = _mm512_max_ps(_mm512_loadu_ps(q), _mm512_loadu_ps(q + 16));
        __m512 m1 = _mm512_max_ps(_mm512_loadu_ps(q + 32), _mm512_loadu_ps(q + 48));
        out[b] = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
    }
    if (b * LL_BLOCK < n) out[b] = avx512_max(x + b * LL_BLOCK, n - b * LL_BLOCK);
}

static void avx512_div(float *x, size_t n, float t) {
    const __m512 tv = _mm512_set1_ps(t);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_div_ps(_mm512_loadu_ps(x + i), tv));
    if (i < n) {
        __mmask16 tail = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(x + i, tail, _mm512_div_ps(_mm512_maskz_loadu_ps(tail, x + i), tv));
    }
}

/* ll_expf on eight lanes; see kernels_scalar.c for the method. */
static __m256 expf8(__m256 xf) {
    const __m512d shift = _mm512_set1_pd(LL_EXP_SHIFT);
    const __m512d tab_lo = _mm512_loadu_pd(ll_exp_table), tab_hi = _mm512_loadu_pd(ll_exp_table + 8);
    __m512d x = _mm512_cvtps_pd(xf);
    x = _mm512_min_pd(_mm512_max_pd(x, _mm512_set1_pd(LL_EXP_X_MIN)), _mm512_set1_pd(LL_EXP_X_MAX));
    __m512d zh = _mm512_mul_pd(x, _mm512_set1_pd(LL_EXP_C_HI));
    __m512d shifted = _mm512_add_pd(zh, shift);
    __m512d kd = _mm512_sub_pd(shifted, shift);
    __m512d r = _mm512_fmadd_pd(x, _mm512_set1_pd(LL_EXP_C_LO), _mm512_sub_pd(zh, kd));
    __m512d poly = _mm512_fmadd_pd(r, _mm512_set1_pd(LL_EXP_P6), _mm512_set1_pd(LL_EXP_P5));
    poly = _mm512_fmadd_pd(r, poly, _mm512_set1_pd(LL_EXP_P4));
    poly = _mm512_fmadd_pd(r, poly, _mm512_set1_pd(LL_EXP_P3));
    poly = _mm512_fmadd_pd(r, poly, _mm512_set1_pd(LL_EXP_P2));
    poly = _mm512_fmadd_pd(r, poly, _mm512_set1_pd(LL_EXP_P1));
    poly = _mm512_fmadd_pd(r, poly, _mm512_set1_pd(1.0));
    __m512i j = _mm512_castpd_si512(shifted); /* low 4 bits = k mod 16 */
    __m512d t = _mm512_permutex2var_pd(tab_lo, j, tab_hi);
    __m512d md = _mm512_floor_pd(_mm512_mul_pd(kd, _mm512_set1_pd(1.0 / LL_EXP_N)));
    __m512d y = _mm512_scalef_pd(_mm512_mul_pd(t, poly), md);
    return _mm512_cvtpd_ps(y);
}

static double reduce8(__m512d acc) {
    __m256d b = _mm256_add_pd(_mm512_castpd512_pd256(acc), _mm512_extractf64x4_pd(acc, 1));
    __m128d c = _mm_add_pd(_mm256_castpd256_pd128(b), _mm256_extractf128_pd(b, 1));
    return _mm_cvtsd_f64(_mm_add_sd(c, _mm_unpackhi_pd(c, c)));
}

static double avx512_exp_sum(const float *x, size_t n, float max, float *p, double *block_sums) {
    const __m256 mx = _mm256_set1_ps(max);
    double total = 0.0;
    for (size_t b = 0; b * LL_BLOCK < n; b++) {
        size_t start = b * LL_BLOCK, end = LL_MIN_SIZE(start + LL_BLOCK, n);
        __m512d acc = _mm512_setzero_pd();
        size_t i = start;
        for (; i + 8 <= end; i += 8) {
            __m256 e = expf8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
            _mm256_storeu_ps(p + i, e);
            acc = _mm512_add_pd(acc, _mm512_cvtps_pd(e));
        }
        if (i < end) {
            __mmask8 tail = (__mmask8)((1u << (end - i)) - 1u);
            __m256 in = _mm256_mask_loadu_ps(_mm256_set1_ps(-INFINITY), tail, x + i);
            __m256 e = expf8(_mm256_sub_ps(in, mx));
            _mm256_mask_storeu_ps(p + i, tail, e);
            acc = _mm512_add_pd(acc, _mm512_cvtps_pd(e));
        }
        double s = reduce8(acc);
        if (block_sums) block_sums[b] = s;
        total += s;
    }
    return total;
}

static size_t avx512_filter_ge(const float *x, size_t n, float thr, int32_t *idx) {
    const __m512 tv = _mm512_set1_ps(thr);
    __m512i pos = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    size_t m = 0, i = 0;
    for (; i + 16 <= n; i += 16) {
        __mmask16 k = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), tv, _CMP_GE_OQ);
        if (k) {
            _mm512_mask_compressstoreu_epi32(idx + m, k, pos);
            m += (size_t)__builtin_popcount((unsigned)k);
        }
        pos = _mm512_add_epi32(pos, step);
    }
    for (; i < n; i++)
        if (x[i] >= thr) idx[m++] = (int32_t)i;
    return m;
}

const ll_kernels ll_kernels_avx512 = {
    "avx512",
    avx512_find_invalid,
    avx512_max,
    avx512_block_max,
    avx512_div,
    avx512_exp_sum,
    avx512_filter_ge,
};
