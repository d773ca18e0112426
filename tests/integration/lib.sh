# Shared set-up for integration tests: sourced by each test-*.sh.
# Each test gets its own state and config directory under a fresh temporary directory, and a trap
# that undoes everything the test made even when it fails: processes it started (by PID), containers in
# its own lxcpath (by name), mounts below that directory only (deepest first), then the directory itself.
set -u

ARKOSE=${ARKOSE:?ARKOSE must point at the arkose-chroot binary}
SRC=${ARKOSE_SRC:?ARKOSE_SRC must point at the source tree}
SHARED=${ARKOSE_SHARED:?ARKOSE_SHARED must point at the shared fixture directory}

skip() {
        echo "SKIP: $*"
        if [ "${ARK_TESTS_MUST_RUN:-0}" = 1 ]; then
                echo "FAIL: ARK_TESTS_MUST_RUN=1 and the test would be skipped"
                exit 1
        fi
        exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root"

T=$(mktemp -d /tmp/arktest-XXXXXX)
# The state directory beside $T, not in it: tests run commands from $T, and a working directory that holds
# the state directory is not bound into sessions (cmd/arkose-chroot-session.c, plan_binds()).
T_STATE=$T.state
PIDS=""
GROUPS_SPAWNED=""      # process groups of spawn_as(): each ended whole
EXTRA_CLEANUP=""        # shell code the trap runs after killing PIDS (e.g. userdel of a test user)
LEAKED=0
cleanup() {
        local rc=$?
        # A failed test's diagnostics: the standard error of its commands that it kept in $T/err or
        # $T/*.err, which would go with the directory.
        if [ "$rc" != 0 ] || [ "${FAILS:-0}" != 0 ]; then
                for f in "$T/err" "$T"/*.err; do
                        [ -s "$f" ] || continue
                        echo "# last lines of ${f#"$T"/}:"
                        tail -n 15 "$f" | sed 's/^/#   /'
                done
        fi
        for g in $GROUPS_SPAWNED; do kill -9 -- "-$g" 2>/dev/null; done
        for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
        # Detached sessions (--begin-session) outlive arkose-chroot: stop our own containers, by name in our
        # own lxcpath.
        for c in $(ls "$T_STATE/lxc" 2>/dev/null); do
                lxc-stop -P "$T_STATE/lxc" -n "$c" -k 2>/dev/null
        done
        eval "${EXTRA_CLEANUP:-:}"
        # Deepest mount first; only below our own directories ($T and $T.state).
        findmnt -rn -o TARGET | awk -v t="$T" 'index($0, t) == 1' | sort -r | while read -r m; do
                umount -l "$m" 2>/dev/null
        done
        rm -rf --one-file-system "$T" "$T_STATE"
        # liblxc's lock directories for our lxcpaths (/run/lxc/lock/tmp/arktest-XXXXXX[.state]/...): ours only.
        case "$T" in /tmp/arktest-??????) rm -rf --one-file-system "/run/lxc/lock$T" "/run/lxc/lock$T_STATE" ;; esac
        [ "$LEAKED" = 0 ] || [ "$rc" != 0 ] || rc=1
        exit $rc
}
trap cleanup EXIT

export ARKOSE_STATE_DIR=$T_STATE
export ARKOSE_CONFIG_DIR=$T/etc
export ARKOSE_DATA_DIR=$SRC
export ARKOSE_HOOKS_DIR=$SRC/hooks
# No spare sessions (lib/spare.h) unless a test asks: a spare outlives the command that left it, and each
# test checks that nothing outlives it. test-spare.sh tests them.
export ARKOSE_SPARE_SESSIONS=0
mkdir -p "$ARKOSE_STATE_DIR" "$ARKOSE_CONFIG_DIR/chroots.d" "$ARKOSE_CONFIG_DIR/hooks.d"

# The shared minbase tree made once by the "create" fixture, used here as a directory chroot.
FIXTURE_TREE=$SHARED/state/trees/fixture/1/rootfs
use_fixture() {
        [ -d "$FIXTURE_TREE/etc" ] || skip "the shared fixture tree is missing (setup failed?)"
        cat > "$ARKOSE_CONFIG_DIR/chroots.d/fx.conf" <<EOT
[chroot]
description = shared minbase fixture
source = directory
directory = $FIXTURE_TREE
EOT
}

# A user of the test's own: the trap ends every process it still has, then removes it (userdel refuses a user
# with processes, so a leak would leave both).
add_test_user() {       # add_test_user USERADD-ARGUMENT... NAME
        local name=${!#} uid
        useradd "$@" || return 1
        uid=$(id -u "$name")
        EXTRA_CLEANUP="end_user_processes $uid; userdel $name 2>/dev/null${EXTRA_CLEANUP:+; $EXTRA_CLEANUP}"
}
# Runs in the trap, after what the test started (PIDS, spawn_as()'s groups, containers) was ended: a process
# the user still has then is a leak, which fails the test, and is ended too (only a test user's own).
end_user_processes() {  # end_user_processes UID
        local _
        for _ in $(seq 20); do pgrep -u "$1" > /dev/null || return 0; sleep 0.1; done
        echo "not ok - processes of test user $1 outlived the test: $(pgrep -a -u "$1" | head -n 5 | tr '\n' ';')"
        LEAKED=1
        pkill -KILL -u "$1" 2>/dev/null
        for _ in $(seq 50); do pgrep -u "$1" > /dev/null || return 0; sleep 0.1; done
}
# COMMAND as USER in the background, in a process group of its own which the trap ends whole (a server's
# helpers too); its PID (setsid and setpriv exec: the command's own) in SPAWNED. (A shell function put in
# the background runs in a subshell of its own: its $! would be that subshell's, and the command would
# outlive the test.)
spawn_as() {    # spawn_as USER COMMAND...
        local u=$1
        shift
        setsid setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@" &
        SPAWNED=$!
        GROUPS_SPAWNED="$GROUPS_SPAWNED $SPAWNED"
}

# Host programs for a session whose tree lacks them: each, and the libraries it needs but libc, copied to
# $T/x, for --bind "$T/x:/opt/x:ro" and LD_LIBRARY_PATH=/opt/x inside.
host_clients() {        # host_clients PROGRAM...
        local b
        mkdir -p "$T/x"
        for b in "$@"; do
                cp "$(command -v "$b")" "$T/x/"
                ldd "$(command -v "$b")" | awk '$3 ~ /^\// {print $3}' | grep -v -e '/libc\.so' -e '/ld-linux' |
                        xargs -r cp -L -t "$T/x/"
        done
}

FAILS=0
check() {       # check DESCRIPTION COMMAND...
        local what=$1; shift
        if "$@"; then echo "ok - $what"; else echo "not ok - $what"; FAILS=$((FAILS + 1)); fi
}
expect_eq() {   # expect_eq DESCRIPTION EXPECTED ACTUAL
        if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected '$2', got '$3'"; FAILS=$((FAILS + 1)); fi
}
no_mounts_left() {
        ! findmnt -rn -o TARGET | grep -q "^$T"
}
containers_left_now() {
        [ -n "$(ls -A "$ARKOSE_STATE_DIR/lxc" 2>/dev/null)" ] || [ -n "$(ls -A "$ARKOSE_STATE_DIR/sessions" 2>/dev/null)" ] ||
                pgrep -f "lxc monitor.*$ARKOSE_STATE_DIR" >/dev/null
}
# A monitor whose container was just killed takes a moment to exit on a loaded machine: a leak is what is
# still there after 5 s.
no_containers_left() {
        for i in $(seq 50); do containers_left_now || return 0; sleep 0.1; done
        ls -A "$ARKOSE_STATE_DIR/lxc" "$ARKOSE_STATE_DIR/sessions" 2>/dev/null | head -n 5
        pgrep -af "lxc monitor.*$ARKOSE_STATE_DIR" | head -n 3
        return 1
}
finish() {
        check "no mounts left below the test directory" no_mounts_left
        check "no session directories, containers or monitors left" no_containers_left
        if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
        exit 0
}

# The nftables tables and host veths still there of filtered-network sessions of our state directory. The
# host's claims of filtered-network links (/run/arkose/net/SLOT, lib/session-profile.c) name each one's
# state directory and session; other state directories' sessions (other tests, other users) are not ours.
net_leftovers() {
        local c id short
        for c in /run/arkose/net/[0-9]*; do
                [ -f "$c" ] || continue
                id=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["session"] if d.get("state_dir") == sys.argv[2] else "")' \
                        "$c" "$ARKOSE_STATE_DIR" 2>/dev/null)
                [ -n "$id" ] || continue
                short=${id##*-}
                nft list tables 2>/dev/null | grep -qw "arkose-$short" && echo "table arkose-$short"
                ip -o link 2>/dev/null | grep -q " ark-$short[@:]" && echo "veth ark-$short"
        done
        return 0
}
no_net_leftovers() { [ -z "$(net_leftovers)" ]; }

# A versioned chroot NAME whose version 1 is the shared fixture tree, hard-linked (instant, and safe:
# published versions are only ever overlay lower layers, never written).
use_versioned_fixture() {
        local name=$1 fx=$SHARED/state/trees/fixture/1
        [ -d "$fx/rootfs/etc" ] || skip "the shared fixture tree is missing (setup failed?)"
        printf '[chroot]\nsuite = bookworm\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/$name.conf"
        mkdir -p "$ARKOSE_STATE_DIR/trees/$name"
        cp -al "$fx" "$ARKOSE_STATE_DIR/trees/$name/1"
        ln -s 1 "$ARKOSE_STATE_DIR/trees/$name/current"
}
# use_build_fixture NAME: a versioned chroot NAME = the build fixture (setup-build-fixture.sh: the minbase tree
# and a layer with build-essential and fakeroot), hard-linked. Needs the ctest fixture "buildtree".
use_build_fixture() {
        local fx=$SHARED/build/state/trees/buildfx
        [ -d "$fx/2/layer" ] || skip "the build fixture is missing (setup-build-fixture failed?)"
        printf '[chroot]\nsuite = bookworm\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/$1.conf"
        mkdir -p "$ARKOSE_STATE_DIR/trees"
        cp -al "$fx" "$ARKOSE_STATE_DIR/trees/$1"
}
current_of() { readlink "$ARKOSE_STATE_DIR/trees/$1/current"; }
no_staging_left() { [ -z "$(ls -A "$ARKOSE_STATE_DIR/trees/$1" 2>/dev/null | grep -E '^\.(staging|removing)-')" ]; }

# Sessions that last (--begin-session): helpers for the session tests.
# wait_stopped PID: waits until PID has stopped itself (ARKOSE_TEST_PAUSE_AT=POINT makes arkose-chroot
# raise SIGSTOP at POINT), so that a test can SIGKILL it at exactly that point.
wait_stopped() {
        local i s
        for i in $(seq 400); do
                s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
                [ "$s" = T ] && return 0
                sleep 0.025
        done
        return 1
}
# record_field ID KEY: a field of session ID's record.
record_field() {
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
                "$ARKOSE_STATE_DIR/sessions/$1/session.json" "$2"
}
# mounts_below DIR: the mount points at or below DIR, one a line.
mounts_below() {
        findmnt -rn -o TARGET | awk -v t="$1" 'index($0, t) == 1'
}
# not COMMAND...: succeeds when COMMAND fails (for check).
not() { ! "$@"; }
# monitor_running ID: whether an LXC monitor runs for container ID in our lxcpath.
monitor_running() {
        pgrep -f "^\[lxc monitor\] $ARKOSE_STATE_DIR/lxc $1\$" >/dev/null
}
# tree_sum DIR: a digest of the names, sizes and times of the files below DIR.
tree_sum() {
        (cd "$1" && find . -xdev -printf '%p %s %T@ %m\n' | sort | md5sum | cut -d' ' -f1)
}
