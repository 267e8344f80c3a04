/*
 * model.c - loading a Llama-architecture model from GGUF or from a
 * llama2.c checkpoint: hyperparameters from metadata (with the defaults
 * llama.cpp uses when a key is absent), every tensor's presence, shape and
 * type checked, weights left in the mapped file. A model file is untrusted
 * input: every hyperparameter is range-checked before it is used in any
 * arithmetic (messages name the key, the value and the range, one broken
 * rule per message), sizes are checked products, and the tokenizer must
 * have exactly as many tokens as the embedding has rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "model_impl.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/quant.h"
#include "../tokenizer/tokenizer_impl.h"

/* Ranges every hyperparameter must lie in, for both formats: they keep
 * every size product far from overflow and every allocation sane. Real
 * models are well inside (the largest vocabularies have ~260,000 tokens,
 * the longest contexts ~10M positions). */
#define LL_MAX_DIM 65536u
#define LL_MAX_FFN (1u << 20)
#define LL_MAX_LAYERS 4096u
#define LL_MAX_VOCAB (1u << 24)
#define LL_MAX_CTX (1u << 24) /* the largest context ll_context_new accepts */

/* ---- GGUF ---- */

/* Reads "<arch>.<suffix>" as an unsigned integer in [lo, hi] (def when the
 * key is absent and not required); the message names the key, the value
 * and the range. */
static ll_status get_hparam(const ll_gguf *g, const char *arch, const char *suffix, bool required, uint64_t def,
                            uint64_t lo, uint64_t hi, size_t *out, ll_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    bool found;
    uint64_t v = def;
    ll_status st = ll_gguf_get_u64(g, key, &v, &found, err);
    if (st != LL_OK) return st;
    if (!found && required) return ll_fail(err, LL_ERR_FORMAT, "required metadata '%s' is missing", key);
    if (v < lo || v > hi)
        return ll_fail(err, LL_ERR_FORMAT, "metadata '%s' = %llu is out of range (valid: %llu to %llu)%s", key,
                       (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi,
                       found ? "" : " (the default, the key is absent)");
    *out = (size_t)v;
    return LL_OK;
}

/* Reads "<arch>.<suffix>" as a float that must be finite and > 0 (def when
 * absent). Zero, negative, NaN or infinite would not fail here but as NaN
 * logits far from the file; a float64 that does not survive the conversion
 * to float (1e300, 1e-300) is refused with its own value. */
static ll_status get_positive_float(const ll_gguf *g, const char *arch, const char *suffix, float def, float *out,
                                    ll_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    *out = def;
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return LL_OK;
    bool found;
    ll_status st = ll_gguf_get_f32(g, key, out, &found, err);
    if (st != LL_OK) return st;
    double v = kv->v.f;
    if (!(v > 0) || !(v <= FLT_MAX) || !(*out > 0)) {
        char buf[32];
        return ll_fail(err, LL_ERR_FORMAT,
                       "metadata '%s' = %s is invalid (valid: a finite number > 0 that fits a float, %g to %g; at "
                       "byte offset %llu)",
                       key, kv->type == LL_GGUF_FLOAT32 ? ll_format_float(buf, (float)v) : ll_format_double(buf, v),
                       (double)FLT_TRUE_MIN, (double)FLT_MAX,
                       (unsigned long long)kv->offset);
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
    if (!arch) return err ? err->status : LL_ERR_FORMAT;
    snprintf(in->arch, sizeof in->arch, "%s", arch);
    if (strcmp(arch, "llama") != 0) {
        char q[LL_QUOTE_MAX];
        ll_status st = ll_fail(err, LL_ERR_UNSUPPORTED,
                               "architecture '%s' is not supported (logitlab runs the 'llama' architecture)",
                               ll_quote(q, arch, strlen(arch)));
        free(arch);
        return st;
    }
    /* optional, but when present it must be a string: a number there is a
     * malformed file like any other wrong type (get_str has said which) */
    char *name = ll_gguf_get_str(g, "general.name", &found, err);
    if (found && !name) {
        free(arch);
        return err ? err->status : LL_ERR_FORMAT;
    }
    snprintf(in->name, sizeof in->name, "%s", name ? name : "");
    free(name);
    ll_status st;
#define HP(field, suffix, req, def, lo, hi)                                                 \
    if ((st = get_hparam(g, arch, suffix, req, def, lo, hi, &in->field, err)) != LL_OK) { \
        free(arch);                                                                         \
        return st;                                                                          \
    }
    HP(n_ctx_train, "context_length", false, 2048, 1, LL_MAX_CTX)
    HP(dim, "embedding_length", true, 0, 1, LL_MAX_DIM)
    HP(n_layers, "block_count", true, 0, 1, LL_MAX_LAYERS)
    HP(ffn_dim, "feed_forward_length", true, 0, 1, LL_MAX_FFN)
    HP(n_heads, "attention.head_count", true, 0, 1, in->dim)
    HP(n_kv_heads, "attention.head_count_kv", false, in->n_heads, 1, in->n_heads)
#undef HP
    /* one message per rule, naming it */
    if (in->dim % in->n_heads != 0)
        st = ll_fail(err, LL_ERR_FORMAT,
                     "inconsistent hyperparameters: %s.embedding_length %zu is not a multiple of "
                     "%s.attention.head_count %zu",
                     arch, in->dim, arch, in->n_heads);
    else if (in->n_heads % in->n_kv_heads != 0)
        st = ll_fail(err, LL_ERR_FORMAT,
                     "inconsistent hyperparameters: %s.attention.head_count %zu is not a multiple of "
                     "%s.attention.head_count_kv %zu",
                     arch, in->n_heads, arch, in->n_kv_heads);
    if (st != LL_OK) {
        free(arch);
        return st;
    }
    in->head_dim = in->dim / in->n_heads;
    if ((st = get_hparam(g, arch, "rope.dimension_count", false, in->head_dim, 0, in->head_dim, &in->rope_dim, err)) !=
        LL_OK) {
        free(arch);
        return st;
    }
    if (in->rope_dim % 2) {
        st = ll_fail(err, LL_ERR_FORMAT,
                     "inconsistent hyperparameters: %s.rope.dimension_count %zu is odd (rotation works on pairs)",
                     arch, in->rope_dim);
        free(arch);
        return st;
    }
    if ((st = get_positive_float(g, arch, "rope.freq_base", 10000.0f, &in->rope_base, err)) != LL_OK ||
        (st = get_positive_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5f, &in->rms_eps, err)) != LL_OK) {
        free(arch);
        return st;
    }
    free(arch);
    in->rope_neox = false;

    const ll_gguf_tensor *emb = ll_gguf_tensor_find(g, "token_embd.weight");
    if (!emb) return ll_fail(err, LL_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    if (emb->n_dims != 2)
        return ll_fail(err, LL_ERR_FORMAT, "tensor 'token_embd.weight' has %u dimensions, expected 2 [dim, vocabulary]",
                       emb->n_dims);
    /* the vocabulary is the embedding's row count; output.weight must have
     * as many rows (bind) and the tokenizer as many tokens (the loaders) */
    if (emb->ne[1] < 1 || emb->ne[1] > LL_MAX_VOCAB)
        return ll_fail(err, LL_ERR_FORMAT,
                       "tensor 'token_embd.weight' has %llu rows: a vocabulary out of range (valid: 1 to %u)",
                       (unsigned long long)emb->ne[1], LL_MAX_VOCAB);
    in->n_vocab = (size_t)emb->ne[1];
    size_t dim = in->dim, kv_dim = in->n_kv_heads * in->head_dim, ffn = in->ffn_dim;

    /* converted norm vectors, if they are not F32 (sizes bounded above, the
     * check is for the rule) */
    size_t n_norms;
    if (!ll_mul_size_ok(2 * (uint64_t)in->n_layers + 1, dim, &n_norms))
        return ll_fail(err, LL_ERR_FORMAT, "%zu layers of %zu norms overflow", in->n_layers, dim);
    m->owned_f32 = ll_calloc(n_norms, sizeof(float), err);
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
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!ll_add_ok(params, g->tensors[i].n_elements, &params))
            return ll_fail(err, LL_ERR_FORMAT, "the tensors' element counts add up to more than 2^64");
    in->n_params = params;
    snprintf(in->file_type, sizeof in->file_type, "%s", ll_type_info_of(m->layers[0].wq.m.type)->name);
    return LL_OK;
}

/* ---- llama2.c checkpoints ---- */

static int32_t rd_i32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* acc += a*b*c, false when any step wraps. */
static bool add_prod(uint64_t *acc, uint64_t a, uint64_t b, uint64_t c) {
    uint64_t p;
    return ll_mul_ok(a, b, &p) && ll_mul_ok(p, c, &p) && ll_add_ok(*acc, p, acc);
}

/* The llama2.c Config fields, in file order. */
static const char *const l2c_field[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                                         "seq_len"};

/* Validates the seven header fields as unsigned ranges before any
 * arithmetic on them (a negated INT32_MIN would be undefined, and a Release
 * build may then drop a "<= 0" test). legacy: the sign of vocab_size says
 * whether the classifier is separate (llama2.c's run.c); in the int8 format
 * it must be positive. Fills in the hyperparameters and *shared. */
static ll_status l2c_header(ll_model_info *in, const uint32_t u[7], bool legacy, bool *shared, const char *what,
                            ll_error *err) {
    uint32_t vocab = u[5];
    *shared = true;
    if (legacy && (vocab & 0x80000000u)) {
        vocab = 0u - vocab; /* |INT32_MIN| = 2^31: unsigned, defined, and out of range below */
        *shared = false;
    }
    const uint64_t hi[7] = {LL_MAX_DIM, LL_MAX_FFN, LL_MAX_LAYERS, u[0], u[3], LL_MAX_VOCAB, LL_MAX_CTX};
    const uint32_t v[7] = {u[0], u[1], u[2], u[3], u[4], vocab, u[6]};
    for (int i = 0; i < 7; i++) {
        if (v[i] >= 1 && v[i] <= hi[i]) continue;
        /* fields are int32 in the file: show them so (two's complement) */
        int32_t shown = (int32_t)(u[i] <= INT32_MAX ? (int64_t)u[i] : (int64_t)u[i] - 4294967296LL);
        return ll_fail(err, LL_ERR_FORMAT, "%s: header field %s = %d is out of range (valid: 1 to %llu%s)", what,
                       l2c_field[i], shown, (unsigned long long)hi[i],
                       i == 5 && legacy ? ", negative for a separate classifier" : "");
    }
    if (u[0] % u[3] != 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: inconsistent header: dim %u is not a multiple of n_heads %u", what, u[0],
                       u[3]);
    if (u[3] % u[4] != 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: inconsistent header: n_heads %u is not a multiple of n_kv_heads %u",
                       what, u[3], u[4]);
    if ((u[0] / u[3]) % 2 != 0)
        return ll_fail(err, LL_ERR_FORMAT,
                       "%s: inconsistent header: the head size dim / n_heads = %u is odd (RoPE rotates pairs)", what,
                       u[0] / u[3]);
    in->dim = u[0];
    in->ffn_dim = u[1];
    in->n_layers = u[2];
    in->n_heads = u[3];
    in->n_kv_heads = u[4];
    in->n_vocab = vocab;
    in->n_ctx_train = u[6];
    in->head_dim = in->dim / in->n_heads;
    in->rope_dim = in->head_dim;
    in->tied_output = *shared;
    return LL_OK;
}

ll_status ll_model_from_llama2c(ll_model *m, const uint8_t *b, size_t size, ll_error *err) {
    ll_model_info *in = &m->info;
    snprintf(in->format, sizeof in->format, "llama2.c");
    snprintf(in->arch, sizeof in->arch, "llama");
    in->file_bytes = size;
    in->rope_base = 10000.0f;
    in->rms_eps = 1e-5f;
    bool v2 = size >= 8 && rd_i32(b) == 0x616b3432;
    uint32_t hdr[7];
    size_t off;
    uint32_t group = 0;
    bool shared;
    ll_status st;
    if (v2) {
        const char *what = "llama2.c int8 checkpoint";
        if (size < 256)
            return ll_fail(err, LL_ERR_FORMAT, "%s of %zu bytes is shorter than its 256-byte header", what, size);
        if (rd_i32(b + 4) != 2)
            return ll_fail(err, LL_ERR_UNSUPPORTED, "llama2.c checkpoint version %d is not supported (valid: 2)",
                           rd_i32(b + 4));
        for (int i = 0; i < 7; i++) hdr[i] = (uint32_t)rd_i32(b + 8 + 4 * i);
        if ((st = l2c_header(in, hdr, false, &shared, what, err)) != LL_OK) return st;
        if (b[36] > 1)
            return ll_fail(err, LL_ERR_FORMAT, "%s: header byte 36 (shared_classifier) = %u (valid: 0 or 1)", what,
                           b[36]);
        shared = b[36] != 0;
        in->tied_output = shared;
        group = (uint32_t)rd_i32(b + 37);
        /* every quantized row is whole groups: rows have dim or hidden_dim
         * columns (wk and wv have kv rows, not columns, so the kv dimension
         * need not be a multiple, as in runq.c) */
        const char *rule = group < 1 || group > in->dim ? "out of range"
                           : in->dim % group               ? "does not divide dim"
                           : in->ffn_dim % group           ? "does not divide hidden_dim"
                                                           : NULL;
        if (rule)
            return ll_fail(err, LL_ERR_FORMAT,
                           "%s: header group size %d %s (valid: 1 to dim %zu, dividing dim %zu and hidden_dim %zu)",
                           what, (int32_t)(group <= INT32_MAX ? (int64_t)group : (int64_t)group - 4294967296LL), rule,
                           in->dim, in->dim, in->ffn_dim);
        off = 256;
        /* group <= dim <= 65536, so "% 1000000" changes nothing; it tells
         * the compiler the text fits file_type */
        snprintf(in->file_type, sizeof in->file_type, "llama2.c int8 (group %u)", group % 1000000u);
    } else {
        if (size < 28) return ll_fail(err, LL_ERR_FORMAT, "file of %zu bytes is too short for a llama2.c header", size);
        for (int i = 0; i < 7; i++) hdr[i] = (uint32_t)rd_i32(b + 4 * i);
        if ((st = l2c_header(in, hdr, true, &shared, "not a llama2.c checkpoint (nor GGUF)", err)) != LL_OK) return st;
        off = 28;
        snprintf(in->file_type, sizeof in->file_type, "F32");
    }
    /* all sizes in uint64 with checked products (bounded by the ranges
     * above, but the rule holds wherever size_t is narrower) */
    uint64_t dim = in->dim, L = in->n_layers, hid = in->ffn_dim, kv = in->n_kv_heads * in->head_dim, V = in->n_vocab;
    uint64_t n_params = 0, per_layer = 0; /* weights of one layer, norms included */
    bool ok = add_prod(&per_layer, 2, dim, 1) && add_prod(&per_layer, 2, dim, dim) && add_prod(&per_layer, 2, dim, kv) &&
              add_prod(&per_layer, 3, dim, hid) && add_prod(&n_params, V, dim, shared ? 1 : 2) &&
              add_prod(&n_params, L, per_layer, 1) && ll_add_ok(n_params, dim, &n_params);
    if (!ok) return ll_fail(err, LL_ERR_FORMAT, "llama2.c header: the parameter count overflows 64 bits");
    in->n_params = n_params;
    m->layers = ll_calloc(in->n_layers, sizeof *m->layers, err);
    if (!m->layers) return LL_ERR_OUT_OF_MEMORY;

    if (!v2) {
        /* floats: the weights, plus freq_cis_real and _imag (seq_len * head_size / 2 each) */
        uint64_t need = n_params, need_bytes;
        if (!add_prod(&need, in->n_ctx_train, in->head_dim, 1) || !ll_mul_ok(need, 4, &need_bytes) ||
            !ll_add_ok(need_bytes, off, &need_bytes))
            return ll_fail(err, LL_ERR_FORMAT, "llama2.c header: the checkpoint size overflows 64 bits");
        if ((uint64_t)size < need_bytes)
            return ll_fail(err, LL_ERR_FORMAT, "llama2.c checkpoint is truncated: %zu bytes, the header needs %llu", size,
                           (unsigned long long)need_bytes);
        /* from here every product below is within the file's size */
        const float *f = (const float *)(const void *)(b + off);
#define MAT(w, R, C)                                                                            \
    (w).m.type = LL_T_F32, (w).m.data = (const uint8_t *)f, (w).m.rows = (R), (w).m.cols = (C), \
    (w).m.row_bytes = (C) * 4, f += (size_t)(R) * (C)
        size_t Ds = in->dim, Ls = in->n_layers, Hs = in->ffn_dim, Ks = (size_t)kv, Vs = in->n_vocab;
        MAT(m->tok_embd, Vs, Ds);
        for (size_t l = 0; l < Ls; l++) m->layers[l].attn_norm = f + l * Ds;
        f += Ls * Ds;
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].wq, Ds, Ds);
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].wk, Ks, Ds);
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].wv, Ks, Ds);
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].wo, Ds, Ds);
        for (size_t l = 0; l < Ls; l++) m->layers[l].ffn_norm = f + l * Ds;
        f += Ls * Ds;
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].w_gate, Hs, Ds);
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].w_down, Ds, Hs);
        for (size_t l = 0; l < Ls; l++) MAT(m->layers[l].w_up, Hs, Ds);
        m->output_norm = f;
        f += Ds;
        f += in->n_ctx_train * in->head_dim; /* freq_cis_real and _imag: unused */
        if (shared) m->output = m->tok_embd;
        else MAT(m->output, Vs, Ds);
#undef MAT
        return LL_OK;
    }

    /* version 2: fp32 norms, then int8 tensors each followed by its scales.
     * The whole size is checked before anything is allocated, so a header
     * cannot ask for memory the file does not back. */
    m->l2c_q8 = true;
    /* the int8 weights are the parameters less the fp32 norms (2 per layer
     * and the final one); each group of weights adds a 4-byte scale */
    uint64_t norm_floats = 0, norms, n_weights, n_scales, need_bytes = 0;
    ok = add_prod(&norm_floats, 2 * L + 1, dim, 1) && ll_mul_ok(norm_floats, 4, &norms);
    n_weights = ok ? n_params - norm_floats : 0; /* n_params counts the norms: no wrap */
    n_scales = n_weights / group;
    ok = ok && add_prod(&need_bytes, n_scales, 4, 1) && ll_add_ok(need_bytes, n_weights, &need_bytes) &&
         ll_add_ok(need_bytes, norms, &need_bytes) && ll_add_ok(need_bytes, off, &need_bytes);
    if (!ok) return ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 header: the checkpoint size overflows 64 bits");
    if ((uint64_t)size < need_bytes)
        return ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 checkpoint is truncated: %zu bytes, the header needs %llu",
                       size, (unsigned long long)need_bytes);
    size_t Ds = in->dim, Ls = in->n_layers, Hs = in->ffn_dim, Ks = (size_t)kv, Vs = in->n_vocab;
    m->owned_f32 = ll_malloc((size_t)norms, err);
    if (!m->owned_f32) return LL_ERR_OUT_OF_MEMORY;
    memcpy(m->owned_f32, b + off, (size_t)norms);
    for (size_t l = 0; l < Ls; l++) {
        m->layers[l].attn_norm = m->owned_f32 + l * Ds;
        m->layers[l].ffn_norm = m->owned_f32 + Ls * Ds + l * Ds;
    }
    m->output_norm = m->owned_f32 + 2 * Ls * Ds;
    off += (size_t)norms;
    /* scales are copied out (they are not 4-byte aligned in general) */
    float *scales = ll_calloc((size_t)n_scales + 1, sizeof(float), err);
    if (!scales) return LL_ERR_OUT_OF_MEMORY;
    m->owned_buf = scales;
    size_t sused = 0;
    st = LL_OK;
#define QT(w, R, C)                                                                                    \
    do {                                                                                               \
        size_t cnt = (size_t)(R) * (C), sb = cnt / group * 4;                                         \
        if (size - off < cnt + sb || sused + cnt / group > n_scales) {                                 \
            st = ll_fail(err, LL_ERR_FORMAT, "llama2.c int8 checkpoint is truncated at byte %zu", off); \
            break;                                                                                     \
        }                                                                                              \
        (w).m.type = LL_T_L2C_Q8, (w).m.rows = (R), (w).m.cols = (C), (w).group = (int)group;          \
        (w).q = (const int8_t *)(b + off);                                                             \
        (w).s = scales + sused;                                                                        \
        memcpy((w).s, b + off + cnt, sb);                                                              \
        sused += cnt / group;                                                                          \
        off += cnt + sb;                                                                               \
    } while (0)
    QT(m->tok_embd, Vs, Ds);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].wq, Ds, Ds);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].wk, Ks, Ds);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].wv, Ks, Ds);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].wo, Ds, Ds);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].w_gate, Hs, Ds);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].w_down, Ds, Hs);
    for (size_t l = 0; l < Ls && st == LL_OK; l++) QT(m->layers[l].w_up, Hs, Ds);
    if (st == LL_OK) {
        if (shared) m->output = m->tok_embd;
        else QT(m->output, Vs, Ds);
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
    ll_file_close(&m->file);
    free(m);
}

static ll_model *finish(ll_model *m, ll_status st) {
    if (st != LL_OK) {
        ll_model_free(m);
        return NULL;
    }
    return m;
}

/* The tokenizer must cover exactly the embedding's rows: fewer would leave
 * ids the model can produce without text, more would let the tokenizer
 * produce ids outside the embedding. */
static ll_status check_tokenizer_size(const ll_model *m, const char *source, ll_error *err) {
    size_t n = ll_tokenizer_n_vocab(m->tok);
    if (n == m->info.n_vocab) return LL_OK;
    char q[LL_QUOTE_MAX];
    return ll_fail(err, LL_ERR_FORMAT,
                   "the tokenizer (%s) has %zu tokens but the model's vocabulary (its embedding rows) is %zu: they "
                   "must be equal",
                   ll_quote(q, source, strlen(source)), n, m->info.n_vocab);
}

/* A GGUF model and its own tokenizer (tokenizer.ggml.*). */
static ll_status load_gguf(ll_model *m, ll_gguf *g, ll_error *err) {
    ll_status st = ll_model_from_gguf(m, g, err);
    if (st != LL_OK) return st;
    m->tok = ll_tokenizer_from_gguf(g, err);
    if (!m->tok) return err ? err->status : LL_ERR_FORMAT;
    return check_tokenizer_size(m, "tokenizer.ggml.tokens", err);
}

ll_model *ll_model_load_memory(const void *data, size_t size, ll_error *err) {
    ll_model *m = ll_calloc(1, sizeof *m, err);
    if (!m) return NULL;
    ll_gguf *g = ll_gguf_open_memory(data, size, err);
    if (!g) return finish(m, err ? err->status : LL_ERR_FORMAT);
    return finish(m, load_gguf(m, g, err));
}

ll_model *ll_model_load(const char *path, const char *tokenizer_path, ll_error *err) {
    ll_model *m = ll_calloc(1, sizeof *m, err);
    if (!m) return NULL;
    /* one map serves the magic check and the parse: a FIFO, directory or
     * device is refused here by kind, never read */
    ll_file f;
    if (ll_file_map(&f, path, 0, err) != LL_OK) return finish(m, err ? err->status : LL_ERR_IO);
    ll_status st;
    char qpath[LL_QUOTE_MAX];
    ll_quote(qpath, path, strlen(path)); /* a long path must not push the reason out of the message */
    if (is_gguf(f.data, f.size)) {
        if (tokenizer_path) {
            /* it would be ignored: the caller meant something else */
            char qtok[LL_QUOTE_MAX];
            ll_file_close(&f);
            return finish(m, ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                                     "'%s' is a GGUF model, which carries its own tokenizer: the tokenizer file '%s' "
                                     "would not be used; leave it out (a tokenizer file is for llama2.c checkpoints)",
                                     qpath, ll_quote(qtok, tokenizer_path, strlen(tokenizer_path))));
        }
        ll_gguf *g = ll_gguf_open_file(&f, path, err); /* takes f; prefixes path on failure */
        if (!g) return finish(m, err ? err->status : LL_ERR_FORMAT);
        st = load_gguf(m, g, err);
        if (st != LL_OK) ll_error_prefix(err, "%s", qpath);
        return finish(m, st);
    }
    m->file = f;
    st = ll_model_from_llama2c(m, m->file.data, m->file.size, err);
    if (st == LL_OK && tokenizer_path) {
        m->tok = ll_tokenizer_load(tokenizer_path, err);
        if (!m->tok) st = err ? err->status : LL_ERR_FORMAT;
        else st = check_tokenizer_size(m, tokenizer_path, err);
    }
    if (st != LL_OK) ll_error_prefix(err, "%s", qpath);
    return finish(m, st);
}

const ll_model_info *ll_model_get_info(const ll_model *m) { return &m->info; }
const ll_tokenizer *ll_model_get_tokenizer(const ll_model *m) { return m->tok; }
