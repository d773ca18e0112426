#!/bin/bash
# Applies a golden filtered-network ruleset (tests/data/netpolicy/filtered.nft) the way a session would
# (lib/netpolicy.h: nft -f, the veth pair, eth0's address and route, the host-side sysctls and address)
# and checks what gets through. Everything happens in throwaway network namespaces: "host" (this
# script, re-executed under unshare --net), "session" and "lan" (sleeping processes with a network
# namespace each); the machine's own network is never touched.
#
# The ruleset (profile tests/data/profiles/good-filtered.conf, dns = yes, nameservers 127.0.0.53 and
# 192.168.1.1): session 10.213.0.22/30 on eth0, host end ark-1a2b3c4d 10.213.0.21; allowed:
# 127.0.0.1:3142/tcp (the host's loopback, reached at 10.213.0.21), 192.168.1.10:80/tcp (routed), DNS
# to 127.0.0.53 (at 10.213.0.21) and 192.168.1.1. Needs root, nft, ip, unshare, nsenter, python3.
. "$(dirname "$0")/lib.sh"

need_root
need_cmd nft ip unshare nsenter python3

if [ "${ARK_NETNS_INSIDE:-}" != 1 ]; then
        exec env ARK_NETNS_INSIDE=1 unshare --net -- bash "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
NC="python3 $HERE/netcheck.py"
RULES=$DATA/netpolicy/filtered.nft
IF=ark-1a2b3c4d
PIDS=""
cleanup() {
        local rc=$?
        for p in $PIDS; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        exit $rc
}
trap cleanup EXIT

bg() { # runs "$@" in the background and remembers its PID
        "$@" &
        PIDS="$PIDS $!"
}

ip link set lo up
bg unshare --net sleep 600
S=$!
bg unshare --net sleep 600
L=$!
sleep 0.2

# 1. The ruleset first, before the link exists: it matches the interface by name.
nft -f "$RULES" || fail "nft -f $RULES"

# 2. What LXC does for lxc.net.0.* (type veth, veth.pair, name eth0, ipv4.address, ipv4.gateway).
ip link add "$IF" type veth peer name eth0 netns "$S"
nsenter -t "$S" -n sh -ec 'ip link set lo up; ip addr add 10.213.0.22/30 dev eth0; ip link set eth0 up
        ip route add default via 10.213.0.21'
ip link set "$IF" up

# 3. The host side: sysctls, then the address. Forwarding (needs_forwarding) in this namespace only.
echo 1 >/proc/sys/net/ipv6/conf/$IF/disable_ipv6
echo 1 >/proc/sys/net/ipv4/conf/$IF/route_localnet
ip addr add 10.213.0.21/30 dev "$IF"
echo 1 >/proc/sys/net/ipv4/ip_forward

# A LAN with a web server and a resolver behind the host.
ip link add lan0 type veth peer name eth0 netns "$L"
ip addr add 192.168.1.254/24 dev lan0
ip link set lan0 up
nsenter -t "$L" -n sh -ec 'ip link set lo up; ip addr add 192.168.1.10/24 dev eth0
        ip addr add 192.168.1.1/24 dev eth0; ip link set eth0 up; ip route add default via 192.168.1.254'

# Services.
bg $NC serve tcp 127.0.0.1 3142
bg $NC serve tcp 127.0.0.1 3143
bg $NC serve udp 127.0.0.53 53
bg nsenter -t "$L" -n $NC serve tcp 192.168.1.10 80
bg nsenter -t "$L" -n $NC serve tcp 192.168.1.10 81
bg nsenter -t "$L" -n $NC serve udp 192.168.1.1 53
bg nsenter -t "$L" -n $NC serve udp 192.168.1.1 54
bg nsenter -t "$S" -n $NC serve tcp 0.0.0.0 7000
# The services start in the background: wait for the host's two TCP ones (a loaded machine is slow).
for port in 3142 3143; do
        for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
sleep 0.5

from_session() { nsenter -t "$S" -n $NC connect "$@"; }
expect_ok() { # WHERE... expected-answer-prefix
        local want=$1 out
        shift
        out=$("$@") || fail "no answer from '$*': $out"
        case $out in "$want"*) echo "ok: $* -> $out" ;; *) fail "'$*' answered '$out', not '$want...'" ;; esac
}
expect_none() {
        local out
        if out=$("$@"); then fail "'$*' answered '$out' but must not"; fi
        echo "ok: $* -> $out"
}

# The listed host loopback port answers at the gateway address; the next port does not.
expect_ok "127.0.0.1:3142/tcp 10.213.0.22" from_session tcp 10.213.0.21 3142
expect_none from_session tcp 10.213.0.21 3143
expect_none from_session tcp 10.213.0.21 22
# Routed and masqueraded to the listed LAN port only.
expect_ok "192.168.1.10:80/tcp 192.168.1.254" from_session tcp 192.168.1.10 80
expect_none from_session tcp 192.168.1.10 81
# DNS, both resolvers, port 53 only.
expect_ok "127.0.0.53:53/udp 10.213.0.22" from_session udp 10.213.0.21 53
expect_ok "192.168.1.1:53/udp 192.168.1.254" from_session udp 192.168.1.1 53
expect_none from_session udp 192.168.1.1 54
# Nothing from the LAN into the session; the host itself may connect.
nsenter -t "$L" -n ip route add 10.213.0.0/16 via 192.168.1.254
expect_none nsenter -t "$L" -n $NC connect tcp 10.213.0.22 7000
expect_ok "0.0.0.0:7000/tcp 10.213.0.21" $NC connect tcp 10.213.0.22 7000

# 4. Teardown: one command removes the session's table.
nft delete table inet arkose-1a2b3c4d
if nft list table inet arkose-1a2b3c4d >/dev/null 2>&1; then fail "the table is still there"; fi
echo "ok: table deleted"
