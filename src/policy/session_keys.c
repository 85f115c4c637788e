/*
 * session_keys.c - session key names.
 */
#include "policy/session_keys.h"

#include <stdio.h>

bool
session_user_valid(const char *user, size_t len)
{
    if (len < 1 || len > 256)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)user[i];
        if (c <= 0x20 || c >= 0x7f || c == '{' || c == '}')
            return false;
    }
    return true;
}

static int
checked(int n)
{
    return n < 0 || n >= SESSION_KEY_MAX ? -1 : n;
}

int
session_key(char *out, const char *prefix, const char *user, const char *session_id)
{
    return checked(snprintf(out, SESSION_KEY_MAX, "%s{u:%s}:s:%s", prefix, user, session_id));
}

int
session_index_key(char *out, const char *prefix, const char *user)
{
    return checked(snprintf(out, SESSION_KEY_MAX, "%s{u:%s}:sessions", prefix, user));
}

int
session_key_prefix(char *out, const char *prefix, const char *user)
{
    return checked(snprintf(out, SESSION_KEY_MAX, "%s{u:%s}:s:", prefix, user));
}
