/* graph.h - a model's forward pass recorded as nodes, built once, run by
 * the executor (exec.h).  Building never computes.
 *
 *   ls_graph *g = ls_graph_new("Transformer", weights);
 *   int x = ls_graph_input(g, "enc_inputs", LS_I64, 2, (int64_t[]){2, 5});
 *   ls_graph_begin(g, "encoder", "Encoder", "");
 *     ls_graph_begin(g, "src_emb", "Embedding", "6, 32");
 *     int e = ls_g_op2(g, LS_OP_EMBEDDING, x, ls_graph_weight(g, "weight", 2, (int64_t[]){6, 32}), NULL);
 *     ls_graph_end(g, e);            // e is now the point "encoder.src_emb"
 *   ...
 *   if (!ls_graph_ok(g)) puts(ls_graph_error(g)->msg);
 *
 * Names.  Every node has a module path (the scope it was recorded in,
 * "encoders.0.self_attn") and a point name ("scores"); together the full
 * name "encoders.0.self_attn.scores", the one string used by the tree, the
 * trace, dumps, breakpoints and lessons.  A module's own output has an
 * empty point and the module path as its name.  Nodes recorded with point
 * NULL are internal (flag LS_NODE_HIDDEN): they run and can be inspected,
 * but `run`/`dump` list only named points.
 *
 * Errors are sticky: after the first failed call every builder call
 * returns -1 and does nothing, so builders check once at the end.
 * Node and module arrays are owned by the graph; pointers returned by
 * ls_graph_node() stay valid until the next builder call.
 */
#ifndef LAYERSTEP_GRAPH_H
#define LAYERSTEP_GRAPH_H

#include "layerstep/ops.h"
#include "layerstep/tmap.h"

enum {
    LS_NODE_HIDDEN = 1u << 0,  /* internal, no point name */
    LS_NODE_MODULE_OUT = 1u << 1, /* the output of a module (point "") */
    LS_NODE_PARAM = 1u << 2,   /* a weight (CONST from the weight map) */
    LS_NODE_ARG = 1u << 3,     /* a module's forward argument (see ls_graph_arg) */
};

typedef struct ls_node {
    ls_op op;
    int n_in;
    int in[LS_OP_MAX_INPUTS];
    ls_op_params p;
    ls_tensor out;       /* dtype/shape; data only for CONST nodes */
    const char *path;    /* module path, "" at the root */
    const char *point;   /* "" for a module output */
    const char *name;    /* full name */
    unsigned flags;
    int module;          /* innermost module scope (index), 0 = root */
} ls_node;

typedef struct ls_module {
    const char *path;    /* "encoders.0.self_attn"; "" for the root */
    const char *name;    /* last component: "self_attn" */
    const char *klass;   /* "RelPositionMultiHeadedAttention" */
    const char *extra;   /* repr arguments: "in_features=64, out_features=64, bias=True" */
    int parent;          /* -1 for the root */
    int depth;           /* root 0 */
    int first_node;      /* first node recorded inside (or -1) */
    int last_node;       /* last node recorded inside (or -1) */
    int out_node;        /* the module's output node, -1 if none */
} ls_module;

typedef struct ls_graph ls_graph;

/* weights may be NULL (graphs without parameters); not owned. */
ls_graph *ls_graph_new(const char *root_class, const ls_tmap *weights);
void ls_graph_free(ls_graph *g);

bool ls_graph_ok(const ls_graph *g);
const ls_error *ls_graph_error(const ls_graph *g);
/* Set a sticky error from a builder (returns -1). */
int ls_graph_fail(ls_graph *g, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int ls_graph_n_nodes(const ls_graph *g);
const ls_node *ls_graph_node(const ls_graph *g, int i);
int ls_graph_find(const ls_graph *g, const char *name);  /* -1 if absent */
int ls_graph_n_modules(const ls_graph *g);
const ls_module *ls_graph_module(const ls_graph *g, int i);
int ls_graph_find_module(const ls_graph *g, const char *path); /* -1 if absent */
const ls_tmap *ls_graph_weights(const ls_graph *g);
/* Bytes of every stored (non-view) node output: the run's activation memory. */
size_t ls_graph_activation_bytes(const ls_graph *g);

/* ---- scopes and modules ---- */
/* Opens module `name` (printf format) under the current scope. */
int ls_graph_begin(ls_graph *g, const char *klass, const char *extra, const char *name_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Closes the current module; out (or -1) becomes its output point. If out
 * already has a name, an alias node carries the module's name. Returns the
 * node that now carries the module name (or -1). */
int ls_graph_end(ls_graph *g, int out);
/* An empty module (begin + end), so the tree lists children in the
 * reference's registration order even when the forward runs them in
 * another; the forward re-enters it by name. */
void ls_graph_declare(ls_graph *g, const char *klass, const char *extra, const char *name);
/* Python's repr of a float for module reprs: shortest round-trip digits,
 * "0.1", "1e-05", "0.0".  Returns buf. */
const char *ls_py_float(double v, char *buf, size_t n);
const char *ls_graph_scope(const ls_graph *g);  /* current module path */

/* ---- leaves ---- */
int ls_graph_input(ls_graph *g, const char *point, ls_dtype dt, int ndim, const int64_t *shape);
/* t's data must outlive the graph (a weight, or memory in ls_graph_arena). */
int ls_graph_const(ls_graph *g, const char *point, const ls_tensor *t);
ls_arena *ls_graph_arena(ls_graph *g);
/* Weight "<scope>.<key>" from the weight map, checked against the expected
 * shape (ndim < 0: any shape).  Missing or mis-shaped: sticky error naming
 * the weights file, the key, got vs expected. */
int ls_graph_weight(ls_graph *g, const char *key, int ndim, const int64_t *shape);
/* Same, but returns -1 without an error when the key is absent. */
int ls_graph_weight_opt(ls_graph *g, const char *key, int ndim, const int64_t *shape);

/* ---- ops ---- */
/* Records op on inputs; point NULL = hidden node.  Shape inference runs
 * now, so a shape error is reported at build time with the node's name. */
int ls_graph_op(ls_graph *g, ls_op op, const ls_op_params *p, const int *in, int n_in,
                const char *point);
/* Gives node a point name in the current scope (or an alias if it is named). */
int ls_graph_name(ls_graph *g, int node, const char *point);
/* Always adds an alias node (tuple elements, dropout in eval). */
int ls_graph_alias(ls_graph *g, int node, const char *point);
/* Records `node` as the current module's forward argument `arg` ("query",
 * "mask"): a hidden alias "<scope>.@<arg>" that ls_graph_extract turns
 * into an input named `arg`, so one module can be fed the user's own
 * tensors.  `fill` is what a random fill puts in a bool/int argument (1
 * for a WeNet mask, True = valid; 0 for a True = masked one).  Returns the
 * alias (use it inside the module instead of node). */
int ls_graph_arg(ls_graph *g, int node, const char *arg, double fill);

/* A new graph holding only module `path` (every node recorded inside it
 * or its children), for "run one module with your own data".  Its
 * arguments become INPUT nodes: those recorded with ls_graph_arg are named
 * by the argument ("query"); any other outside value by its full name.
 * Weights stay weights.  Names inside are unchanged. */
int ls_graph_extract(const ls_graph *g, const char *path, ls_graph **out, ls_error *err);
/* What a random fill puts in a bool/int INPUT of such a graph: the
 * argument's "nothing masked" value, else 1 for ids (a real token, not
 * padding) and 0 for other bools. */
double ls_graph_input_fill(const ls_node *input);

/* Short forms for builders. */
int ls_g_op1(ls_graph *g, ls_op op, int x, const char *point);
int ls_g_op2(ls_graph *g, ls_op op, int a, int b, const char *point);
int ls_g_scalar(ls_graph *g, ls_op op, int x, float v, const char *point);
int ls_g_reshape(ls_graph *g, int x, int ndim, const int64_t *shape, const char *point);
int ls_g_permute(ls_graph *g, int x, int ndim, const int *perm, const char *point);
int ls_g_transpose(ls_graph *g, int x, int d0, int d1, const char *point);
int ls_g_slice(ls_graph *g, int x, int dim, int64_t start, int64_t end, int64_t step,
               const char *point);
int ls_g_unsqueeze(ls_graph *g, int x, int dim, const char *point);
int ls_g_contiguous(ls_graph *g, int x, const char *point);
/* w and b are node ids (b may be -1). */
int ls_g_linear(ls_graph *g, int x, int w, int b, const char *point);
int ls_g_masked_fill(ls_graph *g, int x, int mask, float value, const char *point);
int ls_g_layer_norm(ls_graph *g, int x, int w, int b, float eps, const char *point);

const ls_tensor *ls_graph_shape(const ls_graph *g, int node); /* node's out description */

#endif
