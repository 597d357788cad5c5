/* tmap.h - a name -> tensor map: weights from a .safetensors file, inputs
 * from a folder of .npy files, a dump directory read back for comparison.
 *
 *   ls_tmap *w = ls_tmap_new("weights.safetensors");
 *   ls_tmap_put(w, "fc.weight", &t, &err);          // copies t into the map
 *   const ls_tensor *fc = ls_tmap_get(w, "fc.weight");
 *   ls_tmap_free(w);                                 // frees names and copies
 *
 * The map owns its names and every tensor it copied (in its arena).
 * Insertion order is kept (execution order for dumps, file order for
 * weights).  `source` names the file or folder in error messages.
 */
#ifndef LAYERSTEP_TMAP_H
#define LAYERSTEP_TMAP_H

#include "layerstep/tensor.h"

typedef struct ls_tmap ls_tmap;

ls_tmap *ls_tmap_new(const char *source);
void ls_tmap_free(ls_tmap *m);
const char *ls_tmap_source(const ls_tmap *m);
ls_arena *ls_tmap_arena(ls_tmap *m);

/* Copies t (any strides) into the map's arena; replaces an existing name. */
int ls_tmap_put(ls_tmap *m, const char *name, const ls_tensor *t, ls_error *err);
/* Stores t as given: its data must outlive the map (or live in its arena). */
int ls_tmap_put_ref(ls_tmap *m, const char *name, const ls_tensor *t, ls_error *err);
/* Takes ownership of a malloc'ed block freed with the map (a file image). */
void ls_tmap_adopt(ls_tmap *m, void *block);
/* Takes ownership of a file mapping of len bytes (munmap'ed with the map). */
void ls_tmap_adopt_map(ls_tmap *m, void *addr, size_t len);

const ls_tensor *ls_tmap_get(const ls_tmap *m, const char *name);
int ls_tmap_count(const ls_tmap *m);
const char *ls_tmap_name(const ls_tmap *m, int i);
const ls_tensor *ls_tmap_at(const ls_tmap *m, int i);
/* The shape-checked lookup every model loader uses: a missing name or a
 * wrong shape gives "<source>: tensor 'x' has shape [..], expected [..]". */
int ls_tmap_expect(const ls_tmap *m, const char *name, ls_dtype dt, int ndim,
                   const int64_t *shape, const ls_tensor **out, ls_error *err);

#endif
