/*
 * meta.c - the browser playground's side of `logitlab serve`: its files
 * (web/, embedded by cmake/playground.cmake) and GET /playground.json, the
 * metadata the page builds its controls from. Everything the page shows
 * about parameters, stages, profiles and lessons is read here from the
 * tables the CLI and the tour read, so a new parameter row or lesson
 * appears in the page without a line of JavaScript.
 */
#define _POSIX_C_SOURCE 200809L
#include "meta.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../explain/lessons.h"
#include "../explain/sources.h"
#include "../sampling/tables.h"

/* The page is tied to the binary: the browser may keep a copy but asks
 * each time whether it is current (the ETag answers with a 304). */
#define CACHE "no-cache"
/* Nothing from elsewhere: no CDN, no inline script, requests only to this server. */
#define CSP                                                                                                            \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "              \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
};

static const char *type_of(const char *path) {
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t k = strlen(types[i].ext);
        if (n >= k && !strcmp(path + n - k, types[i].ext)) return types[i].type;
    }
    return "application/octet-stream";
}

static const srv_web_file *find_file(const char *path) {
    if (!strcmp(path, "/")) path = "/index.html";
    for (size_t i = 0; i < srv_web_n_files; i++)
        if (!strcmp(srv_web_files[i].path, path)) return &srv_web_files[i];
    return NULL;
}

bool srv_page_exists(const char *path) { return !strcmp(path, SRV_PAGE_META_PATH) || find_file(path) != NULL; }

/* FNV-1a: an ETag only has to change when the bytes do. */
static void etag_of(const char *s, size_t n, char out[24]) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

bool srv_page_get(const char *path, const char *if_none_match, ll_profile default_profile, srv_page_answer *a) {
    memset(a, 0, sizeof *a);
    a->cache = CACHE;
    if (!strcmp(path, SRV_PAGE_META_PATH)) {
        a->owned = srv_page_meta(default_profile, &a->len);
        if (!a->owned) return false;
        a->body = a->owned;
        a->type = "application/json";
    } else {
        const srv_web_file *f = find_file(path);
        a->body = (const char *)f->data;
        a->len = *f->size;
        a->type = type_of(f->path);
        if (!strcmp(f->path, "/index.html")) a->csp = CSP;
    }
    etag_of(a->body, a->len, a->etag);
    a->status = if_none_match && strstr(if_none_match, a->etag) ? 304 : 200;
    return true;
}

/* ---- the metadata ---- */

/* A parameter value as its row's type holds it: an integer, the float's
 * shortest decimal (0.8f is 0.8, not 0.800000011920929), a double, or null
 * for an unbounded end. */
static json_t *value(int param, double v) {
    if (isnan(v) || isinf(v)) return json_null();
    switch (ll_param_rows[param].type) {
    case LL_PT_INT:
    case LL_PT_SEED:
        return json_integer((json_int_t)v);
    case LL_PT_FLOAT: {
        float f = (float)v;
        char b[32];
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(b, sizeof b, "%.*g", prec, (double)f);
            if ((float)strtod(b, NULL) == f) break;
        }
        return json_real(strtod(b, NULL));
    }
    default:
        return json_real(v);
    }
}

static const char *type_name(ll_param_type t) {
    static const char *const names[] = {[LL_PT_INT] = "int",
                                        [LL_PT_FLOAT] = "float",
                                        [LL_PT_DOUBLE] = "double",
                                        [LL_PT_SEED] = "seed",
                                        [LL_PT_OTHER] = "other"};
    return names[t];
}

/* The profile's valid range for a parameter: its own where it differs
 * from the row, else the row's; a seed starts at the profile's smallest
 * (as the tour's {range:...} reads it). */
static void param_range(const ll_profile_row *pr, int param, double *lo, double *hi) {
    *lo = ll_param_rows[param].lo;
    *hi = ll_param_rows[param].hi;
    if (ll_param_rows[param].type == LL_PT_SEED && param == LL_P_SEED) *lo = (double)pr->seed_min;
    for (size_t k = 0; k < LL_ARRAY_LEN(pr->ranges) && pr->ranges[k].param >= 0; k++)
        if (pr->ranges[k].param == param) *lo = pr->ranges[k].lo, *hi = pr->ranges[k].hi;
}

/* The lesson about a parameter (its stage or seed lesson), or NULL. */
static const ll_lesson *lesson_of(int param) {
    for (size_t i = 0; i < ll_n_lessons; i++) {
        const ll_lesson *L = &ll_lessons[i];
        if ((L->kind == LL_LESSON_STAGE || L->kind == LL_LESSON_SEED) && (L->param == param || L->param2 == param))
            return L;
    }
    return NULL;
}

static json_t *stage_list(const int *list, size_t cap) {
    json_t *a = json_array();
    for (size_t i = 0; i < cap && list[i] >= 0; i++) json_array_append_new(a, json_string(ll_stage_rows[list[i]].name));
    return a;
}

static json_t *pair(json_t *lo, json_t *hi) {
    json_t *a = json_array();
    json_array_append_new(a, lo);
    json_array_append_new(a, hi);
    return a;
}

static json_t *param_json(const ll_profile_row *pr, int i) {
    const ll_param_row *row = &ll_param_rows[i];
    json_t *o = json_object();
    double lo, hi;
    param_range(pr, i, &lo, &hi);
    json_object_set_new(o, "name", json_string(row->name));
    json_object_set_new(o, "type", json_string(type_name(row->type)));
    json_object_set_new(o, "flag", json_string(ll_param_flag(i)));
    json_object_set_new(o, "help", json_string(row->help));
    json_object_set_new(o, "stage", row->stage >= 0 ? json_string(ll_stage_rows[row->stage].name) : json_null());
    json_object_set_new(o, "default", value(i, pr->defaults[i]));
    json_object_set_new(o, "default_off", json_boolean(ll_param_is_off(i, pr->defaults[i])));
    /* null ends: the row leaves the range to its stage, which names it in its error */
    json_object_set_new(o, "valid", pair(value(i, lo), value(i, hi)));
    if (row->needs >= 0) {
        json_object_set_new(o, "needs", json_string(ll_param_rows[row->needs].name));
        json_object_set_new(o, "needs_text", json_string(row->needs_text));
    }
    /* a slider's extent: the range the tour's lesson on it demonstrates,
     * within the profile's valid range */
    const ll_lesson *L = lesson_of(i);
    if (L)
        json_object_set_new(o, "slider",
                            pair(value(i, fmax(ll_lesson_lo(L), lo)), value(i, fmin(ll_lesson_hi(L), hi))));
    return o;
}

static json_t *profile_json(const ll_profile_row *pr) {
    json_t *o = json_object(), *params = json_array();
    json_object_set_new(o, "name", json_string(pr->name));
    json_object_set_new(o, "aliases", json_string(pr->aliases));
    json_object_set_new(o, "framework", json_string(pr->framework));
    json_object_set_new(o, "front", stage_list(pr->front, LL_ARRAY_LEN(pr->front)));
    json_object_set_new(o, "order", stage_list(pr->order, LL_ARRAY_LEN(pr->order)));
    json_object_set_new(o, "greedy", json_string(pr->greedy_text));
    json_object_set_new(o, "length", json_string(pr->length_text));
    /* what the profile has, less what needs a parameter it lacks */
    for (int i = 0; i < LL_P_N_SCALAR; i++) {
        int needs = ll_param_rows[i].needs;
        if (!(pr->lacks >> i & 1) && !(needs >= 0 && pr->lacks >> needs & 1))
            json_array_append_new(params, param_json(pr, i));
    }
    json_object_set_new(o, "params", params);
    /* the switch of the greedy rule (HF decodes greedily without it) */
    const ll_param_row *ds = &ll_param_rows[LL_P_DO_SAMPLE];
    json_t *sw = json_object();
    json_object_set_new(sw, "name", json_string(ds->name));
    json_object_set_new(sw, "help", json_string(ds->help));
    json_object_set_new(sw, "default", json_boolean(pr->do_sample_default));
    json_object_set_new(o, "switch", sw);
    return o;
}

static json_t *stage_json(const ll_stage_row *st) {
    json_t *o = json_object(), *params = json_array();
    json_object_set_new(o, "name", json_string(st->name));
    json_object_set_new(o, "aliases", json_string(st->aliases ? st->aliases : ""));
    json_object_set_new(o, "hf_class", st->hf_class ? json_string(st->hf_class) : json_null());
    json_object_set_new(o, "llamacpp", st->llamacpp ? json_string(st->llamacpp) : json_null());
    json_object_set_new(o, "processor", json_boolean(st->processor));
    for (size_t k = 0; k < LL_ARRAY_LEN(st->params) && st->params[k] >= 0; k++)
        json_array_append_new(params, json_string(ll_param_rows[st->params[k]].name));
    json_object_set_new(o, "params", params);
    return o;
}

/* A lesson text with its placeholders filled from the tables, as the tour prints it. */
static json_t *expanded(const ll_lesson *L, const char *text) {
    size_t n = ll_lesson_expand(L, text, NULL, 0);
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    ll_lesson_expand(L, text, buf, n + 1);
    json_t *s = json_stringn(buf, n);
    free(buf);
    return s;
}

static json_t *lesson_json(const ll_lesson *L) {
    json_t *o = json_object(), *params = json_array(), *sources = json_array();
    const char *stage = ll_lesson_stage(L);
    json_object_set_new(o, "id", json_string(ll_lesson_id(L)));
    json_object_set_new(o, "title", json_string(ll_lesson_title(L)));
    json_object_set_new(o, "stage", L->kind == LL_LESSON_STAGE && stage ? json_string(stage) : json_null());
    int ps[2] = {L->param, L->param2};
    for (int k = 0; k < 2; k++)
        if (ps[k] >= 0) json_array_append_new(params, json_string(ll_param_rows[ps[k]].name));
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "concept", expanded(L, L->concept));
    for (size_t k = 0; k < LL_ARRAY_LEN(L->sources) && L->sources[k]; k++) {
        const ll_source_snippet *s = ll_explain_source(L->sources[k]);
        if (!s) continue; /* the build checks every name of sources.list; none is missing */
        json_t *src = json_object();
        json_object_set_new(src, "function", json_string(s->function));
        json_object_set_new(src, "path", json_string(s->path));
        json_object_set_new(src, "line", json_integer((json_int_t)s->first_line));
        json_object_set_new(src, "text", json_string(s->text));
        json_array_append_new(sources, src);
    }
    json_object_set_new(o, "sources", sources);
    return o;
}

char *srv_page_meta(ll_profile default_profile, size_t *len) {
    json_t *o = json_object(), *profiles = json_array(), *stages = json_array(), *lessons = json_array();
    json_object_set_new(o, "default_profile", json_string(ll_profile_name(default_profile)));
    json_object_set_new(o, "trace_top_max", json_integer(LL_TRACE_MAX_TOP));
    for (int p = 0; p < LL_PROFILE_COUNT; p++) json_array_append_new(profiles, profile_json(&ll_profile_rows[p]));
    for (int s = 0; s < LL_ST_COUNT; s++) json_array_append_new(stages, stage_json(&ll_stage_rows[s]));
    for (size_t i = 0; i < ll_n_lessons; i++) json_array_append_new(lessons, lesson_json(&ll_lessons[i]));
    json_object_set_new(o, "profiles", profiles);
    json_object_set_new(o, "stages", stages);
    json_object_set_new(o, "lessons", lessons);
    /* 15 digits: a double default (0.95) prints as written */
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (s) *len = strlen(s);
    return s;
}
