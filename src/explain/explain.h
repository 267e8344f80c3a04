/*
 * explain.h - `logitlab explain`: the hyperparameter tour, in turns. Each
 * lesson gives the concept, the real C source that implements it (embedded
 * at build time), a live demo on the model's next-token distribution for
 * the current prompt, and short generations at a few values; then the
 * tour asks what next: deeper, another hyperparameter, or quit.
 */
#ifndef LL_EXPLAIN_H
#define LL_EXPLAIN_H

#include <signal.h>
#include <stdio.h>

#include "logitlab.h"

typedef struct ll_explain ll_explain;

typedef struct {
    FILE *out, *in;
    const char *prompt;  /* NULL: "And God said" */
    int threads;
    int width;           /* 0: detect */
    int color;           /* -1: detect (TTY and NO_COLOR), 0 off, 1 on */
    const volatile sig_atomic_t *interrupt;
    const char *model_path, *tokenizer_path; /* for the commands the tour prints; NULL: the embedded model */
} ll_explain_options;

/* The model stays the caller's and must outlive the session. */
ll_explain *ll_explain_new(const ll_model *m, const ll_explain_options *o, ll_error *err);
void ll_explain_free(ll_explain *e);

size_t ll_explain_n_lessons(void);
/* Lesson i's id ("temperature") and title. */
const char *ll_explain_lesson_id(size_t i);
const char *ll_explain_lesson_title(size_t i);
/* Index of a lesson by id, by 1-based number, by an unambiguous prefix or
 * an alias; -1 if none, -2 if the prefix fits several lessons. */
int ll_explain_find(const char *name);

/* One lesson, non-interactively. value: NULL for the lesson's default. */
ll_status ll_explain_lesson(ll_explain *e, int lesson, const double *value, ll_error *err);
/* The deeper views of the current lesson. */
ll_status ll_explain_more_values(ll_explain *e, ll_error *err);
ll_status ll_explain_step(ll_explain *e, ll_error *err);
ll_status ll_explain_set_prompt(ll_explain *e, const char *prompt, ll_error *err);
/* The interactive tour on o->in / o->out; returns at quit, EOF or interrupt. */
ll_status ll_explain_tour(ll_explain *e, ll_error *err);

#endif /* LL_EXPLAIN_H */
