/*
 * args.c - flag parsing for the CLI. Every bad value is an error naming the
 * flag, the value and what is valid; nothing is clamped.
 */
#include "args.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sampling/tables.h"

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
            /* No flag we know is this long: the whole argument stands as the
             * flag, so "unknown flag" names exactly what was given. */
            if (n < sizeof a->buf) {
                memcpy(a->buf, s, n);
                a->buf[n] = '\0';
                a->flag = a->buf;
            } else {
                a->flag = s;
            }
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
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s needs a value", LL_Q(a->flag));
        return false;
    }
    *value = a->value = a->argv[a->i++];
    return true;
}

/* ---- numbers ---- */

ll_cli_quoted ll_cli_quote_n(const char *s, size_t len) {
    ll_cli_quoted q;
    ll_quote(q.text, s, len);
    return q;
}

ll_cli_quoted ll_cli_quote(const char *s) { return ll_cli_quote_n(s, strlen(s)); }

/* Strict decimal integer in s[0..len): an optional sign, then digits only.
 * Returns 1 when it is one (*neg, *mag set; *overflow when the magnitude
 * exceeds 2^63), 0 when it is not an integer. */
static int scan_int(const char *s, size_t len, bool *neg, unsigned long long *mag, bool *overflow) {
    size_t i = 0;
    *neg = false;
    *mag = 0;
    *overflow = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) *neg = s[i++] == '-';
    if (i == len) return 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (*mag > (ULLONG_MAX - d) / 10) *overflow = true;
        else *mag = *mag * 10 + d;
    }
    if (*mag > (unsigned long long)LLONG_MAX + 1) *overflow = true;
    return 1;
}

/* ll_parse_int on s[0..len); what names the value in messages ("--top-k",
 * or "--bad-words: item 2 of '...'"). */
static bool parse_int_span(const char *what, const char *s, size_t len, long long lo, long long hi, long long *out,
                           ll_error *err) {
    bool neg, overflow;
    unsigned long long mag;
    if (len == 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: the value is empty: valid is an integer in [%lld, %lld]", what, lo,
                hi);
        return false;
    }
    if (!scan_int(s, len, &neg, &mag, &overflow)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "%s: '%s' is not an integer (decimal digits with an optional sign): valid is [%lld, %lld]", what,
                LL_QN(s, len), lo, hi);
        return false;
    }
    long long v = 0;
    if (!overflow) {
        if (neg) v = mag == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag;
        else if (mag > (unsigned long long)LLONG_MAX) overflow = true;
        else v = (long long)mag;
    }
    if (overflow || v < lo || v > hi) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is out of range: valid is [%lld, %lld]", what,
                LL_QN(s, len), lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool ll_parse_int(const char *flag, const char *s, long long lo, long long hi, long long *out, ll_error *err) {
    return parse_int_span(flag, s, strlen(s), lo, hi, out, err);
}

/* A number in s[0..len) as a double: decimal only (strtod would also take
 * leading spaces, hex, "nan" and "inf"), finite unless it is "-inf" and
 * allow_neg_inf. */
static bool parse_double_span(const char *what, const char *s, size_t len, bool allow_neg_inf, double *out,
                              ll_error *err) {
    if (len == 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: the value is empty: valid is a number", what);
        return false;
    }
    if (allow_neg_inf && ((len == 4 && !strncmp(s, "-inf", 4)) || (len == 4 && !strncmp(s, "-INF", 4)) ||
                          (len == 9 && !strncmp(s, "-infinity", 9)) || (len == 9 && !strncmp(s, "-Infinity", 9)))) {
        *out = -INFINITY;
        return true;
    }
    /* the characters of a decimal number; this also rules out strtod's hex,
     * nan, inf and leading spaces, and bounds what strtod reads to len */
    size_t digits = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') digits++;
        else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E') {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not a finite decimal number%s", what, LL_QN(s, len),
                    allow_neg_inf ? " (or -inf)" : "");
            return false;
        }
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(copy, &end);
    bool whole = digits > 0 && end == copy + len;
    int e = errno;
    free(copy);
    if (!whole) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not a finite decimal number%s", what, LL_QN(s, len),
                allow_neg_inf ? " (or -inf)" : "");
        return false;
    }
    if (isinf(v) || (e == ERANGE && fabs(v) > 1.0)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is out of range: valid is a finite number, |x| <= %g", what,
                LL_QN(s, len), DBL_MAX);
        return false;
    }
    if (e == ERANGE && v == 0.0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is out of range: it is too small to represent (it would be 0)",
                what, LL_QN(s, len));
        return false;
    }
    *out = v;
    return true;
}

bool ll_parse_float(const char *flag, const char *s, bool allow_neg_inf, double *out, ll_error *err) {
    return parse_double_span(flag, s, strlen(s), allow_neg_inf, out, err);
}

static bool to_float32(const char *what, const char *s, size_t len, double d, float *out, ll_error *err) {
    float f = (float)d;
    if (isinf(f) && !isinf(d)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is out of range: valid is a 32-bit float, |x| <= %g", what,
                LL_QN(s, len), (double)FLT_MAX);
        return false;
    }
    if (f == 0.0f && d != 0.0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "%s = %s is out of range: as a 32-bit float it would be 0 (the smallest nonzero is %g)", what,
                LL_QN(s, len), (double)FLT_TRUE_MIN);
        return false;
    }
    *out = f;
    return true;
}

bool ll_parse_float32(const char *flag, const char *s, bool allow_neg_inf, float *out, ll_error *err) {
    double d;
    size_t len = strlen(s);
    return parse_double_span(flag, s, len, allow_neg_inf, &d, err) && to_float32(flag, s, len, d, out, err);
}

bool ll_parse_bool(const char *flag, const char *s, bool *out, ll_error *err) {
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) *out = true;
    else if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) *out = false;
    else {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not a boolean (true/false)", flag, LL_QN(s, strlen(s)));
        return false;
    }
    return true;
}

/* ---- lists ---- */

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* The ids of s[0..len) appended to *ids. whole is the flag's full value,
 * for messages. Items are separated by ',' (with optional spaces around)
 * or by spaces alone. */
static bool parse_ids_span(const char *flag, const char *whole, const char *s, size_t len, int32_t **ids, size_t *n,
                           ll_error *err) {
    /* count the items first: one allocation, no quadratic regrowth */
    size_t items = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (is_space(s[i]) || s[i] == ',')) i++;
        if (i == len) break;
        items++;
        while (i < len && !is_space(s[i]) && s[i] != ',') i++;
    }
    if (items == 0 && len == 0) return true;
    if (items > 0) {
        size_t total;
        if (!ll_add_ok(*n, items, &total) || total > SIZE_MAX / sizeof **ids) {
            ll_fail(err, LL_ERR_OUT_OF_MEMORY, "%s: too many ids", flag);
            return false;
        }
        int32_t *grown = realloc(*ids, total * sizeof **ids);
        if (!grown) {
            ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory for %zu token ids", total);
            return false;
        }
        *ids = grown;
    }
    size_t n0 = *n, pos = 1, i = 0;
    for (;;) {
        while (i < len && is_space(s[i])) i++;
        size_t b = i;
        while (i < len && !is_space(s[i]) && s[i] != ',') i++;
        if (i == b) {
            /* nothing before a ',' or the end: an empty item, unless the whole list is blank */
            if (i == len && pos == 1) break;
            ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                    "%s: '%s' has an empty item at position %zu (ids are separated by ',' or spaces)", flag,
                    LL_QN(whole, strlen(whole)), pos);
            *n = n0;
            return false;
        }
        char what[160];
        snprintf(what, sizeof what, "%s: item %zu", flag, pos);
        long long v;
        if (!parse_int_span(what, s + b, i - b, 0, INT32_MAX, &v, err)) {
            *n = n0;
            return false;
        }
        (*ids)[(*n)++] = (int32_t)v;
        while (i < len && is_space(s[i])) i++;
        if (i == len) break;
        if (s[i] == ',') {
            i++;
            pos++;
            while (i < len && is_space(s[i])) i++;
            if (i == len) {
                ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                        "%s: '%s' has an empty item at position %zu (a trailing ',')", flag,
                        LL_QN(whole, strlen(whole)), pos);
                *n = n0;
                return false;
            }
        } else {
            pos++; /* separated by spaces alone */
        }
    }
    return true;
}

bool ll_parse_id_list(const char *flag, const char *s, int32_t **ids, size_t *n, ll_error *err) {
    return parse_ids_span(flag, s, s, strlen(s), ids, n, err);
}

bool ll_parse_logit_bias(const char *flag, const char *s, ll_token_bias *out, ll_error *err) {
    size_t len = strlen(s), id_len;
    const char *bias_s;
    const char *sep = strpbrk(s, "=:");
    if (sep) {
        id_len = (size_t)(sep - s);
        bias_s = sep + 1;
    } else {
        id_len = strspn(s, "0123456789");
        if (id_len == 0 || (s[id_len] != '+' && s[id_len] != '-')) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not ID=BIAS (e.g. 15043=-inf or 15043=2.5)", flag,
                    LL_QN(s, len));
            return false;
        }
        bias_s = s[id_len] == '+' ? s + id_len + 1 : s + id_len;
    }
    char what[160];
    snprintf(what, sizeof what, "%s '%s': token id", flag, LL_QN(s, len));
    long long id;
    if (!parse_int_span(what, s, id_len, 0, INT32_MAX, &id, err)) return false;
    snprintf(what, sizeof what, "%s '%s': bias", flag, LL_QN(s, len));
    double d;
    float bias;
    size_t bias_len = strlen(bias_s);
    if (!parse_double_span(what, bias_s, bias_len, true, &d, err) ||
        !to_float32(what, bias_s, bias_len, d, &bias, err))
        return false;
    out->token = (int32_t)id;
    out->bias = bias;
    return true;
}

bool ll_parse_sequence_bias(const char *flag, const char *s, ll_sequence_bias *out, ll_error *err) {
    size_t len = strlen(s);
    out->seq.tokens = NULL;
    out->seq.n = 0;
    const char *eq = strrchr(s, '=');
    if (!eq) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is not IDS=BIAS (e.g. 12,34=-5)", flag, LL_QN(s, len));
        return false;
    }
    char what[160];
    snprintf(what, sizeof what, "%s '%s': bias", flag, LL_QN(s, len));
    double d;
    float bias;
    size_t bias_len = strlen(eq + 1);
    if (!parse_double_span(what, eq + 1, bias_len, true, &d, err) || !to_float32(what, eq + 1, bias_len, d, &bias, err))
        return false;
    int32_t *ids = NULL;
    size_t n = 0;
    if (!parse_ids_span(flag, s, s, (size_t)(eq - s), &ids, &n, err)) {
        free(ids);
        return false;
    }
    if (n == 0) {
        free(ids);
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' has no token ids before '='", flag, LL_QN(s, len));
        return false;
    }
    out->seq.tokens = ids;
    out->seq.n = n;
    out->bias = bias;
    return true;
}

bool ll_parse_samplers(const char *flag, const char *s, char **out, ll_error *err) {
    *out = NULL;
    if (!*s) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: the list is empty (give stage names, e.g. top_k,temperature)",
                flag);
        return false;
    }
    /* the chain builder's own parser reads the list (names, parameters in
     * parentheses), so a bad one fails here, before any model is loaded */
    if (ll_samplers_check(s, err) != LL_OK) return false;
    *out = ll_strdup(s, err);
    return *out != NULL;
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
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' is an empty token sequence (give ids, e.g. 12,34)", flag, LL_Q(v));
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

static bool push_bias(const char *flag, const char *v, ll_cli_sampling *s, ll_error *err) {
    ll_token_bias tb;
    if (!ll_parse_logit_bias(flag, v, &tb, err)) return false;
    ll_token_bias *a = realloc(s->bias, (s->n_bias + 1) * sizeof *a);
    if (!a) {
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    s->bias = a;
    a[s->n_bias++] = tb;
    return true;
}

static bool push_seq_bias(const char *flag, const char *v, ll_cli_sampling *s, ll_error *err) {
    ll_sequence_bias sb;
    if (!ll_parse_sequence_bias(flag, v, &sb, err)) return false;
    ll_sequence_bias *a = realloc(s->seq_bias, (s->n_seq_bias + 1) * sizeof *a);
    if (!a) {
        free((void *)sb.seq.tokens);
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    s->seq_bias = a;
    a[s->n_seq_bias++] = sb;
    return true;
}

/* The sampling flags come from the parameter table (src/sampling/tables.c):
 * the numbers are parsed by their type and range there, the lists and
 * switches by their own code below, keyed by the parameter. */
int ll_cli_sampling_flag(ll_cli_sampling *s, ll_args *a, ll_error *err) {
    ll_sampling_params *p = &s->p;
    const char *f = a->flag;
    const ll_param_row *row = ll_param_by_flag(f);
    if (!row) return 0;
    int id = (int)(row - ll_param_rows);
    const char *v = NULL;
    /* the switches take no value (--do-sample=false: an inline one) */
    if (id == LL_P_DO_SAMPLE) {
        bool b = true;
        if (a->inline_value && !ll_parse_bool(f, a->value, &b, err)) return -1;
        p->do_sample = b ? 1 : 0;
        return 1;
    }
    if (id == LL_P_GREEDY) {
        p->do_sample = 0;
        return 1;
    }
    if (!ll_args_value(a, &v, err)) return -1;
    switch (row->type) {
    case LL_PT_INT:
    case LL_PT_SEED: {
        long long ll;
        if (!ll_parse_int(f, v, (long long)row->lo, (long long)row->hi, &ll, err)) return -1;
        ll_param_put(p, id, (double)ll);
        return 1;
    }
    case LL_PT_FLOAT: {
        /* a float field: 1e300 must not become inf, nor 1e-50 become 0 */
        float fl;
        if (!ll_parse_float32(f, v, false, &fl, err)) return -1;
        ll_param_put(p, id, fl);
        return 1;
    }
    case LL_PT_DOUBLE: {
        double d;
        if (!ll_parse_float(f, v, false, &d, err)) return -1;
        ll_param_put(p, id, d);
        return 1;
    }
    default: break;
    }
    switch (id) {
    case LL_P_PROFILE: {
        ll_profile prof;
        if (ll_profile_from_name(v, &prof, err) != LL_OK) return -1;
        p->profile = prof;
        s->profile_set = true;
        return 1;
    }
    case LL_P_PENALTY_SCOPE:
        if (!strcmp(v, "last_n") || !strcmp(v, "last-n")) p->penalty_scope = LL_PENALTY_SCOPE_LAST_N;
        else if (!strcmp(v, "all")) p->penalty_scope = LL_PENALTY_SCOPE_ALL;
        else if (!strcmp(v, "generated")) p->penalty_scope = LL_PENALTY_SCOPE_GENERATED;
        else {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--penalty-scope: '%s' is not one of last_n, all, generated", LL_Q(v));
            return -1;
        }
        return 1;
    case LL_P_LOGIT_BIAS: return push_bias(f, v, s, err) ? 1 : -1;
    case LL_P_SEQUENCE_BIAS: return push_seq_bias(f, v, s, err) ? 1 : -1;
    case LL_P_BAD_WORDS: return push_seq(f, v, &s->bad, &s->n_bad, err) ? 1 : -1;
    case LL_P_SUPPRESS_TOKENS: return ll_parse_id_list(f, v, &s->suppress, &s->n_suppress, err) ? 1 : -1;
    case LL_P_EOS_IDS: return ll_parse_id_list(f, v, &s->eos, &s->n_eos, err) ? 1 : -1;
    case LL_P_DRY_BREAKERS: return push_seq(f, v, &s->breakers, &s->n_breakers, err) ? 1 : -1;
    case LL_P_SAMPLERS: {
        char *order;
        if (!ll_parse_samplers(f, v, &order, err)) return -1;
        free(s->samplers);
        s->samplers = order;
        return 1;
    }
    default: break;
    }
    ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: no parser for this flag", LL_Q(f));
    return -1;
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
    return ll_args_value(a, &v, err) && ll_parse_threads(a->flag, v, threads, err) ? 1 : -1;
}

bool ll_parse_threads(const char *flag, const char *s, long long *out, ll_error *err) {
    if (!strcmp(s, "auto")) {
        *out = LL_CLI_THREADS_AUTO;
        return true;
    }
    if (ll_parse_int(flag, s, 1, LL_CLI_THREADS_MAX, out, err)) return true;
    char said[LL_ERROR_MESSAGE_MAX];
    memcpy(said, err->message, sizeof said);
    ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s, or auto (chosen from the model's size)", said);
    return false;
}

int ll_cli_threads(long long n, const ll_model *m) {
    return n == LL_CLI_THREADS_AUTO ? ll_model_default_threads(m) : (int)n;
}

void ll_cli_threads_help(FILE *f, const char *lead) {
    int cpus = ll_cpus_available();
    fprintf(f, "%s(default auto: chosen from the model's size, at most the %d CPU%s here)\n", lead, cpus,
            cpus == 1 ? "" : "s");
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

/* One line per parameter row: its flags, its value, what it does. */
void ll_cli_sampling_help(FILE *f) {
    fputs("Sampling (defaults depend on --profile; see docs/semantics.md):\n", f);
    for (size_t k = 0; k < LL_P_COUNT; k++) {
        /* the profile first: it decides every default below */
        size_t i = k == 0 ? LL_P_PROFILE : k <= LL_P_PROFILE ? k - 1 : k;
        const ll_param_row *row = &ll_param_rows[i];
        char left[96];
        size_t n = 0;
        left[0] = '\0';
        /* "--temperature, --temp T" */
        for (const char *w = row->flags; *w && n < sizeof left;) {
            while (*w == ' ') w++;
            const char *e = w;
            while (*e && *e != ' ') e++;
            n += (size_t)snprintf(left + n, sizeof left - n, "%s%.*s", n ? ", " : "", (int)(e - w), w);
            w = e;
        }
        if (n < sizeof left && *row->metavar)
            snprintf(left + n, sizeof left - n, "%s%s", row->metavar[0] == '[' ? "" : " ", row->metavar);
        if (strlen(left) > 30) fprintf(f, "  %s\n  %-30s %s\n", left, "", row->help);
        else fprintf(f, "  %-30s %s\n", left, row->help);
    }
    fputs("  samplers= stages: ", f);
    fputs(ll_stage_list_text(), f);
    fputs("\n", f);
}

char *ll_read_stdin(size_t max, size_t *len, ll_error *err) {
    /* one byte past max is read to tell "exactly max" from "more" */
    size_t limit = max < SIZE_MAX - 1 ? max + 1 : SIZE_MAX - 1;
    size_t cap = limit < 4096 ? limit : 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, stdin);
        n += r;
        if (r == 0 || n == limit) break;
        if (n == cap) {
            /* doubling, but never past the limit: a 1 GiB bound allocates 1 GiB, not 2 */
            size_t ncap = cap <= limit / 2 ? 2 * cap : limit;
            char *nb = realloc(b, ncap + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap = ncap;
        }
    }
    if (!b) {
        ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory reading standard input (%zu bytes so far)", n);
        return NULL;
    }
    if (n > max) {
        ll_fail(err, LL_ERR_IO, "standard input has more than %zu bytes (valid: at most %zu)", max, max);
        free(b);
        return NULL;
    }
    if (ferror(stdin)) {
        /* e.g. stdin is a directory (EISDIR): an error, not an empty prompt */
        ll_fail(err, LL_ERR_IO, "reading standard input failed: %s", strerror(errno));
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

/* ---- output ---- */

/* errno of the first failed write to stdout (0: none seen yet). */
static int stdout_errno;

bool ll_cli_stdout_ok(void) {
    if (!ferror(stdout)) return true;
    if (!stdout_errno) stdout_errno = errno ? errno : EIO;
    return false;
}

int ll_cli_finish_output(int rc) {
    errno = 0;
    if (fflush(stdout) != 0 && !stdout_errno) stdout_errno = errno ? errno : EIO;
    if (!ferror(stdout) && !stdout_errno) return rc;
    if (stdout_errno) fprintf(stderr, "logitlab: writing output failed: %s\n", strerror(stdout_errno));
    else fprintf(stderr, "logitlab: writing output failed (an earlier write to standard output returned an error)\n");
    return rc ? rc : 1;
}
