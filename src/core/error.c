/*
 * error.c - status codes, error messages and checked allocation.
 *
 * logitlab has no global error variable: a failing call fills the ll_error
 * the caller handed in, so two threads using two objects never interfere.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ll_status_string(ll_status status) {
    switch (status) {
    case LL_OK: return "ok";
    case LL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case LL_ERR_OUT_OF_MEMORY: return "out of memory";
    case LL_ERR_IO: return "I/O error";
    case LL_ERR_FORMAT: return "format error";
    case LL_ERR_UNSUPPORTED: return "unsupported";
    case LL_ERR_STATE: return "invalid state";
    case LL_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

void ll_error_clear(ll_error *err) {
    if (!err) return;
    err->status = LL_OK;
    err->message[0] = '\0';
}

ll_status ll_failv(ll_error *err, ll_status status, const char *fmt, va_list ap) {
    if (err) {
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return status;
}

ll_status ll_fail(ll_error *err, ll_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ll_failv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

void ll_error_prefix(ll_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[LL_ERROR_MESSAGE_MAX];
    char old[LL_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = 0;
    size_t lp = strlen(prefix), lo = strlen(old);
    size_t cap = sizeof err->message - 1;
    if (lp > cap) lp = cap;
    memcpy(err->message, prefix, lp);
    size_t n = lp;
    if (n + 2 <= cap) {
        memcpy(err->message + n, ": ", 2);
        n += 2;
    }
    if (lo > cap - n) lo = cap - n;
    memcpy(err->message + n, old, lo);
    err->message[n + lo] = '\0';
}

void *ll_malloc(size_t size, ll_error *err) {
    void *p = malloc(size ? size : 1);
    if (!p) ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", size);
    return p;
}

void *ll_calloc(size_t count, size_t size, ll_error *err) {
    if (ll_mul_overflows(count, size)) {
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *ll_realloc_array(void *ptr, size_t count, size_t size, ll_error *err) {
    if (ll_mul_overflows(count, size)) {
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    size_t bytes = count * size;
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}

char *ll_strdup(const char *s, ll_error *err) {
    size_t n = strlen(s) + 1;
    char *p = ll_malloc(n, err);
    if (p) memcpy(p, s, n);
    return p;
}

char *ll_bufprintf(char *buf, size_t cap, const char *fmt, ...) {
    if (cap == 0) return buf;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return buf;
}

const char *ll_format_float(char *buf, float v) {
    if (isnan(v)) return strcpy(buf, "nan");
    if (isinf(v)) return strcpy(buf, v > 0 ? "inf" : "-inf");
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, 32, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) return buf;
    }
    return buf;
}

const char *ll_format_double(char *buf, double v) {
    if (isnan(v)) return strcpy(buf, "nan");
    if (isinf(v)) return strcpy(buf, v > 0 ? "inf" : "-inf");
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return buf;
    }
    return buf;
}

const char *ll_quote(char buf[LL_QUOTE_MAX], const char *s, size_t n) {
    /* room for the tail " ... (18446744073709551615 bytes)" */
    const size_t body = LL_QUOTE_MAX - 34;
    size_t o = 0, i = 0;
    for (; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        bool plain = c >= 0x20 && c < 0x7F && c != '\\' && c != '\'';
        if (o + (plain ? 1 : 4) > body) break;
        if (plain) buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, LL_QUOTE_MAX - o, "\\x%02X", c);
    }
    if (i < n) snprintf(buf + o, LL_QUOTE_MAX - o, "... (%zu bytes)", n);
    else buf[o] = '\0';
    return buf;
}
