/* dump.h - write every named point of a run as <name>.npy plus
 * manifest.json (name, shape, dtype, module path, op, execution order):
 * the layout of the golden fixtures' acts/.
 *
 *   ls_dump *d;
 *   ls_dump_open("out", "encoders.*", false, &d, &err);   // refuses a foreign non-empty dir
 *   ls_exec_add_hook(ex, ls_dump_hook(d));
 *   ls_exec_run(ex, &err);
 *   ls_dump_close(d, ex, &err);                            // writes manifest.json last
 *
 * Each file is written atomically (temp, fsync, rename), so an interrupted
 * dump leaves only complete files.
 */
#ifndef LAYERSTEP_DUMP_H
#define LAYERSTEP_DUMP_H

#include "layerstep/exec.h"

typedef struct ls_dump ls_dump;

/* force: write into a non-empty directory that is not a previous dump. */
int ls_dump_open(const char *dir, const char *only, bool force, ls_dump **out, ls_error *err);
ls_hook ls_dump_hook(ls_dump *d);
/* The first write error of the hook, if any (LS_OK otherwise). */
int ls_dump_status(const ls_dump *d, ls_error *err);
int ls_dump_count(const ls_dump *d);
/* Writes manifest.json and frees d (also on error). */
int ls_dump_close(ls_dump *d, const ls_exec *ex, ls_error *err);

/* Reads a dump directory back: tensors in manifest order (or sorted file
 * names when there is no manifest). */
int ls_dump_load(const char *dir, ls_tmap **out, ls_error *err);
/* True for a folder a dump started in and did not finish (killed, a full
 * disk): its marker says "incomplete" or it has no manifest.json.  Its
 * points load, each whole, but some are missing. */
bool ls_dump_is_incomplete(const char *dir);

#endif
