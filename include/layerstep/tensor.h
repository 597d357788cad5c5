/* tensor.h - float32 / int64 / bool tensors of up to 4 dims, with views.
 *
 *   int64_t shape[3] = {2, 6, 32};
 *   ls_tensor x;
 *   ls_tensor_alloc(arena, LS_F32, 3, shape, &x, &err);   // contiguous, zeroed
 *   ls_tensor v, h;
 *   ls_tensor_reshape(&x, 4, (int64_t[]){2, 6, 4, 8}, &v, &err);  // no copy
 *   ls_tensor_transpose(&v, 1, 2, &h, &err);                      // [2,4,6,8], no copy
 *
 * An ls_tensor is a small value: dtype, shape, strides (in elements) and a
 * data pointer it does not own.  Data lives in an arena, a weight file
 * mapping, or a caller's buffer.  Views share data with their base.
 * A tensor with data == NULL is a shape-only description (used while a
 * graph is built); view functions work on those too.
 */
#ifndef LAYERSTEP_TENSOR_H
#define LAYERSTEP_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerstep/arena.h"
#include "layerstep/error.h"

#define LS_MAX_DIMS 4

typedef enum ls_dtype { LS_F32 = 0, LS_I64, LS_BOOL, LS_DTYPE_COUNT } ls_dtype;

typedef struct ls_tensor {
    ls_dtype dtype;
    int ndim;                      /* 0..4; 0 is a scalar */
    int64_t shape[LS_MAX_DIMS];
    int64_t stride[LS_MAX_DIMS];   /* in elements */
    void *data;                    /* points at element [0,0,...] */
} ls_tensor;

size_t ls_dtype_size(ls_dtype dt);
const char *ls_dtype_name(ls_dtype dt); /* "float32", "int64", "bool" */

int64_t ls_tensor_numel(const ls_tensor *t);
size_t ls_tensor_nbytes(const ls_tensor *t); /* numel * dtype size */
bool ls_tensor_is_contiguous(const ls_tensor *t);
bool ls_tensor_same_shape(const ls_tensor *a, const ls_tensor *b);

/* Checks dims are > 0 (0 allowed when allow_zero) and the element count
 * fits in int64 and in size_t bytes.  Used by every loader before it
 * allocates. */
int ls_shape_check(int ndim, const int64_t *shape, ls_dtype dt, bool allow_zero,
                   ls_error *err);

/* A contiguous description (strides filled, data as given, may be NULL). */
ls_tensor ls_tensor_make(ls_dtype dt, int ndim, const int64_t *shape, void *data);
/* Contiguous tensor with zeroed storage from the arena. */
int ls_tensor_alloc(ls_arena *a, ls_dtype dt, int ndim, const int64_t *shape,
                    ls_tensor *out, ls_error *err);

/* ---- views: never copy; work on shape-only tensors too ---- */
/* shape may contain one -1.  Needs a contiguous input. */
int ls_tensor_reshape(const ls_tensor *t, int ndim, const int64_t *shape,
                      ls_tensor *out, ls_error *err);
int ls_tensor_permute(const ls_tensor *t, const int *perm, ls_tensor *out,
                      ls_error *err);
int ls_tensor_transpose(const ls_tensor *t, int d0, int d1, ls_tensor *out,
                        ls_error *err);
/* Python-style t[start:end:step] on one dim; negative start/end count from
 * the end; end is clamped; step >= 1. */
int ls_tensor_slice(const ls_tensor *t, int dim, int64_t start, int64_t end,
                    int64_t step, ls_tensor *out, ls_error *err);
int ls_tensor_unsqueeze(const ls_tensor *t, int dim, ls_tensor *out, ls_error *err);
int ls_tensor_squeeze(const ls_tensor *t, int dim, ls_tensor *out, ls_error *err);
/* Repeats size-1 dims to shape by giving them stride 0 (read-only view). */
int ls_tensor_expand(const ls_tensor *t, int ndim, const int64_t *shape,
                     ls_tensor *out, ls_error *err);

/* ---- copies ---- */
/* dst and src must have equal shape and dtype; any strides. */
void ls_tensor_copy(ls_tensor *dst, const ls_tensor *src);
/* New contiguous copy in the arena. */
int ls_tensor_contiguous(ls_arena *a, const ls_tensor *t, ls_tensor *out,
                         ls_error *err);

/* ---- element access (for tests, printing, the TUI) ---- */
/* Byte address of the element at idx (ndim indices). */
void *ls_tensor_at(const ls_tensor *t, const int64_t *idx);
/* Element as double whatever the dtype (bool -> 0/1). */
double ls_tensor_get(const ls_tensor *t, const int64_t *idx);
/* Stores v converted to the dtype.  Returns LS_ERR_RANGE and leaves the
 * cell unchanged when v does not fit (NaN or beyond +-2^63 in an int64
 * cell, NaN in a mask); f32 cells take anything (+-inf past FLT_MAX). */
int ls_tensor_set(ls_tensor *t, const int64_t *idx, double v);
/* The test ls_tensor_set makes, with a message for a user's typed value. */
int ls_tensor_value_check(ls_dtype dt, double v, ls_error *err);
/* Flat (row-major logical order) index -> value, any strides. */
double ls_tensor_get_flat(const ls_tensor *t, int64_t i);
int ls_tensor_set_flat(ls_tensor *t, int64_t i, double v);

/* "[2, 4, 5, 5]" into buf. Returns buf. */
char *ls_shape_str(const ls_tensor *t, char *buf, size_t n);

typedef struct ls_stats {
    double min, max, mean, std;
    int64_t nan, inf, count;  /* min/max/mean/std over finite values only */
} ls_stats;
void ls_tensor_stats(const ls_tensor *t, ls_stats *s);

#endif
