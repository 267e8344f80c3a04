/*
 * regex.c - parser and backtracking matcher over code points. A pattern is
 * an alternation of sequences; a sequence holds items (an atom with its
 * quantifier, a group, a negative lookahead, or $); continuations are an
 * explicit stack, so backtracking reaches into groups correctly.
 */
#include "regex.h"

#include <stdlib.h>
#include <string.h>

#include "unicode.h"

enum { CI_RANGE, CI_CAT, CI_SPACE, CI_NOT_SPACE, CI_DIGIT };

typedef struct {
    int kind;
    uint32_t lo, hi; /* range, or category in lo */
} class_item;

typedef struct {
    class_item *items;
    size_t n;
    int negated;
} cclass;

enum { IT_ATOM, IT_GROUP, IT_NEG_LOOKAHEAD, IT_END };

struct alt;

typedef struct {
    int type;
    cclass cls; /* atoms are classes (a literal is a one-range class) */
    int min, max; /* max -1 = unbounded */
    struct alt *sub;
} item;

typedef struct {
    item *items;
    size_t n;
} seq;

typedef struct alt {
    seq *seqs;
    size_t n;
} alt;

struct ll_regex {
    alt *root;
};

/* ---- parser ---- */

typedef struct {
    const char *s;
    size_t i, n;
    ll_error *err;
    int failed;
} parser;

static int pfail(parser *p, const char *msg) {
    if (!p->failed) ll_fail(p->err, LL_ERR_INVALID_ARGUMENT, "regex: %s at offset %zu", msg, p->i);
    p->failed = 1;
    return 0;
}

static uint32_t next_cp(parser *p) { return ll_utf8_next(p->s, p->n, &p->i); }

static int push_ci(parser *p, cclass *c, class_item it) {
    class_item *a = realloc(c->items, (c->n + 1) * sizeof *a);
    if (!a) return pfail(p, "out of memory");
    c->items = a;
    a[c->n++] = it;
    return 1;
}

static int category_of_name(const char *name, size_t len) {
    if (len >= 1 && name[0] == 'L') return LL_UC_LETTER; /* L, Lu, Ll, Lt, Lm, Lo */
    if (len == 1 && name[0] == 'N') return LL_UC_NUMBER;
    if (len == 1 && name[0] == 'P') return LL_UC_PUNCT;
    if (len == 1 && name[0] == 'M') return LL_UC_MARK;
    if (len == 1 && name[0] == 'S') return LL_UC_SYMBOL;
    return -1;
}

/* An escape after '\\'; adds it to c. Returns 1, or 0 on error. */
static int parse_escape(parser *p, cclass *c, uint32_t *literal) {
    if (p->i >= p->n) return pfail(p, "dangling backslash");
    char e = p->s[p->i++];
    class_item it = {0, 0, 0};
    *literal = (uint32_t)-1;
    switch (e) {
    case 's': it.kind = CI_SPACE; return push_ci(p, c, it);
    case 'S': it.kind = CI_NOT_SPACE; return push_ci(p, c, it);
    case 'd': it.kind = CI_DIGIT; return push_ci(p, c, it);
    case 'r': *literal = '\r'; return 1;
    case 'n': *literal = '\n'; return 1;
    case 't': *literal = '\t'; return 1;
    case 'p': {
        if (p->i >= p->n || p->s[p->i] != '{') return pfail(p, "\\p needs {Category}");
        size_t start = ++p->i;
        while (p->i < p->n && p->s[p->i] != '}') p->i++;
        if (p->i >= p->n) return pfail(p, "unterminated \\p{");
        int cat = category_of_name(p->s + start, p->i - start);
        p->i++;
        if (cat < 0) return pfail(p, "unknown Unicode category");
        it.kind = CI_CAT;
        it.lo = (uint32_t)cat;
        return push_ci(p, c, it);
    }
    case 'U': { /* \Uhhhhhhhh */
        if (p->n - p->i < 8) return pfail(p, "short \\U escape");
        uint32_t v = 0;
        for (int k = 0; k < 8; k++) {
            char h = p->s[p->i++];
            v = v * 16 + (uint32_t)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
        }
        *literal = v;
        return 1;
    }
    default: *literal = (uint32_t)(unsigned char)e; return 1; /* \$ \+ \^ \| \\ \[ ... */
    }
}

static int parse_class(parser *p, cclass *c) {
    /* p->i is just past '[' */
    if (p->i < p->n && p->s[p->i] == '^') {
        c->negated = 1;
        p->i++;
    }
    int first = 1;
    while (p->i < p->n && (p->s[p->i] != ']' || first)) {
        first = 0;
        uint32_t lo;
        if (p->s[p->i] == '\\') {
            p->i++;
            if (!parse_escape(p, c, &lo)) return 0;
            if (lo == (uint32_t)-1) continue;
        } else {
            lo = next_cp(p);
        }
        uint32_t hi = lo;
        if (p->i + 1 < p->n && p->s[p->i] == '-' && p->s[p->i + 1] != ']') {
            p->i++;
            if (p->s[p->i] == '\\') {
                p->i++;
                cclass dummy = {0};
                if (!parse_escape(p, &dummy, &hi)) return 0;
                free(dummy.items);
                if (hi == (uint32_t)-1) return pfail(p, "class range ends in a class escape");
            } else {
                hi = next_cp(p);
            }
        }
        class_item it = {CI_RANGE, lo, hi};
        if (!push_ci(p, c, it)) return 0;
    }
    if (p->i >= p->n) return pfail(p, "unterminated class");
    p->i++;
    return 1;
}

static alt *parse_alt(parser *p);

static int parse_quant(parser *p, item *it) {
    it->min = it->max = 1;
    if (p->i >= p->n) return 1;
    char q = p->s[p->i];
    if (q == '?') it->min = 0, it->max = 1, p->i++;
    else if (q == '*') it->min = 0, it->max = -1, p->i++;
    else if (q == '+') it->min = 1, it->max = -1, p->i++;
    else if (q == '{') {
        size_t j = p->i + 1;
        int a = 0, b = -2;
        while (j < p->n && p->s[j] >= '0' && p->s[j] <= '9') a = a * 10 + (p->s[j++] - '0');
        if (j < p->n && p->s[j] == ',') {
            j++;
            if (j < p->n && p->s[j] == '}') b = -1;
            else {
                b = 0;
                while (j < p->n && p->s[j] >= '0' && p->s[j] <= '9') b = b * 10 + (p->s[j++] - '0');
            }
        } else {
            b = a;
        }
        if (j >= p->n || p->s[j] != '}') return pfail(p, "bad {n,m} quantifier");
        p->i = j + 1;
        it->min = a;
        it->max = b;
    }
    if (p->i < p->n && (p->s[p->i] == '?' || p->s[p->i] == '+') && it->max != 1)
        return pfail(p, "lazy or possessive quantifiers are not supported");
    return 1;
}

static seq *parse_seq(parser *p, seq *s) {
    while (p->i < p->n && p->s[p->i] != '|' && p->s[p->i] != ')') {
        item it;
        memset(&it, 0, sizeof it);
        char c = p->s[p->i];
        if (c == '(') {
            if (p->n - p->i >= 3 && p->s[p->i + 1] == '?' && (p->s[p->i + 2] == ':' || p->s[p->i + 2] == '!')) {
                it.type = p->s[p->i + 2] == ':' ? IT_GROUP : IT_NEG_LOOKAHEAD;
                p->i += 3;
            } else {
                it.type = IT_GROUP; /* a capturing group behaves the same here */
                p->i++;
            }
            it.sub = parse_alt(p);
            if (!it.sub) return NULL;
            if (p->i >= p->n || p->s[p->i] != ')') {
                pfail(p, "missing )");
                return NULL;
            }
            p->i++;
            it.min = it.max = 1;
            if (p->i < p->n && strchr("?*+{", p->s[p->i])) {
                pfail(p, "quantified groups are not supported");
                return NULL;
            }
        } else if (c == '$') {
            it.type = IT_END;
            p->i++;
        } else {
            it.type = IT_ATOM;
            if (c == '[') {
                p->i++;
                if (!parse_class(p, &it.cls)) return NULL;
            } else if (c == '\\') {
                p->i++;
                uint32_t lit;
                if (!parse_escape(p, &it.cls, &lit)) return NULL;
                if (lit != (uint32_t)-1) {
                    class_item ci = {CI_RANGE, lit, lit};
                    if (!push_ci(p, &it.cls, ci)) return NULL;
                }
            } else {
                uint32_t cp = next_cp(p);
                class_item ci = {CI_RANGE, cp, cp};
                if (!push_ci(p, &it.cls, ci)) return NULL;
            }
            if (!parse_quant(p, &it)) return NULL;
        }
        item *a = realloc(s->items, (s->n + 1) * sizeof *a);
        if (!a) {
            pfail(p, "out of memory");
            return NULL;
        }
        s->items = a;
        a[s->n++] = it;
    }
    return s;
}

static alt *parse_alt(parser *p) {
    alt *a = calloc(1, sizeof *a);
    if (!a) {
        pfail(p, "out of memory");
        return NULL;
    }
    for (;;) {
        seq *ss = realloc(a->seqs, (a->n + 1) * sizeof *ss);
        if (!ss) {
            pfail(p, "out of memory");
            return a;
        }
        a->seqs = ss;
        memset(&a->seqs[a->n], 0, sizeof(seq));
        a->n++;
        if (!parse_seq(p, &a->seqs[a->n - 1])) return a;
        if (p->i < p->n && p->s[p->i] == '|') {
            p->i++;
            continue;
        }
        return a;
    }
}

static void free_alt(alt *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < a->seqs[i].n; j++) {
            free(a->seqs[i].items[j].cls.items);
            free_alt(a->seqs[i].items[j].sub);
        }
        free(a->seqs[i].items);
    }
    free(a->seqs);
    free(a);
}

ll_regex *ll_regex_compile(const char *pattern, ll_error *err) {
    parser p = {pattern, 0, strlen(pattern), err, 0};
    alt *a = parse_alt(&p);
    if (!p.failed && p.i != p.n) pfail(&p, "unbalanced )");
    if (p.failed || !a) {
        free_alt(a);
        return NULL;
    }
    ll_regex *re = malloc(sizeof *re);
    if (!re) {
        free_alt(a);
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    re->root = a;
    return re;
}

void ll_regex_free(ll_regex *re) {
    if (!re) return;
    free_alt(re->root);
    free(re);
}

/* ---- matching ---- */

static int ascii_cat(uint32_t c, int cat) {
    switch (cat) {
    case LL_UC_NUMBER: return c >= '0' && c <= '9';
    case LL_UC_LETTER: return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    case LL_UC_PUNCT: return (c >= '!' && c <= '#') || (c >= '%' && c <= '*') || (c >= ',' && c <= '/') ||
                             c == ':' || c == ';' || c == '?' || c == '@' || (c >= '[' && c <= ']') || c == '_' ||
                             c == '{' || c == '}';
    case LL_UC_SYMBOL: return c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '`' || c == '|';
    default: return 0;
    }
}

static int in_cat(uint32_t cp, int cat) {
    if (cp < 128) return ascii_cat(cp, cat);
    if (ll_uc_is_whitespace(cp)) return 0;
    return ll_uc_class(cp) == cat;
}

static int class_match(const cclass *c, uint32_t cp) {
    int hit = 0;
    for (size_t i = 0; i < c->n && !hit; i++) {
        const class_item *it = &c->items[i];
        switch (it->kind) {
        case CI_RANGE: hit = cp >= it->lo && cp <= it->hi; break;
        case CI_CAT: hit = in_cat(cp, (int)it->lo); break;
        case CI_SPACE: hit = ll_uc_is_whitespace(cp); break;
        case CI_NOT_SPACE: hit = !ll_uc_is_whitespace(cp); break;
        case CI_DIGIT: hit = cp >= '0' && cp <= '9'; break;
        }
    }
    return c->negated ? !hit : hit;
}

typedef struct cont {
    const seq *s;
    size_t idx;
    const struct cont *next;
} cont;

typedef struct {
    const uint32_t *cps;
    size_t n;
} subject;

static long match_seq(const subject *sb, const seq *s, size_t idx, size_t pos, const cont *k);

static long match_alt(const subject *sb, const alt *a, size_t pos, const cont *k) {
    for (size_t i = 0; i < a->n; i++) {
        long r = match_seq(sb, &a->seqs[i], 0, pos, k);
        if (r >= 0) return r;
    }
    return -1;
}

static long match_seq(const subject *sb, const seq *s, size_t idx, size_t pos, const cont *k) {
    if (idx == s->n) return k ? match_seq(sb, k->s, k->idx, pos, k->next) : (long)pos;
    const item *it = &s->items[idx];
    switch (it->type) {
    case IT_ATOM: {
        size_t max = it->max < 0 ? sb->n - pos : (size_t)it->max;
        size_t cnt = 0;
        while (cnt < max && pos + cnt < sb->n && class_match(&it->cls, sb->cps[pos + cnt])) cnt++;
        if (cnt < (size_t)it->min) return -1;
        for (size_t c = cnt + 1; c-- > (size_t)it->min;) {
            long r = match_seq(sb, s, idx + 1, pos + c, k);
            if (r >= 0) return r;
        }
        return -1;
    }
    case IT_GROUP: {
        cont nk = {s, idx + 1, k};
        return match_alt(sb, it->sub, pos, &nk);
    }
    case IT_NEG_LOOKAHEAD:
        if (match_alt(sb, it->sub, pos, NULL) >= 0) return -1;
        return match_seq(sb, s, idx + 1, pos, k);
    case IT_END: return pos == sb->n ? match_seq(sb, s, idx + 1, pos, k) : -1;
    }
    return -1;
}

long ll_regex_match_at(const ll_regex *re, const uint32_t *cps, size_t n, size_t pos) {
    subject sb = {cps, n};
    return match_alt(&sb, re->root, pos, NULL);
}
