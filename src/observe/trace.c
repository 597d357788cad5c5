#include "layerstep/trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ls_node_is_point(const ls_node *nd)
{
    return !(nd->flags & (LS_NODE_HIDDEN | LS_NODE_PARAM)) && nd->op != LS_OP_CONST;
}

static int trace_after(void *ud, const ls_exec *ex, int node, const ls_tensor *out)
{
    ls_trace *tr = ud;
    const ls_node *nd = ls_graph_node(ls_exec_graph(ex), node);
    if (!tr->all && !ls_node_is_point(nd))
        return LS_HOOK_CONTINUE;
    if (tr->only && !ls_glob_match(tr->only, nd->name))
        return LS_HOOK_CONTINUE;
    char shape[96];
    ls_shape_str(out, shape, sizeof shape);
    fprintf(tr->out, "%-52s %-12s %-7s %s", nd->name, ls_op_name(nd->op),
            ls_dtype_name(out->dtype), shape);
    if (tr->stats) {
        ls_stats s;
        ls_tensor_stats(out, &s);
        fprintf(tr->out, "  min %.4g max %.4g mean %.4g std %.4g", s.min, s.max, s.mean, s.std);
        if (s.nan || s.inf)
            fprintf(tr->out, "  nan %lld inf %lld", (long long)s.nan, (long long)s.inf);
    }
    fputc('\n', tr->out);
    tr->lines++;
    return LS_HOOK_CONTINUE;
}

ls_hook ls_trace_hook(ls_trace *tr) { return (ls_hook){trace_after, tr}; }

/* ---- module tree ---- */

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static void sb_put(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (b->s && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)k;
        char *ns = realloc(b->s, cap);
        if (!ns)
            return;
        b->s = ns;
        b->cap = cap;
    }
}

/* The module's own parameters: weight keys "<path>.<leaf>" with no
 * further dot. */
static void params_comment(strbuf *b, const ls_module *m, const ls_tmap *w)
{
    if (!w)
        return;
    size_t pl = strlen(m->path);
    bool any = false;
    for (int i = 0; i < ls_tmap_count(w); i++) {
        const char *k = ls_tmap_name(w, i);
        const char *leaf;
        if (pl == 0)
            leaf = k;
        else if (strncmp(k, m->path, pl) == 0 && k[pl] == '.')
            leaf = k + pl + 1;
        else
            continue;
        if (strchr(leaf, '.'))
            continue;
        char shape[64];
        ls_shape_str(ls_tmap_at(w, i), shape, sizeof shape);
        sb_put(b, "%s%s %s", any ? ", " : "  # ", leaf, shape);
        any = true;
    }
}

static void render(strbuf *b, const ls_graph *g, const ls_tmap *w, int mi, int indent);

static bool is_index(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Renders module mi without its "(name): " head, so identical siblings can
 * be recognised by comparing strings. */
static char *render_body(const ls_graph *g, const ls_tmap *w, int mi, int indent)
{
    strbuf b = {0};
    render(&b, g, w, mi, indent);
    return b.s ? b.s : strdup("");
}

static void render(strbuf *b, const ls_graph *g, const ls_tmap *w, int mi, int indent)
{
    const ls_module *m = ls_graph_module(g, mi);
    int n = ls_graph_n_modules(g);
    int kids[4096];
    int nk = 0;
    for (int i = mi + 1; i < n && nk < 4096; i++)
        if (ls_graph_module(g, i)->parent == mi)
            kids[nk++] = i;
    if (nk == 0) {
        sb_put(b, "%s(%s)", m->klass, m->extra);
        params_comment(b, m, w);
        return;
    }
    sb_put(b, "%s(", m->klass);
    if (m->extra[0])
        sb_put(b, "\n%*s%s", indent + 2, "", m->extra);
    params_comment(b, m, w);
    sb_put(b, "\n");
    for (int k = 0; k < nk;) {
        char *body = render_body(g, w, kids[k], indent + 2);
        /* fold a run of numbered siblings with the same body (the layers of
         * a ModuleList), as PyTorch 2 prints them */
        int run = 1;
        while (k + run < nk && is_index(ls_graph_module(g, kids[k])->name) &&
               is_index(ls_graph_module(g, kids[k + run])->name)) {
            char *next = render_body(g, w, kids[k + run], indent + 2);
            bool same = strcmp(next, body) == 0;
            free(next);
            if (!same)
                break;
            run++;
        }
        const ls_module *c = ls_graph_module(g, kids[k]);
        if (run > 1)
            sb_put(b, "%*s(%s-%s): %d x %s\n", indent + 2, "", c->name,
                   ls_graph_module(g, kids[k + run - 1])->name, run, body);
        else
            sb_put(b, "%*s(%s): %s\n", indent + 2, "", c->name, body);
        free(body);
        k += run;
    }
    sb_put(b, "%*s)", indent, "");
}

void ls_tree_print(FILE *out, const ls_graph *g, const ls_tmap *weights)
{
    strbuf b = {0};
    render(&b, g, weights, 0, 0);
    if (b.s)
        fprintf(out, "%s\n", b.s);
    free(b.s);
}
