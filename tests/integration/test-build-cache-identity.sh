#!/bin/bash
# A build's cached dependency layer is reused only over the very tree it was made over: a chroot removed
# and made again starts at version 1 again, and its layer of before must not be stacked on the new tree
# (its key has the version's creation time besides NAME@VERSION). Real imports of the minbase fixture and
# real dependency installations from the mirror.
. "$(dirname "$0")/lib.sh"
fx=$SHARED/state/trees/fixture/1/rootfs
[ -d "$fx/etc" ] || skip "the shared fixture tree is missing (setup failed?)"
mkdir -p "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/src"

"$ARKOSE" import rx "$fx" > "$T/i1.out" 2>&1
check "rx@1 imported" grep -qx "rx@1" "$T/i1.out"
"$ARKOSE" build --chroot rx --output "$T/out" "$T/src" > "$T/b1.out" 2>&1; rc=$?
expect_eq "a first build in rx@1 succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/b1.out"
check "it installs the build dependencies" grep -q "^Installing the build dependencies of test-pkg 1.0 in 'rx@1'" "$T/b1.out"
"$ARKOSE" build --chroot rx --output "$T/out" "$T/src" > "$T/b2.out" 2>&1
check "a second build reuses them" grep -q "^Reusing the build dependencies of test-pkg 1.0 installed in 'rx@1'" "$T/b2.out"

# Removed and made again (one second at least later: the creation time has seconds).
sleep 1
"$ARKOSE" remove rx > /dev/null 2>&1
"$ARKOSE" import rx "$fx" > "$T/i2.out" 2>&1
check "rx@1 imported again" grep -qx "rx@1" "$T/i2.out"
"$ARKOSE" build --chroot rx --output "$T/out" "$T/src" > "$T/b3.out" 2>&1; rc=$?
expect_eq "a build in the new rx@1 succeeds" 0 "$rc"
check "it does not stack the old rx@1's layer: it installs them again" \
        grep -q "^Installing the build dependencies of test-pkg 1.0 in 'rx@1'" "$T/b3.out"
check "the two layers are apart in the cache" test "$(ls -d "$ARKOSE_STATE_DIR"/cache/deps/*/upper | wc -l)" = 2
finish
