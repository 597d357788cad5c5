/* Replays every file of a fuzz corpus through a target's entry point, so
 * the ASan/UBSan test run catches any regression without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    /* absolute: a target may change directory (the TUI's writes files) */
    char *root = realpath(argv[1], NULL);
    DIR *d = root ? opendir(root) : NULL;
    if (!d) {
        free(root);
        fprintf(stderr, "%s: cannot open\n", argv[1]);
        return 2;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len)
            LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        fclose(f);
        n++;
    }
    closedir(d);
    free(root);
    printf("replayed %d inputs from %s\n", n, argv[1]);
    return n > 0 ? 0 : 1;
}
