#!/bin/bash
# Bad input gets one clear line and a non-zero exit, and changes nothing.
. "$(dirname "$0")/lib.sh"
use_fixture

one_line_error() {      # one_line_error DESCRIPTION PATTERN COMMAND...
        local what=$1 pat=$2; shift 2
        local err rc
        err=$("$@" 2>&1 >/dev/null); rc=$?
        if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && printf '%s' "$err" | grep -qi -- "$pat"; then
                echo "ok - $what: $err"
        else
                echo "not ok - $what (rc=$rc): $err"; FAILS=$((FAILS + 1))
        fi
}
one_line_error "unknown chroot" "no chroot named" "$ARKOSE" -c nosuch -- true
one_line_error "empty name" "invalid chroot name" "$ARKOSE" -c "" -- true
one_line_error "dot-dot name" "invalid chroot name" "$ARKOSE" -c .. -- true
one_line_error "slash in name" "invalid chroot name" "$ARKOSE" create a/b
one_line_error "control character" "invalid chroot name" "$ARKOSE" create "$(printf 'a\001b')"
one_line_error "over-long name" "invalid chroot name" "$ARKOSE" create "$(printf 'x%.0s' $(seq 100))"
one_line_error "bad version" "invalid version" "$ARKOSE" -c fx@abc -- true
one_line_error "not created yet" "has not been created" "$ARKOSE" -c bookworm -- true
one_line_error "--bind of a path the host does not have" "'$T/nothing' is not there on the host" \
        "$ARKOSE" -c fx --bind "$T/nothing:/x" -- true
one_line_error "--bind with a relative path" "invalid --bind" "$ARKOSE" -c fx --bind "relative:/x" -- true
# A profile's mount of a host path that is not there: the session does not start, and the line names the path
# (it said "No such file or directory" only); with "-" the mount is left out, with a notice, and the session
# runs (the desktop profile's X11 directory, missing where no X server ran since the machine booted).
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
printf '[mounts]
bind = %s/nothing:/srv/x:ro
' "$T" > "$ARKOSE_CONFIG_DIR/profiles.d/needs.conf"
one_line_error "a profile's bind of a missing host path" "profile 'needs' mounts '$T/nothing', which is not there on this host" \
        "$ARKOSE" -c fx --profile needs -- true
printf '[mounts]
bind = -%s/nothing:/srv/x:ro -%s/there:/srv/y:ro
cow = -%s/nothing-either
' "$T" "$T" "$T" \
        > "$ARKOSE_CONFIG_DIR/profiles.d/maybe.conf"
mkdir -p "$T/there"; echo here > "$T/there/f"
out=$("$ARKOSE" -c fx --profile maybe -- sh -c 'cat /srv/y/f; test -e /srv/x || echo no-x' 2>"$T/maybe.err"); rc=$?
expect_eq "optional binds: the one that is there is bound, the missing one left out (status $rc)" "here no-x" "$(echo $out)"
check "... with a notice for each missing one" \
        sh -c "grep -q \"'$T/nothing' is not there on this host, left out\" '$T/maybe.err' && grep -q \"'$T/nothing-either' is not there\" '$T/maybe.err'"
out=$("$ARKOSE" -c fx --bind "-$T/nothing:/srv/z" -- sh -c 'test -e /srv/z || echo no-z' 2>/dev/null)
expect_eq "--bind -HOST of a missing path: left out, the command runs" "no-z" "$out"
# A cow mount that is there: the host directory seen writable, what is written staying in the session.
printf '[mounts]\ncow = -%s/there:/srv/c\n' "$T" > "$ARKOSE_CONFIG_DIR/profiles.d/cowed.conf"
out=$("$ARKOSE" -u root -c fx --profile cowed -- sh -c 'cat /srv/c/f && echo new > /srv/c/g && cat /srv/c/g' 2>/dev/null)
expect_eq "a cow mount shows the host directory and takes writes" "here new" "$(echo $out)"
check "... which do not reach the host" test ! -e "$T/there/g"
one_line_error "unknown network mode" "unknown network mode" "$ARKOSE" -c fx --network sideways -- true
check "nothing was written for the bad names" test -z "$(ls -A "$ARKOSE_STATE_DIR/trees" 2>/dev/null | grep -v '\.\(lock\|use\)$' | grep -v '^bookworm')"

printf '[chroot]\nsuite = bookworm\nbogus-key = 1\n' > "$ARKOSE_CONFIG_DIR/chroots.d/broken.conf"
one_line_error "malformed definition names file and line, and what is wrong" "broken.conf:3: unknown key 'bogus-key' in \[chroot\]" \
        "$ARKOSE" create broken
printf '[chroot]\nsuite = bookworm\nvariant = huge\n' > "$ARKOSE_CONFIG_DIR/chroots.d/broken.conf"
one_line_error "a bad value is named with its key" "broken.conf:3: invalid value 'huge' for 'variant'" "$ARKOSE" create broken
printf '[main]\nnot a key\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
one_line_error "malformed main config" "arkose.conf:2: not a 'key = value' line" "$ARKOSE" list
rm -f "$ARKOSE_CONFIG_DIR/arkose.conf"

# A failing hook aborts the session start cleanly.
printf '#!/bin/sh\n[ "$1" = setup-start ] && exit 3\nexit 0\n' > "$ARKOSE_CONFIG_DIR/hooks.d/50-fail"
chmod +x "$ARKOSE_CONFIG_DIR/hooks.d/50-fail"
one_line_error "a failing hook aborts the start" "50-fail" "$ARKOSE" -c fx -- echo should-not-run
rm -f "$ARKOSE_CONFIG_DIR/hooks.d/50-fail"

# create with a suite the mirror does not have: one line, no half tree.
printf '[chroot]\nsuite = no-such-suite\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/badsuite.conf"
one_line_error "bad suite" "debootstrap failed" "$ARKOSE" create badsuite
check "no version of badsuite" test ! -e "$ARKOSE_STATE_DIR/trees/badsuite/current"
check "no staging left for badsuite" test -z "$(ls -A "$ARKOSE_STATE_DIR/trees/badsuite" 2>/dev/null | grep staging)"
# An unreachable mirror (nothing listens on this loopback port).
printf '[chroot]\nsuite = bookworm\nvariant = minbase\nmirror = http://127.0.0.1:9/debian\n' > "$ARKOSE_CONFIG_DIR/chroots.d/nomirror.conf"
one_line_error "unreachable mirror" "debootstrap failed" "$ARKOSE" create nomirror
check "no version of nomirror" test ! -e "$ARKOSE_STATE_DIR/trees/nomirror/current"
# Ctrl-C (SIGINT) in the middle of a create: no half tree, one line.
printf '[chroot]\nsuite = bookworm\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/interrupted.conf"
"$ARKOSE" create interrupted > /dev/null 2> "$T/int.err" &
pid=$!; PIDS="$PIDS $pid"
sleep 4
kill -INT $pid; wait $pid; rc=$?
check "interrupted create exits non-zero ($rc)" test "$rc" -ne 0
check "interrupted create says so in one line: $(cat "$T/int.err" | tail -n 1)" grep -q "interrupted" "$T/int.err"
check "no version of the interrupted chroot" test ! -e "$ARKOSE_STATE_DIR/trees/interrupted/current"
check "no staging left after the interrupt" test -z "$(ls -A "$ARKOSE_STATE_DIR/trees/interrupted" 2>/dev/null | grep staging)"
check "the fixture tree is intact" test -x "$FIXTURE_TREE/bin/sh"
finish
