/*
 * lessons.h - the lessons of the tour: what each teaches, which source it
 * shows and which values its demos use (internal). Parameter names, CLI
 * flags, stages, defaults and ranges are not spelled here: a lesson names
 * its parameter rows (src/sampling/tables.h) and its text reads the rest
 * from them through {...} placeholders (ll_lesson_expand).
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
    const char *id;         /* the tour's name for it; NULL: the parameter's name */
    const char *title;      /* may hold placeholders ("{name} (nucleus sampling)") */
    ll_lesson_kind kind;
    int param, param2;      /* the parameter rows (LL_P_) the value sets, param2 to the same value; -1: none */
    const char *value_name; /* what the value is when it is no parameter row ("max_new_tokens"); NULL: the row's */
    const char *words;      /* further words users type for it, blank-separated (the rows' names and flags,
                               the stage's names and aliases find it already) */
    const char *concept;    /* may hold placeholders */
    const char *sources[3]; /* functions from sources.list */
    double def, lo, hi;     /* default value and the range the demo accepts; lo/hi NaN: the parameter's range
                               in range_profile (src/sampling/tables.c) */
    bool integer;
    double side[3];         /* side-by-side generations */
    double more[5];         /* "more values" */
    int range_profile;      /* the profile whose range lo/hi NaN take (ll_profile) */
} ll_lesson;

extern const ll_lesson ll_lessons[];
extern const size_t ll_n_lessons;

/* The lesson's name in the tour, its title, what its value is called
 * ("top_p", "frequency_penalty = presence_penalty"), the samplers= name of
 * its stage (NULL when it has none), and its value's valid range. */
const char *ll_lesson_id(const ll_lesson *L);
const char *ll_lesson_title(const ll_lesson *L);
const char *ll_lesson_value_name(const ll_lesson *L);
const char *ll_lesson_stage(const ll_lesson *L);
double ll_lesson_lo(const ll_lesson *L);
double ll_lesson_hi(const ll_lesson *L);
/* The main CLI flag of a parameter row ("--top-k"). */
const char *ll_param_flag(int param);
/* Whether word names the lesson: its parameters' names and flags (with or
 * without the dashes), its stage's names (ll_stage_matches) or its words. */
bool ll_lesson_named(const ll_lesson *L, const char *word);
/* text with its placeholders replaced from the tables (as snprintf):
 *   {name} {name2} {flag} {flag2}  the lesson's parameters' names and flags
 *   {default:PROFILE:PARAM}       the profile's default ("off" when it turns the stage off)
 *   {range:PROFILE:PARAM}         "[lo, hi]": the profile's range, else the row's
 *   {order:PROFILE}               the profile's default order, "a, b, c"
 *   {chain:PROFILE}               the stages of that order its defaults turn on, with their values
 * An unknown placeholder comes out as {?...}, which test_explain looks for. */
size_t ll_lesson_expand(const ll_lesson *L, const char *text, char *buf, size_t cap);

#endif /* LL_EXPLAIN_LESSONS_H */
