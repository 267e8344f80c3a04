/*
 * term.h - plain-terminal output for the explain tour: width, colour that
 * respects NO_COLOR and turns off when not a TTY, probability bars, word
 * wrapping, printable token labels.
 */
#ifndef LL_EXPLAIN_TERM_H
#define LL_EXPLAIN_TERM_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int width;  /* columns */
    bool color; /* ANSI escapes */
    bool utf8;  /* block characters for bars, box rules */
} ll_term;

typedef enum { LL_C_RESET, LL_C_BOLD, LL_C_DIM, LL_C_GOOD, LL_C_BAD, LL_C_ACCENT, LL_C_CODE } ll_color;

/* Width from the terminal (TIOCGWINSZ), else $COLUMNS, else 80; colour when
 * f is a TTY and NO_COLOR is unset or empty; UTF-8 from the locale vars. */
void ll_term_detect(ll_term *t, FILE *f);
void ll_term_color(const ll_term *t, ll_color c);
/* A heading rule across the width. */
void ll_term_heading(const ll_term *t, const char *title);
void ll_term_rule(const ll_term *t);
/* Text wrapped to the width with `indent` spaces; keeps blank lines. */
void ll_term_wrap(const ll_term *t, const char *text, int indent);
/* A bar of `cols` columns for p in [0, 1], padded to cols. */
void ll_term_bar(const ll_term *t, double p, int cols);
/* A token's text as one printable label of at most `cols` display columns
 * (newline as \n, control bytes escaped), padded to cols; a negative cols
 * means at most -cols, unpadded. */
void ll_term_token(const ll_term *t, const char *bytes, size_t len, int cols);
/* Text from outside (a model's name, token pieces, a prompt) written so it
 * cannot drive the terminal: valid UTF-8 as is, newline as \n, every
 * control character (C0, DEL, and C1 whether raw or UTF-8 encoded) and
 * every byte that is not part of valid UTF-8 as \xNN. The one escaping of
 * shown text: info, tokenize, inspect and the tour all use it. */
void ll_term_put_text(FILE *f, const char *s, size_t len);
/* Display columns of UTF-8 text (each code point counts 1). */
int ll_term_columns(const char *s, size_t len);

#endif /* LL_EXPLAIN_TERM_H */
