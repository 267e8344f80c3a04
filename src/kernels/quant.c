/*
 * quant.c - scalar half/bfloat16 conversion, dequantization and
 * quantization of the GGUF block formats (see quant.h for the layouts).
 */
#include "quant.h"

#include <math.h>
#include <string.h>

static inline uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float ll_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (exp == 0x1F) return u2f(sign | 0x7F800000u | (man << 13)); /* inf / nan */
    if (exp == 0) {
        if (man == 0) return u2f(sign);
        /* subnormal: man * 2^-24, exact in float */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t ll_fp32_to_fp16(float f) {
    uint32_t u = f2u(f);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return (uint16_t)(sign | 0x7E00); /* nan */
    if (a >= 0x47800000u) return (uint16_t)(sign | 0x7C00); /* >= 65536: inf (65520.. rounds up below) */
    if (a < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        float v = u2f(a) * 0x1p24f; /* exact: v in [0, 1024) */
        uint32_t m = (uint32_t)lrintf(v); /* round to nearest even (default mode) */
        return (uint16_t)(sign | m);
    }
    /* normal: keep 10 mantissa bits, round to nearest even */
    uint32_t e = (a >> 23) - 112, man = a & 0x7FFFFF;
    uint32_t h = (e << 10) | (man >> 13);
    uint32_t rest = man & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* may carry into the exponent: still correct */
    return (uint16_t)(sign | h);
}

uint16_t ll_fp32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

size_t ll_row_bytes(uint32_t type, size_t n) {
    const ll_type_info *ti = ll_type_info_of(type);
    return ti ? n / ti->block * ti->block_bytes : 0;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static const ll_q32_layout q32_layouts[] = {LL_Q4_0_LAYOUT, LL_Q4_1_LAYOUT, LL_Q5_0_LAYOUT, LL_Q5_1_LAYOUT};

const ll_q32_layout *ll_q32_layout_of(uint32_t type) {
    for (size_t i = 0; i < sizeof q32_layouts / sizeof q32_layouts[0]; i++)
        if (q32_layouts[i].type == type) return &q32_layouts[i];
    return NULL;
}

/* x = (q - bias) * d, or q * d + m: one rounding each (the SIMD decoders
 * do the same operations, so every table gives these bits). */
static void deq_q32(const ll_q32_layout *L, const uint8_t *b, float *y) {
    uint8_t v[32];
    ll_q32_values(L, b, v);
    float d = ll_fp16_to_fp32(rd16(b));
    if (L->min) {
        float m = ll_fp16_to_fp32(rd16(b + L->min));
        for (int j = 0; j < 32; j++) y[j] = (float)v[j] * d + m;
    } else {
        for (int j = 0; j < 32; j++) y[j] = (float)(v[j] - L->bias) * d;
    }
}

static void deq_q4k_like(const uint8_t *b, float *y, bool five) {
    float d = ll_fp16_to_fp32(rd16(b)), dmin = ll_fp16_to_fp32(rd16(b + 2));
    const uint8_t *scales = b + 4, *qh = b + 16, *q = five ? b + 48 : b + 16;
    for (int c = 0; c < 4; c++) {
        uint8_t s1, m1, s2, m2;
        ll_q4k_scale_min(2 * c, scales, &s1, &m1);
        ll_q4k_scale_min(2 * c + 1, scales, &s2, &m2);
        float d1 = d * s1, n1 = dmin * m1, d2 = d * s2, n2 = dmin * m2;
        for (int l = 0; l < 32; l++) {
            int lo = q[32 * c + l] & 0xF, hi = q[32 * c + l] >> 4;
            if (five) {
                lo += (qh[l] >> (2 * c)) & 1 ? 16 : 0;
                hi += (qh[l] >> (2 * c + 1)) & 1 ? 16 : 0;
            }
            y[64 * c + l] = d1 * (float)lo - n1;
            y[64 * c + 32 + l] = d2 * (float)hi - n2;
        }
    }
}

static void deq_q6k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = ll_fp16_to_fp32(rd16(b + 208));
    for (int h = 0; h < 2; h++) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[64 * h + l] & 0xF) | (((qh[32 * h + l] >> 0) & 3) << 4)) - 32;
            int q2 = ((ql[64 * h + l + 32] & 0xF) | (((qh[32 * h + l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[64 * h + l] >> 4) | (((qh[32 * h + l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[64 * h + l + 32] >> 4) | (((qh[32 * h + l] >> 6) & 3) << 4)) - 32;
            y[128 * h + l] = d * (float)sc[8 * h + is + 0] * (float)q1;
            y[128 * h + l + 32] = d * (float)sc[8 * h + is + 2] * (float)q2;
            y[128 * h + l + 64] = d * (float)sc[8 * h + is + 4] * (float)q3;
            y[128 * h + l + 96] = d * (float)sc[8 * h + is + 6] * (float)q4;
        }
    }
}

void ll_dequantize_row_ref(uint32_t type, const void *src, float *y, size_t n) {
    const uint8_t *b = src;
    switch (type) {
    case LL_T_F32: memcpy(y, src, n * sizeof(float)); return;
    case LL_T_F16:
        for (size_t i = 0; i < n; i++) y[i] = ll_fp16_to_fp32(rd16(b + 2 * i));
        return;
    case LL_T_BF16:
        for (size_t i = 0; i < n; i++) y[i] = ll_bf16_to_fp32(rd16(b + 2 * i));
        return;
    case LL_T_Q8_0:
        for (size_t k = 0; k < n / 32; k++, b += 34) {
            float d = ll_fp16_to_fp32(rd16(b));
            for (int j = 0; j < 32; j++) y[32 * k + j] = (float)(int8_t)b[2 + j] * d;
        }
        return;
    case LL_T_Q4_0:
    case LL_T_Q4_1:
    case LL_T_Q5_0:
    case LL_T_Q5_1: {
        const ll_q32_layout *L = ll_q32_layout_of(type);
        for (size_t k = 0; k < n / 32; k++) deq_q32(L, b + L->bytes * k, y + 32 * k);
        return;
    }
    case LL_T_Q4_K:
        for (size_t k = 0; k < n / 256; k++) deq_q4k_like(b + 144 * k, y + 256 * k, false);
        return;
    case LL_T_Q5_K:
        for (size_t k = 0; k < n / 256; k++) deq_q4k_like(b + 176 * k, y + 256 * k, true);
        return;
    case LL_T_Q6_K:
        for (size_t k = 0; k < n / 256; k++) deq_q6k(b + 210 * k, y + 256 * k);
        return;
    default: memset(y, 0, n * sizeof(float)); return;
    }
}

/* ---- quantizers (simple min/max fits: for writing test and benchmark
 * models, not for best quality) ---- */

static void quant_q8_0(const float *x, uint8_t *b, size_t n) {
    for (size_t k = 0; k < n / 32; k++, b += 34, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        wr16(b, ll_fp32_to_fp16(d));
        for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    }
}

static void quant_q4_0(const float *x, uint8_t *b, size_t n) {
    for (size_t k = 0; k < n / 32; k++, b += 18, x += 32) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
        wr16(b, ll_fp32_to_fp16(d));
        for (int j = 0; j < 16; j++) {
            int q0 = (int)fminf(15.0f, x[j] * id + 8.5f), q1 = (int)fminf(15.0f, x[j + 16] * id + 8.5f);
            q0 = q0 < 0 ? 0 : q0;
            q1 = q1 < 0 ? 0 : q1;
            b[2 + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Q5_0: symmetric like Q4_0 (the value of largest magnitude maps to -16),
 * with the fifth bits packed into qh. */
static void quant_q5_0(const float *x, uint8_t *b, size_t n) {
    for (size_t k = 0; k < n / 32; k++, b += 22, x += 32) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -16.0f, id = d ? 1.0f / d : 0.0f;
        wr16(b, ll_fp32_to_fp16(d));
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = clampi((int)(x[j] * id + 16.5f), 0, 31), q1 = clampi((int)(x[j + 16] * id + 16.5f), 0, 31);
            b[6 + j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + 16);
        }
        for (int i = 0; i < 4; i++) b[2 + i] = (uint8_t)(qh >> (8 * i));
    }
}

/* Q4_1 / Q5_1: the block's minimum and range, levels 0..qmax (the scale is
 * taken after rounding d and m to half, so the levels fit what is stored). */
static void quant_q_1(const float *x, uint8_t *b, size_t n, bool five) {
    const int qmax = five ? 31 : 15;
    const size_t bs = five ? 24 : 20, qs = five ? 8 : 4;
    for (size_t k = 0; k < n / 32; k++, b += bs, x += 32) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < 32; j++) {
            lo = fminf(lo, x[j]);
            hi = fmaxf(hi, x[j]);
        }
        wr16(b, ll_fp32_to_fp16((hi - lo) / (float)qmax));
        wr16(b + 2, ll_fp32_to_fp16(lo));
        float d = ll_fp16_to_fp32(rd16(b)), m = ll_fp16_to_fp32(rd16(b + 2)), id = d ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = clampi((int)lrintf((x[j] - m) * id), 0, qmax);
            int q1 = clampi((int)lrintf((x[j + 16] - m) * id), 0, qmax);
            b[qs + j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + 16);
        }
        if (five)
            for (int i = 0; i < 4; i++) b[4 + i] = (uint8_t)(qh >> (8 * i));
    }
}

static void pack_scales_k4(uint8_t *sc12, const uint8_t *ls, const uint8_t *lm) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            sc12[j] = ls[j];
            sc12[j + 4] = lm[j];
        } else {
            sc12[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            sc12[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            sc12[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

static void quant_q4k_like(const float *x, uint8_t *b, size_t n, bool five) {
    const int qmax = five ? 31 : 15;
    const size_t bs = five ? 176 : 144;
    for (size_t k = 0; k < n / 256; k++, b += bs, x += 256) {
        float scale[8], minv[8], max_scale = 0, max_min = 0;
        for (int s = 0; s < 8; s++) {
            float lo = x[32 * s], hi = x[32 * s];
            for (int j = 0; j < 32; j++) {
                lo = fminf(lo, x[32 * s + j]);
                hi = fmaxf(hi, x[32 * s + j]);
            }
            if (lo > 0) lo = 0;
            scale[s] = (hi - lo) / (float)qmax;
            minv[s] = -lo;
            max_scale = fmaxf(max_scale, scale[s]);
            max_min = fmaxf(max_min, minv[s]);
        }
        float d = max_scale / 63.0f, dmin = max_min / 63.0f;
        uint8_t ls[8], lm[8];
        for (int s = 0; s < 8; s++) {
            ls[s] = (uint8_t)clampi(d ? (int)lrintf(scale[s] / d) : 0, 0, 63);
            lm[s] = (uint8_t)clampi(dmin ? (int)lrintf(minv[s] / dmin) : 0, 0, 63);
        }
        memset(b, 0, bs);
        wr16(b, ll_fp32_to_fp16(d));
        wr16(b + 2, ll_fp32_to_fp16(dmin));
        pack_scales_k4(b + 4, ls, lm);
        d = ll_fp16_to_fp32(rd16(b));
        dmin = ll_fp16_to_fp32(rd16(b + 2));
        uint8_t *qh = b + 16, *q = five ? b + 48 : b + 16;
        for (int c = 0; c < 4; c++) {
            for (int half = 0; half < 2; half++) {
                int s = 2 * c + half;
                float ds = d * ls[s], mn = dmin * lm[s];
                for (int l = 0; l < 32; l++) {
                    int v = ds > 0 ? clampi((int)lrintf((x[32 * s + l] + mn) / ds), 0, qmax) : 0;
                    q[32 * c + l] |= (uint8_t)((v & 0xF) << (4 * half));
                    if (five && (v & 16)) qh[l] |= (uint8_t)(1 << s);
                }
            }
        }
    }
}

static void quant_q6k(const float *x, uint8_t *b, size_t n) {
    for (size_t k = 0; k < n / 256; k++, b += 210, x += 256) {
        float sc[16], max_abs_sc = 0;
        for (int s = 0; s < 16; s++) {
            float amax = 0, max = 0;
            for (int j = 0; j < 16; j++)
                if (fabsf(x[16 * s + j]) > amax) {
                    amax = fabsf(x[16 * s + j]);
                    max = x[16 * s + j];
                }
            sc[s] = max / -32.0f;
            if (fabsf(sc[s]) > max_abs_sc) max_abs_sc = fabsf(sc[s]);
        }
        float d = max_abs_sc / 127.0f;
        memset(b, 0, 210);
        int8_t *scales = (int8_t *)(b + 192);
        for (int s = 0; s < 16; s++) scales[s] = (int8_t)clampi(d ? (int)lrintf(sc[s] / d) : 0, -128, 127);
        wr16(b + 208, ll_fp32_to_fp16(d));
        d = ll_fp16_to_fp32(rd16(b + 208));
        uint8_t *ql = b, *qh = b + 128;
        for (int e = 0; e < 256; e++) {
            float ds = d * scales[e / 16];
            int v = ds != 0 ? clampi((int)lrintf(x[e] / ds), -32, 31) + 32 : 32;
            int h = e / 128, r = e % 128, l = r % 32, part = r / 32; /* part 0..3 = q1..q4 */
            int ql_i = 64 * h + l + (part & 1) * 32;
            ql[ql_i] |= (uint8_t)((v & 0xF) << (part >= 2 ? 4 : 0));
            qh[32 * h + l] |= (uint8_t)(((v >> 4) & 3) << (2 * part));
        }
    }
}

void ll_quantize_row(uint32_t type, const float *x, void *dst, size_t n) {
    uint8_t *b = dst;
    switch (type) {
    case LL_T_F32: memcpy(dst, x, n * 4); return;
    case LL_T_F16:
        for (size_t i = 0; i < n; i++) wr16(b + 2 * i, ll_fp32_to_fp16(x[i]));
        return;
    case LL_T_BF16:
        for (size_t i = 0; i < n; i++) wr16(b + 2 * i, ll_fp32_to_bf16(x[i]));
        return;
    case LL_T_Q8_0: quant_q8_0(x, b, n); return;
    case LL_T_Q4_0: quant_q4_0(x, b, n); return;
    case LL_T_Q4_1: quant_q_1(x, b, n, false); return;
    case LL_T_Q5_0: quant_q5_0(x, b, n); return;
    case LL_T_Q5_1: quant_q_1(x, b, n, true); return;
    case LL_T_Q4_K: quant_q4k_like(x, b, n, false); return;
    case LL_T_Q5_K: quant_q4k_like(x, b, n, true); return;
    case LL_T_Q6_K: quant_q6k(x, b, n); return;
    default: memset(dst, 0, ll_row_bytes(type, n)); return;
    }
}
