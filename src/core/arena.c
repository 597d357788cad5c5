#include "layerstep/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A chain of chunks; a request larger than the chunk size gets a chunk of
 * its own so big tensors never waste a half-used block. */
typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    unsigned char *mem;  /* 64-byte aligned */
} chunk;

struct ls_arena {
    chunk *head;
    size_t chunk_size;
    size_t used;
    size_t limit;  /* 0: none */
};

#define ALIGN 64

static chunk *chunk_new(size_t cap)
{
    chunk *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    if (posix_memalign((void **)&c->mem, ALIGN, cap ? cap : ALIGN) != 0) {
        free(c);
        return NULL;
    }
    c->cap = cap;
    c->used = 0;
    c->next = NULL;
    return c;
}

ls_arena *ls_arena_new(size_t chunk_size)
{
    ls_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->chunk_size = chunk_size < 4096 ? 4096 : chunk_size;
    return a;
}

void ls_arena_free(ls_arena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        free(c->mem);
        free(c);
    }
    free(a);
}

void ls_arena_reset(ls_arena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        free(c->mem);
        free(c);
    }
    a->head = NULL;
    a->used = 0;
}

void *ls_arena_alloc(ls_arena *a, size_t bytes)
{
    if (!a || bytes > SIZE_MAX - ALIGN)
        return NULL;
    size_t need = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0)
        need = ALIGN;
    if (a->limit && (need > a->limit || a->used > a->limit - need))
        return NULL;
    chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > a->chunk_size ? need : a->chunk_size;
        chunk *n = chunk_new(cap);
        if (!n)
            return NULL;
        if (need > a->chunk_size && c) {
            /* keep the partly used head in front for small requests */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->mem + c->used;
    c->used += need;
    a->used += need;
    memset(p, 0, need);
    return p;
}

char *ls_arena_strdup(ls_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ls_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

size_t ls_arena_used(const ls_arena *a) { return a ? a->used : 0; }

void ls_arena_set_limit(ls_arena *a, size_t max_bytes)
{
    if (a)
        a->limit = max_bytes;
}
