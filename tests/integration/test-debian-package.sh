#!/bin/bash
# The Debian package (debian/): arkose-chroot builds itself with `arkose-chroot build` from a clean copy of
# the source, in the build fixture (build-essential), its Build-Depends from the mirror: a build in a
# chroot that has only those, so a missing Build-Depends fails here. Then the .deb is checked: it holds
# exactly what `cmake --install` puts down plus the Debian files, /etc/arkose's files are conffiles,
# Depends (or Recommends) names the package of every library the program loads with dlopen(), which
# dh_shlibdeps cannot see. Last, it is installed with apt (dependencies from the mirror: a root session
# with the host's network) in a throw-away session of the same tree, run, removed and purged there.
. "$(dirname "$0")/lib.sh"
BUILD_FIXTURE=$SHARED/build/state/trees/buildfx
[ -d "$BUILD_FIXTURE/2/layer" ] || skip "the build fixture is missing (setup-build-fixture failed?)"
BUILD_DIR=$(dirname "$ARKOSE")
command -v dpkg-deb >/dev/null || skip "needs dpkg-deb"
VERSION=$(sed -n '1s/^arkose-chroot (\([^)]*\)).*/\1/p' "$SRC/debian/changelog")
ARCH=$(dpkg --print-architecture)
DEB=arkose-chroot_${VERSION}_${ARCH}.deb

printf '[chroot]\nsuite = bookworm\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/bookworm.conf"
mkdir -p "$ARKOSE_STATE_DIR/trees" "$T/src/arkose-chroot" "$T/out"
cp -al "$BUILD_FIXTURE" "$ARKOSE_STATE_DIR/trees/bookworm"

# A clean copy of the source: no VCS, no CMake build directories, no leftovers of an in-tree
# dpkg-buildpackage.
tar -C "$SRC" --exclude-vcs --anchored --exclude='./build*' --exclude='./obj-*' \
        --exclude=./debian/.debhelper --exclude=./debian/arkose-chroot --exclude=./debian/files \
        --exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp -cf - . |
        tar -C "$T/src/arkose-chroot" -xf -
check "the source copy has debian/control" test -f "$T/src/arkose-chroot/debian/control"

start=$(date +%s)
"$ARKOSE" build --chroot bookworm "$T/src/arkose-chroot" --output "$T/out" > "$T/build.out" 2>&1; rc=$?
echo "# build took $(( $(date +%s) - start )) s"
expect_eq "arkose-chroot build of arkose-chroot" 0 "$rc"
[ "$rc" = 0 ] || { tail -n 40 "$T/build.out"; tail -n 40 "$T"/out/*.build; finish; }
check "$DEB is in the output" test -f "$T/out/$DEB"
check "the unit tests ran in the build and passed" grep -q "^100% tests passed, 0 tests failed out of" "$T/out/arkose-chroot_${VERSION}_$(dpkg --print-architecture).build"
check "the integration tests did not run in the build" not grep -qE "Test +#[0-9]+: integration/" "$T/out/arkose-chroot_${VERSION}_$(dpkg --print-architecture).build"

# --- contents ---
# What the package must hold, from the source tree: the programs, every shipped definition, hook,
# profile and AppArmor template, the main configuration, the state directory.
expected() {
        echo usr/bin/arkose-chroot; echo usr/bin/autopkgtest-virt-arkose; echo usr/lib/arkose/arkose-init
        echo var/lib/arkose/
        for f in "$SRC"/chroots/*.conf; do echo "usr/share/arkose/chroots/${f##*/}"; done
        for f in "$SRC"/hooks/*; do case ${f##*/} in README*) ;; *) echo "usr/lib/arkose/hooks/${f##*/}" ;; esac; done
        for f in "$SRC"/confs/profiles/*.conf; do echo "usr/share/arkose/profiles/${f##*/}"; done
        for f in "$SRC"/confs/apparmor/*; do echo "usr/share/arkose/apparmor/${f##*/}"; done
        for f in "$SRC"/confs/*.conf; do echo "etc/arkose/${f##*/}"; done
        echo etc/arkose/chroots.d/; echo etc/arkose/profiles.d/; echo etc/arkose/hooks.d/
}
dpkg-deb -c "$T/out/$DEB" | awk '{ print $6 }' | sed 's|^\./||' | grep -v '^$' | sort > "$T/contents"
missing_from() {        # missing_from LIST FILE: the lines of FILE that LIST lacks
        sort "$2" | comm -13 "$1" -
}
expected > "$T/expected"
check "the expected list is not empty ($(wc -l < "$T/expected") paths)" test "$(wc -l < "$T/expected")" -ge 15
missing=$(missing_from "$T/contents" "$T/expected")
expect_eq "the .deb holds the programs, definitions, hooks, profiles and confs at their installed paths" "" "$missing"
# The check above can fail: a path the package lacks is reported.
{ cat "$T/expected"; echo usr/lib/arkose/hooks/99-not-shipped; } > "$T/expected-plus"
check "negative control: a path the package lacks is reported" \
        grep -qx usr/lib/arkose/hooks/99-not-shipped <<< "$(missing_from "$T/contents" "$T/expected-plus")"
# Exactly what `cmake --install` of this build puts down, plus Debian's own files (man pages are
# compressed in the package).
DESTDIR=$T/inst cmake --install "$BUILD_DIR" > "$T/install.out" 2>&1 || { cat "$T/install.out"; echo "not ok - cmake --install"; exit 1; }
(cd "$T/inst" && find . -mindepth 1 \( -type d -printf '%P/\n' -o -printf '%P\n' \)) |
        sed -E 's|^(usr/share/man/.*[^/])$|\1.gz|' | sort > "$T/cmake-install"
grep -vE '^usr/share/(doc|lintian)/|^var/(lib/(arkose/)?)?$' "$T/contents" > "$T/contents-installed"
expect_eq "cmake --install puts down nothing the package lacks" "" "$(comm -23 "$T/cmake-install" "$T/contents-installed")"
expect_eq "the package holds nothing cmake --install does not put down (but /usr/share/doc, lintian overrides, /var/lib/arkose)" "" \
        "$(comm -13 "$T/cmake-install" "$T/contents-installed")"

# --- control fields ---
dpkg-deb -e "$T/out/$DEB" "$T/control"
depends=$(dpkg-deb -f "$T/out/$DEB" Depends)
recommends=$(dpkg-deb -f "$T/out/$DEB" Recommends)
echo "# Depends: $depends"
has_relation() {        # has_relation FIELD-VALUE PACKAGE
        printf '%s\n' "$1" | tr ',|' '\n\n' | sed -E 's/^ +//; s/[ (].*//' | grep -qx "$2"
}
lxc_pkg=$(dpkg -S '*/liblxc.so.1' 2>/dev/null | head -n 1 | cut -d: -f1)
check "Depends names liblxc's package ('$lxc_pkg', which holds liblxc.so.1 here)" has_relation "$depends" "${lxc_pkg:-none}"
# Every library loaded with dlopen() in lib/ (sonames in the source): its package on this host must be
# in Depends or Recommends.
sonames=$(grep -rhoE 'dlopen(_many_sym)?\([^"]*"lib[^"]+\.so\.[0-9]+"' "$SRC/lib" | grep -oE 'lib[^"]+\.so\.[0-9]+' | sort -u)
check "the source dlopens at least liblxc, libmount, libarchive, libcurl" \
        test "$(printf '%s\n' $sonames | grep -cE '^lib(lxc|mount|archive|curl)\.so')" = 4
for so in $sonames; do
        pkg=$(dpkg -S "*/$so" 2>/dev/null | head -n 1 | cut -d: -f1)
        if has_relation "$depends" "$pkg"; then echo "ok - $so: $pkg in Depends"
        elif has_relation "$recommends" "$pkg"; then echo "ok - $so: $pkg in Recommends"
        else echo "not ok - $so (package '${pkg}') is in neither Depends nor Recommends"; FAILS=$((FAILS + 1)); fi
done
check "Depends names debootstrap (create)" has_relation "$depends" debootstrap
conffiles=$(cat "$T/control/conffiles" 2>/dev/null)
for f in "$SRC"/confs/*.conf; do
        check "/etc/arkose/${f##*/} is a conffile" grep -qx "/etc/arkose/${f##*/}" <<< "$conffiles"
done

# --- installation, in a throw-away session ---
# apt takes the dependencies from the mirror (the build's downloads first, bound as apt's archive
# cache), then the installed program runs with its compiled-in paths. No container in the container:
# `list` (definitions in /usr/share/arkose, /etc/arkose) and `apparmor-profile` (profiles, template) are
# what runs without one. Remove keeps /var/lib/arkose's contents, purge too (with a note) and removes
# /etc/arkose; a purge with an empty state directory removes it.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
cat > "$T/out/inside.sh" <<EOT
#!/bin/sh
ok() { if "\$@"; then echo "ok - inside: \$what"; else echo "not ok - inside: \$what"; fi; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q > apt.log 2>&1 || { tail apt.log; echo "not ok - inside: apt-get update"; exit 1; }
apt-get install -q -y --no-install-recommends ./$DEB >> apt.log 2>&1 || { tail -n 30 apt.log; echo "not ok - inside: apt-get install ./$DEB"; exit 1; }
what="dpkg says arkose-chroot is installed"; ok sh -c 'dpkg-query -W -f "\\\${Status}" arkose-chroot | grep -qx "install ok installed"'
what="arkose-chroot --version runs"; ok sh -c 'arkose-chroot --version | grep -q "$VERSION"'
what="arkose-chroot list shows the shipped bookworm definition"; ok sh -c 'arkose-chroot list | grep -q "^bookworm "'
what="arkose-chroot apparmor-profile buildd (profile and template found)"; ok sh -c 'arkose-chroot apparmor-profile buildd | grep -q "^profile "'
what="the hooks are executable"; ok test -x /usr/lib/arkose/hooks/10-users
what="/var/lib/arkose exists"; ok test -d /var/lib/arkose
for so in $(echo $sonames); do
        what="\$so resolves after installing Depends only"; ok sh -c "ldconfig -p | grep -q '^[[:space:]]\$so '"
done
what="liblxc's rootfs mount point is there (liblxc-common)"; ok test -d /usr/lib/$multiarch/lxc/rootfs
what="debootstrap is installed"; ok test -x /usr/sbin/debootstrap
mkdir -p /var/lib/arkose/trees/kept && echo data > /var/lib/arkose/trees/kept/file
dpkg -r arkose-chroot > dpkg.log 2>&1
what="remove: the program is gone"; ok test ! -e /usr/bin/arkose-chroot
what="remove: the state directory's contents are kept"; ok test -f /var/lib/arkose/trees/kept/file
what="remove: the conffile is kept"; ok test -f /etc/arkose/arkose.conf
dpkg --purge arkose-chroot > purge.log 2>&1
what="purge: the state directory's contents are kept"; ok test -f /var/lib/arkose/trees/kept/file
what="purge: it says so"; ok grep -q "/var/lib/arkose still holds" purge.log
what="purge: the conffile is gone"; ok test ! -e /etc/arkose/arkose.conf
rm -rf /var/lib/arkose
dpkg -i ./$DEB > dpkg.log 2>&1 || { cat dpkg.log; echo "not ok - inside: dpkg -i again"; }
dpkg --purge arkose-chroot > purge.log 2>&1
what="purge with an empty state directory removes it"; ok test ! -e /var/lib/arkose
echo "inside: done"
EOT
start=$(date +%s)
"$ARKOSE" -c bookworm -u root --network host -d "$T/out" \
        --bind "$ARKOSE_STATE_DIR/cache/apt/archives:/var/cache/apt/archives" -- sh ./inside.sh > "$T/inside.out" 2>&1
rc=$?
echo "# installation session took $(( $(date +%s) - start )) s"
cat "$T/inside.out"
expect_eq "the installation session" 0 "$rc"
check "the installation session ran to its end" grep -qx "inside: done" "$T/inside.out"
FAILS=$((FAILS + $(grep -c '^not ok' "$T/inside.out")))
check "the build fixture tree is untouched (no version added)" test "$(readlink "$ARKOSE_STATE_DIR/trees/bookworm/current")" = 2
finish
