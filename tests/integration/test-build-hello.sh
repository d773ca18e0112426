#!/bin/bash
# A real Debian source package with build dependencies (hello, fetched from the host's mirror at test
# time with apt-get source in a private apt configuration): dependencies from the mirror, the build
# offline. The minbase fixture gets build-essential and debhelper in the dependencies layer.
. "$(dirname "$0")/lib.sh"
use_versioned_fixture bookworm

# The host's mirror, as arkose-chroot finds it (first "URIs:" or "deb" line that is not security).
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || skip "no Debian mirror in the host's apt sources"
mkdir -p "$T/apt/lists/partial" "$T/apt/cache/archives/partial" "$T/hello"
echo "deb-src $mirror bookworm main" > "$T/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$T/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
          -o Dir::State::Lists="$T/apt/lists" -o Dir::Cache="$T/apt/cache" -o APT::Sandbox::User=root)
apt-get -q "${apt_opts[@]}" update > "$T/apt.log" 2>&1 || { tail "$T/apt.log"; skip "cannot reach the mirror's sources"; }
(cd "$T/hello" && apt-get -q "${apt_opts[@]}" source --download-only hello > "$T/apt.log" 2>&1) || { tail "$T/apt.log"; echo "not ok - apt-get source hello"; exit 1; }
dsc=$(ls "$T"/hello/hello_*.dsc | head -n 1)
check "apt-get source fetched $(basename "$dsc")" test -f "$dsc"

mkdir -p "$T/out"
start=$(date +%s)
"$ARKOSE" build --chroot bookworm "$dsc" --output "$T/out" > "$T/build.out" 2>&1; rc=$?
echo "# build took $(( $(date +%s) - start )) s"
expect_eq "arkose-chroot build of hello" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T/build.out"
check "hello_*_amd64.deb is in the output" sh -c "ls '$T'/out/hello_*_amd64.deb > /dev/null"
check "but not the .orig tarball, which a binary build's .changes does not name (as sbuild)" \
        sh -c "! ls '$T'/out/*.orig.tar.* 2> /dev/null"
check "the log shows the build ran offline as nobody" grep -q "as 'nobody', network off" "$T/build.out"
check "the dependencies came from the mirror (debhelper installed in the layer)" \
        sh -c "grep -q 'debhelper' '$T'/out/hello_*.build"
# A second build of the same package reuses the dependencies layer.
start=$(date +%s)
"$ARKOSE" build --chroot bookworm "$dsc" --output "$T/out" > "$T/build2.out" 2>&1; rc=$?
echo "# rebuild took $(( $(date +%s) - start )) s"
expect_eq "rebuild" 0 "$rc"
check "the rebuild reused the dependencies layer" grep -q "^Reusing the build dependencies" "$T/build2.out"
finish
