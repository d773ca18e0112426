/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A session's profile applied: the LXC items for its mounts, devices, limits, capabilities, seccomp,
 * network and AppArmor, and the host side of a filtered network (nftables table, veth address,
 * sysctls), undone when the session ends or by the sweep of a dead session. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apparmor.h"
#include "base/log.h"
#include "base/util.h"
#include "lock.h"
#include "netpolicy.h"
#include "session-internal.h"
#include "session-profile.h"
#include "state.h"

void session_profile_setup_done(SessionProfileSetup *s) {
        strv_free(s->net_items);
        strv_free(s->extra_items);
        netpolicy_free(s->net);
        free(s->nft_delete_file);
        *s = (SessionProfileSetup) {};
}

static bool cgroup2_unified(void) {
        return access("/sys/fs/cgroup/cgroup.controllers", F_OK) >= 0;
}

/* Where filtered-network links are claimed, for the whole host: sessions of every state directory draw
 * from the same address range, so two state directories (two users' --state-dir, tests running side by
 * side) must never pick the same link. */
#define NET_CLAIMS_DIR "/run/arkose/net"

/* Whether an address of link @slot (/30) of @range is already on one of the host's interfaces (a session
 * of something else, or a stale veth): then the link is not free whatever the claims say. */
static bool slot_on_host(const NetPolicyRange *range, unsigned slot, const struct ifaddrs *ifs) {
        for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
                unsigned s;

                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                    netpolicy_slot_of_address(range, 30, ((const struct sockaddr_in *) (const void *) i->ifa_addr)->sin_addr,
                                              &s) >= 0 &&
                    s == slot)
                        return true;
        }
        return false;
}

/* Whether claim file @path names a session that still holds its resources (detached ones hold theirs
 * without a lock: session_holds_resources()). A claim that cannot be read is taken as held. */
static bool claim_is_live(const char *path) {
        _cleanup_strv_free_ char **kv = NULL;
        const char *state_dir, *id;

        if (state_read(path, &kv) < 0)
                return access(path, F_OK) >= 0;
        state_dir = state_get(kv, "state_dir");
        id = state_get(kv, "session");
        return state_dir && id && session_holds_resources(state_dir, id, NULL);
}

/* The lowest filtered-network link that no live session of any state directory claims and no host
 * interface uses, claimed (NET_CLAIMS_DIR/SLOT naming @state_dir and @session_id) under
 * NET_CLAIMS_DIR/lock, and recorded in @session_dir/net-slot too. */
static int pick_slot(const char *state_dir, const char *session_dir, const char *session_id,
                     const NetPolicyRange *range, unsigned n_slots, unsigned *ret) {
        _cleanup_free_ char *mine = path_join(session_dir, "net-slot");
        _cleanup_close_ int fd = -EBADF;
        struct ifaddrs *ifs = NULL;
        int r;

        if (!mine)
                return -ENOMEM;
        r = mkdir_p(NET_CLAIMS_DIR, 0755);
        if (r < 0)
                return r;
        fd = lock_file(NET_CLAIMS_DIR "/lock", LOCK_MODE_EXCLUSIVE, true);
        if (fd < 0)
                return fd;
        if (getifaddrs(&ifs) < 0)
                return -errno;
        r = -EBUSY;
        for (unsigned i = 0; i < n_slots; i++) {
                _cleanup_free_ char *claim = strdup_printf(NET_CLAIMS_DIR "/%u", i);
                char buf[32];

                if (!claim) {
                        r = -ENOMEM;
                        break;
                }
                if (claim_is_live(claim) || slot_on_host(range, i, ifs))
                        continue;
                snprintf(buf, sizeof(buf), "%u", i);
                char *kv[] = { (char *) "slot", buf, (char *) "state_dir", (char *) state_dir,
                               (char *) "session", (char *) session_id, NULL };
                r = state_write(claim, kv);
                if (r >= 0)
                        r = state_write(mine, kv);
                if (r >= 0)
                        *ret = i;
                break;
        }
        freeifaddrs(ifs);
        return r;
}

/* Writes @value to a file that exists and cannot be replaced by rename (/proc/sys). */
static int write_in_place(const char *path, const char *value) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t n = strlen(value);

        if (fd < 0)
                return -errno;
        if (write(fd, value, n) != (ssize_t) n)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static int run_nft_file(const char *path) {
        char *argv[] = { (char *) "nft", (char *) "-f", (char *) path, NULL };
        return run_program(argv);
}

static int write_text(const char *dir, const char *name, const char *text, char **ret_path) {
        _cleanup_free_ char *p = path_join(dir, name);
        int r;

        if (!p)
                return -ENOMEM;
        r = write_file_atomic(p, text, 0600);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = TAKE_PTR(p);
        return 0;
}

static int network_prepare(const SessionProfileInput *in, SessionProfileSetup *out) {
        _cleanup_free_ char *rules = NULL;
        NetPolicyRange range;
        unsigned slot = 0;
        int r;

        r = netpolicy_range_from_string(NETPOLICY_RANGE_DEFAULT, &range);
        if (r < 0)
                return r;
        if (in->profile->network == PROFILE_NETWORK_FILTERED) {
                r = pick_slot(in->state_dir, in->session_dir, in->session_id, &range,
                              netpolicy_range_slots(&range, 30), &slot);
                if (r < 0)
                        return log_error_errno(r, "Failed to pick an address for the filtered network: %m");
        }
        NetPolicyInput ni = {
                .profile = in->profile,
                .session_id = in->session_id,
                .range = range,
                .link_prefix = 30,
                .slot = slot,
        };
        r = netpolicy_plan(&ni, &out->net);
        if (r < 0)
                return log_error_errno(r, "Failed to plan the network of profile '%s': %m", in->profile->name);
        if (strv_extend_strv(&out->net_items, out->net->lxc_items) < 0)
                return -ENOMEM;
        if (in->profile->network != PROFILE_NETWORK_FILTERED)
                return 0;

        /* The host side comes first: the table that lets only the listed destinations through. */
        r = write_text(in->session_dir, "nft-ruleset", out->net->nft_ruleset, &rules);
        if (r >= 0)
                r = write_text(in->session_dir, "nft-delete", out->net->nft_delete, &out->nft_delete_file);
        if (r < 0)
                return log_error_errno(r, "Failed to write the session's nftables rules: %m");
        r = run_nft_file(rules);
        if (r < 0)
                return log_error_errno(r, "Failed to load the session's nftables rules (nft -f %s)", rules);
        out->nft_loaded = true;
        return 0;
}

/* Whether @p mounts something onto the user's home itself ("$HOME" or "~" as its target). */
static bool profile_mounts_home(const Profile *p) {
        for (ProfileMount **m = p->mounts; m && *m; m++) {
                const char *t = (*m)->target ?: (*m)->source;

                if (t && (streq(t, "$HOME") || streq(t, "~") || streq(t, "$HOME/") || streq(t, "~/")))
                        return true;
        }
        return false;
}

/* Whether the user's home @home is not to be bound over itself in the session whose root is @root (says
 * why, once): it is missing on the host (nobody's /nonexistent), or the chroot has files there (a system
 * user's home, such as daemon's /usr/sbin: the host's would replace the chroot's, writable). */
static bool skip_home(const Profile *p, const char *home, const char *root) {
        _cleanup_free_ char *inside = NULL;
        struct stat st;

        if (!profile_mounts_home(p) || !path_is_absolute(home))
                return false;
        if (streq(home, "/")) {
                log_info("Profile '%s': not binding the home directory '/' into the session.", p->name);
                return true;
        }
        if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_info("Profile '%s': the home directory '%s' is not on this host, not bound.", p->name, home);
                return true;
        }
        inside = root ? path_join(root, home) : NULL;
        if (inside && dir_has_files(inside)) {
                log_info("Profile '%s': not binding the home directory '%s' into the session: the chroot has its own.",
                         p->name, home);
                return true;
        }
        return false;
}

int session_profile_prepare(const SessionProfileInput *in, SessionProfileSetup *out) {
        _cleanup_(container_profile_items_done) ContainerProfileItems planned = {};
        _cleanup_free_ char *cow = NULL;
        const Profile *p = in->profile;
        int r;

        cow = path_join(in->session_dir, "cow");
        if (!cow)
                return log_oom();
        ContainerProfileContext ctx = {
                .home = in->home,
                .cow_dir = cow,
                .cgroup2 = cgroup2_unified(),
                .skip_home = skip_home(p, in->home, in->root),
        };
        r = container_profile_config(p, &ctx, &planned);
        if (r == -ENOENT && planned.missing)
                return log_error_errno(r, "Profile '%s' mounts '%s', which is not there on this host (a leading '-' "
                                       "in the profile makes a mount optional)", p->name, planned.missing);
        if (r < 0)
                return log_error_errno(r, "Failed to apply profile '%s': %m", p->name);
        for (char **d = planned.dirs; *d; d++) {
                r = mkdir_p(*d, 0755);
                if (r < 0)
                        return log_error_errno(r, "Failed to create '%s': %m", *d);
        }
        for (char **d = planned.skipped; *d; d++)
                log_notice("Profile '%s': '%s' is not there on this host, left out.", p->name, *d);
        out->extra_items = TAKE_PTR(planned.items);
        out->keep_cgroups = p->memory_max > 0 || p->cpu_quota > 0 || p->pids_max > 0;

        r = network_prepare(in, out);
        if (r < 0)
                return r;
        return session_profile_apparmor(in, out);
}

int session_profile_apparmor(const SessionProfileInput *in, SessionProfileSetup *out) {
        ApparmorSupport support = {};
        const char *reason = NULL;
        ApparmorAction a;
        int detected;

        detected = apparmor_detect(&support);
        a = apparmor_decide(in->profile->apparmor, detected, &reason);
        switch (a) {
        case APPARMOR_ACTION_REFUSE:
                return log_error_errno(-EOPNOTSUPP, "Profile '%s' requires AppArmor confinement, but %s",
                                       in->profile->name, reason ?: "AppArmor is not available");
        case APPARMOR_ACTION_NOTICE: {
                /* Once per state directory, not for every build. */
                _cleanup_free_ char *marker = path_join(in->state_dir, "apparmor-unavailable");
                if (marker && access(marker, F_OK) < 0) {
                        log_notice("AppArmor: %s; sessions run without AppArmor confinement (said once).",
                                   reason ?: "not available in this kernel");
                        (void) write_file_atomic(marker, "", 0644);
                }
                return 0;
        }
        case APPARMOR_ACTION_CONFINE: {
                _cleanup_(apparmor_plan_freep) ApparmorPlan *plan = NULL;
                _cleanup_strv_free_ char **items = NULL;
                _cleanup_free_ char *template = NULL;
                int r;

                r = read_file(in->apparmor_template, &template);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the AppArmor template '%s': %m",
                                               in->apparmor_template);
                r = apparmor_plan(in->profile, template, in->state_dir, a, &support, &plan);
                if (r >= 0)
                        r = apparmor_load(plan, in->state_dir);
                if (r >= 0)
                        r = apparmor_plan_config(plan, &items);
                if (r < 0)
                        return log_error_errno(r, "Failed to load the AppArmor profile of '%s': %m", in->profile->name);
                return strv_extend_strv(&out->extra_items, items);
        }
        default:
                return 0;
        }
}

int session_profile_started(const SessionProfileSetup *s) {
        char addr[64], ip[INET_ADDRSTRLEN];
        int r;

        if (!s->net || s->net->mode != PROFILE_NETWORK_FILTERED)
                return 0;
        for (char **i = s->net->sysctls; i && i[0] && i[1]; i += 2) {
                _cleanup_free_ char *p = path_is_absolute(i[0]) ? strdup(i[0]) : path_join("/proc/sys", i[0]);
                r = p ? write_in_place(p, i[1]) : -ENOMEM;
                /* No IPv6 configuration for the interface: IPv6 is off for it already. */
                if (r == -ENOENT && strstr(p, "/net/ipv6/"))
                        continue;
                if (r < 0)
                        return log_error_errno(r, "Failed to set %s: %m", i[0]);
        }
        if (!inet_ntop(AF_INET, &s->net->host_address, ip, sizeof(ip)))
                return -errno;
        snprintf(addr, sizeof(addr), "%s/%u", ip, s->net->link_prefix);
        char *argv[] = { (char *) "ip", (char *) "-4", (char *) "addr", (char *) "add", addr, (char *) "dev",
                         s->net->host_ifname, NULL };
        r = run_program(argv);
        if (r < 0)
                return log_error_errno(r, "Failed to give '%s' the address %s", s->net->host_ifname, addr);
        return 0;
}

/* Removes the host-wide claim of the link that @session_dir's session recorded in its net-slot file, if the
 * claim is still that session's (a stale claim may have been taken over since). */
static void release_slot(const char *session_dir) {
        _cleanup_free_ char *mine = path_join(session_dir, "net-slot"), *claim = NULL;
        _cleanup_strv_free_ char **kv = NULL, **held = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *slot, *state_dir, *id;

        if (!mine || state_read(mine, &kv) < 0)
                return;
        slot = state_get(kv, "slot");
        state_dir = state_get(kv, "state_dir");
        id = state_get(kv, "session");
        if (isempty(slot) || !state_dir || !id || strspn(slot, "0123456789") != strlen(slot))
                return;
        claim = strdup_printf(NET_CLAIMS_DIR "/%s", slot);
        if (!claim)
                return;
        fd = lock_file(NET_CLAIMS_DIR "/lock", LOCK_MODE_EXCLUSIVE, true);
        if (fd < 0)
                return;
        if (state_read(claim, &held) < 0)
                return;
        const char *held_dir = state_get(held, "state_dir"), *held_id = state_get(held, "session");
        if (held_dir && held_id && streq(held_dir, state_dir) && streq(held_id, id))
                (void) unlink(claim);
}

void session_profile_teardown(const char *session_dir) {
        _cleanup_free_ char *p = path_join(session_dir, "nft-delete");

        /* The veth goes with the container's network namespace; the table is ours to delete. */
        if (p && access(p, F_OK) >= 0 && run_nft_file(p) < 0) {
                /* The claim stays: it names what is left (and a later pick finds it stale). */
                log_warning("Failed to delete the session's nftables table (nft -f %s), ignoring.", p);
                return;
        }
        release_slot(session_dir);
}
