#!/bin/bash
# arkose-chroot build URL.dsc (sbuild's DSC-URL, which it fetches with dget): the .dsc downloaded, then each
# file its Checksums-Sha256 lists from the same directory, each checked against its digest, then the build as
# for a local .dsc. A missing .dsc, a file that does not match its digest, a .dsc naming a file elsewhere
# ("../x") and a URL that is no .dsc fail in one line each, leaving no build directory and the output as it was.
# The server is a loopback one started here (http-fixture.py).
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
command -v dpkg-source > /dev/null || skip "dpkg-source (dpkg-dev) is missing on the host"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$T/www" "$T/out" "$T/bad"
cp -a "$SRC/tests/data/test-pkg" "$T/test-pkg"
(cd "$T/www" && dpkg-source -b "$T/test-pkg" > /dev/null 2>&1) || { echo "not ok - dpkg-source -b test-pkg"; exit 1; }
tarball=$(cd "$T/www" && ls test-pkg_1.0.tar.*)
python3 "$HERE/http-fixture.py" "$T/www" "$T/port" & PIDS="$PIDS $!"
for i in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$T/port")
nothing_left() { [ -z "$(ls -A "$ARKOSE_STATE_DIR/sessions" "$ARKOSE_STATE_DIR/builds" 2>/dev/null | grep -v ':$' | grep .)" ]; }
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }

"$ARKOSE" build --chroot bookworm --output "$T/out" "$url/test-pkg_1.0.dsc" > "$T/1.out" 2> "$T/1.err"; rc=$?
expect_eq "build of a .dsc by URL succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 10 "$T/1.err"
check "the .dsc and its tarball were downloaded" \
        sh -c "grep -q \"^Downloaded '$url/test-pkg_1.0.dsc'\" '$T/1.out' && grep -q \"^Downloaded '$url/$tarball'\" '$T/1.out'"
check "the .deb is built" test -f "$T/out/test-pkg_1.0_all.deb"
check "nothing is left" nothing_left
rm -rf "$T/out" && mkdir "$T/out"

# The same by file://.
"$ARKOSE" build --chroot bookworm --output "$T/out" "file://$T/www/test-pkg_1.0.dsc" > "$T/2.out" 2> "$T/2.err"; rc=$?
expect_eq "and by a file:// URL" 0 "$rc"
rm -rf "$T/out" && mkdir "$T/out"

# Failures: one line each, no build directory left, the output untouched.
err=$("$ARKOSE" build --chroot bookworm --output "$T/out" "$url/missing_1.0.dsc" 2>&1 >/dev/null); rc=$?
check "a .dsc that is not there fails ($rc) in one line: $err" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q \"stage 'fetch'.*404\"" sh "$err"
# A tarball that is not the one the .dsc lists (the server's copy changed after the .dsc was made).
cp "$T/www/test-pkg_1.0.dsc" "$T/bad/test-pkg_1.0.dsc"
printf 'tampered' > "$T/bad/$tarball"
mkdir -p "$T/www2" && cp "$T/bad/"* "$T/www2/"
python3 "$HERE/http-fixture.py" "$T/www2" "$T/port2" & PIDS="$PIDS $!"
for i in $(seq 100); do [ -s "$T/port2" ] && break; sleep 0.1; done
url2=http://127.0.0.1:$(cat "$T/port2")
err=$("$ARKOSE" build --chroot bookworm --output "$T/out" "$url2/test-pkg_1.0.dsc" 2>&1 >/dev/null); rc=$?
check "a file that does not match its SHA-256 fails ($rc) in one line: $err" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q \"stage 'fetch': $url2/$tarball\"" sh "$err"
# A .dsc that names a file outside its directory.
sed -i "s| $tarball\$| ../../etc/arkose-evil|" "$T/www2/test-pkg_1.0.dsc"
err=$("$ARKOSE" build --chroot bookworm --output "$T/out" "$url2/test-pkg_1.0.dsc" 2>&1 >/dev/null); rc=$?
check "a .dsc naming ../../etc/arkose-evil is refused ($rc) in one line: $err" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q 'no valid Checksums-Sha256'" sh "$err"
check "and nothing was written there" test ! -e /etc/arkose-evil
err=$("$ARKOSE" build --chroot bookworm --output "$T/out" "$url/$tarball" 2>&1); rc=$?
check "a URL that is no .dsc is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && echo \"\$1\" | grep -q 'must name a .dsc'" sh "$err"
expect_eq "the output directory is still empty" "" "$(ls -A "$T/out")"
check "nothing is left" nothing_left
finish
