/* layerstep man TEMPLATE: the manual page with its KEYS section filled
 * from the debugger's key table (run by the build, see meson.build), so
 * the page, `tui --help` and the ? screen cannot disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "layerstep/atomic.h"
#include "layerstep/tui.h"

/* One help line as roff text: backslashes doubled, a leading '.' or '\''
 * protected so it is never read as a request. */
static void put_roff_line(const char *s)
{
    if (s[0] == '.' || s[0] == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
    putchar('\n');
}

int cmd_man(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: layerstep man TEMPLATE  (prints the manual page)\n");
        return 2;
    }
    void *buf;
    size_t len;
    ls_error err = {0};
    if (ls_read_file(argv[2], 1 << 20, &buf, &len, &err)) {
        cli_error(err.msg);
        return 2;
    }
    const char *marker = ".\\\" @KEYS@\n";
    char *text = buf, *at = strstr(text, marker);
    if (!at) {
        fprintf(stderr, "layerstep man: %s has no '.\\\" @KEYS@' line\n", argv[2]);
        free(buf);
        return 2;
    }
    fwrite(text, 1, (size_t)(at - text), stdout);
    char *keys = ls_tui_help_text();
    if (!keys) {
        free(buf);
        cli_error("out of memory");
        return 2;
    }
    for (char *line = keys; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        put_roff_line(line);
        if (!nl)
            break;
        line = nl + 1;
    }
    free(keys);
    fputs(at + strlen(marker), stdout);
    free(buf);
    return ferror(stdout) ? 2 : 0;
}
