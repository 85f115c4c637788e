/*
 * session_keys.c - session key names.
 */
#include "policy/session_keys.h"

#include <stdio.h>
#include <string.h>

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

/* Appends s at *n; false when out would overflow. */
static bool
put(char *out, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n + len >= SESSION_KEY_MAX)
        return false;
    memcpy(out + *n, s, len);
    *n += len;
    return true;
}

/* By hand: this runs for every authenticated request, and snprintf's
 * format interpretation cost more than the rest of the key. */
int
session_key(char *out, const char *prefix, const char *user, const char *session_id)
{
    size_t n = 0;
    if (!put(out, &n, prefix) || !put(out, &n, "{u:") || !put(out, &n, user) ||
        !put(out, &n, "}:s:") || !put(out, &n, session_id))
        return -1;
    out[n] = '\0';
    return (int)n;
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

/* "PREFIX{TAG}:" then the rest: the keys of limits share the caller's tag. */
static int
tagged_key(char *out, const char *prefix, const char *tag, const char *const *parts, size_t n)
{
    size_t len = 0;
    if (!put(out, &len, prefix) || !put(out, &len, "{") || !put(out, &len, tag) ||
        !put(out, &len, "}"))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!put(out, &len, parts[i]))
            return -1;
    }
    out[len] = '\0';
    return (int)len;
}

int
limit_window_key(char *out, const char *prefix, const char *tag, const char *plan)
{
    const char *parts[] = {":rl:", plan};
    return tagged_key(out, prefix, tag, parts, 2);
}

int
idem_record_key(char *out, const char *prefix, const char *tag, const char *key)
{
    const char *parts[] = {":idem:", key};
    return tagged_key(out, prefix, tag, parts, 2);
}
