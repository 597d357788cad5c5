/* arena.h - one bump allocator per run; freed as a whole, never per tensor.
 *
 *   ls_arena *a = ls_arena_new(1 << 20);
 *   float *x = ls_arena_alloc(a, 100 * sizeof(float));   // 64-byte aligned, zeroed
 *   ...
 *   ls_arena_free(a);                                     // everything at once
 *
 * The arena owns every block it hands out.  Allocation returns NULL on
 * overflow or when the system is out of memory; callers turn that into
 * LS_ERR_NOMEM with a message.
 */
#ifndef LAYERSTEP_ARENA_H
#define LAYERSTEP_ARENA_H

#include <stddef.h>

typedef struct ls_arena ls_arena;

/* chunk_size: size of each underlying block; larger requests get their own. */
ls_arena *ls_arena_new(size_t chunk_size);
void ls_arena_free(ls_arena *a);
/* Forget every allocation but keep the first chunk for reuse. */
void ls_arena_reset(ls_arena *a);
/* 64-byte aligned and zero-filled; NULL on failure or bytes overflow. */
void *ls_arena_alloc(ls_arena *a, size_t bytes);
/* Copies a NUL-terminated string into the arena. */
char *ls_arena_strdup(ls_arena *a, const char *s);
/* Bytes handed out so far (what a memory estimate compares against). */
size_t ls_arena_used(const ls_arena *a);
/* Refuse (NULL) any allocation that would take the bytes handed out past
 * max_bytes; 0 = no limit.  For things sized by a file or a config before
 * anyone has seen the total (seeded random weights). */
void ls_arena_set_limit(ls_arena *a, size_t max_bytes);

#endif
