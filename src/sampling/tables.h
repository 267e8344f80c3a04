/*
 * tables.h - the two tables behind the profiles (internal), and the
 * parameter table they index.
 *
 *  - a parameter row: one hyperparameter as the library field, the CLI
 *    flag, the name inside samplers=stage(name=value), its type, range and
 *    help line, the stage that reads it and what turns that stage on;
 *  - a stage row: a processor that can be named in samplers=, with its
 *    aliases (HF class name, llama.cpp name, CLI flag), its parameters, when
 *    it does something and how to build it;
 *  - a profile row: a framework's defaults, the order of its stages, the
 *    ranges that differ, the greedy rule, the length default, what
 *    ignore_eos means, which warnings apply and what the framework does
 *    with values logitlab rejects.
 *
 * params.c builds chains from these rows, the CLI reads its flags and
 * --help from them, the tour its parameter names, generate.c and beam.c the
 * greedy rule and the length default, and docs/semantics.md holds their
 * markdown (ll_profiles_markdown; tests/test_stage_tables.c keeps it equal).
 *
 * Adding a sampler: its own file (constructor), one LL_ST_ value and one
 * stage row in tables.c (with a build function), its parameters as
 * parameter rows, and its place in the profiles' default orders if any.
 */
#ifndef LL_SAMPLING_TABLES_H
#define LL_SAMPLING_TABLES_H

#include "sampler_impl.h"

/* ---- parameters ---- */

typedef enum {
    LL_P_TEMPERATURE,
    LL_P_DYNATEMP_RANGE,
    LL_P_DYNATEMP_EXPONENT,
    LL_P_TOP_K,
    LL_P_TOP_P,
    LL_P_MIN_P,
    LL_P_TYPICAL_P,
    LL_P_EPSILON,
    LL_P_ETA,
    LL_P_TOP_N_SIGMA,
    LL_P_MIN_KEEP,
    LL_P_REPETITION,
    LL_P_FREQUENCY,
    LL_P_PRESENCE,
    LL_P_PENALTY_LAST_N,
    LL_P_NO_REPEAT_NGRAM,
    LL_P_MIN_NEW_TOKENS,
    LL_P_MIN_LENGTH,
    LL_P_XTC_PROBABILITY,
    LL_P_XTC_THRESHOLD,
    LL_P_XTC_SEED,
    LL_P_DRY_MULTIPLIER,
    LL_P_DRY_BASE,
    LL_P_DRY_ALLOWED_LENGTH,
    LL_P_DRY_PENALTY_LAST_N,
    LL_P_MIROSTAT,
    LL_P_MIROSTAT_TAU,
    LL_P_MIROSTAT_ETA,
    LL_P_SEED,
    LL_P_N_SCALAR, /* the rows above are numbers in ll_sampling_params */
    LL_P_PENALTY_SCOPE = LL_P_N_SCALAR,
    LL_P_LOGIT_BIAS,
    LL_P_SEQUENCE_BIAS,
    LL_P_BAD_WORDS,
    LL_P_SUPPRESS_TOKENS,
    LL_P_EOS_IDS,
    LL_P_DRY_BREAKERS,
    LL_P_DO_SAMPLE,
    LL_P_GREEDY,
    LL_P_SAMPLERS,
    LL_P_PROFILE,
    LL_P_COUNT
} ll_param_id;

typedef enum {
    LL_PT_INT,    /* int32_t */
    LL_PT_FLOAT,  /* float */
    LL_PT_DOUBLE, /* double */
    LL_PT_SEED,   /* int64_t, -1 unset */
    LL_PT_OTHER   /* parsed by its own code (lists, enums, switches) */
} ll_param_type;

/* When a value leaves its stage doing nothing (for "is it set to something",
 * the profiles' missing parameters and the stages a samplers= list must name). */
typedef enum { LL_OFF_NONE, LL_OFF_EQ, LL_OFF_LE, LL_OFF_GE } ll_off_rule;

typedef struct {
    const char *name;      /* library field, JSON / request name */
    const char *key;       /* inside samplers=stage(key=value); the chain description's key */
    const char *flags;     /* CLI flags, blank-separated, the first is the main one */
    const char *metavar;   /* the value in --help */
    const char *help;      /* one line for --help and the docs */
    ll_param_type type;
    size_t offset;         /* in ll_sampling_params (scalars) */
    double lo, hi;         /* valid at the flag, in samplers=(...) and, if checked, in the library */
    bool checked;          /* the library checks [lo, hi] itself (else the stage's constructor does) */
    int stage;             /* the stage that reads it (LL_ST_), -1: several or none */
    ll_off_rule off;
    double off_at;
    int needs;             /* the parameter that turns its stage on (-1: none) */
    const char *needs_text; /* "= 1 or 2" */
} ll_param_row;

extern const ll_param_row ll_param_rows[LL_P_COUNT];

/* ---- stages ---- */

typedef enum {
    LL_ST_LOGIT_BIAS,
    LL_ST_SEQUENCE_BIAS,
    LL_ST_PENALTIES,
    LL_ST_NO_REPEAT_NGRAM,
    LL_ST_BAD_WORDS,
    LL_ST_MIN_LENGTH,
    LL_ST_SUPPRESS_TOKENS,
    LL_ST_DRY,
    LL_ST_TOP_N_SIGMA,
    LL_ST_TOP_K,
    LL_ST_TYPICAL,
    LL_ST_TOP_P,
    LL_ST_MIN_P,
    LL_ST_XTC,
    LL_ST_TEMPERATURE,
    LL_ST_EPSILON,
    LL_ST_ETA,
    LL_ST_COUNT
} ll_stage_id;

struct ll_profile_row;

/* Parameters with the profile's defaults filled in, for one stage
 * occurrence (samplers=top_k(k=3) gives that occurrence its own k). */
typedef struct {
    const struct ll_profile_row *pr;
    ll_profile prof;
    bool sample;                /* the greedy rule's verdict */
    double v[LL_P_N_SCALAR];    /* every scalar parameter, as double */
    bool set[LL_P_N_SCALAR];    /* given by the caller (not a default) */
    ll_penalty_scope scope, rep_scope;
    uint32_t seed, xtc_seed;
} ll_resolved;

#define LL_RF(r, id) ((float)(r)->v[id])
#define LL_RI(r, id) ((int32_t)(r)->v[id])

typedef struct {
    const ll_resolved *r;
    const ll_sampling_params *p;
    size_t n_vocab;
    const bool *listed; /* [LL_ST_COUNT]: named in samplers= */
} ll_stage_ctx;

typedef struct {
    const char *name;      /* in samplers= and in the docs */
    const char *aliases;   /* further names accepted in samplers=, blank-separated */
    const char *hf_class;  /* transformers' class, NULL if none */
    const char *llamacpp;  /* llama.cpp's sampler name, NULL if none */
    const char *flag;      /* the CLI flag that turns it on */
    bool processor;        /* runs also when decoding greedily (HF's processors, penalties) */
    int params[6];         /* its parameters (LL_P_), -1 ends; settable in samplers=name(...) */
    /* Whether the parameters ask it to do anything: a stage in a profile's
     * front part is left out when they do not. NULL: always. */
    bool (*on)(const ll_stage_ctx *c);
    ll_sampler *(*build)(const ll_stage_ctx *c, ll_error *err);
} ll_stage_row;

extern const ll_stage_row ll_stage_rows[LL_ST_COUNT];

/* ---- profiles ---- */

typedef struct {
    int param;
    double lo, hi;
} ll_profile_range;

enum {
    LL_WARN_DO_SAMPLE = 1u << 0, /* warpers without do_sample are ignored (HF) */
    LL_WARN_TEMP_FLOOR = 1u << 1, /* a tiny temperature is raised or greedy (vLLM) */
    LL_WARN_NO_SEED = 1u << 2     /* no seed: the framework would pick a random one */
};

typedef struct ll_profile_row {
    ll_profile id;
    const char *name, *aliases, *framework;
    double defaults[LL_P_N_SCALAR];
    uint64_t lacks;          /* bits (1 << LL_P_) of parameters the framework does not have */
    bool strict;             /* lacking parameters are errors whatever their value (llama2.c) */
    const char *strict_text; /* the error for those */
    int front[8];            /* processors before the order, left out when off; -1 ends */
    int order[12];           /* default order of the middle stages; -1 ends */
    ll_profile_range ranges[6]; /* ranges that differ from the parameter rows; param -1 ends */
    /* the greedy rule: sampling unless do_sample says no (default
     * do_sample_default), or the temperature is below greedy_below */
    bool do_sample_default;
    float greedy_below;
    bool greedy_runs_order;  /* greedy still runs the whole order (llama.cpp: greedy is the last stage only) */
    float temp_floor;        /* temperatures in (0, temp_floor) are raised to it (vLLM) */
    const char *greedy_text;
    int32_t max_new_tokens;  /* the length default; -1: until the context is full */
    const char *length_text;
    bool ignore_eos_bans;    /* ignore_eos also gives EOS a -inf bias */
    const char *ignore_eos_text;
    ll_penalty_scope scope, rep_scope;
    int64_t seed_min;        /* smallest valid seed */
    unsigned warnings;
    const ll_profile_note *notes;
    size_t n_notes;
} ll_profile_row;

extern const ll_profile_row ll_profile_rows[LL_PROFILE_COUNT];

/* ---- lookups ---- */

/* The row of a flag ("--top-k", "--temp"), or NULL. */
const ll_param_row *ll_param_by_flag(const char *flag);
/* Whether s[0..len) names stage i (case-insensitive, '-' for '_'; the
 * name, an alias, the HF class or the llama.cpp name). */
bool ll_stage_matches(int stage, const char *s, size_t len);
/* Whether a parameter value leaves its stage off. */
bool ll_param_is_off(int param, double v);
/* Reads scalar parameter id of p as a double; false when unset. */
bool ll_param_get(const ll_sampling_params *p, int id, double *v);
void ll_param_put(ll_sampling_params *p, int id, double v);
/* "name1, name2, ..." of every stage (for messages). */
const char *ll_stage_list_text(void);

#endif /* LL_SAMPLING_TABLES_H */
