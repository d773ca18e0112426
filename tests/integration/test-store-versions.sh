#!/bin/bash
# Versions: update as a layer, NAME@VERSION sessions, info, diff, rollback, remove, gc with a session
# holding a version, waiting on a concurrent update.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture vx

"$ARKOSE" update vx --command 'touch /etc/v2' > "$T/up.out"; expect_eq "update --command succeeds" 0 $?
expect_eq "version 2 is current" 2 "$(current_of vx)"
check "-c vx sees /etc/v2" "$ARKOSE" -c vx -- test -e /etc/v2
check "-c vx@1 does not" sh -c "! '$ARKOSE' -c vx@1 -- test -e /etc/v2"
check "version 1's tree is untouched" test ! -e "$ARKOSE_STATE_DIR/trees/vx/1/rootfs/etc/v2"
check "version 2 is a layer, not a copy" test -d "$ARKOSE_STATE_DIR/trees/vx/2/layer" -a ! -e "$ARKOSE_STATE_DIR/trees/vx/2/rootfs"
layer_kb=$(du -sk "$ARKOSE_STATE_DIR/trees/vx/2/layer" | cut -f1)
check "version 2's layer is small (${layer_kb} KiB)" test "$layer_kb" -lt 1024
check "info vx@2 names its parent" sh -c "'$ARKOSE' info vx@2 | grep -Eq 'Parent +1'"
check "info vx@2 names how it was made" sh -c "'$ARKOSE' info vx@2 | grep -q 'touch /etc/v2'"
inside=$("$ARKOSE" -c vx@1 -- sh -c 'echo $ARKOSE_CHROOT_VERSION')
expect_eq "a session of vx@1 says version 1" 1 "$inside"

# A package installed by an update shows in diff; a deletion through a layer (a whiteout) hides a file.
"$ARKOSE" update vx --command 'mkdir -p /tmp/p/DEBIAN && printf "Package: arktest\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t.invalid>\nDescription: t\n" > /tmp/p/DEBIAN/control && dpkg-deb -b /tmp/p /tmp/p.deb >/dev/null && dpkg -i /tmp/p.deb >/dev/null && rm -rf /tmp/p /tmp/p.deb /etc/v2' > /dev/null
expect_eq "second update succeeds" 0 $?
d=$("$ARKOSE" diff vx@1 vx@3 2>/dev/null)
expect_eq "diff vx@1 vx@3 lists the new package" "+ arktest 1.0 all" "$d"
check "a file removed in version 3 is gone there" sh -c "! '$ARKOSE' -c vx@3 -- test -e /etc/v2"
check "and still there in version 2" "$ARKOSE" -c vx@2 -- test -e /etc/v2

# rollback: to the previous version, then to a named one.
"$ARKOSE" rollback vx > /dev/null; expect_eq "rollback makes 2 current" 2 "$(current_of vx)"
"$ARKOSE" rollback vx 1 > /dev/null; expect_eq "rollback vx 1 makes 1 current" 1 "$(current_of vx)"
check "the session sees version 1 again" sh -c "! '$ARKOSE' -c vx -- test -e /etc/v2"
err=$("$ARKOSE" rollback vx 9 2>&1 >/dev/null); rc=$?
check "rollback to a missing version fails in one line ($err)" test "$rc" -ne 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1

# remove refuses what is needed.
err=$("$ARKOSE" remove vx@1 2>&1); check "remove of the current version is refused: $err" sh -c "! '$ARKOSE' remove vx@1 2>/dev/null"
err=$("$ARKOSE" remove vx@2 2>&1); check "remove of a parent is refused: $err" sh -c "printf '%s' '$err' | grep -q 'layer on it'"

# gc with a session holding version 3: kept (and said so) until the session ends.
"$ARKOSE" -c vx@3 -- sh -c 'echo ready; sleep 30' > "$T/hold.out" &
hold=$!; PIDS="$PIDS $hold"
for i in $(seq 100); do grep -q ready "$T/hold.out" 2>/dev/null && break; sleep 0.05; done
err=$("$ARKOSE" remove vx@3 2>&1); check "remove of a version in use is refused: $err" sh -c "printf '%s' '$err' | grep -q 'session uses it'"
"$ARKOSE" gc --keep 0 > "$T/gc.out" 2>&1
check "gc says it keeps the version in use: $(cat "$T/gc.out")" grep -q "Keeping 'vx@3': a running session uses it" "$T/gc.out"
check "gc kept version 3 and its parent" test -d "$ARKOSE_STATE_DIR/trees/vx/3" -a -d "$ARKOSE_STATE_DIR/trees/vx/2"
kill -TERM $hold; wait $hold 2>/dev/null
"$ARKOSE" gc --keep 0 > /dev/null; expect_eq "gc after the session ended" 0 $?
check "gc removed versions 3 and 2" test ! -e "$ARKOSE_STATE_DIR/trees/vx/3" -a ! -e "$ARKOSE_STATE_DIR/trees/vx/2"
check "gc kept the current version" "$ARKOSE" -c vx -- true

# Two updates at once: the second waits, says so, then layers on the first's result.
held=$("$ARKOSE" -c vx -b)
"$ARKOSE" update vx --command 'sleep 3; touch /etc/first' > /dev/null 2>&1 &
u1=$!; PIDS="$PIDS $u1"
sleep 1
# The update's arkose-chroot lives in a namespace of its own while its command runs: without the
# overlay of a session begun before it, which it would keep alive after that session ended.
check "a detached session's overlay is in the host's mounts" grep -q "/sessions/$held/" /proc/self/mountinfo
check "... not in the namespace of the update running meanwhile (which has its own overlay)" \
        sh -c "grep -q ' overlay ' /proc/$u1/mountinfo && ! grep -q '/sessions/$held/' /proc/$u1/mountinfo"
"$ARKOSE" -c "$held" -e
# A session started during the update uses the version current before it.
inside=$("$ARKOSE" -c vx -- sh -c 'echo $ARKOSE_CHROOT_VERSION')
expect_eq "a session during an update uses the previous version" 1 "$inside"
"$ARKOSE" update vx --command 'test -e /etc/first && touch /etc/second' > /dev/null 2> "$T/u2.err"; rc2=$?
wait $u1; rc1=$?
expect_eq "first update" 0 "$rc1"
expect_eq "second update (after waiting)" 0 "$rc2"
check "the second update said it waited" grep -q "Waiting for another" "$T/u2.err"
check "the newest version has both" "$ARKOSE" -c vx -- test -e /etc/first -a -e /etc/second

# squash: the layered current version becomes a full tree with the same content.
v=$(current_of vx)
"$ARKOSE" squash vx > /dev/null; expect_eq "squash" 0 $?
s=$(current_of vx)
check "squash made a new full version ($v -> $s)" test -d "$ARKOSE_STATE_DIR/trees/vx/$s/rootfs" -a "$s" -gt "$v"
check "the squashed version has the layers' content" "$ARKOSE" -c vx -- test -e /etc/first -a -e /etc/second
check "the squashed version has a package list" grep -q "^dpkg	" "$ARKOSE_STATE_DIR/trees/vx/$s/manifest"
# Past 8 layers, update squashes by itself.
: > "$T/auto.out"
for i in $(seq 9); do "$ARKOSE" update vx --command "touch /etc/n$i" >> "$T/auto.out" || break; done
check "the eighth layer was squashed automatically" grep -q "^Squashed" "$T/auto.out"
check "all nine changes are there" "$ARKOSE" -c vx -- test -e /etc/n1 -a -e /etc/n9
layers=$("$ARKOSE" info vx | grep -c '/layer$')
check "the current version stacks at most one layer now ($layers)" test "$layers" -le 1

"$ARKOSE" remove vx > /dev/null; expect_eq "remove vx" 0 $?
check "the chroot is gone" test ! -e "$ARKOSE_STATE_DIR/trees/vx"
check "nothing of it stays in trees/ ($(ls -A "$ARKOSE_STATE_DIR/trees" | tr '\n' ' '))" \
        sh -c "! ls -A '$ARKOSE_STATE_DIR/trees' | grep -q '^vx'"
check "a session of the removed chroot fails and leaves no lock file behind" \
        sh -c "! '$ARKOSE' -c vx -- true 2>/dev/null && ! ls -A '$ARKOSE_STATE_DIR/trees' | grep -q '^vx'"
check "the shared fixture is intact" test -x "$FIXTURE_TREE/bin/sh"
finish
