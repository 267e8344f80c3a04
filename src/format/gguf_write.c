/*
 * gguf_write.c - builds the GGUF image in memory (metadata as serialized
 * bytes, tensors as copies) and writes it in one pass: header, metadata,
 * tensor directory, padding to the alignment, tensor data.
 */
#include "gguf_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *b;
    size_t n, cap;
    bool oom;
} buf;

typedef struct {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne[4];
    void *data;
    size_t bytes;
} wtensor;

struct ll_gguf_writer {
    buf kv;
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
    ll_error *err;
    bool failed;
};

static void put(buf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *nb = realloc(b->b, cap);
        if (!nb) {
            b->oom = true;
            return;
        }
        b->b = nb;
        b->cap = cap;
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put_le(buf *b, uint64_t v, size_t n) {
    uint8_t t[8];
    for (size_t i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, n);
}

static void put_str(buf *b, const char *s, size_t n) {
    put_le(b, n, 8);
    put(b, s, n);
}

ll_gguf_writer *ll_gguf_writer_new(ll_error *err) {
    ll_gguf_writer *w = ll_calloc(1, sizeof *w, err);
    return w;
}

void ll_gguf_writer_free(ll_gguf_writer *w) {
    if (!w) return;
    free(w->kv.b);
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    free(w);
}

static ll_status head(ll_gguf_writer *w, const char *key, ll_gguf_type t) {
    put_str(&w->kv, key, strlen(key));
    put_le(&w->kv, (uint64_t)t, 4);
    w->n_kv++;
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_str(ll_gguf_writer *w, const char *key, const char *value) {
    head(w, key, LL_GGUF_STRING);
    put_str(&w->kv, value, strlen(value));
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_u32(ll_gguf_writer *w, const char *key, uint32_t value) {
    head(w, key, LL_GGUF_UINT32);
    put_le(&w->kv, value, 4);
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_f32(ll_gguf_writer *w, const char *key, float value) {
    head(w, key, LL_GGUF_FLOAT32);
    uint32_t u;
    memcpy(&u, &value, 4);
    put_le(&w->kv, u, 4);
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_bool(ll_gguf_writer *w, const char *key, bool value) {
    head(w, key, LL_GGUF_BOOL);
    uint8_t b = value ? 1 : 0;
    put(&w->kv, &b, 1);
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

static void arr_head(ll_gguf_writer *w, const char *key, ll_gguf_type et, size_t n) {
    head(w, key, LL_GGUF_ARRAY);
    put_le(&w->kv, (uint64_t)et, 4);
    put_le(&w->kv, n, 8);
}

ll_status ll_gguf_add_arr_str(ll_gguf_writer *w, const char *key, const char *const *values, size_t n) {
    arr_head(w, key, LL_GGUF_STRING, n);
    for (size_t i = 0; i < n; i++) put_str(&w->kv, values[i], strlen(values[i]));
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_arr_f32(ll_gguf_writer *w, const char *key, const float *values, size_t n) {
    arr_head(w, key, LL_GGUF_FLOAT32, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &values[i], 4);
        put_le(&w->kv, u, 4);
    }
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_arr_i32(ll_gguf_writer *w, const char *key, const int32_t *values, size_t n) {
    arr_head(w, key, LL_GGUF_INT32, n);
    for (size_t i = 0; i < n; i++) put_le(&w->kv, (uint32_t)values[i], 4);
    return w->kv.oom ? LL_ERR_OUT_OF_MEMORY : LL_OK;
}

ll_status ll_gguf_add_tensor(ll_gguf_writer *w, const char *name, uint32_t type, const uint64_t *ne, uint32_t n_dims,
                             const void *data) {
    const ll_type_info *ti = ll_type_info_of(type);
    if (!ti || n_dims < 1 || n_dims > 4 || ne[0] % ti->block) return LL_ERR_INVALID_ARGUMENT;
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) return LL_ERR_OUT_OF_MEMORY;
        w->t = t;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        t->ne[d] = ne[d];
        if (!ll_mul_ok(n, ne[d], &n)) return LL_ERR_INVALID_ARGUMENT;
    }
    t->type = type;
    t->n_dims = n_dims;
    if (!ll_mul_size_ok(n / ti->block, ti->block_bytes, &t->bytes)) return LL_ERR_INVALID_ARGUMENT;
    t->name = malloc(strlen(name) + 1);
    t->data = malloc(t->bytes ? t->bytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return LL_ERR_OUT_OF_MEMORY;
    }
    strcpy(t->name, name);
    memcpy(t->data, data, t->bytes);
    w->n_t++;
    return LL_OK;
}

ll_status ll_gguf_write(ll_gguf_writer *w, const char *path, ll_error *err) {
    const uint64_t align = 32;
    buf h = {0};
    put(&h, "GGUF", 4);
    put_le(&h, 3, 4);
    put_le(&h, w->n_t, 8);
    put_le(&h, w->n_kv, 8);
    put(&h, w->kv.b, w->kv.n);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        wtensor *t = &w->t[i];
        put_str(&h, t->name, strlen(t->name));
        put_le(&h, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++) put_le(&h, t->ne[d], 8);
        put_le(&h, t->type, 4);
        put_le(&h, off, 8);
        off += (t->bytes + align - 1) / align * align;
    }
    static const uint8_t zeros[32] = {0};
    put(&h, zeros, (size_t)((align - h.n % align) % align));
    if (h.oom || w->kv.oom) {
        free(h.b);
        return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory building the GGUF header");
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(h.b);
        return ll_fail(err, LL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    bool ok = fwrite(h.b, 1, h.n, f) == h.n;
    for (size_t i = 0; ok && i < w->n_t; i++) {
        ok = fwrite(w->t[i].data, 1, w->t[i].bytes, f) == w->t[i].bytes;
        size_t pad = (size_t)((align - w->t[i].bytes % align) % align);
        if (ok && pad) ok = fwrite(zeros, 1, pad, f) == pad;
    }
    ok = (fclose(f) == 0) && ok;
    free(h.b);
    if (!ok) return ll_fail(err, LL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return LL_OK;
}
