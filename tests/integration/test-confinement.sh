#!/bin/bash
# The default build profile (buildd) as root inside a session: what must fail does, what a build needs
# still works, and nothing reaches the host. perl-base (in every Debian tree) makes the system calls.
. "$(dirname "$0")/lib.sh"
use_fixture
host_name=$(hostname)

must_fail() {   # must_fail DESCRIPTION SHELL-COMMAND
        local out rc
        out=$("$ARKOSE" -u root -c fx -- sh -c "$2" 2>&1); rc=$?
        if [ "$rc" -ne 0 ]; then echo "ok - fails under buildd: $1 ($(printf '%s' "$out" | tail -n 1))"
        else echo "not ok - succeeded under buildd: $1"; FAILS=$((FAILS + 1)); fi
}
must_fail "mount -t tmpfs none /mnt" 'mount -t tmpfs none /mnt'
must_fail "echo h > /proc/sysrq-trigger" 'echo h > /proc/sysrq-trigger'
must_fail "mknod /tmp/sda b 8 0" 'mknod /tmp/sda b 8 0'
must_fail "hostname evil" 'hostname evil'
must_fail "writing /proc/sys/kernel/hostname" 'echo evil > /proc/sys/kernel/hostname'
must_fail "init_module (load a kernel module)" 'perl -e '"'"'my $b = "x"; $r = syscall(175, $b, 1, $b); exit($r == -1 ? 1 : 0)'"'"
must_fail "finit_module" 'perl -e '"'"'my $b = ""; $r = syscall(313, 0, $b, 0); exit($r == -1 ? 1 : 0)'"'"
must_fail "a raw socket" 'perl -MSocket -e '"'"'socket(S, PF_INET, SOCK_RAW, 1) or exit 1'"'"
must_fail "a packet socket" 'perl -MSocket -e '"'"'socket(S, 17, SOCK_RAW, 0) or exit 1'"'"
must_fail "kexec_load" 'perl -e '"'"'$r = syscall(246, 0, 0, 0, 0); exit($r == -1 ? 1 : 0)'"'"
must_fail "setting the clock" 'date -s "2001-01-01" >/dev/null'
must_fail "chroot escape via pivot_root" 'perl -e '"'"'my $a = "/"; my $b = "/"; $r = syscall(155, $a, $b); exit($r == -1 ? 1 : 0)'"'"

# The host's processes and abstract sockets are out of reach.
python3 -c 'import socket,time; s=socket.socket(socket.AF_UNIX); s.bind("\0arkose-confine-test"); s.listen(); time.sleep(60)' &
PIDS="$PIDS $!"; sleep 0.3
must_fail "connecting to a host abstract socket" 'perl -MSocket -e '"'"'socket(S, PF_UNIX, SOCK_STREAM, 0) or exit 2; connect(S, pack_sockaddr_un("\0arkose-confine-test")) or exit 1'"'"
check "the host's abstract socket is there (the test itself is sound)" \
        python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect("\0arkose-confine-test")'
must_fail "signalling a host process (pid $$)" "kill -0 $$"
n=$("$ARKOSE" -u root -c fx -- sh -c 'ls -d /proc/[0-9]* | wc -l')
check "only the session's own processes are visible ($n)" test "$n" -lt 10
expect_eq "the host's hostname is unchanged" "$host_name" "$(hostname)"

# What builds need still works as root: owning files, installing with dpkg, loopback sockets.
check "chown works" "$ARKOSE" -u root -c fx -- sh -c 'touch /tmp/x && chown 1:1 /tmp/x'
check "dpkg works (status query)" "$ARKOSE" -u root -c fx -- dpkg -s dpkg
check "loopback TCP works inside" "$ARKOSE" -u root -c fx -- perl -MSocket -e 'socket(S, PF_INET, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die; listen(S, 1) or die'
# POSIX shared memory (Python's multiprocessing, sem_open()) needs a writable /dev/shm of the session's own.
expect_eq "/dev/shm is a tmpfs" tmpfs "$("$ARKOSE" -c fx -- stat -f -c %T /dev/shm)"
check "a user can create a POSIX shared memory object" "$ARKOSE" -u nobody -c fx -- perl -e 'open(my $f, ">", "/dev/shm/sem.t") or die "$!"'
check "/dev/shm does not outlive the session" "$ARKOSE" -c fx -- sh -c '! ls /dev/shm/sem.t 2>/dev/null'
# A user's command gets no_new_privs: setuid programs do not raise privileges.
out=$("$ARKOSE" -u nobody -c fx -- sh -c 'grep NoNewPrivs /proc/self/status' 2>&1)
check "a non-root command runs with no_new_privs ($out)" sh -c "printf '%s' '$out' | grep -q '1$'"

# --bind adds a mount to the profile's: read-only when asked.
mkdir -p "$T/bsrc"; echo bound > "$T/bsrc/f"
expect_eq "--bind HOST:TARGET:ro is readable" bound "$("$ARKOSE" -c fx --bind "$T/bsrc:/srv/b:ro" -- cat /srv/b/f)"
check "--bind ... :ro is read-only" sh -c "! '$ARKOSE' -u root -c fx --bind '$T/bsrc:/srv/b:ro' -- touch /srv/b/g 2>/dev/null"
err=$("$ARKOSE" -c fx --bind relative/path -- true 2>&1); rc=$?
check "a bad --bind is refused in one line ($err)" test "$rc" -ne 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1

# apparmor-profile prints a profile that apparmor_parser compiles without a kernel.
"$ARKOSE" apparmor-profile buildd > "$T/buildd.aa"; expect_eq "apparmor-profile buildd" 0 $?
if command -v apparmor_parser > /dev/null; then
        check "the buildd profile compiles (apparmor_parser -QK -M features)" \
                apparmor_parser -QK -M /usr/share/apparmor-features/features "$T/buildd.aa"
else
        skip "apparmor_parser is missing"
fi
# mode = required without AppArmor in the kernel: refused in one line; auto runs and says so once.
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
sed 's/^mode = auto/mode = required/' "$SRC/confs/profiles/buildd.conf" > "$ARKOSE_CONFIG_DIR/profiles.d/strict.conf"
if ! grep -q . /sys/module/apparmor/parameters/enabled 2>/dev/null || grep -q N /sys/module/apparmor/parameters/enabled; then
        err=$("$ARKOSE" -c fx --profile strict -- true 2>&1); rc=$?
        check "mode = required without AppArmor is refused in one line ($err)" \
                test "$rc" -ne 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1
        check "auto said it once for this state directory" test -e "$ARKOSE_STATE_DIR/apparmor-unavailable"
fi
finish
