#!/bin/bash
# arkose-chroot build installs the build dependencies as sbuild's apt resolver does on a buildd: reduced by
# Dpkg::Deps in the chroot (architecture and build-profile restrictions applied, :native dropped) into the
# Depends and Conflicts of a dummy package, and of each dependency only the first alternative (with those of the
# same package after it), so that a source that builds here builds on the buildds. --resolve-alternatives lets
# apt take any alternative (sbuild's option), in a dependency layer of its own. The reduction is in the log
# ("Merged Build-Depends:", "Filtered Build-Depends:"), as in sbuild's.
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
mkdir -p "$T/out"
arch=$(dpkg --print-architecture)
# test-pkg with build dependencies whose first alternative is not installable, restricted ones, and a
# conflict.
mk() {  # mk DIR BUILD-DEPENDS [BUILD-CONFLICTS]
        cp -a "$SRC/tests/data/test-pkg" "$T/$1"
        sed -i "s/^Standards-Version:/Build-Depends: $2\\n${3:+Build-Conflicts: $3\\n}Standards-Version:/" "$T/$1/debian/control"
}
mk alt "arkose-no-such-package | ed, tree [!$arch] | netbase, libc6-dev:native, time <!nocheck>, bc <nocheck>" "tzdata [$arch]"
SEE=(--finished-build-commands 'for p in ed tree netbase libc6-dev time bc tzdata; do echo "pkg $p $(dpkg-query -W -f "\${db:Status-Status}" $p 2>/dev/null || echo none)"; done')
state() { [ "$(grep "^pkg $1 " "$2" | cut -d' ' -f3)" = installed ] && echo installed || echo none; }

# As on a buildd: the first alternative only, and it is not installable.
"$ARKOSE" build --chroot bookworm --json --output "$T/out" "$T/alt" > "$T/1.json" 2> "$T/1.err"; rc=$?
log=$T/out/test-pkg_1.0_$arch.build
check "a first alternative that is not installable fails the build ($rc), as on a buildd" \
        grep -q '"result": "failed", "stage": "dependencies"' "$T/1.json"
check "naming it in one line: $(grep '^arkose-chroot: Build failed' "$T/1.err")" \
        grep -q "stage 'dependencies' (status 100): .*arkose-no-such-package but it is not installable" "$T/1.err"
check "the log has the merged dependencies, restrictions applied, :native dropped" \
        grep -qx "Merged Build-Depends: arkose-no-such-package | ed, netbase, libc6-dev, time" "$log"
check "and the filtered ones, first alternatives only" \
        grep -qx "Filtered Build-Depends: arkose-no-such-package, netbase, libc6-dev, time" "$log"
check "and the merged conflicts" grep -qx "Merged Build-Conflicts: tzdata" "$log"

# --resolve-alternatives: apt takes ed; the rest as before.
"$ARKOSE" build --chroot bookworm --resolve-alternatives "${SEE[@]}" --output "$T/out" "$T/alt" > "$T/2.out" 2> "$T/2.err"; rc=$?
expect_eq "with --resolve-alternatives the build succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$T/2.err"
log2=$T/out/test-pkg_1.0_$arch.build
expect_eq "the second alternative, ed, is installed" installed "$(state ed "$log2")"
expect_eq "tree [!$arch] is not: its restriction excludes this architecture" none "$(state tree "$log2")"
expect_eq "netbase, the alternative left, is" installed "$(state netbase "$log2")"
expect_eq "time <!nocheck> is (no nocheck profile)" installed "$(state time "$log2")"
expect_eq "bc <nocheck> is not" none "$(state bc "$log2")"
expect_eq "the conflict tzdata [$arch] is removed" none "$(state tzdata "$log2")"
check "through the dummy package" grep -q "^Setting up arkose-build-deps (0.invalid.0)" "$log2"

# Alternatives of the same package stay, as in sbuild ("ed (>= 1) | ed (<< 0.1)" is one dependency).
mk same "ed (>= 99) | ed (>= 1)"
"$ARKOSE" build --chroot bookworm "${SEE[@]}" --output "$T/out" "$T/same" > "$T/3.out" 2> "$T/3.err"; rc=$?
expect_eq "alternatives of the same package are kept: the build succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$T/3.err"
expect_eq "with ed installed" installed "$(state ed "$T/out/test-pkg_1.0_$arch.build")"
# A Build-Depends that Dpkg::Deps cannot parse: one line saying so, at stage 'dependencies'.
mk broken "ed (>> "
err=$("$ARKOSE" build --chroot bookworm --output "$T/out" "$T/broken" 2>&1 >/dev/null | grep '^arkose-chroot: Build failed'); rc=$?
check "an unparsable Build-Depends fails in one line saying so ($err)" \
        sh -c "echo \"\$1\" | grep -q \"stage 'dependencies' (status [0-9]*): Cannot parse the build dependencies\"" sh "$err"

# arkose.conf's [build] resolve-alternatives is the default; --no-resolve-alternatives overrides it.
printf '[build]\nresolve-alternatives = yes\n' > "$ARKOSE_CONFIG_DIR/arkose.conf"
"$ARKOSE" build --chroot bookworm --output "$T/out" "$T/alt" > "$T/4.out" 2> "$T/4.err"; rc=$?
expect_eq "with arkose.conf's resolve-alternatives = yes the build succeeds" 0 "$rc"
check "reusing the --resolve-alternatives build's layer" grep -q "^Reusing the build dependencies" "$T/4.out"
"$ARKOSE" build --chroot bookworm --no-resolve-alternatives --output "$T/out" "$T/alt" > "$T/5.out" 2> "$T/5.err"; rc=$?
check "--no-resolve-alternatives overrides it: the build fails at 'dependencies' ($rc)" \
        grep -q "stage 'dependencies' (status 100)" "$T/5.err"
rm "$ARKOSE_CONFIG_DIR/arkose.conf"
check "no build directory or session is left" \
        sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds' '$ARKOSE_STATE_DIR/sessions' 2>/dev/null | grep -v ':\$' | grep .)\" ]"
finish
