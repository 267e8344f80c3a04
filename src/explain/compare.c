/*
 * compare.c - the same hyperparameters under every profile: build each
 * profile's chain with the library's own rules, run it with a trace on the
 * same logits, and for each pair find the first stage where they part ways.
 * Why they part is read from data the library already gives: the stage
 * descriptions (name, parameters, and the rule a stage follows, e.g.
 * "top_p(p=0.9, cum>=p)" against "top_p(p=0.9, tail<=1-p removed)"), each
 * profile's own default chain, the traces and the warnings. Nothing here
 * knows a profile's defaults or order: a new profile or stage shows up by
 * itself.
 */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../sampling/tables.h"

const char *ll_cmp_kind_name(ll_cmp_kind k) {
    static const char *const names[] = {"same",    "order",  "defaults", "value",     "rule",
                                        "history", "greedy", "missing",  "arithmetic"};
    return (unsigned)k < LL_ARRAY_LEN(names) ? names[k] : "?";
}

/* ---- running one profile ---- */

static void free_strings(char **s, size_t n) {
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* The stage descriptions of ch (an allocated array of allocated strings). */
static char **chain_descs(const ll_chain *ch, size_t *n, ll_error *err) {
    size_t len = ll_chain_length(ch);
    char **out = ll_calloc(len ? len : 1, sizeof *out, err);
    if (!out) return NULL;
    for (size_t i = 0; i < len; i++) {
        out[i] = ll_strdup(ll_sampler_describe(ll_chain_get(ch, i)), err);
        if (!out[i]) {
            free_strings(out, i);
            return NULL;
        }
    }
    *n = len;
    return out;
}

static const ll_cmp_stage *active_stage(const ll_cmp_column *c, size_t k) {
    return k < c->n_active ? &c->stages[c->active[k]] : NULL;
}

static bool is_greedy(const ll_cmp_column *c) {
    const ll_cmp_stage *s = c->n_active ? active_stage(c, c->n_active - 1) : NULL;
    return s && !strcmp(s->name, "greedy");
}

/* Why a profile decodes greedily, from what the library does with one
 * change: with do_sample on, does it sample? */
static void explain_greedy(ll_cmp_column *col, const ll_sampling_params *p, size_t n_vocab) {
    const char *name = ll_profile_name(col->profile);
    ll_sampling_params q = *p;
    q.profile = col->profile;
    if (q.do_sample != 1) {
        q.do_sample = 1;
        ll_chain *ch = ll_chain_from_params(&q, n_vocab, NULL);
        bool samples = ch && strcmp(ll_sampler_name(ll_chain_get(ch, ll_chain_length(ch) - 1)), "greedy") != 0;
        ll_chain_free(ch);
        if (samples) {
            snprintf(col->greedy_why, sizeof col->greedy_why,
                     "do_sample is %s, and without it %s runs no warper (with do_sample it would sample)",
                     p->do_sample == 0 ? "false" : "not set", name);
            return;
        }
    }
    if (!isnan(p->temperature))
        snprintf(col->greedy_why, sizeof col->greedy_why, "temperature %g means greedy decoding in %s",
                 (double)p->temperature, name);
    else snprintf(col->greedy_why, sizeof col->greedy_why, "%s decodes greedily with these settings", name);
}

/* A value of q that the column's framework accepts and ignores (the
 * profile's notes, read from the tables): when the library refused the
 * settings, the column says what the framework would have done. The note
 * whose parameter the library's message names comes first (it refused that
 * one); a value that depends on the model is an id past the vocabulary. */
static void find_departure(ll_cmp_column *col, const ll_sampling_params *q, size_t n_vocab) {
    const ll_profile_note *notes;
    size_t n = ll_profile_notes(col->profile, &notes);
    for (int pass = 0; pass < 2 && !col->note; pass++)
        for (size_t i = 0; i < n && !col->note; i++) {
            const ll_profile_note *nt = &notes[i];
            if (pass == 0 && !strstr(col->error, nt->param)) continue;
            for (int id = 0; id < LL_P_COUNT; id++) {
                if (strcmp(ll_param_rows[id].name, nt->param) != 0) continue;
                double v;
                if (id < LL_P_N_SCALAR && ll_param_get(q, id, &v) && ll_profile_note_find(col->profile, nt->param, v) == nt) {
                    col->note = nt;
                    snprintf(col->note_value, sizeof col->note_value, "%s = %g", nt->param, v);
                } else if (id == LL_P_SUPPRESS_TOKENS && isnan(nt->lo)) {
                    for (size_t k = 0; k < q->n_suppress_tokens && !col->note; k++)
                        if (q->suppress_tokens[k] < 0 || (size_t)q->suppress_tokens[k] >= n_vocab) {
                            col->note = nt;
                            snprintf(col->note_value, sizeof col->note_value, "%s id %d (the vocabulary has %zu)",
                                     nt->param, q->suppress_tokens[k], n_vocab);
                        }
                }
            }
        }
    if (col->note)
        snprintf(col->departure, sizeof col->departure, "%s accepts %s and %s; logitlab rejects it: %s",
                 ll_profile_rows[col->profile].framework, col->note_value, col->note->framework, col->error);
}

const char *ll_cmp_column_error(const ll_cmp_column *col) { return col->note ? col->departure : col->error; }

static ll_status run_column(ll_cmp_column *col, const ll_sampling_params *p, const float *logits, size_t n_vocab,
                            const int32_t *history, size_t n_history, size_t prompt_len, ll_error *err) {
    ll_sampling_params q = *p;
    q.profile = col->profile;
    ll_error e;
    ll_error_clear(&e);
    ll_status st = LL_OK;
    ll_trace *tr = NULL;
    ll_chain *ch = ll_chain_from_params(&q, n_vocab, &e);
    if (ch) {
        ll_sampling_params_warnings(&q, col->warnings, sizeof col->warnings);
        tr = ll_trace_new(LL_TRACE_MAX_TOP, &e);
        st = tr ? ll_chain_set_prompt(ch, history, prompt_len, &e) : LL_ERR_OUT_OF_MEMORY;
        for (size_t i = prompt_len; st == LL_OK && i < n_history; i++) st = ll_chain_accept(ch, history[i], &e);
        if (st == LL_OK) {
            int32_t tok;
            ll_chain_set_trace(ch, tr);
            st = ll_chain_apply(ch, logits, n_vocab, &tok, &e);
        }
    } else {
        st = e.status;
    }
    if (st == LL_OK) {
        const ll_candidates *cand = ll_chain_candidates(ch);
        col->selected = -1;
        if (cand->selected >= 0) {
            col->selected = ll_candidates_id(cand, (size_t)cand->selected);
            col->selected_p = ll_candidates_prob(cand, (size_t)cand->selected);
        }
        size_t n = ll_chain_length(ch);
        size_t len = ll_chain_describe(ch, NULL, 0);
        col->chain = ll_malloc(len + 1, &e);
        col->stages = ll_calloc(n ? n : 1, sizeof *col->stages, &e);
        col->active = ll_calloc(n ? n : 1, sizeof *col->active, &e);
        if (!col->chain || !col->stages || !col->active) {
            st = LL_ERR_OUT_OF_MEMORY;
        } else {
            ll_chain_describe(ch, col->chain, len + 1);
            for (size_t i = 0; i < n; i++) {
                const ll_sampler *s = ll_chain_get(ch, i);
                ll_cmp_stage *cs = &col->stages[i];
                snprintf(cs->desc, sizeof cs->desc, "%s", ll_sampler_describe(s));
                snprintf(cs->name, sizeof cs->name, "%s", ll_sampler_name(s));
                cs->off = cs->desc[0] == '?';
                cs->selects = (ll_sampler_flags(s) & LL_SAMPLER_SELECTS) != 0;
                if (!cs->off) col->active[col->n_active++] = i;
            }
            col->n_stages = n;
            col->trace = tr;
            tr = NULL;
            col->ok = true;
        }
    }
    ll_chain_free(ch);
    ll_trace_free(tr);
    if (st == LL_ERR_OUT_OF_MEMORY) return ll_fail(err, st, "out of memory comparing the %s profile", ll_profile_name(col->profile));
    if (st != LL_OK) {
        /* the profile cannot take these settings: its column says why, and
         * what its framework would do with a value it accepts */
        snprintf(col->error, sizeof col->error, "%s", e.message);
        find_departure(col, &q, n_vocab);
        st = LL_OK;
    }
    /* the profile's own defaults, do_sample on so its warpers show */
    ll_sampling_params d;
    ll_sampling_params_init(&d, col->profile);
    d.do_sample = 1;
    d.seed = p->seed;
    ll_chain *dch = ll_chain_from_params(&d, n_vocab, NULL);
    if (dch) {
        col->defaults = chain_descs(dch, &col->n_defaults, err);
        ll_chain_free(dch);
        if (!col->defaults) return LL_ERR_OUT_OF_MEMORY;
    }
    if (is_greedy(col)) explain_greedy(col, p, n_vocab);
    return LL_OK;
}

/* ---- why two chains differ ---- */

/* A description's arguments: "top_p(p=0.9, cum>=p)" -> "p=0.9", "cum>=p". */
enum { MAX_ARGS = 16, ARG_LEN = 96 };
typedef struct {
    char item[MAX_ARGS][ARG_LEN];
    size_t n;
} stage_args;

static void split_args(const char *desc, stage_args *a) {
    a->n = 0;
    const char *open = strchr(desc, '('), *close = strrchr(desc, ')');
    if (!open || !close || close < open) return;
    const char *p = open + 1;
    while (p < close && a->n < MAX_ARGS) {
        while (p < close && *p == ' ') p++;
        const char *q = p;
        while (q < close && *q != ',' && *q != ';') q++;
        const char *e = q;
        while (e > p && e[-1] == ' ') e--;
        if (e > p) snprintf(a->item[a->n++], ARG_LEN, "%.*s", (int)(e - p), p);
        p = q < close ? q + 1 : q;
    }
}

/* "k=40" is a parameter (a name, then '='); "cum>=p", "ties kept", "all"
 * are notes: the rule the stage follows. */
static bool is_param(const char *item) {
    const char *p = item;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_') p++;
    return p > item && *p == '=';
}

static bool has_item(const stage_args *a, const char *item) {
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->item[i], item)) return true;
    return false;
}

/* Whether the two lists differ in their parameters (else only in notes). */
static bool params_differ(const stage_args *a, const stage_args *b) {
    for (size_t i = 0; i < a->n; i++)
        if (is_param(a->item[i]) && !has_item(b, a->item[i])) return true;
    for (size_t i = 0; i < b->n; i++)
        if (is_param(b->item[i]) && !has_item(a, b->item[i])) return true;
    return false;
}

/* Plain words for the notes the sampling stages write; an unknown note is
 * shown as it is. */
static const char *gloss(const char *note) {
    static const struct {
        const char *note, *words;
    } g[] = {{"cum>=p", "inclusive: keeps tokens until their running sum reaches p, the token that crosses p included"},
             {"tail<=1-p removed", "exclusive: removes every token whose mass counted from the bottom is <= 1 - p"},
             {"ties kept", "keeps every token tied with the k-th logit"},
             {"id order", "draws by walking the candidates in token-id order"},
             {"all", "the prompt and the generated tokens"},
             {"generated", "only the generated tokens"}};
    const char *colon = strstr(note, ": ");
    const char *key = colon ? colon + 2 : note;
    for (size_t i = 0; i < LL_ARRAY_LEN(g); i++)
        if (!strcmp(key, g[i].note)) return g[i].words;
    if (!strncmp(key, "last ", 5)) return "a window of the last tokens, prompt included";
    return NULL;
}

/* "hf: cum>=p (inclusive: ...)" - the notes of one side, glossed. */
static void describe_notes(char *out, size_t cap, const char *profile, const stage_args *a) {
    size_t n = (size_t)snprintf(out, cap, "%s:", profile);
    bool any = false;
    for (size_t i = 0; i < a->n && n < cap; i++) {
        if (is_param(a->item[i])) continue;
        const char *w = gloss(a->item[i]);
        n += (size_t)snprintf(out + n, cap - n, "%s %s%s%s%s", any ? "," : "", a->item[i], w ? " (" : "", w ? w : "",
                              w ? ")" : "");
        any = true;
    }
    if (!any && n < cap) snprintf(out + n, cap - n, " (no such rule)");
}

static bool is_default(const ll_cmp_column *c, const char *desc) {
    for (size_t i = 0; i < c->n_defaults; i++)
        if (!strcmp(c->defaults[i], desc)) return true;
    return false;
}

static long find_active(const ll_cmp_column *c, const char *name, size_t from) {
    for (size_t k = from; k < c->n_active; k++)
        if (!strcmp(active_stage(c, k)->name, name)) return (long)k;
    return -1;
}

static const ll_cmp_stage *find_any(const ll_cmp_column *c, const char *name) {
    for (size_t i = 0; i < c->n_stages; i++)
        if (!strcmp(c->stages[i].name, name)) return &c->stages[i];
    return NULL;
}

static const ll_trace_stage *traced(const ll_cmp_column *c, size_t k) {
    return ll_trace_stage_at(c->trace, c->active[k]);
}

static bool same_numbers(const ll_trace_stage *a, const ll_trace_stage *b) {
    if (a->n_after != b->n_after || a->n_top_after != b->n_top_after) return false;
    for (size_t i = 0; i < a->n_top_after; i++)
        if (a->top_after[i].id != b->top_after[i].id || fabsf(a->top_after[i].p - b->top_after[i].p) > 1e-6f)
            return false;
    return true;
}

#define PNAME(col) ll_profile_name((col)->profile)

/* A stage that x runs at step k and y does not run at all. */
static void missing(const ll_cmp_column *x, const ll_cmp_stage *s, const ll_cmp_column *y, ll_cmp_diff *d) {
    const ll_cmp_stage *off = find_any(y, s->name);
    bool xd = is_default(x, s->desc);
    if (off && xd && is_default(y, off->desc)) {
        d->kind = LL_CMP_DEFAULTS;
        snprintf(d->why, sizeof d->why, "%s is not set, so each profile uses its own default: %s runs %s, %s has it off (%s)",
                 s->name, PNAME(x), s->desc, PNAME(y), off->desc + 1);
    } else if (off) {
        d->kind = LL_CMP_VALUE;
        snprintf(d->why, sizeof d->why, "the same setting: %s runs %s, %s has the stage off (%s)", PNAME(x), s->desc,
                 PNAME(y), off->desc + 1);
    } else {
        d->kind = LL_CMP_MISSING;
        size_t n = (size_t)snprintf(d->why, sizeof d->why, "%s runs %s%s; %s has no %s stage in its chain", PNAME(x),
                                    s->desc, xd ? " (its default)" : "", PNAME(y), s->name);
        /* a stage of y may take it as a parameter (llama.cpp-style selectors: llama2c_sample(top_p=...)) */
        for (size_t k = 0; k < y->n_active && n < sizeof d->why; k++) {
            const ll_cmp_stage *ys = active_stage(y, k);
            stage_args ya;
            split_args(ys->desc, &ya);
            for (size_t i = 0; i < ya.n; i++)
                if (is_param(ya.item[i]) && !strncmp(ya.item[i], s->name, strlen(s->name)) &&
                    ya.item[i][strlen(s->name)] == '=') {
                    snprintf(d->why + n, sizeof d->why - n, ": its %s applies %s itself", ys->desc, ya.item[i]);
                    return;
                }
        }
    }
}

/* The same stage, at step ka of A and kb of B, with other arguments. */
static void same_stage(const ll_cmp_column *A, size_t ka, const ll_cmp_column *B, size_t kb, ll_cmp_diff *d) {
    const ll_cmp_stage *sa = active_stage(A, ka), *sb = active_stage(B, kb);
    stage_args aa, ab;
    split_args(sa->desc, &aa);
    split_args(sb->desc, &ab);
    size_t n = 0;
    bool da = is_default(A, sa->desc), db = is_default(B, sb->desc);
    if (params_differ(&aa, &ab)) {
        if (da && db) {
            d->kind = LL_CMP_DEFAULTS;
            n = (size_t)snprintf(d->why, sizeof d->why, "%s is not set, so each profile uses its own default: %s %s, %s %s",
                                 sa->name, PNAME(A), sa->desc, PNAME(B), sb->desc);
        } else {
            d->kind = LL_CMP_VALUE;
            n = (size_t)snprintf(d->why, sizeof d->why, "the same settings resolve to %s in %s and %s in %s", sa->desc,
                                 PNAME(A), sb->desc, PNAME(B));
        }
    } else {
        char na[320], nb[320];
        describe_notes(na, sizeof na, PNAME(A), &aa);
        describe_notes(nb, sizeof nb, PNAME(B), &ab);
        /* a penalty's notes say which tokens it counts */
        d->kind = strstr(sa->name, "penalt") ? LL_CMP_HISTORY : LL_CMP_RULE;
        n = (size_t)snprintf(d->why, sizeof d->why, "%s: %s; %s",
                             d->kind == LL_CMP_HISTORY ? "which tokens the penalty counts" : "the same parameters, another rule",
                             na, nb);
    }
    if (!sa->selects && n < sizeof d->why) {
        const ll_trace_stage *ta = traced(A, ka), *tb = traced(B, kb);
        snprintf(d->why + n, sizeof d->why - n, ". On the same input %s keeps %zu candidates, %s keeps %zu", PNAME(A),
                 ta->n_after, PNAME(B), tb->n_after);
    }
}

/* A stage that left the candidates as they were, on this input. */
static bool changed_nothing(const ll_trace_stage *t) {
    if (t->n_before != t->n_after || t->n_top != t->n_top_after || t->mass_removed != 0.0) return false;
    for (size_t i = 0; i < t->n_top; i++)
        if (t->top_before[i].id != t->top_after[i].id || t->top_before[i].p != t->top_after[i].p) return false;
    return true;
}

/* Keeps the first description difference that changed no number here, to
 * say it after the difference that did. */
static void note_quiet(char *quiet, size_t cap, const char *what, const char *pa, const char *sa, const char *pb,
                       const char *sb) {
    if (quiet[0]) return;
    if (sb) snprintf(quiet, cap, "%s: %s %s, %s %s: the same numbers on this input", what, pa, sa, pb, sb);
    else snprintf(quiet, cap, "%s: %s runs %s, %s does not: it changes nothing on this input", what, pa, sa, pb);
}

/* Walks the two chains' stages that are on, side by side, while they are
 * the same stage with the same numbers; the first step where they are not
 * is the difference, and its kind comes from the descriptions: the same
 * stage with other parameters (each profile's default, or another value),
 * with other notes (another rule; for a penalty, other tokens counted), a
 * stage one of them runs later (order) or not at all, or a greedy selector
 * against a sampling one. A difference that changes no number on this
 * input is stepped over and said after. */
void ll_compare_first_difference(const ll_compare *c, size_t a, size_t b, ll_cmp_diff *d) {
    const ll_cmp_column *A = &c->cols[a], *B = &c->cols[b];
    memset(d, 0, sizeof *d);
    d->a = a;
    d->b = b;
    char quiet[384] = "";
    size_t ka = 0, kb = 0;
    for (;;) {
        const ll_cmp_stage *sa = active_stage(A, ka), *sb = active_stage(B, kb);
        d->step = ka + 1;
        d->step_b = kb + 1;
        if (!sa || !sb) { /* a chain without a selector: nothing more to compare */
            d->kind = LL_CMP_SAME;
            snprintf(d->why, sizeof d->why, "the same stages and numbers");
            break;
        }
        snprintf(d->stage_a, sizeof d->stage_a, "%s", sa->desc);
        snprintf(d->stage_b, sizeof d->stage_b, "%s", sb->desc);
        if (!strcmp(sa->desc, sb->desc)) {
            if (sa->selects) {
                if (A->selected == B->selected) {
                    d->kind = LL_CMP_SAME;
                    snprintf(d->why, sizeof d->why, "the same chain and numbers: both select token %d", A->selected);
                } else {
                    d->kind = LL_CMP_ARITHMETIC;
                    snprintf(d->why, sizeof d->why, "the same selector on the same numbers, another token: %s %d, %s %d",
                             PNAME(A), A->selected, PNAME(B), B->selected);
                }
                break;
            }
            const ll_trace_stage *ta = traced(A, ka), *tb = traced(B, kb);
            if (same_numbers(ta, tb)) {
                ka++, kb++;
                continue;
            }
            d->kind = LL_CMP_ARITHMETIC;
            snprintf(d->why, sizeof d->why,
                     "the same stage on the same input, different numbers: %s keeps %zu candidates (top p %.6f), %s "
                     "keeps %zu (top p %.6f)",
                     PNAME(A), ta->n_after, ta->n_top_after ? (double)ta->top_after[0].p : 0.0, PNAME(B), tb->n_after,
                     tb->n_top_after ? (double)tb->top_after[0].p : 0.0);
            break;
        }
        /* a difference in description that changes no number here is
         * stepped over (and said after the one that does) */
        if (!sa->selects && !sb->selects) {
            if (!strcmp(sa->name, sb->name) && same_numbers(traced(A, ka), traced(B, kb))) {
                note_quiet(quiet, sizeof quiet, sa->name, PNAME(A), sa->desc, PNAME(B), sb->desc);
                ka++, kb++;
                continue;
            }
            if (strcmp(sa->name, sb->name) && find_active(B, sa->name, kb) < 0 && changed_nothing(traced(A, ka))) {
                note_quiet(quiet, sizeof quiet, sa->name, PNAME(A), sa->desc, PNAME(B), NULL);
                ka++;
                continue;
            }
            if (strcmp(sa->name, sb->name) && find_active(A, sb->name, ka) < 0 && changed_nothing(traced(B, kb))) {
                note_quiet(quiet, sizeof quiet, sb->name, PNAME(B), sb->desc, PNAME(A), NULL);
                kb++;
                continue;
            }
        } else if (!sa->selects || !sb->selects) {
            /* one chain is at its selector, the other has one more stage */
            const ll_cmp_column *S = sa->selects ? A : B, *O = sa->selects ? B : A;
            size_t ko = sa->selects ? kb : ka;
            if (is_greedy(S) == is_greedy(O) && changed_nothing(traced(O, ko))) {
                note_quiet(quiet, sizeof quiet, active_stage(O, ko)->name, PNAME(O), active_stage(O, ko)->desc, PNAME(S),
                           NULL);
                if (O == A) ka++;
                else kb++;
                continue;
            }
        }
        if (sa->selects || sb->selects) {
            const ll_cmp_column *S = sa->selects ? A : B, *O = sa->selects ? B : A;
            const ll_cmp_stage *os = sa->selects ? sb : sa;
            bool sg = is_greedy(S), og = is_greedy(O);
            if (sg != og) {
                const ll_cmp_column *G = sg ? S : O, *N = sg ? O : S;
                d->kind = LL_CMP_GREEDY;
                snprintf(d->why, sizeof d->why, "%s decodes greedily: %s; %s samples", PNAME(G), G->greedy_why, PNAME(N));
            } else if (sa->selects && sb->selects) {
                if (!strcmp(sa->name, sb->name)) {
                    same_stage(A, ka, B, kb, d);
                } else {
                    d->kind = LL_CMP_RULE;
                    snprintf(d->why, sizeof d->why, "another sampler picks the token: %s %s%s, %s %s%s", PNAME(A),
                             sa->desc, is_default(A, sa->desc) ? " (its default)" : "", PNAME(B), sb->desc,
                             is_default(B, sb->desc) ? " (its default)" : "");
                }
            } else {
                missing(O, os, S, d);
            }
            break;
        }
        if (!strcmp(sa->name, sb->name)) {
            same_stage(A, ka, B, kb, d);
            break;
        }
        long pb = find_active(B, sa->name, kb + 1), pa = find_active(A, sb->name, ka + 1);
        if (pb < 0) {
            missing(A, sa, B, d);
        } else if (pa < 0) {
            missing(B, sb, A, d);
        } else {
            /* both run the stage: name the stages that see the distribution before it in one and after it in the other */
            d->kind = LL_CMP_ORDER;
            size_t n = (size_t)snprintf(d->why, sizeof d->why, "%s applies %s at step %zu, %s at step %ld: %s's ", PNAME(A),
                                        sa->name, ka + 1, PNAME(B), pb + 1, PNAME(B));
            for (long j = (long)kb; j < pb && n < sizeof d->why; j++)
                n += (size_t)snprintf(d->why + n, sizeof d->why - n, "%s%s", j > (long)kb ? ", " : "",
                                      active_stage(B, (size_t)j)->name);
            if (n < sizeof d->why)
                snprintf(d->why + n, sizeof d->why - n, " %s the distribution before %s, %s's after it",
                         pb - (long)kb > 1 ? "see" : "sees", sa->name, PNAME(A));
        }
        break;
    }
    size_t n = strlen(d->why);
    if (quiet[0] && n < sizeof d->why) snprintf(d->why + n, sizeof d->why - n, " (before that, %s)", quiet);
}

/* ---- the whole comparison ---- */

ll_status ll_compare_run(ll_compare *c, const ll_sampling_params *p, const ll_profile *profiles, size_t n,
                         const float *logits, size_t n_vocab, const int32_t *history, size_t n_history,
                         size_t prompt_len, ll_error *err) {
    memset(c, 0, sizeof *c);
    if (n == 0 || n > LL_PROFILE_COUNT)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%zu profiles to compare: valid is [1, %d]", n, LL_PROFILE_COUNT);
    if (prompt_len > n_history)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "prompt_len = %zu is out of range: the history has %zu tokens",
                       prompt_len, n_history);
    /* one seed for all, said once: the seed every profile would default to */
    ll_sampling_params q = *p;
    if (q.seed < 0) q.seed = LL_DEFAULT_SEED;
    c->seed = q.seed > (int64_t)UINT32_MAX ? 0 : (uint32_t)q.seed;
    for (size_t i = 0; i < n; i++) {
        c->cols[i].profile = profiles[i];
        c->n_cols = i + 1;
        ll_status st = run_column(&c->cols[i], &q, logits, n_vocab, history, n_history, prompt_len, err);
        if (st != LL_OK) return st;
    }
    /* the same failure in every column (bad logits, a history id past the
     * vocabulary) is the input's, not a profile's - unless a framework
     * accepts the value (top_p = 1.5 in hf): then its column says so */
    bool all_same = true;
    for (size_t i = 0; i < n; i++)
        all_same = all_same && !c->cols[i].ok && !c->cols[i].note && !strcmp(c->cols[i].error, c->cols[0].error);
    if (all_same && n > 1) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s", c->cols[0].error);
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (c->cols[a].ok && c->cols[b].ok) ll_compare_first_difference(c, a, b, &c->diffs[c->n_diffs++]);
    return LL_OK;
}

void ll_compare_free(ll_compare *c) {
    for (size_t i = 0; i < c->n_cols; i++) {
        ll_cmp_column *col = &c->cols[i];
        free(col->chain);
        free(col->stages);
        free(col->active);
        ll_trace_free(col->trace);
        free_strings(col->defaults, col->n_defaults);
    }
    memset(c, 0, sizeof *c);
}

/* ---- the table ---- */

/* A cell of a column: a line of text, or a token with its probability. */
typedef struct {
    char text[200];
    int32_t id;    /* >= 0: a token cell (text is its prefix) */
    float p;
    ll_color color;
} cell;

typedef struct {
    cell *c;
    size_t n, cap;
} cells;

static cell *push(cells *cs) {
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 32;
        cell *nc = realloc(cs->c, cap * sizeof *nc);
        if (!nc) return NULL;
        cs->c = nc;
        cs->cap = cap;
    }
    cell *c = &cs->c[cs->n++];
    memset(c, 0, sizeof *c);
    c->id = -1;
    return c;
}

static void push_text(cells *cs, ll_color color, const char *fmt, const char *s1, const char *s2) {
    cell *c = push(cs);
    if (!c) return;
    int w = snprintf(c->text, sizeof c->text, fmt, s1, s2);
    if (w < 0 || (size_t)w >= sizeof c->text) memcpy(c->text + sizeof c->text - 4, "...", 4); /* cut, visibly */
    c->color = color;
}

/* Text cut into lines of at most w columns at spaces; the lines after the
 * first indented by cont columns. */
static void push_wrapped_cont(cells *cs, ll_color color, const char *text, int w, int cont) {
    const char *p = text;
    for (bool first = true; *p; first = false) {
        int lw = first ? w : w - cont;
        const char *q = p, *brk = NULL;
        int cols = 0;
        while (*q && *q != '\n' && cols < lw) {
            if (*q == ' ') brk = q;
            if (((unsigned char)*q & 0xC0) != 0x80) cols++;
            q++;
        }
        while (*q && ((unsigned char)*q & 0xC0) == 0x80) q++;
        const char *cut = (*q && *q != '\n' && brk && brk > p) ? brk : q;
        char line[200];
        size_t len = (size_t)(cut - p) < sizeof line - 1 ? (size_t)(cut - p) : sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        char pre[16];
        snprintf(pre, sizeof pre, "%*s", first || cont < 0 ? 0 : cont < 15 ? cont : 15, "");
        push_text(cs, color, "%s%s", pre, line);
        p = cut;
        while (*p == ' ' || *p == '\n') p++;
    }
}

static void push_wrapped(cells *cs, ll_color color, const char *text, int w) { push_wrapped_cont(cs, color, text, w, 0); }

static void push_token(cells *cs, const char *prefix, int32_t id, float p, ll_color color) {
    cell *c = push(cs);
    if (!c) return;
    snprintf(c->text, sizeof c->text, "%s", prefix);
    c->id = id;
    c->p = p;
    c->color = color;
}

/* A token as '...' in at most cols columns, escaped with ll_term_put_text
 * (the one escaping of shown text) and cut between whole escapes. */
static int put_token(FILE *f, const ll_tokenizer *tok, int32_t id, int cols) {
    char raw[64], *esc = NULL;
    size_t esc_len = 0;
    if (!tok) {
        char b[32];
        int n = snprintf(b, sizeof b, "#%d", id);
        fputs(b, f);
        return n;
    }
    size_t len = ll_token_to_bytes(tok, id, true, raw, sizeof raw);
    if (len > sizeof raw) len = sizeof raw;
    FILE *m = open_memstream(&esc, &esc_len);
    if (!m) return 0;
    ll_term_put_text(m, raw, len);
    fclose(m);
    if (!esc) return 0;
    int used = 1;
    fputc('\'', f);
    for (size_t i = 0; i < esc_len;) {
        size_t u = 1;
        if (esc[i] == '\\' && i + 1 < esc_len) u = esc[i + 1] == 'x' ? 4 : 2;
        else
            while (i + u < esc_len && ((unsigned char)esc[i + u] & 0xC0) == 0x80) u++;
        int w = esc[i] == '\\' ? (int)u : 1;
        if (used + w + 1 > cols) {
            fputc('~', f); /* cut: --json has it whole */
            used++;
            break;
        }
        fwrite(esc + i, 1, u, f);
        used += w;
        i += u;
    }
    fputc('\'', f);
    free(esc);
    return used + 1;
}

/* One cell in w columns; pad: the columns to fill up to (0 for the last
 * column, which ends the line). */
static void print_cell(const ll_term *t, const ll_tokenizer *tok, const cell *c, int w, int pad) {
    FILE *f = t->f;
    int used = 0;
    if (c) {
        ll_term_color(t, c->color);
        /* cut to w display columns, at a character boundary */
        size_t len = strlen(c->text), k = 0;
        int cols = 0;
        while (k < len && cols < w) {
            k++;
            while (k < len && ((unsigned char)c->text[k] & 0xC0) == 0x80) k++;
            cols++;
        }
        ll_term_put_text(f, c->text, k);
        used = cols;
        if (c->id >= 0 && w - used > 8) {
            used += put_token(f, tok, c->id, w - used - 7);
            for (; used < w - 7; used++) fputc(' ', f);
            fprintf(f, " %6.4f", (double)c->p);
            used += 7;
        }
        ll_term_color(t, LL_C_RESET);
    }
    for (; used < pad; used++) fputc(' ', f);
}

static void column_cells(const ll_cmp_column *col, cells *cs, size_t top_n, int w) {
    push_text(cs, LL_C_BOLD, "%s%s", ll_profile_name(col->profile), "");
    if (!col->ok) {
        push_wrapped(cs, LL_C_BAD, ll_cmp_column_error(col), w);
        return;
    }
    for (size_t k = 0; k < col->n_active; k++) {
        const ll_cmp_stage *s = active_stage(col, k);
        const ll_trace_stage *ts = traced(col, k);
        char head[160];
        snprintf(head, sizeof head, "%zu %s", k + 1, s->desc);
        push_wrapped_cont(cs, LL_C_ACCENT, head, w, 2); /* a long stage on two lines rather than cut */
        if (s->selects) {
            if (col->selected >= 0) push_token(cs, "-> ", col->selected, col->selected_p, LL_C_GOOD);
            continue;
        }
        char counts[64];
        snprintf(counts, sizeof counts, "  %zu -> %zu", ts->n_before, ts->n_after);
        push_text(cs, LL_C_DIM, "%s%s", counts, "");
        for (size_t i = 0; i < ts->n_top_after && i < top_n; i++)
            push_token(cs, "  ", ts->top_after[i].id, ts->top_after[i].p, LL_C_RESET);
    }
    if (col->warnings[0]) push_wrapped(cs, LL_C_DIM, col->warnings, w);
}

void ll_compare_print(const ll_compare *c, const ll_term *t, const ll_tokenizer *tok, size_t top_n) {
    FILE *f = t->f;
    enum { GAP = 2, MIN_W = 24 };
    fprintf(f, "  chains (seed %u; ? = a stage that is off):\n", c->seed);
    for (size_t i = 0; i < c->n_cols; i++) {
        const ll_cmp_column *col = &c->cols[i];
        char line[2048];
        snprintf(line, sizeof line, "%-10s %s", ll_profile_name(col->profile), col->ok ? col->chain : ll_cmp_column_error(col));
        ll_term_wrap(t, line, 4);
    }
    char head[160];
    snprintf(head, sizeof head,
             "after each stage that is on (candidates left, top %zu by probability; -> the token selected):", top_n);
    fputc('\n', f);
    ll_term_wrap(t, head, 2);
    int avail = t->width - 2;
    size_t per = (size_t)((avail + GAP) / (MIN_W + GAP));
    if (per < 1) per = 1;
    if (per > c->n_cols) per = c->n_cols;
    int w = (avail - GAP * ((int)per - 1)) / (int)per;
    if (w < MIN_W) w = MIN_W;
    for (size_t g0 = 0; g0 < c->n_cols; g0 += per) {
        size_t g1 = g0 + per < c->n_cols ? g0 + per : c->n_cols;
        cells cs[LL_PROFILE_COUNT];
        memset(cs, 0, sizeof cs);
        size_t rows = 0;
        for (size_t i = g0; i < g1; i++) {
            column_cells(&c->cols[i], &cs[i - g0], top_n, w);
            if (cs[i - g0].n > rows) rows = cs[i - g0].n;
        }
        for (size_t r = 0; r < rows; r++) {
            fputs("  ", f);
            for (size_t i = g0; i < g1; i++) {
                const cells *x = &cs[i - g0];
                print_cell(t, tok, r < x->n ? &x->c[r] : NULL, w, i + 1 < g1 ? w + GAP : 0);
            }
            fputc('\n', f);
        }
        for (size_t i = g0; i < g1; i++) free(cs[i - g0].c);
        if (g1 < c->n_cols) fputc('\n', f);
    }
    fputs("\n  selected (same seed):", f);
    for (size_t i = 0; i < c->n_cols; i++) {
        const ll_cmp_column *col = &c->cols[i];
        fprintf(f, "\n    %-10s ", ll_profile_name(col->profile));
        if (!col->ok) {
            if (col->note)
                fprintf(f, "-  (logitlab rejects %s; %s ignores it)", col->note_value,
                        ll_profile_name(col->profile));
            else fputs("-  (the profile does not take these settings)", f);
            continue;
        }
        fprintf(f, "%6d ", col->selected);
        if (tok) put_token(f, tok, col->selected, 40);
        fprintf(f, "  p %.4f", (double)col->selected_p);
    }
    fputs("\n\n  first difference, pair by pair:\n", f);
    if (c->n_diffs == 0) fputs("    (fewer than two profiles took these settings)\n", f);
    for (size_t i = 0; i < c->n_diffs; i++) {
        const ll_cmp_diff *d = &c->diffs[i];
        char line[1536];
        if (d->kind == LL_CMP_SAME)
            snprintf(line, sizeof line, "%s vs %s: no difference (%s)", ll_profile_name(c->cols[d->a].profile),
                     ll_profile_name(c->cols[d->b].profile), d->why);
        else
            snprintf(line, sizeof line, "%s vs %s: step %zu, %s: %s", ll_profile_name(c->cols[d->a].profile),
                     ll_profile_name(c->cols[d->b].profile), d->step, ll_cmp_kind_name(d->kind), d->why);
        ll_term_wrap(t, line, 4);
    }
}

/* ---- --generate ---- */

ll_status ll_compare_generate(ll_compare_gen *out, const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt,
                              size_t n_prompt, const ll_sampling_params *p, const ll_profile *profiles, size_t n,
                              int32_t max_new_tokens, const volatile sig_atomic_t *interrupt, ll_error *err) {
    memset(out, 0, sizeof *out);
    out->first_divergence = -1;
    if (n == 0 || n > LL_PROFILE_COUNT)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%zu profiles to compare: valid is [1, %d]", n, LL_PROFILE_COUNT);
    for (size_t i = 0; i < n; i++) {
        ll_cmp_gen *g = &out->g[i];
        out->n = i + 1;
        g->profile = profiles[i];
        ll_generate_params gp;
        ll_generate_params_init(&gp, profiles[i]);
        gp.sampling = *p;
        gp.sampling.profile = profiles[i];
        gp.max_new_tokens = max_new_tokens;
        if (p->n_eos_ids) {
            gp.eos_ids = p->eos_ids;
            gp.n_eos_ids = p->n_eos_ids;
        }
        gp.interrupt = interrupt;
        ll_generate_result r;
        ll_error e;
        ll_error_clear(&e);
        ll_status st = ll_generate(lm, tok, prompt, n_prompt, &gp, &r, &e);
        if (st == LL_ERR_OUT_OF_MEMORY) return ll_fail(err, st, "%s", e.message);
        if (st != LL_OK) {
            snprintf(g->error, sizeof g->error, "%s", e.message);
            continue;
        }
        g->ok = true;
        ll_generation *s = &r.seqs[0];
        g->tokens = s->tokens;
        g->n_tokens = s->n_tokens;
        g->text = s->text;
        g->text_len = s->text_len;
        g->reason = s->reason;
        s->tokens = NULL;
        s->text = NULL;
        ll_generate_result_free(&r);
    }
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            long d = ll_compare_gen_pair(out, a, b);
            if (d >= 0 && (out->first_divergence < 0 || d < out->first_divergence)) out->first_divergence = d;
        }
    return LL_OK;
}

long ll_compare_gen_pair(const ll_compare_gen *g, size_t a, size_t b) {
    const ll_cmp_gen *x = &g->g[a], *y = &g->g[b];
    if (!x->ok || !y->ok) return -1;
    size_t n = x->n_tokens < y->n_tokens ? x->n_tokens : y->n_tokens;
    for (size_t i = 0; i < n; i++)
        if (x->tokens[i] != y->tokens[i]) return (long)i;
    return x->n_tokens == y->n_tokens ? -1 : (long)n;
}

void ll_compare_gen_free(ll_compare_gen *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->g[i].tokens);
        free(g->g[i].text);
    }
    memset(g, 0, sizeof *g);
}

/* Writes s (w columns) at column *col; when it starts with a space (a new
 * word) and would pass the terminal's width, on a new line indented by
 * indent instead, without that space. */
static void put_fitted(const ll_term *t, const char *s, size_t len, int w, int *col, int indent) {
    if (len && s[0] == ' ' && *col > indent && *col + w > t->width - 1) {
        fprintf(t->f, "\n%*s", indent, "");
        *col = indent;
        while (len && s[0] == ' ') s++, len--, w--;
    }
    fwrite(s, 1, len, t->f);
    *col += w;
}

/* The decoded text of tokens[from, to), escaped, wrapped between tokens. */
static void put_tokens(const ll_term *t, const ll_tokenizer *tok, const int32_t *ids, size_t from, size_t to, int *col,
                       int indent) {
    for (size_t i = from; i < to; i++) {
        char b[256], *esc = NULL;
        size_t len = ll_token_to_bytes(tok, ids[i], false, b, sizeof b), esc_len = 0;
        FILE *m = open_memstream(&esc, &esc_len);
        if (!m) continue;
        ll_term_put_text(m, b, len < sizeof b ? len : sizeof b);
        fclose(m);
        if (esc) put_fitted(t, esc, esc_len, ll_term_columns(esc, esc_len), col, indent);
        free(esc);
    }
}

void ll_compare_print_generate(const ll_compare_gen *g, const ll_term *t, const ll_tokenizer *tok) {
    FILE *f = t->f;
    const char *mark = t->utf8 ? "\u2502" : "|";
    char head[200];
    if (g->first_divergence < 0)
        snprintf(head, sizeof head, "continuations (same seed): every profile generates the same tokens");
    else
        snprintf(head, sizeof head, "continuations (same seed); %s marks the first token where they differ (token %ld):",
                 mark, g->first_divergence + 1);
    fputc('\n', f);
    ll_term_wrap(t, head, 2);
    enum { INDENT = 16 }; /* under the text: "    llama.cpp  " and a word's leading space */
    for (size_t i = 0; i < g->n; i++) {
        const ll_cmp_gen *x = &g->g[i];
        fprintf(f, "    %-10s ", ll_profile_name(x->profile));
        if (!x->ok) {
            ll_term_color(t, LL_C_BAD);
            ll_term_put_text(f, x->error, strlen(x->error));
            ll_term_color(t, LL_C_RESET);
            fputc('\n', f);
            continue;
        }
        int col = INDENT - 1;
        size_t d = g->first_divergence < 0 ? x->n_tokens : (size_t)g->first_divergence;
        if (d > x->n_tokens) d = x->n_tokens;
        put_tokens(t, tok, x->tokens, 0, d, &col, INDENT);
        if (g->first_divergence >= 0) {
            ll_term_color(t, LL_C_ACCENT);
            put_fitted(t, mark, strlen(mark), 1, &col, INDENT);
            put_tokens(t, tok, x->tokens, d, x->n_tokens, &col, INDENT);
            ll_term_color(t, LL_C_RESET);
        }
        char tail[160];
        int n = snprintf(tail, sizeof tail, "  [%zu tokens, %s", x->n_tokens, ll_stop_reason_name(x->reason));
        for (size_t j = 0; j < i && n > 0 && (size_t)n < sizeof tail; j++)
            if (g->g[j].ok && ll_compare_gen_pair(g, j, i) < 0) {
                n += snprintf(tail + n, sizeof tail - (size_t)n, "; the same as %s", ll_profile_name(g->g[j].profile));
                break;
            }
        if (n > 0 && (size_t)n < sizeof tail - 1) {
            tail[n++] = ']';
            tail[n] = '\0';
        }
        put_fitted(t, tail, strlen(tail), ll_term_columns(tail, strlen(tail)), &col, INDENT);
        fputc('\n', f);
    }
}
