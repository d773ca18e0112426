/* SPDX-License-Identifier: MIT */
/* The smallest package arkose-chroot's examples build: prints one line. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
        if (puts("Hello from arkose-chroot") == EOF || fflush(stdout) == EOF)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
