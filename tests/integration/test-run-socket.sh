#!/bin/bash
# --run-session through the command socket of a detached session's init (arkose-init --listen): exit
# statuses, signals, stdin to EOF, working directory, user, environment; a killed client takes its
# command with it; the command's confinement (capabilities, seccomp, no_new_privs, namespaces, cgroup,
# environment) equals an attached command's; what the socket cannot do, or a socket that is not to be
# trusted, falls back to attach; --autopkgtest (autopkgtest's execute command).
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"

A=$ARKOSE
id=$("$A" -c fx --begin-session 2>/dev/null)
check "begin-session ($id)" test -n "$id"
RUN=$ARKOSE_STATE_DIR/sessions/$id/run
# Which path a command took: through the socket it is a child of the container's init (PPid 1); an
# attached command's parent is outside the container's PID namespace (PPid 0).
ppid='sed -n "s/^PPid:\t//p" /proc/$$/status'
hide() { mv "$RUN/init.sock" "$RUN/hidden.sock"; }
unhide() { mv "$RUN/hidden.sock" "$RUN/init.sock"; }

expect_eq "the run directory is root's, mode 700" "root 700" "$(stat -c '%U %a' "$RUN")"
expect_eq "the socket is root's, mode 600" "root 600 socket" "$(stat -c '%U %a %F' "$RUN/init.sock")"
expect_eq "a command goes through the socket (child of init)" 1 "$("$A" -c "$id" -r -- sh -c "$ppid")"

# The command's umask is the caller's, as an attached command's is, not the one the session began with.
expect_eq "a socket command has the caller's umask" "1 0002" "$(umask 002; "$A" -c "$id" -r -- sh -c "$ppid; umask" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... another caller's another" "1 0077" "$(umask 077; "$A" -c "$id" -r -- sh -c "$ppid; umask" | tr '\n' ' ' | sed 's/ $//')"

# Exit statuses, signals, stdio.
"$A" -c "$id" -r -- true; expect_eq "status 0" 0 $?
"$A" -c "$id" -r -- sh -c 'exit 7'; expect_eq "status 7" 7 $?
"$A" -c "$id" -r -- sh -c 'exit 255'; expect_eq "status 255" 255 $?
"$A" -c "$id" -r -- sh -c 'kill -9 $$'; expect_eq "killed by SIGKILL: 137" 137 $?
"$A" -c "$id" -r -- sh -c 'kill -TERM $$'; expect_eq "killed by SIGTERM: 143" 143 $?
"$A" -c "$id" -r -- /nonexistent 2>"$T/err"; rc=$?
expect_eq "a missing program: 127, one line" "127 1" "$rc $(wc -l < "$T/err")"
expect_eq "stdin to EOF" "3 hello" "$(printf 'a\nb\nc\n' | "$A" -c "$id" -r -- sh -c 'echo $(wc -l) hello')"
expect_eq "stdin closed is EOF at once" 0 "$("$A" -c "$id" -r -- wc -c < /dev/null)"
"$A" -c "$id" -r -- sh -c 'echo out; echo err >&2' > "$T/o" 2> "$T/e"
expect_eq "stdout and stderr apart" "out err" "$(cat "$T/o") $(cat "$T/e")"
for sig in TERM INT HUP QUIT; do
        rm -f "$T/sig.out"
        "$A" -c "$id" -r -- sh -c "trap 'echo got-$sig; exit 42' $sig; echo ready; while :; do sleep 0.1; done" > "$T/sig.out" &
        pid=$!; PIDS="$PIDS $pid"
        for i in $(seq 100); do grep -q ready "$T/sig.out" 2>/dev/null && break; sleep 0.05; done
        kill -"$sig" "$pid"; wait "$pid"; rc=$?
        expect_eq "SIG$sig reaches the command (its trap exits 42)" "42 got-$sig" "$rc $(tail -n 1 "$T/sig.out")"
done

# Working directory, user, environment.
expect_eq "-d DIR" /etc "$("$A" -c "$id" -r -d /etc -- pwd)"
"$A" -c "$id" -r -d /nonexistent -- true 2> "$T/err"; rc=$?
expect_eq "-d with a directory missing: status 1, one line" "1 1" "$rc $(wc -l < "$T/err")"
check "... which names it" grep -q "Directory '/nonexistent' does not exist" "$T/err"
expect_eq "the caller's directory (bound at begin)" "$T" "$("$A" -c "$id" -r -- pwd)"
user=arksock$$
add_test_user -M -d /nonexistent -s /bin/sh "$user" || skip "useradd failed"
groupadd "${user}g" && usermod -a -G "${user}g" "$user"
EXTRA_CLEANUP="$EXTRA_CLEANUP; groupdel ${user}g 2>/dev/null"
# Supplementary groups: the host's (NSS) when the session first meets the user, then the same, kept in
# the session's directory for root callers (run_in_session_user()).
host_groups=$(id -G "$user" | tr ' ' '\n' | sort -n | tr '\n' ' ')
expect_eq "-u USER new to the session gets the host's groups" "$host_groups" \
        "$("$A" -c "$id" -r -d / -u "$user" -- id -G | tr ' ' '\n' | sort -n | tr '\n' ' ')"
check "... kept in the session's directory" test -f "$ARKOSE_STATE_DIR/sessions/$id/groups.$(id -u "$user")"
expect_eq "... and the same from there afterwards" "$host_groups" \
        "$("$A" -c "$id" -r -d / -u "$user" -- id -G | tr ' ' '\n' | sort -n | tr '\n' ' ')"
expect_eq "-u USER runs as the user, through the socket" "$user $(id -u "$user") 1" \
        "$("$A" -c "$id" -r -d / -u "$user" -- sh -c "echo \$(id -un) \$(id -u) \$($ppid)")"
expect_eq "... with no_new_privs (the buildd profile)" 1 \
        "$("$A" -c "$id" -r -d / -u "$user" -- sed -n 's/^NoNewPrivs:\t//p' /proc/self/status)"
env_out=$(ARK_SECRET=xyz "$A" -c "$id" -r -- env)
check "caller variables are not leaked" not grep -q ARK_SECRET <<<"$env_out"
check "ARKOSE_SESSION_ID is set" grep -qx "ARKOSE_SESSION_ID=$id" <<<"$env_out"
expect_eq "-p keeps the caller's environment" xyz "$(ARK_SECRET=xyz "$A" -c "$id" -r -p -- sh -c 'echo $ARK_SECRET')"
expect_eq "an empty environment still gets a PATH (sbuild)" /usr/sbin/groupadd \
        "$(env -i ARKOSE_STATE_DIR="$ARKOSE_STATE_DIR" ARKOSE_CONFIG_DIR="$ARKOSE_CONFIG_DIR" \
           ARKOSE_DATA_DIR="$ARKOSE_DATA_DIR" ARKOSE_HOOKS_DIR="$ARKOSE_HOOKS_DIR" "$A" -c "$id" -r -p -- sh -c 'command -v groupadd')"
big=$(head -c 100000 /dev/zero | tr '\0' x)
expect_eq "a large argument list (sent in pieces)" 200000 \
        "$("$A" -c "$id" -r -- sh -c 'printf %s%s "$1" "$2" | wc -c' sh "$big" "$big")"

# Confinement: what the socket's command gets is what an attached command gets.
probe='grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status
cat /proc/self/cgroup; readlink /proc/self/ns/cgroup /proc/self/ns/ipc /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/pid /proc/self/ns/uts
cat /proc/self/attr/current 2>/dev/null; umask; env | sort'
for who in root "$user"; do
        via_socket=$("$A" -c "$id" -r -d / -u "$who" -- sh -c "$probe" 2>&1)
        hide
        via_attach=$("$A" -c "$id" -r -d / -u "$who" -- sh -c "$probe" 2>&1)
        path=$("$A" -c "$id" -r -d / -u "$who" -- sh -c "$ppid")
        unhide
        expect_eq "with the socket hidden, -u $who attaches" 0 "$path"
        if [ "$via_socket" = "$via_attach" ]; then
                echo "ok - -u $who: capabilities, seccomp, no_new_privs, namespaces, cgroup, environment equal attach's"
        else
                echo "not ok - -u $who: socket and attach differ:"; diff <(echo "$via_attach") <(echo "$via_socket") | sed 's/^/# /'
                FAILS=$((FAILS + 1))
        fi
        check "-u $who: the probe saw a bounding set" grep -q '^CapBnd:' <<<"$via_socket"
done
check "root's capability bounding set is the container's, not the host's" \
        test "$(grep '^CapBnd:' <<<"$("$A" -c "$id" -r -d / -u root -- cat /proc/self/status)")" != "$(grep '^CapBnd:' /proc/self/status)"

# A killed client takes its command, and what the command started in its process group, with it.
"$A" -c "$id" -r -- sh -c 'sleep 1234 & sleep 4321' &
cpid=$!; PIDS="$PIDS $cpid"
for i in $(seq 100); do pgrep -x -f "sleep 4321" > /dev/null && break; sleep 0.05; done
check "the command runs" pgrep -x -f "sleep 4321"
kill -9 "$cpid"; wait "$cpid" 2>/dev/null
gone() { for i in $(seq 100); do pgrep -x -f "sleep $1" > /dev/null || return 0; sleep 0.05; done; return 1; }
check "client SIGKILLed: the command is gone" gone 4321
check "... and so is its background child" gone 1234
expect_eq "init still serves commands afterwards" ok "$("$A" -c "$id" -r -- echo ok)"

# Several at once, one init.
for i in $(seq 10); do ("$A" -c "$id" -r -- sh -c "sleep 0.3; echo $i" > "$T/par.$i") & done; wait
expect_eq "10 commands at once" "$(seq 10 | tr '\n' ' ')" "$(for i in $(seq 10); do cat "$T/par.$i"; done | tr '\n' ' ')"

# What the socket does not do, or must not be trusted for, goes through attach.
expect_eq "a socket that is not there: attach" "0 ok" "$(hide; "$A" -c "$id" -r -- sh -c "echo \$($ppid) ok"; unhide)"
chmod 755 "$RUN"
expect_eq "a run directory others may enter: not trusted, attach" 0 "$("$A" -c "$id" -r -- sh -c "$ppid")"
chmod 700 "$RUN"
hide; ln -s hidden.sock "$RUN/init.sock"
expect_eq "a symlink in the socket's place: not followed, attach" 0 "$("$A" -c "$id" -r -- sh -c "$ppid")"
rm "$RUN/init.sock"; unhide
expect_eq "back to the socket" 1 "$("$A" -c "$id" -r -- sh -c "$ppid")"
# Made inside the container by its root: a listener that is not init must not get there first.
"$A" -c "$id" -r -- sh -c 'ls -ld /dev/.arkose-run | cut -c1-10' > "$T/perm"
expect_eq "inside the container (bound at /dev/.arkose-run) the run directory is root's only" "drwx------" "$(cat "$T/perm")"

# --autopkgtest: autopkgtest's execute command.
X() { "$A" -c "$id" -r --error-status 255 --autopkgtest -u root -d / -- "$@"; }
X sh -c 'exit 255' | cat; expect_eq "--autopkgtest: a command's 255 is 253 (output a pipe: relayed by init)" 253 "${PIPESTATUS[0]}"
X sh -c 'exit 255' > /dev/null 2>&1; expect_eq "--autopkgtest: ... (output a file: the command exec'd)" 253 $?
X sh -c 'exit 3'; expect_eq "--autopkgtest: status 3" 3 $?
X sh -c 'kill -TERM $$'; expect_eq "--autopkgtest: killed by SIGTERM is 143" 143 $?
expect_eq "--autopkgtest: output through pipes" "out err" "$(X sh -c 'echo out; echo err >&2' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
start=$(date +%s%N)
out=$(X sh -c 'sleep 1235 & echo early')
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "--autopkgtest: output of a command that leaks a process" early "$out"
check "--autopkgtest: EOF despite the leaked process (${took} ms)" test "$took" -lt 5000
check "--autopkgtest: the leaked process, still holding the output, is gone" gone 1235
X sh -c 'exec </dev/null >/dev/null 2>&1; setsid sleep 1236 &'
# (setsid forks and then execs sleep: give it a moment to be "sleep 1236")
check "--autopkgtest: a detached daemon survives" sh -c 'for i in $(seq 50); do pgrep -x -f "sleep 1236" && exit 0; sleep 0.1; done; exit 1'
pkill -x -f "sleep 1236"
X sh -c 'head -c 300000 /dev/urandom > /tmp/big'
want=$("$A" -c "$id" -r -- md5sum /tmp/big | cut -d' ' -f1)
expect_eq "--autopkgtest: slowly read output arrives whole" "$want" "$(X cat /tmp/big | { sleep 0.5; md5sum; } | cut -d' ' -f1)"
"$A" -c "$id" -r --error-status 255 --autopkgtest -u root -d / -- \
        sh -c "trap 'exit 5' USR1; echo ready; while :; do sleep 0.1; done" > "$T/usr1.out" &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 100); do grep -q ready "$T/usr1.out" 2>/dev/null && break; sleep 0.05; done
kill -USR1 "$pid"; wait "$pid"; expect_eq "--autopkgtest: SIGUSR1 reaches the command" 5 $?
# Output to pipes, as autopkgtest gives it, is relayed by init itself: the command is its child, with no
# wrapper process between them. Separate pipes stay separate; a reader gone is the command's own SIGPIPE;
# signals still reach it.
expect_eq "--autopkgtest: with pipes, the command is init's own child (init relays its output)" 1 "$(X sh -c 'echo $PPID' | cat)"
X sh -c 'echo out; echo err >&2' 2> >(cat > "$T/sep.err") | cat > "$T/sep.out"
sleep 0.2
expect_eq "--autopkgtest: stdout and stderr on pipes of their own, each whole" "out/err" "$(cat "$T/sep.out")/$(cat "$T/sep.err")"
timeout 20 bash -c 'X() { "$1" -c "$2" -r --error-status 255 --autopkgtest -u root -d / -- yes; }; X "$@" | head -n 1 > /dev/null; exit ${PIPESTATUS[0]}' sh "$A" "$id"
expect_eq "--autopkgtest: a reader gone ends the command by SIGPIPE (141), as with its own pipe" 141 $?
"$A" -c "$id" -r --error-status 255 --autopkgtest -u root -d / -- \
        sh -c "trap 'exit 6' USR1; echo ready; while :; do sleep 0.1; done" > >(cat > "$T/usr1p.out") &
pid=$!; PIDS="$PIDS $pid"
for i in $(seq 100); do grep -q ready "$T/usr1p.out" 2>/dev/null && break; sleep 0.05; done
kill -USR1 "$pid"; wait "$pid"; expect_eq "--autopkgtest: with a pipe too, SIGUSR1 reaches the command" 6 $?
# On a socket (not autopkgtest's way), the wrapper copies the output: a child of init's between them.
sock=$(python3 -c 'import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:], stdout=b)
b.close()
data = b"".join(iter(lambda: a.recv(65536), b""))
print(data.decode().strip(), p.wait())' "$A" -c "$id" -r --error-status 255 --autopkgtest -u root -d / -- sh -c 'test $PPID != 1 && echo wrapped; exit 255')
expect_eq "--autopkgtest: output to a socket goes through the wrapper, and 255 is 253" "wrapped 253" "$sock"
hide
X sh -c 'exit 255' | cat; expect_eq "--autopkgtest through attach: 255 is 253" 253 "${PIPESTATUS[0]}"
X sh -c 'exit 255' > /dev/null 2>&1; expect_eq "--autopkgtest through attach: ... (output a file)" 253 $?
expect_eq "--autopkgtest through attach: output" early "$(X sh -c 'sleep 1237 & echo early')"
check "--autopkgtest through attach: the leaked process is gone" gone 1237
unhide
"$A" -c fx --autopkgtest -- true 2>/dev/null; expect_eq "--autopkgtest without --run-session is bad usage" 2 $?

# Root in the container replaces the socket with a listener of its own: arkose-chroot talks only to
# init (the listener's pid must be the recorded init's), so the command attaches and the fake gets nothing.
cat > "$ARKOSE_STATE_DIR/sessions/$id/root/tmp/fake.pl" <<'EOT'
use Socket;
my $p = "/dev/.arkose-run/init.sock";
unlink $p;
socket(S, PF_UNIX, SOCK_SEQPACKET, 0) or die;
bind(S, pack_sockaddr_un($p)) or die;
chmod 0600, $p;
listen(S, 5) or die;
open(my $m, ">", "/tmp/fake-ready"); close $m;
while (accept(C, S)) {
        my $buf = "";
        recv(C, $buf, 4096, 0);
        open(my $g, ">>", "/tmp/fake-got"); print $g length($buf), "\n"; close $g;
        close C;
}
EOT
"$A" -c "$id" -r -u root -- sh -c 'exec </dev/null >/dev/null 2>&1; setsid perl /tmp/fake.pl &'
for i in $(seq 100); do test -e "$ARKOSE_STATE_DIR/sessions/$id/root/tmp/fake-ready" && break; sleep 0.1; done
expect_eq "a listener that is not init: not used, attach" "0 ok" "$("$A" -c "$id" -r -- sh -c "echo \$($ppid) ok")"
expect_eq "the fake listener was connected to and got nothing" 0 \
        "$(sort -u "$ARKOSE_STATE_DIR/sessions/$id/root/tmp/fake-got" | tr '\n' ' ' | sed 's/ $//')"
pkill -f "perl /tmp/fake.pl"

# The container goes while a command runs in it through the socket: the command, which had started, is not
# run a second time through attach, and one line says what happened.
wait_running() { for i in $(seq 100); do "$A" -c "$1" -r -- grep -q once /tmp/runs 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# (Fresh sessions: the one above has had its socket replaced by the fake listener's.)
id1=$("$A" -c fx --begin-session 2>/dev/null)
"$A" -c "$id1" -r -- sh -c 'echo once >> /tmp/runs; exec sleep 4322' 2> "$T/err1" & rp=$!
wait_running "$id1"
kill -9 "$(record_field "$id1" init_pid)"
wait "$rp"; rc=$?
expect_eq "the container died under a command: status 1, one line" "1 1" "$rc $(wc -l < "$T/err1")"
check "... saying so ($(cat "$T/err1"))" grep -q "Session '$id1' stopped while 'sh' ran: .*--recover-session" "$T/err1"
for i in $(seq 100); do monitor_running "$id1" || break; sleep 0.05; done
"$A" -c "$id1" --recover-session
expect_eq "the command ran once, not again through attach" once "$("$A" -c "$id1" -r -- cat /tmp/runs)"
"$A" -c "$id1" --end-session
id2=$("$A" -c fx --begin-session 2>/dev/null)
"$A" -c "$id2" -r -- sh -c 'echo once >> /tmp/runs; exec sleep 4323' 2> "$T/err2" & rp=$!
wait_running "$id2"
"$A" -c "$id2" --end-session
wait "$rp"; rc=$?
expect_eq "the session was ended under a command: status 1, one line" "1 1" "$rc $(wc -l < "$T/err2")"
check "... saying so ($(cat "$T/err2"))" grep -qx "arkose-chroot: Session '$id2' was ended while 'sh' ran" "$T/err2"
# The same through attach (the socket out of the way): the command dies with the container; one line says why.
id3=$("$A" -c fx --begin-session 2>/dev/null)
mv "$ARKOSE_STATE_DIR/sessions/$id3/run/init.sock" "$ARKOSE_STATE_DIR/sessions/$id3/run/hidden.sock"
"$A" -c "$id3" -r -- sh -c "$ppid > /tmp/ppid; echo once >> /tmp/runs; exec sleep 4324" 2> "$T/err3" & rp=$!
wait_running "$id3"
expect_eq "(that command attached)" 0 "$("$A" -c "$id3" -r -- cat /tmp/ppid)"
"$A" -c "$id3" --end-session
wait "$rp"; rc=$?
expect_eq "an attached command's session was ended under it: status 1, one line" "1 1" "$rc $(wc -l < "$T/err3")"
check "... saying so ($(cat "$T/err3"))" grep -qx "arkose-chroot: Session '$id3' was ended while 'sh' ran" "$T/err3"

# A session whose init died: the socket is left, nobody answers; the session is dead, said once.
kill -9 "$(record_field "$id" init_pid)"
for i in $(seq 100); do monitor_running "$id" || break; sleep 0.05; done
"$A" -c "$id" -r -- true 2> "$T/err"; rc=$?
expect_eq "a dead session: status 1, one line" "1 1" "$rc $(wc -l < "$T/err")"
"$A" -c "$id" --recover-session; expect_eq "--recover-session" 0 $?
expect_eq "the recovered session's new init serves the socket" 1 "$("$A" -c "$id" -r -- sh -c "$ppid")"
"$A" -c "$id" --end-session; expect_eq "--end-session" 0 $?
check "no sleep left behind" not pgrep -f "sleep 12[0-9][0-9]|sleep 4321"
finish
