#!/bin/bash
# import-schroot: schroot's chroots (schroot.conf and chroot.d, as sbuild-createchroot writes them) become
# definitions that sessions, aliases and create then use; what cannot be carried over is said on one line
# each and makes the status 1; a rerun changes nothing; --dry-run writes nothing; a malformed schroot
# configuration writes nothing; a definition of the same name that says something else is left alone.
. "$(dirname "$0")/lib.sh"
use_fixture

S=$T/schroot
mkdir -p "$S/chroot.d"
"$ARKOSE" export fx "$T/fx.tar.zst" > /dev/null || { echo "not ok - export of the fixture"; exit 1; }
cat > "$S/schroot.conf" <<EOF
# schroot chroot definitions.
[legacy]
description=An old directory chroot   # a comment
type=directory
directory=$FIXTURE_TREE
aliases=old-stable
users=nobody
[snap]
type=lvm-snapshot
device=/dev/vg/snap
EOF
# What sbuild-createchroot writes.
cat > "$S/chroot.d/bookworm-amd64-sbuild-Xy12Ab" <<EOF
[bookworm-amd64-sbuild]
description=Debian bookworm/amd64 autobuilder
groups=root,sbuild
root-groups=root,sbuild
profile=sbuild
type=directory
directory=$FIXTURE_TREE
union-type=overlay
EOF
cat > "$S/chroot.d/packed" <<EOF
[packed]
type=file
file=$T/fx.tar.zst
EOF
echo "[never read" > "$S/chroot.d/packed.dpkg-old"
D=$ARKOSE_CONFIG_DIR/chroots.d

out=$("$ARKOSE" import-schroot --schroot-config "$S" --dry-run 2>&1); rc=$?
expect_eq "--dry-run: status 1 (one chroot cannot be carried over)" 1 "$rc"
check "--dry-run prints the definitions" sh -c "echo \"\$1\" | grep -q '^source = directory$'" - "$out"
check "--dry-run writes nothing" test ! -e "$D/legacy.conf"

out=$("$ARKOSE" import-schroot --schroot-config "$S" 2>"$T/err"); rc=$?
expect_eq "import-schroot: status 1, the lvm snapshot skipped" 1 "$rc"
check "the skipped one is said on one line" sh -c "[ \$(echo \"\$1\" | grep -c '^snap: skipped: ') = 1 ]" - "$out"
check "stderr is one line" test "$(wc -l < "$T/err")" = 1
for n in legacy bookworm-amd64-sbuild packed; do
        check "$n.conf written" test -f "$D/$n.conf"
done
check "no definition for the snapshot" test ! -e "$D/snap.conf"
check "nothing from the .dpkg-old file" test ! -e "$D/never.conf"
expect_eq "sbuild's profile became buildd" "profile = buildd" "$(grep '^profile' "$D/bookworm-amd64-sbuild.conf")"
expect_eq "schroot's default profile became dev" "profile = dev" "$(grep '^profile' "$D/legacy.conf")"
expect_eq "users carried over" "users = nobody" "$(grep '^users' "$D/legacy.conf")"
expect_eq "groups carried over" "root-groups = root sbuild" "$(grep '^root-groups' "$D/bookworm-amd64-sbuild.conf")"

# The definitions work: sessions by name and alias, the buildd profile's network, create of the tarball.
expect_eq "a session of the carried-over sbuild chroot" fx-ok \
        "$("$ARKOSE" -c bookworm-amd64-sbuild -- sh -c 'test -x /bin/sh && echo fx-ok')"
expect_eq "its alias works" legacy "$("$ARKOSE" -c old-stable -- sh -c 'echo $ARKOSE_CHROOT')"
expect_eq "buildd profile: only loopback" lo "$("$ARKOSE" -c bookworm-amd64-sbuild -- ls /sys/class/net)"
"$ARKOSE" create packed > /dev/null; expect_eq "create unpacks the file chroot's tarball" 1 "$(current_of packed)"
check "the unpacked chroot runs" "$ARKOSE" -c packed -- test -x /bin/sh

# Again, for the chroots that can be: nothing changes, status 0.
out=$("$ARKOSE" import-schroot --schroot-config "$S" legacy bookworm-amd64-sbuild packed); rc=$?
expect_eq "a rerun: status 0" 0 "$rc"
expect_eq "a rerun: all unchanged" 3 "$(echo "$out" | grep -c ': unchanged (')"

# A definition of the same name that says something else is left alone.
echo "# mine" >> "$D/legacy.conf"; cp "$D/legacy.conf" "$T/legacy.before"
"$ARKOSE" import-schroot --schroot-config "$S" legacy > "$T/out"; rc=$?
expect_eq "a different definition of the same name: status 1" 1 "$rc"
check "... and left alone" cmp -s "$D/legacy.conf" "$T/legacy.before"

# A malformed schroot configuration: one line naming the file and line, nothing written.
rm "$D/legacy.conf"
printf 'type=directory\n' > "$S/chroot.d/broken"
err=$("$ARKOSE" import-schroot --schroot-config "$S" 2>&1 >/dev/null); rc=$?
check "a malformed configuration: status 1, one line naming file:line ($err)" \
        sh -c "[ $rc = 1 ] && [ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] && echo \"\$1\" | grep -q 'chroot.d/broken:1:'" - "$err"
check "... and nothing written" test ! -e "$D/legacy.conf"
err=$("$ARKOSE" import-schroot --schroot-config "$S" nosuch 2>&1 >/dev/null); rc=$?
rm "$S/chroot.d/broken"
err=$("$ARKOSE" import-schroot --schroot-config "$S" nosuch 2>&1 >/dev/null); rc=$?
expect_eq "an unknown name: status 1" 1 "$rc"
check "the shared fixture is intact" test -x "$FIXTURE_TREE/bin/sh"
finish
