# Shared by the sbuild tests (sourced after lib.sh): a chroot named as sbuild asks for it, with
# build-essential and fakeroot (the build fixture's layers, hard-linked), the test package's .dsc, and an sbuild
# configuration file of the test's own.
command -v sbuild >/dev/null || skip "sbuild is not installed (tools/install-deps)"
BUILD_FIXTURE=$SHARED/build/state/trees/buildfx
[ -d "$BUILD_FIXTURE/2/layer" ] || skip "the build fixture is missing (setup-build-fixture failed?)"
BIN_DIR=$(dirname "$ARKOSE")

# use_build_chroot NAME: chroot NAME = the build fixture.
use_build_chroot() {
        printf '[chroot]\nsuite = bookworm\nvariant = minbase\n' > "$ARKOSE_CONFIG_DIR/chroots.d/$1.conf"
        mkdir -p "$ARKOSE_STATE_DIR/trees"
        cp -al "$BUILD_FIXTURE" "$ARKOSE_STATE_DIR/trees/$1"
}

# make_dsc DIR: test-pkg_1.0.dsc (and its tarball) in DIR, from tests/data/test-pkg.
make_dsc() {
        mkdir -p "$1"
        cp -r "$SRC/tests/data/test-pkg" "$1/"
        (cd "$1" && dpkg-source -b test-pkg >/dev/null && rm -rf test-pkg)
}

# write_sbuildrc FILE LINE...: an sbuild configuration with the LINEs (Perl), then what every test wants:
# arch:all packages built, and no lintian, piuparts, autopkgtest or apt update (the build is offline).
write_sbuildrc() {
        local f=$1; shift
        {
                printf '%s\n' "$@"
                printf '%s\n' '$build_arch_all = 1;' '$run_lintian = 0;' '$run_piuparts = 0;' \
                        '$run_autopkgtest = 0;' '$apt_update = 0;' '$apt_upgrade = 0;' '$apt_distupgrade = 0;' '1;'
        } > "$f"
}

# Reads FILE from the test package's doc directory in the .deb.
deb_doc() { dpkg-deb --fsys-tarfile "$1" | tar -xO "./usr/share/doc/test-pkg/$2"; }

# What an sbuild test checks: sbuild's log says the build succeeded; the .deb was built in a session of
# chroot CHROOT (the build recorded $ARKOSE_CHROOT) with the network off.
check_deb() {   # check_deb DIR CHROOT
        local deb=$1/test-pkg_1.0_all.deb log
        log=$(ls "$1"/test-pkg_1.0_*.build 2>/dev/null | head -1)
        check "sbuild's log says the build succeeded" grep -q "^Status: successful" "$log"
        check "test-pkg_1.0_all.deb was built" test -s "$deb"
        [ -s "$deb" ] || return
        check "the .deb holds the program" sh -c "dpkg-deb -c '$deb' | grep -q ./usr/bin/test-pkg-hello"
        expect_eq "the build ran in a session of '$2'" "$2" "$(deb_doc "$deb" build-chroot.txt)"
        expect_eq "the build saw no network but loopback" lo "$(deb_doc "$deb" netdev.txt)"
}
