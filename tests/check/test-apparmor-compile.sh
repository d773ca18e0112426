#!/bin/bash
# Every golden AppArmor profile (tests/data/apparmor/*.profile, which test-apparmor proves equal to
# what lib/apparmor.c generates) compiles with exactly the compile-only command of the reference:
#     apparmor_parser -QK -M /usr/share/apparmor-features/features FILE
# Without -M the parser would exit 0 while silently dropping mount, signal and ptrace rules, so the
# warnings are checked too: none may say a rule is not enforced. A broken profile must fail (the check
# is not vacuous). No root needed; nothing is loaded into the kernel.
. "$(dirname "$0")/lib.sh"

FEATURES=/usr/share/apparmor-features/features
PATH=$PATH:/usr/sbin:/sbin
need_cmd apparmor_parser
[ -r "$FEATURES" ] || skip "needs $FEATURES (Debian package apparmor)"

T=$(mktemp -d /tmp/arktest-aa-XXXXXX)
trap 'rm -rf "$T"' EXIT

n=0
for f in "$DATA"/apparmor/*.profile; do
        apparmor_parser -QK -M "$FEATURES" "$f" >"$T/out" 2>&1 || { cat "$T/out"; fail "$f does not compile"; }
        apparmor_parser -QK -M "$FEATURES" --warn=all "$f" >"$T/warn" 2>&1 || fail "$f: --warn=all failed"
        if grep -i "not enforce" "$T/warn"; then
                fail "$f: rules would be dropped"
        fi
        # The session's profile, then the init profile of its shared spares.
        names=$(apparmor_parser -QK -M "$FEATURES" -N "$f" 2>/dev/null | tr '\n' ' ')
        case $names in
        "lxc-arkose-"*"_<"*"> lxc-arkose-"*"_<"*">-spare-init ") ;;
        *) fail "$f: unexpected profile names '$names'" ;;
        esac
        echo "ok: $(basename "$f") ($names)"
        n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n golden profiles found"

# Negative control: the same text with an invalid rule must be refused.
sed 's/^  file,$/  capability sys_bogus,/' "$DATA/apparmor/buildd.profile" >"$T/broken"
if apparmor_parser -QK -M "$FEATURES" "$T/broken" >/dev/null 2>&1; then
        fail "a broken profile compiled"
fi
echo "ok: a broken profile is refused"
