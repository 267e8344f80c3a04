/*
 * term.c - terminal output for the explain tour (see term.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "term.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static bool env_has_utf8(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return false;
    return strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8") || strstr(v, "utf-8");
}

void ll_term_detect(ll_term *t, FILE *f) {
    t->f = f;
    t->width = 0;
    int fd = fileno(f);
    bool tty = fd >= 0 && isatty(fd);
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (tty && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) t->width = ws.ws_col;
#endif
    if (!t->width) {
        const char *c = getenv("COLUMNS");
        if (c && atoi(c) > 0) t->width = atoi(c);
    }
    if (!t->width) t->width = 80;
    if (t->width < 40) t->width = 40;
    if (t->width > 160) t->width = 160;
    const char *nc = getenv("NO_COLOR");
    t->color = tty && !(nc && *nc);
    /* LC_ALL overrides LC_CTYPE overrides LANG, as setlocale would decide */
    const char *all = getenv("LC_ALL"), *ctype = getenv("LC_CTYPE");
    if (all && *all) t->utf8 = env_has_utf8("LC_ALL");
    else if (ctype && *ctype) t->utf8 = env_has_utf8("LC_CTYPE");
    else t->utf8 = env_has_utf8("LANG");
}

void ll_term_color(const ll_term *t, ll_color c) {
    if (!t->color) return;
    static const char *const codes[] = {"\033[0m", "\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[36m", "\033[33m"};
    fputs(codes[c], t->f);
}

void ll_term_rule(const ll_term *t) {
    ll_term_color(t, LL_C_DIM);
    for (int i = 0; i < t->width; i++) fputs(t->utf8 ? "\xe2\x94\x80" : "-", t->f);
    ll_term_color(t, LL_C_RESET);
    fputc('\n', t->f);
}

void ll_term_heading(const ll_term *t, const char *title) {
    fputc('\n', t->f);
    ll_term_color(t, LL_C_BOLD);
    fputs(t->utf8 ? "\xe2\x94\x80\xe2\x94\x80 " : "-- ", t->f);
    /* a title wider than the terminal goes on under the rule's start, cut at a space */
    size_t len = strlen(title);
    while (4 + ll_term_columns(title, len) > t->width) {
        size_t k = 0, space = 0;
        for (int cols = 0; title[k] && cols < t->width - 4; k++) {
            if (((unsigned char)title[k] & 0xC0) != 0x80) cols++;
            if (title[k] == ' ') space = k;
        }
        if (!space) break;
        fprintf(t->f, "%.*s\n   ", (int)space, title);
        title += space + 1;
        len = strlen(title);
    }
    fputs(title, t->f);
    fputc(' ', t->f);
    ll_term_color(t, LL_C_RESET);
    ll_term_color(t, LL_C_DIM);
    for (int i = 4 + ll_term_columns(title, strlen(title)); i < t->width; i++) fputs(t->utf8 ? "\xe2\x94\x80" : "-", t->f);
    ll_term_color(t, LL_C_RESET);
    fputc('\n', t->f);
}

int ll_term_columns(const char *s, size_t len) {
    int n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

void ll_term_wrap(const ll_term *t, const char *text, int indent) {
    int max = t->width - indent - 1;
    if (max < 20) max = 20;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t line_len = eol ? (size_t)(eol - p) : strlen(p);
        /* a line that starts with spaces is preformatted (a formula, a list) */
        if (line_len && p[0] == ' ') {
            fprintf(t->f, "%*s%.*s\n", indent, "", (int)line_len, p);
        } else if (!line_len) {
            fputc('\n', t->f);
        } else {
            const char *q = p, *end = p + line_len;
            while (q < end) {
                /* break at the last space, else after the last '/' (a/b/c lists) */
                const char *cut = q, *last_space = NULL, *last_slash = NULL;
                int cols = 0;
                while (cut < end && cols < max) {
                    if (*cut == ' ') last_space = cut;
                    if (*cut == '/' && cut + 1 < end) last_slash = cut + 1;
                    if (((unsigned char)*cut & 0xC0) != 0x80) cols++;
                    cut++;
                }
                if (cut < end && last_space && last_space > q && (!last_slash || last_space > last_slash))
                    cut = last_space;
                else if (cut < end && last_slash && last_slash > q)
                    cut = last_slash;
                fprintf(t->f, "%*s%.*s\n", indent, "", (int)(cut - q), q);
                q = cut;
                while (q < end && *q == ' ') q++;
            }
        }
        p += line_len;
        if (*p == '\n') p++;
    }
}

void ll_term_bar(const ll_term *t, double p, int cols) {
    if (cols < 1) return;
    if (!(p > 0)) p = 0;
    if (p > 1) p = 1;
    int eighths = (int)(p * cols * 8 + 0.5);
    int full = eighths / 8, part = eighths % 8, used = 0;
    static const char *const parts[] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                        "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
    for (int i = 0; i < full && used < cols; i++, used++) fputs(t->utf8 ? "\xe2\x96\x88" : "#", t->f);
    if (part && used < cols) {
        fputs(t->utf8 ? parts[part] : (part >= 4 ? "+" : ""), t->f);
        if (t->utf8 || part >= 4) used++;
    }
    for (; used < cols; used++) fputc(' ', t->f);
}

/* Length of the valid UTF-8 sequence at s[0..len), 0 if there is none
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned char c = s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > len) return 0;
    uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[k] & 0x3Fu);
    }
    static const uint32_t min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_of[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

void ll_term_put_text(FILE *f, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = utf8_seq(u + i, len - i, &cp);
        if (n == 1 && cp == '\n') {
            fputs("\\n", f);
        } else if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            /* all bytes of an encoded C1 control, or the one bad byte */
            size_t k = n ? n : 1;
            for (size_t j = 0; j < k; j++) fprintf(f, "\\x%02X", u[i + j]);
            i += k;
            continue;
        } else {
            fwrite(u + i, 1, n, f);
        }
        i += n;
    }
}

void ll_term_token(const ll_term *t, const char *bytes, size_t len, int cols) {
    bool pad = cols > 0;
    if (cols < 0) cols = -cols;
    char out[256];
    size_t o = 0;
    int used = 0;
    out[o++] = '\'';
    used++;
    for (size_t i = 0; i < len && o + 16 < sizeof out;) {
        unsigned char c = (unsigned char)bytes[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        for (size_t k = 1; k < n; k++)
            if (i + k >= len || ((unsigned char)bytes[i + k] & 0xC0) != 0x80) n = 0;
        int w = c == '\n' ? 2 : (n == 0 || c < 32 || c == 127) ? 4 : 1;
        if (used + w > cols - 1) break;
        if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (w == 4) { /* a control byte, or part of a character split across tokens */
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
            n = 1;
        } else {
            memcpy(out + o, bytes + i, n);
            o += n;
        }
        used += w;
        i += n ? n : 1;
    }
    out[o++] = '\'';
    used++;
    fwrite(out, 1, o, t->f);
    for (; pad && used < cols; used++) fputc(' ', t->f);
}
