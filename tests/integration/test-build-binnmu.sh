#!/bin/bash
# arkose-chroot build with sbuild's binNMU options: --make-binNMU TEXT [--binNMU N] [--binNMU-timestamp T]
# writes sbuild's changelog entry above the source's own (version +bN, binary-only=yes), builds no
# Architecture: all packages, and names the results by the new version; --append-to-version SUFFIX,
# --binNMU-changelog ENTRY; -m/--maintainer or DEBFULLNAME/DEBEMAIL; --debbuildopts/--debbuildopt reach
# dpkg-buildpackage; -s --source-only-changes adds sbuild's PKG_VERSION_source.changes. Real builds in the
# build fixture (build-essential), offline.
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
for t in dpkg-deb dpkg-source; do
        command -v $t > /dev/null || skip "$t is missing on the host"
done
unset DEBEMAIL DEBFULLNAME

# test-pkg with an Architecture: any package (a binNMU builds no arch:all ones), and one arch:all package.
mkdir -p "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/any"
sed -i 's/^Architecture: all$/Architecture: any/' "$T/any/debian/control"
sed -i -e 's/^binary-arch:$/binary-indep:/' -e 's/^binary binary-indep: build$/binary binary-arch: build/' "$T/any/debian/rules"
cp -a "$SRC/tests/data/test-pkg" "$T/all"

# A binNMU, as the release team asks for one.
"$ARKOSE" build --chroot bookworm --make-binNMU "Rebuild against libfoo2." --binNMU 2 --binNMU-timestamp 1700000000 \
        -m "Jane Doe <jane@example.org>" --json --output "$T/out" "$T/any" > "$T/1.json" 2> "$T/1.err"; rc=$?
expect_eq "a binNMU build succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/1.err"
deb=$T/out/test-pkg_1.0+b2_amd64.deb
changes=$T/out/test-pkg_1.0+b2_amd64.changes
expect_eq "its .deb has the binNMU's version" "1.0+b2" "$(dpkg-deb -f "$deb" Version 2>&1)"
check "its .changes is named by it and says Version: 1.0+b2" grep -qx "Version: 1.0+b2" "$changes"
check "and Binary-Only: yes" grep -qx "Binary-Only: yes" "$changes"
check "the .changes lists sbuild's entry" grep -q "^ .*Binary-only non-maintainer upload for amd64; no source changes\.$" "$changes"
buildinfo=$T/out/test-pkg_1.0+b2_amd64.buildinfo
check "the .buildinfo keeps the entry (Binary-Only-Changes)" grep -q "^Binary-Only-Changes:" "$buildinfo"
expect_eq "the entry is sbuild's: header, both lines, maintainer and date" \
        " test-pkg (1.0+b2) bookworm; urgency=low, binary-only=yes
 .
   * Binary-only non-maintainer upload for amd64; no source changes.
   * Rebuild against libfoo2.
 .
  -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000" \
        "$(sed -n '/^Binary-Only-Changes:/,/^[A-Z]/p' "$buildinfo" | sed '1d;$d')"
check "SOURCE_DATE_EPOCH is the entry's date, as in sbuild" grep -q "SOURCE_DATE_EPOCH=\"1700000000\"" "$buildinfo"
check "the JSON summary names the version" grep -q '"version": "1.0+b2"' "$T/1.json"
check "the log says it made the entry" grep -q "^Created changelog entry for binNMU version 1.0+b2$" "$T/1.err"
check "dpkg-buildpackage built binaries of arch any only (-B)" grep -q "^Command: dpkg-buildpackage -us -uc -B$" "$T/out/test-pkg_1.0+b2_amd64.build"
check "the source given is untouched" grep -q "^test-pkg (1.0) bookworm" "$T/any/debian/changelog"

# --append-to-version, with the maintainer from DEBFULLNAME and DEBEMAIL; --debbuildopt(s) reach dpkg.
DEBFULLNAME="Back Porter" DEBEMAIL=bp@example.org "$ARKOSE" build --chroot bookworm --append-to-version "~bpo12+1" \
        --debbuildopts "--changes-option=-DX-Arkose-Test=one" --debbuildopt "--buildinfo-option=-O" \
        --output "$T/out" "$T/any" > "$T/2.out" 2>&1; rc=$?
expect_eq "an --append-to-version build succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/2.out"
changes=$T/out/test-pkg_1.0~bpo12+1_amd64.changes
check "its .changes is named by the new version" grep -qx "Version: 1.0~bpo12+1" "$changes"
check "with sbuild's line and DEBFULLNAME <DEBEMAIL> as maintainer" \
        sh -c "grep -q 'Append ~bpo12+1 to version number; no source changes' '$changes' && grep -qx 'Changed-By: Back Porter <bp@example.org>' '$changes'"
check "--debbuildopts reached dpkg-genchanges (X-Arkose-Test)" grep -qx "X-Arkose-Test: one" "$changes"
check "--debbuildopt too: the command line has both" \
        grep -q "^Command: dpkg-buildpackage -us -uc -B --changes-option=-DX-Arkose-Test=one --buildinfo-option=-O$" \
        "$T/out/test-pkg_1.0~bpo12+1_amd64.build"

# --binNMU-changelog: a whole entry of the caller's; its version names the results.
"$ARKOSE" build --chroot bookworm --binNMU-changelog "test-pkg (1.0+b7) bookworm; urgency=low, binary-only=yes

  * Own entry.

 -- Own Entry <own@example.org>  Wed, 15 Nov 2023 10:00:00 +0000
" --output "$T/out" "$T/any" > "$T/3.out" 2>&1; rc=$?
expect_eq "a --binNMU-changelog build succeeds" 0 "$rc"
check "named by the entry's version" grep -qx "Changed-By: Own Entry <own@example.org>" "$T/out/test-pkg_1.0+b7_amd64.changes"

# -s --source-only-changes: the build's .changes, and one for a source-only upload beside it.
"$ARKOSE" build --chroot bookworm -s --source-only-changes --json --output "$T/out" "$T/all" > "$T/4.json" 2> "$T/4.err"; rc=$?
expect_eq "a --source-only-changes build succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/4.err"
so=$T/out/test-pkg_1.0_source.changes
check "test-pkg_1.0_source.changes is in the output" test -s "$so"
check "it is a source-only one (Architecture: source)" grep -qx "Architecture: source" "$so"
check "listing the .dsc and the source tarball" sh -c "grep -q ' test-pkg_1.0.dsc\$' '$so' && grep -q ' test-pkg_1.0.tar.[a-z]*\$' '$so'"
check "and no .deb" not grep -q '\.deb$' "$so"
check "the build's own .changes lists the .deb" grep -q ' test-pkg_1.0_all.deb$' "$T/out/test-pkg_1.0_amd64.changes"
check "the JSON summary lists both .changes" \
        sh -c "grep -q 'test-pkg_1.0_source.changes' '$T/4.json' && grep -q 'test-pkg_1.0_amd64.changes' '$T/4.json'"

# Refused in one line, status 2, before anything is built (sbuild's rules, and more).
refused() {  # refused DESCRIPTION EXPECTED-LINE ARGS...
        local what=$1 line=$2 err rc; shift 2
        err=$("$ARKOSE" build --chroot bookworm "$@" --output "$T/out" "$T/any" 2>&1 > /dev/null); rc=$?
        expect_eq "$what" "2 arkose-chroot: $line" "$rc $err"
}
refused "-A with --make-binNMU" "--arch-all cannot be used together with --make-binNMU" -A --make-binNMU x -m "a <b@c>"
refused "--binNMU-changelog with --binNMU" "--binNMU-changelog cannot be used together with --binNMU" \
        --binNMU-changelog x --binNMU 3
refused "--binNMU alone (sbuild would ignore it)" "--binNMU needs --make-binNMU TEXT (or --append-to-version SUFFIX)" --binNMU 3
refused "--binNMU 0" "Invalid --binNMU '0': expected a number from 1" --make-binNMU x --binNMU 0
refused "--source-only-changes without --source" \
        "--source-only-changes needs --source (-s): the source package it lists is built with it" --source-only-changes
refused "a suffix that is not one" "Invalid --append-to-version '-1': letters, digits, '.', '+' and '~' only" \
        --append-to-version=-1
err=$("$ARKOSE" build --chroot bookworm --make-binNMU x --output "$T/out" "$T/any" 2>&1 > /dev/null); rc=$?
expect_eq "a binNMU without a maintainer: one line, status 1" \
        "1 arkose-chroot: Build failed at stage 'hack-binNMU': its changelog entry needs a maintainer: pass --maintainer 'Name <address>' (or set DEBEMAIL and DEBFULLNAME)" \
        "$rc $err"
err=$("$ARKOSE" build --chroot bookworm --make-binNMU x -m "a <b@c>" --output "$T/out" "$T/all" 2>&1 > /dev/null); rc=$?
expect_eq "a binNMU of a source with Architecture: all packages only: sbuild's arch-check, before anything is installed" \
        "1 arkose-chroot: Build failed at stage 'arch-check': 'test-pkg' has no package for amd64 (Architecture: all); a binNMU builds no Architecture: all ones" \
        "$rc $err"
check "no build directory is left" sh -c "[ -z \"\$(ls '$ARKOSE_STATE_DIR/builds' 2>/dev/null)\" ]"
finish
