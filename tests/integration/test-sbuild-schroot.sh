#!/bin/bash
# sbuild's schroot chroot mode with arkose-chroot in schroot's place ($conf->set('SCHROOT', ...) in the
# configuration file, sbuild 0.85): its five calls (--info, --info of the session, --begin-session,
# --run-session -d DIR -u USER -p, --end-session) build test-pkg_1.0_all.deb offline. The chroot is
# named 'bookworm-ARCH-sbuild', the first name sbuild looks for with -d bookworm. Then sbuild-update
# changes it through its source chroot.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sbuild-lib.sh"

ARCH=$(dpkg --print-architecture)
use_build_chroot "bookworm-$ARCH-sbuild"
make_dsc "$T/src"
mkdir -p "$T/out" "$T/bin"
# sbuild runs "schroot --info" with an empty environment and the session commands with a filtered one:
# arkose-chroot takes the test's own directories from its command line, through this stand-in for
# /usr/bin/arkose-chroot.
cat > "$T/bin/arkose-chroot" <<EOT
#!/bin/sh
export ARKOSE_DATA_DIR='$ARKOSE_DATA_DIR' ARKOSE_HOOKS_DIR='$ARKOSE_HOOKS_DIR'
exec '$ARKOSE' --state-dir '$ARKOSE_STATE_DIR' --config-dir '$ARKOSE_CONFIG_DIR' "\$@"
EOT
chmod 755 "$T/bin/arkose-chroot"
write_sbuildrc "$T/sbuildrc" "\$conf->set('SCHROOT', '$T/bin/arkose-chroot');" "\$chroot_mode = 'schroot';"
cd "$T/out"
start=$(date +%s)
SBUILD_CONFIG=$T/sbuildrc timeout 1500 sbuild -d bookworm "$T/src/test-pkg_1.0.dsc" >"$T/sbuild.out" 2>&1
rc=$?
echo "sbuild took $(( $(date +%s) - start )) s"
expect_eq "sbuild exit status" 0 "$rc"
[ "$rc" = 0 ] || { tail -30 "$T/sbuild.out"; tail -60 "$T"/out/*.build; }
check_deb "$T/out" "bookworm-$ARCH-sbuild"

# sbuild-update, which changes the chroot through schroot's source chroot: --info's 'source:' entry, then
# source:NAME --begin-session, apt-get update run in it as root, --end-session. The session has the host's
# network, as update's; what it changed becomes the chroot's next version.
before=$(current_of "bookworm-$ARCH-sbuild")
SBUILD_CONFIG=$T/sbuildrc timeout 600 sbuild-update --update --clean bookworm > "$T/update.out" 2>&1; rc=$?
expect_eq "sbuild-update --update --clean bookworm succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -20 "$T/update.out"
expect_eq "and makes the chroot's next version" "$((before + 1))" "$(current_of "bookworm-$ARCH-sbuild")"
check "made in a source session" sh -c "'$ARKOSE' info 'bookworm-$ARCH-sbuild' | grep -Eq '^ +Method +source\$'"
check "whose apt-get update ran" grep -q "Reading package lists" "$T/update.out"
check "and whose apt-get clean did not leave the version without apt's cache" \
        "$ARKOSE" -c "bookworm-$ARCH-sbuild" -- test -f /var/cache/apt/srcpkgcache.bin
check "and no session is left" sh -c "[ -z \"\$('$ARKOSE' -l --all-sessions)\" ]"
finish
