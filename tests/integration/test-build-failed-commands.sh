#!/bin/bash
# arkose-chroot build: sbuild's commands for failures and cleanup, and its %SBUILD_SHELL.
# --build-deps-failed-commands run in the dependency session as apt left it (the proxy still there),
# --build-failed-commands in the build session, --anything-failed-commands adds to both; the build still
# fails at its own stage. --chroot-cleanup-commands run at the build session's end whatever the build did,
# --post-build-failed-commands on the host after a failure only. %SBUILD_SHELL (%s) is an interactive shell
# in the session on the caller's terminal (here: script(1)'s pty, the input typed ahead), said after the
# failure's own line; without a terminal it is not run, in one line. In --chroot-setup-commands it is
# refused: the dependency layer would cache what it did.
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
command -v script > /dev/null || skip "script (bsdutils) is missing"
mkdir -p "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/plain"
cp -a "$SRC/tests/data/test-pkg" "$T/broken"
sed -i 's/^build build-arch build-indep:/build build-arch build-indep:\n\tfalse/' "$T/broken/debian/rules"
cp -a "$SRC/tests/data/test-pkg" "$T/baddep"
sed -i 's/^Standards-Version:/Build-Depends: arkose-no-such-package (>= 2)\nStandards-Version:/' "$T/baddep/debian/control"
log=$T/out/test-pkg_1.0_amd64.build
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
nothing_left() { [ -z "$(ls -A "$ARKOSE_STATE_DIR/sessions" "$ARKOSE_STATE_DIR/builds" 2>/dev/null | grep -v ':$' | grep .)" ]; }

# A successful build: the cleanup commands run after finished-build, in /build, as root; the failure ones
# do not; sbuild's chroot-update-failed commands are taken and never run; %SBUILD_BUILD_ARCH is the chroot's.
"$ARKOSE" build --chroot bookworm \
        --finished-build-commands 'echo finished-ran' \
        --chroot-cleanup-commands 'echo cleanup-ran as $(id -u) in $(pwd) for %SBUILD_BUILD_ARCH' \
        --anything-failed-commands 'echo NEVER-anything' --post-build-failed-commands "touch '$T/NEVER-pbf'" \
        --chroot-update-failed-commands 'echo NEVER-update' \
        --output "$T/out" "$T/plain" > "$T/1.out" 2> "$T/1.err"; rc=$?
expect_eq "a successful build with cleanup and failure commands succeeds" 0 "$rc"
check "the cleanup commands ran as root in /build, %SBUILD_BUILD_ARCH expanded" \
        grep -qx "cleanup-ran as 0 in /build for $(dpkg --print-architecture)" "$log"
check "after the finished-build ones" \
        sh -c "grep -n -e '^finished-ran' -e '^cleanup-ran' '$log' | cut -d: -f2 | tr '\n' ' ' | grep -qx 'finished-ran cleanup-ran as.* '"
check "no failure command ran" not grep -q NEVER "$log"
check "nor the host's post-build-failed ones" test ! -e "$T/NEVER-pbf"
check "nothing is left" nothing_left

# A failing cleanup command fails a successful build at a stage of its name.
"$ARKOSE" build --chroot bookworm --chroot-cleanup-commands 'exit 4' --json --output "$T/out" "$T/plain" \
        > "$T/2.json" 2> "$T/2.err"; rc=$?
check "a failing cleanup command fails the build ($rc): $(tail -n 1 "$T/2.err")" \
        sh -c "[ $rc -ne 0 ] && grep -q \"failed at stage 'chroot-cleanup-commands' (status 4): exit 4\" '$T/2.err'"
check "the JSON says so" grep -q '"stage": "chroot-cleanup-commands", "exit_status": 4' "$T/2.json"

# A failed build: build-failed (through --anything-failed-commands), then cleanup, then post-build-failed on the
# host in the output directory; a failing failure command does not change the failed stage or status.
"$ARKOSE" build --chroot bookworm --anything-failed-commands 'echo anything-ran in %p; exit 9' \
        --chroot-cleanup-commands 'echo cleanup-after-failure' \
        --post-build-failed-commands "pwd > '$T/pbf.txt'; echo %SBUILD_BUILD_ARCH >> '$T/pbf.txt'" \
        --post-build-commands "touch '$T/NEVER-post'" \
        --json --output "$T/out" "$T/broken" > "$T/3.json" 2> "$T/3.err"; rc=$?
check "the broken build fails ($rc)" test "$rc" -ne 0
check "at stage 'build', dpkg-buildpackage's status, whatever the failure command did" \
        grep -q '"result": "failed", "stage": "build", "exit_status": 2' "$T/3.json"
check "its failure is one warning line" grep -qx -- "arkose-chroot: --build-failed-commands 'echo anything-ran in /build/reproducible-path; exit 9' exited with status 9" "$T/3.err"
check "--anything-failed-commands ran as a build-failed command" grep -qx "anything-ran in /build/reproducible-path" "$log"
check "the cleanup commands ran after it" \
        sh -c "grep -n -e '^anything-ran' -e '^cleanup-after-failure' '$log' | cut -d: -f2 | tr '\n' ' ' | grep -qx 'anything-ran in /build/reproducible-path cleanup-after-failure '"
check "post-build-failed ran on the host in the output directory ($(tr '\n' ' ' < "$T/pbf.txt" 2>/dev/null))" \
        sh -c "[ \"\$(tr '\n' ' ' < '$T/pbf.txt')\" = '$T/out $(dpkg --print-architecture) ' ]"
check "post-build did not" test ! -e "$T/NEVER-post"
check "nothing is left" nothing_left

# Unsatisfiable build dependencies: --build-deps-failed-commands run in the dependency session, apt's proxy
# still reachable through $http_proxy; the build fails at 'dependencies' as before.
"$ARKOSE" build --chroot bookworm \
        --build-deps-failed-commands 'echo deps-failed-ran in $(pwd); test -n "$http_proxy" && echo proxy-is-set' \
        --build-failed-commands 'echo NEVER-build-failed' \
        --output "$T/out" "$T/baddep" > "$T/4.out" 2> "$T/4.err"; rc=$?
err=$(cat "$T/4.err")
check "the unsatisfiable build fails in one line ($rc): $err" sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
check "naming the dependency, as without the commands" grep -qF "stage 'dependencies' (status 100): Depends: arkose-no-such-package (>= 2)" "$T/4.err"
check "the deps-failed commands ran in the dependency session, in the build directory" \
        grep -qE "^deps-failed-ran in $ARKOSE_STATE_DIR/builds/build-[^/]+/build\$" "$log"
check "with the proxy in \$http_proxy" grep -qx "proxy-is-set" "$log"
check "not the build's failure commands" not grep -q NEVER-build-failed "$log"
check "the log still ends 'Fail-Stage: dependencies'" \
        sh -c "tail -n 2 '$log' | tr '\n' ' ' | grep -qx 'Fail-Stage: dependencies Status: failed '"
check "nothing is left" nothing_left

# %SBUILD_SHELL on a terminal: the failure's line first, then a shell in the failed build's session, as root
# in /build, with the failed tree; the build's result is the failure's.
printf 'cd reproducible-path && echo in-$(pwd)-as-$(id -u)-$((6*7)); grep -c "^.false$" debian/rules; exit 0\n' |
        timeout 600 script -qec "'$ARKOSE' build --chroot bookworm --anything-failed-commands %SBUILD_SHELL --output '$T/out' '$T/broken'" \
        /dev/null > "$T/5.out" 2>&1; rc=$?
tr -d '\r' < "$T/5.out" > "$T/5.txt"
check "the build with a shell fails ($rc)" sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "the shell ran in the session, as root, in /build ($(grep -a in- "$T/5.txt" | tail -n 1))" \
        grep -aqx "in-/build/reproducible-path-as-0-42" "$T/5.txt"
check "over the failed build's tree" sh -c "grep -aA1 -x 'in-/build/reproducible-path-as-0-42' '$T/5.txt' | tail -n 1 | grep -qx 1"
said=$(grep -an "Build failed at stage 'build'" "$T/5.txt" | head -n 1 | cut -d: -f1)
opened=$(grep -an -- "--build-failed-commands: a shell in the session" "$T/5.txt" | head -n 1 | cut -d: -f1)
check "the failure was said (line ${said:-none}) before the shell opened (line ${opened:-none})" \
        test -n "$said" -a -n "$opened" -a "${said:-0}" -lt "${opened:-0}"
check "nothing is left after the shell" nothing_left

# Without a terminal: not run, in one line; the build fails as it would.
"$ARKOSE" build --chroot bookworm --build-failed-commands '%s' --build-failed-commands 'echo after-the-shell' \
        --output "$T/out" "$T/broken" < /dev/null > "$T/6.out" 2> "$T/6.err"; rc=$?
check "without a terminal the build fails as it would ($rc)" grep -q "^arkose-chroot: Build failed at stage 'build' (dpkg-buildpackage exited with status 2)" "$T/6.err"
check "the shell is not run, in one line" grep -qx -- "arkose-chroot: --build-failed-commands '%s': %SBUILD_SHELL needs a terminal, and stdin is not one: not run" "$T/6.err"
check "the other commands still run" grep -qx "after-the-shell" "$log"
check "nothing is left" nothing_left

# Refusals, one line each, before anything is made.
err=$("$ARKOSE" build --chroot bookworm --chroot-setup-commands '%SBUILD_SHELL' --output "$T/out" "$T/plain" 2>&1); rc=$?
check "%SBUILD_SHELL in --chroot-setup-commands is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q 'cached with the build dependencies'" sh "$err"
err=$("$ARKOSE" build --chroot bookworm --chroot-cleanup-commands 'echo %x' --output "$T/out" "$T/plain" 2>&1); rc=$?
check "an unknown escape in the new commands is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
finish
