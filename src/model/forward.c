/*
 * forward.c - the forward pass and its key/value cache.
 *
 * For each layer, as the math reads:
 *   xb = rmsnorm(x) * w_attn_norm
 *   q, k, v = xb Wq, xb Wk, xb Wv;  rotate q and k (RoPE) by position
 *   append k, v to the cache;  attention of each query head over its
 *   key/value head (grouped-query), causal, scaled by 1/sqrt(head_dim)
 *   x += attention Wo
 *   xb = rmsnorm(x) * w_ffn_norm
 *   x += (silu(xb Wgate) * (xb Wup)) Wdown
 * then logits = rmsnorm(x) * w_out_norm Wout.
 * That is Llama; the other architectures (arch.h) are the same pass with
 * the parts their table row gives, each where the loader put it: q/k/v
 * biases and per-head q/k norms before RoPE, a sliding window and a
 * soft-cap on the scores, a norm of each block's output before the
 * residual add, GELU for SiLU, scaled embeddings, a soft-cap on the
 * logits. A part the model lacks is NULL or 0, and the step that would
 * apply it does nothing.
 *
 * A step is a list of rows, each one token of one sequence: a prompt's
 * tokens, or the next token of every sequence a server is generating
 * (ll_decode_batch: rows of several contexts, so the weights are read once
 * for all of them), or of the branches of beams and parallel samples.
 * Rows share the matrix products and each attends to its own cache. A
 * prompt's long run of rows is a matrix-matrix product; the other rows go
 * through the one-token arithmetic a few at a time, so a row's numbers
 * never depend on which other rows share its step. Between
 * layers the caller's abort callback is polled, so a long prompt stops
 * within one layer's work of an interrupt; a stopped call leaves the
 * context as it was before it. The arithmetic is ggml's, as llama.cpp's
 * CPU backend computes it (docs/parity.md): RMS sum of squares in double,
 * RoPE angles by repeated multiplication in float and its fused turns,
 * attention and the SiLU gate through src/kernels/attention.c in ggml's
 * orders; a context's several appended tokens take llama.cpp's batch order
 * in attention (a decision that depends only on the row's own context). A
 * llama2.c checkpoint keeps run.c's arithmetic. The KV cache holds floats
 * or F16 values rounded as ggml stores them (ll_context_params.kv_type).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/attention.h"
#include "../kernels/kernels.h"
#include "../kernels/l2c.h"
#include "../kernels/matmul.h"
#include "../kernels/quant.h"
#include "model_impl.h"

#define LL_MAX_BATCH LL_BATCH_MAX
/* ll_matmul takes up to LL_QROWS_MAX rows through the one-token
 * arithmetic (quantized activations, integer dot products) and more as a
 * GEMM: groups of rows are cut so that a row's arithmetic never depends on
 * the other rows of the step; the public bound says the same */
#define LL_ONE_TOKEN_ROWS LL_BATCH_SHORT_RUN
_Static_assert(LL_BATCH_SHORT_RUN == LL_QROWS_MAX, "the batch rule and ll_matmul's one-token bound must agree");

/* one row of a step: the cache it reads and extends, its position */
typedef struct {
    ll_context *owner;
    size_t pos;
    int32_t node;        /* the branch node it makes; -1: appended to the owner's prefix */
    const int32_t *path; /* branch rows: the nodes after the prefix, oldest first, its own last */
    float *logits;       /* NULL: not wanted */
} fw_row;

/* rows [start, start + n): a prompt's long run (one matrix-matrix
 * product) or rows that take the one-token arithmetic */
typedef struct {
    size_t start, n;
    bool run;
} fw_group;

/* positions per block of the KV cache (ll_context): a query head reads a
 * block's keys, then its values, as runs of this many positions (128 for
 * 64: 8-row steps of 110M Q4_0 at 177 positions, F16 cache, 6.5-7.5%
 * faster in three runs of 5-7 interleaved rounds) */
#define LL_KV_BLOCK 128

struct ll_context {
    const ll_model *m;
    size_t n_ctx, n_past;
    ll_pool *pool;
    const ll_matmul_kernels *mk;
    const ll_kernels *k;
    const ll_attn_kernels *ak;
    /* [block of LL_KV_BLOCK positions][layer][kv_head][position][head_dim]
     * floats, or halves (kv_type LL_KV_F16: rounded to nearest even as
     * ggml stores them, widened when read), or ggml's Q8_0 blocks of 32
     * (LL_KV_Q8_0: a half scale and 32 int8, head_dim / 32 of them per
     * position); kv_index, kv_bytes. Within a block the
     * keys one query head reads lie one after another, so the prefetcher
     * streams them (position-major, each key was a short run a whole row
     * apart, nearly always on a new page, and attention waited on memory),
     * and blocks in position order keep the memory in use proportional to
     * the positions filled, huge pages included (ll_pages_alloc). */
    ll_kv_type kv_type;
    size_t kv_block, kv_block_bytes; /* values per stored block and its bytes: 1 and 4 or 2, 32 and 34 */
    bool runc;               /* a llama2.c checkpoint: attention and gate in run.c's arithmetic */
    bool one_token_products; /* ll_context_params.one_token_products */
    void *k_cache, *v_cache;
    size_t kv_cache_bytes; /* of each (ll_pages_alloc) */
    /* activations for up to LL_MAX_BATCH tokens; xb: [T][max(dim, q_dim)]
     * (norms, then attention outputs), q: [T][q_dim],
     * rope: [variant][LL_MAX_BATCH][rope_dim/2][cos, sin] */
    float *x, *xb, *xb2, *q, *kk, *vv, *hb, *hb2, *rope;
    float *att;     /* per thread: n_ctx scores */
    float *attq;    /* per thread: head_dim floats, the query rounded to F16 for an F16 cache */
    int8_t *attqx;  /* per thread: the query quantized for a Q8_0 cache (attq_vec) */
    float *attacc;  /* per thread: the weighted sum's accumulators, LL_ATTN_LANES x LL_ATTN_MAX_ACC x head_dim */
    float *scratch; /* per thread matmul scratch */
    float *qbuf;    /* int8 activations for llama2.c models: values and scales */
    int8_t *xq;
    size_t scratch_stride;
    /* sequence tree for beams and parallel samples: node i holds the key
     * and value of one token for every layer, after the shared prefix */
    void *node_k, *node_v; /* [node][layer][kv_dim], stored as the cache */
    int32_t *node_parent;
    uint32_t *node_depth; /* 0 = directly after the prefix */
    size_t n_nodes, cap_nodes;
    ll_abort_fn abort_fn; /* polled between layers (NULL: never stop) */
    void *abort_user;
    /* a step this context works for (its threads, its scratch): the rows,
     * the groups of rows that go through one matrix product, the paths of
     * branch rows, the logits of up to LL_ONE_TOKEN_ROWS rows */
    fw_row *rows;
    fw_group *groups;
    size_t n_groups;
    int32_t *paths;
    size_t att_cap; /* positions the attention scratch holds per thread */
    float *out;
    /* a context a step has rows for: its counts during that step */
    size_t step_append, step_branch, step_last_row;
};

static void *zalloc(size_t n, size_t size, ll_error *err) { return ll_calloc(n ? n : 1, size, err); }

/* the KV types as table rows: name, values per stored block and its bytes */
static const struct {
    const char *name;
    size_t block, bytes;
} kv_types[] = {[LL_KV_F32] = {"f32", 1, 4}, [LL_KV_F16] = {"f16", 1, 2}, [LL_KV_Q8_0] = {"q8_0", 32, 34}};
#define N_KV_TYPES (sizeof kv_types / sizeof kv_types[0])

/* bytes of n stored values (n a multiple of the block: whole heads) */
static size_t kv_bytes(const ll_context *c, size_t n) { return n / c->kv_block * c->kv_block_bytes; }

/* the per-thread buffer of a query quantized to Q8_0: scales, group sums, values */
static size_t attq_vec_bytes(size_t hd) {
    return ((hd / 32 + 1) * sizeof(float) + (hd / 16 + 1) * sizeof(int16_t) + hd + 7) & ~(size_t)7;
}

static ll_qvec attq_vec(int8_t *buf, size_t hd) {
    size_t d_bytes = (hd / 32 + 1) * sizeof(float), s_bytes = (hd / 16 + 1) * sizeof(int16_t);
    return (ll_qvec){buf + d_bytes + s_bytes, (float *)(void *)buf, (int16_t *)(void *)(buf + d_bytes), LL_QX_32, NULL,
                     NULL};
}

const char *ll_kv_type_name(ll_kv_type t) { return (unsigned)t < N_KV_TYPES ? kv_types[t].name : NULL; }

/* "f32, f16, ...": the names of the types whose blocks divide a head of
 * hd values (hd 0: every type); the table's names fit the 64 bytes */
static const char *kv_type_names(char names[64], size_t hd) {
    names[0] = 0;
    for (size_t i = 0; i < N_KV_TYPES; i++)
        if (!hd || hd % kv_types[i].block == 0)
            snprintf(names + strlen(names), 64 - strlen(names), "%s%s", names[0] ? ", " : "", kv_types[i].name);
    return names;
}

ll_status ll_kv_type_parse(const char *s, ll_kv_type *out, ll_error *err) {
    for (size_t i = 0; s && i < N_KV_TYPES; i++)
        if (strcmp(s, kv_types[i].name) == 0) {
            *out = (ll_kv_type)i;
            return LL_OK;
        }
    char q[LL_QUOTE_MAX], names[64];
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "KV cache type '%s' is not one of %s",
                   s ? ll_quote(q, s, strlen(s)) : "(null)", kv_type_names(names, 0));
}

ll_context_params ll_context_params_default(void) { return (ll_context_params){0, 1, LL_KV_F32, false}; }

ll_context *ll_context_new(const ll_model *m, size_t n_ctx, int n_threads, ll_error *err) {
    ll_context_params p = ll_context_params_default();
    p.n_ctx = n_ctx;
    p.n_threads = n_threads;
    return ll_context_new_ex(m, &p, err);
}

ll_context *ll_context_new_ex(const ll_model *m, const ll_context_params *p, ll_error *err) {
    if (!m || !p) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the model and the context parameters must not be NULL");
        return NULL;
    }
    const ll_model_info *in = &m->info;
    size_t n_ctx = p->n_ctx;
    int n_threads = p->n_threads;
    if ((unsigned)p->kv_type >= N_KV_TYPES) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "kv_type = %d is out of range: valid is LL_KV_F32 (0), LL_KV_F16 (1) or LL_KV_Q8_0 (2)",
                (int)p->kv_type);
        return NULL;
    }
    if (in->head_dim % kv_types[p->kv_type].block) {
        char names[64];
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "a %s KV cache stores blocks of %zu values, which need a head size that is a multiple of %zu: "
                "this model's is %zu (valid for it: %s)",
                kv_types[p->kv_type].name, kv_types[p->kv_type].block, kv_types[p->kv_type].block, in->head_dim,
                kv_type_names(names, in->head_dim));
        return NULL;
    }
    if (n_ctx == 0) n_ctx = in->n_ctx_train;
    if (n_ctx == 0 || n_ctx > (1u << 24)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "n_ctx = %zu is out of range: valid is [1, %u]", n_ctx, 1u << 24);
        return NULL;
    }
    ll_context *c = ll_calloc(1, sizeof *c, err);
    if (!c) return NULL;
    c->m = m;
    c->n_ctx = n_ctx;
    c->pool = ll_pool_new(n_threads, err);
    if (!c->pool) {
        free(c);
        return NULL;
    }
    c->mk = ll_matmul_best();
    c->k = ll_kernels_best();
    c->ak = ll_attn_kernels_best();
    c->kv_type = p->kv_type;
    c->kv_block = kv_types[p->kv_type].block;
    c->kv_block_bytes = kv_types[p->kv_type].bytes;
    c->one_token_products = p->one_token_products;
    c->runc = strcmp(in->format, "llama2.c") == 0;
    size_t dim = in->dim, kv = m->kv_dim, qd = m->q_dim, ffn = in->ffn_dim, B = LL_MAX_BATCH;
    size_t L = in->n_layers, n_vals, n_bytes;
    /* whole blocks of positions (kv_index) */
    size_t n_pos = n_ctx / LL_KV_BLOCK + (n_ctx % LL_KV_BLOCK != 0);
    if (!ll_mul_size_ok(n_pos, LL_KV_BLOCK, &n_pos) || !ll_mul_size_ok(L, n_pos, &n_vals) ||
        !ll_mul_size_ok(n_vals, kv / c->kv_block, &n_vals) || !ll_mul_size_ok(n_vals, c->kv_block_bytes, &n_bytes)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "a KV cache of %zu positions x %zu layers x %zu values is too large",
                n_ctx, L, kv);
        ll_context_free(c);
        return NULL;
    }
    c->kv_cache_bytes = n_bytes;
    c->k_cache = ll_pages_alloc(n_bytes, err);
    c->v_cache = ll_pages_alloc(n_bytes, err);
    c->x = zalloc(B * dim, sizeof(float), err);
    c->xb = zalloc(B * (dim > qd ? dim : qd), sizeof(float), err);
    c->xb2 = zalloc(B * dim, sizeof(float), err);
    c->q = zalloc(B * qd, sizeof(float), err);
    c->kk = zalloc(B * kv, sizeof(float), err);
    c->vv = zalloc(B * kv, sizeof(float), err);
    c->hb = zalloc(B * ffn, sizeof(float), err);
    c->hb2 = zalloc(B * ffn, sizeof(float), err);
    c->rope = zalloc(m->n_rope * B * in->rope_dim, sizeof(float), err);
    c->att_cap = n_ctx;
    c->att = zalloc((size_t)n_threads * n_ctx, sizeof(float), err);
    c->attq = zalloc((size_t)n_threads * in->head_dim, sizeof(float), err);
    c->attqx = zalloc((size_t)n_threads, attq_vec_bytes(in->head_dim), err);
    c->attacc = zalloc((size_t)n_threads * LL_ATTN_LANES * LL_ATTN_MAX_ACC * in->head_dim, sizeof(float), err);
    c->rows = zalloc(B, sizeof *c->rows, err);
    c->groups = zalloc(B, sizeof *c->groups, err);
    c->scratch_stride = ll_matmul_scratch_floats();
    c->scratch = zalloc((size_t)n_threads * c->scratch_stride, sizeof(float), err);
    size_t qmax = ffn > dim ? ffn : dim;
    c->xq = zalloc(qmax, 1, err);
    c->qbuf = zalloc(qmax, sizeof(float), err);
    if (!c->k_cache || !c->v_cache || !c->x || !c->xb || !c->xb2 || !c->q || !c->kk || !c->vv || !c->hb || !c->hb2 ||
        !c->rope || !c->att || !c->attq || !c->attqx || !c->attacc || !c->scratch || !c->xq || !c->qbuf || !c->rows || !c->groups) {
        ll_context_free(c);
        return NULL;
    }
    return c;
}

void ll_context_free(ll_context *c) {
    if (!c) return;
    ll_pool_free(c->pool);
    ll_pages_free(c->k_cache, c->kv_cache_bytes);
    ll_pages_free(c->v_cache, c->kv_cache_bytes);
    free(c->x);
    free(c->xb);
    free(c->xb2);
    free(c->q);
    free(c->kk);
    free(c->vv);
    free(c->hb);
    free(c->hb2);
    free(c->rope);
    free(c->att);
    free(c->attq);
    free(c->attqx);
    free(c->attacc);
    free(c->scratch);
    free(c->xq);
    free(c->qbuf);
    free(c->node_k);
    free(c->node_v);
    free(c->node_parent);
    free(c->node_depth);
    free(c->rows);
    free(c->groups);
    free(c->paths);
    free(c->out);
    free(c);
}

size_t ll_context_n_ctx(const ll_context *c) { return c->n_ctx; }
ll_kv_type ll_context_kv_type(const ll_context *c) { return c->kv_type; }
size_t ll_context_kv_bytes(const ll_context *c) { return 2 * c->kv_cache_bytes; }

/* where key or value head h of layer l at position pos lies in c's cache
 * (in values) */
static size_t kv_index(const ll_context *c, size_t l, size_t h, size_t pos) {
    const ll_model_info *in = &c->m->info;
    size_t block = (pos / LL_KV_BLOCK * in->n_layers + l) * in->n_kv_heads + h;
    return (block * LL_KV_BLOCK + pos % LL_KV_BLOCK) * in->head_dim;
}
/* how many positions of [pos, end) follow pos in its block (kv_index) */
static size_t kv_run(size_t pos, size_t end) {
    size_t block_end = (pos / LL_KV_BLOCK + 1) * LL_KV_BLOCK;
    return (end < block_end ? end : block_end) - pos;
}

const void *ll_context_kv_at(const ll_context *c, size_t layer, size_t head, size_t pos, bool value) {
    if (layer >= c->m->info.n_layers || head >= c->m->info.n_kv_heads || pos >= c->n_past) return NULL;
    const uint8_t *base = value ? c->v_cache : c->k_cache;
    return base + kv_bytes(c, kv_index(c, layer, head, pos));
}
typedef struct {
    void (*fn)(void *user, size_t i);
    void *user;
} parallel_job;

static void parallel_chunk(void *ctx, size_t chunk, int slot) {
    const parallel_job *j = ctx;
    (void)slot;
    j->fn(j->user, chunk);
}

void ll_context_parallel_for(ll_context *c, size_t n, void (*fn)(void *user, size_t i), void *user) {
    parallel_job j = {fn, user};
    ll_pool_for(c->pool, n, 0, parallel_chunk, &j);
}

const ll_model *ll_context_model(const ll_context *c) { return c->m; }
size_t ll_context_n_past(const ll_context *c) { return c->n_past; }

ll_status ll_context_rewind(ll_context *c, size_t n_past, ll_error *err) {
    if (n_past > c->n_past)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "cannot rewind to %zu: only %zu positions are cached", n_past,
                       c->n_past);
    c->n_past = n_past;
    c->n_nodes = 0;
    return LL_OK;
}

void ll_context_tree_clear(ll_context *c) { c->n_nodes = 0; }

void ll_context_set_abort(ll_context *c, ll_abort_fn should_stop, void *user) {
    c->abort_fn = should_stop;
    c->abort_user = should_stop ? user : NULL;
}

void ll_context_get_abort(const ll_context *c, ll_abort_fn *should_stop, void **user) {
    *should_stop = c->abort_fn;
    *user = c->abort_user;
}

static ll_status check_abort(ll_context *c, size_t layer, ll_error *err) {
    if (!c->abort_fn || !c->abort_fn(c->abort_user)) return LL_OK;
    return ll_fail(err, LL_ERR_INTERRUPTED,
                   "decoding stopped by the abort callback before layer %zu of %zu; the context is as before the call",
                   layer, c->m->info.n_layers);
}

/* ---- building blocks ---- */

/* out = x / sqrt(mean of squares + eps) * w, from x's sum of squares ss */
static void rms_scale(float *out, const float *x, const float *w, size_t n, double ss, float eps) {
    float mean = (float)(ss / (double)n);
    float scale = 1.0f / sqrtf(mean + eps);
    for (size_t i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

/* out = rmsnorm(x) * w for `rows` consecutive rows of n values (in place
 * allowed): their sums of squares side by side (ak->sq_sums, whose scalar
 * table is ggml's loop), the same bits as one by one */
static void rmsnorm_rows(const ll_context *c, float *out, const float *x, const float *w, size_t rows, size_t n) {
    enum { AT_ONCE = 8 };
    double ss[AT_ONCE];
    for (size_t r0 = 0; r0 < rows; r0 += AT_ONCE) {
        size_t k = rows - r0 < AT_ONCE ? rows - r0 : AT_ONCE;
        c->ak->sq_sums(x + r0 * n, n, k, n, ss);
        for (size_t r = 0; r < k; r++) rms_scale(out + (r0 + r) * n, x + (r0 + r) * n, w, n, ss[r], c->m->info.rms_eps);
    }
}

/* Y[T][rows] = X[T][cols] W^T */
static void matmul(ll_context *c, const ll_weight *w, const float *x, size_t T, float *y) {
    if (w->m.type == LL_T_L2C_Q8) {
        for (size_t t = 0; t < T; t++) {
            ll_l2c_quantize(x + t * w->m.cols, w->m.cols, w->group, c->xq, c->qbuf);
            ll_l2c_matvec(w->q, w->s, w->m.rows, w->m.cols, w->group, c->xq, c->qbuf, y + t * w->m.rows);
        }
        return;
    }
    ll_matmul(c->pool, c->mk, &w->m, x, T, y, c->scratch);
}

/* Y_i = X W_i^T for n_w weights that read the same x (one, or a layer's
 * query, key and value, or its gate and up) over the step's rows: a
 * prompt's run in one product (unless the context asks for one-token
 * products), other rows as many at a time as give each row what it gets
 * alone, each group's products at once where there are several
 * (ll_matmul_shared: x quantized once, one job for the threads) */
static void matmul_groups(ll_context *c, const ll_weight *const *w, size_t n_w, const float *x, float *const *y) {
    size_t cols = w[0]->m.cols;
    size_t each = w[0]->m.type == LL_T_L2C_Q8 ? LL_ONE_TOKEN_ROWS : ll_matmul_row_group(c->pool, c->mk, &w[0]->m);
    const ll_matrix *m[LL_SHARED_MAX];
    float *out[LL_SHARED_MAX];
    for (size_t g = 0; g < c->n_groups; g++) {
        const fw_group *G = &c->groups[g];
        size_t step = G->run && !c->one_token_products ? G->n : each;
        for (size_t t = G->start; t < G->start + G->n; t += step) {
            size_t n = G->start + G->n - t < step ? G->start + G->n - t : step;
            if (n_w == 1) {
                matmul(c, w[0], x + t * cols, n, y[0] + t * w[0]->m.rows);
                continue;
            }
            for (size_t i = 0; i < n_w; i++) {
                m[i] = &w[i]->m;
                out[i] = y[i] + t * w[i]->m.rows;
            }
            ll_matmul_shared(c->pool, c->mk, m, n_w, x + t * cols, n, out, c->scratch);
        }
    }
}

static void matmul_rows(ll_context *c, const ll_weight *w, const float *x, float *y) {
    matmul_groups(c, &w, 1, x, &y);
}

/* several weights of one x together where they group their rows alike
 * (and are no llama2.c int8 weights), else one after another */
static void matmul_rows_shared(ll_context *c, const ll_weight *const *w, size_t n_w, const float *x, float *const *y) {
    size_t each = ll_matmul_row_group(c->pool, c->mk, &w[0]->m);
    bool together = n_w <= LL_SHARED_MAX;
    for (size_t i = 0; i < n_w && together; i++)
        together = w[i]->m.type != LL_T_L2C_Q8 && w[i]->m.cols == w[0]->m.cols &&
                   ll_matmul_row_group(c->pool, c->mk, &w[i]->m) == each;
    if (!together) {
        for (size_t i = 0; i < n_w; i++) matmul_rows(c, w[i], x, y[i]);
        return;
    }
    matmul_groups(c, w, n_w, x, y);
}

/* cos/sin of every rotated pair for each row's position, per RoPE variant
 * (shared by the layers that use it). ggml's arithmetic: the angle of
 * pair i is pos * theta_scale^i by repeated multiplication in float, with
 * theta_scale = powf(base, -2/n_rot) (libm's powf, as ggml calls it), then
 * divided by the pair's factor and multiplied by the linear scale; cos and
 * sin times rope_mscale. LongRoPE's factor set follows the row's context
 * size. */
static void rope_tables(ll_context *c, size_t T) {
    const ll_model *m = c->m;
    size_t n_rot = m->info.rope_dim, half = n_rot / 2;
    for (unsigned v = 0; v < m->n_rope; v++) {
        const ll_rope *R = &m->rope[v];
        float theta_scale = powf(R->base, -2.0f / (float)n_rot);
        for (size_t t = 0; t < T; t++) {
            const float *ff = ll_model_rope_factors(m, v, c->rows[t].owner->n_ctx);
            float theta = (float)c->rows[t].pos;
            float *r = c->rope + (v * LL_MAX_BATCH + t) * n_rot;
            for (size_t i = 0; i < half; i++) {
                float angle = theta / (ff ? ff[i] : 1.0f) * R->scale;
                r[2 * i] = cosf(angle) * m->rope_mscale;
                r[2 * i + 1] = sinf(angle) * m->rope_mscale;
                theta *= theta_scale;
            }
        }
    }
}

/* Each head turned by its rows' angles: ggml's roundings (the kernel's
 * rope, fused as gcc builds ggml's rotate_pairs; checked against
 * llama.cpp's tensors: every Q and K bit equal), or for a llama2.c
 * checkpoint (runc) rounded products, as run.c turns them. */
static void rope_apply(const ll_context *c, float *vec, size_t n_heads, const float *r) {
    const ll_model_info *in = &c->m->info;
    size_t hd = in->head_dim, half = in->rope_dim / 2;
    for (size_t h = 0; h < n_heads; h++) {
        float *v = vec + h * hd;
        if (!c->runc) {
            c->ak->rope(v, r, half, in->rope_neox);
            continue;
        }
        for (size_t i = 0; i < half; i++) {
            float cs = r[2 * i], sn = r[2 * i + 1];
            size_t a = in->rope_neox ? i : 2 * i, b = in->rope_neox ? i + half : 2 * i + 1;
            float x0 = v[a], x1 = v[b], x0c = x0 * cs, x1s = x1 * sn, x0s = x0 * sn, x1c = x1 * cs;
            v[a] = x0c - x1s;
            v[b] = x0s + x1c;
        }
    }
}

typedef struct {
    ll_context *c;
    const ll_layer *L;
    size_t layer, T;
    size_t per_chunk; /* items (row, head) per chunk of the job */
} attn_job;

/* cap * tanh(s / cap) in ggml's order (callers skip a cap of 0: off) */
static float softcap(float s, float cap) { return cap * tanhf(s * (1.0f / cap)); }

/* A query head read against a cache of o's type: the query as it is
 * (F32), rounded to F16 (an F16 cache, as ggml converts it to the keys'
 * type) or quantized to Q8_0 blocks (a Q8_0 cache: the keys' vec_dot
 * type, as ggml's KQ product converts it). */
typedef struct {
    const float *q;
    ll_qvec qx;
} attn_query;

/* out[i] = q . key i for n keys from value off of o's cache k, stride values apart */
static void scores_at(const ll_context *c, const ll_context *o, const attn_query *aq, const void *k, size_t off,
                      size_t stride, size_t n, size_t hd, float *out) {
    switch (o->kv_type) {
    case LL_KV_F16: c->ak->scores_f16(aq->q, (const uint16_t *)k + off, stride, n, hd, out); break;
    case LL_KV_Q8_0:
        c->mk->matvec_q(LL_T_Q8_0, (const uint8_t *)k + kv_bytes(o, off), kv_bytes(o, stride), hd, &aq->qx, out, 0, n);
        break;
    default: c->ak->scores_f32(aq->q, (const float *)k + off, stride, n, hd, out); break;
    }
}

/* the weighted sum's accumulators += w[i] * value i for n values from
 * value off of o's cache v, at absolute positions p0 .. p0 + n - 1 */
static void wsum_at(const ll_context *c, const ll_context *o, float *acc, size_t n_acc, const float *w, const void *v,
                    size_t off, size_t stride, size_t n, size_t hd, size_t p0, bool first) {
    switch (o->kv_type) {
    case LL_KV_F16: c->ak->wsum_f16(acc, n_acc, w, (const uint16_t *)v + off, stride, n, hd, p0, first); break;
    case LL_KV_Q8_0:
        c->ak->wsum_q8_0(acc, n_acc, w, (const uint8_t *)v + kv_bytes(o, off), kv_bytes(o, stride), n, hd, p0, first);
        break;
    default: c->ak->wsum_f32(acc, n_acc, w, (const float *)v + off, stride, n, hd, p0, first); break;
    }
}

/* run.c's attention of one head over keys [0, pos] of an F32 cache (a
 * llama2.c checkpoint has no window, soft-cap or branches of another
 * type): each score a float sum in order divided by sqrt(head size), the
 * softmax with float sums and a division, the values added in order */
static void attention_runc(const ll_context *o, size_t layer, size_t kvh, const float *q, size_t pos, float *att,
                           float *out) {
    size_t hd = o->m->info.head_dim;
    const float *kc = o->k_cache, *vc = o->v_cache;
    float sq = sqrtf((float)hd), mx = -INFINITY, sum = 0.0f;
    for (size_t p = 0; p <= pos; p++) {
        float s = 0.0f;
        const float *k = kc + kv_index(o, layer, kvh, p);
        for (size_t d = 0; d < hd; d++) {
            float m = q[d] * k[d];
            s = s + m;
        }
        att[p] = s / sq;
        mx = att[p] > mx ? att[p] : mx;
    }
    for (size_t p = 0; p <= pos; p++) sum += att[p] = ll_expf(att[p] - mx);
    for (size_t p = 0; p <= pos; p++) att[p] /= sum;
    memset(out, 0, hd * sizeof *out);
    for (size_t p = 0; p <= pos; p++) {
        const float *v = vc + kv_index(o, layer, kvh, p);
        for (size_t d = 0; d < hd; d++) {
            float m = att[p] * v[d];
            out[d] = out[d] + m;
        }
    }
}

/* the oldest key row r sees in a layer of this window (0: none) */
static size_t first_key(const fw_row *r, size_t window) { return window && r->pos >= window ? r->pos + 1 - window : 0; }

/* Bytes of an item's first keys and of its first values asked for while
 * the item before it runs: the kernels ask a few positions ahead within
 * a run, which leaves a run's first lines to wait for memory (8-row
 * steps, 110M Q4_0, F16 cache: attention 2.87-2.97 -> 2.65-2.86 ms) */
#define LL_ATTN_NEXT_BYTES 512

static void prefetch_item(const attn_job *j, size_t it) {
    const ll_model_info *in = &j->c->m->info;
    const fw_row *r = &j->c->rows[it / in->n_heads];
    const ll_context *o = r->owner;
    size_t kvh = it % in->n_heads / (in->n_heads / in->n_kv_heads);
    size_t at = kv_bytes(o, kv_index(o, j->layer, kvh, first_key(r, j->L->window)));
    const char *k = (const char *)o->k_cache + at, *v = (const char *)o->v_cache + at;
    for (size_t b = 0; b < LL_ATTN_NEXT_BYTES; b += 64) {
        __builtin_prefetch(k + b, 0, 3);
        __builtin_prefetch(v + b, 0, 3);
    }
}

/* Items [it0, it1) of a layer's attention, an item a (row, head) pair: a
 * row attends to its owner's cached prefix, then (a branch row) to the
 * nodes of its path. The arithmetic is ggml's (attention.h): scores,
 * softmax and the weighted sum in llama.cpp's order, the weighted sum as
 * its vector path for a row that is its context's only token in the step
 * and as its matrix path (tinyBLAS) for a context's several appended
 * tokens, as llama.cpp computes one token and a batch. Each item's
 * arithmetic is the same whichever thread (slot: its scratch) runs it, so
 * the thread count changes no bit. Against an F16 cache the query is
 * rounded to F16 first, as ggml converts it to the keys' type before the
 * dot products. */
static void attention_items(const attn_job *j, size_t it0, size_t it1, int slot) {
    ll_context *c = j->c;
    const ll_attn_kernels *ak = c->ak;
    const ll_model_info *in = &c->m->info;
    size_t H = in->n_heads, hd = in->head_dim, kv = in->n_kv_heads * hd, group = H / in->n_kv_heads;
    size_t L = in->n_layers;
    float *att = c->att + (size_t)slot * c->att_cap, *qr = c->attq + (size_t)slot * hd;
    attn_query aq = {NULL, attq_vec(c->attqx + (size_t)slot * attq_vec_bytes(hd), hd)};
    float *acc = c->attacc + (size_t)slot * LL_ATTN_LANES * LL_ATTN_MAX_ACC * hd;
    float scale = c->m->q_scale, cap = c->m->attn_softcap;
    size_t window = j->L->window, qd = c->m->q_dim;
    for (size_t it = it0; it < it1; it++) {
        size_t t = it / H, h = it % H, kvh = h / group;
        const fw_row *r = &c->rows[t];
        const ll_context *o = r->owner;
        ll_kv_type kt = o->kv_type;
        size_t n_acc = r->node < 0 && o->step_append >= 2 ? 1 : LL_ATTN_MAX_ACC;
        size_t pos = r->pos, prefix = r->node < 0 ? pos + 1 : o->n_past;
        size_t first = first_key(r, window);
        size_t end = prefix < pos + 1 ? prefix : pos + 1; /* keys [first, end) from the cache */
        size_t n_keys = pos + 1 - first;
#define NODE(p) (((size_t)r->path[(p)-prefix] * L + j->layer) * kv + kvh * hd)
        const float *q = c->q + t * qd + h * hd;
        if (it + 1 < it1) prefetch_item(j, it + 1);
        if (c->runc && kt == LL_KV_F32 && r->node < 0 && !window && !cap) {
            attention_runc(o, j->layer, kvh, q, pos, att, c->xb + t * qd + h * hd);
            continue;
        }
        aq.q = q;
        if (kt == LL_KV_F16) {
            ak->round_f16(qr, q, hd);
            aq.q = qr;
        } else if (kt == LL_KV_Q8_0) {
            c->mk->quantize_x(q, hd, &aq.qx);
        }
        for (size_t p = first, n; p < end; p += n) { /* the cache's keys, block by block */
            n = kv_run(p, end);
            scores_at(c, o, &aq, o->k_cache, kv_index(o, j->layer, kvh, p), hd, n, hd, att + p);
        }
        for (size_t p = first > end ? first : end; p <= pos; p++)
            scores_at(c, o, &aq, o->node_k, NODE(p), kv, 1, hd, att + p);
        for (size_t p = first; p <= pos; p++) att[p] = cap ? softcap(att[p] * scale, cap) : att[p] * scale;
        float mx = c->k->max(att + first, n_keys);
        double sum = ak->softmax_exp(att + first, n_keys, first, mx);
        float inv = (float)(1.0 / sum);
        for (size_t p = first; p <= pos; p++) att[p] *= inv;
        bool fresh = true;
        for (size_t p = first, n; p < end; p += n, fresh = false) {
            n = kv_run(p, end);
            wsum_at(c, o, acc, n_acc, att + p, o->v_cache, kv_index(o, j->layer, kvh, p), hd, n, hd, p, fresh);
        }
        for (size_t p = first > end ? first : end; p <= pos; p++, fresh = false)
            wsum_at(c, o, acc, n_acc, att + p, o->node_v, NODE(p), kv, 1, hd, p, fresh);
        ak->wsum_reduce(c->xb + t * qd + h * hd, acc, n_acc, hd);
#undef NODE
    }
}

static void attention_chunk(void *ctx, size_t chunk, int slot) {
    const attn_job *j = ctx;
    size_t items = j->T * j->c->m->info.n_heads, it0 = chunk * j->per_chunk;
    attention_items(j, it0, items - it0 < j->per_chunk ? items : it0 + j->per_chunk, slot);
}

/* Key values an attention chunk should read, about: enough that claiming
 * it costs little, few enough that the threads share a step's items
 * evenly (a prompt's later rows attend to more keys). */
#define LL_ATTN_CHUNK_VALUES (32u << 10)

/* A layer's attention as a sized job: chunks of consecutive items of about
 * LL_ATTN_CHUNK_VALUES key values each, on as many threads as the keys and
 * values it reads repay (a prompt's attention was a job of unknown size,
 * which woke no sleeping thread: it ran on one). */
static void attention_run(ll_context *c, attn_job *j) {
    const ll_model_info *in = &c->m->info;
    size_t items = j->T * in->n_heads, keys = 0;
    for (size_t t = 0; t < j->T; t++) keys += c->rows[t].pos + 1 - first_key(&c->rows[t], j->L->window);
    size_t values = keys * in->n_heads * in->head_dim, per_item = values / items;
    j->per_chunk = per_item >= LL_ATTN_CHUNK_VALUES ? 1 : LL_ATTN_CHUNK_VALUES / (per_item ? per_item : 1);
    size_t bytes = kv_bytes(c, 2 * values); /* keys and values read (in c's type: about) */
    ll_pool_for(c->pool, (items + j->per_chunk - 1) / j->per_chunk, ll_pool_threads_for(c->pool, bytes),
                attention_chunk, j);
}

/* where head h of row t's key or value of layer l goes (bytes, the
 * owner's type): its owner's cache at its position, or its branch node
 * ([node][layer][kv_dim]: a node is read one position at a time) */
static uint8_t *kv_slot(const ll_context *c, size_t t, size_t l, size_t h, bool value) {
    const fw_row *r = &c->rows[t];
    const ll_context *o = r->owner;
    size_t hd = c->m->info.head_dim;
    if (r->node >= 0)
        return (uint8_t *)(value ? o->node_v : o->node_k) +
               kv_bytes(o, ((size_t)r->node * c->m->info.n_layers + l) * c->m->kv_dim + h * hd);
    return (uint8_t *)(value ? o->v_cache : o->k_cache) + kv_bytes(o, kv_index(o, l, h, r->pos));
}

/* n values (a multiple of 32) as ggml's Q8_0 blocks: a half scale, then
 * 32 int8, quantized as ggml's quantize_row_q8_0 (the rounding of
 * llama.cpp's Q8_0 activations, quantize_x) */
static void store_q8_0(const ll_matmul_kernels *mk, uint8_t *dst, const float *x, size_t n) {
    for (size_t b = 0; b < n / 32; b++, dst += 34) {
        int8_t q[32];
        float d;
        int16_t sum[2];
        ll_qvec qv = {q, &d, sum, LL_QX_32, NULL, NULL};
        mk->quantize_x(x + 32 * b, 32, &qv);
        uint16_t h = ll_fp32_to_fp16(d); /* exact: d is rounded through half */
        dst[0] = (uint8_t)(h & 0xFF);
        dst[1] = (uint8_t)(h >> 8);
        memcpy(dst + 2, q, 32);
    }
}

/* row t's new key or value (every KV head) into its slots, in its owner's type */
static void kv_store(const ll_context *c, size_t t, size_t l, bool value, const float *x) {
    size_t hd = c->m->info.head_dim;
    for (size_t h = 0; h < c->m->info.n_kv_heads; h++) {
        uint8_t *dst = kv_slot(c, t, l, h, value);
        switch (c->rows[t].owner->kv_type) {
        case LL_KV_F16: c->ak->to_f16((uint16_t *)(void *)dst, x + h * hd, hd); break;
        case LL_KV_Q8_0: store_q8_0(c->mk, dst, x + h * hd, hd); break;
        default: memcpy(dst, x + h * hd, hd * sizeof *x); break;
        }
    }
}

/* The logits of the rows that want them: a group whose every row wants
 * them into the caller's consecutive rows as one product (a prompt's
 * logits_all), the others a few rows at a time through c->out. */
/* whether rows which[0..n) are consecutive and want their logits in
 * consecutive places (a prompt's logits_all) */
static bool consecutive(const ll_context *c, const int32_t *which, size_t n, size_t V) {
    for (size_t i = 1; i < n; i++)
        if (which[i] != which[0] + (int32_t)i || c->rows[which[i]].logits != c->rows[which[0]].logits + i * V)
            return false;
    return true;
}

/* The final soft-cap (Gemma 2), where the model has one. */
static void softcap_logits(const ll_model *m, float *logits, size_t n) {
    if (m->final_softcap == 0) return;
    for (size_t i = 0; i < n; i++) logits[i] = softcap(logits[i], m->final_softcap);
}

/* The logits of rows which[0..n) of one group: one row, or a long run
 * that wants them all in the caller's consecutive rows (a prompt's
 * logits_all), straight into place; others a few rows at a time through
 * c->out. */
/* xb's first n rows = the final norm of rows which[0..n) */
static void output_norm_rows(ll_context *c, const int32_t *which, size_t n) {
    size_t dim = c->m->info.dim;
    for (size_t i = 0; i < n; i++) memcpy(c->xb + i * dim, c->x + (size_t)which[i] * dim, dim * sizeof(float));
    rmsnorm_rows(c, c->xb, c->xb, c->m->output_norm, n, dim);
}

static ll_status output_rows(ll_context *c, const int32_t *which, size_t n, ll_error *err) {
    const ll_model *m = c->m;
    size_t dim = m->info.dim, V = m->info.n_vocab;
    if (n == 1 || (n > LL_ONE_TOKEN_ROWS && !c->one_token_products && consecutive(c, which, n, V))) {
        output_norm_rows(c, which, n);
        matmul(c, &m->output, c->xb, n, c->rows[which[0]].logits);
        softcap_logits(m, c->rows[which[0]].logits, n * V);
        return LL_OK;
    }
    if (!c->out && !(c->out = ll_malloc(LL_ONE_TOKEN_ROWS * V * sizeof(float), err))) return LL_ERR_OUT_OF_MEMORY;
    for (size_t i0 = 0; i0 < n; i0 += LL_ONE_TOKEN_ROWS) {
        size_t k = n - i0 < LL_ONE_TOKEN_ROWS ? n - i0 : LL_ONE_TOKEN_ROWS;
        output_norm_rows(c, which + i0, k);
        size_t each = ll_matmul_row_group(c->pool, c->mk, &m->output.m);
        for (size_t i = 0; i < k; i += each)
            matmul(c, &m->output, c->xb + i * dim, k - i < each ? k - i : each, c->out + i * V);
        softcap_logits(m, c->out, k * V);
        for (size_t i = 0; i < k; i++) memcpy(c->rows[which[i0 + i]].logits, c->out + i * V, V * sizeof(float));
    }
    return LL_OK;
}

/* The classifier for every group's rows that want logits. */
static ll_status logits_rows(ll_context *c, ll_error *err) {
    int32_t which[LL_MAX_BATCH];
    for (size_t g = 0; g < c->n_groups; g++) {
        const fw_group *G = &c->groups[g];
        size_t n = 0;
        for (size_t t = G->start; t < G->start + G->n; t++)
            if (c->rows[t].logits) which[n++] = (int32_t)t;
        if (n == 0) continue;
        if (n > LL_ONE_TOKEN_ROWS) {
            /* the classifier over a long run costs as much as several layers */
            ll_status st = check_abort(c, c->m->info.n_layers, err);
            if (st != LL_OK) return st;
        }
        ll_status st = output_rows(c, which, n, err);
        if (st != LL_OK) return st;
    }
    return LL_OK;
}

/* x = the token's embedding row, times embed_scale where the
 * architecture scales it (Gemma: sqrt(dim)) */
static void embed_rows(ll_context *c, const int32_t *tokens, size_t T) {
    const ll_model *m = c->m;
    size_t dim = m->info.dim;
    for (size_t t = 0; t < T; t++) {
        float *x = c->x + t * dim;
        ll_weight_row(&m->tok_embd, (size_t)tokens[t], x);
        if (m->embed_scale != 1.0f)
            for (size_t i = 0; i < dim; i++) x[i] *= m->embed_scale;
    }
}

/* v += bias (none: NULL) */
static void add_bias(float *v, const float *bias, size_t n) {
    if (bias)
        for (size_t i = 0; i < n; i++) v[i] += bias[i];
}

/* each head of v RMS-normalized with weight w (none: NULL) */
static void head_norms(const ll_context *c, float *v, const float *w, size_t n_heads) {
    if (w) rmsnorm_rows(c, v, v, w, n_heads, c->m->info.head_dim);
}

/* ggml's GELU on the CPU: the input rounded to FP16 picks the table's
 * value; 0 at or below -10, the input itself at or above 10 */
static float gelu_f16(const float *table, float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return table[ll_fp32_to_fp16(x)];
}

/* ---- the stages between the products, over rows [t0, t1) ----
 * Each reads and writes its own rows only, so the rows of a step can go
 * to any thread (run_rows) without changing a bit. */
typedef void (*row_fn)(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1);

/* A stage and its weight for the pool: a stage works harder on each byte
 * than a product does (the gate takes an exponential per value, RoPE a
 * rotation per pair), so it weighs as a product reading `weight` times
 * its bytes. So a server's 8 decode rows share the threads, while one row
 * stays on the caller. The norms weigh less: a norm's sum is one long
 * chain of additions per row, but the rows' chains run side by side
 * (rmsnorm_rows), 8 rows in the time of one. */
typedef struct {
    row_fn fn;
    unsigned weight;
} row_stage;

/* xb = rmsnorm(x) * w, the block's input norm */
static void norm_rows(ll_context *c, const float *w, size_t t0, size_t t1) {
    size_t dim = c->m->info.dim;
    rmsnorm_rows(c, c->xb + t0 * dim, c->x + t0 * dim, w, t1 - t0, dim);
}
static void attn_norm_fn(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1) {
    (void)l;
    norm_rows(c, L->attn_norm, t0, t1);
}
static void ffn_norm_fn(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1) {
    (void)l;
    norm_rows(c, L->ffn_norm, t0, t1);
}

/* row t's query, key and value: biases, per-head norms, RoPE; the key
 * and value into the cache */
static void qkv_row(ll_context *c, const ll_layer *L, size_t l, size_t t) {
    const ll_model *m = c->m;
    const ll_model_info *in = &m->info;
    size_t qd = m->q_dim, kv = m->kv_dim;
    float *q = c->q + t * qd, *k = c->kk + t * kv, *v = c->vv + t * kv;
    add_bias(q, L->bq, qd);
    add_bias(k, L->bk, kv);
    add_bias(v, L->bv, kv);
    head_norms(c, q, L->q_norm, in->n_heads);
    head_norms(c, k, L->k_norm, in->n_kv_heads);
    const float *r = c->rope + (L->rope * LL_MAX_BATCH + t) * in->rope_dim;
    rope_apply(c, q, in->n_heads, r);
    rope_apply(c, k, in->n_kv_heads, r);
    kv_store(c, t, l, false, k);
    kv_store(c, t, l, true, v);
}
static void qkv_fn(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) qkv_row(c, L, l, t);
}

/* x += rmsnorm(xb2) * post_norm, or x += xb2 where there is no post-norm */
static void residual_rows(ll_context *c, const float *post_norm, size_t t0, size_t t1) {
    size_t dim = c->m->info.dim;
    float *x = c->x + t0 * dim, *y = c->xb2 + t0 * dim;
    if (post_norm) rmsnorm_rows(c, y, y, post_norm, t1 - t0, dim);
    for (size_t i = 0; i < (t1 - t0) * dim; i++) x[i] += y[i];
}
static void attn_residual_fn(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1) {
    (void)l;
    residual_rows(c, L->post_attn_norm, t0, t1);
}
static void ffn_residual_fn(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1) {
    (void)l;
    residual_rows(c, L->post_ffn_norm, t0, t1);
}

/* hb[t] = act(hb[t]) * hb2[t]; SiLU as ggml's swiglu row by row (its exp
 * in blocks of 16 from each row's start) */
static void gate_row(ll_context *c, size_t t) {
    const ll_model *m = c->m;
    size_t n = m->info.ffn_dim;
    float *g = c->hb + t * n;
    const float *u = c->hb2 + t * n;
    switch (m->act) {
    case LL_ACT_SILU:
        if (c->runc) /* run.c: val *= 1 / (1 + exp(-val)), then times the up projection */
            for (size_t i = 0; i < n; i++) g[i] = g[i] * (1.0f / (1.0f + ll_expf(-g[i]))) * u[i];
        else
            c->ak->swiglu(g, u, n);
        break;
    case LL_ACT_GELU_F16:
        for (size_t i = 0; i < n; i++) g[i] = gelu_f16(m->gelu_table, g[i]) * u[i];
        break;
    }
}
static void gate_fn(ll_context *c, const ll_layer *L, size_t l, size_t t0, size_t t1) {
    (void)L;
    (void)l;
    for (size_t t = t0; t < t1; t++) gate_row(c, t);
}

static const row_stage attn_norm_stage = {attn_norm_fn, 1}, ffn_norm_stage = {ffn_norm_fn, 1}, qkv_stage = {qkv_fn, 4},
                       gate_stage = {gate_fn, 4}, attn_residual_stage = {attn_residual_fn, 1},
                       ffn_residual_stage = {ffn_residual_fn, 1};

typedef struct {
    ll_context *c;
    const ll_layer *L;
    size_t l, T;
    row_fn fn;
} rows_job;

enum { LL_ROWS_PER_CHUNK = 4 };

static void rows_chunk(void *ctx, size_t chunk, int slot) {
    const rows_job *j = ctx;
    size_t t0 = chunk * LL_ROWS_PER_CHUNK, t1 = t0 + LL_ROWS_PER_CHUNK < j->T ? t0 + LL_ROWS_PER_CHUNK : j->T;
    (void)slot;
    j->fn(j->c, j->L, j->l, t0, t1);
}

/* a stage over the step's T rows, on the threads that `bytes` per row
 * (times the stage's weight) repay: a prompt's rows all of them, a
 * decode step's one row the caller */
static void run_rows(ll_context *c, const row_stage *st, const ll_layer *L, size_t l, size_t T, size_t bytes) {
    rows_job j = {c, L, l, T, st->fn};
    ll_pool_for(c->pool, (T + LL_ROWS_PER_CHUNK - 1) / LL_ROWS_PER_CHUNK,
                ll_pool_threads_for(c->pool, st->weight * T * bytes), rows_chunk, &j);
}

/* x += attention(rmsnorm(x) * w_attn_norm) Wo for layer l */
static void attention_block(ll_context *c, const ll_layer *L, size_t l, size_t T) {
    const ll_model *m = c->m;
    size_t row = m->info.dim * sizeof(float);
    run_rows(c, &attn_norm_stage, L, l, T, 2 * row);
    const ll_weight *qkv[] = {&L->wq, &L->wk, &L->wv};
    float *const qkv_out[] = {c->q, c->kk, c->vv};
    matmul_rows_shared(c, qkv, 3, c->xb, qkv_out);
    run_rows(c, &qkv_stage, L, l, T, (m->q_dim + 4 * m->kv_dim) * sizeof(float));
    attn_job aj = {c, L, l, T, 0};
    attention_run(c, &aj);
    matmul_rows(c, &L->wo, c->xb, c->xb2);
    run_rows(c, &attn_residual_stage, L, l, T, 2 * row);
}

/* x += (act(xb Wgate) * (xb Wup)) Wdown with xb = rmsnorm(x) * w_ffn_norm */
static void ffn_block(ll_context *c, const ll_layer *L, size_t l, size_t T) {
    const ll_model *m = c->m;
    size_t row = m->info.dim * sizeof(float);
    run_rows(c, &ffn_norm_stage, L, l, T, 2 * row);
    const ll_weight *gate_up[] = {&L->w_gate, &L->w_up};
    float *const gate_up_out[] = {c->hb, c->hb2};
    matmul_rows_shared(c, gate_up, 2, c->xb, gate_up_out);
    run_rows(c, &gate_stage, L, l, T, 2 * m->info.ffn_dim * sizeof(float));
    matmul_rows(c, &L->w_down, c->hb, c->xb2);
    run_rows(c, &ffn_residual_stage, L, l, T, 2 * row);
}

/* The forward pass over the T rows planned in c->rows. */
static ll_status decode_rows(ll_context *c, const int32_t *tokens, size_t T, ll_error *err) {
    const ll_model *m = c->m;
    embed_rows(c, tokens, T);
    rope_tables(c, T);
    for (size_t l = 0; l < m->info.n_layers; l++) {
        /* a layer of a full batch is the longest stretch without a check:
         * on a 110M model at a few thousand positions, well under 0.1 s */
        ll_status st = check_abort(c, l, err);
        if (st != LL_OK) return st;
        attention_block(c, &m->layers[l], l, T);
        ffn_block(c, &m->layers[l], l, T);
    }
    return logits_rows(c, err);
}

/* ---- a step: rows of one or more contexts ---- */

static bool grow_nodes(ll_context *c, size_t need, ll_error *err) {
    if (need <= c->cap_nodes) return true;
    const ll_model_info *in = &c->m->info;
    size_t cap = c->cap_nodes ? c->cap_nodes : 64;
    while (cap < need) cap *= 2;
    size_t per = in->n_layers * in->n_kv_heads * in->head_dim;
    void *k = ll_realloc_array(c->node_k, cap * (per / c->kv_block), c->kv_block_bytes, err);
    if (!k) return false;
    c->node_k = k;
    void *v = ll_realloc_array(c->node_v, cap * (per / c->kv_block), c->kv_block_bytes, err);
    if (!v) return false;
    c->node_v = v;
    int32_t *p = ll_realloc_array(c->node_parent, cap, sizeof *p, err);
    if (!p) return false;
    c->node_parent = p;
    uint32_t *d = ll_realloc_array(c->node_depth, cap, sizeof *d, err);
    if (!d) return false;
    c->node_depth = d;
    c->cap_nodes = cap;
    return true;
}

/* The first pass over the rows: every value checked, each context's
 * counts of appended and branch rows; returns the deepest branch. */
static ll_status check_rows(ll_context *w, const ll_batch_row *rows, size_t n, size_t *max_depth, ll_error *err) {
    const ll_model_info *in = &w->m->info;
    for (size_t i = 0; i < n; i++)
        if (rows[i].ctx) rows[i].ctx->step_append = rows[i].ctx->step_branch = 0;
    *max_depth = 0;
    for (size_t i = 0; i < n; i++) {
        const ll_batch_row *r = &rows[i];
        ll_context *o = r->ctx;
        if (!o) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "row %zu has no context", i);
        if (o->m != w->m)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "row %zu's context belongs to another model than the step's",
                           i);
        if (r->token < 0 || (size_t)r->token >= in->n_vocab)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "token %zu = %d is out of range: valid is [0, %zu)", i,
                           r->token, in->n_vocab);
        if (r->parent == LL_BATCH_APPEND) {
            if (o->step_append && o->step_last_row != i - 1)
                return ll_fail(
                    err, LL_ERR_INVALID_ARGUMENT,
                    "row %zu appends to a context whose earlier appended row is %zu: its rows must be adjacent", i,
                    o->step_last_row);
            o->step_append++;
            o->step_last_row = i;
            continue;
        }
        if (w->m->l2c_q8)
            return ll_fail(err, LL_ERR_UNSUPPORTED, "branching sequences are not supported for llama2.c int8 models");
        if (r->parent < -1 || (int64_t)r->parent >= (int64_t)o->n_nodes)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "parent %zu = node %d does not exist: valid is [-1, %zu)", i,
                           r->parent, o->n_nodes);
        size_t d = r->parent < 0 ? 0 : o->node_depth[r->parent] + 1;
        if (o->n_past + d + 1 > o->n_ctx)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the context is full: position %zu exceeds n_ctx = %zu",
                           o->n_past + d, o->n_ctx);
        if (d > *max_depth) *max_depth = d;
        o->step_branch++;
    }
    for (size_t i = 0; i < n; i++) {
        const ll_context *o = rows[i].ctx;
        if (o->step_append && o->step_branch)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "row %zu: one context cannot both append tokens and branch in one step", i);
        /* room, not n_past + count: a huge count would wrap the sum */
        if (o->step_append > o->n_ctx - o->n_past)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "the context is full: %zu cached + %zu new tokens exceed n_ctx = %zu (room for %zu)",
                           o->n_past, o->step_append, o->n_ctx, o->n_ctx - o->n_past);
    }
    return LL_OK;
}

/* Room for the step: branch nodes of each context, paths, attention. */
static ll_status reserve_rows(ll_context *w, const ll_batch_row *rows, size_t n, size_t max_depth, ll_error *err) {
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        ll_context *o = rows[i].ctx;
        if (o->step_branch && !grow_nodes(o, o->n_nodes + o->step_branch, err)) return LL_ERR_OUT_OF_MEMORY;
        if (o->n_ctx > longest) longest = o->n_ctx;
    }
    int32_t *paths = ll_realloc_array(w->paths, n * (max_depth + 1), sizeof *paths, err);
    if (!paths) return LL_ERR_OUT_OF_MEMORY;
    w->paths = paths;
    if (longest > w->att_cap) {
        float *att = ll_realloc_array(w->att, (size_t)ll_pool_size(w->pool) * longest, sizeof(float), err);
        if (!att) return LL_ERR_OUT_OF_MEMORY;
        w->att = att;
        w->att_cap = longest;
    }
    return LL_OK;
}

/* The second pass: each row's position, node and path (w->rows), and
 * the groups of rows that share a matrix product: a context's run of
 * more than LL_ONE_TOKEN_ROWS appended rows alone, the other rows in
 * runs of at most LL_ONE_TOKEN_ROWS. */
static void plan_rows(ll_context *w, ll_batch_row *rows, size_t n, size_t max_depth) {
    for (size_t i = 0; i < n; i++) rows[i].ctx->step_append = rows[i].ctx->step_branch = 0;
    for (size_t i = 0; i < n; i++) {
        ll_batch_row *r = &rows[i];
        ll_context *o = r->ctx;
        fw_row *f = &w->rows[i];
        f->owner = o;
        f->logits = r->logits;
        f->path = NULL;
        f->node = -1;
        if (r->parent == LL_BATCH_APPEND) {
            f->pos = o->n_past + o->step_append++;
            continue;
        }
        int32_t id = (int32_t)(o->n_nodes + o->step_branch++);
        uint32_t d = r->parent < 0 ? 0 : o->node_depth[r->parent] + 1;
        o->node_parent[id] = r->parent;
        o->node_depth[id] = d;
        r->node = f->node = id;
        f->pos = o->n_past + d;
        int32_t *path = w->paths + i * (max_depth + 1);
        path[d] = id;
        for (int32_t a = r->parent, k = (int32_t)d - 1; a >= 0; a = o->node_parent[a], k--) path[k] = a;
        f->path = path;
    }
    w->n_groups = 0;
    for (size_t i = 0; i < n;) {
        const ll_context *o = rows[i].ctx;
        size_t len = 1;
        bool run = rows[i].parent == LL_BATCH_APPEND && o->step_append > LL_ONE_TOKEN_ROWS;
        if (run) {
            len = o->step_append;
        } else {
            while (i + len < n && len < LL_ONE_TOKEN_ROWS &&
                   !(rows[i + len].parent == LL_BATCH_APPEND && rows[i + len].ctx->step_append > LL_ONE_TOKEN_ROWS))
                len++;
        }
        w->groups[w->n_groups++] = (fw_group){i, len, run};
        i += len;
    }
}

ll_status ll_decode_batch(ll_context *w, ll_batch_row *rows, size_t n, ll_error *err) {
    if (!w || !rows) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the work context and the rows must not be NULL");
    if (n == 0 || n > LL_MAX_BATCH)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%zu rows in one step: valid is [1, %d]", n, LL_MAX_BATCH);
    size_t max_depth = 0;
    int32_t tokens[LL_MAX_BATCH];
    ll_status st = check_rows(w, rows, n, &max_depth, err);
    if (st == LL_OK) st = reserve_rows(w, rows, n, max_depth, err);
    if (st != LL_OK) return st;
    plan_rows(w, rows, n, max_depth);
    for (size_t i = 0; i < n; i++) tokens[i] = rows[i].token;
    st = decode_rows(w, tokens, n, err);
    if (st != LL_OK) return st; /* nothing counted yet: every context is as before */
    for (size_t i = 0; i < n; i++) {
        ll_context *o = rows[i].ctx;
        if (o->step_append) {
            o->n_past += o->step_append;
            o->n_nodes = 0; /* a longer prefix invalidates the branches */
        }
        o->n_nodes += o->step_branch;
        o->step_append = o->step_branch = 0;
    }
    return LL_OK;
}

size_t ll_batch_prompt_piece(size_t left) {
    if (left <= LL_MAX_BATCH) return left;
    /* the rest after a full piece must be a run too (> LL_ONE_TOKEN_ROWS) */
    return left - LL_MAX_BATCH <= LL_ONE_TOKEN_ROWS ? left - (LL_ONE_TOKEN_ROWS + 1) : LL_MAX_BATCH;
}

ll_status ll_context_decode(ll_context *c, const int32_t *tokens, size_t n, float *logits_last, float *logits_all,
                            ll_error *err) {
    const ll_model_info *in = &c->m->info;
    if (n == 0) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "no tokens to decode");
    if (!tokens) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "tokens is NULL but n = %zu", n);
    /* room, not n_past + n: a huge n would wrap the sum */
    if (n > c->n_ctx - c->n_past)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "the context is full: %zu cached + %zu new tokens exceed n_ctx = %zu (room for %zu)", c->n_past,
                       n, c->n_ctx, c->n_ctx - c->n_past);
    /* every id before any work (an id indexes the embedding rows) */
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= in->n_vocab)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "token %zu = %d is out of range: valid is [0, %zu)", i,
                           tokens[i], in->n_vocab);
    size_t n_past0 = c->n_past, n_nodes0 = c->n_nodes, V = in->n_vocab;
    ll_batch_row rows[LL_MAX_BATCH];
    for (size_t done = 0, T; done < n; done += T) {
        T = ll_batch_prompt_piece(n - done);
        bool last = done + T == n;
        for (size_t t = 0; t < T; t++)
            rows[t] = (ll_batch_row){c, tokens[done + t], LL_BATCH_APPEND, -1,
                                     logits_all ? logits_all + (done + t) * V : NULL};
        if (last && !logits_all) rows[T - 1].logits = logits_last;
        ll_status st = ll_decode_batch(c, rows, T, err);
        if (st != LL_OK) {
            /* all or nothing: the earlier batches' cache entries are
             * forgotten, so a caller can retry or go on from n_past0; the
             * branches, all after n_past0, stay valid */
            c->n_past = n_past0;
            c->n_nodes = n_nodes0;
            return st;
        }
    }
    if (logits_all && logits_last) memcpy(logits_last, logits_all + (n - 1) * V, V * sizeof(float));
    return LL_OK;
}

ll_status ll_context_decode_tree(ll_context *c, const int32_t *parents, const int32_t *tokens, size_t n, float *logits,
                                 int32_t *nodes, ll_error *err) {
    if (n == 0 || n > LL_MAX_BATCH)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%zu sequences per step: valid is [1, %d]", n, LL_MAX_BATCH);
    if (!parents || !tokens || !nodes)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "parents, tokens and nodes must not be NULL");
    ll_batch_row rows[LL_MAX_BATCH];
    size_t V = c->m->info.n_vocab;
    for (size_t i = 0; i < n; i++) {
        /* a parent below -1 is no node: say so rather than read it as "append" */
        if (parents[i] < -1)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "parent %zu = node %d does not exist: valid is [-1, %zu)", i,
                           parents[i], c->n_nodes);
        rows[i] = (ll_batch_row){c, tokens[i], parents[i], -1, logits ? logits + i * V : NULL};
    }
    ll_status st = ll_decode_batch(c, rows, n, err);
    if (st != LL_OK) return st;
    for (size_t i = 0; i < n; i++) nodes[i] = rows[i].node;
    return LL_OK;
}
