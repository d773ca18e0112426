#!/bin/bash
# An old C library's trap: (e)glibc 2.13 and earlier call the x86-64 kernel's vsyscall page, which Debian's
# kernels do not map (vsyscall=none), and their programs die of SIGSEGV. arkose-chroot says why, in one line,
# when a session's command dies of it, when such a tree is created or imported, and in info. This test runs
# on this machine's real kernel, whatever it does: where the page is mapped (vsyscall=emulate or xonly, as
# here) the old tree's program runs and nothing is said; where it is not, the program dies and the line is
# said. Debian's own kernel, which does not map it, is checked in tests/vm (test-apparmor-vm).
. "$(dirname "$0")/lib.sh"
cd "$T"
[ "$(uname -m)" = x86_64 ] || skip "the vsyscall page is x86-64's"
command -v busybox > /dev/null && busybox --list > /dev/null 2>&1 || skip "busybox is missing (tools/install-deps installs busybox-static)"
ldd "$(command -v busybox)" > /dev/null 2>&1 && skip "busybox is not static (busybox-static)"

# A tree whose dpkg says libc6 2.13 for amd64 (wheezy's), and a static program that does what that
# libc's time() did: call the page's time entry, at its fixed address.
mk_tree() {  # mk_tree DIR LIBC6-VERSION
        mkdir -p "$1"/{bin,etc,proc,sys,dev,tmp,root,run,var/lib/dpkg}
        cp "$(command -v busybox)" "$1/bin/busybox"
        for a in sh cat echo true id; do ln -s busybox "$1/bin/$a"; done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$1/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' > "$1/etc/group"
        printf 'Package: libc6\nStatus: install ok installed\nPriority: required\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nVersion: %s\nDescription: Embedded GNU C Library: Shared libraries\n' "$2" > "$1/var/lib/dpkg/status"
        cp "$T/vsys" "$1/bin/vsys"
}
cat > "$T/vsys.c" <<'EOC'
#include <stdio.h>
#include <time.h>
int main(void) {
        time_t (*vtime)(time_t *) = (time_t (*)(time_t *)) 0xffffffffff600400UL;
        printf("%ld\n", (long) vtime(NULL));
        return 0;
}
EOC
gcc -O2 -static -o "$T/vsys" "$T/vsys.c" || skip "cannot build a static program (gcc, libc6-dev)"
mk_tree "$T/old" 2.13-38+deb7u10
mk_tree "$T/new" 2.36-9+deb12u4
printf '[chroot]\nsource = directory\ndirectory = %s\n' "$T/old" > "$ARKOSE_CONFIG_DIR/chroots.d/old.conf"
printf '[chroot]\nsource = directory\ndirectory = %s\n' "$T/new" > "$ARKOSE_CONFIG_DIR/chroots.d/new.conf"

line="its C library, libc6 2.13-38+deb7u10, calls the kernel's vsyscall page, which this kernel does not map (vsyscall=none, Debian's default): its programs die of SIGSEGV until the host boots with vsyscall=emulate"
if grep -q ' \[vsyscall\]$' /proc/self/maps; then
        echo "# this kernel maps the vsyscall page ($(awk '/\[vsyscall\]/ { print $2 }' /proc/self/maps)): the old tree's programs run"
        out=$("$ARKOSE" -c old -- /bin/vsys 2> "$T/old.err"); rc=$?
        expect_eq "the old tree's vsyscall program runs: status 0" 0 "$rc"
        check "and prints the time ($out)" test "${out:-0}" -gt 1700000000
        check "nothing is said about vsyscall" not grep -qi vsyscall "$T/old.err"
        check "info says nothing of it" not sh -c "'$ARKOSE' info old | grep -q Vsyscall"
        "$ARKOSE" import oldv "$T/old" > "$T/import.out" 2> "$T/import.err"
        check "import of the old tree succeeds" grep -qx "oldv@1" "$T/import.out"
        check "without a word about vsyscall" not grep -qi vsyscall "$T/import.err"
else
        echo "# this kernel does not map the vsyscall page: the old tree's programs die"
        "$ARKOSE" -c old -- /bin/vsys > /dev/null 2> "$T/old.err"; rc=$?
        expect_eq "the old tree's vsyscall program dies of SIGSEGV: status 139" 139 "$rc"
        expect_eq "and one line says why" "arkose-chroot: The command died of SIGSEGV: $line" "$(cat "$T/old.err")"
        check "info says it" sh -c "'$ARKOSE' info old | grep -q '^ *Vsyscall *needed by libc6 2.13-38+deb7u10'"
        "$ARKOSE" import oldv "$T/old" > "$T/import.out" 2> "$T/import.err"
        expect_eq "import of the old tree warns once" "arkose-chroot: Chroot 'oldv': $line" "$(grep -i vsyscall "$T/import.err")"
        check "and succeeds" grep -qx "oldv@1" "$T/import.out"
fi
# A new C library: never a word, whatever the program does (this one dies where the page is missing).
"$ARKOSE" -c new -- /bin/vsys > /dev/null 2> "$T/new.err"
check "a tree with libc6 2.36: nothing said about vsyscall" not grep -qi vsyscall "$T/new.err"
check "nor in info" not sh -c "'$ARKOSE' info new | grep -q Vsyscall"
# Any other SIGSEGV in the old tree, where the page is mapped, is not blamed on it.
"$ARKOSE" -c old -- sh -c 'kill -SEGV $$' > /dev/null 2> "$T/segv.err"; rc=$?
expect_eq "a command killed by SIGSEGV: status 139" 139 "$rc"
if grep -q ' \[vsyscall\]$' /proc/self/maps; then
        check "not blamed on vsyscall where the page is mapped" not grep -qi vsyscall "$T/segv.err"
fi
finish
