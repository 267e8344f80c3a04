/*
 * arch.c - the architecture table and the layer-tensor table (arch.h).
 *
 * Each row is what llama.cpp does for that `general.architecture` (the
 * README of ../shared/models/arch lists the semantics and how much each
 * one moves the logits); docs/architectures.md is the same table in prose.
 */
#include "arch.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "model_impl.h"

static const ll_arch arch_rows[] = {
    /* Llama 1-3 (3.1's frequency scaling via rope_freqs), Mistral: the
     * plain block, adjacent-pair RoPE */
    {.name = "llama", .models = "Llama 1/2/3, Mistral", .act = LL_ACT_SILU, .rope_factors = LL_ROPE_FACTORS_FREQS},
    /* Qwen2/2.5: biases on q, k and v */
    {.name = "qwen2", .models = "Qwen2, Qwen2.5", .features = LL_ARCH_ROPE_NEOX | LL_ARCH_QKV_BIAS, .act = LL_ACT_SILU},
    /* Qwen3: per-head q/k RMSNorm instead of biases */
    {.name = "qwen3", .models = "Qwen3", .features = LL_ARCH_ROPE_NEOX | LL_ARCH_QK_NORM, .act = LL_ACT_SILU},
    /* Gemma 2: scaled embeddings, GeGLU, post-norms, both soft-caps
     * (llama.cpp's defaults 50 and 30 are Gemma 2's own), every other
     * layer local with a 4096-token window unless the file says */
    {.name = "gemma2",
     .models = "Gemma 2",
     .features = LL_ARCH_ROPE_NEOX | LL_ARCH_POST_NORMS | LL_ARCH_EMBED_SCALE,
     .act = LL_ACT_GELU_F16,
     .attn_softcap = {true, 50.0f},
     .final_softcap = {true, 30.0f},
     .swa_period = 2,
     .swa_window_def = 4096,
     .scale_by_width_layers = 46},
    /* Gemma 3: Gemma 2's block with q/k norms instead of the attention
     * soft-cap, five local layers (base 10000, unscaled) per global one */
    {.name = "gemma3",
     .models = "Gemma 3",
     .features = LL_ARCH_ROPE_NEOX | LL_ARCH_QK_NORM | LL_ARCH_POST_NORMS | LL_ARCH_EMBED_SCALE,
     .act = LL_ACT_GELU_F16,
     .final_softcap = {true, 0.0f},
     .swa_period = 6,
     .swa_own_rope = true,
     .scale_by_width_layers = 62},
    /* Phi-3/3.5: fused QKV and gate/up, partial rotary, LongRoPE; llama.cpp
     * turns its sliding window off whatever the file says */
    {.name = "phi3",
     .models = "Phi-3, Phi-3.5",
     .features = LL_ARCH_ROPE_NEOX | LL_ARCH_FUSED_QKV | LL_ARCH_FUSED_GATE_UP,
     .act = LL_ACT_SILU,
     .rope_factors = LL_ROPE_FACTORS_LONGROPE},
};

#define F(field) offsetof(ll_layer, field)
static const ll_layer_tensor layer_tensors[] = {
    {"attn_norm.weight", 0, 0, LL_DIM_WIDTH, 0, {0}, {F(attn_norm)}},
    {"attn_q.weight", 0, LL_ARCH_FUSED_QKV, LL_DIM_WIDTH, 1, {LL_DIM_Q}, {F(wq)}},
    {"attn_k.weight", 0, LL_ARCH_FUSED_QKV, LL_DIM_WIDTH, 1, {LL_DIM_KV}, {F(wk)}},
    {"attn_v.weight", 0, LL_ARCH_FUSED_QKV, LL_DIM_WIDTH, 1, {LL_DIM_KV}, {F(wv)}},
    {"attn_qkv.weight", LL_ARCH_FUSED_QKV, 0, LL_DIM_WIDTH, 3, {LL_DIM_Q, LL_DIM_KV, LL_DIM_KV}, {F(wq), F(wk), F(wv)}},
    {"attn_q.bias", LL_ARCH_QKV_BIAS, 0, LL_DIM_Q, 0, {0}, {F(bq)}},
    {"attn_k.bias", LL_ARCH_QKV_BIAS, 0, LL_DIM_KV, 0, {0}, {F(bk)}},
    {"attn_v.bias", LL_ARCH_QKV_BIAS, 0, LL_DIM_KV, 0, {0}, {F(bv)}},
    {"attn_q_norm.weight", LL_ARCH_QK_NORM, 0, LL_DIM_HEAD, 0, {0}, {F(q_norm)}},
    {"attn_k_norm.weight", LL_ARCH_QK_NORM, 0, LL_DIM_HEAD, 0, {0}, {F(k_norm)}},
    {"attn_output.weight", 0, 0, LL_DIM_Q, 1, {LL_DIM_WIDTH}, {F(wo)}},
    {"post_attention_norm.weight", LL_ARCH_POST_NORMS, 0, LL_DIM_WIDTH, 0, {0}, {F(post_attn_norm)}},
    {"ffn_norm.weight", 0, 0, LL_DIM_WIDTH, 0, {0}, {F(ffn_norm)}},
    {"ffn_gate.weight", 0, LL_ARCH_FUSED_GATE_UP, LL_DIM_WIDTH, 1, {LL_DIM_FFN}, {F(w_gate)}},
    {"ffn_up.weight", 0, LL_ARCH_FUSED_GATE_UP, LL_DIM_WIDTH, 1, {LL_DIM_FFN}, {F(w_up)}},
    {"ffn_up.weight", LL_ARCH_FUSED_GATE_UP, 0, LL_DIM_WIDTH, 2, {LL_DIM_FFN, LL_DIM_FFN}, {F(w_gate), F(w_up)}},
    {"ffn_down.weight", 0, 0, LL_DIM_FFN, 1, {LL_DIM_WIDTH}, {F(w_down)}},
    {"post_ffw_norm.weight", LL_ARCH_POST_NORMS, 0, LL_DIM_WIDTH, 0, {0}, {F(post_ffn_norm)}},
};
#undef F

const ll_arch *ll_arch_find(const char *name) {
    for (size_t i = 0; i < LL_ARRAY_LEN(arch_rows); i++)
        if (!strcmp(arch_rows[i].name, name)) return &arch_rows[i];
    return NULL;
}

size_t ll_arch_count(void) { return LL_ARRAY_LEN(arch_rows); }
const ll_arch *ll_arch_at(size_t i) { return i < LL_ARRAY_LEN(arch_rows) ? &arch_rows[i] : NULL; }

size_t ll_arch_names(char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < LL_ARRAY_LEN(arch_rows); i++) {
        int w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "%s%s", i ? ", " : "", arch_rows[i].name);
        n += (size_t)w;
    }
    if (cap && n >= cap) buf[cap - 1] = 0;
    return n;
}

/* What each feature adds, for `logitlab info` and messages. */
static const struct {
    unsigned flag;
    const char *text;
} feature_text[] = {
    {LL_ARCH_QKV_BIAS, "q/k/v biases"},
    {LL_ARCH_QK_NORM, "per-head q/k RMSNorm"},
    {LL_ARCH_POST_NORMS, "post-attention and post-FFN norms"},
    {LL_ARCH_EMBED_SCALE, "embeddings x sqrt(width)"},
    {LL_ARCH_FUSED_QKV, "fused QKV"},
    {LL_ARCH_FUSED_GATE_UP, "fused gate/up"},
};

size_t ll_arch_describe(const ll_arch *a, char *buf, size_t cap) {
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, __VA_ARGS__)
    PUT("%s, %s RoPE", a->act == LL_ACT_SILU ? "SwiGLU" : "GeGLU (GELU via ggml's FP16 table)",
        a->features & LL_ARCH_ROPE_NEOX ? "NeoX" : "adjacent-pair");
    for (size_t i = 0; i < LL_ARRAY_LEN(feature_text); i++)
        if (a->features & feature_text[i].flag) PUT(", %s", feature_text[i].text);
#undef PUT
    return n;
}

size_t ll_layer_tensor_count(void) { return LL_ARRAY_LEN(layer_tensors); }
const ll_layer_tensor *ll_layer_tensor_at(size_t i) {
    return i < LL_ARRAY_LEN(layer_tensors) ? &layer_tensors[i] : NULL;
}

bool ll_arch_has(const ll_arch *a, const ll_layer_tensor *t) {
    return (a->features & t->when) == t->when && (a->features & t->unless) == 0;
}
