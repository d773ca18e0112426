#!/bin/bash
# arkose-chroot build --run-lintian: lintian, installed once per chroot version into a cached layer of its
# own (through the package-source proxy, from the mirror), runs on the build's .changes in the chroot as the
# build's user, network off, never in the build's own environment; its output and sbuild's "Lintian:" line
# are in the log and the JSON summary, and its verdict never fails the build (as in sbuild).
# --lintian-opts/--lintian-opt reach it; --no-run-lintian after it turns it off; arkose.conf's [build]
# run-lintian and lintian-opts are the defaults.
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
mkdir -p "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/src"
log=$T/out/test-pkg_1.0_amd64.build

"$ARKOSE" build --chroot bookworm --run-lintian --json \
        --finished-build-commands 'if command -v lintian; then echo LINTIAN-IN-THE-BUILD; fi' \
        --output "$T/out" "$T/src" > "$T/1.json" 2> "$T/1.err"; rc=$?
expect_eq "a build with --run-lintian succeeds, whatever lintian says" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/1.err"
check "lintian was installed once for this chroot version" grep -q "^Installing lintian in 'bookworm@2'" "$T/1.err"
check "the log has lintian's stage, its command" grep -qx "Command: lintian test-pkg_1.0_amd64.changes" "$log"
check "and its tags: test-pkg has no changelog (an error tag)" grep -q "^E: test-pkg: no-changelog" "$log"
check "sbuild's summary line: Lintian: fail (lintian's exit status 2)" grep -qx "Lintian: fail" "$log"
check "the build stands: Status: successful" grep -qx "Status: successful" "$log"
check "the JSON summary says it" grep -q '"result": "ok", .*"lintian": "fail"' "$T/1.json"
check "lintian was not in the build's environment" not grep -q LINTIAN-IN-THE-BUILD "$log"
check "nor in the chroot's tree" not "$ARKOSE" -c bookworm -- sh -c 'command -v lintian'
check "the lintian layer is cached" sh -c "ls -d '$ARKOSE_STATE_DIR'/cache/lintian/*/upper/usr/bin/lintian"

# Again: the layer is reused; lintian's options are the caller's.
"$ARKOSE" build --chroot bookworm --run-lintian --lintian-opts "--fail-on none" --lintian-opt=--suppress-tags=no-changelog \
        --output "$T/out" "$T/src" > "$T/2.out" 2>&1; rc=$?
expect_eq "a second build succeeds" 0 "$rc"
check "reusing the lintian layer" grep -q "^Reusing lintian installed in 'bookworm@2'" "$T/2.out"
check "its options reached lintian" grep -qx "Command: lintian --fail-on none --suppress-tags=no-changelog test-pkg_1.0_amd64.changes" "$log"
check "the suppressed tag is gone" not grep -q "^E: test-pkg: no-changelog" "$log"
check "a warning is left: Lintian: warn" grep -qx "Lintian: warn" "$log"

# arkose.conf's [build] run-lintian = yes (sbuild's $run_lintian) and lintian-opts: the default, before the
# options' own; --no-run-lintian overrides it.
printf '[build]\nrun-lintian = yes\nlintian-opts = --fail-on none\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
"$ARKOSE" build --chroot bookworm --lintian-opt=--suppress-tags=no-manual-page --output "$T/out" "$T/src" > "$T/c1.out" 2>&1; rc=$?
expect_eq "a build with arkose.conf's run-lintian = yes succeeds" 0 "$rc"
check "it ran lintian with arkose.conf's options, then the build's" \
        grep -qx "Command: lintian --fail-on none --suppress-tags=no-manual-page test-pkg_1.0_amd64.changes" "$log"
check "Lintian: pass (an error tag, but --fail-on none; sbuild reads only W: and I: then)" grep -qx "Lintian: pass" "$log"
"$ARKOSE" build --chroot bookworm --no-run-lintian --output "$T/out" "$T/src" > "$T/c2.out" 2>&1
check "--no-run-lintian overrides arkose.conf's" not grep -q "lintian" "$log"
rm -f "$ARKOSE_CONFIG_DIR/arkose.conf"

# --no-run-lintian after it: sbuild's, the later wins.
"$ARKOSE" build --chroot bookworm --run-lintian --no-run-lintian --output "$T/out" "$T/src" > "$T/3.out" 2>&1; rc=$?
expect_eq "--run-lintian --no-run-lintian builds" 0 "$rc"
check "without lintian" not grep -q "lintian" "$log"
finish
