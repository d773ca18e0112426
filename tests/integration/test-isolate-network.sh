#!/bin/bash
# --isolate-network, schroot's option as sbuild >= 0.89 passes it for the build step: the command runs with
# no network but loopback even in a session that has one (--network host or filtered, which installing the
# build dependencies needs). Real containers; the network to keep out of reach is a loopback HTTP server
# of the host, which a --network host session reaches.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
command -v python3 >/dev/null || skip "python3 is not installed"
use_fixture
cd "$T"

mkdir -p "$T/www"; echo served > "$T/www/hello.txt"
python3 "$HERE/http-fixture.py" "$T/www" "$T/port" & PIDS="$PIDS $!"
for _ in $(seq 600); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { echo "not ok - the host's HTTP server did not start"; exit 1; }
PORT=$(cat "$T/port")
# The last line of GET /hello.txt from the host's loopback server, over bash's /dev/tcp.
GET="exec 3<>/dev/tcp/127.0.0.1/$PORT && printf 'GET /hello.txt HTTP/1.0\r\n\r\n' >&3 && tail -n 1 <&3"
IFACES="tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ' | sed 's/ \$//'"
# A listener and a connection on the command's own loopback (perl-base is Essential).
LOOP='use IO::Socket::INET; my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)
        or die "listen: $!\n"; IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $l->sockport)
        or die "connect: $!\n"; print "loopback\n"'
no_sessions() { [ -z "$(ls -A "$ARKOSE_STATE_DIR/sessions" 2>/dev/null)" ]; }

# ---- a session that has the host's network ----
S=$("$ARKOSE" -c chroot:fx --begin-session -d / --network host)
expect_eq "begin a --network host session" 0 $?
R() { "$ARKOSE" -c "session:$S" --run-session -d / "$@"; }
expect_eq "without the option: the host's loopback server answers" served "$(R -u nobody -- bash -c "$GET")"
check "without the option: the host's interfaces" test "$(R -u root -- sh -c "$IFACES")" != lo

expect_eq "--isolate-network: /proc/net/dev shows only lo" lo "$(R --isolate-network -u root -- sh -c "$IFACES")"
expect_eq "--isolate-network: lo is up" 0x9 "$(R --isolate-network -u root -- cat /sys/class/net/lo/flags)"
out=$(R --isolate-network -u nobody -- bash -c "$GET" 2>&1); rc=$?
check "--isolate-network: the host's loopback server is out of reach (status $rc)" test "$rc" -ne 0
check "--isolate-network: nothing came from it" eval '! grep -q served <<<"$out"'
check "--isolate-network: as root too" not R --isolate-network -u root -- bash -c "$GET" 2>/dev/null
expect_eq "--isolate-network: its own loopback works" loopback "$(R --isolate-network -u nobody -- perl -e "$LOOP")"
# sbuild's argument order for the build: -d DIR -c ID --run-session -q -u USER -p --isolate-network -- CMD
expect_eq "sbuild's command line" lo \
        "$("$ARKOSE" -d / -c "$S" --run-session -q -u nobody -p --isolate-network -- sh -c "$IFACES")"
# Otherwise the command runs as it would without the option.
expect_eq "--isolate-network: same user and groups" "$(R -u nobody -- id)" "$(R --isolate-network -u nobody -- id)"
expect_eq "--isolate-network: root keeps the session's capabilities, no more" \
        "$(R -u root -- grep -E '^Cap(Eff|Bnd)' /proc/self/status)" \
        "$(R --isolate-network -u root -- grep -E '^Cap(Eff|Bnd)' /proc/self/status)"
expect_eq "--isolate-network: another user has no capabilities" "CapEff:	0000000000000000" \
        "$(R --isolate-network -u nobody -- grep ^CapEff /proc/self/status)"
expect_eq "--isolate-network: the same no_new_privs" "$(R -u nobody -- grep ^NoNewPrivs /proc/self/status)" \
        "$(R --isolate-network -u nobody -- grep ^NoNewPrivs /proc/self/status)"
expect_eq "--isolate-network: working directory" /tmp "$(R --isolate-network -u nobody -d /tmp -- pwd)"
expect_eq "--isolate-network: stdin passes through" abc "$(printf abc | R --isolate-network -u nobody -- cat)"
R --isolate-network -u nobody -- sh -c 'exit 7'
expect_eq "--isolate-network: the command's exit status" 7 $?
R --isolate-network -u nobody -- /nonexistent 2>/dev/null
expect_eq "--isolate-network: a missing command is 127" 127 $?
expect_eq "afterwards, without the option: the session's network is still there" served \
        "$(R -u nobody -- bash -c "$GET")"
"$ARKOSE" -c "session:$S" --end-session
expect_eq "end the session" 0 $?

# ---- a filtered session (the profiles' network for installing build dependencies) ----
S=$("$ARKOSE" -c chroot:fx --begin-session -d / --network filtered)
expect_eq "begin a --network filtered session" 0 $?
check "filtered: the session has an interface besides lo" test "$(R -u root -- sh -c "$IFACES")" != lo
expect_eq "filtered, --isolate-network: only lo" lo "$(R --isolate-network -u root -- sh -c "$IFACES")"
"$ARKOSE" -c "session:$S" --end-session
expect_eq "end the filtered session" 0 $?

# ---- one-shot: the session gets no network ----
expect_eq "one-shot --network host reaches the server" served \
        "$("$ARKOSE" -c fx --network host -u nobody -d / -- bash -c "$GET")"
expect_eq "one-shot --network host --isolate-network: only lo" lo \
        "$("$ARKOSE" -c fx --network host --isolate-network -u root -d / -- sh -c "$IFACES")"
check "one-shot --isolate-network: the server is out of reach" \
        not "$ARKOSE" -c fx --network host --isolate-network -u nobody -d / -- bash -c "$GET" 2>/dev/null

# ---- where it does not belong: one line, status 2, nothing started ----
misuse() {      # misuse DESCRIPTION ARGS...
        local what=$1 err
        shift
        "$ARKOSE" "$@" >/dev/null 2>"$T/err"
        expect_eq "$what: exit status" 2 $?
        err=$(cat "$T/err")
        check "$what: says so in one line" test "$(wc -l <"$T/err")" = 1 -a -n "$(grep -- --isolate-network <<<"$err")"
}
misuse "--begin-session --isolate-network" -c chroot:fx --begin-session --isolate-network
misuse "list --isolate-network" list --isolate-network
check "no session left" no_sessions

finish
