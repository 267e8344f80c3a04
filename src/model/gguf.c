/*
 * gguf.c - GGUF reader. A cursor walks the mapped bytes; every read goes
 * through a bounds check that reports the offset, so malformed input ends
 * in an error message, never in an out-of-bounds access.
 */
#define _POSIX_C_SOURCE 200809L
#include "gguf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define LL_HAVE_MMAP 1
#endif

static const ll_type_info type_table[LL_T_COUNT] = {
    [LL_T_F32] = {"F32", 1, 4, true},
    [LL_T_F16] = {"F16", 1, 2, true},
    [LL_T_Q4_0] = {"Q4_0", 32, 18, true},
    [LL_T_Q4_1] = {"Q4_1", 32, 20, false},
    [LL_T_Q5_0] = {"Q5_0", 32, 22, false},
    [LL_T_Q5_1] = {"Q5_1", 32, 24, false},
    [LL_T_Q8_0] = {"Q8_0", 32, 34, true},
    [LL_T_Q8_1] = {"Q8_1", 32, 36, false},
    [LL_T_Q2_K] = {"Q2_K", 256, 84, false},
    [LL_T_Q3_K] = {"Q3_K", 256, 110, false},
    [LL_T_Q4_K] = {"Q4_K", 256, 144, true},
    [LL_T_Q5_K] = {"Q5_K", 256, 176, true},
    [LL_T_Q6_K] = {"Q6_K", 256, 210, true},
    [LL_T_Q8_K] = {"Q8_K", 256, 292, false},
    [LL_T_BF16] = {"BF16", 1, 2, true},
};

const ll_type_info *ll_type_info_of(uint32_t type) {
    if (type >= LL_T_COUNT || !type_table[type].name) return NULL;
    return &type_table[type];
}

static const char *const vtype_names[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32", "float32",
                                          "bool",  "string", "array",  "uint64", "int64",  "float64"};

const char *ll_gguf_type_name(ll_gguf_type t) {
    return (unsigned)t < LL_GGUF_TYPE_COUNT ? vtype_names[t] : "unknown";
}

static size_t scalar_size(uint32_t t) {
    switch (t) {
    case LL_GGUF_UINT8: case LL_GGUF_INT8: case LL_GGUF_BOOL: return 1;
    case LL_GGUF_UINT16: case LL_GGUF_INT16: return 2;
    case LL_GGUF_UINT32: case LL_GGUF_INT32: case LL_GGUF_FLOAT32: return 4;
    case LL_GGUF_UINT64: case LL_GGUF_INT64: case LL_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* ---- cursor ---- */

typedef struct {
    const uint8_t *base;
    size_t size, pos;
    ll_error *err;
    bool failed;
} cursor;

static bool cfail(cursor *c, const char *fmt, ...) LL_PRINTF(2, 3);
static bool cfail(cursor *c, const char *fmt, ...) {
    if (c->failed) return false;
    c->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ll_fail(c->err, LL_ERR_FORMAT, "%s (at byte offset %zu of %zu)", msg, c->pos, c->size);
    return false;
}

static bool need(cursor *c, size_t n, const char *what) {
    if (c->failed) return false;
    if (n > c->size - c->pos) return cfail(c, "file ends inside %s (needs %zu more bytes)", what, n);
    return true;
}

static uint64_t rd_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool rd_u32(cursor *c, uint32_t *out, const char *what) {
    if (!need(c, 4, what)) return false;
    *out = (uint32_t)rd_le(c->base + c->pos, 4);
    c->pos += 4;
    return true;
}

static bool rd_u64(cursor *c, uint64_t *out, const char *what) {
    if (!need(c, 8, what)) return false;
    *out = rd_le(c->base + c->pos, 8);
    c->pos += 8;
    return true;
}

static bool rd_str(cursor *c, ll_gguf_str *s, const char *what) {
    uint64_t len;
    if (!rd_u64(c, &len, what)) return false;
    if (len > c->size - c->pos) {
        c->pos -= 8;
        return cfail(c, "%s has length %llu, beyond the end of the file", what, (unsigned long long)len);
    }
    s->ptr = (const char *)c->base + c->pos;
    s->len = (size_t)len;
    c->pos += (size_t)len;
    return true;
}

static char *dup_str(cursor *c, ll_gguf_str s) {
    char *p = malloc(s.len + 1);
    if (!p) {
        cfail(c, "out of memory");
        return NULL;
    }
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

/* Skips a value of type t (nested arrays up to a small depth). */
static bool skip_value(cursor *c, uint32_t t, int depth) {
    if (t == LL_GGUF_STRING) {
        ll_gguf_str s;
        return rd_str(c, &s, "a string value");
    }
    if (t == LL_GGUF_ARRAY) {
        if (depth > 3) return cfail(c, "arrays nested deeper than 4 levels");
        uint32_t et;
        uint64_t n;
        if (!rd_u32(c, &et, "an array type") || !rd_u64(c, &n, "an array length")) return false;
        if (et >= LL_GGUF_TYPE_COUNT) return cfail(c, "array element type %u is not a GGUF value type", et);
        size_t es = scalar_size(et);
        if (es) {
            if (n > (c->size - c->pos) / es) return cfail(c, "array of %llu %s values runs past the end of the file",
                                                         (unsigned long long)n, ll_gguf_type_name((ll_gguf_type)et));
            c->pos += (size_t)n * es;
            return true;
        }
        for (uint64_t i = 0; i < n; i++)
            if (!skip_value(c, et, depth + 1)) return false;
        return true;
    }
    size_t es = scalar_size(t);
    if (!es) return cfail(c, "value type %u is not a GGUF value type", t);
    if (!need(c, es, "a value")) return false;
    c->pos += es;
    return true;
}

static bool read_kv(cursor *c, ll_gguf_kv *kv, uint64_t index) {
    ll_gguf_str key;
    char what[64];
    snprintf(what, sizeof what, "the key of metadata entry %llu", (unsigned long long)index);
    if (!rd_str(c, &key, what)) return false;
    if (key.len == 0 || key.len > 65535) return cfail(c, "metadata key %llu has invalid length %zu", (unsigned long long)index, key.len);
    kv->key = dup_str(c, key);
    if (!kv->key) return false;
    uint32_t t;
    if (!rd_u32(c, &t, "a value type")) return false;
    if (t >= LL_GGUF_TYPE_COUNT) return cfail(c, "metadata '%s' has value type %u, which is not a GGUF type", kv->key, t);
    kv->type = (ll_gguf_type)t;
    kv->offset = c->pos;
    const uint8_t *p = c->base + c->pos;
    switch (t) {
    case LL_GGUF_UINT8: if (!need(c, 1, kv->key)) return false; kv->v.u = p[0]; break;
    case LL_GGUF_INT8: if (!need(c, 1, kv->key)) return false; kv->v.i = (int8_t)p[0]; break;
    case LL_GGUF_BOOL:
        if (!need(c, 1, kv->key)) return false;
        if (p[0] > 1) return cfail(c, "metadata '%s' is a bool with value %u", kv->key, p[0]);
        kv->v.b = p[0] != 0;
        break;
    case LL_GGUF_UINT16: if (!need(c, 2, kv->key)) return false; kv->v.u = rd_le(p, 2); break;
    case LL_GGUF_INT16: if (!need(c, 2, kv->key)) return false; kv->v.i = (int16_t)rd_le(p, 2); break;
    case LL_GGUF_UINT32: if (!need(c, 4, kv->key)) return false; kv->v.u = rd_le(p, 4); break;
    case LL_GGUF_INT32: if (!need(c, 4, kv->key)) return false; kv->v.i = (int32_t)(uint32_t)rd_le(p, 4); break;
    case LL_GGUF_FLOAT32: {
        if (!need(c, 4, kv->key)) return false;
        uint32_t u = (uint32_t)rd_le(p, 4);
        float f;
        memcpy(&f, &u, 4);
        kv->v.f = f;
        break;
    }
    case LL_GGUF_UINT64: if (!need(c, 8, kv->key)) return false; kv->v.u = rd_le(p, 8); break;
    case LL_GGUF_INT64: if (!need(c, 8, kv->key)) return false; kv->v.i = (int64_t)rd_le(p, 8); break;
    case LL_GGUF_FLOAT64: {
        if (!need(c, 8, kv->key)) return false;
        uint64_t u = rd_le(p, 8);
        memcpy(&kv->v.f, &u, 8);
        break;
    }
    case LL_GGUF_STRING: return rd_str(c, &kv->v.s, kv->key);
    case LL_GGUF_ARRAY: {
        uint32_t et;
        uint64_t n;
        if (!rd_u32(c, &et, "an array element type") || !rd_u64(c, &n, "an array length")) return false;
        if (et >= LL_GGUF_TYPE_COUNT) return cfail(c, "array '%s' has element type %u, not a GGUF type", kv->key, et);
        kv->arr_type = (ll_gguf_type)et;
        kv->arr_n = n;
        size_t es = scalar_size(et);
        if (es) {
            if (n > (c->size - c->pos) / es)
                return cfail(c, "array '%s' of %llu values runs past the end of the file", kv->key, (unsigned long long)n);
            kv->arr_data = c->base + c->pos;
            c->pos += (size_t)n * es;
            return true;
        }
        if (et == LL_GGUF_STRING) {
            /* each string needs at least its 8-byte length: bound n first */
            if (n > (c->size - c->pos) / 8)
                return cfail(c, "array '%s' claims %llu strings, more than the file can hold", kv->key, (unsigned long long)n);
            kv->arr_str = malloc((size_t)(n ? n : 1) * sizeof *kv->arr_str);
            if (!kv->arr_str) return cfail(c, "out of memory for array '%s'", kv->key);
            for (uint64_t i = 0; i < n; i++)
                if (!rd_str(c, &kv->arr_str[i], kv->key)) return false;
            return true;
        }
        for (uint64_t i = 0; i < n; i++)
            if (!skip_value(c, et, 1)) return false;
        return true;
    }
    default: return cfail(c, "unknown value type %u", t);
    }
    c->pos += scalar_size(t);
    return true;
}

static void free_contents(ll_gguf *g) {
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            free(g->kv[i].arr_str);
        }
    if (g->tensors)
        for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    g->kv = NULL;
    g->tensors = NULL;
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const ll_gguf_tensor *x = *(ll_gguf_tensor *const *)a, *y = *(ll_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static ll_status parse(ll_gguf *g, ll_error *err) {
    cursor c = {g->base, g->size, 0, err, false};
    uint32_t magic;
    if (!rd_u32(&c, &magic, "the header")) return LL_ERR_FORMAT;
    if (magic != 0x46554747u) { /* "GGUF" */
        c.pos = 0;
        cfail(&c, "not a GGUF file (magic %02x %02x %02x %02x, expected 'GGUF')", g->base[0], g->size > 1 ? g->base[1] : 0,
              g->size > 2 ? g->base[2] : 0, g->size > 3 ? g->base[3] : 0);
        return LL_ERR_FORMAT;
    }
    if (!rd_u32(&c, &g->version, "the header")) return LL_ERR_FORMAT;
    if (g->version < 2 || g->version > 3) {
        c.pos -= 4;
        cfail(&c, "GGUF version %u is not supported (valid: 2 and 3)", g->version);
        return LL_ERR_UNSUPPORTED;
    }
    if (!rd_u64(&c, &g->n_tensors, "the header") || !rd_u64(&c, &g->n_kv, "the header")) return LL_ERR_FORMAT;
    /* a KV entry takes at least 8+1+4+1 bytes, a tensor info 8+1+4+8+4+8 */
    if (g->n_kv > g->size / 14) {
        cfail(&c, "header claims %llu metadata entries, more than a file of this size can hold", (unsigned long long)g->n_kv);
        return LL_ERR_FORMAT;
    }
    if (g->n_tensors > g->size / 33) {
        cfail(&c, "header claims %llu tensors, more than a file of this size can hold", (unsigned long long)g->n_tensors);
        return LL_ERR_FORMAT;
    }
    g->kv = calloc((size_t)(g->n_kv ? g->n_kv : 1), sizeof *g->kv);
    g->tensors = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *g->tensors);
    if (!g->kv || !g->tensors) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory reading the GGUF directory");
    for (uint64_t i = 0; i < g->n_kv; i++) {
        if (!read_kv(&c, &g->kv[i], i)) return LL_ERR_FORMAT;
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->kv[j].key, g->kv[i].key) == 0) {
                cfail(&c, "metadata key '%s' appears twice", g->kv[i].key);
                return LL_ERR_FORMAT;
            }
    }
    g->alignment = 32;
    const ll_gguf_kv *al = ll_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != LL_GGUF_UINT32 || al->v.u == 0 || (al->v.u & (al->v.u - 1)) != 0 || al->v.u > 65536) {
            ll_fail(err, LL_ERR_FORMAT, "general.alignment must be a power of two uint32 up to 65536 (at byte offset %llu)",
                    (unsigned long long)al->offset);
            return LL_ERR_FORMAT;
        }
        g->alignment = al->v.u;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        ll_gguf_tensor *t = &g->tensors[i];
        ll_gguf_str name;
        if (!rd_str(&c, &name, "a tensor name")) return LL_ERR_FORMAT;
        if (name.len == 0 || name.len > 256) {
            cfail(&c, "tensor %llu has a name of invalid length %zu", (unsigned long long)i, name.len);
            return LL_ERR_FORMAT;
        }
        t->name = dup_str(&c, name);
        if (!t->name) return LL_ERR_OUT_OF_MEMORY;
        if (!rd_u32(&c, &t->n_dims, "a tensor's dimension count")) return LL_ERR_FORMAT;
        if (t->n_dims < 1 || t->n_dims > 4) {
            cfail(&c, "tensor '%s' has %u dimensions (valid: 1 to 4)", t->name, t->n_dims);
            return LL_ERR_FORMAT;
        }
        uint64_t n = 1;
        for (uint32_t d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (!rd_u64(&c, &t->ne[d], "a tensor dimension")) return LL_ERR_FORMAT;
            if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX / n) {
                cfail(&c, "tensor '%s' dimension %u = %llu is invalid", t->name, d, (unsigned long long)t->ne[d]);
                return LL_ERR_FORMAT;
            }
            n *= t->ne[d];
        }
        t->n_elements = n;
        if (!rd_u32(&c, &t->type, "a tensor type") || !rd_u64(&c, &t->offset, "a tensor offset")) return LL_ERR_FORMAT;
        const ll_type_info *ti = ll_type_info_of(t->type);
        if (!ti) {
            cfail(&c, "tensor '%s' has type id %u, which is not a ggml tensor type", t->name, t->type);
            return LL_ERR_FORMAT;
        }
        if (t->ne[0] % ti->block != 0) {
            cfail(&c, "tensor '%s' of type %s has rows of %llu elements, not a multiple of the block size %u", t->name,
                  ti->name, (unsigned long long)t->ne[0], ti->block);
            return LL_ERR_FORMAT;
        }
        t->n_bytes = n / ti->block * ti->block_bytes;
        if (t->offset % g->alignment != 0) {
            cfail(&c, "tensor '%s' offset %llu is not a multiple of the alignment %llu", t->name,
                  (unsigned long long)t->offset, (unsigned long long)g->alignment);
            return LL_ERR_FORMAT;
        }
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->tensors[j].name, t->name) == 0) {
                cfail(&c, "tensor name '%s' appears twice", t->name);
                return LL_ERR_FORMAT;
            }
    }
    uint64_t data = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors > 0 && data > g->size) {
        ll_fail(err, LL_ERR_FORMAT, "the tensor data section would start at byte %llu, past the end of the file (%zu bytes)",
                (unsigned long long)data, g->size);
        return LL_ERR_FORMAT;
    }
    g->data_offset = data;
    /* every tensor inside the file, none overlapping */
    ll_gguf_tensor **order = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *order);
    if (!order) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, cmp_tensor_offset);
    ll_status st = LL_OK;
    for (uint64_t i = 0; i < g->n_tensors && st == LL_OK; i++) {
        ll_gguf_tensor *t = order[i];
        uint64_t avail = g->size - data;
        if (t->offset > avail || t->n_bytes > avail - t->offset) {
            st = ll_fail(err, LL_ERR_FORMAT,
                         "tensor '%s' (%llu bytes at data offset %llu, file offset %llu) runs past the end of the file "
                         "(%zu bytes): the file is truncated",
                         t->name, (unsigned long long)t->n_bytes, (unsigned long long)t->offset,
                         (unsigned long long)(data + t->offset), g->size);
            break;
        }
        if (i > 0 && order[i - 1]->offset + order[i - 1]->n_bytes > t->offset)
            st = ll_fail(err, LL_ERR_FORMAT, "tensors '%s' and '%s' overlap in the data section", order[i - 1]->name,
                         t->name);
        t->data = g->base + data + t->offset;
    }
    free(order);
    return st;
}

static ll_gguf *finish_open(ll_gguf *g, ll_error *err) {
    if (g->size < 24) {
        ll_fail(err, LL_ERR_FORMAT, "file of %zu bytes is too short for a GGUF header (24 bytes)", g->size);
        ll_gguf_close(g);
        return NULL;
    }
    if (parse(g, err) != LL_OK) {
        ll_gguf_close(g);
        return NULL;
    }
    return g;
}

ll_gguf *ll_gguf_open_memory(const void *data, size_t size, ll_error *err) {
    ll_gguf *g = ll_calloc(1, sizeof *g, err);
    if (!g) return NULL;
    g->base = data;
    g->size = size;
    return finish_open(g, err);
}

ll_gguf *ll_gguf_open(const char *path, ll_error *err) {
    ll_gguf *g = ll_calloc(1, sizeof *g, err);
    if (!g) return NULL;
#ifdef LL_HAVE_MMAP
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        free(g);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ll_fail(err, LL_ERR_IO, "%s is not a regular file", path);
        close(fd);
        free(g);
        return NULL;
    }
    g->size = (size_t)sb.st_size;
    if (g->size > 0) {
        void *m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            ll_fail(err, LL_ERR_IO, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            free(g);
            return NULL;
        }
        g->map = m;
        g->map_size = g->size;
        g->base = m;
    } else {
        g->base = (const uint8_t *)"";
    }
    close(fd);
#else
    FILE *f = fopen(path, "rb");
    if (!f) {
        ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        free(g);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    g->owned = malloc(sz > 0 ? (size_t)sz : 1);
    if (!g->owned || fread(g->owned, 1, (size_t)sz, f) != (size_t)sz) {
        ll_fail(err, LL_ERR_IO, "cannot read %s", path);
        fclose(f);
        free(g->owned);
        free(g);
        return NULL;
    }
    fclose(f);
    g->base = g->owned;
    g->size = (size_t)sz;
#endif
    ll_gguf *r = finish_open(g, err);
    if (!r) ll_error_prefix(err, "%s", path);
    return r;
}

void ll_gguf_close(ll_gguf *g) {
    if (!g) return;
    free_contents(g);
#ifdef LL_HAVE_MMAP
    if (g->map) munmap(g->map, g->map_size);
#endif
    free(g->owned);
    free(g);
}

const ll_gguf_kv *ll_gguf_find(const ll_gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const ll_gguf_tensor *ll_gguf_tensor_find(const ll_gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

static ll_status type_error(const ll_gguf_kv *kv, const char *want, ll_error *err) {
    return ll_fail(err, LL_ERR_FORMAT, "metadata '%s' is a %s, expected %s (at byte offset %llu)", kv->key,
                   ll_gguf_type_name(kv->type), want, (unsigned long long)kv->offset);
}

ll_status ll_gguf_get_u64(const ll_gguf *g, const char *key, uint64_t *out, bool *found, ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    *found = kv != NULL;
    if (!kv) return LL_OK;
    switch (kv->type) {
    case LL_GGUF_UINT8: case LL_GGUF_UINT16: case LL_GGUF_UINT32: case LL_GGUF_UINT64: *out = kv->v.u; return LL_OK;
    case LL_GGUF_INT8: case LL_GGUF_INT16: case LL_GGUF_INT32: case LL_GGUF_INT64:
        if (kv->v.i < 0) return ll_fail(err, LL_ERR_FORMAT, "metadata '%s' = %lld is negative", key, (long long)kv->v.i);
        *out = (uint64_t)kv->v.i;
        return LL_OK;
    default: return type_error(kv, "an integer", err);
    }
}

ll_status ll_gguf_get_f32(const ll_gguf *g, const char *key, float *out, bool *found, ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    *found = kv != NULL;
    if (!kv) return LL_OK;
    if (kv->type == LL_GGUF_FLOAT32 || kv->type == LL_GGUF_FLOAT64) {
        *out = (float)kv->v.f;
        return LL_OK;
    }
    return type_error(kv, "a float", err);
}

ll_status ll_gguf_get_bool(const ll_gguf *g, const char *key, bool *out, bool *found, ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    *found = kv != NULL;
    if (!kv) return LL_OK;
    if (kv->type == LL_GGUF_BOOL) {
        *out = kv->v.b;
        return LL_OK;
    }
    return type_error(kv, "a bool", err);
}

char *ll_gguf_get_str(const ll_gguf *g, const char *key, bool *found, ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    *found = kv != NULL;
    if (!kv) return NULL;
    if (kv->type != LL_GGUF_STRING) {
        type_error(kv, "a string", err);
        return NULL;
    }
    char *s = ll_malloc(kv->v.s.len + 1, err);
    if (!s) return NULL;
    memcpy(s, kv->v.s.ptr, kv->v.s.len);
    s[kv->v.s.len] = '\0';
    return s;
}
