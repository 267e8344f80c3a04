/*
 * attention.c - attention's kernels over a key/value cache in F32 or F16:
 * the scalar reference and AVX2 / AVX-512 versions that replay its
 * arithmetic (attention.h gives the order of every sum). The SIMD versions
 * are compiled for their instruction set with target attributes and called
 * only after dispatch.c has seen the CPU support it.
 */
#include "attention.h"

#include <math.h>
#include <string.h>

#include "logitlab.h"
#include "quant.h"

/* ggml_v_expf's constants: round-to-integer shift, log2(e), ln(2) in two
 * parts, the polynomial's coefficients (highest first), |n| beyond which
 * the result is 0 or infinity */
#define EXP_SHIFT  0x1.8p23f
#define EXP_LOG2E  0x1.715476p+0f
#define EXP_LN2_HI 0x1.62e4p-1f
#define EXP_LN2_LO 0x1.7f7d1cp-20f
#define EXP_C5     0x1.0e4020p-7f
#define EXP_C4     0x1.573e2ep-5f
#define EXP_C3     0x1.555e66p-3f
#define EXP_C2     0x1.fffdb6p-2f
#define EXP_C1     0x1.ffffecp-1f
#define EXP_N_MAX  192.0f

/* ---- scalar reference ---- */

/* the 16 lanes added as a tree: lane i + 8 into i, then i + 4, i + 2, i + 1 */
static float lanes_sum(float a[16]) {
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) a[i] = a[i] + a[i + w];
    return a[0];
}

/* ggml_vec_dot_f32's order (attention.h); k read through LOAD(d) */
#define DOT_BODY(LOAD)                                                                                                 \
    size_t np = hd & ~(size_t)63, e8 = hd - hd % 8;                                                                    \
    float s = 0.0f;                                                                                                    \
    if (np) {                                                                                                          \
        float a[4][16] = {{0}};                                                                                        \
        for (size_t d = 0; d < np; d++) a[(d / 16) % 4][d % 16] = fmaf(q[d], LOAD(d), a[(d / 16) % 4][d % 16]);        \
        for (int l = 0; l < 16; l++) a[0][l] = (a[0][l] + a[2][l]) + (a[1][l] + a[3][l]);                              \
        s = lanes_sum(a[0]);                                                                                           \
    }                                                                                                                  \
    for (size_t d = np; d < e8; d++) {                                                                                 \
        float p = q[d] * LOAD(d);                                                                                      \
        s = s + p;                                                                                                     \
    }                                                                                                                  \
    for (size_t d = e8; d < hd; d++) s = fmaf(q[d], LOAD(d), s);

static float dot_f32(const float *q, const float *k, size_t hd) {
#define LOAD32(d) k[d]
    DOT_BODY(LOAD32)
#undef LOAD32
    return s;
}

static float dot_f16(const float *q, const uint16_t *k, size_t hd) {
#define LOAD16(d) ll_fp16_to_fp32(k[d])
    DOT_BODY(LOAD16)
#undef LOAD16
    return s;
}

static void scalar_scores_f32(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = dot_f32(q, k + i * stride, hd);
}

static void scalar_scores_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = dot_f16(q, k + i * stride, hd);
}

/* ggml_v_expf: x = n ln2 + b, exp(x) = 2^n (1 + b p(b)) */
static float gexp(float x) {
    float n = fmaf(x, EXP_LOG2E, EXP_SHIFT) - EXP_SHIFT;
    float b = fmaf(-n, EXP_LN2_LO, fmaf(-n, EXP_LN2_HI, x));
    float u = b * b;
    float j = fmaf(fmaf(fmaf(EXP_C5, b, EXP_C4), u, fmaf(EXP_C3, b, EXP_C2)), u, fmaf(EXP_C1, b, 1.0f));
    if (n != n) return n;
    if (fabsf(n) > EXP_N_MAX) return n <= 0.0f ? 0.0f : INFINITY;
    return ldexpf(j, (int)n);
}

static double scalar_softmax_exp(float *x, size_t n, size_t p0, float max) {
    double sum = 0.0;
    for (size_t i = 0; i < n;) {
        size_t lane = (p0 + i) % 16, k = 16 - lane < n - i ? 16 - lane : n - i;
        float a[16] = {0};
        for (size_t l = 0; l < k; l++) a[lane + l] = x[i + l] = gexp(x[i + l] - max);
        sum += (double)lanes_sum(a);
        i += k;
    }
    return sum;
}

/* value d of a row of Q8_0 blocks: ggml's dequantize_row_q8_0, q x d */
static float q8_0_value(const uint8_t *row, size_t d) {
    const uint8_t *b = row + d / 32 * 34;
    return (float)(int8_t)b[2 + d % 32] * ll_fp16_to_fp32((uint16_t)(b[0] | b[1] << 8));
}

/* VALUE(row, d): value d of a row, widened to float */
#define SCALAR_WSUM(VALUE)                                                                                             \
    size_t L = 16 * n_acc;                                                                                             \
    if (first) memset(acc, 0, L * hd * sizeof *acc);                                                                   \
    for (size_t i = 0; i < n; i++) {                                                                                   \
        float *a = acc + ((p0 + i) & (L - 1)) * hd;                                                                    \
        for (size_t d = 0; d < hd; d++) a[d] = fmaf(w[i], VALUE(v + i * stride, d), a[d]);                             \
    }
#define SCALAR_F32(row, d) (row)[d]
#define SCALAR_F16(row, d) ll_fp16_to_fp32((row)[d])

static void scalar_wsum_f32(float *acc, size_t n_acc, const float *w, const float *v, size_t stride, size_t n,
                            size_t hd, size_t p0, bool first){SCALAR_WSUM(SCALAR_F32)}

static void scalar_wsum_f16(float *acc, size_t n_acc, const float *w, const uint16_t *v, size_t stride, size_t n,
                            size_t hd, size_t p0, bool first){SCALAR_WSUM(SCALAR_F16)}

static void scalar_wsum_q8_0(float *acc, size_t n_acc, const float *w, const uint8_t *v, size_t stride, size_t n,
                             size_t hd, size_t p0, bool first){SCALAR_WSUM(q8_0_value)}

static void scalar_wsum_reduce(float *out, const float *acc, size_t n_acc, size_t hd) {
    for (size_t d = 0; d < hd; d++) {
        float t[16];
        for (size_t l = 0; l < 16; l++)
            t[l] = n_acc == 4
                       ? (acc[l * hd + d] + acc[(32 + l) * hd + d]) + (acc[(16 + l) * hd + d] + acc[(48 + l) * hd + d])
                       : acc[l * hd + d];
        out[d] = lanes_sum(t);
    }
}

/* the last n % 16 of a row: ggml_silu_f32, its expf here ll_expf */
static void swiglu_tail(float *g, const float *u, size_t i, size_t n) {
    for (; i < n; i++) g[i] = g[i] / (1.0f + ll_expf(-g[i])) * u[i];
}

static void scalar_swiglu(float *g, const float *u, size_t n) {
    size_t e = n - n % 16;
    for (size_t i = 0; i < e; i++) g[i] = g[i] / (1.0f + gexp(0.0f - g[i])) * u[i];
    swiglu_tail(g, u, e, n);
}

/* one body for every table: fmaf is exact, so the tables differ only in
 * whether the compiler may inline it as an instruction */
#define ROPE_BODY                                                                                                      \
    for (size_t i = 0; i < half; i++) {                                                                                \
        size_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;                                                  \
        float cs = r[2 * i], sn = r[2 * i + 1], x0 = v[a], x1 = v[b], x1s = x1 * sn, x1c = x1 * cs;                    \
        v[a] = fmaf(x0, cs, -x1s);                                                                                     \
        v[b] = fmaf(x0, sn, x1c);                                                                                      \
    }

static void scalar_rope(float *v, const float *r, size_t half, bool neox) { ROPE_BODY }

static void scalar_to_f16(uint16_t *dst, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ll_fp32_to_fp16(x[i]);
}

static void scalar_round_f16(float *dst, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ll_fp16_to_fp32(ll_fp32_to_fp16(x[i]));
}

static void scalar_sq_sums(const float *x, size_t stride, size_t rows, size_t n, double *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *v = x + r * stride;
        double ss = 0.0;
        for (size_t i = 0; i < n; i++) ss += (double)(v[i] * v[i]);
        out[r] = ss;
    }
}

const ll_attn_kernels ll_attn_scalar = {
    .name = "scalar",
    .scores_f32 = scalar_scores_f32,
    .scores_f16 = scalar_scores_f16,
    .softmax_exp = scalar_softmax_exp,
    .wsum_f32 = scalar_wsum_f32,
    .wsum_f16 = scalar_wsum_f16,
    .wsum_q8_0 = scalar_wsum_q8_0,
    .wsum_reduce = scalar_wsum_reduce,
    .swiglu = scalar_swiglu,
    .rope = scalar_rope,
    .to_f16 = scalar_to_f16,
    .round_f16 = scalar_round_f16,
    .sq_sums = scalar_sq_sums,
};

#if defined(LL_HAVE_AVX2) || defined(LL_HAVE_AVX512)
#include <immintrin.h>

/* The accumulator count L = 16 x n_acc (n_acc 1 or 4) is a power of two,
 * so a position's accumulator is a mask (a division per position cost
 * more than its multiply-adds). The first position index i of a run
 * starting at p0 with (p0 + i) % L == r: */
static inline size_t first_of(size_t r, size_t p0, size_t L) { return (r + L - (p0 & (L - 1))) & (L - 1); }
#endif

/* ---- AVX2 (+FMA, F16C): 16 lanes as two registers of 8 ---- */
#if defined(LL_HAVE_AVX2)
#define LL_T2 __attribute__((target("avx2,fma,f16c")))

/* lanes 0-7 in lo, 8-15 in hi, added as the tree */
LL_T2 static inline float avx2_lanes_sum(__m256 lo, __m256 hi) {
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

/* r < 8 values (the rest 0) through a zeroed copy */
LL_T2 static inline __m256 avx2_load_f32(const float *p, size_t r) {
    if (r >= 8) return _mm256_loadu_ps(p);
    float t[8] = {0};
    memcpy(t, p, r * sizeof *t);
    return _mm256_loadu_ps(t);
}

LL_T2 static inline __m256 avx2_load_f16(const uint16_t *p, size_t r) {
    if (r >= 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    uint16_t t[8] = {0};
    memcpy(t, p, r * sizeof *t);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t));
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

/* the 4 x 16-lane part of a score: np dimensions, np a multiple of 64 */
#define AVX2_DOT64(LOADK)                                                                                              \
    __m256 a[8];                                                                                                       \
    for (int j = 0; j < 8; j++) a[j] = _mm256_setzero_ps();                                                            \
    for (size_t d = 0; d < np; d += 64)                                                                                \
        for (int j = 0; j < 8; j++) a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8 * j), LOADK(d + 8 * j), a[j]);    \
    /* accumulator m = lanes a[2m] (0-7) and a[2m + 1] (8-15) */                                                       \
    __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6]));                                   \
    __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]));

LL_T2 static void avx2_scores_f32(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t np = hd & ~(size_t)63, e8 = hd - hd % 8, i = 0;
    if (np) {
        for (size_t t = 0; t < n; t++) {
            const float *kp = k + t * stride;
#define LK(d) _mm256_loadu_ps(kp + (d))
            AVX2_DOT64(LK)
#undef LK
            out[t] = avx2_lanes_sum(lo, hi);
        }
    } else {
        for (size_t t = 0; t < n; t++) out[t] = 0.0f;
    }
    if (np == hd) return;
    /* the rest in order, 8 keys at a time in the lanes (a gather per dimension) */
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)stride));
    for (; i + 8 <= n; i += 8) {
        const float *kp = k + i * stride;
        __m256 s = _mm256_loadu_ps(out + i);
        for (size_t d = np; d < e8; d++)
            s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(q[d]), _mm256_i32gather_ps(kp + d, idx, 4)));
        for (size_t d = e8; d < hd; d++)
            s = _mm256_fmadd_ps(_mm256_set1_ps(q[d]), _mm256_i32gather_ps(kp + d, idx, 4), s);
        _mm256_storeu_ps(out + i, s);
    }
    for (; i < n; i++) {
        const float *kp = k + i * stride;
        float s = out[i];
        for (size_t d = np; d < e8; d++) {
            float p = q[d] * kp[d];
            s = s + p;
        }
        for (size_t d = e8; d < hd; d++) s = fmaf(q[d], kp[d], s);
        out[i] = s;
    }
}

LL_T2 static void avx2_scores_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t np = hd & ~(size_t)63, e8 = hd - hd % 8;
    for (size_t t = 0; t < n; t++) {
        const uint16_t *kp = k + t * stride;
        float s = 0.0f;
        if (np) {
#define LK(d) avx2_load_f16(kp + (d), 8)
            AVX2_DOT64(LK)
#undef LK
            s = avx2_lanes_sum(lo, hi);
        }
        for (size_t d = np; d < e8; d++) {
            float p = q[d] * ll_fp16_to_fp32(kp[d]);
            s = s + p;
        }
        for (size_t d = e8; d < hd; d++) s = fmaf(q[d], ll_fp16_to_fp32(kp[d]), s);
        out[t] = s;
    }
}

/* ggml_v_expf in 8 lanes; 2^n applied in two exact steps where AVX-512
 * has scalef: j * 2^(n - n1) is exact, * 2^n1 rounds once */
LL_T2 static inline __m256 avx2_gexp(__m256 x) {
    const __m256 shift = _mm256_set1_ps(EXP_SHIFT);
    __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(EXP_LOG2E), shift), shift);
    __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x));
    __m256 u = _mm256_mul_ps(b, b);
    __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(EXP_C5), b, _mm256_set1_ps(EXP_C4)), u,
                                               _mm256_fmadd_ps(_mm256_set1_ps(EXP_C3), b, _mm256_set1_ps(EXP_C2))),
                               u, _mm256_fmadd_ps(_mm256_set1_ps(EXP_C1), b, _mm256_set1_ps(1.0f)));
    __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(EXP_N_MAX), _CMP_GT_OQ);
    __m256 nc = _mm256_andnot_ps(big, n); /* keeps the integer steps in range; big lanes are replaced below */
    __m256 n1 = _mm256_min_ps(_mm256_max_ps(nc, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(127.0f));
    __m256 n2 = _mm256_sub_ps(nc, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n1), bias), 23));
    __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n2), bias), 23));
    __m256 res = _mm256_mul_ps(_mm256_mul_ps(j, p2), p1);
    __m256 alt = _mm256_blendv_ps(_mm256_set1_ps(INFINITY), _mm256_setzero_ps(),
                                  _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
    res = _mm256_blendv_ps(res, alt, big);
    /* a NaN input: NaN (j is NaN there, and so is res unless big) */
    return _mm256_blendv_ps(res, n, _mm256_cmp_ps(n, n, _CMP_UNORD_Q));
}

LL_T2 static double avx2_softmax_exp(float *x, size_t n, size_t p0, float max) {
    double sum = 0.0;
    const __m256 mx = _mm256_set1_ps(max);
    for (size_t i = 0; i < n;) {
        size_t lane = (p0 + i) % 16, k = 16 - lane < n - i ? 16 - lane : n - i;
        float t[16] = {0}, e[16];
        memcpy(t + lane, x + i, k * sizeof *t);
        __m256 lo = avx2_gexp(_mm256_sub_ps(_mm256_loadu_ps(t), mx));
        __m256 hi = avx2_gexp(_mm256_sub_ps(_mm256_loadu_ps(t + 8), mx));
        /* lanes outside the run are masked positions: 0 */
        _mm256_storeu_ps(e, lo);
        _mm256_storeu_ps(e + 8, hi);
        for (size_t l = 0; l < 16; l++)
            if (l < lane || l >= lane + k) e[l] = 0.0f;
        memcpy(x + i, e + lane, k * sizeof *e);
        sum += (double)avx2_lanes_sum(_mm256_loadu_ps(e), _mm256_loadu_ps(e + 8));
        i += k;
    }
    return sum;
}

/* short runs position by position, long ones accumulator by accumulator
 * (as the AVX-512 table); whole registers without a mask, the last hd % 8
 * values (if any) through a zeroed copy. LOADV(row, d, r): values [d, d +
 * r) of a row (r <= 8); LOAD4(row, d, x): 32 values from d as four
 * registers (d a multiple of 32). */
#define AVX2_WSUM(LOADV, LOAD4)                                                                                        \
    size_t L = 16 * n_acc, nc = hd / 8, tail = hd % 8;                                                                 \
    if (n < 2 * L) {                                                                                                   \
        if (first) memset(acc, 0, L *hd * sizeof *acc);                                                                \
        for (size_t i = 0; i < n; i++) {                                                                               \
            float *a = acc + ((p0 + i) & (L - 1)) * hd;                                                                \
            __m256 wv = _mm256_set1_ps(w[i]), x[4];                                                                    \
            size_t c = 0;                                                                                              \
            for (; c + 4 <= nc; c += 4) {                                                                              \
                LOAD4(v + i * stride, 8 * c, x);                                                                       \
                for (int j = 0; j < 4; j++)                                                                            \
                    _mm256_storeu_ps(a + 8 * (c + j), _mm256_fmadd_ps(wv, x[j], _mm256_loadu_ps(a + 8 * (c + j))));    \
            }                                                                                                          \
            for (; c < nc; c++)                                                                                        \
                _mm256_storeu_ps(a + 8 * c, _mm256_fmadd_ps(wv, LOADV(v + i * stride, 8 * c, 8), _mm256_loadu_ps(a + 8 * c))); \
            if (tail)                                                                                                  \
                avx2_store_f32(a + 8 * c, _mm256_fmadd_ps(wv, LOADV(v + i * stride, 8 * c, tail), avx2_load_f32(a + 8 * c, tail)), \
                               tail);                                                                                  \
        }                                                                                                              \
        return;                                                                                                        \
    }                                                                                                                  \
    for (size_t r = 0; r < L; r++) {                                                                                   \
        float *a = acc + r * hd;                                                                                       \
        size_t i0 = first_of(r, p0, L), c = 0;                                                                         \
        for (; c + 4 <= nc; c += 4) {                                                                                  \
            __m256 s[4], x[4];                                                                                         \
            for (int j = 0; j < 4; j++) s[j] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(a + 8 * (c + j));        \
            for (size_t i = i0; i < n; i += L) {                                                                       \
                __m256 wv = _mm256_set1_ps(w[i]);                                                                      \
                LOAD4(v + i * stride, 8 * c, x);                                                                       \
                for (int j = 0; j < 4; j++) s[j] = _mm256_fmadd_ps(wv, x[j], s[j]);                                    \
            }                                                                                                          \
            for (int j = 0; j < 4; j++) _mm256_storeu_ps(a + 8 * (c + j), s[j]);                                       \
        }                                                                                                              \
        for (; c <= nc; c++) { /* single registers, then the tail */                                                   \
            size_t rr = c < nc ? 8 : tail;                                                                             \
            if (!rr) break;                                                                                            \
            __m256 s0 = first ? _mm256_setzero_ps() : avx2_load_f32(a + 8 * c, rr);                                    \
            for (size_t i = i0; i < n; i += L)                                                                         \
                s0 = _mm256_fmadd_ps(_mm256_set1_ps(w[i]), LOADV(v + i * stride, 8 * c, rr), s0);                      \
            avx2_store_f32(a + 8 * c, s0, rr);                                                                         \
        }                                                                                                              \
    }

/* values [d, d + r) of a row (r <= 8), for AVX2_WSUM */
LL_T2 static inline __m256 avx2_row_f32(const float *row, size_t d, size_t r) { return avx2_load_f32(row + d, r); }
LL_T2 static inline __m256 avx2_row_f16(const uint16_t *row, size_t d, size_t r) { return avx2_load_f16(row + d, r); }
/* of Q8_0 blocks: r is 8 (hd a multiple of 32), q x d as q8_0_value */
LL_T2 static inline __m256 avx2_row_q8_0(const uint8_t *row, size_t d, size_t r) {
    (void)r;
    const uint8_t *b = row + d / 32 * 34;
    __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(b + 2 + d % 32))));
    return _mm256_mul_ps(q, _mm256_set1_ps(_cvtsh_ss((unsigned short)(b[0] | b[1] << 8))));
}

/* 32 values from d as four registers, for AVX2_WSUM */
#define AVX2_FOUR_F32(row, d, x)                                                                                       \
    for (int j_ = 0; j_ < 4; j_++) x[j_] = _mm256_loadu_ps((row) + (d) + 8 * j_)
#define AVX2_FOUR_F16(row, d, x)                                                                                       \
    for (int j_ = 0; j_ < 4; j_++) x[j_] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)((row) + (d) + 8 * j_)))
/* a Q8_0 block's 32 values (d a multiple of 32): its scale widened once */
LL_T2 static inline void avx2_block_q8_0(const uint8_t *row, size_t d, __m256 x[4]) {
    const uint8_t *b = row + d / 32 * 34;
    __m256 s = _mm256_set1_ps(_cvtsh_ss((unsigned short)(b[0] | b[1] << 8)));
    for (int j = 0; j < 4; j++)
        x[j] = _mm256_mul_ps(
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(b + 2 + 8 * j)))), s);
}
#define AVX2_FOUR_Q8_0(row, d, x) avx2_block_q8_0(row, d, x)

LL_T2 static void avx2_wsum_f32(float *acc, size_t n_acc, const float *w, const float *v, size_t stride, size_t n,
                                size_t hd, size_t p0,
                                bool first){AVX2_WSUM(avx2_row_f32, AVX2_FOUR_F32)}

LL_T2 static void avx2_wsum_f16(float *acc, size_t n_acc, const float *w, const uint16_t *v, size_t stride, size_t n,
                                size_t hd, size_t p0,
                                bool first){AVX2_WSUM(avx2_row_f16, AVX2_FOUR_F16)}

LL_T2 static void avx2_wsum_q8_0(float *acc, size_t n_acc, const float *w, const uint8_t *v, size_t stride, size_t n,
                                 size_t hd, size_t p0,
                                 bool first){AVX2_WSUM(avx2_row_q8_0, AVX2_FOUR_Q8_0)}

/* out[d .. d + r) (r <= 8): the accumulators of those dimensions added in
 * attention.h's order */
LL_T2 static inline __attribute__((always_inline)) void avx2_reduce_at(float *out, const float *acc, size_t n_acc,
                                                                       size_t hd, size_t d, size_t r) {
    __m256 t[16];
    for (size_t l = 0; l < 16; l++) {
        __m256 x = avx2_load_f32(acc + l * hd + d, r);
        if (n_acc == 4)
            x = _mm256_add_ps(_mm256_add_ps(x, avx2_load_f32(acc + (32 + l) * hd + d, r)),
                              _mm256_add_ps(avx2_load_f32(acc + (16 + l) * hd + d, r),
                                            avx2_load_f32(acc + (48 + l) * hd + d, r)));
        t[l] = x;
    }
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] = _mm256_add_ps(t[i], t[i + w]);
    avx2_store_f32(out + d, t[0], r);
}

/* whole registers (r a constant 8: no copy), then the last hd % 8 */
LL_T2 static void avx2_wsum_reduce(float *out, const float *acc, size_t n_acc, size_t hd) {
    size_t d = 0;
    for (; d + 8 <= hd; d += 8) avx2_reduce_at(out, acc, n_acc, hd, d, 8);
    if (d < hd) avx2_reduce_at(out, acc, n_acc, hd, d, hd - d);
}

LL_T2 static void avx2_swiglu(float *g, const float *u, size_t n) {
    size_t e = n - n % 16;
    for (size_t i = 0; i < e; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 s =
            _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), avx2_gexp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    swiglu_tail(g, u, e, n);
}

LL_T2 static void avx2_rope(float *v, const float *r, size_t half, bool neox){ROPE_BODY}

LL_T2 static void avx2_to_f16(uint16_t *dst, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = ll_fp32_to_fp16(x[i]);
}

LL_T2 static void avx2_round_f16(float *dst, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    scalar_round_f16(dst + i, x + i, n - i);
}

/* 4 rows at a time, a row per double lane: value i of each gathered */
LL_T2 static void avx2_sq_sums(const float *x, size_t stride, size_t rows, size_t n, double *out) {
    const __m256i at = _mm256_mul_epi32(_mm256_setr_epi64x(0, 1, 2, 3), _mm256_set1_epi64x((long long)stride));
    for (size_t r0 = 0; r0 < rows; r0 += 4) {
        size_t k = rows - r0 < 4 ? rows - r0 : 4;
        __m128 live = _mm_castsi128_ps(_mm_cmplt_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32((int)k)));
        const float *v = x + r0 * stride;
        __m256d ss = _mm256_setzero_pd();
        for (size_t i = 0; i < n; i++) {
            __m128 e = _mm256_mask_i64gather_ps(_mm_setzero_ps(), v + i, at, live, 4);
            ss = _mm256_add_pd(ss, _mm256_cvtps_pd(_mm_mul_ps(e, e)));
        }
        double t[4];
        _mm256_storeu_pd(t, ss);
        memcpy(out + r0, t, k * sizeof *t);
    }
}

const ll_attn_kernels ll_attn_avx2 = {
    .name = "avx2",
    .scores_f32 = avx2_scores_f32,
    .scores_f16 = avx2_scores_f16,
    .softmax_exp = avx2_softmax_exp,
    .wsum_f32 = avx2_wsum_f32,
    .wsum_f16 = avx2_wsum_f16,
    .wsum_q8_0 = avx2_wsum_q8_0,
    .wsum_reduce = avx2_wsum_reduce,
    .swiglu = avx2_swiglu,
    .rope = avx2_rope,
    .to_f16 = avx2_to_f16,
    .round_f16 = avx2_round_f16,
    .sq_sums = avx2_sq_sums,
};
#endif /* LL_HAVE_AVX2 */

/* ---- AVX-512 (F/DQ/VL): 16 lanes in one register ---- */
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

/* r < 16 halves (the rest 0) through a zeroed copy (a masked 16-bit load
 * would need AVX-512 BW) */
LL_T5 static inline __m512 avx512_load_f16(const uint16_t *p, size_t r) {
    if (r >= 16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
    uint16_t t[16] = {0};
    memcpy(t, p, r * sizeof *t);
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)t));
}

LL_T5 static inline __m512 avx512_load_f32(const float *p, size_t r) { return _mm512_maskz_loadu_ps(lanes_mask(r), p); }

#define AVX512_DOT64(LOADK)                                                                                            \
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                                        \
    for (size_t d = 0; d < np; d += 64) {                                                                              \
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), LOADK(d), a0);                                                    \
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d + 16), LOADK(d + 16), a1);                                          \
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d + 32), LOADK(d + 32), a2);                                          \
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d + 48), LOADK(d + 48), a3);                                          \
    }                                                                                                                  \
    __m512 sum4 = _mm512_add_ps(_mm512_add_ps(a0, a2), _mm512_add_ps(a1, a3));

/* out[k] = avx512_lanes_sum(v[k]) for 16 vectors at once: each level of
 * the tree (lane i + 8 into i, then + 4, + 2, + 1) done for all of them
 * by pairing registers, so 15 additions serve 16 keys (the sums are the
 * same bits: every addition has the same two operands) */
LL_T5 static inline void avx512_lanes_sum16(const __m512 v[16], float *out) {
    __m512 u[8], w4[4], z[2];
    for (int k = 0; k < 8; k++) /* halves: key 2k in quarters 0-1, key 2k + 1 in 2-3 */
        u[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE));
    for (int m = 0; m < 4; m++) /* quarters: key 4m + j in quarter j */
        w4[m] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], 0x88),
                              _mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], 0xDD));
    for (int p = 0; p < 2; p++) /* pairs: quarter j holds keys 8p + j (lanes 0-1) and 8p + 4 + j (2-3) */
        z[p] = _mm512_add_ps(_mm512_shuffle_ps(w4[2 * p], w4[2 * p + 1], 0x44),
                             _mm512_shuffle_ps(w4[2 * p], w4[2 * p + 1], 0xEE));
    /* singles: lane 4j + c holds key j + 4c */
    __m512 f = _mm512_add_ps(_mm512_shuffle_ps(z[0], z[1], 0x88), _mm512_shuffle_ps(z[0], z[1], 0xDD));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_storeu_ps(out, _mm512_permutexvar_ps(order, f));
}

/* asks for the row of `bytes` at p, a cache line at a time: the keys and
 * values a few positions on, which the hardware prefetcher, stopping at
 * each 4 KiB page, does not bring in time */
#define LL_ATTN_AHEAD 8
static inline void prefetch_row(const void *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o, 0, 3);
}

/* c[j][i] = r[i][j]: 16 rows of 16 values turned into 16 columns (values
 * of 32 bits interleaved, then 64, then 128-bit blocks) */
LL_T5 static inline void avx512_transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) { /* u[4k + m], block b: column 4b + m of rows 4k .. 4k + 3 */
        __m512d a = _mm512_castps_pd(t[4 * k]), b = _mm512_castps_pd(t[4 * k + 2]);
        __m512d c = _mm512_castps_pd(t[4 * k + 1]), d = _mm512_castps_pd(t[4 * k + 3]);
        u[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        u[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        u[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        u[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int m = 0; m < 4; m++) { /* the 128-bit blocks of u[m], u[4 + m], u[8 + m], u[12 + m] as a 4 x 4 transpose */
        __m512 x0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88), x1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);
        __m512 x2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88), x3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
        r[m] = _mm512_shuffle_f32x4(x0, x2, 0x88);
        r[4 + m] = _mm512_shuffle_f32x4(x1, x3, 0x88);
        r[8 + m] = _mm512_shuffle_f32x4(x0, x2, 0xDD);
        r[12 + m] = _mm512_shuffle_f32x4(x1, x3, 0xDD);
    }
}

/* The score's rest in order (dimensions np .. hd - 1, after the 4 x 16
 * lanes), 16 keys at a time in the lanes: s + q[d] * k[d] rounded twice up
 * to the last hd % 8 dimensions, fused for those. A key's dimensions come
 * as columns of 16 keys x 16 values turned around in registers, widened
 * from F16 16 at a time (they went key by key, value by value: 275 -> 16
 * cycles a key at 32 dimensions, 280 -> 30 at 96). Every loop over the 16 has a constant bound, so the
 * registers stay registers; keys past n load nothing (a zero row). */
#define AVX512_SCORES_REST(LOADROW)                                                                                    \
    size_t e8 = hd - hd % 8;                                                                                           \
    for (size_t i = 0; i < n; i += 16) {                                                                               \
        size_t keys = n - i < 16 ? n - i : 16;                                                                         \
        __mmask16 live = lanes_mask(keys);                                                                             \
        __m512 s = _mm512_maskz_loadu_ps(live, out + i), col[16];                                                      \
        for (size_t d0 = np; d0 < hd; d0 += 16) {                                                                      \
            size_t w = hd - d0 < 16 ? hd - d0 : 16;                                                                    \
            for (size_t j = 0; j < 16; j++) {                                                                          \
                size_t row = j < keys ? i + j : i;                                                                     \
                col[j] = LOADROW(k + row * stride + d0, j < keys ? w : 0);                                             \
            }                                                                                                          \
            avx512_transpose16(col);                                                                                   \
            for (size_t j = 0; j < 16; j++)                                                                            \
                if (j < w) {                                                                                           \
                    __m512 qd = _mm512_set1_ps(q[d0 + j]);                                                             \
                    s = d0 + j < e8 ? _mm512_add_ps(s, _mm512_mul_ps(qd, col[j])) : _mm512_fmadd_ps(qd, col[j], s);    \
                }                                                                                                      \
        }                                                                                                              \
        _mm512_mask_storeu_ps(out + i, live, s);                                                                       \
    }

LL_T5 static void avx512_scores_rest_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t np,
                                         size_t hd, float *out){AVX512_SCORES_REST(avx512_load_f16)}

/* the same for F32 keys, a gather per dimension (they are floats already:
 * turning them around measured no faster) */
LL_T5 static void avx512_scores_rest_gather_f32(const float *q, const float *k, size_t stride, size_t n, size_t np,
                                                size_t hd, float *out) {
    size_t e8 = hd - hd % 8;
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)stride));
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const float *kp = k + i * stride;
        __m512 s = _mm512_loadu_ps(out + i);
        for (size_t d = np; d < e8; d++)
            s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_set1_ps(q[d]), _mm512_i32gather_ps(idx, kp + d, 4)));
        for (size_t d = e8; d < hd; d++)
            s = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_i32gather_ps(idx, kp + d, 4), s);
        _mm512_storeu_ps(out + i, s);
    }
    if (i < n) {
        __mmask16 m = lanes_mask(n - i);
        const float *kp = k + i * stride;
        __m512 s = _mm512_maskz_loadu_ps(m, out + i);
        for (size_t d = np; d < e8; d++)
            s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_set1_ps(q[d]),
                                               _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, kp + d, 4)));
        for (size_t d = e8; d < hd; d++)
            s = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, kp + d, 4),
                                s);
        _mm512_mask_storeu_ps(out + i, m, s);
    }
}

LL_T5 static void avx512_scores_f32(const float *q, const float *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t np = hd & ~(size_t)63;
    if (np) {
        size_t t = 0;
        for (; t + 16 <= n; t += 16) {
            __m512 sums[16];
            for (size_t j = 0; j < 16; j++) {
                const float *kp = k + (t + j) * stride;
                prefetch_row(kp + LL_ATTN_AHEAD * stride, hd * sizeof *kp);
#define LK(d) _mm512_loadu_ps(kp + (d))
                AVX512_DOT64(LK)
#undef LK
                sums[j] = sum4;
            }
            avx512_lanes_sum16(sums, out + t);
        }
        for (; t < n; t++) {
            const float *kp = k + t * stride;
#define LK(d) _mm512_loadu_ps(kp + (d))
            AVX512_DOT64(LK)
#undef LK
            out[t] = avx512_lanes_sum(sum4);
        }
    } else {
        for (size_t t = 0; t < n; t++) out[t] = 0.0f;
    }
    if (np == hd) return;
    avx512_scores_rest_gather_f32(q, k, stride, n, np, hd, out);
}

LL_T5 static void avx512_scores_f16(const float *q, const uint16_t *k, size_t stride, size_t n, size_t hd, float *out) {
    size_t np = hd & ~(size_t)63, t = 0;
    /* the first np dimensions, 16 keys at a time as the F32 keys */
#define LK(d) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(kp + (d))))
    for (; np && t + 16 <= n; t += 16) {
        __m512 sums[16];
        for (size_t j = 0; j < 16; j++) {
            const uint16_t *kp = k + (t + j) * stride;
            prefetch_row(kp + LL_ATTN_AHEAD * stride, hd * sizeof *kp);
            AVX512_DOT64(LK)
            sums[j] = sum4;
        }
        avx512_lanes_sum16(sums, out + t);
    }
    for (; t < n; t++) {
        const uint16_t *kp = k + t * stride;
        float s = 0.0f;
        if (np) {
            AVX512_DOT64(LK)
            s = avx512_lanes_sum(sum4);
        }
        out[t] = s;
    }
#undef LK
    if (np == hd) return;
    avx512_scores_rest_f16(q, k, stride, n, np, hd, out);
}

/* ggml_v_expf (AVX-512 form) */
LL_T5 static inline __m512 avx512_gexp(__m512 x) {
    const __m512 shift = _mm512_set1_ps(EXP_SHIFT);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(EXP_LOG2E), shift), shift);
    __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x));
    __m512 u = _mm512_mul_ps(b, b);
    __m512 j = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(EXP_C5), b, _mm512_set1_ps(EXP_C4)), u,
                                               _mm512_fmadd_ps(_mm512_set1_ps(EXP_C3), b, _mm512_set1_ps(EXP_C2))),
                               u, _mm512_fmadd_ps(_mm512_set1_ps(EXP_C1), b, _mm512_set1_ps(1.0f)));
    __m512 res = _mm512_scalef_ps(j, n);
    __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(EXP_N_MAX), _CMP_GT_OQ);
    __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ), _mm512_set1_ps(INFINITY),
                                      _mm512_setzero_ps());
    return _mm512_mask_blend_ps(big, res, alt);
}

LL_T5 static double avx512_softmax_exp(float *x, size_t n, size_t p0, float max) {
    double sum = 0.0;
    const __m512 mx = _mm512_set1_ps(max);
    for (size_t i = 0; i < n;) {
        size_t lane = (p0 + i) % 16, k = 16 - lane < n - i ? 16 - lane : n - i;
        /* the run's lanes of this block of 16 positions (expanded into place
         * from x + i); the others are masked positions: 0 */
        __mmask16 m = (__mmask16)(lanes_mask(k) << lane);
        __m512 e = _mm512_maskz_mov_ps(m, avx512_gexp(_mm512_sub_ps(_mm512_maskz_expandloadu_ps(m, x + i), mx)));
        _mm512_mask_compressstoreu_ps(x + i, m, e);
        sum += (double)avx512_lanes_sum(e);
        i += k;
    }
    return sum;
}

/* a short run (fewer than 2 positions per accumulator: one token's step)
 * position by position into the accumulators in memory, a long one
 * accumulator by accumulator in registers; each accumulator adds its
 * positions in increasing order either way. Whole registers go without a
 * mask, the last hd % 16 values (if any) masked (a mask and a branch per
 * register ran at about 25 cycles a position from L1). LOADV(row, d, r):
 * values [d, d + r) of a row (r <= 16); LOAD2(row, d, x0, x1): 32 values
 * from d as two registers (d a multiple of 32). */
#define AVX512_WSUM(LOADV, LOAD2)                                                                                      \
    size_t L = 16 * n_acc, nc = hd / 16, tail = hd % 16;                                                               \
    if (n < 2 * L) {                                                                                                   \
        if (first) memset(acc, 0, L *hd * sizeof *acc);                                                                \
        for (size_t i = 0; i < n; i++) {                                                                               \
            float *a = acc + ((p0 + i) & (L - 1)) * hd;                                                                \
            prefetch_row(v + (i + LL_ATTN_AHEAD) * stride, hd * sizeof *v);                                            \
            __m512 wv = _mm512_set1_ps(w[i]), x0, x1;                                                                  \
            size_t c = 0;                                                                                              \
            for (; c + 2 <= nc; c += 2) {                                                                              \
                LOAD2(v + i * stride, 16 * c, x0, x1);                                                                 \
                _mm512_storeu_ps(a + 16 * c, _mm512_fmadd_ps(wv, x0, _mm512_loadu_ps(a + 16 * c)));                    \
                _mm512_storeu_ps(a + 16 * c + 16, _mm512_fmadd_ps(wv, x1, _mm512_loadu_ps(a + 16 * c + 16)));          \
            }                                                                                                          \
            for (; c <= nc; c++) { /* a single register, then the tail */                                              \
                size_t rr = c < nc ? 16 : tail;                                                                        \
                if (!rr) break;                                                                                        \
                __m512 x = _mm512_fmadd_ps(wv, LOADV(v + i * stride, 16 * c, rr), avx512_load_f32(a + 16 * c, rr));   \
                _mm512_mask_storeu_ps(a + 16 * c, lanes_mask(rr), x);                                                  \
            }                                                                                                          \
        }                                                                                                              \
        return;                                                                                                        \
    }                                                                                                                  \
    for (size_t r = 0; r < L; r++) {                                                                                   \
        float *a = acc + r * hd;                                                                                       \
        size_t i0 = first_of(r, p0, L), c = 0;                                                                         \
        for (; c + 4 <= nc; c += 4) {                                                                                  \
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, x0, x1, x2, x3;                                \
            if (!first) {                                                                                              \
                s0 = _mm512_loadu_ps(a + 16 * c);                                                                      \
                s1 = _mm512_loadu_ps(a + 16 * c + 16);                                                                 \
                s2 = _mm512_loadu_ps(a + 16 * c + 32);                                                                 \
                s3 = _mm512_loadu_ps(a + 16 * c + 48);                                                                 \
            }                                                                                                          \
            for (size_t i = i0; i < n; i += L) {                                                                       \
                __m512 wv = _mm512_set1_ps(w[i]);                                                                      \
                LOAD2(v + i * stride, 16 * c, x0, x1);                                                                 \
                LOAD2(v + i * stride, 16 * c + 32, x2, x3);                                                            \
                s0 = _mm512_fmadd_ps(wv, x0, s0);                                                                      \
                s1 = _mm512_fmadd_ps(wv, x1, s1);                                                                      \
                s2 = _mm512_fmadd_ps(wv, x2, s2);                                                                      \
                s3 = _mm512_fmadd_ps(wv, x3, s3);                                                                      \
            }                                                                                                          \
            _mm512_storeu_ps(a + 16 * c, s0);                                                                          \
            _mm512_storeu_ps(a + 16 * c + 16, s1);                                                                     \
            _mm512_storeu_ps(a + 16 * c + 32, s2);                                                                     \
            _mm512_storeu_ps(a + 16 * c + 48, s3);                                                                     \
        }                                                                                                              \
        for (; c <= nc; c++) { /* single registers, then the tail */                                                   \
            size_t rr = c < nc ? 16 : tail;                                                                            \
            if (!rr) break;                                                                                            \
            __m512 s0 = first ? _mm512_setzero_ps() : avx512_load_f32(a + 16 * c, rr);                                 \
            for (size_t i = i0; i < n; i += L)                                                                         \
                s0 = _mm512_fmadd_ps(_mm512_set1_ps(w[i]), LOADV(v + i * stride, 16 * c, rr), s0);                     \
            _mm512_mask_storeu_ps(a + 16 * c, lanes_mask(rr), s0);                                                     \
        }                                                                                                              \
    }

/* values [d, d + r) of a row (r <= 16), for AVX512_WSUM */
LL_T5 static inline __m512 avx512_row_f32(const float *row, size_t d, size_t r) { return avx512_load_f32(row + d, r); }
LL_T5 static inline __m512 avx512_row_f16(const uint16_t *row, size_t d, size_t r) { return avx512_load_f16(row + d, r); }
/* of Q8_0 blocks: r is 16 (hd a multiple of 32), q x d as q8_0_value */
LL_T5 static inline __m512 avx512_row_q8_0(const uint8_t *row, size_t d, size_t r) {
    (void)r;
    const uint8_t *b = row + d / 32 * 34;
    __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(b + 2 + d % 32))));
    return _mm512_mul_ps(q, _mm512_set1_ps(_cvtsh_ss((unsigned short)(b[0] | b[1] << 8))));
}

/* 32 values from d as two registers, for AVX512_WSUM */
#define AVX512_TWO_F32(row, d, x0, x1) (x0 = _mm512_loadu_ps((row) + (d)), x1 = _mm512_loadu_ps((row) + (d) + 16))
#define AVX512_F16_AT(row, d)          _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)((row) + (d))))
#define AVX512_TWO_F16(row, d, x0, x1) (x0 = AVX512_F16_AT(row, d), x1 = AVX512_F16_AT(row, (d) + 16))
/* a Q8_0 block's 32 values (d a multiple of 32): its scale widened once */
LL_T5 static inline void avx512_block_q8_0(const uint8_t *row, size_t d, __m512 *x0, __m512 *x1) {
    const uint8_t *b = row + d / 32 * 34;
    __m512 s = _mm512_set1_ps(_cvtsh_ss((unsigned short)(b[0] | b[1] << 8)));
    __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(b + 2));
    *x0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q))), s);
    *x1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1))), s);
}
#define AVX512_TWO_Q8_0(row, d, x0, x1) avx512_block_q8_0(row, d, &x0, &x1)

LL_T5 static void avx512_wsum_f32(float *acc, size_t n_acc, const float *w, const float *v, size_t stride, size_t n,
                                  size_t hd, size_t p0,
                                  bool first){AVX512_WSUM(avx512_row_f32, AVX512_TWO_F32)}

LL_T5 static void avx512_wsum_f16(float *acc, size_t n_acc, const float *w, const uint16_t *v, size_t stride, size_t n,
                                  size_t hd, size_t p0,
                                  bool first){AVX512_WSUM(avx512_row_f16, AVX512_TWO_F16)}

LL_T5 static void avx512_wsum_q8_0(float *acc, size_t n_acc, const float *w, const uint8_t *v, size_t stride, size_t n,
                                   size_t hd, size_t p0,
                                   bool first){AVX512_WSUM(avx512_row_q8_0, AVX512_TWO_Q8_0)}

/* out[d .. d + r) (r <= 16): the accumulators of those dimensions added
 * in attention.h's order */
LL_T5 static inline __attribute__((always_inline)) void avx512_reduce_at(float *out, const float *acc, size_t n_acc,
                                                                         size_t hd, size_t d, size_t r) {
    __m512 t[16];
    for (size_t l = 0; l < 16; l++) {
        __m512 x = avx512_load_f32(acc + l * hd + d, r);
        if (n_acc == 4)
            x = _mm512_add_ps(_mm512_add_ps(x, avx512_load_f32(acc + (32 + l) * hd + d, r)),
                              _mm512_add_ps(avx512_load_f32(acc + (16 + l) * hd + d, r),
                                            avx512_load_f32(acc + (48 + l) * hd + d, r)));
        t[l] = x;
    }
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] = _mm512_add_ps(t[i], t[i + w]);
    _mm512_mask_storeu_ps(out + d, lanes_mask(r), t[0]);
}

/* whole registers (r a constant 16: no mask), then the last hd % 16 */
LL_T5 static void avx512_wsum_reduce(float *out, const float *acc, size_t n_acc, size_t hd) {
    size_t d = 0;
    for (; d + 16 <= hd; d += 16) avx512_reduce_at(out, acc, n_acc, hd, d, 16);
    if (d < hd) avx512_reduce_at(out, acc, n_acc, hd, d, hd - d);
}

LL_T5 static void avx512_swiglu(float *g, const float *u, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(g + i);
        __m512 s =
            _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), avx512_gexp(_mm512_sub_ps(_mm512_setzero_ps(), x))));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(s, _mm512_loadu_ps(u + i)));
    }
    swiglu_tail(g, u, i, n);
}

LL_T5 static void avx512_rope(float *v, const float *r, size_t half, bool neox){ROPE_BODY}

LL_T5 static void avx512_to_f16(uint16_t *dst, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = ll_fp32_to_fp16(x[i]);
}

LL_T5 static void avx512_round_f16(float *dst, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    scalar_round_f16(dst + i, x + i, n - i);
}

/* 8 rows at a time, a row per double lane: value i of each gathered */
LL_T5 static void avx512_sq_sums(const float *x, size_t stride, size_t rows, size_t n, double *out) {
    const __m512i at =
        _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64((long long)stride));
    for (size_t r0 = 0; r0 < rows; r0 += 8) {
        size_t k = rows - r0 < 8 ? rows - r0 : 8;
        __mmask8 live = (__mmask8)((1u << k) - 1u);
        const float *v = x + r0 * stride;
        __m512d ss = _mm512_setzero_pd();
        for (size_t i = 0; i < n; i++) {
            __m256 e = _mm512_mask_i64gather_ps(_mm256_setzero_ps(), live, at, v + i, 4);
            ss = _mm512_add_pd(ss, _mm512_cvtps_pd(_mm256_mul_ps(e, e)));
        }
        _mm512_mask_storeu_pd(out + r0, live, ss);
    }
}

const ll_attn_kernels ll_attn_avx512 = {
    .name = "avx512",
    .scores_f32 = avx512_scores_f32,
    .scores_f16 = avx512_scores_f16,
    .softmax_exp = avx512_softmax_exp,
    .wsum_f32 = avx512_wsum_f32,
    .wsum_f16 = avx512_wsum_f16,
    .wsum_q8_0 = avx512_wsum_q8_0,
    .wsum_reduce = avx512_wsum_reduce,
    .swiglu = avx512_swiglu,
    .rope = avx512_rope,
    .to_f16 = avx512_to_f16,
    .round_f16 = avx512_round_f16,
    .sq_sums = avx512_sq_sums,
};
#endif /* LL_HAVE_AVX512 */
