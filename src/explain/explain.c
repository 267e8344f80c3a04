/*
 * explain.c - the lessons' live parts: the model's next-token distribution
 * for the current prompt, each stage's effect read from the chain's trace
 * (the same numbers `logitlab inspect` prints), the arithmetic stepped
 * through on those numbers, and short generations at a few values.
 */
#include "explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../sampling/tables.h"
#include "compare.h"
#include "explain_impl.h"
#include "lessons.h"
#include "sources.h"

#define DEFAULT_PROMPT "And God said"
#define DEMO_SEED 42
#define GEN_TOKENS 24

const ll_source_snippet *ll_explain_source(const char *function) {
    for (size_t i = 0; i < ll_explain_n_sources; i++)
        if (!strcmp(ll_explain_sources[i].function, function)) return &ll_explain_sources[i];
    return NULL;
}

size_t ll_explain_n_lessons(void) { return ll_n_lessons; }
const char *ll_explain_lesson_id(size_t i) { return i < ll_n_lessons ? ll_lesson_id(&ll_lessons[i]) : NULL; }
const char *ll_explain_lesson_title(size_t i) { return i < ll_n_lessons ? ll_lesson_title(&ll_lessons[i]) : NULL; }

int ll_explain_find(const char *name) {
    if (!name || !*name) return -1;
    char *end;
    long n = strtol(name, &end, 10);
    if (!*end) return n >= 1 && (size_t)n <= ll_n_lessons ? (int)n - 1 : -1;
    int found = -1;
    size_t len = strlen(name);
    for (size_t i = 0; i < ll_n_lessons; i++) {
        const char *id = ll_lesson_id(&ll_lessons[i]);
        if (!strcmp(id, name)) return (int)i;
        if (!strncmp(id, name, len)) found = found == -1 ? (int)i : -2; /* -2: ambiguous */
    }
    /* the names users type for the same thing, from the tables: the
     * parameter's name and flags, its stage's aliases, HF class and
     * llama.cpp name ("temp", "--top-k", "TopPLogitsWarper"); the first
     * lesson they name (repetition_penalty before frequency_presence for
     * "penalties") */
    if (found == -1)
        for (size_t i = 0; i < ll_n_lessons; i++)
            if (ll_lesson_named(&ll_lessons[i], name)) return (int)i;
    return found;
}

/* ---- the session ---- */

/* Ctrl-C stops a long prompt in the middle of the forward pass, not after it. */
static bool explain_should_stop(void *user) {
    const ll_explain *e = user;
    return e->interrupt && *e->interrupt;
}

ll_explain *ll_explain_new(const ll_model *m, const ll_explain_options *o, ll_error *err) {
    ll_explain *e = ll_calloc(1, sizeof *e, err);
    if (!e) return NULL;
    e->model = m;
    e->tok = ll_model_get_tokenizer(m);
    if (!e->tok) {
        free(e);
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the model has no tokenizer: the tour needs text");
        return NULL;
    }
    e->V = ll_model_get_info(m)->n_vocab;
    e->n_ctx = ll_model_get_info(m)->n_ctx_train;
    if (e->n_ctx == 0 || e->n_ctx > 2048) e->n_ctx = 2048;
    e->ctx = ll_context_new(m, e->n_ctx, o->threads > 0 ? o->threads : ll_model_default_threads(m), err);
    e->logits = ll_malloc(e->V * sizeof(float), err);
    if (!e->ctx || !e->logits) {
        ll_explain_free(e);
        return NULL;
    }
    ll_term_detect(&e->term, o->out);
    if (o->width > 0) e->term.width = o->width < 40 ? 40 : o->width;
    if (o->color >= 0) e->term.color = o->color != 0;
    e->in = o->in;
    e->interrupt = o->interrupt;
    ll_context_set_abort(e->ctx, explain_should_stop, e);
    /* how the printed commands name the model: nothing for the embedded one */
    int nf = 0;
    if (o->model_path) nf = snprintf(e->model_flags, sizeof e->model_flags, " -m %s", o->model_path);
    if (o->tokenizer_path && nf >= 0 && (size_t)nf < sizeof e->model_flags)
        snprintf(e->model_flags + nf, sizeof e->model_flags - (size_t)nf, " --tokenizer %s", o->tokenizer_path);
    e->current = -1;
    if (ll_explain_set_prompt(e, o->prompt ? o->prompt : DEFAULT_PROMPT, err) != LL_OK) {
        ll_explain_free(e);
        return NULL;
    }
    return e;
}

void ll_explain_free(ll_explain *e) {
    if (!e) return;
    ll_context_free(e->ctx);
    free(e->logits);
    free(e->ids);
    free(e);
}

ll_status ll_explain_set_prompt(ll_explain *e, const char *prompt, ll_error *err) {
    int32_t *ids;
    size_t n;
    if (!*prompt) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the prompt is empty");
    if (strlen(prompt) >= sizeof e->prompt)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the prompt is longer than %zu bytes", sizeof e->prompt - 1);
    ll_status st = ll_tokenize(e->tok, prompt, strlen(prompt), true, false, &ids, &n, err);
    if (st != LL_OK) return st;
    if (n + GEN_TOKENS * 2 >= e->n_ctx) {
        free(ids);
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "the prompt has %zu tokens; the model's context (%zu) needs room for the demos: shorten it", n,
                       e->n_ctx);
    }
    ll_context_rewind(e->ctx, 0, NULL);
    st = ll_context_decode(e->ctx, ids, n, e->logits, NULL, err);
    if (st != LL_OK) {
        free(ids);
        return st;
    }
    free(e->ids);
    e->ids = ids;
    e->n_ids = n;
    snprintf(e->prompt, sizeof e->prompt, "%s", prompt);
    return LL_OK;
}

/* ---- small helpers ---- */

/* cols 0: as long as the token needs (up to 40 columns) */
static void token_label(const ll_explain *e, int32_t id, int cols) {
    char buf[96];
    size_t len = ll_token_to_bytes(e->tok, id, true, buf, sizeof buf);
    if (len > sizeof buf) len = sizeof buf;
    if (cols == 0) {
        ll_term_token(&e->term, buf, len, -40);
        return;
    }
    ll_term_token(&e->term, buf, len, cols);
}

/* The k highest of V logits, highest first (a tie goes to the lower id);
 * returns min(k, V). */
static size_t top_by_logit(const float *l, size_t V, int32_t *top, size_t k) {
    size_t n = 0;
    for (size_t i = 0; i < V; i++) {
        if (n == k && l[i] <= l[top[k - 1]]) continue;
        size_t j = n < k ? n++ : k - 1;
        while (j > 0 && l[i] > l[top[j - 1]]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = (int32_t)i;
    }
    return n;
}

/* The softmax's normaliser in double: sum of exp(l - max); *mx gets max. */
static double softmax_sum(const float *l, size_t V, double *mx) {
    double m = -INFINITY, z = 0;
    for (size_t i = 0; i < V; i++) m = l[i] > m ? l[i] : m;
    for (size_t i = 0; i < V; i++) z += exp((double)l[i] - m);
    *mx = m;
    return z;
}

static int top_token(const ll_explain *e) {
    int32_t best;
    top_by_logit(e->logits, e->V, &best, 1);
    return best;
}

/* A value as the CLI takes it for parameter row `param`. */
static void value_text(int param, double v, char *buf, size_t cap) {
    if (ll_param_rows[param].type == LL_PT_INT || ll_param_rows[param].type == LL_PT_SEED)
        snprintf(buf, cap, "%lld", (long long)v);
    else snprintf(buf, cap, "%g", v);
}

static bool is_penalty(const ll_lesson *L) { return L->param >= 0 && ll_param_rows[L->param].stage == LL_ST_PENALTIES; }

/* Builds the single-stage chain of a STAGE lesson at value v, as `logitlab
 * inspect` builds it from the flags written to cmd (names and flags from
 * the parameter and stage rows). */
static void stage_params(const ll_explain *e, const ll_lesson *L, double v, ll_sampling_params *p,
                         ll_token_bias *bias, char *cmd, size_t cap) {
    ll_sampling_params_init(p, LL_PROFILE_LLAMACPP);
    p->seed = DEMO_SEED;
    char val[48];
    if (L->param == LL_P_LOGIT_BIAS) {
        /* logit_bias runs before the listed stages; temperature 1 is a no-op */
        p->samplers = ll_stage_rows[LL_ST_TEMPERATURE].name;
        p->temperature = 1.0f;
        bias->token = top_token(e);
        bias->bias = (float)v;
        p->logit_bias = bias;
        p->n_logit_bias = 1;
        snprintf(cmd, cap, "%s %s %s 1 %s %d=%g", ll_param_flag(LL_P_SAMPLERS), p->samplers,
                 ll_param_flag(LL_P_TEMPERATURE), ll_param_flag(LL_P_LOGIT_BIAS), bias->token, v);
        return;
    }
    p->samplers = ll_lesson_stage(L);
    size_t n = (size_t)snprintf(cmd, cap, "%s %s", ll_param_flag(LL_P_SAMPLERS), p->samplers);
    const int ps[2] = {L->param, L->param2};
    for (int i = 0; i < 2; i++) {
        if (ps[i] < 0 || ps[i] >= LL_P_N_SCALAR) continue;
        ll_param_put(p, ps[i], v);
        value_text(ps[i], v, val, sizeof val);
        if (n < cap) n += (size_t)snprintf(cmd + n, cap - n, " %s %s", ll_param_flag(ps[i]), val);
    }
}

/* What the library says about parameters it takes and then ignores or
 * changes (hf without do_sample is greedy whatever temperature says):
 * `sample`, `generate` and `inspect` print the same on stderr, the tour
 * under the demo that ran them. The seed is the tour's own, so the
 * llama.cpp "no seed given" note does not apply. */
static void show_warnings(ll_explain *e, const ll_sampling_params *p) {
    ll_sampling_params q = *p;
    if (q.seed < 0) q.seed = DEMO_SEED;
    char w[1024];
    ll_sampling_params_warnings(&q, w, sizeof w);
    if (w[0]) fputc('\n', e->term.f);
    for (char *line = w; *line;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        char text[1100];
        snprintf(text, sizeof text, "warning: %s", line);
        ll_term_color(&e->term, LL_C_BAD);
        ll_term_wrap(&e->term, text, 2);
        ll_term_color(&e->term, LL_C_RESET);
        if (!eol) break;
        line = eol + 1;
    }
}

/* The chain's trace on the current distribution; the prompt is the history. */
static ll_status run_trace(ll_explain *e, const ll_sampling_params *p, ll_trace **out, ll_error *err) {
    *out = NULL;
    ll_chain *ch = ll_chain_from_params(p, e->V, err);
    if (!ch) return err ? err->status : LL_ERR_INVALID_ARGUMENT;
    show_warnings(e, p);
    ll_trace *tr = ll_trace_new(LL_TRACE_MAX_TOP, err);
    ll_status st = tr ? ll_chain_set_prompt(ch, e->ids, e->n_ids, err) : LL_ERR_OUT_OF_MEMORY;
    if (st == LL_OK) {
        int32_t tok;
        ll_chain_set_trace(ch, tr);
        st = ll_chain_apply(ch, e->logits, e->V, &tok, err);
    }
    ll_chain_free(ch);
    if (st != LL_OK) {
        ll_trace_free(tr);
        return st;
    }
    *out = tr;
    return LL_OK;
}

static const ll_trace_stage *find_stage(const ll_trace *tr, const char *prefix) {
    for (size_t i = 0; i < ll_trace_n_stages(tr); i++) {
        const ll_trace_stage *s = ll_trace_stage_at(tr, i);
        if (!strncmp(s->name, prefix, strlen(prefix))) return s;
    }
    return NULL;
}

static const ll_trace_token *find_token(const ll_trace_token *list, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (list[i].id == id) return &list[i];
    return NULL;
}

size_t ll_explain_penalty_window(void) {
    return (size_t)ll_profile_rows[LL_PROFILE_LLAMACPP].defaults[LL_P_PENALTY_LAST_N];
}

/* occurrences in the penalties' window (the last ll_explain_penalty_window() prompt tokens) */
static size_t prompt_count(const ll_explain *e, int32_t id) {
    size_t win = ll_explain_penalty_window(), c = 0, w0 = e->n_ids > win ? e->n_ids - win : 0;
    for (size_t i = w0; i < e->n_ids; i++) c += e->ids[i] == id;
    return c;
}

/* ---- printing a stage: the bars before and after ---- */

enum { ROWS = 10 };

void ll_explain_print_stage(ll_explain *e, const ll_trace_stage *s, bool mark_history) {
    const ll_term *t = &e->term;
    FILE *f = t->f;
    int label = 14, bar = (t->width - 4 - label - 2 * 8 - 6) / 2;
    if (bar < 6) bar = 6;
    if (bar > 30) bar = 30;
    fprintf(f, "  %s: %zu -> %zu candidates, removed %.4f of the probability, entropy %.3f -> %.3f nats\n", s->name,
            s->n_before, s->n_after, s->mass_removed, s->entropy_before, s->entropy_after);
    ll_term_color(t, LL_C_DIM);
    fprintf(f, "     %-*s  %-*s  after\n", label, "token", bar + 7, "before");
    ll_term_color(t, LL_C_RESET);
    size_t rows = s->n_top < ROWS ? s->n_top : ROWS;
    for (size_t i = 0; i < rows; i++) {
        const ll_trace_token *b = &s->top_before[i];
        const ll_trace_token *a = find_token(s->top_after, s->n_top_after, b->id);
        bool known_cut = !a && s->n_after <= s->n_top_after;
        fprintf(f, "  %2zu ", i + 1);
        token_label(e, b->id, label);
        fprintf(f, "%c%.4f ", mark_history && prompt_count(e, b->id) ? '*' : ' ', b->p);
        ll_term_bar(t, b->p, bar);
        if (a) {
            ll_term_color(t, a->p > b->p ? LL_C_GOOD : a->p < b->p ? LL_C_ACCENT : LL_C_RESET);
            fprintf(f, "  %.4f ", a->p);
            ll_term_bar(t, a->p, bar);
            ll_term_color(t, LL_C_RESET);
        } else {
            ll_term_color(t, LL_C_BAD);
            fprintf(f, "  %s", known_cut ? "cut" : "(below the top 64)");
            ll_term_color(t, LL_C_RESET);
        }
        fputc('\n', f);
    }
    /* tokens that entered the top rows only after the stage (penalties reorder) */
    for (size_t i = 0; i < s->n_top_after && i < 3; i++) {
        const ll_trace_token *a = &s->top_after[i];
        bool shown = false;
        for (size_t j = 0; j < rows; j++) shown |= s->top_before[j].id == a->id;
        if (shown) continue;
        fprintf(f, "   + ");
        token_label(e, a->id, label);
        fprintf(f, " rose to #%zu after the stage: %.4f\n", i + 1, a->p);
    }
}

/* ---- source ---- */

static void print_source(ll_explain *e, const char *fn) {
    const ll_source_snippet *s = ll_explain_source(fn);
    const ll_term *t = &e->term;
    if (!s) return;
    fprintf(t->f, "\n  ");
    ll_term_color(t, LL_C_BOLD);
    fprintf(t->f, "%s()", s->function);
    ll_term_color(t, LL_C_RESET);
    fprintf(t->f, " - %s, line %zu (the code compiled into this binary):\n", s->path, s->def_line);
    size_t line = s->first_line;
    for (const char *p = s->text; *p; line++) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        ll_term_color(t, LL_C_DIM);
        fprintf(t->f, "  %4zu | ", line);
        ll_term_color(t, LL_C_CODE);
        fwrite(p, 1, len, t->f);
        ll_term_color(t, LL_C_RESET);
        fputc('\n', t->f);
        p += len + (eol ? 1 : 0);
    }
}

/* ---- generations ---- */

typedef struct {
    char label[128];
    char *text;
    double score;
    ll_stop_reason reason;
    size_t n_tokens;
} gen_out;

static ll_status generate(ll_explain *e, const ll_generate_params *g, gen_out *o, ll_error *err) {
    ll_lm lm;
    ll_lm_from_context(&lm, e->ctx);
    ll_generate_params q = *g;
    q.interrupt = e->interrupt;
    show_warnings(e, &q.sampling);
    ll_generate_result r;
    ll_status st = ll_generate(&lm, e->tok, e->ids, e->n_ids, &q, &r, err);
    if (st != LL_OK) return st;
    o->text = r.seqs[0].text;
    r.seqs[0].text = NULL;
    o->score = r.seqs[0].score;
    o->reason = r.seqs[0].reason;
    o->n_tokens = r.seqs[0].n_tokens;
    ll_generate_result_free(&r);
    return LL_OK;
}

/* Texts in columns when the terminal is wide enough, else one under another. */
static void print_columns(ll_explain *e, gen_out *g, size_t n) {
    const ll_term *t = &e->term;
    FILE *f = t->f;
    int gap = 3, col = (t->width - 2 - gap * (int)(n - 1)) / (int)n;
    if (col < 26) {
        for (size_t i = 0; i < n; i++) {
            ll_term_color(t, LL_C_BOLD);
            fprintf(f, "  %s", g[i].label);
            ll_term_color(t, LL_C_RESET);
            fprintf(f, "  [%s]\n", ll_stop_reason_name(g[i].reason));
            char *text = g[i].text ? g[i].text : "";
            char quoted[4096];
            snprintf(quoted, sizeof quoted, "%s%s", e->prompt, text);
            ll_term_wrap(t, quoted, 4);
        }
        return;
    }
    /* wrap each text into lines of col display columns */
    enum { MAXL = 40, LINE = 1024 };
    char (*lines)[MAXL][LINE] = malloc(4 * sizeof *lines);
    if (!lines) return;
    size_t nl[4] = {0};
    for (size_t i = 0; i < n && i < 4; i++) {
        char all[4096];
        snprintf(all, sizeof all, "%s%s", e->prompt, g[i].text ? g[i].text : "");
        const char *p = all;
        while (*p && nl[i] < MAXL) {
            const char *q = p, *cut = NULL, *brk = NULL;
            int cols = 0;
            while (*q && *q != '\n' && cols < col && q - p < LINE - 8) {
                if (*q == ' ') brk = q;
                if (((unsigned char)*q & 0xC0) != 0x80) cols++;
                q++;
            }
            while (*q && ((unsigned char)*q & 0xC0) == 0x80) q++; /* never split a character */
            cut = (*q && *q != '\n' && brk && brk > p) ? brk : q;
            size_t len = (size_t)(cut - p);
            memcpy(lines[i][nl[i]], p, len);
            lines[i][nl[i]++][len] = '\0';
            p = cut;
            if (*p == '\n' || *p == ' ') p++;
        }
    }
    fputs("  ", f);
    for (size_t i = 0; i < n; i++) {
        ll_term_color(t, LL_C_BOLD);
        char head[160];
        /* the stop reason only when it is not the length limit every column shares */
        if (g[i].reason == LL_STOP_LENGTH) snprintf(head, sizeof head, "%s", g[i].label);
        else snprintf(head, sizeof head, "%s [%s]", g[i].label, ll_stop_reason_name(g[i].reason));
        /* a header wider than its column is cut (labels are ASCII) */
        if ((int)strlen(head) > col) head[col > 0 ? col : 0] = '\0';
        fprintf(f, "%-*s", col + (i + 1 < n ? gap : 0), head);
        ll_term_color(t, LL_C_RESET);
    }
    fputc('\n', f);
    size_t maxl = 0;
    for (size_t i = 0; i < n; i++) maxl = nl[i] > maxl ? nl[i] : maxl;
    for (size_t l = 0; l < maxl; l++) {
        fputs("  ", f);
        for (size_t i = 0; i < n; i++) {
            const char *s = l < nl[i] ? lines[i][l] : "";
            fputs(s, f);
            if (i + 1 < n)
                for (int k = ll_term_columns(s, strlen(s)); k < col + gap; k++) fputc(' ', f);
        }
        fputc('\n', f);
    }
    free(lines);
}

static void free_gens(gen_out *g, size_t n) {
    for (size_t i = 0; i < n; i++) free(g[i].text);
}

/* A STAGE lesson's generation at value v: the lesson's stage then the
 * sampler (greedy for the penalties, so the loop they break is visible). */
static ll_status stage_generation(ll_explain *e, const ll_lesson *L, double v, gen_out *o, ll_error *err) {
    ll_generate_params g;
    ll_generate_params_init(&g, LL_PROFILE_LLAMACPP);
    ll_token_bias bias;
    char cmd[256];
    stage_params(e, L, v, &g.sampling, &bias, cmd, sizeof cmd);
    char samplers[64];
    if (is_penalty(L)) {
        snprintf(samplers, sizeof samplers, "%s,%s", ll_stage_rows[LL_ST_PENALTIES].name,
                 ll_stage_rows[LL_ST_TEMPERATURE].name);
        g.sampling.samplers = samplers;
        g.sampling.temperature = 0.0f;
    }
    g.max_new_tokens = GEN_TOKENS;
    snprintf(o->label, sizeof o->label, "%s = %g", ll_lesson_value_name(L), v);
    if (L->param == LL_P_LOGIT_BIAS) snprintf(o->label, sizeof o->label, "bias %g", v);
    return generate(e, &g, o, err);
}

/* ---- the demos ---- */

static void live_header(ll_explain *e) {
    const ll_term *t = &e->term;
    fprintf(t->f, "\n  ");
    ll_term_color(t, LL_C_BOLD);
    fputs("Live", t->f);
    ll_term_color(t, LL_C_RESET);
    /* the counts on a line of their own when the line would not fit */
    bool fits = 8 + 32 + ll_term_columns(e->prompt, strlen(e->prompt)) + 45 <= t->width;
    fprintf(t->f, ": the model's next token after \"%s\"%s(%zu prompt tokens, %zu in the vocabulary)\n", e->prompt,
            fits ? " " : "\n  ", e->n_ids, e->V);
}

/* The raw next-token distribution (no processors), for the lessons that
 * are not about one stage: the numbers every later step starts from. */
static void print_distribution(ll_explain *e) {
    const ll_term *t = &e->term;
    FILE *f = t->f;
    double mx, h = 0, z = softmax_sum(e->logits, e->V, &mx);
    for (size_t i = 0; i < e->V; i++) {
        double p = exp((double)e->logits[i] - mx) / z;
        if (p > 0) h -= p * log(p);
    }
    int32_t top[6];
    size_t n = top_by_logit(e->logits, e->V, top, 6);
    int bar = t->width - 40;
    if (bar > 40) bar = 40;
    if (bar < 8) bar = 8;
    fprintf(f, "  softmax of the raw logits (no processors), entropy %.3f nats:\n", h);
    for (size_t i = 0; i < n; i++) {
        double p = exp((double)e->logits[top[i]] - mx) / z;
        fprintf(f, "  %2zu ", i + 1);
        token_label(e, top[i], 14);
        fprintf(f, " %.4f ", p);
        ll_term_bar(t, p, bar);
        fputc('\n', f);
    }
}

/* A penalty only matters once the history repeats itself, which a short
 * prompt does not: so the penalties' demo also continues the prompt
 * greedily to the end of the line and shows the next token there, where
 * the tokens just written are the ones the model wants again. */
static ll_status penalties_after_greedy(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    ll_generate_params g;
    ll_generate_params_init(&g, LL_PROFILE_LLAMACPP);
    g.sampling.temperature = 0.0f;
    g.max_new_tokens = GEN_TOKENS;
    const char *stops[] = {"\n"};
    g.stop = stops;
    g.n_stop = 1;
    gen_out o;
    memset(&o, 0, sizeof o);
    ll_status st = generate(e, &g, &o, err);
    if (st != LL_OK) return st;
    char saved[sizeof e->prompt], longer[sizeof e->prompt];
    snprintf(saved, sizeof saved, "%s", e->prompt);
    int n = snprintf(longer, sizeof longer, "%s%s", e->prompt, o.text ? o.text : "");
    free(o.text);
    if (n < 0 || (size_t)n >= sizeof longer || !strcmp(longer, saved)) return LL_OK;
    if (ll_explain_set_prompt(e, longer, err) != LL_OK) { /* too long for the context: skip this part */
        ll_explain_set_prompt(e, saved, err);
        return LL_OK;
    }
    ll_sampling_params p;
    ll_token_bias bias;
    char cmd[256];
    stage_params(e, L, v, &p, &bias, cmd, sizeof cmd);
    ll_trace *tr = NULL;
    st = run_trace(e, &p, &tr, err);
    if (st == LL_OK) {
        FILE *f = e->term.f;
        fprintf(f, "\n  After the model continued greedily, the history repeats itself. The next token after\n  \"%s\":\n",
                e->prompt);
        const ll_trace_stage *s = find_stage(tr, ll_lesson_stage(L));
        if (s) ll_explain_print_stage(e, s, true);
        ll_term_color(&e->term, LL_C_DIM);
        fprintf(f, "  same numbers: logitlab inspect%s -p \"%s\" %s\n", e->model_flags, e->prompt, cmd);
        ll_term_color(&e->term, LL_C_RESET);
    }
    ll_trace_free(tr);
    ll_status back = ll_explain_set_prompt(e, saved, err);
    return st != LL_OK ? st : back;
}

static ll_status demo_stage(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    ll_sampling_params p;
    ll_token_bias bias;
    char cmd[256];
    stage_params(e, L, v, &p, &bias, cmd, sizeof cmd);
    ll_trace *tr;
    ll_status st = run_trace(e, &p, &tr, err);
    if (st != LL_OK) return st;
    live_header(e);
    const ll_trace_stage *s = find_stage(tr, ll_lesson_stage(L));
    if (s) {
        ll_explain_print_stage(e, s, is_penalty(L));
        if (is_penalty(L))
            fprintf(e->term.f, "  (* = the token is in the penalties' window: the last %zu prompt tokens)\n",
                    ll_explain_penalty_window());
    } else {
        fprintf(e->term.f, "  %s = %g changes nothing: the stage is off at this value.\n", ll_lesson_value_name(L), v);
    }
    ll_term_color(&e->term, LL_C_DIM);
    fprintf(e->term.f, "  same numbers: logitlab inspect%s -p \"%s\" %s\n", e->model_flags, e->prompt, cmd);
    ll_term_color(&e->term, LL_C_RESET);
    ll_trace_free(tr);
    if (is_penalty(L)) st = penalties_after_greedy(e, L, v, err);
    if (st != LL_OK) return st;
    /* side by side */
    fprintf(e->term.f, "\n  %d tokens at three values (seed %d%s):\n", GEN_TOKENS, DEMO_SEED,
            is_penalty(L) ? ", greedy" : "");
    gen_out g[3];
    memset(g, 0, sizeof g);
    for (size_t i = 0; i < 3 && st == LL_OK; i++) st = stage_generation(e, L, L->side[i], &g[i], err);
    if (st == LL_OK) print_columns(e, g, 3);
    free_gens(g, 3);
    return st;
}

static ll_status demo_loop(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    FILE *f = e->term.f;
    size_t steps = (size_t)v;
    fprintf(f, "  %zu steps by hand, greedy (the top token each time):\n", steps);
    float *logits = malloc(e->V * sizeof *logits);
    if (!logits) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(logits, e->logits, e->V * sizeof *logits);
    /* a generation may have left more than the prompt in the context */
    ll_context_rewind(e->ctx, 0, NULL);
    ll_status st = ll_context_decode(e->ctx, e->ids, e->n_ids, logits, NULL, err);
    char text[2048];
    snprintf(text, sizeof text, "%s", e->prompt);
    for (size_t k = 0; k < steps && st == LL_OK; k++) {
        double mx, z = softmax_sum(logits, e->V, &mx);
        int32_t top[3];
        top_by_logit(logits, e->V, top, 3);
        fprintf(f, "  step %zu: ", k + 1);
        for (int j = 0; j < 3; j++) {
            token_label(e, top[j], 0);
            fprintf(f, " logit %.2f p %.4f%s", logits[top[j]], exp((double)logits[top[j]] - mx) / z, j < 2 ? ",  " : "");
        }
        fprintf(f, "\n          -> picks ");
        ll_term_color(&e->term, LL_C_GOOD);
        token_label(e, top[0], 0);
        ll_term_color(&e->term, LL_C_RESET);
        char piece[64];
        size_t len = ll_token_to_bytes(e->tok, top[0], false, piece, sizeof piece - 1);
        piece[len < sizeof piece - 1 ? len : sizeof piece - 1] = '\0';
        size_t tl = strlen(text);
        snprintf(text + tl, sizeof text - tl, "%s", piece);
        /* the pieces are the model's: escaped like every token shown */
        fputs(", feeds it back: \"", f);
        ll_term_put_text(f, text, strlen(text));
        fputs("\"\n", f);
        st = ll_context_decode(e->ctx, &top[0], 1, logits, NULL, err);
    }
    free(logits);
    ll_context_rewind(e->ctx, e->n_ids, NULL);
    if (st != LL_OK) return st;
    fprintf(f, "\n  The same loop with the default llama.cpp chain and %d tokens (seed %d):\n", GEN_TOKENS, DEMO_SEED);
    ll_generate_params g;
    ll_generate_params_init(&g, LL_PROFILE_LLAMACPP);
    g.sampling.seed = DEMO_SEED;
    g.max_new_tokens = GEN_TOKENS;
    gen_out o;
    memset(&o, 0, sizeof o);
    snprintf(o.label, sizeof o.label, "llama.cpp defaults");
    st = generate(e, &g, &o, err);
    if (st == LL_OK) print_columns(e, &o, 1);
    free_gens(&o, 1);
    return st;
}

static ll_status demo_stop(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    int n = (int)v;
    gen_out g[3];
    memset(g, 0, sizeof g);
    ll_generate_params p;
    ll_status st;
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.temperature = 0.0f;
    p.max_new_tokens = n;
    snprintf(g[0].label, sizeof g[0].label, "max_new_tokens=%d", n);
    st = generate(e, &p, &g[0], err);
    ll_generate_params_init(&p, LL_PROFILE_HF);
    /* the same number as max_length: the prompt eats into it (at least one new token) */
    p.max_length = n > (int)e->n_ids ? n : (int)e->n_ids + 1;
    int max_length = p.max_length;
    snprintf(g[1].label, sizeof g[1].label, "max_length=%d", p.max_length);
    if (st == LL_OK) st = generate(e, &p, &g[1], err);
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.temperature = 0.0f;
    p.max_new_tokens = 200;
    const char *stops[] = {"\n"};
    p.stop = stops;
    p.n_stop = 1;
    snprintf(g[2].label, sizeof g[2].label, "stop=\"\\n\"");
    if (st == LL_OK) st = generate(e, &p, &g[2], err);
    if (st == LL_OK) {
        FILE *f = e->term.f;
        fprintf(f, "  greedy, three ways to stop:\n");
        fprintf(f, "  max_new_tokens=%d: %zu new tokens (stop reason: %s)\n", n, g[0].n_tokens,
                ll_stop_reason_name(g[0].reason));
        fprintf(f, "  max_length=%d: counts the %zu prompt tokens too, so %zu new tokens (%s)%s\n", max_length,
                e->n_ids, g[1].n_tokens, ll_stop_reason_name(g[1].reason),
                n > (int)e->n_ids ? "" : " - the prompt alone reaches the value, so it was raised to allow one");
        if (g[2].reason == LL_STOP_STRING)
            fprintf(f, "  stop=\"\\n\": %zu tokens until the end of the verse; the newline is not in the text\n",
                    g[2].n_tokens);
        else
            fprintf(f, "  stop=\"\\n\": no newline came; %zu tokens, stopped by %s\n", g[2].n_tokens,
                    ll_stop_reason_name(g[2].reason));
        print_columns(e, g, 3);
    }
    free_gens(g, 3);
    return st;
}

static ll_status demo_decode(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    gen_out g[3];
    memset(g, 0, sizeof g);
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.max_new_tokens = 16;
    /* a temperature without do_sample: HF decodes greedily and says nothing;
     * the library's warning (shown by generate()) says it */
    p.sampling.temperature = 0.7f;
    snprintf(g[0].label, sizeof g[0].label, "%s 0.7, no %s", ll_param_rows[LL_P_TEMPERATURE].name,
             ll_param_rows[LL_P_DO_SAMPLE].name);
    ll_status st = generate(e, &p, &g[0], err);
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.sampling.do_sample = 1;
    p.sampling.seed = DEMO_SEED;
    p.max_new_tokens = 16;
    snprintf(g[1].label, sizeof g[1].label, "sampling (seed %d)", DEMO_SEED);
    if (st == LL_OK) st = generate(e, &p, &g[1], err);
    ll_generate_params_init(&p, LL_PROFILE_HF);
    p.num_beams = (int32_t)v;
    p.max_new_tokens = 16;
    p.length_penalty = 1.0f;
    snprintf(g[2].label, sizeof g[2].label, "beam search, %d beams", (int)v);
    if (st == LL_OK) st = generate(e, &p, &g[2], err);
    if (st == LL_OK) {
        FILE *f = e->term.f;
        char text[300];
        snprintf(text, sizeof text,
                 "16 new tokens each (HF profile). Sum of processed log-probs / length: greedy %.4f, sampling %.4f, "
                 "beams %.4f (HF's beam score)",
                 g[0].score / (double)(g[0].n_tokens ? g[0].n_tokens : 1),
                 g[1].score / (double)(g[1].n_tokens ? g[1].n_tokens : 1), g[2].score);
        fputc('\n', f);
        ll_term_wrap(&e->term, text, 2);
        print_columns(e, g, 3);
    }
    free_gens(g, 3);
    return st;
}

static ll_status seed_run(ll_explain *e, uint32_t seed, gen_out *o, ll_error *err) {
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.seed = seed;
    p.sampling.temperature = 1.0f;
    p.max_new_tokens = GEN_TOKENS;
    snprintf(o->label, sizeof o->label, "seed %u", seed);
    return generate(e, &p, o, err);
}

static ll_status demo_seed(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    uint32_t seed = (uint32_t)v;
    ll_mt19937 r;
    ll_mt19937_seed(&r, seed);
    FILE *f = e->term.f;
    uint32_t r1 = ll_mt19937_next(&r), r2 = ll_mt19937_next(&r), r3 = ll_mt19937_next(&r);
    fprintf(f, "  mt19937 seeded with %u gives %u, %u, %u, ...\n", seed, r1, r2, r3);
    ll_mt19937_seed(&r, seed);
    double u = ll_mt19937_canonical_double(&r);
    fprintf(f, "  (the first draw as llama.cpp's dist sees it: generate_canonical<double> = %.9f)\n", u);
    gen_out g[3];
    memset(g, 0, sizeof g);
    ll_status st = seed_run(e, seed, &g[0], err);
    if (st == LL_OK) st = seed_run(e, seed, &g[1], err);
    if (st == LL_OK) st = seed_run(e, seed + 1, &g[2], err);
    if (st == LL_OK) {
        snprintf(g[1].label, sizeof g[1].label, "seed %u again", seed);
        fprintf(f, "  temperature 1, llama.cpp chain: the same seed twice gives %s text; seed %u differs.\n",
                strcmp(g[0].text, g[1].text) == 0 ? "the same" : "DIFFERENT (a bug!)", seed + 1);
        print_columns(e, g, 3);
    }
    free_gens(g, 3);
    return st;
}

static ll_status demo_order(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    ll_sampling_params hf, lc;
    ll_sampling_params_init(&hf, LL_PROFILE_HF);
    hf.do_sample = 1;
    hf.temperature = (float)v;
    hf.top_k = 40;
    hf.top_p = 0.9;
    hf.seed = DEMO_SEED;
    ll_sampling_params_init(&lc, LL_PROFILE_LLAMACPP);
    lc.temperature = (float)v;
    lc.top_k = 40;
    lc.top_p = 0.9;
    lc.min_p = 0.0;
    lc.seed = DEMO_SEED;
    /* llama.cpp's default order, of the three stages hf runs here */
    char lc_order[128];
    size_t lo = 0;
    lc_order[0] = '\0';
    const ll_profile_row *lcr = &ll_profile_rows[LL_PROFILE_LLAMACPP];
    for (size_t i = 0; i < LL_ARRAY_LEN(lcr->order) && lcr->order[i] >= 0 && lo < sizeof lc_order; i++) {
        int st = lcr->order[i];
        if (st == LL_ST_TOP_K || st == LL_ST_TOP_P || st == LL_ST_TEMPERATURE)
            lo += (size_t)snprintf(lc_order + lo, sizeof lc_order - lo, "%s%s", lo ? "," : "", ll_stage_rows[st].name);
    }
    lc.samplers = lc_order;
    ll_trace *a = NULL, *b = NULL;
    ll_status st = run_trace(e, &hf, &a, err);
    if (st == LL_OK) st = run_trace(e, &lc, &b, err);
    if (st == LL_OK) {
        FILE *f = e->term.f;
        const ll_trace *trs[2] = {a, b};
        const char *names[2] = {"Hugging Face:", "llama.cpp:   "};
        for (int k = 0; k < 2; k++) {
            /* the order as the trace ran it */
            fprintf(f, "\n  %s", names[k]);
            bool first = true;
            for (size_t i = 0; i < ll_trace_n_stages(trs[k]); i++) {
                const ll_trace_stage *s = ll_trace_stage_at(trs[k], i);
                if (s->selected >= 0 || s->name[0] == '?') continue;
                fprintf(f, "%s%.*s", first ? " " : " -> ", (int)strcspn(s->name, "("), s->name);
                first = false;
            }
            fputc('\n', f);
            for (size_t i = 0; i < ll_trace_n_stages(trs[k]); i++) {
                const ll_trace_stage *s = ll_trace_stage_at(trs[k], i);
                if (s->selected >= 0 || s->name[0] == '?') continue; /* '?': a stage that is off */
                fprintf(f, "    %-32s %5zu -> %-5zu entropy %.3f -> %.3f\n", s->name, s->n_before, s->n_after,
                        s->entropy_before, s->entropy_after);
            }
            const ll_trace_stage *last = NULL;
            for (size_t i = 0; i < ll_trace_n_stages(trs[k]); i++)
                if (ll_trace_stage_at(trs[k], i)->selected < 0) last = ll_trace_stage_at(trs[k], i);
            if (last) {
                fprintf(f, "    final: %zu tokens;", last->n_after);
                for (size_t j = 0; j < last->n_top_after && j < 4; j++) {
                    fputc(' ', f);
                    token_label(e, last->top_after[j].id, 0);
                    fprintf(f, " %.4f", last->top_after[j].p);
                }
                fputc('\n', f);
            }
        }
        ll_term_color(&e->term, LL_C_DIM);
        const char *T = ll_param_flag(LL_P_TEMPERATURE), *K = ll_param_flag(LL_P_TOP_K), *P = ll_param_flag(LL_P_TOP_P);
        fprintf(f, "  same numbers: logitlab inspect%s -p \"%s\" %s %s %s %s %g %s 40 %s 0.9\n"
                   "                and %s %s %s %g %s 40 %s 0.9 %s 0\n",
                e->model_flags, e->prompt, ll_param_flag(LL_P_PROFILE), ll_profile_name(LL_PROFILE_HF),
                ll_param_flag(LL_P_DO_SAMPLE), T, v, K, P, ll_param_flag(LL_P_SAMPLERS), lc_order, T, v, K, P,
                ll_param_flag(LL_P_MIN_P));
        ll_term_color(&e->term, LL_C_RESET);
    }
    ll_trace_free(a);
    ll_trace_free(b);
    return st;
}

/* The frameworks lesson's settings at temperature v, as `logitlab compare`
 * takes them from the flags print_frameworks_command writes. */
static void frameworks_params(double v, ll_sampling_params *p) {
    ll_sampling_params_init(p, LL_PROFILE_HF); /* the profile is each column's */
    p->do_sample = 1;
    p->temperature = (float)v;
    p->top_p = 0.9;
    p->seed = DEMO_SEED;
}

static const ll_profile every_profile[LL_PROFILE_COUNT] = {LL_PROFILE_HF, LL_PROFILE_LLAMACPP, LL_PROFILE_OPENAI,
                                                           LL_PROFILE_LLAMA2C};

static ll_status demo_frameworks(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    ll_sampling_params p;
    frameworks_params(v, &p);
    ll_compare c;
    ll_status st = ll_compare_run(&c, &p, every_profile, LL_PROFILE_COUNT, e->logits, e->V, e->ids, e->n_ids,
                                  e->n_ids, err);
    FILE *f = e->term.f;
    if (st == LL_OK) {
        char head[200];
        snprintf(head, sizeof head, "%s, %s %g, %s 0.9, %s %d - under every profile:", ll_param_rows[LL_P_DO_SAMPLE].name,
                 ll_param_rows[LL_P_TEMPERATURE].name, v, ll_param_rows[LL_P_TOP_P].name, ll_param_rows[LL_P_SEED].name,
                 DEMO_SEED);
        fputc('\n', f);
        ll_term_wrap(&e->term, head, 2);
        ll_compare_print(&c, &e->term, e->tok, 3);
        ll_term_color(&e->term, LL_C_DIM);
        fprintf(f, "  same numbers: logitlab compare%s -p \"%s\" %s %s %g %s 0.9 %s %d\n", e->model_flags, e->prompt,
                ll_param_flag(LL_P_DO_SAMPLE), ll_param_flag(LL_P_TEMPERATURE), v, ll_param_flag(LL_P_TOP_P),
                ll_param_flag(LL_P_SEED), DEMO_SEED);
        ll_term_color(&e->term, LL_C_RESET);
    }
    ll_compare_free(&c);
    if (st != LL_OK) return st;
    /* the loop under each: where the texts part */
    ll_lm lm;
    ll_lm_from_context(&lm, e->ctx);
    ll_compare_gen g;
    st = ll_compare_generate(&g, &lm, e->tok, e->ids, e->n_ids, &p, every_profile, LL_PROFILE_COUNT, GEN_TOKENS,
                             e->interrupt, err);
    if (st == LL_OK) {
        fprintf(f, "\n  %d tokens under each profile (seed %d, same settings):", GEN_TOKENS, DEMO_SEED);
        ll_compare_print_generate(&g, &e->term, e->tok);
    }
    ll_compare_gen_free(&g);
    return st;
}

/* The frameworks lesson, a step deeper: at each pair's first difference,
 * the two stages' numbers before and after, next to each other. */
static ll_status step_frameworks(ll_explain *e, double v, ll_error *err) {
    ll_sampling_params p;
    frameworks_params(v, &p);
    ll_compare c;
    ll_status st = ll_compare_run(&c, &p, every_profile, LL_PROFILE_COUNT, e->logits, e->V, e->ids, e->n_ids,
                                  e->n_ids, err);
    FILE *f = e->term.f;
    for (size_t i = 0; st == LL_OK && i < c.n_diffs; i++) {
        const ll_cmp_diff *d = &c.diffs[i];
        const ll_cmp_column *A = &c.cols[d->a], *B = &c.cols[d->b];
        fprintf(f, "\n  %s vs %s (%s):\n", ll_profile_name(A->profile), ll_profile_name(B->profile),
                ll_cmp_kind_name(d->kind));
        const ll_cmp_column *cols[2] = {A, B};
        size_t steps[2] = {d->step, d->step_b};
        for (int k = 0; k < 2; k++) {
            const ll_cmp_column *x = cols[k];
            if (steps[k] == 0 || steps[k] > x->n_active) continue;
            const ll_trace_stage *s = ll_trace_stage_at(x->trace, x->active[steps[k] - 1]);
            fprintf(f, "    %-10s step %zu, %s: %zu -> %zu candidates, removed %.4f\n", ll_profile_name(x->profile),
                    steps[k], s->name, s->n_before, s->n_after, s->mass_removed);
            fputs("               before:", f);
            for (size_t j = 0; j < s->n_top && j < 4; j++) {
                fputc(' ', f);
                token_label(e, s->top_before[j].id, 0);
                fprintf(f, " %.4f", s->top_before[j].p);
            }
            fputs("\n               after: ", f);
            if (s->selected >= 0) {
                fputs(" picks ", f);
                token_label(e, s->selected, 0);
            }
            for (size_t j = 0; s->selected < 0 && j < s->n_top_after && j < 4; j++) {
                fputc(' ', f);
                token_label(e, s->top_after[j].id, 0);
                fprintf(f, " %.4f", s->top_after[j].p);
            }
            fputc('\n', f);
        }
    }
    ll_compare_free(&c);
    return st;
}

static ll_status demo_combined(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    (void)L;
    ll_sampling_params p;
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.temperature = (float)v;
    p.repetition_penalty = 1.1f;
    p.seed = DEMO_SEED;
    ll_trace *tr = NULL;
    ll_status st = run_trace(e, &p, &tr, err);
    if (st != LL_OK) return st;
    FILE *f = e->term.f;
    fprintf(f, "  every stage of the chain on this distribution (the trace):\n");
    fprintf(f, "    %-40s %11s %9s %15s  top after\n", "stage", "candidates", "removed", "entropy");
    for (size_t i = 0; i < ll_trace_n_stages(tr); i++) {
        const ll_trace_stage *s = ll_trace_stage_at(tr, i);
        if (s->name[0] == '?') continue; /* a stage that is off */
        fprintf(f, "    %-40s %5zu->%-5zu %9.4f %6.3f->%-6.3f  ", s->name, s->n_before, s->n_after, s->mass_removed,
                s->entropy_before, s->entropy_after);
        if (s->selected >= 0) {
            fputs("picked ", f);
            token_label(e, s->selected, 0);
        } else if (s->n_top_after) {
            token_label(e, s->top_after[0].id, 0);
            fprintf(f, " %.4f", s->top_after[0].p);
        }
        fputc('\n', f);
    }
    ll_trace_free(tr);
    ll_term_color(&e->term, LL_C_DIM);
    fprintf(f, "  same numbers: logitlab inspect%s -p \"%s\" %s %g %s 1.1\n", e->model_flags, e->prompt,
            ll_param_flag(LL_P_TEMPERATURE), v, ll_param_flag(LL_P_REPETITION));
    ll_term_color(&e->term, LL_C_RESET);
    ll_generate_params g;
    ll_generate_params_init(&g, LL_PROFILE_LLAMACPP);
    g.sampling = p;
    g.max_new_tokens = 60;
    const char *stops[] = {"\n"};
    g.stop = stops;
    g.n_stop = 1;
    gen_out o;
    memset(&o, 0, sizeof o);
    snprintf(o.label, sizeof o.label, "temperature %g, repetition_penalty 1.1, stop \"\\n\", at most 60 tokens", v);
    st = generate(e, &g, &o, err);
    if (st == LL_OK) {
        fprintf(f, "\n  the loop: %zu tokens, stopped by %s\n", o.n_tokens, ll_stop_reason_name(o.reason));
        print_columns(e, &o, 1);
    }
    free_gens(&o, 1);
    return st;
}

ll_status ll_explain_demo(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    if (L->kind != LL_LESSON_STAGE) {
        live_header(e);
        print_distribution(e);
    }
    switch (L->kind) {
    case LL_LESSON_LOOP: return demo_loop(e, L, v, err);
    case LL_LESSON_STAGE: return demo_stage(e, L, v, err);
    case LL_LESSON_STOP: return demo_stop(e, L, v, err);
    case LL_LESSON_DECODE: return demo_decode(e, L, v, err);
    case LL_LESSON_SEED: return demo_seed(e, L, v, err);
    case LL_LESSON_ORDER: return demo_order(e, L, v, err);
    case LL_LESSON_COMBINED: return demo_combined(e, L, v, err);
    case LL_LESSON_COMPARE: return demo_frameworks(e, L, v, err);
    }
    return LL_OK;
}

ll_status ll_explain_check_value(const ll_lesson *L, double v, ll_error *err) {
    double lo = ll_lesson_lo(L), hi = ll_lesson_hi(L);
    if (!(v >= lo && v <= hi) || (L->integer && v != floor(v))) {
        if (L->integer)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "%s = %.17g is out of range for this lesson: valid is an integer in [%.0f, %.0f]",
                           ll_lesson_value_name(L), v, lo, hi);
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %g is out of range for this lesson: valid is [%g, %g]",
                       ll_lesson_value_name(L), v, lo, hi);
    }
    return LL_OK;
}

ll_status ll_explain_lesson(ll_explain *e, int lesson, const double *value, ll_error *err) {
    if (lesson < 0 || (size_t)lesson >= ll_n_lessons)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "no lesson %d", lesson + 1);
    const ll_lesson *L = &ll_lessons[lesson];
    double v = value ? *value : L->def;
    ll_status st = ll_explain_check_value(L, v, err);
    if (st != LL_OK) return st;
    e->current = lesson;
    e->value = v;
    char title[160];
    snprintf(title, sizeof title, "%zu/%zu  %s", (size_t)lesson + 1, ll_n_lessons, ll_lesson_title(L));
    ll_term_heading(&e->term, title);
    char concept[4096];
    ll_lesson_expand(L, L->concept, concept, sizeof concept);
    ll_term_wrap(&e->term, concept, 2);
    for (int i = 0; i < 3 && L->sources[i]; i++) print_source(e, L->sources[i]);
    st = ll_explain_demo(e, L, v, err);
    fflush(e->term.f);
    return st;
}

/* ---- deeper ---- */

ll_status ll_explain_more_values(ll_explain *e, ll_error *err) {
    if (e->current < 0) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "open a lesson first");
    const ll_lesson *L = &ll_lessons[e->current];
    FILE *f = e->term.f;
    char title[160];
    snprintf(title, sizeof title, "%s at more values", ll_lesson_title(L));
    ll_term_heading(&e->term, title);
    if (L->kind == LL_LESSON_STAGE) {
        fprintf(f, "  %-24s %11s %9s %9s  top token after\n", ll_lesson_value_name(L), "candidates", "removed",
                "entropy");
        for (int i = 0; i < 5; i++) {
            ll_sampling_params p;
            ll_token_bias bias;
            char cmd[256];
            stage_params(e, L, L->more[i], &p, &bias, cmd, sizeof cmd);
            ll_trace *tr;
            ll_status st = run_trace(e, &p, &tr, err);
            if (st != LL_OK) return st;
            const ll_trace_stage *s = find_stage(tr, ll_lesson_stage(L));
            fprintf(f, "  %-24g ", L->more[i]);
            if (s) {
                fprintf(f, "%5zu->%-5zu %9.4f %9.3f  ", s->n_before, s->n_after, s->mass_removed, s->entropy_after);
                if (s->n_top_after) {
                    token_label(e, s->top_after[0].id, 0);
                    fprintf(f, " %.4f", s->top_after[0].p);
                }
            } else {
                fputs("(off at this value)", f);
            }
            fputc('\n', f);
            ll_trace_free(tr);
        }
        fputc('\n', f);
        gen_out g[3];
        memset(g, 0, sizeof g);
        ll_status st = LL_OK;
        for (int i = 0; i < 3 && st == LL_OK; i++) st = stage_generation(e, L, L->more[i + 1], &g[i], err);
        if (st == LL_OK) print_columns(e, g, 3);
        free_gens(g, 3);
        return st;
    }
    /* the other lessons: their demo at each value */
    double keep = e->value;
    for (int i = 0; i < 5; i += 2) {
        ll_status st = ll_explain_check_value(L, L->more[i], err);
        if (st == LL_OK) {
            fprintf(f, "\n  %s = %g\n", ll_lesson_value_name(L), L->more[i]);
            st = ll_explain_demo(e, L, L->more[i], err);
        }
        if (st != LL_OK) return st;
    }
    e->value = keep;
    return LL_OK;
}

ll_status ll_explain_step(ll_explain *e, ll_error *err) {
    if (e->current < 0) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "open a lesson first");
    const ll_lesson *L = &ll_lessons[e->current];
    char title[160];
    snprintf(title, sizeof title, "%s: the code, step by step, on these numbers", ll_lesson_title(L));
    ll_term_heading(&e->term, title);
    if (L->kind == LL_LESSON_COMPARE) return step_frameworks(e, e->value, err);
    return ll_explain_step_through(e, L, e->value, err);
}
