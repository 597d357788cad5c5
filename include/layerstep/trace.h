/* trace.h - hook consumers that print: the shape trace of `layerstep run`
 * and the module tree of `layerstep print`.
 *
 *   ls_trace tr = {.out = stdout, .only = "encoders.0.*", .stats = true};
 *   ls_exec_add_hook(ex, ls_trace_hook(&tr));
 *   ls_exec_run(ex, &err);        // one line per named point: name, op, shape
 *
 *   ls_tree_print(stdout, graph, weights);   // PyTorch repr style, layers folded
 */
#ifndef LAYERSTEP_TRACE_H
#define LAYERSTEP_TRACE_H

#include <stdio.h>

#include "layerstep/exec.h"

typedef struct ls_trace {
    FILE *out;
    const char *only;   /* glob on point names, NULL = all */
    bool stats;         /* add min/max/mean/std */
    bool all;           /* include hidden nodes and weights */
    int lines;          /* lines printed (read back by callers) */
} ls_trace;

ls_hook ls_trace_hook(ls_trace *tr);
/* Whether a node is a "point" listed by run/dump (named, not a weight). */
bool ls_node_is_point(const ls_node *nd);

/* Module tree in PyTorch's repr style, with each module's own parameter
 * shapes as a trailing comment; siblings with identical subtrees are
 * folded to "(0-5): 6 x EncoderLayer(". */
void ls_tree_print(FILE *out, const ls_graph *g, const ls_tmap *weights);

#endif
