/*
 * regex.h - the small regular-expression engine the pre-tokenizers need
 * (internal).
 *
 * Syntax: alternation |, non-capturing groups (?:...), negative lookahead
 * (?!...), end anchor $, character classes [...] and [^...] with ranges
 * and escapes, \s \S \d \r \n \t \p{L} \p{N} \p{P} \p{M} \p{S} (and the
 * letter subcategories, treated as \p{L}), quantifiers ? * + {n} {n,m} on
 * single-character atoms. Matching is leftmost-first with backtracking,
 * as ECMAScript's std::regex (what llama.cpp runs) and Python's re.
 *
 * Categories follow llama.cpp's collapsed matching: for ASCII the members
 * are fixed ([0-9], [A-Za-z], ASCII punctuation, and $+<=>^`| as symbols -
 * not ~), for other code points the Unicode general category, and every
 * whitespace code point matches \s and no category.
 */
#ifndef LL_REGEX_H
#define LL_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

typedef struct ll_regex ll_regex;

ll_regex *ll_regex_compile(const char *pattern, ll_error *err);
void ll_regex_free(ll_regex *re);

/* Longest-first match at cps[pos..n) under leftmost-first rules: returns
 * the end position, or -1 if no match starts at pos. */
long ll_regex_match_at(const ll_regex *re, const uint32_t *cps, size_t n, size_t pos);

#endif /* LL_REGEX_H */
