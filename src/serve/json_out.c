/*
 * json_out.c - JSON pieces of the server's answers (jansson): text that
 * may hold invalid UTF-8, token texts and bytes, the per-stage trace (the
 * record `logitlab inspect --json` writes), errors in OpenAI's shape, and
 * a growing text buffer.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_impl.h"
#include "util/json.h"

bool srv_fail(srv_err *e, int status, const char *param, const char *fmt, ...) {
    e->status = status;
    if (!e->type)
        e->type = status == 401   ? "authentication_error"
                  : status == 404 ? "not_found_error"
                  : status >= 500 ? "server_error"
                                  : "invalid_request_error";
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

char *srv_err_body(const srv_err *e) {
    json_t *err = json_object();
    json_object_set_new(err, "message", srv_json_text(e->message, strlen(e->message)));
    json_object_set_new(err, "type", json_string(e->type ? e->type : "invalid_request_error"));
    json_object_set_new(err, "param", e->param[0] ? srv_json_text(e->param, strlen(e->param)) : json_null());
    json_object_set_new(err, "code", e->code ? json_string(e->code) : json_null());
    json_t *root = json_object();
    json_object_set_new(root, "error", err);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

json_t *srv_json_text(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j) return j;
    /* invalid UTF-8 (or a NUL byte, which jansson accepts in stringn):
     * rebuild with U+FFFD for each bad byte */
    char *buf = malloc(n * 3 + 1);
    if (!buf) return json_null();
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = lj_utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, s + i, k);
            o += k;
            i += k;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j ? j : json_null();
}

/* The token's bytes (malloc'ed, *len set); NULL when out of memory. */
static char *token_bytes(const ll_tokenizer *tok, int32_t id, size_t *len) {
    size_t n = ll_token_to_bytes(tok, id, true, NULL, 0);
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    ll_token_to_bytes(tok, id, true, buf, n + 1);
    *len = n;
    return buf;
}

json_t *srv_json_token_text(const ll_tokenizer *tok, int32_t id) {
    size_t n;
    char *b = token_bytes(tok, id, &n);
    if (!b) return json_null();
    json_t *j = srv_json_text(b, n);
    free(b);
    return j;
}

json_t *srv_json_token_bytes(const ll_tokenizer *tok, int32_t id) {
    size_t n;
    char *b = token_bytes(tok, id, &n);
    json_t *a = json_array();
    for (size_t i = 0; b && i < n; i++) json_array_append_new(a, json_integer((unsigned char)b[i]));
    free(b);
    return a;
}

static json_t *token_list(const ll_tokenizer *tok, const ll_trace_token *t, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(t[i].id));
        if (tok) json_object_set_new(o, "token", srv_json_token_text(tok, t[i].id));
        json_object_set_new(o, "logit", json_real(t[i].logit));
        json_object_set_new(o, "p", json_real(t[i].p));
        json_array_append_new(a, o);
    }
    return a;
}

/* A non-finite double has no JSON number: -inf (a banned token's logit,
 * an entropy of nothing) is written as null. */
static json_t *num(double v) { return v == v && v - v == 0 ? json_real(v) : json_null(); }

json_t *srv_json_trace(const ll_trace *trace, const ll_tokenizer *tok) {
    json_t *a = json_array();
    for (size_t i = 0; i < ll_trace_n_stages(trace); i++) {
        const ll_trace_stage *st = ll_trace_stage_at(trace, i);
        json_t *o = json_object();
        json_object_set_new(o, "stage", srv_json_text(st->name, strnlen(st->name, sizeof st->name)));
        json_object_set_new(o, "n_before", json_integer((json_int_t)st->n_before));
        json_object_set_new(o, "n_after", json_integer((json_int_t)st->n_after));
        json_object_set_new(o, "mass_removed", num(st->mass_removed));
        json_object_set_new(o, "entropy_before", num(st->entropy_before));
        json_object_set_new(o, "entropy_after", num(st->entropy_after));
        if (st->selected >= 0) json_object_set_new(o, "selected", json_integer(st->selected));
        json_object_set_new(o, "top_before", token_list(tok, st->top_before, st->n_top));
        json_object_set_new(o, "top_after", token_list(tok, st->top_after, st->n_top_after));
        json_array_append_new(a, o);
    }
    return a;
}

bool srv_buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return false;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

bool srv_buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[512];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if ((size_t)n < sizeof small) return srv_buf_add(buf, len, cap, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return false;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = srv_buf_add(buf, len, cap, big, (size_t)n);
    free(big);
    return ok;
}
