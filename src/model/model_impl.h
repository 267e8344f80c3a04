/*
 * model_impl.h - the loaded model: hyperparameters, weight matrices that
 * point into the mapped file, and the tokenizer (internal).
 */
#ifndef LL_MODEL_IMPL_H
#define LL_MODEL_IMPL_H

#include "../format/gguf.h"
#include "../kernels/matmul.h"
#include "arch.h"

/* llama2.c's int8 format (runq.c): per-group scales, activations quantized
 * the same way before each product. Not a GGUF type. */
#define LL_T_L2C_Q8 1000

typedef struct {
    ll_matrix m;          /* for GGUF types */
    const int8_t *q;      /* LL_T_L2C_Q8 */
    float *s;             /* its scales (copied: unaligned in the file) */
    int group;
} ll_weight;

/* One block. The optional parts are NULL where the architecture has none
 * (arch.h's layer-tensor table says which it has). */
typedef struct {
    ll_weight wq, wk, wv, wo, w_gate, w_down, w_up;
    const float *attn_norm, *ffn_norm;
    const float *bq, *bk, *bv;                   /* biases added to q, k, v */
    const float *q_norm, *k_norm;                /* per-head RMSNorm weights [head_dim] */
    const float *post_attn_norm, *post_ffn_norm; /* RMSNorm of each block's output before the residual add */
    size_t window;                               /* sliding window: a query at p1 sees keys p0 > p1 - window;
                                                    0: every key */
    unsigned rope;                               /* which of ll_model.rope */
} ll_layer;

/* One RoPE variant (a model has one, or two with sliding-window layers of
 * their own base): pair i of a head at position p turns by
 *   p * base^(-2i/n_rot) / factor[i] * scale
 * and its cos and sin are multiplied by ll_model.rope_mscale. */
typedef struct {
    float base, scale;
    /* per-pair factors (rope_dim / 2), NULL: 1. LongRoPE has a short set
     * as well: the context picks (ll_model_rope_factors). */
    const float *factors, *factors_short;
} ll_rope;

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
    void *repacked;       /* the Q4_0 matrices, repacked for the kernels (ll_repack) */
    size_t repacked_bytes; /* its size (ll_pages_alloc) */
    bool l2c_q8;
    /* what the architecture row and the file's keys make of the block */
    const ll_arch *arch;
    size_t q_dim, kv_dim;      /* heads x head size, KV heads x head size */
    float q_scale;             /* attention scores: q.k * q_scale */
    float embed_scale;         /* embedding rows are multiplied by it (1: not scaled) */
    float attn_softcap;        /* 0: off */
    float final_softcap;       /* 0: off */
    ll_activation act;
    float *gelu_table;         /* LL_ACT_GELU_F16: ggml's table, gelu_tanh of every FP16 value rounded to
                                  FP16, indexed by the input's FP16 bits */
    ll_rope rope[2];
    size_t n_rope;
    float rope_mscale;         /* multiplies cos and sin (rope.scaling.attn_factor) */
    size_t rope_orig_ctx;      /* LongRoPE: the long factors when the context is longer */
};

/* The per-pair factors of RoPE variant r for a context of n_ctx positions
 * (llama.cpp picks LongRoPE's set by the context size, not the position). */
const float *ll_model_rope_factors(const struct ll_model *m, unsigned r, size_t n_ctx);

/* Parses a GGUF llama model from an opened file (takes ownership). */
ll_status ll_model_from_gguf(struct ll_model *m, ll_gguf *g, ll_error *err);
/* llama2.c checkpoint (legacy fp32 or version-2 int8) in memory. */
ll_status ll_model_from_llama2c(struct ll_model *m, const uint8_t *bytes, size_t size, ll_error *err);

/* The stored key (value: the value) of KV head `head` of layer `layer`
 * at cached position pos: head_dim values in the context's
 * ll_context_kv_type (floats or F16 bits); NULL when the layer, head or
 * position is not cached. For tests. */
const void *ll_context_kv_at(const ll_context *c, size_t layer, size_t head, size_t pos, bool value);

/* Row `id` of a weight matrix as floats (embedding lookup). */
void ll_weight_row(const ll_weight *w, size_t id, float *out);

#endif /* LL_MODEL_IMPL_H */
