/*
 * trace.h - recording what each stage of a chain did (internal side of the
 * public ll_trace).
 */
#ifndef LL_TRACE_H
#define LL_TRACE_H

#include "candidates.h"

/* Starts a new record (one chain application). */
ll_status ll_trace_begin(ll_trace *t, size_t n_vocab, size_t n_stages, ll_error *err);
/* Snapshot before a stage runs. */
void ll_trace_before(ll_trace *t, const ll_candidates *c);
/* Snapshot after it ran; closes the stage record. */
void ll_trace_after(ll_trace *t, const ll_candidates *c, const char *desc);

#endif /* LL_TRACE_H */
