/*
 * file.h - opening a file named from outside (a model, a tokenizer, a
 * logits file): read-only, never blocking, regular files only, mapped (or
 * read) whole. Every reader of a path goes through here so that a FIFO,
 * a directory or a device is one clear error, not a hang or a 2^63-byte
 * allocation.
 */
#ifndef LL_FILE_H
#define LL_FILE_H

#include "internal.h"

typedef struct {
    const uint8_t *data; /* the file's bytes (a valid pointer even when size is 0) */
    size_t size;
    void *map; /* mmap'ed region, or NULL */
    size_t map_size;
    void *owned; /* malloc'ed copy where mmap is unavailable, or NULL */
} ll_file;

/* Opens path and maps it whole. Fails (LL_ERR_IO, naming the path) when it
 * cannot be opened, is not a regular file (a directory, FIFO, socket or
 * device: named as such), or is larger than max_size bytes (0 = no limit).
 * On failure *f is left empty, and ll_file_close on it is harmless. */
ll_status ll_file_map(ll_file *f, const char *path, uint64_t max_size, ll_error *err);
/* Lets go of the resident pages wholly inside [p, p + n) of f's mapping
 * (bytes copied elsewhere and no longer read in bulk); a later read maps
 * them in again. Nothing happens outside the mapping or without one. */
void ll_file_forget(const ll_file *f, const void *p, size_t n);
/* Releases what ll_file_map took; leaves *f empty. */
void ll_file_close(ll_file *f);

#endif /* LL_FILE_H */
