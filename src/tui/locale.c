/* A UTF-8 LC_CTYPE for the terminal whatever LANG says (see tui.h). */
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layerstep/tui.h"

static bool ctype_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

/* Where the environment's LC_CTYPE comes from, as "LANG=C"; *val the value. */
static void env_ctype(char *buf, size_t n, const char **val)
{
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0]) {
            snprintf(buf, n, "%s=%s", vars[i], v);
            *val = v;
            return;
        }
    }
    snprintf(buf, n, "no LANG or LC_ALL set (the C locale)");
    *val = NULL;
}

int ls_tui_locale_from(const char *const *fallbacks, int n, bool need_utf8, ls_error *err)
{
    /* fails as a whole when one category's locale is missing: then at
     * least the character set may still come from the environment */
    if (!setlocale(LC_ALL, ""))
        setlocale(LC_CTYPE, "");
    if (ctype_is_utf8())
        return LS_OK;
    for (int i = 0; i < n; i++)
        if (setlocale(LC_CTYPE, fallbacks[i]) && ctype_is_utf8())
            return LS_OK;
    if (!need_utf8)
        return LS_OK;
    char from[256];
    const char *val;
    env_ctype(from, sizeof from, &val);
    /* what the environment asked for, installed or not */
    char *asked = val ? setlocale(LC_CTYPE, val) : NULL;
    const char *install = "Chinese text needs a UTF-8 locale: install one (Debian: apt install "
                          "locales-all, or locales and run dpkg-reconfigure locales; C.UTF-8 "
                          "comes with libc-bin) or set LANG to one that `locale -a` lists";
    if (val && !asked)
        return ls_error_set(err, LS_ERR_ARG, "locale %s (%s) is not installed and neither is C.UTF-8 "
                            "or en_US.UTF-8; %s", val, from, install);
    return ls_error_set(err, LS_ERR_ARG, "%s is not a UTF-8 locale and neither C.UTF-8 nor "
                        "en_US.UTF-8 is installed; %s", from, install);
}

int ls_tui_locale(bool need_utf8, ls_error *err)
{
    static const char *const fallbacks[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"};
    return ls_tui_locale_from(fallbacks, (int)(sizeof fallbacks / sizeof fallbacks[0]), need_utf8, err);
}
