/*
 * model_impl.h - the loaded model: hyperparameters, weight matrices that
 * point into the mapped file, and the tokenizer (internal).
 */
#ifndef LL_MODEL_IMPL_H
#define LL_MODEL_IMPL_H

#include "../kernels/matmul.h"
#include "gguf.h"

/* llama2.c's int8 format (runq.c): per-group scales, activations quantized
 * the same way before each product. Not a GGUF type. */
#define LL_T_L2C_Q8 1000

typedef struct {
    ll_matrix m;          /* for GGUF types */
    const int8_t *q;      /* LL_T_L2C_Q8 */
    float *s;             /* its scales (copied: unaligned in the file) */
    int group;
} ll_weight;

typedef struct {
    ll_weight wq, wk, wv, wo, w_gate, w_down, w_up;
    const float *attn_norm, *ffn_norm;
} ll_layer;

struct ll_tokenizer;

struct ll_model {
    ll_model_info info;
    ll_weight tok_embd;   /* rows = vocabulary */
    ll_weight output;
    const float *output_norm;
    ll_layer *layers;
    struct ll_tokenizer *tok;
    ll_gguf *gguf;
    /* llama2.c checkpoints: the mapped file the weights point into */
    ll_file file;
    float *owned_f32;     /* converted norms and similar small copies */
    void *owned_buf;
    bool l2c_q8;
};

/* Parses a GGUF llama model from an opened file (takes ownership). */
ll_status ll_model_from_gguf(struct ll_model *m, ll_gguf *g, ll_error *err);
/* llama2.c checkpoint (legacy fp32 or version-2 int8) in memory. */
ll_status ll_model_from_llama2c(struct ll_model *m, const uint8_t *bytes, size_t size, ll_error *err);

/* Row `id` of a weight matrix as floats (embedding lookup). */
void ll_weight_row(const ll_weight *w, size_t id, float *out);

#endif /* LL_MODEL_IMPL_H */
