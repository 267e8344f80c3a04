/*
 * json.h - a small JSON reader and writer (internal): enough for the CLI's
 * input and output and for reading the reference test vectors.
 *
 * The reader builds a tree in one allocation arena owned by lj_doc; the
 * writer streams to a FILE. Non-finite floats are written as the strings
 * "inf", "-inf" and "nan", and lj_num() reads them back.
 *
 * The writer's output is always valid UTF-8 JSON: in a string, each byte
 * that is not part of a valid UTF-8 sequence is written as U+FFFD ("\ufffd");
 * callers that must keep the exact bytes also write them with lj_w_bytes
 * (see lj_utf8_valid). The reader rejects "\u0000" (its strings are
 * NUL-terminated).
 */
#ifndef LL_JSON_H
#define LL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "logitlab.h"

typedef enum { LJ_NULL, LJ_BOOL, LJ_NUM, LJ_STR, LJ_ARR, LJ_OBJ } lj_type;

typedef struct lj_value {
    lj_type type;
    bool b;
    double num;
    const char *str;            /* LJ_STR: NUL-terminated */
    size_t n;                   /* LJ_ARR/LJ_OBJ: number of items */
    struct lj_value **items;
    const char **keys;          /* LJ_OBJ */
} lj_value;

typedef struct lj_doc lj_doc;

/* Parses text (len bytes). Errors name the line and column. */
lj_doc *lj_parse(const char *text, size_t len, ll_error *err);
lj_doc *lj_parse_file(const char *path, ll_error *err);
const lj_value *lj_root(const lj_doc *d);
void lj_free(lj_doc *d);

const lj_value *lj_get(const lj_value *obj, const char *key); /* NULL if absent */
const lj_value *lj_at(const lj_value *arr, size_t i);
/* A number, or the strings "inf", "-inf", "nan"; NaN if neither. */
double lj_num(const lj_value *v);
bool lj_is_num(const lj_value *v);

/* Writer */
typedef struct lj_writer {
    FILE *f;
    int depth;
    bool first[64];
    bool pretty;
    bool after_key;
} lj_writer;

void lj_w_init(lj_writer *w, FILE *f, bool pretty);
void lj_w_obj_begin(lj_writer *w);
void lj_w_obj_end(lj_writer *w);
void lj_w_arr_begin(lj_writer *w);
void lj_w_arr_end(lj_writer *w);
void lj_w_key(lj_writer *w, const char *key);
void lj_w_str(lj_writer *w, const char *s);
/* Invalid UTF-8 bytes become U+FFFD (see above). */
void lj_w_strn(lj_writer *w, const char *s, size_t n);
/* The bytes as an array of numbers 0..255, on one line. */
void lj_w_bytes(lj_writer *w, const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 if it is
 * not one (overlong forms, surrogates and code points past U+10FFFF are
 * invalid): the one strict decoder of every JSON writer (the CLI's, the
 * server's). */
size_t lj_utf8_seq(const unsigned char *s, size_t n);
/* Whether s[0..n) is valid UTF-8 (lj_w_strn writes it unchanged). */
bool lj_utf8_valid(const char *s, size_t n);
void lj_w_int(lj_writer *w, long long v);
void lj_w_float(lj_writer *w, float v);   /* shortest text that reads back exactly */
void lj_w_double(lj_writer *w, double v);
void lj_w_bool(lj_writer *w, bool v);
void lj_w_null(lj_writer *w);
void lj_w_end(lj_writer *w);              /* newline after the top value */

#endif /* LL_JSON_H */
