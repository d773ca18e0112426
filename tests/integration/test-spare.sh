#!/bin/bash
# Spare sessions (lib/spare.h): a one-shot command leaves a session made ahead for the next ones of the
# same plan; they run there, with the same results as in a session of their own: exit status, stdio,
# signals, a fresh copy-on-write root, the caller's directory, nothing left behind. Each check runs its
# command once a spare is ready and checks that it was that spare's (ARKOSE_SESSION_ID). With the buildd
# profile on a kernel without AppArmor, the spare is a shared one: its init runs each command in a
# sub-session of its own, many at once. The end of the file checks the single-use kind, which a profile
# with a tmpfs mount gets.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture sp
export ARKOSE_SPARE_SESSIONS=1
mkdir -p "$T/work"
cd "$T/work"
SPARES=$ARKOSE_STATE_DIR/spares
# fresh_empty ID: the spare's sub-sessions' directories are all gone.
fresh_empty() { [ -d "$ARKOSE_STATE_DIR/sessions/$1/fresh" ] && [ -z "$(ls -A "$ARKOSE_STATE_DIR/sessions/$1/fresh")" ]; }
shared_of() { record_field "$1" shared 2> /dev/null || echo false; }

# spare_ready: waits (15 s at most) until a spare is offered and prints its session id.
spare_ready() {
        local i f
        for i in $(seq 300); do
                for f in "$SPARES"/*; do
                        [ -L "$f" ] && { readlink "$f"; return 0; }
                done
                sleep 0.05
        done
        return 1
}
# spare_ready_for USER: the same, for a spare of USER's.
spare_ready_for() {
        local i f id
        for i in $(seq 300); do
                for f in "$SPARES"/*; do
                        [ -L "$f" ] || continue
                        id=$(readlink "$f")
                        [ "$(record_field "$id" user 2> /dev/null)" = "$1" ] && { echo "$id"; return 0; }
                done
                sleep 0.05
        done
        return 1
}
no_spare_offered() { ! ls "$SPARES" 2>/dev/null | grep -qv '\.lock$'; }
# end_spares: ends every spare session (--end-session), as a user would.
end_spares() {
        local id
        for id in $("$ARKOSE" sessions | awk '$5 == "spare" { print $1 }'); do
                "$ARKOSE" --end-session -c "$id"
        done
}

# A command that finds no spare has the next one made while it runs (not once it is done: a command that
# follows at once would find none ready again, and so on).
"$ARKOSE" -c sp -- sh -c 'sleep 3; echo done' > "$T/first.out" & first=$!; PIDS="$PIDS $first"
id=$(spare_ready)
check "a first one-shot command (no spare yet) has the next one made while it runs" \
        sh -c "[ -n '$id' ] && kill -0 $first 2>/dev/null && ! grep -q done '$T/first.out'"
# The spare's owner is not the command's child (fork_detached()): the process between them, which ends at
# once, is reaped, not left a zombie for the command's whole run.
check "... and has no zombie child meanwhile" \
        sh -c "kill -0 $first && ! ps -o stat= --ppid $first | grep -q '^Z'"
wait "$first"; expect_eq "... and it runs to its end" "0 done" "$? $(cat "$T/first.out")"
check "it leaves a spare session" test -n "$id"
expect_eq "'sessions' lists it as a spare" "spare running" \
        "$("$ARKOSE" sessions | awk -v id="$id" '$1 == id { print $5, $7 }')"
check "schroot's --list --all-sessions leaves it out" not sh -c "'$ARKOSE' --list --all-sessions | grep -q '$id'"
expect_eq "the buildd profile's spare is a shared one (no AppArmor here)" true "$(shared_of "$id")"
err=$("$ARKOSE" --run-session -c "$id" -- touch /etc/run-session-was-here 2>&1); rc=$?
expect_eq "--run-session into a spare is refused, in one line" \
        "1 arkose-chroot: Session '$id' is a spare session, made for one-shot commands: run 'arkose-chroot -c sp -- COMMAND'" "$rc $err"

# Exit status, the session used, stdin, stdout and stderr (files keep their owner and mode).
: > "$T/out.log"; : > "$T/err.log"; chmod 0644 "$T/out.log" "$T/err.log"
echo hello > "$T/in.txt"
init=$(record_field "$id" init_pid)
"$ARKOSE" -c sp -- sh -c 'echo "$ARKOSE_SESSION_ID"; cat; echo oops >&2; touch /etc/spare-was-here; exit 7' \
        < "$T/in.txt" > "$T/out.log" 2> "$T/err.log"
expect_eq "the exit status passes through" 7 $?
expect_eq "the command ran in the spare" "$id" "$(head -n 1 "$T/out.log")"
expect_eq "stdin and stdout pass through" hello "$(sed -n 2p "$T/out.log")"
expect_eq "stderr passes through" oops "$(cat "$T/err.log")"
expect_eq "stdout's file keeps owner and mode" "root 644" "$(stat -c '%U %a' "$T/out.log")"
check "the spare stays, for the next commands" test -e "/proc/$init"
check "the command's sub-session directory is gone when it returns" fresh_empty "$id"

# The next command gets a fresh root: nothing of the last one, nothing written to the tree.
id=$(spare_ready)
out=$("$ARKOSE" -c sp -- sh -c 'echo "$ARKOSE_SESSION_ID"; test -e /etc/spare-was-here -o -e /etc/run-session-was-here && echo leaked; pwd')
expect_eq "the next command ran in the same spare" "$id" "$(echo "$out" | head -n 1)"
check "a spare's root is fresh (no file of the last command)" not sh -c "echo '$out' | grep -q leaked"
check "the tree is untouched" not test -e "$ARKOSE_STATE_DIR/trees/sp/1/rootfs/etc/spare-was-here"
expect_eq "the working directory is the caller's" "$T/work" "$(echo "$out" | tail -n 1)"

# The caller's directory is bound: results land there, owned by the session user.
id=$(spare_ready)
got=$("$ARKOSE" -c sp -- sh -c 'echo "$ARKOSE_SESSION_ID"; echo result > built.txt')
expect_eq "a command writing results ran in the spare" "$id" "$got"
expect_eq "its results are in the caller's directory" result "$(cat "$T/work/built.txt" 2>/dev/null)"

# The environment is the command's own, as in a session of its own.
id=$(spare_ready)
env_out=$(ARK_SECRET=xyz "$ARKOSE" -c sp -- env)
check "the command ran in the spare" sh -c "echo '$env_out' | grep -q '^ARKOSE_SESSION_ID=$id$'"
check "caller variables are not leaked" not sh -c "echo '$env_out' | grep -q ARK_SECRET"
check "DEBIAN_FRONTEND comes from the profile" sh -c "echo '$env_out' | grep -q '^DEBIAN_FRONTEND=noninteractive$'"

# The caller's niceness (nice -n 7 arkose-chroot ...), as a command in a session of its own has it.
id=$(spare_ready)
expect_eq "the command runs at the caller's niceness, in the spare" "$id 7" \
        "$(nice -n 7 "$ARKOSE" -c sp -- sh -c 'echo "$ARKOSE_SESSION_ID" $(cut -d " " -f 19 /proc/self/stat)')"

# Signals reach the command; an untrapped TERM gives 143.
id=$(spare_ready)
"$ARKOSE" -c sp -- sh -c 'trap "exit 42" TERM; echo "$ARKOSE_SESSION_ID" > spare-id; sleep 30 & wait' &
pid=$!
for i in $(seq 100); do [ -s spare-id ] && break; sleep 0.05; done
kill -TERM $pid; wait $pid
expect_eq "a trapped TERM reaches the command" 42 $?
expect_eq "that command ran in the spare" "$id" "$(cat spare-id)"
rm -f spare-id
spare_ready > /dev/null
"$ARKOSE" -c sp -- sh -c 'echo "$ARKOSE_SESSION_ID" > spare-id; exec sleep 30' &
pid=$!
for i in $(seq 100); do [ -s spare-id ] && break; sleep 0.05; done
kill -TERM $pid; wait $pid
expect_eq "an untrapped TERM gives 143" 143 $?
rm -f spare-id

# SIGKILL of arkose-chroot: its command dies with its sub-session, whose directory goes; the spare stays.
id=$(spare_ready)
"$ARKOSE" -c sp -- sleep 4242 &
pid=$!
for i in $(seq 100); do pgrep -f '^sleep 4242$' > /dev/null && break; sleep 0.05; done
check "the command runs" sh -c "pgrep -f '^sleep 4242\$' > /dev/null"
kill -KILL $pid; wait $pid 2>/dev/null
gone=no
for i in $(seq 100); do
        pgrep -f '^sleep 4242$' > /dev/null || ! fresh_empty "$id" || { gone=yes; break; }
        sleep 0.05
done
expect_eq "the command and its sub-session are gone after SIGKILL of arkose-chroot" yes "$gone"
expect_eq "the spare serves the next command" "$id" "$("$ARKOSE" -c sp -- sh -c 'echo $ARKOSE_SESSION_ID')"

# Commands at once, in the same spare: each in a sub-session of its own (its /tmp, /dev/shm, processes).
id=$(spare_ready)
for i in 1 2 3 4 5; do
        "$ARKOSE" -c sp -- sh -c "touch /var/tmp/m-$i /dev/shm/s-$i; sleep 2 & sleep 1; echo \$ARKOSE_SESSION_ID \$(ls /var/tmp /dev/shm | tr '\n' ' ') \$(cat /proc/[0-9]*/comm | grep -cx sleep)" \
                > "$T/at-once-$i.out" &
done
wait
for i in 1 2 3 4 5; do
        expect_eq "command $i of 5 at once ran in the spare, saw only its own files and processes" \
                "$id /dev/shm: s-$i /var/tmp: m-$i 1" "$(cat "$T/at-once-$i.out")"
done
check "their sub-sessions' directories are gone" fresh_empty "$id"

# What the command gets is what a session of its own gives: capabilities, mounts, devices, network, for
# root and for another user.
view='grep -E "^(Cap|NoNewPrivs)" /proc/self/status; id; awk "{ for (i = 7; \$i != \"-\"; i++); print \$5, \$(i + 1) }" /proc/self/mountinfo | grep -v "^/dev/\.arkose-init " | sort; ls -l /dev | awk "{ print \$1, \$5, \$6, \$NF }"; ls /sys/class/net; cat /sys/class/net/lo/flags'
# A profile that drops setuid, setgid and setpcap too: the sub-session still takes the user's credentials.
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
sed 's/^capabilities-drop = mac_admin mac_override sys_module sys_rawio sys_time$/& setuid setgid setpcap/' \
        "$SRC/confs/profiles/buildd.conf" > "$ARKOSE_CONFIG_DIR/profiles.d/nosetuid.conf"
check "(the nosetuid profile drops setuid)" grep -q "sys_time setuid setgid setpcap" "$ARKOSE_CONFIG_DIR/profiles.d/nosetuid.conf"
for prof in buildd nosetuid; do
        for u in root nobody; do
                own=$(ARKOSE_SPARE_SESSIONS=0 "$ARKOSE" -c sp --profile $prof -u $u -- sh -c "$view" 2>&1)
                "$ARKOSE" -c sp --profile $prof -u $u -- true
                spare_ready_for $u > /dev/null  # (root's may be offered already)
                in_spare=$("$ARKOSE" -c sp --profile $prof -u $u -- sh -c "echo \$ARKOSE_SESSION_ID; $view" 2>&1)
                sid=$(echo "$in_spare" | head -n 1)
                expect_eq "$prof, -u $u: the command ran in a spare" spare \
                        "$("$ARKOSE" sessions | awk -v id="$sid" '$1 == id { print $5 }')"
                expect_eq "$prof, -u $u: capabilities, user, mount points, /dev, network as in a session of its own" \
                        "$own" "$(echo "$in_spare" | tail -n +2)"
        done
        end_spares   # (root's and nobody's)
done

# The spare's init killed while its command runs: one line saying so, a failure status, nothing run twice.
"$ARKOSE" -c sp -- true
id=$(spare_ready)
"$ARKOSE" -c sp -- sh -c 'echo ran >> runs.txt; exec sleep 4343' 2> "$T/lost.err" &
pid=$!
for i in $(seq 100); do pgrep -f '^sleep 4343$' > /dev/null && break; sleep 0.05; done
kill -KILL "$(record_field "$id" init_pid)"
wait $pid; rc=$?
check "a lost init gives a failure status ($rc)" test "$rc" -ne 0
expect_eq "and one line naming the session" 1 "$(grep -c "Lost the init of session '$id'" "$T/lost.err")"
expect_eq "the command ran once" ran "$(cat runs.txt)"
rm -f runs.txt
for i in $(seq 100); do [ -d "$ARKOSE_STATE_DIR/sessions/$id" ] || break; sleep 0.05; done
check "the spare whose init died is ended by its owner" not test -d "$ARKOSE_STATE_DIR/sessions/$id"

# A killed owner: its container goes with it, the next sweep removes what is left, and the next command
# runs (in a session of its own).
"$ARKOSE" -c sp -- true
id=$(spare_ready)
owner=$(record_field "$id" owner_pid)
kill -KILL "$owner"
for i in $(seq 100); do [ -e "/proc/$(record_field "$id" init_pid 2>/dev/null || echo 0)" ] || break; sleep 0.05; done
"$ARKOSE" sessions > /dev/null
check "a spare whose owner was killed is swept" not test -d "$ARKOSE_STATE_DIR/sessions/$id"
for f in "$SPARES"/*; do        # its index is left dangling; a claim of it falls back (checked next)
        [ "$(readlink "$f")" = "$id" ] && rm -f "$f"
done
expect_eq "the next command runs" 0 "$("$ARKOSE" -c sp -- sh -c 'echo $?')"

# --end-session ends a spare; a shared one once the commands running there are done.
id=$(spare_ready)
"$ARKOSE" -c sp -- sh -c 'sleep 2; echo finished > ended-late.txt' & pid=$!
for i in $(seq 100); do [ -n "$(ls -A "$ARKOSE_STATE_DIR/sessions/$id/fresh" 2>/dev/null)" ] && break; sleep 0.05; done
"$ARKOSE" --end-session -c "$id"; expect_eq "--end-session of a spare succeeds" 0 $?
wait $pid; expect_eq "a command running in it ran to its end first" "0 finished" "$? $(cat ended-late.txt 2>/dev/null)"
rm -f ended-late.txt
check "its session directory is gone" not test -d "$ARKOSE_STATE_DIR/sessions/$id"
check "it is offered no more" no_spare_offered

# A new version is used at once: the spare of the old one is not (its key names the version).
"$ARKOSE" -c sp -- true
spare_ready > /dev/null
"$ARKOSE" update sp --command 'touch /etc/v2' > /dev/null; expect_eq "update with a spare waiting" 0 $?
expect_eq "the next command sees the new version" yes "$("$ARKOSE" -c sp -- sh -c 'test -e /etc/v2 && echo yes')"

# remove while a command runs in the shared spare: that is a running session's use, so remove refuses at
# once (no waiting for the command), and the command runs to its end; the spare then retires.
spare_ready > /dev/null
"$ARKOSE" -c sp -- sh -c 'echo "$ARKOSE_SESSION_ID"; sleep 3; echo done' > "$T/busy-rm.out" & bpid=$!
for i in $(seq 100); do [ -s "$T/busy-rm.out" ] && break; sleep 0.05; done
busy=$(head -n 1 "$T/busy-rm.out")
s0=$(date +%s)
err=$("$ARKOSE" remove sp 2>&1); rc=$?
expect_eq "remove while a command runs in the spare ($busy): refused, at once" \
        "1 arkose-chroot: Cannot remove 'sp': 1 running session(s) use it (version 2) 1" "$rc $err $(( $(date +%s) - s0 < 3 ))"
wait $bpid; expect_eq "the command ran to its end" "0 $busy done" "$? $(tr '\n' ' ' < "$T/busy-rm.out" | sed 's/ $//')"
for i in $(seq 100); do [ -d "$ARKOSE_STATE_DIR/sessions/$busy" ] || break; sleep 0.05; done
check "then the spare retired" not test -d "$ARKOSE_STATE_DIR/sessions/$busy"

# remove ends the spares of the chroot instead of refusing.
"$ARKOSE" -c sp -- true
spare_ready > /dev/null
"$ARKOSE" remove sp > "$T/remove.out" 2>&1; rc=$?
expect_eq "remove of a chroot with a spare succeeds" 0 $rc
[ $rc = 0 ] || cat "$T/remove.out"
check "no spare is left" no_spare_offered

# A spare nobody uses ends after spare-idle-timeout seconds.
use_fixture
printf '[main]\nspare-idle-timeout = 2\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
"$ARKOSE" -c fx -- true
id=$(spare_ready); check "a directory chroot gets a spare too" test -n "$id"
sleep 4
check "an idle spare ends after spare-idle-timeout" not test -d "$ARKOSE_STATE_DIR/sessions/$id"
check "and is offered no more" no_spare_offered

# spare-sessions-max: commands from three directories leave three plans' spares; with a cap of 2, the
# third's owner ends the oldest before it makes its own.
printf '[main]\nspare-sessions-max = 2\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
offered() { ls "$SPARES" 2>/dev/null | grep -vc '\.lock$'; }
wait_offered() { for i in $(seq 300); do [ "$(offered)" = "$1" ] && return 0; sleep 0.05; done; return 1; }
first=""
for d in d1 d2 d3; do
        mkdir -p "$T/$d"
        n=$(offered)
        (cd "$T/$d" && "$ARKOSE" -c fx -- true)
        # Each command leaves one spare more, up to the cap (the third replaces the oldest).
        [ "$d" = d3 ] || wait_offered $((n + 1))
        [ "$d" = d1 ] && first=$(spare_ready)
done
sleep 1; wait_offered 2
expect_eq "a cap of 2: two spares offered after commands from three directories" 2 "$(offered)"
check "the oldest one ($first) was ended" not test -d "$ARKOSE_STATE_DIR/sessions/$first"
expect_eq "the two spares are the newest plans' (d2, d3)" "$T/d2 $T/d3" \
        "$(for id in $("$ARKOSE" sessions | awk '$5 == "spare" { print $1 }'); do record_field "$id" cwd; done | sort | tr '\n' ' ' | sed 's/ $//')"
end_spares

# The cap does not wait for a shared spare that runs a command (a build may take an hour): it is offered no
# more and retires once the command is done; the new plan's spare is made meanwhile.
printf '[main]\nspare-sessions-max = 1\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
(cd "$T/d1" && "$ARKOSE" -c fx -- true)
busy=$(spare_ready)
(cd "$T/d1" && "$ARKOSE" -c fx -- sh -c 'echo "$ARKOSE_SESSION_ID"; sleep 4; echo done') > "$T/busy.out" & bpid=$!
for i in $(seq 100); do [ -s "$T/busy.out" ] && break; sleep 0.05; done
(cd "$T/d2" && "$ARKOSE" -c fx -- true)
next=
for i in $(seq 60); do
        id=$(spare_ready)
        [ -n "$id" ] && [ "$id" != "$busy" ] && { next=$id; break; }
        sleep 0.05
done
check "a new plan's spare is offered while the old one's command runs" sh -c "[ -n '$next' ] && ! grep -q done '$T/busy.out'"
expect_eq "the old one is offered no more" 1 "$(offered)"
wait $bpid; expect_eq "and its command runs to its end there" "0 $busy done" "$? $(cat "$T/busy.out" | tr '\n' ' ' | sed 's/ $//')"
for i in $(seq 100); do [ -d "$ARKOSE_STATE_DIR/sessions/$busy" ] || break; sleep 0.05; done
check "then it ends" not test -d "$ARKOSE_STATE_DIR/sessions/$busy"
end_spares

# Off: ARKOSE_SPARE_SESSIONS=0 (or spare-sessions = no) leaves none.
ARKOSE_SPARE_SESSIONS=0 "$ARKOSE" -c fx -- true
sleep 1
check "ARKOSE_SPARE_SESSIONS=0 leaves no spare" no_spare_offered
printf '[main]\nspare-sessions = no\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
env -u ARKOSE_SPARE_SESSIONS "$ARKOSE" -c fx -- true
sleep 1
check "spare-sessions = no leaves no spare" no_spare_offered
rm -f "$ARKOSE_CONFIG_DIR/arkose.conf"

# The Debian package's prerm: on removal the spares end (no program would be left to end them), a session a
# user began is named and kept; on upgrade nothing ends.
mkdir -p "$T/bin" && ln -sf "$ARKOSE" "$T/bin/arkose-chroot"
"$ARKOSE" -c fx -- true
sp=$(spare_ready)
det=$("$ARKOSE" -c fx -b 2>/dev/null)
check "a spare ($sp) and a begun session ($det)" test -n "$sp" -a -n "$det"
PATH=$T/bin:$PATH sh "$SRC/debian/arkose-chroot.prerm" upgrade 2> "$T/prerm.err"
check "prerm upgrade ends no spare" test -n "$sp" -a -d "$ARKOSE_STATE_DIR/sessions/$sp"
PATH=$T/bin:$PATH sh "$SRC/debian/arkose-chroot.prerm" remove 2> "$T/prerm.err"; rc=$?
expect_eq "prerm remove succeeds" 0 "$rc"
check "prerm remove ends the spare" test -n "$sp" -a ! -d "$ARKOSE_STATE_DIR/sessions/$sp"
check "and keeps the begun session" test -n "$det" -a -d "$ARKOSE_STATE_DIR/sessions/$det"
check "which it names ($(head -n 1 "$T/prerm.err"))" grep -q "keep running: $det\$" "$T/prerm.err"
"$ARKOSE" -c "$det" -e

# A spare's owner lives for minutes in a mount namespace of its own: that copy of the host's mounts holds
# no other session's overlay, which would outlive the session's end, and make a --recover-session mount a
# new overlay on an upper directory still in use (the kernel says "upperdir is in-use").
det=$("$ARKOSE" -c fx -b 2>/dev/null)
"$ARKOSE" -c fx -- true
sp=$(spare_ready)
owner=$(record_field "$sp" owner_pid)
expect_eq "the spare's owner ($owner) holds none of the begun session's mounts" 0 \
        "$(grep -c "/sessions/$det/" "/proc/$owner/mountinfo")"
check "but its own" grep -q "/sessions/$sp/" "/proc/$owner/mountinfo"
"$ARKOSE" -c "$det" -e

end_spares

# Single-use spares: a profile a sub-session cannot give (a tmpfs mount: it would be shared) gets a spare
# whose init serves one command and exits; the next command gets the next spare.
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
printf '[mounts]\ntmpfs = /scratch\n' > "$ARKOSE_CONFIG_DIR/profiles.d/scratch.conf"
"$ARKOSE" -c fx --profile scratch -- true
id=$(spare_ready)
expect_eq "a profile with a tmpfs mount gets a single-use spare" false "$(shared_of "$id")"
init=$(record_field "$id" init_pid)
out=$("$ARKOSE" -c fx --profile scratch -- sh -c 'echo "$ARKOSE_SESSION_ID"; touch /etc/single-was-here /scratch/x')
expect_eq "the next command ran in it" "$id" "$out"
# Gone: exited. Its parent (the spare's monitor) may not have reaped it yet, a zombie for an instant (ci-fresh73
# saw one).
state=$(awk '/^State:/ { print $2 }' "/proc/$init/status" 2> /dev/null)
check "its init has exited when the command returns (state '${state:-gone}')" test -z "$state" -o "$state" = Z
id2=$(spare_ready)
out=$("$ARKOSE" -c fx --profile scratch -- sh -c 'echo "$ARKOSE_SESSION_ID"; ls /etc/single-was-here /scratch/x 2>/dev/null')
expect_eq "the command after runs in the next spare, with a fresh root and tmpfs" "$id2" "$out"
check "which is another" test "$id" != "$id2"
end_spares
# A hook that does not declare a cacheable result (hooks/README.md) may do more than write into the root,
# once per session: its spares are single-use too.
printf '#!/bin/sh\nexit 0\n' > "$ARKOSE_CONFIG_DIR/hooks.d/50-arktest-plain"
chmod 0755 "$ARKOSE_CONFIG_DIR/hooks.d/50-arktest-plain"
"$ARKOSE" -c fx -- true
id=$(spare_ready)
expect_eq "with a hook that does not declare a cacheable result, a single-use spare" false "$(shared_of "$id")"
rm -f "$ARKOSE_CONFIG_DIR/hooks.d/50-arktest-plain"
end_spares
finish
