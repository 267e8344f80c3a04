/*
 * export.c - writes a loaded model (GGUF or llama2.c) as a GGUF of any
 * supported tensor type with the project's own writer, following the
 * conventions llama.cpp reads: the architecture's own keys
 * ("<arch>.embedding_length", its soft-caps, window and RoPE scaling),
 * blk.N.* tensor names from the layer-tensor table (arch.c; a fused
 * tensor is written whole again), no output.weight when the classifier is
 * tied to the embeddings, the SentencePiece vocabulary with scores and
 * token types. llama2.c checkpoints already use the interleaved (GPT-J
 * style) rotation that llama.cpp's "llama" architecture applies, so Q and
 * K need no permutation.
 */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../format/gguf_write.h"
#include "../format/tensor_types.h"
#include "../kernels/quant.h"
#include "../tokenizer/tokenizer_impl.h"
#include "export.h"
#include "model_impl.h"

uint32_t ll_ftype_of(uint32_t type) {
    switch (type) {
    case LL_T_F32: return 0;
    case LL_T_F16: return 1;
    case LL_T_Q4_0: return 2;
    case LL_T_Q4_1: return 3;
    case LL_T_Q5_0: return 8;
    case LL_T_Q5_1: return 9;
    case LL_T_Q8_0: return 7;
    case LL_T_Q4_K: return 15; /* Q4_K_M's code: the closest named one */
    case LL_T_Q5_K: return 17;
    case LL_T_Q6_K: return 18;
    case LL_T_BF16: return 32;
    default: return 0;
    }
}

/* One tensor of `type` from the rows of parts[0], then parts[1], ... (a
 * fused tensor's parts: each its own matrix, repacked ones included). */
static ll_status add_weight_parts(ll_gguf_writer *w, const char *name, const ll_weight *const *parts, unsigned n_parts,
                                  uint32_t type, ll_error *err) {
    size_t rows = 0, cols = parts[0]->m.cols;
    for (unsigned p = 0; p < n_parts; p++) rows += parts[p]->m.rows; /* each <= 2^20 (the dimension limits) */
    /* a row length the block does not divide stays F32 rather than fail */
    if (cols % ll_type_info_of(type)->block) type = LL_T_F32;
    size_t rb = ll_row_bytes(type, cols);
    uint8_t *data = malloc(rb * rows);
    float *row = malloc(cols * sizeof *row);
    ll_status st = LL_OK;
    if (!data || !row) {
        st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory converting %s", name);
    } else {
        /* a NaN or inf weight has no quantized form (and would be undefined
         * behaviour in the float -> int conversion): name it */
        for (size_t i = 0, p = 0, i0 = 0; i < rows && st == LL_OK; i++) {
            if (i - i0 == parts[p]->m.rows) i0 += parts[p++]->m.rows;
            ll_weight_row(parts[p], i - i0, row);
            for (size_t j = 0; j < cols && st == LL_OK; j++)
                if (!isfinite(row[j]))
                    st = ll_fail(err, LL_ERR_FORMAT, "tensor %s has a non-finite weight (%g) at row %zu, column %zu",
                                 name, (double)row[j], i, j);
            if (st == LL_OK) ll_quantize_row(type, row, data + i * rb, cols);
        }
        if (st == LL_OK) {
            uint64_t ne[2] = {cols, rows};
            st = ll_gguf_add_tensor(w, name, type, ne, 2, data);
            if (st != LL_OK) ll_fail(err, st, "cannot add tensor %s", name);
        }
    }
    free(data);
    free(row);
    return st;
}

static ll_status add_weight(ll_gguf_writer *w, const char *name, const ll_weight *src, uint32_t type, ll_error *err) {
    return add_weight_parts(w, name, &src, 1, type, err);
}

static ll_status add_vector(ll_gguf_writer *w, const char *name, const float *v, size_t n, ll_error *err) {
    uint64_t ne[1] = {n};
    ll_status st = ll_gguf_add_tensor(w, name, LL_T_F32, ne, 1, v);
    if (st != LL_OK) ll_fail(err, st, "cannot add tensor %s", name);
    return st;
}

/* "<arch>.<suffix>" keys */
static void add_u32k(ll_gguf_writer *w, const char *arch, const char *suffix, size_t v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    ll_gguf_add_u32(w, key, (uint32_t)v);
}

static void add_f32k(ll_gguf_writer *w, const char *arch, const char *suffix, float v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    ll_gguf_add_f32(w, key, v);
}

/* The hyperparameters, as the keys the loader reads them from. */
static void add_hparams(ll_gguf_writer *w, const ll_model *m) {
    const ll_model_info *in = &m->info;
    const ll_arch *a = m->arch;
    const char *arch = a->name;
    add_u32k(w, arch, "context_length", in->n_ctx_train);
    add_u32k(w, arch, "embedding_length", in->dim);
    add_u32k(w, arch, "block_count", in->n_layers);
    add_u32k(w, arch, "feed_forward_length", in->ffn_dim);
    add_u32k(w, arch, "attention.head_count", in->n_heads);
    add_u32k(w, arch, "attention.head_count_kv", in->n_kv_heads);
    if (in->dim % in->n_heads != 0 || in->head_dim != in->dim / in->n_heads) {
        add_u32k(w, arch, "attention.key_length", in->head_dim);
        add_u32k(w, arch, "attention.value_length", in->head_dim);
    }
    add_u32k(w, arch, "rope.dimension_count", in->rope_dim);
    add_u32k(w, arch, "vocab_size", in->n_vocab);
    add_f32k(w, arch, "rope.freq_base", m->rope[0].base);
    add_f32k(w, arch, "attention.layer_norm_rms_epsilon", in->rms_eps);
    if (a->attn_softcap.used) add_f32k(w, arch, "attn_logit_softcapping", m->attn_softcap);
    if (a->final_softcap.used && m->final_softcap != 0) add_f32k(w, arch, "final_logit_softcapping", m->final_softcap);
    if (a->swa_period) {
        size_t window = 0;
        for (size_t l = 0; l < in->n_layers && !window; l++) window = m->layers[l].window;
        add_u32k(w, arch, "attention.sliding_window", window);
    }
    if (m->n_rope > 1) add_f32k(w, arch, "rope.freq_base_swa", m->rope[1].base);
    if (m->rope[0].scale != 1.0f) {
        char key[128];
        snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
        ll_gguf_add_str(w, key, a->rope_factors == LL_ROPE_FACTORS_LONGROPE ? "longrope" : "linear");
        add_f32k(w, arch, "rope.scaling.factor", 1.0f / m->rope[0].scale);
    }
    if (m->rope_mscale != 1.0f) add_f32k(w, arch, "rope.scaling.attn_factor", m->rope_mscale);
    if (a->rope_factors == LL_ROPE_FACTORS_LONGROPE)
        add_u32k(w, arch, "rope.scaling.original_context_length", m->rope_orig_ctx);
}

/* The RoPE factor vectors the model has. */
static ll_status add_rope_factors(ll_gguf_writer *w, const ll_model *m, ll_error *err) {
    const ll_rope *r = &m->rope[0];
    size_t n = m->info.rope_dim / 2;
    bool longrope = m->arch->rope_factors == LL_ROPE_FACTORS_LONGROPE;
    ll_status st = LL_OK;
    if (r->factors) st = add_vector(w, longrope ? "rope_factors_long.weight" : "rope_freqs.weight", r->factors, n, err);
    if (st == LL_OK && r->factors_short) st = add_vector(w, "rope_factors_short.weight", r->factors_short, n, err);
    return st;
}

/* Layer l's tensors from the layer-tensor table; a fused tensor's parts
 * are written back as the one tensor, part after part. */
static ll_status add_layer(ll_gguf_writer *w, const ll_model *m, size_t l, uint32_t type, ll_error *err) {
    const ll_model_info *in = &m->info;
    const size_t dims[LL_DIM_COUNT] = {in->dim, m->q_dim, m->kv_dim, in->ffn_dim, in->head_dim};
    const char *layer = (const char *)&m->layers[l];
    ll_status st = LL_OK;
    for (size_t i = 0; i < ll_layer_tensor_count() && st == LL_OK; i++) {
        const ll_layer_tensor *t = ll_layer_tensor_at(i);
        if (!ll_arch_has(m->arch, t)) continue;
        char n[96];
        snprintf(n, sizeof n, "blk.%zu.%s", l, t->name);
        if (t->parts == 0) {
            st = add_vector(w, n, *(const float *const *)(const void *)(layer + t->field[0]), dims[t->cols], err);
        } else {
            const ll_weight *parts[LL_MAX_PARTS];
            for (unsigned p = 0; p < t->parts; p++) parts[p] = (const ll_weight *)(const void *)(layer + t->field[p]);
            st = add_weight_parts(w, n, parts, t->parts, type, err);
        }
    }
    return st;
}

ll_status ll_model_export_gguf(const ll_model *m, const ll_export_options *o, const char *path, ll_error *err) {
    const ll_model_info *in = &m->info;
    const ll_tokenizer *t = m->tok;
    if (!t || t->kind != LL_TOKENIZER_SPM)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "export needs the model's SentencePiece vocabulary (give --tokenizer for a llama2.c checkpoint)");
    if (!ll_type_info_of(o->type) || !ll_type_info_of(o->type)->name)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "tensor type %u cannot be written", o->type);
    ll_gguf_writer *w = ll_gguf_writer_new(err);
    if (!w) return err ? err->status : LL_ERR_OUT_OF_MEMORY;
    ll_gguf_add_str(w, "general.architecture", m->arch->name);
    ll_gguf_add_str(w, "general.name", o->name ? o->name : in->name);
    if (o->description) ll_gguf_add_str(w, "general.description", o->description);
    if (o->license) ll_gguf_add_str(w, "general.license", o->license);
    ll_gguf_add_u32(w, "general.file_type", ll_ftype_of(o->type));
    ll_gguf_add_u32(w, "general.quantization_version", 2);
    add_hparams(w, m);
    ll_gguf_add_str(w, "tokenizer.ggml.model", "llama");
    ll_gguf_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)t->text, t->n);
    ll_gguf_add_arr_f32(w, "tokenizer.ggml.scores", t->score, t->n);
    ll_gguf_add_arr_i32(w, "tokenizer.ggml.token_type", t->type, t->n);
    if (t->bos >= 0) ll_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos);
    if (t->eos >= 0) ll_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos);
    if (t->unk >= 0) ll_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk);
    ll_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos);
    ll_gguf_add_bool(w, "tokenizer.ggml.add_eos_token", t->add_eos);
    ll_gguf_add_bool(w, "tokenizer.ggml.add_space_prefix", t->add_space_prefix);

    ll_status st = add_rope_factors(w, m, err);
    if (st == LL_OK) st = add_weight(w, "token_embd.weight", &m->tok_embd, o->type, err);
    if (st == LL_OK && !in->tied_output) st = add_weight(w, "output.weight", &m->output, o->type, err);
    if (st == LL_OK) st = add_vector(w, "output_norm.weight", m->output_norm, in->dim, err);
    for (size_t l = 0; l < in->n_layers && st == LL_OK; l++) st = add_layer(w, m, l, o->type, err);
    if (st == LL_OK) st = ll_gguf_write(w, path, err);
    ll_gguf_writer_free(w);
    return st;
}
