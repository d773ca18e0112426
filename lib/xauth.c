/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* X authority files for sessions (lib/xauth.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xauth.h"

#define XAUTH_FAMILY_LOCAL 256
#define XAUTH_FAMILY_WILD 65535

static unsigned get_u16(const unsigned char *p) {
        return (unsigned) p[0] << 8 | p[1];
}

int xauth_make_wild(const char *data, size_t size, char **ret, size_t *ret_size) {
        unsigned char *out;
        size_t pos = 0;

        if (size == 0)
                return -ENODATA;
        if (size > XAUTH_MAX_SIZE)
                return -E2BIG;
        out = malloc(size);
        if (!out)
                return -ENOMEM;
        memcpy(out, data, size);
        while (pos < size) {
                size_t entry = pos;

                /* The family, then four counted strings. */
                if (size - pos < 2)
                        goto on_error;
                pos += 2;
                for (int k = 0; k < 4; k++) {
                        size_t n;

                        if (size - pos < 2)
                                goto on_error;
                        n = get_u16(out + pos);
                        pos += 2;
                        if (size - pos < n)
                                goto on_error;
                        pos += n;
                }
                if (get_u16(out + entry) == XAUTH_FAMILY_LOCAL) {
                        out[entry] = XAUTH_FAMILY_WILD >> 8;
                        out[entry + 1] = XAUTH_FAMILY_WILD & 0xff;
                }
        }
        *ret = (char *) out;
        *ret_size = size;
        return 0;
on_error:
        free(out);
        return -EBADMSG;
}
