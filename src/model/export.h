/*
 * export.h - a loaded model written back as a llama GGUF (internal; used by
 * `logitlab convert`, which made the embedded default model).
 */
#ifndef LL_EXPORT_H
#define LL_EXPORT_H

#include "logitlab.h"

typedef struct {
    uint32_t type; /* tensor type of the matrices (LL_T_*); norms stay F32 */
    const char *name, *description, *license;
} ll_export_options;

ll_status ll_model_export_gguf(const ll_model *m, const ll_export_options *o, const char *path, ll_error *err);

#endif /* LL_EXPORT_H */
