/*
 * sources.h - the functions the explain tour shows, copied from the source
 * tree at build time (cmake/srcembed.c, src/explain/sources.list).
 */
#ifndef LL_EXPLAIN_SOURCES_H
#define LL_EXPLAIN_SOURCES_H

#include <stddef.h>

typedef struct {
    const char *function, *path;
    size_t first_line; /* of the text (a leading comment included) */
    size_t def_line;   /* of the definition */
    const char *text;
} ll_source_snippet;

extern const ll_source_snippet ll_explain_sources[];
extern const size_t ll_explain_n_sources;

const ll_source_snippet *ll_explain_source(const char *function);

#endif /* LL_EXPLAIN_SOURCES_H */
