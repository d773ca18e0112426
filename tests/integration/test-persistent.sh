#!/bin/bash
# A persistent chroot's shared container: start, -c NAME attaching while it runs (several users at once,
# each as themselves), changes kept across stop/start, stop, and one-shot sessions again once stopped.
. "$(dirname "$0")/lib.sh"
use_fixture
printf '[chroot]\nsource = directory\ndirectory = %s\npersistent = yes\n' "$FIXTURE_TREE" > "$ARKOSE_CONFIG_DIR/chroots.d/dev.conf"

err=$("$ARKOSE" start fx 2>&1); rc=$?
check "start of a chroot that is not persistent is refused ($err)" test "$rc" -ne 0
id=$("$ARKOSE" start dev 2>/dev/null); expect_eq "start dev prints the session id" "dev-live" "$id"
again=$("$ARKOSE" start dev 2>/dev/null); expect_eq "a second start says it runs" "dev-live" "$again"
"$ARKOSE" -u root -c dev -- sh -c 'echo kept > /etc/shared-state'
expect_eq "-c dev attaches to the running container (state shared)" kept "$("$ARKOSE" -u root -c dev -- cat /etc/shared-state)"
s1=$("$ARKOSE" -u root -c dev -- cut -d' ' -f22 /proc/1/stat)
s2=$("$ARKOSE" -u root -c dev -- cut -d' ' -f22 /proc/1/stat)
check "two commands meet the same container init (start time $s1)" test -n "$s1" -a "$s1" = "$s2"
# Several users at once, each as themselves.
out=$( ("$ARKOSE" -u nobody -c dev -- id -un & "$ARKOSE" -u daemon -c dev -- id -un & "$ARKOSE" -u root -c dev -- id -un & wait) | sort | tr '\n' ' ')
expect_eq "three users attached at once, each as themselves" "daemon nobody root " "$out"

"$ARKOSE" stop dev; expect_eq "stop dev" 0 $?
check "stopped: no mount left under the session" sh -c "! findmnt -rn -o TARGET | grep -q '$ARKOSE_STATE_DIR/sessions/dev-live/'"
check "stopped: -c dev is a fresh one-shot session without the shared change" \
        sh -c "! '$ARKOSE' -u root -c dev -- test -e /etc/shared-state"
"$ARKOSE" start dev > /dev/null 2>&1; expect_eq "start again" 0 $?
expect_eq "the change survived stop/start" kept "$("$ARKOSE" -u root -c dev -- cat /etc/shared-state)"
"$ARKOSE" -c dev-live --end-session; expect_eq "--end-session discards it" 0 $?
check "the base tree never saw the change" test ! -e "$FIXTURE_TREE/etc/shared-state"
finish
