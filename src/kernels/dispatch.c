/*
 * dispatch.c - picks the kernel table for this CPU.
 *
 * Detection is a pure function of the CPU and the LOGITLAB_SIMD variable
 * (so tests can force the scalar reference); nothing is cached globally.
 */
#include "kernels.h"
#include "attention.h"

#include "logitlab.h"

#include <stdlib.h>
#include <string.h>

#if defined(LL_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

/* F16C is read from CPUID leaf 1 (ECX bit 29) rather than with
 * __builtin_cpu_supports("f16c"), which clang 14 (Debian 12's) rejects at
 * compile time. The AVX2 test before it already covers the OS saving the
 * YMM registers, which F16C needs too, so this equals gcc's own check. */
static int cpu_has_f16c(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_F16C) != 0;
}
#endif

static int cpu_has_avx2(void) {
#if defined(LL_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
#else
    return 0;
#endif
}

static int cpu_has_avx512(void) {
#if defined(LL_HAVE_AVX512) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

const ll_kernels *ll_kernels_best(void) {
    const char *want = getenv("LOGITLAB_SIMD");
    int allow512 = 1, allow2 = 1;
    if (want && strcmp(want, "scalar") == 0) allow512 = allow2 = 0;
    if (want && strcmp(want, "avx2") == 0) allow512 = 0;
#if defined(LL_HAVE_AVX512)
    if (allow512 && cpu_has_avx512()) return &ll_kernels_avx512;
#endif
#if defined(LL_HAVE_AVX2)
    if (allow2 && cpu_has_avx2()) return &ll_kernels_avx2;
#endif
    (void)allow512;
    (void)allow2;
    (void)cpu_has_avx2;
    (void)cpu_has_avx512;
    return &ll_kernels_scalar;
}

/* attention follows the level the logit kernels run at (one choice per CPU) */
const ll_attn_kernels *ll_attn_kernels_best(void) {
    const char *level = ll_kernels_best()->name;
#if defined(LL_HAVE_AVX512)
    if (strcmp(level, ll_attn_avx512.name) == 0) return &ll_attn_avx512;
#endif
#if defined(LL_HAVE_AVX2)
    if (strcmp(level, ll_attn_avx2.name) == 0) return &ll_attn_avx2;
#endif
    (void)level;
    return &ll_attn_scalar;
}

const char *ll_simd_level_name(void) {
    return ll_kernels_best()->name;
}
