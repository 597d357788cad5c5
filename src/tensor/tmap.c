#include "layerstep/tmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A block the map owns: malloc'ed (map_len 0) or a file mapping. */
typedef struct owned_block {
    void *p;
    size_t map_len;
} owned_block;

struct ls_tmap {
    char *source;
    int n, cap;
    char **names;
    ls_tensor *t;
    ls_arena *arena;
    owned_block *blocks;
    int n_blocks, cap_blocks;
};

ls_tmap *ls_tmap_new(const char *source)
{
    ls_tmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->source = strdup(source ? source : "");
    m->arena = ls_arena_new(1 << 20);
    if (!m->source || !m->arena) {
        ls_tmap_free(m);
        return NULL;
    }
    return m;
}

void ls_tmap_free(ls_tmap *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        free(m->names[i]);
    for (int i = 0; i < m->n_blocks; i++) {
        if (m->blocks[i].map_len)
            munmap(m->blocks[i].p, m->blocks[i].map_len);
        else
            free(m->blocks[i].p);
    }
    free(m->blocks);
    free(m->names);
    free(m->t);
    free(m->source);
    ls_arena_free(m->arena);
    free(m);
}

const char *ls_tmap_source(const ls_tmap *m) { return m->source; }
ls_arena *ls_tmap_arena(ls_tmap *m) { return m->arena; }

static int find(const ls_tmap *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0)
            return i;
    return -1;
}

int ls_tmap_put_ref(ls_tmap *m, const char *name, const ls_tensor *t, ls_error *err)
{
    int i = find(m, name);
    if (i >= 0) {
        m->t[i] = *t;
        return LS_OK;
    }
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 64;
        char **nn = realloc(m->names, (size_t)cap * sizeof *nn);
        if (!nn)
            return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", m->source);
        m->names = nn;
        ls_tensor *nt = realloc(m->t, (size_t)cap * sizeof *nt);
        if (!nt)
            return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", m->source);
        m->t = nt;
        m->cap = cap;
    }
    m->names[m->n] = strdup(name);
    if (!m->names[m->n])
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", m->source);
    m->t[m->n++] = *t;
    return LS_OK;
}

int ls_tmap_put(ls_tmap *m, const char *name, const ls_tensor *t, ls_error *err)
{
    ls_tensor c;
    int rc = ls_tensor_contiguous(m->arena, t, &c, err);
    if (rc)
        return ls_error_prefix(err, "%s: tensor '%s'", m->source, name);
    return ls_tmap_put_ref(m, name, &c, err);
}

static void adopt(ls_tmap *m, void *block, size_t map_len)
{
    if (m->n_blocks == m->cap_blocks) {
        int cap = m->cap_blocks ? m->cap_blocks * 2 : 4;
        owned_block *nb = realloc(m->blocks, (size_t)cap * sizeof *nb);
        if (!nb) {
            /* cannot record it: better leak-proof than dangling, so free
             * later is impossible; keep the map usable by not freeing */
            return;
        }
        m->blocks = nb;
        m->cap_blocks = cap;
    }
    m->blocks[m->n_blocks++] = (owned_block){block, map_len};
}

void ls_tmap_adopt(ls_tmap *m, void *block) { adopt(m, block, 0); }

void ls_tmap_adopt_map(ls_tmap *m, void *addr, size_t len) { adopt(m, addr, len); }

const ls_tensor *ls_tmap_get(const ls_tmap *m, const char *name)
{
    int i = m ? find(m, name) : -1;
    return i >= 0 ? &m->t[i] : NULL;
}

int ls_tmap_count(const ls_tmap *m) { return m ? m->n : 0; }
const char *ls_tmap_name(const ls_tmap *m, int i) { return m->names[i]; }
const ls_tensor *ls_tmap_at(const ls_tmap *m, int i) { return &m->t[i]; }

int ls_tmap_expect(const ls_tmap *m, const char *name, ls_dtype dt, int ndim,
                   const int64_t *shape, const ls_tensor **out, ls_error *err)
{
    const ls_tensor *t = ls_tmap_get(m, name);
    if (!t)
        return ls_error_set(err, LS_ERR_MISSING, "%s: missing tensor '%s'", m ? m->source : "?",
                            name);
    if (t->dtype != dt)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected %s",
                            m->source, name, ls_dtype_name(t->dtype), ls_dtype_name(dt));
    if (ndim >= 0) {
        ls_tensor want = ls_tensor_make(dt, ndim, shape, NULL);
        if (!ls_tensor_same_shape(t, &want)) {
            char a[96], b[96];
            return ls_error_set(err, LS_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s",
                                m->source, name, ls_shape_str(t, a, sizeof a),
                                ls_shape_str(&want, b, sizeof b));
        }
    }
    if (out)
        *out = t;
    return LS_OK;
}
