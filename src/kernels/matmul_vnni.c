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

#include "matmul_avx512_inl.h"
#include "quant.h"

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

/* ---- several Q8_0 tokens at once (decode batches): matmul_avx512.c's
 * matvec_qn with vpdpbusd ----
 * The same lanes as vpmaddubsw + vpmaddwd (four products per int32 lane,
 * exact either way) and the same chain of float steps (matmul.h), so
 * every token gets the bits matvec_q gives it alone. The weights are
 * unpacked and their scales set once per block pair for all tokens; each
 * token's offset term and lane scales were laid out once by
 * ll_qvec_lanes (prepare_qn), so a token costs one vpdpbusd, a
 * conversion, a product of scales and two fused adds per 64 values. */
/* the unsigned side: Q8_0's bytes with the sign bit flipped, w + 128 */
static inline ll_qn_pair vnni_prep(const uint8_t *b0, const uint8_t *b1) {
    return (ll_qn_pair){_mm512_xor_si512(ll_bytes2(b0 + 2, b1 + 2), _mm512_set1_epi8((char)0x80)), 0};
}

/* each lane starts at -offset * (its four x) and adds its four
 * (w + offset) x: exactly the sum of its four w x */
static inline __m512i vnni_lanes(ll_qn_pair w, const ll_qvec *x, size_t blk) {
    return _mm512_dpbusd_epi32(_mm512_loadu_si512(x->lane_c + 8 * blk), w.w, _mm512_loadu_si512(x->q + 32 * blk));
}

static inline __m256i vnni_lanes8(const uint8_t *b, const ll_qvec *x, size_t blk) {
    __m256i uw = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(b + 2)), _mm256_set1_epi8((char)0x80));
    return _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(x->lane_c + 8 * blk)), uw,
                               _mm256_loadu_si256((const __m256i *)(const void *)(x->q + 32 * blk)));
}

void ll_matvec_qn_vnni(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T,
                       float *y, size_t ldy, size_t r0, size_t r1) {
    (void)type; /* Q8_0: the only type with matvec_qn */
    ll_matvec_qn_body(w, row_bytes, n, qx, T, y, ldy, r0, r1, vnni_prep, vnni_lanes, vnni_lanes8);
}

/* Q4_0 repacked (matmul_avx512_inl.h): a chain is int32 lanes starting
 * at the offset term, one vpdpbusd per step */
static inline __m512i vnni_start(int32_t c) { return _mm512_set1_epi32(c); }
static inline __m512i vnni_step(__m512i chain, __m512i v, int32_t x4) {
    return _mm512_dpbusd_epi32(chain, v, _mm512_set1_epi32(x4));
}
static inline __m512i vnni_join(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
static inline __m512i vnni_end(__m512i chain, int32_t c) {
    (void)c; /* in from the start */
    return chain;
}
static const ll_r16_steps vnni_steps = {vnni_start, vnni_step, vnni_join, vnni_end};

void ll_matvec_r16_vnni(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                        size_t r1) {
    ll_matvec_r16_body(w, n, x, T, y, ldy, r0, r1, &vnni_steps);
}
