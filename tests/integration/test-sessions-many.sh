#!/bin/bash
# Many at once: 20 and 50 one-shot sessions of the same chroot started together, and 50 --run-session
# at once in one session, all succeed; each prints what it was given. Wall times are printed (the
# machine may be shared, so they are reported, not asserted).
. "$(dirname "$0")/lib.sh"
use_fixture
cd "$T"

# at_once N WHAT CMD...: runs CMD N times at once, the i-th with ARG=i in its environment; checks that
# every run exits 0, prints its own i and nothing on stderr.
at_once() {
        local n=$1 what=$2 start end fails=0 i; shift 2
        mkdir -p "$T/out"; rm -f "$T/out/"*
        start=$(date +%s%N)
        for i in $(seq "$n"); do
                (ARG=$i "$@" > "$T/out/$i" 2> "$T/out/$i.err"; echo $? > "$T/out/$i.rc") &
        done
        wait
        end=$(date +%s%N)
        for i in $(seq "$n"); do
                # Nothing on stderr either (but the no-AppArmor notice, said once for the state directory):
                # a session that failed to be removed says so, and exits 0.
                if [ "$(cat "$T/out/$i.rc")" != 0 ] || [ "$(cat "$T/out/$i")" != "$i" ] ||
                   grep -qv "kernel has no AppArmor" "$T/out/$i.err"; then
                        fails=$((fails + 1))
                        echo "# run $i: status $(cat "$T/out/$i.rc"), output '$(cat "$T/out/$i")': $(cat "$T/out/$i.err")"
                fi
        done
        echo "# $what: $n at once in $(( (end - start) / 1000000 )) ms wall time"
        expect_eq "$what: all $n succeed" 0 "$fails"
}

# -p passes ARG into the session.
at_once 20 "one-shot sessions" "$ARKOSE" -c fx -p -- sh -c 'echo $ARG'
at_once 50 "one-shot sessions" "$ARKOSE" -c fx -p -- sh -c 'echo $ARG'
check "no session left after the one-shot sessions" sh -c "[ -z \"\$(ls -A '$ARKOSE_STATE_DIR/sessions')\" ]"

id=$("$ARKOSE" -c fx -b)
at_once 50 "--run-session in one session" "$ARKOSE" -c "$id" -r -p -- sh -c 'echo $ARG > /tmp/run.$ARG; echo $ARG'
expect_eq "all 50 commands wrote into the one session" 50 "$("$ARKOSE" -c "$id" -r -- sh -c 'ls /tmp/run.* | wc -l')"

# Both at once: one-shot sessions starting (and sweeping) while commands run in the detached session.
at_once 30 "one-shot sessions and --run-session mixed" sh -c '
        if [ $((ARG % 2)) = 0 ]; then exec "$0" -c fx -p -- sh -c "echo \$ARG"; fi
        exec "$0" -c "$1" -r -p -- sh -c "echo \$ARG"' "$ARKOSE" "$id"
"$ARKOSE" -c "$id" -e; expect_eq "--end-session" 0 $?
finish
