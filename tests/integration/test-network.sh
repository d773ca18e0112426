#!/bin/bash
# Networking is off by default: only loopback, and a server on the host's loopback is unreachable.
. "$(dirname "$0")/lib.sh"
use_fixture
command -v python3 >/dev/null || skip "python3 missing"

ifaces=$("$ARKOSE" -c fx -- sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
expect_eq "/proc/net/dev shows only lo" "lo" "$ifaces"
expect_eq "lo is up" "up" "$("$ARKOSE" -c fx -- sh -c 'cat /sys/class/net/lo/operstate | sed s/unknown/up/')"

# A server on host loopback, which answers from the host.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
check "the test server answers on the host" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
"$ARKOSE" -c fx -- bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; rc=$?
check "a TCP connect to the host's loopback server fails inside ($rc)" test "$rc" -ne 0
"$ARKOSE" -c fx --network host -- bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"; rc=$?
expect_eq "with --network host the server is reachable" 0 "$rc"
finish
