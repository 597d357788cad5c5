/* tmpdir.h - a scratch directory per test (shared by the unit tests that
 * write files): made under $TMPDIR (or /tmp), removed with everything in
 * it, subdirectories too. */
#ifndef LAYERSTEP_TESTS_TMPDIR_H
#define LAYERSTEP_TESTS_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir gets "$TMPDIR/ls_test_<tag>.XXXXXX", made; returns 0, or -1. */
static inline int test_tmpdir_make(char *dir, size_t n, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, n, "%s/ls_test_%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    return mkdtemp(dir) ? 0 : -1;
}

static inline void test_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            test_tmpdir_remove(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

#endif
