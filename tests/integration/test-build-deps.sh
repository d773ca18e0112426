#!/bin/bash
# arkose-chroot build, dependency stage: its network reaches the package sources only (a filtered network
# whose one destination is the build's proxy on the host's loopback, which serves only the hosts of the
# chroot's apt sources and of --extra-repository); an extra repository made here (a .deb built at test
# time, indexed by apt-ftparchive, signed with a throw-away key, served on the host's loopback) provides
# a build dependency; two concurrent builds share the .deb cache without colliding on apt's lock.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture bookworm
for t in dpkg-source dpkg-deb apt-ftparchive gpg nft python3; do
        command -v $t > /dev/null || skip "$t is missing on the host"
done

free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }
wait_port() { for i in $(seq 100); do (echo > "/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# Something on a host address that is not a package source: the dependency stage must not reach it.
HOSTIP=$(ip -4 -o addr show scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
[ -n "$HOSTIP" ] || skip "the host has no global IPv4 address"
PH=$(free_port "$HOSTIP")
mkdir -p "$T/www" && echo secret > "$T/www/secret.txt"
python3 -m http.server --bind "$HOSTIP" --directory "$T/www" "$PH" > /dev/null 2>&1 & PIDS="$PIDS $!"
wait_port "$HOSTIP" "$PH" || { echo "not ok - the decoy server did not start"; exit 1; }
check "the decoy server answers on the host ($HOSTIP:$PH)" sh -c "python3 -c 'import urllib.request,sys; urllib.request.urlopen(sys.argv[1])' http://$HOSTIP:$PH/secret.txt"

# The extra repository: a package arkose-test-dep built now, flat layout, InRelease signed with a new key.
export GNUPGHOME=$T/gnupg
mkdir -p "$GNUPGHOME" "$T/repo" "$T/dep/DEBIAN" "$T/dep/usr/share/arkose-test-dep" && chmod 700 "$GNUPGHOME"
printf 'Package: arkose-test-dep\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test build dependency\n' \
        > "$T/dep/DEBIAN/control"
echo "from the extra repository" > "$T/dep/usr/share/arkose-test-dep/marker"
dpkg-deb --root-owner-group --build "$T/dep" "$T/repo/arkose-test-dep_1.0_all.deb" > /dev/null
gpg --batch --quiet --passphrase '' --quick-gen-key 'arkose test repository <repo@example.org>' default default never 2> /dev/null
gpg --batch --armor --export repo@example.org > "$T/repo-key.asc"
(cd "$T/repo" && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release &&
        gpg --batch --yes --clearsign -o InRelease Release) > /dev/null 2>&1
check "the extra repository is signed" test -s "$T/repo/InRelease" -a -s "$T/repo-key.asc"
PR=$(free_port 127.0.0.1)
python3 -m http.server --bind 127.0.0.1 --directory "$T/repo" "$PR" > "$T/repo-http.log" 2>&1 & PIDS="$PIDS $!"
wait_port 127.0.0.1 "$PR" || { echo "not ok - the repository server did not start"; exit 1; }

# A package that build-depends on arkose-test-dep and ships what the build found of it.
mkdir -p "$T/src" "$T/out" "$T/out2"
cp -a "$SRC/tests/data/test-pkg" "$T/src/needs-dep"
sed -i 's/^Rules-Requires-Root: no/Rules-Requires-Root: no\nBuild-Depends: arkose-test-dep/' "$T/src/needs-dep/debian/control"
sed -i 's|^\techo "$${ARKOSE_CHROOT:-none}" > build-chroot.txt|\tcp /usr/share/arkose-test-dep/marker build-chroot.txt|' "$T/src/needs-dep/debian/rules"
grep -q 'cp /usr/share/arkose-test-dep/marker' "$T/src/needs-dep/debian/rules" || { echo "not ok - editing debian/rules"; exit 1; }

# From inside the dependency session (a --chroot-setup-commands hook, root): a direct connection to the
# decoy, the same through the proxy ($http_proxy), and the chroot's mirror through the proxy.
mirror=$(awk '$1 == "deb" { print $2; exit }' "$ARKOSE_STATE_DIR/trees/bookworm/1/rootfs/etc/apt/sources.list")
cp -a "$SRC/tests/data/test-pkg" "$T/src/plain"
cat > "$T/src/plain/probe.pl" <<'EOT'
use strict; use Socket;
my ($mode, $host, $port, $path) = @ARGV;
$SIG{ALRM} = sub { print "$mode: timeout\n"; exit 0 }; alarm 10;
my ($ch, $cp, $req) = ($host, $port, "GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
if ($mode ne "direct") {
        ($ch, $cp) = $ENV{http_proxy} =~ m{^http://([\d.]+):(\d+)/} or do { print "$mode: no proxy\n"; exit 0 };
        $req = "GET http://$host:$port$path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
}
socket(S, PF_INET, SOCK_STREAM, 0) or die;
connect(S, pack_sockaddr_in($cp, inet_aton($ch))) or do { print "$mode: connect failed ($!)\n"; exit 0 };
select((select(S), $| = 1)[0]); print S $req; my $line = <S>; $line =~ s/\r?\n//;
print "$mode: $line\n";
EOT
mhost=$(echo "$mirror" | sed -E 's|^https?://([^/:]+).*|\1|')
mpath=$(echo "$mirror" | sed -E 's|^https?://[^/]+||')/dists/bookworm/Release
# %p: the unpacked source, where probe.pl is.
probe="perl %p/probe.pl direct $HOSTIP $PH /secret.txt; perl %p/probe.pl proxied $HOSTIP $PH /secret.txt; perl %p/probe.pl mirror $mhost 80 $mpath"

# Two builds at once, in one state directory with an empty cache: each installs build-essential from the
# mirror (different dependency layers: the second has an extra package), sharing STATE/cache/apt/archives.
"$ARKOSE" build --chroot bookworm --chroot-setup-commands "$probe" --json "$T/src/plain" --output "$T/out" \
        > "$T/a.json" 2> "$T/a.err" & A=$!
"$ARKOSE" build --chroot bookworm --extra-package file --json "$T/src/plain" --output "$T/out2" > "$T/b.json" 2> "$T/b.err" & B=$!
wait $A; ra=$?; wait $B; rb=$?
expect_eq "concurrent build A succeeds ($(tail -n 1 "$T/a.err"))" 0 "$ra"
expect_eq "concurrent build B succeeds ($(tail -n 1 "$T/b.err"))" 0 "$rb"
check "both have their .deb" test -s "$T/out/test-pkg_1.0_all.deb" -a -s "$T/out2/test-pkg_1.0_all.deb"
check "no apt lock collision in either log" sh -c "! grep -qi 'could not get lock' '$T/out/test-pkg_1.0_amd64.build' '$T/out2/test-pkg_1.0_amd64.build'"
check "the shared cache holds the downloaded .debs" sh -c "ls '$ARKOSE_STATE_DIR'/cache/apt/archives/build-essential_*.deb > /dev/null"
check "B installed its extra package" grep -q "Setting up file " "$T/out2/test-pkg_1.0_amd64.build"
log=$T/out/test-pkg_1.0_amd64.build
check "the dependency stage says where it may go: $(grep -m1 'network to' "$T/a.err")" grep -q "network to $mhost:80 only" "$T/a.err"
check "a direct connection to the decoy fails: $(grep '^direct:' "$log")" sh -c "grep -q '^direct: connect failed' '$log'"
check "the proxy refuses the decoy: $(grep '^proxied:' "$log")" sh -c "grep -q '^proxied: HTTP/1.1 403' '$log'"
check "the proxy serves the mirror: $(grep '^mirror:' "$log")" sh -c "grep -q '^mirror: HTTP/1.[01] 200' '$log'"
check "the proxy logged the refusal" grep -q "proxy: denied GET $HOSTIP:$PH (not a package source)" "$log"
check "apt fetched from the mirror through the proxy" grep -q "^proxy: GET $mhost:80/" "$T/out2/test-pkg_1.0_amd64.build"
# The proxy is a forked arkose-chroot: none with our state directory may be left.
ours() { for p in $(pgrep -x arkose-chroot); do grep -qz "^ARKOSE_STATE_DIR=$ARKOSE_STATE_DIR\$" /proc/$p/environ 2>/dev/null && echo $p; done; }
check "no proxy process is left" test -z "$(ours)"
check "the dependency layers hold no mount point of the builds" \
        sh -c "! ls -d '$ARKOSE_STATE_DIR'/cache/deps/*/upper'$ARKOSE_STATE_DIR' 2>/dev/null | grep -q ."
check "no nftables table or veth of our sessions is left" no_net_leftovers

# The extra repository, signed, with its key: the build dependency comes from it.
repo="deb http://127.0.0.1:$PR/ ./"
"$ARKOSE" build --chroot bookworm --extra-repository "$repo" --extra-repository-key "$T/repo-key.asc" \
        "$T/src/needs-dep" --output "$T/out" > "$T/c.out" 2>&1; rc=$?
expect_eq "a build whose dependency is in the extra repository succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$T/c.out"
got=$(dpkg-deb --fsys-tarfile "$T/out/test-pkg_1.0_all.deb" | tar -xO ./usr/share/doc/test-pkg/build-chroot.txt)
expect_eq "the build found the dependency's file" "from the extra repository" "$got"
check "the repository was fetched through the proxy" grep -q "^proxy: GET 127.0.0.1:$PR/.*arkose-test-dep_1.0_all.deb" "$T/out/test-pkg_1.0_amd64.build"
check "the repository's source and key are not left in the dependencies layer" \
        sh -c "! ls '$ARKOSE_STATE_DIR'/cache/deps/*/upper/etc/apt/sources.list.d/arkose-build-extra.list '$ARKOSE_STATE_DIR'/cache/deps/*/upper/etc/apt/trusted.gpg.d/arkose-build-extra-* 2>/dev/null | grep -q ."

# Without the key apt refuses the repository: the dependency stage fails, named.
"$ARKOSE" build --chroot bookworm --extra-repository "$repo" --json "$T/src/needs-dep" --output "$T/out" \
        > "$T/d.json" 2> "$T/d.err"; rc=$?
check "without its key the build fails ($rc)" test "$rc" -ne 0
check "at stage 'dependencies': $(tail -n 1 "$T/d.err")" grep -q '"stage": "dependencies"' "$T/d.json"
# Bad --extra-repository lines: one line, non-zero.
for bad in "http://127.0.0.1/ ./" "deb ftp://h/ bookworm main" "deb http://h/"; do
        err=$("$ARKOSE" build --chroot bookworm --extra-repository "$bad" "$T/src/plain" 2>&1); rc=$?
        check "--extra-repository '$bad' is refused in one line ($err)" test "$rc" -ne 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1
done
finish
