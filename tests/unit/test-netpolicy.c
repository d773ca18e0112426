/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netpolicy: profiles' network settings → LXC network items, host-side addresses and sysctls, and the
 * nftables ruleset against golden files (tests/data/netpolicy/). Pure; no root. The rulesets are
 * checked by nft itself in tests/check/test-nft-check.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "config.h"
#include "golden.h"
#include "netpolicy.h"

#define PROFILE(f) TEST_DATA_DIR "/profiles/" f
#define GOLDEN(f)  TEST_DATA_DIR "/netpolicy/" f

static const char *item(char **l, const char *key) {
        for (char **i = l; i && i[0]; i += 2)
                if (streq(i[0], key))
                        return i[1];
        return NULL;
}

static size_t n_items(char **l) {
        return strv_length(l) / 2;
}

static Profile *load(const char *file, const char *name) {
        Profile *p = NULL;
        assert_int_equal(profile_parse_file(file, name, &p, NULL, NULL), 0);
        return p;
}

static NetPolicyInput input(const Profile *p, const char *session_id, unsigned slot) {
        NetPolicyInput in = { .profile = p, .session_id = session_id, .slot = slot };
        assert_int_equal(netpolicy_range_from_string(NETPOLICY_RANGE_DEFAULT, &in.range), 0);
        return in;
}

static void assert_addr(struct in_addr a, const char *expected) {
        char buf[INET_ADDRSTRLEN];
        assert_non_null(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
        assert_string_equal(buf, expected);
}

static void test_none_and_host(void **state) {
        _cleanup_(profile_freep) Profile *none = NULL, *host = NULL;
        _cleanup_(netpolicy_freep) NetPolicy *a = NULL, *b = NULL;
        NetPolicyInput in;
        (void) state;

        none = load(PROFILE("good-minimal.conf"), "minimal");
        in = input(none, "bookworm-1a2b3c4d", 0);
        assert_int_equal(netpolicy_plan(&in, &a), 0);
        assert_int_equal(a->mode, PROFILE_NETWORK_NONE);
        assert_int_equal(n_items(a->lxc_items), 2);
        assert_string_equal(item(a->lxc_items, "lxc.net.0.type"), "empty");
        assert_string_equal(item(a->lxc_items, "lxc.net.0.flags"), "up");
        assert_null(a->host_ifname);
        assert_null(a->table);
        assert_null(a->nft_ruleset);
        assert_null(a->nft_delete);
        assert_null(a->sysctls);
        assert_null(a->resolvers);
        assert_false(a->needs_forwarding);

        host = load(PROFILE("good-keep.conf"), "keep");
        in = input(host, "bookworm-1a2b3c4d", 0);
        assert_int_equal(netpolicy_plan(&in, &b), 0);
        assert_int_equal(b->mode, PROFILE_NETWORK_HOST);
        assert_int_equal(n_items(b->lxc_items), 1);
        assert_string_equal(item(b->lxc_items, "lxc.net.0.type"), "none");
        assert_null(b->nft_ruleset);
}

static void test_filtered(void **state) {
        char *nameservers[] = { (char *) "127.0.0.53", (char *) "192.168.1.1", (char *) "fe80::1",
                                (char *) "127.0.0.1", NULL };
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(netpolicy_freep) NetPolicy *np = NULL;
        NetPolicyInput in;
        (void) state;

        p = load(PROFILE("good-filtered.conf"), "filtered");
        in = input(p, "bookworm-1a2b3c4d", 5);
        in.nameservers = nameservers;
        assert_int_equal(netpolicy_plan(&in, &np), 0);

        assert_int_equal(np->mode, PROFILE_NETWORK_FILTERED);
        assert_string_equal(np->host_ifname, "ark-1a2b3c4d");
        assert_string_equal(np->table, "arkose-1a2b3c4d");
        assert_int_equal(np->link_prefix, 30);
        /* Slot 5 of 10.213.0.0/16 in /30s: 10.213.0.20/30. */
        assert_addr(np->host_address, "10.213.0.21");
        assert_addr(np->session_address, "10.213.0.22");

        assert_int_equal(n_items(np->lxc_items), 6);
        assert_string_equal(item(np->lxc_items, "lxc.net.0.type"), "veth");
        assert_string_equal(item(np->lxc_items, "lxc.net.0.veth.pair"), "ark-1a2b3c4d");
        assert_string_equal(item(np->lxc_items, "lxc.net.0.name"), "eth0");
        assert_string_equal(item(np->lxc_items, "lxc.net.0.flags"), "up");
        assert_string_equal(item(np->lxc_items, "lxc.net.0.ipv4.address"), "10.213.0.22/30");
        assert_string_equal(item(np->lxc_items, "lxc.net.0.ipv4.gateway"), "10.213.0.21");

        assert_int_equal(strv_length(np->sysctls), 4);
        assert_string_equal(np->sysctls[0], "/proc/sys/net/ipv6/conf/ark-1a2b3c4d/disable_ipv6");
        assert_string_equal(np->sysctls[1], "1");
        assert_string_equal(np->sysctls[2], "/proc/sys/net/ipv4/conf/ark-1a2b3c4d/route_localnet");
        assert_string_equal(np->sysctls[3], "1");

        /* The loopback resolver through the gateway first, then the routed one; IPv6 and a second
         * loopback resolver are skipped. */
        assert_int_equal(strv_length(np->resolvers), 2);
        assert_string_equal(np->resolvers[0], "10.213.0.21");
        assert_string_equal(np->resolvers[1], "192.168.1.1");
        assert_true(np->needs_forwarding);

        assert_string_equal(np->nft_delete, "delete table inet arkose-1a2b3c4d\n");
        assert_golden(GOLDEN("filtered.nft"), np->nft_ruleset);
}

static void test_filtered_loopback_only(void **state) {
        char *nameservers[] = { (char *) "192.168.1.1", NULL };
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(netpolicy_freep) NetPolicy *np = NULL;
        NetPolicyInput in;
        (void) state;

        /* dns = no: resolvers are not even looked at. */
        p = load(PROFILE("good-filtered-loopback.conf"), "loopback");
        in = input(p, "sid-00ff00ff", 0);
        in.nameservers = nameservers;
        assert_int_equal(netpolicy_plan(&in, &np), 0);
        assert_addr(np->host_address, "10.213.0.1");
        assert_addr(np->session_address, "10.213.0.2");
        assert_non_null(np->resolvers);
        assert_int_equal(strv_length(np->resolvers), 0);
        /* Nothing routed: no forwarding, no masquerading. */
        assert_false(np->needs_forwarding);
        assert_null(strstr(np->nft_ruleset, "masquerade"));
        assert_golden(GOLDEN("filtered-loopback.nft"), np->nft_ruleset);
}

static void test_filtered_nothing_allowed(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(netpolicy_freep) NetPolicy *np = NULL;
        NetPolicyInput in;
        (void) state;

        /* A filtered profile that lists nothing: a link on which everything is rejected. */
        p = load(PROFILE("good-filtered-loopback.conf"), "nothing");
        for (ProfileDestination **d = p->allow; *d; d++)
                free(*d);
        free(p->allow);
        p->allow = NULL;
        in = input(p, "sid-00ff00ff", 0);
        assert_int_equal(netpolicy_plan(&in, &np), 0);
        assert_int_equal(strv_length(np->sysctls), 2); /* no route_localnet */
        assert_golden(GOLDEN("filtered-nothing.nft"), np->nft_ruleset);
}

static void test_link_prefix_and_slots(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(netpolicy_freep) NetPolicy *np = NULL;
        NetPolicyRange r;
        NetPolicyInput in;
        NetPolicy *x = NULL;
        (void) state;

        assert_int_equal(netpolicy_range_from_string("10.213.0.0/16", &r), 0);
        assert_int_equal(netpolicy_range_slots(&r, 30), 16384);
        assert_int_equal(netpolicy_range_slots(&r, 31), 32768);
        assert_int_equal(netpolicy_range_slots(&r, 29), 0);
        assert_int_equal(netpolicy_range_from_string("192.168.7.0/30", &r), 0);
        assert_int_equal(netpolicy_range_slots(&r, 30), 1);
        assert_int_equal(netpolicy_range_slots(&r, 31), 2);

        static const char *const bad[] = {
                "",           "10.213.0.0",     "10.213.0.0/",    "10.213.0.1/16", "10.213.0.0/31",
                "10.0.0.0/7", "10.213.0.0/-16", "10.213.0.0/16x", "::1/64",        "x/16"
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(netpolicy_range_from_string(bad[i], &r), -EINVAL);

        p = load(PROFILE("good-filtered-loopback.conf"), "loopback");
        in = input(p, "sid-00ff00ff", 3);
        in.link_prefix = 31;
        assert_int_equal(netpolicy_plan(&in, &np), 0);
        assert_addr(np->host_address, "10.213.0.6");
        assert_addr(np->session_address, "10.213.0.7");
        assert_string_equal(item(np->lxc_items, "lxc.net.0.ipv4.address"), "10.213.0.7/31");

        in.slot = 32768;
        assert_int_equal(netpolicy_plan(&in, &x), -ERANGE);
        in.slot = 0;
        in.link_prefix = 29;
        assert_int_equal(netpolicy_plan(&in, &x), -EINVAL);
        assert_null(x);
}

static void test_names(void **state) {
        static const struct {
                const char *id, *ifname, *table;
        } cases[] = {
                { "bookworm-1a2b3c4d", "ark-1a2b3c4d", "arkose-1a2b3c4d" },
                { "noble+ppa-deadbeef", "ark-deadbeef", "arkose-deadbeef" },
                { "x-abcdefghijk", "ark-abcdefghijk", "arkose-abcdefghijk" },
                /* Too long, upper case, nothing after the dash, no dash: hashed. */
                { "x-abcdefghijkl", "ark-6f90f33a", "arkose-6f90f33a" },
                { "x-ABC", "ark-5919e33a", "arkose-5919e33a" },
                { "bookworm-", "ark-fd0bfd3a", "arkose-fd0bfd3a" },
                { "bookworm", "ark-b6ddba33", "arkose-b6ddba33" },
        };
        char *s = NULL;
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *ifname = NULL, *table = NULL;

                assert_int_equal(netpolicy_host_ifname(cases[i].id, &ifname), 0);
                assert_string_equal(ifname, cases[i].ifname);
                assert_true(strlen(ifname) <= 15);
                assert_int_equal(netpolicy_table_name(cases[i].id, &table), 0);
                assert_string_equal(table, cases[i].table);
        }
        assert_int_equal(netpolicy_short_id("", &s), -EINVAL);
        assert_int_equal(netpolicy_short_id(NULL, &s), -EINVAL);
        assert_null(s);
}

/* Which slot a host interface's address takes (another state directory's session): pick_slot() skips it. */
static void test_slot_of_address(void **state) {
        NetPolicyRange r;
        struct in_addr a;
        unsigned slot = 99;
        (void) state;

        assert_int_equal(netpolicy_range_from_string("10.213.0.0/16", &r), 0);
        assert_int_equal(inet_pton(AF_INET, "10.213.0.1", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 30, a, &slot), 0);
        assert_int_equal(slot, 0);
        assert_int_equal(inet_pton(AF_INET, "10.213.0.6", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 30, a, &slot), 0);
        assert_int_equal(slot, 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 31, a, &slot), 0);
        assert_int_equal(slot, 3);
        assert_int_equal(inet_pton(AF_INET, "10.213.255.254", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 30, a, &slot), 0);
        assert_int_equal(slot, 16383);
        slot = 99;
        assert_int_equal(inet_pton(AF_INET, "10.214.0.1", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 30, a, &slot), -ERANGE);
        assert_int_equal(inet_pton(AF_INET, "10.212.255.255", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 30, a, &slot), -ERANGE);
        assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 30, a, &slot), -ERANGE);
        assert_int_equal(inet_pton(AF_INET, "10.213.0.1", &a), 1);
        assert_int_equal(netpolicy_slot_of_address(&r, 29, a, &slot), -ERANGE);
        assert_int_equal(slot, 99);
}

static void test_bad_input(void **state) {
        char *bad_ns[] = { (char *) "resolver.example", NULL };
        char *lo_ns[] = { (char *) "127.0.0.53", NULL };
        _cleanup_(profile_freep) Profile *p = NULL;
        NetPolicyInput in;
        NetPolicy *x = NULL;
        ProfileDestination dns_dest = { .prefix = 32, .port_first = 50, .port_last = 60 };
        ProfileDestination *allow[] = { &dns_dest, NULL };
        (void) state;

        assert_int_equal(netpolicy_plan(NULL, &x), -EINVAL);
        p = load(PROFILE("good-filtered.conf"), "filtered");
        in = input(p, "", 0);
        assert_int_equal(netpolicy_plan(&in, &x), -EINVAL);
        in = input(p, "bookworm-1a2b3c4d", 0);
        in.nameservers = bad_ns;
        assert_int_equal(netpolicy_plan(&in, &x), -EINVAL);

        /* 127.0.0.2:50-60 and a resolver at 127.0.0.53: both would be the gateway's port 53. */
        {
                ProfileDestination **saved = p->allow;

                dns_dest.address.s_addr = htonl(0x7f000002);
                p->allow = allow;
                in.nameservers = lo_ns;
                assert_int_equal(netpolicy_plan(&in, &x), -EINVAL);
                p->allow = saved;
        }
        assert_null(x);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_none_and_host),
                cmocka_unit_test(test_filtered),
                cmocka_unit_test(test_filtered_loopback_only),
                cmocka_unit_test(test_filtered_nothing_allowed),
                cmocka_unit_test(test_link_prefix_and_slots),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_slot_of_address),
                cmocka_unit_test(test_bad_input),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
