#!/bin/bash
# Fixture: one real debootstrap (minbase bookworm from the host's apt mirror) through
# `arkose-chroot create`, shared by the other integration tests. Also the test that create works.
set -u
ARKOSE=${ARKOSE:?}; SRC=${ARKOSE_SRC:?}; SHARED=${ARKOSE_SHARED:?}
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root"; [ "${ARK_TESTS_MUST_RUN:-0}" = 1 ] && exit 1; exit 77
fi
if [ -d "$SHARED/state/trees/fixture/current/rootfs" ] && [ "${ARK_REUSE_FIXTURE:-0}" = 1 ]; then
        echo "reusing $SHARED"; exit 0
fi
rm -rf --one-file-system "$SHARED"
mkdir -p "$SHARED/etc/chroots.d" "$SHARED/state"
cat > "$SHARED/etc/chroots.d/fixture.conf" <<EOT
[chroot]
description = bookworm minbase for the integration tests
suite = bookworm
variant = minbase
EOT
export ARKOSE_STATE_DIR=$SHARED/state ARKOSE_CONFIG_DIR=$SHARED/etc ARKOSE_DATA_DIR=$SRC ARKOSE_HOOKS_DIR=$SRC/hooks
# No spare session (lib/spare.h) left behind by the checks below: it would outlive the fixture.
export ARKOSE_SPARE_SESSIONS=0
start=$(date +%s)
"$ARKOSE" create fixture || { echo "FAIL: create fixture"; exit 1; }
echo "create took $(( $(date +%s) - start )) s"
out=$("$ARKOSE" -c fixture -- cat /etc/debian_version) || { echo "FAIL: running a command in the new tree"; exit 1; }
case "$out" in 12.*) echo "ok - debian_version $out" ;; *) echo "FAIL: unexpected debian_version '$out'"; exit 1 ;; esac
"$ARKOSE" list | grep -E '^fixture +debootstrap +1 ' || { echo "FAIL: list does not show fixture@1"; exit 1; }
grep -q "^dpkg	" "$SHARED/state/trees/fixture/1/manifest" || { echo "FAIL: the package manifest lacks dpkg"; exit 1; }
[ -z "$(ls -A "$SHARED/state/trees/fixture" | grep staging)" ] || { echo "FAIL: staging left"; exit 1; }
exit 0
