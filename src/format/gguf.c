/*
 * gguf.c - GGUF reader. A cursor walks the mapped bytes; every read goes
 * through a bounds check that reports the offset, so malformed input ends
 * in an error message, never in an out-of-bounds access. Sizes are products
 * checked for overflow; keys and tensor names are sorted once into an index
 * (duplicates are then neighbours, lookups a binary search), so a file with
 * 80,000 keys or tensors parses in milliseconds, not minutes.
 */
#define _POSIX_C_SOURCE 200809L
#include "gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A key or name from the file as it may appear in a message: ll_quote's
 * escaped, bounded form, so a 65535-byte key or one full of control
 * characters can neither crowd out the rest of the message nor drive a
 * terminal. Returned by value: SHOWN's text lives until the end of the full
 * expression, so use it only among one call's arguments. */
typedef struct {
    char s[LL_QUOTE_MAX];
} shown_name;

static shown_name shown(const char *p, size_t len) {
    shown_name r;
    ll_quote(r.s, p, len);
    return r;
}
#define SHOWN(cstr) (shown((cstr), strlen(cstr)).s)

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
    char msg[LL_ERROR_MESSAGE_MAX];
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

/* A length-prefixed string of at most max bytes, inside the file. */
static bool rd_str(cursor *c, ll_gguf_str *s, const char *what, uint64_t max) {
    uint64_t len;
    if (!rd_u64(c, &len, what)) return false;
    if (len > c->size - c->pos) {
        c->pos -= 8;
        return cfail(c, "%s has length %llu, beyond the end of the file", what, (unsigned long long)len);
    }
    if (len > max) {
        c->pos -= 8;
        return cfail(c, "%s has length %llu (valid: at most %llu bytes)", what, (unsigned long long)len,
                     (unsigned long long)max);
    }
    s->ptr = (const char *)c->base + c->pos;
    s->len = (size_t)len;
    c->pos += (size_t)len;
    return true;
}

/* A key or tensor name: 1 to max bytes, no NUL inside (a NUL would make
 * "general.architecture\0x" look up as "general.architecture"). Returns a
 * NUL-terminated copy. */
static char *rd_name(cursor *c, const char *what, uint64_t max) {
    ll_gguf_str s;
    if (!rd_str(c, &s, what, max)) return NULL;
    if (s.len == 0) {
        c->pos -= 8;
        cfail(c, "%s is empty (valid: 1 to %llu bytes)", what, (unsigned long long)max);
        return NULL;
    }
    if (memchr(s.ptr, '\0', s.len)) {
        c->pos -= 8 + s.len;
        cfail(c, "%s '%s' contains a NUL byte", what, shown(s.ptr, s.len).s);
        return NULL;
    }
    char *p = malloc(s.len + 1);
    if (!p) {
        cfail(c, "out of memory for %s of %zu bytes", what, s.len);
        return NULL;
    }
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

/* Array length n of elements of es bytes (es == 0: variable size, at least
 * min_bytes each): inside the file first (that message says "past the end"),
 * then within LL_GGUF_MAX_ARRAY_LEN. */
static bool check_array_len(cursor *c, const char *what, uint64_t n, size_t es, size_t min_bytes, uint32_t et) {
    size_t each = es ? es : min_bytes;
    if (each && n > (c->size - c->pos) / each)
        return cfail(c, "%s of %llu %s values runs past the end of the file", what, (unsigned long long)n,
                     ll_gguf_type_name((ll_gguf_type)et));
    if (n > LL_GGUF_MAX_ARRAY_LEN)
        return cfail(c, "%s has %llu elements (valid: at most %u)", what, (unsigned long long)n, LL_GGUF_MAX_ARRAY_LEN);
    return true;
}

/* Skips a value of type t (nested arrays up to a small depth). */
static bool skip_value(cursor *c, uint32_t t, int depth) {
    if (t == LL_GGUF_STRING) {
        ll_gguf_str s;
        return rd_str(c, &s, "a string value", LL_GGUF_MAX_STRING_LEN);
    }
    if (t == LL_GGUF_ARRAY) {
        if (depth > 3) return cfail(c, "arrays nested deeper than 4 levels");
        uint32_t et;
        uint64_t n;
        if (!rd_u32(c, &et, "an array type") || !rd_u64(c, &n, "an array length")) return false;
        if (et >= LL_GGUF_TYPE_COUNT) return cfail(c, "array element type %u is not a GGUF value type", et);
        size_t es = scalar_size(et);
        /* a string takes at least its 8-byte length, an array 12 bytes */
        if (!check_array_len(c, "a nested array", n, es, et == LL_GGUF_STRING ? 8 : 12, et)) return false;
        if (es) {
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
    char what[64];
    snprintf(what, sizeof what, "the key of metadata entry %llu", (unsigned long long)index);
    kv->key = rd_name(c, what, LL_GGUF_MAX_KEY_LEN);
    if (!kv->key) return false;
    shown_name kname = shown(kv->key, strlen(kv->key));
    const char *key = kname.s;
    uint32_t t;
    if (!rd_u32(c, &t, "a value type")) return false;
    if (t >= LL_GGUF_TYPE_COUNT) return cfail(c, "metadata '%s' has value type %u, which is not a GGUF type", key, t);
    kv->type = (ll_gguf_type)t;
    kv->offset = c->pos;
    const uint8_t *p = c->base + c->pos;
    switch (t) {
    case LL_GGUF_UINT8: if (!need(c, 1, key)) return false; kv->v.u = p[0]; break;
    case LL_GGUF_INT8: if (!need(c, 1, key)) return false; kv->v.i = (int8_t)p[0]; break;
    case LL_GGUF_BOOL:
        if (!need(c, 1, key)) return false;
        if (p[0] > 1) return cfail(c, "metadata '%s' is a bool with value %u (valid: 0 or 1)", key, p[0]);
        kv->v.b = p[0] != 0;
        break;
    case LL_GGUF_UINT16: if (!need(c, 2, key)) return false; kv->v.u = rd_le(p, 2); break;
    case LL_GGUF_INT16: if (!need(c, 2, key)) return false; kv->v.i = (int16_t)rd_le(p, 2); break;
    case LL_GGUF_UINT32: if (!need(c, 4, key)) return false; kv->v.u = rd_le(p, 4); break;
    case LL_GGUF_INT32: if (!need(c, 4, key)) return false; kv->v.i = (int32_t)(uint32_t)rd_le(p, 4); break;
    case LL_GGUF_FLOAT32: {
        if (!need(c, 4, key)) return false;
        uint32_t u = (uint32_t)rd_le(p, 4);
        float f;
        memcpy(&f, &u, 4);
        kv->v.f = f;
        break;
    }
    case LL_GGUF_UINT64: if (!need(c, 8, key)) return false; kv->v.u = rd_le(p, 8); break;
    case LL_GGUF_INT64: if (!need(c, 8, key)) return false; kv->v.i = (int64_t)rd_le(p, 8); break;
    case LL_GGUF_FLOAT64: {
        if (!need(c, 8, key)) return false;
        uint64_t u = rd_le(p, 8);
        memcpy(&kv->v.f, &u, 8);
        break;
    }
    case LL_GGUF_STRING: return rd_str(c, &kv->v.s, key, LL_GGUF_MAX_STRING_LEN);
    case LL_GGUF_ARRAY: {
        uint32_t et;
        uint64_t n;
        if (!rd_u32(c, &et, "an array element type") || !rd_u64(c, &n, "an array length")) return false;
        if (et >= LL_GGUF_TYPE_COUNT) return cfail(c, "array '%s' has element type %u, not a GGUF type", key, et);
        kv->arr_type = (ll_gguf_type)et;
        kv->arr_n = n;
        char awhat[sizeof(shown_name) + 16];
        snprintf(awhat, sizeof awhat, "array '%s'", key);
        size_t es = scalar_size(et);
        /* each string needs at least its 8-byte length, each array 12 */
        if (!check_array_len(c, awhat, n, es, et == LL_GGUF_STRING ? 8 : 12, et)) return false;
        if (es) {
            kv->arr_data = c->base + c->pos;
            c->pos += (size_t)n * es;
            return true;
        }
        if (et == LL_GGUF_STRING) {
            kv->arr_str = malloc((size_t)(n ? n : 1) * sizeof *kv->arr_str);
            if (!kv->arr_str) return cfail(c, "out of memory for array '%s'", key);
            for (uint64_t i = 0; i < n; i++)
                if (!rd_str(c, &kv->arr_str[i], awhat, LL_GGUF_MAX_STRING_LEN)) return false;
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
    free(g->kv_sorted);
    free(g->tensor_sorted);
    g->kv = NULL;
    g->tensors = NULL;
    g->kv_sorted = NULL;
    g->tensor_sorted = NULL;
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const ll_gguf_tensor *x = *(ll_gguf_tensor *const *)a, *y = *(ll_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Name order for the indexes; equal names keep file order (the pointers
 * are into one array), so a duplicate is reported as first and second. */
static int cmp_kv_key(const void *a, const void *b) {
    const ll_gguf_kv *x = *(ll_gguf_kv *const *)a, *y = *(ll_gguf_kv *const *)b;
    int r = strcmp(x->key, y->key);
    return r ? r : (x < y ? -1 : x > y);
}

static int cmp_tensor_name(const void *a, const void *b) {
    const ll_gguf_tensor *x = *(ll_gguf_tensor *const *)a, *y = *(ll_gguf_tensor *const *)b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x < y ? -1 : x > y);
}

/* Sorts the key index once; a duplicate key is then two adjacent entries. */
static ll_status index_kv(ll_gguf *g, ll_error *err) {
    g->kv_sorted = malloc((size_t)(g->n_kv ? g->n_kv : 1) * sizeof *g->kv_sorted);
    if (!g->kv_sorted) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory indexing %llu metadata keys",
                                      (unsigned long long)g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) g->kv_sorted[i] = &g->kv[i];
    qsort(g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv_key);
    for (uint64_t i = 1; i < g->n_kv; i++) {
        const ll_gguf_kv *a = g->kv_sorted[i - 1], *b = g->kv_sorted[i];
        if (strcmp(a->key, b->key) == 0)
            return ll_fail(err, LL_ERR_FORMAT,
                           "metadata key '%s' appears twice (entries %llu and %llu, values at byte offsets %llu and "
                           "%llu)",
                           SHOWN(a->key), (unsigned long long)(a - g->kv), (unsigned long long)(b - g->kv),
                           (unsigned long long)a->offset, (unsigned long long)b->offset);
    }
    return LL_OK;
}

static ll_status index_tensors(ll_gguf *g, ll_error *err) {
    g->tensor_sorted = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *g->tensor_sorted);
    if (!g->tensor_sorted) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory indexing %llu tensors",
                                          (unsigned long long)g->n_tensors);
    for (uint64_t i = 0; i < g->n_tensors; i++) g->tensor_sorted[i] = &g->tensors[i];
    qsort(g->tensor_sorted, (size_t)g->n_tensors, sizeof *g->tensor_sorted, cmp_tensor_name);
    for (uint64_t i = 1; i < g->n_tensors; i++) {
        const ll_gguf_tensor *a = g->tensor_sorted[i - 1], *b = g->tensor_sorted[i];
        if (strcmp(a->name, b->name) == 0)
            return ll_fail(err, LL_ERR_FORMAT, "tensor name '%s' appears twice (tensors %llu and %llu of the directory)",
                           SHOWN(a->name), (unsigned long long)(a - g->tensors), (unsigned long long)(b - g->tensors));
    }
    return LL_OK;
}

/* One tensor directory entry: name, shape, type, offset; sizes checked. */
static bool read_tensor_info(cursor *c, ll_gguf_tensor *t, uint64_t index, uint64_t alignment) {
    char what[64];
    snprintf(what, sizeof what, "the name of tensor %llu", (unsigned long long)index);
    t->name = rd_name(c, what, LL_GGUF_MAX_NAME_LEN);
    if (!t->name) return false;
    shown_name tname = shown(t->name, strlen(t->name));
    const char *name = tname.s;
    if (!rd_u32(c, &t->n_dims, "a tensor's dimension count")) return false;
    if (t->n_dims < 1 || t->n_dims > 4) return cfail(c, "tensor '%s' has %u dimensions (valid: 1 to 4)", name, t->n_dims);
    uint64_t n = 1;
    for (uint32_t d = 0; d < 4; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (!rd_u64(c, &t->ne[d], "a tensor dimension")) return false;
        /* ggml counts elements in int64_t */
        if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
            return cfail(c, "tensor '%s' dimension %u = %llu is invalid (valid: 1 to %lld)", name, d,
                         (unsigned long long)t->ne[d], (long long)INT64_MAX);
        if (!ll_mul_ok(n, t->ne[d], &n) || n > (uint64_t)INT64_MAX)
            return cfail(c, "tensor '%s' has more than %lld elements (the product of its dimensions overflows)", name,
                         (long long)INT64_MAX);
    }
    t->n_elements = n;
    if (!rd_u32(c, &t->type, "a tensor type") || !rd_u64(c, &t->offset, "a tensor offset")) return false;
    const ll_type_info *ti = ll_type_info_of(t->type);
    if (!ti) return cfail(c, "tensor '%s' has type id %u, which is not a ggml tensor type", name, t->type);
    if (t->ne[0] % ti->block != 0)
        return cfail(c, "tensor '%s' of type %s has rows of %llu elements, not a multiple of the block size %u", name,
                     ti->name, (unsigned long long)t->ne[0], ti->block);
    if (!ll_mul_ok(n / ti->block, ti->block_bytes, &t->n_bytes))
        return cfail(c, "tensor '%s' of %llu %s elements would take more than 2^64 bytes", name, (unsigned long long)n,
                     ti->name);
    if (t->offset % alignment != 0)
        return cfail(c, "tensor '%s' offset %llu is not a multiple of the alignment %llu", name,
                     (unsigned long long)t->offset, (unsigned long long)alignment);
    return true;
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
    uint64_t n_tensors, n_kv;
    if (!rd_u64(&c, &n_tensors, "the header") || !rd_u64(&c, &n_kv, "the header")) return LL_ERR_FORMAT;
    /* a KV entry takes at least 8+1+4+1 bytes, a tensor info 8+1+4+8+4+8 */
    if (n_kv > LL_GGUF_MAX_KV) {
        cfail(&c, "header claims %llu metadata entries (valid: at most %u)", (unsigned long long)n_kv, LL_GGUF_MAX_KV);
        return LL_ERR_FORMAT;
    }
    if (n_kv > g->size / 14) {
        cfail(&c, "header claims %llu metadata entries, more than a file of this size can hold",
              (unsigned long long)n_kv);
        return LL_ERR_FORMAT;
    }
    if (n_tensors > LL_GGUF_MAX_TENSORS) {
        cfail(&c, "header claims %llu tensors (valid: at most %u)", (unsigned long long)n_tensors, LL_GGUF_MAX_TENSORS);
        return LL_ERR_FORMAT;
    }
    if (n_tensors > g->size / 33) {
        cfail(&c, "header claims %llu tensors, more than a file of this size can hold", (unsigned long long)n_tensors);
        return LL_ERR_FORMAT;
    }
    g->n_kv = n_kv;
    g->n_tensors = n_tensors;
    g->kv = calloc((size_t)(g->n_kv ? g->n_kv : 1), sizeof *g->kv);
    g->tensors = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *g->tensors);
    if (!g->kv || !g->tensors) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory reading the GGUF directory");
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (!read_kv(&c, &g->kv[i], i)) return LL_ERR_FORMAT;
    ll_status st = index_kv(g, err);
    if (st != LL_OK) return st;
    g->alignment = 32;
    const ll_gguf_kv *al = ll_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != LL_GGUF_UINT32)
            return ll_fail(err, LL_ERR_FORMAT,
                           "general.alignment is a %s (at byte offset %llu): it must be a uint32, a power of two from "
                           "1 to 65536",
                           ll_gguf_type_name(al->type), (unsigned long long)al->offset);
        if (al->v.u == 0 || (al->v.u & (al->v.u - 1)) != 0 || al->v.u > 65536)
            return ll_fail(err, LL_ERR_FORMAT,
                           "general.alignment = %llu (at byte offset %llu) is invalid: valid is a power of two from 1 "
                           "to 65536",
                           (unsigned long long)al->v.u, (unsigned long long)al->offset);
        g->alignment = al->v.u;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!read_tensor_info(&c, &g->tensors[i], i, g->alignment)) return LL_ERR_FORMAT;
    if ((st = index_tensors(g, err)) != LL_OK) return st;
    uint64_t data; /* c.pos rounded up to the alignment */
    if (!ll_add_ok(c.pos, g->alignment - 1, &data)) return ll_fail(err, LL_ERR_FORMAT, "file offset overflow");
    data = data / g->alignment * g->alignment;
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
    uint64_t prev_end = 0; /* end of the previous tensor, relative to the data section */
    for (uint64_t i = 0; i < g->n_tensors && st == LL_OK; i++) {
        ll_gguf_tensor *t = order[i];
        uint64_t avail = g->size - data;
        if (t->offset > avail || t->n_bytes > avail - t->offset) {
            st = ll_fail(err, LL_ERR_FORMAT,
                         "tensor '%s' (%llu bytes at data offset %llu, file offset %llu) runs past the end of the file "
                         "(%zu bytes): the file is truncated",
                         SHOWN(t->name), (unsigned long long)t->n_bytes, (unsigned long long)t->offset,
                         (unsigned long long)(data + t->offset), g->size);
            break;
        }
        if (i > 0 && prev_end > t->offset)
            st = ll_fail(err, LL_ERR_FORMAT, "tensors '%s' and '%s' overlap in the data section", SHOWN(order[i - 1]->name),
                         SHOWN(t->name));
        prev_end = t->offset + t->n_bytes; /* both checked within avail above */
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

ll_gguf *ll_gguf_open_file(ll_file *f, const char *path, ll_error *err) {
    ll_gguf *g = ll_calloc(1, sizeof *g, err);
    if (!g) {
        ll_file_close(f);
        return NULL;
    }
    g->file = *f;
    memset(f, 0, sizeof *f);
    f->data = (const uint8_t *)"";
    g->base = g->file.data;
    g->size = g->file.size;
    ll_gguf *r = finish_open(g, err);
    if (!r) ll_error_prefix(err, "%s", SHOWN(path));
    return r;
}

ll_gguf *ll_gguf_open(const char *path, ll_error *err) {
    ll_file f;
    if (ll_file_map(&f, path, 0, err) != LL_OK) return NULL;
    return ll_gguf_open_file(&f, path, err);
}

void ll_gguf_close(ll_gguf *g) {
    if (!g) return;
    free_contents(g);
    ll_file_close(&g->file);
    free(g);
}

/* Binary search of the sorted indexes (built by parse before any lookup). */
const ll_gguf_kv *ll_gguf_find(const ll_gguf *g, const char *key) {
    if (!g->kv_sorted) return NULL;
    size_t lo = 0, hi = (size_t)g->n_kv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(g->kv_sorted[mid]->key, key);
        if (r == 0) return g->kv_sorted[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const ll_gguf_tensor *ll_gguf_tensor_find(const ll_gguf *g, const char *name) {
    if (!g->tensor_sorted) return NULL;
    size_t lo = 0, hi = (size_t)g->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(g->tensor_sorted[mid]->name, name);
        if (r == 0) return g->tensor_sorted[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static ll_status type_error(const ll_gguf_kv *kv, const char *want, ll_error *err) {
    return ll_fail(err, LL_ERR_FORMAT, "metadata '%s' is a %s, expected %s (at byte offset %llu)", SHOWN(kv->key),
                   ll_gguf_type_name(kv->type), want, (unsigned long long)kv->offset);
}

ll_status ll_gguf_get_u64(const ll_gguf *g, const char *key, uint64_t *out, bool *found, ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    *found = kv != NULL;
    if (!kv) return LL_OK;
    switch (kv->type) {
    case LL_GGUF_UINT8: case LL_GGUF_UINT16: case LL_GGUF_UINT32: case LL_GGUF_UINT64: *out = kv->v.u; return LL_OK;
    case LL_GGUF_INT8: case LL_GGUF_INT16: case LL_GGUF_INT32: case LL_GGUF_INT64:
        if (kv->v.i < 0) return ll_fail(err, LL_ERR_FORMAT, "metadata '%s' = %lld is negative (at byte offset %llu)",
                                              SHOWN(key), (long long)kv->v.i, (unsigned long long)kv->offset);
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

/* ---- the public listing (logitlab.h): views of the parsed entries ---- */

uint32_t ll_gguf_version(const ll_gguf *g) { return g->version; }
size_t ll_gguf_n_meta(const ll_gguf *g) { return (size_t)g->n_kv; }
size_t ll_gguf_n_tensors(const ll_gguf *g) { return (size_t)g->n_tensors; }

bool ll_gguf_meta_at(const ll_gguf *g, size_t i, ll_meta_entry *out) {
    if (i >= g->n_kv) return false;
    const ll_gguf_kv *kv = &g->kv[i];
    ll_meta_entry e = {.key = kv->key, .type_name = ll_gguf_type_name(kv->type)};
    switch (kv->type) {
    case LL_GGUF_STRING:
        e.kind = LL_META_STRING, e.str = kv->v.s.ptr, e.str_len = kv->v.s.len;
        break;
    case LL_GGUF_FLOAT32:
    case LL_GGUF_FLOAT64: e.kind = LL_META_FLOAT, e.f = kv->v.f; break;
    case LL_GGUF_BOOL: e.kind = LL_META_BOOL, e.b = kv->v.b; break;
    case LL_GGUF_INT8: case LL_GGUF_INT16: case LL_GGUF_INT32: case LL_GGUF_INT64:
        e.kind = LL_META_INT, e.i = kv->v.i;
        break;
    case LL_GGUF_ARRAY:
        e.kind = LL_META_ARRAY, e.elem_type = ll_gguf_type_name(kv->arr_type), e.n_elems = kv->arr_n;
        break;
    default: e.kind = LL_META_UINT, e.u = kv->v.u; break;
    }
    *out = e;
    return true;
}

bool ll_gguf_tensor_at(const ll_gguf *g, size_t i, ll_tensor_entry *out) {
    if (i >= g->n_tensors) return false;
    const ll_gguf_tensor *t = &g->tensors[i];
    /* the reader accepted the type, so the table knows it */
    ll_tensor_entry e = {.name = t->name, .type = ll_type_info_of(t->type)->name, .n_dims = t->n_dims,
                         .n_bytes = t->n_bytes};
    for (int d = 0; d < 4; d++) e.shape[d] = t->ne[d];
    *out = e;
    return true;
}
