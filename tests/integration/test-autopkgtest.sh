#!/bin/bash
# autopkgtest PKG -- arkose CHROOT: test-pkg's own tests (one as the normal user autopkgtest makes, one
# needs-root) pass in sessions of chroot 'bookworm', offline, with a revert between them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sbuild-lib.sh"
command -v autopkgtest >/dev/null || skip "autopkgtest is not installed (tools/install-deps)"

use_build_chroot bookworm
make_dsc "$T/src"
cp -r "$SRC/tests/data/test-pkg" "$T/src/tree"
(cd "$T/src/tree" && dpkg-buildpackage -us -uc -b >/dev/null 2>&1) || { echo "not ok - building test-pkg on the host"; exit 1; }
start=$(date +%s)
PATH=$BIN_DIR:$PATH timeout 1200 autopkgtest --output-dir "$T/out" "$T/src/test-pkg_1.0_all.deb" "$T/src/test-pkg_1.0.dsc" \
        -- arkose bookworm >"$T/adt.out" 2>&1
rc=$?
echo "autopkgtest took $(( $(date +%s) - start )) s"
expect_eq "autopkgtest exit status" 0 "$rc"
[ "$rc" = 0 ] || tail -40 "$T/adt.out"
check "command1 (test-pkg-hello) passed" grep -qE '^command1 +PASS' "$T/out/summary"
check "command2 (needs-root) passed" grep -qE '^command2 +PASS' "$T/out/summary"
check "the testbed was arkose's" grep -q "autopkgtest-virt-arkose" "$T/out/testinfo.json"
finish
