/*
 * meta.h - the browser playground of `logitlab serve` (internal): the
 * page's files (web/, embedded at build time by cmake/playground.cmake)
 * and the metadata it reads, GET /playground.json: every parameter of
 * every profile with its range and default, the profiles' stage orders,
 * the stages and the tour's lessons with their C source. All of it comes
 * from the tables the CLI and the tour read (src/sampling/tables.c,
 * src/explain/lessons.c, the embedded sources), so the page spells no
 * parameter name or range of its own.
 */
#ifndef LL_SERVE_META_H
#define LL_SERVE_META_H

#include <stdbool.h>
#include <stddef.h>

#include "logitlab.h"

/* One embedded file (the generated web_files.c holds the table). */
typedef struct {
    const char *path; /* "/app.js" */
    const unsigned char *data;
    const size_t *size;
} srv_web_file;

extern const srv_web_file srv_web_files[];
extern const size_t srv_web_n_files;

#define SRV_PAGE_META_PATH "/playground.json"

/* An answer to GET path. */
typedef struct {
    unsigned status;   /* 200, or 304 when the client's copy is current */
    const char *type;  /* Content-Type */
    const char *cache; /* Cache-Control */
    const char *csp;   /* Content-Security-Policy (the HTML page), or NULL */
    char etag[24];     /* "\"...\"" */
    const char *body;
    size_t len;
    char *owned; /* the body when it was made for this answer: free() it */
} srv_page_answer;

/* Whether path is the playground's: "/", an embedded file or the metadata. */
bool srv_page_exists(const char *path);

/* Fills a for GET path (srv_page_exists(path) must hold); if_none_match is
 * the request's If-None-Match header or NULL. default_profile is what a
 * request without "profile" gets (--profile). false: out of memory. */
bool srv_page_get(const char *path, const char *if_none_match, ll_profile default_profile, srv_page_answer *a);

/* The metadata JSON (malloc'ed, *len set), NULL when out of memory. */
char *srv_page_meta(ll_profile default_profile, size_t *len);

#endif /* LL_SERVE_META_H */
