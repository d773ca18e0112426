#!/bin/bash
# arkose-chroot build --run-autopkgtest: the real autopkgtest runs the package's tests on the build's
# results, its testbeds sessions of the same chroot version through autopkgtest-virt-arkose; its output is
# a stage of the log, sbuild's "Autopkgtest:" line (pass, no tests, fail) goes to the summary and the JSON,
# and, as in sbuild, it never fails the build. --autopkgtest-opts reach autopkgtest.
. "$(dirname "$0")/lib.sh"
command -v autopkgtest > /dev/null || skip "autopkgtest is not installed (tools/install-deps)"
use_build_fixture bookworm
mkdir -p "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/pass"
cp -a "$SRC/tests/data/test-pkg" "$T/fail"
printf 'Test-Command: test-pkg-hello | grep -qx "something else"\nDepends: @\n' > "$T/fail/debian/tests/control"
cp -a "$SRC/tests/data/test-pkg" "$T/none"
rm -r "$T/none/debian/tests"
log=$T/out/test-pkg_1.0_amd64.build

# The package's two tests (one needs root) pass.
"$ARKOSE" build --chroot bookworm --run-autopkgtest --autopkgtest-opt=--no-built-binaries --json \
        --output "$T/out" "$T/pass" > "$T/1.json" 2> "$T/1.err"; rc=$?
expect_eq "a build with --run-autopkgtest succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 20 "$T/1.err"
check "autopkgtest ran in sessions of bookworm@2" \
        grep -q "^Command: autopkgtest --no-built-binaries $T/pass/ $ARKOSE_STATE_DIR/builds/build-[^/]*/build/test-pkg_1.0_amd64.changes -- .*autopkgtest-virt-arkose --network host .* bookworm@2\$" "$log"
check "both tests passed" sh -c "grep -qE '^command1 +PASS' '$log' && grep -qE '^command2 +PASS' '$log'"
check "sbuild's summary line: Autopkgtest: pass" grep -qx "Autopkgtest: pass" "$log"
check "the JSON summary says it" grep -q '"autopkgtest": "pass"' "$T/1.json"
check "no session is left" sh -c "[ -z \"\$('$ARKOSE' sessions | awk 'NR > 1')\" ]"

# A failing test: the build stands, the verdict says it.
"$ARKOSE" build --chroot bookworm --run-autopkgtest --output "$T/out" "$T/fail" > "$T/2.out" 2>&1; rc=$?
expect_eq "a build whose test fails still succeeds" 0 "$rc"
check "Autopkgtest: fail in the summary" grep -qx "Autopkgtest: fail" "$log"
check "the failing test's verdict is in the log" grep -qE '^command1 +FAIL' "$log"
check "and Status: successful" grep -qx "Status: successful" "$log"

# No tests at all: autopkgtest's status 8.
"$ARKOSE" build --chroot bookworm --run-autopkgtest --output "$T/out" "$T/none" > "$T/3.out" 2>&1; rc=$?
expect_eq "a build of a package without tests succeeds" 0 "$rc"
check "Autopkgtest: no tests" grep -qx "Autopkgtest: no tests" "$log"

# ^C (SIGINT to arkose-chroot, which passes it on) while autopkgtest runs: the build stops there, and
# autopkgtest ends its testbed.
"$ARKOSE" build --chroot bookworm --run-autopkgtest --output "$T/out" "$T/pass" > "$T/int.out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
for _ in $(seq 300); do grep -q "^Running autopkgtest" "$T/int.out" && break; sleep 0.2; done
sleep 2
kill -INT "$pid"
wait "$pid"; rc=$?
expect_eq "an interrupted autopkgtest stops the build: status 1, one line" \
        "1 arkose-chroot: Build interrupted at stage 'autopkgtest'" "$rc $(tail -n 1 "$T/int.out")"
check "Fail-Stage: autopkgtest in the log" grep -qx "Fail-Stage: autopkgtest" "$log"
for _ in $(seq 50); do [ -z "$("$ARKOSE" sessions | awk 'NR > 1')" ] && break; sleep 0.2; done
check "no session is left" sh -c "[ -z \"\$('$ARKOSE' sessions | awk 'NR > 1')\" ]"

# --no-run-autopkgtest after it: the later wins.
"$ARKOSE" build --chroot bookworm --run-autopkgtest --no-run-autopkgtest --output "$T/out" "$T/pass" > "$T/4.out" 2>&1
check "--run-autopkgtest --no-run-autopkgtest runs none" not grep -q "Autopkgtest" "$log"
finish
