/*
 * export.c - writes a loaded model (GGUF or llama2.c) as a llama GGUF of
 * any supported tensor type with the project's own writer, following the
 * conventions llama.cpp reads: llama.* hyperparameters, blk.N.* tensor
 * names, no output.weight when the classifier is tied to the embeddings,
 * the SentencePiece vocabulary with scores and token types. llama2.c
 * checkpoints already use the interleaved (GPT-J style) rotation that
 * llama.cpp's "llama" architecture applies, so Q and K need no permutation.
 */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../kernels/quant.h"
#include "../tokenizer/tokenizer_impl.h"
#include "export.h"
#include "gguf_write.h"
#include "model_impl.h"
#include "tensor_types.h"

/* llama.cpp's general.file_type (LLAMA_FTYPE_*) for a uniform file */
static uint32_t ftype_of(uint32_t type) {
    switch (type) {
    case LL_T_F32: return 0;
    case LL_T_F16: return 1;
    case LL_T_Q4_0: return 2;
    case LL_T_Q8_0: return 7;
    case LL_T_Q4_K: return 15; /* Q4_K_M's code: the closest named one */
    case LL_T_Q5_K: return 17;
    case LL_T_Q6_K: return 18;
    case LL_T_BF16: return 32;
    default: return 0;
    }
}

static ll_status add_weight(ll_gguf_writer *w, const char *name, const ll_weight *src, uint32_t type, ll_error *err) {
    size_t rows = src->m.rows, cols = src->m.cols;
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
        for (size_t i = 0; i < rows && st == LL_OK; i++) {
            ll_weight_row(src, i, row);
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

static ll_status add_vector(ll_gguf_writer *w, const char *name, const float *v, size_t n, ll_error *err) {
    uint64_t ne[1] = {n};
    ll_status st = ll_gguf_add_tensor(w, name, LL_T_F32, ne, 1, v);
    if (st != LL_OK) ll_fail(err, st, "cannot add tensor %s", name);
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
    ll_gguf_add_str(w, "general.architecture", "llama");
    ll_gguf_add_str(w, "general.name", o->name ? o->name : in->name);
    if (o->description) ll_gguf_add_str(w, "general.description", o->description);
    if (o->license) ll_gguf_add_str(w, "general.license", o->license);
    ll_gguf_add_u32(w, "general.file_type", ftype_of(o->type));
    ll_gguf_add_u32(w, "general.quantization_version", 2);
    ll_gguf_add_u32(w, "llama.context_length", (uint32_t)in->n_ctx_train);
    ll_gguf_add_u32(w, "llama.embedding_length", (uint32_t)in->dim);
    ll_gguf_add_u32(w, "llama.block_count", (uint32_t)in->n_layers);
    ll_gguf_add_u32(w, "llama.feed_forward_length", (uint32_t)in->ffn_dim);
    ll_gguf_add_u32(w, "llama.attention.head_count", (uint32_t)in->n_heads);
    ll_gguf_add_u32(w, "llama.attention.head_count_kv", (uint32_t)in->n_kv_heads);
    ll_gguf_add_u32(w, "llama.rope.dimension_count", (uint32_t)in->rope_dim);
    ll_gguf_add_u32(w, "llama.vocab_size", (uint32_t)in->n_vocab);
    ll_gguf_add_f32(w, "llama.rope.freq_base", in->rope_base);
    ll_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", in->rms_eps);
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

    ll_status st = add_weight(w, "token_embd.weight", &m->tok_embd, o->type, err);
    if (st == LL_OK && !in->tied_output) st = add_weight(w, "output.weight", &m->output, o->type, err);
    if (st == LL_OK) st = add_vector(w, "output_norm.weight", m->output_norm, in->dim, err);
    for (size_t l = 0; l < in->n_layers && st == LL_OK; l++) {
        const ll_layer *L = &m->layers[l];
        char n[64];
        struct {
            const char *suffix;
            const ll_weight *wt;
        } mats[] = {{"attn_q", &L->wq},       {"attn_k", &L->wk},  {"attn_v", &L->wv},   {"attn_output", &L->wo},
                    {"ffn_gate", &L->w_gate}, {"ffn_up", &L->w_up}, {"ffn_down", &L->w_down}};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0] && st == LL_OK; i++) {
            snprintf(n, sizeof n, "blk.%zu.%s.weight", l, mats[i].suffix);
            st = add_weight(w, n, mats[i].wt, o->type, err);
        }
        snprintf(n, sizeof n, "blk.%zu.attn_norm.weight", l);
        if (st == LL_OK) st = add_vector(w, n, L->attn_norm, in->dim, err);
        snprintf(n, sizeof n, "blk.%zu.ffn_norm.weight", l);
        if (st == LL_OK) st = add_vector(w, n, L->ffn_norm, in->dim, err);
    }
    if (st == LL_OK) st = ll_gguf_write(w, path, err);
    ll_gguf_writer_free(w);
    return st;
}
