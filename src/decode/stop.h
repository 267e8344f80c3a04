/*
 * stop.h - stop strings on the decoded text of one sequence (internal).
 *
 * Text arrives token by token. A stop string may span token boundaries,
 * so the whole text is searched from just before the newest bytes; while
 * streaming, any tail that could still grow into a stop string is held
 * back, so a partial match never leaks. The returned text excludes the
 * stop string, as the OpenAI API does.
 */
#ifndef LL_STOP_H
#define LL_STOP_H

#include "../core/internal.h"

typedef struct {
    const char *const *stop;
    size_t n_stop, max_len;
    char *text;
    size_t len, cap;
    size_t emitted; /* bytes already handed to the stream */
    bool stopped;
} ll_stopper;

void ll_stopper_init(ll_stopper *s, const char *const *stop, size_t n_stop);
void ll_stopper_free(ll_stopper *s);
/* Appends decoded bytes; returns true when a stop string completed (the
 * text is then cut where it began). */
bool ll_stopper_push(ll_stopper *s, const char *bytes, size_t n, bool *oom);
/* Text that is final and not yet emitted: [*start, *start + *n). With
 * `final` nothing is held back. Marks it emitted. */
void ll_stopper_take(ll_stopper *s, bool final, size_t *start, size_t *n);

#endif /* LL_STOP_H */
