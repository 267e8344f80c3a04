/*
 * gguf.h - reading GGUF files (v2 and v3): metadata, tensor directory and
 * tensor data, all validated before use (internal).
 *
 * The file is memory-mapped, never copied. Every count, length, offset,
 * size and type id is checked against the file before it is trusted, so a
 * truncated, corrupted or hostile file is an error that says what is wrong
 * and at which byte offset - never a crash or an out-of-bounds read. Sizes
 * are computed with checked arithmetic (a product that would wrap is an
 * error), what a file may declare is bounded (the limits below), and keys
 * and tensor names are indexed by sorting once, so parsing and lookups stay
 * O(n log n) however many entries a file claims.
 */
#ifndef LL_GGUF_H
#define LL_GGUF_H

#include "../core/file.h"
#include "../core/internal.h"
#include "tensor_types.h"

/* What a GGUF file may declare. Real models are far inside these (a few
 * dozen keys, a few thousand tensors, vocabularies of a few 100,000
 * strings); they bound the memory and time a hostile header can ask for. */
#define LL_GGUF_MAX_KV (1u << 20)          /* metadata entries */
#define LL_GGUF_MAX_TENSORS (1u << 20)     /* tensor directory entries */
#define LL_GGUF_MAX_KEY_LEN 65535u         /* bytes in a metadata key */
#define LL_GGUF_MAX_NAME_LEN 256u          /* bytes in a tensor name */
#define LL_GGUF_MAX_STRING_LEN (1u << 30)  /* bytes in a string value */
#define LL_GGUF_MAX_ARRAY_LEN (1u << 26)   /* elements in an array value */

typedef enum {
    LL_GGUF_UINT8 = 0,
    LL_GGUF_INT8 = 1,
    LL_GGUF_UINT16 = 2,
    LL_GGUF_INT16 = 3,
    LL_GGUF_UINT32 = 4,
    LL_GGUF_INT32 = 5,
    LL_GGUF_FLOAT32 = 6,
    LL_GGUF_BOOL = 7,
    LL_GGUF_STRING = 8,
    LL_GGUF_ARRAY = 9,
    LL_GGUF_UINT64 = 10,
    LL_GGUF_INT64 = 11,
    LL_GGUF_FLOAT64 = 12,
    LL_GGUF_TYPE_COUNT
} ll_gguf_type;

typedef struct {
    const char *ptr; /* not NUL-terminated: it points into the file */
    size_t len;
} ll_gguf_str;

typedef struct {
    char *key;           /* NUL-terminated copy */
    ll_gguf_type type;
    uint64_t offset;     /* file offset of the value (for messages) */
    union {
        uint64_t u;
        int64_t i;
        double f;
        bool b;
        ll_gguf_str s;
    } v;
    /* arrays */
    ll_gguf_type arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data; /* first element (scalar arrays) */
    ll_gguf_str *arr_str;    /* string arrays: one entry per element */
} ll_gguf_kv;

typedef struct {
    char *name;
    uint32_t n_dims;
    uint64_t ne[4];      /* ne[0] is the contiguous dimension */
    uint32_t type;       /* ggml type id */
    uint64_t offset;     /* relative to the data section */
    uint64_t n_elements;
    uint64_t n_bytes;
    const void *data;
} ll_gguf_tensor;

typedef struct ll_gguf {
    const uint8_t *base;
    size_t size;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    ll_gguf_kv *kv;
    ll_gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;
    /* kv and tensors stay in file order (for listings); these index them by
     * key / name (strcmp order) for binary search */
    ll_gguf_kv **kv_sorted;
    ll_gguf_tensor **tensor_sorted;
    ll_file file; /* the mapped file (empty for an image in memory) */
} ll_gguf;

/* Opens and parses a GGUF file through ll_file_map: a FIFO, directory or
 * device is an error naming its kind, never a hang. */
ll_gguf *ll_gguf_open(const char *path, ll_error *err);
/* Parses an already mapped file and takes ownership of it: *f is left
 * empty whether or not it succeeds. path is for messages. */
ll_gguf *ll_gguf_open_file(ll_file *f, const char *path, ll_error *err);
/* Parses a GGUF image in memory; the caller keeps it alive (the embedded
 * model, the fuzzer). */
ll_gguf *ll_gguf_open_memory(const void *data, size_t size, ll_error *err);
void ll_gguf_close(ll_gguf *g);

const ll_gguf_kv *ll_gguf_find(const ll_gguf *g, const char *key);
const ll_gguf_tensor *ll_gguf_tensor_find(const ll_gguf *g, const char *name);

/* Typed lookups. They return LL_OK, or LL_ERR_FORMAT when the key exists
 * with an incompatible type; *found says whether it exists. Integer types
 * convert when the value fits. */
ll_status ll_gguf_get_u64(const ll_gguf *g, const char *key, uint64_t *out, bool *found, ll_error *err);
ll_status ll_gguf_get_f32(const ll_gguf *g, const char *key, float *out, bool *found, ll_error *err);
ll_status ll_gguf_get_bool(const ll_gguf *g, const char *key, bool *out, bool *found, ll_error *err);
/* Returns a NUL-terminated copy (caller frees) or NULL. */
char *ll_gguf_get_str(const ll_gguf *g, const char *key, bool *found, ll_error *err);

const char *ll_gguf_type_name(ll_gguf_type t);

#endif /* LL_GGUF_H */
