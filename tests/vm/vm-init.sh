#!/bin/busybox sh
# PID 1 of the AppArmor VM (tests/vm/test-apparmor-vm.sh), on a kernel with AppArmor: mounts what a
# Debian host has, runs the arkose-chroot build under test and prints "ok"/"not ok" lines, then
# "VM-RESULT failed=N" and powers the VM off.
/bin/busybox --install -s /bin
export PATH=/opt/ark:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t securityfs securityfs /sys/kernel/security
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount --make-rshared /
insmod /lib/modules/overlay.ko
for m in $(cat /lib/modules/net.list); do insmod "$m" || echo "# insmod $m failed"; done
ip link set lo up
hostname arkvm
echo "VM-START $(uname -r), LSMs: $(cat /sys/kernel/security/lsm)"

FAILS=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

export ARKOSE_STATE_DIR=/var/lib/arkose ARKOSE_CONFIG_DIR=/etc/arkose ARKOSE_SPARE_SESSIONS=0 \
        ARKOSE_DATA_DIR=/usr/share/arkose-src ARKOSE_HOOKS_DIR=/usr/share/arkose-src/hooks
mkdir -p /etc/arkose/chroots.d /etc/arkose/profiles.d /var/lib/arkose
printf '[chroot]\ndescription = busybox tree\nsource = directory\ndirectory = /srv/tree\n' > /etc/arkose/chroots.d/fx.conf
A=/opt/ark/arkose-chroot
aa=/sys/kernel/security/apparmor
check "the kernel has AppArmor enabled ($(cat /sys/module/apparmor/parameters/enabled 2>/dev/null))" \
        grep -qx Y /sys/module/apparmor/parameters/enabled
check "and stacking (domain/stack)" test -e $aa/features/domain/stack

# The label of a session's process, read from outside: inside its policy namespace a process sees only
# its part of the stack ("unconfined"). label_of ARKOSE-ARGS... runs "sleep N" (N unique) that way, in the
# background, prints the sleep's /proc/PID/attr/current and ends it.
n=40
label_of() {
        local pid="" i
        n=$((n + 1))
        $A "$@" -- sleep $n < /dev/null > /dev/null 2> /tmp/err &
        for i in $(seq 100); do
                pid=$(for p in /proc/[0-9]*; do
                        [ "$(cat $p/cmdline 2>/dev/null | tr '\0' ' ')" = "sleep $n " ] && echo ${p#/proc/}
                done | head -n 1)
                [ -n "$pid" ] && break
                sleep 0.2
        done
        [ -n "$pid" ] && cat /proc/$pid/attr/current
        # (and the session it ran in, for the spare checks)
        [ -n "$pid" ] && tr '\0' '\n' < /proc/$pid/environ | sed -n 's/^ARKOSE_SESSION_ID=//p' > /tmp/label-session
        [ -n "$pid" ] && kill $pid
        wait
}

# A one-shot session of the default profile (buildd) runs confined by its generated profile.
out=$(label_of -c fx); echo "# label: $out"; sed 's/^/# stderr: /' /tmp/err
check "a buildd session runs under the generated profile, stacked with its policy namespace" \
        sh -c "echo '$out' | grep -q '^lxc-arkose-buildd_</var/lib/arkose>//&:lxc-arkose-buildd_<-var-lib-arkose>:unconfined'"
check "in enforce mode" sh -c "echo '$out' | grep -q '(enforce)'"
check "without saying AppArmor is missing" sh -c "! grep -qi 'no AppArmor' /tmp/err"
inside=$($A -c fx -- cat /proc/self/attr/current)
check "inside, the command sees its own namespace's view ($inside)" test "$inside" = unconfined
check "the profile is loaded ($(grep -o 'lxc-arkose-buildd[^ ]*' $aa/profiles | head -n 1))" \
        grep -q '^lxc-arkose-buildd_.* (enforce)' $aa/profiles
check "its policy namespace exists ($(ls $aa/policy/namespaces | tr '\n' ' '))" \
        sh -c "ls $aa/policy/namespaces | grep -q ."

# Enforcement. The profile's deny rules are silent (no audit line), so each is checked against the same
# session profile with AppArmor off. dev keeps CAP_SYS_ADMIN: only AppArmor stops a mount, with
# EACCES (a missing capability would be EPERM, "Operation not permitted").
$A -c fx --profile dev -- mount -t tmpfs none /mnt 2> /tmp/err; rc=$?
sed 's/^/# stderr: /' /tmp/err
check "a mount in a dev session is refused (status $rc)" test "$rc" != 0
check "with EACCES, AppArmor's" grep -q "Permission denied" /tmp/err
sed 's/^mode = auto/mode = off/' /usr/share/arkose-src/confs/profiles/dev.conf > /etc/arkose/profiles.d/devoff.conf
grep -q '^mode = off' /etc/arkose/profiles.d/devoff.conf || bad "the devoff profile was not made"
$A -c fx --profile devoff -- sh -c 'mount -t tmpfs none /mnt && grep -q " /mnt tmpfs" /proc/mounts' 2> /tmp/err; rc=$?
sed 's/^/# stderr: /' /tmp/err
check "the same mount with AppArmor off for that profile works (status $rc)" test "$rc" = 0
# A file rule of the template: /proc/kcore, readable by root with CAP_SYS_RAWIO (kept by devraw).
sed 's/ sys_rawio//' /usr/share/arkose-src/confs/profiles/dev.conf > /etc/arkose/profiles.d/devraw.conf
sed 's/^mode = auto/mode = off/' /etc/arkose/profiles.d/devraw.conf > /etc/arkose/profiles.d/devrawoff.conf
$A -c fx --profile devraw -- sh -c 'head -c 1 /proc/kcore > /dev/null' 2> /tmp/err; rc=$?
sed 's/^/# stderr: /' /tmp/err
check "reading /proc/kcore is refused (status $rc)" test "$rc" != 0
check "with EACCES" grep -q "Permission denied" /tmp/err
$A -c fx --profile devrawoff -- sh -c 'head -c 1 /proc/kcore > /dev/null' 2> /tmp/err; rc=$?
sed 's/^/# stderr: /' /tmp/err
check "and readable with AppArmor off for that profile (status $rc)" test "$rc" = 0

# A session that lasts: commands run through its socket and through attach are confined too.
id=$($A -c fx -b 2> /tmp/err); echo "# session: $id"; sed 's/^/# stderr: /' /tmp/err
check "begin-session" test -n "$id"
out=$(label_of -c "$id" -r); echo "# run-session label: $out"
check "run-session's command is confined" sh -c "echo '$out' | grep -q '^lxc-arkose-buildd_.*//&:.*(enforce)'"
out=$(label_of -c "$id" -r --isolate-network); echo "# attached label: $out"
check "an attached command (--isolate-network) is confined" sh -c "echo '$out' | grep -q '^lxc-arkose-buildd_.*//&:.*(enforce)'"
$A -c "$id" -e; check "end-session" test $? = 0
check "no session left" sh -c "[ -z \"\$(ls /var/lib/arkose/sessions 2>/dev/null)\" ]"
check "no mount of the state directory left" sh -c "! grep -q ' /var/lib/arkose/' /proc/mounts"

# required mode refuses nothing here (AppArmor is there) and runs confined.
printf '[main]\n' > /etc/arkose/arkose.conf
sed 's/^mode = auto/mode = required/' /usr/share/arkose-src/confs/profiles/buildd.conf > /etc/arkose/profiles.d/buildreq.conf
out=$(label_of -c fx --profile buildreq); echo "# required label: $out"
check "mode = required runs confined" sh -c "echo '$out' | grep -q '^lxc-arkose-buildreq_.*(enforce)'"

# Cgroup limits on a cgroup2-only host (Debian 12's default; this test's own machine is hybrid): the
# container gets a cgroup of its own with the limits, confined as the others.
{ cat /usr/share/arkose-src/confs/profiles/buildd.conf; printf '[limits]\nmemory = 300M\npids = 200\n'; } \
        > /etc/arkose/profiles.d/limited.conf
out=$($A -c fx --profile limited -- cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2> /tmp/err | tr '\n' ' ')
sed 's/^/# stderr: /' /tmp/err
check "a session with limits has them in its cgroup ($out)" test "$out" = "314572800 200 "
out=$(label_of -c fx --profile limited); echo "# limited label: $out"
check "and is confined" sh -c "echo '$out' | grep -q '^lxc-arkose-limited_.*(enforce)'"
id=$($A -c fx --profile limited -b 2> /tmp/err); sed 's/^/# stderr: /' /tmp/err
out=$($A -c "$id" -r -- cat /proc/self/cgroup); echo "# cgroup of a command in a limited session: $out"
$A -c "$id" -e; check "a detached session with limits begins and ends ($id)" test $? = 0 -a -n "$id"

# A filtered network on Debian's kernel (this test's own machine runs another kernel): the session's veth,
# its nftables table, the host's loopback service it lists reached through the gateway (DNAT), another
# refused; nothing left afterwards. The host's services: busybox httpd on two loopback ports.
# (busybox wget -T crashes in Debian 12's busybox-static: timeout(1) bounds it instead.)
mkdir -p /srv/www && echo hello-from-the-host > /srv/www/x
httpd -p 127.0.0.1:8080 -h /srv/www && httpd -p 127.0.0.1:8081 -h /srv/www
check "the host's two services answer on its loopback" sh -c 'wget -q -O - http://127.0.0.1:8080/x && wget -q -O - http://127.0.0.1:8081/x' > /dev/null
printf '[network]\nmode = filtered\nallow = 127.0.0.1:8080\n' > /etc/arkose/profiles.d/filtered.conf
fetch='gw=$(ip route | awk "/^default/ { print \$3 }"); echo "gw=$gw" >&2; timeout 5 wget -q -O - "http://$gw:$1/x"'
out=$($A -c fx --profile filtered -- sh -c "$fetch" sh 8080 2> /tmp/err); rc=$?
sed 's/^/# stderr: /' /tmp/err
check "a filtered session reaches the listed service through its gateway (status $rc: $out)" test "$out" = hello-from-the-host
$A -c fx --profile filtered -- sh -c "$fetch" sh 8081 2> /tmp/err; rc=$?
sed 's/^/# stderr: /' /tmp/err
check "and not the other one (status $rc)" test "$rc" != 0
out=$($A -c fx --profile filtered -- sh -c 'ip -o link | awk -F": " "{ print \$2 }" | sed "s/@.*//" | tr "\n" " "' 2> /dev/null)
check "it has loopback and its veth only ($out)" test "$out" = "lo eth0 "
id=$($A -c fx --profile filtered -b 2> /tmp/err); sed 's/^/# stderr: /' /tmp/err
out=$($A -c "$id" -r -- sh -c "$fetch" sh 8080 2> /dev/null)
check "a detached filtered session reaches it too ($id)" test "$out" = hello-from-the-host
out=$($A -c "$id" -r --isolate-network -- sh -c "$fetch" sh 8080 2> /dev/null); rc=$?
check "but not a command of it with --isolate-network (status $rc)" test "$rc" != 0 -a -z "$out"
$A -c "$id" -e
check "no nftables table of a session is left ($(nft list tables | tr '\n' ' '))" sh -c '! nft list tables | grep -q arkose-'
check "no veth of a session is left" sh -c '! ip -o link | grep -q " ark-"'

# Shared spare sessions under AppArmor. The spare's init runs as the init profile generated beside the
# session's (it makes each command's sub-session: mounts the session's profile denies); each command runs
# in a sub-session with the label a session of its own gets, and is confined as one.
export ARKOSE_SPARE_SESSIONS=1
# spare_of PROFILE: leaves a spare of PROFILE (a first command) and prints its id (20 s at most).
spare_of() {
        local i f
        $A -c fx --profile "$1" -- true 2> /tmp/err; sed 's/^/# stderr: /' /tmp/err >&2
        for i in $(seq 100); do
                for f in /var/lib/arkose/spares/*; do
                        [ -L "$f" ] && grep -q "\"profile\":\"$1\"" "/var/lib/arkose/sessions/$(readlink "$f")/session.json" \
                                2>/dev/null && { readlink "$f"; return 0; }
                done
                sleep 0.2
        done
        return 1
}
field() { sed -n "s/^  \"$2\":\"\(.*\)\",*$/\1/p" "/var/lib/arkose/sessions/$1/session.json"; }
sid=$(spare_of buildd)
check "a one-shot command leaves a spare session ($sid)" test -n "$sid"
check "a shared one, under AppArmor" test "$(field "$sid" shared)" = true
ipid=$(field "$sid" init_pid)
out=$(cat /proc/$ipid/attr/current 2>&1); echo "# the spare's init: $out"
check "its init runs as the init profile" sh -c "echo '$out' | grep -q '^lxc-arkose-buildd_</var/lib/arkose>-spare-init (enforce)'"
out=$($A -vv -c fx -- sh -c 'echo $ARKOSE_SESSION_ID' 2> /tmp/err); grep -iE 'spare|sub-session|fresh|apparmor' /tmp/err | sed 's/^/# stderr: /'
check "a command runs in the spare ($out)" test "$out" = "$sid"
out=$(label_of -c fx); echo "# label in the spare: $out"; sed 's/^/# stderr: /' /tmp/err
check "a command in the spare ($(cat /tmp/label-session))" test "$(cat /tmp/label-session)" = "$sid"
check "has the label a session of its own has" \
        sh -c "echo '$out' | grep -q '^lxc-arkose-buildd_</var/lib/arkose>//&:lxc-arkose-buildd_<-var-lib-arkose>:unconfined'"
inside=$($A -c fx -- cat /proc/self/attr/current)
check "inside, its own namespace's view ($inside)" test "$inside" = unconfined
# Without a policy namespace (namespace = no): the label is the profile alone.
sed 's/^namespace = yes/namespace = no/' /usr/share/arkose-src/confs/profiles/buildd.conf > /etc/arkose/profiles.d/buildnons.conf
grep -q '^namespace = no' /etc/arkose/profiles.d/buildnons.conf || bad "the buildnons profile was not made"
sid=$(spare_of buildnons)
check "a spare without a policy namespace is shared too ($sid)" test -n "$sid" -a "$(field "$sid" shared)" = true
out=$(label_of -c fx --profile buildnons); echo "# label in the spare: $out"; sed 's/^/# stderr: /' /tmp/err
check "a command in it ($(cat /tmp/label-session)) has the profile's label, unstacked" \
        sh -c "[ '$(cat /tmp/label-session)' = '$sid' ] && echo '$out' | grep -qx 'lxc-arkose-buildnons_</var/lib/arkose> (enforce)'"
# dev keeps CAP_SYS_ADMIN (the spare's init keeps it too): only AppArmor stops a command's mount. devshare
# is dev without the user's sockets, which a sub-session does not replicate.
grep -v '^sockets' /usr/share/arkose-src/confs/profiles/dev.conf > /etc/arkose/profiles.d/devshare.conf
sid=$(spare_of devshare)
check "a devshare spare is a shared one ($sid)" test -n "$sid" -a "$(field "$sid" shared)" = true
out=$($A -c fx --profile devshare -- sh -c 'echo $ARKOSE_SESSION_ID; mount -t tmpfs none /mnt' 2> /tmp/err); rc=$?
sed 's/^/# stderr: /' /tmp/err
check "a mount in a command of the spare is refused (status $rc)" test "$rc" != 0 -a "$out" = "$sid"
check "with EACCES, AppArmor's" grep -q "Permission denied" /tmp/err
# Signals from init reach the command (a killed caller: init kills its sub-session).
not_running() { ! running "$1" > /dev/null; }
running() { for p in /proc/[0-9]*; do [ "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" = "$1 " ] && echo ${p#/proc/} && return 0; done; return 1; }
$A -c fx --profile devshare -- sleep 4343 < /dev/null > /dev/null 2>&1 & cpid=$!
for i in $(seq 50); do running "sleep 4343" > /dev/null && break; sleep 0.2; done
out=$(tr '\0' '\n' < /proc/$(running "sleep 4343")/environ 2>/dev/null | sed -n 's/^ARKOSE_SESSION_ID=//p')
check "a command of the spare runs ($out)" test "$out" = "$sid"
kill -9 $cpid; wait $cpid 2>/dev/null
for i in $(seq 50); do running "sleep 4343" > /dev/null || break; sleep 0.2; done
check "a killed caller's command is ended by the spare's init" not_running "sleep 4343"
for id in $(ls /var/lib/arkose/sessions); do $A -c "$id" -e; done
check "the spares end" sh -c "[ -z \"\$(ls /var/lib/arkose/sessions 2>/dev/null)\" ]"
export ARKOSE_SPARE_SESSIONS=0

dmesg | grep -E 'segfault|general protection' | sed 's/^/# dmesg: /'
check "no process crashed (dmesg)" sh -c "! dmesg | grep -qE 'segfault|general protection'"

# Debian's kernel does not map the vsyscall page (vsyscall=none): an old C library's programs die of SIGSEGV,
# and arkose-chroot says why, for a tree whose dpkg names libc6 2.13 (after the dmesg check above: the kernel
# logs these deaths).
check "this kernel does not map the vsyscall page" sh -c "! grep -q '\[vsyscall\]' /proc/self/maps"
printf '[chroot]\ndescription = old libc6\nsource = directory\ndirectory = /srv/oldtree\n' > /etc/arkose/chroots.d/old.conf
$A -c old -- /bin/vsys > /dev/null 2> /tmp/err; rc=$?
sed 's/^/# stderr: /' /tmp/err
check "the old tree's program dies of SIGSEGV (status $rc)" test "$rc" = 139
check "and one line says why: libc6 2.13-38+deb7u10 and the vsyscall page, with the remedy" \
        grep -qx "arkose-chroot: The command died of SIGSEGV: its C library, libc6 2.13-38+deb7u10, calls the kernel's vsyscall page, which this kernel does not map (vsyscall=none, Debian's default): its programs die of SIGSEGV until the host boots with vsyscall=emulate" /tmp/err
sid=$($A -c old --begin-session 2> /tmp/err)
$A -c "$sid" --run-session -- /bin/vsys > /dev/null 2> /tmp/err; rc=$?
check "in a session that lasts too (--run-session, status $rc)" sh -c "[ $rc = 139 ] && grep -q 'libc6 2.13-38+deb7u10, calls the kernel' /tmp/err"
$A -c "$sid" --end-session
out=$($A info old | grep Vsyscall); echo "# info: $out"
check "info says it" sh -c "echo '$out' | grep -q 'needed by libc6 2.13-38+deb7u10, and not mapped by this kernel'"
$A -c fx -- /bin/vsys > /dev/null 2> /tmp/err; rc=$?
check "the same program in a tree without an old libc6 dies too (status $rc), with no word of vsyscall" \
        sh -c "[ $rc = 139 ] && ! grep -qi vsyscall /tmp/err"

echo "VM-RESULT failed=$FAILS"
sync
poweroff -f
