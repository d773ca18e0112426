#!/bin/bash
# arkose-chroot build --host: a real cross build, for arm64 in the amd64 build fixture, as sbuild 0.85 does
# it. The dependency stage adds arm64 to dpkg and fetches crossbuild-essential-arm64 and the arm64 build
# dependency zlib1g-dev from the mirror through the build's proxy; the build runs dpkg-buildpackage -aarm64 -B
# with the profiles "cross nocheck" and DEB_BUILD_OPTIONS=nocheck. The package (tests/data/test-cross-pkg)
# is C: its program must come out as an AArch64 binary linked against the arm64 zlib, and its Build-Depends
# name a package that exists nowhere unless the nocheck profile reached apt. A rebuild reuses the layer;
# --host equal to the build architecture is a native build; bad names are refused in one line.
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
for t in dpkg-deb dpkg-architecture file readelf; do
        command -v $t > /dev/null || skip "$t is missing on the host"
done
# sbuild's default DEB_BUILD_OPTIONS for a cross build applies only when the caller sets none.
unset DEB_BUILD_OPTIONS

mkdir -p "$T/src" "$T/out" "$T/x"
cp -a "$SRC/tests/data/test-cross-pkg" "$T/src/cross"
cp -a "$SRC/tests/data/test-pkg" "$T/src/plain"
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }

start=$(date +%s)
"$ARKOSE" build --chroot bookworm --host arm64 --json "$T/src/cross" --output "$T/out" > "$T/1.json" 2> "$T/1.err"; rc=$?
echo "# cross build (dependencies from the mirror) took $(( $(date +%s) - start )) s"
expect_eq "arkose-chroot build --host arm64 succeeds" 0 "$rc"
[ "$rc" = 0 ] || { tail -n 30 "$T/1.err"; tail -n 30 "$T/out/test-cross-pkg_1.0_arm64.build"; }
check "the JSON summary names the build and host architectures" \
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["arch"] == "amd64" and d["result"] == "ok" and d["host_arch"] == "arm64" and d["files"] == ["test-cross-pkg_1.0_arm64.buildinfo", "test-cross-pkg_1.0_arm64.changes", "test-cross-pkg_1.0_arm64.deb"]))' "$T/1.json"
deb=$T/out/test-cross-pkg_1.0_arm64.deb
check "test-cross-pkg_1.0_arm64.deb and _arm64.changes are in the output" test -s "$deb" -a -s "$T/out/test-cross-pkg_1.0_arm64.changes"
check "no arch:all package was built (-B, sbuild's default when cross)" sh -c "! ls '$T'/out/*_all.deb 2> /dev/null"
expect_eq "its Architecture field" arm64 "$(dpkg-deb -f "$deb" Architecture 2>&1)"
dpkg-deb -x "$deb" "$T/x" 2> /dev/null
what=$(file -b "$T/x/usr/bin/hello-cross" 2>&1)
check "the program is an AArch64 binary: $(echo "$what" | cut -d, -f1-2)" sh -c "echo \"\$1\" | grep -q 'ELF 64-bit LSB .*ARM aarch64'" sh "$what"
check "linked against zlib (the arm64 zlib1g-dev, a build dependency of the host architecture)" \
        sh -c "readelf -d '$T/x/usr/bin/hello-cross' | grep -q 'NEEDED.*libz.so.1'"
doc=$T/x/usr/share/doc/test-cross-pkg
expect_eq "the compiler was the cross compiler" aarch64-linux-gnu-gcc "$(cat "$doc/cc.txt" 2>&1)"
expect_eq "the build profiles were sbuild's cross default" "cross nocheck" "$(cat "$doc/build-profiles.txt" 2>&1)"
expect_eq "DEB_BUILD_OPTIONS had nocheck" "nocheck parallel=$(nproc)" "$(cat "$doc/build-options.txt" 2>&1)"
expect_eq "CONFIG_SITE was dpkg-cross's" /etc/dpkg-cross/cross-config.arm64 "$(cat "$doc/config-site.txt" 2>&1)"
log=$T/out/test-cross-pkg_1.0_arm64.build
check "the dependencies came from the mirror through the proxy: crossbuild-essential-arm64, zlib1g-dev:arm64" \
        sh -c "grep -q '^--- dependencies: package sources through the host.s proxy' '$log' && grep -q '^Get:.* crossbuild-essential-arm64 ' '$log' && grep -q '^Get:.* zlib1g-dev arm64 ' '$log' && grep -q '^Setting up crossbuild-essential-arm64' '$log' && grep -q '^Setting up zlib1g-dev:arm64' '$log'"
check "the build ran offline as nobody, for arm64" grep -q "^Cross-building test-cross-pkg 1.0 for arm64 in 'bookworm@2' (amd64) as 'nobody', network off" "$T/1.err"
layer=$(ls -d "$ARKOSE_STATE_DIR"/cache/deps/*/upper 2> /dev/null | head -n 1)
check "the layer has arm64 as a dpkg architecture, the tree does not" \
        sh -c "grep -qx arm64 '$layer/var/lib/dpkg/arch' && ! grep -qs arm64 '$ARKOSE_STATE_DIR/trees/bookworm/1/rootfs/var/lib/dpkg/arch'"
check "the layer's key names the host architecture and the profiles" \
        sh -c "grep -qx host=arm64 '$layer/../key' && grep -qx profiles=cross,nocheck '$layer/../key'"

# The same build again (--arch picks the same chroot; --host=A is sbuild's spelling): the layer is reused.
start=$(date +%s)
DEB_BUILD_OPTIONS="nocheck noopt" "$ARKOSE" build --chroot bookworm --arch amd64 --host=arm64 \
        --pre-build-commands "echo %a > '$T/pre.txt'" "$T/src/cross" --output "$T/out" > "$T/2.out" 2>&1; rc=$?
echo "# cross rebuild took $(( $(date +%s) - start )) s"
expect_eq "the rebuild with --arch amd64 --host=arm64 succeeds" 0 "$rc"
check "it reused the dependencies layer" grep -q "^Reusing the build dependencies" "$T/2.out"
expect_eq "%a is the host architecture, as in sbuild" arm64 "$(cat "$T/pre.txt" 2>&1)"
rm -rf "$T/x" && mkdir "$T/x" && dpkg-deb -x "$deb" "$T/x" 2> /dev/null
expect_eq "the caller's DEB_BUILD_OPTIONS replace nocheck" "nocheck noopt parallel=$(nproc)" "$(cat "$doc/build-options.txt" 2>&1)"
expect_eq "one dependencies layer for both" 1 "$(ls -d "$ARKOSE_STATE_DIR"/cache/deps/*/upper | wc -l)"

# --host = the build architecture is a native build, with the native build's layer.
"$ARKOSE" build --chroot bookworm --host amd64 --json "$T/src/plain" --output "$T/out" > "$T/3.json" 2> "$T/3.err"; rc=$?
expect_eq "--host amd64 builds natively" 0 "$rc"
check "natively: host_arch amd64, -b (the arch:all package built)" \
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["host_arch"] == "amd64" and d["files"][:1] == ["test-pkg_1.0_all.deb"]))' "$T/3.json"
check "natively: no cross-building" grep -q "^Building test-pkg 1.0 in 'bookworm@2' as 'nobody'" "$T/3.err"
check "natively: no cross profile, host architecture amd64" sh -c "! grep -q cross '$T/out/test-pkg_1.0_amd64.build' && grep -q '^dpkg-buildpackage: info: host architecture amd64' '$T/out/test-pkg_1.0_amd64.build'"
"$ARKOSE" build --chroot bookworm "$T/src/plain" --output "$T/out" > "$T/4.out" 2>&1; rc=$?
check "a build without --host reuses that layer ($rc)" grep -q "^Reusing the build dependencies" "$T/4.out"

# A source with no package for the host architecture stops at sbuild's arch-check stage, before any
# dependency is installed; dpkg-architecture matches the wildcards.
err=$("$ARKOSE" build --chroot bookworm --host arm64 "$T/src/plain" --output "$T/out" 2>&1); rc=$?
check "Architecture: all only, cross: refused at arch-check in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q \"stage 'arch-check': 'test-pkg' has no package for arm64 (Architecture: all)\"" sh "$err"
check "in one line" one_line "$err"
cp -a "$T/src/cross" "$T/src/wild"
sed -i 's/^Architecture: any$/Architecture: any-amd64 hurd-any/' "$T/src/wild/debian/control"
err=$("$ARKOSE" build --chroot bookworm --host arm64 "$T/src/wild" --output "$T/out" 2>&1); rc=$?
check "wildcards that do not match arm64: refused ($err)" \
        sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q \"(Architecture: any-amd64 hurd-any all)\"" sh "$err"
sed -i 's/^Architecture: any-amd64 hurd-any$/Architecture: linux-any/' "$T/src/wild/debian/control"
"$ARKOSE" build --chroot bookworm --host arm64 --json --pre-build-commands 'exit 3' "$T/src/wild" \
        --output "$T/out" > "$T/5.json" 2> /dev/null
check "linux-any matches arm64: past arch-check, to the pre-build hook" grep -q '"stage": "pre-build-commands"' "$T/5.json"

# Bad names: one line, nothing done.
err=$("$ARKOSE" build --chroot bookworm --host arm65 "$T/src/cross" --output "$T/out" 2>&1); rc=$?
check "an unknown --host is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q \"Invalid --host 'arm65': not an architecture dpkg knows\"" sh "$err"
check "in one line" one_line "$err"
err=$("$ARKOSE" build --chroot bookworm --host 'arm64;x' "$T/src/cross" 2>&1); rc=$?
check "a malformed --host is refused ($err)" test "$rc" -ne 0
check "in one line" one_line "$err"
check "no build directory is left" sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds' 2> /dev/null)\" ]"
finish
