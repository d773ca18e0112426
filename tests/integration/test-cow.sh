#!/bin/bash
# Writes stay in the session: not in the cached tree, not in the next session. Results written to the
# bind-mounted directory land on the host, owned by the session user.
. "$(dirname "$0")/lib.sh"
use_fixture
before=$(cd "$FIXTURE_TREE" && find . -xdev -newer etc/debian_version -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum)
sum_before=$(md5sum "$FIXTURE_TREE/etc/passwd" | cut -d' ' -f1)

"$ARKOSE" -c fx -u root -- sh -c 'echo scribble > /etc/arktest; rm -f /etc/issue; echo x >> /etc/passwd'
expect_eq "write ran" 0 $?
check "the file written is not in the tree" test ! -e "$FIXTURE_TREE/etc/arktest"
check "the file removed is still in the tree" test -e "$FIXTURE_TREE/etc/issue"
expect_eq "the file appended to is unchanged in the tree" "$sum_before" "$(md5sum "$FIXTURE_TREE/etc/passwd" | cut -d' ' -f1)"
"$ARKOSE" -c fx -- test ! -e /etc/arktest; expect_eq "the next session does not see the write" 0 $?
after=$(cd "$FIXTURE_TREE" && find . -xdev -newer etc/debian_version -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum)
expect_eq "no file in the tree changed" "$before" "$after"

# A working directory that is, holds or is in the chroot's tree or the state directory is not bound (it
# was, writable, with rbind): the command starts in / and cannot reach the cached tree through it.
fxdir=$(realpath "$(dirname "$FIXTURE_TREE")")
out=$(cd "$fxdir" && "$ARKOSE" -c fx -u root -- sh -c 'pwd; touch "$0/arktest-cwd" 2>/dev/null && echo wrote' \
        "$FIXTURE_TREE" 2>"$T/cwd.err")
expect_eq "from a directory holding the tree, the command starts in / and cannot write the tree" "/" "$out"
check "... the tree has no such file" test ! -e "$FIXTURE_TREE/arktest-cwd"
rm -f "$FIXTURE_TREE/arktest-cwd"
check "... a notice says why" grep -q "Not binding '$fxdir' into the session: it holds the chroot's tree" "$T/cwd.err"
mkdir -p "$T/proj/state"
out=$(cd "$T/proj" && ARKOSE_STATE_DIR=$T/proj/state "$ARKOSE" -c fx -- sh -c 'pwd; ls "$0" >/dev/null 2>&1 || echo unreachable' \
        "$T/proj/state" 2>"$T/cwd.err")
expect_eq "from a directory holding the state directory, the same" "/ unreachable" "$(echo $out)"
check "... a notice says why" grep -q "Not binding '$T/proj' into the session: it holds arkose-chroot's state directory" "$T/cwd.err"
out=$(cd "$ARKOSE_STATE_DIR" && "$ARKOSE" -c fx -- sh -c 'pwd; ls "$0" >/dev/null 2>&1 || echo unreachable' \
        "$ARKOSE_STATE_DIR" 2>"$T/cwd.err")
expect_eq "from the state directory itself, the same" "/ unreachable" "$(echo $out)"
mkdir -p "$T/proj/src"
expect_eq "a directory beside the state directory is bound as before" "$T/proj/src" \
        "$(cd "$T/proj/src" && ARKOSE_STATE_DIR=$T/proj/state "$ARKOSE" -c fx -- pwd)"

# Results land on the host, owned by the user. A throw-away user made for this test.
user=arktest$$
add_test_user -M -d /nonexistent-arktest -s /bin/sh "$user" || skip "useradd failed"
work=$T/work; mkdir -p "$work"; chown "$user:" "$work"
cd "$work"
"$ARKOSE" -c fx -u "$user" -- sh -c 'id -un; echo built > result.txt'
expect_eq "the result landed on the host" "built" "$(cat "$work/result.txt" 2>/dev/null)"
expect_eq "the result is owned by the user" "$user" "$(stat -c %U "$work/result.txt" 2>/dev/null)"
expect_eq "the user is known by name inside" "$user" "$("$ARKOSE" -c fx -u "$user" -- id -un)"
expect_eq "sudo's SUDO_USER is the default user" "$user" "$(SUDO_USER=$user "$ARKOSE" -c fx -- id -un)"

# A Debian source tree: its parent is bound too, so dpkg-buildpackage's ../*.deb lands on the host.
mkdir -p "$work/pkg/debian" && touch "$work/pkg/debian/changelog" && chown -R "$user:" "$work/pkg"
( cd "$work/pkg" && "$ARKOSE" -c fx -u "$user" -- sh -c 'echo deb > ../fake.deb' )
check "../ of a source tree lands on the host" test -f "$work/fake.deb"
finish
