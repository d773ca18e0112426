#!/bin/bash
# Access control when arkose-chroot runs setuid root for users a definition names (schroot's users=,
# groups=, root-users=, root-groups=): every refusal, the sanitised environment and descriptors, and
# that what is granted works. Runs the real program, installed setuid root in the test directory, as a
# real unprivileged user created (and removed) by the test.
. "$(dirname "$0")/lib.sh"
use_fixture
SUID_BIN=${ARKOSE_SUIDTEST:?ARKOSE_SUIDTEST must point at arkose-chroot-suidtest}
SUID_DIR=${ARKOSE_SUIDTEST_DIR:?}
command -v useradd > /dev/null || skip "useradd is missing"

U=arkt$$; U2=arkt2$$
add_test_user -M -N -d /nonexistent -s /bin/sh "$U" || skip "cannot create a test user"
add_test_user -M -N -d /nonexistent -s /bin/sh "$U2" || skip "cannot create a test user"
groupadd "arkg$$"; usermod -a -G "arkg$$" "$U2"
# The setuid program's sessions live in its own state directory, not the test's: a check that failed may
# have left one running there (its container, its overlay), which goes before the directory does.
cleanup_suid_dir() {
        local c
        for c in $(ls "$SUID_DIR/state/lxc" 2>/dev/null); do
                lxc-stop -P "$SUID_DIR/state/lxc" -n "$c" -k 2>/dev/null
        done
        findmnt -rn -o TARGET | awk -v t="$SUID_DIR/" 'index($0, t) == 1' | sort -r | while read -r m; do
                umount -l "$m" 2>/dev/null
        done
        rm -rf --one-file-system "$SUID_DIR" "/run/lxc/lock$SUID_DIR"
}
EXTRA_CLEANUP="$EXTRA_CLEANUP; groupdel arkg$$ 2>/dev/null; cleanup_suid_dir"

# The setuid program's compiled-in directories: this test's own, under the build tree.
rm -rf --one-file-system "$SUID_DIR"
mkdir -p "$SUID_DIR/etc/chroots.d" "$SUID_DIR/state"
# The users below run one-shot commands through su, which clears ARKOSE_SPARE_SESSIONS (lib.sh): no spare
# sessions in this state either (test-spare.sh tests them).
printf '[main]\nspare-sessions = no\n' > "$SUID_DIR/etc/arkose.conf"
chmod 755 "$T"
mkdir -p "$T/bin" "$T/work"; chmod 777 "$T/work"
install -o root -g root -m 4755 "$SUID_BIN" "$T/bin/arkose-chroot"
# This build's arkose-init next to it (found there before an installed one, which may be older).
install -o root -g root -m 755 "$(dirname "$ARKOSE")/arkose-init" "$T/bin/arkose-init"
A=$T/bin/arkose-chroot
def() { printf '[chroot]\nsource = directory\ndirectory = %s\n%s\n' "$FIXTURE_TREE" "$2" > "$SUID_DIR/etc/chroots.d/$1.conf"; }
def open "users = $U"
def bygroup "groups = arkg$$"
def rooted "root-users = $U"
def closed ""
def gui "users = $U
profile = desktop"
as() { local who=$1; shift; (cd "$T/work" && runuser -u "$who" -- "$@"); }

# (stderr apart: the first session says once that this kernel has no AppArmor)
expect_eq "a granted user runs as itself" "$U" "$(as "$U" "$A" -c open -- id -un 2>>"$T/err")"
expect_eq "groups= grants through a group" "$U2" "$(as "$U2" "$A" -c bygroup -- id -un 2>>"$T/err")"
# The granting group is not in the chroot: the session names it as the host does (schroot copies the host's
# group database), and what the user makes in the working directory shows it.
expect_eq "a host group the chroot lacks is named in the session" "arkg$$" \
        "$(as "$U2" "$A" -c bygroup -- id -Gn 2>>"$T/err" | tr ' ' '\n' | grep -x "arkg$$")"
expect_eq "root-users= may run as root" 0 "$(as "$U" "$A" -c rooted -u root -- id -u 2>>"$T/err")"
check "root-users= may use --network host" as "$U" "$A" -c rooted --network host -- true
check "results land in the working directory, owned by the user" \
        sh -c "cd '$T/work' && runuser -u '$U' -- '$A' -c open -- touch made-by-user && [ \"\$(stat -c %U '$T/work/made-by-user')\" = '$U' ]"

refused() {     # refused DESCRIPTION PATTERN USER COMMAND...
        local what=$1 pat=$2 who=$3; shift 3
        local err rc
        err=$(as "$who" "$@" 2>&1 >/dev/null); rc=$?
        if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && printf '%s' "$err" | grep -qi -- "$pat"; then
                echo "ok - $what: $err"
        else
                echo "not ok - $what (rc=$rc): $err"; FAILS=$((FAILS + 1))
        fi
}
refused "a chroot that grants nothing" "may not use chroot 'closed'" "$U" "$A" -c closed -- true
refused "--profile without root-users=" "may not use --profile in" "$U" "$A" -c open --profile dev -- true
refused "a chroot granted to someone else" "may not use chroot 'open'" "$U2" "$A" -c open -- true
refused "-u root without root-users=" "may not run commands as 'root'" "$U" "$A" -c open -u root -- true
refused "-u another user without root-users=" "may not run commands as '$U2'" "$U" "$A" -c open -u "$U2" -- true
refused "--network host without root-users=" "may not use --network in" "$U" "$A" -c open --network host -- true
refused "--bind without root-users=" "may not use --bind in" "$U" "$A" -c open --bind /etc:/mnt -- true
refused "a directory the user cannot read" "cannot use directory" "$U" "$A" -c open -d /root -- true
refused "--state-dir" "for root only" "$U" "$A" --state-dir "$T/evil" -c open -- true
refused "--config-dir" "for root only" "$U" "$A" --config-dir "$T/evil" -c open -- true
for verb in "create open" "update open" "remove open" "gc" "import x /dev/null" "export open $T/work/x.tar" "rollback open" "squash open"; do
        refused "'$verb'" "for root only" "$U" "$A" $verb
done
check "nothing was created where the refused options pointed" test ! -e "$T/evil"
# A source chroot (-c source:NAME) changes the tree: root's, as update is, even for root-users=.
mkdir -p "$SUID_DIR/state/trees/vopen"
cp -al "$SHARED/state/trees/fixture/1" "$SUID_DIR/state/trees/vopen/1" && ln -s 1 "$SUID_DIR/state/trees/vopen/current"
printf '[chroot]\nsuite = bookworm\nvariant = minbase\nusers = %s\nroot-users = %s\n' "$U" "$U" \
        > "$SUID_DIR/etc/chroots.d/vopen.conf"
refused "-c source:NAME by a root-user" "for root only" "$U" "$A" -c source:vopen -u root -- touch /etc/arkroot
refused "-c source:NAME --begin-session by a root-user" "for root only" "$U" "$A" -c source:vopen --begin-session
check "no version was made" test "$(readlink "$SUID_DIR/state/trees/vopen/current")" = 1 -a ! -e "$SUID_DIR/state/trees/vopen/2"
rm -rf --one-file-system "$SUID_DIR/etc/chroots.d/vopen.conf" "$SUID_DIR/state/trees/vopen"

# The environment: ARKOSE_* and anything not on the short list are dropped, even with -p.
out=$(cd "$T/work" && ARKOSE_CONFIG_DIR="$T/evil" ARKOSE_STATE_DIR="$T/evil" FOO=bar LD_LIBRARY_PATH=/tmp \
        runuser -u "$U" -- "$A" -p -c open -- sh -c 'echo "FOO=$FOO LD=$LD_LIBRARY_PATH STATE=$ARKOSE_STATE_DIR"' 2>&1)
expect_eq "with -p the caller's variables are still filtered" "FOO= LD= STATE=" "$out"
check "ARKOSE_* variables were ignored (nothing made in $T/evil)" test ! -e "$T/evil"
out=$(cd "$T/work" && LANG=C.UTF-8 DEB_BUILD_OPTIONS=nocheck runuser -u "$U" -- "$A" -c open -- sh -c 'echo "$LANG $DEB_BUILD_OPTIONS"')
expect_eq "harmless variables pass" "C.UTF-8 nocheck" "$out"
# The setuid program works with umask 022 itself; the command gets the caller's (a team's 002).
expect_eq "the caller's umask reaches the command" 0002 \
        "$(cd "$T/work" && runuser -u "$U" -- sh -c "umask 002; '$A' -c open -- sh -c umask" 2>>"$T/err")"
# X cookies (a profile keeping XAUTHORITY) are read with the caller's own rights: a file the user cannot
# read is not copied into the session, one it can is.
err=$(cd "$T/work" && XAUTHORITY=/etc/shadow runuser -u "$U" -- "$A" -c gui -- sh -c 'test ! -e /run/arkose/Xauthority' 2>&1 >/dev/null
        echo "rc=$?")
check "XAUTHORITY=/etc/shadow: one notice, nothing copied ($(printf '%s' "$err" | grep -e shadow -e rc=))" \
        sh -c "printf '%s' \"\$1\" | grep -q \"X authority file '/etc/shadow' (Permission denied)\" && printf '%s' \"\$1\" | grep -qx rc=0" - "$err"
printf '\001\000\000\002vm\000\0010\000\022MIT-MAGIC-COOKIE-1\000\0010' > "$T/work/cookie"; chown "$U" "$T/work/cookie"; chmod 600 "$T/work/cookie"
out=$(cd "$T/work" && XAUTHORITY="$T/work/cookie" runuser -u "$U" -- "$A" -c gui -- sh -c 'stat -c %U /run/arkose/Xauthority' 2>>"$T/err")
expect_eq "a cookie file the user can read reaches the session, the user's" "$U" "$out"
# Inherited descriptors are closed.
out=$(cd "$T/work" && runuser -u "$U" -- sh -c "exec 7</etc/hostname; '$A' -c open -- sh -c 'ls /proc/self/fd | tr \"\\n\" \" \"'")
check "an inherited fd 7 does not reach the session ($out)" sh -c "! printf '%s' '$out' | grep -qw 7"

# Another user's session: neither run in nor ended by a user who is not root.
# (root honours ARKOSE_* variables: drop the test's, so that root uses the program's own directories)
rootA() { env -u ARKOSE_CONFIG_DIR -u ARKOSE_STATE_DIR -u ARKOSE_DATA_DIR -u ARKOSE_HOOKS_DIR "$A" "$@"; }
sid=$(cd "$T/work" && rootA -c open --begin-session 2>"$T/begin.err") || cat "$T/begin.err"
check "root began a session ($sid)" test -n "$sid"
refused "--run-session in another user's session" "may not use session '$sid': it belongs to another user" "$U" "$A" -c "$sid" --run-session -- true
refused "--end-session of another user's session" "may not use session '$sid': it belongs to another user" "$U" "$A" -c "$sid" --end-session
rootA -c "$sid" --end-session; expect_eq "root ends it" 0 $?

# A granted user's own detached session: its commands go through the session's command socket (children
# of the container's init: PPid 1), as the user; the socket itself is root's only.
usid=$(as "$U" "$A" -c open --begin-session 2>>"$T/err")
check "a granted user began a session ($usid)" test -n "$usid"
expect_eq "... with the caller's umask" 0027 "$(as "$U" sh -c "umask 027; '$A' -c '$usid' --run-session -- sh -c umask" 2>>"$T/err")"
expect_eq "--run-session in it runs as the user, through the socket" "$U 1" \
        "$(as "$U" "$A" -c "$usid" --run-session -- sh -c 'echo $(id -un) $(sed -n "s/^PPid:\t//p" /proc/$$/status)' 2>>"$T/err")"
rundir=$SUID_DIR/state/sessions/$usid/run
expect_eq "the run directory is root's, mode 700" "root 700" "$(stat -c '%U %a' "$rundir")"
expect_eq "the socket is root's, mode 600" "root 600 socket" "$(stat -c '%U %a %F' "$rundir/init.sock")"
check "the user cannot reach the socket" not runuser -u "$U" -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])' "$rundir/init.sock"
refused "--run-session in another user's detached session" "may not use session '$usid': it belongs to another user" "$U2" "$A" -c "$usid" --run-session -- true
as "$U" "$A" -c "$usid" --end-session; expect_eq "the user ends it" 0 $?

check "the fixture tree is intact" test -x "$FIXTURE_TREE/bin/sh"
check "no session left in the setuid program's state" sh -c "[ -z \"\$(ls -A '$SUID_DIR/state/sessions' 2>/dev/null)\" ]"
check "no mounts left in the setuid program's state" sh -c "! findmnt -rn -o TARGET | grep -q '^$SUID_DIR'"
finish
