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
    /* The chain builder is the one parser of the list: build a chain with
     * this order and no other parameter, so a bad name fails here, before
     * any model is loaded. */
    ll_sampling_params p;
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.samplers = s;
    ll_chain *c = ll_chain_from_params(&p, 1, err);
    if (!c) return false;
    ll_chain_free(c);
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

int ll_cli_sampling_flag(ll_cli_sampling *s, ll_args *a, ll_error *err) {
    ll_sampling_params *p = &s->p;
    const char *v = NULL;
    double d;
    float fl;
    long long ll;
    const char *f = a->flag;
#define VAL() \
    if (!ll_args_value(a, &v, err)) return -1
#define FLT(field)                                            \
    do {                                                      \
        VAL();                                                \
        if (!ll_parse_float(f, v, false, &d, err)) return -1; \
        field = d;                                            \
        return 1;                                             \
    } while (0)
    /* a float field: 1e300 must not become inf, nor 1e-50 become 0 */
#define FLT32(field)                                          \
    do {                                                      \
        VAL();                                                \
        if (!ll_parse_float32(f, v, false, &fl, err)) return -1;\
        field = fl;                                           \
        return 1;                                             \
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
    if (is(a, "--temperature") || is(a, "--temp")) FLT32(p->temperature);
    if (is(a, "--dynatemp-range")) FLT32(p->dynatemp_range);
    if (is(a, "--dynatemp-exp") || is(a, "--dynatemp-exponent")) FLT32(p->dynatemp_exponent);
    if (is(a, "--top-k")) INT(p->top_k, INT32_MIN + 1, INT32_MAX);
    if (is(a, "--top-p")) FLT(p->top_p);
    if (is(a, "--min-p")) FLT(p->min_p);
    if (is(a, "--typical-p") || is(a, "--typical")) FLT(p->typical_p);
    if (is(a, "--epsilon-cutoff")) FLT(p->epsilon_cutoff);
    if (is(a, "--eta-cutoff")) FLT(p->eta_cutoff);
    if (is(a, "--top-n-sigma") || is(a, "--top-nsigma")) FLT32(p->top_n_sigma);
    if (is(a, "--min-keep")) INT(p->min_keep, 0, INT32_MAX);
    if (is(a, "--repetition-penalty") || is(a, "--repeat-penalty")) FLT32(p->repetition_penalty);
    if (is(a, "--frequency-penalty")) FLT32(p->frequency_penalty);
    if (is(a, "--presence-penalty")) FLT32(p->presence_penalty);
    if (is(a, "--penalty-last-n") || is(a, "--repeat-last-n")) INT(p->penalty_last_n, 0, INT32_MAX);
    if (is(a, "--penalty-scope")) {
        VAL();
        if (!strcmp(v, "last_n") || !strcmp(v, "last-n")) p->penalty_scope = LL_PENALTY_SCOPE_LAST_N;
        else if (!strcmp(v, "all")) p->penalty_scope = LL_PENALTY_SCOPE_ALL;
        else if (!strcmp(v, "generated")) p->penalty_scope = LL_PENALTY_SCOPE_GENERATED;
        else {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--penalty-scope: '%s' is not one of last_n, all, generated", LL_Q(v));
            return -1;
        }
        return 1;
    }
    if (is(a, "--no-repeat-ngram-size")) INT(p->no_repeat_ngram_size, 0, INT32_MAX);
    if (is(a, "--logit-bias")) {
        VAL();
        return push_bias(f, v, s, err) ? 1 : -1;
    }
    if (is(a, "--sequence-bias")) {
        VAL();
        return push_seq_bias(f, v, s, err) ? 1 : -1;
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
    if (is(a, "--xtc-probability")) FLT32(p->xtc_probability);
    if (is(a, "--xtc-threshold")) FLT32(p->xtc_threshold);
    if (is(a, "--dry-multiplier")) FLT32(p->dry_multiplier);
    if (is(a, "--dry-base")) FLT32(p->dry_base);
    if (is(a, "--dry-allowed-length")) INT(p->dry_allowed_length, 0, INT32_MAX);
    if (is(a, "--dry-penalty-last-n")) INT(p->dry_penalty_last_n, 0, INT32_MAX);
    if (is(a, "--dry-breaker")) {
        VAL();
        return push_seq(f, v, &s->breakers, &s->n_breakers, err) ? 1 : -1;
    }
    if (is(a, "--mirostat")) INT(p->mirostat, 0, 2);
    if (is(a, "--mirostat-tau") || is(a, "--mirostat-ent")) FLT32(p->mirostat_tau);
    if (is(a, "--mirostat-eta") || is(a, "--mirostat-lr")) FLT32(p->mirostat_eta);
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
        char *order;
        if (!ll_parse_samplers(f, v, &order, err)) return -1;
        free(s->samplers);
        s->samplers = order;
        return 1;
    }
#undef VAL
#undef FLT
#undef FLT32
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
