/*
 * json.c - recursive-descent JSON reader into an arena, and a streaming
 * writer. Depth is limited so hostile input cannot exhaust the stack.
 *
 * The writer always produces valid UTF-8: text that is not (a prompt's raw
 * bytes, a byte-fallback token) has each byte that is not part of a valid
 * UTF-8 sequence written as U+FFFD. Where the exact bytes matter the caller
 * writes them too, as an array of byte values (lj_w_bytes), the way
 * OpenAI's logprobs give "bytes" next to "token".
 */
#include "json.h"

#include "../core/file.h"
#include "../core/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LJ_MAX_DEPTH 256

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct lj_doc {
    chunk *chunks;
    lj_value *root;
};

typedef struct {
    lj_doc *doc;
    const char *s, *end, *start;
    ll_error *err;
    bool failed;
} parser;

static void *arena_alloc(lj_doc *d, size_t size) {
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!d->chunks || d->chunks->cap - d->chunks->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        chunk *c = malloc(sizeof(chunk) + cap);
        if (!c) return NULL;
        c->next = d->chunks;
        c->used = 0;
        c->cap = cap;
        d->chunks = c;
    }
    void *p = (char *)d->chunks->data + d->chunks->used;
    d->chunks->used += size;
    return p;
}

static void perr(parser *p, const char *msg) {
    if (p->failed) return;
    p->failed = true;
    size_t line = 1, col = 1;
    for (const char *q = p->start; q < p->s && q < p->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    ll_fail(p->err, LL_ERR_FORMAT, "JSON: %s at line %zu, column %zu", msg, line, col);
}

static void skip_ws(parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static lj_value *new_value(parser *p, lj_type t) {
    lj_value *v = arena_alloc(p->doc, sizeof *v);
    if (!v) {
        perr(p, "out of memory");
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static const char *parse_string(parser *p) {
    /* p->s is at the opening quote */
    const char *q = ++p->s;
    size_t cap = 0;
    while (q < p->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
        cap++;
    }
    if (q >= p->end) {
        perr(p, "unterminated string");
        return NULL;
    }
    char *out = arena_alloc(p->doc, cap * 4 + 1);
    if (!out) {
        perr(p, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (p->s < p->end && *p->s != '"') {
        char c = *p->s++;
        if ((unsigned char)c < 0x20) {
            perr(p, "control character in string");
            return NULL;
        }
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        if (p->s >= p->end) break;
        char e = *p->s++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = p->s < p->end ? hexval(*p->s++) : -1;
                if (h < 0) {
                    perr(p, "bad \\u escape");
                    return NULL;
                }
                cp = cp * 16 + (unsigned)h;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
                unsigned lo = 0;
                bool ok = true;
                for (int i = 2; i < 6; i++) {
                    int h = hexval(p->s[i]);
                    if (h < 0) ok = false;
                    else lo = lo * 16 + (unsigned)h;
                }
                if (ok && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p->s += 6;
                }
            }
            if (cp == 0) {
                /* strings are NUL-terminated: a NUL inside would cut them silently */
                perr(p, "\\u0000 in a string is not supported");
                return NULL;
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default: perr(p, "bad escape"); return NULL;
        }
    }
    if (p->s >= p->end) {
        perr(p, "unterminated string");
        return NULL;
    }
    p->s++; /* closing quote */
    out[n] = '\0';
    return out;
}

static lj_value *parse_value(parser *p, int depth);

typedef struct {
    lj_value **items;
    const char **keys;
    size_t n, cap;
} growable;

static bool grow_push(parser *p, growable *g, lj_value *v, const char *key) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 8;
        lj_value **it = realloc(g->items, cap * sizeof *it);
        if (!it) {
            perr(p, "out of memory");
            return false;
        }
        g->items = it;
        const char **ks = realloc(g->keys, cap * sizeof *ks);
        if (!ks) {
            perr(p, "out of memory");
            return false;
        }
        g->keys = ks;
        g->cap = cap;
    }
    g->items[g->n] = v;
    g->keys[g->n] = key;
    g->n++;
    return true;
}

static bool finish_growable(parser *p, growable *g, lj_value *v, bool with_keys) {
    v->n = g->n;
    v->items = arena_alloc(p->doc, (g->n ? g->n : 1) * sizeof *v->items);
    if (with_keys) v->keys = arena_alloc(p->doc, (g->n ? g->n : 1) * sizeof *v->keys);
    bool ok = v->items && (!with_keys || v->keys);
    if (ok && g->n) {
        memcpy(v->items, g->items, g->n * sizeof *v->items);
        if (with_keys) memcpy(v->keys, g->keys, g->n * sizeof *v->keys);
    }
    free(g->items);
    free(g->keys);
    if (!ok) perr(p, "out of memory");
    return ok;
}

static lj_value *parse_value(parser *p, int depth) {
    if (depth > LJ_MAX_DEPTH) {
        perr(p, "nesting too deep");
        return NULL;
    }
    skip_ws(p);
    if (p->s >= p->end) {
        perr(p, "unexpected end of input");
        return NULL;
    }
    char c = *p->s;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        lj_value *v = new_value(p, obj ? LJ_OBJ : LJ_ARR);
        if (!v) return NULL;
        p->s++;
        growable g = {0};
        skip_ws(p);
        if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
            p->s++;
            return finish_growable(p, &g, v, obj) ? v : NULL;
        }
        for (;;) {
            const char *key = NULL;
            if (obj) {
                skip_ws(p);
                if (p->s >= p->end || *p->s != '"') {
                    perr(p, "expected a string key");
                    break;
                }
                key = parse_string(p);
                if (!key) break;
                skip_ws(p);
                if (p->s >= p->end || *p->s != ':') {
                    perr(p, "expected ':'");
                    break;
                }
                p->s++;
            }
            lj_value *item = parse_value(p, depth + 1);
            if (!item || !grow_push(p, &g, item, key)) break;
            skip_ws(p);
            if (p->s < p->end && *p->s == ',') {
                p->s++;
                continue;
            }
            if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
                p->s++;
                return finish_growable(p, &g, v, obj) ? v : NULL;
            }
            perr(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            break;
        }
        free(g.items);
        free(g.keys);
        return NULL;
    }
    if (c == '"') {
        lj_value *v = new_value(p, LJ_STR);
        if (!v) return NULL;
        v->str = parse_string(p);
        return v->str ? v : NULL;
    }
    if (p->end - p->s >= 4 && memcmp(p->s, "true", 4) == 0) {
        p->s += 4;
        lj_value *v = new_value(p, LJ_BOOL);
        if (v) v->b = true;
        return v;
    }
    if (p->end - p->s >= 5 && memcmp(p->s, "false", 5) == 0) {
        p->s += 5;
        return new_value(p, LJ_BOOL);
    }
    if (p->end - p->s >= 4 && memcmp(p->s, "null", 4) == 0) {
        p->s += 4;
        return new_value(p, LJ_NULL);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char small[128];
        size_t n = 0;
        while (p->s + n < p->end && p->s[n] && strchr("+-0123456789.eE", p->s[n])) n++;
        /* strtod needs a terminated copy; a long one (0.000...1) is read whole, not cut */
        char *buf = n < sizeof small ? small : malloc(n + 1);
        if (!buf) {
            perr(p, "out of memory");
            return NULL;
        }
        memcpy(buf, p->s, n);
        buf[n] = '\0';
        char *endp;
        errno = 0;
        double d = strtod(buf, &endp);
        bool whole = endp != buf && (size_t)(endp - buf) == n;
        if (buf != small) free(buf);
        if (!whole) {
            perr(p, "bad number");
            return NULL;
        }
        if (isinf(d)) {
            /* 1e999 is not "inf": a number beyond a double is an error, not infinity */
            perr(p, "number out of the range of a double");
            return NULL;
        }
        p->s += n;
        lj_value *v = new_value(p, LJ_NUM);
        if (v) v->num = d;
        return v;
    }
    perr(p, "unexpected character");
    return NULL;
}

lj_doc *lj_parse(const char *text, size_t len, ll_error *err) {
    lj_doc *d = ll_calloc(1, sizeof *d, err);
    if (!d) return NULL;
    parser p = {d, text, text + len, text, err, false};
    d->root = parse_value(&p, 0);
    if (d->root) {
        skip_ws(&p);
        if (p.s != p.end) perr(&p, "trailing characters after the JSON value");
    }
    if (p.failed || !d->root) {
        lj_free(d);
        return NULL;
    }
    return d;
}

lj_doc *lj_parse_file(const char *path, ll_error *err) {
    /* through ll_file_map: a FIFO or a directory is an error, not a hang */
    ll_file f;
    if (ll_file_map(&f, path, 0, err) != LL_OK) return NULL;
    lj_doc *d = lj_parse((const char *)f.data, f.size, err);
    ll_file_close(&f);
    if (!d) {
        char q[LL_QUOTE_MAX]; /* a long path must not push the reason out of the message */
        ll_error_prefix(err, "%s", ll_quote(q, path, strlen(path)));
    }
    return d;
}

const lj_value *lj_root(const lj_doc *d) { return d->root; }

void lj_free(lj_doc *d) {
    if (!d) return;
    chunk *c = d->chunks;
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    free(d);
}

const lj_value *lj_get(const lj_value *obj, const char *key) {
    if (!obj || obj->type != LJ_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

const lj_value *lj_at(const lj_value *arr, size_t i) {
    if (!arr || (arr->type != LJ_ARR && arr->type != LJ_OBJ) || i >= arr->n) return NULL;
    return arr->items[i];
}

double lj_num(const lj_value *v) {
    if (!v) return NAN;
    if (v->type == LJ_NUM) return v->num;
    if (v->type == LJ_STR) {
        if (!strcmp(v->str, "inf") || !strcmp(v->str, "Infinity") || !strcmp(v->str, "+inf")) return INFINITY;
        if (!strcmp(v->str, "-inf") || !strcmp(v->str, "-Infinity")) return -INFINITY;
    }
    return NAN;
}

bool lj_is_num(const lj_value *v) {
    if (!v) return false;
    if (v->type == LJ_NUM) return true;
    return v->type == LJ_STR && !isnan(lj_num(v));
}

/* ---- writer ---- */

void lj_w_init(lj_writer *w, FILE *f, bool pretty) {
    memset(w, 0, sizeof *w);
    w->f = f;
    w->pretty = pretty;
    w->first[0] = true;
}

static void indent(lj_writer *w) {
    if (!w->pretty) return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
}

static void before_value(lj_writer *w) {
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (!w->first[w->depth]) fputc(',', w->f);
        indent(w);
    }
    w->first[w->depth] = false;
}

static void open(lj_writer *w, char c) {
    before_value(w);
    fputc(c, w->f);
    if (w->depth < 63) w->depth++;
    w->first[w->depth] = true;
}

static void close_(lj_writer *w, char c) {
    bool empty = w->first[w->depth];
    if (w->depth > 0) w->depth--;
    if (!empty) indent(w);
    fputc(c, w->f);
}

void lj_w_obj_begin(lj_writer *w) { open(w, '{'); }
void lj_w_obj_end(lj_writer *w) { close_(w, '}'); }
void lj_w_arr_begin(lj_writer *w) { open(w, '['); }
void lj_w_arr_end(lj_writer *w) { close_(w, ']'); }

size_t lj_utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool lj_utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = lj_utf8_seq(u + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

void lj_w_strn(lj_writer *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    before_value(w);
    fputc('"', w->f);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t k = lj_utf8_seq(u + i, n - i);
        if (k == 0) {
            fputs("\\ufffd", w->f); /* one replacement per invalid byte */
            i++;
            continue;
        }
        if (k > 1) {
            fwrite(u + i, 1, k, w->f);
            i += k;
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", w->f); break;
        case '\\': fputs("\\\\", w->f); break;
        case '\n': fputs("\\n", w->f); break;
        case '\r': fputs("\\r", w->f); break;
        case '\t': fputs("\\t", w->f); break;
        default:
            if (c < 0x20) fprintf(w->f, "\\u%04x", c);
            else fputc(c, w->f);
        }
        i++;
    }
    fputc('"', w->f);
}

void lj_w_bytes(lj_writer *w, const char *s, size_t n) {
    lj_w_arr_begin(w);
    bool pretty = w->pretty;
    w->pretty = false; /* one line: a byte per line would drown the output */
    for (size_t i = 0; i < n; i++) lj_w_int(w, (unsigned char)s[i]);
    lj_w_arr_end(w);
    w->pretty = pretty;
}

void lj_w_str(lj_writer *w, const char *s) { lj_w_strn(w, s, strlen(s)); }

void lj_w_key(lj_writer *w, const char *key) {
    lj_w_str(w, key);
    fputs(w->pretty ? ": " : ":", w->f);
    w->after_key = true;
}

void lj_w_int(lj_writer *w, long long v) {
    before_value(w);
    fprintf(w->f, "%lld", v);
}

void lj_w_float(lj_writer *w, float v) {
    if (!isfinite(v)) {
        lj_w_str(w, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    before_value(w);
    char buf[32];
    fputs(ll_format_float(buf, v), w->f);
}

void lj_w_double(lj_writer *w, double v) {
    if (!isfinite(v)) {
        lj_w_str(w, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    before_value(w);
    char buf[32];
    fputs(ll_format_double(buf, v), w->f);
}

void lj_w_bool(lj_writer *w, bool v) {
    before_value(w);
    fputs(v ? "true" : "false", w->f);
}

void lj_w_null(lj_writer *w) {
    before_value(w);
    fputs("null", w->f);
}

void lj_w_end(lj_writer *w) { fputc('\n', w->f); }
