/*
 * lessons.h - the lessons of the tour: what each teaches, which source it
 * shows and which values its demos use (internal).
 */
#ifndef LL_EXPLAIN_LESSONS_H
#define LL_EXPLAIN_LESSONS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    LL_LESSON_LOOP,     /* logits -> probabilities -> token -> fed back */
    LL_LESSON_STAGE,    /* one logits processor, shown through the trace */
    LL_LESSON_STOP,     /* max_new_tokens, max_length, stop strings */
    LL_LESSON_DECODE,   /* greedy vs sampling vs beam search */
    LL_LESSON_SEED,     /* seeds and reproducibility */
    LL_LESSON_ORDER,    /* the order of the chain: HF vs llama.cpp */
    LL_LESSON_COMPARE,  /* the same settings under every profile (logitlab compare) */
    LL_LESSON_COMBINED  /* everything at once */
} ll_lesson_kind;

typedef struct {
    const char *id, *title;
    ll_lesson_kind kind;
    const char *stage;      /* STAGE: sampler name in samplers=, and the trace stage's prefix */
    const char *param;      /* what --value sets, as users name it */
    const char *concept;
    const char *sources[3]; /* functions from sources.list */
    double def, lo, hi;     /* default value and the range the demo accepts */
    bool integer;
    double side[3];         /* side-by-side generations */
    double more[5];         /* "more values" */
} ll_lesson;

extern const ll_lesson ll_lessons[];
extern const size_t ll_n_lessons;

#endif /* LL_EXPLAIN_LESSONS_H */
