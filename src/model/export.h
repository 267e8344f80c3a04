/*
 * export.h - GGUF files written by the project's own writer (internal): a
 * loaded model written back in any architecture of the table (`logitlab
 * convert`, which made the embedded default model), and a model of any
 * architecture and shape with random weights (`logitlab synth`, for
 * benchmarks and tests).
 */
#ifndef LL_EXPORT_H
#define LL_EXPORT_H

#include "logitlab.h"

typedef struct {
    uint32_t type; /* tensor type of the matrices (LL_T_*); norms stay F32 */
    const char *name, *description, *license;
} ll_export_options;

ll_status ll_model_export_gguf(const ll_model *m, const ll_export_options *o, const char *path, ll_error *err);

/* llama.cpp's general.file_type (LLAMA_FTYPE_*) for matrices of `type`
 * (Q4_K: Q4_K_M's code, Q5_K: Q5_K_M's, the closest named ones). */
uint32_t ll_ftype_of(uint32_t type);

typedef struct {
    const char *arch;    /* general.architecture: a row of arch.c */
    uint32_t type;       /* the matrices' tensor type (LL_T_*); vectors are F32 */
    bool mixed;          /* llama-quantize's _M mixes: attn_v and ffn_down of its "more bits" layers and a separate
                            output matrix in Q6_K */
    uint32_t embd_type;  /* token_embd's type */
    size_t vocab, dim, layers, heads, kv_heads, head_dim, ffn, ctx;
    size_t window;       /* sliding window of the local layers (architectures that have them) */
    bool tied;           /* no output.weight: the classifier is the embeddings */
    uint64_t seed;
} ll_synth_options;

/* Writes a model of o's shape with random weights (matrices N(0, 0.02),
 * norms 1 + 0.1 N(0, 1), biases 0.02 N(0, 1)) and a placeholder
 * SentencePiece vocabulary: the architecture's keys and its layer tensors
 * from arch.c's tables, so every architecture that loads can be
 * synthesized. A shape the types or the loader cannot take is
 * LL_ERR_INVALID_ARGUMENT naming the value. */
ll_status ll_model_synth(const ll_synth_options *o, const char *path, ll_error *err);

#endif /* LL_EXPORT_H */
