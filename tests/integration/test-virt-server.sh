#!/bin/bash
# autopkgtest-virt-arkose against real sessions of the shared fixture tree: the issue's "must show"
# conversation, the execute command (as sbuild and autopkgtest use it), copies of files and directories,
# revert, reboot, bad requests, end of input and signals. Each case checks that no session is left.
. "$(dirname "$0")/lib.sh"

VIRT=${ARKOSE_VIRT:?ARKOSE_VIRT must point at autopkgtest-virt-arkose}
command -v python3 >/dev/null || skip "python3 is not installed"
use_fixture
# The chroot under the name sbuild passes for -d bookworm (%r): a directory chroot over the fixture tree,
# overriding the shipped definition.
cp "$ARKOSE_CONFIG_DIR/chroots.d/fx.conf" "$ARKOSE_CONFIG_DIR/chroots.d/bookworm.conf"
cd "$T"

no_sessions() { [ -z "$(ls -A "$ARKOSE_STATE_DIR/sessions" 2>/dev/null)" ]; }

# ---- the issue's "must show" ----
out=$(printf 'capabilities\nopen\nprint-execute-command\nclose\nquit\n' | "$VIRT" bookworm 2>"$T/must.err")
rc=$?
expect_eq "must-show: exit status" 0 "$rc"
mapfile -t L <<<"$out"
expect_eq "must-show: five replies" 5 "${#L[@]}"
expect_eq "must-show: banner" ok "${L[0]}"
check "must-show: capabilities ok with root-on-testbed" grep -qE '^ok( .*)? root-on-testbed( |$)' <<<"${L[1]}"
check "must-show: open gives the scratch directory" grep -qE '^ok /tmp/autopkgtest\.[A-Za-z0-9]{6}$' <<<"${L[2]}"
check "must-show: an arkose-chroot --run-session execute command" \
        grep -qE "^ok $(dirname "$ARKOSE")/arkose-chroot,.*,--run-session,.*-u,root," <<<"${L[3]}"
expect_eq "must-show: close" ok "${L[4]}"
expect_eq "must-show: nothing on stderr" "" "$(cat "$T/must.err")"
check "must-show: no session left" no_sessions

# ---- a conversation through a coprocess ----
start_server() {
        # setsid: no controlling terminal, so that "shell" finds no /dev/tty.
        coproc SRV { exec setsid "$VIRT" "$@" 2>>"$T/server.err"; }
        SRV_IN=${SRV[1]} SRV_OUT=${SRV[0]} SRV_PID_=$SRV_PID
        PIDS="$PIDS $SRV_PID_"
        expect_eq "server banner" ok "$(reply)"
}
send() { printf '%s\n' "$*" >&"$SRV_IN"; }
reply() { local l; read -r -t 300 l <&"$SRV_OUT" || l="(no reply)"; printf '%s' "$l"; }
req() { send "$@"; reply; }
stop_server() {         # stop_server EXPECTED_STATUS
        local rc
        exec {SRV_IN}>&-
        wait "$SRV_PID_"; rc=$?
        expect_eq "server exit status" "$1" "$rc"
}
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
# The execute command as sbuild reads it: split on ',', URL-decode each part.
exec_argv() {
        mapfile -d '' EXEC < <(python3 -c '
import sys, urllib.parse
for a in sys.argv[1].split(","):
    sys.stdout.write(urllib.parse.unquote(a) + "\0")' "${1#ok }")
}

start_server bookworm
r=$(req open)
SCRATCH=${r#ok }
check "open: scratch directory" grep -qE '^ok /tmp/autopkgtest\.' <<<"$r"
exec_argv "$(req print-execute-command)"
check "execute command: argv[0] is absolute" test "${EXEC[0]:0:1}" = /
SESSION=$(printf '%s\n' "${EXEC[@]}" | sed -n 's/^session://p')
check "execute command: names a running session" sh -c "'$ARKOSE' sessions | grep -q '^$SESSION .*running'"

# sbuild clears the environment (PATH too) before it runs the execute command.
X() { env -i "${EXEC[@]}" "$@"; }
# Whether a process "ARGS" runs in the testbed (its idle init runs "sleep infinity").
running() { X sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <$f; echo; done' | grep -q "^$1 \?$"; }
expect_eq "exec: root in /" "0 /" "$(X sh -c 'echo $(id -u) $(pwd)')"
X true; expect_eq "exec: status 0" 0 $?
X sh -c 'exit 7'; expect_eq "exec: status 7" 7 $?
X sh -c 'exit 255'; expect_eq "exec: a command's 255 is 253" 253 $?
X sh -c 'kill -TERM $$'; expect_eq "exec: killed by SIGTERM is 143" 143 $?
X /nonexistent; expect_eq "exec: missing command is 127" 127 $?
expect_eq "exec: stdin passes through to EOF" 5 "$(printf 'a b c' | X sh -c 'cat > /tmp/in; wc -c < /tmp/in')"
X sh -c 'echo out; echo err >&2' >"$T/o" 2>"$T/e"
expect_eq "exec: stdout separate" out "$(cat "$T/o")"
expect_eq "exec: stderr separate" err "$(cat "$T/e")"
# More output than the pipes hold, read slowly: the command exits while the wrapper is blocked writing to
# the client, and the SIGCHLD that interrupts that write must not cost a chunk of the output.
X sh -c 'head -c 150000 /dev/urandom > /tmp/big'
want=$(X md5sum /tmp/big | cut -d' ' -f1)
intact=0
for _ in 1 2 3 4 5; do
        [ "$(X cat /tmp/big | { sleep 0.5; md5sum; } | cut -d' ' -f1)" = "$want" ] && intact=$((intact + 1))
done
expect_eq "exec: slowly read output arrives whole (5 times)" 5 "$intact"
expect_eq "exec: sbuild's env/sh -c wrapping" "/tmp:x=1" \
        "$(X env x=1 sh -c 'cd /tmp && exec "$@"' exec sh -c 'echo "$(pwd):x=$x"')"
expect_eq "exec: no network but loopback" "lo" "$(X sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")"
# A leaked background process must not keep the client waiting for EOF, nor write to it afterwards.
start=$(date +%s)
out=$(X sh -c '(sleep 10; echo late) & echo early')
took=$(( $(date +%s) - start ))
expect_eq "exec: output of a command that leaks a process" early "$out"
check "exec: EOF despite the leaked process (${took}s)" test "$took" -lt 10
start=$(date +%s)
out=$(X su -s /bin/sh nobody -c 'sleep 120 & echo as-nobody')
took=$(( $(date +%s) - start ))
expect_eq "exec: a process leaked by another user" as-nobody "$out"
check "exec: EOF despite it (${took}s)" test "$took" -lt 60
# SIGTERM to the execute command reaches the command.
env -i "${EXEC[@]}" sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done' >"$T/term.out" &
tpid=$!
for _ in $(seq 300); do grep -q ready "$T/term.out" && break; sleep 0.1; done
kill -TERM "$tpid"; wait "$tpid"; trc=$?
expect_eq "exec: SIGTERM forwarded, the command's own status" 3 "$trc"
check "exec: the command saw SIGTERM" grep -q got-term "$T/term.out"

# A failure of the execute command itself (here: no such session) is 255, never a command's status.
BAD=("${EXEC[@]}")
for i in "${!BAD[@]}"; do [ "${BAD[$i]}" = "session:$SESSION" ] && BAD[$i]=session:no-such-session; done
env -i "${BAD[@]}" true 2>/dev/null; expect_eq "exec: arkose-chroot's own failure is 255" 255 $?

# ---- copies ----
mkdir -p "$T/src/sub dir/deeper"
printf 'one\n' > "$T/src/a file"
printf '#!/bin/sh\necho run\n' > "$T/src/sub dir/script"; chmod 755 "$T/src/sub dir/script"
head -c 300000 /dev/urandom > "$T/src/sub dir/deeper/blob"
ln -s "a file" "$T/src/link"
expect_eq "copydown of a directory" ok "$(req copydown "$T/src/" /tmp/dst/)"
expect_eq "copydown: tree in the testbed" run "$(X '/tmp/dst/sub dir/script')"
expect_eq "copyup of a directory" ok "$(req copyup /tmp/dst/ "$T/back/")"
check "copyup: same tree back" diff -r "$T/src" "$T/back"
check "copyup: executable bit kept" test -x "$T/back/sub dir/script"
check "copyup: symlink kept" test "$(readlink "$T/back/link")" = "a file"
expect_eq "copydown of a file (URL-encoded names)" ok "$(req copydown "$(urlenc "$T/src/sub dir/script")" "$(urlenc "/tmp/x y")")"
check "copydown: executable file stays executable" X test -x "/tmp/x y"
expect_eq "copyup of a file" ok "$(req copyup "$(urlenc "/tmp/x y")" "$T/up")"
check "copyup: same content" cmp "$T/up" "$T/src/sub dir/script"
r=$(req copyup /nonexistent "$T/missing")
check "copyup of a missing file is a soft failure ($r)" test "$r" != ok -a -n "$r" -a "$r" != "(no reply)"
check "copyup: no half file left" test ! -e "$T/missing"
expect_eq "still serving after a soft failure" ok "$(req copydown "$T/src/a%20file" /tmp/a)"

# ---- revert ----
X sh -c 'echo x > /root/marker'
r=$(req revert)
expect_eq "revert: same scratch directory" "ok $SCRATCH" "$r"
old=("${EXEC[@]}")
exec_argv "$(req print-execute-command)"
expect_eq "revert: same session id" "${old[*]}" "${EXEC[*]}"
check "revert: changes are gone" X test ! -e /root/marker
expect_eq "revert: scratch directory is there, mode 1777" 1777 "$(X stat -c %a "$SCRATCH")"

# ---- reboot: the container restarts over the same writable layer ----
# (stdio redirected before the fork: a child still holding the client's pipe is what the wrapper kills)
X sh -c "echo kept > /root/keep; echo kept > $SCRATCH/keep; exec </dev/null >/dev/null 2>&1; setsid sleep 1000 &"
check "reboot: a process runs before" running "sleep 1000"
check "reboot: advertised" grep -qw reboot <<<"$(req capabilities)"
expect_eq "reboot" ok "$(req reboot)"
expect_eq "reboot: the disk is kept" kept "$(X cat /root/keep)"
expect_eq "reboot: the scratch directory is kept" kept "$(X cat "$SCRATCH/keep")"
check "reboot: processes are gone" eval '! running "sleep 1000"'

# reboot prepare-only: the test (here a background loop) waits for the prepare-mark to go, then reboots
# by itself, finding the server's shim for "reboot".
X sh -c 'echo m > /run/autopkgtest-reboot-prepare-mark; exec </dev/null >/dev/null 2>&1
        setsid sh -c "while [ -e /run/autopkgtest-reboot-prepare-mark ]; do sleep 0.1; done; echo after > /root/prep; reboot" &'
expect_eq "reboot prepare-only" ok "$(req reboot prepare-only)"
expect_eq "reboot prepare-only: the test went on before the reboot" after "$(X cat /root/prep)"
check "reboot prepare-only: the reboot shim is gone again" X test ! -e /usr/local/sbin/reboot
expect_eq "reboot prepare-only: the scratch directory is kept" kept "$(X cat "$SCRATCH/keep")"

# ---- shell without a terminal, debug output ----
: >"$T/server.err"
expect_eq "shell without a terminal replies ok" ok "$(req shell / A=1)"
expect_eq "auxverb_debug_fail" ok "$(req auxverb_debug_fail)"
check "auxverb_debug_fail describes the session" grep -q "Session State" "$T/server.err"
expect_eq "close" ok "$(req close)"
check "close: the session is gone" no_sessions
r=$(req open)
expect_eq "open again after close" ok "${r%% *}"
send quit
stop_server 0
check "quit with an open testbed closes it" no_sessions

# ---- bad requests: one line on stderr, exit status 12, testbed closed ----
bad() {         # bad DESCRIPTION EXPECTED-MESSAGE REQUESTS...
        local what=$1 msg=$2 err
        shift 2
        printf '%s\n' "$@" | "$VIRT" bookworm >/dev/null 2>"$T/bad.err"
        expect_eq "$what: exit status" 12 "$?"
        err=$(cat "$T/bad.err")
        check "$what: says '$msg'" grep -qF "$msg" <<<"$err"
        expect_eq "$what: one line" 1 "$(wc -l <"$T/bad.err")"
        check "$what: no session left" no_sessions
}
bad "unknown request" "unknown command \`frobnicate'" open frobnicate
bad "close when not open" "\`close' when not open" close
bad "open twice" "\`open' when already open" open open
bad "print-execute-command when not open" "\`print-execute-command' when not open" print-execute-command
bad "copy paths disagreeing" "directoryness" open "copydown /a/ /b"
bad "NUL in an argument" "NUL byte" open "copyup /a%00 /b"
bad "too many arguments" "too many arguments" "capabilities now"
printf 'open\n' | "$VIRT" no-such-chroot >/dev/null 2>"$T/bad.err"
expect_eq "unknown chroot: exit status" 12 "$?"
check "unknown chroot: arkose-chroot says so" grep -q "No chroot named 'no-such-chroot'" "$T/bad.err"

# ---- end of input, a closed stdout, signals ----
out=$(printf 'capabilities\nopen\n' | "$VIRT" bookworm 2>/dev/null); rc=$?
expect_eq "EOF while open: exit status" 0 "$rc"
check "EOF while open: testbed closed" no_sessions
python3 - "$VIRT" <<'EOF'
import subprocess, sys
p = subprocess.Popen([sys.argv[1], "bookworm"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
assert p.stdout.readline() == b"ok\n"
p.stdin.write(b"open\n"); p.stdin.flush()
assert p.stdout.readline().startswith(b"ok /tmp/")
p.stdout.close()                       # the client stops reading ...
p.stdin.write(b"quit\n"); p.stdin.close()
sys.exit(p.wait())                     # ... quit still exits 0
EOF
expect_eq "quit with stdout closed: exit 0" 0 "$?"
check "quit with stdout closed: testbed closed" no_sessions

start_server bookworm
req open >/dev/null
kill -TERM "$SRV_PID_"
wait "$SRV_PID_"; rc=$?
expect_eq "SIGTERM: the server dies of it" 143 "$rc"
check "SIGTERM: testbed closed first" no_sessions

finish
