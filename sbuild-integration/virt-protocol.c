/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt: request parsing, URL coding, the state machine and replies (pure). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "virt.h"

/* Each command with its argument counts (max -1: any number) and whether it needs an open testbed. */
static const struct {
        const char *name;
        int min_args;
        int max_args;
        bool needs_open;
} command_table[_VIRT_COMMAND_MAX] = {
        [VIRT_CAPABILITIES] = { "capabilities", 0, 0, false },
        [VIRT_OPEN] = { "open", 0, 0, false },
        [VIRT_CLOSE] = { "close", 0, 0, true },
        [VIRT_QUIT] = { "quit", 0, 0, false },
        [VIRT_PRINT_EXECUTE_COMMAND] = { "print-execute-command", 0, 0, true },
        [VIRT_COPYDOWN] = { "copydown", 2, 2, true },
        [VIRT_COPYUP] = { "copyup", 2, 2, true },
        [VIRT_REVERT] = { "revert", 0, 0, true },
        [VIRT_REBOOT] = { "reboot", 0, 1, true }, /* optional "prepare-only" */
        [VIRT_SHELL] = { "shell", 1, -1, true },
        [VIRT_AUXVERB_DEBUG_FAIL] = { "auxverb-debug-fail", 0, 0, false },
};

const char *virt_command_to_string(VirtCommand c) {
        if (c < 0 || c >= _VIRT_COMMAND_MAX)
                return NULL;
        return command_table[c].name;
}

VirtCommand virt_command_from_string(const char *s) {
        if (!s)
                return _VIRT_COMMAND_INVALID;
        for (int c = 0; c < _VIRT_COMMAND_MAX; c++) {
                const char *n = command_table[c].name;
                size_t i;

                for (i = 0; n[i] && s[i]; i++)
                        if (s[i] != n[i] && !(n[i] == '-' && s[i] == '_'))
                                break;
                if (n[i] == '\0' && s[i] == '\0')
                        return c;
        }
        return _VIRT_COMMAND_INVALID;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int virt_url_decode(const char *s, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t j = 0;

        out = malloc(strlen(s) + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; s[i]; i++) {
                int hi, lo;

                if (s[i] == '%' && (hi = unhex(s[i + 1])) >= 0 && (lo = unhex(s[i + 2])) >= 0) {
                        char c = (char) (hi << 4 | lo);

                        if (c == '\0')
                                return -EINVAL;
                        out[j++] = c;
                        i += 2;
                } else
                        out[j++] = s[i];
        }
        out[j] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

char *virt_url_encode(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(strlen(s) * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("_.-~/", *p))
                        *o++ = (char) *p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = '\0';
        return out;
}

void virt_request_done(VirtRequest *r) {
        r->args = strv_free(r->args);
        r->command = _VIRT_COMMAND_INVALID;
}

static bool ends_with_slash(const char *s) {
        size_t n = strlen(s);
        return n > 0 && s[n - 1] == '/';
}

bool virt_copy_is_directory(const VirtRequest *req) {
        return strv_length(req->args) == 2 && ends_with_slash(req->args[0]) && ends_with_slash(req->args[1]);
}

/* The argument rules beyond their count. */
static int request_validate(const VirtRequest *req, const char *word, char **ret_reason) {
        int n = (int) strv_length(req->args);
        int min = command_table[req->command].min_args, max = command_table[req->command].max_args;

        if (n < min)
                return set_reason(ret_reason, -EINVAL, "too few arguments to command `%s'", word);
        if (max >= 0 && n > max)
                return set_reason(ret_reason, -EINVAL, "too many arguments to command `%s'", word);
        if ((req->command == VIRT_COPYDOWN || req->command == VIRT_COPYUP) &&
            ends_with_slash(req->args[0]) != ends_with_slash(req->args[1]))
                return set_reason(
                        ret_reason, -EINVAL,
                        "%s paths must agree about directoryness (presence or absence of trailing /)", word);
        if (req->command == VIRT_REBOOT && n == 1 && !streq(req->args[0], "prepare-only"))
                return set_reason(ret_reason, -EINVAL, "reboot takes no argument but `prepare-only'");
        return 0;
}

int virt_request_parse(const char *line, VirtRequest *ret, char **ret_reason) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        ret->command = _VIRT_COMMAND_INVALID;
        ret->args = NULL;

        words = strv_split(line, " \t\n\v\f\r");
        if (!words)
                return -ENOMEM;
        if (!words[0])
                return -ENODATA;

        ret->args = calloc(1, sizeof(char *));
        if (!ret->args)
                return -ENOMEM;
        for (char **w = words + 1; *w; w++) {
                char *d = NULL;

                r = virt_url_decode(*w, &d);
                if (r == -EINVAL)
                        return set_reason(ret_reason, r, "argument '%s' of `%s' decodes to a NUL byte", *w,
                                          words[0]);
                if (r < 0 || strv_consume(&ret->args, d) < 0)
                        return -ENOMEM;
        }

        {
                _cleanup_free_ char *name = NULL;

                r = virt_url_decode(words[0], &name);
                if (r == -ENOMEM)
                        return r;
                ret->command = r < 0 ? _VIRT_COMMAND_INVALID : virt_command_from_string(name);
        }
        if (ret->command < 0)
                return set_reason(ret_reason, -EBADRQC, "unknown command `%s'", words[0]);
        return request_validate(ret, words[0], ret_reason);
}

int virt_request_check(const VirtRequest *req, VirtState state, VirtCaps caps, char **ret_reason) {
        const char *name = virt_command_to_string(req->command);

        if (!name)
                return set_reason(ret_reason, -EBADFD, "invalid request");
        if (state == VIRT_STATE_QUIT)
                return set_reason(ret_reason, -EBADFD, "`%s' after quit", name);
        if (command_table[req->command].needs_open && state != VIRT_STATE_OPEN)
                return set_reason(ret_reason, -EBADFD, "`%s' when not open", name);
        if (req->command == VIRT_OPEN && state == VIRT_STATE_OPEN)
                return set_reason(ret_reason, -EBADFD, "`open' when already open");
        if (req->command == VIRT_REVERT && !(caps & VIRT_CAP_REVERT))
                return set_reason(ret_reason, -EBADFD, "`revert' when `revert' not advertised");
        if (req->command == VIRT_REBOOT && !(caps & VIRT_CAP_REBOOT))
                return set_reason(ret_reason, -EBADFD, "`reboot' when `reboot' not advertised");
        return 0;
}

VirtState virt_state_next(VirtState s, VirtCommand c) {
        switch (c) {
        case VIRT_OPEN:
                return VIRT_STATE_OPEN;
        case VIRT_CLOSE:
                return VIRT_STATE_CLOSED;
        case VIRT_QUIT:
                return VIRT_STATE_QUIT;
        default:
                return s;
        }
}

char *virt_reply_ok(char *const *words) {
        size_t len = strlen("ok") + 1;
        char *out, *o;

        for (char *const *w = words; w && *w; w++)
                len += strlen(*w) + 1;
        out = o = malloc(len);
        if (!out)
                return NULL;
        o = stpcpy(o, "ok");
        for (char *const *w = words; w && *w; w++) {
                *o++ = ' ';
                o = stpcpy(o, *w);
        }
        return out;
}

char *virt_reply_execute_command(char *const *argv) {
        _cleanup_free_ char *joined = strdup("");

        for (char *const *a = argv; joined && a && *a; a++) {
                _cleanup_free_ char *e = virt_url_encode(*a);
                char *n;

                if (!e)
                        return NULL;
                n = strdup_printf("%s%s%s", joined, a == argv ? "" : ",", e);
                free(joined);
                joined = n;
        }
        if (!joined)
                return NULL;
        return strdup_printf("ok %s", joined);
}

int virt_capabilities(VirtCaps caps, const char *normal_user, char ***ret) {
        static const struct {
                VirtCaps cap;
                const char *word;
        } words[] = {
                { VIRT_CAP_REVERT, "revert" },
                { VIRT_CAP_REVERT_FULL_SYSTEM, "revert-full-system" },
                { VIRT_CAP_ROOT_ON_TESTBED, "root-on-testbed" },
                { VIRT_CAP_REBOOT, "reboot" },
        };
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if ((caps & words[i].cap) && strv_extend(&l, words[i].word) < 0)
                        return -ENOMEM;
        if (!isempty(normal_user) && strv_extendf(&l, "suggested-normal-user=%s", normal_user) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}
