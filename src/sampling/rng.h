/*
 * rng.h - internal random-number helpers (the generators are public in
 * logitlab.h).
 */
#ifndef LL_RNG_H
#define LL_RNG_H

#include "logitlab.h"

/* libstdc++ std::discrete_distribution<int> over float weights: one
 * generate_canonical<double> draw (none when n < 2). */
int64_t ll_discrete_distribution(ll_mt19937 *r, const float *w, size_t n);

#endif /* LL_RNG_H */
