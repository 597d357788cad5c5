/* attention.h - the one multi-head attention builder every model uses.
 *
 *   ls_attn_spec s = ls_attn_spec_default(n_heads, d_k, d_v);   // (QK^T)/sqrt(d_k), masked_fill -1e9
 *   int q = ls_attn_heads(g, ls_g_linear(g, x, wq, -1, NULL), n_heads, d_k, "q");   // [B,H,T,d_k]
 *   int k = ls_attn_heads(g, ..., n_heads, d_k, "k");
 *   int v = ls_attn_heads(g, ..., n_heads, d_v, "v");
 *   int ctx = ls_attn_core(g, q, k, v, mask, -1, &s);  // scores, mask, scores_masked, attn, context
 *
 * The head split, drawn once:
 *
 *   [B,T,H*d] --view--> [B,T,H,d] --transpose(1,2)--> [B,H,T,d]     (no copy)
 *   [B,H,T,d] --transpose(1,2)--> [B,T,H,d] --contiguous+view--> [B,T,H*d]
 *
 * Named points recorded in the current scope (the attention module):
 *   scores   [B,H,Tq,Tk]  scaled, before the mask
 *   mask     bool, True = masked out, as the caller built it (alias)
 *   mask_add float additive mask as applied (LS_MASK_ADD only)
 *   scores_masked  what the softmax is given: masked_fill(scores, mask,
 *            mask_value) or scores + mask_add; an alias of scores when no
 *            mask is given (always named, so every attention has it)
 *   attn     softmax output after any zeroing
 *   context  [B,Tq,H*d_v]
 * The references differ in where the scale goes, what value masks use and
 * whether masked weights are zeroed after the softmax: ls_attn_spec says.
 */
#ifndef LAYERSTEP_ATTENTION_H
#define LAYERSTEP_ATTENTION_H

#include "layerstep/graph.h"

typedef enum ls_attn_scale {
    LS_SCALE_DIV_AFTER = 0, /* (q @ k^T) / sqrt(d_k): a true division (toy Transformer) */
    LS_SCALE_MUL_AFTER,     /* (q @ k^T) * scale */
    LS_SCALE_Q_BEFORE,      /* (q * scale) @ k^T (torchaudio) */
    LS_SCALE_Q_DIV_BEFORE,  /* (q / scale) @ k^T (nn.MultiheadAttention: q / sqrt(hd)) */
} ls_attn_scale;

typedef enum ls_attn_mask_mode {
    LS_MASK_FILL = 0,  /* masked_fill(mask, mask_value) */
    LS_MASK_ADD,       /* scores + mask_add */
} ls_attn_mask_mode;

typedef struct ls_attn_spec {
    int n_heads, d_k, d_v;
    ls_attn_scale scale_mode;
    float scale;              /* divisor for DIV_AFTER (sqrtf(d_k)), factor otherwise */
    ls_attn_mask_mode mask_mode;
    float mask_value;         /* -1e9, -INFINITY, ... for LS_MASK_FILL */
    bool zero_after_softmax;  /* WeNet: attn.masked_fill(mask, 0) */
} ls_attn_spec;

/* DIV_AFTER by sqrtf(d_k), masked_fill -1e9, no zeroing. */
ls_attn_spec ls_attn_spec_default(int n_heads, int d_k, int d_v);

/* [B,T,H*d] -> [B,H,T,d] view, named `point`. */
int ls_attn_heads(ls_graph *g, int x, int n_heads, int d, const char *point);
/* [B,H,T,d] -> [B,T,H*d] (contiguous copy), named `point`. */
int ls_attn_merge(ls_graph *g, int x, const char *point);

/* scores = q k^T with the spec's scaling ("scores"). q is [B,H,Tq,d_k],
 * k is [B,H,Tk,d_k]. */
int ls_attn_scores(ls_graph *g, int q, int k, const ls_attn_spec *s);
/* From scores on: mask (bool node, True = masked, broadcastable to
 * scores; -1 for none), mask_add (float node for LS_MASK_ADD; -1 for
 * none), softmax, zeroing, @ v, merge.  Returns "context". */
int ls_attn_finish(ls_graph *g, int scores, int v, int mask, int mask_add,
                   const ls_attn_spec *s);
/* ls_attn_scores + ls_attn_finish. */
int ls_attn_core(ls_graph *g, int q, int k, int v, int mask, int mask_add,
                 const ls_attn_spec *s);

/* What the softmax made of one row of attn (one query, every key), for a
 * display that must not claim more than the numbers say.  A row with at
 * least one key left is LS_ATTN_ROW_NORMAL whatever its values; a fully
 * masked row is what the reference's masking style produces there:
 *
 *   style                                every key masked      -> softmax row
 *   masked_fill -1e9 (toy Transformer)    all scores -1e9       -> uniform 1/n
 *   + mask_add -10000 (torchaudio w2v2)   scores - 10000        -> softmax(scores):
 *                                         a shift all keys share cancels
 *   + mask_add -inf (nn.MultiheadAttn)    all -inf, exp(-inf - -inf) -> NaN
 *   masked_fill -inf, then fill 0 (WeNet) NaN, zeroed           -> 0
 *
 * Read from the values, not assumed from the spec, so an edited mask or a
 * NaN that flowed in from upstream is told as it is. */
typedef enum ls_attn_row {
    LS_ATTN_ROW_NORMAL = 0,  /* some key is unmasked: a real distribution */
    LS_ATTN_ROW_UNIFORM,     /* fully masked, every weight 1/n: equal fills */
    LS_ATTN_ROW_SHIFTED,     /* fully masked, finite, not uniform: an added
                              * mask shifted every key alike */
    LS_ATTN_ROW_NAN,         /* NaN in the row: all -inf (or NaN upstream) */
    LS_ATTN_ROW_ZEROED,      /* fully masked, all 0: zeroed after softmax */
} ls_attn_row;

/* Classifies row `row` of attn (its first ndim-1 indices; the last dim is
 * the keys).  mask: bool, True = masked, broadcastable to attn (dims of
 * size 1 or equal, aligned on the right), or NULL (nothing masked).  A NaN
 * anywhere in the row is LS_ATTN_ROW_NAN even if keys are left. */
ls_attn_row ls_attn_row_state(const ls_tensor *attn, const ls_tensor *mask, const int64_t *row);
/* One line on why the row looks so (lang: 0 = en, 1 = zh), static text. */
const char *ls_attn_row_explain(ls_attn_row state, int lang);

#endif
