/*
 * model.c - loading a Llama-architecture model from GGUF or from a
 * llama2.c checkpoint: hyperparameters from metadata (with the defaults
 * llama.cpp uses when a key is absent), every tensor's presence, shape and
 * type checked, weights left in the mapped file (but Q4_0 matrices, which
 * are repacked into memory of their own for the kernels). A model file is untrusted
 * input: every hyperparameter is range-checked before it is used in any
 * arithmetic (messages name the key, the value and the range, one broken
 * rule per message), sizes are checked products, and the tokenizer must
 * have exactly as many tokens as the embedding has rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "model_impl.h"

#include <float.h>
#include <math.h>
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
 * absent), or also 0 where zero_ok (a soft-cap or scale of 0 means "off",
 * as in llama.cpp). Zero, negative, NaN or infinite would not fail here but
 * as NaN logits far from the file; a float64 that does not survive the
 * conversion to float (1e300, 1e-300) is refused with its own value. */
static ll_status get_float(const ll_gguf *g, const char *arch, const char *suffix, float def, bool zero_ok, float *out,
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
    bool ok = (v > 0 && v <= FLT_MAX && *out > 0) || (zero_ok && v == 0);
    if (!ok) {
        char buf[32];
        return ll_fail(err, LL_ERR_FORMAT,
                       "metadata '%s' = %s is invalid (valid: %sa finite number > 0 that fits a float, %g to %g; at "
                       "byte offset %llu)",
                       key, kv->type == LL_GGUF_FLOAT32 ? ll_format_float(buf, (float)v) : ll_format_double(buf, v),
                       zero_ok ? "0 for off, or " : "", (double)FLT_TRUE_MIN, (double)FLT_MAX,
                       (unsigned long long)kv->offset);
    }
    return LL_OK;
}

/* The names of the tensor types logitlab computes with, from the type
 * table: "F32, F16, ...". */
static const char *supported_types(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (uint32_t t = 0; t < LL_T_COUNT; t++) {
        const ll_type_info *ti = ll_type_info_of(t);
        if (ti && ti->supported && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", ti->name);
    }
    return buf;
}

/* The tensor `name` as a matrix of `cols` inputs and `rows` outputs (rows
 * 0: a vector of cols values). Absent: an error, or an empty weight where
 * optional. */
static ll_status bind(ll_weight *w, const ll_gguf *g, const char *name, uint64_t cols, uint64_t rows, bool optional,
                      ll_error *err) {
    memset(w, 0, sizeof *w);
    const ll_gguf_tensor *t = ll_gguf_tensor_find(g, name);
    if (!t) {
        if (optional) return LL_OK;
        return ll_fail(err, LL_ERR_FORMAT, "tensor '%s' is missing", name);
    }
    const ll_type_info *ti = ll_type_info_of(t->type);
    if (!ti->supported) {
        char list[LL_T_COUNT * 8]; /* type names are at most 4 characters, 6 with ", " */
        return ll_fail(err, LL_ERR_UNSUPPORTED, "tensor '%s' has type %s, which logitlab does not support (supported: %s)",
                       name, ti->name, supported_types(list, sizeof list));
    }
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

/* A 1-D weight as float: pointed at when stored F32, converted into the
 * store otherwise (*out NULL when optional and absent). */
static ll_status bind_vector(const float **out, const ll_gguf *g, const char *name, uint64_t n, bool optional,
                             float **store, ll_error *err) {
    ll_weight w;
    *out = NULL;
    ll_status st = bind(&w, g, name, n, 0, optional, err);
    if (st != LL_OK || !w.m.data) return st;
    if (w.m.type == LL_T_F32) {
        *out = (const float *)w.m.data;
        return LL_OK;
    }
    ll_dequantize_row_ref(w.m.type, w.m.data, *store, (size_t)n);
    *out = *store;
    *store += n;
    return LL_OK;
}

/* A matrix whose rows are `parts` blocks (a fused tensor), each bound to
 * its own weight as a view of its rows. */
static ll_status bind_matrix(ll_weight *const *dst, unsigned parts, const size_t *rows, const ll_gguf *g,
                             const char *name, size_t cols, ll_error *err) {
    ll_weight whole;
    size_t total = 0;
    for (unsigned i = 0; i < parts; i++) total += rows[i]; /* each <= 2^20 (the dimension limits) */
    ll_status st = bind(&whole, g, name, cols, total, false, err);
    if (st != LL_OK) return st;
    size_t r0 = 0;
    for (unsigned i = 0; i < parts; i++) {
        *dst[i] = whole;
        dst[i]->m.data = whole.m.data + r0 * whole.m.row_bytes;
        dst[i]->m.rows = rows[i];
        r0 += rows[i];
    }
    return LL_OK;
}

/* The row of general.architecture, or an error naming it and listing the
 * supported ones. */
static ll_status find_arch(const ll_gguf *g, const ll_arch **row, char *name, size_t cap, ll_error *err) {
    bool found;
    char *arch = ll_gguf_get_str(g, "general.architecture", &found, err);
    if (!found) return ll_fail(err, LL_ERR_FORMAT, "metadata 'general.architecture' is missing");
    if (!arch) return err ? err->status : LL_ERR_FORMAT;
    *row = ll_arch_find(arch);
    ll_status st = LL_OK;
    if (*row) {
        snprintf(name, cap, "%s", (*row)->name); /* a table name: fits */
    } else {
        size_t n = ll_arch_names(NULL, 0) + 1;
        char *names = ll_malloc(n, err), q[LL_QUOTE_MAX];
        st = names ? ll_fail(err, LL_ERR_UNSUPPORTED, "architecture '%s' is not supported (supported: %s)",
                             ll_quote(q, arch, strlen(arch)), (ll_arch_names(names, n), names))
                   : LL_ERR_OUT_OF_MEMORY;
        free(names);
    }
    free(arch);
    return st;
}

/* The block's sizes: width, layers, FFN, heads, head size, RoPE dims. */
static ll_status read_shape(ll_model *m, const ll_gguf *g, ll_error *err) {
    ll_model_info *in = &m->info;
    const char *arch = m->arch->name;
    ll_status st;
#define HP_TO(var, suffix, req, def, lo, hi) \
    if ((st = get_hparam(g, arch, suffix, req, def, lo, hi, &var, err)) != LL_OK) return st;
#define HP(field, suffix, req, def, lo, hi) HP_TO(in->field, suffix, req, def, lo, hi)
    HP(n_ctx_train, "context_length", false, 2048, 1, LL_MAX_CTX)
    HP(dim, "embedding_length", true, 0, 1, LL_MAX_DIM)
    HP(n_layers, "block_count", true, 0, 1, LL_MAX_LAYERS)
    HP(ffn_dim, "feed_forward_length", true, 0, 1, LL_MAX_FFN)
    HP(n_heads, "attention.head_count", true, 0, 1, in->dim)
    HP(n_kv_heads, "attention.head_count_kv", false, in->n_heads, 1, in->n_heads)
    /* a mixture of experts (Mixtral is 'llama' with expert tensors) has
     * no dense FFN to bind: say so rather than name a missing tensor */
    size_t experts;
    HP_TO(experts, "expert_count", false, 0, 0, UINT32_MAX)
    if (experts)
        return ll_fail(err, LL_ERR_UNSUPPORTED,
                       "metadata '%s.expert_count' = %zu: mixture-of-experts models are not supported (logitlab runs "
                       "dense blocks: valid is 0 or absent)",
                       arch, experts);
    /* the head size is width / heads unless the file says (Gemma, Qwen3:
     * then the query width differs from the width) */
    char key[128];
    snprintf(key, sizeof key, "%s.attention.key_length", arch);
    if (in->dim % in->n_heads != 0 && !ll_gguf_find(g, key))
        return ll_fail(err, LL_ERR_FORMAT,
                       "inconsistent hyperparameters: %s.embedding_length %zu is not a multiple of "
                       "%s.attention.head_count %zu (and '%s', which would give the head size, is absent)",
                       arch, in->dim, arch, in->n_heads, key);
    size_t head_v;
    HP(head_dim, "attention.key_length", false, in->dim / in->n_heads, 1, LL_MAX_DIM)
    HP(rope_dim, "rope.dimension_count", false, in->head_dim, 0, in->head_dim)
    HP_TO(head_v, "attention.value_length", false, in->dim / in->n_heads, 1, LL_MAX_DIM)
#undef HP
#undef HP_TO
    /* one message per rule, naming it */
    if (in->n_heads % in->n_kv_heads != 0)
        return ll_fail(err, LL_ERR_FORMAT,
                       "inconsistent hyperparameters: %s.attention.head_count %zu is not a multiple of "
                       "%s.attention.head_count_kv %zu",
                       arch, in->n_heads, arch, in->n_kv_heads);
    if (head_v != in->head_dim)
        return ll_fail(err, LL_ERR_UNSUPPORTED,
                       "%s.attention.value_length %zu differs from the key head size %zu: logitlab needs equal key and "
                       "value head sizes",
                       arch, head_v, in->head_dim);
    if (in->rope_dim % 2)
        return ll_fail(err, LL_ERR_FORMAT,
                       "inconsistent hyperparameters: %s.rope.dimension_count %zu is odd (rotation works on pairs)",
                       arch, in->rope_dim);
    /* heads <= width and head size <= 2^16 keep these far from overflow */
    m->q_dim = in->n_heads * in->head_dim;
    m->kv_dim = in->n_kv_heads * in->head_dim;
    if (m->q_dim > LL_MAX_FFN)
        return ll_fail(err, LL_ERR_FORMAT,
                       "the query width %s.attention.head_count %zu x head size %zu = %zu is out of range (valid: 1 to "
                       "%u)",
                       arch, in->n_heads, in->head_dim, m->q_dim, LL_MAX_FFN);
    return get_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5f, false, &in->rms_eps, err);
}

/* RoPE position scaling by rope.scaling.type: whether the factor applies. */
static const struct {
    const char *name;
    bool scales;
} rope_scalings[] = {{"none", false}, {"linear", true}, {"longrope", true}};

/* rope.scaling.type (llama.cpp's default "linear") and .factor (or the
 * older rope.scale_linear; absent or 0: 1) as the angle's multiplier. */
static ll_status read_rope_scale(const ll_gguf *g, const char *arch, float *scale, ll_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    bool found;
    char *type = ll_gguf_get_str(g, key, &found, err);
    if (found && !type) return err ? err->status : LL_ERR_FORMAT;
    const char *t = type ? type : "linear";
    size_t i = 0;
    while (i < LL_ARRAY_LEN(rope_scalings) && strcmp(rope_scalings[i].name, t) != 0) i++;
    ll_status st = LL_OK;
    float factor = 0;
    if (i == LL_ARRAY_LEN(rope_scalings)) {
        char q[LL_QUOTE_MAX];
        st = ll_fail(err, LL_ERR_UNSUPPORTED,
                     "metadata '%s' = '%s' is not supported (supported: none, linear, longrope; YaRN is not "
                     "implemented)",
                     key, ll_quote(q, t, strlen(t)));
    } else {
        snprintf(key, sizeof key, "%s.rope.scaling.factor", arch);
        st = get_float(g, arch, ll_gguf_find(g, key) ? "rope.scaling.factor" : "rope.scale_linear", 0, true, &factor,
                       err);
    }
    free(type);
    if (st == LL_OK) *scale = rope_scalings[i].scales && factor != 0 ? 1.0f / factor : 1.0f;
    return st;
}

/* The architecture's hyperparameters beyond the shape: soft-caps, sliding
 * windows, RoPE variants, scales. */
static ll_status read_arch_params(ll_model *m, const ll_gguf *g, ll_error *err) {
    const ll_arch *a = m->arch;
    ll_model_info *in = &m->info;
    ll_status st;
    in->rope_neox = (a->features & LL_ARCH_ROPE_NEOX) != 0;
    m->act = a->act;
    m->embed_scale = a->features & LL_ARCH_EMBED_SCALE ? sqrtf((float)in->dim) : 1.0f;
    size_t scale_dim = a->scale_by_width_layers == in->n_layers ? in->dim / in->n_heads : in->head_dim;
    m->q_scale = 1.0f / sqrtf((float)scale_dim);
    if (a->attn_softcap.used &&
        (st = get_float(g, a->name, "attn_logit_softcapping", a->attn_softcap.def, true, &m->attn_softcap, err)) !=
            LL_OK)
        return st;
    if (a->final_softcap.used &&
        (st = get_float(g, a->name, "final_logit_softcapping", a->final_softcap.def, true, &m->final_softcap, err)) !=
            LL_OK)
        return st;
    size_t window = 0;
    if (a->swa_period &&
        (st = get_hparam(g, a->name, "attention.sliding_window", a->swa_window_def == 0, a->swa_window_def, 0,
                         LL_MAX_CTX, &window, err)) != LL_OK)
        return st;
    ll_rope *global = &m->rope[0], *local = &m->rope[1];
    if ((st = get_float(g, a->name, "rope.freq_base", 10000.0f, false, &global->base, err)) != LL_OK ||
        (st = read_rope_scale(g, a->name, &global->scale, err)) != LL_OK ||
        (st = get_float(g, a->name, "rope.scaling.attn_factor", 1.0f, false, &m->rope_mscale, err)) != LL_OK ||
        (st = get_hparam(g, a->name, "rope.scaling.original_context_length", false, in->n_ctx_train, 1, LL_MAX_CTX,
                         &m->rope_orig_ctx, err)) != LL_OK)
        return st;
    in->rope_base = global->base;
    m->n_rope = 1;
    if (window && a->swa_own_rope) {
        *local = (ll_rope){.scale = 1.0f};
        if ((st = get_float(g, a->name, "rope.freq_base_swa", 10000.0f, false, &local->base, err)) != LL_OK) return st;
        m->n_rope = 2;
    }
    for (size_t l = 0; l < in->n_layers; l++) {
        bool is_local = a->swa_period && l % a->swa_period < a->swa_period - 1;
        m->layers[l].window = is_local ? window : 0;
        m->layers[l].rope = is_local && m->n_rope == 2 ? 1 : 0;
    }
    return LL_OK;
}

/* The per-pair RoPE factors the architecture reads (optional tensors). */
static ll_status bind_rope_factors(ll_model *m, const ll_gguf *g, float **store, ll_error *err) {
    size_t n = m->info.rope_dim / 2;
    ll_rope *r = &m->rope[0];
    switch (m->arch->rope_factors) {
    case LL_ROPE_FACTORS_NONE: return LL_OK;
    case LL_ROPE_FACTORS_FREQS: return bind_vector(&r->factors, g, "rope_freqs.weight", n, true, store, err);
    case LL_ROPE_FACTORS_LONGROPE: {
        ll_status st = bind_vector(&r->factors, g, "rope_factors_long.weight", n, true, store, err);
        return st != LL_OK ? st : bind_vector(&r->factors_short, g, "rope_factors_short.weight", n, true, store, err);
    }
    }
    return LL_OK;
}

/* ggml's GELU (tanh form) in float, as its table is built. */
static float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
}

static ll_status build_gelu_table(ll_model *m, ll_error *err) {
    m->gelu_table = ll_malloc(65536 * sizeof(float), err);
    if (!m->gelu_table) return LL_ERR_OUT_OF_MEMORY;
    for (uint32_t h = 0; h < 65536; h++)
        m->gelu_table[h] = ll_fp16_to_fp32(ll_fp32_to_fp16(gelu_tanh(ll_fp16_to_fp32((uint16_t)h))));
    return LL_OK;
}

/* The matrices of a layer's products (a fused tensor is bound to these
 * parts); absent optional ones are empty. */
static const size_t layer_matrices[] = {offsetof(ll_layer, wq),     offsetof(ll_layer, wk),     offsetof(ll_layer, wv),
                                        offsetof(ll_layer, wo),     offsetof(ll_layer, w_gate), offsetof(ll_layer, w_down),
                                        offsetof(ll_layer, w_up)};

static ll_weight *layer_matrix(const ll_model *m, size_t l, size_t i) {
    return (ll_weight *)(void *)((char *)&m->layers[l] + layer_matrices[i]);
}

/* The matrices of the model's products (the embedding, read row by row,
 * stays as it is: a tied output gets its own copy). */
static size_t product_weights(ll_model *m, ll_weight **out) {
    size_t n = 0;
    for (size_t l = 0; l < m->info.n_layers; l++)
        for (size_t i = 0; i < LL_ARRAY_LEN(layer_matrices); i++, n++)
            if (out) out[n] = layer_matrix(m, l, i);
    if (out) out[n] = &m->output;
    return n + 1;
}

/* Every Q4_0 matrix repacked for the kernels (matmul.h, LL_T_Q4_0_R16)
 * into one owned buffer, and the file's pages it came from let go. */
static ll_status repack_weights(ll_model *m, ll_error *err) {
    size_t n = product_weights(m, NULL), total = 0;
    ll_weight **ws = ll_calloc(n, sizeof *ws, err);
    if (!ws) return LL_ERR_OUT_OF_MEMORY;
    product_weights(m, ws);
    ll_status st = LL_OK;
    for (size_t i = 0; i < n && st == LL_OK; i++)
        if (total > SIZE_MAX - 64 - ll_repack_bytes(&ws[i]->m))
            st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "the repacked Q4_0 weights overflow the address space");
        else
            total += ll_repack_bytes(&ws[i]->m);
    if (st == LL_OK && total > 0 && !(m->repacked = ll_pages_alloc(m->repacked_bytes = total + 64, err)))
        st = LL_ERR_OUT_OF_MEMORY;
    if (st == LL_OK && total > 0) {
        uint8_t *p = (uint8_t *)(((uintptr_t)m->repacked + 63) & ~(uintptr_t)63);
        for (size_t i = 0; i < n; i++) {
            ll_matrix *w = &ws[i]->m;
            size_t bytes = ll_repack_bytes(w);
            if (!bytes) continue;
            const uint8_t *from = w->data;
            ll_repack(w, p);
            ll_file_forget(&m->gguf->file, from, w->rows * w->row_bytes);
            p += bytes;
        }
    }
    free(ws);
    return st;
}

/* Every layer's tensors from the layer-tensor table, for this architecture. */
static ll_status bind_layers(ll_model *m, const ll_gguf *g, float **store, ll_error *err) {
    const ll_model_info *in = &m->info;
    const size_t dims[LL_DIM_COUNT] = {in->dim, m->q_dim, m->kv_dim, in->ffn_dim, in->head_dim};
    for (size_t l = 0; l < in->n_layers; l++) {
        char *layer = (char *)&m->layers[l];
        for (size_t i = 0; i < ll_layer_tensor_count(); i++) {
            const ll_layer_tensor *t = ll_layer_tensor_at(i);
            if (!ll_arch_has(m->arch, t)) continue;
            char nm[96];
            snprintf(nm, sizeof nm, "blk.%zu.%s", l, t->name);
            ll_status st;
            if (t->parts == 0) {
                st = bind_vector((const float **)(void *)(layer + t->field[0]), g, nm, dims[t->cols], false, store,
                                 err);
            } else {
                ll_weight *dst[3];
                size_t rows[3];
                for (unsigned p = 0; p < t->parts; p++) {
                    dst[p] = (ll_weight *)(void *)(layer + t->field[p]);
                    rows[p] = dims[t->rows[p]];
                }
                st = bind_matrix(dst, t->parts, rows, g, nm, dims[t->cols], err);
            }
            if (st != LL_OK) return st;
        }
    }
    return LL_OK;
}

/* Floats the converted (non-F32) vectors may need: every vector the
 * architecture reads. */
static bool vector_floats(const ll_model *m, size_t *out) {
    const ll_model_info *in = &m->info;
    const size_t dims[LL_DIM_COUNT] = {in->dim, m->q_dim, m->kv_dim, in->ffn_dim, in->head_dim};
    uint64_t per_layer = 0, total;
    for (size_t i = 0; i < ll_layer_tensor_count(); i++) {
        const ll_layer_tensor *t = ll_layer_tensor_at(i);
        if (t->parts == 0 && ll_arch_has(m->arch, t)) per_layer += dims[t->cols];
    }
    /* output_norm and two sets of RoPE factors */
    return ll_mul_ok(per_layer, in->n_layers, &total) && ll_add_ok(total, in->dim + in->rope_dim, &total) &&
           ll_mul_size_ok(total, 1, out);
}

ll_status ll_model_from_gguf(ll_model *m, ll_gguf *g, ll_error *err) {
    m->gguf = g;
    ll_model_info *in = &m->info;
    snprintf(in->format, sizeof in->format, "gguf");
    in->gguf_version = g->version;
    in->file_bytes = g->size;
    ll_status st = find_arch(g, &m->arch, in->arch, sizeof in->arch, err);
    if (st != LL_OK) return st;
    /* optional, but when present it must be a string: a number there is a
     * malformed file like any other wrong type (get_str has said which) */
    bool found;
    char *name = ll_gguf_get_str(g, "general.name", &found, err);
    if (found && !name) return err ? err->status : LL_ERR_FORMAT;
    snprintf(in->name, sizeof in->name, "%s", name ? name : "");
    free(name);
    if ((st = read_shape(m, g, err)) != LL_OK) return st;
    m->layers = ll_calloc(in->n_layers, sizeof *m->layers, err);
    if (!m->layers) return LL_ERR_OUT_OF_MEMORY;
    if ((st = read_arch_params(m, g, err)) != LL_OK) return st;

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

    size_t n_floats;
    if (!vector_floats(m, &n_floats))
        return ll_fail(err, LL_ERR_FORMAT, "%zu layers of %zu-wide norms overflow", in->n_layers, in->dim);
    m->owned_f32 = ll_calloc(n_floats, sizeof(float), err);
    if (!m->owned_f32) return LL_ERR_OUT_OF_MEMORY;
    float *store = m->owned_f32;
    if ((st = bind(&m->tok_embd, g, "token_embd.weight", in->dim, in->n_vocab, false, err)) != LL_OK) return st;
    if ((st = bind(&m->output, g, "output.weight", in->dim, in->n_vocab, true, err)) != LL_OK) return st;
    in->tied_output = m->output.m.data == NULL;
    if (in->tied_output) m->output = m->tok_embd;
    if ((st = bind_vector(&m->output_norm, g, "output_norm.weight", in->dim, false, &store, err)) != LL_OK ||
        (st = bind_rope_factors(m, g, &store, err)) != LL_OK || (st = bind_layers(m, g, &store, err)) != LL_OK)
        return st;
    if (m->act == LL_ACT_GELU_F16 && (st = build_gelu_table(m, err)) != LL_OK) return st;
    uint64_t params = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!ll_add_ok(params, g->tensors[i].n_elements, &params))
            return ll_fail(err, LL_ERR_FORMAT, "the tensors' element counts add up to more than 2^64");
    in->n_params = params;
    snprintf(in->file_type, sizeof in->file_type, "%s", ll_type_info_of(m->layers[0].wq.m.type)->name);
    return repack_weights(m, err);
}

const float *ll_model_rope_factors(const ll_model *m, unsigned r, size_t n_ctx) {
    const ll_rope *v = &m->rope[r];
    if (m->arch->rope_factors == LL_ROPE_FACTORS_LONGROPE && n_ctx <= m->rope_orig_ctx) return v->factors_short;
    return v->factors;
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

/* llama2.c checkpoints are the plain Llama block: base 10000, no scaling. */
static void llama2c_block(ll_model *m) {
    const ll_model_info *in = &m->info;
    m->arch = ll_arch_find("llama");
    m->act = m->arch->act;
    m->q_dim = in->dim;
    m->kv_dim = in->n_kv_heads * in->head_dim;
    m->q_scale = 1.0f / sqrtf((float)in->head_dim);
    m->embed_scale = 1.0f;
    m->rope[0] = (ll_rope){.base = in->rope_base, .scale = 1.0f};
    m->n_rope = 1;
    m->rope_mscale = 1.0f;
    m->rope_orig_ctx = in->n_ctx_train;
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
    llama2c_block(m);
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
    ll_matrix_row(&w->m, id, out);
}

/* ---- public ---- */

static bool is_gguf(const uint8_t *b, size_t n) { return n >= 4 && memcmp(b, "GGUF", 4) == 0; }

void ll_model_free(ll_model *m) {
    if (!m) return;
    ll_tokenizer_free(m->tok);
    free(m->layers);
    free(m->owned_f32);
    free(m->owned_buf);
    ll_pages_free(m->repacked, m->repacked_bytes);
    free(m->gelu_table);
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

const ll_gguf *ll_model_gguf(const ll_model *m) { return m->gguf; }

/* Bytes a product with w reads (0 for an absent optional weight). */
static uint64_t weight_bytes(const ll_weight *w) {
    uint64_t n = (uint64_t)w->m.rows * w->m.cols;
    if (w->m.type == LL_T_L2C_Q8) return n + n / (uint64_t)w->group * 4; /* int8 values and a float per group */
    return (uint64_t)w->m.rows * w->m.row_bytes;
}

uint64_t ll_model_token_bytes(const ll_model *m) {
    uint64_t sum = weight_bytes(&m->output);
    for (size_t l = 0; l < m->info.n_layers; l++)
        for (size_t i = 0; i < LL_ARRAY_LEN(layer_matrices); i++) sum += weight_bytes(layer_matrix(m, l, i));
    return sum;
}

/* Weights a token reads per thread, below which another thread costs more
 * than it saves: each of the ~100 products of a token hands work to the
 * threads and waits for them (microseconds each), which a small model's
 * products (tens of microseconds) do not repay. Measured with `logitlab
 * bench -p 8 -n 64 -r 1 -t 1,2` run 41 times (-t 1 and -t 2 interleaved)
 * on 2 vCPUs (Xeon, AVX-512 VNNI) shared with other jobs (load average
 * ~3): the best -t 2 run against the best -t 1 run (the machine's quiet
 * moments), and in brackets the median of the paired ratios (mostly no
 * free core for a second thread; the pool keeps that near 1):
 *   KJV Q8_0 (5.5M parameters), 5.5 MiB per token   0.97 (0.98)
 *   8.8M Q8_0, 8.9 MiB                              1.11 (0.97)
 *   13M Q8_0, 13.6 MiB                              1.19 (0.97)
 *   17M Q8_0, 17.5 MiB                              1.12 (0.97)
 *   KJV's shape in F32, 20.9 MiB                    1.35 (1.02)
 *   34M Q8_0, 34.3 MiB                              1.27 (0.95)
 *   110M Q8_0, 111 MiB (11 runs)                    1.64 (0.96; 1.83 in a quieter hour)
 * A second thread starts to pay between 5.5 and 9 MiB per token: one
 * thread per 6 MiB gives models from 12 MiB two threads (the 110M model
 * every CPU up to 18) and leaves the KJV model and stories260K one. */
#define LL_TOKEN_BYTES_PER_THREAD ((uint64_t)6 << 20)

int ll_model_default_threads(const ll_model *m) {
    uint64_t want = ll_model_token_bytes(m) / LL_TOKEN_BYTES_PER_THREAD;
    int cpus = ll_cpus_available();
    return want < 1 ? 1 : want > (uint64_t)cpus ? cpus : (int)want;
}

void ll_model_get_arch_info(const ll_model *m, ll_arch_info *out) {
    ll_arch_info a = {.family = m->arch->models,
                      .attention_scale = m->q_scale,
                      .attn_softcap = m->attn_softcap,
                      .final_softcap = m->final_softcap,
                      .rope_position_scale = m->rope[0].scale,
                      .rope_mscale = m->rope_mscale,
                      .rope_local_base = m->n_rope > 1 ? m->rope[1].base : 0.0f};
    size_t need = ll_arch_describe(m->arch, a.block, sizeof a.block);
    if (need >= sizeof a.block) memcpy(a.block + sizeof a.block - 4, "...", 4); /* said, not silently cut */
    for (size_t l = 0; l < m->info.n_layers; l++)
        if (m->layers[l].window) a.sliding_window = m->layers[l].window, a.sliding_window_layers++;
    const ll_rope *r = &m->rope[0];
    if (m->arch->rope_factors == LL_ROPE_FACTORS_LONGROPE && (r->factors || r->factors_short)) {
        a.rope_factors = LL_ROPE_FACTORS_LONG_SHORT;
        a.rope_orig_ctx = m->rope_orig_ctx;
    } else if (r->factors) {
        a.rope_factors = LL_ROPE_FACTORS_PER_PAIR;
    }
    *out = a;
}
