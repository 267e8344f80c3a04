/*
 * matmul_vnni.c - the integer prompt GEMM's kernel (matmul.h) for CPUs
 * with AVX512_VNNI: vpdpbusd adds four unsigned x signed byte products
 * into each int32 lane in one instruction. The unsigned side is the
 * weights' values plus their offset o; each lane starts at the token's
 * c = -o * (sum of the unit's values), which leaves exactly the integer
 * every table computes, so the float steps give the same bits. Compiled
 * with -mavx512f -mavx512bw -mavx512vl -mavx512vnni.
 */
#include "matmul.h"

#include <immintrin.h>
#include <string.h>

/* Per unit: isum[t] starts at the token's c and takes unit/4 vpdpbusd of
 * the 16 rows' four values with the token's four (broadcast); then the
 * float steps of matmul.h. 8 int32 sums and 8 float accumulators stay in
 * registers; the token values are broadcast from memory. */
static inline void kernel(size_t n, size_t unit, int min, const uint8_t *w, const uint8_t *x, float *out) {
    size_t nu = n / unit, tb = ll_gq_token_bytes(n, unit), steps = unit / 4;
    const float *ws = (const float *)(const void *)(w + 16 * n), *wm = ws + 16 * nu;
    __m512 acc[LL_GQ_TOKENS];
    for (int t = 0; t < LL_GQ_TOKENS; t++) acc[t] = _mm512_setzero_ps();
    for (size_t u = 0; u < nu; u++) {
        __m512i isum[LL_GQ_TOKENS];
        for (int t = 0; t < LL_GQ_TOKENS; t++) {
            const int32_t *xc = (const int32_t *)(const void *)(x + (size_t)t * tb + n + 8 * nu);
            isum[t] = _mm512_set1_epi32(xc[u]);
        }
        for (size_t k = u * steps; k < (u + 1) * steps; k++) {
            __m512i wv = _mm512_loadu_si512(w + 64 * k);
            for (int t = 0; t < LL_GQ_TOKENS; t++) {
                int32_t q4;
                memcpy(&q4, x + (size_t)t * tb + 4 * k, 4);
                isum[t] = _mm512_dpbusd_epi32(isum[t], wv, _mm512_set1_epi32(q4));
            }
        }
        __m512 s = _mm512_loadu_ps(ws + 16 * u);
        for (int t = 0; t < LL_GQ_TOKENS; t++) {
            const float *xs = (const float *)(const void *)(x + (size_t)t * tb + n);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(isum[t]), s), _mm512_set1_ps(xs[u]), acc[t]);
        }
        if (min) {
            __m512 m = _mm512_loadu_ps(wm + 16 * u);
            for (int t = 0; t < LL_GQ_TOKENS; t++) {
                const float *xm = (const float *)(const void *)(x + (size_t)t * tb + n + 4 * nu);
                acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(xm[u]), acc[t]);
            }
        }
    }
    for (int t = 0; t < LL_GQ_TOKENS; t++) _mm512_storeu_ps(out + 16 * t, acc[t]);
}

void ll_gemm_q_vnni(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x, float *out) {
    (void)offset; /* in c */
    /* copies with the unit and the min resolved */
    if (unit == 32) {
        if (min)
            kernel(n, 32, 1, w, x, out);
        else
            kernel(n, 32, 0, w, x, out);
    } else {
        kernel(n, unit, min, w, x, out);
    }
}
