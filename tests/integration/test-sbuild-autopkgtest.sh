#!/bin/bash
# sbuild's autopkgtest chroot mode with the arkose virt server, as the issue gives it:
#   sbuild --chroot-mode=autopkgtest --autopkgtest-virt-server=arkose --autopkgtest-virt-server-opts=%r
#          -d bookworm test-pkg_1.0.dsc
# builds test-pkg_1.0_all.deb offline in a session of chroot 'bookworm' (what %r gives for -d bookworm).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sbuild-lib.sh"

use_build_chroot bookworm
make_dsc "$T/src"
mkdir -p "$T/out"
# sbuild checks that the server exists in its $path setting, then runs it through PATH: the build tree
# goes first in both. No apt update, no lintian: the build is offline and needs neither.
write_sbuildrc "$T/sbuildrc" "\$path = '$BIN_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';" \
        "\$build_user = 'sbuild';"
cd "$T/out"
start=$(date +%s)
SBUILD_CONFIG=$T/sbuildrc PATH=$BIN_DIR:$PATH timeout 1500 \
        sbuild --chroot-mode=autopkgtest --autopkgtest-virt-server=arkose --autopkgtest-virt-server-opts='%r' \
        -d bookworm "$T/src/test-pkg_1.0.dsc" >"$T/sbuild.out" 2>&1
rc=$?
echo "sbuild took $(( $(date +%s) - start )) s"
expect_eq "sbuild exit status" 0 "$rc"
[ "$rc" = 0 ] || { tail -30 "$T/sbuild.out"; tail -60 "$T"/out/*.build; }
check_deb "$T/out" bookworm
check "the build ran as sbuild's build user, not root" \
        sh -c "dpkg-deb --fsys-tarfile '$T/out/test-pkg_1.0_all.deb' | tar -xO ./usr/share/doc/test-pkg/build-uid.txt | grep -qvx 0"
finish
