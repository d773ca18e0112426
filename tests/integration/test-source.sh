#!/bin/bash
# schroot's source chroots (-c source:NAME): the tree itself, changed as root. A command's (or a shell's)
# changes become a new version when it succeeds, and are thrown away when it fails; a source session
# (--begin-session) takes commands (--run-session), and --end-session publishes what they changed, unless
# the chroot got another version meanwhile. -l and -i list them, as sbuild-update looks them up.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture sx
cd "$T"
v1=$ARKOSE_STATE_DIR/trees/sx/1/rootfs
sum1=$(tree_sum "$v1")

# A command: its output is the command's alone (arkose-chroot's lines go to stderr), its changes a version.
out=$("$ARKOSE" -c source:sx -u root -- sh -c 'echo made > /etc/arksrc; cat /etc/arksrc' 2> "$T/one.err"); rc=$?
expect_eq "a command in source:sx: its status and its output only" "0 made" "$rc $out"
expect_eq "version 2 is current" 2 "$(current_of sx)"
check "a session of sx sees the change" "$ARKOSE" -c sx -- grep -qx made /etc/arksrc
check "stderr names the new version ($(tail -n 1 "$T/one.err"))" \
        grep -q "^Updated chroot 'sx': version 2 (a .* layer on version 1) is current" "$T/one.err"
check "info sx@2 says how it was made" sh -c "'$ARKOSE' info sx@2 | grep -Eq '^ +Method +source\$'"
expect_eq "version 1's tree is untouched" "$sum1" "$(tree_sum "$v1")"

# A failing command: its status, and nothing of it kept.
"$ARKOSE" -c source:sx -- sh -c 'touch /etc/arkfail; exit 5' 2> "$T/fail.err"; rc=$?
expect_eq "a failing command: its status" 5 "$rc"
expect_eq "no new version" 2 "$(current_of sx)"
check "its change is gone" not "$ARKOSE" -c sx -- test -e /etc/arkfail
check "and it says so ($(tail -n 1 "$T/fail.err"))" grep -q "its changes are discarded, version 2 of 'sx' stays current" "$T/fail.err"
check "no staging directory is left" no_staging_left sx

# What does not go with a source chroot: one line and 2 each, nothing made.
for args in "-u nobody" "--tmpfs" "--network none" "--isolate-network"; do
        # shellcheck disable=SC2086
        err=$("$ARKOSE" -c source:sx $args -- true 2>&1); rc=$?
        expect_eq "source:sx with $args: 2 and one line" "2 1" "$rc $(printf '%s\n' "$err" | wc -l)"
done
err=$("$ARKOSE" -c source:sx@1 -- true 2>&1); rc=$?
expect_eq "source:sx@1 is refused in one line" \
        "2 arkose-chroot: 'source:sx@1': a source chroot is the current version, without '@' ('rollback' makes another one current)" \
        "$rc $err"
err=$("$ARKOSE" -c source:sx --run-session -- true 2>&1); rc=$?
expect_eq "--run-session on source:sx: 2, the way to a source session" \
        "2 arkose-chroot: 'source:sx' is a chroot: --run-session and --end-session take the session id that -c source:sx --begin-session printed" \
        "$rc $err"
expect_eq "still version 2" 2 "$(current_of sx)"

# A shell on a terminal (schroot -c source:NAME -u root): what is typed there is kept when it exits 0.
if command -v script > /dev/null; then
        printf 'echo "shell=$0"; touch /etc/arkshell; exit 0\n' |
                script -eqc "'$ARKOSE' -c source:sx" /dev/null > "$T/shell.out" 2>&1; rc=$?
        expect_eq "a shell in source:sx exits 0" 0 "$rc"
        check "it is root's login shell ($(tr -d '\r' < "$T/shell.out" | grep shell= | tail -n 1))" grep -q "shell=-bash" "$T/shell.out"
        expect_eq "its change is version 3" 3 "$(current_of sx)"
        check "which has /etc/arkshell" "$ARKOSE" -c sx -- test -e /etc/arkshell
fi

# A source session, as sbuild-update uses one: begun, commands run in it as root, ended: a new version.
before=$(current_of sx)
sid=$("$ARKOSE" -c source:sx --begin-session -n "arksrc-$$"); rc=$?
expect_eq "--begin-session of source:sx prints its id" "0 arksrc-$$" "$rc $sid"
check "sessions lists it as a source session" sh -c "'$ARKOSE' sessions | awk '\$1 == \"$sid\" && \$5 == \"source\"' | grep -q ."
"$ARKOSE" -c "$sid" --run-session -u root -- sh -c 'echo one > /etc/arksess'
"$ARKOSE" -c "$sid" --run-session -u root -- sh -c 'echo two >> /etc/arksess; rm /etc/arksrc'
check "a session of sx does not see it yet" not "$ARKOSE" -c sx -- test -e /etc/arksess
"$ARKOSE" -c "$sid" --end-session 2> "$T/end.err"; rc=$?
expect_eq "--end-session publishes it" "0 $((before + 1))" "$rc $(current_of sx)"
expect_eq "with both commands' changes" "one
two" "$("$ARKOSE" -c sx -- cat /etc/arksess)"
check "and the removal (a whiteout in the layer)" not "$ARKOSE" -c sx -- test -e /etc/arksrc
check "info names the session" sh -c "'$ARKOSE' info sx | grep -Eq '^ +Session +$sid\$'"
check "the session is gone" test ! -e "$ARKOSE_STATE_DIR/sessions/$sid"

# apt-get clean deletes apt's cache of the package lists, which every session of the new version would then
# rebuild into its own upper directory (36 MB): the version gets it back, rebuilt once. In a command, and in
# a source session, as sbuild-update --clean cleans.
check "the tree has apt's cache" "$ARKOSE" -c sx -- test -f /var/cache/apt/srcpkgcache.bin
before=$(current_of sx)
"$ARKOSE" -c source:sx -- apt-get clean 2> "$T/clean.err"; rc=$?
expect_eq "apt-get clean in source:sx: a new version" "0 $((before + 1))" "$rc $(current_of sx)"
check "which has apt's cache again" "$ARKOSE" -c sx -- test -f /var/cache/apt/srcpkgcache.bin
sid=$("$ARKOSE" -c source:sx --begin-session)
"$ARKOSE" -c "$sid" --run-session -u root -- apt-get clean
"$ARKOSE" -c "$sid" --end-session 2> "$T/clean.err"
expect_eq "apt-get clean in a source session: a new version" "$((before + 2))" "$(current_of sx)"
check "which has apt's cache again" "$ARKOSE" -c sx -- test -f /var/cache/apt/srcpkgcache.bin
check "and a session that runs apt writes no cache into its upper" not "$ARKOSE" -c sx -u root -- sh -c \
        'apt-cache policy >/dev/null 2>&1; find /var/cache/apt -newer /proc/1 -name "*.bin" | grep -q .'

# A source session that changed nothing: no version.
before=$(current_of sx)
sid=$("$ARKOSE" -c source:sx --begin-session)
"$ARKOSE" -c "$sid" --run-session -u root -- true
"$ARKOSE" -c "$sid" --end-session 2> "$T/none.err"; rc=$?
expect_eq "an unchanged source session: no new version" "0 $before" "$rc $(current_of sx)"
check "and it says so ($(cat "$T/none.err"))" grep -q "changed nothing" "$T/none.err"

# Another version made while a source session ran: its changes are not published over it.
sid=$("$ARKOSE" -c source:sx --begin-session)
"$ARKOSE" -c "$sid" --run-session -u root -- touch /etc/arklate
"$ARKOSE" update sx --command 'touch /etc/arkother' > /dev/null 2>&1
after=$(current_of sx)
err=$("$ARKOSE" -c "$sid" --end-session 2>&1); rc=$?
check "--end-session after another update fails in one line ($err)" \
        test "$rc" != 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1
expect_eq "the other update's version stays current" "$after" "$(current_of sx)"
check "without the session's change" not "$ARKOSE" -c sx -- test -e /etc/arklate
check "the session is gone" test ! -e "$ARKOSE_STATE_DIR/sessions/$sid"

# schroot's listings: -l and -i without a selection show chroots and source chroots (sbuild-update finds
# 'source:NAME' in --info); a directory chroot has none.
use_fixture
expect_eq "-l --all-source-chroots" "source:sx" "$("$ARKOSE" -l --all-source-chroots | grep -E '^source:(sx|fx)$')"
check "-l lists chroot:sx and source:sx" sh -c "'$ARKOSE' -l | grep -qx chroot:sx && '$ARKOSE' -l | grep -qx source:sx"
check "-i has a Source block for sx" sh -c "'$ARKOSE' -i | grep -A1 -e '--- Source ---' | grep -Eq 'Name +sx\$'"
check "-i -c source:sx is that block" sh -c "'$ARKOSE' -i -c source:sx | head -1 | grep -q -e '--- Source ---'"
err=$("$ARKOSE" -c source:fx -- true 2>&1); rc=$?
check "source:fx of a directory chroot is refused ($err)" test "$rc" != 0

expect_eq "version 1's tree is still untouched" "$sum1" "$(tree_sum "$v1")"
check "no staging directory is left" no_staging_left sx
finish
