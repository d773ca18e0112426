/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "container.h"
#include "netpolicy.h"

/* session-profile: what a session profile adds to a session (lib/session-profile.c). */

typedef struct SessionProfileInput {
        const Profile *profile;
        const char *state_dir;
        const char *session_dir;        /* exists; cow layers, the network slot and nft files go here */
        const char *session_id;
        const char *home;               /* the session user's home on the host, for ~ in mounts */
        const char *root;               /* the session's root, mounted: a home it has files in is not
                                         * bound over (ContainerProfileContext.skip_home) */
        const char *apparmor_template;  /* confs/apparmor/arkose-session.template, installed */
} SessionProfileInput;

typedef struct SessionProfileSetup {
        char **net_items;               /* ContainerPlan.net_items */
        char **extra_items;             /* ContainerPlan.extra_items */
        bool keep_cgroups;              /* ContainerPlan.keep_cgroups: the profile sets limits */
        NetPolicy *net;
        char *nft_delete_file;
        bool nft_loaded;
} SessionProfileSetup;

void session_profile_setup_done(SessionProfileSetup *s);

/* Before the container starts: plans the items, creates cow directories, picks and records a
 * filtered-network slot and loads its nftables table, decides AppArmor (refusing for mode=required
 * without it; saying once per state directory for mode=auto). Logs one error line. */
int session_profile_prepare(const SessionProfileInput *in, SessionProfileSetup *out);
int session_profile_apparmor(const SessionProfileInput *in, SessionProfileSetup *out);

/* After the container started: the host end of a filtered network (sysctls, address). */
int session_profile_started(const SessionProfileSetup *s);

/* At the end, or for a dead session found by the sweep: deletes its nftables table if it had one. */
void session_profile_teardown(const char *session_dir);
