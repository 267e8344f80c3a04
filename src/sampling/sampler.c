/*
 * sampler.c - the sampler object: one ops table (apply, accept, reset,
 * free) plus state, whether built in or supplied by the user.
 */
#include "sampler_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ll_sampler *ll_sampler_make(const ll_sampler_ops *ops, void *state, ll_error *err,
                            const char *desc_fmt, ...) {
    ll_sampler *s = ll_calloc(1, sizeof *s, err);
    if (!s) {
        if (ops->free_state) ops->free_state(state);
        else free(state);
        return NULL;
    }
    s->ops = *ops;
    /* built-in states are plain allocations unless they say otherwise */
    if (!s->ops.free_state) s->ops.free_state = free;
    s->state = state;
    va_list ap;
    va_start(ap, desc_fmt);
    vsnprintf(s->desc, sizeof s->desc, desc_fmt, ap);
    va_end(ap);
    return s;
}

ll_sampler *ll_sampler_custom_new(const ll_sampler_ops *ops, void *state, ll_error *err) {
    if (!ops || !ops->name || !ops->apply) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "custom sampler needs ops with a name and an apply function");
        return NULL;
    }
    ll_sampler *s = ll_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->ops = *ops;
    s->state = state;
    snprintf(s->desc, sizeof s->desc, "%s", ops->name);
    return s;
}

void ll_sampler_free(ll_sampler *s) {
    if (!s) return;
    if (s->ops.free_state) s->ops.free_state(s->state);
    free(s);
}

const char *ll_sampler_name(const ll_sampler *s) { return s->ops.name; }
const char *ll_sampler_describe(const ll_sampler *s) { return s->desc; }
unsigned ll_sampler_flags(const ll_sampler *s) { return s->ops.flags; }

static ll_status noop_apply(void *state, ll_candidates *c, const ll_history *h, ll_error *err) {
    (void)state;
    (void)c;
    (void)h;
    (void)err;
    return LL_OK;
}

static void noop_free(void *state) { (void)state; }

ll_sampler *ll_sampler_noop_new(const char *name, const char *desc, ll_error *err) {
    ll_sampler_ops ops = {name, LL_SAMPLER_NOOP, noop_apply, NULL, NULL, noop_free};
    return ll_sampler_make(&ops, NULL, err, "?%s", desc);
}

ll_status ll_check_finite(const char *name, double v, ll_error *err) {
    if (isfinite(v)) return LL_OK;
    char v_s[32];
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is not a finite number", name, ll_format_double(v_s, v));
}

ll_status ll_check_range(const char *name, double v, double lo, bool lo_open, double hi, bool hi_open,
                         ll_error *err) {
    bool ok = !isnan(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return LL_OK;
    char lo_s[32], hi_s[32], v_s[32];
    ll_format_double(lo_s, lo);
    ll_format_double(hi_s, hi);
    ll_format_double(v_s, v);
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %s is out of range: valid is %s%s, %s%s", name, v_s,
                   lo_open ? "(" : "[", lo_s, hi_s, hi_open ? ")" : "]");
}

double ll_cand_entropy(const ll_candidates *c) {
    double h = 0.0;
    for (size_t i = 0; i < c->size; i++) {
        double p = ll_candidates_prob(c, i);
        if (p > 0.0) h -= p * log(p);
    }
    return h;
}
