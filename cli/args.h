/*
 * args.h - command-line parsing shared by the logitlab commands: a flag
 * iterator, strict number parsing, and the sampling flags every command
 * that samples accepts (named as users know them from HF and llama.cpp).
 */
#ifndef LL_CLI_ARGS_H
#define LL_CLI_ARGS_H

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
    char buf[128];
} ll_args;

void ll_args_init(ll_args *a, int argc, char **argv, int first);
/* Advances to the next argument: returns 1 for a flag, 2 for a positional
 * argument (in a->value), 0 at the end. */
int ll_args_next(ll_args *a);
/* Takes the value of the current flag; fails if there is none. */
bool ll_args_value(ll_args *a, const char **value, ll_error *err);

bool ll_parse_int(const char *flag, const char *s, long long lo, long long hi, long long *out, ll_error *err);
bool ll_parse_float(const char *flag, const char *s, double *out, ll_error *err); /* finite, or "-inf" */
bool ll_parse_bool(const char *flag, const char *s, bool *out, ll_error *err);
/* "1,2,3" (also spaces) into a growing int32 array. */
bool ll_parse_id_list(const char *flag, const char *s, int32_t **ids, size_t *n, ll_error *err);

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
 * -p/--prompt, -t/--threads (1..512). Like ll_cli_sampling_flag: 1 if
 * a->flag was one (consumed), 0 if not, -1 on a bad value. */
int ll_cli_model_flag(ll_args *a, const char **model, const char **tokenizer, const char **prompt, long long *threads,
                      ll_error *err);
/* Points the params at the collected arrays; call before building a chain. */
void ll_cli_sampling_finish(ll_cli_sampling *s);
void ll_cli_sampling_help(FILE *f);

/* All of stdin, NUL-terminated (NULL when out of memory). */
char *ll_read_stdin(size_t *len);

#endif /* LL_CLI_ARGS_H */
