/*
 * forward.c - the Llama forward pass and its key/value cache.
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
 *
 * A prompt runs in batches of up to LL_MAX_BATCH tokens (matrix-matrix
 * products); generation runs one token at a time (matrix-vector). Between
 * layers the caller's abort callback is polled, so a long prompt stops
 * within one layer's work of an interrupt; a stopped call leaves the
 * context as it was before it. The arithmetic follows ggml's where the
 * choice is free (RMS sum of squares in double, RoPE angles by repeated
 * multiplication in float), so results track llama.cpp's closely.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "../kernels/matmul.h"
#include "model_impl.h"

#define LL_MAX_BATCH 256

struct ll_context {
    const ll_model *m;
    size_t n_ctx, n_past;
    ll_pool *pool;
    const ll_matmul_kernels *mk;
    const ll_kernels *k;
    float *k_cache, *v_cache; /* [layer][pos][kv_dim] */
    /* activations for up to LL_MAX_BATCH tokens */
    float *x, *xb, *xb2, *q, *kk, *vv, *hb, *hb2, *rope; /* rope: [T][rope_dim/2][cos, sin] */
    float *att;      /* per thread: n_ctx scores */
    float *scratch;  /* per thread matmul scratch */
    float *qbuf;     /* int8 activations for llama2.c models: values and scales */
    int8_t *xq;
    size_t scratch_stride;
    /* sequence tree for beams and parallel samples: node i holds the key
     * and value of one token for every layer, after the shared prefix */
    float *node_k, *node_v; /* [node][layer][kv_dim] */
    int32_t *node_parent;
    uint32_t *node_depth;   /* 0 = directly after the prefix */
    size_t n_nodes, cap_nodes;
    int32_t *paths;         /* per batch row: its ancestors, oldest first */
    size_t *pos;            /* per batch row: absolute position */
    ll_abort_fn abort_fn;   /* polled between layers (NULL: never stop) */
    void *abort_user;
};

static void *zalloc(size_t n, size_t size, ll_error *err) { return ll_calloc(n ? n : 1, size, err); }

ll_context *ll_context_new(const ll_model *m, size_t n_ctx, int n_threads, ll_error *err) {
    const ll_model_info *in = &m->info;
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
    size_t dim = in->dim, kv = in->n_kv_heads * in->head_dim, ffn = in->ffn_dim, B = LL_MAX_BATCH;
    size_t L = in->n_layers;
    if (ll_mul_overflows(L * n_ctx, kv) || ll_mul_overflows(L * n_ctx * kv, 4)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "a KV cache of %zu positions is too large", n_ctx);
        ll_context_free(c);
        return NULL;
    }
    c->k_cache = zalloc(L * n_ctx * kv, sizeof(float), err);
    c->v_cache = zalloc(L * n_ctx * kv, sizeof(float), err);
    c->x = zalloc(B * dim, sizeof(float), err);
    c->xb = zalloc(B * dim, sizeof(float), err);
    c->xb2 = zalloc(B * dim, sizeof(float), err);
    c->q = zalloc(B * dim, sizeof(float), err);
    c->kk = zalloc(B * kv, sizeof(float), err);
    c->vv = zalloc(B * kv, sizeof(float), err);
    c->hb = zalloc(B * ffn, sizeof(float), err);
    c->hb2 = zalloc(B * ffn, sizeof(float), err);
    c->rope = zalloc(B * in->rope_dim, sizeof(float), err);
    c->att = zalloc((size_t)n_threads * n_ctx, sizeof(float), err);
    c->scratch_stride = ll_matmul_scratch_floats();
    c->scratch = zalloc((size_t)n_threads * c->scratch_stride, sizeof(float), err);
    size_t qmax = ffn > dim ? ffn : dim;
    c->xq = zalloc(qmax, 1, err);
    c->qbuf = zalloc(qmax, sizeof(float), err);
    if (!c->k_cache || !c->v_cache || !c->x || !c->xb || !c->xb2 || !c->q || !c->kk || !c->vv || !c->hb ||
        !c->hb2 || !c->rope || !c->att || !c->scratch || !c->xq || !c->qbuf) {
        ll_context_free(c);
        return NULL;
    }
    return c;
}

void ll_context_free(ll_context *c) {
    if (!c) return;
    ll_pool_free(c->pool);
    free(c->k_cache);
    free(c->v_cache);
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
    free(c->scratch);
    free(c->xq);
    free(c->qbuf);
    free(c->node_k);
    free(c->node_v);
    free(c->node_parent);
    free(c->node_depth);
    free(c->paths);
    free(c->pos);
    free(c);
}

size_t ll_context_n_ctx(const ll_context *c) { return c->n_ctx; }
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

static void rmsnorm(float *out, const float *x, const float *w, size_t n, float eps) {
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    float mean = (float)(ss / (double)n);
    float scale = 1.0f / sqrtf(mean + eps);
    for (size_t i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

/* llama2.c's runq.c: symmetric int8 per group, round half away from zero.
 * Two cases runq.c leaves to chance: a group of zeros (scale 0, so 0/0)
 * quantizes to zeros; a NaN or inf activation (weights from a broken file)
 * has no int8 form, so the group's scale becomes NaN and the logits say so
 * (the sampler rejects NaN logits) instead of an undefined conversion. */
static void l2c_quantize(const float *x, size_t n, int group, int8_t *q, float *s) {
    for (size_t g = 0; g < n / (size_t)group; g++) {
        const float *xg = x + g * (size_t)group;
        int8_t *qg = q + g * (size_t)group;
        float wmax = 0.0f;
        bool finite = true;
        for (int i = 0; i < group; i++) {
            float v = fabsf(xg[i]);
            finite = finite && isfinite(v);
            if (v > wmax) wmax = v;
        }
        float scale = wmax / 127.0f;
        s[g] = finite ? scale : NAN;
        /* |x| / scale is 127 up to rounding, except when scale is subnormal */
        for (int i = 0; i < group; i++)
            qg[i] = finite && scale > 0.0f ? (int8_t)round(fminf(fmaxf(xg[i] / scale, -127.0f), 127.0f)) : 0;
    }
}

static void l2c_matvec(const ll_weight *w, const int8_t *xq, const float *xs, float *y) {
    size_t n = w->m.cols, G = (size_t)w->group;
    for (size_t i = 0; i < w->m.rows; i++) {
        float val = 0.0f;
        size_t in = i * n;
        for (size_t j = 0; j + G <= n; j += G) {
            int32_t ival = 0;
            for (size_t k = 0; k < G; k++) ival += (int32_t)xq[j + k] * (int32_t)w->q[in + j + k];
            val += ((float)ival) * w->s[(in + j) / G] * xs[j / G];
        }
        y[i] = val;
    }
}

/* Y[T][rows] = X[T][cols] W^T */
static void matmul(ll_context *c, const ll_weight *w, const float *x, size_t T, float *y) {
    if (w->m.type == LL_T_L2C_Q8) {
        for (size_t t = 0; t < T; t++) {
            l2c_quantize(x + t * w->m.cols, w->m.cols, w->group, c->xq, c->qbuf);
            l2c_matvec(w, c->xq, c->qbuf, y + t * w->m.rows);
        }
        return;
    }
    ll_matmul(c->pool, c->mk, &w->m, x, T, y, c->scratch);
}

/* cos/sin of every rotated pair for each row's position (shared by all
 * layers); pos NULL means pos0, pos0 + 1, ... */
static void rope_tables(ll_context *c, size_t pos0, const size_t *pos, size_t T) {
    const ll_model_info *in = &c->m->info;
    size_t half = in->rope_dim / 2;
    float theta_scale = (float)pow((double)in->rope_base, -2.0 / (double)in->rope_dim);
    for (size_t t = 0; t < T; t++) {
        float theta = (float)(pos ? pos[t] : pos0 + t);
        float *r = c->rope + t * in->rope_dim;
        for (size_t i = 0; i < half; i++) {
            r[2 * i] = cosf(theta);
            r[2 * i + 1] = sinf(theta);
            theta *= theta_scale;
        }
    }
}

static void rope_apply(const ll_model_info *in, float *vec, size_t n_heads, const float *r) {
    size_t hd = in->head_dim, half = in->rope_dim / 2;
    for (size_t h = 0; h < n_heads; h++) {
        float *v = vec + h * hd;
        for (size_t i = 0; i < half; i++) {
            float cs = r[2 * i], sn = r[2 * i + 1];
            size_t a = in->rope_neox ? i : 2 * i, b = in->rope_neox ? i + in->rope_dim / 2 : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs - x1 * sn;
            v[b] = x0 * sn + x1 * cs;
        }
    }
}

typedef struct {
    ll_context *c;
    size_t layer, pos0, T;
    bool tree; /* rows continue tree nodes: keys = prefix + path + own node */
    size_t max_depth;
} attn_job;

/* one (token, head) pair per work item, spread over the threads */
static void attention_part(void *ctx, int part, int n_parts) {
    attn_job *j = ctx;
    ll_context *c = j->c;
    const ll_model_info *in = &c->m->info;
    size_t H = in->n_heads, hd = in->head_dim, kv = in->n_kv_heads * hd, group = H / in->n_kv_heads;
    size_t items = j->T * H;
    size_t a = items * (size_t)part / (size_t)n_parts, b = items * (size_t)(part + 1) / (size_t)n_parts;
    float *att = c->att + (size_t)part * c->n_ctx;
    const float *kc = c->k_cache + j->layer * c->n_ctx * kv, *vc = c->v_cache + j->layer * c->n_ctx * kv;
    float scale = 1.0f / sqrtf((float)hd);
    for (size_t it = a; it < b; it++) {
        size_t t = it / H, h = it % H, kvh = h / group;
        size_t pos = j->tree ? c->pos[t] : j->pos0 + t;
        const float *q = c->q + t * in->dim + h * hd;
        const int32_t *path = j->tree ? c->paths + t * (j->max_depth + 1) : NULL;
        size_t L = c->m->info.n_layers;
#define KEY(p) (path && (p) >= j->pos0 ? c->node_k + ((size_t)path[(p) - j->pos0] * L + j->layer) * kv + kvh * hd \
                                        : kc + (p) * kv + kvh * hd)
#define VAL(p) (path && (p) >= j->pos0 ? c->node_v + ((size_t)path[(p) - j->pos0] * L + j->layer) * kv + kvh * hd \
                                        : vc + (p) * kv + kvh * hd)
        for (size_t p = 0; p <= pos; p++) {
            const float *k = KEY(p);
            float s = 0.0f;
            for (size_t d = 0; d < hd; d++) s += q[d] * k[d];
            att[p] = s * scale;
        }
        float mx = c->k->max(att, pos + 1);
        double sum = c->k->exp_sum(att, pos + 1, mx, att, NULL);
        float inv = (float)(1.0 / sum);
        float *out = c->xb + t * in->dim + h * hd;
        memset(out, 0, hd * sizeof *out);
        for (size_t p = 0; p <= pos; p++) {
            const float *v = VAL(p);
            float wgt = att[p] * inv;
            for (size_t d = 0; d < hd; d++) out[d] += wgt * v[d];
        }
#undef KEY
#undef VAL
    }
}

/* Runs T rows. Prefix mode (nodes == NULL): tokens at n_past.. appended to
 * the cache. Tree mode: row t is a new node (nodes[t]) whose ancestors are
 * in c->paths; its key/value go to the node store. */
static ll_status decode_rows(ll_context *c, const int32_t *tokens, size_t T, const int32_t *nodes, size_t max_depth,
                             float *logits_last, float *logits_all, ll_error *err) {
    const ll_model *m = c->m;
    const ll_model_info *in = &m->info;
    size_t dim = in->dim, kv = in->n_kv_heads * in->head_dim, ffn = in->ffn_dim, pos0 = c->n_past;
    for (size_t t = 0; t < T; t++) ll_weight_row(&m->tok_embd, (size_t)tokens[t], c->x + t * dim);
    rope_tables(c, pos0, nodes ? c->pos : NULL, T);
    for (size_t l = 0; l < in->n_layers; l++) {
        /* a layer of a full batch is the longest stretch without a check:
         * on a 110M model at a few thousand positions, well under 0.1 s */
        ll_status st = check_abort(c, l, err);
        if (st != LL_OK) return st;
        const ll_layer *L = &m->layers[l];
        for (size_t t = 0; t < T; t++) rmsnorm(c->xb + t * dim, c->x + t * dim, L->attn_norm, dim, in->rms_eps);
        matmul(c, &L->wq, c->xb, T, c->q);
        matmul(c, &L->wk, c->xb, T, c->kk);
        matmul(c, &L->wv, c->xb, T, c->vv);
        for (size_t t = 0; t < T; t++) {
            const float *r = c->rope + t * in->rope_dim;
            rope_apply(in, c->q + t * dim, in->n_heads, r);
            rope_apply(in, c->kk + t * kv, in->n_kv_heads, r);
            float *kd = nodes ? c->node_k + ((size_t)nodes[t] * in->n_layers + l) * kv
                              : c->k_cache + (l * c->n_ctx + pos0 + t) * kv;
            float *vd = nodes ? c->node_v + ((size_t)nodes[t] * in->n_layers + l) * kv
                              : c->v_cache + (l * c->n_ctx + pos0 + t) * kv;
            memcpy(kd, c->kk + t * kv, kv * sizeof(float));
            memcpy(vd, c->vv + t * kv, kv * sizeof(float));
        }
        attn_job aj = {c, l, pos0, T, nodes != NULL, max_depth};
        ll_pool_run(c->pool, attention_part, &aj);
        matmul(c, &L->wo, c->xb, T, c->xb2);
        for (size_t i = 0; i < T * dim; i++) c->x[i] += c->xb2[i];
        for (size_t t = 0; t < T; t++) rmsnorm(c->xb + t * dim, c->x + t * dim, L->ffn_norm, dim, in->rms_eps);
        matmul(c, &L->w_gate, c->xb, T, c->hb);
        matmul(c, &L->w_up, c->xb, T, c->hb2);
        for (size_t i = 0; i < T * ffn; i++) {
            float g = c->hb[i];
            c->hb[i] = g / (1.0f + ll_expf(-g)) * c->hb2[i];
        }
        matmul(c, &L->w_down, c->hb, T, c->xb2);
        for (size_t i = 0; i < T * dim; i++) c->x[i] += c->xb2[i];
    }
    size_t V = in->n_vocab;
    if (logits_all) {
        /* the classifier over every row costs as much as several layers */
        ll_status st = check_abort(c, in->n_layers, err);
        if (st != LL_OK) return st;
        for (size_t t = 0; t < T; t++) rmsnorm(c->xb + t * dim, c->x + t * dim, m->output_norm, dim, in->rms_eps);
        matmul(c, &m->output, c->xb, T, logits_all);
        if (logits_last) memcpy(logits_last, logits_all + (T - 1) * V, V * sizeof(float));
    } else if (logits_last) {
        rmsnorm(c->xb, c->x + (T - 1) * dim, m->output_norm, dim, in->rms_eps);
        matmul(c, &m->output, c->xb, 1, logits_last);
    }
    if (!nodes) c->n_past += T;
    return LL_OK;
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
    /* an id indexes the embedding rows: one outside would read outside the weights */
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= in->n_vocab)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "token %zu = %d is out of range: valid is [0, %zu)", i,
                           tokens[i], in->n_vocab);
    size_t n_past0 = c->n_past;
    for (size_t done = 0; done < n; done += LL_MAX_BATCH) {
        size_t T = n - done < LL_MAX_BATCH ? n - done : LL_MAX_BATCH;
        bool last = done + T == n;
        ll_status st = decode_rows(c, tokens + done, T, NULL, 0, last ? logits_last : NULL,
                                   logits_all ? logits_all + done * in->n_vocab : NULL, err);
        if (st != LL_OK) {
            /* all or nothing: the earlier batches' cache entries are
             * forgotten, so a caller can retry or go on from n_past0; the
             * branches, all after n_past0, stay valid */
            c->n_past = n_past0;
            return st;
        }
    }
    c->n_nodes = 0; /* a longer prefix invalidates the tree */
    return LL_OK;
}

static bool grow_nodes(ll_context *c, size_t need, ll_error *err) {
    if (need <= c->cap_nodes) return true;
    const ll_model_info *in = &c->m->info;
    size_t cap = c->cap_nodes ? c->cap_nodes : 64;
    while (cap < need) cap *= 2;
    size_t per = in->n_layers * in->n_kv_heads * in->head_dim;
    float *k = ll_realloc_array(c->node_k, cap * per, sizeof(float), err);
    if (!k) return false;
    c->node_k = k;
    float *v = ll_realloc_array(c->node_v, cap * per, sizeof(float), err);
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

ll_status ll_context_decode_tree(ll_context *c, const int32_t *parents, const int32_t *tokens, size_t n,
                                 float *logits, int32_t *nodes, ll_error *err) {
    const ll_model_info *in = &c->m->info;
    if (n == 0 || n > LL_MAX_BATCH)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%zu sequences per step: valid is [1, %d]", n, LL_MAX_BATCH);
    if (!parents || !tokens || !nodes)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "parents, tokens and nodes must not be NULL");
    if (c->m->l2c_q8)
        return ll_fail(err, LL_ERR_UNSUPPORTED, "branching sequences are not supported for llama2.c int8 models");
    size_t max_depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || (size_t)tokens[i] >= in->n_vocab)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "token %zu = %d is out of range: valid is [0, %zu)", i,
                           tokens[i], in->n_vocab);
        if (parents[i] < -1 || (int64_t)parents[i] >= (int64_t)c->n_nodes)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "parent %zu = node %d does not exist: valid is [-1, %zu)", i,
                           parents[i], c->n_nodes);
        size_t d = parents[i] < 0 ? 0 : c->node_depth[parents[i]] + 1;
        if (d > max_depth) max_depth = d;
    }
    if (c->n_past + max_depth + 1 > c->n_ctx)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the context is full: position %zu exceeds n_ctx = %zu",
                       c->n_past + max_depth, c->n_ctx);
    if (!grow_nodes(c, c->n_nodes + n, err)) return LL_ERR_OUT_OF_MEMORY;
    int32_t *paths = ll_realloc_array(c->paths, n * (max_depth + 1), sizeof *paths, err);
    size_t *pos = paths ? ll_realloc_array(c->pos, n, sizeof *pos, err) : NULL;
    if (paths) c->paths = paths;
    if (!paths || !pos) return LL_ERR_OUT_OF_MEMORY;
    c->pos = pos;
    for (size_t i = 0; i < n; i++) {
        int32_t id = (int32_t)(c->n_nodes + i);
        uint32_t d = parents[i] < 0 ? 0 : c->node_depth[parents[i]] + 1;
        c->node_parent[id] = parents[i];
        c->node_depth[id] = d;
        nodes[i] = id;
        pos[i] = c->n_past + d;
        int32_t *path = paths + i * (max_depth + 1);
        path[d] = id;
        for (int32_t a = parents[i], k = (int32_t)d - 1; a >= 0; a = c->node_parent[a], k--) path[k] = a;
    }
    c->n_nodes += n;
    ll_status st = decode_rows(c, tokens, n, nodes, max_depth, NULL, logits, err);
    if (st != LL_OK) c->n_nodes -= n; /* stopped: the new nodes were never made */
    return st;
}
