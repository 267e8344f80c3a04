/*
 * rng.c - the random number generators logitlab reproduces exactly.
 *
 * std::mt19937 with libstdc++'s distributions is what llama.cpp draws from;
 * matching it bit for bit is what lets the llama.cpp profile pick the same
 * token as llama.cpp for the same seed. llama2.c's xorshift lives in
 * rng_llama2c.h next to its sampler.
 */
#include "rng.h"

#include <math.h>

void ll_mt19937_seed(ll_mt19937 *r, uint32_t seed) {
    r->mt[0] = seed;
    for (uint32_t i = 1; i < 624; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + i;
    r->index = 624;
}

static void mt_twist(ll_mt19937 *r) {
    for (size_t i = 0; i < 624; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
        uint32_t v = r->mt[(i + 397) % 624] ^ (y >> 1);
        if (y & 1u) v ^= 0x9908b0dfu;
        r->mt[i] = v;
    }
    r->index = 0;
}

uint32_t ll_mt19937_next(ll_mt19937 *r) {
    if (r->index >= 624) mt_twist(r);
    uint32_t y = r->mt[r->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double ll_mt19937_canonical_double(ll_mt19937 *r) {
    /* generate_canonical<double, 53>: sum = a + b * 2^32 in double, then
     * divided by 2^64; a result of 1.0 is pulled just below it. */
    double a = (double)ll_mt19937_next(r);
    double b = (double)ll_mt19937_next(r);
    double sum = a + b * 4294967296.0;
    double u = sum / 18446744073709551616.0;
    if (u >= 1.0) u = nextafter(1.0, 0.0);
    return u;
}

float ll_mt19937_canonical_float(ll_mt19937 *r) {
    float u = (float)ll_mt19937_next(r) / 4294967296.0f;
    if (u >= 1.0f) u = nextafterf(1.0f, 0.0f);
    return u;
}

int64_t ll_discrete_distribution(ll_mt19937 *r, const float *w, size_t n) {
    /* libstdc++: fewer than two weights -> 0 without drawing; weights are
     * normalised by their double sum, the CDF is built in double with its
     * last entry forced to 1, and lower_bound finds the first cdf >= u. */
    if (n < 2) return 0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += (double)w[i];
    double u = ll_mt19937_canonical_double(r);
    double cdf = 0.0;
    for (size_t i = 0; i + 1 < n; i++) {
        cdf += (double)w[i] / sum;
        if (cdf >= u) return (int64_t)i;
    }
    return (int64_t)(n - 1);
}
