/* attention.h - the one multi-head attention builder every model uses.
 *
 *   ls_attn_spec s = ls_attn_spec_default(n_heads, d_k, d_v);   // (QK^T)/sqrt(d_k), masked_fill -1e9
 *   int q = ls_attn_heads(g, ls_g_linear(g, x, wq, -1, NULL), n_heads, d_k, "q");   // [B,H,T,d_k]
 *   int k = ls_attn_heads(g, ..., n_heads, d_k, "k");
 *   int v = ls_attn_heads(g, ..., n_heads, d_v, "v");
 *   int ctx = ls_attn_core(g, q, k, v, mask, -1, &s);         // points scores, mask, attn, context
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

#endif
