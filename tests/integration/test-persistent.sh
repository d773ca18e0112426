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

# A team's development container (profile dev: $HOME bound), started by root: each member who joins gets
# their own home directory from the host, not an empty one in the container, also after stop/start.
command -v useradd > /dev/null || skip "useradd is missing"
U=arkp$$
mkdir -p "$T/home"; chmod 755 "$T" "$T/home"
add_test_user -m -d "$T/home/$U" -N -s /bin/sh "$U" || skip "cannot create a test user"
add_test_user -M -d /usr/share -N -s /bin/sh "${U}s" || skip "cannot create a test user"
echo from-the-host > "$T/home/$U/notes"; chown "$U" "$T/home/$U/notes"
printf '[chroot]\nsource = directory\ndirectory = %s\npersistent = yes\nprofile = dev\n' "$FIXTURE_TREE" > "$ARKOSE_CONFIG_DIR/chroots.d/team.conf"
(cd / && "$ARKOSE" start team > /dev/null 2>&1); expect_eq "root starts the team's container" 0 $?
expect_eq "a member's home is theirs from the host" from-the-host \
        "$(cd / && "$ARKOSE" -u "$U" -c team -- sh -c 'cat ~/notes' 2>/dev/null)"
(cd / && "$ARKOSE" -u "$U" -c team -- sh -c 'echo from-the-session > ~/made')
expect_eq "what they write there lands on the host, theirs" "from-the-session $U" \
        "$(cat "$T/home/$U/made") $(stat -c %U "$T/home/$U/made")"
expect_eq "a system user's home the chroot has (/usr/share) is not bound over it" "" \
        "$(cd / && "$ARKOSE" -u "${U}s" -c team -- findmnt -n -o TARGET /usr/share 2>/dev/null)"
check "... and the user runs there all the same" sh -c "cd / && '$ARKOSE' -u '${U}s' -c team -- test -d /usr/share/doc"
"$ARKOSE" stop team; (cd / && "$ARKOSE" start team > /dev/null 2>&1)
expect_eq "after stop and start, still bound" from-the-host \
        "$(cd / && "$ARKOSE" -u "$U" -c team -- sh -c 'cat ~/notes' 2>/dev/null)"
"$ARKOSE" -c team-live --end-session; expect_eq "--end-session of the team's container" 0 $?
check "the home directory is the user's still" test -f "$T/home/$U/notes" -a -f "$T/home/$U/made"
finish
