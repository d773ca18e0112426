#!/bin/bash
# A chroot of a foreign architecture (arm64 on an amd64 host, amd64 on arm64) through qemu-user: created by
# the real debootstrap, whose second stage runs the tree's programs under qemu, then used by one-shot
# sessions, a session that lasts, an update and a package build (build --arch), all running its programs
# the same way. It needs
# qemu-user-static's binfmt_misc handler (tools/install-deps installs it); an architecture the host has no
# handler for is refused before anything is downloaded.
. "$(dirname "$0")/lib.sh"
cd "$T"

case $(dpkg --print-architecture) in
amd64) foreign=arm64 qemu=aarch64 machine=aarch64 elf="b7 00" ;;
arm64) foreign=amd64 qemu=x86_64 machine=x86_64 elf="3e 00" ;;
*) skip "no foreign architecture chosen for a $(dpkg --print-architecture) host" ;;
esac
handler=/proc/sys/fs/binfmt_misc/qemu-$qemu
grep -qx enabled "$handler" 2>/dev/null ||
        skip "no binfmt_misc handler qemu-$qemu (qemu-user-static and binfmt-support: tools/install-deps)"

# An architecture nothing runs here: one line, before any download, nothing made.
printf '[chroot]\nsuite = bookworm\narchitecture = hurd-i386\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/hu.conf"
err=$("$ARKOSE" create hu 2>&1); rc=$?
expect_eq "create of an architecture the host does not run: one line, 1" \
        "1 arkose-chroot: Chroot 'hu' is for hurd-i386, whose programs this $(uname -m) host does not run (qemu-user has no emulator for it)" \
        "$rc $err"
check "and nothing is made" test ! -e "$ARKOSE_STATE_DIR/trees/hu"

# The real debootstrap, its second stage under qemu-user, from the host's mirror; named as sbuild names
# such a chroot (DIST-ARCH), which build --arch looks for.
FA=ff-$foreign
printf '[chroot]\nsuite = bookworm\narchitecture = %s\nvariant = minbase\n' "$foreign" > "$ARKOSE_CONFIG_DIR/chroots.d/$FA.conf"
start=$(date +%s)
"$ARKOSE" create "$FA" > "$T/create.out" 2> "$T/create.err"; rc=$?
echo "# create $FA ($foreign, under qemu-$qemu) took $(( $(date +%s) - start )) s"
expect_eq "create of the $foreign chroot succeeds" 0 "$rc"
[ "$rc" = 0 ] || { tail -5 "$T/create.out"; skip_rest=1; }
if [ "${skip_rest:-0}" = 0 ]; then
        expect_eq "its programs are $foreign's (the ELF machine of its /usr/bin/true)" "$elf" \
                "$(od -An -tx1 -j18 -N2 "$ARKOSE_STATE_DIR/trees/$FA/1/rootfs/usr/bin/true" | sed 's/^ *//')"
        out=$("$ARKOSE" -c "$FA" -- sh -c 'uname -m; dpkg --print-architecture' 2> "$T/run.err")
        expect_eq "a one-shot session runs them: uname -m and dpkg" "$machine
$foreign" "$out"
        sid=$("$ARKOSE" -c "$FA" --begin-session)
        expect_eq "--run-session in a session that lasts" "$foreign" \
                "$("$ARKOSE" -c "$sid" --run-session -u root -- dpkg --print-architecture 2>> "$T/run.err")"
        "$ARKOSE" -c "$sid" --end-session
        "$ARKOSE" update "$FA" --command 'dpkg --print-architecture > /etc/arkose-arch' > "$T/update.out" 2>&1
        expect_eq "update runs its command under qemu too: version 2" 2 "$(current_of "$FA")"
        expect_eq "which has what it wrote" "$foreign" "$("$ARKOSE" -c "$FA" -- cat /etc/arkose-arch)"
        # A package built for it, natively under emulation: build --arch picks ff-ARCH; its build
        # dependencies (build-essential, debhelper) come from the mirror into a layer of its own.
        cp -r "$SRC/examples/hello-arkose" "$T/src"
        mkdir -p "$T/out"
        start=$(date +%s)
        "$ARKOSE" build -c ff --arch "$foreign" --output "$T/out" "$T/src" > "$T/build.out" 2>&1; rc=$?
        echo "# build --arch $foreign of hello-arkose took $(( $(date +%s) - start )) s"
        expect_eq "build --arch $foreign of hello-arkose succeeds" 0 "$rc"
        [ "$rc" = 0 ] || tail -20 "$T/build.out"
        deb=$T/out/hello-arkose_1.0_$foreign.deb
        expect_eq "the .deb is for $foreign" "$foreign" "$(dpkg-deb -f "$deb" Architecture 2>&1)"
        mkdir -p "$T/deb" && dpkg-deb -x "$deb" "$T/deb" 2>/dev/null
        expect_eq "and its program is $foreign's" "$elf" \
                "$(od -An -tx1 -j18 -N2 "$T/deb/usr/bin/hello-arkose" 2>&1 | sed 's/^ *//')"
        check "info of version 1 names the architecture" sh -c "'$ARKOSE' info $FA@1 | grep -Eq '^ +Architecture +$foreign\$'"
fi
finish
