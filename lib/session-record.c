/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session: the record (session.json), ids, and how a session is described before anything is made. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "config.h"
#include "lock.h"
#include "session-internal.h"
#include "state.h"

#define SESSION_ID_MAX 100

static const char *const kind_table[_SESSION_KIND_MAX] = {
        [SESSION_KIND_ONESHOT] = "oneshot",
        [SESSION_KIND_DETACHED] = "detached",
        [SESSION_KIND_SPARE] = "spare",
};

static const char *const phase_table[_SESSION_PHASE_MAX] = {
        [SESSION_PHASE_STARTING] = "starting",
        [SESSION_PHASE_READY] = "ready",
        [SESSION_PHASE_ENDING] = "ending",
};

static const char *const state_table[_SESSION_STATE_MAX] = {
        [SESSION_STATE_STARTING] = "starting",
        [SESSION_STATE_RUNNING] = "running",
        [SESSION_STATE_DEAD] = "dead",
        [SESSION_STATE_ENDING] = "ending",
        [SESSION_STATE_STALE] = "stale",
};

static int table_lookup(const char *const *table, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (streq(table[i], s))
                        return i;
        return -EINVAL;
}

const char *session_kind_to_string(SessionKind k) {
        return k >= 0 && k < _SESSION_KIND_MAX ? kind_table[k] : NULL;
}

SessionKind session_kind_from_string(const char *s) {
        return table_lookup(kind_table, _SESSION_KIND_MAX, s);
}

const char *session_phase_to_string(SessionPhase p) {
        return p >= 0 && p < _SESSION_PHASE_MAX ? phase_table[p] : NULL;
}

SessionPhase session_phase_from_string(const char *s) {
        return table_lookup(phase_table, _SESSION_PHASE_MAX, s);
}

const char *session_state_to_string(SessionState s) {
        return s >= 0 && s < _SESSION_STATE_MAX ? state_table[s] : NULL;
}

void session_info_done(SessionInfo *i) {
        if (!i)
                return;
        free(i->id);
        free(i->chroot);
        free(i->version);
        strv_free(i->lowers);
        strv_free(i->binds);
        free(i->profile);
        free(i->profile_network);
        strv_free(i->profile_binds);
        free(i->cwd);
        free(i->user);
        free(i->personality);
        free(i->alias);
        free(i->home);
        free(i->shell);
        free(i->groups);
        free(i->dir);
        free(i->root);
        free(i->tmp);
        free(i->upper);
        free(i->work);
        free(i->container);
        free(i->lxcpath);
        free(i->lxcdir);
        free(i->log_file);
        *i = (SessionInfo) {};
}

SessionInfo *session_info_free(SessionInfo *i) {
        session_info_done(i);
        free(i);
        return NULL;
}

char *session_id_new(const char *chroot) {
        uint32_t rnd = 0;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                rnd = (uint32_t) getpid() ^ (uint32_t) time(NULL);
        return strdup_printf("%s-%08x", chroot, rnd);
}

bool session_id_is_valid(const char *id, const char **ret_reason) {
        const char *reason = NULL;

        /* The rules of chroot names (config.c), with room for the "-xxxxxxxx" of generated ids. Never
         * starting with '.' also keeps ids apart from the hidden .new- and .ending- directories. */
        if (isempty(id))
                reason = "empty";
        else if (strlen(id) > SESSION_ID_MAX)
                reason = "longer than 100 characters";
        else if (id[0] == '.' || id[0] == '-')
                reason = "starts with '.' or '-'";
        else
                for (const char *p = id; *p; p++)
                        if (!isalnum((unsigned char) *p) && !strchr("._+-", *p)) {
                                reason = "contains a character other than letters, digits, '.', '_', '+' and '-'";
                                break;
                        }
        if (reason && ret_reason)
                *ret_reason = reason;
        return !reason;
}

int session_ref_parse(const char *spec, SessionNamespace *ret_ns, const char **ret_name) {
        const char *colon = spec ? strchr(spec, ':') : NULL;

        if (!spec)
                return -EINVAL;
        if (!colon) {
                *ret_ns = SESSION_NAMESPACE_NONE;
                *ret_name = spec;
        } else if (startswith(spec, "chroot:")) {
                *ret_ns = SESSION_NAMESPACE_CHROOT;
                *ret_name = colon + 1;
        } else if (startswith(spec, "session:")) {
                *ret_ns = SESSION_NAMESPACE_SESSION;
                *ret_name = colon + 1;
        } else if (startswith(spec, "source:")) {
                *ret_ns = SESSION_NAMESPACE_SOURCE;
                *ret_name = colon + 1;
        } else
                return -EOPNOTSUPP;
        return 0;
}

char *session_sessions_dir(const char *state_dir) {
        return path_join(state_dir, "sessions");
}

char *session_lock_path(const char *state_dir, const char *id) {
        return path_join(state_dir, "sessions", id, "lock");
}

/* The paths of every resource of session @id: all below STATE/sessions/ID and STATE/lxc/ID, computed
 * from the id alone, so that a damaged record cannot point a sweep anywhere else. */
static int session_info_derive_paths(SessionInfo *i, const char *state_dir) {
        _cleanup_free_ char *base = NULL;

        i->dir = path_join(state_dir, "sessions", i->id);
        i->lxcpath = path_join(state_dir, "lxc");
        i->container = strdup(i->id);
        if (!i->dir || !i->lxcpath || !i->container)
                return -ENOMEM;
        i->root = path_join(i->dir, "root");
        i->log_file = path_join(i->dir, "lxc.log");
        i->lxcdir = path_join(i->lxcpath, i->id);
        if (!i->root || !i->log_file || !i->lxcdir)
                return -ENOMEM;
        if (i->tmpfs && !(i->tmp = path_join(i->dir, "tmp")))
                return -ENOMEM;
        base = strdup(i->tmp ?: i->dir);
        if (!base)
                return -ENOMEM;
        if (!i->upper && !(i->upper = path_join(base, "upper")))
                return -ENOMEM;
        if (!i->work && !(i->work = path_join(base, "work")))
                return -ENOMEM;
        return 0;
}

int session_info_minimal(const char *state_dir, const char *id, SessionInfo *ret) {
        *ret = (SessionInfo) {};
        ret->id = strdup(id);
        ret->chroot = strdup("");
        ret->version = strdup("");
        if (!ret->id || !ret->chroot || !ret->version)
                return -ENOMEM;
        return session_info_derive_paths(ret, state_dir);
}

int session_lock_take(const char *state_dir, const char *id, bool wait) {
        _cleanup_free_ char *path = session_lock_path(state_dir, id);

        if (!path)
                return -ENOMEM;
        return session_lock_take_path(path, wait);
}

int session_lock_take_path(const char *path, bool wait) {
        /* An end removes the directory (lock file included) while holding the lock, and -n may give the
         * next session the same id: the lock had must be on the file now at that path. */
        for (unsigned attempt = 0; attempt < 8; attempt++) {
                _cleanup_close_ int fd = lock_file(path, LOCK_MODE_EXCLUSIVE, wait);
                struct stat a, b;

                if (fd < 0)
                        return fd;
                if (fstat(fd, &a) < 0)
                        return -errno;
                if (stat(path, &b) < 0) {
                        if (errno == ENOENT)
                                return -ENOENT;
                        return -errno;
                }
                if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                        return TAKE_FD(fd);
        }
        return -ENOENT;
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

int session_info_plan(const SessionPlan *plan, const char *id, SessionInfo *ret) {
        int r;

        *ret = (SessionInfo) {};
        if (!plan || !plan->state_dir || strv_length(plan->lowers) == 0 || !session_id_is_valid(id, NULL))
                return -EINVAL;
        ret->kind = plan->detached ? SESSION_KIND_DETACHED : plan->spare ? SESSION_KIND_SPARE : SESSION_KIND_ONESHOT;
        ret->phase = SESSION_PHASE_STARTING;
        ret->tmpfs = plan->tmpfs && !plan->upper;
        ret->network = plan->network;
        ret->shared = plan->spare && plan->shared;
        ret->source = plan->detached && plan->source;
        ret->uid = plan->uid;
        ret->gid = plan->gid;
        ret->created = time(NULL);
        ret->owner_pid = getpid();
        if (strdup_or_null(id, &ret->id) < 0 || strdup_or_null(plan->chroot, &ret->chroot) < 0 ||
            strdup_or_null(plan->version, &ret->version) < 0 || strdup_or_null(plan->cwd, &ret->cwd) < 0 ||
            strdup_or_null(plan->personality, &ret->personality) < 0 || strdup_or_null(plan->alias, &ret->alias) < 0 ||
            strdup_or_null(plan->user, &ret->user) < 0 || strdup_or_null(plan->home, &ret->home) < 0 ||
            strdup_or_null(plan->shell, &ret->shell) < 0 || strdup_or_null(plan->groups, &ret->groups) < 0 ||
            strdup_or_null(plan->upper, &ret->upper) < 0 || strdup_or_null(plan->work, &ret->work) < 0)
                return -ENOMEM;
        if (strv_extend_strv(&ret->lowers, plan->lowers) < 0 || strv_extend_strv(&ret->binds, plan->binds) < 0)
                return -ENOMEM;
        if (plan->profile) {
                const char *network = profile_network_to_string(plan->profile->network);

                if (strdup_or_null(plan->profile->name, &ret->profile) < 0 ||
                    strdup_or_null(network, &ret->profile_network) < 0 ||
                    strv_extend_strv(&ret->profile_binds, plan->profile_binds) < 0)
                        return -ENOMEM;
        }
        r = session_info_derive_paths(ret, plan->state_dir);
        if (r < 0)
                return r;
        return 0;
}

/* "a\nb\nc", or "" for none. */
static char *strv_join_lines(char *const *l) {
        size_t len = 1;
        char *s;

        for (char *const *i = l; i && *i; i++)
                len += strlen(*i) + 1;
        s = calloc(1, len);
        if (!s)
                return NULL;
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        strcat(s, "\n");
                strcat(s, *i);
        }
        return s;
}

static int kv_add(char ***kv, const char *key, const char *value) {
        int r = strv_extend(kv, key);
        return r < 0 ? r : strv_extend(kv, value ?: "");
}

static int kv_addf(char ***kv, const char *key, const char *fmt, ...) _printf_(3, 4);
static int kv_addf(char ***kv, const char *key, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = strv_extend(kv, key);
        return r < 0 ? (free(s), r) : strv_consume(kv, s);
}

int session_info_to_kv(const SessionInfo *i, char ***ret) {
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *lowers = strv_join_lines(i->lowers), *binds = strv_join_lines(i->binds);
        _cleanup_free_ char *profile_binds = strv_join_lines(i->profile_binds);
        char created[64];
        struct tm tm;

        if (!lowers || !binds || !profile_binds || !gmtime_r(&i->created, &tm))
                return -ENOMEM;
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (kv_add(&kv, "id", i->id) < 0 || kv_add(&kv, "kind", session_kind_to_string(i->kind)) < 0 ||
            kv_add(&kv, "phase", session_phase_to_string(i->phase)) < 0 || kv_add(&kv, "chroot", i->chroot) < 0 ||
            kv_add(&kv, "version", i->version) < 0 || kv_add(&kv, "personality", i->personality) < 0 ||
            kv_add(&kv, "lowers", lowers) < 0 ||
            kv_add(&kv, "tmpfs", i->tmpfs ? "true" : "false") < 0 ||
            (i->shared && kv_add(&kv, "shared", "true") < 0) ||
            (i->source && kv_add(&kv, "source", "true") < 0) ||
            (i->alias && kv_add(&kv, "alias", i->alias) < 0) ||
            kv_add(&kv, "network", container_network_to_string(i->network)) < 0 ||
            kv_add(&kv, "binds", binds) < 0 ||
            kv_add(&kv, "cwd", i->cwd) < 0 || kv_add(&kv, "user", i->user) < 0 ||
            kv_addf(&kv, "uid", "%u", (unsigned) i->uid) < 0 || kv_addf(&kv, "gid", "%u", (unsigned) i->gid) < 0 ||
            kv_add(&kv, "home", i->home) < 0 || kv_add(&kv, "shell", i->shell) < 0 ||
            kv_add(&kv, "groups", i->groups) < 0 || kv_add(&kv, "created", created) < 0 ||
            kv_addf(&kv, "owner_pid", "%d", (int) i->owner_pid) < 0 ||
            kv_addf(&kv, "init_pid", "%d", (int) i->init_pid) < 0 ||
            kv_addf(&kv, "init_start", "%llu", i->init_start) < 0 || kv_add(&kv, "profile", i->profile) < 0 ||
            kv_add(&kv, "profile_network", i->profile_network) < 0 ||
            kv_add(&kv, "profile_binds", profile_binds) < 0)
                return -ENOMEM;
        /* The resources, for people and tools reading the record; sweeps recompute them from the id. */
        if (kv_add(&kv, "dir", i->dir) < 0 || kv_add(&kv, "root", i->root) < 0 || kv_add(&kv, "tmp", i->tmp) < 0 ||
            kv_add(&kv, "upper", i->upper) < 0 || kv_add(&kv, "work", i->work) < 0 ||
            kv_add(&kv, "container", i->container) < 0 || kv_add(&kv, "lxcpath", i->lxcpath) < 0 ||
            kv_add(&kv, "lxcdir", i->lxcdir) < 0 || kv_add(&kv, "log", i->log_file) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(kv);
        return 0;
}

static int parse_ulong(const char *s, unsigned long long max, unsigned long long *ret) {
        unsigned long long v;
        char *end;

        if (isempty(s) || !isdigit((unsigned char) s[0]))
                return -EBADMSG;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int copy_key(char *const *kv, const char *key, bool required, char **ret) {
        const char *v = state_get(kv, key);

        *ret = NULL;
        if (isempty(v))
                return required ? -EBADMSG : 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int session_info_numbers_from_kv(char *const *kv, SessionInfo *i) {
        unsigned long long uid = 0, gid = 0, owner = 0, init = 0, start = 0;
        const char *created = state_get(kv, "created");
        struct tm tm = {};

        if ((state_get(kv, "uid") && parse_ulong(state_get(kv, "uid"), UINT32_MAX - 1, &uid) < 0) ||
            (state_get(kv, "gid") && parse_ulong(state_get(kv, "gid"), UINT32_MAX - 1, &gid) < 0) ||
            (state_get(kv, "owner_pid") && parse_ulong(state_get(kv, "owner_pid"), INT32_MAX, &owner) < 0) ||
            (state_get(kv, "init_pid") && parse_ulong(state_get(kv, "init_pid"), INT32_MAX, &init) < 0) ||
            (state_get(kv, "init_start") && parse_ulong(state_get(kv, "init_start"), ULLONG_MAX, &start) < 0))
                return -EBADMSG;
        i->uid = (uid_t) uid;
        i->gid = (gid_t) gid;
        i->owner_pid = (pid_t) owner;
        i->init_pid = (pid_t) init;
        i->init_start = start;
        if (created) {
                const char *end = strptime(created, "%Y-%m-%dT%H:%M:%SZ", &tm);
                if (!end || *end != '\0')
                        return -EBADMSG;
                i->created = timegm(&tm);
        }
        return 0;
}

int session_info_from_kv(char *const *kv, SessionInfo *ret) {
        const char *s;
        int r;

        *ret = (SessionInfo) {};
        ret->kind = session_kind_from_string(state_get(kv, "kind"));
        /* Records of one-shot sessions from before phases existed have none; their lock decides. */
        s = state_get(kv, "phase");
        ret->phase = s ? session_phase_from_string(s) : SESSION_PHASE_STARTING;
        s = state_get(kv, "network");
        ret->network = s ? container_network_from_string(s) : CONTAINER_NETWORK_NONE;
        s = state_get(kv, "tmpfs");
        ret->tmpfs = s && streq(s, "true");
        s = state_get(kv, "shared");
        ret->shared = s && streq(s, "true");
        s = state_get(kv, "source");
        ret->source = s && streq(s, "true");
        if (ret->kind < 0 || ret->phase < 0 || ret->network < 0)
                return -EBADMSG;
        r = copy_key(kv, "id", true, &ret->id);
        if (r >= 0)
                r = copy_key(kv, "chroot", true, &ret->chroot);
        if (r >= 0)
                r = copy_key(kv, "version", true, &ret->version);
        if (r >= 0 && !session_id_is_valid(ret->id, NULL))
                r = -EBADMSG;
        if (r < 0)
                return r;
        if (copy_key(kv, "profile", false, &ret->profile) < 0 ||
            copy_key(kv, "profile_network", false, &ret->profile_network) < 0 ||
            copy_key(kv, "cwd", false, &ret->cwd) < 0 || copy_key(kv, "user", false, &ret->user) < 0 ||
            copy_key(kv, "personality", false, &ret->personality) < 0 ||
            copy_key(kv, "alias", false, &ret->alias) < 0 ||
            copy_key(kv, "home", false, &ret->home) < 0 || copy_key(kv, "shell", false, &ret->shell) < 0 ||
            copy_key(kv, "groups", false, &ret->groups) < 0)
                return -ENOMEM;
        ret->lowers = strv_split(state_get(kv, "lowers") ?: "", "\n");
        ret->binds = strv_split(state_get(kv, "binds") ?: "", "\n");
        ret->profile_binds = strv_split(state_get(kv, "profile_binds") ?: "", "\n");
        if (!ret->lowers || !ret->binds || !ret->profile_binds)
                return -ENOMEM;
        return session_info_numbers_from_kv(kv, ret);
}

int session_info_load(const char *state_dir, const char *id, SessionInfo **ret) {
        _cleanup_(session_info_freep) SessionInfo *i = NULL;
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!session_id_is_valid(id, NULL))
                return -EINVAL;
        path = path_join(state_dir, "sessions", id, "session.json");
        if (!path)
                return -ENOMEM;
        r = state_read(path, &kv);
        if (r < 0)
                return r;
        i = calloc(1, sizeof(SessionInfo));
        if (!i)
                return -ENOMEM;
        r = session_info_from_kv(kv, i);
        if (r < 0)
                return r;
        if (!streq(i->id, id))
                return -EBADMSG;
        /* Only the writable layer of a one-shot session may lie elsewhere (update: a store staging
         * layer); everything else is where the id says. */
        if (i->kind == SESSION_KIND_ONESHOT) {
                if (copy_key(kv, "upper", false, &i->upper) < 0 || copy_key(kv, "work", false, &i->work) < 0)
                        return -ENOMEM;
        }
        r = session_info_derive_paths(i, state_dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}

int session_record_save(const SessionInfo *i) {
        return session_record_save_in(i, i->dir);
}

int session_record_save_in(const SessionInfo *i, const char *dir) {
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *path = path_join(dir, "session.json");
        int r;

        if (!path)
                return -ENOMEM;
        r = session_info_to_kv(i, &kv);
        if (r < 0)
                return r;
        /* A one-shot session means nothing after a reboot: an empty record is swept like any other. */
        return state_write_full(path, kv, i->kind == SESSION_KIND_DETACHED);
}

int session_list_ids(const char *state_dir, char ***ret) {
        _cleanup_free_ char *sessions = session_sessions_dir(state_dir);
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (!sessions)
                return -ENOMEM;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        d = opendir(sessions);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (de = readdir(d)))
                if (session_id_is_valid(de->d_name, NULL) && strv_extend(&l, de->d_name) < 0)
                        return -ENOMEM;
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

SessionState session_info_state(const SessionInfo *i) {
        _cleanup_free_ char *lock = path_join(i->dir, "lock");
        bool held = lock && lock_is_held(lock, LOCK_MODE_EXCLUSIVE), running = false;

        if (i->kind == SESSION_KIND_DETACHED && i->phase == SESSION_PHASE_READY)
                running = session_container_running(i);
        switch (session_sweep_decide(i, !held, running)) {
        case SESSION_SWEEP_REMOVE:
                return SESSION_STATE_STALE;
        case SESSION_SWEEP_DEAD:
                return SESSION_STATE_DEAD;
        case SESSION_SWEEP_KEEP:
                break;
        }
        if (i->phase == SESSION_PHASE_ENDING)
                return SESSION_STATE_ENDING;
        if (i->phase == SESSION_PHASE_STARTING)
                return SESSION_STATE_STARTING;
        /* Ready and kept: a one-shot session whose owner lives, or a detached session, which is dead
         * without its container even while a recover holds its lock. */
        if (i->kind == SESSION_KIND_DETACHED && !running)
                return SESSION_STATE_DEAD;
        return SESSION_STATE_RUNNING;
}
