/*
 * matmul_avx2.c - AVX2/FMA matrix kernels for CPUs without AVX-512:
 * vector decoding of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 (for
 * batches; the K-quant blocks are decoded by the scalar reference into a
 * small buffer), integer dot products on quantized activations for one
 * token. A 6-token x 16-row register tile runs the batch GEMM (two tile
 * columns per 32-row panel). Compiled with -mavx2 -mfma -mf16c.
 */
#include "matmul.h"

#include <immintrin.h>
#include <string.h>

#include "hsum_x86.h"
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

/* Byte i = 16 where bit i of qh is set: the fifth bits of a Q5 block, in
 * value order (bytes 0-15 the low nibbles' values, 16-31 the high ones). */
static inline __m256i fifth_bits(const uint8_t *p) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                                            3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    uint32_t qh;
    memcpy(&qh, p, 4);
    __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread), bit);
    return _mm256_and_si256(_mm256_cmpeq_epi8(v, bit), _mm256_set1_epi8(16));
}

/* The 32 unsigned values (0..31) of a Q4_0/Q4_1/Q5_0/Q5_1 block, in order. */
static inline __m256i q32_values(const ll_q32_layout *L, const uint8_t *b) {
    __m128i q = _mm_loadu_si128((const __m128i *)(b + L->qs));
    __m256i w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
    return L->qh ? _mm256_or_si256(w, fifth_bits(b + L->qh)) : w;
}

/* A whole Q4_1/Q5_0/Q5_1 block to float with the reference's operations:
 * (q - bias) * d, or q * d + m. */
static inline void deq_q32(const ll_q32_layout *L, const uint8_t *b, float *out) {
    __m256i v = _mm256_sub_epi8(q32_values(L, b), _mm256_set1_epi8((char)L->bias));
    __m256 d = _mm256_set1_ps(h2f(b)), m = _mm256_set1_ps(L->min ? h2f(b + L->min) : 0.0f);
    for (int j = 0; j < 4; j++) {
        __m128i v8 = j < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
        if (j & 1) v8 = _mm_srli_si128(v8, 8);
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v8)), d);
        _mm256_storeu_ps(out + 8 * j, L->min ? _mm256_add_ps(f, m) : f);
    }
}

static const ll_q32_layout q4_1 = LL_Q4_1_LAYOUT, q5_0 = LL_Q5_0_LAYOUT, q5_1 = LL_Q5_1_LAYOUT;

static const ll_q32_layout *q32_layout(uint32_t type) {
    return type == LL_T_Q4_1 ? &q4_1 : type == LL_T_Q5_0 ? &q5_0 : type == LL_T_Q5_1 ? &q5_1 : NULL;
}

static bool vector_type(uint32_t t) {
    return t == LL_T_F32 || t == LL_T_F16 || t == LL_T_BF16 || t == LL_T_Q8_0 || t == LL_T_Q4_0;
}


static void dequant(uint32_t type, const uint8_t *row, size_t k0, size_t kc, float *out) {
    const ll_q32_layout *L = q32_layout(type);
    if (L) { /* k0 and kc are multiples of the block */
        for (size_t blk = k0 / 32; blk < (k0 + kc) / 32; blk++) {
            const uint8_t *b = row + L->bytes * blk;
            float *o = out + 32 * blk - k0;
            if (L == &q4_1) deq_q32(&q4_1, b, o);
            else if (L == &q5_0) deq_q32(&q5_0, b, o);
            else deq_q32(&q5_1, b, o);
        }
        return;
    }
    if (!vector_type(type) || kc % 8) {
        ll_matmul_scalar.dequant(type, row, k0, kc, out);
        return;
    }
    for (size_t k = 0; k < kc; k += 8) _mm256_storeu_ps(out + k, decode8(type, row, k0 + k));
}

/* An F32/F16/BF16 row in the float types' order (matmul.h): the four
 * 16-lane accumulators as pairs of 8-lane halves, a[c][h]. */
static inline __attribute__((always_inline)) float dot_float_of(const uint32_t type, const uint8_t *row, size_t n,
                                                                 const float *x) {
    __m256 a[4][2];
    for (int c = 0; c < 4; c++) a[c][0] = a[c][1] = _mm256_setzero_ps();
    size_t k = 0, b16 = type == LL_T_F32 ? 64 : 32; /* bytes of 16 values */
    for (; k + 64 <= n; k += 64) {
        ll_prefetch_ahead(row + k / 16 * b16, 4 * b16);
        for (int c = 0; c < 4; c++)
            for (int h = 0; h < 2; h++)
                a[c][h] = _mm256_fmadd_ps(decode8(type, row, k + 16 * (size_t)c + 8 * (size_t)h),
                                          _mm256_loadu_ps(x + k + 16 * c + 8 * h), a[c][h]);
    }
    for (; k + 16 <= n; k += 16)
        for (int h = 0; h < 2; h++)
            a[0][h] = _mm256_fmadd_ps(decode8(type, row, k + 8 * (size_t)h), _mm256_loadu_ps(x + k + 8 * h), a[0][h]);
    /* ll_q32_hsum of (a0 + a1) + (a2 + a3) */
    float s = ll_hsum16_m256(_mm256_add_ps(_mm256_add_ps(a[0][0], a[1][0]), _mm256_add_ps(a[2][0], a[3][0])),
                             _mm256_add_ps(_mm256_add_ps(a[0][1], a[1][1]), _mm256_add_ps(a[2][1], a[3][1])));
    for (; k < n; k++) {
        float wk = type == LL_T_F32   ? ((const float *)(const void *)row)[k]
                   : type == LL_T_F16 ? _cvtsh_ss(((const uint16_t *)(const void *)row)[k])
                                      : ll_bf16_to_fp32(((const uint16_t *)(const void *)row)[k]);
        s += wk * x[k];
    }
    return s;
}

/* one copy per type, so that decoding is not a branch per 8 values */
static float dot_float(uint32_t type, const uint8_t *row, size_t n, const float *x) {
    switch (type) {
    case LL_T_F32: return dot_float_of(LL_T_F32, row, n, x);
    case LL_T_F16: return dot_float_of(LL_T_F16, row, n, x);
    default: return dot_float_of(LL_T_BF16, row, n, x);
    }
}

static void matvec(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const float *x, float *y, size_t r0,
                   size_t r1) {
    float buf[LL_PANEL_K];
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        if (type == LL_T_F32 || type == LL_T_F16 || type == LL_T_BF16) {
            y[i] = dot_float(type, row, n, x);
            continue;
        }
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        if (vector_type(type) && n % 32 == 0) {
            size_t b32 = ll_row_bytes(type, 32); /* bytes of 32 values */
            for (size_t k = 0; k < n; k += 32) {
                ll_prefetch_ahead(row + k / 32 * b32, b32);
                a0 = _mm256_fmadd_ps(decode8(type, row, k), _mm256_loadu_ps(x + k), a0);
                a1 = _mm256_fmadd_ps(decode8(type, row, k + 8), _mm256_loadu_ps(x + k + 8), a1);
                a2 = _mm256_fmadd_ps(decode8(type, row, k + 16), _mm256_loadu_ps(x + k + 16), a2);
                a3 = _mm256_fmadd_ps(decode8(type, row, k + 24), _mm256_loadu_ps(x + k + 24), a3);
            }
            y[i] = ll_hsum8_m256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
            continue;
        }
        if (n % 8) {
            ll_matmul_scalar.matvec(type, w, row_bytes, n, x, y, i, i + 1);
            continue;
        }
        for (size_t k0 = 0; k0 < n; k0 += LL_PANEL_K) {
            size_t kc = n - k0 < LL_PANEL_K ? n - k0 : LL_PANEL_K;
            dequant(type, row, k0, kc, buf);
            for (size_t k = 0; k < kc; k += 8)
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(buf + k), _mm256_loadu_ps(x + k0 + k), a0);
        }
        y[i] = ll_hsum8_m256(a0);
    }
}

/* ---- matvec on quantized activations: integer dot products ---- */

static void quantize_x(const float *x, size_t n, ll_qvec *qx) { ll_matmul_scalar.quantize_x(x, n, qx); }

static inline __m256i scale_pair(int a, int b) {
    return _mm256_set_m128i(_mm_set1_epi16((short)b), _mm_set1_epi16((short)a));
}

/* 8 int32 of one 32-value block: sum of unsigned w times signed x, pairs then quads */
static inline __m256i dot32(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}


/* Q8_0 in ggml's order (matmul.h): one chain of 8 lanes over the blocks */
static float dot_q8_0(const uint8_t *row, size_t n, const ll_qvec *qx) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t blk = 0; blk < n / 32; blk++) {
        const uint8_t *b = row + 34 * blk;
        if (!(blk & 1)) ll_prefetch_ahead(b, 64);
        __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(b + 2));
        __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(qx->q + 32 * blk));
        /* |w| and x with w's sign: |x| <= 127 so the flip cannot overflow */
        __m256 p = _mm256_cvtepi32_ps(dot32(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(b) * qx->d[blk]), p, acc);
    }
    return ll_hsum8_m256(acc);
}

/* Q4_1/Q5_0/Q5_1 in the order of matmul.c's dot_q32: the 8 int32 lanes of
 * one block are its partial sums of 4 values; even blocks add into a0,
 * odd ones into a1; multiply and add stay separate roundings. */
static inline float dot_q32(const ll_q32_layout *L, const uint8_t *row, size_t n, const ll_qvec *qx) {
    const __m256i bias = _mm256_set1_epi8((char)L->bias), ones = _mm256_set1_epi16(1);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    for (size_t blk = 0; blk < n / 32; blk++) {
        if (!(blk & 1)) ll_prefetch_ahead(row + L->bytes * blk, 64);
        const uint8_t *b = row + L->bytes * blk;
        __m256i xv = _mm256_loadu_si256((const __m256i *)(qx->q + 32 * blk));
        __m256i p = _mm256_maddubs_epi16(q32_values(L, b), xv);
        /* (w - bias) * x = w * x - bias * x, in int16 without saturation */
        if (L->bias) p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(bias, xv));
        __m256 t = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
        if (L->min) {
            /* d and m are neighbours (both types put m at 2): r = [d dx,
             * m dx xs] (d dx times 1, which is exact) */
            uint32_t dm;
            memcpy(&dm, b, 4);
            __m128 dx = _mm_set1_ps(qx->d[blk]);
            int xs = qx->sum[2 * blk] + qx->sum[2 * blk + 1];
            __m128 r = _mm_mul_ps(_mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)dm)), dx),
                                  _mm_cvtepi32_ps(_mm_setr_epi32(1, xs, 0, 0)));
            t = _mm256_mul_ps(t, _mm256_broadcastss_ps(r));
            /* lane 0 adds m dx xs, the others +0 */
            t = _mm256_add_ps(t, _mm256_zextps128_ps256(_mm_insert_ps(r, r, 0x4E)));
        } else {
            t = _mm256_mul_ps(t, _mm256_set1_ps(h2f(b) * qx->d[blk]));
        }
        if (blk & 1)
            a1 = _mm256_add_ps(a1, t);
        else
            a0 = _mm256_add_ps(a0, t);
    }
    return ll_hsum8_m256(_mm256_add_ps(a0, a1));
}


/* The K-quants' order (matmul.c, dot_k): the 16 integer lanes as ilo
 * (lanes 0-7: the first 32 of each 64 values) and ihi (the second 32). */
static float dot_q4k_like(const uint8_t *row, size_t n, const ll_qvec *qx, int five) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    size_t bb = five ? 176 : 144;
    __m256 acc_lo = _mm256_setzero_ps(), acc_hi = acc_lo, accm = acc_lo;
    for (size_t blk = 0; blk < n / 256; blk++) {
        ll_prefetch_ahead(row + bb * blk, bb);
        const uint8_t *b = row + bb * blk, *q = five ? b + 48 : b + 16;
        const int8_t *xq = qx->q + 256 * blk;
        __m256i hb = five ? _mm256_loadu_si256((const __m256i *)(const void *)(b + 16)) : _mm256_setzero_si256();
        __m256i ilo = _mm256_setzero_si256(), ihi = ilo;
        int16_t mins[16];
        for (int c = 0; c < 4; c++) {
            uint8_t s0, m0, s1, m1;
            ll_q4k_scale_min(2 * c, b + 4, &s0, &m0);
            ll_q4k_scale_min(2 * c + 1, b + 4, &s1, &m1);
            mins[4 * c] = mins[4 * c + 1] = m0;
            mins[4 * c + 2] = mins[4 * c + 3] = m1;
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(q + 32 * c));
            __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
                hb = _mm256_srli_epi16(hb, 2);
            }
            __m256i p0 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(const void *)(xq + 64 * c)));
            __m256i p1 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(const void *)(xq + 64 * c + 32)));
            ilo = _mm256_add_epi32(ilo, _mm256_madd_epi16(p0, _mm256_set1_epi16(s0)));
            ihi = _mm256_add_epi32(ihi, _mm256_madd_epi16(p1, _mm256_set1_epi16(s1)));
        }
        float dx = qx->d[blk];
        __m256 d = _mm256_set1_ps(h2f(b) * dx);
        acc_lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ilo), d, acc_lo);
        acc_hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ihi), d, acc_hi);
        /* lane j: min j times sub-block j's activation sum (its two groups) */
        __m256i bs = _mm256_loadu_si256((const __m256i *)(const void *)(qx->sum + 16 * blk));
        __m256i im = _mm256_madd_epi16(bs, _mm256_loadu_si256((const __m256i *)(const void *)mins));
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(im), _mm256_set1_ps(h2f(b + 2) * dx), accm);
    }
    return ll_hsum16_m256(acc_lo, acc_hi) - ll_hsum8_m256(accm);
}

static float dot_q6k(const uint8_t *row, size_t n, const ll_qvec *qx) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    __m256 acc_lo = _mm256_setzero_ps(), acc_hi = acc_lo;
    for (size_t blk = 0; blk < n / 256; blk++) {
        ll_prefetch_ahead(row + 210 * blk, 210);
        const uint8_t *b = row + 210 * blk, *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        const int8_t *xq = qx->q + 256 * blk;
        /* q - 32 with q unsigned for maddubs: lane j (< 8) starts at -32 times
         * the scaled sums of groups 2j and 2j + 1 */
        __m256i ofs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(qx->sum + 16 * blk)),
                                        _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)sc)));
        __m256i ilo = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(ofs, 5)), ihi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i A = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 64 * h));
            __m256i B = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 64 * h + 32));
            __m256i H = _mm256_loadu_si256((const __m256i *)(const void *)(qh + 32 * h));
            __m256i v[4];
            v[0] = _mm256_or_si256(_mm256_and_si256(A, m4), _mm256_slli_epi16(_mm256_and_si256(H, m3), 4));
            v[1] = _mm256_or_si256(_mm256_and_si256(B, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2), m3), 4));
            v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 4), m3), 4));
            v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 6), m3), 4));
            /* values 128h + 32 part .. + 31: the first 32 of a 64 (ilo) for
             * parts 0 and 2, the second (ihi) for 1 and 3 */
            for (int part = 0; part < 4; part++) {
                int g = 8 * h + 2 * part;
                __m256i p = _mm256_maddubs_epi16(v[part], _mm256_loadu_si256((const __m256i *)(const void *)(xq + 16 * g)));
                __m256i t = _mm256_madd_epi16(p, scale_pair(sc[g], sc[g + 1]));
                if (part & 1) ihi = _mm256_add_epi32(ihi, t);
                else ilo = _mm256_add_epi32(ilo, t);
            }
        }
        __m256 d = _mm256_set1_ps(h2f(b + 208) * qx->d[blk]);
        acc_lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ilo), d, acc_lo);
        acc_hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ihi), d, acc_hi);
    }
    return ll_hsum16_m256(acc_lo, acc_hi);
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

/* ---- the integer prompt GEMM (matmul.h) ---- */

/* As the AVX-512 BW kernel, on 8 rows (one half of a group's 64-byte
 * step) and 4 tokens at a time, which is what 16 registers hold; each
 * output gets the same operations in the same order. */
static inline void gemm_q_part(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x,
                               int half, int t0, float *out) {
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    size_t nu = n / unit, tb = ll_gq_token_bytes(n, unit), steps = unit / 4;
    const float *ws = (const float *)(const void *)(w + 16 * n) + 8 * half, *wm = ws + 16 * nu;
    const uint8_t *wh = w + 32 * half, *xt = x + (size_t)t0 * tb;
    const int signed8 = offset == 128;
    enum { TN = 4 };
    __m256 acc[TN];
    for (int t = 0; t < TN; t++) acc[t] = _mm256_setzero_ps();
    for (size_t u = 0; u < nu; u++) {
        __m256i isum[TN];
        for (int t = 0; t < TN; t++) {
            const int32_t *xc = (const int32_t *)(const void *)(xt + (size_t)t * tb + n + 8 * nu);
            isum[t] = signed8 ? _mm256_setzero_si256() : _mm256_set1_epi32(xc[u]);
        }
        for (size_t k = u * steps; k < (u + 1) * steps; k += 2) {
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(wh + 64 * k));
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(wh + 64 * k + 64));
            if (signed8) {
                w0 = _mm256_xor_si256(w0, flip);
                w1 = _mm256_xor_si256(w1, flip);
                __m256i a0 = _mm256_abs_epi8(w0), a1 = _mm256_abs_epi8(w1);
                for (int t = 0; t < TN; t++) {
                    int32_t q0, q1;
                    memcpy(&q0, xt + (size_t)t * tb + 4 * k, 4);
                    memcpy(&q1, xt + (size_t)t * tb + 4 * k + 4, 4);
                    __m256i p0 = _mm256_maddubs_epi16(a0, _mm256_sign_epi8(_mm256_set1_epi32(q0), w0));
                    __m256i p1 = _mm256_maddubs_epi16(a1, _mm256_sign_epi8(_mm256_set1_epi32(q1), w1));
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p0, ones));
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p1, ones));
                }
            } else {
                for (int t = 0; t < TN; t++) {
                    int32_t q0, q1;
                    memcpy(&q0, xt + (size_t)t * tb + 4 * k, 4);
                    memcpy(&q1, xt + (size_t)t * tb + 4 * k + 4, 4);
                    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(w0, _mm256_set1_epi32(q0)),
                                                 _mm256_maddubs_epi16(w1, _mm256_set1_epi32(q1)));
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, ones));
                }
            }
        }
        __m256 sc = _mm256_loadu_ps(ws + 16 * u);
        for (int t = 0; t < TN; t++) {
            const float *xs = (const float *)(const void *)(xt + (size_t)t * tb + n);
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(isum[t]), sc), _mm256_set1_ps(xs[u]), acc[t]);
        }
        if (min) {
            __m256 m = _mm256_loadu_ps(wm + 16 * u);
            for (int t = 0; t < TN; t++) {
                const float *xm = (const float *)(const void *)(xt + (size_t)t * tb + n + 4 * nu);
                acc[t] = _mm256_fmadd_ps(m, _mm256_set1_ps(xm[u]), acc[t]);
            }
        }
    }
    for (int t = 0; t < TN; t++) _mm256_storeu_ps(out + 16 * (t0 + t) + 8 * half, acc[t]);
}

static inline void gemm_q_all(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x,
                              float *out) {
    for (int half = 0; half < 2; half++)
        for (int t0 = 0; t0 < LL_GQ_TOKENS; t0 += 4) gemm_q_part(n, unit, offset, min, w, x, half, t0, out);
}

static void gemm_q(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x, float *out) {
    /* copies with the unit and the kind resolved */
    if (unit != 32) gemm_q_all(n, unit, offset, min, w, x, out);
    else if (offset == 128) gemm_q_all(n, 32, 128, 0, w, x, out);
    else if (min) gemm_q_all(n, 32, 0, 1, w, x, out);
    else gemm_q_all(n, 32, offset, 0, w, x, out);
}

/* ---- the float GEMM, tokens in lanes (matmul.h) ---- */

/* 16 tokens (two registers) x up to 6 rows per pass, as many passes as
 * the tn tokens need */
static inline void gemm_f_rows(size_t kc, const float *const *w, size_t nr, const float *xt, size_t tn, float *c,
                               int accumulate) {
    for (size_t part = 0; part < (tn + 15) / 16; part++) {
        __m256 acc[LL_GF_ROWS][2];
        const float *xh = xt + 16 * part;
        float *ch = c + 16 * part;
        for (size_t r = 0; r < nr; r++)
            for (int h = 0; h < 2; h++)
                acc[r][h] = accumulate ? _mm256_loadu_ps(ch + r * LL_GF_TOKENS + 8 * h) : _mm256_setzero_ps();
        for (size_t k = 0; k < kc; k++) {
            __m256 x0 = _mm256_loadu_ps(xh + k * LL_GF_TOKENS), x1 = _mm256_loadu_ps(xh + k * LL_GF_TOKENS + 8);
            for (size_t r = 0; r < nr; r++) {
                __m256 wb = _mm256_broadcast_ss(&w[r][k]);
                acc[r][0] = _mm256_fmadd_ps(wb, x0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(wb, x1, acc[r][1]);
            }
        }
        for (size_t r = 0; r < nr; r++)
            for (int h = 0; h < 2; h++) _mm256_storeu_ps(ch + r * LL_GF_TOKENS + 8 * h, acc[r][h]);
    }
}

static void gemm_f(size_t kc, const float *const *w, size_t nr, const float *xt, size_t tn, float *c, int accumulate) {
    for (size_t r0 = 0; r0 < nr; r0 += LL_GF_ROWS) { /* 16 registers: 6 rows at a time */
        size_t m = nr - r0 < LL_GF_ROWS ? nr - r0 : LL_GF_ROWS;
        float *cr = c + r0 * LL_GF_TOKENS;
        if (m == LL_GF_ROWS) gemm_f_rows(kc, w + r0, LL_GF_ROWS, xt, tn, cr, accumulate); /* unrolled */
        else gemm_f_rows(kc, w + r0, m, xt, tn, cr, accumulate);
    }
}

/* ---- Q4_0 repacked 16 rows at a time (matmul.h, LL_T_Q4_0_R16) ----
 * Half a group at a time: rows 8h .. 8h+7 are bytes 32h .. 32h+31 of
 * each 64-byte step pair, one row per int32 lane. Up to four tokens share
 * a block's unpacked nibbles; the integer step is vpmaddubsw per step,
 * the eight steps' int16 pairs added (at most 8 x 2 x 15 x 127 = 30480)
 * before one vpmaddwd. */
/* tokens t0 .. t0 + T - 1 of a tile of TW */
static inline __attribute__((always_inline)) void r16_half(const uint8_t *g, size_t nb, size_t h, const uint8_t *x,
                                                            size_t TW, size_t t0, const size_t T, __m256 acc[4]) {
    const __m256i lo = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    const uint8_t *d = g + 256 * nb;
    for (size_t t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *q = g + 256 * b + 32 * h, *blk = x + LL_R16X_BLOCK(TW) * b;
        ll_prefetch_ahead(q, 256);
        __m256i v[8];
        for (int c = 0; c < 4; c++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(q + 64 * c));
            v[c] = _mm256_and_si256(raw, lo);
            v[4 + c] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo);
        }
        __m256 ws = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(d + 32 * b + 16 * h)));
        for (size_t t = 0; t < T; t++) {
            size_t k = t0 + t;
#define X4(s) _mm256_set1_epi32(ll_r16x_step(blk, TW, (s), k))
            __m256i p0 = _mm256_maddubs_epi16(v[0], X4(0)), p1 = _mm256_maddubs_epi16(v[1], X4(1));
            for (int s = 2; s < 8; s += 2) {
                p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(v[s], X4(s)));
                p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(v[s + 1], X4(s + 1)));
            }
#undef X4
            __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones),
                                            _mm256_set1_epi32(ll_r16x_c(blk, TW, k)));
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(isum), ws), _mm256_set1_ps(ll_r16x_d(blk, TW, k)),
                                     acc[t]);
        }
    }
}

static void matvec_r16(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                       size_t r1) {
    size_t nb = n / 32, gb = ll_r16_group_bytes(n);
    for (size_t i0 = r0; i0 < r1; i0 += 16)
        for (size_t h = 0; h < 2 && i0 + 8 * h < r1; h++) {
            size_t base = i0 + 8 * h, nr = r1 - base < 8 ? r1 - base : 8;
            const uint8_t *g = w + i0 / 16 * gb;
            for (size_t t0 = 0; t0 < T; t0 += 4) {
                size_t tn = T - t0 < 4 ? T - t0 : 4;
                __m256 acc[4];
                switch (tn) {
                case 1: r16_half(g, nb, h, x, T, t0, 1, acc); break;
                case 2: r16_half(g, nb, h, x, T, t0, 2, acc); break;
                case 3: r16_half(g, nb, h, x, T, t0, 3, acc); break;
                default: r16_half(g, nb, h, x, T, t0, 4, acc); break;
                }
                for (size_t t = 0; t < tn; t++) {
                    float out[8];
                    _mm256_storeu_ps(out, acc[t]);
                    memcpy(y + (t0 + t) * ldy + base, out, nr * sizeof(float));
                }
            }
        }
}

const ll_matmul_kernels ll_matmul_avx2 = {"avx2",   matvec, dequant, gemm, quantize_x, matvec_q, NULL,
                                          gemm_f,   gemm_q, NULL,    NULL, matvec_r16};
