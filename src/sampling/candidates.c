/*
 * candidates.c - workspace management, sorting, selection and softmax for
 * candidate arrays.
 *
 * Top-k selection over a large unsorted array never sorts it: per-block
 * maxima (one vector pass) bound the k-th largest value from below, so only
 * the few blocks that can hold a top-k token are scanned, and only their
 * survivors are sorted. This is what keeps top_k/top_p/greedy at a single
 * pass over the vocabulary.
 */
#include "candidates.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ll_status ll_workspace_init(ll_workspace *ws, size_t n, ll_error *err) {
    memset(ws, 0, sizeof *ws);
    ws->k = ll_kernels_best();
    ws->n_vocab = n;
    ws->cur = -1;
    size_t nb = n / LL_BLOCK + 1;
    ws->input = ll_malloc(n * sizeof(float), err);
    ws->dense_p = ll_malloc(n * sizeof(float), err);
    for (int s = 0; s < 2; s++) {
        if (!ws->input || !ws->dense_p) break;
        ws->logit[s] = ll_malloc(n * sizeof(float), err);
        ws->id[s] = ll_malloc(n * sizeof(int32_t), err);
        ws->p[s] = ll_malloc(n * sizeof(float), err);
    }
    ws->block_max = ll_malloc(nb * sizeof(float), err);
    ws->block_sum = ll_malloc(nb * sizeof(double), err);
    ws->keys = ll_calloc(2 * n + 2, sizeof(uint64_t), err);
    ws->idx = ll_malloc(n * sizeof(int32_t), err);
    ws->pos_of_id = ll_malloc(n * sizeof(int32_t), err);
    ws->tmp = ll_malloc(n * sizeof(float), err);
    if (!ws->input || !ws->dense_p || !ws->logit[0] || !ws->logit[1] || !ws->id[0] || !ws->id[1] ||
        !ws->p[0] || !ws->p[1] || !ws->block_max || !ws->block_sum || !ws->keys || !ws->idx ||
        !ws->pos_of_id || !ws->tmp) {
        ll_workspace_free(ws);
        return err ? err->status : LL_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++) ws->pos_of_id[i] = -1;
    return LL_OK;
}

void ll_workspace_free(ll_workspace *ws) {
    free(ws->input);
    free(ws->dense_p);
    for (int s = 0; s < 2; s++) {
        free(ws->logit[s]);
        free(ws->id[s]);
        free(ws->p[s]);
    }
    free(ws->block_max);
    free(ws->block_sum);
    free(ws->keys);
    free(ws->idx);
    free(ws->pos_of_id);
    free(ws->tmp);
    memset(ws, 0, sizeof *ws);
}

void ll_cand_init_dense(ll_candidates *c, ll_workspace *ws, float *logits, size_t n) {
    ws->cur = -1;
    c->id = NULL;
    c->logit = logits;
    c->p = ws->dense_p;
    c->size = n;
    c->selected = -1;
    c->sorted = false;
    c->p_valid = false;
    c->p_norm = 1.0;
    c->ws = ws;
}

float ll_candidates_prob(const ll_candidates *c, size_t i) {
    if (!c->p_valid || i >= c->size) return NAN;
    if (c->p_norm == 1.0) return c->p[i];
    return (float)((double)c->p[i] / c->p_norm);
}

ll_cand_out ll_cand_spare(const ll_candidates *c) {
    ll_workspace *ws = c->ws;
    int s = ws->cur == 0 ? 1 : 0;
    ll_cand_out o = {ws->id[s], ws->logit[s], ws->p[s], s};
    return o;
}

void ll_cand_commit(ll_candidates *c, const ll_cand_out *o, size_t size, bool sorted, bool p_valid) {
    c->ws->cur = o->set;
    c->id = o->id;
    c->logit = o->logit;
    c->p = o->p;
    c->size = size;
    c->sorted = sorted;
    c->p_valid = p_valid;
    c->selected = -1;
}

/* A pending normalisation (p_norm != 1) is applied while copying, so the
 * compacted array always holds plain probabilities. */
static float cand_p(const ll_candidates *c, size_t i) {
    return c->p_norm == 1.0 ? c->p[i] : (float)((double)c->p[i] / c->p_norm);
}

void ll_cand_gather(ll_candidates *c, const int32_t *positions, size_t m, bool sorted) {
    ll_cand_out o = ll_cand_spare(c);
    bool pv = c->p_valid;
    for (size_t j = 0; j < m; j++) {
        size_t i = (size_t)positions[j];
        o.id[j] = ll_candidates_id(c, i);
        o.logit[j] = c->logit[i];
        if (pv) o.p[j] = cand_p(c, i);
    }
    ll_cand_commit(c, &o, m, sorted, pv);
    c->p_norm = 1.0;
}

void ll_cand_keep_mask(ll_candidates *c, const uint8_t *keep) {
    ll_cand_out o = ll_cand_spare(c);
    bool pv = c->p_valid;
    size_t m = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (!keep[i]) continue;
        o.id[m] = ll_candidates_id(c, i);
        o.logit[m] = c->logit[i];
        if (pv) o.p[m] = cand_p(c, i);
        m++;
    }
    ll_cand_commit(c, &o, m, c->sorted, pv);
    c->p_norm = 1.0;
}

uint64_t ll_cand_key(const ll_candidates *c, size_t pos) {
    return ((uint64_t)(~ll_float_order(c->logit[pos])) << 32) | (uint64_t)pos;
}

/* ---- sorting and selection on 64-bit keys ---- */

static void insertion_sort(uint64_t *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

void ll_sort_keys(uint64_t *keys, size_t n, uint64_t *tmp) {
    if (n <= 48) {
        insertion_sort(keys, n);
        return;
    }
    /* LSD radix sort, 8 bits per pass; passes where every key has the same
     * digit are skipped (the high bits of positions usually are). */
    size_t count[8][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 8; d++) count[d][(keys[i] >> (8 * d)) & 0xff]++;
    uint64_t *src = keys, *dst = tmp;
    for (int d = 0; d < 8; d++) {
        if (count[d][(keys[0] >> (8 * d)) & 0xff] == n) continue;
        size_t offs[256], s = 0;
        for (int b = 0; b < 256; b++) {
            offs[b] = s;
            s += count[d][b];
        }
        for (size_t i = 0; i < n; i++) dst[offs[(src[i] >> (8 * d)) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != keys) memcpy(keys, src, n * sizeof *keys);
}

static void swap_keys(uint64_t *a, size_t i, size_t j) {
    uint64_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

void ll_select_keys(uint64_t *a, size_t n, size_t k) {
    /* Quickselect with median-of-three pivots; keys are unique (they embed
     * the position), so partitions always shrink. */
    size_t lo = 0, hi = n;
    if (k == 0 || k >= n) return;
    while (hi - lo > 16) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swap_keys(a, mid, lo);
        if (a[hi - 1] < a[lo]) swap_keys(a, hi - 1, lo);
        if (a[hi - 1] < a[mid]) swap_keys(a, hi - 1, mid);
        uint64_t pivot = a[mid];
        size_t i = lo, j = hi - 1;
        for (;;) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i >= j) break;
            swap_keys(a, i, j);
            i++;
            j--;
        }
        /* a[lo..j] <= pivot <= a[j+1..hi) */
        if (k <= j) hi = j + 1;
        else lo = j + 1;
        if (k <= lo || k >= hi) return;
    }
    insertion_sort(a + lo, hi - lo);
}

/* Collects into ws->keys the keys of every candidate that can be in the top
 * k, using block maxima; returns how many. */
static size_t collect_top_keys(const ll_candidates *c, size_t k) {
    ll_workspace *ws = c->ws;
    size_t n = c->size;
    uint64_t *keys = ws->keys;
    if (n <= 4 * LL_BLOCK || k * 16 > n) {
        for (size_t i = 0; i < n; i++) keys[i] = ll_cand_key(c, i);
        return n;
    }
    size_t nb = (n + LL_BLOCK - 1) / LL_BLOCK;
    ws->k->block_max(c->logit, n, ws->block_max);
    /* the k-th largest block maximum is <= the k-th largest value */
    float thr;
    if (k >= nb) {
        thr = -INFINITY;
    } else {
        uint64_t *bk = keys; /* scratch for the block selection */
        for (size_t b = 0; b < nb; b++)
            bk[b] = ((uint64_t)(~ll_float_order(ws->block_max[b])) << 32) | b;
        ll_select_keys(bk, nb, k);
        uint64_t kth = 0;
        for (size_t b = 0; b < k; b++)
            if (bk[b] > kth) kth = bk[b];
        thr = ws->block_max[kth & 0xffffffffu];
    }
    size_t m = 0;
    for (size_t b = 0; b < nb; b++) {
        if (!(ws->block_max[b] >= thr)) continue;
        size_t start = b * LL_BLOCK, end = LL_MIN(start + LL_BLOCK, n);
        for (size_t i = start; i < end; i++)
            if (c->logit[i] >= thr) keys[m++] = ll_cand_key(c, i);
    }
    return m;
}

void ll_cand_top_positions(const ll_candidates *c, size_t k, int32_t *out) {
    if (k > c->size) k = c->size;
    if (c->sorted) {
        for (size_t i = 0; i < k; i++) out[i] = (int32_t)i;
        return;
    }
    uint64_t *keys = c->ws->keys;
    size_t m = collect_top_keys(c, k);
    ll_select_keys(keys, m, k);
    ll_sort_keys(keys, k, keys + c->ws->n_vocab + 1);
    for (size_t i = 0; i < k; i++) out[i] = ll_key_pos(keys[i]);
}

void ll_cand_top_k(ll_candidates *c, size_t k) {
    if (k > c->size) k = c->size;
    if (c->sorted) {
        c->size = k;
        return;
    }
    int32_t *pos = c->ws->idx;
    ll_cand_top_positions(c, k, pos);
    ll_cand_gather(c, pos, k, true);
}

void ll_cand_sort(ll_candidates *c) {
    if (c->sorted) return;
    ll_cand_top_k(c, c->size);
}

float ll_cand_max(const ll_candidates *c) {
    if (c->size == 0) return -INFINITY;
    if (c->sorted) return c->logit[0];
    return c->ws->k->max(c->logit, c->size);
}

size_t ll_cand_argmax(const ll_candidates *c) {
    if (c->sorted || c->size <= 1) return 0;
    float m = ll_cand_max(c);
    for (size_t i = 0; i < c->size; i++)
        if (c->logit[i] == m) return i;
    return 0;
}

void ll_cand_softmax_llamacpp(ll_candidates *c, bool do_sort) {
    if (do_sort) ll_cand_sort(c);
    float max = ll_cand_max(c);
    /* the exponentials come from the vector kernel (same values as
     * ll_expf); the sum is llama.cpp's: float, in array order */
    c->ws->k->exp_sum(c->logit, c->size, max, c->p, NULL);
    float sum = 0.0f;
    for (size_t i = 0; i < c->size; i++) sum += c->p[i];
    for (size_t i = 0; i < c->size; i++) c->p[i] /= sum;
    c->p_valid = true;
    c->p_norm = 1.0;
}

void ll_cand_softmax(ll_candidates *c) {
    float max = ll_cand_max(c);
    double sum = c->ws->k->exp_sum(c->logit, c->size, max, c->p, NULL);
    float inv = (float)sum;
    for (size_t i = 0; i < c->size; i++) c->p[i] /= inv;
    c->p_valid = true;
    c->p_norm = 1.0;
}

void ll_cand_pos_begin(ll_candidates *c) {
    if (!c->id) return;
    for (size_t i = 0; i < c->size; i++) c->ws->pos_of_id[c->id[i]] = (int32_t)i;
}

int64_t ll_cand_pos(const ll_candidates *c, int32_t id) {
    if (id < 0 || (size_t)id >= c->ws->n_vocab) return -1;
    if (!c->id) return (size_t)id < c->size ? id : -1;
    return c->ws->pos_of_id[id];
}

void ll_cand_pos_end(ll_candidates *c) {
    if (!c->id) return;
    for (size_t i = 0; i < c->size; i++) c->ws->pos_of_id[c->id[i]] = -1;
}

bool ll_cand_in_id_order(const ll_candidates *c) {
    if (!c->id) return true;
    for (size_t i = 1; i < c->size; i++)
        if (c->id[i] <= c->id[i - 1]) return false;
    return true;
}
