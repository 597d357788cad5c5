/* ctc.h - the CTC head and greedy decoding shared by the speech models
 * (internal to src/models). */
#ifndef LS_MODELS_CTC_H
#define LS_MODELS_CTC_H

#include "layerstep/graph.h"
#include "layerstep/model.h"

/* Records greedy CTC decoding at the root scope from log-probs [B,T,V]:
 *   topk_index         [B,T] int64, argmax per frame, padded frames set to
 *                      the blank (WeNet's ctc_greedy_search)
 *   ctc_greedy_search  [B,T] int64, repeats merged, blanks dropped, -1 after
 * pad is a bool [B,T] node, True on padded frames, or -1 for none.
 * Returns the ctc_greedy_search node (or -1 on a sticky error). */
int ls_ctc_greedy_points(ls_graph *g, int log_probs, int pad, int64_t blank);

/* The arch id_word hook for the CTC points: a unit's text in topk_index
 * and ctc_greedy_search ("·" for the blank, "▁" for a space, "" for the
 * -1 after a decoded row); NULL elsewhere or without a units file. */
const char *ls_ctc_id_word(const ls_model *m, const char *point, int64_t id, char *buf, size_t n);

/* Reads DIR/units.txt or DIR/tokens.txt into the model when present. */
int ls_units_load_dir(const char *dir, char ***units, int *n, ls_error *err);
void ls_units_free(char **units, int n);

#endif
