/*
 * matmul_vnni.c - the integer prompt GEMM's kernel for CPUs with
 * AVX512_VNNI: vpdpbusd adds four unsigned x signed byte products into
 * each int32 lane in one instruction. Its unsigned side is the weights'
 * values plus 128 (a flipped sign bit): sum((q_w + 128) q_x) = sum(q_w q_x)
 * + 128 sum(q_x), so starting each lane at the token's -128 * (sum of its
 * four values) leaves exactly sum(q_w * q_x), the same
 * integer every table computes, so the float steps (matmul.h) give the
 * same bits. Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni.
 */
#include "matmul.h"

#include <immintrin.h>

/* ll_q32_hsum's order: lane j + lane j + 8, then the tree of eight */
static inline float hsum16(__m512 a) {
    __m256 r = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* The rows' and tokens' pointers advance pair by pair; their scales and
 * sums lie at fixed offsets from them (so few registers hold addresses),
 * and the tokens' corrections and scales are read from memory where they
 * are used, leaving the vector registers to the 16 accumulators. */
static inline void kernel(size_t np, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int min,
                          float *out) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const size_t so = 64 * np, mo = 128 * np, co = 192 * np; /* s, m, c from q (pairs scaled 4:1) */
    const uint8_t *wr[LL_GQ_RM], *xr[LL_GQ_RN];
    for (int r = 0; r < LL_GQ_RM; r++) wr[r] = w + (size_t)r * ws;
    for (int t = 0; t < LL_GQ_RN; t++) xr[t] = x + (size_t)t * xs;
    __m512 acc[LL_GQ_RN][LL_GQ_RM];
    for (int t = 0; t < LL_GQ_RN; t++)
        for (int r = 0; r < LL_GQ_RM; r++) acc[t][r] = _mm512_setzero_ps();
    for (size_t p = 0; p < np; p++) {
        __m512i xq[LL_GQ_RN];
        for (int t = 0; t < LL_GQ_RN; t++) xq[t] = _mm512_loadu_si512(xr[t] + 64 * p);
        for (int r = 0; r < LL_GQ_RM; r++) {
            __m512i wu = _mm512_xor_si512(_mm512_loadu_si512(wr[r] + 64 * p), flip);
            __m512 wsc = _mm512_loadu_ps(wr[r] + so + 64 * p);
            for (int t = 0; t < LL_GQ_RN; t++) {
                __m512i isum = _mm512_dpbusd_epi32(_mm512_loadu_si512(xr[t] + co + 64 * p), wu, xq[t]);
                __m512 sc = _mm512_mul_ps(wsc, _mm512_loadu_ps(xr[t] + so + 64 * p));
                acc[t][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), sc, acc[t][r]);
            }
            if (min) {
                __m512 wm = _mm512_loadu_ps(wr[r] + mo + 64 * p);
                for (int t = 0; t < LL_GQ_RN; t++)
                    acc[t][r] = _mm512_fmadd_ps(wm, _mm512_loadu_ps(xr[t] + mo + 64 * p), acc[t][r]);
            }
        }
    }
    for (int t = 0; t < LL_GQ_RN; t++)
        for (int r = 0; r < LL_GQ_RM; r++) out[t * LL_GQ_RM + r] = hsum16(acc[t][r]);
}

void ll_gemm_q_vnni(size_t np, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int min, float *out) {
    /* two copies, the branch on the min resolved in each */
    if (min) kernel(np, w, ws, x, xs, 1, out);
    else kernel(np, w, ws, x, xs, 0, out);
}
