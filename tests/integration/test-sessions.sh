#!/bin/bash
# Sessions that last, on schroot's command line: --begin-session, --run-session, --end-session,
# --recover-session; -l --all-sessions, 'sessions', -i for sbuild; the chroot: and session: namespaces.
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"
tree_before=$(tree_sum "$FIXTURE_TREE")

# Must show: begin, two --run-session -u root sharing state, listed, ended.
id=$("$ARKOSE" -c fx --begin-session); rc=$?
expect_eq "--begin-session succeeds" 0 "$rc"
check "--begin-session prints the id 'fx-xxxxxxxx' ($id)" sh -c "echo '$id' | grep -Eqx 'fx-[0-9a-f]{8}'"
"$ARKOSE" -c "$id" --run-session -u root -- sh -c 'echo shared > /root/state'
expect_eq "a second --run-session sees the first one's file" "shared" \
        "$("$ARKOSE" -c "$id" --run-session -u root -- cat /root/state)"
check "-l --all-sessions lists session:$id" sh -c "'$ARKOSE' -l --all-sessions | grep -qx 'session:$id'"
check "-l alone lists chroots, not sessions" sh -c "! '$ARKOSE' -l | grep -q '^session:'"
check "'sessions' shows it running" sh -c "'$ARKOSE' sessions | grep -Eq '^$id +fx +directory +root +detached +[0-9]+s +running\$'"
json=$("$ARKOSE" sessions --json)
expect_eq "'sessions --json' names it, running" "$id running" \
        "$(echo "$json" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(s["id"], s["state"])')"

# sbuild: --info --chroot session:ID, then its Path on the host, which is the session's root.
info=$("$ARKOSE" --info --chroot "session:$id")
path=$(echo "$info" | sed -n 's/^ *Path  *//p')
check "-i has a '--- Session ---' block" sh -c "echo '$info' | grep -q '^  --- Session ---\$'"
expect_eq "-i Name is the id" "$id" "$(echo "$info" | sed -n 's/^ *Name  *//p')"
expect_eq "-i Session Purged is true (changes are discarded)" "true" "$(echo "$info" | sed -n 's/^ *Session Purged  *//p')"
check "-i Path is a host directory ($path)" test -d "$path"
expect_eq "the Path is the session's root" "shared" "$(cat "$path/root/state" 2>/dev/null)"
echo from-host > "$path/tmp/from-host"
expect_eq "a file written at the Path is seen inside" "from-host" \
        "$("$ARKOSE" -c "$id" -r -u root -- cat /tmp/from-host)"
expect_eq "-i -c ID without a namespace finds the session" "$path" \
        "$("$ARKOSE" -i -c "$id" | sed -n 's/^ *Path  *//p')"

# sbuild's execute command line; exit status, stdio and signals as in one-shot sessions.
expect_eq "sbuild's '-d DIR -c ID --run-session -q -u USER -p --' works" "/" \
        "$("$ARKOSE" -d / -c "$id" --run-session -q -u root -p -- pwd)"
"$ARKOSE" -c "$id" -r -- sh -c 'exit 7'; expect_eq "exit status passes through" 7 $?
"$ARKOSE" -c "$id" -r -- sh -c 'kill -9 $$'; expect_eq "a killed command gives 128+9" 137 $?
expect_eq "stdin passes through" "hello" "$(echo hello | "$ARKOSE" -c "$id" -r -- cat)"
expect_eq "stderr passes through" "oops" "$("$ARKOSE" -c "$id" -r -- sh -c 'echo oops >&2' 2>&1 >/dev/null)"
expect_eq "the caller's directory, bound when the session began, is the working directory" "$T" \
        "$("$ARKOSE" -c "$id" -r -- pwd)"
expect_eq "-d DIR is a directory in the session" "/etc" "$("$ARKOSE" -c "$id" -r -d /etc -- pwd)"
"$ARKOSE" -c "$id" -r -d /nonexistent -- true 2>"$T/err"; rc=$?
check "-d with a directory missing in the session fails ($rc)" test "$rc" = 1
expect_eq "... with one error line" 1 "$(wc -l < "$T/err")"
"$ARKOSE" -c "$id" -r -- sh -c "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done" > "$T/out.term" &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 100); do grep -q ready "$T/out.term" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid; wait $pid; expect_eq "SIGTERM reaches the command (its trap exits 42)" 42 $?
expect_eq "session:ID without an action runs in the session" "shared" \
        "$("$ARKOSE" -c "session:$id" -u root -- cat /root/state)"
expect_eq "ARKOSE_SESSION_ID is the id" "$id" "$("$ARKOSE" -c "$id" -r -- sh -c 'echo $ARKOSE_SESSION_ID')"
"$ARKOSE" -c "chroot:$id" -r -- true 2>/dev/null; expect_eq "chroot:ID is not a session (bad usage)" 2 $?
"$ARKOSE" -c "snapshot:fx" -- true 2>/dev/null; expect_eq "another namespace is not supported (bad usage)" 2 $?
# (source:NAME is: tests/integration/test-source.sh; fx, a directory chroot, has no versions to make.)
"$ARKOSE" -c "source:fx" -- true 2>/dev/null; expect_eq "source: of a directory chroot fails" 1 $?

# -u USER the session does not know yet: the setup-user hooks add it, once.
user=arkses$$
add_test_user -M -d /nonexistent-arkses -s /bin/sh "$user" || skip "useradd failed"
expect_eq "--run-session -u USER for a user new to the session" "$user" "$("$ARKOSE" -c "$id" -r -d / -u "$user" -- id -un)"
"$ARKOSE" -c "$id" -r -d / -u "$user" -- true
expect_eq "... who is added once" 1 "$("$ARKOSE" -c "$id" -r -- grep -c "^$user:" /etc/passwd)"

# Root with umask 077 (or 027, as hardening guides set it): the session's "/" (the overlay's root takes its
# writable layer's mode) is still 755, and the user's commands run.
um=$(umask 077; "$ARKOSE" -c fx -b -n umask077)
expect_eq "a session begun under umask 077 has / 755 for its users" 755 \
        "$("$ARKOSE" -c "$um" -r -d / -u "$user" -- stat -c %a /)"
"$ARKOSE" -c "$um" -e
expect_eq "a one-shot session under umask 077 runs the user's command" "$user" \
        "$(umask 077; "$ARKOSE" -c fx -d / -u "$user" -- id -un)"

# Named sessions; the chroot: namespace.
named=$("$ARKOSE" -c chroot:fx -b -n my-build.1); expect_eq "-n names the session" "my-build.1" "$named"
"$ARKOSE" -c fx -b -n my-build.1 2>"$T/err"; rc=$?
expect_eq "a taken name is refused" "1 1" "$rc $(wc -l < "$T/err")"
"$ARKOSE" -c fx -b -n 'a/b' 2>/dev/null; expect_eq "an invalid name is refused" 1 $?
"$ARKOSE" -c fx -b -n '.hidden' 2>/dev/null; expect_eq "a name starting with '.' is refused" 1 $?
"$ARKOSE" -c my-build.1 -r -- test ! -e /root/state; expect_eq "sessions do not share writes" 0 $?
"$ARKOSE" -c my-build.1 -e; expect_eq "--end-session of the named session" 0 $?

# --tmpfs: the writable layer in memory.
tm=$("$ARKOSE" -c fx -b --tmpfs)
expect_eq "a --tmpfs session works" "x" "$("$ARKOSE" -c "$tm" -r -- sh -c 'echo x > /x; cat /x')"
check "its layer is a tmpfs" sh -c "findmnt -rn -o FSTYPE '$ARKOSE_STATE_DIR/sessions/$tm/tmp' | grep -qx tmpfs"
"$ARKOSE" -c "$tm" -e; expect_eq "--end-session of the --tmpfs session" 0 $?

# The session's profile (buildd by default) applies to --run-session commands as to one-shot ones.
expect_eq "the profile's environment reaches --run-session commands" "noninteractive" \
        "$("$ARKOSE" -c "$id" -r -- sh -c 'echo $DEBIAN_FRONTEND')"
hostnet=$("$ARKOSE" -c fx -b -n hostnet --network host)
# Its monitor lives as long as it does, in a copy of the host's mounts: without the first session's
# overlay, which would otherwise outlive that session's end (or death, and be in use at its recovery).
mon=$(pgrep -f "lxc monitor. $ARKOSE_STATE_DIR/lxc hostnet\$" | head -n 1)
check "the monitor of a session begun later ($mon) holds none of the first session's mounts" \
        sh -c "[ -n '$mon' ] && grep -q '/sessions/hostnet/' /proc/$mon/mountinfo && ! grep -q '/sessions/$id/' /proc/$mon/mountinfo"
# Nor does a one-shot command's arkose-chroot, for as long as the command runs.
"$ARKOSE" -c fx -- sleep 5 & oneshot=$!; PIDS="$PIDS $oneshot"
for i in $(seq 100); do
        grep "$ARKOSE_STATE_DIR/sessions/" "/proc/$oneshot/mountinfo" 2>/dev/null | grep -v -e "/$id/" -e /hostnet/ | grep -q overlay && break
        sleep 0.05
done
check "a one-shot command's arkose-chroot, with its own overlay, holds none of the first session's mounts" \
        sh -c "grep -q ' overlay ' /proc/$oneshot/mountinfo && ! grep -q '/sessions/$id/' /proc/$oneshot/mountinfo"
kill "$oneshot"; wait "$oneshot" 2>/dev/null
host_ns=$(readlink /proc/self/ns/net)
expect_eq "a session begun with --network host has the host's network" "$host_ns" \
        "$("$ARKOSE" -c hostnet -r -- readlink /proc/self/ns/net)"

# --recover-session: the container dies (as at a reboot); the session's layer is kept.
"$ARKOSE" -c "$id" -r -u root -- sh -c 'echo before-death > /root/kept'
kill -9 "$(record_field "$id" init_pid)"
for i in $(seq 100); do monitor_running "$id" || break; sleep 0.05; done
check "'sessions' shows the session dead" sh -c "'$ARKOSE' sessions | grep -Eq '^$id .* dead\$'"
"$ARKOSE" -c "$id" -r -- true 2>"$T/err"; rc=$?
expect_eq "--run-session in a dead session fails with one line" "1 1" "$rc $(wc -l < "$T/err")"
"$ARKOSE" -c "$id" --recover-session; expect_eq "--recover-session" 0 $?
expect_eq "the recovered session kept its changes" "before-death" \
        "$("$ARKOSE" -c "$id" -r -u root -- cat /root/kept)"
check "'sessions' shows it running again" sh -c "'$ARKOSE' sessions | grep -Eq '^$id .* running\$'"
check "the recovered session still has a network namespace of its own" \
        test "$("$ARKOSE" -c "$id" -r -- readlink /proc/self/ns/net)" != "$host_ns"
kill -9 "$(record_field hostnet init_pid)"
for i in $(seq 100); do monitor_running hostnet || break; sleep 0.05; done
"$ARKOSE" -c hostnet --recover-session; expect_eq "--recover-session of the --network host session" 0 $?
expect_eq "... which comes back with the host's network, as begun" "$host_ns" \
        "$("$ARKOSE" -c hostnet -r -- readlink /proc/self/ns/net)"
"$ARKOSE" -c hostnet -e
"$ARKOSE" -c "$id" --recover-session; expect_eq "--recover-session of a running session is a no-op" 0 $?

# A versioned chroot's version is in use while a detached session lives, even without a lock held.
use_versioned_fixture vx
vid=$("$ARKOSE" -c vx -b)
"$ARKOSE" remove vx 2>/dev/null; expect_eq "remove refuses a chroot a detached session uses" 1 $?
"$ARKOSE" -c "$vid" -e
"$ARKOSE" remove vx >/dev/null; expect_eq "remove works once the session ended" 0 $?

# --end-session: everything goes.
"$ARKOSE" -c "$id" --end-session; expect_eq "--end-session" 0 $?
check "no session listed after --end-session" sh -c "[ -z \"\$('$ARKOSE' -l --all-sessions)\" ]"
check "the Path is gone" test ! -e "$path"
check "no monitor left" not monitor_running "$id"
"$ARKOSE" -c "$id" -r -- true 2>"$T/err"; rc=$?
expect_eq "--run-session after the end fails with one line" "1 1" "$rc $(wc -l < "$T/err")"
"$ARKOSE" -c "$id" -e 2>/dev/null; expect_eq "a second --end-session fails" 1 $?
expect_eq "the tree is unchanged" "$tree_before" "$(tree_sum "$FIXTURE_TREE")"
finish
