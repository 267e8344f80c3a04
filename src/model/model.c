/*
 * model.c - loading a Llama-architecture model from GGUF or from a
 * llama2.c checkpoint: hyperparameters from metadata (with the defaults
 * llama.cpp uses when a key is absent), every tensor's presence, shape and
 * type checked, weights left in the mapped file.
 */
#define _POSIX_C_SOURCE 200809L
#include "model_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/quant.h"
#include "../tokenizer/tokenizer_impl.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define LL_HAVE_MMAP 1
#endif

/* ---- GGUF ---- */

static ll_status get_hparam(const ll_gguf *g, const char *arch, const char *suffix, uint64_t *out, bool required,
                            uint64_t def, ll_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    bool found;
    ll_status st = ll_gguf_get_u64(g, key, out, &found, err);
    if (st != LL_OK) return st;
    if (!found) {
        if (required) return ll_fail(err, LL_ERR_FORMAT, "required metadata '%s' is missing", key);
        *out = def;
    }
    return LL_OK;
}

static ll_status bind(ll_weight *w, const ll_gguf *g, const char *name, uint64_t cols, uint64_t rows, bool optional,
                      ll_error *err) {
    memset(w, 0, sizeof *w);
    const ll_gguf_tensor *t = ll_gguf_tensor_find(g, name);
    if (!t) {
        if (optional) return LL_OK;
        return ll_fail(err, LL_ERR_FORMAT, "tensor '%s' is missing", name);
    }
    const ll_type_info *ti = ll_type_info_of(t->type);
    if (!ti->supported)
        return ll_fail(err, LL_ERR_UNSUPPORTED,
                       "tensor '%s' has type %s, which logitlab does not support (supported: F32, F16, BF16, Q8_0, "
                       "Q4_0, Q4_K, Q5_K, Q6_K)",
                       name, ti->name);
    bool shape_ok = t->ne[0] == cols && (rows == 0 ? t->n_dims == 1 : (t->ne[1] == rows && t->n_dims == 2));
    if (!shape_ok)
        return ll_fail(err, LL_ERR_FORMAT, "tensor '%s' has shape [%llu, %llu], expected [%llu, %llu]", name,
                       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)cols,
                       (unsigned long long)(rows ? rows : 1));
    w->m.type = t->type;
    w->m.data = t->data;
    w->m.cols = (size_t)cols;
    w->m.rows = rows ? (size_t)rows : 1;
    w->m.row_bytes = ll_row_bytes(t->type, (size_t)cols);
    return LL_OK;
}

/* A 1-D weight as float: pointed at when stored F32, converted otherwise. */
static const float *bind_vector(ll_model *m, const ll_gguf *g, const char *name, uint64_t n, float **store,
                                ll_error *err) {
    ll_weight w;
    if (bind(&w, g, name, n, 0, false, err) != LL_OK) return NULL;
    if (w.m.type == LL_T_F32) return (const float *)w.m.data;
    float *out = *store;
    *store += n;
    ll_dequantize_row_ref(w.m.type, w.m.data, out, (size_t)n);
    (void)m;
    return out;
}

ll_status ll_model_from_gguf(ll_model *m, ll_gguf *g, ll_error *err) {
    m->gguf = g;
    ll_model_info *in = &m->info;
    snprintf(in->format, sizeof in->format, "gguf");
    in->gguf_version = g->version;
    in->file_bytes = g->size;
    bool found;
    char *arch = ll_gguf_get_str(g, "general.architecture", &found, err);
    if (!found) return ll_fail(err, LL_ERR_FORMAT, "metadata 'general.architecture' is missing");
    if (!arch) return LL_ERR_FORMAT;
    snprintf(in->arch, sizeof in->arch, "%s", arch);
    if (strcmp(arch, "llama") != 0) {
        ll_status st = ll_fail(err, LL_ERR_UNSUPPORTED,
                               "architecture '%s' is not supported (logitlab runs the 'llama' architecture)", arch);
        free(arch);
        return st;
    }
    char *name = ll_gguf_get_str(g, "general.name", &found, err);
    snprintf(in->name, sizeof in->name, "%s", name ? name : "");
    free(name);
    uint64_t v;
    ll_status st;
#define HP(field, suffix, req, def)                                              \
    if ((st = get_hparam(g, arch, suffix, &v, req, def, err)) != LL_OK) {        \
        free(arch);                                                              \
        return st;                                                               \
    }                                                                            \
    in->field = (size_t)v;
    HP(n_ctx_train, "context_length", false, 2048)
    HP(dim, "embedding_length", true, 0)
    HP(n_layers, "block_count", true, 0)
    HP(ffn_dim, "feed_forward_length", true, 0)
    HP(n_heads, "attention.head_count", true, 0)
    HP(n_kv_heads, "attention.head_count_kv", false, in->n_heads)
#undef HP
    if (in->dim == 0 || in->n_layers == 0 || in->n_heads == 0 || in->n_kv_heads == 0 || in->ffn_dim == 0 ||
        in->dim % in->n_heads != 0 || in->n_heads % in->n_kv_heads != 0 || in->n_layers > 4096 || in->dim > 65536 ||
        in->ffn_dim > 1 << 20) {
        free(arch);
        return ll_fail(err, LL_ERR_FORMAT,
                       "inconsistent hyperparameters: dim %zu, layers %zu, heads %zu, kv heads %zu, ffn %zu", in->dim,
                       in->n_layers, in->n_heads, in->n_kv_heads, in->ffn_dim);
    }
    in->head_dim = in->dim / in->n_heads;
    if ((st = get_hparam(g, arch, "rope.dimension_count", &v, false, in->head_dim, err)) != LL_OK) {
        free(arch);
        return st;
    }
    in->rope_dim = (size_t)v;
    if (in->rope_dim > in->head_dim || in->rope_dim % 2) {
        free(arch);
        return ll_fail(err, LL_ERR_FORMAT, "rope.dimension_count %zu does not fit head size %zu", in->rope_dim,
                       in->head_dim);
    }
    char key[128];
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    in->rope_base = 10000.0f;
    if ((st = ll_gguf_get_f32(g, key, &in->rope_base, &found, err)) != LL_OK) {
        free(arch);
        return st;
    }
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    in->rms_eps = 1e-5f;
    if ((st = ll_gguf_get_f32(g, key, &in->rms_eps, &found, err)) != LL_OK) {
        free(arch);
        return st;
    }
    free(arch);
    in->rope_neox = false;

    const ll_gguf_tensor *emb = ll_gguf_tensor_find(g, "token_embd.weight");
    if (!emb) return ll_fail(err, LL_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    if (emb->n_dims != 2) return ll_fail(err, LL_ERR_FORMAT, "tensor 'token_embd.weight' is not 2-D");
    in->n_vocab = (size_t)emb->ne[1];
    size_t dim = in->dim, kv_dim = in->n_kv_heads * in->head_dim, ffn = in->ffn_dim;

    /* converted norm vectors, if they are not F32 */
    m->owned_f32 = ll_calloc((2 * in->n_layers + 1) * dim, sizeof(float), err);
    m->layers = ll_calloc(in->n_layers, sizeof *m->layers, err);
    if (!m->owned_f32 || !m->layers) return LL_ERR_OUT_OF_MEMORY;
    float *store = m->owned_f32;
    if ((st = bind(&m->tok_embd, g, "token_embd.weight", dim, in->n_vocab, false, err)) != LL_OK) return st;
    if ((st = bind(&m->output, g, "output.weight", dim, in->n_vocab, true, err)) != LL_OK) return st;
    in->tied_output = m->output.m.data == NULL;
    if (in->tied_output) m->output = m->tok_embd;
    if (!(m->output_norm = bind_vector(m, g, "output_norm.weight", dim, &store, err))) return LL_ERR_FORMAT;
    for (size_t l = 0; l < in->n_layers; l++) {
        ll_layer *L = &m->layers[l];
        char nm[96];
#define T2(field, suffix, cols, rows)                                                     \
    snprintf(nm, sizeof nm, "blk.%zu.%s.weight", l, suffix);                              \
    if ((st = bind(&L->field, g, nm, cols, rows, false, err)) != LL_OK) return st;
        T2(wq, "attn_q", dim, dim)
        T2(wk, "attn_k", dim, kv_dim)
        T2(wv, "attn_v", dim, kv_dim)
        T2(wo, "attn_output", dim, dim)
        T2(w_gate, "ffn_gate", dim, ffn)
        T2(w_down, "ffn_down", ffn, dim)
        T2(w_up, "ffn_up", dim, ffn)
#undef T2
        snprintf(nm, sizeof nm, "blk.%zu.attn_norm.weight", l);
        if (!(L->attn_norm = bind_vector(m, g, nm, dim, &store, err))) return LL_ERR_FORMAT;
        snprintf(nm, sizeof nm, "blk.%zu.ffn_norm.weight", l);
        if (!(L->ffn_norm = bind_vector(m, g, nm, dim, &store, err))) return LL_ERR_FORMAT;
    }
    uint64_t params = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) params += g->tensors[i].n_elements;
    in->n_params = params;
    snprintf(in->file_type, sizeof in->file_type, "%s", ll_type_info_of(m->layers[0].wq.m.type)->name);
    return LL_OK;
}

/* ---- llama2.c checkpoints ---- */

static int32_t rd_i32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

ll_status ll_model_from_llama2c(ll_model *m, const uint8_t *b, size_t size, ll_error *err) {
    ll_model_info *in = &m->info;
    snprintf(in->format, sizeof in->format, "llama2.c");
    snprintf(in->arch, sizeof in->arch, "llama");
    in->file_bytes = size;
    in->rope_base = 10000.0f;
    in->rms_eps = 1e-5f;
    bool v2 = size >= 8 && rd_i32(b) == 0x616b3432;
    int32_t hdr[7];
    size_t off;
    int group = 0;
    bool shared;
    if (v2) {
        if (size < 256) return ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 checkpoint shorter than its 256-byte header");
        if (rd_i32(b + 4) != 2)
            return ll_fail(err, LL_ERR_UNSUPPORTED, "llama2.c checkpoint version %d is not supported (valid: 2)",
                           rd_i32(b + 4));
        for (int i = 0; i < 7; i++) hdr[i] = rd_i32(b + 8 + 4 * i);
        shared = b[36] != 0;
        group = rd_i32(b + 37);
        off = 256;
        snprintf(in->file_type, sizeof in->file_type, "llama2.c int8 (group %d)", group);
    } else {
        if (size < 28) return ll_fail(err, LL_ERR_FORMAT, "file of %zu bytes is too short for a llama2.c header", size);
        for (int i = 0; i < 7; i++) hdr[i] = rd_i32(b + 4 * i);
        shared = hdr[5] > 0;
        off = 28;
        snprintf(in->file_type, sizeof in->file_type, "F32");
    }
    int32_t vocab = hdr[5] < 0 ? -hdr[5] : hdr[5];
    if (hdr[0] <= 0 || hdr[1] <= 0 || hdr[2] <= 0 || hdr[3] <= 0 || hdr[4] <= 0 || vocab <= 0 || hdr[6] <= 0 ||
        hdr[0] % hdr[3] != 0 || hdr[3] % hdr[4] != 0 || hdr[0] > 65536 || hdr[1] > 1 << 20 || hdr[2] > 4096 ||
        vocab > 1 << 22 || hdr[6] > 1 << 22)
        return ll_fail(err, LL_ERR_FORMAT,
                       "not a llama2.c checkpoint: header dim %d, hidden %d, layers %d, heads %d, kv heads %d, vocab %d, "
                       "seq_len %d",
                       hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], hdr[6]);
    in->dim = (size_t)hdr[0];
    in->ffn_dim = (size_t)hdr[1];
    in->n_layers = (size_t)hdr[2];
    in->n_heads = (size_t)hdr[3];
    in->n_kv_heads = (size_t)hdr[4];
    in->n_vocab = (size_t)vocab;
    in->n_ctx_train = (size_t)hdr[6];
    in->head_dim = in->dim / in->n_heads;
    in->rope_dim = in->head_dim;
    in->tied_output = shared;
    size_t dim = in->dim, L = in->n_layers, hid = in->ffn_dim, kv = in->n_kv_heads * in->head_dim;
    size_t V = in->n_vocab;
    m->layers = ll_calloc(L, sizeof *m->layers, err);
    if (!m->layers) return LL_ERR_OUT_OF_MEMORY;
    in->n_params = V * dim + L * (2 * dim + 2 * dim * dim + 2 * dim * kv + 3 * dim * hid) + dim + (shared ? 0 : V * dim);

    if (!v2) {
        size_t need = V * dim + L * dim + L * dim * dim * 2 + L * dim * kv * 2 + L * dim + L * hid * dim * 3 + dim +
                      in->n_ctx_train * in->head_dim + (shared ? 0 : V * dim);
        if ((size - off) / 4 < need)
            return ll_fail(err, LL_ERR_FORMAT, "llama2.c checkpoint is truncated: %zu bytes, the header needs %zu",
                           size, off + need * 4);
        const float *f = (const float *)(const void *)(b + off);
#define MAT(w, R, C)                                                                            \
    (w).m.type = LL_T_F32, (w).m.data = (const uint8_t *)f, (w).m.rows = (R), (w).m.cols = (C), \
    (w).m.row_bytes = (C) * 4, f += (size_t)(R) * (C)
        MAT(m->tok_embd, V, dim);
        for (size_t l = 0; l < L; l++) m->layers[l].attn_norm = f + l * dim;
        f += L * dim;
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].wq, dim, dim);
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].wk, kv, dim);
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].wv, kv, dim);
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].wo, dim, dim);
        for (size_t l = 0; l < L; l++) m->layers[l].ffn_norm = f + l * dim;
        f += L * dim;
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].w_gate, hid, dim);
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].w_down, dim, hid);
        for (size_t l = 0; l < L; l++) MAT(m->layers[l].w_up, hid, dim);
        m->output_norm = f;
        f += dim;
        f += in->n_ctx_train * in->head_dim; /* freq_cis_real and _imag: unused */
        if (shared) m->output = m->tok_embd;
        else MAT(m->output, V, dim);
#undef MAT
        return LL_OK;
    }

    /* version 2: fp32 norms, then int8 tensors each followed by its scales */
    m->l2c_q8 = true;
    if (group <= 0 || dim % (size_t)group || hid % (size_t)group || kv % (size_t)group)
        return ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 group size %d does not divide the dimensions", group);
    size_t norms = (2 * L * dim + dim) * 4;
    if (size - off < norms) return ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 checkpoint is truncated in its norms");
    m->owned_f32 = ll_malloc(norms, err);
    if (!m->owned_f32) return LL_ERR_OUT_OF_MEMORY;
    memcpy(m->owned_f32, b + off, norms);
    for (size_t l = 0; l < L; l++) {
        m->layers[l].attn_norm = m->owned_f32 + l * dim;
        m->layers[l].ffn_norm = m->owned_f32 + L * dim + l * dim;
    }
    m->output_norm = m->owned_f32 + 2 * L * dim;
    off += norms;
    /* scales are copied out (they are not 4-byte aligned in general) */
    size_t n_scales = (V * dim * (shared ? 1 : 2) + L * (2 * dim * dim + 2 * dim * kv + 3 * dim * hid)) / (size_t)group;
    float *scales = ll_malloc(n_scales * 4 + 4, err);
    if (!scales) return LL_ERR_OUT_OF_MEMORY;
    m->owned_buf = scales;
    size_t sused = 0;
    ll_status st = LL_OK;
#define QT(w, R, C)                                                                                    \
    do {                                                                                               \
        size_t cnt = (size_t)(R) * (C), sb = cnt / (size_t)group * 4;                                 \
        if (size - off < cnt + sb) {                                                                   \
            st = ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 checkpoint is truncated at byte %zu", off); \
            break;                                                                                     \
        }                                                                                              \
        (w).m.type = LL_T_L2C_Q8, (w).m.rows = (R), (w).m.cols = (C), (w).group = group;               \
        (w).q = (const int8_t *)(b + off);                                                             \
        (w).s = scales + sused;                                                                        \
        memcpy((w).s, b + off + cnt, sb);                                                              \
        sused += cnt / (size_t)group;                                                                  \
        off += cnt + sb;                                                                               \
    } while (0)
    QT(m->tok_embd, V, dim);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].wq, dim, dim);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].wk, kv, dim);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].wv, kv, dim);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].wo, dim, dim);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].w_gate, hid, dim);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].w_down, dim, hid);
    for (size_t l = 0; l < L && st == LL_OK; l++) QT(m->layers[l].w_up, hid, dim);
    if (st == LL_OK) {
        if (shared) m->output = m->tok_embd;
        else QT(m->output, V, dim);
    }
#undef QT
    return st;
}

void ll_weight_row(const ll_weight *w, size_t id, float *out) {
    if (w->m.type == LL_T_L2C_Q8) {
        size_t n = w->m.cols, base = id * n;
        for (size_t i = 0; i < n; i++) out[i] = (float)w->q[base + i] * w->s[(base + i) / (size_t)w->group];
        return;
    }
    ll_dequantize_row_ref(w->m.type, w->m.data + id * w->m.row_bytes, out, w->m.cols);
}

/* ---- public ---- */

static bool is_gguf(const uint8_t *b, size_t n) { return n >= 4 && memcmp(b, "GGUF", 4) == 0; }

void ll_model_free(ll_model *m) {
    if (!m) return;
    ll_tokenizer_free(m->tok);
    free(m->layers);
    free(m->owned_f32);
    free(m->owned_buf);
    ll_gguf_close(m->gguf);
#ifdef LL_HAVE_MMAP
    if (m->map) munmap(m->map, m->map_size);
#endif
    free(m);
}

static ll_model *finish(ll_model *m, ll_status st) {
    if (st != LL_OK) {
        ll_model_free(m);
        return NULL;
    }
    return m;
}

ll_model *ll_model_load_memory(const void *data, size_t size, ll_error *err) {
    ll_model *m = ll_calloc(1, sizeof *m, err);
    if (!m) return NULL;
    ll_gguf *g = ll_gguf_open_memory(data, size, err);
    if (!g) return finish(m, LL_ERR_FORMAT);
    ll_status st = ll_model_from_gguf(m, g, err);
    if (st == LL_OK) {
        m->tok = ll_tokenizer_from_gguf(g, err);
        if (!m->tok) st = err ? err->status : LL_ERR_FORMAT;
    }
    return finish(m, st);
}

ll_model *ll_model_load(const char *path, const char *tokenizer_path, ll_error *err) {
    ll_model *m = ll_calloc(1, sizeof *m, err);
    if (!m) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return finish(m, LL_ERR_IO);
    }
    uint8_t magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    ll_status st;
    if (is_gguf(magic, got)) {
        ll_gguf *g = ll_gguf_open(path, err);
        if (!g) return finish(m, err ? err->status : LL_ERR_FORMAT);
        st = ll_model_from_gguf(m, g, err);
        if (st == LL_OK) {
            m->tok = ll_tokenizer_from_gguf(g, err);
            if (!m->tok) st = err ? err->status : LL_ERR_FORMAT;
        }
        if (st != LL_OK) ll_error_prefix(err, "%s", path);
        return finish(m, st);
    }
#ifdef LL_HAVE_MMAP
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) close(fd);
        ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return finish(m, LL_ERR_IO);
    }
    m->map_size = (size_t)sb.st_size;
    m->map = m->map_size ? mmap(NULL, m->map_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        ll_fail(err, LL_ERR_IO, "cannot map %s: %s", path, strerror(errno));
        return finish(m, LL_ERR_IO);
    }
    m->bytes = m->map;
    m->n_bytes = m->map_size;
#else
    ll_fail(err, LL_ERR_UNSUPPORTED, "llama2.c checkpoints need mmap on this platform");
    return finish(m, LL_ERR_UNSUPPORTED);
#endif
    st = ll_model_from_llama2c(m, m->bytes, m->n_bytes, err);
    if (st == LL_OK && tokenizer_path) {
        m->tok = ll_tokenizer_load(tokenizer_path, err);
        if (!m->tok) st = err ? err->status : LL_ERR_FORMAT;
        else if (ll_tokenizer_n_vocab(m->tok) != m->info.n_vocab)
            st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "tokenizer %s has %zu tokens but the model has %zu",
                         tokenizer_path, ll_tokenizer_n_vocab(m->tok), m->info.n_vocab);
    }
    if (st != LL_OK) ll_error_prefix(err, "%s", path);
    return finish(m, st);
}

const ll_model_info *ll_model_get_info(const ll_model *m) { return &m->info; }
const ll_tokenizer *ll_model_get_tokenizer(const ll_model *m) { return m->tok; }
