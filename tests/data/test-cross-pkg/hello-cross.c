/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <zlib.h>

int main(void) {
        printf("Hello from arkose-chroot, zlib %s\n", zlibVersion());
        return 0;
}
