#!/bin/bash
# A session on a terminal: the command gets a pty of the container's own, and the caller's terminal is proxied
# to it. What was typed while the session started reaches the shell (liblxc's own proxy flushed it), the
# size follows the caller's, ^C reaches the command and not arkose-chroot, a background process left holding
# the pty does not keep the caller waiting, and the caller's terminal modes are restored afterwards.
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"
command -v script > /dev/null || skip "script (bsdutils) is missing"

# Input typed ahead (here: piped through script's pty before the shell exists) reaches the login shell.
# The shell prints 42, which the typed line does not contain, so its echo cannot pass for the result.
printf 'echo typed-$((6*7)); exit 3\n' | script -qec "'$ARKOSE' -c fx" /dev/null > "$T/ahead.out" 2>&1; rc=$?
expect_eq "input typed ahead runs in the login shell: its exit status" 3 "$rc"
check "and its output ($(tr -d '\r' < "$T/ahead.out" | tail -n 3 | tr '\n' '|'))" grep -q "typed-42" "$T/ahead.out"

# An end of file typed ahead (script(1) types ^D when its input ends) reaches the command as end of file:
# switched to raw mode with the ^D still pending, the line discipline would hand over a NUL byte instead.
timeout 60 script -qec "'$ARKOSE' -c fx -- sh -c 'sleep 1; cat > got; echo cat=\$?'" /dev/null < /dev/null \
        > "$T/eof.out" 2>&1; rc=$?
expect_eq "a ^D typed ahead ends the command's input (status 0, not timeout's 124)" 0 "$rc"
check "cat saw an end of file ($(tr -d '\r' < "$T/eof.out"))" grep -q "cat=0" "$T/eof.out"
expect_eq "and read nothing (no NUL byte)" 0 "$(stat -c %s "$T/got" 2>/dev/null)"

# The pty is the command's controlling terminal, in the container's own devpts, owned by the user.
script -qec "'$ARKOSE' -c fx -u nobody -- sh -c 'tty; stat -c %U:%G \$(tty); cat /proc/self/stat | cut -d\" \" -f7'" \
        /dev/null < /dev/null > "$T/tty.out" 2>&1; rc=$?
out=$(tr -d '\r' < "$T/tty.out")
expect_eq "a command on the terminal exits 0" 0 "$rc"
check "it has a pty ($out)" grep -q "/dev/pts/[0-9]" "$T/tty.out"
check "owned by the user, group tty" grep -q "^nobody:tty" "$T/tty.out"
check "which is its controlling terminal (tty_nr not 0)" sh -c "tr -d '\r' < '$T/tty.out' | tail -n 1 | grep -qx '[1-9][0-9]*'"

# The size is the caller's at the start, and follows it (SIGWINCH) while the command runs.
script -qec "stty rows 41 cols 101; '$ARKOSE' -c fx -- stty size" /dev/null < /dev/null > "$T/size.out" 2>&1
check "the size is the caller's ($(tr -d '\r' < "$T/size.out"))" grep -q "^.*41 101" "$T/size.out"
rm -f "$T/ready"
script -qec "stty rows 41 cols 101
(for i in \$(seq 300); do [ -e '$T/ready' ] && break; sleep 0.1; done; stty -F /dev/tty rows 30 cols 90) &
'$ARKOSE' -c fx -- sh -c 'trap \"stty size; exit 0\" WINCH; touch ready; for i in \$(seq 300); do sleep 0.1; done; exit 9'" \
        /dev/null < /dev/null > "$T/winch.out" 2>&1; rc=$?
expect_eq "a resize reaches the command as SIGWINCH" 0 "$rc"
check "with the new size ($(tr -d '\r' < "$T/winch.out"))" grep -q "30 90" "$T/winch.out"

# ^C typed on the terminal interrupts the command in the session (130), not arkose-chroot before it.
rm -f "$T/ready"
(for i in $(seq 300); do [ -e "$T/ready" ] && break; sleep 0.1; done; printf '\003'; sleep 5) |
        script -qec "'$ARKOSE' -c fx -- sh -c 'touch ready; sleep 60; exit 9'" /dev/null > "$T/intr.out" 2>&1; rc=$?
expect_eq "^C interrupts the command, whose status passes through" 130 "$rc"

# A live session: input typed ahead reaches --run-session's shell too; a command that leaves a background
# process holding the pty returns when it ends.
id=$("$ARKOSE" -c fx --begin-session 2>/dev/null)
check "begin-session ($id)" test -n "$id"
printf 'echo typed-$((6*7)); exit 4\n' | script -qec "'$ARKOSE' -c '$id' --run-session" /dev/null > "$T/run.out" 2>&1; rc=$?
expect_eq "run-session on a terminal: input typed ahead runs, exit status" 4 "$rc"
check "and its output" grep -q "typed-42" "$T/run.out"
timeout 60 script -qec "'$ARKOSE' -c '$id' --run-session -- sh -c 'sleep 120 & exit 2'" /dev/null < /dev/null \
        > /dev/null 2>&1; rc=$?
expect_eq "a background process holding the pty does not keep the caller (status 2, not timeout's 124)" 2 "$rc"
"$ARKOSE" -c "$id" --end-session; expect_eq "end-session" 0 $?

# The caller's terminal modes are as they were afterwards (the proxy puts it in raw mode).
script -qec "stty -g > '$T/before'; '$ARKOSE' -c fx -- true; stty -g > '$T/after'" /dev/null < /dev/null > /dev/null 2>&1
check "the caller's terminal modes are restored" cmp -s "$T/before" "$T/after"
check "(and were read: $(cat "$T/before"))" test -s "$T/before"
finish
