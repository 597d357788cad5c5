/* ops.h - the op table: every op the graph can record, its shape rule,
 * its plain reference loop, and the dispatch the executor calls.
 *
 *   ls_tensor out;
 *   const ls_tensor *in[2] = {&a, &b};
 *   ls_op_infer(LS_OP_MATMUL, &p, in, 2, &out, &err);   // shape + dtype only
 *   ls_tensor_alloc(arena, out.dtype, out.ndim, out.shape, &out, &err);
 *   ls_op_compute(LS_OP_MATMUL, &p, in, 2, &out, &ctx, &err);
 *
 * Contract for compute ops: inputs may have any strides (views are never
 * copied before an op); out is contiguous, preallocated with the shape
 * ls_op_infer gave, and fully overwritten.  View ops (reshape, permute,
 * slice, ...) have no compute: ls_op_infer on inputs with data returns the
 * view itself, data pointer included.
 *
 * Every op has a reference loop ls_<op>_ref written to be read.  A fast
 * kernel may sit beside it; ctx->reference forces the reference loops
 * (the golden tests run both ways).
 */
#ifndef LAYERSTEP_OPS_H
#define LAYERSTEP_OPS_H

#include "layerstep/tensor.h"

/* Keep LS_OP_NAMES in src/ops/dispatch.c in the same order (a
 * _Static_assert checks the count). */
typedef enum ls_op {
    /* leaves */
    LS_OP_INPUT = 0,   /* data set by the caller before a run */
    LS_OP_CONST,       /* data fixed at build (weights, literals) */
    /* views: no copy, no compute */
    LS_OP_ALIAS,       /* identity: dropout in eval, tuple elements, names */
    LS_OP_RESHAPE,     /* i[0]=ndim, i[1..4]=shape (one may be -1) */
    LS_OP_PERMUTE,     /* i[0]=ndim, i[1..4]=perm */
    LS_OP_TRANSPOSE,   /* i[0], i[1] = dims to swap */
    LS_OP_SLICE,       /* i[0]=dim, i[1]=start, i[2]=end, i[3]=step */
    LS_OP_UNSQUEEZE,   /* i[0]=dim */
    LS_OP_SQUEEZE,     /* i[0]=dim */
    LS_OP_EXPAND,      /* i[0]=ndim, i[1..4]=shape */
    /* copies */
    LS_OP_CONTIGUOUS,
    LS_OP_CONCAT,      /* n inputs, i[0]=dim */
    LS_OP_CAST,        /* i[0]=target ls_dtype */
    /* linear algebra */
    LS_OP_MATMUL,      /* a[..,M,K] @ b[..,K,N], batch dims broadcast */
    LS_OP_LINEAR,      /* x[..,K], w[N,K], optional b[N]: x W^T + b */
    /* element-wise */
    LS_OP_ADD,         /* broadcast binary ops, float32 */
    LS_OP_SUB,
    LS_OP_MUL,
    LS_OP_DIV,
    LS_OP_SCALE,       /* x * f[0] */
    LS_OP_DIV_SCALAR,  /* x / f[0] (a true division, as np.sqrt(d_k) code does) */
    LS_OP_ADD_SCALAR,  /* x + f[0] */
    LS_OP_RELU,
    LS_OP_GELU,        /* erf form */
    LS_OP_SILU,
    LS_OP_SIGMOID,
    LS_OP_TANH,
    LS_OP_GLU,         /* i[0]=dim: first half * sigmoid(second half) */
    /* masks */
    LS_OP_MASKED_FILL, /* x, mask(bool, broadcast to x): f[0] where mask */
    LS_OP_EQ_SCALAR,   /* x == f[0] -> bool (any input dtype) */
    LS_OP_LOGICAL_OR,  /* bool, broadcast */
    LS_OP_LOGICAL_NOT,
    LS_OP_TRIU_MASK,   /* no inputs; i[0]=rows, i[1]=cols, i[2]=k -> bool, True where j-i >= k */
    LS_OP_PAD_MASK,    /* lengths[B] int64; i[0]=T -> bool [B,T], True where t >= len */
    /* reductions / normalisation */
    LS_OP_SOFTMAX,     /* over the last dim, max-subtracted */
    LS_OP_LAYER_NORM,  /* x, [w], [b] over the last dim; f[0]=eps; i[0]=1 if w, i[1]=1 if b */
    LS_OP_GROUP_NORM,  /* x[B,C,T], w[C], b[C]; i[0]=groups; f[0]=eps */
    LS_OP_BATCH_NORM,  /* x[B,C,T], mean, var, w, b; f[0]=eps (eval) */
    LS_OP_ARGMAX,      /* over the last dim -> int64 */
    LS_OP_CROSS_ENTROPY, /* logits[N,V], target[N] int64 -> scalar mean; i[0]=ignore_index (or -100) */
    /* lookups and tables */
    LS_OP_EMBEDDING,   /* ids int64 [...], table[V,D] -> [...,D] */
    LS_OP_POS_TABLE,   /* no inputs; i[0]=T, i[1]=D -> [T,D] sinusoid */
    /* convolutions (no dilation) */
    LS_OP_CONV1D,      /* x[B,C,T], w[OC,C/g,K], [b]; i[0]=stride, i[1]=pad, i[2]=groups */
    LS_OP_CONV2D,      /* x[B,C,H,W], w[OC,C,KH,KW], [b]; i[0]=stride, i[1]=pad */
    /* added for wav2vec2 */
    LS_OP_CONV_LEN,    /* lengths int64; i[0]=kernel, i[1]=stride, i[2]=pad ->
                          max(0, floor((L + 2*pad - kernel) / stride) + 1), int64 */
    LS_OP_WEIGHT_NORM, /* v, g; i[0]=dim: g * v / ||v||, the norm over every dim but
                          `dim`, g sized 1 except on `dim` (torch weight_norm) */
    LS_OP_COUNT
} ls_op;

#define LS_OP_MAX_INPUTS 8

typedef struct ls_op_params {
    int64_t i[8];
    float f[4];
} ls_op_params;

typedef enum ls_op_kind { LS_KIND_LEAF, LS_KIND_VIEW, LS_KIND_COMPUTE } ls_op_kind;

struct ls_pool;
struct ls_pack_cache;

typedef struct ls_op_ctx {
    bool reference;   /* force the plain reference loops */
    int threads;      /* 0 or 1: single thread; more needs pool */
    /* Optional (zero is fine; see kernels.h): the executor's threads, its
     * cache of packed weights, the ISA of the micro-kernels (0 = ask the
     * CPU), and which inputs of this call are immutable weights (bit k =
     * input k), the only ones whose packed form may be cached. */
    struct ls_pool *pool;
    struct ls_pack_cache *packs;
    int isa;
    unsigned const_inputs;
    /* Set only by ls_op_prepack: pack the cacheable weights, compute
     * nothing, write nothing to out. */
    bool pack_only;
    /* Non-zero asks a running op to stop soon (a signal arrived): the
     * long kernels (GEMM blocks, the reference matmul/linear/conv rows)
     * poll it and return early, leaving out unspecified; the executor
     * then discards the node.  NULL: never. */
    const _Atomic int *cancel;
} ls_op_ctx;

const char *ls_op_name(ls_op op);  /* "matmul", "softmax", ... */
ls_op_kind ls_op_kind_of(ls_op op);

/* Output dtype and shape (contiguous strides, data NULL) for compute ops;
 * the view itself for view ops.  Validates input count, dtypes and shapes,
 * with a message naming the op. */
int ls_op_infer(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                ls_tensor *out, ls_error *err);

/* Runs a compute op into out (see the contract above).  Runtime data
 * errors (a token id outside the vocabulary) return LS_ERR_RANGE. */
int ls_op_compute(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                  ls_tensor *out, const ls_op_ctx *ctx, ls_error *err);

/* Packs now what the fast path of op would cache on its first call (the
 * const_inputs weights of a matmul, linear or convolution, into
 * ctx->packs), without reading the other inputs or writing out.  Best
 * effort: a weight that cannot be packed now (no memory) is packed on use
 * as before.  Nothing to do for other ops, the reference loops or a ctx
 * without a cache. */
void ls_op_prepack(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                   ls_tensor *out, const ls_op_ctx *ctx);

/* Short human description of an op's parameters: "stride=2, pad=0". */
void ls_op_params_str(ls_op op, const ls_op_params *p, int n_in, char *buf, size_t n);

/* ---- the reference loops (out contiguous and preallocated) ---- */
/* Broadcasting follows numpy rules over up to 4 dims. */
int ls_broadcast_shape(const ls_tensor *a, const ls_tensor *b, int *ndim, int64_t *shape,
                       ls_error *err);

void ls_matmul_ref(const ls_tensor *a, const ls_tensor *b, ls_tensor *out);
void ls_linear_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b /*NULL*/,
                   ls_tensor *out);
void ls_binary_ref(ls_op op, const ls_tensor *a, const ls_tensor *b, ls_tensor *out);
void ls_unary_ref(ls_op op, const ls_op_params *p, const ls_tensor *x, ls_tensor *out);
void ls_glu_ref(const ls_tensor *x, int dim, ls_tensor *out);
void ls_softmax_ref(const ls_tensor *x, ls_tensor *out);
void ls_masked_fill_ref(const ls_tensor *x, const ls_tensor *mask, float value, ls_tensor *out);
void ls_layer_norm_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, float eps,
                       ls_tensor *out);
void ls_group_norm_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int groups,
                       float eps, ls_tensor *out);
void ls_batch_norm_ref(const ls_tensor *x, const ls_tensor *mean, const ls_tensor *var,
                       const ls_tensor *w, const ls_tensor *b, float eps, ls_tensor *out);
int ls_embedding_ref(const ls_tensor *ids, const ls_tensor *table, ls_tensor *out,
                     ls_error *err);
void ls_pos_table_ref(ls_tensor *out); /* out is [T,D] */
void ls_conv1d_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                   int pad, int groups, ls_tensor *out);
void ls_conv2d_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                   int pad, ls_tensor *out);
void ls_concat_ref(const ls_tensor *const *in, int n, int dim, ls_tensor *out);
void ls_argmax_ref(const ls_tensor *x, ls_tensor *out);
int ls_cross_entropy_ref(const ls_tensor *logits, const ls_tensor *target, int64_t ignore_index,
                         ls_tensor *out, ls_error *err);
void ls_conv_len_ref(const ls_tensor *len, int64_t kernel, int64_t stride, int64_t pad,
                     ls_tensor *out);
void ls_weight_norm_ref(const ls_tensor *v, const ls_tensor *g, int dim, ls_tensor *out);

#endif
