#!/bin/bash
# Teardown after a failing command, after SIGKILL of the command, and signals reaching the command.
. "$(dirname "$0")/lib.sh"
use_fixture

"$ARKOSE" -c fx -- sh -c 'echo x > /tmp/f; exit 3'; expect_eq "failing command's status" 3 $?
check "no mounts after a failing command" no_mounts_left
check "no session after a failing command" no_containers_left

"$ARKOSE" -c fx -- sh -c 'kill -9 $$'; expect_eq "SIGKILLed command gives 128+9" 137 $?
check "no mounts after SIGKILL of the command" no_mounts_left
check "no session after SIGKILL of the command" no_containers_left

# Signals sent to arkose-chroot reach the command, which can handle them.
for sig in TERM INT HUP; do
        "$ARKOSE" -c fx -- sh -c "trap 'exit 42' $sig; echo ready; while :; do sleep 0.1; done" > "$T/out.$sig" &
        pid=$!; PIDS="$PIDS $pid"
        for i in $(seq 100); do grep -q ready "$T/out.$sig" 2>/dev/null && break; sleep 0.05; done
        kill -$sig $pid
        wait $pid; rc=$?
        expect_eq "SIG$sig reaches the command (its trap exits 42)" 42 "$rc"
done
# A signal that comes while the session starts reaches the command too (or ends the start): SIGHUP as SIGHUP.
for delay in 0.01 0.05 0.2; do
        "$ARKOSE" -c fx -- sh -c 'exec sleep 100' &
        pid=$!; PIDS="$PIDS $pid"
        sleep $delay
        kill -HUP $pid
        wait $pid; expect_eq "SIGHUP ${delay}s into the start gives 129" 129 $?
done
"$ARKOSE" -c fx -- sh -c 'echo ready; exec sleep 100' > "$T/out.kill" &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 100); do grep -q ready "$T/out.kill" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid; wait $pid; expect_eq "an untrapped SIGTERM gives 143" 143 $?

# SIGKILL of arkose-chroot itself: its container dies with it (death signal) and its mounts with its
# mount namespace; the next invocation sweeps the session directory.
"$ARKOSE" -c fx -- sh -c 'echo ready; exec sleep 100' > "$T/out.k9" &
pid=$!
for i in $(seq 100); do grep -q ready "$T/out.k9" 2>/dev/null && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
sleep 0.5
check "no mounts left after SIGKILL of arkose-chroot" no_mounts_left
check "no 'sleep 100' left running" sh -c "! pgrep -f '^sleep 100$' >/dev/null"
"$ARKOSE" -c fx -- true
finish
