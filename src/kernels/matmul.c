/*
 * matmul.c - the threaded driver of matrix products and the scalar kernel
 * table (the reference every SIMD table is tested against).
 */
#include "matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

/* ---- scalar kernels ---- */

static void scalar_dequant(uint32_t type, const uint8_t *row, size_t k0, size_t kc, float *out) {
    const ll_type_info *ti = ll_type_info_of(type);
    ll_dequantize_row_ref(type, row + k0 / ti->block * ti->block_bytes, out, kc);
}

/* value k of an F32, F16 or BF16 row */
static float float_at(uint32_t type, const uint8_t *row, size_t k) {
    if (type == LL_T_F32) return ((const float *)(const void *)row)[k];
    uint16_t h = (uint16_t)(row[2 * k] | row[2 * k + 1] << 8);
    return type == LL_T_F16 ? ll_fp16_to_fp32(h) : ll_bf16_to_fp32(h);
}

/* An F32/F16/BF16 row in the float types' order (matmul.h). */
static float dot_float(uint32_t type, const uint8_t *row, size_t n, const float *x) {
    float a[4][16] = {{0}}, v[16];
    size_t k = 0;
    for (; k + 64 <= n; k += 64)
        for (size_t c = 0; c < 4; c++)
            for (size_t l = 0; l < 16; l++)
                a[c][l] = fmaf(float_at(type, row, k + 16 * c + l), x[k + 16 * c + l], a[c][l]);
    for (; k + 16 <= n; k += 16)
        for (size_t l = 0; l < 16; l++) a[0][l] = fmaf(float_at(type, row, k + l), x[k + l], a[0][l]);
    for (size_t l = 0; l < 16; l++) v[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
    float s = ll_q32_hsum(v);
    for (; k < n; k++) s += float_at(type, row, k) * x[k];
    return s;
}

static void scalar_matvec(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const float *x, float *y,
                          size_t r0, size_t r1) {
    float buf[LL_PANEL_K];
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        if (type == LL_T_F32 || type == LL_T_F16 || type == LL_T_BF16) {
            y[i] = dot_float(type, row, n, x);
            continue;
        }
        float acc[8] = {0};
        for (size_t k0 = 0; k0 < n; k0 += LL_PANEL_K) {
            size_t kc = n - k0 < LL_PANEL_K ? n - k0 : LL_PANEL_K;
            scalar_dequant(type, row, k0, kc, buf);
            for (size_t k = 0; k < kc; k++) acc[k % 8] += buf[k] * x[k0 + k];
        }
        y[i] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    }
}

static void scalar_gemm(const float *panel, size_t kc, const float *b, size_t ldb, size_t T, float *c, size_t ldc,
                        int accumulate) {
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < LL_PANEL_ROWS; i++) {
            float s = accumulate ? c[t * ldc + i] : 0.0f;
            for (size_t k = 0; k < kc; k++) s += panel[k * LL_PANEL_ROWS + i] * b[t * ldb + k];
            c[t * ldc + i] = s;
        }
}

/* ---- quantized activations ---- */

size_t ll_qvec_block(uint32_t type) {
    switch (type) {
    case LL_T_Q4_0:
    case LL_T_Q4_1:
    case LL_T_Q5_0:
    case LL_T_Q5_1:
    case LL_T_Q8_0:
    case LL_T_Q4_0_R16:
        return LL_QX_32;
    case LL_T_Q4_K:
    case LL_T_Q5_K:
    case LL_T_Q6_K:
        return LL_QX_256;
    default:
        return 0;
    }
}

/* The rounding every table reproduces, ggml's on x86 (quantize_row_q8_0's
 * AVX code, quantize_row_q8_K_ref): values x * (127 / amax) rounded to
 * nearest even (the default mode, as the vector conversion); the scale is
 * amax / 127 rounded through half precision for 32-blocks (Q8_0) and
 * 1 / (127 / amax) for 256-blocks (Q8_K stores 1/iscale). ggml's Q8_K
 * negates both the values and the scale when the largest |x| is positive:
 * the products are the same. */
static void qx_scales(float amax, size_t block, float *d, float *id) {
    *id = amax != 0.0f ? 127.0f / amax : 0.0f;
    *d = block == LL_QX_32 ? ll_fp16_to_fp32(ll_fp32_to_fp16(amax / 127.0f)) : *id != 0.0f ? 1.0f / *id : 0.0f;
}

static void scalar_quantize_x(const float *x, size_t n, ll_qvec *qx) {
    size_t B = qx->block;
    for (size_t b = 0; b < n / B; b++) {
        const float *xb = x + b * B;
        float amax = 0.0f;
        for (size_t k = 0; k < B; k++) {
            float a = fabsf(xb[k]);
            amax = a > amax ? a : amax;
        }
        float d, id;
        qx_scales(amax, B, &d, &id);
        for (size_t k = 0; k < B; k++) {
            long v = lrintf(xb[k] * id);
            qx->q[b * B + k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
        qx->d[b] = d;
    }
    for (size_t g = 0; g < n / 16; g++) {
        int s = 0;
        for (size_t k = 0; k < 16; k++) s += qx->q[16 * g + k];
        qx->sum[g] = (int16_t)s;
    }
}

static float rd_half(const uint8_t *p) { return ll_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8)); }

/* Integer values of one 256-block of a K-quant, before scales and offsets. */
static void unpack_k(uint32_t type, const uint8_t *b, int8_t v[256]) {
    if (type == LL_T_Q6_K) {
        const uint8_t *ql = b, *qh = b + 128;
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                uint8_t a = ql[64 * h + l], c = ql[64 * h + 32 + l], hb = qh[32 * h + l];
                v[128 * h + l] = (int8_t)((a & 0xF) | (hb & 3) << 4);
                v[128 * h + 32 + l] = (int8_t)((c & 0xF) | (hb >> 2 & 3) << 4);
                v[128 * h + 64 + l] = (int8_t)((a >> 4) | (hb >> 4 & 3) << 4);
                v[128 * h + 96 + l] = (int8_t)((c >> 4) | (hb >> 6 & 3) << 4);
            }
        return;
    }
    int five = type == LL_T_Q5_K;
    const uint8_t *qh = b + 16, *q = five ? b + 48 : b + 16;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int lo = q[32 * c + l] & 0xF, hi = q[32 * c + l] >> 4;
            if (five) {
                lo |= (qh[l] >> (2 * c) & 1) << 4;
                hi |= (qh[l] >> (2 * c + 1) & 1) << 4;
            }
            v[64 * c + l] = (int8_t)lo;
            v[64 * c + 32 + l] = (int8_t)hi;
        }
}

/* Q4_1, Q5_0 and Q5_1 rows on quantized activations, in the one order of
 * float operations every table follows, so that all give the same bits
 * (the integer sums are exact in any order; the float steps are not):
 *  - block b's 32 products fall into 8 integer partial sums p[j] of
 *    values 4j .. 4j+3 (what a 256-bit multiply-add of bytes leaves);
 *  - each becomes (float)p[j] * (d * dx), and with a min, lane 0 adds
 *    (m * dx) * sum(x's 32 integers) (the min times the activations);
 *  - even blocks add into lanes 0-7, odd ones into lanes 8-15 (a 512-bit
 *    register holds two blocks); no fused multiply-add anywhere;
 *  - the row is ll_q32_hsum of the 16 lanes.
 * Each accumulator starts at +0 and so can never become -0, which makes
 * adding a zero (as the vector code does in the lanes without a min)
 * change nothing. */
float ll_q32_hsum(const float acc[16]) {
    float r[8];
    for (int j = 0; j < 8; j++) r[j] = acc[j] + acc[j + 8];
    return ((r[0] + r[4]) + (r[2] + r[6])) + ((r[1] + r[5]) + (r[3] + r[7]));
}

/* ggml's hsum_float_8: the upper four lanes onto the lower, then lanes 0+2
 * and 1+3, then the two (matmul.h) */
float ll_q8_hsum8(const float acc[8]) {
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

static float dot_q8_0(const uint8_t *row, size_t n, const ll_qvec *qx) {
    float acc[8] = {0};
    for (size_t blk = 0; blk < n / 32; blk++) {
        const int8_t *wq = (const int8_t *)(row + 34 * blk + 2), *xq = qx->q + 32 * blk;
        float d = rd_half(row + 34 * blk) * qx->d[blk];
        for (int j = 0; j < 8; j++) {
            int p = 0;
            for (int k = 4 * j; k < 4 * j + 4; k++) p += wq[k] * xq[k];
            acc[j] = fmaf(d, (float)p, acc[j]);
        }
    }
    return ll_q8_hsum8(acc);
}

static float dot_q32(const ll_q32_layout *L, const uint8_t *row, size_t n, const ll_qvec *qx) {
    float acc[16] = {0};
    for (size_t blk = 0; blk < n / 32; blk++) {
        const uint8_t *b = row + L->bytes * blk;
        const int8_t *xq = qx->q + 32 * blk;
        uint8_t v[32];
        ll_q32_values(L, b, v);
        float s = rd_half(b) * qx->d[blk];
        float c = L->min ? rd_half(b + L->min) * qx->d[blk] * (float)(qx->sum[2 * blk] + qx->sum[2 * blk + 1]) : 0.0f;
        float *a = acc + 8 * (blk & 1);
        for (int j = 0; j < 8; j++) {
            int p = 0;
            for (int k = 4 * j; k < 4 * j + 4; k++) p += (v[k] - L->bias) * xq[k];
            float t = (float)p * s;
            if (L->min) t = t + (j == 0 ? c : 0.0f);
            a[j] = a[j] + t;
        }
    }
    return ll_q32_hsum(acc);
}

/* Q4_K, Q5_K and Q6_K in the K-quants' order (matmul.h): per 256-block,
 * 16 integer lanes; lane l takes, for each 64 values c, the products of
 * values 64c + 4l .. 64c + 4l + 3 (the weights' unsigned values) times
 * their sub-block's scale; Q6_K's lanes 0-7 start at -32 times the scaled
 * activation sums of groups 2l and 2l + 1 (its values are stored + 32).
 * Then lane l = fma(lane sum, d * dx, lane l); Q4_K/Q5_K also keep 8 lanes
 * of min times sub-block j's activation sum, = fma(., dmin * dx, .). The
 * row is ll_q32_hsum of the 16 lanes, minus ll_q8_hsum8 of the 8. */
static float dot_k(uint32_t type, const uint8_t *row, size_t n, const ll_qvec *qx) {
    const bool six = type == LL_T_Q6_K;
    size_t bb = type == LL_T_Q4_K ? 144 : type == LL_T_Q5_K ? 176 : 210;
    float acc[16] = {0}, accm[8] = {0};
    for (size_t blk = 0; blk < n / 256; blk++) {
        const uint8_t *b = row + bb * blk;
        const int8_t *xq = qx->q + 256 * blk;
        const int16_t *bs = qx->sum + 16 * blk;
        int8_t v[256];
        int sc[16], mn[8];
        unpack_k(type, b, v);
        if (six) {
            for (int g = 0; g < 16; g++) sc[g] = ((const int8_t *)(b + 192))[g];
        } else {
            for (int j = 0; j < 8; j++) {
                uint8_t s8, m8;
                ll_q4k_scale_min(j, b + 4, &s8, &m8);
                sc[j] = s8;
                mn[j] = m8;
            }
        }
        float dx = qx->d[blk], d = (six ? rd_half(b + 208) : rd_half(b)) * dx;
        for (int l = 0; l < 16; l++) {
            int32_t lane = six && l < 8 ? -32 * (sc[2 * l] * bs[2 * l] + sc[2 * l + 1] * bs[2 * l + 1]) : 0;
            for (int c = 0; c < 4; c++) {
                int k0 = 64 * c + 4 * l, p = 0;
                for (int k = k0; k < k0 + 4; k++) p += v[k] * xq[k];
                lane += sc[six ? k0 / 16 : k0 / 32] * p;
            }
            acc[l] = fmaf((float)lane, d, acc[l]);
        }
        if (!six) {
            float dm = rd_half(b + 2) * dx;
            for (int j = 0; j < 8; j++) accm[j] = fmaf((float)(mn[j] * (bs[2 * j] + bs[2 * j + 1])), dm, accm[j]);
        }
    }
    return ll_q32_hsum(acc) - ll_q8_hsum8(accm);
}

static void scalar_matvec_q(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, float *y,
                            size_t r0, size_t r1) {
    const ll_q32_layout *L = ll_q32_layout_of(type);
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        float acc = 0.0f;
        if (L) {
            acc = dot_q32(L, row, n, qx);
        } else if (type == LL_T_Q8_0) {
            acc = dot_q8_0(row, n, qx);
        } else {
            acc = dot_k(type, row, n, qx);
        }
        y[i] = acc;
    }
}

/* The integer GEMM's arithmetic (matmul.h), output by output: fmaf
 * rounds once, as the vector fused multiply-add. */
static void scalar_gemm_q(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x, float *out) {
    size_t nu = n / unit, xb = ll_gq_token_bytes(n, unit);
    const float *ws = (const float *)(const void *)(w + 16 * n), *wm = ws + 16 * nu;
    (void)offset; /* in c */
    for (size_t t = 0; t < LL_GQ_TOKENS; t++) {
        const int8_t *q = (const int8_t *)(x + t * xb);
        const float *xs = (const float *)(const void *)(q + n), *xm = xs + nu;
        const int32_t *xc = (const int32_t *)(const void *)(xm + nu);
        for (size_t r = 0; r < LL_GQ_ROWS; r++) {
            float acc = 0.0f;
            for (size_t u = 0; u < nu; u++) {
                int32_t isum = xc[u];
                for (size_t k = u * unit; k < (u + 1) * unit; k++) isum += w[k / 4 * 64 + 4 * r + k % 4] * q[k];
                acc = fmaf((float)isum * ws[16 * u + r], xs[u], acc);
                if (min) acc = fmaf(wm[16 * u + r], xm[u], acc);
            }
            out[t * LL_GQ_ROWS + r] = acc;
        }
    }
}

/* The float prompt GEMM (matmul.h, gemm_f): one fused multiply-add per k
 * in order for each row and token, as the SIMD tables' lanes do. */
static void scalar_gemm_f(size_t kc, const float *const *w, size_t nr, const float *xt, size_t tn, float *c,
                          int accumulate) {
    for (size_t r = 0; r < nr; r++)
        for (size_t t = 0; t < tn; t++) {
            float s = accumulate ? c[r * LL_GF_TOKENS + t] : 0.0f;
            for (size_t k = 0; k < kc; k++) s = fmaf(w[r][k], xt[k * LL_GF_TOKENS + t], s);
            c[r * LL_GF_TOKENS + t] = s;
        }
}

const ll_matmul_kernels ll_matmul_scalar = {
    "scalar",      scalar_matvec, scalar_dequant, scalar_gemm, scalar_quantize_x,   scalar_matvec_q, NULL,
    scalar_gemm_f, scalar_gemm_q, NULL,           NULL,        ll_matvec_r16_scalar};

/* ---- driver ---- */

/* The integer GEMM's share of a thread's scratch: its unpacked row panel
 * and a part of the quantized tokens (which all threads read). */
#define LL_GQ_AREA        (512u << 10)
#define LL_GQ_TOKEN_SHARE (1536u << 10)

size_t ll_matmul_scratch_floats(void) {
    /* the float GEMM needs the panel, one dequantized row chunk and a C
     * tile for partial rows, far less than the integer GEMM */
    size_t fgemm = LL_PANEL_ROWS * LL_PANEL_K + LL_PANEL_K + 64 * LL_PANEL_ROWS;
    size_t igemm = (LL_GQ_AREA + LL_GQ_TOKEN_SHARE) / sizeof(float);
    return fgemm > igemm ? fgemm : igemm;
}

typedef struct {
    const ll_matmul_kernels *k;
    const ll_matrix *w;
    const float *x;
    size_t T;
    float *y;
    float *scratch;
    size_t scratch_stride;
    const ll_qvec *qx; /* T of them */
    size_t chunk;      /* rows a matvec chunk takes (matvec_chunk_rows) */
    const uint8_t *xt; /* repacked Q4_0: the T tokens in tiles of 8 (ll_r16x_put) */
} job;

/* Rows a chunk of a matvec job takes: small enough that a thread which
 * loses its core holds up little, large enough that claiming it (atomics
 * on a line the threads share, ~0.1-0.2 us) costs little next to its dot
 * products: a multiple of 16 rows (whole groups of repacked Q4_0) reading
 * about LL_MATVEC_CHUNK_BYTES of weights. */
#ifndef LL_MATVEC_CHUNK_BYTES
#define LL_MATVEC_CHUNK_BYTES (64u << 10)
#endif

static size_t matvec_chunk_rows(const ll_matrix *w) {
    size_t rows = w->row_bytes ? LL_MATVEC_CHUNK_BYTES / w->row_bytes / 16 * 16 : 0;
    return rows < 16 ? 16 : rows;
}

static size_t chunks_of(size_t rows, size_t per) { return (rows + per - 1) / per; }

static void chunk_rows(size_t rows, size_t per, size_t chunk, size_t *r0, size_t *r1) {
    *r0 = chunk * per;
    *r1 = *r0 + per < rows ? *r0 + per : rows;
}

static void matvec_chunk(void *ctx, size_t chunk, int slot) {
    job *j = ctx;
    size_t r0, r1;
    (void)slot;
    chunk_rows(j->w->rows, j->chunk, chunk, &r0, &r1);
    j->k->matvec(j->w->type, j->w->data, j->w->row_bytes, j->w->cols, j->x, j->y, r0, r1);
}

static void matvec_q_chunk(void *ctx, size_t chunk, int slot) {
    job *j = ctx;
    const ll_matrix *w = j->w;
    size_t r0, r1;
    (void)slot;
    chunk_rows(w->rows, j->chunk, chunk, &r0, &r1);
    if (w->type == LL_T_Q4_0_R16) { /* a prompt's tokens too, a tile of 8 at a time over the chunk's rows */
        for (size_t t0 = 0; t0 < j->T; t0 += LL_QROWS_MAX)
            j->k->matvec_r16(w->data, w->cols, j->xt + ll_r16x_bytes(w->cols, t0),
                             j->T - t0 < LL_QROWS_MAX ? j->T - t0 : LL_QROWS_MAX, j->y + t0 * w->rows, w->rows, r0, r1);
        return;
    }
    if (j->T == 1) {
        j->k->matvec_q(w->type, w->data, w->row_bytes, w->cols, j->qx, j->y, r0, r1);
        return;
    }
    if (j->k->matvec_qn && w->type == LL_T_Q8_0) {
        j->k->matvec_qn(w->type, w->data, w->row_bytes, w->cols, j->qx, j->T, j->y, w->rows, r0, r1);
        return;
    }
    for (size_t t = 0; t < j->T; t++)
        j->k->matvec_q(w->type, w->data, w->row_bytes, w->cols, &j->qx[t], j->y + t * w->rows, r0, r1);
}

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* The bytes one quantized activation vector of n values takes in the
 * scratch, and where its scales, group sums and (with lanes) lane_c and
 * lane_d start. */
typedef struct {
    size_t d, sum, lane_c, lane_d, bytes;
} qvec_layout;

static qvec_layout qvec_bytes(size_t n, size_t block, bool lanes) {
    qvec_layout L;
    L.d = round64(n);
    L.sum = L.d + round64(n / block * sizeof(float));
    L.lane_c = L.sum + round64(n / 16 * sizeof(int16_t));
    L.lane_d = L.lane_c + (lanes ? round64(n / 4 * sizeof(int32_t)) : 0);
    L.bytes = L.lane_d + (lanes ? round64(n / 4 * sizeof(float)) : 0);
    return L;
}

/* the scratch of all the pool's threads (idle during a matvec) */
static size_t scratch_bytes(const ll_pool *pool) {
    return (size_t)ll_pool_size(pool) * ll_matmul_scratch_floats() * sizeof(float);
}

/* How many quantized activation vectors of n values fit in the scratch. */
static size_t qvecs_fit(const ll_pool *pool, size_t n, size_t block, bool lanes) {
    size_t have = scratch_bytes(pool);
    size_t one = qvec_bytes(n, block, lanes).bytes;
    return have > 64 ? (have - 64) / one : 0; /* 64: aligning the start */
}

/* Lays T quantized activation vectors out in the scratch (T at most
 * qvecs_fit). */
static void qvec_in_scratch(float *scratch, size_t n, size_t block, bool lanes, size_t T, ll_qvec *qx) {
    uintptr_t base = ((uintptr_t)scratch + 63) & ~(uintptr_t)63;
    qvec_layout L = qvec_bytes(n, block, lanes);
    for (size_t t = 0; t < T; t++) {
        unsigned char *p = (unsigned char *)base + t * L.bytes;
        qx[t].q = (int8_t *)p;
        qx[t].d = (float *)(void *)(p + L.d);
        qx[t].sum = (int16_t *)(void *)(p + L.sum);
        qx[t].block = block;
        qx[t].lane_c = lanes ? (int32_t *)(void *)(p + L.lane_c) : NULL;
        qx[t].lane_d = lanes ? (float *)(void *)(p + L.lane_d) : NULL;
    }
}

void ll_qvec_lanes(uint32_t type, size_t n, ll_qvec *qx) {
    (void)type; /* Q8_0: its offset is 128 */
    for (size_t g = 0; g < n / 4; g++) {
        const int8_t *q = qx->q + 4 * g;
        qx->lane_c[g] = -128 * ((int32_t)q[0] + q[1] + q[2] + q[3]);
    }
    for (size_t b = 0; b < n / 32; b++)
        for (size_t j = 0; j < 8; j++) qx->lane_d[8 * b + j] = qx->d[b];
}

/* Quantized activations for weights of w's type, 0 if none (the float
 * paths). A plain Q4_0 matrix has no one-token kernel (the model repacks
 * them, ll_repack): it takes the integer GEMM, which gives the bits the
 * repacked rows give. */
static size_t qblock(const ll_matmul_kernels *k, const ll_matrix *w) {
    size_t block = k->matvec_q && w->type != LL_T_Q4_0 ? ll_qvec_block(w->type) : 0;
    return block && w->cols % block == 0 ? block : 0;
}

/* Whether the several-token products of w take ll_qvec_lanes. */
static bool qn_lanes(const ll_matmul_kernels *k, const ll_matrix *w) {
    return k->prepare_qn && k->matvec_qn && w->type == LL_T_Q8_0;
}

size_t ll_matmul_row_group(const ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w) {
    size_t block = qblock(k, w), fit = block ? qvecs_fit(pool, w->cols, block, qn_lanes(k, w)) : 0;
    return fit == 0 ? 1 : fit < LL_QROWS_MAX ? fit : LL_QROWS_MAX;
}

/* Values [k0, k0 + kc) of row i (kc <= LL_PANEL_K, a multiple of the
 * block) as floats through the table's dequant. */
static void row_values(const ll_matmul_kernels *k, const ll_matrix *w, size_t i, size_t k0, size_t kc, float *out) {
    if (w->type == LL_T_Q4_0_R16) {
        uint8_t blocks[LL_PANEL_K / 32 * 18];
        ll_r16_row_blocks(w->data, w->cols, i, k0 / 32, kc / 32, blocks);
        k->dequant(LL_T_Q4_0, blocks, 0, kc, out);
        return;
    }
    k->dequant(w->type, w->data + i * w->row_bytes, k0, kc, out);
}

void ll_matrix_row(const ll_matrix *w, size_t i, float *out) {
    if (w->type != LL_T_Q4_0_R16) {
        ll_dequantize_row_ref(w->type, w->data + i * w->row_bytes, out, w->cols);
        return;
    }
    for (size_t k0 = 0; k0 < w->cols; k0 += LL_PANEL_K)
        row_values(&ll_matmul_scalar, w, i, k0, w->cols - k0 < LL_PANEL_K ? w->cols - k0 : LL_PANEL_K, out + k0);
}

static void gemm_chunk(void *ctx, size_t chunk, int slot) {
    job *j = ctx;
    const ll_matrix *w = j->w;
    size_t r0, r1;
    chunk_rows(w->rows, LL_PANEL_ROWS, chunk, &r0, &r1);
    float *panel = j->scratch + (size_t)slot * j->scratch_stride;
    float *rowbuf = panel + LL_PANEL_ROWS * LL_PANEL_K;
    float *tile = rowbuf + LL_PANEL_K;
    size_t n = w->cols, T = j->T;
    for (size_t i0 = r0; i0 < r1; i0 += LL_PANEL_ROWS) {
        size_t nr = r1 - i0 < LL_PANEL_ROWS ? r1 - i0 : LL_PANEL_ROWS;
        for (size_t k0 = 0; k0 < n; k0 += LL_PANEL_K) {
            size_t kc = n - k0 < LL_PANEL_K ? n - k0 : LL_PANEL_K;
            for (size_t i = 0; i < LL_PANEL_ROWS; i++) {
                if (i < nr)
                    row_values(j->k, w, i0 + i, k0, kc, rowbuf);
                else
                    memset(rowbuf, 0, kc * sizeof *rowbuf);
                for (size_t k = 0; k < kc; k++) panel[k * LL_PANEL_ROWS + i] = rowbuf[k];
            }
            if (nr == LL_PANEL_ROWS) {
                j->k->gemm(panel, kc, j->x + k0, n, T, j->y + i0, w->rows, k0 > 0);
            } else {
                /* partial panel: compute into a 32-wide tile, 64 tokens at a time */
                for (size_t t0 = 0; t0 < T; t0 += 64) {
                    size_t tn = T - t0 < 64 ? T - t0 : 64;
                    for (size_t t = 0; t < tn && k0 > 0; t++)
                        memcpy(tile + t * LL_PANEL_ROWS, j->y + (t0 + t) * w->rows + i0, nr * sizeof(float));
                    j->k->gemm(panel, kc, j->x + t0 * n + k0, n, tn, tile, LL_PANEL_ROWS, k0 > 0);
                    for (size_t t = 0; t < tn; t++)
                        memcpy(j->y + (t0 + t) * w->rows + i0, tile + t * LL_PANEL_ROWS, nr * sizeof(float));
                }
            }
        }
    }
}

/* ---- the float GEMM, tokens in lanes (matmul.h, gemm_f) ---- */

#define LL_GF_K     128 /* values of k per block: 128 x 64 tokens of floats, 32 KiB, stay in L1 */
#define LL_GF_CHUNK 48  /* rows a chunk takes (8 calls of 6 rows) */

typedef struct {
    const ll_matmul_kernels *k;
    const ll_matrix *w;
    float *xt;        /* per group of LL_GF_TOKENS tokens: n x LL_GF_TOKENS, k-major, zero past its tokens */
    const float *x;   /* the job's tokens, token-major */
    size_t T, groups; /* tokens, and their groups of LL_GF_TOKENS */
    float *y;         /* the job's first token's outputs */
    float *areas;     /* per thread: the C tile, converted rows */
    size_t area_floats;
} gf_job;

/* dst[j * ld + i] = src[i * ls + j] for i < ni, j < nj (at most 16 each):
 * the table's 16 x 16 transpose for a whole tile, a loop for the rest. */
static void tile_transpose(const ll_matmul_kernels *k, const float *src, size_t ls, size_t ni, float *dst, size_t ld,
                           size_t nj) {
    if (ni == 16 && nj == 16 && k->transpose16) {
        k->transpose16(src, ls, dst, ld);
        return;
    }
    for (size_t j = 0; j < nj; j++)
        for (size_t i = 0; i < ni; i++) dst[j * ld + i] = src[i * ls + j];
}

static size_t min16(size_t a, size_t b) { return a - b < 16 ? a - b : 16; }

/* tokens in group g of the job */
static size_t gf_group_tokens(const gf_job *j, size_t g) {
    size_t t0 = g * LL_GF_TOKENS;
    return j->T - t0 < LL_GF_TOKENS ? j->T - t0 : LL_GF_TOKENS;
}

/* A chunk is a block of rows for one group of tokens; the groups of a
 * block of rows are consecutive chunks, so threads that take them at the
 * same time read the same weights (one trip from memory for both). */
static void gf_chunk(void *ctx, size_t chunk, int slot) {
    const gf_job *j = ctx;
    const ll_matrix *w = j->w;
    size_t g = chunk % j->groups, r0, r1, n = w->cols, tn = gf_group_tokens(j, g);
    const float *xt = j->xt + g * n * LL_GF_TOKENS;
    float *y = j->y + g * LL_GF_TOKENS * w->rows;
    chunk_rows(w->rows, LL_GF_CHUNK, chunk / j->groups, &r0, &r1);
    float *c = j->areas + (size_t)slot * j->area_floats; /* LL_GF_CHUNK rows x LL_GF_TOKENS */
    float *conv = c + LL_GF_CHUNK * LL_GF_TOKENS;        /* LL_GF_ROWS_NARROW rows x LL_GF_K */
    size_t panel = tn <= 16 ? LL_GF_ROWS_NARROW : LL_GF_ROWS;
    for (size_t k0 = 0; k0 < n; k0 += LL_GF_K) {
        size_t kc = n - k0 < LL_GF_K ? n - k0 : LL_GF_K;
        for (size_t i0 = r0; i0 < r1; i0 += panel) {
            size_t nr = r1 - i0 < panel ? r1 - i0 : panel;
            const float *rows[LL_GF_ROWS_NARROW];
            for (size_t r = 0; r < nr; r++) {
                const uint8_t *row = w->data + (i0 + r) * w->row_bytes;
                if (w->type == LL_T_F32) {
                    rows[r] = (const float *)(const void *)row + k0;
                } else {
                    j->k->dequant(w->type, row, k0, kc, conv + r * LL_GF_K);
                    rows[r] = conv + r * LL_GF_K;
                }
            }
            j->k->gemm_f(kc, rows, nr, xt + k0 * LL_GF_TOKENS, tn, c + (i0 - r0) * LL_GF_TOKENS, k0 > 0);
        }
    }
    /* out, token-major */
    for (size_t ib = r0; ib < r1; ib += 16)
        for (size_t tb = 0; tb < tn; tb += 16)
            tile_transpose(j->k, c + (ib - r0) * LL_GF_TOKENS + tb, LL_GF_TOKENS, min16(r1, ib), y + tb * w->rows + ib,
                           w->rows, min16(tn, tb));
}

/* Values of k a chunk of the transposition takes. */
#define LL_GF_T_CHUNK 64

/* xt[k][t] = x[t][k] of one group for a range of k, zero past the group's
 * tokens; chunks run through the groups, k-ranges within each. */
static void gf_transpose_chunk(void *ctx, size_t chunk, int slot) {
    const gf_job *j = ctx;
    size_t n = j->w->cols, per = (n + LL_GF_T_CHUNK - 1) / LL_GF_T_CHUNK, g = chunk / per, tn = gf_group_tokens(j, g);
    size_t k0 = chunk % per * LL_GF_T_CHUNK, k1 = k0 + LL_GF_T_CHUNK < n ? k0 + LL_GF_T_CHUNK : n;
    const float *x = j->x + g * LL_GF_TOKENS * n;
    float *xt = j->xt + g * n * LL_GF_TOKENS;
    (void)slot;
    for (size_t k = k0; k < k1; k++) memset(xt + k * LL_GF_TOKENS + tn, 0, (LL_GF_TOKENS - tn) * sizeof(float));
    for (size_t kb = k0; kb < k1; kb += 16)
        for (size_t tb = 0; tb < tn; tb += 16)
            tile_transpose(j->k, x + tb * n + kb, n, min16(tn, tb), xt + kb * LL_GF_TOKENS + tb, LL_GF_TOKENS,
                           min16(k1, kb));
}

/* The float GEMM for F32/F16/BF16 weights when the table has one and the
 * scratch holds a group's transposed tokens; false: the panel GEMM. As
 * many groups of tokens as the scratch holds go through one job (a 128-token
 * prompt: both its groups), which halves the waits for the slowest thread
 * and lets the threads share each block of rows' trip from memory. */
static bool gemm_f(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w, const float *x, size_t T, float *y,
                   float *scratch) {
    bool float_type = w->type == LL_T_F32 || w->type == LL_T_F16 || w->type == LL_T_BF16;
    size_t n = w->cols, nthreads = (size_t)ll_pool_size(pool), stride = ll_matmul_scratch_floats();
    size_t area = LL_GF_CHUNK * LL_GF_TOKENS + LL_GF_ROWS_NARROW * LL_GF_K;
    if (!k->gemm_f || !float_type || n == 0 || area > stride / 2 || n * LL_GF_TOKENS > (stride - area) * nthreads)
        return false;
    /* the transposed tokens after the threads' areas, as many groups as fit */
    float *xt = scratch + nthreads * area;
    size_t fit = (stride - area) * nthreads / (n * LL_GF_TOKENS), per_t = (n + LL_GF_T_CHUNK - 1) / LL_GF_T_CHUNK;
    gf_job j = {k, w, xt, NULL, 0, 0, NULL, scratch, area};
    for (size_t t0 = 0; t0 < T; t0 += fit * LL_GF_TOKENS) {
        j.T = T - t0 < fit * LL_GF_TOKENS ? T - t0 : fit * LL_GF_TOKENS;
        j.groups = (j.T + LL_GF_TOKENS - 1) / LL_GF_TOKENS;
        j.x = x + t0 * n;
        ll_pool_for(pool, j.groups * per_t, ll_pool_threads_for(pool, n * j.T * sizeof(float)), gf_transpose_chunk, &j);
        j.y = y + t0 * w->rows;
        ll_pool_for(pool, j.groups * chunks_of(w->rows, LL_GF_CHUNK),
                    ll_pool_threads_for(pool, w->rows * w->row_bytes * j.T), gf_chunk, &j);
    }
    return true;
}

/* ---- the integer GEMM (layout and arithmetic: matmul.h) ---- */

static bool gq_type(uint32_t type) {
    switch (type) {
    case LL_T_Q8_0:
    case LL_T_Q4_0:
    case LL_T_Q4_1:
    case LL_T_Q5_0:
    case LL_T_Q5_1:
    case LL_T_Q4_K:
    case LL_T_Q5_K:
    case LL_T_Q6_K:
        return true;
    default:
        return false;
    }
}

static bool gq_has_min(uint32_t type) {
    return type == LL_T_Q4_1 || type == LL_T_Q5_1 || type == LL_T_Q4_K || type == LL_T_Q5_K;
}

/* The unsigned offset of the GEMM's weight values (matmul.h) and the
 * values a scale covers. */
static int gq_offset(uint32_t type) {
    switch (type) {
    case LL_T_Q8_0:
        return 128;
    case LL_T_Q4_0:
        return 8;
    case LL_T_Q5_0:
        return 16;
    case LL_T_Q6_K:
        return 32;
    default:
        return 0;
    }
}
static size_t gq_unit(uint32_t type) { return type == LL_T_Q6_K ? 16 : 32; }

/* fifth_bits[v]: four bytes, byte i = 16 if bit i of v is set */
static const uint32_t fifth_bits[16] = {0x00000000u, 0x00000010u, 0x00001000u, 0x00001010u, 0x00100000u, 0x00100010u,
                                        0x00101000u, 0x00101010u, 0x10000000u, 0x10000010u, 0x10001000u, 0x10001010u,
                                        0x10100000u, 0x10100010u, 0x10101000u, 0x10101010u};

/* One weight row as unsigned values (value + offset) and its scale and
 * min per unit: simple loops per case, which the compiler vectorises
 * (this runs once per row and token group, beside T / 8 kernel calls). */
static void gq_unpack_row(uint32_t type, const uint8_t *row, size_t n, uint8_t *v, float *s, float *m) {
    if (type == LL_T_Q4_K || type == LL_T_Q5_K || type == LL_T_Q6_K) {
        size_t bb = type == LL_T_Q4_K ? 144 : type == LL_T_Q5_K ? 176 : 210;
        for (size_t B = 0; B < n / 256; B++) {
            const uint8_t *b = row + bb * B;
            unpack_k(type, b, (int8_t *)(v + 256 * B)); /* 0..63: already value + offset */
            if (type == LL_T_Q6_K) {
                const int8_t *sc = (const int8_t *)(b + 192);
                float d = rd_half(b + 208);
                for (size_t g = 0; g < 16; g++) s[16 * B + g] = d * (float)sc[g];
            } else {
                float d = rd_half(b), dmin = rd_half(b + 2);
                for (int j = 0; j < 8; j++) {
                    uint8_t sc, mn;
                    ll_q4k_scale_min(j, b + 4, &sc, &mn);
                    s[8 * B + (size_t)j] = d * (float)sc;
                    m[8 * B + (size_t)j] = -(dmin * (float)mn);
                }
            }
        }
        return;
    }
    const ll_q32_layout *L = type == LL_T_Q8_0 ? NULL : ll_q32_layout_of(type);
    size_t bytes = L ? L->bytes : 34;
    for (size_t blk = 0; blk < n / 32; blk++) {
        const uint8_t *b = row + bytes * blk;
        uint8_t *o = v + 32 * blk;
        if (!L) {
            for (int k = 0; k < 32; k++) o[k] = b[2 + k] ^ 0x80; /* int8 + 128 */
        } else {
            const uint8_t *qs = b + L->qs;
            uint8_t hi[32] = {0};
            if (L->qh) /* bit k of qh (little-endian) is value k's 16, 4 bits at a time */
                for (int g = 0; g < 8; g++) memcpy(hi + 4 * g, &fifth_bits[b[L->qh + g / 2] >> (4 * (g % 2)) & 0xF], 4);
            for (int k = 0; k < 16; k++) {
                o[k] = (uint8_t)((qs[k] & 0xF) + hi[k]);
                o[k + 16] = (uint8_t)((qs[k] >> 4) + hi[k + 16]);
            }
        }
        s[blk] = rd_half(b);
        if (L && L->min) m[blk] = rd_half(b + L->min);
    }
}

/* Rows [i0, i0 + nr) of w (nr <= 16) as one group of the GEMM layout;
 * missing rows are zero (their outputs are dropped). */
static void gq_unpack_group(const ll_matrix *w, size_t i0, size_t nr, size_t unit, uint8_t *dst, uint8_t *row_v,
                            float *row_s) {
    size_t n = w->cols, nu = n / unit;
    float *gs = (float *)(void *)(dst + 16 * n), *gm = gs + 16 * nu, *row_m = row_s + nu;
    bool min = gq_has_min(w->type);
    if (nr < LL_GQ_ROWS) memset(dst, 0, ll_gq_group_bytes(n, unit));
    for (size_t r = 0; r < nr; r++) {
        gq_unpack_row(w->type, w->data + (i0 + r) * w->row_bytes, n, row_v, row_s, row_m);
        for (size_t k = 0; k < n / 4; k++) memcpy(dst + 64 * k + 4 * r, row_v + 4 * k, 4);
        for (size_t u = 0; u < nu; u++) gs[16 * u + r] = row_s[u];
        if (min)
            for (size_t u = 0; u < nu; u++) gm[16 * u + r] = row_m[u];
    }
}

/* One token into the GEMM layout: q, then per unit s, m, c (matmul.h). */
static void gq_quantize_token(const ll_matmul_kernels *k, const float *x, size_t n, size_t unit, size_t block,
                              int offset, uint8_t *dst, float *d, int16_t *sums) {
    int8_t *q = (int8_t *)dst;
    size_t nu = n / unit;
    float *s = (float *)(void *)(dst + n), *m = s + nu;
    int32_t *c = (int32_t *)(void *)(m + nu);
    ll_qvec qv = {q, d, sums, block, NULL, NULL};
    k->quantize_x(x, n, &qv);
    for (size_t u = 0; u < nu; u++) {
        int sum = 0;
        for (size_t i = u * unit; i < (u + 1) * unit; i++) sum += q[i];
        s[u] = d[u * unit / block];
        m[u] = s[u] * (float)sum;
        c[u] = -offset * sum;
    }
}

typedef struct {
    const ll_matmul_kernels *k;
    const ll_matrix *w;
    size_t unit, group_bytes, panel_rows, tn;
    int offset;
    const uint8_t *tok; /* tn tokens, padded with zero ones to a multiple of LL_GQ_TOKENS */
    float *y;           /* the first token's outputs */
    uint8_t *areas;     /* one LL_GQ_AREA per thread */
} gq_job;

static void gq_chunk(void *ctx, size_t chunk, int slot) {
    const gq_job *j = ctx;
    const ll_matrix *w = j->w;
    size_t r0, r1, n = w->cols, tb = ll_gq_token_bytes(n, j->unit);
    chunk_rows(w->rows, j->panel_rows, chunk, &r0, &r1);
    uint8_t *area = j->areas + (size_t)slot * LL_GQ_AREA;
    size_t groups = (r1 - r0 + LL_GQ_ROWS - 1) / LL_GQ_ROWS;
    /* one row's values and scales, past the panel */
    uint8_t *row_v = area + groups * j->group_bytes;
    float *row_s = (float *)(void *)(row_v + ((n + 63) & ~(size_t)63));
    for (size_t g = 0; g < groups; g++) {
        size_t i0 = r0 + g * LL_GQ_ROWS, nr = r1 - i0 < LL_GQ_ROWS ? r1 - i0 : LL_GQ_ROWS;
        gq_unpack_group(w, i0, nr, j->unit, area + g * j->group_bytes, row_v, row_s);
    }
    int min = gq_has_min(w->type);
    for (size_t t0 = 0; t0 < j->tn; t0 += LL_GQ_TOKENS) {
        size_t nt = j->tn - t0 < LL_GQ_TOKENS ? j->tn - t0 : LL_GQ_TOKENS;
        for (size_t g = 0; g < groups; g++) {
            size_t i0 = r0 + g * LL_GQ_ROWS, nr = r1 - i0 < LL_GQ_ROWS ? r1 - i0 : LL_GQ_ROWS;
            float out[LL_GQ_ROWS * LL_GQ_TOKENS];
            j->k->gemm_q(n, j->unit, j->offset, min, area + g * j->group_bytes, j->tok + t0 * tb, out);
            for (size_t t = 0; t < nt; t++)
                memcpy(j->y + (t0 + t) * w->rows + i0, out + t * LL_GQ_ROWS, nr * sizeof(float));
        }
    }
}

/* The integer GEMM when the table has one and the scratch holds a panel
 * of rows and a group of tokens; false: use the float GEMM. */
static bool gemm_q(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w, const float *x, size_t T, float *y,
                   float *scratch) {
    /* the activations in the blocks ggml uses for the type: Q8_0's 32
     * for the 32-block types, Q8_K's 256 for the K-quants */
    size_t n = w->cols, unit = gq_unit(w->type), block = ll_qvec_block(w->type);
    if (!k->gemm_q || !gq_type(w->type) || n == 0 || n % block != 0) return false;
    size_t nthreads = (size_t)ll_pool_size(pool), gb = ll_gq_group_bytes(n, unit), tb = ll_gq_token_bytes(n, unit);
    /* a thread's area: its panel, one unpacked row (values, scales, mins) */
    size_t row_extra = ((n + 63) & ~(size_t)63) + 8 * (n / unit) + 64;
    size_t groups = LL_GQ_AREA > row_extra ? (LL_GQ_AREA - row_extra) / gb : 0;
    if (groups > 4) groups = 4;
    /* the tokens' share, less the quantizer's block scales and group sums */
    size_t have = scratch_bytes(pool) - 64 - nthreads * LL_GQ_AREA;
    size_t side = ((n / 32 * sizeof(float) + 63) & ~(size_t)63) + ((n / 16 * sizeof(int16_t) + 63) & ~(size_t)63);
    size_t fit = have > side ? (have - side) / tb : 0;
    size_t group = fit / LL_GQ_TOKENS * LL_GQ_TOKENS;
    if (groups == 0 || group == 0) return false;
    uint8_t *base = (uint8_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63), *tok = base + nthreads * LL_GQ_AREA;
    float *d = (float *)(void *)(tok + group * tb);
    int16_t *sums = (int16_t *)(void *)((uint8_t *)d + ((n / 32 * sizeof(float) + 63) & ~(size_t)63));
    gq_job j = {k, w, unit, gb, groups * LL_GQ_ROWS, 0, gq_offset(w->type), tok, NULL, base};
    for (size_t t0 = 0; t0 < T; t0 += group) {
        j.tn = T - t0 < group ? T - t0 : group;
        for (size_t t = 0; t < j.tn; t++)
            gq_quantize_token(k, x + (t0 + t) * n, n, unit, block, j.offset, tok + t * tb, d, sums);
        size_t padded = (j.tn + LL_GQ_TOKENS - 1) / LL_GQ_TOKENS * LL_GQ_TOKENS;
        memset(tok + j.tn * tb, 0, (padded - j.tn) * tb);
        j.y = y + t0 * w->rows;
        ll_pool_for(pool, chunks_of(w->rows, j.panel_rows), ll_pool_threads_for(pool, w->rows * w->row_bytes * j.tn),
                    gq_chunk, &j);
    }
    return true;
}

/* Repacked Q4_0 takes every product on quantized activations, a prompt
 * too: up to this many tokens are quantized at a time, and each chunk of
 * rows (in cache) serves them 8 at a time (matvec_r16). */
#define LL_R16_TOKENS 64

/* Tokens the scratch holds as repacked Q4_0 tiles of n values (0: none),
 * whole tiles but for the last */
static size_t r16_fit(const ll_pool *pool, size_t n) {
    size_t per = ll_r16x_bytes(n, 1), stage = qvec_bytes(n, LL_QX_32, false).bytes, have = scratch_bytes(pool);
    size_t fit = have > 64 + stage ? (have - 64 - stage) / per : 0;
    if (fit > LL_R16_TOKENS) fit = LL_R16_TOKENS;
    if (fit > LL_QROWS_MAX) fit -= fit % LL_QROWS_MAX;
    return fit;
}

/* j->xt = tn tokens of x (n values each) quantized and laid out as tiles
 * (ll_r16x_put) in j's scratch, after the one-token staging vector */
static void r16_tiles(job *j, size_t n, const float *x, size_t tn) {
    ll_qvec stage;
    qvec_in_scratch(j->scratch, n, LL_QX_32, false, 1, &stage);
    uint8_t *tiles = (uint8_t *)stage.q + qvec_bytes(n, LL_QX_32, false).bytes;
    for (size_t t = 0; t < tn; t++) {
        size_t first = t - t % LL_QROWS_MAX, width = tn - first < LL_QROWS_MAX ? tn - first : LL_QROWS_MAX;
        j->k->quantize_x(x + t * n, n, &stage);
        ll_r16x_put(&stage, n, t - first, width, tiles + ll_r16x_bytes(n, first));
    }
    j->xt = tiles;
}

/* The products with repacked Q4_0 weights: up to LL_R16_TOKENS tokens at
 * a time, each quantized through one staging vector into its place in a
 * tile of 8 (ll_r16x_put; the tiles take what T vectors would). False when
 * not even one token fits the scratch. */
static bool r16_matvecs(ll_pool *pool, job *j) {
    const ll_matrix *w = j->w;
    size_t n = w->cols, T = j->T, fit = r16_fit(pool, n);
    if (fit == 0) return false;
    const float *x = j->x;
    float *y = j->y;
    for (size_t t0 = 0; t0 < T; t0 += fit) {
        size_t tn = T - t0 < fit ? T - t0 : fit;
        r16_tiles(j, n, x + t0 * n, tn);
        j->y = y + t0 * w->rows;
        j->T = tn;
        /* the weights are read once per 8 tokens */
        size_t reads = (tn + LL_QROWS_MAX - 1) / LL_QROWS_MAX;
        ll_pool_for(pool, chunks_of(w->rows, j->chunk), ll_pool_threads_for(pool, w->rows * w->row_bytes * reads),
                    matvec_q_chunk, j);
    }
    return true;
}

/* several products of one input as one pool job: chunk c belongs to the
 * product i with first[i] <= c < first[i + 1] */
typedef struct {
    job jobs[LL_SHARED_MAX];
    size_t first[LL_SHARED_MAX + 1];
} shared_job;

static void shared_chunk(void *ctx, size_t chunk, int slot) {
    shared_job *s = ctx;
    size_t i = 0;
    while (chunk >= s->first[i + 1]) i++;
    matvec_q_chunk(&s->jobs[i], chunk - s->first[i], slot);
}

void ll_matmul_shared(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *const *w, size_t n_w, const float *x,
                      size_t T, float *const *y, float *scratch) {
    bool shared = n_w >= 2 && n_w <= LL_SHARED_MAX && T <= LL_QROWS_MAX;
    for (size_t i = 0; shared && i < n_w; i++) shared = w[i]->type == LL_T_Q4_0_R16 && w[i]->cols == w[0]->cols;
    shared = shared && r16_fit(pool, w[0]->cols) >= T;
    if (!shared) {
        for (size_t i = 0; i < n_w; i++) ll_matmul(pool, k, w[i], x, T, y[i], scratch);
        return;
    }
    shared_job s;
    size_t bytes = 0;
    s.first[0] = 0;
    for (size_t i = 0; i < n_w; i++) {
        s.jobs[i] =
            (job){k, w[i], x, T, y[i], scratch, ll_matmul_scratch_floats(), NULL, matvec_chunk_rows(w[i]), NULL};
        s.first[i + 1] = s.first[i] + chunks_of(w[i]->rows, s.jobs[i].chunk);
        bytes += w[i]->rows * w[i]->row_bytes;
    }
    r16_tiles(&s.jobs[0], w[0]->cols, x, T);
    for (size_t i = 1; i < n_w; i++) s.jobs[i].xt = s.jobs[0].xt;
    ll_pool_for(pool, s.first[n_w], ll_pool_threads_for(pool, bytes), shared_chunk, &s);
}

/* The products on quantized activations, as many tokens at a time as the
 * scratch holds (at most LL_QROWS_MAX): false where w's type has none. Each
 * token's result is the same whatever its group. */
static bool quantized_matvecs(ll_pool *pool, job *j) {
    const ll_matmul_kernels *k = j->k;
    const ll_matrix *w = j->w;
    const float *x = j->x;
    float *y = j->y;
    size_t T = j->T;
    bool lanes = T > 1 && qn_lanes(k, w);
    size_t block = qblock(k, w), fit = block ? qvecs_fit(pool, w->cols, block, lanes) : 0;
    if (fit == 0) return false;
    if (fit > LL_QROWS_MAX) fit = LL_QROWS_MAX;
    ll_qvec qx[LL_QROWS_MAX];
    for (size_t t0 = 0; t0 < T; t0 += fit) {
        size_t tn = T - t0 < fit ? T - t0 : fit;
        qvec_in_scratch(j->scratch, w->cols, block, lanes, tn, qx);
        for (size_t t = 0; t < tn; t++) {
            k->quantize_x(x + (t0 + t) * w->cols, w->cols, &qx[t]);
            if (lanes) k->prepare_qn(w->type, w->cols, &qx[t]);
        }
        j->x = x + t0 * w->cols;
        j->y = y + t0 * w->rows;
        j->T = tn;
        j->qx = qx;
        /* the weights are read once per 8 tokens */
        size_t reads = (tn + LL_QROWS_MAX - 1) / LL_QROWS_MAX;
        ll_pool_for(pool, chunks_of(w->rows, j->chunk), ll_pool_threads_for(pool, w->rows * w->row_bytes * reads),
                    matvec_q_chunk, j);
    }
    return true;
}

void ll_matmul(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w, const float *x, size_t T, float *y,
               float *scratch) {
    job j = {k, w, x, T, y, scratch, ll_matmul_scratch_floats(), NULL, matvec_chunk_rows(w), NULL};
    if (w->type == LL_T_Q4_0_R16 ? r16_matvecs(pool, &j) : T <= LL_QROWS_MAX && quantized_matvecs(pool, &j)) return;
    bool float_matvec = w->type != LL_T_Q4_0_R16 && w->type != LL_T_Q4_0; /* Q4_0: the GEMMs below */
    if (T == 1 && float_matvec) {
        ll_pool_for(pool, chunks_of(w->rows, j.chunk), ll_pool_threads_for(pool, w->rows * w->row_bytes), matvec_chunk,
                    &j);
        return;
    }
    if (gemm_q(pool, k, w, x, T, y, scratch) || gemm_f(pool, k, w, x, T, y, scratch)) return;
    ll_pool_for(pool, chunks_of(w->rows, LL_PANEL_ROWS), ll_pool_threads_for(pool, w->rows * w->row_bytes * T),
                gemm_chunk, &j);
}

const ll_matmul_kernels *ll_matmul_best(void) {
    /* the same CPU test as the sampling kernels, so LOGITLAB_SIMD governs both */
    extern const char *ll_simd_level_name(void);
    const char *lvl = ll_simd_level_name();
#if defined(LL_HAVE_AVX512)
    /* the matrix kernels also use AVX512BW (byte and word integer ops);
     * LOGITLAB_SIMD=avx512bw keeps them off VNNI (the two give the same
     * bits: this is for measuring) */
    if (strcmp(lvl, "avx512") == 0 && __builtin_cpu_supports("avx512bw")) {
        const char *want = getenv("LOGITLAB_SIMD");
        bool vnni = __builtin_cpu_supports("avx512vnni") && !(want && strcmp(want, "avx512bw") == 0);
        return vnni ? &ll_matmul_avx512_vnni : &ll_matmul_avx512;
    }
#endif
#if defined(LL_HAVE_AVX2)
    if (strcmp(lvl, "avx2") == 0 || strcmp(lvl, "avx512") == 0) return &ll_matmul_avx2;
#endif
    (void)lvl;
    return &ll_matmul_scalar;
}
