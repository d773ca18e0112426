#!/bin/bash
# The desktop profile's sound: a real PulseAudio server of a test user (a null sink, on a runtime
# directory of the test's own); the session's clients are the host's pactl and pacat with their libraries,
# bound in (the fixture has neither). They reach the server through /run/user/UID/pulse/native, list its
# sink and play a stream into it; without the user's server they reach nothing. Then a real PipeWire
# daemon of the user's, reached by the host's pw-cli through /run/user/UID/pipewire-0.
. "$(dirname "$0")/lib.sh"
use_fixture
for p in pactl pacat pipewire pw-cli useradd setpriv; do
        command -v "$p" > /dev/null || skip "$p is missing (apt-get install pulseaudio-utils pipewire pipewire-bin)"
done
# tools/install-deps leaves PulseAudio's daemon out where pipewire-pulse serves the users: then its part is
# not run (and not counted as passed).
PULSE=yes
if ! command -v pulseaudio > /dev/null; then
        dpkg-query -W -f '${Status}' pipewire-pulse 2> /dev/null | grep -q 'ok installed' ||
                skip "pulseaudio is missing (apt-get install pulseaudio)"
        PULSE=no
        echo "# not run: the PulseAudio checks (this machine's PulseAudio server is pipewire-pulse, and no pulseaudio)"
fi

U=arksnd$$
add_test_user -M -N -d "$T/home" -s /bin/sh "$U" || skip "cannot create a test user"
chmod 755 "$T"
XDG=$T/xdg
mkdir -p "$T/home" "$T/work" "$T/x" "$XDG" "$T/empty"
chown "$U" "$T/home" "$T/work" "$XDG" "$T/empty"; chmod 700 "$XDG" "$T/empty"
UID_U=$(id -u "$U")

host_clients pactl pacat

desktop() {     # desktop XDG_RUNTIME_DIR COMMAND: a one-shot desktop session as $U, the clients bound in
        (cd "$T/work" && env XDG_RUNTIME_DIR="$1" "$ARKOSE" -c fx --profile desktop -u "$U" --bind "$T/x:/opt/x:ro" -- \
                sh -c "export LD_LIBRARY_PATH=/opt/x; $2")
}

if [ "$PULSE" = yes ]; then
        spawn_as "$U" env HOME="$T/home" XDG_RUNTIME_DIR="$XDG" pulseaudio -n --daemonize=no --exit-idle-time=-1 \
                --use-pid-file=no -L module-native-protocol-unix -L "module-null-sink sink_name=arkose_test_sink" > "$T/pulse.log" 2>&1
        for i in $(seq 100); do [ -S "$XDG/pulse/native" ] && break; sleep 0.1; done
        check "the user's PulseAudio server listens" test -S "$XDG/pulse/native"
        check "on the host, it has the null sink" sh -c "setpriv --reuid=$U --regid=$(id -g "$U") --init-groups env XDG_RUNTIME_DIR=$XDG pactl list short sinks | grep -q arkose_test_sink"

        out=$(desktop "$XDG" '/opt/x/pactl info' 2> "$T/err")
        check "pactl info in the session reaches the user's server through its runtime directory" \
                sh -c "printf '%s\n' '$out' | grep -q '^Server String: /run/user/$UID_U/pulse/native'"
        check "... a PulseAudio server" sh -c "printf '%s\n' '$out' | grep -q '^Server Name: pulseaudio'"
        lists_sink() { desktop "$XDG" '/opt/x/pactl list short sinks' 2>> "$T/err" | grep -q arkose_test_sink; }
        check "pactl in the session lists the user's sink" lists_sink
        # A stream played from the session is one of the server's sink inputs while it plays.
        out=$(desktop "$XDG" '/opt/x/pacat --raw --playback < /dev/zero & p=$!; for i in 1 2 3 4 5 6 7 8 9 10; do /opt/x/pactl list short sink-inputs | grep -q . && break; sleep 0.2; done; /opt/x/pactl list short sink-inputs; kill $p' 2>> "$T/err")
        check "a stream played in the session is the server's sink input ($(echo $out))" \
                sh -c "printf '%s\n' '$out' | grep -q 'protocol-native'"
        check "... and the server's log has no refused client" sh -c "! grep -qi 'denied\|refus' '$T/pulse.log'"
fi

# PipeWire: the daemon (no session manager: its core is what is asked for), and pw-cli with the modules,
# SPA plugins and client configuration it loads at run time, from /opt/x.
L=/usr/lib/x86_64-linux-gnu
mkdir -p "$T/x/pw-modules" "$T/x/spa" "$T/x/pw-conf"
cp "$L"/pipewire-0.3/*.so "$T/x/pw-modules/"
cp -r "$L"/spa-0.2/support "$T/x/spa/"
cp /usr/share/pipewire/client.conf "$T/x/pw-conf/"
for m in "$T"/x/pw-modules/*.so "$T"/x/spa/support/*.so; do
        ldd "$m" | awk '$3 ~ /^\// {print $3}' | grep -v -e '/libc\.so' -e '/ld-linux'
done | sort -u | xargs -r cp -L -n -t "$T/x/"
host_clients pw-cli
spawn_as "$U" env HOME="$T/home" XDG_RUNTIME_DIR="$XDG" pipewire > "$T/pipewire.log" 2>&1
for i in $(seq 100); do [ -S "$XDG/pipewire-0" ] && break; sleep 0.1; done
check "the user's PipeWire daemon listens" test -S "$XDG/pipewire-0"
PW='export PIPEWIRE_MODULE_DIR=/opt/x/pw-modules SPA_PLUGIN_DIR=/opt/x/spa PIPEWIRE_CONFIG_DIR=/opt/x/pw-conf; timeout 10 /opt/x/pw-cli info 0 2>&1'
out=$(desktop "$XDG" "$PW; hostname" 2>> "$T/err")
check "pw-cli in the session reaches the user's PipeWire daemon (its core, pipewire-0)" \
        sh -c "printf '%s\n' '$out' | grep -q 'name: \"pipewire-0\"'"
check "... which runs as the user, on the host (its host name is not the session's)" \
        sh -c "printf '%s\n' '$out' | grep -q 'user-name: \"$U\"' && printf '%s\n' '$out' | grep -q 'host-name: \"$(hostname)\"' && [ '$(hostname)' != \"\$(printf '%s\n' '$out' | tail -n 1)\" ]"
out=$(desktop "$T/empty" "$PW" 2>> "$T/err")
check "no daemon of the user's: pw-cli reaches none" sh -c "! printf '%s\n' '$out' | grep -q 'name: \"pipewire-0\"'"

# Without the user's server (a runtime directory without one), the same client reaches nothing: so the
# checks above can fail.
out=$(desktop "$T/empty" '/opt/x/pactl info 2>&1; find $XDG_RUNTIME_DIR -type s | wc -l' 2>> "$T/err")
check "no server of the user's: pactl fails to connect" sh -c "printf '%s\n' '$out' | grep -q 'Connection failure'"
# (libpulse makes pulse/ itself.)
expect_eq "... and the session's runtime directory has no socket" 0 "$(printf '%s\n' "$out" | tail -n 1)"
finish
