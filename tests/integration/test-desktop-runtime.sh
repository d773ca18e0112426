#!/bin/bash
# The desktop profile's [runtime] and private home: the session user's own /run/user/UID, with the user's Wayland socket (a
# real compositor: weston's headless backend, on a runtime directory of the test's own) and a filtered
# session bus (a real dbus-daemon, xdg-dbus-proxy, and two services that answer any call: one whose name
# the profile lets the session talk to, one it does not). The clients are the host's wayland-info and
# dbus-send with their libraries, bound in (the fixture has neither). Also: what is not the user's socket
# is not bound, one-shot and detached sessions, and nothing of either is left.
. "$(dirname "$0")/lib.sh"
use_fixture
for p in weston wayland-info xdg-dbus-proxy dbus-daemon dbus-send dbus-test-tool useradd python3; do
        command -v "$p" > /dev/null || skip "$p is missing (apt-get install weston wayland-utils xdg-dbus-proxy dbus-bin dbus-tests)"
done

U=arkrt$$
add_test_user -M -N -d "$T/home" -s /bin/sh "$U" || skip "cannot create a test user"
chmod 755 "$T"
XDG=$T/xdg
mkdir -p "$T/home" "$T/work" "$T/x" "$XDG"
chown "$U" "$T/home" "$T/work" "$XDG"; chmod 700 "$XDG"
UID_U=$(id -u "$U")

# The clients and the libraries they need, bound read-only at /opt/x.
host_clients wayland-info dbus-send

# The user's servers (spawn_as: the trap ends them, and whatever else the user still runs); as_user for the
# host's own clients.
as_user() { setpriv --reuid="$U" --regid="$(id -g "$U")" --init-groups env XDG_RUNTIME_DIR="$XDG" "$@"; }
spawn_as "$U" env XDG_RUNTIME_DIR="$XDG" weston --backend=headless-backend.so --socket=wayland-test --idle-time=0 \
        > "$T/weston.log" 2>&1
spawn_as "$U" env XDG_RUNTIME_DIR="$XDG" dbus-daemon --session --address="unix:path=$XDG/bus" --nofork --nopidfile \
        > "$T/dbus.log" 2>&1
for i in $(seq 100); do [ -S "$XDG/wayland-test" ] && [ -S "$XDG/bus" ] && break; sleep 0.1; done
check "weston listens on its socket" test -S "$XDG/wayland-test"
check "the user's bus listens" test -S "$XDG/bus"
for n in org.freedesktop.Notifications org.example.Secret; do
        spawn_as "$U" env DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG/bus" dbus-test-tool echo --name=$n > /dev/null 2>&1
done
for i in $(seq 100); do
        names=$(as_user dbus-send --bus="unix:path=$XDG/bus" --dest=org.freedesktop.DBus --print-reply / org.freedesktop.DBus.ListNames 2>/dev/null)
        echo "$names" | grep -q org.example.Secret && echo "$names" | grep -q org.freedesktop.Notifications && break
        sleep 0.1
done
check "on the host, the user's bus has both services" sh -c "echo '$names' | grep -q org.example.Secret"
# Not sockets of the user's: a symlink to the bus (a socket the user owns, but reached through a link) and
# a socket of root's, at names the profile below asks for.
ln -s "$XDG/bus" "$XDG/pipewire-0"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$XDG/rootsock"
mkdir -p "$XDG/pulse"; chown "$U" "$XDG/pulse"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$XDG/pulse/native"
chown "$U" "$XDG/pulse/native"
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
sed -e 's|^sockets = .*|sockets = wayland pulse pipewire rootsock|' "$SRC/confs/profiles/desktop.conf" \
        > "$ARKOSE_CONFIG_DIR/profiles.d/desktop.conf"

desktop() {     # desktop COMMAND: a one-shot desktop session as $U, with the clients bound in
        (cd "$T/work" && env XDG_RUNTIME_DIR="$XDG" WAYLAND_DISPLAY=wayland-test \
                "$ARKOSE" -c fx --profile desktop -u "$U" --bind "$T/x:/opt/x:ro" -- sh -c "export LD_LIBRARY_PATH=/opt/x; $1")
}
has() { printf '%s\n' "$1" | grep -q -- "$2"; }     # has TEXT PATTERN
# The user's proxies that run (zombies aside: a detached session's proxy is reaped by init, in its time).
proxies() { ps -u "$U" -o stat=,pid=,comm= | awk '$1 !~ /^Z/ && $3 == "xdg-dbus-proxy" {print $2}'; }
DS=/opt/x/dbus-send
CALL="$DS --session --print-reply"

out=$(desktop 'echo "$XDG_RUNTIME_DIR $WAYLAND_DISPLAY $DBUS_SESSION_BUS_ADDRESS"; stat -c "%U %a" "$XDG_RUNTIME_DIR"; ls "$XDG_RUNTIME_DIR" | tr "\n" " "; echo; ls "$XDG_RUNTIME_DIR/pulse"' 2>"$T/err")
expect_eq "the session's runtime directory, Wayland display and bus" \
        "/run/user/$UID_U wayland-0 unix:path=/run/user/$UID_U/bus" "$(echo "$out" | sed -n 1p)"
expect_eq "... the directory is the user's, mode 700" "$U 700" "$(echo "$out" | sed -n 2p)"
expect_eq "... it holds the bus, pulse/ and wayland-0; not the symlink, not root's socket" \
        "bus pulse wayland-0 " "$(echo "$out" | sed -n 3p)"
expect_eq "... and pulse/native" native "$(echo "$out" | sed -n 4p)"
check "a notice names the symlink" grep -q "Not binding '$XDG/pipewire-0' into the session" "$T/err"
check "a notice names root's socket as not the user's" grep -q "Not binding '$XDG/rootsock' into the session: not the user's own" "$T/err"

out=$(desktop '/opt/x/wayland-info' 2>>"$T/err")
check "wayland-info in the session talks to weston (wl_compositor)" has "$out" "interface: 'wl_compositor'"
check "... and sees its headless output" has "$out" "interface: 'wl_output'"
# Without the socket the same client fails: so the check above can fail.
out=$(cd "$T/work" && env -u WAYLAND_DISPLAY XDG_RUNTIME_DIR="$T/home" "$ARKOSE" -c fx --profile desktop -u "$U" \
        --bind "$T/x:/opt/x:ro" -- sh -c 'echo ${WAYLAND_DISPLAY:-unset}; LD_LIBRARY_PATH=/opt/x /opt/x/wayland-info >/dev/null 2>&1 || echo refused' 2>>"$T/err")
expect_eq "with no Wayland socket of the user's: no WAYLAND_DISPLAY, and the client fails" "unset refused" "$(echo $out)"

out=$(desktop "$CALL --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames" 2>>"$T/err")
check "the bus through the proxy answers" has "$out" 'string "org.freedesktop.DBus"'
check "... it lists the name the profile allows" has "$out" org.freedesktop.Notifications
check "... and hides the other" not has "$out" org.example.Secret
check "a call to the allowed name is answered" desktop "$CALL --dest=org.freedesktop.Notifications /x org.freedesktop.Notifications.GetServerInformation >/dev/null" 2>>"$T/err"
err=$(desktop "$CALL --dest=org.example.Secret /x org.example.Secret.GetSecret" 2>&1 >/dev/null | grep -v arkose-chroot:)
check "a call to the other is refused by the proxy ($err)" has "$err" "Error org.freedesktop.DBus.Error.ServiceUnknown"
check "... while on the host it is answered (so the refusal is the filter's)" \
        as_user dbus-send --bus="unix:path=$XDG/bus" --print-reply --dest=org.example.Secret /x org.example.Secret.GetSecret
expect_eq "no proxy outlives the one-shot sessions" "" "$(proxies)"

# A one-shot session whose container does not start (a file bound over a directory), with its bus proxy
# already running: liblxc's failed start waits for every child of the caller, and the proxy used to be
# one, so the command hung for good, deaf to SIGTERM. It fails at once now, with one line, and its proxy ends.
out=$(cd "$T/work" && env XDG_RUNTIME_DIR="$XDG" WAYLAND_DISPLAY=wayland-test timeout -k 5 30 \
        "$ARKOSE" -c fx --profile desktop -u "$U" --bind /etc/hostname:/usr/bin -- true 2>&1); rc=$?
expect_eq "a desktop session that cannot start fails, without hanging (not timeout's 124)" 1 "$rc"
expect_eq "... with one line (besides the profile's notices)" 1 "$(printf '%s\n' "$out" | grep -v -e "left out" -e "Not binding" | grep -c .)"
check "... saying that it did not start" has "$out" "did not start"
for i in $(seq 50); do [ -z "$(proxies)" ] && break; sleep 0.1; done
expect_eq "... and its proxy is gone" "" "$(proxies)"

# Through sudo, which drops XDG_RUNTIME_DIR and WAYLAND_DISPLAY: the user (SUDO_USER) has its runtime
# directory at /run/user/UID, as logind makes it, and its compositor at the default name, wayland-0.
RUN_U=/run/user/$UID_U
if [ ! -e "$RUN_U" ]; then
        mkdir -p "$RUN_U" && chown "$U" "$RUN_U" && chmod 700 "$RUN_U"
        EXTRA_CLEANUP="rm -rf --one-file-system '$RUN_U'; $EXTRA_CLEANUP"
        setpriv --reuid="$U" --regid="$(id -g "$U")" --init-groups env XDG_RUNTIME_DIR="$RUN_U" \
                weston --backend=headless-backend.so --socket=wayland-0 --idle-time=0 > "$T/weston0.log" 2>&1 &
        PIDS="$PIDS $!"
        for i in $(seq 100); do [ -S "$RUN_U/wayland-0" ] && break; sleep 0.1; done
        out=$(cd "$T/work" && env -u XDG_RUNTIME_DIR -u WAYLAND_DISPLAY -u DBUS_SESSION_BUS_ADDRESS SUDO_USER="$U" \
                "$ARKOSE" -c fx --profile desktop --bind "$T/x:/opt/x:ro" -- \
                sh -c 'id -un; echo $WAYLAND_DISPLAY; LD_LIBRARY_PATH=/opt/x /opt/x/wayland-info | grep -c "interface: .wl_compositor"' 2>>"$T/err")
        expect_eq "as through sudo: the user's /run/user/UID and its wayland-0 reach weston" "$U wayland-0 1" "$(echo $out)"
else
        echo "# $RUN_U exists already: the sudo case is not checked"
fi

# [mounts] home = private: the user's home in the session is ~/.local/share/arkose/homes/CHROOT of its home
# on the host, the user's, mode 700, kept from one session to the next; the host's dotfiles untouched.
PH=$T/home/.local/share/arkose/homes/fx
out=$(desktop 'echo "$HOME"; echo kept > "$HOME/.arkose-setting"; stat -c "%U %a" "$HOME"' 2>>"$T/err")
expect_eq "the session's HOME is the user's home path" "$T/home" "$(echo "$out" | sed -n 1p)"
expect_eq "... writable by the user, mode 700" "$U 700" "$(echo "$out" | sed -n 2p)"
expect_eq "on the host, the setting is in the private home" kept "$(cat "$PH/.arkose-setting" 2>&1)"
expect_eq "... which is the user's, mode 700" "$U 700" "$(stat -c '%U %a' "$PH")"
check "... and not in the user's own home" test ! -e "$T/home/.arkose-setting"
expect_eq "the next session has it" kept "$(desktop 'cat "$HOME/.arkose-setting"' 2>>"$T/err")"
# A private home that is a symbolic link (the user's own doing) is not followed: the session is refused.
cp "$ARKOSE_CONFIG_DIR/chroots.d/fx.conf" "$ARKOSE_CONFIG_DIR/chroots.d/fy.conf"
setpriv --reuid="$U" --regid="$(id -g "$U")" --init-groups ln -s /etc "$T/home/.local/share/arkose/homes/fy"
err=$(cd "$T/work" && "$ARKOSE" -c fy --profile desktop -u "$U" -- cat "$T/home/passwd" 2>&1); rc=$?
check "a private home that is a symlink is refused (status $rc: $(echo "$err" | grep -v notice | tail -n 1))" \
        sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'Failed to make the private home'" sh "$err"
check "... and nothing of the session is left" sh -c "[ -z \"\$(ls '$ARKOSE_STATE_DIR/sessions')\" ]"
rm "$ARKOSE_CONFIG_DIR/chroots.d/fy.conf"

# The buildd profile has no [runtime]: the caller's variables do not pass, nothing is made.
out=$(cd "$T/work" && XDG_RUNTIME_DIR="$XDG" WAYLAND_DISPLAY=wayland-test "$ARKOSE" -c fx -u "$U" -- sh -c 'echo ${XDG_RUNTIME_DIR:-none} ${WAYLAND_DISPLAY:-none}; ls /run/user 2>/dev/null | wc -l' 2>>"$T/err")
expect_eq "buildd: no runtime directory" "none none 0" "$(echo $out)"

# A detached session: the proxy serves its commands until it ends, also after --recover-session.
sid=$(cd "$T/work" && XDG_RUNTIME_DIR="$XDG" WAYLAND_DISPLAY=wayland-test "$ARKOSE" -c fx --begin-session --profile desktop -u "$U" --bind "$T/x:/opt/x:ro" 2>>"$T/err")
check "a desktop session began ($sid)" test -n "$sid"
run_in() { (cd "$T/work" && "$ARKOSE" -c "$sid" --run-session -u "$U" -- sh -c "export LD_LIBRARY_PATH=/opt/x; $1" 2>>"$T/err"); }
check "--run-session: Wayland" run_in '/opt/x/wayland-info | grep -q wl_compositor'
check "--run-session: the bus, filtered" run_in "$CALL --dest=org.freedesktop.Notifications /x org.freedesktop.Notifications.X >/dev/null && ! $CALL --dest=org.example.Secret /x org.example.Secret.X 2>/dev/null"
expect_eq "root in the same session gets no XDG_RUNTIME_DIR (it is the user's)" none \
        "$(cd "$T/work" && "$ARKOSE" -c "$sid" --run-session -u root -- sh -c 'echo ${XDG_RUNTIME_DIR:-none}' 2>>"$T/err")"
ppid=$(proxies)
check "the session's proxy runs, as the user ($ppid)" test -n "$ppid" -a "$(echo $ppid | wc -w)" = 1
kill -9 "$(record_field "$sid" init_pid)"
for i in $(seq 50); do [ "$("$ARKOSE" sessions | awk -v s="$sid" '$1 == s {print $NF}')" = dead ] && break; sleep 0.1; done
"$ARKOSE" -c "$sid" --recover-session 2>>"$T/err"
check "after --recover-session: Wayland and the bus" run_in "/opt/x/wayland-info | grep -q wl_compositor && $CALL --dest=org.freedesktop.Notifications /x org.freedesktop.Notifications.X >/dev/null"
check "... and the private home" run_in 'test "$(cat "$HOME/.arkose-setting")" = kept'
# As after a reboot: the container, the proxy and every mount of the session gone (the binds of the sockets
# and of the private home with them); --recover-session brings all back.
run_in 'echo before-reboot > "$HOME/.arkose-reboot"'
kill -9 "$(record_field "$sid" init_pid)" $(proxies)
for i in $(seq 50); do [ "$("$ARKOSE" sessions | awk -v s="$sid" '$1 == s {print $NF}')" = dead ] && break; sleep 0.1; done
findmnt -rn -o TARGET | awk -v t="$ARKOSE_STATE_DIR/sessions/$sid/" 'index($0, t) == 1' | sort -r | xargs -r -n1 umount -l
check "(no mount of the session is left, as after a reboot)" sh -c "! findmnt -rn -o TARGET | grep -q '$ARKOSE_STATE_DIR/sessions/$sid/'"
"$ARKOSE" -c "$sid" --recover-session 2>>"$T/err"
check "after a reboot and --recover-session: Wayland" run_in '/opt/x/wayland-info | grep -q wl_compositor'
check "... the bus, through a new proxy, filtered" run_in "$CALL --dest=org.freedesktop.Notifications /x org.freedesktop.Notifications.X >/dev/null && ! $CALL --dest=org.example.Secret /x org.example.Secret.X 2>/dev/null"
check "... and the private home, with what was written before" run_in 'test "$(cat "$HOME/.arkose-setting" "$HOME/.arkose-reboot" | tr "\n" " ")" = "kept before-reboot "'
expect_eq "one proxy runs for the session" 1 "$(proxies | wc -w)"
# Another user who joins gets a proxy of their own bus: it has a portal (allowed) that the first user's
# bus has not, and the same hidden name. Started once for all their commands; gone with the session.
U2=arkru$$
add_test_user -M -N -d "$T/home2" -s /bin/sh "$U2" || skip "cannot create a second test user"
XDG2=$T/xdg2
mkdir -p "$T/home2" "$XDG2"; chown "$U2" "$T/home2" "$XDG2"; chmod 700 "$XDG2"
as_user2() { setpriv --reuid="$U2" --regid="$(id -g "$U2")" --init-groups env XDG_RUNTIME_DIR="$XDG2" "$@"; }
spawn_as "$U2" env XDG_RUNTIME_DIR="$XDG2" dbus-daemon --session --address="unix:path=$XDG2/bus" --nofork --nopidfile \
        > "$T/dbus2.log" 2>&1
for i in $(seq 100); do [ -S "$XDG2/bus" ] && break; sleep 0.1; done
for n in org.freedesktop.portal.Desktop org.example.Secret; do
        spawn_as "$U2" env DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG2/bus" dbus-test-tool echo --name=$n > /dev/null 2>&1
done
for i in $(seq 100); do
        as_user2 dbus-send --bus="unix:path=$XDG2/bus" --dest=org.freedesktop.DBus --print-reply / \
                org.freedesktop.DBus.ListNames 2>/dev/null | grep -q org.example.Secret && break
        sleep 0.1
done
proxies2() { ps -u "$U2" -o stat=,pid=,comm= | awk '$1 !~ /^Z/ && $3 == "xdg-dbus-proxy" {print $2}'; }
run_in2() { (cd / && XDG_RUNTIME_DIR="$XDG2" "$ARKOSE" -c "$sid" --run-session -u "$U2" -- sh -c "export LD_LIBRARY_PATH=/opt/x; $1" 2>>"$T/err"); }
expect_eq "a user who joins: the bus in a runtime directory of their own" "unix:path=/run/user/$(id -u "$U2")/bus" \
        "$(run_in2 'echo $DBUS_SESSION_BUS_ADDRESS')"
check "... their own bus: its portal answers" run_in2 "$CALL --dest=org.freedesktop.portal.Desktop /x org.freedesktop.portal.Desktop.X >/dev/null"
check "... filtered: their hidden name is refused" run_in2 "! $CALL --dest=org.example.Secret /x org.example.Secret.X 2>/dev/null"
check "... not the first user's bus (no Notifications there)" run_in2 "! $CALL --dest=org.freedesktop.Notifications /x org.freedesktop.Notifications.X 2>/dev/null"
check "the first user's commands still get theirs (no portal)" run_in "$CALL --dest=org.freedesktop.Notifications /x org.freedesktop.Notifications.X >/dev/null && ! $CALL --dest=org.freedesktop.portal.Desktop /x org.freedesktop.portal.Desktop.X 2>/dev/null"
p2=$(proxies2)
check "one proxy runs as the user who joined ($p2), after their several commands" test -n "$p2" -a "$(echo $p2 | wc -w)" = 1
# Their bus at another address (a new login): the next command gets a proxy of that one, in place of the old.
spawn_as "$U2" env XDG_RUNTIME_DIR="$XDG2" dbus-daemon --session --address="unix:path=$XDG2/bus-new" --nofork \
        --nopidfile > "$T/dbus3.log" 2>&1
for i in $(seq 100); do [ -S "$XDG2/bus-new" ] && break; sleep 0.1; done
spawn_as "$U2" env DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG2/bus-new" dbus-test-tool echo \
        --name=org.freedesktop.portal.Documents > /dev/null 2>&1
for i in $(seq 100); do
        as_user2 dbus-send --bus="unix:path=$XDG2/bus-new" --dest=org.freedesktop.DBus --print-reply / \
                org.freedesktop.DBus.ListNames 2>/dev/null | grep -q org.freedesktop.portal.Documents && break
        sleep 0.1
done
run_new() { (cd / && XDG_RUNTIME_DIR="$XDG2" DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG2/bus-new" "$ARKOSE" -c "$sid" \
        --run-session -u "$U2" -- sh -c "export LD_LIBRARY_PATH=/opt/x; $1" 2>>"$T/err"); }
check "after a new login, the next command reaches the new bus" run_new "$CALL --dest=org.freedesktop.portal.Documents /x org.freedesktop.portal.Documents.X >/dev/null"
p2=$(proxies2)
check "... through a new proxy, the old one ended ($p2)" test -n "$p2" -a "$(echo $p2 | wc -w)" = 1
# In the host's mount namespace, as the session's own proxy: a copy of the joiner's own would keep every
# mount it had (other sessions' overlays) alive as long as the proxy runs.
expect_eq "both proxies run in the host's mount namespace" "$(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/mnt)" \
        "$(readlink "/proc/$(proxies)/ns/mnt") $(readlink "/proc/$p2/ns/mnt")"
"$ARKOSE" -c "$sid" --end-session; expect_eq "the session ends" 0 $?
expect_eq "its proxy ended with it" "" "$(proxies)"
expect_eq "and the proxy of the user who joined" "" "$(proxies2)"

check "the user's sockets on the host are untouched" test -S "$XDG/wayland-test" -a -S "$XDG/bus" -a -S "$XDG/pulse/native"
check "no mount is left" no_mounts_left
check "no container is left" no_containers_left
check "the fixture tree is intact" test -x "$FIXTURE_TREE/bin/sh"
finish
