#!/bin/bash
# PID 1 of a container is arkose-init: a one-shot command runs as its child (no attach), its status passes
# through, what it leaves behind is killed when it exits, orphans are reaped, signals reach it; terminals,
# login shells and live sessions attach to an idle arkose-init; without arkose-init, liblxc's init is used.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture ti
cd "$T"

# (--stdio=I,O,E: where it found the caller's standard fds, lib/container.c's stdio_divert())
expect_eq "PID 1 is arkose-init, the command its child" "/dev/.arkose-init --stdio sh 1" \
        "$("$ARKOSE" -c ti -- sh -c 'printf "%s %s\n" "$(tr "\0" " " < /proc/1/cmdline | cut -d" " -f1-3 | sed "s/=[-0-9,]*//")" "$PPID"')"
"$ARKOSE" -c ti -- sh -c 'exit 9'; expect_eq "exit status" 9 $?
"$ARKOSE" -c ti -- sh -c 'kill -KILL $$'; expect_eq "killed by SIGKILL gives 137" 137 $?
err=$("$ARKOSE" -c ti -- /nonexistent/program 2>&1); rc=$?
expect_eq "a missing program gives 127" 127 "$rc"
case $err in *"failed to run '/nonexistent/program'"*) says=yes ;; *) says=no ;; esac
expect_eq "and says so ($err)" yes "$says"

# What the command leaves running does not keep the session alive, and dies with it.
start=$(date +%s%N)
"$ARKOSE" -c ti -- sh -c "sleep 1000 & sleep 1001 & exit 3"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "a command that leaves processes behind still gives its status" 3 "$rc"
check "and the session ends at once (${ms} ms)" test "$ms" -lt 5000
check "no process of it is left on the host" sh -c "! pgrep -f 'sleep 100[01]' >/dev/null"

# Orphans are reaped while the command runs.
z=$("$ARKOSE" -c ti -- sh -c '(sleep 0.1 &); (sleep 0.1 &); sleep 1; grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l')
expect_eq "no zombies left by orphans" 0 "$z"

# Uid, groups, working directory, no_new_privs and the environment are the command's, as with attach.
mkdir -p "$T/work"
out=$("$ARKOSE" -c ti -u nobody -d "$T/work" -- sh -c 'id -u; pwd; grep ^NoNewPrivs /proc/self/status | tr -d "\t"; echo "$HOME $USER"')
expect_eq "user, directory, no_new_privs, environment" "65534
$T/work
NoNewPrivs:1
/nonexistent nobody" "$out"

# A terminal gets a pty of the container's own through attach, to an idle arkose-init.
if command -v script > /dev/null; then
        script -eqc "'$ARKOSE' -c ti -- sh -c 'tty; tr \"\\0\" \" \" < /proc/1/cmdline; exit 5'" /dev/null > "$T/tty.out"; rc=$?
        out=$(tr -d '\r' < "$T/tty.out")
        expect_eq "with a terminal the status passes through" 5 "$rc"
        check "the command has a pty ($out)" sh -c "printf '%s\n' '$out' | grep -q '/dev/pts/[0-9]'"
        check "and PID 1 is an idle arkose-init" sh -c "printf '%s\n' '$out' | grep -q '^/dev/.arkose-init \$'"
fi
out=$(echo 'echo "$0"; exit 4' | "$ARKOSE" -c ti -u root); rc=$?
expect_eq "a login shell is attached (argv[0] '-bash')" "-bash" "$out"
expect_eq "its status passes through" 4 "$rc"

# A live session: an idle arkose-init serving the session's command socket; commands are its children.
id=$("$ARKOSE" -c ti --begin-session 2>/dev/null)
check "begin-session ($id)" test -n "$id"
out=$("$ARKOSE" -c "$id" --run-session -- sh -c 'tr "\0" " " < /proc/1/cmdline; exit 2'); rc=$?
expect_eq "run-session status" 2 "$rc"
expect_eq "its PID 1 is an idle arkose-init with a command socket" \
        "/dev/.arkose-init --listen=/dev/.arkose-run/init.sock " "$out"
expect_eq "the command is a child of PID 1 (the socket, not attach)" 1 \
        "$("$ARKOSE" -c "$id" --run-session -- sh -c 'sed -n "s/^PPid:\t//p" /proc/$$/status')"
"$ARKOSE" -c "$id" --end-session; expect_eq "end-session" 0 $?

# Without arkose-init next to the program (nor installed), liblxc's init runs, as before.
if [ ! -e /usr/lib/arkose/arkose-init ]; then
        mkdir -p "$T/bin" && cp "$ARKOSE" "$T/bin/arkose-chroot"
        out=$("$T/bin/arkose-chroot" -c ti -- sh -c 'tr "\0" " " < /proc/1/cmdline; exit 6'); rc=$?
        expect_eq "without arkose-init PID 1 is liblxc's init" "init " "$out"
        expect_eq "and the status passes through" 6 "$rc"
fi
finish
