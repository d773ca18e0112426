#!/bin/bash
# Export and import: round trip of a layered version, LXC image layout, download over loopback HTTP,
# and hostile or broken input refused in one line with nothing published and nothing written outside.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture vx
HERE=$(dirname "$0")
CANARY=arkose-canary-$$
export ARKOSE_DOWNLOAD_STALL_TIMEOUT=3

"$ARKOSE" update vx --command 'echo layered > /etc/layered && rm /etc/issue.net && ln /etc/layered /etc/layered-hl' > /dev/null
expect_eq "update for the round trip" 0 $?

# Round trip: export the layered version 2, import it as a new chroot, compare the trees.
for ext in tar.zst tar.gz; do
        "$ARKOSE" export vx "$T/vx.$ext" > /dev/null; expect_eq "export vx to .$ext" 0 $?
done
"$ARKOSE" import copy "$T/vx.tar.zst" > /dev/null; expect_eq "import copy from .tar.zst" 0 $?
check "copy@1 is a full version" test -d "$ARKOSE_STATE_DIR/trees/copy/1/rootfs"
out=$("$ARKOSE" -c copy -- cat /etc/debian_version); case "$out" in 12.*) r=0 ;; *) r=1 ;; esac
expect_eq "the imported chroot runs commands ($out)" 0 $r
# What a session of vx sees, listed from inside both, with owners, modes, sizes, link targets, contents.
listing='cd / && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp -o -path ./etc/hostname -o -path ./etc/hosts -o -path ./etc/passwd -o -path ./etc/group -o -path ./etc/shadow -o -path ./etc/gshadow -o -path ./etc/resolv.conf \) -prune -o -printf "%p %U %G %m %y %l\n" | sort && find . -xdev -type f -not -path "./proc/*" -not -path "./sys/*" -not -path "./etc/hostname" -not -path "./etc/hosts" -not -path "./etc/passwd" -not -path "./etc/group" -not -path "./etc/shadow" -not -path "./etc/gshadow" -not -path "./etc/resolv.conf" -exec sha256sum {} + | sort'
"$ARKOSE" -u root -c vx -- sh -c "$listing" > "$T/vx.list" 2>/dev/null
"$ARKOSE" -u root -c copy -- sh -c "$listing" > "$T/copy.list" 2>/dev/null
check "the listing is not empty ($(wc -l < "$T/vx.list") lines)" test "$(wc -l < "$T/vx.list")" -gt 1000
# (Link counts are left out of the listing: vx's version 1 is a hard-linked copy of the fixture.)
check "round trip keeps names, owners, modes, types, link targets, contents" cmp -s "$T/vx.list" "$T/copy.list"
cmp -s "$T/vx.list" "$T/copy.list" || diff "$T/vx.list" "$T/copy.list" | head -n 6
check "round trip keeps hard links" "$ARKOSE" -c copy -- test /etc/layered -ef /etc/layered-hl
check "the layered change made it" grep -q '^./etc/layered 0 0 644 f $' "$T/copy.list"
check "the deletion made it" sh -c "! grep -q '^./etc/issue.net ' '$T/copy.list'"
"$ARKOSE" import copy "$T/vx.tar.gz" > /dev/null; expect_eq "import again from .tar.gz: a new version" 2 "$(current_of copy)"

# LXC image server layout: a directory with rootfs.tar.xz and meta.tar.xz.
mkdir -p "$T/lxcimage"
# (xz at its fastest: the default level takes minutes for this tree on two cores)
zstd -dc "$T/vx.tar.zst" | xz -0 -T0 > "$T/lxcimage/rootfs.tar.xz"
tar -C "$T" -cJf "$T/lxcimage/meta.tar.xz" --files-from /dev/null
"$ARKOSE" import lxc "$T/lxcimage" > /dev/null; expect_eq "import an LXC image directory" 0 $?
check "the LXC image chroot runs" "$ARKOSE" -c lxc -- test -e /etc/layered

# A root file system as it is (a schroot or debootstrap directory): copied, owners, modes, links kept.
"$ARKOSE" import plain "$FIXTURE_TREE" > /dev/null; expect_eq "import a plain root directory" 0 $?
"$ARKOSE" -u root -c vx@1 -- sh -c "$listing" > "$T/vx1.list" 2>/dev/null
"$ARKOSE" -u root -c plain -- sh -c "$listing" > "$T/plain.list" 2>/dev/null
check "the copy of a directory is the tree ($(wc -l < "$T/plain.list") lines)" \
        sh -c "[ \$(wc -l < '$T/plain.list') -gt 1000 ] && cmp -s '$T/vx1.list' '$T/plain.list'"
mkdir -p "$T/notatree/etc"
err=$("$ARKOSE" import notatree "$T/notatree" 2>&1 >/dev/null); rc=$?
check "a directory that is no tree: one line, status 1 ($err)" \
        sh -c "[ $rc = 1 ] && [ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] && echo \"\$1\" | grep -q 'bin/sh'" - "$err"
check "... and nothing published" test ! -e "$ARKOSE_STATE_DIR/trees/notatree/current"

# Download over loopback HTTP, with a checksum.
mkdir -p "$T/www"; cp "$T/vx.tar.zst" "$T/www/"
python3 "$HERE/http-fixture.py" "$T/www" "$T/port" & PIDS="$PIDS $!"
for i in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$T/port")
sum=$(sha256sum "$T/vx.tar.zst" | cut -d' ' -f1)
"$ARKOSE" import web "$URL/vx.tar.zst" --sha256 "$sum" > /dev/null; expect_eq "import over HTTP with --sha256" 0 $?
check "the downloaded chroot runs" "$ARKOSE" -c web -- test -e /etc/layered

# A definition naming a tarball URL + sha256: create downloads and imports it.
printf '[chroot]\nsource = tarball\nurl = %s/vx.tar.zst\nsha256 = %s\n' "$URL" "$sum" > "$ARKOSE_CONFIG_DIR/chroots.d/fromurl.conf"
"$ARKOSE" create fromurl > /dev/null; expect_eq "create from a tarball definition" 0 $?
check "it runs" "$ARKOSE" -c fromurl -- test -e /etc/layered

# Hostile and broken input: one line, non-zero, no chroot, no staging, nothing outside.
python3 "$HERE/make-hostile.py" "$T/www" "$CANARY"
passwd_links=$(stat -c %h /etc/passwd)
refused() {     # refused DESCRIPTION NAME PATTERN SOURCE [ARGS]
        local what=$1 name=$2 pat=$3; shift 3
        local err rc
        err=$("$ARKOSE" import "$name" "$@" 2>&1 >/dev/null); rc=$?
        if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && printf '%s' "$err" | grep -qi -- "$pat"; then
                echo "ok - $what: $err"
        else
                echo "not ok - $what (rc=$rc): $err"; FAILS=$((FAILS + 1))
        fi
        check "  nothing published for $name" test ! -e "$ARKOSE_STATE_DIR/trees/$name/current"
        check "  no staging left for $name" no_staging_left "$name"
        check "  no chroot $name listed" sh -c "! '$ARKOSE' list | grep -q '^$name '"
}
refused "a ../ member" bad1 "leaves the tree" "$T/www/dotdot.tar"
refused "an absolute member" bad2 "absolute" "$T/www/absolute.tar"
refused "a write through a symlink out of the tree" bad3 "symlink" "$T/www/symlink.tar"
refused "a hard link out of the tree" bad4 "leaves the tree\|hard link" "$T/www/hardlink.tar"
refused "a truncated archive" bad5 "truncated\|corrupt" "$T/www/truncated.tar"
refused "garbage" bad6 "not a tar archive\|corrupt" "$T/www/garbage.tar"
refused "no root file system in it" bad7 "root file system" "$T/www/noroot.tar"
refused "a checksum mismatch (file)" bad8 "checksum" "$T/vx.tar.zst" --sha256 "$(printf '0%.0s' $(seq 64))"
refused "a checksum mismatch (download)" bad9 "checksum\|sha256\|mismatch" "$URL/vx.tar.zst" --sha256 "$(printf 'a%.0s' $(seq 64))"
refused "HTTP 404" bad10 "404" "$URL/missing.tar"
refused "HTTP 500" bad11 "500" "$URL/broken.tar"
refused "a redirect loop" bad12 "redirect" "$URL/loop.tar"
refused "a server that stalls" bad13 "timed out\|too slow" "$URL/stall.tar"
refused "larger than the disk allows" bad14 "large\|space\|size" "$URL/huge.tar"
refused "an unreachable server" bad15 "connect\|refused" "http://127.0.0.1:9/x.tar"
refused "a bad --sha256" bad16 "sha256" "$T/vx.tar.zst" --sha256 xyz
check "nothing named $CANARY was written anywhere" sh -c "! find /tmp '$T' -xdev -name '$CANARY' 2>/dev/null | grep -q ."
expect_eq "the hard-link target /etc/passwd gained no link" "$passwd_links" "$(stat -c %h /etc/passwd)"
check "the other chroots still work" "$ARKOSE" -c copy -- true
check "the shared fixture is intact" test -x "$FIXTURE_TREE/bin/sh"
finish
