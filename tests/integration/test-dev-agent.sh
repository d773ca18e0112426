#!/bin/bash
# The dev profile's SSH agent ([runtime] sockets = ssh-agent): a real ssh-agent of a test user holding a
# real key; the session's ssh-add (the host's, with its libraries, bound in: the fixture has none) lists
# that key through /run/user/UID/ssh-agent. Also: a link to the agent (as tmux users make), an agent that is
# not the user's, no agent at all, a detached session and the users who join it, and nothing left.
. "$(dirname "$0")/lib.sh"
use_fixture
for p in ssh-agent ssh-add ssh-keygen useradd setpriv; do
        command -v "$p" > /dev/null || skip "$p is missing (apt-get install openssh-client)"
done

U=arkag$$
U2=arkah$$
add_test_user -M -N -d "$T/home" -s /bin/sh "$U" || skip "cannot create a test user"
add_test_user -M -N -d "$T/home2" -s /bin/sh "$U2" || skip "cannot create a test user"
chmod 755 "$T"
mkdir -p "$T/home" "$T/work" "$T/x" "$T/agent" "$T/rootagent"
chown "$U" "$T/home" "$T/work" "$T/agent"; chmod 700 "$T/agent"; chmod 755 "$T/rootagent"
UID_U=$(id -u "$U")
as_user() { setpriv --reuid="$U" --regid="$(id -g "$U")" --init-groups "$@"; }

host_clients ssh-add

# The user's agent (-D: in the foreground, so that its PID is the one to end), with a key of the user's.
AGENT=$T/agent/agent.sock
spawn_as "$U" ssh-agent -D -a "$AGENT" > /dev/null 2>&1
ROOT_AGENT=$T/rootagent/agent.sock
ssh-agent -D -a "$ROOT_AGENT" > /dev/null 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 100); do [ -S "$AGENT" ] && [ -S "$ROOT_AGENT" ] && break; sleep 0.1; done
as_user ssh-keygen -q -t ed25519 -N "" -C "arkose-test-key" -f "$T/home/key" || skip "ssh-keygen failed"
as_user env SSH_AUTH_SOCK="$AGENT" ssh-add -q "$T/home/key" 2> /dev/null
FP=$(ssh-keygen -l -f "$T/home/key.pub" | awk '{print $2}')
check "on the host, the user's agent holds the key" sh -c "setpriv --reuid=$U --regid=$(id -g "$U") --init-groups env SSH_AUTH_SOCK=$AGENT ssh-add -l | grep -q '$FP'"
ln -s "$AGENT" "$T/home/agent-link"; chown -h "$U" "$T/home/agent-link"

dev() {         # dev SSH_AUTH_SOCK COMMAND: a one-shot dev session as $U, ssh-add bound in ("": no agent)
        local agent=(env -u SSH_AUTH_SOCK)
        [ -n "$1" ] && agent=(env SSH_AUTH_SOCK="$1")
        (cd "$T/work" && "${agent[@]}" "$ARKOSE" -c fx --profile dev -u "$U" --bind "$T/x:/opt/x:ro" -- \
                sh -c "export LD_LIBRARY_PATH=/opt/x; $2")
}
LIST='echo "${SSH_AUTH_SOCK:-none}"; /opt/x/ssh-add -l 2>&1'

out=$(dev "$AGENT" "$LIST" 2> "$T/err")
expect_eq "SSH_AUTH_SOCK names the agent in the session's runtime directory" "/run/user/$UID_U/ssh-agent" \
        "$(echo "$out" | sed -n 1p)"
check "ssh-add -l in the session lists the user's key ($FP)" sh -c "echo '$out' | sed -n 2p | grep -q '$FP'"
out=$(dev "$AGENT" 'stat -c "%U %a %F" "$XDG_RUNTIME_DIR" "$SSH_AUTH_SOCK"' 2>> "$T/err")
expect_eq "... the runtime directory is the user's, mode 700, and the agent a socket" \
        "$U 700 directory $U 600 socket" "$(echo $out)"
# (A kernel without AppArmor is said once, in the first session.)
check "... and it said nothing of it" test -z "$(grep -v AppArmor "$T/err")"

out=$(dev "$T/home/agent-link" "$LIST" 2>> "$T/err")
check "a link to the agent (tmux's way) leads to it" sh -c "echo '$out' | sed -n 2p | grep -q '$FP'"

# Without the socket the same client fails: so the checks above can fail.
out=$(dev "" "$LIST" 2>> "$T/err")
expect_eq "no agent: no SSH_AUTH_SOCK, and ssh-add finds none" "none" "$(echo "$out" | sed -n 1p)"
check "... ssh-add says so" sh -c "echo '$out' | grep -q 'Could not open a connection to your authentication agent'"
out=$(dev "$ROOT_AGENT" "$LIST" 2> "$T/err")
expect_eq "root's agent is not passed on to the user" "none" "$(echo "$out" | sed -n 1p)"
check "... with a notice" grep -q "Not binding '$ROOT_AGENT' into the session: not the user's own" "$T/err"
out=$(dev "$T/nothing/agent.sock" "$LIST" 2> "$T/err")
expect_eq "an agent that is not there: none, silently" "none" "$(echo "$out" | sed -n 1p)"
check "... no word of it" test ! -s "$T/err"

# The buildd profile has no runtime directory: the caller's agent stays out of builds.
out=$(cd "$T/work" && SSH_AUTH_SOCK=$AGENT "$ARKOSE" -c fx -u "$U" -- sh -c 'echo ${SSH_AUTH_SOCK:-none} ${XDG_RUNTIME_DIR:-none}; ls /run/user 2>&1 | wc -l' 2>/dev/null)
expect_eq "buildd: no agent, no runtime directory" "none none 1" "$(echo $out)"

# A second user with an agent of their own, and a key of their own.
mkdir -p "$T/home2" "$T/agent2"; chown "$U2" "$T/home2" "$T/agent2"; chmod 700 "$T/agent2"
UID_U2=$(id -u "$U2")
as_user2() { setpriv --reuid="$U2" --regid="$(id -g "$U2")" --init-groups "$@"; }
AGENT2=$T/agent2/agent.sock
spawn_as "$U2" ssh-agent -D -a "$AGENT2" > /dev/null 2>&1
AGENT2_PID=$SPAWNED
for i in $(seq 100); do [ -S "$AGENT2" ] && break; sleep 0.1; done
as_user2 ssh-keygen -q -t ed25519 -N "" -C "arkose-test-key2" -f "$T/home2/key" || skip "ssh-keygen failed"
as_user2 env SSH_AUTH_SOCK="$AGENT2" ssh-add -q "$T/home2/key" 2> /dev/null
FP2=$(ssh-keygen -l -f "$T/home2/key.pub" | awk '{print $2}')

# A detached dev session: the user's commands reach the agent; root, who joins, gets none of the user's;
# another user who joins gets a runtime directory of their own, with their own agent.
sid=$(cd "$T/work" && SSH_AUTH_SOCK=$AGENT "$ARKOSE" -c fx --begin-session --profile dev -u "$U" --bind "$T/x:/opt/x:ro" 2>> "$T/err")
expect_eq "a detached dev session begins" 0 $?
out=$(cd "$T/work" && "$ARKOSE" -c "$sid" --run-session -u "$U" -- sh -c "export LD_LIBRARY_PATH=/opt/x; $LIST" 2>> "$T/err")
check "--run-session: ssh-add -l lists the key" sh -c "echo '$out' | sed -n 2p | grep -q '$FP'"
expect_eq "... root's commands in it get no SSH_AUTH_SOCK" none \
        "$(cd "$T/work" && "$ARKOSE" -c "$sid" --run-session -u root -- sh -c 'echo ${SSH_AUTH_SOCK:-none}' 2>> "$T/err")"
run2() { (cd "$T/work" && SSH_AUTH_SOCK=$1 "$ARKOSE" -c "$sid" --run-session -u "$U2" --bind "$T/x:/opt/x:ro" -- sh -c "export LD_LIBRARY_PATH=/opt/x; $2" 2>> "$T/err"); }
out=$(run2 "$AGENT2" "$LIST; stat -c '%U %a' \$XDG_RUNTIME_DIR")
expect_eq "a user who joins: SSH_AUTH_SOCK in a runtime directory of their own" "/run/user/$UID_U2/ssh-agent" \
        "$(echo "$out" | sed -n 1p)"
check "... ssh-add -l lists their key ($FP2)" sh -c "echo '$out' | sed -n 2p | grep -q '$FP2'"
check "... and not the first user's" sh -c "! echo '$out' | grep -q '$FP'"
expect_eq "... the directory is theirs, mode 700" "$U2 700" "$(echo "$out" | sed -n 3p)"
check "the first user's commands still reach their own agent" sh -c "cd '$T/work' && '$ARKOSE' -c '$sid' --run-session -u '$U' -- sh -c 'export LD_LIBRARY_PATH=/opt/x; /opt/x/ssh-add -l' 2>/dev/null | grep -q '$FP'"
check "nothing of the join is mounted on the host" sh -c "! findmnt -rn -o TARGET | grep -q '$ARKOSE_STATE_DIR/sessions/$sid/runtime-$UID_U2'"
# Their agent restarted at another path (a new login): the next command binds the new one.
kill "$AGENT2_PID"
spawn_as "$U2" ssh-agent -D -a "$AGENT2.new" > /dev/null 2>&1
for i in $(seq 100); do [ -S "$AGENT2.new" ] && break; sleep 0.1; done
as_user2 env SSH_AUTH_SOCK="$AGENT2.new" ssh-add -q "$T/home2/key" 2> /dev/null
lists_key2() { run2 "$1" '/opt/x/ssh-add -l' | grep -q "$FP2"; }
check "after a new login, the next command reaches the new agent" lists_key2 "$AGENT2.new"
out=$(run2 "" 'echo ${SSH_AUTH_SOCK:-none}; ls $XDG_RUNTIME_DIR | wc -l')
expect_eq "... and without an agent, none (not the last one's)" "none 0" "$(echo $out)"
# A join that fails (the container's /run/user/UID is a file now: root in the session made it so) leaves
# no directory behind that would tell the user's commands of sockets the container does not have.
"$ARKOSE" -c "$sid" --run-session -u root -- sh -c "umount -l /run/user/$UID_U2; rmdir /run/user/$UID_U2; touch /run/user/$UID_U2" 2>> "$T/err"
: > "$T/err"
expect_eq "a join that fails: the command runs, without agent or runtime directory" "none none" \
        "$(run2 "$AGENT2.new" 'echo ${SSH_AUTH_SOCK:-none} ${XDG_RUNTIME_DIR:-none}')"
check "... and says so" grep -q "run without a runtime directory of their own" "$T/err"
check "... and leaves no directory of the user's in the session's" test ! -e "$ARKOSE_STATE_DIR/sessions/$sid/runtime-$UID_U2"
"$ARKOSE" -c "$sid" --end-session; expect_eq "the session ends" 0 $?

# A team's persistent dev container, started by root: each member who joins gets their own agent.
printf '[chroot]\nsource = directory\ndirectory = %s\npersistent = yes\nprofile = dev\n' "$FIXTURE_TREE" > "$ARKOSE_CONFIG_DIR/chroots.d/team.conf"
(cd / && env -u SSH_AUTH_SOCK "$ARKOSE" start team > /dev/null 2>&1); expect_eq "root starts the team's container" 0 $?
# (The container has no ssh-add, and a persistent chroot's commands take no --bind: the socket is looked at.)
for who in "$U:$AGENT" "$U2:$AGENT2.new"; do
        IFS=: read -r u a <<< "$who"
        expect_eq "member $u's SSH_AUTH_SOCK in the team's container is their agent, a socket of theirs" \
                "/run/user/$(id -u "$u")/ssh-agent $u socket" \
                "$(cd / && SSH_AUTH_SOCK=$a "$ARKOSE" -u "$u" -c team -- sh -c 'echo $SSH_AUTH_SOCK $(stat -c "%U %F" $SSH_AUTH_SOCK)' 2>> "$T/err")"
done
"$ARKOSE" -c team-live --end-session; expect_eq "--end-session of the team's container" 0 $?
check "the user's agent is still there, and still holds the key" \
        sh -c "setpriv --reuid=$U --regid=$(id -g "$U") --init-groups env SSH_AUTH_SOCK=$AGENT ssh-add -l | grep -q '$FP'"
finish
