/*
 * candidates.h - the workspace behind an ll_candidates array and the
 * operations processors share: sorting, top-k selection, compaction,
 * softmax, id lookup (internal).
 *
 * A chain owns one workspace, sized for its vocabulary when it is created,
 * so sampling a token never allocates. The candidate array starts as the
 * raw logits in id order ("dense", id == NULL); a processor that drops or
 * reorders tokens writes the survivors into the spare of two buffer sets
 * and commits them.
 */
#ifndef LL_CANDIDATES_H
#define LL_CANDIDATES_H

#include "../core/internal.h"
#include "../kernels/kernels.h"

#include <string.h>

typedef struct ll_workspace {
    const ll_kernels *k;
    size_t n_vocab;
    float *input;         /* copy of the caller's logits (ll_chain_sample) */
    float *dense_p;       /* probabilities while the array is dense */
    float *logit[2];      /* compacted sets, ping-pong */
    int32_t *id[2];
    float *p[2];
    int cur;              /* set in use: -1 dense, 0 or 1 */
    float *block_max;     /* scratch: per-block maxima */
    double *block_sum;    /* scratch: per-block sums (dist) */
    uint64_t *keys;       /* scratch: sort keys, 2 * n_vocab */
    int32_t *idx;         /* scratch: positions, n_vocab */
    int32_t *pos_of_id;   /* id -> position map, all -1 between uses */
    float *tmp;           /* scratch floats, n_vocab */
} ll_workspace;

ll_status ll_workspace_init(ll_workspace *ws, size_t n_vocab, ll_error *err);
void ll_workspace_free(ll_workspace *ws);

/* Points c at dense logits (not copied). */
void ll_cand_init_dense(ll_candidates *c, ll_workspace *ws, float *logits, size_t n);

/* The buffers a processor writes survivors into before ll_cand_commit. */
typedef struct ll_cand_out {
    int32_t *id;
    float *logit;
    float *p;
    int set;
} ll_cand_out;
ll_cand_out ll_cand_spare(const ll_candidates *c);
void ll_cand_commit(ll_candidates *c, const ll_cand_out *o, size_t size, bool sorted, bool p_valid);

/* Keeps the candidates at the given positions, in the given order. */
void ll_cand_gather(ll_candidates *c, const int32_t *positions, size_t m, bool sorted);
/* Keeps positions where keep[i] != 0, in order (stable). */
void ll_cand_keep_mask(ll_candidates *c, const uint8_t *keep);
/* Keeps the first n candidates (any order). */
static inline void ll_cand_truncate(ll_candidates *c, size_t n) {
    if (n < c->size) c->size = n;
}

/* Sort keys: ascending key order = logit descending, then position ascending. */
static inline uint32_t ll_float_order(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
uint64_t ll_cand_key(const ll_candidates *c, size_t pos);
static inline int32_t ll_key_pos(uint64_t key) { return (int32_t)(key & 0xffffffffu); }

/* Sorts keys ascending (radix sort; tmp must hold n keys). */
void ll_sort_keys(uint64_t *keys, size_t n, uint64_t *tmp);
/* Moves the k smallest keys to keys[0..k) (any order). */
void ll_select_keys(uint64_t *keys, size_t n, size_t k);

/* Positions of the top k candidates, sorted (logit desc, position asc),
 * written to out (k entries). Does not modify c. Uses ws->keys. */
void ll_cand_top_positions(const ll_candidates *c, size_t k, int32_t *out);
/* Sorts c fully by logit (descending, stable). */
void ll_cand_sort(ll_candidates *c);
/* Partial sort: keeps only the top k, sorted. */
void ll_cand_top_k(ll_candidates *c, size_t k);

float ll_cand_max(const ll_candidates *c);
/* Index of the first maximum in array order (c->size > 0). */
size_t ll_cand_argmax(const ll_candidates *c);

/* llama.cpp softmax_impl: p = expf(l - max) / sum with the sum accumulated
 * in float in array order; optionally sorts first. */
void ll_cand_softmax_llamacpp(ll_candidates *c, bool do_sort);
/* Softmax with the sum in double (vector kernels); p normalised in float. */
void ll_cand_softmax(ll_candidates *c);

/* Position of token id, or -1. For dense arrays this is O(1); otherwise the
 * caller brackets lookups with ll_cand_pos_begin / ll_cand_pos_end. */
void ll_cand_pos_begin(ll_candidates *c);
int64_t ll_cand_pos(const ll_candidates *c, int32_t id);
void ll_cand_pos_end(ll_candidates *c);

/* Whether the candidates are in increasing id order (dense arrays are). */
bool ll_cand_in_id_order(const ll_candidates *c);

#endif /* LL_CANDIDATES_H */
