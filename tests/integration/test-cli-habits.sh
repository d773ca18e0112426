#!/bin/bash
# What a schroot user types on the first day, and what schroot would have said: a missing program on a
# terminal, a login shell the chroot lacks, sbuild's -d DIST given to build, a command run from /etc,
# schroot's -e --all-sessions, --run-session from a directory the session lacks,
# a mistyped option, schroot's -V, a mistyped chroot name, create of a name with no definition,
# schroot's SCHROOT_* variables.
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"
command -v script > /dev/null || skip "script (bsdutils) is missing"
command -v useradd > /dev/null || skip "useradd is missing"

# A program that does not exist, run on a terminal (attached, on a pty of the container's): a shell's 127, and one
# line saying why (liblxc wrote it to the container's log only).
script -eqc "'$ARKOSE' -c fx -- no-such-program-arktest" /dev/null > "$T/tty.out" 2>&1; rc=$?
expect_eq "a missing program on a terminal gives 127" 127 "$rc"
check "and says so ($(tr -d '\r' < "$T/tty.out"))" grep -q "Failed to run 'no-such-program-arktest': No such file or directory" "$T/tty.out"

# A user whose login shell the chroot does not have (zsh on the host, not in a minbase tree): /bin/sh instead,
# with a warning, as schroot does ("Falling back to shell"), not an exit status 127 and nothing said.
U=arksh$$
add_test_user -M -N -d /nonexistent -s /bin/arktest-no-such-shell "$U" || skip "cannot create a test user"
out=$(printf 'echo "shell=$0"; exit 6\n' | "$ARKOSE" -c fx -u "$U" 2> "$T/sh.err"); rc=$?
expect_eq "a login shell missing in the chroot: /bin/sh runs instead" "shell=-sh" "$out"
expect_eq "and its exit status is the session's" 6 "$rc"
check "with a warning naming the missing shell ($(cat "$T/sh.err"))" \
        grep -q "Shell '/bin/arktest-no-such-shell' is not in the session, using '/bin/sh'" "$T/sh.err"

# Run from a directory the chroot has files in (/etc, /usr, /var/lib), the session is the chroot's, as with
# schroot: that directory is not the host's bound over it (the host's /etc, writable, under a root command).
for d in /etc /usr /var/lib; do
        out=$(cd "$d" && "$ARKOSE" -c fx -- sh -c 'pwd; awk -v d="$PWD" '"'"'$5 == d'"'"' /proc/self/mountinfo | wc -l')
        expect_eq "run from $d: it starts in the chroot's $d, with nothing bound there" "$d
0" "$out"
done
# ... but a home directory (dotfiles only, in the tree) is still bound, as a directory the tree lacks is.
out=$(cd /root && "$ARKOSE" -c fx -- sh -c 'awk -v d="$PWD" '"'"'$5 == d'"'"' /proc/self/mountinfo | wc -l')
expect_eq "run from /root: the caller's /root is bound" 1 "$out"

# sbuild's -d DIST names the chroot of a build (it was taken for a working directory, which a build has
# none of, and ignored: the changelog's distribution was used instead).
use_versioned_fixture bw
mkdir -p "$T/src" "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/src/"
sed -i '1s/ bookworm;/ UNRELEASED;/' "$T/src/test-pkg/debian/changelog"
err=$("$ARKOSE" build -d no-such-dist --output "$T/out" "$T/src/test-pkg" 2>&1); rc=$?
case $err in *"No chroot named 'no-such-dist'"*) said=yes ;; *) said=no ;; esac
check "build -d DIST looks DIST up ($err)" test "$rc" -ne 0 -a "$said" = yes
"$ARKOSE" build -d bw --pre-build-commands 'echo pre-build-ran; exit 3' --output "$T/out" "$T/src/test-pkg" \
        > "$T/build.out" 2>&1; rc=$?
check "build -d bw of an UNRELEASED source picks bw: its first hook ran ($(tail -n 1 "$T/build.out"))" \
        sh -c '[ "$1" -ne 0 ] && grep -qs pre-build-ran "$2" "$3"/*.build' sh "$rc" "$T/build.out" "$T/out"

# schroot --end-session --all-sessions ends every session (it needed -c), but a persistent chroot's shared
# container, whose changes its users keep ('stop' keeps them, --end-session would discard them).
printf '[chroot]\nsource = directory\ndirectory = %s\npersistent = yes\n' "$FIXTURE_TREE" \
        > "$ARKOSE_CONFIG_DIR/chroots.d/pd.conf"
"$ARKOSE" start pd > /dev/null
s1=$("$ARKOSE" -c fx --begin-session) && s2=$("$ARKOSE" -c fx --begin-session)
expect_eq "two sessions begun, and the persistent one" "$(printf 'session:%s\n' "$s1" "$s2" pd-live | sort)" \
        "$("$ARKOSE" -l --all-sessions | sort)"
"$ARKOSE" --end-session --all-sessions; rc=$?
expect_eq "--end-session --all-sessions succeeds" 0 "$rc"
expect_eq "and no session is left but the persistent chroot's" "session:pd-live" "$("$ARKOSE" -l --all-sessions)"
"$ARKOSE" -c pd-live --end-session

# --run-session from a directory the session does not have runs in '/', and says so, as schroot does (it
# said nothing: a command meant for the source tree ran in '/').
sid=$("$ARKOSE" -c fx --begin-session -d /)
out=$("$ARKOSE" -c "session:$sid" --run-session -- pwd 2> "$T/run.err")
expect_eq "a directory the session lacks: the command runs in /" / "$out"
check "and says so ($(cat "$T/run.err"))" grep -q "Directory '$T' is not in session '$sid', running in '/'" "$T/run.err"
out=$("$ARKOSE" -c "session:$sid" --run-session -d /tmp -- pwd 2> "$T/run.err")
expect_eq "-d DIR: no such notice" "/tmp:" "$out:$(cat "$T/run.err")"
"$ARKOSE" -c "session:$sid" --end-session

# A mistyped option: one line of ours, with the way on, and 2 (getopt's said '/path/to/arkose-chroot:
# unrecognized option' and no more); schroot's -V is --version.
err=$("$ARKOSE" --chrot fx -- true 2>&1); rc=$?
expect_eq "a mistyped long option: one line and status 2" \
        "2 arkose-chroot: Unknown option '--chrot' (see 'arkose-chroot --help')" "$rc $err"
err=$("$ARKOSE" -x 2>&1); rc=$?
expect_eq "an unknown short option" "2 arkose-chroot: Unknown option '-x' (see 'arkose-chroot --help')" "$rc $err"
err=$("$ARKOSE" -c 2>&1); rc=$?
expect_eq "an option without its argument" \
        "2 arkose-chroot: Option '-c' needs an argument (see 'arkose-chroot --help')" "$rc $err"
out=$("$ARKOSE" 2> "$T/noargs.err"); rc=$?
expect_eq "no arguments: one line on stderr, nothing on stdout, status 2" \
        "2 1 " "$rc $(wc -l < "$T/noargs.err") $out"
# A verb without its arguments is bad usage too: 2, as README says (it was 1, as for a failure).
for v in create update remove export import build; do
        "$ARKOSE" "$v" > /dev/null 2> "$T/usage.err"; rc=$?
        expect_eq "'$v' without its arguments: 2 and one usage line" "2 1" "$rc $(grep -c '^arkose-chroot: Usage: ' "$T/usage.err")"
done
check "-V prints the version, as schroot's does" sh -c '"$1" -V | grep -q "^arkose-chroot [0-9]"' sh "$ARKOSE"

# A mistyped chroot name: the name it is a typo of (tests/unit/test-util.c has the rule); a session's name
# without session:, the way to it.
err=$("$ARKOSE" -c bookwrom -- true 2>&1); rc=$?
expect_eq "a mistyped chroot name: did you mean" \
        "1 arkose-chroot: No chroot named 'bookwrom': did you mean 'bookworm'? (see 'arkose-chroot list')" "$rc $err"
sid=$("$ARKOSE" -c fx --begin-session -n "arkcli-$$")
err=$("$ARKOSE" -c "arkcli-$$" -- true 2>&1); rc=$?
expect_eq "a session's name as a chroot: the way to it" \
        "1 arkose-chroot: No chroot named 'arkcli-$$', but a session: use -c session:arkcli-$$" "$rc $err"
"$ARKOSE" -c "session:$sid" --end-session

# create of a name nothing defines: where its definition goes (it said 'No chroot named', see list).
err=$("$ARKOSE" create duke 2>&1); rc=$?
expect_eq "create without a definition: where to write one" \
        "1 arkose-chroot: No definition of chroot 'duke': write $ARKOSE_CONFIG_DIR/chroots.d/duke.conf, e.g. '[chroot]' and 'suite = duke' (as in $SRC/chroots/bookworm.conf)" \
        "$rc $err"
check "and nothing is made" test ! -e "$ARKOSE_STATE_DIR/trees/duke"

# The spare session a one-shot command leaves (lib/spare.h) is owned by a process forked from that command:
# ps showed it as the command ('arkose-chroot -c NAME -- apt-get update', for 15 minutes after it ended).
ARKOSE_SPARE_SESSIONS=1 "$ARKOSE" -c fx -- true "arkmark-$$" < /dev/null
spare=
for i in $(seq 200); do
        spare=$("$ARKOSE" sessions | awk '$5 == "spare" && $7 == "running" {print $1}')
        [ -n "$spare" ] && break
        sleep 0.1
done
check "a one-shot command left a spare session" test -n "$spare"
check "no process shows the command it was forked from" sh -c "! pgrep -af 'ark[m]ark-$$'"
check "its owner says what it is" pgrep -f "^arkose-chroot: spare session of 'fx'"
[ -n "$spare" ] && "$ARKOSE" -c "$spare" --end-session

# schroot's -d is a directory in the chroot: one only the chroot has is used (it was 'not usable').
use_versioned_fixture dv
"$ARKOSE" update dv --command "mkdir -p /srv/arktest-only-$$/sub" > /dev/null 2>&1
check "the host has no /srv/arktest-only-$$" test ! -e "/srv/arktest-only-$$"
out=$("$ARKOSE" -c dv -d "/srv/arktest-only-$$/sub" -- pwd 2>&1); rc=$?
expect_eq "-d DIR that only the chroot has: the command runs there" "0 /srv/arktest-only-$$/sub" "$rc $out"
err=$("$ARKOSE" -c dv -d /srv/arktest-nowhere-$$ -- pwd 2>&1); rc=$?
expect_eq "-d DIR that neither has: one line, 1" \
        "1 arkose-chroot: Directory '/srv/arktest-nowhere-$$' is not usable: No such file or directory" "$rc $err"

# schroot's variables, which its users' scripts and shell prompts read: SCHROOT_CHROOT_NAME, the alias the
# chroot was chosen by, the session's id, the command and who ran it (they were missing).
printf 'aliases = dvalias\n' >> "$ARKOSE_CONFIG_DIR/chroots.d/dv.conf"
out=$("$ARKOSE" -c chroot:dvalias@1 -u "$U" -- sh -c \
        'env | grep ^SCHROOT_ | grep -v ^SCHROOT_SESSION_ID= | sort; [ "$SCHROOT_SESSION_ID" = "$ARKOSE_SESSION_ID" ] && id -un')
expect_eq "a one-shot command has schroot's variables" "SCHROOT_ALIAS_NAME=dvalias
SCHROOT_CHROOT_NAME=dv
SCHROOT_COMMAND=sh -c env | grep ^SCHROOT_ | grep -v ^SCHROOT_SESSION_ID= | sort; [ \"\$SCHROOT_SESSION_ID\" = \"\$ARKOSE_SESSION_ID\" ] && id -un
SCHROOT_GID=0
SCHROOT_GROUP=root
SCHROOT_UID=0
SCHROOT_USER=root
$U" "$out"
sid=$("$ARKOSE" -c dvalias --begin-session -n "arkenv-$$")
out=$(SCHROOT_CHROOT_NAME=host-one "$ARKOSE" -c "session:$sid" --run-session -p -- \
        sh -c 'echo "$SCHROOT_SESSION_ID $SCHROOT_CHROOT_NAME $SCHROOT_ALIAS_NAME"; env | grep -c ^SCHROOT_CHROOT_NAME=')
expect_eq "--run-session -p: the session's (its alias the one it was begun by), not the caller's" "arkenv-$$ dv dvalias
1" "$out"
"$ARKOSE" -c "session:$sid" --end-session

finish
