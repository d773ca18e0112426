#!/bin/bash
# completions/arkose-chroot, run by bash as completion runs it (COMP_WORDS, COMP_CWORD, the function
# complete -F names), completes what the program takes: every long option of its option table and of
# its --help (and nothing it does not take), every verb main() dispatches, the build options after
# "build", chroot names from "list" after -c, the shipped profiles after --profile, network modes,
# a command after "--". A completion with an option taken out must fail (not vacuous). No root.
. "$(dirname "$0")/lib.sh"

ARKOSE=${ARKOSE:?ARKOSE must point at the arkose-chroot binary}
need_cmd python3

T=$(mktemp -d /tmp/arktest-compl-XXXXXX)
trap 'rm -rf "$T"' EXIT
export ARKOSE_STATE_DIR=$T/state ARKOSE_CONFIG_DIR=$T/etc ARKOSE_DATA_DIR=$SRC
mkdir -p "$ARKOSE_STATE_DIR" "$ARKOSE_CONFIG_DIR/chroots.d"
printf '[chroot]\ndescription = completion test\nsuite = bookworm\n' > "$ARKOSE_CONFIG_DIR/chroots.d/zzcomplete.conf"

# complete FILE WORD...: what the completion in FILE offers for the last WORD (the one being typed).
complete_words() {
        local file=$1; shift
        bash -c '
                set +u
                source "$1"; shift
                fn=$(complete -p arkose-chroot | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
                "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                printf "%s\n" "${COMPREPLY[@]}"' - "$file" "$@"
}

# offers WHAT FILE EXPECTED WORD...: the completion of WORD... includes EXPECTED.
offers() {
        local what=$1 file=$2 expected=$3; shift 3
        complete_words "$file" "$@" | grep -qxF -- "$expected" || { echo "not offered: $what ($expected)"; return 1; }
}

# check_options FILE: the drift checks for options and verbs.
check_options() {
        local file=$1 bad=0 o v
        "$ARKOSE" --help | sed -n '/^Options:$/,$p' | grep -o -- '--[a-z][a-zA-Z0-9-]*' | sort -u > "$T/help"
        [ "$(wc -l < "$T/help")" -gt 20 ] || { echo "only $(wc -l < "$T/help") options in --help"; return 1; }
        python3 - "$SRC/cmd/arkose-chroot.c" > "$T/table" <<'EOF' || return 1
import re, sys
body = open(sys.argv[1]).read()
table = re.search(r'static const struct option \w+\[\] = \{(.*?)\n\s*\};', body, re.S).group(1)
print('\n'.join('--' + o for o in sorted(set(re.findall(r'\{ "([a-zA-Z0-9-]+)",', table)))))
EOF
        { complete_words "$file" "$ARKOSE" --; complete_words "$file" "$ARKOSE" build --; } | sort -u > "$T/offered"
        for o in $(sort -u "$T/help" "$T/table"); do
                grep -qxF -- "$o" "$T/offered" || { echo "option not completed: $o"; bad=1; }
        done
        for o in $(cat "$T/offered"); do
                grep -qxF -- "$o" "$T/table" || { echo "completed, but not an option of the program: $o"; bad=1; }
        done
        for v in $(grep -o 'streq(verb, "[a-z-]*")' "$SRC/cmd/arkose-chroot.c" | cut -d'"' -f2 | sort -u); do
                offers "verb $v" "$file" "$v" "$ARKOSE" "" || bad=1
        done
        return $bad
}

C=$SRC/completions/arkose-chroot
check_options "$C" || fail "the completion does not match the program's options and verbs"
echo "ok: every option and verb of the program is completed, and no other option"

offers "chroot names after -c" "$C" zzcomplete "$ARKOSE" -c zz || fail "-c does not complete chroot names"
offers "chroot names after a verb" "$C" zzcomplete "$ARKOSE" update "" || fail "update does not complete chroot names"
offers "a build option after build" "$C" --extra-repository "$ARKOSE" build --extra-r || fail "build options"
offers "a profile after --profile" "$C" buildd "$ARKOSE" -c zzcomplete --profile "" || fail "--profile"
offers "network modes" "$C" filtered "$ARKOSE" -c zzcomplete --network f || fail "--network"
offers "a command after --" "$C" bash "$ARKOSE" -c zzcomplete -- bas || fail "a command after --"
if complete_words "$C" "$ARKOSE" -c zzcomplete "" | grep -qxF create; then
        fail "verbs offered where the command of a session goes"
fi
echo "ok: chroot names, build options, profiles, network modes and commands are completed where they go"

# Not vacuous: without --tmpfs, the drift check fails.
sed 's/ --tmpfs / /' "$C" > "$T/broken"
cmp -s "$T/broken" "$C" && fail "self-check: --tmpfs not found to take out"
check_options "$T/broken" > /dev/null && fail "self-check: a completion without --tmpfs passed"
echo "ok: a completion with an option taken out fails"
