/*
 * test_util.h - the tiny harness every test uses: checks that count and
 * report failures (never abort), float comparison with a stated tolerance,
 * and the path of ../shared.
 */
#ifndef LL_TEST_UTIL_H
#define LL_TEST_UTIL_H

#include <math.h>
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

static inline int tu_finish(const char *name) {
    printf("%s: %d checks, %d failures\n", name, tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}

#endif /* LL_TEST_UTIL_H */
