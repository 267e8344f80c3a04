/*
 * arch.h - the architectures logitlab runs, as data (internal).
 *
 * One row per GGUF `general.architecture` says what differs from the Llama
 * block: which norms and where, the activation, biases, per-head q/k norms,
 * soft-caps, the sliding-window pattern, the RoPE variant, fused tensors,
 * the embedding scale. The loader (model.c) validates a file against its
 * row and the layer-tensor table, and writes the result into plain fields
 * of ll_model / ll_layer (a NULL bias is "no bias", a window of 0 is "sees
 * everything"), so the one forward pass (forward.c) follows data instead of
 * asking which family it runs. A new family is a row here plus, when it has
 * tensors no other family has, their rows in the layer-tensor table.
 *
 * The semantics are llama.cpp's (the engine whose files these are); the
 * rows cite the hyperparameter defaults it uses when a key is absent.
 */
#ifndef LL_ARCH_H
#define LL_ARCH_H

#include <stdbool.h>
#include <stddef.h>

/* Gated feed-forward: down(act(gate(x)) * up(x)). */
typedef enum {
    LL_ACT_SILU,     /* SwiGLU */
    LL_ACT_GELU_F16, /* GeGLU, GELU in its tanh form looked up in ggml's FP16 table (as llama.cpp's CPU backend) */
} ll_activation;

/* Per-pair RoPE frequency factors stored in the file: a pair's angle is
 * divided by its factor. */
typedef enum {
    LL_ROPE_FACTORS_NONE,
    LL_ROPE_FACTORS_FREQS,    /* rope_freqs.weight (optional): Llama 3.1's frequency scaling */
    LL_ROPE_FACTORS_LONGROPE, /* rope_factors_long/_short.weight (optional): the long set when the context is
                                 longer than rope.scaling.original_context_length (LongRoPE, Phi-3) */
} ll_rope_factors;

/* A soft-cap an architecture may apply, cap * tanh(x / cap): whether the
 * architecture has it at all, and its value when the file has no key
 * (0: off unless the file sets it). */
typedef struct {
    bool used;
    float def;
} ll_arch_cap;

/* Features: what a layer has beyond the Llama block. */
enum {
    LL_ARCH_ROPE_NEOX = 1u << 0,     /* RoPE rotates dims (i, i + n_rot/2), not (2i, 2i+1) */
    LL_ARCH_QKV_BIAS = 1u << 1,      /* attn_q/k/v.bias added after the projections */
    LL_ARCH_QK_NORM = 1u << 2,       /* per-head RMSNorm of q and k (attn_q_norm, attn_k_norm), before RoPE */
    LL_ARCH_POST_NORMS = 1u << 3,    /* RMSNorm of the attention and FFN outputs before each residual add */
    LL_ARCH_EMBED_SCALE = 1u << 4,   /* embedding rows times sqrt(width) */
    LL_ARCH_FUSED_QKV = 1u << 5,     /* one attn_qkv matrix: Q rows, then K, then V */
    LL_ARCH_FUSED_GATE_UP = 1u << 6, /* ffn_up holds the gate rows, then the up rows; no ffn_gate */
};

typedef struct {
    const char *name;   /* general.architecture */
    const char *models; /* the model families stored under it (messages, docs, `logitlab info`) */
    unsigned features;  /* LL_ARCH_* */
    ll_activation act;
    ll_rope_factors rope_factors;
    ll_arch_cap attn_softcap;  /* <arch>.attn_logit_softcapping, on the scaled scores before the softmax */
    ll_arch_cap final_softcap; /* <arch>.final_logit_softcapping, on the logits */
    /* Sliding-window layers: layer l is local when l % swa_period <
     * swa_period - 1 (llama.cpp's pattern; 0: no local layers). The window
     * is <arch>.attention.sliding_window, swa_window_def when absent (0:
     * the key is required); a window of 0 in the file makes every layer
     * global. A query at p1 sees a key at p0 when p1 - p0 < window. */
    unsigned swa_period;
    size_t swa_window_def;
    bool swa_own_rope; /* local layers: base <arch>.rope.freq_base_swa (10000 when absent), no position scaling */
    /* llama.cpp recognises the 27B Gemma by its layer count and scales the
     * queries by 1/sqrt(width / heads) there instead of 1/sqrt(head size)
     * (0: never). */
    size_t scale_by_width_layers;
} ll_arch;

/* The row of an architecture name, or NULL. */
const ll_arch *ll_arch_find(const char *name);
/* The rows, in the order `logitlab info` and the docs list them. */
size_t ll_arch_count(void);
const ll_arch *ll_arch_at(size_t i);
/* Writes "llama, qwen2, ..." (the supported names, for messages) like
 * snprintf: returns the length the whole list needs. */
size_t ll_arch_names(char *buf, size_t cap);

/* Writes what the row's block has ("SwiGLU, NeoX RoPE, q/k/v biases")
 * like snprintf: returns the length the whole text needs. */
size_t ll_arch_describe(const ll_arch *a, char *buf, size_t cap);

/* Layer tensors ("blk.N.<name>"), their shapes in these dimensions. */
typedef enum {
    LL_DIM_WIDTH, /* embedding_length */
    LL_DIM_Q,     /* query heads x head size */
    LL_DIM_KV,    /* KV heads x head size */
    LL_DIM_FFN,   /* feed_forward_length */
    LL_DIM_HEAD,  /* head size */
    LL_DIM_COUNT
} ll_dim;

/* One tensor of a layer. A vector (parts 0) is `cols` floats bound to the
 * `const float *` at field[0]; a matrix has `cols` inputs and the row
 * blocks rows[0..parts) stacked, each bound to the ll_weight at field[i]
 * (a fused tensor is split into views of its rows, which the forward pass
 * never knows; Q4_0 parts are then repacked each on its own, so only
 * the parts, not the whole, are matrices). Present when the architecture
 * has every feature in `when` and none in `unless`, and then required. */
#define LL_MAX_PARTS 3
typedef struct {
    const char *name;
    unsigned when, unless;
    ll_dim cols;
    unsigned parts;
    ll_dim rows[LL_MAX_PARTS];
    size_t field[LL_MAX_PARTS]; /* offsetof(ll_layer, ...) */
} ll_layer_tensor;

size_t ll_layer_tensor_count(void);
const ll_layer_tensor *ll_layer_tensor_at(size_t i);
/* Whether architecture a has tensor t. */
bool ll_arch_has(const ll_arch *a, const ll_layer_tensor *t);

#endif /* LL_ARCH_H */
