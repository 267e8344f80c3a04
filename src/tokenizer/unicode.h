/*
 * unicode.h - the Unicode facts the tokenizers need: UTF-8 decoding and
 * encoding, general-category classes as llama.cpp groups them, the
 * whitespace set, simple lowercasing and accent stripping (internal).
 */
#ifndef LL_UNICODE_H
#define LL_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    LL_UC_UNDEFINED = 0,
    LL_UC_NUMBER = 1,
    LL_UC_LETTER = 2,
    LL_UC_PUNCT = 3,
    LL_UC_MARK = 4,
    LL_UC_SYMBOL = 5,
    LL_UC_SEPARATOR = 6,
    LL_UC_CONTROL = 7
};

typedef struct {
    uint32_t lo, hi;
    uint8_t cls;
} ll_ucd_range;
typedef struct {
    uint32_t from, to;
} ll_ucd_pair;

extern const ll_ucd_range ll_ucd_classes[];
extern const size_t ll_ucd_n_classes;
extern const ll_ucd_pair ll_ucd_lower[];
extern const size_t ll_ucd_n_lower;
extern const ll_ucd_pair ll_ucd_nfd_base[];
extern const size_t ll_ucd_n_nfd_base;

int ll_uc_class(uint32_t cp);
bool ll_uc_is_whitespace(uint32_t cp);
uint32_t ll_uc_tolower(uint32_t cp);
uint32_t ll_uc_nfd_base(uint32_t cp);

/* Decodes the code point at s[*i] (advancing *i); invalid bytes give
 * U+FFFD and advance by one. */
uint32_t ll_utf8_next(const char *s, size_t n, size_t *i);
/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
size_t ll_utf8_put(uint32_t cp, char *out);

#endif /* LL_UNICODE_H */
