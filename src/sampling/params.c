/*
 * params.c - from named hyperparameters to a chain, per profile.
 *
 * What a profile is (its defaults, the parameters it lacks, its ranges,
 * its order, its greedy rule) is data in tables.c; this file applies it:
 *
 *   chain = the profile's front processors (those with something to do,
 *           and not named in samplers=)
 *         + the middle stages: samplers= if given, else the profile's order
 *           (when decoding greedily, only the processors among them)
 *         + the selector (dist, or greedy)
 *
 * llama.cpp's mirostat and llama2.c's run.c sampler replace the middle
 * stages and the selector. A parameter the profile's framework does not
 * have is an error naming the profiles that have it, never silently
 * dropped. docs/semantics.md has the full table.
 */
#include "tables.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ll_sampling_params_init(ll_sampling_params *p, ll_profile profile) {
    memset(p, 0, sizeof *p);
    p->profile = profile;
    p->do_sample = -1;
    for (int i = 0; i < LL_P_N_SCALAR; i++) {
        switch (ll_param_rows[i].type) {
        case LL_PT_INT: ll_param_put(p, i, LL_UNSET_INT); break;
        case LL_PT_FLOAT:
        case LL_PT_DOUBLE: ll_param_put(p, i, NAN); break;
        case LL_PT_SEED: ll_param_put(p, i, -1); break;
        default: break;
        }
    }
    p->penalty_scope = -1;
}

static const ll_profile_row *profile_row(ll_profile prof) {
    return (unsigned)prof < LL_PROFILE_COUNT ? &ll_profile_rows[prof] : NULL;
}

/* ---- resolving: the profile's defaults filled in, its rules checked ---- */

static void format_value(char *buf, size_t cap, int id, double v) {
    if (ll_param_rows[id].type == LL_PT_INT || ll_param_rows[id].type == LL_PT_SEED) snprintf(buf, cap, "%lld", (long long)v);
    else if (ll_param_rows[id].type == LL_PT_FLOAT) ll_format_float(buf, (float)v);
    else ll_format_double(buf, v);
}

/* The profiles that have parameter id, "hf, openai" (for messages). */
static const char *who_has(int id, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < LL_PROFILE_COUNT; i++)
        if (!ll_profile_rows[i].strict && !(ll_profile_rows[i].lacks >> id & 1) && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", ll_profile_rows[i].name);
    return buf;
}

/* Parameters only one stage reads, and only while another parameter turns
 * it on (all llama.cpp's): setting one while its stage is off is a mistake
 * said now, like a stage left out of samplers=..., never a value silently
 * unused. The parameter rows' `needs` say which. */
static ll_status check_dependents(const ll_sampling_params *p, ll_error *err) {
    for (int i = 0; i < LL_P_N_SCALAR; i++) {
        const ll_param_row *row = &ll_param_rows[i];
        double v, on;
        if (row->needs < 0 || !ll_param_get(p, i, &v)) continue;
        bool enabled = ll_param_get(p, row->needs, &on) && on > 0;
        if (p->profile == LL_PROFILE_LLAMACPP && enabled) continue;
        char vs[32];
        format_value(vs, sizeof vs, i, v);
        const char *needs = ll_param_rows[row->needs].name;
        if (p->profile != LL_PROFILE_LLAMACPP)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "%s = %s is not used: only the llama.cpp profile has its stage (the %s profile is in use); "
                           "choose that profile with %s %s, or leave %s unset",
                           row->name, vs, ll_profile_name(p->profile), needs, row->needs_text, row->name);
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "%s = %s is set but its stage is off, so nothing uses it: set %s %s, or leave %s unset", row->name,
                       vs, needs, row->needs_text, row->name);
    }
    return LL_OK;
}

static bool any_list_set(const ll_sampling_params *p) {
    return p->n_logit_bias || p->n_sequence_bias || p->n_bad_words || p->n_suppress_tokens;
}

static ll_status resolve(const ll_sampling_params *p, ll_resolved *r, ll_error *err) {
    memset(r, 0, sizeof *r);
    const ll_profile_row *pr = profile_row(p->profile);
    if (!pr) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown profile %d", (int)p->profile);
    r->pr = pr;
    r->prof = pr->id;
    bool custom_order = p->samplers && *p->samplers;
    for (int i = 0; i < LL_P_N_SCALAR; i++) {
        double v;
        r->set[i] = ll_param_get(p, i, &v);
        r->v[i] = r->set[i] ? v : pr->defaults[i];
    }
    if (p->seed > (int64_t)UINT32_MAX)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "seed = %lld is out of range: valid is [0, %u]",
                       (long long)p->seed, UINT32_MAX);
    r->seed = p->seed >= 0 ? (uint32_t)p->seed : LL_DEFAULT_SEED;
    r->xtc_seed = r->set[LL_P_XTC_SEED] && p->xtc_seed <= (int64_t)UINT32_MAX ? (uint32_t)p->xtc_seed : r->seed;
    ll_status st = check_dependents(p, err);
    if (st != LL_OK) return st;
    /* what the framework does not have */
    if (pr->strict) {
        bool other = any_list_set(p) || custom_order;
        for (int i = 0; i < LL_P_N_SCALAR && !other; i++) other = r->set[i] && (pr->lacks >> i & 1);
        if (other) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s", pr->strict_text);
        if (p->seed >= 0 && p->seed < pr->seed_min)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "seed = %lld is out of range for %s: valid is >= %lld",
                           (long long)p->seed, pr->name, (long long)pr->seed_min);
    } else if (!custom_order) {
        /* with samplers=..., any stage may be named, so its parameters count */
        for (int i = 0; i < LL_P_N_SCALAR; i++)
            if ((pr->lacks >> i & 1) && r->set[i] && ll_param_rows[i].off != LL_OFF_NONE &&
                !ll_param_is_off(i, r->v[i])) {
                char has[64];
                return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                               "%s is not a parameter of the %s profile (%s has it); choose that profile, or name the "
                               "stage explicitly with samplers=...",
                               ll_param_rows[i].name, pr->name, who_has(i, has, sizeof has));
            }
    }
    /* the ranges that differ in this profile */
    for (size_t k = 0; k < LL_ARRAY_LEN(pr->ranges) && pr->ranges[k].param >= 0; k++) {
        const ll_profile_range *g = &pr->ranges[k];
        if (g->param == LL_P_LOGIT_BIAS) {
            for (size_t i = 0; i < p->n_logit_bias; i++)
                if (!(p->logit_bias[i].bias >= g->lo && p->logit_bias[i].bias <= g->hi))
                    return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                                   "logit_bias for token %d = %g is out of range: the %s profile accepts [%g, %g]",
                                   p->logit_bias[i].token, (double)p->logit_bias[i].bias, pr->name, g->lo, g->hi);
            continue;
        }
        double v = r->v[g->param];
        if (!(v >= g->lo && v <= g->hi))
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %g is out of range: the %s profile accepts [%g, %g]%s",
                           ll_param_rows[g->param].name, v, pr->name, g->lo, g->hi,
                           g->param == LL_P_TEMPERATURE ? ", 0 = greedy" : "");
    }
    /* the ranges every profile shares, where the library checks them */
    for (int i = 0; i < LL_P_N_SCALAR; i++) {
        const ll_param_row *row = &ll_param_rows[i];
        if (!row->checked || !r->set[i]) continue;
        double v = r->v[i];
        if (!(v >= row->lo && v <= row->hi)) {
            char vs[32], lo[32], hi[32] = "inf";
            format_value(vs, sizeof vs, i, v);
            format_value(lo, sizeof lo, i, row->lo);
            if (!isinf(row->hi)) format_value(hi, sizeof hi, i, row->hi);
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is out of range: valid is [%s, %s%c%s", row->name, vs,
                           lo, hi, isinf(row->hi) ? ')' : ']', i == LL_P_TEMPERATURE ? ", 0 = greedy" : "");
        }
    }
    if (r->set[LL_P_TEMPERATURE] && !isfinite(r->v[LL_P_TEMPERATURE]))
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "temperature = %g is out of range: valid is [0, inf), 0 = greedy",
                       r->v[LL_P_TEMPERATURE]);
    /* the greedy rule */
    float t = LL_RF(r, LL_P_TEMPERATURE);
    r->sample = (p->do_sample < 0 ? pr->do_sample_default : p->do_sample == 1) && !(t < pr->greedy_below);
    if (t > 0.0f && t < pr->temp_floor) r->v[LL_P_TEMPERATURE] = pr->temp_floor; /* vLLM; warned */
    r->scope = pr->scope;
    r->rep_scope = pr->rep_scope;
    if (p->penalty_scope >= 0) {
        if (p->penalty_scope > LL_PENALTY_SCOPE_GENERATED)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "penalty_scope = %d: valid are last_n, all, generated",
                           p->penalty_scope);
        r->scope = r->rep_scope = (ll_penalty_scope)p->penalty_scope;
    }
    return LL_OK;
}

bool ll_sampling_params_greedy(const ll_sampling_params *p) {
    const ll_profile_row *pr = profile_row(p->profile);
    if (!pr) return false;
    double t;
    if (!ll_param_get(p, LL_P_TEMPERATURE, &t)) t = pr->defaults[LL_P_TEMPERATURE];
    return !((p->do_sample < 0 ? pr->do_sample_default : p->do_sample == 1) && !((float)t < pr->greedy_below));
}

/* ---- the user's order (samplers=...) ---- */

#define LL_OCC_MAX 6 /* parameters one stage row has at most */

typedef struct {
    int stage;
    size_t pos;                /* 1-based position in the list */
    size_t n_set;              /* parameters given in parentheses */
    int ids[LL_OCC_MAX];
    double vals[LL_OCC_MAX];
    const char *text;          /* the occurrence as written, for messages */
    size_t text_len;
} occurrence;

static bool is_sep(char c) { return c == ',' || c == ';'; }
static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* s[0..len) spells a parameter of the stage: its name or its key
 * (case-insensitive, '-' for '_'); the parameter id or -1. */
static int stage_param(int stage, const char *s, size_t len) {
    const ll_stage_row *st = &ll_stage_rows[stage];
    for (size_t k = 0; k < LL_OCC_MAX && st->params[k] >= 0; k++) {
        const ll_param_row *row = &ll_param_rows[st->params[k]];
        const char *names[2] = {row->name, row->key};
        for (int j = 0; j < 2; j++) {
            if (!names[j] || strlen(names[j]) != len) continue;
            size_t i = 0;
            for (; i < len; i++) {
                char c = (char)tolower((unsigned char)s[i]);
                if (c == '-') c = '_';
                if (c != names[j][i]) break;
            }
            if (i == len) return st->params[k];
        }
    }
    return -1;
}

/* "k, min_keep" of a stage: the keys it takes in parentheses. */
static const char *stage_keys(int stage, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < LL_OCC_MAX && ll_stage_rows[stage].params[k] >= 0 && n < cap; k++) {
        int id = ll_stage_rows[stage].params[k];
        if (id >= LL_P_N_SCALAR) continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", ll_param_rows[id].key);
    }
    return buf;
}

static void range_text(int id, char *buf, size_t cap) {
    const ll_param_row *row = &ll_param_rows[id];
    if (isinf(row->lo) && isinf(row->hi)) snprintf(buf, cap, "a finite number (the stage checks its own range)");
    else if (row->type == LL_PT_INT || row->type == LL_PT_SEED)
        snprintf(buf, cap, "an integer in [%lld, %lld]", (long long)row->lo, (long long)row->hi);
    else if (isinf(row->hi)) snprintf(buf, cap, "[%g, inf)", row->lo);
    else snprintf(buf, cap, "[%g, %g]", row->lo, row->hi);
}

/* One "key=value" of an occurrence's parentheses, read into o. */
static ll_status parse_setting(occurrence *o, const char *b, size_t len, ll_error *err) {
    const ll_stage_row *st = &ll_stage_rows[o->stage];
    char q[LL_QUOTE_MAX], keys[96], rt[96];
    const char *eq = memchr(b, '=', len);
    if (!eq) {
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "samplers position %zu, %s: '%s' is not key=value (the keys of %s: %s)", o->pos, st->name,
                       ll_quote(q, b, len), st->name, stage_keys(o->stage, keys, sizeof keys));
    }
    size_t klen = (size_t)(eq - b);
    while (klen && is_blank(b[klen - 1])) klen--;
    const char *v = eq + 1;
    size_t vlen = len - (size_t)(v - b);
    while (vlen && is_blank(*v)) v++, vlen--;
    int id = stage_param(o->stage, b, klen);
    if (id < 0 || id >= LL_P_N_SCALAR) {
        stage_keys(o->stage, keys, sizeof keys);
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: unknown parameter '%s': valid %s %s",
                       o->pos, st->name, ll_quote(q, b, klen), *keys ? "are" : "is none, its values come from",
                       *keys ? keys : st->flag);
    }
    const ll_param_row *row = &ll_param_rows[id];
    for (size_t i = 0; i < o->n_set; i++)
        if (o->ids[i] == id)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: %s is given twice", o->pos,
                           st->name, row->key);
    /* the value: a decimal number, bounded copy (strtod would read on) */
    char num[64];
    bool ok = vlen > 0 && vlen < sizeof num;
    double d = 0;
    if (ok) {
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        for (size_t i = 0; i < vlen && ok; i++)
            ok = isdigit((unsigned char)num[i]) || strchr("+-.eE", num[i]) != NULL;
        char *end;
        if (ok) d = strtod(num, &end), ok = end == num + vlen && isfinite(d);
        if (ok && (row->type == LL_PT_INT || row->type == LL_PT_SEED)) ok = d == floor(d) && strpbrk(num, ".eE") == NULL;
        if (ok && row->type == LL_PT_FLOAT) ok = isfinite((float)d) && !((float)d == 0.0f && d != 0.0);
    }
    range_text(id, rt, sizeof rt);
    if (!ok)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: %s = '%s' is not %s: valid is %s",
                       o->pos, st->name, row->key, ll_quote(q, v, vlen),
                       row->type == LL_PT_INT || row->type == LL_PT_SEED ? "an integer" : "a finite number", rt);
    if (d < row->lo || d > row->hi)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: %s = %s is out of range: valid is %s",
                       o->pos, st->name, row->key, num, rt);
    o->ids[o->n_set] = id;
    o->vals[o->n_set] = d;
    o->n_set++;
    return LL_OK;
}

/* The user's order as stage occurrences (*occ allocated, *n of them).
 * Names are separated by ',' or ';' (llama.cpp's --samplers uses ';'),
 * with optional blanks around, or by blanks alone; a name may be followed
 * by its own parameters, "top_k(k=3, min_keep=2)", which that occurrence
 * uses instead of the flags. The whole string is read, whatever its
 * length; an empty name (",,", a leading or trailing separator) is an
 * error naming its position, as is an unknown name or parameter. */
static ll_status parse_order(const char *order, occurrence **occ, size_t *n, ll_error *err) {
    *occ = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *q = order; *q; q++)
        if (is_sep(*q) || is_blank(*q)) cap++;
    occurrence *o = ll_calloc(cap, sizeof *o, err);
    if (!o) return LL_ERR_OUT_OF_MEMORY;
    size_t k = 0, pos = 1;
    const char *s = order;
    ll_status st = LL_OK;
    for (;;) {
        while (is_blank(*s)) s++;
        const char *b = s;
        while (*s && !is_sep(*s) && !is_blank(*s) && *s != '(' && *s != ')') s++;
        size_t len = (size_t)(s - b);
        char q[LL_QUOTE_MAX];
        if (len == 0) {
            /* the list is quoted bounded: the position must survive a long one */
            if (*s == '(' || *s == ')')
                st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers='%s': '%c' without a stage name at position %zu",
                             ll_quote(q, order, strlen(order)), *s, pos);
            else
                st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                             "samplers='%s': empty stage name at position %zu (names are separated by ',' or ';')",
                             ll_quote(q, order, strlen(order)), pos);
            break;
        }
        int stage = -1;
        for (int i = 0; i < LL_ST_COUNT && stage < 0; i++)
            if (ll_stage_matches(i, b, len)) stage = i;
        if (stage < 0) {
            st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown sampler '%s' at position %zu of samplers: valid are %s",
                         ll_quote(q, b, len), pos, ll_stage_list_text());
            break;
        }
        occurrence *c = &o[k++];
        c->stage = stage;
        c->pos = pos;
        c->text = b;
        const char *t = s;
        while (is_blank(*t)) t++;
        if (*t == '(') {
            /* the occurrence's own parameters */
            s = t + 1;
            for (;;) {
                while (is_blank(*s) || is_sep(*s)) s++;
                if (*s == ')') break;
                if (!*s) {
                    st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                                 "samplers position %zu, %s: '(' is not closed: write %s(key=value, ...)", pos,
                                 ll_stage_rows[stage].name, ll_stage_rows[stage].name);
                    break;
                }
                /* items inside are separated by ',' or ';' (blanks around
                 * them and around '=' are allowed) */
                const char *kb = s;
                while (*s && !is_sep(*s) && *s != ')' && *s != '(') s++;
                if (*s == '(') {
                    st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: '(' inside parentheses", pos,
                                 ll_stage_rows[stage].name);
                    break;
                }
                size_t kl = (size_t)(s - kb);
                while (kl && is_blank(kb[kl - 1])) kl--;
                if (c->n_set == LL_OCC_MAX) {
                    st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: too many parameters", pos,
                                 ll_stage_rows[stage].name);
                    break;
                }
                if ((st = parse_setting(c, kb, kl, err)) != LL_OK) break;
            }
            if (st != LL_OK) break;
            s++; /* past ')' */
        } else if (*t == ')') {
            st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "samplers position %zu, %s: ')' without '('", pos,
                         ll_stage_rows[stage].name);
            break;
        }
        c->text_len = (size_t)(s - b);
        while (is_blank(*s)) s++;
        if (!*s) break;
        if (is_sep(*s)) s++;
        pos++;
    }
    if (st != LL_OK) {
        free(o);
        return st;
    }
    *occ = o;
    *n = k;
    return LL_OK;
}

ll_status ll_samplers_check(const char *samplers, ll_error *err) {
    occurrence *o;
    size_t n;
    ll_status st = parse_order(samplers, &o, &n, err);
    free(o);
    return st;
}

/* ---- building ---- */

typedef struct {
    ll_chain *ch;
    ll_error *err;
    ll_status st;
    bool check_only; /* build to validate, then drop (the warpers greedy leaves out) */
} builder;

static void add(builder *b, ll_sampler *s) {
    if (b->st != LL_OK) {
        ll_sampler_free(s);
        return;
    }
    if (!s) {
        b->st = b->err ? b->err->status : LL_ERR_INVALID_ARGUMENT;
        if (b->st == LL_OK) b->st = LL_ERR_INVALID_ARGUMENT;
        return;
    }
    if (b->check_only) ll_sampler_free(s);
    else b->st = ll_chain_add(b->ch, s, b->err);
}

static void add_stage(builder *b, int stage, const ll_stage_ctx *c) {
    if (b->st == LL_OK) add(b, ll_stage_rows[stage].build(c, b->err));
}

/* A stage that is only built when its parameters ask for something. */
static void add_if_on(builder *b, int stage, const ll_stage_ctx *c) {
    const ll_stage_row *st = &ll_stage_rows[stage];
    if (!st->on || st->on(c)) add_stage(b, stage, c);
}

/* One occurrence of the user's order: with parameters of its own, they are
 * resolved on top of the caller's (a flag gives the value of every
 * occurrence that does not set its own); a failure names the occurrence. */
static void add_occurrence(builder *b, const occurrence *o, const ll_sampling_params *p, const ll_stage_ctx *base) {
    if (b->st != LL_OK) return;
    if (o->n_set == 0) {
        add_stage(b, o->stage, base);
        return;
    }
    ll_sampling_params q = *p;
    for (size_t i = 0; i < o->n_set; i++) ll_param_put(&q, o->ids[i], o->vals[i]);
    ll_resolved r;
    ll_status st = resolve(&q, &r, b->err);
    if (st == LL_OK) {
        ll_stage_ctx c = {&r, &q, base->n_vocab, base->listed};
        ll_sampler *s = ll_stage_rows[o->stage].build(&c, b->err);
        if (s) {
            add(b, s);
            return;
        }
        st = b->err && b->err->status != LL_OK ? b->err->status : LL_ERR_INVALID_ARGUMENT;
    }
    b->st = st;
    if (b->err) {
        char msg[LL_ERROR_MESSAGE_MAX], q2[LL_QUOTE_MAX];
        memcpy(msg, b->err->message, sizeof msg);
        ll_fail(b->err, st, "samplers position %zu, %s: %s", o->pos, ll_quote(q2, o->text, o->text_len), msg);
    }
}

/* A flag whose every occurrence in samplers= sets its own value would be
 * unused: an error, like a stage left out. */
static ll_status check_flags_used(const ll_resolved *r, const occurrence *order, size_t n_order, ll_error *err) {
    bool named[LL_P_N_SCALAR] = {false}, inherited[LL_P_N_SCALAR] = {false};
    for (size_t i = 0; i < n_order; i++) {
        const ll_stage_row *st = &ll_stage_rows[order[i].stage];
        for (size_t k = 0; k < LL_OCC_MAX && st->params[k] >= 0; k++) {
            int id = st->params[k];
            if (id >= LL_P_N_SCALAR) continue;
            named[id] = true;
            bool own = false;
            for (size_t j = 0; j < order[i].n_set; j++) own = own || order[i].ids[j] == id;
            if (!own) inherited[id] = true;
        }
    }
    for (int id = 0; id < LL_P_N_SCALAR; id++)
        if (r->set[id] && named[id] && !inherited[id]) {
            char vs[32];
            format_value(vs, sizeof vs, id, r->v[id]);
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "%s = %s is set, but every stage in samplers= that reads it gives its own %s: leave %s "
                           "unset, or leave %s out of one of them",
                           ll_param_rows[id].name, vs, ll_param_rows[id].key, ll_param_rows[id].name,
                           ll_param_rows[id].key);
        }
    return LL_OK;
}

/* Every parameter that does something must have its stage in the user's
 * order: one that is set but not listed would be ignored without a word.
 * Stages with a place of their own in the profile (its front processors)
 * run there instead. A stage is "doing something" when one of its
 * parameters is set to a value that is not off. */
static ll_status check_order_covers(const ll_resolved *r, const ll_sampling_params *p, const bool listed[LL_ST_COUNT],
                                    ll_error *err) {
    bool front[LL_ST_COUNT] = {false};
    for (size_t i = 0; i < LL_ARRAY_LEN(r->pr->front) && r->pr->front[i] >= 0; i++) front[r->pr->front[i]] = true;
    for (int s = 0; s < LL_ST_COUNT; s++) {
        if (listed[s] || front[s]) continue;
        for (size_t k = 0; k < LL_ARRAY_LEN(ll_stage_rows[s].params) && ll_stage_rows[s].params[k] >= 0; k++) {
            int id = ll_stage_rows[s].params[k];
            if (id >= LL_P_N_SCALAR || ll_param_rows[id].stage != s || ll_param_rows[id].off == LL_OFF_NONE) continue;
            if (!r->set[id] || ll_param_is_off(id, r->v[id])) continue;
            const char *name = ll_stage_rows[s].name;
            char q[LL_QUOTE_MAX];
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "%s is set but '%s' is not in samplers=%s: add it where it should run, or leave %s unset",
                           name, name, ll_quote(q, p->samplers, strlen(p->samplers)), name);
        }
    }
    return LL_OK;
}

/* The DRY stage matches these ids against the history; one past the
 * vocabulary could never match, so it is a mistake, said now. */
static ll_status check_dry_breakers(const ll_sampling_params *p, size_t n_vocab, ll_error *err) {
    for (size_t i = 0; i < p->n_dry_breakers; i++) {
        const ll_token_seq *q = &p->dry_breakers[i];
        if (!q->tokens || q->n == 0)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "dry_breakers[%zu] is empty: a breaker is one or more token ids",
                           i);
        for (size_t j = 0; j < q->n; j++)
            if (q->tokens[j] < 0 || (size_t)q->tokens[j] >= n_vocab)
                return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                               "dry_breakers[%zu] has token id %d: out of range, valid is [0, %zu] (the vocabulary)", i,
                               q->tokens[j], n_vocab ? n_vocab - 1 : 0);
    }
    return LL_OK;
}

ll_chain *ll_chain_from_params(const ll_sampling_params *p, size_t n_vocab, ll_error *err) {
    ll_resolved r;
    if (resolve(p, &r, err) != LL_OK || check_dry_breakers(p, n_vocab, err) != LL_OK) return NULL;
    const ll_profile_row *pr = r.pr;
    /* the user's order is read whether or not this profile and mode use
     * it, so a bad list is always an error */
    bool custom_order = p->samplers && *p->samplers;
    occurrence *order = NULL;
    size_t n_order = 0;
    if (custom_order && parse_order(p->samplers, &order, &n_order, err) != LL_OK) return NULL;
    ll_chain *ch = ll_chain_new(n_vocab, err);
    if (!ch) {
        free(order);
        return NULL;
    }
    builder b = {ch, err, LL_OK, false};
    bool listed[LL_ST_COUNT] = {false};
    for (size_t i = 0; i < n_order; i++) listed[order[i].stage] = true;
    ll_stage_ctx ctx = {&r, p, n_vocab, listed};

    if (pr->id == LL_PROFILE_LLAMA2C) {
        /* run.c: temperature, then its own top-p sampler */
        if (!r.sample) {
            add(&b, ll_sampler_greedy_new(err));
        } else {
            if (LL_RF(&r, LL_P_TEMPERATURE) != 1.0f)
                add(&b, ll_sampler_temperature_new(LL_RF(&r, LL_P_TEMPERATURE), r.prof, err));
            add(&b, ll_sampler_llama2c_top_p_new((float)r.v[LL_P_TOP_P], r.seed, err));
        }
        goto done;
    }

    /* a front processor named in samplers= runs where it is named instead
     * (HF: any LogitsProcessorList order), never twice */
    for (size_t i = 0; i < LL_ARRAY_LEN(pr->front) && pr->front[i] >= 0; i++)
        if (!listed[pr->front[i]]) add_if_on(&b, pr->front[i], &ctx);

    if (pr->id == LL_PROFILE_LLAMACPP && LL_RI(&r, LL_P_MIROSTAT) && b.st == LL_OK) {
        if (custom_order) {
            /* llama.cpp ignores its sampler order under mirostat; here that is said */
            char q[LL_QUOTE_MAX];
            b.st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "samplers=%s has no effect with mirostat = %d (it runs only temperature, then mirostat): "
                           "leave out one of them",
                           ll_quote(q, p->samplers, strlen(p->samplers)), LL_RI(&r, LL_P_MIROSTAT));
            goto done;
        }
        float tau = LL_RF(&r, LL_P_MIROSTAT_TAU), eta = LL_RF(&r, LL_P_MIROSTAT_ETA);
        add(&b, ll_sampler_temperature_new(LL_RF(&r, LL_P_TEMPERATURE), r.prof, err));
        if (LL_RI(&r, LL_P_MIROSTAT) == 1) add(&b, ll_sampler_mirostat_new((int32_t)n_vocab, r.seed, tau, eta, 100, err));
        else add(&b, ll_sampler_mirostat_v2_new(r.seed, tau, eta, err));
        goto done;
    }

    if (!r.sample && !pr->greedy_runs_order) {
        /* greedy: the framework leaves the warpers out; its processors
         * among the middle stages still run, those named in samplers= where
         * they are named */
        if (custom_order) {
            for (size_t i = 0; i < n_order; i++)
                if (ll_stage_rows[order[i].stage].processor) add_occurrence(&b, &order[i], p, &ctx);
        } else {
            for (size_t i = 0; i < LL_ARRAY_LEN(pr->order) && pr->order[i] >= 0; i++)
                if (ll_stage_rows[pr->order[i]].processor) add_if_on(&b, pr->order[i], &ctx);
        }
        /* the warpers left out are still checked: a value out of range is an
         * error whether or not it would run (top_p = -0.5 is never "ignored");
         * temperature is the exception, as 0 is what asks for greedy here, and
         * resolve() has checked its range */
        b.check_only = true;
        if (custom_order) {
            for (size_t i = 0; i < n_order; i++)
                if (!ll_stage_rows[order[i].stage].processor && order[i].stage != LL_ST_TEMPERATURE)
                    add_occurrence(&b, &order[i], p, &ctx);
        } else {
            for (size_t i = 0; i < LL_ARRAY_LEN(pr->order) && pr->order[i] >= 0; i++)
                if (!ll_stage_rows[pr->order[i]].processor && pr->order[i] != LL_ST_TEMPERATURE)
                    add_stage(&b, pr->order[i], &ctx);
        }
        b.check_only = false;
    } else if (!custom_order) {
        for (size_t i = 0; i < LL_ARRAY_LEN(pr->order) && pr->order[i] >= 0; i++) add_stage(&b, pr->order[i], &ctx);
    } else {
        if (b.st == LL_OK && (check_order_covers(&r, p, listed, err) != LL_OK ||
                              check_flags_used(&r, order, n_order, err) != LL_OK))
            b.st = err ? err->status : LL_ERR_INVALID_ARGUMENT;
        for (size_t i = 0; i < n_order; i++) add_occurrence(&b, &order[i], p, &ctx);
    }
    if (!r.sample) add(&b, ll_sampler_greedy_new(err));
    else add(&b, ll_sampler_dist_new(r.seed, r.prof, err));

done:
    free(order);
    if (b.st != LL_OK) {
        ll_chain_free(ch);
        return NULL;
    }
    return ch;
}

/* ---- warnings ---- */

void ll_sampling_params_warnings(const ll_sampling_params *p, char *buf, size_t cap) {
    if (cap == 0) return;
    buf[0] = '\0';
    const ll_profile_row *pr = profile_row(p->profile);
    if (!pr) return;
    size_t len = 0;
#define WARN(...)                                                                   \
    do {                                                                            \
        if (len < cap) {                                                            \
            int w_ = snprintf(buf + len, cap - len, __VA_ARGS__);                   \
            if (w_ > 0) len += (size_t)w_;                                          \
        }                                                                           \
    } while (0)
    double t;
    bool t_set = ll_param_get(p, LL_P_TEMPERATURE, &t);
    if ((pr->warnings & LL_WARN_DO_SAMPLE) && p->do_sample != 1) {
        /* the warpers of the profile's order that were set, by their parameter names */
        char names[256];
        size_t nn = 0, n_set = 0;
        bool warpers = false;
        names[0] = '\0';
        for (size_t i = 0; i < LL_ARRAY_LEN(pr->order) && pr->order[i] >= 0; i++) {
            const ll_stage_row *st = &ll_stage_rows[pr->order[i]];
            if (st->processor) continue;
            int id = st->params[0];
            double v;
            bool set = ll_param_get(p, id, &v);
            if (id == LL_P_TEMPERATURE) set = set && v != 0.0 && v != 1.0; /* 0 is greedy, 1 does nothing */
            warpers = warpers || set;
            if (!set) continue;
            n_set++;
            if (nn < sizeof names)
                nn += (size_t)snprintf(names + nn, sizeof names - nn, "%s%s", nn ? ", " : "", ll_param_rows[id].name);
        }
        if (warpers)
            WARN("%s profile: do_sample is false, so %s %s ignored (greedy decoding, as transformers does); pass "
                 "do_sample to sample\n",
                 pr->name, names, n_set > 1 ? "are" : "is");
        else if (p->samplers && *p->samplers) {
            char q[LL_QUOTE_MAX];
            WARN("%s profile: do_sample is false, so samplers=%s is not used (greedy decoding); pass do_sample to "
                 "sample\n",
                 pr->name, ll_quote(q, p->samplers, strlen(p->samplers)));
        }
    }
    if ((pr->warnings & LL_WARN_TEMP_FLOOR) && t_set && t > 0.0 && (float)t < pr->temp_floor) {
        if ((float)t < pr->greedy_below)
            WARN("%s profile: temperature %g < 1e-5 is greedy decoding (vLLM)\n", pr->name, t);
        else
            WARN("%s profile: temperature %g is raised to %g, as vLLM does\n", pr->name, t, (double)pr->temp_floor);
    }
    if ((pr->warnings & LL_WARN_NO_SEED) && p->seed < 0)
        WARN("%s profile: no seed given, using %u (llama.cpp itself would pick a random seed)\n", pr->name,
             LL_DEFAULT_SEED);
#undef WARN
}
