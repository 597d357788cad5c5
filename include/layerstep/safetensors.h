/* safetensors.h - load a .safetensors file into a tensor map.
 *
 *   ls_tmap *w;
 *   if (ls_safetensors_load("model/weights.safetensors", &w, &err) != LS_OK) ...
 *   const ls_tensor *q = ls_tmap_get(w, "encoders.0.self_attn.linear_q.weight");
 *   ls_tmap_free(w);
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
 * then the data.  Everything is validated before any allocation that the
 * file controls: header length against the file size, JSON, dtypes (F32,
 * F16, BF16 -> float32; I64; BOOL), shapes (element count overflow),
 * offsets (inside the data, begin <= end, size == numel * dtype size, no
 * two tensors overlapping).  Errors name the file and the tensor.
 * The returned map owns everything; __metadata__ is checked (an object of
 * strings) but not kept.
 */
#ifndef LAYERSTEP_SAFETENSORS_H
#define LAYERSTEP_SAFETENSORS_H

#include "layerstep/tmap.h"

int ls_safetensors_load(const char *path, ls_tmap **out, ls_error *err);
/* Same, from a memory image (fuzzing, tests); name is used in messages. */
int ls_safetensors_parse(const void *buf, size_t len, const char *name, ls_tmap **out,
                         ls_error *err);
/* Writes every tensor of m as F32/I64/BOOL, atomically (temp, fsync, rename).
 * metadata: optional NULL-terminated key/value string pairs. */
int ls_safetensors_save(const char *path, const ls_tmap *m, const char *const *metadata,
                        ls_error *err);

#endif
