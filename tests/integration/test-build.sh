#!/bin/bash
# arkose-chroot build: a .dsc with no build dependencies on the minbase fixture (build-essential comes
# from the mirror in the dependencies stage), the build itself offline; a failing build names its stage.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture bookworm
command -v dpkg-source > /dev/null || skip "dpkg-dev is missing on the host"

mkdir -p "$T/src" "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/src/"
(cd "$T/src" && dpkg-source -b test-pkg > /dev/null) || { echo "not ok - dpkg-source -b"; exit 1; }
# A symlink in the output where a result goes is replaced, not written through.
echo victim > "$T/victim"
ln -s "$T/victim" "$T/out/test-pkg_1.0_all.deb"
"$ARKOSE" build --chroot bookworm "$T/src/test-pkg_1.0.dsc" --output "$T/out" > "$T/build.out" 2>&1
rc=$?
expect_eq "build of test-pkg_1.0.dsc succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 20 "$T/build.out"
check "test-pkg_1.0_all.deb is in the output directory" test -s "$T/out/test-pkg_1.0_all.deb"
check "in place of the symlink, which pointed at a file left as it was" \
        sh -c "[ ! -L '$T/out/test-pkg_1.0_all.deb' ] && [ \"\$(cat '$T/victim')\" = victim ]"
expect_eq "the output holds the .changes and its files, and the log" \
        "test-pkg_1.0_all.deb test-pkg_1.0_amd64.build test-pkg_1.0_amd64.buildinfo test-pkg_1.0_amd64.changes" \
        "$(cd "$T/out" && ls | grep -v -- '-20..-..-..T' | tr '\n' ' ' | sed 's/ $//')"
check "with .changes, .buildinfo and the build log" test -s "$T/out/test-pkg_1.0_amd64.changes" -a -s "$T/out/test-pkg_1.0_amd64.build"
# sbuild's log names: PKG_VERSION_ARCH.build, a symlink to PKG_VERSION_ARCH-DATE.build.
first=$(readlink "$T/out/test-pkg_1.0_amd64.build")
check "the log is sbuild's PKG_VERSION_ARCH.build, linked to PKG_VERSION_ARCH-DATE.build ($first)" \
        sh -c "echo '$first' | grep -qE '^test-pkg_1.0_amd64-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z.build\$' && test -s '$T/out/$first'"
net=$(dpkg-deb --fsys-tarfile "$T/out/test-pkg_1.0_all.deb" | tar -xO ./usr/share/doc/test-pkg/netdev.txt | tr '\n' ' ')
expect_eq "the build step saw only loopback" "lo " "$net"
check "the build ran as an unprivileged user" sh -c "grep -q \"as 'nobody', network off\" '$T/build.out'"
check "the chroot's tree is unchanged (no build-essential in it)" test ! -e "$ARKOSE_STATE_DIR/trees/bookworm/1/rootfs/usr/bin/gcc"
check "no build directory is left" sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds' 2>/dev/null)\" ]"

check "the dependencies layer was published for reuse" sh -c "ls '$ARKOSE_STATE_DIR'/cache/deps/*/upper > /dev/null"
# A reader gone half way (`build | head`) fails the build like any other failure, which ends its session
# and removes its build directory: arkose-chroot was killed by SIGPIPE, leaving both behind.
"$ARKOSE" build --chroot bookworm "$T/src/test-pkg_1.0.dsc" --output "$T/out" 2> "$T/pipe.err" | head -n 1 > /dev/null
rc=${PIPESTATUS[0]}
expect_eq "a build whose output's reader is gone fails, not killed by SIGPIPE (141)" 1 "$rc"
check "in one line naming the stage: $(tail -n 1 "$T/pipe.err")" grep -q "^arkose-chroot: Build failed at stage '[a-z]*'" "$T/pipe.err"
check "and leaves no build directory or session" \
        sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds' '$ARKOSE_STATE_DIR/sessions' 2>/dev/null | grep -v ':\$' | grep .)\" ]"

# sbuild's --extra-package with a .deb file (a package built before, not in any archive): installed from the
# file in the dependency stage; a rebuilt .deb of the same name makes a new layer. It was refused ("expected a
# package name").
mkdir -p "$T/mk/DEBIAN" "$T/mk/usr/share/arkose-extra" "$T/out-x"
printf 'Package: arkose-extra-marker\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: m\n m\n' \
        > "$T/mk/DEBIAN/control"
for v in one two; do
        echo $v > "$T/mk/usr/share/arkose-extra/marker"
        dpkg-deb --root-owner-group -b "$T/mk" "$T/src/arkose-extra-marker_1.0_all.deb" > /dev/null
        (cd "$T/src" && "$ARKOSE" build --chroot bookworm --extra-package ./arkose-extra-marker_1.0_all.deb \
                --starting-build-commands 'echo marker: $(cat /usr/share/arkose-extra/marker)' \
                "$T/src/test-pkg_1.0.dsc" --output "$T/out-x" > "$T/x-$v.out" 2>&1); rc=$?
        check "--extra-package FILE.deb ($v, $rc): the build saw the package's file" \
                grep -qx "marker: $v" "$T/out-x/test-pkg_1.0_amd64.build"
done
check "the second .deb did not reuse the first one's layer" sh -c "! grep -q '^Reusing' '$T/x-two.out'"
# A directory of them, as sbuild takes it: each .deb in it (not what is not a .deb, not below it).
mkdir -p "$T/debs/sub" "$T/mk2/DEBIAN"
cp "$T/src/arkose-extra-marker_1.0_all.deb" "$T/debs/"
sed 's/^Package: .*/Package: arkose-extra-second/' "$T/mk/DEBIAN/control" > "$T/mk2/DEBIAN/control"
dpkg-deb --root-owner-group -b "$T/mk2" "$T/debs/arkose-extra-second_1.0_all.deb" > /dev/null
sed 's/^Package: .*/Package: arkose-extra-below/' "$T/mk/DEBIAN/control" > "$T/mk2/DEBIAN/control"
dpkg-deb --root-owner-group -b "$T/mk2" "$T/debs/sub/arkose-extra-below_1.0_all.deb" > /dev/null
echo 'not a package' > "$T/debs/README"
"$ARKOSE" build --chroot bookworm --extra-package "$T/debs" \
        --starting-build-commands 'for p in arkose-extra-marker arkose-extra-second arkose-extra-below; do dpkg-query -W -f "\${Package}=\${Status}\n" $p 2>/dev/null || echo "$p=none"; done' \
        "$T/src/test-pkg_1.0.dsc" --output "$T/out-x" > "$T/x-dir.out" 2>&1; rc=$?
expect_eq "--extra-package DIR: the build ran" 0 "$rc"
expect_eq "... with each .deb of the directory installed, and not the one below it" \
        "arkose-extra-marker=install ok installed arkose-extra-second=install ok installed arkose-extra-below=none" \
        "$(grep '^arkose-extra-' "$T/out-x/test-pkg_1.0_amd64.build" | tr '\n' ' ' | sed 's/ $//')"
mkdir "$T/nodebs"
err=$("$ARKOSE" build --chroot bookworm --extra-package "$T/nodebs" "$T/src/test-pkg_1.0.dsc" 2>&1); rc=$?
check "an --extra-package directory with no .deb is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && printf '%s' \"\$1\" | grep -q 'no .deb file'" sh "$err"
err=$("$ARKOSE" build --chroot bookworm --extra-package /etc/passwd "$T/src/test-pkg_1.0.dsc" 2>&1); rc=$?
check "an --extra-package file that is not a .deb is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"

# A build that fails: one line naming the stage, and a machine-readable summary.
cp -a "$SRC/tests/data/test-pkg" "$T/src/broken"
sed -i 's/^build build-arch build-indep:/build build-arch build-indep:\n\tfalse/' "$T/src/broken/debian/rules"
DEB_BUILD_OPTIONS=nocheck "$ARKOSE" build --chroot bookworm --json "$T/src/broken" --output "$T/out" > "$T/fail.json" 2> "$T/fail.err"; rc=$?
check "a failing build exits non-zero ($rc)" test "$rc" -ne 0
check "the second build reused the dependencies layer" grep -q "^Reusing the build dependencies" "$T/fail.err"
check "with --json, stdout is the JSON summary alone" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/fail.json"
check "and says which stage failed in one line, and where the log is: $(cat "$T/fail.err" | tail -n 1)" \
        grep -q "failed at stage 'build' (dpkg-buildpackage exited with status 2); log: '$T/out/test-pkg_1.0_amd64.build'" "$T/fail.err"
check "the JSON summary names the stage: $(cat "$T/fail.json")" grep -q '"result": "failed", "stage": "build"' "$T/fail.json"
check "the log link now names the failed build's log, which has the failure" \
        sh -c "[ \"\$(readlink '$T/out/test-pkg_1.0_amd64.build')\" != '$first' ] && grep -q 'false' '$T/out/test-pkg_1.0_amd64.build'"
check "and the successful build's log is still there" test -s "$T/out/$first"
# The log says what ran and ends with sbuild's summary lines (scripts look for "Status: successful").
check "the log names the command and DEB_BUILD_OPTIONS" \
        sh -c "grep -qx 'Command: dpkg-buildpackage -us -uc -b' '$T/out/$first' && grep -qx \"DEB_BUILD_OPTIONS=nocheck parallel=$(nproc)\" '$T/out/test-pkg_1.0_amd64.build'"
check "the successful build's log ends with 'Status: successful'" sh -c "tail -n 1 '$T/out/$first' | grep -qx 'Status: successful'"
check "the failed one's with 'Fail-Stage: build' and 'Status: attempted', as sbuild's" \
        sh -c "tail -n 2 '$T/out/test-pkg_1.0_amd64.build' | tr '\n' ' ' | grep -qx 'Fail-Stage: build Status: attempted '"
# Refused before anything runs (a chroot that does not exist, one not created): one line, and the output
# as it was (the log of the build before was overwritten by an empty one).
printf '[chroot]\nsuite = trixie\n' > "$ARKOSE_CONFIG_DIR/chroots.d/notmade.conf"
before=$(ls -l --time-style=full-iso "$T/out")
for c in nosuch notmade; do
        err=$("$ARKOSE" build --chroot $c "$T/src/broken" --output "$T/out" 2>&1); rc=$?
        check "a build in chroot '$c' is refused in one line ($err)" \
                sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
done
expect_eq "the output directory is unchanged" "$before" "$(ls -l --time-style=full-iso "$T/out")"
# Unsatisfiable build dependencies: one line naming the dependency apt could not install and the log; no
# session, build directory or dependency layer is left.
cp -a "$SRC/tests/data/test-pkg" "$T/src/baddep"
sed -i 's/^Standards-Version:/Build-Depends: arkose-no-such-package (>= 2)\nStandards-Version:/' "$T/src/baddep/debian/control"
layers=$(ls "$ARKOSE_STATE_DIR/cache/deps" | wc -l)
"$ARKOSE" build --chroot bookworm "$T/src/baddep" --output "$T/out" > "$T/baddep.out" 2> "$T/baddep.err"; rc=$?
err=$(cat "$T/baddep.err")
check "unsatisfiable build dependencies fail ($rc) in one line: $err" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
check "naming the dependency and the log" sh -c "echo \"\$1\" | grep -qF \"stage 'dependencies' (status 100): Depends: arkose-no-such-package (>= 2) but it is not installable; log: '$T/out/test-pkg_1.0_amd64.build'\"" sh "$err"
check "whose log has apt's words" grep -q "unmet dependencies" "$T/out/test-pkg_1.0_amd64.build"
check "and ends 'Fail-Stage: dependencies', 'Status: failed'" \
        sh -c "tail -n 2 '$T/out/test-pkg_1.0_amd64.build' | tr '\n' ' ' | grep -qx 'Fail-Stage: dependencies Status: failed '"
expect_eq "no dependency layer was added" "$layers" "$(ls "$ARKOSE_STATE_DIR/cache/deps" | wc -l)"
check "no build directory or session is left" sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds' '$ARKOSE_STATE_DIR/sessions' 2>/dev/null | grep -v ':\$' | grep .)\" ]"
err=$("$ARKOSE" build "$T/src/nonexistent.dsc" 2>&1); rc=$?
check "a missing source is one line ($err)" test "$rc" -ne 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1

# --json escapes what it prints: an output directory named with a quote and a backslash.
odd="$T/out \"q\" \\b"
mkdir -p "$odd"
"$ARKOSE" build --chroot bookworm --json "$T/src/test-pkg_1.0.dsc" --output "$odd" > "$T/odd.json" 2> /dev/null; rc=$?
expect_eq "a build into '$odd' succeeds" 0 "$rc"
expect_eq "its --json summary parses and names that directory" "$odd" \
        "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["output"])' "$T/odd.json" 2>&1)"
finish
