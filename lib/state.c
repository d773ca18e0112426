/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "base/util.h"
#include "state.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static json_object *state_build(char *const *kv) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (char *const *i = kv; i && i[0] && i[1]; i += 2) {
                json_object *v = json_object_new_string(i[1]);
                if (!v || json_object_object_add(o, i[0], v) < 0) {
                        json_object_put(v);
                        return NULL;
                }
        }
        return TAKE_PTR(o);
}

char *state_to_json(char *const *kv) {
        _cleanup_(json_object_putp) json_object *o = state_build(kv);

        if (!o)
                return NULL;
        return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int state_write(const char *path, char *const *kv) {
        return state_write_full(path, kv, true);
}

int state_write_full(const char *path, char *const *kv, bool sync) {
        _cleanup_free_ char *text = state_to_json(kv);
        _cleanup_free_ char *with_nl = NULL;

        if (!text)
                return -ENOMEM;
        with_nl = strdup_printf("%s\n", text);
        if (!with_nl)
                return -ENOMEM;
        return write_file_atomic_full(path, with_nl, 0644, sync);
}

int state_read(const char *path, char ***ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file(path, &text);
        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        kv = calloc(1, sizeof(char *));
        if (!kv)
                return -ENOMEM;
        json_object_object_foreach(o, key, val) {
                const char *s;

                if (!json_object_is_type(val, json_type_string) && !json_object_is_type(val, json_type_int) &&
                    !json_object_is_type(val, json_type_boolean) && !json_object_is_type(val, json_type_double))
                        continue;
                s = json_object_get_string(val);
                if (strv_extend(&kv, key) < 0 || strv_extend(&kv, s ?: "") < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(kv);
        return 0;
}

const char *state_get(char *const *kv, const char *key) {
        for (char *const *i = kv; i && i[0] && i[1]; i += 2)
                if (streq(i[0], key))
                        return i[1];
        return NULL;
}
