#!/bin/bash
# A profile's [limits] (memory, pids, cpu) are enforced by the kernel on the session, through the cgroups
# liblxc makes for it: a process that asks for more memory than the limit is killed, a fork past the pids
# limit fails, the CPU quota shows in the session's cgroup, and what stays under the limits runs. Also for a
# command run in a detached session (--run-session: a child of the container's init, in its cgroup), and for
# a user who is not root. A profile without [limits] gets no cgroup of its own (the buildd default).
# perl-base (in every Debian tree) makes the processes and the allocations.
. "$(dirname "$0")/lib.sh"
use_fixture
mkdir -p "$ARKOSE_CONFIG_DIR/profiles.d"
cat > "$ARKOSE_CONFIG_DIR/profiles.d/lim.conf" <<'EOT'
[profile]
description = limits test
[limits]
memory = 96M
pids = 40
cpu-quota = 50%
EOT

# The cgroup of the session's processes, as the host sees it: "HIERARCHY:PATH" lines of /proc/PID/cgroup.
host_cgroup_file() {    # host_cgroup_file PID CONTROLLER FILE: that file of PID's cgroup, v1 or v2
        local line path
        line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup")
        if [ -n "$line" ]; then
                path=${line#*:*:}
                cat "/sys/fs/cgroup/$2$path/$3"
        else
                path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
                cat "/sys/fs/cgroup$path/$3" 2>/dev/null || cat "/sys/fs/cgroup/unified$path/$3"
        fi
}
v1_or_v2() {    # the v1 file name, else the v2 one, of the memory limit
        if grep -qE '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' /proc/self/cgroup; then echo memory.limit_in_bytes; else echo memory.max; fi
}

# Under the limits: small allocations and a few processes work.
check "32 MB of memory under a 96 MB limit" "$ARKOSE" -c fx --profile lim -- perl -e '$x = "a" x (32 << 20); exit 0'
check "ten processes under a limit of 40" "$ARKOSE" -c fx --profile lim -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.2 & done; wait'

# Over them.
"$ARKOSE" -c fx --profile lim -- perl -e '$x = "a" x (400 << 20); print "survived\n"' > "$T/mem.out" 2> "$T/mem.err"; rc=$?
check "asking for 400 MB under a 96 MB limit: killed before it got there (status $rc, SIGKILL is 137)" \
        sh -c "[ '$rc' = 137 ] && ! grep -q survived '$T/mem.out'"
out=$("$ARKOSE" -c fx --profile lim -- sh -c 'n=0; while [ $n -lt 80 ]; do sleep 3 & n=$((n + 1)); done; echo started $n' 2>&1)
check "starting 80 processes under a limit of 40 fails (fork: ...)" sh -c "printf '%s' \"\$1\" | grep -qi -e 'fork' -e 'resource temporarily unavailable' && ! printf '%s' \"\$1\" | grep -q 'started 80'" - "$out"

# The host pid of the "sleep 5.PID" a session runs (this test's only; in a PID namespace of its own), waiting
# 5 s at most for it to start; nothing when it does not.
session_sleep_pid() {
        local pid _
        for _ in $(seq 50); do
                pid=$(pgrep -f "^sleep 5\\.$$\$" | while read -r p; do
                        [ "$(readlink "/proc/$p/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] && echo "$p"; done | head -n 1)
                [ -n "$pid" ] && { echo "$pid"; return; }
                sleep 0.1
        done
}

# What the kernel was told: the session's own cgroup has the values (read from the host, by the command's pid;
# "sleep 5.PID" is this test's only).
"$ARKOSE" -c fx --profile lim -- sleep "5.$$" & SESSION_PID=$!; PIDS="$PIDS $SESSION_PID"
inner=$(session_sleep_pid)
check "the session's command is found on the host ($inner)" test -n "$inner"
if [ -n "$inner" ]; then
        expect_eq "its memory limit is 96 MB" $((96 << 20)) "$(host_cgroup_file "$inner" memory "$(v1_or_v2)")"
        pids_max=$(host_cgroup_file "$inner" pids pids.max)
        expect_eq "its pids limit is 40" 40 "$pids_max"
        if grep -qE '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup; then
                expect_eq "its CPU quota is 50% (50 ms per 100 ms)" 50000 "$(host_cgroup_file "$inner" cpu cpu.cfs_quota_us)"
        else
                expect_eq "its CPU quota is 50% (50 ms per 100 ms)" "50000 100000" "$(host_cgroup_file "$inner" cpu cpu.max)"
        fi
        check "it is not the host's own cgroup" sh -c "[ \"\$(grep pids /proc/$inner/cgroup)\" != \"\$(grep pids /proc/self/cgroup)\" ]"
fi
wait "$SESSION_PID"

# No [limits]: no cgroup of the session's own (the default profile is faster without).
"$ARKOSE" -c fx -- sleep "5.$$" & SESSION_PID=$!; PIDS="$PIDS $SESSION_PID"
inner=$(session_sleep_pid)
check "without [limits] the command stays in the caller's cgroup" \
        sh -c "[ -n '$inner' ] && [ \"\$(grep pids /proc/$inner/cgroup)\" = \"\$(grep pids /proc/self/cgroup)\" ]"
wait "$SESSION_PID"

# A detached session's commands run in its cgroup, under its limits.
sid=$("$ARKOSE" -c fx --profile lim --begin-session 2>"$T/begin.err")
check "a detached session with limits began ($sid)" test -n "$sid"
"$ARKOSE" -c "$sid" --run-session -- perl -e '$x = "a" x (400 << 20); print "survived\n"' > "$T/mem2.out" 2>/dev/null; rc=$?
check "--run-session: 400 MB under the 96 MB limit is killed (status $rc)" test "$rc" = 137
check "--run-session: 32 MB is not" "$ARKOSE" -c "$sid" --run-session -- perl -e '$x = "a" x (32 << 20); exit 0'
check "... and the session still runs after the kill" "$ARKOSE" -c "$sid" --run-session -- true
"$ARKOSE" -c "$sid" --end-session 2>>"$T/err"; expect_eq "the session ends" 0 $?

# A user who is not root gets the same limits (the setuid program run by a granted user).
if [ -n "${ARKOSE_SUIDTEST:-}" ] && command -v useradd > /dev/null; then
        U=arkl$$
        add_test_user -M -N -d /nonexistent -s /bin/sh "$U" || skip "cannot create a test user"
        SUID_DIR=${ARKOSE_SUIDTEST_DIR:?}
        rm -rf --one-file-system "$SUID_DIR"
        mkdir -p "$SUID_DIR/etc/chroots.d" "$SUID_DIR/etc/profiles.d" "$SUID_DIR/state"
        EXTRA_CLEANUP="$EXTRA_CLEANUP; rm -rf --one-file-system '$SUID_DIR'"
        printf '[main]\nspare-sessions = no\n' > "$SUID_DIR/etc/arkose.conf"
        cp "$ARKOSE_CONFIG_DIR/profiles.d/lim.conf" "$SUID_DIR/etc/profiles.d/"
        printf '[chroot]\nsource = directory\ndirectory = %s\nusers = %s\nprofile = lim\n' "$FIXTURE_TREE" "$U" \
                > "$SUID_DIR/etc/chroots.d/ulim.conf"
        chmod 755 "$T"; mkdir -p "$T/bin" "$T/work"; chmod 777 "$T/work"
        install -o root -g root -m 4755 "$ARKOSE_SUIDTEST" "$T/bin/arkose-chroot"
        install -o root -g root -m 755 "$(dirname "$ARKOSE")/arkose-init" "$T/bin/arkose-init"
        (cd "$T/work" && runuser -u "$U" -- "$T/bin/arkose-chroot" -c ulim -- perl -e '$x = "a" x (400 << 20)') \
                > /dev/null 2>>"$T/user.err"; rc=$?
        check "a user's session: 400 MB under the 96 MB limit is killed (status $rc)" test "$rc" = 137
        expect_eq "a user's session: 32 MB runs, as the user" "$U" \
                "$(cd "$T/work" && runuser -u "$U" -- "$T/bin/arkose-chroot" -c ulim -- perl -e '$x = "a" x (32 << 20); print scalar getpwuid($<)' 2>>"$T/user.err")"
fi

finish
