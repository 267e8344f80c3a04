/*
 * attention.c - attention's kernels over a key/value cache in F32 or F16:
 * the scalar reference and AVX2 / AVX-512 versions that replay its
 * arithmetic lane by lane (attention.h says the order). The SIMD versions
 * are compiled for their instruction set with target attributes and called
 * only after dispatch.c has seen the CPU support it.
 */
#include "attention.h"

#include <string.h>

#include "quant.h"

/* ---- scalar reference ---- */

/* the 16 lanes added as the tree attention.h describes */
static float lanes_sum(float a[16]) {
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) a[i] = a[i] + a[i + w];
    return a[0];
}

static void scalar_scores_f32(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out) {
    for (size_t i = 0; i < n; i++) {
        const float *kp = k + i * stride;
        float a[16] = {0};
        for (size_t d = 0; d < hd; d++) {
            float p = q[d] * kp[d];
            a[d % 16] = a[d % 16] + p;
        }
        out[i] = lanes_sum(a);
    }
}

static void scalar_scores_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out) {
    for (size_t i = 0; i < n; i++) {
        const uint16_t *kp = k + i * stride;
        float a[16] = {0};
        for (size_t d = 0; d < hd; d++) {
            float p = q[d] * ll_fp16_to_fp32(kp[d]);
            a[d % 16] = a[d % 16] + p;
        }
        out[i] = lanes_sum(a);
    }
}

static void scalar_wsum_f32(float *out, const float *w, const float *v, size_t stride, size_t n, size_t hd) {
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < hd; d++) {
            float p = w[i] * v[i * stride + d];
            out[d] = out[d] + p;
        }
}

static void scalar_wsum_f16(float *out, const float *w, const uint16_t *v, size_t stride, size_t n, size_t hd) {
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < hd; d++) {
            float p = w[i] * ll_fp16_to_fp32(v[i * stride + d]);
            out[d] = out[d] + p;
        }
}

static void scalar_to_f16(uint16_t *dst, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ll_fp32_to_fp16(x[i]);
}

const ll_attn_kernels ll_attn_scalar = {"scalar",        scalar_scores_f32, scalar_scores_f16,
                                        scalar_wsum_f32, scalar_wsum_f16,   scalar_to_f16};

#if defined(LL_HAVE_AVX2) || defined(LL_HAVE_AVX512)
#include <immintrin.h>
#endif

/* ---- AVX2 (+FMA, F16C): the 16 lanes as two registers of 8 ---- */
#if defined(LL_HAVE_AVX2)
#define LL_T2 __attribute__((target("avx2,fma,f16c")))

/* lanes 0-7 in lo, 8-15 in hi: lane i + 8 into i, then i + 4, i + 2, i + 1 */
LL_T2 static inline float avx2_lanes_sum(__m256 lo, __m256 hi) {
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

/* 8 halves widened; a tail of r < 8 through a zeroed copy */
LL_T2 static inline __m256 avx2_load_f16(const uint16_t *p, size_t r) {
    if (r >= 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    uint16_t t[8] = {0};
    memcpy(t, p, r * sizeof *t);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t));
}

LL_T2 static inline __m256 avx2_load_f32(const float *p, size_t r) {
    if (r >= 8) return _mm256_loadu_ps(p);
    float t[8] = {0};
    memcpy(t, p, r * sizeof *t);
    return _mm256_loadu_ps(t);
}

LL_T2 static inline void avx2_store_f32(float *p, __m256 x, size_t r) {
    if (r >= 8) {
        _mm256_storeu_ps(p, x);
        return;
    }
    float t[8];
    _mm256_storeu_ps(t, x);
    memcpy(p, t, r * sizeof *t);
}

/* the query's tail (hd % 16 values) zero-padded to 16, loaded once */
LL_T2 static void avx2_scores_f32(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t full = hd & ~(size_t)15, r = hd - full;
    __m256 qt0 = avx2_load_f32(q + full, r), qt1 = r > 8 ? avx2_load_f32(q + full + 8, r - 8) : _mm256_setzero_ps();
    for (size_t i = 0; i < n; i++) {
        const float *kp = k + i * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t d = 0; d < full; d += 16) {
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kp + d)));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(q + d + 8), _mm256_loadu_ps(kp + d + 8)));
        }
        if (r) {
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(qt0, avx2_load_f32(kp + full, r)));
            if (r > 8) a1 = _mm256_add_ps(a1, _mm256_mul_ps(qt1, avx2_load_f32(kp + full + 8, r - 8)));
        }
        out[i] = avx2_lanes_sum(a0, a1);
    }
}

LL_T2 static void avx2_scores_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t full = hd & ~(size_t)15, r = hd - full;
    __m256 qt0 = avx2_load_f32(q + full, r), qt1 = r > 8 ? avx2_load_f32(q + full + 8, r - 8) : _mm256_setzero_ps();
    for (size_t i = 0; i < n; i++) {
        const uint16_t *kp = k + i * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t d = 0; d < full; d += 16) {
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(q + d), avx2_load_f16(kp + d, 8)));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(q + d + 8), avx2_load_f16(kp + d + 8, 8)));
        }
        if (r) {
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(qt0, avx2_load_f16(kp + full, r)));
            if (r > 8) a1 = _mm256_add_ps(a1, _mm256_mul_ps(qt1, avx2_load_f16(kp + full + 8, r - 8)));
        }
        out[i] = avx2_lanes_sum(a0, a1);
    }
}

/* out in blocks of 32 values held in four registers while every weight
 * passes over them */
LL_T2 static void avx2_wsum_f32(float *out, const float *w, const float *v, size_t stride, size_t n, size_t hd) {
    for (size_t d0 = 0; d0 < hd; d0 += 32) {
        size_t m = hd - d0 < 32 ? hd - d0 : 32, r[4];
        __m256 a[4];
        for (int j = 0; j < 4; j++) {
            r[j] = m > 8 * (size_t)j ? m - 8 * (size_t)j : 0;
            a[j] = r[j] ? avx2_load_f32(out + d0 + 8 * j, r[j]) : _mm256_setzero_ps();
        }
        for (size_t i = 0; i < n; i++) {
            __m256 wv = _mm256_set1_ps(w[i]);
            const float *vp = v + i * stride + d0;
            for (int j = 0; j < 4; j++)
                if (r[j]) a[j] = _mm256_add_ps(a[j], _mm256_mul_ps(wv, avx2_load_f32(vp + 8 * j, r[j])));
        }
        for (int j = 0; j < 4; j++)
            if (r[j]) avx2_store_f32(out + d0 + 8 * j, a[j], r[j]);
    }
}

LL_T2 static void avx2_wsum_f16(float *out, const float *w, const uint16_t *v, size_t stride, size_t n, size_t hd) {
    for (size_t d0 = 0; d0 < hd; d0 += 32) {
        size_t m = hd - d0 < 32 ? hd - d0 : 32, r[4];
        __m256 a[4];
        for (int j = 0; j < 4; j++) {
            r[j] = m > 8 * (size_t)j ? m - 8 * (size_t)j : 0;
            a[j] = r[j] ? avx2_load_f32(out + d0 + 8 * j, r[j]) : _mm256_setzero_ps();
        }
        for (size_t i = 0; i < n; i++) {
            __m256 wv = _mm256_set1_ps(w[i]);
            const uint16_t *vp = v + i * stride + d0;
            for (int j = 0; j < 4; j++)
                if (r[j]) a[j] = _mm256_add_ps(a[j], _mm256_mul_ps(wv, avx2_load_f16(vp + 8 * j, r[j])));
        }
        for (int j = 0; j < 4; j++)
            if (r[j]) avx2_store_f32(out + d0 + 8 * j, a[j], r[j]);
    }
}

LL_T2 static void avx2_to_f16(uint16_t *dst, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = ll_fp32_to_fp16(x[i]);
}

const ll_attn_kernels ll_attn_avx2 = {"avx2",        avx2_scores_f32, avx2_scores_f16,
                                      avx2_wsum_f32, avx2_wsum_f16,   avx2_to_f16};
#endif /* LL_HAVE_AVX2 */

/* ---- AVX-512 (F/DQ/VL): the 16 lanes in one register ---- */
#if defined(LL_HAVE_AVX512)
#define LL_T5 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,f16c")))

LL_T5 static inline float avx512_lanes_sum(__m512 a) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

static inline __mmask16 lanes_mask(size_t r) { return r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << r) - 1u); }

/* 16 halves widened; a tail of r < 16 through a zeroed copy (a masked
 * 16-bit load would need AVX-512 BW) */
LL_T5 static inline __m512 avx512_load_f16(const uint16_t *p, size_t r) {
    if (r >= 16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
    uint16_t t[16] = {0};
    memcpy(t, p, r * sizeof *t);
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)t));
}

LL_T5 static void avx512_scores_f32(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t full = hd & ~(size_t)15;
    __mmask16 tail = lanes_mask(hd - full);
    __m512 qt = _mm512_maskz_loadu_ps(tail, q + full);
    for (size_t i = 0; i < n; i++) {
        const float *kp = k + i * stride;
        __m512 a = _mm512_setzero_ps();
        for (size_t d = 0; d < full; d += 16)
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_loadu_ps(q + d), _mm512_loadu_ps(kp + d)));
        if (hd > full) a = _mm512_add_ps(a, _mm512_mul_ps(qt, _mm512_maskz_loadu_ps(tail, kp + full)));
        out[i] = avx512_lanes_sum(a);
    }
}

LL_T5 static void avx512_scores_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t full = hd & ~(size_t)15;
    __mmask16 tail = lanes_mask(hd - full);
    __m512 qt = _mm512_maskz_loadu_ps(tail, q + full);
    for (size_t i = 0; i < n; i++) {
        const uint16_t *kp = k + i * stride;
        __m512 a = _mm512_setzero_ps();
        for (size_t d = 0; d < full; d += 16)
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_loadu_ps(q + d), avx512_load_f16(kp + d, 16)));
        if (hd > full) a = _mm512_add_ps(a, _mm512_mul_ps(qt, avx512_load_f16(kp + full, hd - full)));
        out[i] = avx512_lanes_sum(a);
    }
}

/* out in blocks of 64 values held in four registers while every weight
 * passes over them */
LL_T5 static void avx512_wsum_f32(float *out, const float *w, const float *v, size_t stride, size_t n, size_t hd) {
    for (size_t d0 = 0; d0 < hd; d0 += 64) {
        size_t m = hd - d0 < 64 ? hd - d0 : 64;
        __mmask16 mk[4];
        __m512 a[4];
        for (int j = 0; j < 4; j++) {
            mk[j] = m > 16 * (size_t)j ? lanes_mask(m - 16 * (size_t)j) : 0;
            a[j] = _mm512_maskz_loadu_ps(mk[j], out + d0 + 16 * j);
        }
        for (size_t i = 0; i < n; i++) {
            __m512 wv = _mm512_set1_ps(w[i]);
            const float *vp = v + i * stride + d0;
            for (int j = 0; j < 4; j++)
                if (mk[j]) a[j] = _mm512_add_ps(a[j], _mm512_mul_ps(wv, _mm512_maskz_loadu_ps(mk[j], vp + 16 * j)));
        }
        for (int j = 0; j < 4; j++) _mm512_mask_storeu_ps(out + d0 + 16 * j, mk[j], a[j]);
    }
}

LL_T5 static void avx512_wsum_f16(float *out, const float *w, const uint16_t *v, size_t stride, size_t n, size_t hd) {
    for (size_t d0 = 0; d0 < hd; d0 += 64) {
        size_t m = hd - d0 < 64 ? hd - d0 : 64, r[4];
        __mmask16 mk[4];
        __m512 a[4];
        for (int j = 0; j < 4; j++) {
            r[j] = m > 16 * (size_t)j ? m - 16 * (size_t)j : 0;
            mk[j] = r[j] ? lanes_mask(r[j]) : 0;
            a[j] = _mm512_maskz_loadu_ps(mk[j], out + d0 + 16 * j);
        }
        for (size_t i = 0; i < n; i++) {
            __m512 wv = _mm512_set1_ps(w[i]);
            const uint16_t *vp = v + i * stride + d0;
            for (int j = 0; j < 4; j++)
                if (r[j]) a[j] = _mm512_add_ps(a[j], _mm512_mul_ps(wv, avx512_load_f16(vp + 16 * j, r[j])));
        }
        for (int j = 0; j < 4; j++) _mm512_mask_storeu_ps(out + d0 + 16 * j, mk[j], a[j]);
    }
}

LL_T5 static void avx512_to_f16(uint16_t *dst, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = ll_fp32_to_fp16(x[i]);
}

const ll_attn_kernels ll_attn_avx512 = {"avx512",        avx512_scores_f32, avx512_scores_f16,
                                        avx512_wsum_f32, avx512_wsum_f16,   avx512_to_f16};
#endif /* LL_HAVE_AVX512 */
