#!/bin/bash
# AppArmor for real: this machine's kernel has none, so the generated profiles, their loading, stacking
# with a policy namespace and enforcement are checked in a virtual machine running Debian 12's own kernel
# (linux-image-amd64, AppArmor on by default, as on users' machines), under qemu's software emulation.
# The VM runs this build of arkose-chroot with this machine's liblxc and apparmor_parser on a busybox
# userland (tests/vm/build-initramfs.sh) and the checks of tests/vm/vm-init.sh, whose "ok"/"not ok" lines
# are this test's.
. "$(dirname "$0")/lib.sh"
for p in qemu-system-x86_64 busybox cpio apparmor_parser; do
        command -v "$p" > /dev/null || skip "$p is missing (tools/install-deps installs it)"
done

# Debian's current kernel package, downloaded once into the shared fixture directory and unpacked there.
K=$SHARED/vm-kernel
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || skip "no linux-image-amd64 in the apt lists"
if [ ! -e "$K/$pkg/ok" ]; then
        rm -rf "$K/$pkg" && mkdir -p "$K/$pkg"
        (cd "$K/$pkg" && apt-get download -q "$pkg" > download.log 2>&1) || { cat "$K/$pkg/download.log"; skip "cannot download $pkg"; }
        dpkg-deb -x "$K/$pkg"/*.deb "$K/$pkg/x" && rm -f "$K/$pkg"/*.deb && touch "$K/$pkg/ok"
fi
vmlinuz=$(ls "$K/$pkg"/x/boot/vmlinuz-* | head -n 1)
moddir=$(ls -d "$K/$pkg"/x/lib/modules/* | head -n 1)
check "kernel $pkg unpacked ($vmlinuz)" test -f "$vmlinuz" -a -f "$moddir/kernel/fs/overlayfs/overlay.ko"

TMPDIR=$T bash "$SRC/tests/vm/build-initramfs.sh" "$T/initrd.gz" "$moddir"
check "initramfs built ($(du -h "$T/initrd.gz" 2>/dev/null | cut -f1))" test -s "$T/initrd.gz"

# Two vCPUs, no network, the serial console on stdout; the VM powers itself off after its checks.
timeout 840 qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 1536 -nographic -no-reboot -nic none \
        -kernel "$vmlinuz" -initrd "$T/initrd.gz" \
        -append "console=ttyS0 quiet panic=-1 apparmor=1 security=apparmor rdinit=/init" \
        < /dev/null > "$T/console.log" 2>&1 &
qpid=$!
PIDS="$PIDS $qpid"
wait "$qpid"; rc=$?
tr -d '\r' < "$T/console.log" | sed -n '/VM-START/,/^VM-RESULT/p' | sed 's/^.*VM-START/VM-START/' > "$T/vm.out"
cat "$T/vm.out"
expect_eq "qemu ran to the VM's power-off (not timeout's 124)" 0 "$rc"
check "the VM reported its checks" grep -q '^VM-RESULT failed=' "$T/vm.out"
if ! grep -q '^VM-RESULT' "$T/vm.out"; then tail -n 40 "$T/console.log"; fi
FAILS=$((FAILS + $(grep -c '^not ok' "$T/vm.out")))
finish
