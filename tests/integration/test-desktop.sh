#!/bin/bash
# The desktop profile against a real X server: Xvfb on a display of its own (a unix socket only), started
# with authentication as display managers, startx and ssh -X do. An X client in the session (the host's
# xprop and its libraries, libX11 and libXau among them, bound in: the fixture has no X) must be let in as
# the session's user, through the cookies arkose-chroot gives the session; the session has a host name of
# its own, for which the host's file holds no cookie.
. "$(dirname "$0")/lib.sh"
use_fixture
for p in Xvfb xauth xprop useradd; do
        command -v "$p" > /dev/null || skip "$p is missing (apt-get install xvfb x11-utils xauth)"
done

U=arkx$$
add_test_user -M -N -d "$T/home" -s /bin/sh "$U" || skip "cannot create a test user"
chmod 755 "$T"
mkdir -p "$T/home" "$T/work" "$T/x"; chown "$U" "$T/home" "$T/work"

# xprop and the libraries it needs, bound read-only at /opt/x.
host_clients xprop
XCLIENT="LD_LIBRARY_PATH=/opt/x /opt/x/xprop -root _XKB_RULES_NAMES"

# A display number nobody uses, and its server's cookie in the user's ~/.Xauthority.
D=""
for n in $(seq $((100 + $$ % 400)) $((120 + $$ % 400))); do
        [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { D=$n; break; }
done
[ -n "$D" ] || skip "no free X display number"
COOKIE=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
runuser -u "$U" -- xauth -q -f "$T/home/.Xauthority" add ":$D" . "$COOKIE"
Xvfb ":$D" -auth "$T/home/.Xauthority" -nolisten tcp > "$T/xvfb.log" 2>&1 &
XPID=$!
# SIGTERM, so that Xvfb removes its socket and lock file; whatever a SIGKILL leaves of ours, we remove.
stop_xvfb() {
        local i
        kill -TERM "$XPID" 2>/dev/null
        for i in $(seq 50); do kill -0 "$XPID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$XPID" 2>/dev/null
        if [ "$(tr -d ' ' < "/tmp/.X$D-lock" 2>/dev/null)" = "$XPID" ]; then
                rm -f "/tmp/.X$D-lock" "/tmp/.X11-unix/X$D"
        fi
}
EXTRA_CLEANUP="stop_xvfb; $EXTRA_CLEANUP"
for i in $(seq 100); do [ -S "/tmp/.X11-unix/X$D" ] && break; sleep 0.1; done
check "Xvfb listens on :$D" test -S "/tmp/.X11-unix/X$D"
check "the host's client is let in with the cookie" env DISPLAY=":$D" XAUTHORITY="$T/home/.Xauthority" xprop -root _XKB_RULES_NAMES
check "... and refused without it (the server checks)" not env DISPLAY=":$D" XAUTHORITY=/dev/null xprop -root _XKB_RULES_NAMES

desktop() {     # desktop COMMAND: run in a one-shot desktop session as $U, with the X client bound in
        (cd "$T/work" && DISPLAY=":$D" "$ARKOSE" -c fx --profile desktop -u "$U" --bind "$T/x:/opt/x:ro" -- sh -c "$1")
}

# $XAUTHORITY names the file.
out=$(XAUTHORITY="$T/home/.Xauthority" desktop "$XCLIENT >/dev/null && echo in; echo \$XAUTHORITY; stat -c '%U %a' \$XAUTHORITY" 2>"$T/err")
expect_eq "with \$XAUTHORITY, the session's X client is let in" in "$(echo "$out" | sed -n 1p)"
expect_eq "the session's XAUTHORITY is its own copy" /run/arkose/Xauthority "$(echo "$out" | sed -n 2p)"
expect_eq "... the user's, mode 600" "$U 600" "$(echo "$out" | sed -n 3p)"
# Without it, ~/.Xauthority (the user's home on the host), as libXau looks for it.
out=$(env -u XAUTHORITY DISPLAY=":$D" bash -c "cd '$T/work' && '$ARKOSE' -c fx --profile desktop -u '$U' --bind '$T/x:/opt/x:ro' -- sh -c '$XCLIENT >/dev/null && echo in'" 2>>"$T/err")
expect_eq "without \$XAUTHORITY, the user's ~/.Xauthority lets it in" in "$out"
# The host's file as it is names the host's name: in the session (another host name) it lets nothing in.
cp "$T/home/.Xauthority" "$T/x/host-xauthority"; chmod 644 "$T/x/host-xauthority"
check "the host's file as it is would not do (so the check above can fail)" \
        not desktop "XAUTHORITY=/opt/x/host-xauthority $XCLIENT" 2>>"$T/err"
# A cookie that is not the server's: refused, so the session's copy is what let the client in.
runuser -u "$U" -- xauth -q -f "$T/home/wrong" add ":$D" . "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
wrong_cookie() { XAUTHORITY="$T/home/wrong" desktop "$XCLIENT"; }
check "a wrong cookie is refused" not wrong_cookie 2>>"$T/err"
# A file that is no X authority file: one notice line, and the session runs.
printf 'not a cookie file\n' > "$T/home/garbage"
err=$(XAUTHORITY="$T/home/garbage" desktop true 2>&1 >/dev/null | grep -v -e AppArmor -e "/dev/dri")
check "a file that is no X authority file gets one notice ($err)" sh -c "[ \$(printf '%s\n' \"$err\" | wc -l) = 1 ] && printf '%s' \"$err\" | grep -q 'not an X authority file'"
# A FIFO (nobody writing to it) is not waited for: one notice, and the session runs.
mkfifo "$T/home/fifo"
err=$(cd "$T/work" && XAUTHORITY="$T/home/fifo" DISPLAY=":$D" timeout 60 "$ARKOSE" -c fx --profile desktop -u "$U" -- true 2>&1 >/dev/null); rc=$?
err=$(printf '%s\n' "$err" | grep -v -e AppArmor -e "/dev/dri")
check "a FIFO as XAUTHORITY gets one notice and does not hang ($rc: $err)" \
        sh -c "[ $rc = 0 ] && [ \$(printf '%s\n' \"$err\" | wc -l) = 1 ] && printf '%s' \"$err\" | grep -q 'not an X authority file'"
# The buildd profile keeps no XAUTHORITY: no cookies there.
out=$(cd "$T/work" && XAUTHORITY="$T/home/.Xauthority" "$ARKOSE" -c fx -u "$U" -- sh -c 'echo "${XAUTHORITY:-none}"; test -e /run/arkose/Xauthority && echo present' 2>>"$T/err")
expect_eq "a profile that keeps no XAUTHORITY gets no cookies" none "$out"

# A detached session begun with the profile keeps them for its commands, and brings them back after its
# container is killed (--recover-session).
sid=$(cd "$T/work" && XAUTHORITY="$T/home/.Xauthority" "$ARKOSE" -c fx --begin-session --profile desktop -u "$U" --bind "$T/x:/opt/x:ro" 2>>"$T/err")
check "a desktop session began ($sid)" test -n "$sid"
run_x() { (cd "$T/work" && DISPLAY=":$D" "$ARKOSE" -c "$sid" --run-session -u "$U" -- sh -c "$XCLIENT >/dev/null && echo in" 2>>"$T/err"); }
expect_eq "--run-session: the X client is let in" in "$(run_x)"
kill -9 "$(record_field "$sid" init_pid)"
for i in $(seq 50); do [ "$("$ARKOSE" sessions | awk -v s="$sid" '$1 == s {print $NF}')" = dead ] && break; sleep 0.1; done
"$ARKOSE" -c "$sid" --recover-session 2>>"$T/err"
expect_eq "after --recover-session too" in "$(run_x)"
"$ARKOSE" -c "$sid" --end-session; expect_eq "the session ends" 0 $?

check "the fixture tree is intact" test -x "$FIXTURE_TREE/bin/sh"
stop_xvfb
check "Xvfb left no socket or lock file" test ! -e "/tmp/.X11-unix/X$D" -a ! -e "/tmp/.X$D-lock"
finish
