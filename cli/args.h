/*
 * args.h - command-line parsing shared by the logitlab commands: a flag
 * iterator, strict number parsing, and the sampling flags every command
 * that samples accepts (named as users know them from HF and llama.cpp).
 */
#ifndef LL_CLI_ARGS_H
#define LL_CLI_ARGS_H

#include "core/internal.h"
#include "logitlab.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    int argc;
    char **argv;
    int i;
    const char *flag;   /* current flag without its value, e.g. "--top-k" */
    const char *value;  /* its value (from "--flag=value" or the next argument) */
    bool inline_value;
    char buf[128]; /* the flag part of "--flag=value"; a longer one is not a flag we know (see ll_args_next) */
} ll_args;

void ll_args_init(ll_args *a, int argc, char **argv, int first);
/* Advances to the next argument: returns 1 for a flag, 2 for a positional
 * argument (in a->value), 0 at the end. */
int ll_args_next(ll_args *a);
/* Takes the value of the current flag; fails if there is none. */
bool ll_args_value(ll_args *a, const char **value, ll_error *err);

/* Strict numbers: decimal only, no leading or trailing spaces, no hex, no
 * empty value. Each failure names the flag, the value as given and what is
 * valid; a value beyond the range (even past 64 bits) is "out of range",
 * not "not an integer". */
/* Outside text (a flag's value, a path) as a message shows it: ll_quote's
 * escaped, bounded form. The storage is a returned struct, alive until the
 * end of the full expression: use LL_Q only among one call's arguments. */
typedef struct {
    char text[LL_QUOTE_MAX];
} ll_cli_quoted;
ll_cli_quoted ll_cli_quote(const char *s);
ll_cli_quoted ll_cli_quote_n(const char *s, size_t len);
#define LL_Q(str) (ll_cli_quote(str).text)
#define LL_QN(str, len) (ll_cli_quote_n((str), (len)).text)

bool ll_parse_int(const char *flag, const char *s, long long lo, long long hi, long long *out, ll_error *err);
/* A finite number (for double fields). "-inf" only when allow_neg_inf (a
 * bias, where it bans; for every other parameter it is an error like inf).
 * Overflow (1e400) and underflow to zero (1e-400) are errors. */
bool ll_parse_float(const char *flag, const char *s, bool allow_neg_inf, double *out, ll_error *err);
/* The same for a float field: also fails when the value overflows a float
 * (1e300) or a nonzero value would become 0 (1e-50). */
bool ll_parse_float32(const char *flag, const char *s, bool allow_neg_inf, float *out, ll_error *err);
bool ll_parse_bool(const char *flag, const char *s, bool *out, ll_error *err);

/* The list parsers (also fuzz targets): the whole string is parsed, or the
 * call fails naming the item; nothing is cut at a buffer size.
 *
 * "1,2,3" (or "1 2 3", "1, 2") appended to a growing int32 array; ids are in
 * [0, INT32_MAX]; an empty item ("1,,2", a leading or trailing comma) is an
 * error naming its position. "" appends nothing. On failure *ids and *n keep
 * what they had (the array may have been reallocated). */
bool ll_parse_id_list(const char *flag, const char *s, int32_t **ids, size_t *n, ll_error *err);
/* "ID=BIAS", "ID:BIAS" or llama.cpp's "ID+BIAS" / "ID-BIAS"; BIAS may be -inf. */
bool ll_parse_logit_bias(const char *flag, const char *s, ll_token_bias *out, ll_error *err);
/* "IDS=BIAS", e.g. "12,34=-5". On success out->seq.tokens is allocated
 * (the caller frees it); on failure it is NULL. */
bool ll_parse_sequence_bias(const char *flag, const char *s, ll_sequence_bias *out, ll_error *err);
/* A --samplers list, checked as the chain builder reads it (unknown or
 * empty stage names are errors); *out gets a copy (the caller frees it). */
bool ll_parse_samplers(const char *flag, const char *s, char **out, ll_error *err);

typedef struct {
    ll_sampling_params p;
    ll_token_bias *bias;
    size_t n_bias;
    ll_sequence_bias *seq_bias;
    size_t n_seq_bias;
    ll_token_seq *bad;
    size_t n_bad;
    int32_t *suppress;
    size_t n_suppress;
    int32_t *eos;
    size_t n_eos;
    ll_token_seq *breakers;
    size_t n_breakers;
    char *samplers;
    bool profile_set;
} ll_cli_sampling;

void ll_cli_sampling_init(ll_cli_sampling *s);
void ll_cli_sampling_free(ll_cli_sampling *s);
/* If a->flag is a sampling flag, consumes it (and its value) and returns 1;
 * returns 0 if it is not one, -1 on a bad value (err says why). */
int ll_cli_sampling_flag(ll_cli_sampling *s, ll_args *a, ll_error *err);
/* The flags of every command that loads a model: -m/--model, --tokenizer,
 * -p/--prompt, -t/--threads (ll_parse_threads). Like ll_cli_sampling_flag:
 * 1 if a->flag was one (consumed), 0 if not, -1 on a bad value. */
int ll_cli_model_flag(ll_args *a, const char **model, const char **tokenizer, const char **prompt, long long *threads,
                      ll_error *err);

/* Threads: -t N runs N threads (1 to 512); -t auto, the default, the
 * model's choice (ll_model_default_threads: one thread for a model too
 * small to gain from a second, at most the CPUs the process may use).
 * 0 stays an error (an unset variable in a script is not a choice). */
#define LL_CLI_THREADS_AUTO 0 /* the parsed value of "auto" */
#define LL_CLI_THREADS_MAX  512
bool ll_parse_threads(const char *flag, const char *s, long long *out, ll_error *err);
/* The thread count to run m with for a parsed -t value. */
int ll_cli_threads(long long n, const ll_model *m);
/* A usage text's -t line: lead (the flag column), then "(default auto:
 * chosen from the model's size, at most the 2 CPUs here)". */
void ll_cli_threads_help(FILE *f, const char *lead);
/* Points the params at the collected arrays; call before building a chain. */
void ll_cli_sampling_finish(ll_cli_sampling *s);
void ll_cli_sampling_help(FILE *f);

/* All of stdin, NUL-terminated (it may hold NUL bytes: *len counts them);
 * NULL with err set when it has more than max bytes (the same bound as a
 * file given by name), when reading fails or memory runs out. */
char *ll_read_stdin(size_t max, size_t *len, ll_error *err);
/* The bound on what a command reads whole into memory: a logits file (a
 * vocabulary of 2^28 float32 values), a prompt or text on stdin. */
#define LL_CLI_INPUT_MAX ((size_t)1 << 30)

/* Output checking. SIGPIPE is ignored (main), so a closed pipe or a full
 * disk is a failed write: ll_cli_stdout_ok() says whether stdout is still
 * fine (call it right after a write: it keeps the first failure's errno),
 * and ll_cli_finish_output() flushes stdout at exit, reports a failure
 * ("logitlab: writing output failed: No space left on device") and turns
 * an exit status of 0 into 1. */
bool ll_cli_stdout_ok(void);
int ll_cli_finish_output(int rc);

#endif /* LL_CLI_ARGS_H */
