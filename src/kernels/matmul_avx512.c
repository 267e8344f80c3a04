/*
 * matmul_avx512.c - AVX-512 matrix kernels: per-type block decoders that
 * produce 16 floats per register, a fused dequantize-and-multiply matvec
 * for generation, integer dot products on quantized activations (Q4_1,
 * Q5_0 and Q5_1 in the scalar table's order of float operations, so with
 * its bits), and a 6-token x 32-row register-blocked GEMM kernel for
 * prompt batches. Compiled with -mavx512f -mavx512bw -mavx512vl -mf16c.
 */
#include "matmul.h"

#include <immintrin.h>
#include <string.h>

#include "matmul_avx512_inl.h"
#include "quant.h"

/* 16 bytes of signed int8 -> 16 floats */
static inline __m512 i8x16_to_f(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }
/* 16 bytes of unsigned -> 16 floats */
static inline __m512 u8x16_to_f(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }

/* ---- block decoders: out[j] holds values 16j .. 16j+15 of the block ---- */

static inline void deq_q8_0(const uint8_t *b, __m512 out[2]) {
    __m512 d = _mm512_set1_ps(ll_h2f(b));
    out[0] = _mm512_mul_ps(d, i8x16_to_f(_mm_loadu_si128((const __m128i *)(b + 2))));
    out[1] = _mm512_mul_ps(d, i8x16_to_f(_mm_loadu_si128((const __m128i *)(b + 18))));
}

static inline void deq_q4_0(const uint8_t *b, __m512 out[2]) {
    __m512 d = _mm512_set1_ps(ll_h2f(b));
    __m128i q = _mm_loadu_si128((const __m128i *)(b + 2));
    __m128i m = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(q, m), eight);
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m), eight);
    out[0] = _mm512_mul_ps(d, i8x16_to_f(lo));
    out[1] = _mm512_mul_ps(d, i8x16_to_f(hi));
}

/* Q4_1, Q5_0, Q5_1: the 32 unsigned values (0..31) of a block, in order;
 * byte i takes 16 where bit i of qh is set. */
static inline __m256i q32_values(const ll_q32_layout *L, const uint8_t *b) {
    __m128i q = _mm_loadu_si128((const __m128i *)(b + L->qs));
    __m256i w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
    if (!L->qh) return w;
    uint32_t qh;
    memcpy(&qh, b + L->qh, 4);
    return _mm256_or_si256(w, _mm256_maskz_mov_epi8(qh, _mm256_set1_epi8(16)));
}

/* Two consecutive blocks' 64 values: bytes 0-31 the first, 32-63 the
 * second (each block's 16 bytes broadcast, 64-bit lanes shifted by 0 or 4). */
static inline __m512i q32_values2(const ll_q32_layout *L, const uint8_t *b0) {
    const uint8_t *b1 = b0 + L->bytes;
    const __m512i shift = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0);
    __m256i z0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + L->qs)));
    __m256i z1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b1 + L->qs)));
    __m512i w = _mm512_and_si512(_mm512_srlv_epi64(_mm512_inserti64x4(_mm512_castsi256_si512(z0), z1, 1), shift),
                                 _mm512_set1_epi8(0x0F));
    if (!L->qh) return w;
    uint32_t h0, h1;
    memcpy(&h0, b0 + L->qh, 4);
    memcpy(&h1, b1 + L->qh, 4);
    return _mm512_or_si512(w, _mm512_maskz_mov_epi8((__mmask64)h0 | (__mmask64)h1 << 32, _mm512_set1_epi8(16)));
}

/* (q - bias) * d, or q * d + m: the reference's operations. */
static inline void deq_q32(const ll_q32_layout *L, const uint8_t *b, __m512 out[2]) {
    __m256i v = _mm256_sub_epi8(q32_values(L, b), _mm256_set1_epi8((char)L->bias));
    __m512 d = _mm512_set1_ps(ll_h2f(b)), m = _mm512_set1_ps(L->min ? ll_h2f(b + L->min) : 0.0f);
    for (int h = 0; h < 2; h++) {
        __m512 f = _mm512_mul_ps(i8x16_to_f(h ? _mm256_extracti128_si256(v, 1) : _mm256_castsi256_si128(v)), d);
        out[h] = L->min ? _mm512_add_ps(f, m) : f;
    }
}

static const ll_q32_layout q4_1 = LL_Q4_1_LAYOUT, q5_0 = LL_Q5_0_LAYOUT, q5_1 = LL_Q5_1_LAYOUT;

static const ll_q32_layout *q32_layout(uint32_t type) {
    return type == LL_T_Q4_1 ? &q4_1 : type == LL_T_Q5_0 ? &q5_0 : type == LL_T_Q5_1 ? &q5_1 : NULL;
}

/* One block of a q32 type, the layout resolved at compile time. */
static inline void deq_q32_any(const ll_q32_layout *L, const uint8_t *b, __m512 out[2]) {
    if (L == &q4_1) deq_q32(&q4_1, b, out);
    else if (L == &q5_0) deq_q32(&q5_0, b, out);
    else deq_q32(&q5_1, b, out);
}

static inline void deq_q4k_like(const uint8_t *b, __m512 out[16], int five) {
    float d = ll_h2f(b), dmin = ll_h2f(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *q = five ? b + 48 : b + 16;
    const __m128i m4 = _mm_set1_epi8(0x0F);
    for (int c = 0; c < 4; c++) {
        uint8_t s1, m1, s2, m2;
        ll_q4k_scale_min(2 * c, scales, &s1, &m1);
        ll_q4k_scale_min(2 * c + 1, scales, &s2, &m2);
        __m512 d1 = _mm512_set1_ps(d * s1), n1 = _mm512_set1_ps(dmin * m1);
        __m512 d2 = _mm512_set1_ps(d * s2), n2 = _mm512_set1_ps(dmin * m2);
        for (int h = 0; h < 2; h++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(q + 32 * c + 16 * h));
            __m128i lo = _mm_and_si128(v, m4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
            if (five) {
                __m128i bits = _mm_loadu_si128((const __m128i *)(qh + 16 * h));
                __m128i one = _mm_set1_epi8(1);
                __m128i b_lo = _mm_and_si128(_mm_srli_epi16(bits, 2 * c), one);
                __m128i b_hi = _mm_and_si128(_mm_srli_epi16(bits, 2 * c + 1), one);
                /* 0/1 per byte -> 0/16: a 16-bit shift cannot carry across bytes here */
                lo = _mm_or_si128(lo, _mm_slli_epi16(b_lo, 4));
                hi = _mm_or_si128(hi, _mm_slli_epi16(b_hi, 4));
            }
            out[4 * c + h] = _mm512_fmsub_ps(d1, u8x16_to_f(lo), n1);
            out[4 * c + 2 + h] = _mm512_fmsub_ps(d2, u8x16_to_f(hi), n2);
        }
    }
}

static inline void deq_q6k(const uint8_t *b, __m512 out[16]) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = ll_h2f(b + 208);
    const __m128i m4 = _mm_set1_epi8(0x0F), m3 = _mm_set1_epi8(3), off = _mm_set1_epi8(32);
    for (int h = 0; h < 2; h++) {
        for (int half = 0; half < 2; half++) { /* l in [16 half, 16 half + 16) */
            __m128i a = _mm_loadu_si128((const __m128i *)(ql + 64 * h + 16 * half));
            __m128i bq = _mm_loadu_si128((const __m128i *)(ql + 64 * h + 32 + 16 * half));
            __m128i hb = _mm_loadu_si128((const __m128i *)(qh + 32 * h + 16 * half));
            __m128i p[4];
            p[0] = _mm_or_si128(_mm_and_si128(a, m4), _mm_slli_epi16(_mm_and_si128(hb, m3), 4));
            p[1] = _mm_or_si128(_mm_and_si128(bq, m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hb, 2), m3), 4));
            p[2] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), m4),
                                _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hb, 4), m3), 4));
            p[3] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(bq, 4), m4),
                                _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hb, 6), m3), 4));
            for (int part = 0; part < 4; part++) {
                __m128i v = _mm_sub_epi8(p[part], off);
                float s = d * (float)sc[8 * h + half + 2 * part];
                out[8 * h + 2 * part + half] = _mm512_mul_ps(_mm512_set1_ps(s), i8x16_to_f(v));
            }
        }
    }
}

/* ---- matvec: fused decode and multiply ---- */

/* the float types' final sum (matmul.h) */
static inline float hsum(__m512 a, __m512 b, __m512 c, __m512 e) {
    return ll_hsum16(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, e)));
}

static void matvec(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const float *x, float *y, size_t r0,
                   size_t r1) {
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        switch (type) {
        case LL_T_F32: {
            const float *r = (const float *)row;
            size_t k = 0;
            for (; k + 64 <= n; k += 64) {
                ll_prefetch_ahead(r + k, 256);
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + k), _mm512_loadu_ps(x + k), a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r + k + 16), _mm512_loadu_ps(x + k + 16), a1);
                a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r + k + 32), _mm512_loadu_ps(x + k + 32), a2);
                a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r + k + 48), _mm512_loadu_ps(x + k + 48), a3);
            }
            for (; k + 16 <= n; k += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + k), _mm512_loadu_ps(x + k), a0);
            float s = hsum(a0, a1, a2, a3);
            for (; k < n; k++) s += r[k] * x[k];
            y[i] = s;
            continue;
        }
        case LL_T_F16:
        case LL_T_BF16: {
            const uint16_t *r = (const uint16_t *)row;
            size_t k = 0;
            /* four chains of 16: two left the loop waiting on the
             * multiply-add latency (0.7x llama.cpp's F16 generation) */
            for (; k + 64 <= n; k += 64) {
                ll_prefetch_ahead(r + k, 128);
                __m512 f[4];
                for (int h = 0; h < 4; h++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(r + k + 16 * h));
                    f[h] = type == LL_T_F16 ? _mm512_cvtph_ps(v)
                                            : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
                }
                a0 = _mm512_fmadd_ps(f[0], _mm512_loadu_ps(x + k), a0);
                a1 = _mm512_fmadd_ps(f[1], _mm512_loadu_ps(x + k + 16), a1);
                a2 = _mm512_fmadd_ps(f[2], _mm512_loadu_ps(x + k + 32), a2);
                a3 = _mm512_fmadd_ps(f[3], _mm512_loadu_ps(x + k + 48), a3);
            }
            for (; k + 16 <= n; k += 16) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(r + k));
                __m512 f0 = type == LL_T_F16 ? _mm512_cvtph_ps(v)
                                             : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
                a0 = _mm512_fmadd_ps(f0, _mm512_loadu_ps(x + k), a0);
            }
            float s = hsum(a0, a1, a2, a3);
            for (; k < n; k++) s += (type == LL_T_F16 ? _cvtsh_ss(r[k]) : ll_bf16_to_fp32(r[k])) * x[k];
            y[i] = s;
            continue;
        }
        case LL_T_Q8_0:
        case LL_T_Q4_0: {
            size_t bb = type == LL_T_Q8_0 ? 34 : 18;
            for (size_t blk = 0; blk < n / 32; blk++) {
                __m512 v[2];
                if (!(blk & 1)) ll_prefetch_ahead(row + blk * bb, 64);
                if (type == LL_T_Q8_0) deq_q8_0(row + blk * bb, v);
                else deq_q4_0(row + blk * bb, v);
                if (blk & 1) {
                    a2 = _mm512_fmadd_ps(v[0], _mm512_loadu_ps(x + 32 * blk), a2);
                    a3 = _mm512_fmadd_ps(v[1], _mm512_loadu_ps(x + 32 * blk + 16), a3);
                } else {
                    a0 = _mm512_fmadd_ps(v[0], _mm512_loadu_ps(x + 32 * blk), a0);
                    a1 = _mm512_fmadd_ps(v[1], _mm512_loadu_ps(x + 32 * blk + 16), a1);
                }
            }
            y[i] = hsum(a0, a1, a2, a3);
            continue;
        }
        case LL_T_Q4_1:
        case LL_T_Q5_0:
        case LL_T_Q5_1: {
            const ll_q32_layout *L = q32_layout(type);
            for (size_t blk = 0; blk < n / 32; blk++) {
                __m512 v[2];
                deq_q32_any(L, row + blk * L->bytes, v);
                a0 = _mm512_fmadd_ps(v[0], _mm512_loadu_ps(x + 32 * blk), a0);
                a1 = _mm512_fmadd_ps(v[1], _mm512_loadu_ps(x + 32 * blk + 16), a1);
            }
            y[i] = hsum(a0, a1, a2, a3);
            continue;
        }
        case LL_T_Q4_K:
        case LL_T_Q5_K:
        case LL_T_Q6_K: {
            size_t bb = type == LL_T_Q4_K ? 144 : type == LL_T_Q5_K ? 176 : 210;
            for (size_t blk = 0; blk < n / 256; blk++) {
                __m512 v[16];
                if (type == LL_T_Q6_K) deq_q6k(row + blk * bb, v);
                else deq_q4k_like(row + blk * bb, v, type == LL_T_Q5_K);
                const float *xb = x + 256 * blk;
                for (int j = 0; j < 16; j += 4) {
                    a0 = _mm512_fmadd_ps(v[j], _mm512_loadu_ps(xb + 16 * j), a0);
                    a1 = _mm512_fmadd_ps(v[j + 1], _mm512_loadu_ps(xb + 16 * j + 16), a1);
                    a2 = _mm512_fmadd_ps(v[j + 2], _mm512_loadu_ps(xb + 16 * j + 32), a2);
                    a3 = _mm512_fmadd_ps(v[j + 3], _mm512_loadu_ps(xb + 16 * j + 48), a3);
                }
            }
            y[i] = hsum(a0, a1, a2, a3);
            continue;
        }
        default: {
            ll_matmul_scalar.matvec(type, w, row_bytes, n, x, y, i, i + 1);
            continue;
        }
        }
    }
}

/* ---- matvec on quantized activations: integer dot products ---- */

/* out lane b = the largest lane of v[b]: the 16 vectors halved, quartered,
 * paired and split across each other's lanes (max is exact in any order) */
static inline __m512 max_lanes16(const __m512 v[16]) {
    __m512 u[8], w4[4], z[2];
    for (int k = 0; k < 8; k++) /* key 2k in quarters 0-1, key 2k + 1 in 2-3 */
        u[k] = _mm512_max_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE));
    for (int m = 0; m < 4; m++) /* key 4m + j in quarter j */
        w4[m] = _mm512_max_ps(_mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], 0x88),
                              _mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], 0xDD));
    for (int p = 0; p < 2; p++) /* quarter j: keys 8p + j (lanes 0-1) and 8p + 4 + j (2-3) */
        z[p] = _mm512_max_ps(_mm512_shuffle_ps(w4[2 * p], w4[2 * p + 1], 0x44),
                             _mm512_shuffle_ps(w4[2 * p], w4[2 * p + 1], 0xEE));
    /* lane 4j + c: key j + 4c */
    __m512 f = _mm512_max_ps(_mm512_shuffle_ps(z[0], z[1], 0x88), _mm512_shuffle_ps(z[0], z[1], 0xDD));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), f);
}

/* out[0..15] = x[0..15] * id rounded to nearest even and kept within
 * +-127; the values as int32, for their sum */
static inline __m512i quantize16(const float *x, __m512 id, int8_t *out) {
    __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id));
    v = _mm512_max_epi32(_mm512_min_epi32(v, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
    _mm_storeu_si128((__m128i *)(void *)out, _mm512_cvtepi32_epi8(v));
    return v;
}

/* 16 blocks of 32 from block b0 at once: their largest |x| and scales as
 * vectors (one division for all), each block's values as below, the sums
 * of 16 from the bytes (|q + 128| summed by vpsadbw, less 16 x 128) */
static void quantize_x32_16(const float *x, size_t b0, ll_qvec *qx) {
    __m512 m[16];
    for (size_t b = 0; b < 16; b++) {
        const float *xb = x + 32 * (b0 + b);
        m[b] = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb)), _mm512_abs_ps(_mm512_loadu_ps(xb + 16)));
    }
    __m512 amax = max_lanes16(m);
    /* matmul.c's qx_scales: 127 / amax (0 where amax is 0), amax / 127 through half precision */
    __mmask16 nz = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    float id[16];
    _mm512_storeu_ps(id, _mm512_maskz_div_ps(nz, _mm512_set1_ps(127.0f), amax));
    _mm512_storeu_ps(qx->d + b0, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_div_ps(amax, _mm512_set1_ps(127.0f)),
                                                                 _MM_FROUND_TO_NEAREST_INT)));
    int8_t *q = qx->q + 32 * b0;
    for (size_t b = 0; b < 16; b++) {
        __m512 vid = _mm512_set1_ps(id[b]);
        for (size_t k = 0; k < 32; k += 16) quantize16(x + 32 * (b0 + b) + k, vid, q + 32 * b + k);
    }
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (size_t c = 0; c < 8; c++) { /* 64 bytes: four sums of 16 */
        __m512i s8 = _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512(q + 64 * c), flip), _mm512_setzero_si512());
        __m512i s16 = _mm512_add_epi64(s8, _mm512_bsrli_epi128(s8, 8)); /* lanes 0, 2, 4, 6 */
        __m128i w = _mm512_cvtepi64_epi16(_mm512_maskz_compress_epi64(0x55, s16));
        _mm_storel_epi64((__m128i *)(void *)(qx->sum + 2 * b0 + 4 * c), _mm_sub_epi16(w, _mm_set1_epi16(2048)));
    }
}

/* Rounds exactly as the scalar table: max|x| is order-independent and the
 * conversion rounds to nearest even like lrintf. */
static void quantize_x(const float *x, size_t n, ll_qvec *qx) {
    size_t B = qx->block, b = 0;
    if (B == LL_QX_32)
        for (; b + 16 <= n / B; b += 16) quantize_x32_16(x, b, qx);
    for (; b < n / B; b++) {
        const float *xb = x + b * B;
        __m512 m = _mm512_setzero_ps();
        for (size_t k = 0; k < B; k += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(xb + k)));
        float amax = _mm512_reduce_max_ps(m);
        /* matmul.c's qx_scales */
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        __m512 vid = _mm512_set1_ps(id);
        for (size_t k = 0; k < B; k += 16)
            qx->sum[(b * B + k) / 16] = (int16_t)_mm512_reduce_add_epi32(quantize16(xb + k, vid, qx->q + b * B + k));
        qx->d[b] = B == LL_QX_32 ? _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT))
                   : id != 0.0f  ? 1.0f / id
                                 : 0.0f;
    }
}

/* lanes 0-7 scaled by a, lanes 8-15 by b: two 32-blocks share a register */
static inline __m512 scale2(float a, float b) { return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1); }

/* Q8_0 in ggml's order (matmul.h): one chain of 8 lanes over the blocks,
 * two blocks a step */
static float dot_q8_0(const uint8_t *row, size_t n, const ll_qvec *qx) {
    const __m512i ones = _mm512_set1_epi16(1), zero = _mm512_setzero_si512();
    const __m512i pair = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m256 acc = _mm256_setzero_ps();
    size_t nb = n / 32, blk = 0;
    for (; blk + 2 <= nb; blk += 2) {
        const uint8_t *b0 = row + 34 * blk, *b1 = b0 + 34;
        ll_prefetch_ahead(b0, 64);
        __m512i wv = ll_bytes2(b0 + 2, b1 + 2);
        __m512i xv = _mm512_loadu_si512(qx->q + 32 * blk);
        /* maddubs wants one unsigned side: |w| and x with w's sign (|x| <= 127) */
        __m512i sx = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(wv), zero, xv);
        __m512i p = _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(wv), sx), ones);
        __m128 d2 = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)(qx->d + blk)));
        acc = ll_q8_chain2(acc, p, _mm512_mul_ps(ll_scales2(b0, b1), _mm512_permutexvar_ps(pair, _mm512_castps128_ps512(d2))));
    }
    if (blk < nb) {
        const uint8_t *b = row + 34 * blk;
        __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(b + 2));
        __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(qx->q + 32 * blk));
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w)),
                                      _mm256_set1_epi16(1));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ll_h2f(b) * qx->d[blk]), _mm256_cvtepi32_ps(p), acc);
    }
    return ll_hsum8_m256(acc);
}

/* Q4_1/Q5_0/Q5_1 in the order of matmul.c's dot_q32: two blocks a
 * register, int32 lanes 0-7 the even block's partial sums of 4 values,
 * lanes 8-15 the odd one's; a lone last block fills lanes 0-7; multiply
 * and add stay separate roundings. */
static inline float dot_q32(const ll_q32_layout *L, const uint8_t *row, size_t n, const ll_qvec *qx) {
    const __m512i bias = _mm512_set1_epi8((char)L->bias), ones = _mm512_set1_epi16(1);
    __m512 acc = _mm512_setzero_ps();
    size_t nb = n / 32, blk = 0;
    for (; blk + 2 <= nb; blk += 2) {
        const uint8_t *b0 = row + L->bytes * blk, *b1 = b0 + L->bytes;
        ll_prefetch_ahead(b0, 64);
        __m512i wv = q32_values2(L, b0);
        __m512i xv = _mm512_loadu_si512(qx->q + 32 * blk);
        __m512i p = _mm512_maddubs_epi16(wv, xv);
        /* (w - bias) * x = w * x - bias * x, in int16 without saturation */
        if (L->bias) p = _mm512_sub_epi16(p, _mm512_maddubs_epi16(bias, xv));
        __m512 t = _mm512_cvtepi32_ps(_mm512_madd_epi16(p, ones));
        if (L->min) {
            /* d and m are neighbours (both types put m at 2): r = [d0 dx0,
             * m0 dx0 xs0, d1 dx1, m1 dx1 xs1] (d dx times 1, which is exact) */
            uint32_t dm0, dm1;
            memcpy(&dm0, b0, 4);
            memcpy(&dm1, b1, 4);
            __m128 dm = _mm_cvtph_ps(_mm_setr_epi32((int)dm0, (int)dm1, 0, 0));
            __m128 dx = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(qx->d + blk)));
            __m128i xs = _mm_madd_epi16(_mm_loadl_epi64((const __m128i *)(qx->sum + 2 * blk)), _mm_set1_epi16(1));
            __m128 r = _mm_mul_ps(_mm_mul_ps(dm, _mm_unpacklo_ps(dx, dx)),
                                  _mm_cvtepi32_ps(_mm_unpacklo_epi32(_mm_set1_epi32(1), xs)));
            /* lanes 0-7 times d0 dx0, 8-15 times d1 dx1; lane 0 adds the
             * first min term, lane 8 the second, the others +0 */
            const __m512i scale_of = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
            const __m512i min_of = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1);
            __m512 r16 = _mm512_castps128_ps512(r);
            t = _mm512_mul_ps(t, _mm512_permutexvar_ps(scale_of, r16));
            t = _mm512_add_ps(t, _mm512_maskz_permutexvar_ps(0x0101, min_of, r16));
        } else {
            t = _mm512_mul_ps(t, scale2(ll_h2f(b0) * qx->d[blk], ll_h2f(b1) * qx->d[blk + 1]));
        }
        acc = _mm512_add_ps(acc, t);
    }
    __m256 lo = _mm512_castps512_ps256(acc), hi = _mm512_extractf32x8_ps(acc, 1);
    if (blk < nb) {
        const uint8_t *b = row + L->bytes * blk;
        __m256i xv = _mm256_loadu_si256((const __m256i *)(qx->q + 32 * blk));
        __m256i p = _mm256_maddubs_epi16(q32_values(L, b), xv);
        if (L->bias) p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(_mm512_castsi512_si256(bias), xv));
        __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm512_castsi512_si256(ones))),
                                 _mm256_set1_ps(ll_h2f(b) * qx->d[blk]));
        if (L->min) {
            float c = ll_h2f(b + L->min) * qx->d[blk] * (float)(qx->sum[2 * blk] + qx->sum[2 * blk + 1]);
            t = _mm256_add_ps(t, _mm256_setr_ps(c, 0, 0, 0, 0, 0, 0, 0));
        }
        lo = _mm256_add_ps(lo, t);
    }
    return ll_hsum16_m256(lo, hi);
}

/* Several tokens at once for Q8_0 (matmul_avx512_inl.h's body): each
 * weight block pair is unpacked once for every token. The integer step:
 * |w| against x with w's sign (vpmaddubsw wants one unsigned side, and
 * 255 x 127 twice would saturate its int16 pairs). */
static inline ll_qn_pair bw_prep(const uint8_t *b0, const uint8_t *b1) {
    __m512i w = ll_bytes2(b0 + 2, b1 + 2);
    return (ll_qn_pair){_mm512_abs_epi8(w), _mm512_movepi8_mask(w)};
}

static inline __m512i bw_lanes(ll_qn_pair w, const ll_qvec *x, size_t blk) {
    __m512i xv = _mm512_loadu_si512(x->q + 32 * blk);
    xv = _mm512_mask_sub_epi8(xv, w.neg, _mm512_setzero_si512(), xv);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(w.w, xv), _mm512_set1_epi16(1));
}

static inline __m256i bw_lanes8(const uint8_t *b, const ll_qvec *x, size_t blk) {
    __m256i w8 = _mm256_loadu_si256((const __m256i *)(const void *)(b + 2));
    __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x->q + 32 * blk));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w8), _mm256_sign_epi8(xv, w8)), _mm256_set1_epi16(1));
}

static void matvec_qn(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T,
                      float *y, size_t ldy, size_t r0, size_t r1) {
    (void)type; /* Q8_0: the only type with matvec_qn */
    ll_matvec_qn_body(w, row_bytes, n, qx, T, y, ldy, r0, r1, bw_prep, bw_lanes, bw_lanes8);
}

/* Q4_0 repacked (matmul_avx512_inl.h): a chain is int16 pairs, one
 * vpmaddubsw per step added in (each pair at most 2 x 15 x 127, all eight
 * steps' 30480: no saturation), closed by one vpmaddwd and the offset */
static inline __m512i bw_start(int32_t c) {
    (void)c; /* added at the end */
    return _mm512_setzero_si512();
}
static inline __m512i bw_step(__m512i chain, __m512i v, int32_t x4) {
    return _mm512_add_epi16(chain, _mm512_maddubs_epi16(v, _mm512_set1_epi32(x4)));
}
static inline __m512i bw_join(__m512i a, __m512i b) { return _mm512_add_epi16(a, b); }
static inline __m512i bw_end(__m512i chain, int32_t c) {
    return _mm512_add_epi32(_mm512_madd_epi16(chain, _mm512_set1_epi16(1)), _mm512_set1_epi32(c));
}
static const ll_r16_steps bw_steps = {bw_start, bw_step, bw_join, bw_end};

static void matvec_r16(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                       size_t r1) {
    ll_matvec_r16_body(w, n, x, T, y, ldy, r0, r1, &bw_steps);
}

/* int16 lane l of the result = v[idx[l]] */
static inline __m512i bcast16(const uint16_t idx[32], __m512i v) {
    return _mm512_permutexvar_epi16(_mm512_loadu_si512(idx), v);
}

static float dot_q4k_like(const uint8_t *row, size_t n, const ll_qvec *qx, int five) {
    /* madd weights: the first 16 int16 lanes (32 values) are sub-block 2c, the rest 2c + 1 */
    static const uint16_t idx[4][32] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
        {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
        {6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};
    const __m512i m4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    const __m512i hshift = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0);
    size_t bb = five ? 176 : 144;
    __m512 acc = _mm512_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (size_t blk = 0; blk < n / 256; blk++) {
        ll_prefetch_ahead(row + bb * blk, bb);
        const uint8_t *b = row + bb * blk, *q = five ? b + 48 : b + 16;
        const int8_t *xq = qx->q + 256 * blk;
        uint32_t u[3];
        memcpy(u, b + 4, 12);
        /* the 6-bit scales and mins of ll_q4k_scale_min, eight at a time */
        uint64_t sc8 = (u[0] & 0x3F3F3F3Fu) | (uint64_t)((u[2] & 0x0F0F0F0Fu) | ((u[0] >> 2) & 0x30303030u)) << 32;
        uint64_t m8 = (u[1] & 0x3F3F3F3Fu) | (uint64_t)(((u[2] >> 4) & 0x0F0F0F0Fu) | ((u[1] >> 2) & 0x30303030u))
                                                 << 32;
        __m512i sc16 = _mm512_cvtepu8_epi16(_mm256_castsi128_si256(_mm_cvtsi64_si128((long long)sc8)));
        __m512i hb =
            five ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b + 16))) : _mm512_setzero_si512();
        hb = _mm512_srlv_epi64(hb, hshift);
        __m512i iacc = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(q + 32 * c));
            __m512i w = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1), m4);
            if (five) {
                w = _mm512_or_si512(w, _mm512_slli_epi16(_mm512_and_si512(hb, one), 4));
                hb = _mm512_srli_epi64(hb, 2);
            }
            __m512i p = _mm512_maddubs_epi16(w, _mm512_loadu_si512(xq + 64 * c));
            iacc = _mm512_add_epi32(iacc, _mm512_madd_epi16(p, bcast16(idx[c], sc16)));
        }
        float dx = qx->d[blk];
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(ll_h2f(b) * dx), acc);
        __m128i mm = _mm_cvtsi64_si128((long long)m8);
        __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mm, mm));
        __m256i bs = _mm256_loadu_si256((const __m256i *)(qx->sum + 16 * blk));
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(bs, mins)), _mm256_set1_ps(ll_h2f(b + 2) * dx), accm);
    }
    return ll_hsum16(acc) - ll_hsum8_m256(accm);
}

static float dot_q6k(const uint8_t *row, size_t n, const ll_qvec *qx) {
    /* madd weights: 8 int16 lanes (16 values) per scale, four scales a register */
    static const uint16_t idx[4][32] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
        {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
        {8,  8,  8,  8,  8,  8,  8,  8,  9,  9,  9,  9,  9,  9,  9,  9,
         10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
        {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13,
         14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}};
    const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
    /* the upper 32 values of each register take qh's bits 2-3 (and 6-7) */
    const __m512i hshift = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
    __m512 acc = _mm512_setzero_ps();
    for (size_t blk = 0; blk < n / 256; blk++) {
        ll_prefetch_ahead(row + 210 * blk, 210);
        const uint8_t *b = row + 210 * blk, *ql = b, *qh = b + 128;
        const int8_t *xq = qx->q + 256 * blk;
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(b + 192));
        __m512i sc16 = _mm512_cvtepi8_epi16(_mm256_castsi128_si256(sc8));
        /* q - 32 with q unsigned for maddubs: take 32 * sc * sum(x) per group off */
        __m256i ofs =
            _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(qx->sum + 16 * blk)), _mm256_cvtepi8_epi16(sc8));
        __m512i iacc = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(ofs, 5)));
        for (int h = 0; h < 2; h++) {
            __m512i L = _mm512_loadu_si512(ql + 64 * h);
            __m512i H =
                _mm512_srlv_epi64(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qh + 32 * h))), hshift);
            __m512i v0 = _mm512_or_si512(_mm512_and_si512(L, m4), _mm512_slli_epi16(_mm512_and_si512(H, m3), 4));
            __m512i v1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L, 4), m4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi64(H, 4), m3), 4));
            __m512i p0 = _mm512_maddubs_epi16(v0, _mm512_loadu_si512(xq + 128 * h));
            __m512i p1 = _mm512_maddubs_epi16(v1, _mm512_loadu_si512(xq + 128 * h + 64));
            iacc = _mm512_add_epi32(iacc, _mm512_madd_epi16(p0, bcast16(idx[2 * h], sc16)));
            iacc = _mm512_add_epi32(iacc, _mm512_madd_epi16(p1, bcast16(idx[2 * h + 1], sc16)));
        }
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(ll_h2f(b + 208) * qx->d[blk]), acc);
    }
    return ll_hsum16(acc);
}

static void matvec_q(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, float *y,
                     size_t r0, size_t r1) {
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        switch (type) {
        case LL_T_Q8_0:
            y[i] = dot_q8_0(row, n, qx);
            break;
        case LL_T_Q4_1:
            y[i] = dot_q32(&q4_1, row, n, qx);
            break;
        case LL_T_Q5_0:
            y[i] = dot_q32(&q5_0, row, n, qx);
            break;
        case LL_T_Q5_1:
            y[i] = dot_q32(&q5_1, row, n, qx);
            break;
        case LL_T_Q4_K:
            y[i] = dot_q4k_like(row, n, qx, 0);
            break;
        case LL_T_Q5_K:
            y[i] = dot_q4k_like(row, n, qx, 1);
            break;
        case LL_T_Q6_K:
            y[i] = dot_q6k(row, n, qx);
            break;
        default:
            ll_matmul_scalar.matvec_q(type, w, row_bytes, n, qx, y, i, i + 1);
            break;
        }
    }
}

/* ---- dequantize a chunk of a row ---- */

static void dequant(uint32_t type, const uint8_t *row, size_t k0, size_t kc, float *out) {
    switch (type) {
    case LL_T_F32: memcpy(out, (const float *)row + k0, kc * sizeof(float)); return;
    case LL_T_F16: {
        const uint16_t *r = (const uint16_t *)row + k0;
        size_t k = 0;
        for (; k + 16 <= kc; k += 16) _mm512_storeu_ps(out + k, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(r + k))));
        for (; k < kc; k++) out[k] = _cvtsh_ss(r[k]);
        return;
    }
    case LL_T_BF16: {
        const uint16_t *r = (const uint16_t *)row + k0;
        size_t k = 0;
        for (; k + 16 <= kc; k += 16)
            _mm512_storeu_ps(out + k, _mm512_castsi512_ps(_mm512_slli_epi32(
                                          _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(r + k))), 16)));
        for (; k < kc; k++) out[k] = ll_bf16_to_fp32(r[k]);
        return;
    }
    case LL_T_Q8_0:
    case LL_T_Q4_0: {
        size_t bb = type == LL_T_Q8_0 ? 34 : 18;
        for (size_t blk = k0 / 32; blk < (k0 + kc) / 32; blk++) {
            __m512 v[2];
            if (type == LL_T_Q8_0) deq_q8_0(row + blk * bb, v);
            else deq_q4_0(row + blk * bb, v);
            _mm512_storeu_ps(out + 32 * blk - k0, v[0]);
            _mm512_storeu_ps(out + 32 * blk - k0 + 16, v[1]);
        }
        return;
    }
    case LL_T_Q4_1:
    case LL_T_Q5_0:
    case LL_T_Q5_1: {
        const ll_q32_layout *L = q32_layout(type);
        for (size_t blk = k0 / 32; blk < (k0 + kc) / 32; blk++) {
            __m512 v[2];
            deq_q32_any(L, row + blk * L->bytes, v);
            _mm512_storeu_ps(out + 32 * blk - k0, v[0]);
            _mm512_storeu_ps(out + 32 * blk - k0 + 16, v[1]);
        }
        return;
    }
    case LL_T_Q4_K:
    case LL_T_Q5_K:
    case LL_T_Q6_K: {
        size_t bb = type == LL_T_Q4_K ? 144 : type == LL_T_Q5_K ? 176 : 210;
        for (size_t blk = k0 / 256; blk < (k0 + kc) / 256; blk++) {
            __m512 v[16];
            if (type == LL_T_Q6_K) deq_q6k(row + blk * bb, v);
            else deq_q4k_like(row + blk * bb, v, type == LL_T_Q5_K);
            for (int j = 0; j < 16; j++) _mm512_storeu_ps(out + 256 * blk - k0 + 16 * j, v[j]);
        }
        return;
    }
    default: ll_matmul_scalar.dequant(type, row, k0, kc, out); return;
    }
}

/* ---- GEMM: 6 tokens x 32 rows per register tile ---- */

#define TILE_T 6

static inline void tile(const float *panel, size_t kc, const float *b, size_t ldb, size_t tn, float *c, size_t ldc,
                        int accumulate) {
    __m512 acc[TILE_T][2];
    for (size_t t = 0; t < TILE_T; t++) {
        if (accumulate && t < tn) {
            acc[t][0] = _mm512_loadu_ps(c + t * ldc);
            acc[t][1] = _mm512_loadu_ps(c + t * ldc + 16);
        } else {
            acc[t][0] = acc[t][1] = _mm512_setzero_ps();
        }
    }
    for (size_t k = 0; k < kc; k++) {
        __m512 p0 = _mm512_loadu_ps(panel + k * LL_PANEL_ROWS), p1 = _mm512_loadu_ps(panel + k * LL_PANEL_ROWS + 16);
        for (size_t t = 0; t < TILE_T; t++) {
            if (t >= tn) break;
            __m512 bv = _mm512_set1_ps(b[t * ldb + k]);
            acc[t][0] = _mm512_fmadd_ps(p0, bv, acc[t][0]);
            acc[t][1] = _mm512_fmadd_ps(p1, bv, acc[t][1]);
        }
    }
    for (size_t t = 0; t < tn; t++) {
        _mm512_storeu_ps(c + t * ldc, acc[t][0]);
        _mm512_storeu_ps(c + t * ldc + 16, acc[t][1]);
    }
}

static void tile6(const float *panel, size_t kc, const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    __m512 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm512_loadu_ps(c), c01 = _mm512_loadu_ps(c + 16);
        c10 = _mm512_loadu_ps(c + ldc), c11 = _mm512_loadu_ps(c + ldc + 16);
        c20 = _mm512_loadu_ps(c + 2 * ldc), c21 = _mm512_loadu_ps(c + 2 * ldc + 16);
        c30 = _mm512_loadu_ps(c + 3 * ldc), c31 = _mm512_loadu_ps(c + 3 * ldc + 16);
        c40 = _mm512_loadu_ps(c + 4 * ldc), c41 = _mm512_loadu_ps(c + 4 * ldc + 16);
        c50 = _mm512_loadu_ps(c + 5 * ldc), c51 = _mm512_loadu_ps(c + 5 * ldc + 16);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm512_setzero_ps();
    }
    const float *b0 = b, *b1 = b + ldb, *b2 = b + 2 * ldb, *b3 = b + 3 * ldb, *b4 = b + 4 * ldb, *b5 = b + 5 * ldb;
    for (size_t k = 0; k < kc; k++) {
        __m512 p0 = _mm512_loadu_ps(panel + k * LL_PANEL_ROWS), p1 = _mm512_loadu_ps(panel + k * LL_PANEL_ROWS + 16);
        __m512 v;
        v = _mm512_set1_ps(b0[k]);
        c00 = _mm512_fmadd_ps(p0, v, c00), c01 = _mm512_fmadd_ps(p1, v, c01);
        v = _mm512_set1_ps(b1[k]);
        c10 = _mm512_fmadd_ps(p0, v, c10), c11 = _mm512_fmadd_ps(p1, v, c11);
        v = _mm512_set1_ps(b2[k]);
        c20 = _mm512_fmadd_ps(p0, v, c20), c21 = _mm512_fmadd_ps(p1, v, c21);
        v = _mm512_set1_ps(b3[k]);
        c30 = _mm512_fmadd_ps(p0, v, c30), c31 = _mm512_fmadd_ps(p1, v, c31);
        v = _mm512_set1_ps(b4[k]);
        c40 = _mm512_fmadd_ps(p0, v, c40), c41 = _mm512_fmadd_ps(p1, v, c41);
        v = _mm512_set1_ps(b5[k]);
        c50 = _mm512_fmadd_ps(p0, v, c50), c51 = _mm512_fmadd_ps(p1, v, c51);
    }
    _mm512_storeu_ps(c, c00), _mm512_storeu_ps(c + 16, c01);
    _mm512_storeu_ps(c + ldc, c10), _mm512_storeu_ps(c + ldc + 16, c11);
    _mm512_storeu_ps(c + 2 * ldc, c20), _mm512_storeu_ps(c + 2 * ldc + 16, c21);
    _mm512_storeu_ps(c + 3 * ldc, c30), _mm512_storeu_ps(c + 3 * ldc + 16, c31);
    _mm512_storeu_ps(c + 4 * ldc, c40), _mm512_storeu_ps(c + 4 * ldc + 16, c41);
    _mm512_storeu_ps(c + 5 * ldc, c50), _mm512_storeu_ps(c + 5 * ldc + 16, c51);
}

static void gemm(const float *panel, size_t kc, const float *b, size_t ldb, size_t T, float *c, size_t ldc,
                 int accumulate) {
    size_t t = 0;
    for (; t + TILE_T <= T; t += TILE_T) tile6(panel, kc, b + t * ldb, ldb, c + t * ldc, ldc, accumulate);
    if (t < T) tile(panel, kc, b + t * ldb, ldb, T - t, c + t * ldc, ldc, accumulate);
}

/* ---- the integer prompt GEMM without VNNI (matmul.h) ---- */

/* vpmaddubsw (unsigned x signed bytes, pairs into int16) and vpmaddwd by
 * ones (pairs into int32) give the lanes' exact sums: with offsets up to
 * 32 the values are at most 63, a pair of products at most 2 * 63 * 128
 * and two steps' pairs still fit int16, so two steps share one vpmaddwd;
 * Q8_0 (offset 128) goes back to its int8 values and multiplies |w| by x
 * with w's sign (at most 2 * 128 * 127), one step at a time, from 0
 * instead of c. */
static inline void gemm_q_kernel(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x,
                                 float *out) {
    const __m512i ones = _mm512_set1_epi16(1), zero = _mm512_setzero_si512(), flip = _mm512_set1_epi8((char)0x80);
    size_t nu = n / unit, tb = ll_gq_token_bytes(n, unit), steps = unit / 4;
    const float *ws = (const float *)(const void *)(w + 16 * n), *wm = ws + 16 * nu;
    const int signed8 = offset == 128;
    __m512 acc[LL_GQ_TOKENS];
    for (int t = 0; t < LL_GQ_TOKENS; t++) acc[t] = _mm512_setzero_ps();
    for (size_t u = 0; u < nu; u++) {
        __m512i isum[LL_GQ_TOKENS];
        for (int t = 0; t < LL_GQ_TOKENS; t++) {
            const int32_t *xc = (const int32_t *)(const void *)(x + (size_t)t * tb + n + 8 * nu);
            isum[t] = signed8 ? zero : _mm512_set1_epi32(xc[u]);
        }
        for (size_t k = u * steps; k < (u + 1) * steps; k += 2) {
            __m512i w0 = _mm512_loadu_si512(w + 64 * k), w1 = _mm512_loadu_si512(w + 64 * k + 64);
            if (signed8) {
                w0 = _mm512_xor_si512(w0, flip);
                w1 = _mm512_xor_si512(w1, flip);
                __m512i a0 = _mm512_abs_epi8(w0), a1 = _mm512_abs_epi8(w1);
                __mmask64 n0 = _mm512_movepi8_mask(w0), n1 = _mm512_movepi8_mask(w1);
                for (int t = 0; t < LL_GQ_TOKENS; t++) {
                    int32_t q0, q1;
                    memcpy(&q0, x + (size_t)t * tb + 4 * k, 4);
                    memcpy(&q1, x + (size_t)t * tb + 4 * k + 4, 4);
                    __m512i x0 = _mm512_set1_epi32(q0), x1 = _mm512_set1_epi32(q1);
                    __m512i p0 = _mm512_maddubs_epi16(a0, _mm512_mask_sub_epi8(x0, n0, zero, x0));
                    __m512i p1 = _mm512_maddubs_epi16(a1, _mm512_mask_sub_epi8(x1, n1, zero, x1));
                    isum[t] = _mm512_add_epi32(isum[t], _mm512_madd_epi16(p0, ones));
                    isum[t] = _mm512_add_epi32(isum[t], _mm512_madd_epi16(p1, ones));
                }
            } else {
                for (int t = 0; t < LL_GQ_TOKENS; t++) {
                    int32_t q0, q1;
                    memcpy(&q0, x + (size_t)t * tb + 4 * k, 4);
                    memcpy(&q1, x + (size_t)t * tb + 4 * k + 4, 4);
                    __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(w0, _mm512_set1_epi32(q0)),
                                                 _mm512_maddubs_epi16(w1, _mm512_set1_epi32(q1)));
                    isum[t] = _mm512_add_epi32(isum[t], _mm512_madd_epi16(p, ones));
                }
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

static void gemm_q(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x, float *out) {
    /* copies with the unit and the kind resolved */
    if (unit != 32) gemm_q_kernel(n, unit, offset, min, w, x, out);
    else if (offset == 128) gemm_q_kernel(n, 32, 128, 0, w, x, out);
    else if (min) gemm_q_kernel(n, 32, 0, 1, w, x, out);
    else gemm_q_kernel(n, 32, offset, 0, w, x, out);
}

/* ---- the float GEMM, tokens in lanes (matmul.h) ---- */

/* nr rows x V registers of 16 tokens (V a constant in each copy, so the
 * accumulators stay in registers) */
static inline __attribute__((always_inline)) void gemm_f_rows(size_t kc, const float *const *w, size_t nr,
                                                              const float *xt, float *c, int accumulate, const int V) {
    __m512 acc[LL_GF_ROWS_NARROW][LL_GF_TOKENS / 16];
    for (size_t r = 0; r < nr; r++)
        for (int h = 0; h < V; h++)
            acc[r][h] = accumulate ? _mm512_loadu_ps(c + r * LL_GF_TOKENS + 16 * h) : _mm512_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m512 xv[LL_GF_TOKENS / 16];
        for (int h = 0; h < V; h++) xv[h] = _mm512_loadu_ps(xt + k * LL_GF_TOKENS + 16 * h);
        for (size_t r = 0; r < nr; r++) {
            __m512 wb = _mm512_set1_ps(w[r][k]);
            for (int h = 0; h < V; h++) acc[r][h] = _mm512_fmadd_ps(wb, xv[h], acc[r][h]);
        }
    }
    for (size_t r = 0; r < nr; r++)
        for (int h = 0; h < V; h++) _mm512_storeu_ps(c + r * LL_GF_TOKENS + 16 * h, acc[r][h]);
}

#define GF_ROWS_V(V)                                                                                                   \
    do {                                                                                                               \
        if (nr == LL_GF_ROWS) gemm_f_rows(kc, w, LL_GF_ROWS, xt, c, accumulate, V); /* unrolled */                   \
        else gemm_f_rows(kc, w, nr, xt, c, accumulate, V);                                                             \
    } while (0)

static void gemm_f(size_t kc, const float *const *w, size_t nr, const float *xt, size_t tn, float *c, int accumulate) {
    switch ((tn + 15) / 16) {
    case 1: /* up to LL_GF_ROWS_NARROW rows */
        if (nr == LL_GF_ROWS_NARROW) gemm_f_rows(kc, w, LL_GF_ROWS_NARROW, xt, c, accumulate, 1);
        else GF_ROWS_V(1);
        break;
    case 2: GF_ROWS_V(2); break;
    case 3: GF_ROWS_V(3); break;
    default: GF_ROWS_V(4); break;
    }
}
#undef GF_ROWS_V

/* 16 x 16 floats: pairs of rows interleaved, then fours, then the 128-bit
 * lanes moved twice; out row 4L + c is lane L of the four registers that
 * hold column c of each group of four rows. */
static void transpose16(const float *src, size_t ls, float *dst, size_t ld) {
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (size_t)i * ls);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + c], lane L: column 4L + c of rows 4g..4g + 3 */
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        _mm512_storeu_ps(dst + (size_t)c * ld, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_storeu_ps(dst + (size_t)(4 + c) * ld, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_storeu_ps(dst + (size_t)(8 + c) * ld, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_storeu_ps(dst + (size_t)(12 + c) * ld, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}

const ll_matmul_kernels ll_matmul_avx512 = {"avx512", matvec,    dequant, gemm,          quantize_x, matvec_q,
                                            matvec_qn, gemm_f,  gemm_q, ll_qvec_lanes, transpose16, matvec_r16};
/* one Q8_0 token keeps dot_q8_0: with its lanes laid out the VNNI kernel
 * measured the same from memory (~10 GB/s, both prefetching) and ~2%
 * slower from L2 */
const ll_matmul_kernels ll_matmul_avx512_vnni = {"avx512_vnni", matvec,    dequant, gemm,          quantize_x,
                                                 matvec_q,      ll_matvec_qn_vnni, gemm_f,  ll_gemm_q_vnni,
                                                 ll_qvec_lanes, transpose16,       ll_matvec_r16_vnni};
