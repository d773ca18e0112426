#!/bin/bash
# Every golden nftables ruleset (tests/data/netpolicy/*.nft, which test-netpolicy proves equal to what
# lib/netpolicy.c generates) passes "nft -c -f" (parse and check against the kernel, nothing
# committed), in a network namespace of its own. A broken ruleset must fail. Needs root.
. "$(dirname "$0")/lib.sh"

need_root
need_cmd nft unshare

n=0
for f in "$DATA"/netpolicy/*.nft; do
        unshare --net nft -c -f "$f" || fail "$f is refused by nft"
        echo "ok: $(basename "$f")"
        n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "only $n golden rulesets found"

if sed 's/dnat ip to/dnat ip6 to/' "$DATA/netpolicy/filtered.nft" | unshare --net nft -c -f - 2>/dev/null; then
        fail "a broken ruleset passed"
fi
echo "ok: a broken ruleset is refused"
