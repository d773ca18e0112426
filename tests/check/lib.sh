# Shared by tests/check/test-*.sh: checks of generated text (AppArmor profiles, nftables rulesets)
# by the real tools, without containers or the shared fixture tree.
set -u

SRC=${ARKOSE_SRC:?ARKOSE_SRC must point at the source tree}
DATA=$SRC/tests/data

skip() {
        echo "SKIP: $*"
        if [ "${ARK_TESTS_MUST_RUN:-0}" = 1 ]; then
                echo "FAIL: ARK_TESTS_MUST_RUN=1 and the test would be skipped"
                exit 1
        fi
        exit 77
}

need_root() {
        [ "$(id -u)" = 0 ] || skip "needs root"
}

need_cmd() {
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || skip "needs $c"
        done
}

fail() {
        echo "FAIL: $*"
        exit 1
}
