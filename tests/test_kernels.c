/*
 * test_kernels.c - every SIMD kernel table must equal the scalar reference
 * bit for bit (that is what makes a seed select the same token on every
 * CPU), and ll_expf must be the correctly rounded expf except in rare
 * boundary cases.
 */
#include "kernels/kernels.h"
#include "test_util.h"

#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double)(next_u64() >> 11) * 0x1p-53; }

static void fill(float *x, size_t n, int kind) {
    for (size_t i = 0; i < n; i++) {
        double u = uniform();
        switch (kind) {
        case 0: x[i] = (float)(u * 20.0 - 10.0); break;          /* typical logits */
        case 1: x[i] = (float)(u * 200.0 - 150.0); break;        /* deep tails, underflow */
        case 2: x[i] = u < 0.3 ? -INFINITY : (float)(u * 8.0); break; /* masked tokens */
        default: x[i] = (float)((int)(u * 5.0)); break;          /* many ties */
        }
    }
}

static void compare_tables(const ll_kernels *k) {
    static float x[5000], p_ref[5000], p_k[5000], bm_ref[100], bm_k[100];
    static double bs_ref[100], bs_k[100];
    static int32_t idx_ref[5000], idx_k[5000];
    const ll_kernels *s = &ll_kernels_scalar;
    const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000, 4999};
    for (int kind = 0; kind < 4; kind++) {
        for (size_t si = 0; si < LL_ARRAY_LEN(sizes); si++) {
            size_t n = sizes[si];
            fill(x, n, kind);
            float mx = s->max(x, n);
            CHECK(k->max(x, n) == mx, "%s max n=%zu kind=%d", k->name, n, kind);
            if (n) {
                s->block_max(x, n, bm_ref);
                k->block_max(x, n, bm_k);
                CHECK(memcmp(bm_ref, bm_k, ((n + LL_BLOCK - 1) / LL_BLOCK) * sizeof(float)) == 0,
                      "%s block_max n=%zu kind=%d", k->name, n, kind);
            }
            if (n && mx > -INFINITY) {
                double t_ref = s->exp_sum(x, n, mx, p_ref, bs_ref);
                double t_k = k->exp_sum(x, n, mx, p_k, bs_k);
                CHECK(t_ref == t_k, "%s exp_sum total n=%zu kind=%d: %.17g vs %.17g", k->name, n, kind, t_ref, t_k);
                CHECK(memcmp(p_ref, p_k, n * sizeof(float)) == 0, "%s exp_sum values n=%zu kind=%d", k->name, n, kind);
                CHECK(memcmp(bs_ref, bs_k, ((n + LL_BLOCK - 1) / LL_BLOCK) * sizeof(double)) == 0,
                      "%s exp_sum block sums n=%zu kind=%d", k->name, n, kind);
            }
            float thr = n ? x[n / 2] : 0.0f;
            size_t m_ref = s->filter_ge(x, n, thr, idx_ref), m_k = k->filter_ge(x, n, thr, idx_k);
            CHECK(m_ref == m_k && memcmp(idx_ref, idx_k, m_ref * sizeof(int32_t)) == 0, "%s filter_ge n=%zu kind=%d",
                  k->name, n, kind);
            memcpy(p_ref, x, n * sizeof(float));
            memcpy(p_k, x, n * sizeof(float));
            s->div(p_ref, n, 0.7f);
            k->div(p_k, n, 0.7f);
            CHECK(memcmp(p_ref, p_k, n * sizeof(float)) == 0, "%s div n=%zu kind=%d", k->name, n, kind);
            CHECK(k->find_invalid(x, n) == -1, "%s find_invalid clean n=%zu", k->name, n);
            if (n > 3) {
                x[n - 2] = NAN;
                CHECK(k->find_invalid(x, n) == (ptrdiff_t)(n - 2), "%s find_invalid NaN n=%zu", k->name, n);
                x[1] = INFINITY;
                CHECK(k->find_invalid(x, n) == 1, "%s find_invalid +inf n=%zu", k->name, n);
            }
        }
    }
}

static void expf_accuracy(void) {
    /* against exp in double rounded once to float: the correctly rounded
     * result for all but a vanishing fraction of inputs */
    size_t n = 2000000, mismatch = 0;
    for (size_t i = 0; i < n; i++) {
        float x = (float)(uniform() * 200.0 - 110.0);
        float want = (float)exp((double)x), got = ll_expf(x);
        if (got != want) {
            mismatch++;
            uint32_t a, b;
            memcpy(&a, &got, 4);
            memcpy(&b, &want, 4);
            CHECK(a - b + 1 <= 2, "ll_expf(%.9g) = %.9g, exp rounded = %.9g: more than 1 ulp", (double)x, (double)got,
                  (double)want);
        }
    }
    CHECK(mismatch <= 2, "ll_expf differs from the correctly rounded value for %zu of %zu inputs", mismatch, n);
    CHECK(ll_expf(0.0f) == 1.0f, "exp(0)");
    CHECK(ll_expf(-INFINITY) == 0.0f, "exp(-inf)");
    CHECK(ll_expf(-200.0f) == 0.0f, "exp(-200) underflows to 0");
    CHECK(isinf(ll_expf(100.0f)), "exp(100) overflows to inf");
    CHECK(ll_expf(-103.0f) == (float)exp(-103.0) && ll_expf(-103.0f) > 0.0f, "subnormal results are rounded correctly");
    CHECK(ll_expf(1.0f) == 2.71828175f, "exp(1)");
}

int main(void) {
    compare_tables(&ll_kernels_scalar);
#ifdef LL_HAVE_AVX2
    if (strcmp(ll_kernels_best()->name, "scalar") != 0) compare_tables(&ll_kernels_avx2);
#endif
#ifdef LL_HAVE_AVX512
    if (strcmp(ll_kernels_best()->name, "avx512") == 0) compare_tables(&ll_kernels_avx512);
#endif
    expf_accuracy();
    printf("kernel table in use: %s\n", ll_kernels_best()->name);
    return tu_finish("kernels");
}
