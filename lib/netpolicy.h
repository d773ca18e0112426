/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>

#include "base/macro.h"
#include "config.h"

/* netpolicy: a profile's [network] settings → the container's LXC network items and, for filtered
 * networking, everything the host side needs: the address of the host end of the session's link, the
 * sysctls for that interface, and an nftables ruleset in a table of the session's own. Pure: nothing is
 * read from or applied to the system; logs at debug level only.
 *
 * Filtered networking: the session gets a veth pair. Its end is eth0 with the second address of a
 * point-to-point link (a /30, or a /31) taken from a private range; the host end, "ark-<short id>",
 * gets the first address, which is the session's gateway. The table "inet arkose-<short id>" lets
 * packets from the host end through only to the profile's destinations (and to the resolvers on port
 * 53 with dns = yes), lets replies back, and rejects everything else, IPv6 included. A destination on
 * the host's loopback (127.0.0.1:3142, an apt proxy) is reached at the gateway address, the same port:
 * the table translates it to the loopback address, which needs route_localnet on the host end. Other
 * destinations are routed: they need IPv4 forwarding on the host, and are masqueraded.
 *
 * Applying, in this order (see NetPolicy):
 *   1. nft -f <nft_ruleset>  before the container starts: rules match the interface by name, so the
 *      link is never up without them;
 *   2. start the container with lxc_items (LXC makes the veth pair, sets eth0's address and route and
 *      brings the host end up);
 *   3. write the sysctls, then add host_address/link_prefix to host_ifname; all before anything runs
 *      in the session;
 *   4. at the end, after the container stopped (its veth went with it): nft -f <nft_delete>, which is
 *      "delete table inet arkose-<short id>", also for a stale session (netpolicy_table_name()). */

/* Links come from this range unless configured otherwise. */
#define NETPOLICY_RANGE_DEFAULT "10.213.0.0/16"

typedef struct NetPolicyRange {
        struct in_addr network; /* network byte order; bits below @prefix are zero */
        unsigned prefix;        /* 8 to 30 */
} NetPolicyRange;

/* Parses "A.B.C.D/N" (N from 8 to 30, no bits set below N) into *ret. Returns 0 or -EINVAL. */
int netpolicy_range_from_string(const char *s, NetPolicyRange *ret);

/* How many links of /@link_prefix (30 or 31) @range holds: 2^(link_prefix - range prefix), 0 for a bad
 * @link_prefix or a range smaller than one link. */
unsigned netpolicy_range_slots(const NetPolicyRange *range, unsigned link_prefix);

/* The slot of /@link_prefix links in @range that IPv4 address @addr (network byte order) lies in. Pure.
 * Returns 0 and *ret, or -ERANGE when @addr is outside @range (or @link_prefix is not 30 or 31). */
int netpolicy_slot_of_address(const NetPolicyRange *range, unsigned link_prefix, struct in_addr addr,
                              unsigned *ret);

/* The short id of a session, for names the kernel limits to 15 characters: the part of @session_id after
 * its last '-' when that is 1 to 11 characters of [0-9a-z] (session ids are "CHROOT-xxxxxxxx"), else 8
 * hex digits of a hash of the whole id. Returns 0 and *ret (newly allocated), or -EINVAL/-ENOMEM. */
int netpolicy_short_id(const char *session_id, char **ret);

/* "ark-<short id>" (at most 15 characters) and "arkose-<short id>", for @session_id. Returns 0 and *ret
 * (newly allocated), or -EINVAL/-ENOMEM. The table name lets a stale session's table be deleted with
 * nothing but its id. */
int netpolicy_host_ifname(const char *session_id, char **ret);
int netpolicy_table_name(const char *session_id, char **ret);

typedef struct NetPolicyInput {
        const Profile *profile; /* network, allow, dns (borrowed) */
        const char *session_id; /* "CHROOT-xxxxxxxx" */
        NetPolicyRange range;   /* filtered: where links come from */
        unsigned link_prefix;   /* filtered: 30 (also when 0) or 31 */
        unsigned slot;          /* filtered: which link of @range; the caller keeps it unique among
                                 * live sessions (e.g. the lowest free one, in the session record) */
        char **nameservers;     /* filtered with dns = yes: the host's resolvers, IPv4 addresses as
                                 * text (from /etc/resolv.conf); others are skipped */
} NetPolicyInput;

/* What netpolicy_plan() produces. Filtered-only fields are NULL, empty or zero for none and host. */
typedef struct NetPolicy {
        ProfileNetwork mode;
        char **lxc_items; /* alternating LXC keys and values: all lxc.net.0.* items */

        char *host_ifname;              /* "ark-<short id>", the host end of the veth */
        char *table;                    /* "arkose-<short id>", an nftables table of family inet */
        struct in_addr host_address;    /* the host end's address: the session's gateway */
        struct in_addr session_address; /* eth0's address in the session */
        unsigned link_prefix;           /* 30 or 31 */
        char *nft_ruleset;              /* input for "nft -f": replaces the table in one transaction */
        char *nft_delete;               /* input for "nft -f": deletes the table */
        char **sysctls;                 /* alternating paths below /proc/sys and values, for host_ifname */
        char **resolvers;               /* nameservers for the session's resolv.conf (empty: no DNS) */
        bool needs_forwarding;          /* some destination or resolver is not on the host's loopback:
                                         * net.ipv4.ip_forward must be 1 on the host (host-wide; not set
                                         * here) unless those addresses are all the host's own */
} NetPolicy;

/* Plans @input. Returns 0 and *ret (owned by the caller; free with netpolicy_free()), or -EINVAL for a
 * bad input (no profile, a session id that makes no short id, a bad link prefix, a slot outside the
 * range, a nameserver that is not an address, or a loopback resolver whose port 53 a loopback
 * destination of another address already takes), -ERANGE when @input->slot is not in the range, or
 * -ENOMEM. */
int netpolicy_plan(const NetPolicyInput *input, NetPolicy **ret);

NetPolicy *netpolicy_free(NetPolicy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetPolicy *, netpolicy_free);
