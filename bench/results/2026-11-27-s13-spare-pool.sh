#!/bin/bash
# Alternating 50-wide bursts (bash: 50 x `CMD &`, then `wait`), timed with date +%s%N, against the default
# state directory's bookworm (see 2026-11-27-s13-spare-pool.md). MAIN: main's build. POOL and NOREFILL:
# builds of branch wip/spare-pool (as run: POOL at 84dae42, NOREFILL an earlier state of it; the branch's
# last commit carries the ARKOSE_X_NOREFILL hook, so one build of it serves for both). Needs /tmp/floor
# (cc -O2 -o /tmp/floor ../shared/bench/floor.c) and /var/tmp/floorbase.
MAIN=/work/main/build/arkose-chroot
NOREFILL=${NOREFILL:-/var/tmp/s13/ark-norefill}  # ARKOSE_X_NOREFILL=1 skips every refill
POOL=${POOL:-/var/tmp/s13/ark-from2}
export LOWER=$($MAIN info bookworm | awk '$1 == "Path" { print $2 }') BASE=/var/tmp/floorbase
cd /tmp
endall() { $MAIN sessions | awk '$5=="spare"{print $1}' | xargs -r -P4 -I{} $MAIN -c {} --end-session; }
settle() { local i n p b; for i in $(seq 600); do n=$(find /var/lib/arkose/spares -maxdepth 1 -type l | wc -l); p=$(pgrep -fc "spare session"); b=$(ls -a /var/lib/arkose/sessions | grep -c '^\.[a-z]'); [ "$n" -ge "$1" ] && [ "$p" = $((2*n)) ] && [ "$b" = 0 ] && return 0; sleep 0.1; done; echo "  (settle: $n offered, $p procs)"; }
burst() { local s e i; s=$(date +%s%N); for i in $(seq 50); do "$@" & done; wait; e=$(date +%s%N); echo $(( (e-s)/1000000 )); }
pool() { endall; for i in $(seq 50); do $1 -c bookworm -- sleep 3 & done; wait; settle 50; }
for round in 1 2 3; do
        f=$(burst /tmp/floor -p /bin/true)
        endall; settle 0; c=$(burst env ARKOSE_SPARE_SESSIONS=0 $MAIN -c bookworm -- /bin/true)
        pool $NOREFILL; n=$(burst env ARKOSE_X_NOREFILL=1 $NOREFILL -c bookworm -- /bin/true)
        pool $POOL; p=$(burst $POOL -c bookworm -- /bin/true)
        endall; settle 0
        echo "round $round: floor $f ms; cold (no spares) $c ms; pool of 50 ready, no refill $n ms; pool of 50 ready, refills (wip) $p ms; load $(cut -d' ' -f1 /proc/loadavg)"
done
