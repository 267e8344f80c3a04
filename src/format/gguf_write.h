/*
 * gguf_write.h - the project's own GGUF writer (internal): metadata of
 * every value type, tensors of any supported type, alignment as GGUF v3
 * requires. Used by `logitlab synth` (synthetic models for benchmarks and
 * tests) and by the exporter of the embedded default model.
 */
#ifndef LL_GGUF_WRITE_H
#define LL_GGUF_WRITE_H

#include "gguf.h"

typedef struct ll_gguf_writer ll_gguf_writer;

ll_gguf_writer *ll_gguf_writer_new(ll_error *err);
void ll_gguf_writer_free(ll_gguf_writer *w);

ll_status ll_gguf_add_str(ll_gguf_writer *w, const char *key, const char *value);
ll_status ll_gguf_add_u32(ll_gguf_writer *w, const char *key, uint32_t value);
ll_status ll_gguf_add_f32(ll_gguf_writer *w, const char *key, float value);
ll_status ll_gguf_add_bool(ll_gguf_writer *w, const char *key, bool value);
ll_status ll_gguf_add_arr_str(ll_gguf_writer *w, const char *key, const char *const *values, size_t n);
ll_status ll_gguf_add_arr_f32(ll_gguf_writer *w, const char *key, const float *values, size_t n);
ll_status ll_gguf_add_arr_i32(ll_gguf_writer *w, const char *key, const int32_t *values, size_t n);
/* data holds the tensor in `type`'s storage format (copied). ne[0] is the
 * contiguous dimension. */
ll_status ll_gguf_add_tensor(ll_gguf_writer *w, const char *name, uint32_t type, const uint64_t *ne,
                             uint32_t n_dims, const void *data);
ll_status ll_gguf_write(ll_gguf_writer *w, const char *path, ll_error *err);

#endif /* LL_GGUF_WRITE_H */
