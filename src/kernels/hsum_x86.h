/*
 * hsum_x86.h - the one horizontal sum the x86 matrix kernel tables use
 * (AVX2 and AVX-512 files alike; needs only AVX): 8 lanes as ggml's
 * hsum_float_8 and matmul.c's ll_q8_hsum8 add them, 16 lanes as
 * ll_q32_hsum does. Spelled out so the tree is not the compiler's choice.
 */
#ifndef LL_HSUM_X86_H
#define LL_HSUM_X86_H

#include <immintrin.h>

/* ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)) */
static inline float ll_hsum8_m256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* 16 lanes held as lanes 0-7 and 8-15: lane j + lane j + 8, then the above */
static inline float ll_hsum16_m256(__m256 lo, __m256 hi) { return ll_hsum8_m256(_mm256_add_ps(lo, hi)); }

#endif /* LL_HSUM_X86_H */
