#!/bin/bash
# setup-start hook results cached per tree and input (hooks.h, "Caching"): a session served from the cache
# sees the same files as the session whose hooks ran; a change of any input (the user, a hook, a declared
# host file, the tree) runs the hooks again; one hook without the declaration, or a directory chroot, and
# the hooks always run.
. "$(dirname "$0")/lib.sh"
command -v useradd > /dev/null || skip "useradd is missing"
use_versioned_fixture hc
U=arkhc$$
add_test_user -M -N -d "/home/$U" -s /bin/sh "$U" || skip "cannot create a test user"
cd /

# What the shipped hooks and ours write, as the session sees it (as root: shadow too).
snap='for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/hostname /etc/hosts /etc/resolv.conf /etc/arktest-hook; do
        stat -c "%n %a %U %G %s %F" "$f"; md5sum < "$f"; done
test -e /etc/issue && echo issue present || echo issue absent'
entries() { ls "$ARKOSE_STATE_DIR/hook-cache" 2>/dev/null | grep -vc '^\.'; }
runs() { wc -l < "$T/runs"; }

# An administrator's hook: cacheable, with a host file among its inputs; it writes a file and removes one
# (a whiteout in the result), and counts its runs outside the root (for this test only).
: > "$T/runs"
echo one > "$T/input"
cat > "$ARKOSE_CONFIG_DIR/hooks.d/40-arktest" <<EOT
#!/bin/sh
# arkose-hook-phases: setup-start
# arkose-hook-cache: yes $T/input
echo run >> "$T/runs"
cat "$T/input" > "\$ARKOSE_ROOTFS/etc/arktest-hook"
rm -f "\$ARKOSE_ROOTFS/etc/issue"
EOT
chmod 755 "$ARKOSE_CONFIG_DIR/hooks.d/40-arktest"

first=$("$ARKOSE" -c hc -u root -- sh -c "$snap" 2>/dev/null)
expect_eq "the first session ran the hooks" 1 "$(runs)"
expect_eq "and recorded their result" 1 "$(entries)"
second=$("$ARKOSE" -c hc -u root -- sh -c "$snap" 2>/dev/null)
expect_eq "the same input again: hooks not run" 1 "$(runs)"
expect_eq "the replayed files are the same" "$first" "$second"
check "the removed file is removed again" sh -c "printf '%s\n' '$second' | grep -q 'issue absent'"

u1=$("$ARKOSE" -c hc -u "$U" -- sh -c "id -un; stat -c '%U %a' \$HOME; grep ^$U: /etc/passwd; pwd" 2>&1)
n=$(runs)
u2=$("$ARKOSE" -c hc -u "$U" -- sh -c "id -un; stat -c '%U %a' \$HOME; grep ^$U: /etc/passwd; pwd" 2>&1)
expect_eq "another user is another input" 2 "$n"
expect_eq "the user's second session was served from the cache" "$n" "$(runs)"
check "the recorded result has the user's passwd line" grep -q "^$U:x:" "$ARKOSE_STATE_DIR"/hook-cache/*/etc/passwd
expect_eq "the user's sessions see the same" "$u1" "$u2"
check "the user is known and owns the home directory ($u2)" sh -c "printf '%s\n' '$u2' | grep -q '^$U 755\$'"

# Inputs: a declared host file, the hook itself.
echo two > "$T/input"
out=$("$ARKOSE" -c hc -u root -- cat /etc/arktest-hook)
expect_eq "a changed host input runs the hooks again" "two" "$out"
n=$(runs)
echo '# edited' >> "$ARKOSE_CONFIG_DIR/hooks.d/40-arktest"
"$ARKOSE" -c hc -u root -- true
expect_eq "an edited hook runs again" $((n + 1)) "$(runs)"

# Another version of the tree is another input.
"$ARKOSE" update hc --command 'touch /etc/v2' > /dev/null; expect_eq "update" 0 $?
n=$(runs)
check "version 2 has its own result" "$ARKOSE" -c hc -u root -- test -e /etc/v2 -a -e /etc/arktest-hook
expect_eq "the hooks ran for version 2" $((n + 1)) "$(runs)"

# A hook without the declaration: nothing is cached, every session runs every hook.
printf '#!/bin/sh\n# arkose-hook-phases: setup-start\nexit 0\n' > "$ARKOSE_CONFIG_DIR/hooks.d/50-plain"
chmod 755 "$ARKOSE_CONFIG_DIR/hooks.d/50-plain"
n=$(runs)
"$ARKOSE" -c hc -u root -- true; "$ARKOSE" -c hc -u root -- true
expect_eq "with an undeclared hook all hooks run each time" $((n + 2)) "$(runs)"
rm -f "$ARKOSE_CONFIG_DIR/hooks.d/50-plain"

# A directory chroot can change under us: never cached.
use_fixture
n=$(runs); e=$(entries)
"$ARKOSE" -c fx -u root -- true; "$ARKOSE" -c fx -u root -- true
expect_eq "a directory chroot runs its hooks each time" $((n + 2)) "$(runs)"
expect_eq "and records nothing" "$e" "$(entries)"
check "the fixture tree itself is untouched" test -e "$FIXTURE_TREE/etc/issue" -a ! -e "$FIXTURE_TREE/etc/arktest-hook"
check "the cache is private to root" test "$(stat -c %a "$ARKOSE_STATE_DIR/hook-cache")" = 700
finish
