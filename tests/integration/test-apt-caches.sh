#!/bin/bash
# apt's binary caches and the writable layers (issue 7: a session's upper after installing one small
# package at most 5 MB). create and import ship srcpkgcache.bin and make apt keep pkgcache.bin in memory,
# so installing a package writes no cache into the upper; update's clean removes only the .debs, so the
# new version does not hide the tree's srcpkgcache.bin (the next apt run would rebuild it into its upper).
. "$(dirname "$0")/lib.sh"
use_versioned_fixture vx

check "the tree ships srcpkgcache.bin" test -s "$FIXTURE_TREE/var/cache/apt/srcpkgcache.bin"
check "the tree makes apt keep pkgcache.bin in memory" \
        grep -qx 'Dir::Cache::pkgcache "";' "$FIXTURE_TREE/etc/apt/apt.conf.d/00arkose-pkgcache"
check "no unused pkgcache.bin in the tree" not test -e "$FIXTURE_TREE/var/cache/apt/pkgcache.bin"

# A package built and installed with apt in a session that lasts (a local .deb: no network), then its upper.
mkpkg='mkdir -p /tmp/p/DEBIAN && printf "Package: arktest\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t.invalid>\nDescription: t\n" > /tmp/p/DEBIAN/control && dpkg-deb -b /tmp/p /tmp/arktest.deb > /dev/null && rm -rf /tmp/p'
sid=$("$ARKOSE" -c vx --begin-session -n aptc 2> /dev/null | tail -n 1)
expect_eq "begin a session" aptc "$sid"
"$ARKOSE" --run-session -c aptc -u root -- sh -c "$mkpkg && DEBIAN_FRONTEND=noninteractive apt-get install -y /tmp/arktest.deb" > "$T/install.out" 2>&1
expect_eq "apt-get install of a package in the session" 0 $?
check "the package is installed" "$ARKOSE" --run-session -c aptc -- dpkg -s arktest
upper=$ARKOSE_STATE_DIR/sessions/aptc/upper
check "apt wrote no binary cache into the upper" not test -e "$upper/var/cache/apt/pkgcache.bin"
check "nor srcpkgcache.bin" not test -e "$upper/var/cache/apt/srcpkgcache.bin"
kb=$(du -sxk "$upper" | cut -f1)
check "the upper after installing it is at most 5 MB ($kb kB)" test "$kb" -le 5120
"$ARKOSE" --end-session -c aptc > /dev/null 2>&1; expect_eq "end the session" 0 $?

# update with its default command (apt-get update and dist-upgrade from the tree's mirror, then clean).
"$ARKOSE" update vx > "$T/update.out" 2>&1; rc=$?
expect_eq "update with the default command" 0 $rc
[ $rc = 0 ] || tail -n 5 "$T/update.out"
check "the new version still shows srcpkgcache.bin" "$ARKOSE" -c vx -- test -s /var/cache/apt/srcpkgcache.bin
# (its clean hides the .debs debootstrap left in the tree: whiteouts, not files)
check "the new version keeps no downloaded .deb" \
        test -z "$(find "$ARKOSE_STATE_DIR/trees/vx/2/layer/var/cache/apt" -type f -name '*.deb' 2>/dev/null)"

finish
