#!/bin/bash
# The manual pages (man/) render without a warning, as lintian checks them, and do not drift from
# the programs: every long option of arkose-chroot and autopkgtest-virt-arkose (their option tables and
# their --help) is a tagged paragraph of its page, and every option tagged there is one the program
# takes; every verb main() dispatches is a tag of VERBS; every key the configuration parsers take
# (lib/config.c, lib/config-profile.c) is a tag of its section of arkose.conf(5). A page with an option
# taken out must fail (the check is not vacuous). No root, no network.
. "$(dirname "$0")/lib.sh"

ARKOSE=${ARKOSE:?ARKOSE must point at the arkose-chroot binary}
VIRT=${ARKOSE_VIRT:?ARKOSE_VIRT must point at the autopkgtest-virt-arkose binary}
need_cmd man groff python3

T=$(mktemp -d /tmp/arktest-man-XXXXXX)
trap 'rm -rf "$T"' EXIT

for page in "$SRC"/man/*.[1-8]; do
        LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" \
                >/dev/null 2>"$T/warn" || fail "$page: man failed"
        if [ -s "$T/warn" ]; then
                cat "$T/warn"
                fail "$(basename "$page"): groff warnings"
        fi
        echo "ok: $(basename "$page") renders without warnings"
done

"$ARKOSE" --help > "$T/arkose.help" || fail "arkose-chroot --help failed"
"$VIRT" --help > "$T/virt.help" || fail "autopkgtest-virt-arkose --help failed"

# check_page PAGE: the drift checks above, for one page (arkose-chroot.1, autopkgtest-virt-arkose.1 or
# arkose.conf.5) read from $2 (default: the repository's).
check_page() {
        python3 - "$1" "${2:-$SRC/man/$1}" "$SRC" "$T" <<'EOF'
import re, sys

name, path, src, tmp = sys.argv[1:5]

def norm(line):
    line = line.replace('\\-', '-').replace('\\&', '').replace('\\(aq', "'")
    line = re.sub(r'\\f[BIRP]', '', line)
    line = re.sub(r'^\.(B|I|BI|BR|IB|IR|RB|RI)\s+', '', line)
    return line.replace('"', '')

# Tags (the line after each .TP) of each section (.SH).
tags, section, prev = {}, None, None
for line in open(path):
    line = line.rstrip('\n')
    if line.startswith('.SH '):
        section = line[4:].strip().strip('"')
    elif prev == '.TP':
        tags.setdefault(section, []).append(norm(line))
    prev = line.strip()

def options_in(text):
    return set(re.findall(r'(?<![\w-])--([a-z][a-zA-Z0-9-]*)', text))

def table_options(cfile):
    body = open(cfile).read()
    table = re.search(r'static const struct option \w+\[\] = \{(.*?)\n\s*\};', body, re.S).group(1)
    return set(re.findall(r'\{ "([a-zA-Z0-9-]+)",', table))

bad = []
if name.endswith('.1'):
    prog = {'arkose-chroot.1': ('cmd/arkose-chroot.c', 'arkose.help'),
            'autopkgtest-virt-arkose.1': ('sbuild-integration/autopkgtest-virt-arkose.c', 'virt.help')}[name]
    taken = table_options(f'{src}/{prog[0]}')
    helped = options_in(open(f'{tmp}/{prog[1]}').read().partition('\nOptions:\n')[2])
    if len(helped) < 5:
        bad.append(f'only {len(helped)} options found in --help: the extraction is broken')
    tagged = set()
    for sec in ('OPTIONS', 'BUILD OPTIONS'):
        for t in tags.get(sec, []):
            tagged |= options_in(t)
    bad += [f'--{o}: in the program, not a tag of OPTIONS' for o in sorted((taken | helped) - tagged)]
    bad += [f'--{o}: tagged, but the program has no such option' for o in sorted(tagged - taken)]
    if name == 'arkose-chroot.1':
        verbs = set(re.findall(r'streq\(verb, "([a-z-]+)"\)', open(f'{src}/cmd/arkose-chroot.c').read()))
        first = {seg.split()[0] for t in tags.get('VERBS', []) for seg in t.split(',') if seg.split()}
        bad += [f'verb {v}: not a tag of VERBS' for v in sorted(verbs - first)]
else:
    cfg = open(f'{src}/lib/config.c').read()
    prof = open(f'{src}/lib/config-profile.c').read()
    want = [('MAIN CONFIGURATION', None, k) for k in re.findall(r'MAIN_KEY\("([a-z-]+)"', cfg)]
    want += [('CHROOT DEFINITIONS', None, k) for k in re.findall(r'DEF_KEY\("([a-z0-9-]+)"', cfg)]
    want += [('SESSION PROFILES', s, k) for s, k in
             re.findall(r'(?:PKEY|PLIST)\("([a-z]+)", "([a-z-]+)"', prof) +
             re.findall(r'\{ "([a-z]+)", "([a-z-]+)", parse_', prof)]
    if len(want) < 40:
        bad.append(f'only {len(want)} keys found in the parsers: the extraction is broken')
    for sec, group, key in want:
        ok = any(re.search(rf'(^|[\s,])({re.escape(key)}) =', t) and (group is None or f'[{group}]' in t)
                 for t in tags.get(sec, []))
        if not ok:
            bad.append(f'{"[" + group + "] " if group else ""}{key}: not a tag of {sec}')
for b in bad:
    print(f'{name}: {b}')
sys.exit(1 if bad else 0)
EOF
}

for page in arkose-chroot.1 autopkgtest-virt-arkose.1 arkose.conf.5; do
        check_page "$page" || fail "$page does not match the program"
        echo "ok: $page documents every option, verb and key, and no other option"
done

# Not vacuous: the page without --tmpfs's paragraph, and arkose.conf(5) without hook-timeout's, fail.
sed '/^\.B \\-\\-tmpfs$/d' "$SRC/man/arkose-chroot.1" > "$T/a.1"
cmp -s "$T/a.1" "$SRC/man/arkose-chroot.1" && fail "self-check: --tmpfs's tag not found to remove"
check_page arkose-chroot.1 "$T/a.1" >/dev/null && fail "self-check: a page without --tmpfs passed"
sed 's/^\.BI "hook\\-timeout = "/.BI "hook\\-timeoutx = "/' "$SRC/man/arkose.conf.5" > "$T/c.5"
cmp -s "$T/c.5" "$SRC/man/arkose.conf.5" && fail "self-check: hook-timeout's tag not found"
check_page arkose.conf.5 "$T/c.5" >/dev/null && fail "self-check: a page without hook-timeout passed"
echo "ok: pages with an option or a key taken out fail"
