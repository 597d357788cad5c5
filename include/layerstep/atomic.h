/* atomic.h - files written whole or not at all.
 *
 *   ls_atomic_file *f;
 *   ls_atomic_open("out/x.npy", &f, &err);   // writes "out/.x.npy.tmp.<pid>"
 *   ls_atomic_write(f, buf, n, &err);
 *   ls_atomic_commit(f, &err);               // fsync, rename, fsync dir; frees f
 *   // or ls_atomic_abort(f);                // unlink the temp file; frees f
 *
 * A crash or kill before commit leaves only a hidden temp file, never a
 * half-written target.  Only a regular file is ever replaced: a device
 * node, FIFO, directory or dangling symlink under the name is refused by
 * ls_atomic_open; a symlink to a regular file is followed, and the file it
 * points to is replaced (the link itself stays).
 */
#ifndef LAYERSTEP_ATOMIC_H
#define LAYERSTEP_ATOMIC_H

#include <stddef.h>
#include <sys/stat.h>

#include "layerstep/error.h"

typedef struct ls_atomic_file ls_atomic_file;

int ls_atomic_open(const char *path, ls_atomic_file **out, ls_error *err);
/* Whether path could be written later: refused as ls_atomic_open would,
 * or its folder missing or not writable.  For outputs written only at the
 * end (--record), so a bad path fails before the work, not after. */
int ls_atomic_check(const char *path, ls_error *err);
int ls_atomic_write(ls_atomic_file *f, const void *buf, size_t n, ls_error *err);
int ls_atomic_commit(ls_atomic_file *f, ls_error *err);
void ls_atomic_abort(ls_atomic_file *f);
/* One call for a whole buffer. */
int ls_atomic_write_file(const char *path, const void *buf, size_t n, ls_error *err);
/* Opens path for reading without blocking (a FIFO with no writer would
 * hang open()), checks it is a regular file and fills *st.  Returns the fd
 * (blocking again), or a negative LS_ERR_IO with a message naming the file
 * and what it is instead: a directory, a FIFO, a device, a dangling
 * symlink.  Every loader opens its files through this. */
int ls_open_regular(const char *path, struct stat *st, ls_error *err);
/* Reads a whole file (at most max_bytes) into a malloc'ed buffer with a
 * trailing NUL not counted in *len. */
int ls_read_file(const char *path, size_t max_bytes, void **buf, size_t *len, ls_error *err);

#endif
