/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Loading a library on first use, after systemd's dlopen_many_sym_or_warn() (src/shared/dlfcn-util.h).
 *
 * Libraries that only some commands need (libcurl for downloads, libarchive for tarballs) are not linked:
 * each is loaded by its owning module when one of its entry points is first called. Linked, they cost
 * every run of the program, sessions included, the mapping and relocation of some forty shared objects
 * (libcurl alone drags in GnuTLS, Kerberos, LDAP, ICU through libxml2...) before main(), and every fork
 * of the program copies their page tables.
 *
 * The owning module keeps one static pointer per function (sym_foo, of typeof(foo)), set once: a cache
 * of what the dynamic linker has already made process-wide, the one kind of mutable global lib/ allows
 * besides the log level. */

#define DLSYM_PROTOTYPE(symbol) static __typeof__(symbol) *sym_##symbol
#define DLSYM_ARG(symbol) (void **) &sym_##symbol, #symbol

/* Opens @filename (a soname, "libcurl.so.4") into *@dlp unless it is open already, then resolves each
 * (void **pointer, const char *name) pair that follows, up to a NULL pointer. All or nothing: on any
 * failure the library is closed again and *@dlp stays NULL. Logs at debug level only.
 * Returns 1 if it loaded the library now, 0 if *@dlp was set already, -EOPNOTSUPP if the library or
 * one of its symbols is missing. */
int dlopen_many_sym(void **dlp, const char *filename, ...);
