#!/bin/bash
# create with mmdebstrap: the real mmdebstrap, from the host's mirror, makes a minbase bookworm (with one
# --include'd package) that sessions then use offline; SOURCE_DATE_EPOCH reaches it; which tool a chroot
# is made with follows --bootstrap, the definition's bootstrap= and arkose.conf's, in that order; a failed
# or interrupted mmdebstrap leaves no version, no staging directory and no mount.
. "$(dirname "$0")/lib.sh"
cd "$T"
command -v mmdebstrap > /dev/null || skip "mmdebstrap is not installed (tools/install-deps installs it)"

# The real thing. SOURCE_DATE_EPOCH=1700000000 is day 19675: the date of the last password change that
# passwd's maintainer script writes into /etc/shadow when mmdebstrap passes it on (today's otherwise).
printf '[chroot]\nsuite = bookworm\nvariant = minbase\npackages = hello\nbootstrap = mmdebstrap\n' \
        > "$ARKOSE_CONFIG_DIR/chroots.d/mm.conf"
start=$(date +%s)
SOURCE_DATE_EPOCH=1700000000 "$ARKOSE" create mm > "$T/create.out" 2> "$T/create.err"; rc=$?
echo "# create mm (mmdebstrap, minbase + hello) took $(( $(date +%s) - start )) s"
expect_eq "create with bootstrap = mmdebstrap succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$T/create.out"
check "it says which tool made it" grep -q "^Creating chroot 'mm': mmdebstrap bookworm (minbase) from " "$T/create.out"
check "its progress is mmdebstrap's stages, one line each" grep -qx "  extracting archives..." "$T/create.out"
expect_eq "version 1" 1 "$(current_of mm)"
check "info names the method" sh -c "'$ARKOSE' info mm | grep -Eq '^ +Method +mmdebstrap\$'"
check "the manifest lists dpkg and the included package" sh -c "grep -q '^dpkg	' '$ARKOSE_STATE_DIR/trees/mm/1/manifest' &&
        grep -q '^hello	' '$ARKOSE_STATE_DIR/trees/mm/1/manifest'"
expect_eq "SOURCE_DATE_EPOCH reached mmdebstrap: root's password change is dated day 19675" 19675 \
        "$(awk -F: '$1 == "root" { print $3 }' "$ARKOSE_STATE_DIR/trees/mm/1/rootfs/etc/shadow")"
check "no staging directory is left" no_staging_left mm
out=$("$ARKOSE" -c mm -- sh -c 'cat /etc/debian_version; hello' 2> "$T/run.err")
expect_eq "a session runs in it, with the included package" "$(cat "$ARKOSE_STATE_DIR/trees/mm/1/rootfs/etc/debian_version")
Hello, world!" "$out"
# mmdebstrap deletes apt's package lists unless told not to: a session (no network) could not install.
out=$("$ARKOSE" -c mm -u root -- apt-cache policy dpkg 2>> "$T/run.err" | sed -n 's/^ *Candidate: //p')
check "apt in a session knows the mirror's packages, offline (kept lists): dpkg's candidate '$out'" test -n "$out"
check "apt's package-list cache was built into the tree" test -s "$ARKOSE_STATE_DIR/trees/mm/1/rootfs/var/cache/apt/srcpkgcache.bin"
expect_eq "its sources name the mirror it was made from" \
        "deb $(awk -F'"' '/"mirror"/ { print $4 }' "$ARKOSE_STATE_DIR/trees/mm/1/info.json") bookworm main" \
        "$(cat "$ARKOSE_STATE_DIR/trees/mm/1/rootfs/etc/apt/sources.list")"

# Which tool: --bootstrap, then the definition's, then arkose.conf's, then debootstrap. info prints the one
# create would run (the same function chooses for both).
bootstrap_of() { "$ARKOSE" info "$@" | awk '$1 == "Bootstrap" { print $2 }'; }
printf '[chroot]\nsuite = bookworm\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/plain.conf"
expect_eq "a definition without bootstrap=, no arkose.conf key: debootstrap" debootstrap "$(bootstrap_of plain)"
expect_eq "--bootstrap mmdebstrap overrides that" mmdebstrap "$(bootstrap_of plain --bootstrap mmdebstrap)"
expect_eq "--bootstrap debootstrap overrides the definition's mmdebstrap" debootstrap "$(bootstrap_of mm --bootstrap debootstrap)"
cp "$ARKOSE_CONFIG_DIR/arkose.conf" "$T/arkose.conf.saved" 2> /dev/null
printf '[main]\nbootstrap = mmdebstrap\nmirror = http://mirror.invalid/debian\n' >> "$ARKOSE_CONFIG_DIR/arkose.conf"
expect_eq "arkose.conf's bootstrap = mmdebstrap for a definition without one" mmdebstrap "$(bootstrap_of plain)"
expect_eq "and info names arkose.conf's mirror, which create would use" http://mirror.invalid/debian \
        "$("$ARKOSE" info plain | awk '$1 == "Mirror" { print $2; exit }')"
printf '[chroot]\nsuite = bookworm\nbootstrap = debootstrap\n' > "$ARKOSE_CONFIG_DIR/chroots.d/deb.conf"
expect_eq "a definition's own bootstrap = debootstrap beats arkose.conf's" debootstrap "$(bootstrap_of deb)"
if [ -e "$T/arkose.conf.saved" ]; then cp "$T/arkose.conf.saved" "$ARKOSE_CONFIG_DIR/arkose.conf"; else rm -f "$ARKOSE_CONFIG_DIR/arkose.conf"; fi

# Bad input: one line, status 2 for a bad option, 1 for a bad definition; nothing made.
err=$("$ARKOSE" create plain --bootstrap cdebootstrap 2>&1); rc=$?
expect_eq "--bootstrap cdebootstrap: one line, status 2" \
        "2 arkose-chroot: --bootstrap takes debootstrap or mmdebstrap, not 'cdebootstrap'" "$rc $err"
printf '[chroot]\nsuite = bookworm\nbootstrap = cdebootstrap\n' > "$ARKOSE_CONFIG_DIR/chroots.d/bad.conf"
err=$("$ARKOSE" create bad 2>&1); rc=$?
expect_eq "bootstrap = cdebootstrap in a definition: one file:line error, status 1" \
        "1 arkose-chroot: $ARKOSE_CONFIG_DIR/chroots.d/bad.conf:3: invalid value 'cdebootstrap' for 'bootstrap'" "$rc $err"
check "and nothing is made" test ! -e "$ARKOSE_STATE_DIR/trees/bad"

# mmdebstrap not installed (not in PATH): one line saying so, nothing made.
err=$(env PATH=/nonexistent "$ARKOSE" create plain --bootstrap mmdebstrap 2>&1 > /dev/null); rc=$?
expect_eq "mmdebstrap missing: one line naming the package, status 1" \
        "1 arkose-chroot: Failed to run mmdebstrap: No such file or directory (is the mmdebstrap package installed?)" "$rc $err"
expect_eq "no version" "" "$(current_of plain)"

# A mirror without the suite: mmdebstrap's first error (the cause), not its last ("failed to run"); no version.
mkdir -p "$T/nomirror"
err=$("$ARKOSE" create plain --bootstrap mmdebstrap --mirror "file://$T/nomirror" 2>&1 > "$T/fail.out"); rc=$?
expect_eq "a mirror without the suite: status 1" 1 "$rc"
expect_eq "in one line naming the cause" \
        "arkose-chroot: Failed to create 'plain': mmdebstrap failed: E: The repository 'file:$T/nomirror bookworm Release' does not have a Release file. (full log: $ARKOSE_STATE_DIR/trees/plain/create.log)" \
        "$err"
expect_eq "no version" "" "$(current_of plain)"
check "no staging directory" no_staging_left plain
check "no mount below the state directory" test -z "$(mounts_below "$ARKOSE_STATE_DIR")"

# Interrupted (SIGINT, as ^C sends it to the foreground group) while mmdebstrap works: it unmounts what it
# mounted in the tree (/proc, /sys, /dev), and nothing is kept.
"$ARKOSE" create plain --bootstrap mmdebstrap > "$T/int.out" 2> "$T/int.err" &
pid=$!
PIDS="$PIDS $pid"
for _ in $(seq 600); do
        grep -q "extracting archives\|installing essential" "$T/int.out" 2> /dev/null && break
        sleep 0.1
done
check "mmdebstrap got as far as unpacking" grep -q "extracting archives\|installing essential" "$T/int.out"
kill -INT "$pid"
wait "$pid"; rc=$?
expect_eq "an interrupted create exits non-zero with one line" \
        "1 arkose-chroot: Creating 'plain' was interrupted; nothing was kept" "$rc $(tail -1 "$T/int.err")"
expect_eq "no version" "" "$(current_of plain)"
check "no staging directory" no_staging_left plain
check "no mount below the state directory" test -z "$(mounts_below "$ARKOSE_STATE_DIR")"
check "no mmdebstrap left running" test -z "$(pgrep -f "mmdebstrap.*$ARKOSE_STATE_DIR" || true)"
# Killed (SIGKILL: nothing of ours runs): mmdebstrap gets SIGTERM from the kernel (its parent died), and holds
# the chroot's lock until it has ended, so that no sweep removes its staging directory under it; what it
# leaves (its mounts in the tree) the next sweep removes.
"$ARKOSE" create plain --bootstrap mmdebstrap > "$T/kill.out" 2> "$T/kill.err" &
pid=$!
PIDS="$PIDS $pid"
for _ in $(seq 600); do
        grep -q "extracting archives\|installing essential" "$T/kill.out" 2> /dev/null && break
        sleep 0.1
done
kill -KILL "$pid"
wait "$pid"
if pgrep -f "mmdebstrap.*$ARKOSE_STATE_DIR" > /dev/null; then
        "$ARKOSE" recover > /dev/null 2>&1
        check "while the killed create's mmdebstrap still runs, a sweep (recover) leaves its staging directory" \
                not no_staging_left plain
fi
for _ in $(seq 120); do
        pgrep -f "mmdebstrap.*$ARKOSE_STATE_DIR" > /dev/null || break
        sleep 0.5
done
check "mmdebstrap ends after the killed create (60 s at most)" test -z "$(pgrep -f "mmdebstrap.*$ARKOSE_STATE_DIR" || true)"
"$ARKOSE" recover > /dev/null 2>&1
check "then recover leaves no staging directory" no_staging_left plain
check "and no mount below the state directory" test -z "$(mounts_below "$ARKOSE_STATE_DIR")"
expect_eq "and no version" "" "$(current_of plain)"
expect_eq "and the chroot made before is untouched: still version 1, still runs" "1 Hello, world!" \
        "$(current_of mm) $("$ARKOSE" -c mm -- hello 2>> "$T/run.err")"
finish
