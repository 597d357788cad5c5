#include "layerstep/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

/* Names are looked up for every weight and every new point, so keep an
 * open-addressing table (name -> node) beside the node array. */
typedef struct name_slot {
    const char *name;
    int node;
} name_slot;

struct ls_graph {
    ls_node *nodes;
    int n_nodes, cap_nodes;
    ls_module *mods;
    int n_mods, cap_mods;
    int stack[MAX_DEPTH];
    int depth;
    name_slot *tab;
    size_t tab_cap, tab_used;
    ls_arena *arena;
    const ls_tmap *weights;
    ls_error err;
    bool failed;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int tab_find(const ls_graph *g, const char *name)
{
    if (!g->tab_cap)
        return -1;
    size_t mask = g->tab_cap - 1;
    for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
        if (!g->tab[i].name)
            return -1;
        if (strcmp(g->tab[i].name, name) == 0)
            return g->tab[i].node;
    }
}

static bool tab_insert(ls_graph *g, const char *name, int node)
{
    if ((g->tab_used + 1) * 2 > g->tab_cap) {
        size_t cap = g->tab_cap ? g->tab_cap * 2 : 256;
        name_slot *t = calloc(cap, sizeof *t);
        if (!t)
            return false;
        for (size_t i = 0; i < g->tab_cap; i++) {
            if (!g->tab[i].name)
                continue;
            size_t j = hash_str(g->tab[i].name) & (cap - 1);
            while (t[j].name)
                j = (j + 1) & (cap - 1);
            t[j] = g->tab[i];
        }
        free(g->tab);
        g->tab = t;
        g->tab_cap = cap;
    }
    size_t mask = g->tab_cap - 1;
    size_t i = hash_str(name) & mask;
    while (g->tab[i].name)
        i = (i + 1) & mask;
    g->tab[i].name = name;
    g->tab[i].node = node;
    g->tab_used++;
    return true;
}

int ls_graph_fail(ls_graph *g, int code, const char *fmt, ...)
{
    if (g->failed)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err.msg, sizeof g->err.msg, fmt, ap);
    va_end(ap);
    g->err.code = code;
    g->failed = true;
    return -1;
}

static int add_module(ls_graph *g, const char *path, const char *name, const char *klass,
                      const char *extra, int parent)
{
    if (g->n_mods == g->cap_mods) {
        int cap = g->cap_mods ? g->cap_mods * 2 : 64;
        ls_module *m = realloc(g->mods, (size_t)cap * sizeof *m);
        if (!m)
            return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
        g->mods = m;
        g->cap_mods = cap;
    }
    ls_module *m = &g->mods[g->n_mods];
    m->path = ls_arena_strdup(g->arena, path);
    m->name = ls_arena_strdup(g->arena, name);
    m->klass = ls_arena_strdup(g->arena, klass ? klass : "");
    m->extra = ls_arena_strdup(g->arena, extra ? extra : "");
    if (!m->path || !m->name || !m->klass || !m->extra)
        return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
    m->parent = parent;
    m->depth = parent < 0 ? 0 : g->mods[parent].depth + 1;
    m->first_node = m->last_node = m->out_node = -1;
    return g->n_mods++;
}

ls_graph *ls_graph_new(const char *root_class, const ls_tmap *weights)
{
    ls_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->arena = ls_arena_new(1 << 16);
    if (!g->arena) {
        free(g);
        return NULL;
    }
    g->weights = weights;
    add_module(g, "", "", root_class, "", -1);
    g->stack[0] = 0;
    g->depth = 1;
    return g;
}

void ls_graph_free(ls_graph *g)
{
    if (!g)
        return;
    free(g->nodes);
    free(g->mods);
    free(g->tab);
    ls_arena_free(g->arena);
    free(g);
}

bool ls_graph_ok(const ls_graph *g) { return g && !g->failed; }
const ls_error *ls_graph_error(const ls_graph *g) { return &g->err; }
int ls_graph_n_nodes(const ls_graph *g) { return g->n_nodes; }
const ls_node *ls_graph_node(const ls_graph *g, int i) { return &g->nodes[i]; }
int ls_graph_find(const ls_graph *g, const char *name) { return tab_find(g, name); }
int ls_graph_n_modules(const ls_graph *g) { return g->n_mods; }
const ls_module *ls_graph_module(const ls_graph *g, int i) { return &g->mods[i]; }
const ls_tmap *ls_graph_weights(const ls_graph *g) { return g->weights; }
ls_arena *ls_graph_arena(ls_graph *g) { return g->arena; }
const char *ls_graph_scope(const ls_graph *g) { return g->mods[g->stack[g->depth - 1]].path; }
const ls_tensor *ls_graph_shape(const ls_graph *g, int node)
{
    return node >= 0 && node < g->n_nodes ? &g->nodes[node].out : NULL;
}

int ls_graph_find_module(const ls_graph *g, const char *path)
{
    for (int i = 0; i < g->n_mods; i++)
        if (strcmp(g->mods[i].path, path) == 0)
            return i;
    return -1;
}

size_t ls_graph_activation_bytes(const ls_graph *g)
{
    size_t sum = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ls_op_kind k = ls_op_kind_of(g->nodes[i].op);
        if (k == LS_KIND_COMPUTE || g->nodes[i].op == LS_OP_INPUT)
            sum += ls_tensor_nbytes(&g->nodes[i].out);
    }
    return sum;
}

static char *join(ls_graph *g, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = ls_arena_alloc(g->arena, na + nb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    size_t k = na;
    if (na && nb)
        s[k++] = '.';
    memcpy(s + k, b, nb);
    s[k + nb] = '\0';
    return s;
}

/* A module called again (WeNet's shared dropout, a decoder run once per
 * greedy step) gives its points the reference's ".call<n>" suffix. */
static const char *unique_name(ls_graph *g, const char *name)
{
    if (tab_find(g, name) < 0)
        return name;
    char buf[32];
    for (int n = 1;; n++) {
        snprintf(buf, sizeof buf, "call%d", n);
        char *cand = join(g, name, buf);
        if (!cand || tab_find(g, cand) < 0)
            return cand;
    }
}

/* Gives node i its path/point/name; registers the name. */
static int set_name(ls_graph *g, int i, const char *path, const char *point, unsigned flags)
{
    ls_node *nd = &g->nodes[i];
    const char *full = unique_name(g, join(g, path, point));
    if (!full)
        return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
    nd->path = ls_arena_strdup(g->arena, path);
    nd->point = ls_arena_strdup(g->arena, point);
    nd->name = full;
    nd->flags = (nd->flags & ~LS_NODE_HIDDEN) | flags;
    if (!nd->path || !nd->point || !tab_insert(g, nd->name, i))
        return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
    return i;
}

static int new_node(ls_graph *g, ls_op op, const ls_op_params *p, const int *in, int n_in)
{
    if (g->failed)
        return -1;
    if (n_in < 0 || n_in > LS_OP_MAX_INPUTS)
        return ls_graph_fail(g, LS_ERR_INTERNAL, "%s: %d inputs", ls_op_name(op), n_in);
    for (int k = 0; k < n_in; k++)
        if (in[k] < 0 || in[k] >= g->n_nodes)
            return ls_graph_fail(g, LS_ERR_INTERNAL, "%s in '%s': input %d is not a node",
                                 ls_op_name(op), ls_graph_scope(g), k);
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 256;
        ls_node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
        g->nodes = n;
        g->cap_nodes = cap;
    }
    int i = g->n_nodes++;
    ls_node *nd = &g->nodes[i];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->n_in = n_in;
    for (int k = 0; k < n_in; k++)
        nd->in[k] = in[k];
    if (p)
        nd->p = *p;
    nd->module = g->stack[g->depth - 1];
    nd->path = nd->point = nd->name = "";
    /* every enclosing module records its node range */
    for (int d = 0; d < g->depth; d++) {
        ls_module *m = &g->mods[g->stack[d]];
        if (m->first_node < 0)
            m->first_node = i;
        m->last_node = i;
    }
    return i;
}

static int finish_node(ls_graph *g, int i, const char *point)
{
    if (point)
        return set_name(g, i, ls_graph_scope(g), point, 0);
    /* internal node: a readable, unique name that cannot clash with a point */
    char buf[64];
    snprintf(buf, sizeof buf, "~%s%d", ls_op_name(g->nodes[i].op), i);
    return set_name(g, i, ls_graph_scope(g), buf, LS_NODE_HIDDEN);
}

int ls_graph_begin(ls_graph *g, const char *klass, const char *extra, const char *name_fmt, ...)
{
    if (g->failed)
        return -1;
    if (g->depth >= MAX_DEPTH)
        return ls_graph_fail(g, LS_ERR_INTERNAL, "modules nested deeper than %d", MAX_DEPTH);
    char name[256];
    va_list ap;
    va_start(ap, name_fmt);
    vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    const char *path = join(g, ls_graph_scope(g), name);
    if (!path)
        return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
    int m = ls_graph_find_module(g, path);
    if (m < 0)
        m = add_module(g, path, name, klass, extra, g->stack[g->depth - 1]);
    if (m < 0)
        return -1;
    g->stack[g->depth++] = m;
    return m;
}

int ls_graph_end(ls_graph *g, int out)
{
    if (g->failed)
        return -1;
    if (g->depth <= 1)
        return ls_graph_fail(g, LS_ERR_INTERNAL, "ls_graph_end without ls_graph_begin");
    int m = g->stack[--g->depth];
    if (out < 0)
        return -1;
    if (out >= g->n_nodes)
        return ls_graph_fail(g, LS_ERR_INTERNAL, "module '%s': output is not a node",
                             g->mods[m].path);
    int named;
    if ((g->nodes[out].flags & LS_NODE_HIDDEN) && g->nodes[out].module == m) {
        /* drop the internal name: the node becomes the module's output */
        named = set_name(g, out, g->mods[m].path, "", LS_NODE_MODULE_OUT);
    } else {
        int a = new_node(g, LS_OP_ALIAS, NULL, &out, 1);
        if (a < 0)
            return -1;
        g->nodes[a].out = g->nodes[out].out;
        g->nodes[a].out.data = NULL;
        g->nodes[a].module = m;
        named = set_name(g, a, g->mods[m].path, "", LS_NODE_MODULE_OUT);
    }
    if (named >= 0 && g->mods[m].out_node < 0)
        g->mods[m].out_node = named;
    return named;
}

int ls_graph_input(ls_graph *g, const char *point, ls_dtype dt, int ndim, const int64_t *shape)
{
    ls_error e;
    if (g->failed)
        return -1;
    if (ls_shape_check(ndim, shape, dt, false, &e))
        return ls_graph_fail(g, e.code, "input '%s': %s", point, e.msg);
    int i = new_node(g, LS_OP_INPUT, NULL, NULL, 0);
    if (i < 0)
        return -1;
    g->nodes[i].out = ls_tensor_make(dt, ndim, shape, NULL);
    return finish_node(g, i, point);
}

int ls_graph_const(ls_graph *g, const char *point, const ls_tensor *t)
{
    int i = new_node(g, LS_OP_CONST, NULL, NULL, 0);
    if (i < 0)
        return -1;
    g->nodes[i].out = *t;
    return finish_node(g, i, point);
}

static int weight(ls_graph *g, const char *key, int ndim, const int64_t *shape, bool required)
{
    if (g->failed)
        return -1;
    const char *full = join(g, ls_graph_scope(g), key);
    if (!full)
        return ls_graph_fail(g, LS_ERR_NOMEM, "out of memory building the graph");
    int have = tab_find(g, full);
    if (have >= 0 && g->nodes[have].op == LS_OP_CONST)
        return have;
    if (!required && !ls_tmap_get(g->weights, full))
        return -1;
    const ls_tensor *t;
    ls_error e;
    if (!g->weights)
        return ls_graph_fail(g, LS_ERR_MISSING, "no weights loaded, but '%s' is needed", full);
    if (ls_tmap_expect(g->weights, full, LS_F32, ndim, shape, &t, &e))
        return ls_graph_fail(g, e.code, "%s", e.msg);
    int i = new_node(g, LS_OP_CONST, NULL, NULL, 0);
    if (i < 0)
        return -1;
    g->nodes[i].out = *t;
    return set_name(g, i, ls_graph_scope(g), key, LS_NODE_PARAM);
}

int ls_graph_weight(ls_graph *g, const char *key, int ndim, const int64_t *shape)
{
    return weight(g, key, ndim, shape, true);
}

int ls_graph_weight_opt(ls_graph *g, const char *key, int ndim, const int64_t *shape)
{
    return weight(g, key, ndim, shape, false);
}

int ls_graph_op(ls_graph *g, ls_op op, const ls_op_params *p, const int *in, int n_in,
                const char *point)
{
    if (g->failed)
        return -1;
    if (ls_op_kind_of(op) == LS_KIND_LEAF)
        return ls_graph_fail(g, LS_ERR_INTERNAL, "ls_graph_op: %s is a leaf", ls_op_name(op));
    int i = new_node(g, op, p, in, n_in);
    if (i < 0)
        return -1;
    const ls_tensor *ins[LS_OP_MAX_INPUTS];
    for (int k = 0; k < n_in; k++)
        ins[k] = &g->nodes[in[k]].out;
    ls_op_params zero;
    memset(&zero, 0, sizeof zero);
    ls_error e;
    ls_tensor out;
    if (ls_op_infer(op, p ? p : &zero, ins, n_in, &out, &e)) {
        const char *path = ls_graph_scope(g);
        return ls_graph_fail(g, e.code, "building '%s%s%s': %s", path, *path ? "." : "",
                             point ? point : ls_op_name(op), e.msg);
    }
    /* only leaves carry data in the graph; views get theirs at run time */
    out.data = NULL;
    g->nodes[i].out = out;
    return finish_node(g, i, point);
}

int ls_graph_name(ls_graph *g, int node, const char *point)
{
    if (g->failed || node < 0)
        return -1;
    if (node >= g->n_nodes)
        return ls_graph_fail(g, LS_ERR_INTERNAL, "ls_graph_name: bad node");
    if ((g->nodes[node].flags & LS_NODE_HIDDEN) && g->nodes[node].module == g->stack[g->depth - 1])
        return set_name(g, node, ls_graph_scope(g), point, 0);
    return ls_graph_alias(g, node, point);
}

int ls_graph_alias(ls_graph *g, int node, const char *point)
{
    return ls_graph_op(g, LS_OP_ALIAS, NULL, &node, 1, point);
}

/* ---- short forms ---- */

int ls_g_op1(ls_graph *g, ls_op op, int x, const char *point)
{
    return ls_graph_op(g, op, NULL, &x, 1, point);
}

int ls_g_op2(ls_graph *g, ls_op op, int a, int b, const char *point)
{
    int in[2] = {a, b};
    return ls_graph_op(g, op, NULL, in, 2, point);
}

int ls_g_scalar(ls_graph *g, ls_op op, int x, float v, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.f[0] = v;
    return ls_graph_op(g, op, &p, &x, 1, point);
}

int ls_g_reshape(ls_graph *g, int x, int ndim, const int64_t *shape, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = ndim;
    for (int k = 0; k < ndim && k < LS_MAX_DIMS; k++)
        p.i[1 + k] = shape[k];
    return ls_graph_op(g, LS_OP_RESHAPE, &p, &x, 1, point);
}

int ls_g_permute(ls_graph *g, int x, int ndim, const int *perm, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = ndim;
    for (int k = 0; k < ndim && k < LS_MAX_DIMS; k++)
        p.i[1 + k] = perm[k];
    return ls_graph_op(g, LS_OP_PERMUTE, &p, &x, 1, point);
}

int ls_g_transpose(ls_graph *g, int x, int d0, int d1, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = d0;
    p.i[1] = d1;
    return ls_graph_op(g, LS_OP_TRANSPOSE, &p, &x, 1, point);
}

int ls_g_slice(ls_graph *g, int x, int dim, int64_t start, int64_t end, int64_t step,
               const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = dim;
    p.i[1] = start;
    p.i[2] = end;
    p.i[3] = step;
    return ls_graph_op(g, LS_OP_SLICE, &p, &x, 1, point);
}

int ls_g_unsqueeze(ls_graph *g, int x, int dim, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = dim;
    return ls_graph_op(g, LS_OP_UNSQUEEZE, &p, &x, 1, point);
}

int ls_g_contiguous(ls_graph *g, int x, const char *point)
{
    return ls_graph_op(g, LS_OP_CONTIGUOUS, NULL, &x, 1, point);
}

int ls_g_linear(ls_graph *g, int x, int w, int b, const char *point)
{
    int in[3] = {x, w, b};
    return ls_graph_op(g, LS_OP_LINEAR, NULL, in, b >= 0 ? 3 : 2, point);
}

int ls_g_masked_fill(ls_graph *g, int x, int mask, float value, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.f[0] = value;
    int in[2] = {x, mask};
    return ls_graph_op(g, LS_OP_MASKED_FILL, &p, in, 2, point);
}

int ls_g_layer_norm(ls_graph *g, int x, int w, int b, float eps, const char *point)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.f[0] = eps;
    int in[3];
    int n = 0;
    in[n++] = x;
    if (w >= 0) {
        in[n++] = w;
        p.i[0] = 1;
    }
    if (b >= 0) {
        in[n++] = b;
        p.i[1] = 1;
    }
    return ls_graph_op(g, LS_OP_LAYER_NORM, &p, in, n, point);
}

int ls_graph_arg(ls_graph *g, int node, const char *arg, double fill)
{
    /* hidden, so a module's own point of the same name ("mask") is free */
    int a = new_node(g, LS_OP_ALIAS, NULL, &node, 1);
    if (a < 0)
        return -1;
    g->nodes[a].out = g->nodes[node].out;
    g->nodes[a].out.data = NULL;
    g->nodes[a].p.f[0] = (float)fill;
    char point[128];
    snprintf(point, sizeof point, "@%s", arg);
    return set_name(g, a, ls_graph_scope(g), point, LS_NODE_HIDDEN | LS_NODE_ARG);
}

static bool inside(const ls_graph *g, int module, int root)
{
    for (int m = module; m >= 0; m = g->mods[m].parent)
        if (m == root)
            return true;
    return false;
}

int ls_graph_extract(const ls_graph *g, const char *path, ls_graph **out, ls_error *err)
{
    *out = NULL;
    int root = ls_graph_find_module(g, path);
    if (root < 0) {
        /* list a few module paths so a typo is easy to fix */
        char some[512] = "";
        for (int i = 1, k = 0; i < g->n_mods && k < 8; i++) {
            if (g->mods[i].depth > 3)
                continue;
            strncat(some, k++ ? ", " : "", sizeof some - strlen(some) - 1);
            strncat(some, g->mods[i].path, sizeof some - strlen(some) - 1);
        }
        return ls_error_set(err, LS_ERR_MISSING, "no module '%s' in this model (modules: %s, ...)",
                            path, some);
    }
    ls_graph *s = ls_graph_new(g->mods[0].klass, g->weights);
    int *map = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!s || !map) {
        ls_graph_free(s);
        free(map);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++)
        map[i] = -1;
    /* modules: the chosen one and its descendants, paths unchanged */
    int *mmap_ = calloc((size_t)g->n_mods, sizeof(int));
    for (int i = 0; mmap_ && i < g->n_mods; i++) {
        mmap_[i] = -1;
        if (i == 0)
            mmap_[i] = 0;
        else if (inside(g, i, root)) {
            const ls_module *m = &g->mods[i];
            int parent = i == root ? 0 : mmap_[m->parent];
            mmap_[i] = add_module(s, m->path, m->name, m->klass, m->extra, parent);
        }
    }
    for (int i = 0; mmap_ && i < g->n_nodes && !s->failed; i++) {
        const ls_node *nd = &g->nodes[i];
        if (!inside(g, nd->module, root) || ls_op_kind_of(nd->op) == LS_KIND_LEAF)
            continue;
        /* an argument alias of an outside value becomes an input */
        if ((nd->flags & LS_NODE_ARG) && map[nd->in[0]] < 0 &&
            g->nodes[nd->in[0]].op != LS_OP_CONST) {
            int k = new_node(s, LS_OP_INPUT, NULL, NULL, 0);
            if (k < 0)
                break;
            s->nodes[k].out = nd->out;
            s->nodes[k].out.data = NULL;
            s->nodes[k].p = nd->p; /* f[0]: the value a random fill uses for masks */
            set_name(s, k, "", nd->point + (nd->point[0] == '@'), LS_NODE_ARG);
            map[i] = k;
            continue;
        }
        int in[LS_OP_MAX_INPUTS];
        for (int j = 0; j < nd->n_in; j++) {
            int src = nd->in[j];
            if (map[src] < 0) {
                const ls_node *sn = &g->nodes[src];
                int k = new_node(s, sn->op == LS_OP_CONST ? LS_OP_CONST : LS_OP_INPUT, NULL, NULL, 0);
                if (k < 0)
                    break;
                s->nodes[k].out = sn->out;
                if (sn->op != LS_OP_CONST)
                    s->nodes[k].out.data = NULL;
                set_name(s, k, sn->path, sn->point, sn->flags & LS_NODE_PARAM);
                map[src] = k;
            }
            in[j] = map[src];
        }
        if (s->failed)
            break;
        int k = new_node(s, nd->op, &nd->p, in, nd->n_in);
        if (k < 0)
            break;
        s->nodes[k].out = nd->out;
        s->nodes[k].module = mmap_[nd->module] >= 0 ? mmap_[nd->module] : 0;
        set_name(s, k, nd->path, nd->point, nd->flags & ~LS_NODE_HIDDEN);
        if (nd->flags & LS_NODE_HIDDEN)
            s->nodes[k].flags |= LS_NODE_HIDDEN;
        map[i] = k;
    }
    for (int i = 0; mmap_ && i < g->n_mods; i++)
        if (mmap_[i] > 0 && g->mods[i].out_node >= 0)
            s->mods[mmap_[i]].out_node = map[g->mods[i].out_node];
    /* node ranges of the copied modules, for the tree and step-out */
    for (int m = 1; m < s->n_mods; m++)
        s->mods[m].first_node = s->mods[m].last_node = -1;
    for (int k = 0; k < s->n_nodes; k++)
        for (int m = s->nodes[k].module; m > 0; m = s->mods[m].parent) {
            if (s->mods[m].first_node < 0)
                s->mods[m].first_node = k;
            s->mods[m].last_node = k;
        }
    free(map);
    if (!mmap_) {
        ls_graph_free(s);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    free(mmap_);
    if (s->failed) {
        int rc = ls_error_set(err, s->err.code, "%s", s->err.msg);
        ls_graph_free(s);
        return rc;
    }
    *out = s;
    return LS_OK;
}

double ls_graph_input_fill(const ls_node *nd)
{
    if (nd->flags & LS_NODE_ARG)
        return nd->p.f[0];
    return nd->out.dtype == LS_I64 ? 1.0 : 0.0;
}

void ls_graph_declare(ls_graph *g, const char *klass, const char *extra, const char *name)
{
    ls_graph_begin(g, klass, extra, "%s", name);
    ls_graph_end(g, -1);
}

const char *ls_py_float(double v, char *buf, size_t n)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eni"))
        strncat(buf, ".0", n - strlen(buf) - 1);
    return buf;
}
