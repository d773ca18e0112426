#!/bin/bash
# Builds the initramfs of the AppArmor VM test (tests/vm/test-apparmor-vm.sh): a busybox userland, the
# arkose-chroot build under test with the libraries it loads (liblxc, libmount, libapparmor and theirs),
# apparmor_parser, nft and ip, the kernel's overlay module and the modules of a filtered network (veth,
# nftables with NAT and conntrack, with what they depend on, in load order), a one-directory chroot tree
# (static busybox), one whose dpkg names an old libc6, and the checks. Everything comes from this machine's Debian packages; nothing is
# downloaded here.
#   build-initramfs.sh OUT.cpio.gz KERNEL_MODULES_DIR
set -euo pipefail
out=$1 moddir=$2
# depmod and modprobe (kmod) are in sbin, which a user's PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin
: "${ARKOSE:?}" "${ARKOSE_SRC:?}"
here=$(cd "$(dirname "$0")" && pwd)
bindir=$(dirname "$ARKOSE")
R=$(mktemp -d "${TMPDIR:-/tmp}/arkvm-root-XXXXXX")
trap 'rm -rf --one-file-system "$R"' EXIT
trap 'echo "build-initramfs: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# A file and, for an ELF file, the libraries it needs (ldd), at the same paths (symlinks followed).
add() {
        local f lib
        for f in "$@"; do
                [ -e "$R$f" ] && continue
                mkdir -p "$R$(dirname "$f")"
                cp -L "$f" "$R$f"
                # (ldd fails on a static program: nothing to add)
                for lib in $(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' || true); do
                        add "$lib"
                done
        done
}
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
# (awk reads all of ldconfig's output: quitting early could kill ldconfig with SIGPIPE, which pipefail
# and set -e turned into a silent exit of this script now and then)
so() { ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ && !found { print $NF; found = 1 }'; }

mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,var/lib,newroot,opt/ark,lib/modules}
cp /bin/busybox "$R/bin/busybox"
add "$ARKOSE" /usr/sbin/apparmor_parser "$(command -v nft)" "$(command -v ip)"
for l in liblxc.so.1 libmount.so.1 libapparmor.so.1; do
        p=$(so "$l"); [ -n "$p" ] || { echo "build-initramfs: $l not found" >&2; exit 1; }
        add "$p"
        # The loader finds it by its soname, in a directory of its default path.
        [ -e "$R$libdir/$l" ] || { mkdir -p "$R$libdir"; cp -L "$p" "$R$libdir/$l"; }
done
mkdir -p "$R/opt/ark" "$R$libdir/lxc/rootfs" "$R/usr/share/lxc/config"
cp "$ARKOSE" "$bindir/arkose-init" "$R/opt/ark/"
cp /usr/share/lxc/config/common.seccomp "$R/usr/share/lxc/config/"
mkdir -p "$R/usr/share/arkose-src"
cp -r "$ARKOSE_SRC/chroots" "$ARKOSE_SRC/confs" "$ARKOSE_SRC/hooks" "$R/usr/share/arkose-src/"
cp "$moddir"/kernel/fs/overlayfs/overlay.ko "$R/lib/modules/"
# The filtered network's modules and their dependencies, in the order to insmod them (net.list). The
# package has no modules.dep (depmod makes it at installation): made here, in the unpacked tree.
kver=$(basename "$moddir")
kbase=${moddir%/lib/modules/*}
[ -e "$moddir/modules.dep" ] || depmod -b "$kbase" "$kver"
: > "$R/lib/modules/net.list"
for m in veth nf_tables nft_chain_nat nft_nat nft_ct nft_reject_inet nft_masq; do
        modprobe -d "$kbase" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
        cp "$ko" "$R/lib/modules/"
        echo "/lib/modules/$(basename "$ko")" >> "$R/lib/modules/net.list"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$R/etc/group"

# The chroot the sessions use: a static busybox and the files the hooks expect.
T=$R/srv/tree
mkdir -p "$T"/{bin,etc,proc,sys,dev,tmp,mnt,root,run,var/lib/dpkg}
cp /bin/busybox "$T/bin/busybox"
for a in sh cat mount umount id ls echo grep sleep true ip awk head wget timeout; do ln -s busybox "$T/bin/$a"; done
cp "$R/etc/passwd" "$R/etc/group" "$T/etc/"
touch "$T/var/lib/dpkg/status"
# A second one whose dpkg says libc6 2.13 for amd64 (wheezy's, which calls the kernel's vsyscall page), with a
# static program that calls the page's time entry as that libc's time() did; Debian's kernel does not map
# the page (vsyscall=none).
O=$R/srv/oldtree
cp -a "$T" "$O"
printf 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.13-38+deb7u10\n' > "$O/var/lib/dpkg/status"
printf '#include <stdio.h>\n#include <time.h>\nint main(void) { time_t (*t)(time_t *) = (time_t (*)(time_t *)) 0xffffffffff600400UL; printf("%%ld\\n", (long) t(NULL)); return 0; }\n' > "$R/vsys.c"
gcc -O2 -static -o "$O/bin/vsys" "$R/vsys.c"
cp "$O/bin/vsys" "$T/bin/vsys"
rm "$R/vsys.c"

# Stage one: the initramfs cannot be pivot_root'ed away from (LXC needs that), so everything moves to a
# tmpfs and stage two runs there.
cat > "$R/init" <<'EOI'
#!/bin/busybox sh
/bin/busybox mount -t tmpfs -o size=90% tmpfs /newroot
/bin/busybox cp -a /bin /sbin /usr /etc /lib* /opt /srv /root /var /newroot/ 2>/dev/null
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
exec /bin/busybox switch_root /newroot /opt/ark/vm-init
EOI
chmod 755 "$R/init"
cp "$here/vm-init.sh" "$R/opt/ark/vm-init"
chmod 755 "$R/opt/ark/vm-init"
(cd "$R" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
