#include "layerstep/diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/trace.h"

const char *ls_diff_verdict_name(ls_diff_verdict v)
{
    switch (v) {
    case LS_DIFF_PASS: return "pass";
    case LS_DIFF_LOCAL: return "LOCAL";
    case LS_DIFF_INHERITED: return "inherited";
    case LS_DIFF_MISMATCH: return "differs";
    }
    return "?";
}

/* Values of nodes as the reference would have them: its own tensor where
 * it has the name, else derived through our ops from reference-derived
 * inputs, else our value (weights and inputs are shared). */
typedef struct resolver {
    const ls_exec *ex;
    const ls_graph *g;
    const ls_tmap *ref;
    ls_arena *arena;
    ls_tensor *val;
    unsigned char *state;   /* 0 unvisited, 1 done */
    unsigned char *derived; /* value comes from the reference */
    const ls_tensor **alias_ref; /* the reference's tensor of a node's alias */
} resolver;

static const ls_tensor *ref_exact(const resolver *r, int node)
{
    const ls_node *nd = ls_graph_node(r->g, node);
    const ls_tensor *t = ls_tmap_get(r->ref, nd->name);
    if (t && t->dtype == nd->out.dtype && ls_tensor_same_shape(t, &nd->out))
        return t;
    return NULL;
}

static const ls_tensor *resolve(resolver *r, int node)
{
    if (r->state[node])
        return &r->val[node];
    const ls_node *nd = ls_graph_node(r->g, node);
    const ls_tensor *own = ls_exec_out(r->ex, node);
    const ls_tensor *t = ref_exact(r, node);
    r->state[node] = 1;
    /* a dump made with forward hooks names a module's output, not the
     * tensor inside it that it aliases (attn is stored as "P.1") */
    if (!t)
        t = r->alias_ref[node];
    if (t) {
        r->val[node] = *t;
        r->derived[node] = 1;
        return &r->val[node];
    }
    r->val[node] = own ? *own : nd->out;
    if (ls_op_kind_of(nd->op) == LS_KIND_LEAF || !own)
        return &r->val[node];
    const ls_tensor *ins[LS_OP_MAX_INPUTS];
    bool any = false;
    for (int k = 0; k < nd->n_in; k++) {
        ins[k] = resolve(r, nd->in[k]);
        any |= r->derived[nd->in[k]];
    }
    if (!any)
        return &r->val[node];
    /* recompute this unnamed node from reference-derived inputs */
    ls_tensor out;
    ls_op_ctx ctx = {.reference = true, .threads = 1};
    if (ls_op_infer(nd->op, &nd->p, ins, nd->n_in, &out, NULL))
        return &r->val[node];
    if (ls_op_kind_of(nd->op) == LS_KIND_COMPUTE) {
        if (ls_tensor_alloc(r->arena, out.dtype, out.ndim, out.shape, &out, NULL) ||
            ls_op_compute(nd->op, &nd->p, ins, nd->n_in, &out, &ctx, NULL))
            return &r->val[node];
    }
    r->val[node] = out;
    r->derived[node] = 1;
    return &r->val[node];
}

/* Runs node with every input taken from the resolver.  An alias is judged
 * by the node it names: rerunning the alias itself would only copy the
 * reference's own value back. */
static int rerun_node(resolver *r, int node, ls_tensor *out, int *n_ref)
{
    while (ls_graph_node(r->g, node)->op == LS_OP_ALIAS)
        node = ls_graph_node(r->g, node)->in[0];
    const ls_node *nd = ls_graph_node(r->g, node);
    if (ls_op_kind_of(nd->op) == LS_KIND_LEAF)
        return LS_ERR_ARG;
    const ls_tensor *ins[LS_OP_MAX_INPUTS];
    *n_ref = 0;
    for (int k = 0; k < nd->n_in; k++) {
        ins[k] = resolve(r, nd->in[k]);
        *n_ref += r->derived[nd->in[k]];
    }
    ls_op_ctx ctx = {.reference = true, .threads = 1};
    int rc = ls_op_infer(nd->op, &nd->p, ins, nd->n_in, out, NULL);
    if (rc)
        return rc;
    if (ls_op_kind_of(nd->op) != LS_KIND_COMPUTE)
        return LS_OK;
    rc = ls_tensor_alloc(r->arena, out->dtype, out->ndim, out->shape, out, NULL);
    if (rc)
        return rc;
    return ls_op_compute(nd->op, &nd->p, ins, nd->n_in, out, &ctx, NULL);
}

void ls_diff_free(ls_diff *d)
{
    if (!d)
        return;
    free(d->rows);
    free(d);
}

int ls_diff_run(const ls_exec *ex, const ls_tmap *ref, const ls_cmp_opts *o, ls_diff **out,
                ls_error *err)
{
    *out = NULL;
    const ls_graph *g = ls_exec_graph(ex);
    int n = ls_graph_n_nodes(g);
    ls_diff *d = calloc(1, sizeof *d);
    resolver r = {.ex = ex, .g = g, .ref = ref};
    r.val = calloc((size_t)n + 1, sizeof *r.val);
    r.state = calloc((size_t)n + 1, 1);
    r.derived = calloc((size_t)n + 1, 1);
    r.alias_ref = calloc((size_t)n + 1, sizeof *r.alias_ref);
    r.arena = ls_arena_new(1 << 20);
    if (d)
        d->rows = calloc((size_t)n + 1, sizeof *d->rows);
    int rc = LS_OK;
    if (!d || !d->rows || !r.val || !r.state || !r.derived || !r.alias_ref || !r.arena) {
        rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory comparing");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const ls_node *nd = ls_graph_node(g, i);
        if (nd->op != LS_OP_ALIAS)
            continue;
        const ls_tensor *t = ref_exact(&r, i);
        int src = nd->in[0];
        while (t && src >= 0) {
            if (!r.alias_ref[src])
                r.alias_ref[src] = t;
            const ls_node *sn = ls_graph_node(g, src);
            src = sn->op == LS_OP_ALIAS ? sn->in[0] : -1;
        }
    }
    d->first_fail = d->first_local = d->first_nonfinite = -1;
    for (int i = 0; i < n; i++) {
        const ls_node *nd = ls_graph_node(g, i);
        if (!ls_node_is_point(nd))
            continue;
        const ls_tensor *ours = ls_exec_out(ex, i);
        const ls_tensor *theirs = ls_tmap_get(ref, nd->name);
        if (!ours)
            continue;
        if (!theirs) {
            d->n_missing++;
            continue;
        }
        ls_diff_row *row = &d->rows[d->n];
        row->node = i;
        ls_compare_tensors(ours, theirs, o, &row->cmp);
        if (row->cmp.status == LS_CMP_PASS) {
            row->verdict = LS_DIFF_PASS;
        } else {
            ls_tensor again;
            if (ls_op_kind_of(nd->op) == LS_KIND_LEAF || row->cmp.status == LS_CMP_SHAPE ||
                rerun_node(&r, i, &again, &row->ref_inputs) != LS_OK) {
                row->verdict = LS_DIFF_MISMATCH;
            } else {
                ls_compare_tensors(&again, theirs, o, &row->recheck);
                row->verdict = row->recheck.status == LS_CMP_PASS ? LS_DIFF_INHERITED
                                                                  : LS_DIFF_LOCAL;
            }
            if (d->first_fail < 0)
                d->first_fail = d->n;
            if (d->first_local < 0 && row->verdict != LS_DIFF_INHERITED)
                d->first_local = d->n;
            if (d->first_nonfinite < 0 && row->cmp.status == LS_CMP_NONFINITE)
                d->first_nonfinite = d->n;
        }
        d->n++;
    }
done:
    free(r.val);
    free(r.state);
    free(r.derived);
    free(r.alias_ref);
    ls_arena_free(r.arena);
    if (rc) {
        ls_diff_free(d);
        return rc;
    }
    *out = d;
    return LS_OK;
}

static void index_str(const ls_tensor *t, int64_t flat, char *buf, size_t n)
{
    int64_t idx[LS_MAX_DIMS];
    for (int i = t->ndim - 1; i >= 0; i--) {
        idx[i] = t->shape[i] ? flat % t->shape[i] : 0;
        flat = t->shape[i] ? flat / t->shape[i] : 0;
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)idx[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

static void print_detail(FILE *out, const ls_exec *ex, const ls_tmap *ref, const ls_diff_row *row,
                         const char *title)
{
    const ls_graph *g = ls_exec_graph(ex);
    const ls_node *nd = ls_graph_node(g, row->node);
    const ls_tensor *ours = ls_exec_out(ex, row->node);
    const ls_tensor *theirs = ls_tmap_get(ref, nd->name);
    char params[256], shape[64], idx[96];
    fprintf(out, "\n%s: %s\n", title, nd->name);
    int c = row->node;
    while (ls_graph_node(g, c)->op == LS_OP_ALIAS)
        c = ls_graph_node(g, c)->in[0];
    if (c != row->node)
        fprintf(out, "  is        %s\n", ls_graph_node(g, c)->name);
    nd = ls_graph_node(g, c);
    ls_op_params_str(nd->op, &nd->p, nd->n_in, params, sizeof params);
    fprintf(out, "  op        %s(%s)\n", ls_op_name(nd->op), params);
    for (int k = 0; k < nd->n_in; k++) {
        const ls_node *in = ls_graph_node(g, nd->in[k]);
        fprintf(out, "  input %d   %s %s %s\n", k, in->name, ls_dtype_name(in->out.dtype),
                ls_shape_str(&in->out, shape, sizeof shape));
    }
    fprintf(out, "  output    %s %s\n", ls_dtype_name(ours->dtype),
            ls_shape_str(ours, shape, sizeof shape));
    if (row->cmp.status == LS_CMP_SHAPE) {
        fprintf(out, "  reference %s %s (shapes differ)\n", ls_dtype_name(theirs->dtype),
                ls_shape_str(theirs, shape, sizeof shape));
        return;
    }
    fprintf(out, "  error     max abs %.6g, max rel %.6g (scale %.6g), %lld elements over tolerance",
            row->cmp.max_abs, row->cmp.max_rel, row->cmp.scale, (long long)row->cmp.mismatches);
    if (row->cmp.nonfinite)
        fprintf(out, ", %lld NaN/Inf disagreements", (long long)row->cmp.nonfinite);
    fputc('\n', out);
    if (row->verdict == LS_DIFF_LOCAL || row->verdict == LS_DIFF_INHERITED)
        fprintf(out, "  verdict   %s: rerun with the reference's inputs (%d of %d from the "
                     "reference) gives max abs %.6g\n",
                row->verdict == LS_DIFF_LOCAL ? "LOCAL fault in this op"
                                              : "inherited from upstream",
                row->ref_inputs, nd->n_in, row->recheck.max_abs);
    if (row->cmp.worst < 0)
        return;
    index_str(ours, row->cmp.worst, idx, sizeof idx);
    fprintf(out, "  worst     at %s\n", idx);
    /* a window along the last dimension around the worst element */
    int64_t last = ours->ndim ? ours->shape[ours->ndim - 1] : 1;
    int64_t pos = row->cmp.worst % (last ? last : 1);
    int64_t lo = pos - 3 < 0 ? 0 : pos - 3, hi = pos + 4 > last ? last : pos + 4;
    int64_t base = row->cmp.worst - pos;
    fprintf(out, "  ours     ");
    for (int64_t j = lo; j < hi; j++)
        fprintf(out, " %s%.6g", j == pos ? "*" : "", ls_tensor_get_flat(ours, base + j));
    fprintf(out, "\n  reference");
    for (int64_t j = lo; j < hi; j++)
        fprintf(out, " %s%.6g", j == pos ? "*" : "", ls_tensor_get_flat(theirs, base + j));
    fputc('\n', out);
}

void ls_diff_print(FILE *out, const ls_exec *ex, const ls_tmap *ref, const ls_diff *d, bool table)
{
    const ls_graph *g = ls_exec_graph(ex);
    int pass = 0, local = 0, inherited = 0, other = 0;
    if (table)
        fprintf(out, "%-54s %-10s %11s %11s  %s\n", "point", "op", "max abs", "max rel", "verdict");
    for (int i = 0; i < d->n; i++) {
        const ls_diff_row *row = &d->rows[i];
        switch (row->verdict) {
        case LS_DIFF_PASS: pass++; break;
        case LS_DIFF_LOCAL: local++; break;
        case LS_DIFF_INHERITED: inherited++; break;
        default: other++; break;
        }
        if (table) {
            const ls_node *nd = ls_graph_node(g, row->node);
            fprintf(out, "%-54s %-10s %11.4g %11.4g  %s\n", nd->name, ls_op_name(nd->op),
                    row->cmp.max_abs, row->cmp.max_rel, ls_diff_verdict_name(row->verdict));
        }
    }
    fprintf(out, "%d points compared: %d pass, %d local faults, %d inherited, %d other "
                 "differences; %d points have no reference tensor\n",
            d->n, pass, local, inherited, other, d->n_missing);
    if (d->first_fail < 0) {
        fprintf(out, "no point differs beyond tolerance\n");
        return;
    }
    if (d->first_nonfinite >= 0)
        print_detail(out, ex, ref, &d->rows[d->first_nonfinite], "first NaN/Inf disagreement");
    /* first_local is the first difference not inherited from upstream;
     * when nothing could be rerun there (a leaf such as an input, or a
     * shape mismatch) it is no "local fault" of an op: said as it is */
    if (d->first_local >= 0)
        print_detail(out, ex, ref, &d->rows[d->first_local],
                     d->rows[d->first_local].verdict == LS_DIFF_LOCAL
                         ? "first local fault"
                         : "first difference not inherited (an input, weight or shape; no op to rerun)");
    if (d->first_fail != d->first_local)
        print_detail(out, ex, ref, &d->rows[d->first_fail], "first failing point");
    if (!table) {
        fprintf(out, "\nfailing points:");
        int shown = 0;
        for (int i = 0; i < d->n && shown < 12; i++)
            if (d->rows[i].verdict != LS_DIFF_PASS) {
                fprintf(out, "%s %s (%s)", shown ? "," : "", ls_graph_node(g, d->rows[i].node)->name,
                        ls_diff_verdict_name(d->rows[i].verdict));
                shown++;
            }
        fprintf(out, "%s\n", local + inherited + other > shown ? ", ..." : "");
    }
}

cJSON *ls_diff_json(const ls_exec *ex, const ls_tmap *ref, const ls_diff *d)
{
    (void)ref;
    const ls_graph *g = ls_exec_graph(ex);
    cJSON *root = cJSON_CreateObject();
    cJSON *rows = cJSON_AddArrayToObject(root, "points");
    for (int i = 0; i < d->n; i++) {
        const ls_diff_row *row = &d->rows[i];
        const ls_node *nd = ls_graph_node(g, row->node);
        cJSON *o = cJSON_CreateObject();
        char shape[64], params[256];
        cJSON_AddStringToObject(o, "name", nd->name);
        cJSON_AddStringToObject(o, "op", ls_op_name(nd->op));
        ls_op_params_str(nd->op, &nd->p, nd->n_in, params, sizeof params);
        cJSON_AddStringToObject(o, "params", params);
        cJSON_AddStringToObject(o, "shape", ls_shape_str(&nd->out, shape, sizeof shape));
        cJSON_AddStringToObject(o, "compare", ls_cmp_status_name(row->cmp.status));
        cJSON_AddStringToObject(o, "verdict", ls_diff_verdict_name(row->verdict));
        cJSON_AddNumberToObject(o, "max_abs", isfinite(row->cmp.max_abs) ? row->cmp.max_abs : -1);
        cJSON_AddNumberToObject(o, "max_rel", isfinite(row->cmp.max_rel) ? row->cmp.max_rel : -1);
        cJSON_AddNumberToObject(o, "scale", row->cmp.scale);
        cJSON_AddNumberToObject(o, "worst_index", (double)row->cmp.worst);
        cJSON_AddNumberToObject(o, "nonfinite", (double)row->cmp.nonfinite);
        if (row->verdict == LS_DIFF_LOCAL || row->verdict == LS_DIFF_INHERITED)
            cJSON_AddNumberToObject(o, "rerun_max_abs", row->recheck.max_abs);
        cJSON_AddItemToArray(rows, o);
    }
    cJSON_AddNumberToObject(root, "compared", d->n);
    cJSON_AddNumberToObject(root, "missing_reference", d->n_missing);
    cJSON_AddItemToObject(root, "first_fail",
                          d->first_fail >= 0
                              ? cJSON_CreateString(ls_graph_node(g, d->rows[d->first_fail].node)->name)
                              : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "first_local",
                          d->first_local >= 0
                              ? cJSON_CreateString(ls_graph_node(g, d->rows[d->first_local].node)->name)
                              : cJSON_CreateNull());
    return root;
}
