/*
 * http_credentials.c - the session token in Authorization or a cookie.
 */
#include "http/http_credentials.h"

#include <string.h>

#include "http/http_parse.h"
#include "util/strbuf.h"

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct sl_slice
trim(struct sl_slice s)
{
    while (s.len > 0 && is_ows(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_ows(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* "Bearer" 1*SP token68 (RFC 6750 §2.1, RFC 9110 §11.1): the token, or
 * empty when value is not a Bearer credential. */
static struct sl_slice
bearer_token(struct sl_slice value)
{
    static const char scheme[] = "bearer";
    size_t n = sizeof(scheme) - 1;
    value = trim(value);
    if (value.len <= n || !is_ows(value.p[n]))
        return (struct sl_slice){NULL, 0};
    if (!sl_slice_eq_lower((struct sl_slice){value.p, n}, scheme))
        return (struct sl_slice){NULL, 0};
    return trim((struct sl_slice){value.p + n, value.len - n});
}

struct sl_slice
http_credentials_from_header(struct sl_slice name, struct sl_slice value)
{
    struct sl_slice token = bearer_token(value);
    if (token.len > 0 || sl_slice_eq_lower(name, "authorization"))
        return token;
    return trim(value);
}

/* One cookie-pair of a Cookie value (RFC 6265 §4.2.1). */
struct cookie_pair {
    struct sl_slice whole; /* name=value as written */
    struct sl_slice name;
    struct sl_slice value; /* DQUOTEs removed */
};

static bool
next_pair(struct sl_slice *rest, struct cookie_pair *out)
{
    while (rest->len > 0) {
        const char *semi = memchr(rest->p, ';', rest->len);
        size_t n = semi != NULL ? (size_t)(semi - rest->p) : rest->len;
        struct sl_slice pair = trim((struct sl_slice){rest->p, n});
        rest->p += semi != NULL ? n + 1 : n;
        rest->len -= semi != NULL ? n + 1 : n;
        const char *eq = memchr(pair.p, '=', pair.len);
        if (pair.len == 0 || eq == NULL)
            continue;
        out->whole = pair;
        out->name = trim((struct sl_slice){pair.p, (size_t)(eq - pair.p)});
        out->value = trim((struct sl_slice){eq + 1, pair.len - (size_t)(eq + 1 - pair.p)});
        if (out->value.len >= 2 && out->value.p[0] == '"' && out->value.p[out->value.len - 1] == '"')
            out->value = (struct sl_slice){out->value.p + 1, out->value.len - 2};
        return true;
    }
    return false;
}

/* Cookie names are case-sensitive (RFC 6265 §5.4 compares them exactly). */
static bool
same_name(struct sl_slice a, struct sl_slice b)
{
    return a.len == b.len && a.len > 0 && memcmp(a.p, b.p, a.len) == 0;
}

static struct sl_slice
cookie_in_value(struct sl_slice value, struct sl_slice name)
{
    struct cookie_pair cp;
    while (next_pair(&value, &cp)) {
        if (same_name(cp.name, name))
            return cp.value;
    }
    return (struct sl_slice){NULL, 0};
}

struct sl_slice
http_credentials_cookie(const struct http_head *head, struct sl_slice name)
{
    for (unsigned i = 0; name.len > 0 && i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (h->name.len != 6 || !sl_slice_eq_lower(h->name, "cookie"))
            continue;
        struct sl_slice v = cookie_in_value(h->value, name);
        if (v.len > 0)
            return v;
    }
    return (struct sl_slice){NULL, 0};
}

static bool
is_token_header(const struct http_credentials *where, struct sl_slice name)
{
    return where->header.len > 0 && name.len == where->header.len &&
           sl_slice_eq_lower(name, where->header.p);
}

struct sl_slice
http_credentials_token(const struct http_head *head, const struct http_credentials *where)
{
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (!is_token_header(where, h->name))
            continue;
        /* An Authorization of another scheme carries no token: the cookie may. */
        struct sl_slice t = http_credentials_from_header(h->name, h->value);
        if (t.len > 0)
            return t;
    }
    return http_credentials_cookie(head, where->cookie);
}

bool
http_credentials_in_field(const struct http_credentials *where, struct sl_slice name,
                          struct sl_slice value)
{
    if (is_token_header(where, name))
        return http_credentials_from_header(name, value).len > 0;
    if (where->cookie.len == 0 || name.len != 6 || !sl_slice_eq_lower(name, "cookie"))
        return false;
    struct cookie_pair cp;
    while (next_pair(&value, &cp)) {
        if (same_name(cp.name, where->cookie))
            return true;
    }
    return false;
}

void
http_credentials_append_cookie_without(struct strbuf *out, struct sl_slice value,
                                       struct sl_slice cookie)
{
    size_t start = out->len;
    bool any = false;
    struct cookie_pair cp;
    strbuf_append_str(out, "Cookie: ");
    while (next_pair(&value, &cp)) {
        if (same_name(cp.name, cookie))
            continue;
        if (any)
            strbuf_append(out, "; ", 2);
        strbuf_append_slice(out, cp.whole);
        any = true;
    }
    if (!any) {
        out->len = start;
        return;
    }
    strbuf_append(out, "\r\n", 2);
}
