/* npy.h - NumPy .npy read and write (format 1.0 / 2.0 / 3.0 headers).
 *
 *   ls_tensor t;
 *   ls_npy_load("acts/encoders.0.self_attn.scores.npy", arena, &t, &err);
 *   ls_npy_save("out/scores.npy", &t, &err);     // atomic: temp, fsync, rename
 *
 * Read dtypes: '<f4', '<i8', '|b1', '|u1' (u1 read as bool), C order only,
 * up to 4 dims (0-dim scalars too).  Anything else is an error naming the
 * file and what was found.  Writes '<f4', '<i8', '|b1' in format 1.0.
 * Loaded tensors live in the caller's arena.
 */
#ifndef LAYERSTEP_NPY_H
#define LAYERSTEP_NPY_H

#include "layerstep/tensor.h"
#include "layerstep/tmap.h"

int ls_npy_load(const char *path, ls_arena *a, ls_tensor *out, ls_error *err);
int ls_npy_parse(const void *buf, size_t len, const char *name, ls_arena *a, ls_tensor *out,
                 ls_error *err);
int ls_npy_save(const char *path, const ls_tensor *t, ls_error *err);
/* Every DIR/ *.npy into a map named by file stem (sorted by name). */
int ls_npy_load_dir(const char *dir, ls_tmap **out, ls_error *err);

#endif
