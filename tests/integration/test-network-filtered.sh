#!/bin/bash
# network = filtered: a veth pair and an nftables table that let only the listed host port through.
. "$(dirname "$0")/lib.sh"
use_fixture
command -v nft > /dev/null || skip "nft is missing"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
python3 -m http.server --bind 127.0.0.1 "$P1" > /dev/null 2>&1 & PIDS="$PIDS $!"
python3 -m http.server --bind 127.0.0.1 "$P2" > /dev/null 2>&1 & PIDS="$PIDS $!"
for port in $P1 $P2; do
        for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
cat > "$ARKOSE_CONFIG_DIR/profiles.d/filtered.conf" <<EOT
[profile]
description = test: only port $P1 of the host's loopback
[network]
mode = filtered
allow = 127.0.0.1:$P1
EOT

# Connects from inside to the gateway (the host end of the veth) on a port: exit 0 when it answers.
probe='gw=$(awk '"'"'$2 == "00000000" { print $3 }'"'"' /proc/net/route | head -n 1)
perl -MSocket -e '"'"'
        my ($hex, $port) = @ARGV; my $ip = join(".", reverse unpack("C4", pack("H8", $hex)));
        socket(S, PF_INET, SOCK_STREAM, 0) or exit 3;
        $SIG{ALRM} = sub { exit 4 }; alarm 3;
        connect(S, pack_sockaddr_in($port, inet_aton($ip))) or exit 1; exit 0'"'"' "$gw" "$1"'
"$ARKOSE" -c fx --profile filtered -- sh -c "$probe" sh "$P1"; expect_eq "the listed host port answers" 0 $?
"$ARKOSE" -c fx --profile filtered -- sh -c "$probe" sh "$P2"; rc=$?
check "another host port does not ($rc)" test "$rc" -ne 0
"$ARKOSE" -c fx --network filtered -- sh -c "$probe" sh "$P1"; rc=$?
check "--network filtered with buildd's empty list lets nothing through ($rc)" test "$rc" -ne 0
ifs=$("$ARKOSE" -c fx --profile filtered -- cat /proc/net/dev | awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' | sort | tr '\n' ' ')
expect_eq "the session has loopback and its veth" "eth0 lo " "$ifs"
# A detached session keeps its address (slot) without holding its lock: a one-shot session started
# meanwhile gets another one, and both reach the listed port.
gw='awk '"'"'$2 == "00000000" { print $3 }'"'"' /proc/net/route | head -n 1'
det=$("$ARKOSE" -c fx -b --profile filtered)
det_gw=$("$ARKOSE" -c "$det" -r -- sh -c "$gw")
one_gw=$("$ARKOSE" -c fx --profile filtered -- sh -c "$gw")
check "a one-shot session does not take a detached session's address ($det_gw, $one_gw)" \
        test -n "$det_gw" -a -n "$one_gw" -a "$det_gw" != "$one_gw"
"$ARKOSE" -c "$det" -r -- sh -c "$probe" sh "$P1"; expect_eq "the detached session reaches the listed port" 0 $?
# Links are claimed for the whole host: a session of another state directory, started meanwhile, gets
# another address too (two state directories used to both take the range's first link).
other=$T/other-state
mkdir -p "$other"
oth_gw=$(ARKOSE_STATE_DIR=$other "$ARKOSE" -c fx --profile filtered -- sh -c "$gw")
check "another state directory's session does not take the detached session's address ($det_gw, $oth_gw)" \
        test -n "$oth_gw" -a "$det_gw" != "$oth_gw"
check "the host's claim of the detached session's link names its state directory and id" \
        sh -c "grep -l '\"session\":\"$det\"' /run/arkose/net/[0-9]* | xargs grep -q '\"state_dir\":\"$ARKOSE_STATE_DIR\"'"
"$ARKOSE" -c "$det" -e
check "no nftables table or veth of our sessions is left" no_net_leftovers
check "the host-wide claims of their links are released" \
        sh -c "! grep -l -e '\"state_dir\":\"$ARKOSE_STATE_DIR\"' -e '\"state_dir\":\"$other\"' /run/arkose/net/[0-9]* 2>/dev/null"
check "none named after the detached session either" sh -c "! nft list tables | grep -qw 'arkose-${det##*-}' && ! ip -o link | grep -q ' ark-${det##*-}[@:]'"
finish
