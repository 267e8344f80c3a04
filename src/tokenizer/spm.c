/*
 * spm.c - SentencePiece-style BPE as llama.cpp and llama2.c run it: start
 * from single UTF-8 characters, repeatedly merge the adjacent pair whose
 * concatenation is the vocabulary piece with the highest score (ties: the
 * leftmost pair), then map each piece to its id, falling back to one byte
 * token per byte for characters not in the vocabulary.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"

typedef struct {
    int prev, next;
    const char *text;
    size_t n;
} symbol;

typedef struct {
    int left, right;
    float score;
    size_t size; /* combined length when queued: stale entries are skipped */
} bigram;

typedef struct {
    bigram *a;
    size_t n, cap;
} heap;

/* max-heap by score, then by the leftmost position */
static bool better(const bigram *x, const bigram *y) {
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static void heap_push(heap *h, bigram b) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        bigram *a = realloc(h->a, cap * sizeof *a);
        if (!a) return;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    h->a[i] = b;
    while (i > 0 && better(&h->a[i], &h->a[(i - 1) / 2])) {
        bigram t = h->a[i];
        h->a[i] = h->a[(i - 1) / 2];
        h->a[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static bigram heap_pop(heap *h) {
    bigram top = h->a[0];
    h->a[0] = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && better(&h->a[l], &h->a[m])) m = l;
        if (r < h->n && better(&h->a[r], &h->a[m])) m = r;
        if (m == i) break;
        bigram t = h->a[i];
        h->a[i] = h->a[m];
        h->a[m] = t;
        i = m;
    }
    return top;
}

static void try_pair(const ll_tokenizer *t, const symbol *sym, int left, int right, heap *h) {
    if (left < 0 || right < 0) return;
    size_t n = sym[left].n + sym[right].n;
    int32_t id = ll_vocab_lookup(t, sym[left].text, n); /* the two are adjacent in the text */
    if (id < 0) return;
    bigram b = {left, right, t->score[id], n};
    heap_push(h, b);
}

void ll_spm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out) {
    if (len == 0) return;
    symbol *sym = malloc(len * sizeof *sym);
    if (!sym) {
        out->oom = true;
        return;
    }
    int n = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = (uint8_t)text[i];
        size_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        if (l > len - i) l = len - i;
        sym[n].text = text + i;
        sym[n].n = l;
        sym[n].prev = n - 1;
        sym[n].next = i + l < len ? n + 1 : -1;
        n++;
        i += l;
    }
    heap h = {0};
    for (int i = 1; i < n; i++) try_pair(t, sym, i - 1, i, &h);
    while (h.n > 0) {
        bigram b = heap_pop(&h);
        symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = b.left;
        try_pair(t, sym, l->prev, b.left, &h);
        try_pair(t, sym, b.left, l->next, &h);
    }
    free(h.a);
    for (int i = 0; i >= 0 && i < n; i = sym[i].next) {
        int32_t id = ll_vocab_lookup(t, sym[i].text, sym[i].n);
        if (id >= 0) {
            ll_ids_push(out, id);
            continue;
        }
        /* finish_vocab refuses a SentencePiece vocabulary that lacks a byte
         * token and has no unknown token: where byte_id is -1, unk is a token */
        for (size_t k = 0; k < sym[i].n; k++) {
            int32_t b = t->byte_id[(uint8_t)sym[i].text[k]];
            ll_ids_push(out, b >= 0 ? b : t->unk);
        }
    }
    free(sym);
}
