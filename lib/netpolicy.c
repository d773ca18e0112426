/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "netpolicy.h"

#define SHORT_ID_MAX 11 /* IFNAMSIZ - 1 - strlen("ark-") */

int netpolicy_range_from_string(const char *s, NetPolicyRange *ret) {
        _cleanup_free_ char *copy = NULL;
        NetPolicyRange range = {};
        char *slash, *end;
        unsigned long prefix;
        uint32_t mask;

        if (isempty(s) || !(copy = strdup(s)))
                return isempty(s) ? -EINVAL : -ENOMEM;
        slash = strchr(copy, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        errno = 0;
        prefix = strtoul(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != '\0' || slash[1] == '-' || slash[1] == '+' ||
            prefix < 8 || prefix > 30)
                return -EINVAL;
        if (inet_pton(AF_INET, copy, &range.network) != 1)
                return -EINVAL;
        range.prefix = (unsigned) prefix;
        mask = UINT32_MAX << (32 - range.prefix);
        if ((ntohl(range.network.s_addr) & ~mask) != 0)
                return -EINVAL;
        *ret = range;
        return 0;
}

unsigned netpolicy_range_slots(const NetPolicyRange *range, unsigned link_prefix) {
        if ((link_prefix != 30 && link_prefix != 31) || range->prefix > link_prefix)
                return 0;
        return 1U << (link_prefix - range->prefix);
}

int netpolicy_slot_of_address(const NetPolicyRange *range, unsigned link_prefix, struct in_addr addr,
                              unsigned *ret) {
        unsigned n = netpolicy_range_slots(range, link_prefix);
        uint32_t base = ntohl(range->network.s_addr), a = ntohl(addr.s_addr), i;

        if (n == 0 || a < base)
                return -ERANGE;
        i = (a - base) >> (32 - link_prefix);
        if (i >= n)
                return -ERANGE;
        *ret = i;
        return 0;
}

int netpolicy_short_id(const char *session_id, char **ret) {
        const char *dash;
        uint32_t h = 2166136261U; /* FNV-1a */
        char *s;

        if (isempty(session_id))
                return -EINVAL;
        dash = strrchr(session_id, '-');
        if (dash && dash[1] != '\0' && strlen(dash + 1) <= SHORT_ID_MAX &&
            strspn(dash + 1, "0123456789abcdefghijklmnopqrstuvwxyz") == strlen(dash + 1))
                s = strdup(dash + 1);
        else {
                for (const char *c = session_id; *c; c++)
                        h = (h ^ (uint8_t) *c) * 16777619U;
                s = strdup_printf("%08x", h);
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int prefixed_short_id(const char *prefix, const char *session_id, char **ret) {
        _cleanup_free_ char *id = NULL;
        char *s;
        int r;

        r = netpolicy_short_id(session_id, &id);
        if (r < 0)
                return r;
        s = strdup_printf("%s%s", prefix, id);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int netpolicy_host_ifname(const char *session_id, char **ret) {
        return prefixed_short_id("ark-", session_id, ret);
}

int netpolicy_table_name(const char *session_id, char **ret) {
        return prefixed_short_id("arkose-", session_id, ret);
}

NetPolicy *netpolicy_free(NetPolicy *p) {
        if (!p)
                return NULL;
        strv_free(p->lxc_items);
        free(p->host_ifname);
        free(p->table);
        free(p->nft_ruleset);
        free(p->nft_delete);
        strv_free(p->sysctls);
        strv_free(p->resolvers);
        free(p);
        return NULL;
}

static int add_item(char ***l, const char *key, const char *value) {
        int r = strv_extend(l, key);
        return r < 0 ? r : strv_extend(l, value);
}

static const char *addr_to_string(struct in_addr a, char buf[static INET_ADDRSTRLEN]) {
        return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static struct in_addr addr_from_host_order(uint32_t a) {
        return (struct in_addr){ .s_addr = htonl(a) };
}

/* The host's resolvers as the session sees them: loopback ones are reached at the gateway. */
typedef struct Resolvers {
        struct in_addr loopback; /* the first loopback resolver, translated; 0 if none */
        struct in_addr *routed;  /* the others, reached by routing */
        size_t n_routed;
} Resolvers;

static void resolvers_done(Resolvers *r) {
        free(r->routed);
        *r = (Resolvers){};
}

static int resolvers_parse(char **nameservers, Resolvers *ret) {
        Resolvers res = {};

        res.routed = calloc(strv_length(nameservers) + 1, sizeof(struct in_addr));
        if (!res.routed)
                return -ENOMEM;
        for (char **n = nameservers; n && *n; n++) {
                struct in_addr a;
                struct in6_addr a6;

                if (inet_pton(AF_INET, *n, &a) != 1) {
                        if (inet_pton(AF_INET6, *n, &a6) == 1) {
                                log_debug("Nameserver '%s' is IPv6, which a filtered session cannot reach, "
                                          "ignoring.",
                                          *n);
                                continue;
                        }
                        resolvers_done(&res);
                        return -EINVAL;
                }
                if ((ntohl(a.s_addr) >> 24) == 127) {
                        if (res.loopback.s_addr == 0)
                                res.loopback = a;
                        else
                                log_debug("Second loopback nameserver '%s', ignoring.", *n);
                        continue;
                }
                res.routed[res.n_routed++] = a;
        }
        *ret = res;
        return 0;
}

/* A loopback destination of another address on port 53 would need the same translation. */
static bool resolver_conflicts(const Profile *p, struct in_addr loopback) {
        for (ProfileDestination **d = p->allow; d && *d; d++)
                if (profile_destination_is_loopback(*d) && (*d)->address.s_addr != loopback.s_addr &&
                    (*d)->port_first <= 53 && 53 <= (*d)->port_last)
                        return true;
        return false;
}

static void write_ports(FILE *f, const ProfileDestination *d) {
        fprintf(f, "%s dport %u", profile_protocol_to_string(d->protocol), d->port_first);
        if (d->port_last != d->port_first)
                fprintf(f, "-%u", d->port_last);
}

static void write_daddr(FILE *f, const ProfileDestination *d) {
        char a[INET_ADDRSTRLEN];

        fprintf(f, "ip daddr %s", addr_to_string(d->address, a));
        if (d->prefix != 32)
                fprintf(f, "/%u", d->prefix);
}

/* The destinations of a session, its own resolvers included, as one list. */
static int destinations_with_dns(const Profile *p, const Resolvers *res, ProfileDestination **ret,
                                 size_t *ret_n) {
        size_t n = 0, max = 2 * (res->n_routed + 1);
        ProfileDestination *l;

        for (ProfileDestination **d = p->allow; d && *d; d++)
                max++;
        l = calloc(max, sizeof(ProfileDestination));
        if (!l)
                return -ENOMEM;
        for (ProfileDestination **d = p->allow; d && *d; d++)
                l[n++] = **d;
        for (size_t i = 0; p->dns && i <= res->n_routed; i++) {
                struct in_addr a = i < res->n_routed ? res->routed[i] : res->loopback;

                if (a.s_addr == 0)
                        continue;
                for (ProfileProtocol proto = 0; proto < _PROFILE_PROTOCOL_MAX; proto++)
                        l[n++] = (ProfileDestination){
                                .address = a,
                                .prefix = 32,
                                .port_first = 53,
                                .port_last = 53,
                                .protocol = proto,
                        };
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* The NAT chains: loopback services translated from the gateway's address, the same port; routed
 * destinations see the host's address. */
static void write_nat_chains(FILE *f, const NetPolicy *np, const char *gw, const char *me,
                             const ProfileDestination *dests, size_t n) {
        const char *ifn = np->host_ifname;

        fprintf(f, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
        for (size_t i = 0; i < n; i++) {
                char a[INET_ADDRSTRLEN];

                if (!profile_destination_is_loopback(&dests[i]))
                        continue;
                fprintf(f, "\t\tiifname \"%s\" ip daddr %s ", ifn, gw);
                write_ports(f, &dests[i]);
                fprintf(f, " dnat ip to %s\n", addr_to_string(dests[i].address, a));
        }
        fprintf(f, "\t}\n");

        fprintf(f, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        if (np->needs_forwarding)
                fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", me, ifn);
        fprintf(f, "\t}\n");
}

/* The filter chains: everything from the session, to the host or through it, goes to "session";
 * nothing but replies goes to the session through the host. */
static void write_filter_chains(FILE *f, const NetPolicy *np, const char *me,
                                const ProfileDestination *dests, size_t n) {
        const char *ifn = np->host_ifname;

        fprintf(f,
                "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
                "\t\tiifname \"%s\" jump session\n\t}\n",
                ifn);
        fprintf(f,
                "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
                "\t\tiifname \"%s\" jump session\n"
                "\t\toifname \"%s\" ct state established,related accept\n"
                "\t\toifname \"%s\" drop\n\t}\n",
                ifn, ifn, ifn);

        /* Replies, the listed destinations, nothing else: a reject rather than a silent drop, so that a
         * build trying the network fails at once instead of timing out. */
        fprintf(f,
                "\tchain session {\n"
                "\t\tct state established,related accept\n"
                "\t\tct state invalid drop\n"
                "\t\tip saddr != %s drop\n",
                me);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "\t\t");
                write_daddr(f, &dests[i]);
                fprintf(f, " ");
                write_ports(f, &dests[i]);
                fprintf(f, " accept\n");
        }
        fprintf(f, "\t\treject with icmpx type admin-prohibited\n\t}\n");
}

/* The whole ruleset, for "nft -f": creating, deleting and recreating the table in one transaction
 * replaces an old one atomically and works when there is none. */
static int nft_ruleset(const NetPolicyInput *in, const NetPolicy *np, const ProfileDestination *dests,
                       size_t n, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char gw[INET_ADDRSTRLEN], me[INET_ADDRSTRLEN];
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        (void) addr_to_string(np->host_address, gw);
        (void) addr_to_string(np->session_address, me);

        fprintf(f,
                "# arkose-chroot: filtered network of session '%s' (profile '%s').\n"
                "# The session is %s/%u on eth0; the host end is %s, %s, its gateway.\n"
                "# Load with \"nft -f FILE\"; remove with \"nft delete table inet %s\".\n"
                "table inet %s\n"
                "delete table inet %s\n"
                "table inet %s {\n",
                in->session_id, in->profile->name ?: "", me, np->link_prefix, np->host_ifname, gw, np->table,
                np->table, np->table, np->table);
        write_nat_chains(f, np, gw, me, dests, n);
        write_filter_chains(f, np, me, dests, n);
        fprintf(f, "}\n");

        if (ferror(f)) {
                (void) fclose(f);
                return -ENOMEM;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int sysctl_add(char ***l, const char *ifname, const char *family, const char *name,
                      const char *value) {
        char *path = strdup_printf("/proc/sys/net/%s/conf/%s/%s", family, ifname, name);
        int r;

        r = strv_consume(l, path);
        return r < 0 ? r : strv_extend(l, value);
}

static int netpolicy_veth_items(const char *host_ifname, const char *address, const char *gateway,
                                char ***l) {
        const char *const items[] = {
                "lxc.net.0.type",         "veth",  "lxc.net.0.veth.pair",    host_ifname,
                "lxc.net.0.name",         "eth0",  "lxc.net.0.flags",        "up",
                "lxc.net.0.ipv4.address", address, "lxc.net.0.ipv4.gateway", gateway,
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(items); i += 2) {
                r = add_item(l, items[i], items[i + 1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Slot @in->slot of the range: a /30 is network, host, session, broadcast; a /31 is host, session. */
static int link_addresses(const NetPolicyInput *in, NetPolicy *np) {
        uint32_t base;

        np->link_prefix = in->link_prefix ?: 30;
        if (np->link_prefix != 30 && np->link_prefix != 31)
                return -EINVAL;
        if (in->slot >= netpolicy_range_slots(&in->range, np->link_prefix))
                return -ERANGE;
        base = ntohl(in->range.network.s_addr) + in->slot * (np->link_prefix == 30 ? 4U : 2U);
        np->host_address = addr_from_host_order(np->link_prefix == 30 ? base + 1 : base);
        np->session_address = addr_from_host_order(np->link_prefix == 30 ? base + 2 : base + 1);
        return 0;
}

/* The destinations with the resolvers added (dns = yes), and the session's resolv.conf entries. */
static int plan_destinations(const NetPolicyInput *in, NetPolicy *np, ProfileDestination **ret,
                             size_t *ret_n) {
        Resolvers res = {};
        char a[INET_ADDRSTRLEN];
        int r;

        r = resolvers_parse(in->profile->dns ? in->nameservers : NULL, &res);
        if (r < 0)
                return r;
        if (res.loopback.s_addr != 0 && resolver_conflicts(in->profile, res.loopback)) {
                log_debug("A loopback destination on port 53 conflicts with the loopback nameserver.");
                resolvers_done(&res);
                return -EINVAL;
        }
        r = destinations_with_dns(in->profile, &res, ret, ret_n);
        if (r >= 0 && res.loopback.s_addr != 0)
                r = strv_extend(&np->resolvers, addr_to_string(np->host_address, a));
        for (size_t i = 0; r >= 0 && i < res.n_routed; i++)
                r = strv_extend(&np->resolvers, addr_to_string(res.routed[i], a));
        resolvers_done(&res);
        if (r >= 0 && !np->resolvers && !(np->resolvers = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        return r;
}

static int netpolicy_plan_filtered(const NetPolicyInput *in, NetPolicy *np) {
        _cleanup_free_ ProfileDestination *dests = NULL;
        _cleanup_free_ char *address = NULL;
        char gw[INET_ADDRSTRLEN], me[INET_ADDRSTRLEN];
        bool loopback = false;
        size_t n = 0;
        int r;

        r = link_addresses(in, np);
        if (r >= 0)
                r = netpolicy_host_ifname(in->session_id, &np->host_ifname);
        if (r >= 0)
                r = netpolicy_table_name(in->session_id, &np->table);
        if (r >= 0)
                r = plan_destinations(in, np, &dests, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (profile_destination_is_loopback(&dests[i]))
                        loopback = true;
                else
                        np->needs_forwarding = true;
        }

        address = strdup_printf("%s/%u", addr_to_string(np->session_address, me), np->link_prefix);
        if (!address)
                return -ENOMEM;
        r = netpolicy_veth_items(np->host_ifname, address, addr_to_string(np->host_address, gw),
                                 &np->lxc_items);
        if (r < 0)
                return r;

        /* The host end gets no IPv6 address (the table rejects IPv6 anyway), and accepts loopback
         * destinations once translated. */
        r = sysctl_add(&np->sysctls, np->host_ifname, "ipv6", "disable_ipv6", "1");
        if (r >= 0 && loopback)
                r = sysctl_add(&np->sysctls, np->host_ifname, "ipv4", "route_localnet", "1");
        if (r < 0)
                return r;

        r = nft_ruleset(in, np, dests, n, &np->nft_ruleset);
        if (r < 0)
                return r;
        np->nft_delete = strdup_printf("delete table inet %s\n", np->table);
        return np->nft_delete ? 0 : -ENOMEM;
}

int netpolicy_plan(const NetPolicyInput *in, NetPolicy **ret) {
        _cleanup_(netpolicy_freep) NetPolicy *np = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        if (!in || !in->profile || !profile_network_to_string(in->profile->network))
                return -EINVAL;
        r = netpolicy_short_id(in->session_id, &id);
        if (r < 0)
                return r;

        np = calloc(1, sizeof(NetPolicy));
        if (!np)
                return -ENOMEM;
        np->mode = in->profile->network;

        switch (np->mode) {
        case PROFILE_NETWORK_NONE:
                /* "empty": a network namespace of its own with loopback only, which LXC brings up only
                 * when flagged so. */
                r = add_item(&np->lxc_items, "lxc.net.0.type", "empty");
                if (r >= 0)
                        r = add_item(&np->lxc_items, "lxc.net.0.flags", "up");
                break;
        case PROFILE_NETWORK_HOST:
                /* "none": no network namespace of its own. */
                r = add_item(&np->lxc_items, "lxc.net.0.type", "none");
                break;
        case PROFILE_NETWORK_FILTERED:
                r = netpolicy_plan_filtered(in, np);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to plan network of session '%s': %m", in->session_id);
                return r;
        }
        *ret = TAKE_PTR(np);
        return 0;
}
