/*
 * args.c - flag parsing for the CLI. Every bad value is an error naming the
 * flag, the value and what is valid; nothing is clamped.
 */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

void ll_args_init(ll_args *a, int argc, char **argv, int first) {
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    a->i = first;
}

int ll_args_next(ll_args *a) {
    a->flag = a->value = NULL;
    a->inline_value = false;
    if (a->i >= a->argc) return 0;
    const char *s = a->argv[a->i++];
    if (s[0] == '-' && s[1] != '\0' && !(s[1] >= '0' && s[1] <= '9') && strcmp(s, "-") != 0) {
        const char *eq = strchr(s, '=');
        if (eq && s[1] == '-') {
            size_t n = (size_t)(eq - s);
            if (n >= sizeof a->buf) n = sizeof a->buf - 1;
            memcpy(a->buf, s, n);
            a->buf[n] = '\0';
            a->flag = a->buf;
            a->value = eq + 1;
            a->inline_value = true;
        } else {
            a->flag = s;
        }
        return 1;
    }
    a->value = s;
    return 2;
}

bool ll_args_value(ll_args *a, const char **value, ll_error *err) {
    if (a->inline_value) {
        *value = a->value;
        return true;
    }
    if (a->i >= a->argc) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s needs a value", a->flag);
        return false;
    }
    *value = a->value = a->argv[a->i++];
    return true;
}

bool ll_parse_int(const char *flag, const char *s, long long lo, long long hi, long long *out, ll_error *err) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not an integer", flag, s);
        return false;
    }
    if (v < lo || v > hi) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %lld is out of range: valid is [%lld, %lld]", flag, v, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool ll_parse_float(const char *flag, const char *s, double *out, ll_error *err) {
    if (!strcmp(s, "-inf") || !strcmp(s, "-INF") || !strcmp(s, "-infinity")) {
        *out = -INFINITY;
        return true;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(v) || isinf(v)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not a finite number", flag, s);
        return false;
    }
    *out = v;
    return true;
}

bool ll_parse_bool(const char *flag, const char *s, bool *out, ll_error *err) {
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) *out = true;
    else if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) *out = false;
    else {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not a boolean (true/false)", flag, s);
        return false;
    }
    return true;
}

bool ll_parse_id_list(const char *flag, const char *s, int32_t **ids, size_t *n, ll_error *err) {
    const char *q = s;
    while (*q) {
        while (*q == ' ' || *q == ',') q++;
        if (!*q) break;
        char *end;
        errno = 0;
        long long v = strtoll(q, &end, 10);
        if (end == q || errno == ERANGE || v < 0 || v > INT32_MAX || (*end && *end != ',' && *end != ' ')) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not a list of token ids (e.g. 1,2,3)", flag, s);
            return false;
        }
        int32_t *a = realloc(*ids, (*n + 1) * sizeof **ids);
        if (!a) {
            ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
            return false;
        }
        *ids = a;
        (*ids)[(*n)++] = (int32_t)v;
        q = end;
    }
    return true;
}

void ll_cli_sampling_init(ll_cli_sampling *s) {
    memset(s, 0, sizeof *s);
    ll_sampling_params_init(&s->p, LL_PROFILE_LLAMACPP);
}

static void free_seqs(ll_token_seq *seqs, size_t n) {
    for (size_t i = 0; i < n; i++) free((void *)seqs[i].tokens);
    free(seqs);
}

void ll_cli_sampling_free(ll_cli_sampling *s) {
    free(s->bias);
    for (size_t i = 0; i < s->n_seq_bias; i++) free((void *)s->seq_bias[i].seq.tokens);
    free(s->seq_bias);
    free_seqs(s->bad, s->n_bad);
    free(s->suppress);
    free(s->eos);
    free_seqs(s->breakers, s->n_breakers);
    free(s->samplers);
    memset(s, 0, sizeof *s);
}

static bool is(const ll_args *a, const char *name) { return strcmp(a->flag, name) == 0; }

static bool push_seq(const char *flag, const char *v, ll_token_seq **seqs, size_t *n, ll_error *err) {
    int32_t *ids = NULL;
    size_t m = 0;
    if (!ll_parse_id_list(flag, v, &ids, &m, err)) {
        free(ids);
        return false;
    }
    if (m == 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: empty token sequence", flag);
        return false;
    }
    ll_token_seq *a = realloc(*seqs, (*n + 1) * sizeof **seqs);
    if (!a) {
        free(ids);
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    *seqs = a;
    a[*n].tokens = ids;
    a[*n].n = m;
    (*n)++;
    return true;
}

/* "ID=BIAS", "ID:BIAS" or llama.cpp's "ID+BIAS" / "ID-BIAS". */
static bool parse_bias(const char *flag, const char *v, ll_cli_sampling *s, ll_error *err) {
    const char *sep = strpbrk(v, "=:");
    char idbuf[32];
    const char *bias_s;
    if (sep) {
        size_t n = (size_t)(sep - v);
        if (n >= sizeof idbuf) n = sizeof idbuf - 1;
        memcpy(idbuf, v, n);
        idbuf[n] = '\0';
        bias_s = sep + 1;
    } else {
        size_t n = strspn(v, "0123456789");
        if (n == 0 || (v[n] != '+' && v[n] != '-') || n >= sizeof idbuf) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not ID=BIAS (e.g. 15043=-inf or 15043=2.5)", flag, v);
            return false;
        }
        memcpy(idbuf, v, n);
        idbuf[n] = '\0';
        bias_s = v[n] == '+' ? v + n + 1 : v + n;
    }
    long long id;
    double bias;
    if (!ll_parse_int(flag, idbuf, 0, INT32_MAX, &id, err) || !ll_parse_float(flag, bias_s, &bias, err)) return false;
    ll_token_bias *a = realloc(s->bias, (s->n_bias + 1) * sizeof *a);
    if (!a) {
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    s->bias = a;
    a[s->n_bias].token = (int32_t)id;
    a[s->n_bias].bias = (float)bias;
    s->n_bias++;
    return true;
}

/* "1,2,3=BIAS" */
static bool parse_seq_bias(const char *flag, const char *v, ll_cli_sampling *s, ll_error *err) {
    const char *eq = strrchr(v, '=');
    if (!eq) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not IDS=BIAS (e.g. 12,34=-5)", flag, v);
        return false;
    }
    char ids_s[512];
    size_t n = (size_t)(eq - v);
    if (n >= sizeof ids_s) n = sizeof ids_s - 1;
    memcpy(ids_s, v, n);
    ids_s[n] = '\0';
    double bias;
    if (!ll_parse_float(flag, eq + 1, &bias, err)) return false;
    ll_token_seq *tmp = NULL;
    size_t nt = 0;
    if (!push_seq(flag, ids_s, &tmp, &nt, err)) return false;
    ll_sequence_bias *a = realloc(s->seq_bias, (s->n_seq_bias + 1) * sizeof *a);
    if (!a) {
        free_seqs(tmp, nt);
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    s->seq_bias = a;
    a[s->n_seq_bias].seq = tmp[0];
    a[s->n_seq_bias].bias = (float)bias;
    s->n_seq_bias++;
    free(tmp);
    return true;
}

int ll_cli_sampling_flag(ll_cli_sampling *s, ll_args *a, ll_error *err) {
    ll_sampling_params *p = &s->p;
    const char *v = NULL;
    double d;
    long long ll;
    const char *f = a->flag;
#define VAL() \
    if (!ll_args_value(a, &v, err)) return -1
#define FLT(field)                                       \
    do {                                                 \
        VAL();                                           \
        if (!ll_parse_float(f, v, &d, err)) return -1;   \
        field = d;                                       \
        return 1;                                        \
    } while (0)
#define INT(field, lo, hi)                                    \
    do {                                                      \
        VAL();                                                \
        if (!ll_parse_int(f, v, lo, hi, &ll, err)) return -1; \
        field = (int32_t)ll;                                  \
        return 1;                                             \
    } while (0)
    if (is(a, "--profile")) {
        VAL();
        ll_profile prof;
        if (ll_profile_from_name(v, &prof, err) != LL_OK) return -1;
        p->profile = prof;
        s->profile_set = true;
        return 1;
    }
    if (is(a, "--temperature") || is(a, "--temp")) FLT(p->temperature);
    if (is(a, "--dynatemp-range")) FLT(p->dynatemp_range);
    if (is(a, "--dynatemp-exp") || is(a, "--dynatemp-exponent")) FLT(p->dynatemp_exponent);
    if (is(a, "--top-k")) INT(p->top_k, INT32_MIN + 1, INT32_MAX);
    if (is(a, "--top-p")) FLT(p->top_p);
    if (is(a, "--min-p")) FLT(p->min_p);
    if (is(a, "--typical-p") || is(a, "--typical")) FLT(p->typical_p);
    if (is(a, "--epsilon-cutoff")) FLT(p->epsilon_cutoff);
    if (is(a, "--eta-cutoff")) FLT(p->eta_cutoff);
    if (is(a, "--top-n-sigma") || is(a, "--top-nsigma")) FLT(p->top_n_sigma);
    if (is(a, "--min-keep")) INT(p->min_keep, 0, INT32_MAX);
    if (is(a, "--repetition-penalty") || is(a, "--repeat-penalty")) FLT(p->repetition_penalty);
    if (is(a, "--frequency-penalty")) FLT(p->frequency_penalty);
    if (is(a, "--presence-penalty")) FLT(p->presence_penalty);
    if (is(a, "--penalty-last-n") || is(a, "--repeat-last-n")) INT(p->penalty_last_n, 0, INT32_MAX);
    if (is(a, "--penalty-scope")) {
        VAL();
        if (!strcmp(v, "last_n") || !strcmp(v, "last-n")) p->penalty_scope = LL_PENALTY_SCOPE_LAST_N;
        else if (!strcmp(v, "all")) p->penalty_scope = LL_PENALTY_SCOPE_ALL;
        else if (!strcmp(v, "generated")) p->penalty_scope = LL_PENALTY_SCOPE_GENERATED;
        else {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--penalty-scope: '%s' is not one of last_n, all, generated", v);
            return -1;
        }
        return 1;
    }
    if (is(a, "--no-repeat-ngram-size")) INT(p->no_repeat_ngram_size, 0, INT32_MAX);
    if (is(a, "--logit-bias")) {
        VAL();
        return parse_bias(f, v, s, err) ? 1 : -1;
    }
    if (is(a, "--sequence-bias")) {
        VAL();
        return parse_seq_bias(f, v, s, err) ? 1 : -1;
    }
    if (is(a, "--bad-words")) {
        VAL();
        return push_seq(f, v, &s->bad, &s->n_bad, err) ? 1 : -1;
    }
    if (is(a, "--suppress-tokens")) {
        VAL();
        return ll_parse_id_list(f, v, &s->suppress, &s->n_suppress, err) ? 1 : -1;
    }
    if (is(a, "--eos-id") || is(a, "--eos-token-id")) {
        VAL();
        return ll_parse_id_list(f, v, &s->eos, &s->n_eos, err) ? 1 : -1;
    }
    if (is(a, "--min-new-tokens")) INT(p->min_new_tokens, 0, INT32_MAX);
    if (is(a, "--min-length")) INT(p->min_length, 0, INT32_MAX);
    if (is(a, "--xtc-probability")) FLT(p->xtc_probability);
    if (is(a, "--xtc-threshold")) FLT(p->xtc_threshold);
    if (is(a, "--dry-multiplier")) FLT(p->dry_multiplier);
    if (is(a, "--dry-base")) FLT(p->dry_base);
    if (is(a, "--dry-allowed-length")) INT(p->dry_allowed_length, 0, INT32_MAX);
    if (is(a, "--dry-penalty-last-n")) INT(p->dry_penalty_last_n, 0, INT32_MAX);
    if (is(a, "--dry-breaker")) {
        VAL();
        return push_seq(f, v, &s->breakers, &s->n_breakers, err) ? 1 : -1;
    }
    if (is(a, "--mirostat")) INT(p->mirostat, 0, 2);
    if (is(a, "--mirostat-tau") || is(a, "--mirostat-ent")) FLT(p->mirostat_tau);
    if (is(a, "--mirostat-eta") || is(a, "--mirostat-lr")) FLT(p->mirostat_eta);
    if (is(a, "--seed") || is(a, "-s")) {
        VAL();
        if (!ll_parse_int(f, v, -1, UINT32_MAX, &ll, err)) return -1;
        p->seed = ll;
        return 1;
    }
    if (is(a, "--do-sample")) {
        bool b = true;
        if (a->inline_value && !ll_parse_bool(f, a->value, &b, err)) return -1;
        p->do_sample = b ? 1 : 0;
        return 1;
    }
    if (is(a, "--greedy")) {
        p->do_sample = 0;
        return 1;
    }
    if (is(a, "--samplers")) {
        VAL();
        free(s->samplers);
        s->samplers = ll_strdup(v, err);
        return s->samplers ? 1 : -1;
    }
#undef VAL
#undef FLT
#undef INT
    return 0;
}

int ll_cli_model_flag(ll_args *a, const char **model, const char **tokenizer, const char **prompt, long long *threads,
                      ll_error *err) {
    const char **dst = NULL;
    if (is(a, "-m") || is(a, "--model")) dst = model;
    else if (is(a, "--tokenizer")) dst = tokenizer;
    else if (is(a, "-p") || is(a, "--prompt")) dst = prompt;
    if (dst) return ll_args_value(a, dst, err) ? 1 : -1;
    if (!is(a, "-t") && !is(a, "--threads")) return 0;
    const char *v;
    return ll_args_value(a, &v, err) && ll_parse_int(a->flag, v, 1, 512, threads, err) ? 1 : -1;
}

void ll_cli_sampling_finish(ll_cli_sampling *s) {
    ll_sampling_params *p = &s->p;
    p->logit_bias = s->bias;
    p->n_logit_bias = s->n_bias;
    p->sequence_bias = s->seq_bias;
    p->n_sequence_bias = s->n_seq_bias;
    p->bad_words = s->bad;
    p->n_bad_words = s->n_bad;
    p->suppress_tokens = s->suppress;
    p->n_suppress_tokens = s->n_suppress;
    p->eos_ids = s->eos;
    p->n_eos_ids = s->n_eos;
    p->dry_breakers = s->breakers;
    p->n_dry_breakers = s->n_breakers;
    p->samplers = s->samplers;
}

void ll_cli_sampling_help(FILE *f) {
    fputs("Sampling (defaults depend on --profile; see docs/semantics.md):\n"
          "  --profile NAME            hf | llama.cpp | openai | llama2.c   (default llama.cpp)\n"
          "  --temperature, --temp T   0 = greedy\n"
          "  --top-k K                 --top-p P        --min-p P        --typical-p P\n"
          "  --epsilon-cutoff E        --eta-cutoff E   --top-n-sigma N  --min-keep N\n"
          "  --dynatemp-range R        --dynatemp-exp X\n"
          "  --repetition-penalty R    (alias --repeat-penalty)\n"
          "  --frequency-penalty F     --presence-penalty P\n"
          "  --penalty-last-n N        (alias --repeat-last-n)\n"
          "  --penalty-scope S         last_n | all | generated\n"
          "  --no-repeat-ngram-size N\n"
          "  --logit-bias ID=BIAS      repeatable; BIAS may be -inf (ban)\n"
          "  --sequence-bias IDS=BIAS  e.g. 12,34=-5 (repeatable)\n"
          "  --bad-words IDS           e.g. 12,34 (repeatable)\n"
          "  --suppress-tokens IDS     --eos-id IDS\n"
          "  --min-new-tokens N        --min-length N\n"
          "  --xtc-probability P       --xtc-threshold T\n"
          "  --dry-multiplier M        --dry-base B     --dry-allowed-length N\n"
          "  --dry-penalty-last-n N    --dry-breaker IDS (repeatable)\n"
          "  --mirostat 0|1|2          --mirostat-tau T --mirostat-eta E\n"
          "  --do-sample[=false]       --greedy         --seed N\n"
          "  --samplers LIST           order, e.g. penalties,top_k,temperature,top_p\n",
          f);
}

char *ll_read_stdin(size_t *len) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, stdin)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
    }
    if (b) b[n] = '\0';
    *len = n;
    return b;
}

