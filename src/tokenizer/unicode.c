/*
 * unicode.c - lookups in the generated tables (binary search) and UTF-8.
 */
#include "unicode.h"

static const ll_ucd_pair *find_pair(const ll_ucd_pair *t, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].from < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && t[lo].from == cp ? &t[lo] : 0;
}

int ll_uc_class(uint32_t cp) {
    size_t lo = 0, hi = ll_ucd_n_classes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ll_ucd_classes[mid].hi < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < ll_ucd_n_classes && ll_ucd_classes[lo].lo <= cp ? ll_ucd_classes[lo].cls : LL_UC_UNDEFINED;
}

bool ll_uc_is_whitespace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

uint32_t ll_uc_tolower(uint32_t cp) {
    const ll_ucd_pair *p = find_pair(ll_ucd_lower, ll_ucd_n_lower, cp);
    return p ? p->to : cp;
}

uint32_t ll_uc_nfd_base(uint32_t cp) {
    const ll_ucd_pair *p = find_pair(ll_ucd_nfd_base, ll_ucd_n_nfd_base, cp);
    return p ? p->to : cp;
}

uint32_t ll_utf8_next(const char *s, size_t n, size_t *i) {
    const uint8_t *u = (const uint8_t *)s;
    uint8_t c = u[*i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n - *i) {
        (*i)++;
        return 0xFFFD;
    }
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < len; k++) {
        if ((u[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (u[*i + k] & 0x3Fu);
    }
    *i += len;
    return cp;
}

size_t ll_utf8_put(uint32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
