/* io_internal.h - helpers shared by the loaders and writers in src/io/.
 * Not part of the public API. */
#ifndef LAYERSTEP_IO_INTERNAL_H
#define LAYERSTEP_IO_INTERNAL_H

#include <stddef.h>

#include "layerstep/atomic.h"
#include "layerstep/tensor.h"

/* Tensor data is referenced straight from little-endian file bytes. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "layerstep's file loaders assume a little-endian host"
#endif

/* Writes t's elements in C (row-major) order whatever its strides; bools
 * are written as 0/1 bytes. */
int ls_io_write_tensor(ls_atomic_file *f, const ls_tensor *t, const char *path, ls_error *err);

/* Reads exactly n bytes; a short read (the file shrank or lied) is an error
 * naming path and what. */
int ls_io_read_full(int fd, void *buf, size_t n, const char *path, const char *what,
                    ls_error *err);

/* ls_shape_check lets a zero-size shape such as [0, 2^40, 2^40] through,
 * but its contiguous strides would still overflow int64; loaders refuse
 * shapes whose nonzero dims multiply past the same bound. */
bool ls_io_strides_fit(int ndim, const int64_t *shape);

/* Names from untrusted files go through ls_printable (error.h) before they
 * reach a message. */

#endif
