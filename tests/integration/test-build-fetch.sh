#!/bin/bash
# arkose-chroot build PKG[_VERSION], as sbuild takes it: the source fetched with apt-get source in a session of
# the chroot, whose network reaches its package sources (the mirror) through the proxy only, with deb-src lines
# made from its deb ones; the tree's apt sources and lists are untouched. Then the build as for a .dsc. An
# unknown package or version fails at stage 'fetch' in one line naming the cause; a name needs --chroot or -d;
# an existing file or directory of that name is taken as the source, not fetched. Without an argument, the
# source tree in the current directory is built (sbuild's default).
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
mkdir -p "$T/out" "$T/work"
cd "$T/work"
nothing_left() { [ -z "$(ls -A "$ARKOSE_STATE_DIR/sessions" "$ARKOSE_STATE_DIR/builds" 2>/dev/null | grep -v ':$' | grep .)" ]; }
one_line() { [ $# = 1 ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }

# The newest hello of the chroot's mirror, with its source package.
"$ARKOSE" build -d bookworm --source --json --output "$T/out" hello > "$T/1.json" 2> "$T/1.err"; rc=$?
expect_eq "build -d bookworm --source hello succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 20 "$T/1.err"
check "it said where the source came from" grep -q "^Fetching the source package hello from the package sources of 'bookworm@2'" "$T/1.err"
version=$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$T/1.json")
check "the JSON names hello and its version ($version)" grep -q '"source": "hello", "version": "[0-9]' "$T/1.json"
check "the .deb is built" test -f "$T/out/hello_${version}_amd64.deb"
check "and the source package: the .dsc and the Debian tarball the .changes lists" \
        sh -c "grep -q ' hello_${version}.dsc\$' '$T/out/hello_${version}_amd64.changes' && test -f '$T/out/hello_${version}.dsc' && ls '$T'/out/hello_${version}.debian.tar.* > /dev/null"
check "not the upstream tarball, which a -3 revision's .changes does not include (as sbuild without -sa)" \
        sh -c "! ls '$T'/out/hello_*.orig.tar.* 2> /dev/null"
expect_eq "the tree's apt sources have no deb-src line, its lists no Sources" "0 0" \
        "$("$ARKOSE" -c bookworm -- sh -c 'echo $(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -c deb-src) $(ls /var/lib/apt/lists | grep -c _Sources)')"
check "nothing is left" nothing_left

# A version, as PKG_VERSION; the build dependencies' layer of the first build is reused. With sbuild's
# --force-orig-source, the upstream tarball is in the .changes and the results (dpkg-buildpackage -sa).
"$ARKOSE" build --chroot bookworm --source --force-orig-source --output "$T/out" "hello_$version" \
        > "$T/2.out" 2> "$T/2.err"; rc=$?
expect_eq "build --source --force-orig-source hello_$version succeeds" 0 "$rc"
check "with that version" grep -q "^Fetching the source package hello=$version from" "$T/2.out"
check "reusing the dependency layer" grep -q "^Reusing the build dependencies of hello $version" "$T/2.out"
check "--force-orig-source: the .changes lists the upstream tarball, and it is in the results" \
        sh -c "grep -q ' hello_[^ ]*.orig.tar.gz\$' '$T/out/hello_${version}_amd64.changes' && ls '$T'/out/hello_*.orig.tar.gz > /dev/null"

# Failures at stage 'fetch', one line each, naming the cause; nothing left.
err=$("$ARKOSE" build -d bookworm --output "$T/out" arkose-no-such-source 2>&1 >/dev/null); rc=$?
check "an unknown source package fails ($rc) in one line: $err" one_line "$err"
check "at stage 'fetch', apt's reason" sh -c "echo \"\$1\" | grep -qF \"stage 'fetch' (status 100): Unable to find a source package for arkose-no-such-source\"" sh "$err"
# (with --json, the build's own lines go to stderr too: the error is its one "arkose-chroot:" line)
err=$("$ARKOSE" build -d bookworm --json --output "$T/out" hello_0.1 2>&1 > "$T/3.json" | grep '^arkose-chroot:'); rc=$?
check "an unknown version fails ($rc) in one line: $err" one_line "$err"
check "naming the version" sh -c "echo \"\$1\" | grep -qF \"Can not find version '0.1' of package 'hello'\"" sh "$err"
check "the JSON says stage fetch" grep -q '"source": "hello", "version": "0.1", .*"result": "failed", "stage": "fetch"' "$T/3.json"
check "nothing is left" nothing_left
err=$("$ARKOSE" build --output "$T/out" hello 2>&1); rc=$?
check "a name without --chroot or -d is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'by name needs --chroot NAME or -d DIST'" sh "$err"
err=$("$ARKOSE" build -d bookworm --output "$T/out" 'Hello;true' 2>&1); rc=$?
check "a bad name is refused in one line ($err)" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'nor a source package name'" sh "$err"
mkdir "$T/work/hello"
err=$("$ARKOSE" build -d bookworm --output "$T/out" hello 2>&1); rc=$?
check "an existing directory of that name is the source, not fetched ($err)" \
        sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'neither a .dsc nor a Debian source tree' && ! echo \"\$1\" | grep -q Fetching" sh "$err"

# No argument: the source tree in the current directory.
cp -a "$SRC/tests/data/test-pkg" "$T/src"
(cd "$T/src" && "$ARKOSE" build --chroot bookworm --output "$T/out" > "$T/4.out" 2> "$T/4.err"); rc=$?
expect_eq "build without an argument builds the current directory" 0 "$rc"
check "test-pkg's .deb" test -f "$T/out/test-pkg_1.0_all.deb"
check "nothing is left" nothing_left
finish
