#!/bin/bash
# Fixture for the sbuild and autopkgtest tests: the shared minbase tree with build-essential and fakeroot
# (sbuild 0.85 always adds both to the build dependencies) and apt-utils (autopkgtest indexes the binaries
# it tests with apt-ftparchive) added, as version 2 of chroot
# 'buildfx' (a layer made by `arkose-chroot update`, the only step with network). Builds then run offline:
# sbuild finds its core build dependencies installed and needs no package source.
set -u
ARKOSE=${ARKOSE:?}; SRC=${ARKOSE_SRC:?}; SHARED=${ARKOSE_SHARED:?}
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root"; [ "${ARK_TESTS_MUST_RUN:-0}" = 1 ] && exit 1; exit 77
fi
B=$SHARED/build
FX=$SHARED/state/trees/fixture/1
[ -d "$FX/rootfs/etc" ] || { echo "FAIL: the shared fixture tree is missing"; exit 1; }
if grep -q "^apt-utils	" "$B/state/trees/buildfx/2/manifest" 2>/dev/null && [ "${ARK_REUSE_FIXTURE:-0}" = 1 ]; then
        echo "reusing $B"; exit 0
fi
rm -rf --one-file-system "$B"
mkdir -p "$B/etc/chroots.d" "$B/state/trees/buildfx"
printf '[chroot]\ndescription = fixture with build-essential\nsuite = bookworm\nvariant = minbase\n' \
        > "$B/etc/chroots.d/buildfx.conf"
cp -al "$FX" "$B/state/trees/buildfx/1"
ln -s 1 "$B/state/trees/buildfx/current"
export ARKOSE_STATE_DIR=$B/state ARKOSE_CONFIG_DIR=$B/etc ARKOSE_DATA_DIR=$SRC ARKOSE_HOOKS_DIR=$SRC/hooks
# No spare session (lib/spare.h) left behind by the checks below: it would outlive the fixture.
export ARKOSE_SPARE_SESSIONS=0
start=$(date +%s)
"$ARKOSE" update buildfx --command 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends build-essential fakeroot apt-utils' \
        || { echo "FAIL: update buildfx"; exit 1; }
echo "update took $(( $(date +%s) - start )) s"
[ "$(readlink "$B/state/trees/buildfx/current")" = 2 ] || { echo "FAIL: version 2 is not current"; exit 1; }
"$ARKOSE" -c buildfx -u root -- dpkg-query -W build-essential fakeroot apt-utils make dpkg-dev || { echo "FAIL: a package is missing"; exit 1; }
exit 0
