/*
 * internal.h - helpers shared by logitlab's translation units (not public).
 *
 * Error reporting, checked allocation and the small utilities every module
 * needs. Nothing here holds state: each helper works on what it is given.
 */
#ifndef LL_INTERNAL_H
#define LL_INTERNAL_H

#include "logitlab.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define LL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LL_PRINTF(a, b)
#endif

/* Records status and a formatted message in err (if not NULL); returns status. */
ll_status ll_fail(ll_error *err, ll_status status, const char *fmt, ...) LL_PRINTF(3, 4);
ll_status ll_failv(ll_error *err, ll_status status, const char *fmt, va_list ap);
/* Prepends "context: " to the message already in err. */
void ll_error_prefix(ll_error *err, const char *fmt, ...) LL_PRINTF(2, 3);

/* Allocation that reports failure through err. Sizes are checked for
 * overflow; a zero size allocates one byte so NULL always means failure. */
void *ll_malloc(size_t size, ll_error *err);
void *ll_calloc(size_t count, size_t size, ll_error *err);
void *ll_realloc_array(void *ptr, size_t count, size_t size, ll_error *err);
char *ll_strdup(const char *s, ll_error *err);
/* Zeroed memory for a big, long-lived array (weights, KV caches): from 2
 * MiB on its own mapping, aligned for transparent huge pages (file.c);
 * freed with ll_pages_free and the same n. */
void *ll_pages_alloc(size_t n, ll_error *err);
void ll_pages_free(void *p, size_t n);

/* Returns true when a*b overflows size_t. */
static inline int ll_mul_overflows(size_t a, size_t b) {
    return b != 0 && a > (size_t)-1 / b;
}

/* Checked size arithmetic for every count, dimension and byte size read from
 * outside: each stores the result and returns true, or returns false (and
 * leaves *out alone) when it would wrap. Chain them with && so that one
 * overflow anywhere fails the whole expression. */
static inline bool ll_mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}
static inline bool ll_add_ok(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}
/* a*b as a size_t (false also when the product does not fit size_t). */
static inline bool ll_mul_size_ok(uint64_t a, uint64_t b, size_t *out) {
    uint64_t r;
    if (!ll_mul_ok(a, b, &r) || r > (uint64_t)SIZE_MAX) return false;
    *out = (size_t)r;
    return true;
}

#define LL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define LL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* snprintf that never overflows and tolerates cap == 0; returns buf. */
char *ll_bufprintf(char *buf, size_t cap, const char *fmt, ...) LL_PRINTF(3, 4);

/* Quotes outside text (a key, a token piece, a flag value) for a message:
 * printable ASCII as is, every other byte (and \\ and ') as \xNN, and text
 * longer than fits shown as its start, "..." and its length in bytes, so a
 * crafted name can neither drive a terminal nor push the rest of a message
 * out of the error buffer. buf needs LL_QUOTE_MAX bytes; returns buf. */
#define LL_QUOTE_MAX 96
const char *ll_quote(char buf[LL_QUOTE_MAX], const char *s, size_t n);

/* Formats a float the shortest way that reads back to the same value
 * ("0.1", "1e-05", "-inf", "nan"). buf needs 32 bytes. */
const char *ll_format_float(char *buf, float v);
const char *ll_format_double(char *buf, double v);

#endif /* LL_INTERNAL_H */
