/*
 * file.c - opening untrusted paths (see file.h). The open never blocks
 * (O_NONBLOCK: a FIFO with no writer would otherwise wait forever), and
 * the type is checked on the descriptor itself (fstat), so nothing can be
 * swapped between the check and the read.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise's MADV_DONTNEED (posix_madvise's is a no-op on Linux) */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define LL_HAVE_MMAP 1
#endif

#ifdef LL_HAVE_MMAP
static const char *kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}
#endif

ll_status ll_file_map(ll_file *f, const char *path_raw, uint64_t max_size, ll_error *err) {
    memset(f, 0, sizeof *f);
    /* the path as messages show it: bounded, so the reason is never cut off */
    char path[LL_QUOTE_MAX];
    ll_quote(path, path_raw, strlen(path_raw));
    f->data = (const uint8_t *)"";
#ifdef LL_HAVE_MMAP
    int fd = open(path_raw, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    ll_status st = LL_OK;
    if (fstat(fd, &sb) != 0) st = ll_fail(err, LL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = ll_fail(err, LL_ERR_IO, "%s is %s, not a regular file", path, kind_of(sb.st_mode));
    else if (sb.st_size < 0 || (uint64_t)sb.st_size > (uint64_t)SIZE_MAX ||
             (max_size && (uint64_t)sb.st_size > max_size))
        st = ll_fail(err, LL_ERR_IO, "%s has %lld bytes (valid: at most %llu)", path, (long long)sb.st_size,
                     (unsigned long long)(max_size ? max_size : (uint64_t)SIZE_MAX));
    else if (sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) st = ll_fail(err, LL_ERR_IO, "cannot map %s: %s", path, strerror(errno));
        else {
            f->map = m;
            f->map_size = (size_t)sb.st_size;
            f->data = m;
            f->size = (size_t)sb.st_size;
        }
    }
    close(fd);
    return st;
#else
    FILE *fp = fopen(path_raw, "rb");
    if (!fp) return ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    ll_status st = LL_OK;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (max_size && n > max_size) {
            st = ll_fail(err, LL_ERR_IO, "%s is larger than %llu bytes", path, (unsigned long long)max_size);
            break;
        }
        if (got == 0) {
            if (ferror(fp)) st = ll_fail(err, LL_ERR_IO, "cannot read %s", path);
            break;
        }
    }
    fclose(fp);
    if (st != LL_OK) {
        free(buf);
        return st;
    }
    f->owned = buf;
    f->data = buf ? buf : (const uint8_t *)"";
    f->size = n;
    return LL_OK;
#endif
}

void ll_file_close(ll_file *f) {
#ifdef LL_HAVE_MMAP
    if (f->map) munmap(f->map, f->map_size);
#endif
    free(f->owned);
    memset(f, 0, sizeof *f);
    f->data = (const uint8_t *)"";
}

void ll_file_forget(const ll_file *f, const void *p, size_t n) {
#ifdef LL_HAVE_MMAP
    const uint8_t *lo = p, *base = f->map;
    if (!base || lo < base || n > f->map_size || (size_t)(lo - base) > f->map_size - n) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)lo + page - 1) & ~(page - 1), e = ((uintptr_t)lo + n) & ~(page - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_DONTNEED); /* only advice: on failure the pages stay */
#else
    (void)f;
    (void)p;
    (void)n;
#endif
}

/* Big arrays get their own anonymous mapping, its start aligned to a huge
 * page so that transparent huge pages can back it (on kernels that give
 * them only where asked, as Debian's default "madvise" does): a 4 KiB page
 * holds 64 cache lines, so a stream through tens of MiB of weights or KV
 * cache otherwise costs a TLB miss (a page walk) every 64 lines. */
#if defined(LL_HAVE_MMAP) && defined(MADV_HUGEPAGE)
#define LL_HUGE_PAGE ((size_t)2 << 20)

/* whether n bytes get their own mapping (room left to align it) */
static bool own_mapping(size_t n) { return n >= LL_HUGE_PAGE && n <= SIZE_MAX - 2 * LL_HUGE_PAGE; }
#endif

void *ll_pages_alloc(size_t n, ll_error *err) {
#if defined(LL_HAVE_MMAP) && defined(MADV_HUGEPAGE)
    if (own_mapping(n)) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE); /* the tail unmapped below starts on a page */
        size_t len = (n + page - 1) & ~(page - 1), span = len + LL_HUGE_PAGE;
        uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED) {
            ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory mapping %zu bytes", n);
            return NULL;
        }
        uint8_t *p = (uint8_t *)(((uintptr_t)raw + LL_HUGE_PAGE - 1) & ~(uintptr_t)(LL_HUGE_PAGE - 1));
        size_t head = (size_t)(p - raw), tail = span - head - len;
        if (head) munmap(raw, head);
        if (tail) munmap(p + len, tail);
        (void)madvise(p, len, MADV_HUGEPAGE); /* only advice: without it the pages are 4 KiB */
        return p;
    }
#endif
    return ll_calloc(n, 1, err); /* a size of 0 allocates a byte */
}

void ll_pages_free(void *p, size_t n) {
    if (!p) return;
#if defined(LL_HAVE_MMAP) && defined(MADV_HUGEPAGE)
    if (own_mapping(n)) {
        munmap(p, n);
        return;
    }
#endif
    free(p);
}
