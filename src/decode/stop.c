/*
 * stop.c - incremental stop-string search with streaming hold-back.
 */
#include "stop.h"

#include <stdlib.h>
#include <string.h>

void ll_stopper_init(ll_stopper *s, const char *const *stop, size_t n_stop) {
    memset(s, 0, sizeof *s);
    s->stop = stop;
    s->n_stop = n_stop;
    for (size_t i = 0; i < n_stop; i++)
        if (strlen(stop[i]) > s->max_len) s->max_len = strlen(stop[i]);
}

void ll_stopper_free(ll_stopper *s) {
    free(s->text);
    s->text = NULL;
}

bool ll_stopper_push(ll_stopper *s, const char *bytes, size_t n, bool *oom) {
    if (s->stopped) return true;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n + 1) cap *= 2;
        char *t = realloc(s->text, cap);
        if (!t) {
            *oom = true;
            return false;
        }
        s->text = t;
        s->cap = cap;
    }
    size_t old = s->len;
    memcpy(s->text + s->len, bytes, n);
    s->len += n;
    s->text[s->len] = '\0';
    if (s->n_stop == 0 || n == 0) return false;
    /* a new occurrence must end inside the new bytes */
    size_t from = old + 1 > s->max_len ? old + 1 - s->max_len : 0;
    size_t best = (size_t)-1;
    for (size_t k = 0; k < s->n_stop; k++) {
        size_t m = strlen(s->stop[k]);
        if (m == 0) continue;
        for (size_t i = from; i + m <= s->len; i++)
            if (memcmp(s->text + i, s->stop[k], m) == 0) {
                if (i < best) best = i;
                break;
            }
    }
    if (best == (size_t)-1) return false;
    s->len = best;
    s->text[s->len] = '\0';
    if (s->emitted > s->len) s->emitted = s->len; /* cannot happen: the tail was held back */
    s->stopped = true;
    return true;
}

/* Length of the longest tail of the text that is a proper prefix of a
 * stop string. */
static size_t held_tail(const ll_stopper *s) {
    size_t best = 0;
    for (size_t k = 0; k < s->n_stop; k++) {
        size_t m = strlen(s->stop[k]);
        for (size_t l = m > 1 ? m - 1 : 0; l > best; l--)
            if (l <= s->len && memcmp(s->text + s->len - l, s->stop[k], l) == 0) {
                best = l;
                break;
            }
    }
    return best;
}

void ll_stopper_take(ll_stopper *s, bool final, size_t *start, size_t *n) {
    size_t end = s->len;
    if (!final && !s->stopped) end -= held_tail(s);
    if (end < s->emitted) end = s->emitted;
    *start = s->emitted;
    *n = end - s->emitted;
    s->emitted = end;
}
