/* exec.h - runs a graph node by node, calling hooks after each node.
 *
 *   ls_exec *ex;
 *   ls_exec_new(g, NULL, &ex, &err);             // allocates every output once
 *   ls_exec_set_input(ex, "enc_inputs", &ids, &err);
 *   ls_exec_add_hook(ex, (ls_hook){trace_after_node, &trace});
 *   ls_exec_run(ex, &err);                       // to the end or a pause
 *   const ls_tensor *s = ls_exec_out(ex, ls_graph_find(g, "encoder.layers.0.enc_self_attn.scores"));
 *   ls_exec_free(ex);
 *
 * Cursor model: `cursor` is the index of the next node to run; nodes
 * [0, cursor) are computed and their outputs kept for the whole run, so a
 * debugger can show any earlier tensor again.  Step into/over/out and
 * "continue to breakpoint" are run_until with a predicate.
 *
 * Editing: ls_exec_edit() returns a writable output and pins it (the
 * node, or the storage a view points into, is not recomputed while
 * pinned); ls_exec_rerun() then recomputes every later computed node.
 * Weights are copied on first edit, so the model is never changed.
 *
 * The graph must outlive the executor.  The executor owns its outputs.
 */
#ifndef LAYERSTEP_EXEC_H
#define LAYERSTEP_EXEC_H

#include "layerstep/graph.h"

typedef struct ls_exec ls_exec;

enum { LS_HOOK_CONTINUE = 0, LS_HOOK_PAUSE = 1 };

typedef struct ls_hook {
    /* Called after node `node` ran; return LS_HOOK_PAUSE to stop a run. A
     * negative return is an error: the run stops and returns it (the
     * hook keeps its own message in ud). */
    int (*after_node)(void *ud, const ls_exec *ex, int node, const ls_tensor *out);
    void *ud;
} ls_hook;

typedef bool (*ls_exec_pred)(void *ud, const ls_exec *ex, int node);

typedef struct ls_exec_opts {
    bool reference;   /* plain reference loops only */
    int threads;      /* 0 = default: every online CPU */
    /* Keep no outputs: buffers are reused once their last reader ran
     * (liveness), so only the outputs nobody reads (the results) stay
     * valid; ls_exec_out returns NULL for the others, edit/rerun refuse.
     * For timing a run without tracing; hooks still see every output. */
    bool reuse_buffers;
    /* With reuse_buffers: outputs of nodes whose name matches this glob
     * are kept too (a view's storage with it), so `run --only GLOB` keeps
     * only the points it lists.  NULL: only the results. */
    const char *keep;
    /* Refuse outputs past this many bytes (0: no limit): ls_exec_new
     * fails when its plan needs more, and so does an edit that has to
     * copy a weight.  How --max-memory bounds the TUI's edits and module
     * runs, and how tests make an allocation really fail. */
    size_t max_bytes;
    /* Weights packed for the GEMM, shared with other executors of the
     * same model (kernels.h; borrowed, must outlive the executor, safe to
     * share across threads).  NULL: the executor keeps its own cache. */
    struct ls_pack_cache *packs;
    /* Borrowed flag, non-zero when the run should stop (set by a signal
     * handler: a lock-free atomic store is async-signal-safe).  Polled
     * before each node and between rows/tiles of the long kernels; the
     * node running when it is seen is not marked computed and the step
     * returns LS_ERR_CANCELLED, so the run stays consistent (a rerun
     * after an edit rewinds the cursor to the node it stopped in).
     * NULL: never cancelled. */
    const _Atomic int *cancel;
} ls_exec_opts;

int ls_exec_new(const ls_graph *g, const ls_exec_opts *opts, ls_exec **out, ls_error *err);
/* Bytes of outputs ls_exec_new(g, opts) would allocate, worked out
 * without allocating (what a memory limit compares against): every
 * computed output and input, or with reuse_buffers the buffers its plan
 * takes (each rounded up to the arena's 64-byte alignment). */
size_t ls_exec_plan_bytes(const ls_graph *g, const ls_exec_opts *opts);
/* Bytes the fast kernels' packed copies of the graph's constant weights
 * will take (0 with reference): an estimate (rows padded to 32), for the
 * same memory limit. */
size_t ls_exec_pack_bytes(const ls_graph *g, const ls_exec_opts *opts);
/* Bytes of outputs this executor allocated (ls_exec_plan_bytes's count). */
size_t ls_exec_bytes(const ls_exec *ex);
void ls_exec_free(ls_exec *ex);
const ls_graph *ls_exec_graph(const ls_exec *ex);

/* Copies t into the INPUT node named name (dtype and shape must match). */
int ls_exec_set_input(ls_exec *ex, const char *name, const ls_tensor *t, ls_error *err);
/* Sets every INPUT node from a map by name; a missing one is an error. */
int ls_exec_set_inputs(ls_exec *ex, const ls_tmap *inputs, ls_error *err);
int ls_exec_add_hook(ls_exec *ex, ls_hook hook);

int ls_exec_cursor(const ls_exec *ex);
bool ls_exec_done(const ls_exec *ex);
/* True when the last run stopped because a hook asked to pause. */
bool ls_exec_paused(const ls_exec *ex);

/* Runs the node at the cursor (hooks are called, a pause is recorded). */
int ls_exec_step(ls_exec *ex, ls_error *err);
/* Runs until the end or until a hook pauses. */
int ls_exec_run(ls_exec *ex, ls_error *err);
/* Runs nodes until pred(node just run) is true, a hook pauses, or the end.
 * Returns LS_OK; ls_exec_cursor tells where it stopped. */
int ls_exec_run_until(ls_exec *ex, ls_exec_pred pred, void *ud, ls_error *err);
/* Packs every weight the GEMM will cache (ls_op_prepack over the graph),
 * computing nothing: the TUI calls it when a run opens, so the first step
 * into a big layer is not also the one that packs its weights (up to
 * 20 ms on the Conformer's 3x3 conv).  Best effort, no state changes
 * besides the pack cache. */
void ls_exec_prepack(ls_exec *ex);
/* Forgets every computed output (not the inputs, not the pins). */
void ls_exec_reset(ls_exec *ex);
/* Forgets the outputs of nodes [cursor, old cursor) (not inputs, not
 * pins) and moves the cursor back there; nothing if cursor is not before
 * it.  The TUI computes ahead of what the user has seen while waiting for
 * a key, and rewinds before an edit so the rerun only recomputes what was
 * seen.  Refused for reuse_buffers runs. */
int ls_exec_rewind(ls_exec *ex, int cursor, ls_error *err);

/* Output of node i; NULL if it is not computed yet (leaves always are). */
const ls_tensor *ls_exec_out(const ls_exec *ex, int node);
bool ls_exec_computed(const ls_exec *ex, int node);

/* Writable output of a computed node, pinned; NULL (and err) if not
 * computed or a broadcast (expand) view. */
ls_tensor *ls_exec_edit(ls_exec *ex, int node, ls_error *err);
bool ls_exec_is_pinned(const ls_exec *ex, int node);
/* Unpins (the caller restores the old values first, if undoing). */
void ls_exec_unpin(ls_exec *ex, int node);
/* After an edit of node `edited`: recomputes every computed node after the
 * storage node of `edited` (so consumers of a view's base are updated
 * too); pinned nodes keep their values; hooks are not called. */
int ls_exec_rerun(ls_exec *ex, int edited, ls_error *err);
/* The node whose storage `node` uses (itself unless it is a view). */
int ls_exec_storage_node(const ls_exec *ex, int node);

/* Glob match as breakpoints use it: '*' any run, '?' one char. */
bool ls_glob_match(const char *pattern, const char *s);

#endif
