#include "layerstep/exec.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/kernels.h"

/* A uint8 .npy is read as a mask: "bool" alone puzzled its writer. */
#define BOOL_HINT " (bool: a '|b1' or uint8 '|u1' .npy is read as a mask)"

#define MAX_HOOKS 8

struct ls_exec {
    const ls_graph *g;
    int n;
    ls_tensor *out;          /* per node: its output (views point into storage) */
    unsigned char *computed;
    unsigned char *pinned;
    int *storage;            /* node whose buffer a view reads */
    ls_arena *arena;
    int cursor;
    bool paused;
    ls_hook hooks[MAX_HOOKS];
    int n_hooks;
    ls_op_ctx ctx;           /* its pool is owned here, its packs unless shared */
    bool own_packs;
    bool reuse;              /* opts.reuse_buffers */
    int *last_use;           /* reuse: last node reading each storage node, or n (kept) */
};

static bool is_leaf(const ls_exec *ex, int i)
{
    return ls_op_kind_of(ls_graph_node(ex->g, i)->op) == LS_KIND_LEAF;
}

/* reuse_buffers: the same walk as the kept layout, but a buffer goes back
 * to a free list after the last node that reads it (through any view),
 * and the next output that fits takes it (best fit).  The plan is fixed
 * here, so a run still never allocates.  Outputs no node reads (the
 * results) are never given back.
 *
 *   node i: take a buffer for out[i]  ->  release buffers whose last use is i
 *   (taking first, so an output never shares memory with its inputs)  */
typedef struct free_buf {
    void *p;
    size_t bytes;
    int owner;               /* the storage node that gave it back */
} free_buf;

/* What ls_arena_alloc hands out for `bytes` (64-byte aligned, never 0). */
static size_t arena_bytes(size_t bytes)
{
    return bytes ? (bytes + 63) & ~(size_t)63 : 64;
}

/* The reuse plan, walked once: with `alloc` the buffers are taken from
 * the arena; without it (ls_exec_plan_bytes) only their bytes are added
 * up in *bytes, through the same decisions. */
static int plan_walk(ls_exec *ex, const char *keep, bool alloc, size_t *bytes, ls_error *err)
{
    const int n = ex->n;
    free_buf *fl = malloc((size_t)(n ? n : 1) * sizeof *fl);
    unsigned char *read = calloc((size_t)(n ? n : 1), 1);
    size_t *cap = calloc((size_t)(n ? n : 1), sizeof *cap); /* bytes of the buffer node i holds */
    int n_free = 0, rc = LS_OK;
    if (!fl || !read || !cap) {
        free(fl);
        free(read);
        free(cap);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory creating the executor");
    }
    for (int i = 0; i < n; i++) {
        const ls_node *nd = ls_graph_node(ex->g, i);
        ex->storage[i] = ls_op_kind_of(nd->op) == LS_KIND_VIEW ? ex->storage[nd->in[0]] : i;
        ex->last_use[i] = -1;
        for (int j = 0; j < nd->n_in; j++) {
            ex->last_use[ex->storage[nd->in[j]]] = i;
            read[nd->in[j]] = 1;
        }
    }
    /* a result (read by no node) keeps its storage, also when it is a
     * view of another node's buffer ("greedy_decoder" is an alias) */
    for (int i = 0; i < n; i++)
        if (!read[i] && ls_op_kind_of(ls_graph_node(ex->g, i)->op) == LS_KIND_VIEW)
            ex->last_use[ex->storage[i]] = n;
    free(read);
    for (int i = 0; i < n; i++) {
        const ls_node *nd = ls_graph_node(ex->g, i);
        ls_op_kind k = ls_op_kind_of(nd->op);
        if (ex->last_use[i] < 0 || k == LS_KIND_LEAF)
            ex->last_use[i] = n; /* leaves and results stay */
        /* a kept point keeps the storage it reads (its own, or a view's base) */
        if (keep && nd->name && ls_glob_match(keep, nd->name))
            ex->last_use[ex->storage[i]] = n;
        if (nd->op == LS_OP_CONST) {
            ex->out[i] = nd->out;
            ex->computed[i] = 1;
        } else if (k == LS_KIND_VIEW) {
            ex->out[i] = nd->out;
        } else {
            ls_tensor t = ls_tensor_make(nd->out.dtype, nd->out.ndim, nd->out.shape, NULL);
            size_t need = ls_tensor_nbytes(&t);
            int best = -1;
            for (int f = 0; f < n_free; f++)
                if (fl[f].bytes >= need && (best < 0 || fl[f].bytes < fl[best].bytes))
                    best = f;
            if (best >= 0 && need > 0 && nd->op != LS_OP_INPUT) { /* inputs are set before a run */
                /* the whole buffer goes back later, not just what this
                 * output uses of it, or a big buffer would shrink on
                 * every reuse */
                t.data = fl[best].p;
                cap[i] = fl[best].bytes;
                fl[best] = fl[--n_free];
                ex->out[i] = t;
            } else if (!alloc) {
                ex->out[i] = t;
                cap[i] = need;
                *bytes += arena_bytes(need);
            } else if ((rc = ls_tensor_alloc(ex->arena, nd->out.dtype, nd->out.ndim,
                                             nd->out.shape, &ex->out[i], err))) {
                ls_error_prefix(err, "allocating '%s'", nd->name);
                break;
            } else {
                cap[i] = need;
            }
            if (nd->op == LS_OP_INPUT)
                ex->computed[i] = 1;
        }
        /* storage whose last reader is i goes back to the free list */
        for (int j = 0; j < nd->n_in; j++) {
            int s = ex->storage[nd->in[j]];
            const ls_node *sn = ls_graph_node(ex->g, s);
            if (ex->last_use[s] != i || ls_op_kind_of(sn->op) != LS_KIND_COMPUTE)
                continue;
            bool dup = false; /* the same storage read twice by node i */
            for (int f = 0; f < n_free; f++)
                dup |= fl[f].owner == s;
            if (!dup && cap[s] > 0)
                fl[n_free++] = (free_buf){ex->out[s].data, cap[s], s};
        }
    }
    free(fl);
    free(cap);
    return rc;
}

static int plan_reuse(ls_exec *ex, const char *keep, ls_exec **out, ls_error *err)
{
    ex->last_use = malloc((size_t)(ex->n ? ex->n : 1) * sizeof *ex->last_use);
    int rc = ex->last_use ? plan_walk(ex, keep, true, NULL, err)
                          : ls_error_set(err, LS_ERR_NOMEM, "out of memory creating the executor");
    if (rc) {
        ls_exec_free(ex);
        return rc;
    }
    *out = ex;
    return LS_OK;
}

size_t ls_exec_plan_bytes(const ls_graph *g, const ls_exec_opts *opts)
{
    size_t sum = 0;
    int n = ls_graph_n_nodes(g);
    if (!opts || !opts->reuse_buffers) {
        for (int i = 0; i < n; i++) {
            const ls_node *nd = ls_graph_node(g, i);
            if (ls_op_kind_of(nd->op) == LS_KIND_COMPUTE || nd->op == LS_OP_INPUT)
                sum += arena_bytes(ls_tensor_nbytes(&nd->out));
        }
        return sum;
    }
    size_t m = (size_t)(n ? n : 1);
    ls_exec ex = {.g = g, .n = n, .out = calloc(m, sizeof *ex.out), .computed = calloc(m, 1),
                  .storage = calloc(m, sizeof *ex.storage), .last_use = calloc(m, sizeof *ex.last_use)};
    if (!ex.out || !ex.computed || !ex.storage || !ex.last_use ||
        plan_walk(&ex, opts->keep, false, &sum, NULL))
        sum = SIZE_MAX; /* cannot tell: as if too big */
    free(ex.out);
    free(ex.computed);
    free(ex.storage);
    free(ex.last_use);
    return sum;
}

/* The GEMM packs each constant weight of a matmul, linear or convolution
 * once into its panel layout and keeps the copy (kernels.h): about the
 * weight's size again, its rows padded to a whole panel (32 at most).
 * Counted once per weight however many nodes read it. */
size_t ls_exec_pack_bytes(const ls_graph *g, const ls_exec_opts *opts)
{
    if (opts && opts->reference)
        return 0;
    int n = ls_graph_n_nodes(g);
    unsigned char *seen = calloc((size_t)(n ? n : 1), 1);
    if (!seen)
        return SIZE_MAX;
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        const ls_node *nd = ls_graph_node(g, i);
        if (nd->op != LS_OP_MATMUL && nd->op != LS_OP_LINEAR && nd->op != LS_OP_CONV1D &&
            nd->op != LS_OP_CONV2D)
            continue;
        for (int j = 0; j < nd->n_in && j < 2; j++) {
            int s = nd->in[j];
            /* a transposed or reshaped weight is still the weight */
            while (ls_op_kind_of(ls_graph_node(g, s)->op) == LS_KIND_VIEW &&
                   ls_graph_node(g, s)->n_in > 0)
                s = ls_graph_node(g, s)->in[0];
            const ls_node *sn = ls_graph_node(g, s);
            if (sn->op != LS_OP_CONST || seen[s])
                continue;
            seen[s] = 1;
            const ls_tensor *t = &sn->out;
            int64_t rows = t->ndim > 0 ? t->shape[0] : 1;
            int64_t per_row = rows > 0 ? ls_tensor_numel(t) / rows : 0;
            size_t padded = (size_t)((rows + 31) / 32 * 32) * (size_t)per_row *
                            ls_dtype_size(t->dtype);
            sum = padded > SIZE_MAX - sum ? SIZE_MAX : sum + padded;
        }
    }
    free(seen);
    return sum;
}

size_t ls_exec_bytes(const ls_exec *ex) { return ls_arena_used(ex->arena); }

int ls_exec_new(const ls_graph *g, const ls_exec_opts *opts, ls_exec **out, ls_error *err)
{
    *out = NULL;
    if (!ls_graph_ok(g))
        return ls_error_set(err, ls_graph_error(g)->code, "%s", ls_graph_error(g)->msg);
    ls_exec *ex = calloc(1, sizeof *ex);
    if (!ex)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory creating the executor");
    ex->g = g;
    ex->n = ls_graph_n_nodes(g);
    size_t n = (size_t)(ex->n ? ex->n : 1);
    ex->out = calloc(n, sizeof *ex->out);
    ex->computed = calloc(n, 1);
    ex->pinned = calloc(n, 1);
    ex->storage = calloc(n, sizeof *ex->storage);
    ex->arena = ls_arena_new(1 << 22);
    if (opts) {
        ex->ctx.reference = opts->reference;
        ex->ctx.threads = opts->threads;
        ex->ctx.cancel = opts->cancel;
        ex->reuse = opts->reuse_buffers;
    }
    if (ex->ctx.threads <= 0)
        ex->ctx.threads = ls_cpu_count();
    ex->ctx.isa = ls_cpu_isa();
    ex->own_packs = !(opts && opts->packs);
    ex->ctx.packs = ex->own_packs ? ls_pack_cache_new() : opts->packs;
    if (!ex->out || !ex->computed || !ex->pinned || !ex->storage || !ex->arena ||
        !ex->ctx.packs) {
        ls_exec_free(ex);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory creating the executor");
    }
    if (ex->ctx.threads > 1 && !(ex->ctx.pool = ls_pool_new(ex->ctx.threads, err))) {
        ls_exec_free(ex);
        return err ? err->code : LS_ERR_NOMEM;
    }
    if (opts && opts->max_bytes) {
        size_t need = ls_exec_plan_bytes(g, opts);
        if (need > opts->max_bytes) {
            ls_exec_free(ex);
            return ls_error_set(err, LS_ERR_NOMEM,
                                "out of memory: the tensors of this run need %zu bytes, more "
                                "than the memory limit of %zu", need, opts->max_bytes);
        }
        ls_arena_set_limit(ex->arena, opts->max_bytes);
    }
    if (ex->reuse)
        return plan_reuse(ex, opts->keep, out, err);
    /* Every stored output is allocated now: a run never allocates, and
     * every tensor stays available for stepping back. */
    for (int i = 0; i < ex->n; i++) {
        const ls_node *nd = ls_graph_node(g, i);
        ls_op_kind k = ls_op_kind_of(nd->op);
        ex->storage[i] = i;
        if (nd->op == LS_OP_CONST) {
            ex->out[i] = nd->out;
            ex->computed[i] = 1;
        } else if (k == LS_KIND_VIEW) {
            ex->out[i] = nd->out;
            ex->storage[i] = ex->storage[nd->in[0]];
        } else {
            int rc = ls_tensor_alloc(ex->arena, nd->out.dtype, nd->out.ndim, nd->out.shape,
                                     &ex->out[i], err);
            if (rc) {
                ls_error_prefix(err, "allocating '%s'", nd->name);
                ls_exec_free(ex);
                return rc;
            }
            if (nd->op == LS_OP_INPUT)
                ex->computed[i] = 1;
        }
    }
    *out = ex;
    return LS_OK;
}

void ls_exec_free(ls_exec *ex)
{
    if (!ex)
        return;
    free(ex->out);
    free(ex->computed);
    free(ex->pinned);
    free(ex->storage);
    free(ex->last_use);
    ls_arena_free(ex->arena);
    ls_pool_free(ex->ctx.pool);
    if (ex->own_packs)
        ls_pack_cache_free(ex->ctx.packs);
    free(ex);
}

const ls_graph *ls_exec_graph(const ls_exec *ex) { return ex->g; }

int ls_exec_set_input(ls_exec *ex, const char *name, const ls_tensor *t, ls_error *err)
{
    int i = ls_graph_find(ex->g, name);
    if (i < 0 || ls_graph_node(ex->g, i)->op != LS_OP_INPUT)
        return ls_error_set(err, LS_ERR_MISSING, "the model has no input named '%s'", name);
    ls_tensor *dst = &ex->out[i];
    if (t->dtype != dst->dtype || !ls_tensor_same_shape(t, dst)) {
        char a[96], b[96];
        return ls_error_set(err, LS_ERR_SHAPE, "input '%s' is %s %s, expected %s %s%s", name,
                            ls_dtype_name(t->dtype), ls_shape_str(t, a, sizeof a),
                            ls_dtype_name(dst->dtype), ls_shape_str(dst, b, sizeof b),
                            t->dtype == LS_BOOL && dst->dtype != LS_BOOL ? BOOL_HINT : "");
    }
    ls_tensor_copy(dst, t);
    return LS_OK;
}

int ls_exec_set_inputs(ls_exec *ex, const ls_tmap *inputs, ls_error *err)
{
    for (int i = 0; i < ex->n; i++) {
        const ls_node *nd = ls_graph_node(ex->g, i);
        if (nd->op != LS_OP_INPUT)
            continue;
        const ls_tensor *t = ls_tmap_get(inputs, nd->name);
        if (!t)
            return ls_error_set(err, LS_ERR_MISSING, "%s: missing input '%s'",
                                inputs ? ls_tmap_source(inputs) : "inputs", nd->name);
        int rc = ls_exec_set_input(ex, nd->name, t, err);
        if (rc)
            return rc;
    }
    return LS_OK;
}

int ls_exec_add_hook(ls_exec *ex, ls_hook hook)
{
    if (ex->n_hooks >= MAX_HOOKS)
        return LS_ERR_LIMIT;
    ex->hooks[ex->n_hooks++] = hook;
    return LS_OK;
}

int ls_exec_cursor(const ls_exec *ex) { return ex->cursor; }
bool ls_exec_done(const ls_exec *ex) { return ex->cursor >= ex->n; }
bool ls_exec_paused(const ls_exec *ex) { return ex->paused; }

/* Bits of the inputs of node i that are the model's own weights,
 * untouched (an edit copies a weight first): the only ones whose packed
 * form may be cached. */
static unsigned const_inputs(const ls_exec *ex, int i)
{
    const ls_node *nd = ls_graph_node(ex->g, i);
    unsigned bits = 0;
    for (int j = 0; j < nd->n_in; j++) {
        int s = ex->storage[nd->in[j]];
        const ls_node *sn = ls_graph_node(ex->g, s);
        if (sn->op == LS_OP_CONST && !ex->pinned[s] && ex->out[s].data == sn->out.data)
            bits |= 1u << j;
    }
    return bits;
}

void ls_exec_prepack(ls_exec *ex)
{
    if (ex->ctx.reference || !ex->n)
        return;
    /* views are worked out into a copy, so the executor's own outputs
     * stay as they are */
    ls_tensor *t = malloc((size_t)ex->n * sizeof *t);
    if (!t)
        return;
    memcpy(t, ex->out, (size_t)ex->n * sizeof *t);
    for (int i = 0; i < ex->n; i++) {
        const ls_node *nd = ls_graph_node(ex->g, i);
        ls_op_kind k = ls_op_kind_of(nd->op);
        if (k == LS_KIND_LEAF)
            continue;
        const ls_tensor *ins[LS_OP_MAX_INPUTS];
        for (int j = 0; j < nd->n_in; j++)
            ins[j] = &t[nd->in[j]];
        if (k == LS_KIND_VIEW) {
            if (ls_op_infer(nd->op, &nd->p, ins, nd->n_in, &t[i], NULL))
                t[i] = ex->out[i];
            continue;
        }
        ex->ctx.const_inputs = const_inputs(ex, i);
        if (ex->ctx.const_inputs && !ex->pinned[i])
            ls_op_prepack(nd->op, &nd->p, ins, nd->n_in, &t[i], &ex->ctx);
    }
    ex->ctx.const_inputs = 0;
    free(t);
}

static bool cancelled(const ls_exec *ex)
{
    return ex->ctx.cancel && atomic_load(ex->ctx.cancel) != 0;
}

/* Computes node i from its inputs' current outputs. */
static int compute(ls_exec *ex, int i, ls_error *err)
{
    const ls_node *nd = ls_graph_node(ex->g, i);
    ls_op_kind k = ls_op_kind_of(nd->op);
    if (k == LS_KIND_LEAF)
        return LS_OK;
    const ls_tensor *ins[LS_OP_MAX_INPUTS];
    for (int j = 0; j < nd->n_in; j++)
        ins[j] = &ex->out[nd->in[j]];
    int rc;
    if (k == LS_KIND_VIEW) {
        rc = ls_op_infer(nd->op, &nd->p, ins, nd->n_in, &ex->out[i], err);
    } else {
        if (ex->pinned[i])
            return LS_OK;
        if (cancelled(ex))
            return ls_error_set(err, LS_ERR_CANCELLED, "interrupted before '%s'", nd->name);
        ex->ctx.const_inputs = const_inputs(ex, i);
        rc = ls_op_compute(nd->op, &nd->p, ins, nd->n_in, &ex->out[i], &ex->ctx, err);
        /* the kernels return early when they see the flag: the output is
         * then partial and must not count as computed */
        if (!rc && cancelled(ex))
            return ls_error_set(err, LS_ERR_CANCELLED, "interrupted in '%s'", nd->name);
    }
    if (rc)
        return ls_error_prefix(err, "%s (%s)", nd->name, ls_op_name(nd->op));
    return LS_OK;
}

int ls_exec_step(ls_exec *ex, ls_error *err)
{
    ex->paused = false;
    if (ex->cursor >= ex->n)
        return LS_OK;
    int i = ex->cursor;
    int rc = compute(ex, i, err);
    if (rc)
        return rc;
    ex->computed[i] = 1;
    ex->cursor++;
    for (int h = 0; h < ex->n_hooks; h++) {
        int r = ex->hooks[h].after_node(ex->hooks[h].ud, ex, i, &ex->out[i]);
        if (r < 0)
            return ls_error_set(err, r, "stopped after '%s': an observer failed",
                                ls_graph_node(ex->g, i)->name);
        if (r == LS_HOOK_PAUSE)
            ex->paused = true;
    }
    return LS_OK;
}

int ls_exec_run_until(ls_exec *ex, ls_exec_pred pred, void *ud, ls_error *err)
{
    while (ex->cursor < ex->n) {
        int i = ex->cursor;
        int rc = ls_exec_step(ex, err);
        if (rc)
            return rc;
        if (ex->paused || (pred && pred(ud, ex, i)))
            break;
    }
    return LS_OK;
}

int ls_exec_run(ls_exec *ex, ls_error *err) { return ls_exec_run_until(ex, NULL, NULL, err); }

void ls_exec_reset(ls_exec *ex)
{
    for (int i = 0; i < ex->n; i++)
        if (!is_leaf(ex, i) && !ex->pinned[i])
            ex->computed[i] = 0;
    ex->cursor = 0;
    ex->paused = false;
}

int ls_exec_rewind(ls_exec *ex, int cursor, ls_error *err)
{
    if (ex->reuse)
        return ls_error_set(err, LS_ERR_ARG,
                            "rewind: this run keeps no outputs (reuse_buffers), so a buffer "
                            "before the cursor may already hold a later node's data");
    if (cursor < 0)
        cursor = 0;
    for (int i = cursor; i < ex->cursor; i++)
        if (!is_leaf(ex, i) && !ex->pinned[i])
            ex->computed[i] = 0;
    if (cursor < ex->cursor)
        ex->cursor = cursor;
    ex->paused = false;
    return LS_OK;
}

/* reuse_buffers: a buffer given back is overwritten by later nodes */
static bool recycled(const ls_exec *ex, int node)
{
    return ex->reuse && ex->last_use[ex->storage[node]] < ex->cursor;
}

const ls_tensor *ls_exec_out(const ls_exec *ex, int node)
{
    if (node < 0 || node >= ex->n || !ex->computed[node] || recycled(ex, node))
        return NULL;
    return &ex->out[node];
}

bool ls_exec_computed(const ls_exec *ex, int node)
{
    return node >= 0 && node < ex->n && ex->computed[node] && !recycled(ex, node);
}

int ls_exec_storage_node(const ls_exec *ex, int node) { return ex->storage[node]; }

/* Views hold raw pointers into their storage; after a storage buffer moves
 * (a weight copied on edit) every computed view is re-derived. */
static void refresh_views(ls_exec *ex)
{
    for (int i = 0; i < ex->n; i++)
        if (ex->computed[i] && ls_op_kind_of(ls_graph_node(ex->g, i)->op) == LS_KIND_VIEW)
            compute(ex, i, NULL);
}

ls_tensor *ls_exec_edit(ls_exec *ex, int node, ls_error *err)
{
    if (ex->reuse) {
        ls_error_set(err, LS_ERR_ARG, "this run keeps no outputs (reuse_buffers): nothing to edit");
        return NULL;
    }
    if (node < 0 || node >= ex->n || !ex->computed[node]) {
        ls_error_set(err, LS_ERR_ARG, "'%s' is not computed yet",
                     node >= 0 && node < ex->n ? ls_graph_node(ex->g, node)->name : "?");
        return NULL;
    }
    ls_tensor *t = &ex->out[node];
    for (int d = 0; d < t->ndim; d++)
        if (t->stride[d] == 0 && t->shape[d] > 1) {
            ls_error_set(err, LS_ERR_ARG,
                         "'%s' is a broadcast view; edit the tensor it repeats instead",
                         ls_graph_node(ex->g, node)->name);
            return NULL;
        }
    int s = ex->storage[node];
    const ls_node *sn = ls_graph_node(ex->g, s);
    if (sn->op == LS_OP_CONST && !ex->pinned[s]) {
        /* copy on first edit: the model's weights stay untouched */
        ls_tensor copy;
        if (ls_tensor_contiguous(ex->arena, &ex->out[s], &copy, NULL)) {
            ls_error_set(err, LS_ERR_NOMEM, "out of memory copying '%s' (%zu bytes) to edit it",
                         sn->name, ls_tensor_nbytes(&ex->out[s]));
            return NULL;
        }
        ex->out[s] = copy;
        refresh_views(ex);
    }
    ex->pinned[s] = 1;
    return &ex->out[node];
}

bool ls_exec_is_pinned(const ls_exec *ex, int node) { return ex->pinned[ex->storage[node]]; }
void ls_exec_unpin(ls_exec *ex, int node) { ex->pinned[ex->storage[node]] = 0; }

int ls_exec_rerun(ls_exec *ex, int edited, ls_error *err)
{
    if (edited < 0 || edited >= ex->n)
        return ls_error_set(err, LS_ERR_ARG, "rerun: node %d out of range", edited);
    if (ex->reuse)
        return ls_error_set(err, LS_ERR_ARG, "rerun: this run keeps no outputs (reuse_buffers)");
    for (int i = ex->storage[edited] + 1; i < ex->cursor; i++) {
        if (!ex->computed[i])
            continue;
        int rc = compute(ex, i, err);
        if (rc == LS_ERR_CANCELLED) {
            /* nodes [i, cursor) still hold values from before the edit:
             * forget them, so stepping on recomputes rather than shows
             * them as if they followed from the edit */
            for (int k = i; k < ex->cursor; k++)
                if (!is_leaf(ex, k) && !ex->pinned[k])
                    ex->computed[k] = 0;
            ex->cursor = i;
        }
        if (rc)
            return rc;
    }
    return LS_OK;
}

bool ls_glob_match(const char *p, const char *s)
{
    /* iterative matcher with one backtrack point: linear enough for names */
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            ss = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++ss;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}
