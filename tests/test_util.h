/*
 * test_util.h - the tiny harness every test uses: checks that count and
 * report failures (never abort), float comparison with a stated tolerance,
 * the path of ../shared, and a growable byte buffer for tests that build
 * files byte by byte (little-endian, as GGUF and llama2.c store numbers).
 */
#ifndef LL_TEST_UTIL_H
#define LL_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logitlab.h"

#ifndef LL_ARRAY_LEN
#define LL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#endif

static int tu_failures, tu_checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        tu_checks++;                                                       \
        if (!(cond)) {                                                     \
            tu_failures++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define CHECK_OK(st, err) CHECK((st) == LL_OK, "status %d: %s", (int)(st), (err).message)

/* |a - b| <= atol + rtol * |b|, with infinities equal only to themselves. */
static inline int tu_close(double a, double b, double atol, double rtol) {
    if (isinf(a) || isinf(b)) return a == b;
    if (isnan(a) || isnan(b)) return 0;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

static inline const char *tu_shared(void) {
#ifdef LL_SHARED_DIR
    return LL_SHARED_DIR;
#else
    return "../shared";
#endif
}

/* A whole file, NUL-terminated (the caller frees); NULL if it cannot be
 * read. *len (may be NULL) gets its size. */
static inline char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    if (!b) return NULL;
    b[n] = '\0';
    if (len) *len = (size_t)n;
    return b;
}

/* ---- a growable byte buffer ---- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} tu_bytes;

/* Appends n bytes; running out of memory ends the test (a file cut short
 * would make a case test something else without a word). */
static inline void tu_put(tu_bytes *w, const void *p, size_t n) {
    if (n > SIZE_MAX - w->n) {
        fprintf(stderr, "a test file of more than SIZE_MAX bytes\n");
        exit(2);
    }
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->n + n) cap = cap > SIZE_MAX / 2 ? w->n + n : 2 * cap;
        uint8_t *nb = realloc(w->b, cap);
        if (!nb) {
            fprintf(stderr, "out of memory building a test file (%zu bytes)\n", cap);
            exit(2);
        }
        w->b = nb;
        w->cap = cap;
    }
    if (n) memcpy(w->b + w->n, p, n);
    w->n += n;
}
static inline void tu_put_zeros(tu_bytes *w, size_t n) {
    static const uint8_t z[4096];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        tu_put(w, z, k);
        n -= k;
    }
}
static inline void tu_put_u8(tu_bytes *w, uint8_t v) { tu_put(w, &v, 1); }
static inline void tu_put_u32(tu_bytes *w, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
    tu_put(w, b, 4);
}
static inline void tu_put_u64(tu_bytes *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    tu_put(w, b, 8);
}
static inline void tu_put_f32(tu_bytes *w, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    tu_put_u32(w, u);
}
static inline void tu_put_f64(tu_bytes *w, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    tu_put_u64(w, u);
}
/* a GGUF string: uint64 length, then the bytes */
static inline void tu_put_strn(tu_bytes *w, const char *s, size_t n) {
    tu_put_u64(w, n);
    tu_put(w, s, n);
}
static inline void tu_put_str(tu_bytes *w, const char *s) { tu_put_strn(w, s, strlen(s)); }

static inline int tu_finish(const char *name) {
    printf("%s: %d checks, %d failures\n", name, tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}

#endif /* LL_TEST_UTIL_H */
