#!/bin/bash
# update is atomic: SIGKILL at several points leaves the current version intact and usable, no half
# version visible, and no staging once the next command has run on that chroot.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture vx

after_kill() {  # after_kill WHEN
        local when=$1
        sleep 0.3
        expect_eq "killed $when: version 1 stays current" 1 "$(current_of vx)"
        check "killed $when: no version 2 visible" test ! -e "$ARKOSE_STATE_DIR/trees/vx/2"
        check "killed $when: the chroot works and has no trace of the update" \
                sh -c "! '$ARKOSE' -c vx -- test -e /etc/half"
        check "killed $when: no staging left after the next command" no_staging_left vx
        check "killed $when: no mounts left" no_mounts_left
}

# 1. While staging is being prepared (stopped at a pause point, then killed).
ARKOSE_TEST_PAUSE_AT=update-staging "$ARKOSE" update vx --command 'touch /etc/half' > /dev/null 2>&1 &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 100); do [ "$(ps -o stat= -p $pid 2>/dev/null | cut -c1)" = T ] && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
after_kill "after making staging"

# 2. In the middle of the command, inside the container.
"$ARKOSE" update vx --command 'touch /etc/half; echo started > /dev/console 2>/dev/null; sleep 30' > "$T/u.out" 2>&1 &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 200); do pgrep -f '^sleep 30$' > /dev/null && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
sleep 0.5
check "killed during the command: its processes are gone" sh -c "! pgrep -f '^sleep 30$' > /dev/null"
after_kill "during the command"

# 3. After the command, with the layer complete, just before publishing.
ARKOSE_TEST_PAUSE_AT=update-before-publish "$ARKOSE" update vx --command 'touch /etc/half' > /dev/null 2>&1 &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 200); do [ "$(ps -o stat= -p $pid 2>/dev/null | cut -c1)" = T ] && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
after_kill "just before publishing"

# 4. Ctrl-C during the command: one line, version unchanged.
"$ARKOSE" update vx --command 'sleep 30' > /dev/null 2> "$T/int.err" &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 200); do pgrep -f '^sleep 30$' > /dev/null && break; sleep 0.05; done
kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C: non-zero exit ($rc)" test "$rc" -ne 0
check "Ctrl-C: says so in one line: $(tail -n 1 "$T/int.err")" grep -q "interrupted; version 1 stays current" "$T/int.err"
after_kill "by Ctrl-C"

# 5. A failing command publishes nothing.
err=$("$ARKOSE" update vx --command 'touch /etc/half; exit 3' 2>&1 >/dev/null); rc=$?
check "a failing update command: non-zero, one line ($err)" test "$rc" -ne 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1
after_kill "by its own failure"

# And after all that, an update still works.
"$ARKOSE" update vx --command 'touch /etc/whole' > /dev/null; expect_eq "the next update works" 0 $?
check "and is seen" "$ARKOSE" -c vx -- test -e /etc/whole
finish
