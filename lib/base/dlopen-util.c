/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

#include "base/dlopen-util.h"
#include "base/log.h"

int dlopen_many_sym(void **dlp, const char *filename, ...) {
        va_list ap;
        void *dl;
        int r = 1;

        if (*dlp)
                return 0;
        /* RTLD_NOW: a missing symbol shows here, not as a crash halfway through a download. */
        dl = dlopen(filename, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl)
                return log_debug_errno(-EOPNOTSUPP, "Failed to load %s: %s", filename, dlerror());

        va_start(ap, filename);
        for (;;) {
                void **sym = va_arg(ap, void **);
                const char *name;

                if (!sym)
                        break;
                name = va_arg(ap, const char *);
                *sym = dlsym(dl, name);
                if (!*sym) {
                        r = log_debug_errno(-EOPNOTSUPP, "Failed to find %s in %s: %s", name, filename, dlerror());
                        break;
                }
        }
        va_end(ap);

        if (r < 0) {
                (void) dlclose(dl);
                return r;
        }
        *dlp = dl;
        return 1;
}
