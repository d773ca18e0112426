#!/bin/bash
# Crash safety: arkose-chroot is SIGKILLed at named points of starting, ending and recovering sessions
# (ARKOSE_TEST_PAUSE_AT=POINT makes it stop itself there), then 'arkose-chroot recover' (or the next
# session start) must leave no mount, container or process of the killed session, the tree unchanged,
# and another session still working.
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"
tree_before=$(tree_sum "$FIXTURE_TREE")
S=$ARKOSE_STATE_DIR

# A bystander: a live detached session that must survive every recovery.
keeper=$("$ARKOSE" -c fx -b -n keeper) || { echo "not ok - cannot begin the bystander session"; exit 1; }
"$ARKOSE" -c keeper -r -u root -- sh -c 'echo alive > /root/keeper'

# kill_at POINT CMD...: runs CMD with a pause at POINT, SIGKILLs it there. Fails if it never got there.
kill_at() {
        local point=$1 pid; shift
        ARKOSE_TEST_PAUSE_AT=$point "$@" >/dev/null 2>"$T/err.kill" &
        pid=$!
        if ! wait_stopped $pid; then
                kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
                echo "not ok - never reached pause point $point: $(cat "$T/err.kill")"; FAILS=$((FAILS + 1))
                return 1
        fi
        kill -9 $pid; wait $pid 2>/dev/null
        return 0
}
only_keeper_mounted() { [ "$(mounts_below "$S")" = "$S/sessions/keeper/root" ]; }
only_keeper_left() { [ "$(ls -A "$S/sessions")" = keeper ] && [ "$(ls -A "$S/lxc")" = keeper ]; }
keeper_works() { [ "$("$ARKOSE" -c keeper -r -u root -- cat /root/keeper)" = alive ]; }
recovered() {   # recovered WHAT ID
        "$ARKOSE" recover >/dev/null
        check "$1: no mount left but the bystander's" only_keeper_mounted
        check "$1: no session or container directory left" only_keeper_left
        check "$1: no container left" not monitor_running "$2"
        check "$1: the bystander still works" keeper_works
}

# --begin-session killed while starting.
for point in after-record after-mount after-hooks after-start; do
        kill_at $point "$ARKOSE" -c fx -b -n "b-$point" || continue
        [ $point = after-start ] && check "begin killed at $point: its container was running" monitor_running "b-$point"
        recovered "begin killed at $point" "b-$point"
done

# --end-session killed while ending.
for point in end-after-record end-after-stop end-after-umount; do
        "$ARKOSE" -c fx -b -n "e-$point" >/dev/null
        kill_at $point "$ARKOSE" -c "e-$point" -e || continue
        recovered "end killed at $point" "e-$point"
done

# --recover-session killed half-way: the session stays dead and recoverable, its changes kept.
"$ARKOSE" -c fx -b -n r1 >/dev/null
"$ARKOSE" -c r1 -r -u root -- sh -c 'echo precious > /root/r1'
kill -9 "$(record_field r1 init_pid)"
for i in $(seq 100); do monitor_running r1 || break; sleep 0.05; done
if kill_at recover-after-mount "$ARKOSE" -c r1 --recover-session; then
        out=$("$ARKOSE" recover)
        expect_eq "recover keeps a dead session" "Removed 0 stale sessions; 1 dead session kept (--recover-session or --end-session)" "$out"
        check "recover unmounted the dead session's root" sh -c "[ -z \"\$(findmnt -rn -o TARGET | grep -F '$S/sessions/r1/')\" ]"
        check "the dead session is listed as dead" sh -c "'$ARKOSE' sessions | grep -Eq '^r1 .* dead\$'"
        "$ARKOSE" -c r1 --recover-session; expect_eq "--recover-session after a killed one" 0 $?
        expect_eq "its changes survived" precious "$("$ARKOSE" -c r1 -r -u root -- cat /root/r1)"
        "$ARKOSE" -c r1 -e
fi

# One-shot sessions killed while starting: their mounts die with their mount namespace, their container
# with them (death signal); the next session start sweeps their directories.
for point in after-record after-mount after-hooks after-start; do
        kill_at $point "$ARKOSE" -c fx -- true || continue
        check "one-shot killed at $point: its directory is stale" sh -c "[ \$(ls -A '$S/sessions' | wc -l) = 2 ]"
        "$ARKOSE" -c fx -- true
        check "one-shot killed at $point: the next session removed it" only_keeper_left
        check "one-shot killed at $point: no mount left but the bystander's" only_keeper_mounted
done

# Must show: SIGKILL of a running one-shot session's arkose-chroot, then 'recover': no mount left under
# the state directory (the bystander ended first, so that none at all may remain), no process left.
"$ARKOSE" -c keeper -e; expect_eq "the bystander ends" 0 $?
"$ARKOSE" -c fx -- sh -c 'echo ready; exec sleep 1000' > "$T/out.k9" &
pid=$!
for i in $(seq 100); do grep -q ready "$T/out.k9" 2>/dev/null && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
"$ARKOSE" recover >/dev/null; expect_eq "recover after SIGKILL of a running one-shot session" 0 $?
check "no mount left under the state directory" sh -c "[ -z \"\$(findmnt -rn -o TARGET | grep -F '$S')\" ]"
check "the command was killed with its session" not pgrep -x -f 'sleep 1000'
expect_eq "the tree is unchanged" "$tree_before" "$(tree_sum "$FIXTURE_TREE")"
finish
