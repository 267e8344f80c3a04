/*
 * matmul_avx2.c - AVX2/FMA matrix kernels for CPUs without AVX-512:
 * vector decoding of F32, F16, BF16, Q8_0 and Q4_0; the K-quant blocks are
 * decoded by the scalar reference into a small buffer and multiplied with
 * vectors. A 6-token x 16-row register tile runs the batch GEMM (two tile
 * columns per 32-row panel). Compiled with -mavx2 -mfma -mf16c.
 */
#include "matmul.h"

#include <immintrin.h>
#include <string.h>

#include "quant.h"

static inline float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline __m256 i8x8_to_f(const int8_t *p) {
    __m128i v = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
}

/* 8 floats of a row starting at element k (k a multiple of 8, inside one block) */
static inline __m256 decode8(uint32_t type, const uint8_t *row, size_t k) {
    switch (type) {
    case LL_T_F32: return _mm256_loadu_ps((const float *)row + k);
    case LL_T_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
    case LL_T_BF16:
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k))), 16));
    case LL_T_Q8_0: {
        const uint8_t *b = row + (k / 32) * 34;
        return _mm256_mul_ps(_mm256_set1_ps(h2f(b)), i8x8_to_f((const int8_t *)b + 2 + k % 32));
    }
    case LL_T_Q4_0: {
        const uint8_t *b = row + (k / 32) * 18;
        size_t j = k % 32;
        int8_t q[8];
        for (int i = 0; i < 8; i++) {
            size_t e = j + (size_t)i;
            q[i] = (int8_t)((e < 16 ? (b[2 + e] & 0xF) : (b[2 + e - 16] >> 4)) - 8);
        }
        return _mm256_mul_ps(_mm256_set1_ps(h2f(b)), i8x8_to_f(q));
    }
    default: return _mm256_setzero_ps();
    }
}

static bool vector_type(uint32_t t) {
    return t == LL_T_F32 || t == LL_T_F16 || t == LL_T_BF16 || t == LL_T_Q8_0 || t == LL_T_Q4_0;
}

static float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

static void dequant(uint32_t type, const uint8_t *row, size_t k0, size_t kc, float *out) {
    if (!vector_type(type) || kc % 8) {
        ll_matmul_scalar.dequant(type, row, k0, kc, out);
        return;
    }
    for (size_t k = 0; k < kc; k += 8) _mm256_storeu_ps(out + k, decode8(type, row, k0 + k));
}

static void matvec(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const float *x, float *y, size_t r0,
                   size_t r1) {
    float buf[LL_PANEL_K];
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        if (vector_type(type) && n % 32 == 0) {
            for (size_t k = 0; k < n; k += 32) {
                a0 = _mm256_fmadd_ps(decode8(type, row, k), _mm256_loadu_ps(x + k), a0);
                a1 = _mm256_fmadd_ps(decode8(type, row, k + 8), _mm256_loadu_ps(x + k + 8), a1);
                a2 = _mm256_fmadd_ps(decode8(type, row, k + 16), _mm256_loadu_ps(x + k + 16), a2);
                a3 = _mm256_fmadd_ps(decode8(type, row, k + 24), _mm256_loadu_ps(x + k + 24), a3);
            }
            y[i] = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
            continue;
        }
        if (n % 8) {
            ll_matmul_scalar.matvec(type, w, row_bytes, n, x, y, i, i + 1);
            continue;
        }
        for (size_t k0 = 0; k0 < n; k0 += LL_PANEL_K) {
            size_t kc = n - k0 < LL_PANEL_K ? n - k0 : LL_PANEL_K;
            ll_matmul_scalar.dequant(type, row, k0, kc, buf);
            for (size_t k = 0; k < kc; k += 8)
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(buf + k), _mm256_loadu_ps(x + k0 + k), a0);
        }
        y[i] = hsum8(a0);
    }
}

/* C[t][0..16) (+)= panel[k][col..col+16) * b[t][k] for t < tn <= 6 */
static void tile(const float *panel, size_t col, size_t kc, const float *b, size_t ldb, size_t tn, float *c, size_t ldc,
                 int accumulate) {
    __m256 acc[6][2];
    for (size_t t = 0; t < 6; t++) {
        if (accumulate && t < tn) {
            acc[t][0] = _mm256_loadu_ps(c + t * ldc + col);
            acc[t][1] = _mm256_loadu_ps(c + t * ldc + col + 8);
        } else {
            acc[t][0] = acc[t][1] = _mm256_setzero_ps();
        }
    }
    for (size_t k = 0; k < kc; k++) {
        __m256 p0 = _mm256_loadu_ps(panel + k * LL_PANEL_ROWS + col);
        __m256 p1 = _mm256_loadu_ps(panel + k * LL_PANEL_ROWS + col + 8);
        for (size_t t = 0; t < tn; t++) {
            __m256 bv = _mm256_set1_ps(b[t * ldb + k]);
            acc[t][0] = _mm256_fmadd_ps(p0, bv, acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(p1, bv, acc[t][1]);
        }
    }
    for (size_t t = 0; t < tn; t++) {
        _mm256_storeu_ps(c + t * ldc + col, acc[t][0]);
        _mm256_storeu_ps(c + t * ldc + col + 8, acc[t][1]);
    }
}

static void gemm(const float *panel, size_t kc, const float *b, size_t ldb, size_t T, float *c, size_t ldc,
                 int accumulate) {
    for (size_t t = 0; t < T; t += 6) {
        size_t tn = T - t < 6 ? T - t : 6;
        tile(panel, 0, kc, b + t * ldb, ldb, tn, c + t * ldc, ldc, accumulate);
        tile(panel, 16, kc, b + t * ldb, ldb, tn, c + t * ldc, ldc, accumulate);
    }
}

const ll_matmul_kernels ll_matmul_avx2 = {"avx2", matvec, dequant, gemm};
