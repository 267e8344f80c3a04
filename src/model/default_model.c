/*
 * default_model.c - the model compiled into the library: a small Llama
 * trained on the King James Bible by tools/train_kjv.py (recipe, loss and
 * sha256 in docs/default-model.md), embedded by cmake/bin2c.c.
 */
#include "logitlab.h"

extern const unsigned char ll_default_model_gguf[];
extern const size_t ll_default_model_gguf_size;

ll_model *ll_model_load_default(ll_error *err) {
    return ll_model_load_memory(ll_default_model_gguf, ll_default_model_gguf_size, err);
}

const void *ll_default_model_bytes(size_t *size) {
    *size = ll_default_model_gguf_size;
    return ll_default_model_gguf;
}
