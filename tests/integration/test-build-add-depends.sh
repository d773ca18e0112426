#!/bin/bash
# arkose-chroot build --add-depends[-arch|-indep] and --add-conflicts[-arch|-indep] (sbuild's): more build
# dependencies installed from the mirror, through the package-source proxy, with apt-get satisfy after the
# source's own; the -arch ones only when Architecture: any packages are built, the -indep ones only when
# Architecture: all ones are; conflicts removed from the build's environment, never from the tree. They are part
# of the dependency layer's key: the same options reuse the layer, others make another. An unsatisfiable one
# fails at stage 'dependencies' in one line naming it.
. "$(dirname "$0")/lib.sh"
use_build_fixture bookworm
mkdir -p "$T/out"
cp -a "$SRC/tests/data/test-pkg" "$T/src"
# The same with an Architecture: any package instead (as test-build-binnmu makes it).
cp -a "$SRC/tests/data/test-pkg" "$T/any"
sed -i 's/^Architecture: all$/Architecture: any/' "$T/any/debian/control"
sed -i -e 's/^binary-arch:$/binary-indep:/' -e 's/^binary binary-indep: build$/binary binary-arch: build/' "$T/any/debian/rules"
log=$T/out/test-pkg_1.0_amd64.build
# What the build's environment has of the packages involved, as the build's finished hook sees it.
SEE=(--finished-build-commands 'for p in ed tree netbase tzdata; do echo "pkg $p $(dpkg-query -W -f "\${db:Status-Status}" $p 2>/dev/null || echo none)"; done')
# "installed", or "none" (unknown to dpkg, only in its lists, or removed with its configuration files left).
state() { [ "$(grep "^pkg $1 " "$log" | cut -d' ' -f3)" = installed ] && echo installed || echo none; }

# test-pkg has one Architecture: all package; natively both kinds are built (-b), so all three apply.
"$ARKOSE" build --chroot bookworm --add-depends ed --add-depends-arch tree --add-depends-indep 'netbase (>= 6)' \
        --add-conflicts tzdata "${SEE[@]}" --output "$T/out" "$T/src" > "$T/1.out" 2> "$T/1.err"; rc=$?
expect_eq "a build with --add-depends and --add-conflicts succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/1.err"
expect_eq "--add-depends is installed" installed "$(state ed)"
expect_eq "--add-depends-arch too (Architecture: any packages are built)" installed "$(state tree)"
expect_eq "--add-depends-indep too (Architecture: all ones are)" installed "$(state netbase)"
expect_eq "--add-conflicts removed tzdata from the build's environment" none "$(state tzdata)"
expect_eq "the tree is untouched: tzdata still there, ed not" "installed none" \
        "$("$ARKOSE" -c bookworm -- sh -c 'for p in tzdata ed; do [ "$(dpkg-query -W -f "\${db:Status-Status}" $p 2>/dev/null)" = installed ] && echo installed || echo none; done' | tr '\n' ' ' | sed 's/ $//')"

# The same options again: the layer is reused.
"$ARKOSE" build --chroot bookworm --add-depends ed --add-depends-arch tree --add-depends-indep 'netbase (>= 6)' \
        --add-conflicts tzdata "${SEE[@]}" --output "$T/out" "$T/src" > "$T/2.out" 2> "$T/2.err"; rc=$?
check "the same options again reuse the dependency layer ($rc)" grep -q "^Reusing the build dependencies" "$T/2.out"

# --no-arch-any: no Architecture: any packages, so no --add-depends-arch; a layer of its own.
"$ARKOSE" build --chroot bookworm --no-arch-any --add-depends ed --add-depends-arch tree \
        --add-depends-indep 'netbase (>= 6)' "${SEE[@]}" --output "$T/out" "$T/src" > "$T/3.out" 2> "$T/3.err"; rc=$?
expect_eq "an indep-only build with them succeeds" 0 "$rc"
check "installing its own layer" grep -q "^Installing the build dependencies" "$T/3.out"
expect_eq "--add-depends is installed" installed "$(state ed)"
expect_eq "--add-depends-arch is not (no Architecture: any packages built)" none "$(state tree)"
expect_eq "--add-depends-indep is" installed "$(state netbase)"
expect_eq "without --add-conflicts, tzdata stays" installed "$(state tzdata)"

# --no-arch-all: no --add-depends-indep.
"$ARKOSE" build --chroot bookworm --no-arch-all --add-depends-indep 'netbase (>= 6)' "${SEE[@]}" \
        --output "$T/out" "$T/any" > "$T/4.out" 2> "$T/4.err"; rc=$?
expect_eq "an arch-only build with --add-depends-indep succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$T/4.err"
expect_eq "--add-depends-indep is not installed (no Architecture: all packages built)" none "$(state netbase)"

# Unsatisfiable: one line naming it; no layer is added.
layers=$(ls "$ARKOSE_STATE_DIR/cache/deps" | wc -l)
"$ARKOSE" build --chroot bookworm --add-depends 'arkose-no-such-package (>= 2)' --output "$T/out" "$T/src" \
        > "$T/5.out" 2> "$T/5.err"; rc=$?
err=$(cat "$T/5.err")
check "an unsatisfiable --add-depends fails ($rc) in one line: $err" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
check "at stage 'dependencies', naming it" \
        grep -qF "stage 'dependencies' (status 100): Depends: arkose-no-such-package (>= 2) but it is not installable" "$T/5.err"
expect_eq "no dependency layer was added" "$layers" "$(ls "$ARKOSE_STATE_DIR/cache/deps" | wc -l)"
err=$("$ARKOSE" build --chroot bookworm --add-conflicts '' --output "$T/out" "$T/src" 2>&1); rc=$?
check "an empty --add-conflicts is refused in one line ($err)" \
        sh -c "[ $rc -ne 0 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ]" sh "$err"
check "no build directory or session is left" \
        sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/builds' '$ARKOSE_STATE_DIR/sessions' 2>/dev/null | grep -v ':\$' | grep .)\" ]"
finish
