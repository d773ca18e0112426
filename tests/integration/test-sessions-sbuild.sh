#!/bin/bash
# sbuild's own schroot-mode code (libsbuild-perl) drives arkose-chroot as its schroot: chroot lookup
# through --info, --begin-session, the session's Path through --info --chroot session:ID, its set-up
# commands through --run-session, --end-session.
. "$(dirname "$0")/lib.sh"
use_fixture
perl -MSbuild::ChrootInfoSchroot -e 1 2>/dev/null || skip "libsbuild-perl is missing"

# sbuild runs "schroot --info" with an emptied environment: a wrapper carries ours.
cat > "$T/schroot" <<EOT
#!/bin/sh
export ARKOSE_STATE_DIR='$ARKOSE_STATE_DIR' ARKOSE_CONFIG_DIR='$ARKOSE_CONFIG_DIR'
export ARKOSE_DATA_DIR='$ARKOSE_DATA_DIR' ARKOSE_HOOKS_DIR='$ARKOSE_HOOKS_DIR'
exec '$ARKOSE' "\$@"
EOT
chmod +x "$T/schroot"
cd "$T"
out=$(perl "$SRC/tests/integration/sbuild-drive.pl" "$T/schroot" fx 2>"$T/err")
rc=$?
[ $rc = 0 ] || { echo "# $out"; sed 's/^/# /' "$T/err"; }
expect_eq "sbuild's begin_session, set-up, run_command and end_session work" "ok" "$(echo "$out" | tail -n 1)"
finish
