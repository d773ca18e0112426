#!/bin/bash
# Exit status, stdio pass-through, environment, hostname, working directory.
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"

"$ARKOSE" -c fx -- sh -c 'exit 7'; expect_eq "exit status passes through" 7 $?
"$ARKOSE" -c fx -- true; expect_eq "true exits 0" 0 $?
"$ARKOSE" -c fx -- /nonexistent/program 2>/dev/null; rc=$?
check "a missing program gives a non-zero status ($rc)" test "$rc" -ne 0
expect_eq "hostname is the chroot name" fx "$("$ARKOSE" -c fx -- cat /proc/sys/kernel/hostname)"
expect_eq "stdin passes through" "hello" "$(echo hello | "$ARKOSE" -c fx -- cat)"
expect_eq "stderr passes through" "oops" "$("$ARKOSE" -c fx -- sh -c 'echo oops >&2' 2>&1 >/dev/null)"
expect_eq "working directory is the caller's" "$T" "$("$ARKOSE" -c fx -- pwd)"
mkdir -p "$T/other"
expect_eq "-d sets the working directory" "$T/other" "$("$ARKOSE" -c fx -d "$T/other" -- pwd)"
expect_eq "PID 1 is the container's init" "1" "$("$ARKOSE" -c fx -- sh -c 'cat /proc/1/status | grep -c ^Pid:')"

# A clean environment by default; -p keeps the caller's.
env_out=$(ARK_SECRET=xyz "$ARKOSE" -c fx -- env)
check "caller variables are not leaked" sh -c "! echo '$env_out' | grep -q ARK_SECRET"
check "PATH is set" sh -c "echo '$env_out' | grep -q '^PATH=/'"
check "HOME is set" sh -c "echo '$env_out' | grep -q '^HOME=/root'"
check "ARKOSE_CHROOT is set" sh -c "echo '$env_out' | grep -q '^ARKOSE_CHROOT=fx$'"
expect_eq "-p preserves the environment" "xyz" "$(ARK_SECRET=xyz "$ARKOSE" -c fx -p -- sh -c 'echo $ARK_SECRET')"

# Namespaces: pid, uts, ipc, mount and net all differ from the host's.
for ns in pid uts ipc mnt net; do
        inside=$("$ARKOSE" -c fx -- readlink /proc/self/ns/$ns)
        check "own $ns namespace" test "$inside" != "$(readlink /proc/self/ns/$ns)"
done
# The caller's files behind stdout and stderr keep their owner and mode: liblxc would chown the init's
# standard fds to the session user and chmod them 0700 (lib/container.c's stdio_divert()).
: > "$T/out.log"; : > "$T/err.log"; chmod 0644 "$T/out.log" "$T/err.log"
"$ARKOSE" -c fx -u nobody -- sh -c 'echo o; echo e >&2' > "$T/out.log" 2> "$T/err.log" < /dev/null
expect_eq "the command's stdout reaches a file" o "$(cat "$T/out.log")"
expect_eq "stdout's file keeps owner and mode" "root 644" "$(stat -c '%U %a' "$T/out.log")"
expect_eq "stderr's file keeps owner and mode" "root 644" "$(stat -c '%U %a' "$T/err.log")"
: > "$T/in.txt"; chmod 0644 "$T/in.txt"
"$ARKOSE" -c fx -- true < "$T/in.txt" > /dev/null
expect_eq "stdin's file keeps owner and mode" "root 644" "$(stat -c '%U %a' "$T/in.txt")"
: > "$T/begin.err"; chmod 0644 "$T/begin.err"
sid=$("$ARKOSE" -c fx --begin-session 2> "$T/begin.err")
expect_eq "--begin-session leaves its stderr's file alone" "root 644" "$(stat -c '%U %a' "$T/begin.err")"
"$ARKOSE" -c "session:$sid" --end-session

# No -c: schroot's default chroot. None configured: one line and status 2; [main] default-chroot, else a chroot or alias named "default", is used.
err=$("$ARKOSE" -- true 2>&1 >/dev/null); rc=$?
expect_eq "no -c and no default: status 2" 2 "$rc"
check "no -c and no default: one line naming default-chroot" \
        sh -c "[ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] && printf '%s' \"\$1\" | grep -q default-chroot" - "$err"
"$ARKOSE" > "$T/usage.out" 2>&1 < /dev/null; rc=$?
expect_eq "no arguments and no default: one line, status 2" "2 1" "$rc $(wc -l < "$T/usage.out")"
printf '[main]\ndefault-chroot = fx\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
expect_eq "default-chroot: '-- CMD' runs in it" fx "$("$ARKOSE" -- sh -c 'echo $ARKOSE_CHROOT')"
expect_eq "default-chroot: no arguments is a login shell in it" fx "$(echo 'echo $ARKOSE_CHROOT' | "$ARKOSE")"
sid=$("$ARKOSE" --begin-session)
expect_eq "default-chroot: --begin-session without -c begins one of it" fx "$(record_field "$sid" chroot)"
"$ARKOSE" -c "session:$sid" --end-session
rm "$ARKOSE_CONFIG_DIR/arkose.conf"
printf '[chroot]\nsource = directory\ndirectory = %s\naliases = default\n' "$FIXTURE_TREE" \
        > "$ARKOSE_CONFIG_DIR/chroots.d/fxdefault.conf"
expect_eq "an alias named 'default' is the default" fxdefault "$("$ARKOSE" -- sh -c 'echo $ARKOSE_CHROOT')"
rm "$ARKOSE_CONFIG_DIR/chroots.d/fxdefault.conf"

# A 32-bit chroot's sessions run under the linux32 personality, as schroot's personality=linux32 and
# sbuild give i386 chroots on amd64: uname -m says i686, in one-shot sessions and through the command
# socket of a lasting one, whose record keeps it for --recover-session.
case $(uname -m) in
x86_64) arch32=i386 machine32=i686 ;;
aarch64) arch32=armhf machine32=armv8l ;;
*) arch32=i386 machine32=$(uname -m) ;;   # no 32-bit personality for this host: it stays the host's
esac
printf '[chroot]\nsource = directory\ndirectory = %s\narchitecture = %s\n' "$FIXTURE_TREE" "$arch32" \
        > "$ARKOSE_CONFIG_DIR/chroots.d/fx32.conf"
expect_eq "a $arch32 chroot: uname -m in a one-shot session" "$machine32" "$("$ARKOSE" -c fx32 -- uname -m)"
expect_eq "a $arch32 chroot: uname -m as a user" "$machine32" "$("$ARKOSE" -c fx32 -u nobody -- uname -m)"
expect_eq "the host's chroot keeps the host's machine" "$(uname -m)" "$("$ARKOSE" -c fx -- uname -m)"
sid=$("$ARKOSE" -c fx32 --begin-session)
expect_eq "a $arch32 chroot: uname -m through --run-session" "$machine32" \
        "$("$ARKOSE" -c "session:$sid" --run-session -u root -- uname -m)"
expect_eq "the session's record keeps its personality" \
        "$([ "$machine32" = "$(uname -m)" ] || echo linux32)" "$(record_field "$sid" personality)"
"$ARKOSE" -c "session:$sid" --end-session
rm "$ARKOSE_CONFIG_DIR/chroots.d/fx32.conf"

# Commands liblxc attaches (a login shell fed a script, --isolate-network in a session) leave the caller's
# redirected files as they were: liblxc's attach chmods its standard fds to 0700 and chowns them to the
# command's user (fix_stdio_permissions()), so they reach the command around it.
printf 'echo "io-$((6*7))"; echo "err-$((6*7))" >&2; exit 5\n' > "$T/script.sh"
: > "$T/io.out"; : > "$T/io.err"
chmod 0644 "$T/script.sh"; chmod 0640 "$T/io.out"; chmod 0604 "$T/io.err"
"$ARKOSE" -c fx -u root < "$T/script.sh" > "$T/io.out" 2> "$T/io.err"; rc=$?
expect_eq "a login shell fed a script from a file: its status" 5 "$rc"
expect_eq "its stdout and stderr reach the caller's files" "io-42 err-42" "$(cat "$T/io.out") $(grep -v AppArmor "$T/io.err")"
expect_eq "whose owners and modes are kept" "root:0644 root:0640 root:0604" \
        "$(stat -c %U:%04a "$T/script.sh" "$T/io.out" "$T/io.err" | tr '\n' ' ' | sed 's/ $//')"
sid=$("$ARKOSE" -c fx --begin-session)
"$ARKOSE" -c "$sid" --run-session --isolate-network -u nobody -- sh -c 'cat > /dev/null; echo out; echo err >&2' \
        < "$T/script.sh" > "$T/io.out" 2> "$T/io.err"; rc=$?
expect_eq "an attached command as another user (--isolate-network): its status" 0 "$rc"
expect_eq "its output reaches the caller's files" "out err" "$(cat "$T/io.out") $(cat "$T/io.err")"
expect_eq "which stay the caller's, with their modes" "root:0644 root:0640 root:0604" \
        "$(stat -c %U:%04a "$T/script.sh" "$T/io.out" "$T/io.err" | tr '\n' ' ' | sed 's/ $//')"
"$ARKOSE" -c "$sid" --end-session

# The dev profile binds the user's home: not a system user's that the chroot has (daemon's /usr/sbin, which
# the host's would have replaced, writable), nor one missing on the host (nobody's /nonexistent: the
# session used to fail to start); root's /root (only dotfiles in the tree) still is.
expect_eq "dev as daemon: /usr/sbin is the chroot's" "$(ls "$FIXTURE_TREE/usr/sbin" | wc -l)" \
        "$("$ARKOSE" -c fx --profile dev -u daemon -- sh -c 'ls /usr/sbin | wc -l' 2> /dev/null)"
"$ARKOSE" -c fx --profile dev -u nobody -- true; expect_eq "dev as nobody (no home on the host) runs" 0 $?
expect_eq "dev as root: the host's /root is bound" "/root" \
        "$("$ARKOSE" -c fx --profile dev -u root -- findmnt -n -o TARGET /root)"

finish
