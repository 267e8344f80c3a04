/*
 * explain_impl.h - the explain session and the parts shared by its files
 * (internal).
 */
#ifndef LL_EXPLAIN_IMPL_H
#define LL_EXPLAIN_IMPL_H

#include "explain.h"
#include "lessons.h"
#include "term.h"


struct ll_explain {
    const ll_model *model;
    const ll_tokenizer *tok;
    ll_context *ctx; /* holds the prompt between demos */
    size_t V, n_ctx;
    ll_term term;
    FILE *in;
    char prompt[1024];
    char model_flags[600]; /* " -m PATH [--tokenizer PATH]", or "" for the embedded model */
    int32_t *ids;
    size_t n_ids;
    float *logits; /* the model's next-token logits after the prompt */
    const volatile sig_atomic_t *interrupt;
    int current;   /* lesson on screen, -1 before the first */
    double value;  /* its value */
};

/* The penalties' window the demos use: llama.cpp's default penalty_last_n
 * (from the profile table). */
size_t ll_explain_penalty_window(void);
void ll_explain_print_stage(ll_explain *e, const ll_trace_stage *s, bool mark_history);
ll_status ll_explain_demo(ll_explain *e, const ll_lesson *L, double v, ll_error *err);
ll_status ll_explain_check_value(const ll_lesson *L, double v, ll_error *err);
/* step.c: the lesson's arithmetic on the current distribution */
ll_status ll_explain_step_through(ll_explain *e, const ll_lesson *L, double v, ll_error *err);

#endif /* LL_EXPLAIN_IMPL_H */
