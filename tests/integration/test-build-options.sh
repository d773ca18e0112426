#!/bin/bash
# arkose-chroot build: sbuild's --*-commands hooks at their points (host or session, root, escapes, output
# in the log; a failing one fails the build naming it), --keep-session (the printed commands enter and end
# the kept session), sbuild's --purge modes, sbuild's -A/--no-arch-all/--no-arch-any, and --arch choosing the chroot NAME-ARCH or
# refusing in one line.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture bookworm
command -v dpkg-source > /dev/null || skip "dpkg-dev is missing on the host"

mkdir -p "$T/src" "$T/out" "$T/ds"
cp -a "$SRC/tests/data/test-pkg" "$T/src/plain"
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
# The same --chroot-setup-commands in every build: it is part of the dependency layer's key, so all the
# builds here share one installation.
SETUP=(--chroot-setup-commands 'echo setup-in-deps-as-$(id -u)')

# All six hooks on a successful build.
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" \
        --pre-build-commands "echo pre %p %a %% > '$T/pre.txt'" \
        --starting-build-commands 'echo starting as $(id -u) in %SBUILD_PKGBUILD_DIR' \
        --starting-build-commands 'touch /build/started-marker' \
        --finished-build-commands 'echo finished %c; test -f %c' \
        --build-failed-commands 'echo never-on-success' \
        --post-build-commands "ls %c > '$T/post.txt'; pwd >> '$T/post.txt'" \
        "$T/src/plain" --output "$T/out" > "$T/1.out" 2>&1; rc=$?
expect_eq "a build with all hooks succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/1.out"
log=$T/out/test-pkg_1.0_amd64.build
check "pre-build ran on the host with the escapes expanded: $(cat "$T/pre.txt")" \
        grep -qE "^pre $ARKOSE_STATE_DIR/builds/build-[^/]+/build/reproducible-path amd64 %\$" "$T/pre.txt"
check "chroot-setup ran as root in the dependency session" grep -q "^setup-in-deps-as-0\$" "$log"
check "starting-build ran as root with %SBUILD_PKGBUILD_DIR" grep -q "^starting as 0 in /build/reproducible-path\$" "$log"
check "both starting-build commands ran, in order, before the build" \
        sh -c "grep -n -e '^--- starting-build-commands' -e '^dpkg-buildpackage: info: source package' '$log' | cut -d: -f2- | tr '\n' ' ' | grep -q '^--- starting-build-commands --- starting-build-commands dpkg-buildpackage'"
check "finished-build ran after the build with %c" grep -q "^finished /build/test-pkg_1.0_amd64.changes\$" "$log"
check "build-failed did not run" sh -c "! grep -q never-on-success '$log'"
check "post-build ran on the host in the output directory, %c there" \
        sh -c "[ \"\$(cat '$T/post.txt' | tr '\n' ' ')\" = '$T/out/test-pkg_1.0_amd64.changes $T/out ' ]"

# A failing hook fails the build at a stage named after it.
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --starting-build-commands 'exit 3' --json "$T/src/plain" \
        --output "$T/out" > "$T/2.json" 2> "$T/2.err"; rc=$?
check "a failing starting-build command fails the build ($rc)" test "$rc" -ne 0
check "naming it: $(tail -n 1 "$T/2.err")" grep -q "failed at stage 'starting-build-commands' (status 3): exit 3" "$T/2.err"
check "in the JSON summary too" grep -q '"stage": "starting-build-commands", "exit_status": 3' "$T/2.json"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --post-build-commands 'false' "$T/src/plain" --output "$T/out" \
        > /dev/null 2> "$T/3.err"; rc=$?
check "a failing post-build command fails the build: $(tail -n 1 "$T/3.err")" \
        sh -c "[ $rc -ne 0 ] && grep -q \"failed at stage 'post-build-commands' (status 1)\" '$T/3.err'"
"$ARKOSE" build --chroot bookworm --pre-build-commands 'exit 7' "$T/src/plain" --output "$T/out" > "$T/4.out" 2> "$T/4.err"; rc=$?
check "a failing pre-build command stops before the dependencies: $(tail -n 1 "$T/4.err")" \
        sh -c "[ $rc -ne 0 ] && grep -q \"failed at stage 'pre-build-commands' (status 7)\" '$T/4.err' && ! grep -q 'Installing the build' '$T/4.out'"
cp -a "$SRC/tests/data/test-pkg" "$T/src/broken"
sed -i 's/^build build-arch build-indep:/build build-arch build-indep:\n\tfalse/' "$T/src/broken/debian/rules"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --build-failed-commands 'echo failed-hook-ran; ls %p/debian/rules' \
        --finished-build-commands 'echo never-on-failure' --json "$T/src/broken" --output "$T/out" > "$T/5.json" 2> "$T/5.err"; rc=$?
check "a failed build runs build-failed-commands" grep -q "^failed-hook-ran\$" "$T/out/test-pkg_1.0_amd64.build"
check "and not finished-build-commands" sh -c "! grep -q never-on-failure '$T/out/test-pkg_1.0_amd64.build'"
check "and still fails at stage 'build' ($rc)" grep -q '"result": "failed", "stage": "build"' "$T/5.json"
# sbuild's --build-path: the source's path in the build session (the .buildinfo's Build-Path), the build
# directory above it; the default is /build/reproducible-path.
check "by default the .buildinfo says Build-Path: /build/reproducible-path" \
        grep -qx "Build-Path: /build/reproducible-path" "$T/out/test-pkg_1.0_amd64.buildinfo"
for bp in /build/test-pkg-x1/test-pkg-1.0 /tmp/arkose-bp/src; do
        rm -rf "$T/bp" && mkdir -p "$T/bp"
        "$ARKOSE" build --chroot bookworm "${SETUP[@]}" --build-path "$bp" \
                --finished-build-commands 'echo "at %p in $(pwd), results in %b: $(cd %b && ls *.deb)"' \
                --output "$T/bp" "$T/src/plain" > "$T/bp.out" 2>&1; rc=$?
        expect_eq "--build-path $bp: the build succeeds" 0 "$rc"
        # (dpkg's Debian vendor hook records a Build-Path under /build/ only)
        case $bp in
        /build/*) check "the .buildinfo's Build-Path is it" grep -qx "Build-Path: $bp" "$T/bp/test-pkg_1.0_amd64.buildinfo" ;;
        *) check "the .buildinfo has no Build-Path (dpkg records none outside /build/)" \
                not grep -q "^Build-Path:" "$T/bp/test-pkg_1.0_amd64.buildinfo" ;;
        esac
        check "%p is it; the commands run in the directory above, with the results" \
                grep -qx "at $bp in ${bp%/*}, results in ${bp%/*}: test-pkg_1.0_all.deb" "$T/bp/test-pkg_1.0_amd64.build"
done
for bp in /tmp/x x/y /usr/lib/x '/build/a b' /build/../etc/x /build/; do
        err=$("$ARKOSE" build --chroot bookworm --build-path "$bp" "$T/src/plain" --output "$T/out" 2>&1); rc=$?
        check "--build-path '$bp' is refused in one line" \
                sh -c "[ $rc = 2 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
done

# Several sources in one call, as sbuild takes them: each built in turn, the status a failure's, one line
# counting the failures; --json prints a summary line each.
rm -rf "$T/multi" && mkdir -p "$T/multi"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --json --output "$T/multi" "$T/src/broken" "$T/src/plain" \
        > "$T/multi.json" 2> "$T/multi.err"; rc=$?
check "two sources, one broken: the call fails ($rc)" test "$rc" -ne 0
check "the other is built all the same" test -f "$T/multi/test-pkg_1.0_all.deb"
check "one line counts the failures" grep -qx "arkose-chroot: 1 of 2 builds failed" "$T/multi.err"
expect_eq "--json: a summary line each, the failed one first" "failed ok" \
        "$(sed -n 's/.*"result": "\([a-z]*\)".*/\1/p' "$T/multi.json" | tr '\n' ' ' | sed 's/ $//')"
err=$("$ARKOSE" build --chroot bookworm --post-build-commands 'echo %z' "$T/src/plain" 2>&1); rc=$?
check "an unknown escape is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
check "no session or build directory is left by the hooked builds" \
        sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/sessions' '$ARKOSE_STATE_DIR/builds' 2>/dev/null | grep -v ':\$' | grep .)\" ]"

# sbuild's --purge modes: "successful" keeps the session of a failed build only, to look into it.
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --purge=successful "$T/src/plain" --output "$T/out" > "$T/p1.out" 2>&1; rc=$?
check "--purge=successful, a successful build ($rc): no session kept" \
        sh -c "[ $rc = 0 ] && ! grep -q 'is kept' '$T/p1.out' && [ -z \"\$(ls -A '$ARKOSE_STATE_DIR/sessions' '$ARKOSE_STATE_DIR/builds' 2>/dev/null | grep -v ':\$' | grep .)\" ]"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --purge-session successful "$T/src/broken" --output "$T/out" > "$T/p2.out" 2> "$T/p2.err"; rc=$?
id=$(sed -n "s/^The build session '\(.*\)' is kept.*/\1/p" "$T/p2.out")
check "--purge-session successful, a failed build ($rc): its session is kept ($id)" sh -c "[ $rc -ne 0 ] && [ -n '$id' ]"
out=$("$ARKOSE" -c "session:$id" --run-session -u root -d /build/reproducible-path -- grep -c '^.false$' debian/rules < /dev/null 2>&1)
expect_eq "the failed build's tree is there to look into" 1 "$out"
end=$(sed -n 's/^End it:    arkose-chroot //p' "$T/p2.out")
eval "\"\$ARKOSE\" $end"; rc=$?
expect_eq "the printed command ends it" 0 "$rc"
err=$("$ARKOSE" build --chroot bookworm --purge-build=sometimes "$T/src/plain" 2>&1); rc=$?
check "an unknown --purge mode is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"

# sbuild's --no-run-lintian and friends are taken (they were unknown options), --run-piuparts refused in one
# line naming what to run instead (--run-lintian and --run-autopkgtest run them: test-build-lintian,
# test-build-autopkgtest).
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --no-run-lintian --no-run-piuparts --no-run-autopkgtest \
        "$T/src/plain" --output "$T/out" > "$T/nr.out" 2>&1; rc=$?
expect_eq "a build with --no-run-lintian --no-run-piuparts --no-run-autopkgtest succeeds" 0 "$rc"
# sbuild's --no-clean-source and --bd-uninstallable-explainer apt are taken; dose3 refused in one line;
# --dpkg-source-opts reach dpkg-source when the source package is built (-Zgzip: a .tar.gz, not .tar.xz).
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --no-clean-source --bd-uninstallable-explainer apt --source \
        --dpkg-source-opts "-Zgzip -z1" "$T/src/plain" --output "$T/ds" > "$T/ds.out" 2>&1; rc=$?
expect_eq "a --source build with --dpkg-source-opts, --no-clean-source and the explainer succeeds" 0 "$rc"
check "dpkg-source took -Zgzip: the source is a .tar.gz ($(ls "$T/ds" 2>/dev/null | grep tar | tr '\n' ' '))" \
        sh -c "ls '$T'/ds/test-pkg_1.0.tar.gz > /dev/null && ! ls '$T'/ds/test-pkg_1.0.tar.xz 2>/dev/null"
check "passed as dpkg-buildpackage's --source-option" grep -q "^Command: dpkg-buildpackage .*--source-option=-Zgzip --source-option=-z1" "$T/ds/test-pkg_1.0_amd64.build"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --no-apt-update --no-apt-upgrade --no-apt-distupgrade --apt-clean \
        "$T/src/plain" --output "$T/out" > "$T/apt.out" 2>&1; rc=$?
expect_eq "sbuild's --no-apt-update, --no-apt-upgrade, --no-apt-distupgrade and --apt-clean are taken" 0 "$rc"
for o in apt-update apt-upgrade apt-distupgrade; do
        err=$("$ARKOSE" build --chroot bookworm --$o "$T/src/plain" --output "$T/out" 2>&1); rc=$?
        check "--$o is refused in one line naming 'arkose-chroot update' ($err)" \
                sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q 'arkose-chroot update NAME'" sh "$err"
done
err=$("$ARKOSE" build --chroot bookworm --bd-uninstallable-explainer dose3 "$T/src/plain" --output "$T/out" 2>&1); rc=$?
check "--bd-uninstallable-explainer dose3 is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
for t in piuparts; do
        err=$("$ARKOSE" build --chroot bookworm --run-$t "$T/src/plain" --output "$T/out" 2>&1); rc=$?
        check "--run-$t is refused in one line ($err)" \
                sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q 'build does not run $t'" sh "$err"
done

# --keep-session: the session stays; the printed commands enter it and end it.
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --keep-session "$T/src/plain" --output "$T/out" > "$T/6.out" 2>&1; rc=$?
expect_eq "a build with --keep-session succeeds" 0 "$rc"
id=$(sed -n "s/^The build session '\(.*\)' is kept.*/\1/p" "$T/6.out")
check "it names the kept session ($id)" test -n "$id"
enter=$(sed -n 's/^Enter it:  arkose-chroot //p' "$T/6.out")
check "and how to enter it ($enter)" test -n "$enter"
out=$(eval "\"\$ARKOSE\" ${enter% bash} sh -c 'id -u; ls /build/reproducible-path/debian/control'" < /dev/null 2>&1)
expect_eq "the printed command enters the kept session as root, the build there" "0 /build/reproducible-path/debian/control" "$(echo $out)"
out=$("$ARKOSE" -c "session:$id" --run-session -u nobody -d /build/reproducible-path -- sh -c 'id -u; ls ../test-pkg_1.0_all.deb' 2>&1)
expect_eq "as the build user in the build directory, the results there" "65534 ../test-pkg_1.0_all.deb" "$(echo $out)"
check "the session is listed" sh -c "'$ARKOSE' sessions | grep -q '$id'"
end=$(sed -n 's/^End it:    arkose-chroot //p' "$T/6.out")
eval "\"\$ARKOSE\" $end"; rc=$?
expect_eq "the printed command ends it ($end)" 0 "$rc"
check "the session is gone" sh -c "! '$ARKOSE' sessions | grep -q '$id'"
check "and the build directory" sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds')\" ]"

# A killed build leaves its build directory behind. 'recover', and the next build, remove it once no build
# holds it: not a running build's, not one whose kept session is still there (it lives on with it).
killed_build() {
        ARKOSE_TEST_PAUSE_AT=build-prepared "$ARKOSE" build --chroot bookworm "$T/src/plain" --output "$T/out" \
                > /dev/null 2>&1 &
        pid=$!; PIDS="$PIDS $pid"
        wait_stopped "$pid"
}
killed_build
left=$(ls "$ARKOSE_STATE_DIR/builds")
out=$("$ARKOSE" recover 2>&1)
check "recover leaves a running build's directory ($left; $out)" test -n "$left" -a -d "$ARKOSE_STATE_DIR/builds/$left"
kill -KILL "$pid"; wait "$pid" 2>/dev/null
expect_eq "once the build is killed, recover removes its directory" \
        "Removed 0 stale sessions and 1 build directory of killed builds" "$("$ARKOSE" recover 2>&1)"
check "which is gone" test ! -e "$ARKOSE_STATE_DIR/builds/$left"
killed_build
kill -KILL "$pid"; wait "$pid" 2>/dev/null
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" "$T/src/plain" --output "$T/out" > "$T/after-kill.out" 2>&1
expect_eq "the next build succeeds" 0 $?
check "and leaves no build directory: its own, nor the killed build's" \
        sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds')\" ]"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --purge-session successful "$T/src/broken" --output "$T/out" > "$T/k.out" 2>&1
id=$(sed -n "s/^The build session '\(.*\)' is kept.*/\1/p" "$T/k.out")
left=$(ls "$ARKOSE_STATE_DIR/builds")
"$ARKOSE" recover > /dev/null 2>&1
check "recover leaves the directory of a kept session ($id, $left)" test -n "$id" -a -d "$ARKOSE_STATE_DIR/builds/$left"
"$ARKOSE" -c "session:$id" --end-session
expect_eq "and removes it once that session is ended" \
        "Removed 0 stale sessions and 1 build directory of killed builds" "$("$ARKOSE" recover 2>&1)"

# What is built follows sbuild's options: -A (--arch-all) adds the Architecture: all packages and keeps the
# Architecture: any ones (an sbuild user's "-A" built only the arch:all ones before, and a source with none
# failed), --no-arch-any drops those, --no-arch-all the arch:all ones. test-pkg plus an arch:any package:
cp -a "$SRC/tests/data/test-pkg" "$T/src/both"
printf '\nPackage: test-pkg-arch\nArchitecture: any\nDescription: arch:any part\n for the -A test\n' \
        >> "$T/src/both/debian/control"
cat > "$T/src/both/debian/rules" <<'EOT'
#!/usr/bin/make -f
build build-arch build-indep:
clean:
	rm -rf debian/tmp debian/tmp-arch debian/files
binary: binary-arch binary-indep
binary-indep:
	install -d debian/tmp/DEBIAN
	dpkg-gencontrol -ptest-pkg -Pdebian/tmp
	dpkg-deb --root-owner-group --build debian/tmp ..
binary-arch:
	install -d debian/tmp-arch/DEBIAN
	dpkg-gencontrol -ptest-pkg-arch -Pdebian/tmp-arch
	dpkg-deb --root-owner-group --build debian/tmp-arch ..
.PHONY: build build-arch build-indep clean binary binary-arch binary-indep
EOT
ARCH=$(dpkg --print-architecture)
built() { (cd "$1" && ls test-pkg*.deb 2> /dev/null | tr '\n' ' '); }
for opts in "-A" "--arch-all --no-arch-any" "--no-arch-all" "--no-arch-any"; do
        dir=$T/out-$(echo "$opts" | tr -d ' -')
        mkdir -p "$dir"
        "$ARKOSE" build --chroot bookworm "${SETUP[@]}" $opts "$T/src/both" --output "$dir" > "$dir.out" 2>&1; rc=$?
        [ "$rc" = 0 ] || tail -n 5 "$dir.out"
        case $opts in
        -A) want="test-pkg-arch_1.0_${ARCH}.deb test-pkg_1.0_all.deb " ;;
        --no-arch-all) want="test-pkg-arch_1.0_${ARCH}.deb " ;;
        *) want="test-pkg_1.0_all.deb " ;;
        esac
        expect_eq "build $opts ($rc) builds what sbuild $opts builds" "$want" "$(built "$dir")"
done
# sbuild's -s (--source) adds the source package, --no-source after it takes it back.
for opts in "-s" "-s --no-source"; do
        dir=$T/out-src$(echo "$opts" | tr -d ' -')
        mkdir -p "$dir"
        "$ARKOSE" build --chroot bookworm "${SETUP[@]}" $opts "$T/src/both" --output "$dir" > "$dir.out" 2>&1; rc=$?
        [ "$rc" = 0 ] || tail -n 5 "$dir.out"
        dsc=$(cd "$dir" && ls test-pkg_1.0.dsc 2>/dev/null)
        arch=$(sed -n 's/^Architecture: //p' "$dir"/test-pkg_1.0_*.changes 2>/dev/null)
        case $opts in
        -s) expect_eq "build -s ($rc): the .dsc is among the results, the .changes lists source" \
                "test-pkg_1.0.dsc source $ARCH all" "$dsc $arch" ;;
        *) expect_eq "build -s --no-source ($rc): no .dsc, no source in the .changes" "$ARCH all" "$(echo $dsc $arch)" ;;
        esac
done
err=$("$ARKOSE" build --chroot bookworm --no-arch-all --no-arch-any "$T/src/both" --output "$T/out" 2>&1); rc=$?
check "--no-arch-all --no-arch-any is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q 'Nothing to build'" sh "$err"

# --arch: the chroot NAME-ARCH when NAME is not for ARCH; one line when there is none.
err=$("$ARKOSE" build --chroot bookworm --arch arm64 "$T/src/plain" --output "$T/out" 2>&1); rc=$?
check "--arch arm64 without a chroot for it is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q \"No chroot for architecture 'arm64': 'bookworm' is amd64, and 'bookworm-arm64' is no chroot\"" sh "$err"
err=$("$ARKOSE" build --chroot bookworm --arch i386 "$T/src/plain" --output "$T/out" 2>&1); rc=$?
check "--arch i386 picks the shipped bookworm-i386 (no tree here) ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q \"Chroot 'bookworm-i386' has not been created\"" sh "$err"
printf '[chroot]\nsuite = bookworm\nvariant = minbase\narchitecture = armhf\n' > "$ARKOSE_CONFIG_DIR/chroots.d/bookworm-i386.conf"
err=$("$ARKOSE" build --chroot bookworm --arch i386 "$T/src/plain" --output "$T/out" 2>&1); rc=$?
check "a NAME-ARCH chroot for another architecture is not taken ($err)" \
        sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q \"No chroot for architecture 'i386': 'bookworm' is amd64, and 'bookworm-i386' is not for it\"" sh "$err"
"$ARKOSE" build --chroot bookworm "${SETUP[@]}" --arch amd64 --json "$T/src/plain" --output "$T/out" > "$T/7.json" 2>&1; rc=$?
check "--arch amd64 (the chroot's) builds in bookworm ($rc)" grep -q '"chroot": "bookworm", "chroot_version": 1, "arch": "amd64", "result": "ok"' "$T/7.json"
err=$("$ARKOSE" build --arch 'i386;x' "$T/src/plain" 2>&1); rc=$?
check "a malformed --arch is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
finish
